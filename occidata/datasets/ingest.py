"""`occidata data ingest DATASET FILE`: read a provider file, validate, store, quarantine, record.

An ingest never replaces earlier data unless asked (``replace=True`` supersedes the earlier
ingests of a file of the same name, and says so in their records). Rows already stored for the
dataset, or repeated within the file, are counted as duplicates and not stored again. Kept rows
go to ``<data_dir>/<dataset>/year=<YYYY>/ingest-<id>-<stem>-<sha>.parquet`` (the partitions the
catalogue reads), bad rows with their line and reason to ``<data_dir>/quarantine/<dataset>/``,
and the provenance to ``<data_dir>/<dataset>/_ingests.json`` (:mod:`.provenance`).
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import get_dataset, names, revisions
from .build import read_manifest
from .duplicates import duplicate_rows
from .row_checks import validate_with_lines
from .provenance import (ACTIVE, INGESTS, REPLACED, UNDONE, ProvenanceError, current_user, locked, next_id, now,
                         read_ingests, remove_stored, write_ingests)
from .schema import REASON, SOURCE_ROW, SchemaError, shown
from .sourcefile import ENCODING_LABELS, SourceError, open_source
from .store import write_parquet, write_quarantine
from .stored import stored_files

__all__ = ["ingest", "ingestable", "check_ingestable", "IngestSummary", "describe_ingests", "ingest_records",
           "SourceError", "ProvenanceError"]

STEM_CHARS = 60  # of the source's name, in stored file names: a long name must not make them too long


def ingestable() -> dict:
    """Dataset name -> its provider readers, for the tables that have any (grid ingest is not built yet)."""
    found = {}
    for name in names():
        module = get_dataset(name)
        readers = getattr(module, "READERS", None)
        if readers and module.KIND == "table":
            found[name] = readers
    return found


def check_ingestable(dataset: str) -> dict:
    """The readers of ``dataset``; a dataset that cannot be ingested is a French one-line error."""
    available = ingestable()
    if dataset not in available:
        raise SchemaError(f"{dataset!r} : ce jeu de données ne s'ingère pas ; jeux ayant un lecteur de fichiers "
                          f"fournisseurs : {', '.join(sorted(available))}")
    return available[dataset]


@dataclass(frozen=True)
class IngestSummary:
    """What an ingest did: its id, the source's encoding and checksum, the counts, where rows went."""

    dataset: str
    source: Path
    ingest_id: int
    format: str
    encoding: str
    sha256: str
    read: int
    kept: int
    duplicates: int
    quarantined: int
    tables: tuple[Path, ...]
    quarantine: Path | None
    replaced: tuple[int, ...]
    provenance: Path
    revised: int = 0

    def __str__(self) -> str:
        label = ENCODING_LABELS.get(self.encoding, self.encoding)
        lines = [
            f"{self.dataset} <- {shown(self.source)}",
            f"  ingest {self.ingest_id}: format {self.format}, encoding {label} ({self.encoding}), "
            f"sha256 {self.sha256[:12]}...",
            f"  read {self.read}, kept {self.kept}, quarantined {self.quarantined}, duplicates {self.duplicates} "
            "(already stored or repeated in the file)",
        ]
        if self.revised:
            lines.append(f"  revised {self.revised}: a value the provider changed for a measurement already stored; "
                         "set aside with both values in the quarantine report, the stored one is kept")
        lines += [f"  stored: {table}" for table in self.tables] or ["  stored: nothing new"]
        if self.quarantine:
            lines.append(f"  quarantined rows and reasons: {self.quarantine}")
        if self.replaced:
            lines.append(f"  replaced earlier ingest(s) of {self.source.name}: {', '.join(map(str, self.replaced))}")
        lines.append(f"  provenance: {self.provenance} (undo: occidata data undo-ingest {self.dataset} "
                     f"{self.ingest_id})")
        return "\n".join(lines)


def ingest(dataset: str, source: str | Path, data_dir: str | Path, fmt: str | None = None,
           encoding: str | None = None, replace: bool = False, by: str | None = None) -> IngestSummary:
    """Validate ``source`` against ``dataset``'s schema and store its new rows under ``data_dir``.

    Parameters
    ----------
    dataset, source, data_dir
        The dataset (one with provider readers), the provider's file, the platform's data folder.
    fmt
        The provider format (a key of the dataset's ``READERS``; default its first).
    encoding
        The file's encoding; default: detected (UTF-8 with or without BOM, Windows-1252, Latin-1).
    replace
        Supersede the active ingests of a file of the same name (their rows are removed, and their
        records say by which ingest); without it nothing stored before is ever removed.
    by
        Who ingests, for the provenance (default: the OS user).

    Raises
    ------
    SchemaError
        (its subclass ``SourceError`` for the file itself) one French line naming the file, and
        the line where relevant; nothing is written then.
    """
    readers = check_ingestable(dataset)
    fmt = fmt or next(iter(readers))
    if fmt not in readers:
        raise SchemaError(f"{dataset} : pas de lecteur pour le format {fmt!r} (option --format) ; "
                          f"formats : {', '.join(readers)}")
    source = Path(source)
    checked = open_source(source, encoding)
    raw = readers[fmt](source, encoding=checked.encoding)
    if len(raw) == 0:
        raise SourceError(f"{shown(source)} : aucune ligne de données après l'en-tête")
    schema = get_dataset(dataset).SCHEMA
    kept, quarantined, kept_lines = validate_with_lines(schema, raw, str(source))
    data_dir = Path(data_dir)
    folder = data_dir / dataset
    with locked(folder):
        records = read_ingests(folder)
        ingest_id = next_id(records)
        replaced = [r for r in records if replace and r["status"] == ACTIVE and r["source"]["name"] == source.name]
        remaining = [r for r in records if r["id"] not in {old["id"] for old in replaced}]
        stored = stored_files(read_manifest(data_dir).get(dataset), remaining)
        years = kept[schema.time_column].dt.year
        # Identical rows share their time, hence their year: only those partitions are compared.
        partitions = {f"year={year}" for year in years.unique()}
        same_years = [folder / relative for relative in stored if relative.split("/", 1)[0] in partitions]
        if getattr(schema, "key", ()):
            # One measurement is one key: a repeat under another station name is a duplicate, and
            # a value the provider changed since is set aside with both figures, never written over.
            # Identical rows share their key and measure, so this also finds them (one read of the files).
            status = revisions.overlap(kept, _rows(same_years, schema), schema, "already stored")
            duplicate = (status["status"] == revisions.DUPLICATE).to_numpy()
            revised = (status["status"] == revisions.REVISED).to_numpy()
            if revised.any():
                quarantined = pd.concat([quarantined, kept[revised].astype(object).assign(
                    **{SOURCE_ROW: kept_lines[revised], REASON: status["reason"][revised].to_numpy()})],
                    ignore_index=True)
        else:
            duplicate = duplicate_rows(kept, schema, same_years)
            revised = np.zeros(len(kept), dtype=bool)
        fresh, years = kept[~duplicate & ~revised], years[~duplicate & ~revised]
        base = f"ingest-{ingest_id}-{_safe_stem(source)}-{checked.sha256[:8]}"
        record = {
            "id": ingest_id,
            "status": ACTIVE,
            "source": {"name": source.name, "path": str(checked.path), "size": checked.size,
                       "sha256": checked.sha256, "encoding": checked.encoding, "format": fmt},
            "ingested_at": now(),
            "by": by or current_user(),
            "rows": {"read": len(raw), "kept": len(fresh), "duplicates": int(duplicate.sum()),
                     "revised": int(revised.sum()), "quarantined": len(quarantined)},
            "files": {},
            "quarantine": f"quarantine/{dataset}/{base}.csv" if len(quarantined) else None,
            "replaces": [r["id"] for r in replaced],
        }
        for old in replaced:
            old.update(status=REPLACED, replaced_by=ingest_id, replaced_at=record["ingested_at"])
        with _undone_on_failure() as written:
            for year in sorted(years.unique()):
                relative = f"year={year}/{base}.parquet"
                written.append(folder / relative)
                part = fresh[(years == year).to_numpy()].reset_index(drop=True)
                record["files"][relative] = write_parquet(part, folder / relative)
            if record["quarantine"]:
                written.append(data_dir / record["quarantine"])
                write_quarantine(quarantined, data_dir / record["quarantine"])
            written.append(folder / INGESTS)
            write_ingests(folder, records + [record])
        for old in replaced:
            remove_stored(data_dir, dataset, old)
    quarantine = data_dir / record["quarantine"] if record["quarantine"] else None
    return IngestSummary(dataset, source, ingest_id, fmt, checked.encoding, checked.sha256, len(raw), len(fresh),
                         int(duplicate.sum()), len(quarantined), tuple(folder / rel for rel in record["files"]),
                         quarantine, tuple(record["replaces"]), folder / INGESTS, int(revised.sum()))


def _rows(files: list[Path], schema) -> pd.DataFrame:
    """The stored rows of ``files`` (schema columns)."""
    parts = [pd.read_parquet(path, columns=schema.names) for path in files]
    return pd.concat(parts, ignore_index=True) if parts else None


def _safe_stem(source: Path) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", source.stem)[:STEM_CHARS].strip("._") or "source"


@contextmanager
def _undone_on_failure():
    """Yield a list to which the caller adds each file before writing it; if a write fails, the
    files written before it are removed and the error names the one that failed."""
    written: list[Path] = []
    try:
        yield written
    except OSError as error:
        for path in written[:-1]:
            path.unlink(missing_ok=True)
        failed = written[-1] if written else error.filename
        raise SchemaError(f"{shown(failed)} : écriture impossible ({error.strerror or type(error).__name__}) ; "
                          "rien n'a été ingéré") from None


def describe_ingests(dataset: str, records: list[dict]) -> list[str]:
    """The lines `occidata data ingests` prints for one dataset's records."""
    lines = []
    for record in records:
        rows = record["rows"]
        status = record["status"]
        if status == REPLACED:
            status = f"replaced by {record['replaced_by']} ({record['replaced_at']})"
        elif status == UNDONE:
            status = f"undone {record['undone_at']} by {record['undone_by']}"
        source = record["source"]
        lines.append(f"{dataset} {record['id']:>3}  {record['ingested_at']}  {record['by']:<10} "
                     f"read {rows['read']}, kept {rows['kept']}, duplicates {rows['duplicates']}, "
                     f"quarantined {rows['quarantined']}  {source['path']} ({source['size']} bytes, "
                     f"{source['encoding']}, sha256 {source['sha256'][:12]})  {status}")
    return lines


def ingest_records(data_dir: str | os.PathLike, dataset: str) -> list[dict]:
    """The ingest records of ``dataset`` (an ingestable one), oldest first."""
    check_ingestable(dataset)
    return read_ingests(Path(data_dir) / dataset)
