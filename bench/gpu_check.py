"""The GPU path verified in one command (`make gpu-check`), on a GPU machine with no network.

On a machine with an NVIDIA GPU and an image that has CuPy, Numba, NumPy, xarray, pandas,
pyarrow, pytest and hypothesis, this:

1. stops at once, exit status 2, with "no GPU: <why>" when no GPU is usable;
2. makes a virtualenv in .gpu-check/venv that sees the image's packages and installs what the
   image lacks from the wheel folder (``make gpu-wheels`` fills it where there is a network);
3. runs the GPU tests (``pytest -m gpu tests/compute``);
4. times every analysis of bench/compute_*.py at full size, ours with Numba against ours with
   CuPy (and the numba.cuda IDW kernel), and compares their results;
5. measures the memory bandwidth reached (a device-to-device copy, a triad) against the card's;
6. prints a Markdown report (also written to .gpu-check/report.md) and exits 0 only when all
   went well.

Everything it writes stays in the repository (.gpu-check/: the virtualenv, CuPy's kernel cache,
temporary files, the report). The whole run keeps within ``--budget-s`` (450 s by default, the
install included): an analysis that would start after its share is reported as not run.

``--dry-run`` (``make gpu-check-dry``) runs the same pipeline on a machine without a GPU: this
interpreter instead of the virtualenv, Numba only, demo size, no bandwidth.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.append(str(HERE))

from _gpu_env import REPO, EnvError, check_requirements, create_venv, install, installed_now  # noqa: E402
from _gpu_report import Results, Stage, analyses_verdict, passed, render  # noqa: E402

#: Seconds each stage may take at most (the analyses get what the budget leaves).
LIMITS = {"probe": 60, "install": 120, "tests": 180, "env": 60, "bandwidth": 40}
#: Kept back from the analyses for the bandwidth stage and the report.
BANDWIDTH_RESERVE_S = 45
#: The longest one analysis may run once started (IDW at full size: Numba, CuPy, numba.cuda).
LONGEST_CASE_S = 75
GPU_TESTS = "tests/compute"


#: Run by the interpreter under test: occidata's own rule for "a GPU is usable" (compute._xp).
_GPU_PROBE = """
import sys
try:
    from occidata.compute._xp import GPUUnavailableError, require_cupy
except ImportError as err:
    print(f"occidata.compute does not import: {err}")
    sys.exit(3)
try:
    require_cupy()
except GPUUnavailableError as err:
    print(err)
    sys.exit(2)
"""
NO_GPU, NO_IMPORT = 2, 3


def gpu_probe(python: Path) -> tuple[int, str]:
    """(0, "") when ``python`` can use a GPU, else (NO_GPU or NO_IMPORT, why)."""
    if python == Path(sys.executable) and (importlib.util.find_spec("numpy") is None
                                           or importlib.util.find_spec("cupy") is None):
        return NO_GPU, f"CuPy is not installed for {python}"
    try:
        done = subprocess.run([str(python), "-c", _GPU_PROBE], cwd=REPO, env=_stage_env(),
                              capture_output=True, text=True, timeout=LIMITS["probe"])
    except subprocess.TimeoutExpired:
        return NO_GPU, f"CuPy did not answer within {LIMITS['probe']} s"
    lines = (done.stdout + done.stderr).strip().splitlines()
    why = lines[-1] if lines else f"the probe exited {done.returncode}"
    if done.returncode in (0, NO_IMPORT):
        return done.returncode, why if done.returncode else ""
    return NO_GPU, why        # CuPy raising while it loads, a crash: no usable GPU either


def keep_inside(work: Path) -> None:
    """Send CuPy's and the CUDA driver's kernel caches and temporary files into ``work``, for
    this process and its children: the check writes nothing outside the repository."""
    tmp = work / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    os.environ.update({"CUPY_CACHE_DIR": str(work / "cupy-cache"), "CUDA_CACHE_PATH": str(work / "cuda-cache"),
                       "XDG_CACHE_HOME": str(work / "cache"), "TMPDIR": str(tmp)})


def _stage_env() -> dict:
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": path}


def _run(command: list[str], timeout: float, log: Path) -> tuple[int | None, float]:
    """Run ``command`` in the repository, output to ``log``; (exit status or None if stopped, seconds)."""
    start = time.perf_counter()
    with log.open("w") as out:
        try:
            done = subprocess.run(command, cwd=REPO, env=_stage_env(), stdout=out, stderr=subprocess.STDOUT,
                                  timeout=max(timeout, 1))
            status = done.returncode
        except subprocess.TimeoutExpired:
            status = None
    return status, time.perf_counter() - start


def _tail(log: Path, lines: int = 3) -> str:
    text = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()] if log.exists() else []
    return " / ".join(text[-lines:])[-400:]


def _read_lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:  # the last line of a stage stopped while writing it
            pass
    return rows


def junit_counts(path: Path) -> dict:
    """Passed, failed, skipped and errors of a pytest JUnit XML file, with the tests not passed."""
    root = ET.parse(path).getroot()
    counts = {"tests": 0, "failed": 0, "skipped": 0, "errors": 0, "not_passed": []}
    for suite in root.iter("testsuite"):
        counts["tests"] += int(suite.get("tests", 0))
        counts["failed"] += int(suite.get("failures", 0))
        counts["skipped"] += int(suite.get("skipped", 0))
        counts["errors"] += int(suite.get("errors", 0))
    for case in root.iter("testcase"):
        for child in case:
            if child.tag in ("failure", "error"):
                counts["not_passed"].append(f"{child.tag}: {case.get('classname')}::{case.get('name')}")
    counts["passed"] = counts["tests"] - counts["failed"] - counts["skipped"] - counts["errors"]
    return counts


def _install(res: Results, args, work: Path, probe_status: int) -> Path | None:
    """The virtualenv with what the image lacks; its python, or None when that failed."""
    t0 = time.perf_counter()
    try:
        requirements = check_requirements()
        python = create_venv(work / "venv")
        res.installed = installed_now(install(python, requirements, args.wheels.resolve(), LIMITS["install"]))
    except EnvError as err:
        res.stages.append(Stage("install", time.perf_counter() - t0, False, str(err)))
        return None
    except subprocess.CalledProcessError as err:
        last = (err.stderr or "").strip().splitlines()[-1:] or [f"{err.cmd[:3]} exited {err.returncode}"]
        res.stages.append(Stage("install", time.perf_counter() - t0, False, last[0]))
        return None
    res.stages.append(Stage("install", time.perf_counter() - t0, True,
                            f"{len(res.installed)} from {args.wheels}/ into {work.name}/venv"))
    if probe_status == NO_IMPORT:
        t0 = time.perf_counter()
        status, why = gpu_probe(python)
        if status == NO_GPU:
            raise SystemExit(_no_gpu(why))
        res.stages.append(Stage("preflight again", time.perf_counter() - t0, status == 0, why or "GPU usable"))
        if status != 0:
            return None
    return python


def _gpu_tests(res: Results, args, work: Path, python: Path) -> None:
    junit = work / "junit.xml"
    junit.unlink(missing_ok=True)
    command = [str(python), "-m", "pytest", "-m", "gpu", GPU_TESTS, "-q", "-rfEs", "-p", "no:cacheprovider",
               f"--confcutdir={GPU_TESTS}", f"--basetemp={work / 'pytest-tmp'}", f"--junitxml={junit}"]
    status, seconds = _run(command, LIMITS["tests"], work / "tests.log")
    if not junit.exists():
        why = "stopped at its limit: " if status is None else f"exit {status}: "
        res.stages.append(Stage("GPU tests", seconds, False, why + _tail(work / "tests.log")))
        return
    counts = junit_counts(junit)
    res.tests = dict(counts, command=f"pytest -m gpu {GPU_TESTS}", seconds=seconds)
    # On a GPU machine, all skipped means CuPy was not usable from the tests: a failure.
    ok = status == 0 and counts["failed"] == counts["errors"] == 0 and (args.dry_run or counts["passed"] > 0)
    res.stages.append(Stage("GPU tests", seconds, ok, f"{counts['passed']} passed, {counts['failed']} failed, "
                                                      f"{counts['skipped']} skipped"))


def _measure(python: Path, work: Path, stage: str, options: list[str], limit: float) -> tuple[list[dict], str, float]:
    """One stage of bench/_gpu_measure.py: (its JSON lines, "" or why it failed, seconds)."""
    out = work / f"{stage}.jsonl"
    out.unlink(missing_ok=True)
    log = work / f"{stage}.log"
    status, seconds = _run([str(python), str(HERE / "_gpu_measure.py"), stage, "--out", str(out)] + options,
                           limit, log)
    why = "" if status == 0 else ("stopped at its limit" if status is None else f"exit {status}: {_tail(log)}")
    return _read_lines(out), why, seconds


def run_check(args) -> int:
    started = time.perf_counter()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    keep_inside(work)
    size = args.size or ("demo" if args.dry_run else "full")
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    title = ("make gpu-check-dry (dry run: no GPU, Numba only)" if args.dry_run else "make gpu-check") + f", {when}"
    res = Results(title=title, size=size, dry_run=args.dry_run)

    t0 = time.perf_counter()
    status, why = (0, "dry run: no GPU asked for") if args.dry_run else gpu_probe(Path(sys.executable))
    if status == NO_GPU:
        return _no_gpu(why)
    # When occidata needs a package only the wheels bring, the probe runs again after the install.
    res.stages.append(Stage("preflight", time.perf_counter() - t0, True,
                            (why or "GPU usable") if status == 0 else f"{why} (probed again after the install)"))

    if args.dry_run:
        python = Path(sys.executable)
        res.stages.append(Stage("install", 0.0, True, "skipped (dry run: this interpreter)"))
    else:
        python = _install(res, args, work, status)
        if python is None:
            return _finish(res, args, started)

    _gpu_tests(res, args, work, python)

    no_gpu = ["--no-gpu"] if args.dry_run else []
    lines, why, seconds = _measure(python, work, "env", no_gpu, LIMITS["env"])
    res.env = next(iter(lines), {})
    res.stages.append(Stage("environment", seconds, not why, why))

    left = args.budget_s - (time.perf_counter() - started) - (0 if args.dry_run else BANDWIDTH_RESERVE_S)
    options = ["--size", size, "--deadline-s", str(max(left - LONGEST_CASE_S, 0))] + no_gpu
    options += ["--areas", args.areas] if args.areas else []
    lines, why, seconds = _measure(python, work, "analyses", options, left)
    res.rows = [r for r in lines if r.get("kind") == "analysis"]
    res.builds = [r for r in lines if r.get("kind") == "build"]
    ok, summary = analyses_verdict(res.rows, args.dry_run)
    summary += f" (inputs built in {sum(b['build_s'] for b in res.builds):.1f} s)" + (f"; {why}" if why else "")
    res.stages.append(Stage("analyses", seconds, ok and not why, summary))

    if not args.dry_run:
        lines, why, seconds = _measure(python, work, "bandwidth", [], LIMITS["bandwidth"])
        res.nominal = next((r for r in lines if r.get("kind") == "nominal"), None)
        res.bandwidth = [r for r in lines if r.get("kind") == "bandwidth"]
        ok = not why and bool(res.bandwidth) and not any(b.get("failed") for b in res.bandwidth)
        res.stages.append(Stage("bandwidth", seconds, ok, why))
    return _finish(res, args, started)


def _no_gpu(why: str) -> int:
    print(f"no GPU: {why}", file=sys.stderr)
    print("make gpu-check needs an NVIDIA GPU; on a machine without one, `make gpu-check-dry` "
          "runs the same pipeline on Numba only.", file=sys.stderr)
    return NO_GPU


def _finish(res: Results, args, started: float) -> int:
    report = render(res)
    print(report, end="")
    path = (args.report or args.work / "report.md").resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(report)
    tmp.replace(path)
    print(f"(report written to {path}; logs in {args.work.resolve()}/; "
          f"{time.perf_counter() - started:.0f} s in all)")
    return 0 if passed(res) else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheels", type=Path, default=REPO / "wheelhouse",
                        help="the wheel folder made by `make gpu-wheels` (default wheelhouse/)")
    parser.add_argument("--work", type=Path, default=REPO / ".gpu-check",
                        help="where the virtualenv, caches, logs and report go (default .gpu-check/)")
    parser.add_argument("--report", type=Path, help="write the Markdown report here too (default <work>/report.md)")
    parser.add_argument("--dry-run", action="store_true", help="no GPU: this interpreter, Numba only, demo size")
    parser.add_argument("--size", choices=["demo", "full"], help="analyses' size (full; demo in a dry run)")
    parser.add_argument("--areas", help="only these bench/compute_<area>.py, comma-separated (default all)")
    parser.add_argument("--budget-s", type=float, default=450.0, help="seconds for the whole check (450)")
    return run_check(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
