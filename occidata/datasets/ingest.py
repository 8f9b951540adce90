"""`occidata data ingest DATASET FILE`: read a provider file, validate, store, quarantine."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import get_dataset, names
from .schema import SchemaError
from .store import write_parquet, write_quarantine


def ingestable() -> dict:
    """Dataset name -> its provider readers, for the tables that have any (grid ingest is not built yet)."""
    found = {}
    for name in names():
        module = get_dataset(name)
        readers = getattr(module, "READERS", None)
        if readers and module.KIND == "table":
            found[name] = readers
    return found


@dataclass(frozen=True)
class IngestSummary:
    """What an ingest did: counts, and where the kept and quarantined rows went."""

    dataset: str
    source: Path
    read: int
    kept: int
    quarantined: int
    table: Path
    quarantine: Path | None
    checksum: str

    def __str__(self) -> str:
        lines = [
            f"{self.dataset} <- {self.source}",
            f"  read {self.read}, kept {self.kept}, quarantined {self.quarantined}",
            f"  table: {self.table} (sha256 {self.checksum[:12]}...)",
        ]
        if self.quarantine:
            lines.append(f"  quarantined rows and reasons: {self.quarantine}")
        return "\n".join(lines)


def ingest(dataset: str, source: str | Path, data_dir: str | Path, fmt: str | None = None) -> IngestSummary:
    """Validate ``source`` against ``dataset``'s schema and store it under ``data_dir``.

    Kept rows go to ``<data_dir>/<dataset>/ingested/<file stem>.parquet``; rows that fail
    go, with their line number and the reason, to ``<data_dir>/quarantine/<dataset>/<stem>.csv``.
    Nothing is written when the file as a whole is unreadable.
    """
    available = ingestable()
    if dataset not in available:
        raise SchemaError(f"{dataset!r} cannot be ingested; datasets with provider readers: {', '.join(sorted(available))}")
    schema, readers = get_dataset(dataset).SCHEMA, available[dataset]
    fmt = fmt or next(iter(readers))
    if fmt not in readers:
        raise SchemaError(f"{dataset} has no reader for format {fmt!r}; known: {', '.join(readers)}")
    source = Path(source)
    raw = readers[fmt](source)
    kept, quarantined = schema.validate(raw, str(source))
    data_dir = Path(data_dir)
    table = data_dir / dataset / "ingested" / f"{source.stem}.parquet"
    checksum = write_parquet(kept, table)
    quarantine_path = None
    if len(quarantined):
        quarantine_path = data_dir / "quarantine" / dataset / f"{source.stem}.csv"
        write_quarantine(quarantined, quarantine_path)
    return IngestSummary(dataset, source, len(raw), len(kept), len(quarantined), table, quarantine_path, checksum)
