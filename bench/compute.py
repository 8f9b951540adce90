"""Benchmark occidata.compute: ours (Numba, CuPy) against the best plain NumPy / xarray way.

Usage: ``python bench/compute.py [--size demo|full|both] [--only NAME] [--json PATH]``
(``make bench-compute``). Every case of every ``bench/compute_<area>.py`` runs in one process:
the first Numba call is timed apart ("cold": compilation or the on-disk cache), then each
way is timed as the best of a few repeats, and the ratios printed are from this one run.

Aims from issue 4, printed against each row: Numba never slower than the best NumPy way
(ratio >= 1), at least 2x on the sequential analyses; on a GPU, CuPy at least 30x Numba for
IDW at full size, and the memory bandwidth that reductions reach against the card's peak.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from occidata.compute._xp import gpu_usable  # noqa: E402


def best_time(fn, budget_s: float = 2.0, max_repeats: int = 5) -> float:
    """Best of up to ``max_repeats`` calls, fewer when one call already takes ``budget_s``."""
    times = []
    start = time.perf_counter()
    while len(times) < max_repeats:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if time.perf_counter() - start > budget_s and len(times) >= 2:
            break
        if times[0] > budget_s:
            break
    return min(times)


def gpu_peak_bandwidth() -> float | None:
    """Theoretical memory bandwidth of GPU 0 in bytes/s (2 x memory clock x bus width)."""
    try:
        import cupy
        attrs = cupy.cuda.Device(0).attributes
        return 2.0 * attrs["MemoryClockRate"] * 1e3 * attrs["GlobalMemoryBusWidth"] / 8
    except Exception:  # no cupy, no device, or a driver that hides these attributes
        return None


def area_modules(only: str | None):
    names = sorted(p.stem for p in HERE.glob("compute_*.py"))
    modules = [importlib.import_module(n) for n in names]
    return [(m, only) for m in modules]


def run(sizes: list[str], only: str | None, json_path: str | None) -> int:
    on_gpu = gpu_usable()
    peak = gpu_peak_bandwidth() if on_gpu else None
    print(f"occidata.compute benchmark: {os.cpu_count()} CPU cores, "
          f"GPU {'usable' if on_gpu else 'not usable (CuPy columns empty)'}"
          + (f", peak memory bandwidth {peak / 1e9:.0f} GB/s" if peak else ""), flush=True)
    rows = []
    header = (f"{'size':5} {'analysis':24} {'cold s':>7} {'numba s':>8} {'numpy s':>8} {'np/nb':>6} "
              f"{'xr s':>7} {'xr/nb':>6} {'cupy s':>8} {'nb/cp':>6} {'GB/s':>6}  aim")
    for size in sizes:
        print(f"\n== {size} ==", flush=True)
        cases = []
        for module, _ in area_modules(only):
            t0 = time.perf_counter()
            built = [c for c in module.cases(size) if not only or only in c.analysis]
            if built:
                print(f"  built {len(built)} case(s) of {module.__name__} in "
                      f"{time.perf_counter() - t0:.1f} s", flush=True)
            cases += built
        print(header, flush=True)
        for case in cases:
            t0 = time.perf_counter()
            case.numba()
            cold = time.perf_counter() - t0
            numba_s = best_time(case.numba)
            numpy_s = best_time(case.numpy_best)
            xr_s = best_time(case.xarray) if case.xarray else None
            cupy_s = None
            if case.cupy and on_gpu:
                case.cupy()  # compile / load kernels
                cupy_s = best_time(case.cupy)
            gbs = case.bytes_read / cupy_s / 1e9 if (cupy_s and case.bytes_read) else None
            aim_ratio = 2.0 if case.sequential else 1.0
            verdict = "ok" if numpy_s / numba_s >= aim_ratio else f"below {aim_ratio:g}x"
            if case.analysis == "idw" and size == "full" and cupy_s:
                verdict += ", cupy " + ("ok" if numba_s / cupy_s >= 30 else "below 30x")
            row = dict(size=size, analysis=case.analysis, shape=case.shape, cold_s=cold,
                       numba_s=numba_s, numpy_s=numpy_s, xarray_s=xr_s, cupy_s=cupy_s,
                       numpy_over_numba=numpy_s / numba_s,
                       xarray_over_numba=(xr_s / numba_s) if xr_s else None,
                       numba_over_cupy=(numba_s / cupy_s) if cupy_s else None,
                       cupy_gb_s=gbs, peak_gb_s=peak / 1e9 if peak else None,
                       sequential=case.sequential, verdict=verdict)
            rows.append(row)

            def fmt(v, spec):
                return format(v, spec) if v is not None else "-".rjust(len(format(1.0, spec)))
            print(f"{size:5} {case.analysis:24} {cold:7.3f} {numba_s:8.4f} {numpy_s:8.4f} "
                  f"{row['numpy_over_numba']:6.1f} {fmt(xr_s, '7.4f')} {fmt(row['xarray_over_numba'], '6.1f')} "
                  f"{fmt(cupy_s, '8.5f')} {fmt(row['numba_over_cupy'], '6.1f')} {fmt(gbs, '6.0f')}  {verdict}",
                  flush=True)
            print(f"      {case.shape}", flush=True)
    if json_path:
        Path(json_path).write_text(json.dumps(rows, indent=1))
        print(f"\nrows written to {json_path}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=["demo", "full", "both"], default="both")
    parser.add_argument("--only", help="run only analyses whose name contains this text")
    parser.add_argument("--json", help="also write the rows as JSON to this path")
    args = parser.parse_args(argv)
    sizes = ["demo", "full"] if args.size == "both" else [args.size]
    return run(sizes, args.only, args.json)


if __name__ == "__main__":
    sys.exit(main())
