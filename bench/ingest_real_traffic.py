"""How fast are Montpellier's real traffic exports read and checked, in rows per second?

For each source under ``sources.real_data_dir`` (by default ``../shared/data/real/``): the 14
Eco-Counter bicycle exports (``montpellier/ecocompt/``, NGSI JSON) and the City's vehicle-count
campaigns (``montpellier/VilleMTP_MTP_Comptage.csv``, cp1252), it times the reader alone, then
reader + validation + the search for repeats (what an ingest does before storing), and, once the
dataset is in the catalogue's registry, a whole first ingest into a throw-away data directory.
Prints the median of the runs, in wall-clock time and this process's CPU time (steadier on a
shared machine).

    .venv/bin/python bench/ingest_real_traffic.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from occidata.datasets import bicycle_counts as bc
from occidata.datasets import vehicle_count_campaigns as vc
from occidata.datasets.duplicates import duplicate_rows
from occidata.datasets.sources import real_data_dir


def timed(func) -> tuple[tuple[float, float], object]:
    """(wall seconds, CPU seconds of this process) of ``func()``, and its result."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = func()
    return (time.perf_counter() - wall, time.process_time() - cpu), result


def checked(module, raw) -> int:
    """Validate ``raw`` and find its repeats, as an ingest does before storing; the rows kept."""
    kept, _ = module.SCHEMA.validate(raw, module.NAME)
    return int((~duplicate_rows(kept, module.SCHEMA, [])).sum())


def each_file_ingested(module, files: list[Path]) -> int:
    from occidata.datasets.ingest import ingest

    with tempfile.TemporaryDirectory(prefix="occidata-bench-traffic-") as tmp:
        return sum(ingest(module.NAME, path, tmp, by="bench").read for path in files)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    root = real_data_dir()
    eco = sorted((root / bc.REAL_FOLDER).glob(bc.FILES))
    comptage = root / vc.REAL_FILE
    sources = (
        ("Eco-Counter JSON (14 files)", bc, lambda: bc.read_ecocompt_folder(root / bc.REAL_FOLDER), eco),
        ("VilleMTP_MTP_Comptage.csv", vc, lambda: vc.read_comptage_csv(comptage), [comptage]),
    )
    print(f"median of {args.runs} runs; rows/s of wall-clock time (and of CPU time)")
    for label, module, read, files in sources:
        steps = [("read", read), ("read + validate + repeats", lambda: checked(module, read())),
                 ("first ingest, file by file", lambda: each_file_ingested(module, files))]
        rows = len(read())
        print(f"{label}: {rows} rows")
        for step, func in steps:
            times = [timed(func)[0] for _ in range(args.runs)]
            wall = statistics.median(t[0] for t in times)
            cpu = statistics.median(t[1] for t in times)
            print(f"  {step:<28} {wall:7.3f} s {rows / wall:>10,.0f} rows/s  ({rows / cpu:>9,.0f} rows/CPU s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
