"""How fast are the real weather exports read, validated and ingested, in rows per second?

For each real weather source under ``sources.real_data_dir`` (by default
``../shared/data/real/meteo/``): the reader alone, the reader and the schema's validation
(column checks, row checks, contradicting rows), and a first `occidata data ingest` into a
throw-away data directory (file checks, validation, duplicate search, Parquet storage and
provenance). Prints the
median of the runs, wall-clock and this process's CPU time (steadier on a shared machine).

    .venv/bin/python bench/ingest_real_weather.py [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from occidata.datasets import synop, temperature_departments, temperature_station
from occidata.datasets.ingest import ingest
from occidata.datasets.sources import real_data_dir

SOURCES = (
    (temperature_departments, temperature_departments.read_odre_csv,
     "meteo/temperature-quotidienne-departementale.csv"),
    (temperature_station, temperature_station.read_eca_tg, "meteo/eca_tg_montpellier_aeroport.txt"),
    (synop, synop.read_synop_csv, "meteo/donnees-synop-essentielles-omm_07643_2020-09.csv"),
)


def timed(func) -> tuple[tuple[float, float], object]:
    """(wall seconds, CPU seconds of this process) of ``func()``, and its result."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = func()
    return (time.perf_counter() - wall, time.process_time() - cpu), result


def first_ingest(module, path):
    with tempfile.TemporaryDirectory(prefix="occidata-bench-weather-") as tmp:
        return ingest(module.NAME, path, tmp)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"{'source':<52} {'rows':>7} {'step':<18} {'wall s':>7} {'rows/s':>10} {'CPU s':>7} {'rows/CPU s':>10}")
    for module, reader, relative in SOURCES:
        path = real_data_dir() / relative
        steps = {
            "read": lambda: reader(path),
            "read + validate": lambda: module.SCHEMA.validate(reader(path), str(path)),
            "ingest (first)": lambda: first_ingest(module, path),
        }
        rows = len(reader(path))
        for step, func in steps.items():
            times = [timed(func)[0] for _ in range(args.runs)]
            wall = statistics.median(t[0] for t in times)
            cpu = statistics.median(t[1] for t in times)
            print(f"{path.name:<52} {rows:>7} {step:<18} {wall:7.3f} {rows / wall:>10,.0f} {cpu:7.3f} "
                  f"{rows / cpu:>10,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
