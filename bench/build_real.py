"""How long does the demo build take from the real exports, against synthetic data only?

For each entry that has real exports (``REAL`` in its module): reading, validating and merging
its files (:func:`occidata.datasets.real_sources.load_real`) in rows per second; then the demo
build (`occidata data build --size demo`, every public entry) twice in throw-away folders: with
``sources.real_data_dir`` (../shared/data/real by default) and with an empty one (synthetic
only, as on a machine without ../shared). Prints the seconds and their ratio, measured in this run.

    .venv/bin/python bench/build_real.py [--size demo] [--runs 1]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from occidata.datasets import get_dataset, names
from occidata.datasets.build import build_all
from occidata.datasets.real_sources import load_real, real_source
from occidata.datasets.sources import real_data_dir


def timed(func) -> float:
    started = time.perf_counter()
    func()
    return time.perf_counter() - started


def build_seconds(size: str, only: list[str], real: Path) -> tuple[float, dict]:
    with tempfile.TemporaryDirectory(prefix="occidata-bench-build-") as tmp:
        started = time.perf_counter()
        manifest = build_all(size, tmp, only=only, progress=lambda line: None, real_data_dir=real)
        return time.perf_counter() - started, manifest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="demo", choices=["tiny", "demo", "full"])
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    real = real_data_dir()
    if not real.is_dir():
        print(f"no real exports at {real} (sources.real_data_dir): nothing to compare")
        return 2
    with_real = [name for name in names() if real_source(get_dataset(name))]
    print(f"real exports read from {real}; median of {args.runs} run(s)")
    print(f"{'entry':<32} {'files':>5} {'rows read':>10} {'seconds':>8} {'rows/s':>10}")
    for name in with_real:
        module = get_dataset(name)
        loaded = load_real(module, real)
        read = sum(source["rows"]["read"] for source in loaded.files)
        seconds = statistics.median(timed(lambda: load_real(module, real)) for _ in range(args.runs))
        print(f"{name:<32} {len(loaded.files):>5} {read:>10,} {seconds:>8.2f} {read / seconds:>10,.0f}")
    public = [name for name in names() if get_dataset(name).METADATA["access"] == "public"]
    with tempfile.TemporaryDirectory(prefix="occidata-bench-no-real-") as empty:
        for label, only in (("entries with real exports", with_real), ("every public entry", public)):
            real_s = statistics.median(build_seconds(args.size, only, real)[0] for _ in range(args.runs))
            synthetic_s = statistics.median(build_seconds(args.size, only, Path(empty))[0] for _ in range(args.runs))
            print(f"build --size {args.size}, {label} ({len(only)}): real sources {real_s:.1f} s, "
                  f"synthetic only {synthetic_s:.1f} s, ratio real/synthetic {real_s / synthetic_s:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
