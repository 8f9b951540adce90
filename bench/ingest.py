"""How fast does `occidata data ingest` take in a real provider export, in rows per second?

Ingests ATMO Occitanie's real hourly export (``sources.real_data_dir``, by default
``../shared/data/real/atmo/``) with :func:`occidata.datasets.ingest.ingest`, each time into a
fresh throw-away data directory (a first ingest: checks, validation, duplicate search, storage
and provenance), then once more into the same directory (a re-ingest: every row is already
stored). Prints the median of the runs and the rows read per second, of wall-clock time and of
this process's CPU time (steadier on a shared machine).

    .venv/bin/python bench/ingest.py [--runs 5] [--file PATH]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from occidata.datasets import air_quality as aq
from occidata.datasets.ingest import ingest
from occidata.datasets.sources import real_data_dir

HOURLY = "atmo/Mesure_72h_Region_Occitanie_Polluants_Principaux_2020-03-14.csv"


def timed(func) -> tuple[tuple[float, float], object]:
    """(wall seconds, CPU seconds of this process) of ``func()``, and its result."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = func()
    return (time.perf_counter() - wall, time.process_time() - cpu), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--file", type=Path, default=None, help=f"an ATMO export (default <real_data_dir>/{HOURLY})")
    args = parser.parse_args()
    source = args.file or real_data_dir() / HOURLY

    first, again, rows = [], [], 0
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="occidata-bench-ingest-") as tmp:
            seconds, summary = timed(lambda: ingest(aq.NAME, source, tmp))
            first.append(seconds)
            rows = summary.read
            seconds, _ = timed(lambda: ingest(aq.NAME, source, tmp))
            again.append(seconds)
    print(f"{source.name}: {rows} rows, median of {args.runs} runs")
    print(f"  {'':<38} {'wall s':>7} {'rows/s':>10} {'CPU s':>7} {'rows/CPU s':>10}")
    for label, times in (("first ingest", first), ("re-ingest (all rows already stored)", again)):
        wall = statistics.median(t[0] for t in times)
        cpu = statistics.median(t[1] for t in times)
        print(f"  {label:<38} {wall:7.3f} {rows / wall:>10,.0f} {cpu:7.3f} {rows / cpu:>10,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
