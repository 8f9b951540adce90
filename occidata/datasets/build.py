"""`occidata data build --size tiny|demo|full`: generate every dataset and store it, with a manifest.

Tables go to ``<data_dir>/<name>/year=<year>/part-0.parquet`` (partitioned by year, so a
catalogue read of one year touches one file); grids to ``<data_dir>/<name>/<name>.zarr``.
``<data_dir>/manifest.json`` records, per dataset, the size, seed, rows, files and their
SHA-256, which loads check.
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
from .sources import boundaries_source
from .store import sha256_of, write_parquet
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


def build_dataset(name: str, size: str, data_dir: Path, seed: int = 0) -> dict:
    """Generate, validate and store one dataset; return its manifest record."""
    module = get_dataset(name)
    started = time.perf_counter()
    extra = {}
    if "boundaries" in inspect.signature(module.generate).parameters:
        # Grids take their department mask from the real shapes when they can be had.
        extra["boundaries"] = load_boundaries(boundaries_source(), Path(data_dir) / "geography")
    generated = module.generate(size=size, seed=seed, **extra)
    target = dataset_dir(data_dir, name)
    if module.KIND == "table":
        kept, quarantined = module.SCHEMA.validate(generated, f"generated {name} ({size})")
        if len(quarantined):
            raise ValueError(f"the {name} generator produced {len(quarantined)} invalid rows, e.g. {quarantined['reason'].iloc[0]}")
        time_column = next(c.name for c in module.SCHEMA.columns if c.dtype == "datetime")
        files = store_table(kept, target, time_column)
        rows = len(kept)
    else:
        staging = target.with_name(f".{target.name}.building")
        shutil.rmtree(staging, ignore_errors=True)
        module.write_zarr(generated, staging / f"{name}.zarr")
        swap_in_directory(staging, target)
        files = {f"{name}.zarr": tree_checksum(target / f"{name}.zarr")}
        rows = int(generated.sizes.get("time", 0))
    return {
        "kind": module.KIND,
        "size": size,
        "seed": seed,
        "rows": rows,
        "files": files,
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - started, 2),
    }


def build_all(size: str, data_dir: str | Path, seed: int = 0, only: list[str] | None = None,
              progress: Callable[[str], None] = print) -> dict:
    """Build every dataset (or ``only`` some) at ``size``; the manifest is rewritten atomically after each."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    manifest = read_manifest(data_dir)
    todo = only or names()
    for name in todo:
        get_dataset(name)  # an unknown name fails before anything is built
    for index, name in enumerate(todo, 1):
        progress(f"[{index}/{len(todo)}] {name} ({size}) ...")
        record = build_dataset(name, size, data_dir, seed=seed)
        manifest[name] = record
        write_atomic(data_dir / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        progress(f"      {record['rows']} rows in {record['seconds']} s")
    return manifest
