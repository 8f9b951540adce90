"""What does running a notebook as a report cost, and does running two at once pay?

In one run, on bench/notebooks/idw_eaqi_hourly.ipynb (hourly IDW maps of NO2 on a 150x150 grid
and their EAQI through ``occidata.compute``; 15000 hourly maps are about 10 s of work on 2 cores):

1. papermill's overhead: the notebook run as a report (``run_report``: kernel start,
   papermill, HTML rendering, archive) against the same code cells concatenated and run as
   a script (``python -c``, a fresh interpreter too; best of a run before and one after
   the report, after an untimed warm-up), and the ratio;
2. 20 short reports (the same notebook with ``hours=24``) at concurrency 1 and then 2, each
   report in its own worker process (the runner sets the kernel's environment in its
   process, so threads would share it): wall time, speedup and failures.

    .venv/bin/python bench/reports.py [--hours 8760] [--reports 20] [--concurrency 1 2]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

BENCH_NOTEBOOK = Path(__file__).resolve().parent / "notebooks" / "idw_eaqi_hourly.ipynb"


def script_source(notebook: Path, parameters: dict) -> str:
    """The notebook's code cells as one script, the parameters appended after the parameters cell."""
    cells = json.loads(notebook.read_text())["cells"]
    parts = []
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        parts.append("".join(cell["source"]))
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            parts.append("\n".join(f"{k} = {v!r}" for k, v in parameters.items()))
    return "\n\n".join(parts) + "\n"


def run_script(notebook: Path, parameters: dict, workdir: Path) -> float:
    """Wall time of the code cells run with ``python -c`` in a fresh interpreter."""
    env = {**os.environ, "OCCIDATA_REPORT_SUMMARY": str(workdir / "script-summary.json")}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", script_source(notebook, parameters)], check=True, env=env, cwd=workdir,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def run_one(notebook: str, parameters: dict, archive: str) -> dict:
    """One report in this (worker) process; its record as a dict, or the exception's text."""
    from occidata.reports.runner import run_report

    started = time.perf_counter()
    try:
        record = run_report(notebook, parameters, archive_dir=archive, timeout=300)
        return {"status": record.status, "error": record.error, "wall_s": time.perf_counter() - started}
    except Exception as exc:  # counted as a failure, the bench goes on
        return {"status": "error", "error": f"{type(exc).__name__}: {exc}", "wall_s": time.perf_counter() - started}


def overhead(hours: int, workdir: Path) -> None:
    from occidata.reports.runner import run_report

    print(f"1. papermill against a script, {BENCH_NOTEBOOK.name} with hours={hours}", flush=True)
    params = {"hours": hours}
    run_script(BENCH_NOTEBOOK, {"hours": 24}, workdir)  # warm-up: Numba's on-disk cache, file cache
    script_s = run_script(BENCH_NOTEBOOK, params, workdir)
    print(f"   script (python -c, fresh interpreter):  {script_s:7.2f} s", flush=True)
    started = time.perf_counter()
    record = run_report(BENCH_NOTEBOOK, params, archive_dir=workdir / "archive-overhead")
    report_s = time.perf_counter() - started
    if not record.ok:
        print(f"   report FAILED: {record.error['name']}: {record.error['message']}")
        return
    print(f"   report (run_report: kernel, papermill, HTML, archive): {report_s:7.2f} s "
          f"(papermill part {record.duration_s:.2f} s)", flush=True)
    again_s = run_script(BENCH_NOTEBOOK, params, workdir)
    print(f"   script again:                           {again_s:7.2f} s", flush=True)
    script_best = min(script_s, again_s)
    print(f"   ratio report / script: {report_s / script_best:.2f}  "
          f"(overhead {report_s - script_best:+.2f} s; papermill only: {record.duration_s / script_best:.2f})", flush=True)


def concurrency(reports: int, levels: list[int], workdir: Path) -> None:
    print(f"2. {reports} short reports ({BENCH_NOTEBOOK.name}, hours=24), one worker process per slot", flush=True)
    context = multiprocessing.get_context("spawn")
    walls = {}
    for level in levels:
        archive = workdir / f"archive-c{level}"
        started = time.perf_counter()
        failures, done = [], 0
        with ProcessPoolExecutor(max_workers=level, mp_context=context) as pool:
            futures = [pool.submit(run_one, str(BENCH_NOTEBOOK), {"hours": 24, "seed": i}, str(archive))
                       for i in range(reports)]
            for future in as_completed(futures):
                result = future.result()
                done += 1
                if result["status"] != "ok":
                    failures.append(result["error"])
                print(f"   concurrency {level}: {done:2d}/{reports} {result['status']:<6} {result['wall_s']:5.2f} s", flush=True)
        walls[level] = time.perf_counter() - started
        print(f"   concurrency {level}: {walls[level]:.1f} s wall, {walls[level] / reports:.2f} s per report, "
              f"{len(failures)} failures", flush=True)
        for failure in failures[:3]:
            print(f"      {failure}")
    base = walls.get(levels[0])
    for level in levels[1:]:
        print(f"   speedup concurrency {level} / {levels[0]}: {base / walls[level]:.2f}x on {os.cpu_count()} CPUs", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=int, default=15000, help="hourly maps: ~10 s of work on 2 cores (default 15000)")
    parser.add_argument("--reports", type=int, default=20)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--skip-overhead", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="occidata-bench-reports-") as tmp:
        workdir = Path(tmp)
        os.environ["OCCIDATA_STATE_DIR"] = str(workdir / "state")  # inherited by workers and kernels
        if not args.skip_overhead:
            overhead(args.hours, workdir)
        concurrency(args.reports, args.concurrency, workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
