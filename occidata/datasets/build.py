"""`occidata data build --size tiny|demo|full`: generate every dataset and store it, with a manifest.

Tables go to ``<data_dir>/<name>/year=<year>/part-0.parquet`` (partitioned by year, so a
catalogue read of one year touches one file); grids to ``<data_dir>/<name>/<name>.zarr``.
``<data_dir>/manifest.json`` records, per dataset, the size, seed, rows, files and their
SHA-256, which loads check, and where the rows came from: ``origin`` (``real``, ``synthetic`` or
``mixed``) with, for real rows, each provider file read (provider, name, size, SHA-256, rows
read, kept, duplicates, revised, quarantined; :mod:`.real_sources`). Rows of real exports that
validation sets aside go to ``<data_dir>/quarantine/<name>/build-real.csv`` with their file,
line and reason.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import pandas as pd

from . import get_dataset, names
from .geography import load_boundaries
from .provenance import carry_ingests
from .real_sources import MIXED, PERIOD, REAL, SYNTHETIC, load_real, real_source
from .sources import boundaries_source, real_data_dir as configured_real_data_dir
from .store import sha256_of, write_parquet, write_quarantine
from ..atomic import swap_in_directory, write_atomic

MANIFEST = "manifest.json"


def dataset_dir(data_dir: Path, name: str) -> Path:
    return Path(data_dir) / name


def read_manifest(data_dir: str | Path) -> dict:
    path = Path(data_dir) / MANIFEST
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def tree_checksum(path: Path) -> str:
    """SHA-256 over a directory's files (relative names and bytes), for Zarr stores."""
    digest = hashlib.sha256()
    for file in sorted(p for p in Path(path).rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(path)).encode())
        digest.update(sha256_of(file).encode())
    return digest.hexdigest()


def store_table(frame: pd.DataFrame, target: Path, time_column: str) -> dict[str, str]:
    """Write one Parquet file per calendar year of ``time_column``; return {relative path: sha256}.

    Files ingested into ``target`` earlier (:mod:`.provenance`) are kept beside the new ones."""
    staging = target.with_name(f".{target.name}.building")
    shutil.rmtree(staging, ignore_errors=True)
    checksums = {}
    years = frame[time_column].dt.year
    for year in sorted(years.unique()):
        relative = f"year={year}/part-0.parquet"
        checksums[relative] = write_parquet(frame[years == year].reset_index(drop=True), staging / relative)
    carry_ingests(target, staging)
    swap_in_directory(staging, target)
    return checksums


def build_dataset(name: str, size: str, data_dir: Path, seed: int = 0, real_data_dir: str | Path | None = None) -> dict:
    """Build, validate and store one dataset from its real exports under ``real_data_dir`` where
    it has them, else (or beside them, for a real period) from its generator; return its manifest record."""
    module = get_dataset(name)
    started = time.perf_counter()
    real = load_real(module, real_data_dir)
    target = dataset_dir(data_dir, name)
    synthetic_rows = real_rows = 0
    if module.KIND == "table":
        parts = []
        if real is None or real_source(module).role == PERIOD:
            extra = {}
            if "real_data_dir" in inspect.signature(module.generate).parameters:
                # Synthetic values at real sites (stations), where the real folder gives them.
                extra["real_data_dir"] = real_data_dir
            generated = module.generate(size=size, seed=seed, **extra)
            kept, quarantined = module.SCHEMA.validate(generated, f"generated {name} ({size})")
            if len(quarantined):
                raise ValueError(f"the {name} generator produced {len(quarantined)} invalid rows, "
                                 f"e.g. {quarantined['reason'].iloc[0]}")
            parts.append(kept)
            synthetic_rows = len(kept)
        if real is not None:
            parts.append(real.rows)
            real_rows = len(real.rows)
        table = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        time_column = module.SCHEMA.time_column
        files = store_table(table, target, time_column)
        rows = len(table)
    else:
        extra = {}
        if "boundaries" in inspect.signature(module.generate).parameters:
            # Grids take their department mask from the real shapes when they can be had.
            extra["boundaries"] = load_boundaries(boundaries_source(), Path(data_dir) / "geography")
        generated = module.generate(size=size, seed=seed, **extra)
        staging = target.with_name(f".{target.name}.building")
        shutil.rmtree(staging, ignore_errors=True)
        module.write_zarr(generated, staging / f"{name}.zarr")
        swap_in_directory(staging, target)
        files = {f"{name}.zarr": tree_checksum(target / f"{name}.zarr")}
        rows = synthetic_rows = int(generated.sizes.get("time", 0))
    record = {
        "kind": module.KIND,
        "size": size,
        "seed": seed,
        "rows": rows,
        "files": files,
        "origin": REAL if not synthetic_rows else (MIXED if real_rows else SYNTHETIC),
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    if real is not None:
        record["rows_real"], record["rows_synthetic"] = real_rows, synthetic_rows
        record["sources"] = real.files
        record["quarantine"] = _write_real_quarantine(real.quarantined, Path(data_dir), name)
    record["seconds"] = round(time.perf_counter() - started, 2)
    return record


def _write_real_quarantine(quarantined: pd.DataFrame, data_dir: Path, name: str) -> str | None:
    """Keep the real rows validation set aside, with file, line and reason; its path relative to ``data_dir``."""
    relative = f"quarantine/{name}/build-real.csv"
    if not len(quarantined):
        (data_dir / relative).unlink(missing_ok=True)
        return None
    (data_dir / relative).parent.mkdir(parents=True, exist_ok=True)
    write_quarantine(quarantined, data_dir / relative)
    return relative


def describe_origin(record: dict) -> str:
    """One line, in French, on where a build record's rows come from (for the build's progress)."""
    origin = record.get("origin", SYNTHETIC)
    if origin == SYNTHETIC:
        return "synthétique"
    sources = record.get("sources", [])
    providers = sorted({source["provider"] for source in sources})
    set_aside = sum(source["rows"]["quarantined"] for source in sources)  # revised values included
    text = (f"{'réel' if origin == REAL else 'mixte'} : {len(sources)} fichier(s) de {', '.join(providers)}, "
            f"{record.get('rows_real', 0)} lignes réelles")
    if origin == MIXED:
        text += f" + {record.get('rows_synthetic', 0)} synthétiques"
    if set_aside:
        text += f" ; {set_aside} mises de côté ({record['quarantine']})"
    return text


def origin_summary(manifest: dict, real_data_dir: str | Path) -> list[str]:
    """What `occidata up` says of the data it serves: which entries are real, mixed or synthetic,
    and where real exports are looked for (French, one line each)."""
    by_origin: dict[str, list[str]] = {REAL: [], MIXED: [], SYNTHETIC: []}
    for name, record in sorted(manifest.items()):
        by_origin[record.get("origin", SYNTHETIC)].append(name)
    lines = []
    if not Path(real_data_dir).is_dir():
        lines.append(f"Aucun dossier de données réelles ({real_data_dir}, sources.real_data_dir) : "
                     "les données sont synthétiques.")
    for origin, label in ((REAL, "réelles"), (MIXED, "mixtes (une période réelle)"), (SYNTHETIC, "synthétiques")):
        if by_origin[origin]:
            lines.append(f"Données {label} : {', '.join(by_origin[origin])}")
    return lines


def real_sources_present(real_data_dir: str | Path | None, todo: list[str]) -> list[str]:
    """The datasets of ``todo`` that have real exports under ``real_data_dir``."""
    return [name for name in todo if (source := real_source(get_dataset(name))) and source.files(real_data_dir)]


def build_all(size: str, data_dir: str | Path, seed: int = 0, only: list[str] | None = None,
              progress: Callable[[str], None] = print, real_data_dir: str | Path | None = None) -> dict:
    """Build every dataset (or ``only`` some) at ``size``, from the real exports under
    ``real_data_dir`` (default ``sources.real_data_dir``) where there are some; the manifest is
    rewritten atomically after each."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    manifest = read_manifest(data_dir)
    todo = only or names()
    for name in todo:
        get_dataset(name)  # an unknown name fails before anything is built
    real_data_dir = configured_real_data_dir() if real_data_dir is None else Path(real_data_dir)
    with_real = real_sources_present(real_data_dir, todo)
    if with_real:
        progress(f"Données réelles lues dans {real_data_dir} pour {len(with_real)} jeu(x) : {', '.join(with_real)}")
    else:
        progress(f"Aucune donnée réelle dans {real_data_dir} (sources.real_data_dir) : "
                 "tous les jeux sont synthétiques")
    for index, name in enumerate(todo, 1):
        progress(f"[{index}/{len(todo)}] {name} ({size}) ...")
        record = build_dataset(name, size, data_dir, seed=seed, real_data_dir=real_data_dir)
        manifest[name] = record
        write_atomic(data_dir / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        progress(f"      {record['rows']} rows in {record['seconds']} s — {describe_origin(record)}")
    return manifest
