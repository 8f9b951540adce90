"""The measuring half of bench/gpu_check.py, run in the check's environment.

``python bench/_gpu_measure.py env|analyses|bandwidth --out FILE [...]`` appends one JSON
object per line to FILE as soon as each is measured, so a stage stopped at its time limit
still leaves what it had measured.

- ``env``: the device, the driver and the versions of CuPy, Numba and numba-cuda.
- ``analyses``: every case of bench/compute_*.py (the cases of ``make bench-compute``), ours
  with Numba on the CPU against ours with CuPy on the GPU on the same inputs, plus the
  ``numba.cuda`` IDW kernel; each first call is timed apart (compilation), then the best of a
  few (bench/compute.py's ``best_time``), and the first results of both are compared.
- ``bandwidth``: a device-to-device copy and a STREAM triad on CuPy arrays, timed with CUDA
  events, against the card's nominal bandwidth.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.append(str(HERE))

from _compute_case import Case  # noqa: E402

#: Memory bandwidth on NVIDIA's data sheets, bytes/s, by a part of the device's name (first match).
SPEC_SHEET = (
    ("H200", 4.8e12),
    ("H100 NVL", 3.9e12),
    ("H100 PCIe", 2.0e12),
    ("H100", 3.35e12),      # SXM5, "NVIDIA H100 80GB HBM3"
    ("A100-SXM4-80GB", 2.039e12),
    ("A100", 1.555e12),
)


@functools.cache
def _bench_compute():
    """bench/compute.py, loaded from its file: under pytest, ``compute`` is tests/compute."""
    spec = importlib.util.spec_from_file_location("occidata_bench_compute", HERE / "compute.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _emit(out: Path, row: dict) -> None:
    with out.open("a") as f:
        f.write(json.dumps(row) + "\n")


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


# --------------------------------------------------------------------------- env


def _nvidia_smi() -> dict:
    try:
        done = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total",
                               "--format=csv,noheader"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return {}
    first = done.stdout.strip().splitlines()[:1]
    if done.returncode != 0 or not first:
        return {}
    name, driver, memory = (part.strip() for part in (first[0].split(",") + ["", ""])[:3])
    return {"smi_name": name, "driver": driver, "smi_memory": memory}


def measure_env(out: Path, gpu: bool) -> None:
    row = {"kind": "env", "python": sys.version.split()[0], "executable": sys.executable,
           "cpus": os.cpu_count(),
           "versions": {d: _version(d) for d in ("cupy-cuda13x", "cupy-cuda12x", "numba",
                                                  "numba-cuda", "numpy", "xarray", "dask", "pykrige")}}
    if gpu:
        import cupy

        props = cupy.cuda.runtime.getDeviceProperties(0)
        name = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
        runtime, driver = cupy.cuda.runtime.runtimeGetVersion(), cupy.cuda.runtime.driverGetVersion()
        row.update(device=name, compute_capability=f"{props['major']}.{props['minor']}",
                   memory_gib=props["totalGlobalMem"] / 2**30, multiprocessors=props["multiProcessorCount"],
                   cuda_runtime=f"{runtime // 1000}.{runtime % 1000 // 10}",
                   cuda_driver_api=f"{driver // 1000}.{driver % 1000 // 10}", **_nvidia_smi())
    _emit(out, row)


# --------------------------------------------------------------------------- analyses


def _arrays(result) -> list[np.ndarray]:
    """The arrays of a result (NumPy, CuPy, tuples, named tuples, lists, dicts), on the host."""
    if isinstance(result, dict):
        return [a for v in result.values() for a in _arrays(v)]
    if isinstance(result, (tuple, list)):
        return [a for v in result for a in _arrays(v)]
    if hasattr(result, "get") and type(result).__module__.split(".")[0] == "cupy":
        return [result.get()]
    if hasattr(result, "values") and hasattr(result, "dims"):   # an xarray object
        return [np.asarray(result.values)]
    return [np.asarray(result)]


def compare(reference, other) -> dict:
    """How far ``other`` is from ``reference``: the largest difference scaled by the largest
    magnitude of each array, and the counts of NaN places and exact values that differ."""
    a_list, b_list = _arrays(reference), _arrays(other)
    if len(a_list) != len(b_list):
        return {"error": f"{len(a_list)} arrays against {len(b_list)}"}
    worst, nan_diff, exact_diff = 0.0, 0, 0
    for a, b in zip(a_list, b_list):
        if a.shape != b.shape:
            return {"error": f"shape {a.shape} against {b.shape}"}
        if a.dtype.kind == "f" or b.dtype.kind == "f":
            a, b = a.astype(np.float64, copy=False), b.astype(np.float64, copy=False)
            nan_diff += int(np.count_nonzero(np.isnan(a) != np.isnan(b)))
            diff = np.abs(a - b)            # NaN where either is: those are counted above
            if not np.isnan(diff).all():
                worst = max(worst, float(np.nanmax(diff)) / (float(np.nanmax(np.abs(a))) or 1.0))
            del diff
        else:
            exact_diff += int(np.count_nonzero(a != b))
    return {"max_scaled_diff": worst, "nan_diff": nan_diff, "exact_diff": exact_diff}


def _numba_cuda_idw(size: str):
    """The numba.cuda IDW kernel on the inputs of bench/compute_interpolation.py's IDW case."""
    import compute_interpolation as ci

    sx, sy, values, gx, gy = ci._inputs(*ci.SIZES["idw"][size])

    def call():
        from occidata.compute._cuda_idw import idw_cuda  # imports numba.cuda: a failure is this row's

        return idw_cuda(sx, sy, values, gx, gy)
    return call


def _area_modules(areas: list[str] | None):
    names = sorted(p.stem for p in HERE.glob("compute_*.py"))
    if areas:
        unknown = [a for a in areas if f"compute_{a}" not in names]
        if unknown:
            raise SystemExit(f"--areas {','.join(unknown)}: no bench/compute_<area>.py of that name "
                             f"(there are {', '.join(n.removeprefix('compute_') for n in names)})")
        names = [n for n in names if n.removeprefix("compute_") in areas]
    return names


def _run_case(case: Case, area: str, gpu_paths: list, tolerance: float) -> list[dict]:
    """Numba once (cold, then best), then each ``(label, call)`` of ``gpu_paths`` against it."""
    best_time = _bench_compute().best_time
    t0 = time.perf_counter()
    base = {"kind": "analysis", "area": area, "analysis": case.analysis, "shape": case.shape,
            "bytes_read": case.bytes_read}
    start = time.perf_counter()
    reference = case.numba()
    base["numba_cold_s"] = time.perf_counter() - start
    base["numba_s"] = best_time(case.numba)
    rows = []
    for label, call in gpu_paths or [("cupy", None)]:
        row = dict(base, gpu_path=label)
        if call is not None:
            try:
                start = time.perf_counter()
                result = call()
                row["gpu_cold_s"] = time.perf_counter() - start
                row["gpu_s"] = best_time(call)
                row.update(compare(reference, result))
                del result
                row["agrees"] = ("error" not in row and row["nan_diff"] == 0 and row["exact_diff"] == 0
                                 and row["max_scaled_diff"] <= tolerance)
            except Exception as err:  # the GPU path failing keeps the Numba timings
                row["failed"] = f"{type(err).__name__}: {err}"[:300]
        rows.append(row)
    rows[0]["wall_s"] = time.perf_counter() - t0
    return rows


def measure_analyses(out: Path, size: str, gpu: bool, areas: list[str] | None, deadline_s: float) -> None:
    """Every case of the chosen bench/compute_<area>.py modules; none starts after ``deadline_s``."""
    from occidata.compute import _xp

    tolerance = getattr(_xp, "TOLERANCE", {}).get("cupy", 1e-7)
    start = time.perf_counter()
    for name in _area_modules(areas):
        area = name.removeprefix("compute_")
        if time.perf_counter() - start > deadline_s:
            _emit(out, {"kind": "analysis", "area": area, "analysis": f"(all of compute_{area})",
                        "skipped": f"time budget of {deadline_s:.0f} s spent"})
            continue
        t0 = time.perf_counter()
        cases = importlib.import_module(name).cases(size)
        _emit(out, {"kind": "build", "area": area, "cases": len(cases), "build_s": time.perf_counter() - t0})
        for case in cases:
            if time.perf_counter() - start > deadline_s:
                _emit(out, {"kind": "analysis", "area": area, "analysis": case.analysis,
                            "shape": case.shape, "skipped": f"time budget of {deadline_s:.0f} s spent"})
                continue
            gpu_paths = []
            if gpu and case.cupy is not None:
                gpu_paths.append(("cupy", case.cupy))
            if gpu and area == "interpolation" and case.analysis == "idw":
                gpu_paths.append(("numba.cuda", _numba_cuda_idw(size)))
            try:
                rows = _run_case(case, area, gpu_paths, tolerance)
            except Exception as err:  # one analysis failing must not hide the others' rows
                rows = [{"kind": "analysis", "area": area, "analysis": case.analysis, "shape": case.shape,
                         "failed": f"{type(err).__name__}: {err}"[:300]}]
            for row in rows:
                _emit(out, row)
        del cases
        if gpu:
            import cupy

            cupy.get_default_memory_pool().free_all_blocks()


# --------------------------------------------------------------------------- bandwidth


def nominal_bandwidth(name: str) -> dict:
    """The card's peak memory bandwidth: from CUDA's attributes (or NVML), and its data sheet."""
    peak = _bench_compute().gpu_peak_bandwidth()
    source = "CUDA attributes (2 x memory clock x bus width)"
    if not peak:
        try:
            import pynvml

            pynvml.nvmlInit()
            handle = pynvml.nvmlDeviceGetHandleByIndex(0)
            clock = pynvml.nvmlDeviceGetMaxClockInfo(handle, pynvml.NVML_CLOCK_MEM)
            peak = 2.0 * clock * 1e6 * pynvml.nvmlDeviceGetMemoryBusWidth(handle) / 8
            source = "NVML (2 x max memory clock x bus width)"
        except Exception:  # no NVML, or a call this driver lacks
            peak, source = None, None
    sheet = next((bw for part, bw in SPEC_SHEET if part in name), None)
    return {"nominal_gb_s": peak / 1e9 if peak else None, "nominal_source": source,
            "spec_sheet_gb_s": sheet / 1e9 if sheet else None}


def _event_times(fn, repeats: int) -> list[float]:
    import cupy

    for _ in range(2):
        fn()
    times = []
    for _ in range(repeats):
        begin, end = cupy.cuda.Event(), cupy.cuda.Event()
        begin.record()
        fn()
        end.record()
        end.synchronize()
        times.append(cupy.cuda.get_elapsed_time(begin, end) / 1e3)
    return times


def measure_bandwidth(out: Path, nbytes: int, repeats: int) -> None:
    import cupy

    props = cupy.cuda.runtime.getDeviceProperties(0)
    name = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
    _emit(out, {"kind": "nominal", "device": name, **nominal_bandwidth(name)})
    n = nbytes // 8
    a = cupy.ones(n, dtype=cupy.float64)
    b = cupy.empty_like(a)
    c = cupy.full(n, 2.0, dtype=cupy.float64)
    triad = cupy.ElementwiseKernel("float64 b, float64 c, float64 s", "float64 a", "a = b + s * c",
                                   "gpu_check_triad")
    tests = [
        ("device-to-device copy (cudaMemcpy)", 2 * a.nbytes,
         lambda: b.data.copy_from_device_async(a.data, a.nbytes)),
        ("triad a = b + s*c (elementwise kernel)", 3 * a.nbytes, lambda: triad(b, c, 3.0, a)),
    ]
    for label, moved, fn in tests:
        times = _event_times(fn, repeats)
        _emit(out, {"kind": "bandwidth", "test": label, "array_gb": a.nbytes / 1e9, "bytes_moved": moved,
                    "repeats": repeats, "best_gb_s": moved / min(times) / 1e9,
                    "median_gb_s": moved / float(np.median(times)) / 1e9})
    if not bool((a == 1.0 + 3.0 * 2.0).all()):
        _emit(out, {"kind": "bandwidth", "test": "triad result", "failed": "a != b + 3*c after the triad"})


# --------------------------------------------------------------------------- command line


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=["env", "analyses", "bandwidth"])
    parser.add_argument("--out", type=Path, required=True, help="JSON lines are appended to this file")
    parser.add_argument("--size", choices=["demo", "full"], default="full")
    parser.add_argument("--no-gpu", action="store_true", help="Numba only (the dry run)")
    parser.add_argument("--areas", help="comma-separated bench/compute_<area>.py to run (default all)")
    parser.add_argument("--deadline-s", type=float, default=1e9, help="start no analysis after this")
    parser.add_argument("--nbytes", type=int, default=2 << 30, help="bytes of each bandwidth array")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    gpu = not args.no_gpu
    if args.stage == "env":
        measure_env(args.out, gpu)
    elif args.stage == "analyses":
        areas = [a.strip() for a in args.areas.split(",")] if args.areas else None
        measure_analyses(args.out, args.size, gpu, areas, args.deadline_s)
    else:
        measure_bandwidth(args.out, args.nbytes, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
