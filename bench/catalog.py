"""What does reading through the catalogue cost, and how long does each data size take to build?

For each size (demo, full by default), in one run: builds every dataset into a throw-away
data directory (generation + validation + storage time each), then loads every entry
through ``occidata.catalog.load`` (access check, manifest checksums, Intake) and directly
(pyarrow for Parquet tables, xarray for Zarr grids), best of 3, and prints the ratio.

    .venv/bin/python bench/catalog.py [--sizes demo full]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
import xarray as xr

from occidata.datasets import get_dataset, names


def best_of(runs: int, func) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(runs):
        started = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - started)
    return best, result


def direct_read(data_dir: Path, name: str):
    if get_dataset(name).KIND == "table":
        return pq.read_table(data_dir / name).to_pandas()
    return xr.open_zarr(data_dir / name / f"{name}.zarr").load()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["demo", "full"])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    for size in args.sizes:
        with tempfile.TemporaryDirectory(prefix=f"occidata-bench-{size}-") as tmp:
            os.environ.update(OCCIDATA_STATE_DIR=tmp, OCCIDATA_DATA_DIR=f"{tmp}/data", OCCIDATA_MODE="server")
            from occidata import catalog
            from occidata.datasets.build import build_all

            print(f"\n== {size}: building every dataset ...", flush=True)
            manifest = build_all(size, Path(tmp) / "data", progress=lambda line: print(line, flush=True))
            print(f"\n{size}: load through the catalogue vs direct read (best of {args.runs})")
            print(f"  {'dataset':<20} {'rows/steps':>10} {'build s':>8} {'direct s':>9} {'catalog s':>9} {'ratio':>6}")
            for name in names():
                levels = {"partner", f"restricted:{name}"}
                direct, _ = best_of(args.runs, lambda: direct_read(Path(tmp) / "data", name))

                def through_catalog():
                    loaded = catalog.load(name, levels=levels, user="bench")
                    return loaded.load() if hasattr(loaded, "chunks") and not hasattr(loaded, "iloc") else loaded

                ours, _ = best_of(args.runs, through_catalog)
                record = manifest[name]
                print(f"  {name:<20} {record['rows']:>10} {record['seconds']:>8.2f} {direct:>9.3f} {ours:>9.3f} {ours / direct:>6.2f}")
            total = sum(record["seconds"] for record in manifest.values())
            print(f"  generation time of the {size} size, all datasets: {total:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
