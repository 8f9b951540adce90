"""Heat alerts over the full-size grid on 1, 2 and 4 Dask workers that are Slurm jobs (issue 17).

On a real Slurm of the tests' kind (tests/slurm_cluster.py: munged, slurmctld and slurmd on this
machine), as a researcher's system account made for the run: the lab is a Slurm job of that
account, as in slurm mode, and calls ``occidata.cluster(n_workers=n)``; its workers read the
full-size ``weather_daily`` grid (five years, 1 826 days x 39 x 54 cells, built once in a
temporary data directory) from its Zarr store and run ``heatwave_alerts_xr`` chunk by chunk.
For each n: the time until the n workers' jobs have joined, then the best of a few
computations (the first, not timed, lets Numba compile in every worker), and the speed-up
against one worker, all from this one run. The test node has this machine's cores and no
more: with 2 cores, 4 workers (and the lab) share them, and that is the figure printed.

    sudo .venv/bin/python bench/slurm_dask.py [--workers 1 2 4] [--repeats 3]

Needs root and Slurm (``make test`` as root installs it). ``bench/slurm.py`` imports
:func:`measure_heat_alerts`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))  # the tests' real Slurm

CHUNKS = {"y": 10, "x": 14}  # 4 x 4 spatial blocks; each gathers the whole time axis
WORKER_LIMITS = {"partition": "cpu", "cores": 1, "memory_mib": 1024, "time_minutes": 60}


def _alerts_digest(result) -> str:
    import numpy as np

    digest = hashlib.sha256()
    for name in ("alert", "ibmn", "ibmx", "alert_days", "episodes"):
        digest.update(np.ascontiguousarray(result[name].values).tobytes())
    return digest.hexdigest()[:16]


def _lab_side(counts: list[int], repeats: int) -> dict:
    """Inside the lab's Slurm job: one cluster per count, timed."""
    import occidata
    from occidata import catalog
    from occidata.compute import heatwave_alerts_xr

    in_memory = catalog.load("weather_daily").load()
    expected = heatwave_alerts_xr(in_memory)  # and Numba compiles
    result_mb = expected.nbytes / 1e6
    reference = _best(lambda: heatwave_alerts_xr(in_memory), repeats)
    # The same chunked graph, run by Dask in the lab's own process: Dask's share without the network.
    chunked = heatwave_alerts_xr(catalog.load("weather_daily").chunk(CHUNKS))
    local = _best(lambda: chunked.compute(scheduler="synchronous"), repeats)
    runs = []
    for count in counts:
        started = time.perf_counter()
        with occidata.cluster(n_workers=count) as cluster, cluster.get_client() as client:
            client.wait_for_workers(count, timeout=600)
            ready = time.perf_counter() - started
            weather = catalog.load("weather_daily")
            lazy = heatwave_alerts_xr(weather.chunk(CHUNKS))
            digest = _alerts_digest(client.compute(lazy).result())  # Numba compiles in each worker
            gathered = _best(lambda: client.compute(lazy).result(), repeats)
            # The same work, but only each output's sum comes back: what moving the results costs.
            kept = _best(lambda: client.compute(lazy.sum()).result(), repeats)
            workers = len(client.scheduler_info(n_workers=-1)["workers"])
        runs.append({"workers": count, "joined": workers, "start_s": ready, "compute_s": gathered,
                     "summed_s": kept, "digest": digest, "grid": dict(weather.sizes),
                     "chunks": len(lazy.chunks["y"]) * len(lazy.chunks["x"])})
    return {"runs": runs, "in_memory_s": reference, "result_mb": result_mb, "local_dask_s": local,
            "in_memory_digest": _alerts_digest(expected)}


def _best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def measure_heat_alerts(counts=(1, 2, 4), repeats: int = 3) -> dict:
    """Start a test Slurm and a researcher's account, run the lab side as a Slurm job of it, clean up.

    Returns ``{"cores", "grid", "chunks", "runs": [{"workers", "start_s", "compute_s", "speedup"}],
    "same_result"}``; speed-ups are against the first count (one worker)."""
    from slurm_cluster import SlurmCluster, missing
    from slurm_dask_lab import remove_scratch

    from occidata.datasets.build import build_all

    if os.geteuid() != 0 or missing():
        raise SystemExit("bench/slurm_dask.py needs root and Slurm (apt-get install slurmctld slurmd slurm-client "
                         f"munge); missing: {', '.join(missing()) or 'root'}")
    root = Path(tempfile.mkdtemp(prefix="occidata-slurm-dask-"))
    os.chmod(root, 0o755)
    account = f"osbd{secrets.token_hex(3)}"
    slurm = None
    try:
        build_all("full", root / "data", only=["weather_daily"], progress=lambda line: None)
        slurm = SlurmCluster(root / "slurm").start()
        # Lab + up to 4 workers, one core each, on this machine's cores: let them share.
        slurm.run(["scontrol", "update", "PartitionName=cpu", f"OverSubscribe=FORCE:{max(4, max(counts))}"])
        home = root / "home"
        subprocess.run(["useradd", "--create-home", "--home-dir", str(home), "--shell", "/bin/bash", account],
                       check=True)
        environment = {
            "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
            "SLURM_CONF": str(slurm.conf), "OCCIDATA_MODE": "slurm", "OCCIDATA_DATA_DIR": str(root / "data"),
            "OCCIDATA_STATE_DIR": str(home / "state"), "OCCIDATA_ACCESS_LEVELS": "",
            "OCCIDATA_DASK_WORKERS": json.dumps({**WORKER_LIMITS, "max_workers": max(counts)}),
        }
        done = subprocess.run(
            [shutil.which("runuser"), "-u", account, "--", "srun", "--mem=3G", "--time=60",
             "--job-name=occidata-lab", sys.executable, str(Path(__file__).resolve()), "--lab",
             "--workers", *map(str, counts), "--repeats", str(repeats)],
            env=environment, cwd=home, capture_output=True, text=True, timeout=3600)
        if done.returncode != 0:
            raise RuntimeError(f"the lab's job failed ({done.returncode}):\n{done.stdout[-2000:]}\n"
                               f"{done.stderr[-4000:]}")
        lab = json.loads(done.stdout.strip().splitlines()[-1])
        runs = lab["runs"]
    finally:
        if slurm is not None:
            slurm.stop()
        try:
            remove_scratch(pwd.getpwnam(account).pw_uid)
        except KeyError:  # the account was not made
            pass
        subprocess.run(["userdel", account], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
    base, base_summed = runs[0]["compute_s"], runs[0]["summed_s"]
    grid = runs[0]["grid"]
    return {"cores": os.cpu_count(), "grid": f"{grid['time']} days x {grid['y']}x{grid['x']} cells",
            "chunks": runs[0]["chunks"], "same_result": {run["digest"] for run in runs} == {lab["in_memory_digest"]},
            "in_memory_s": lab["in_memory_s"], "result_mb": lab["result_mb"],
            "local_dask_s": lab["local_dask_s"],
            "runs": [{"workers": run["workers"], "joined": run["joined"], "start_s": run["start_s"],
                      "compute_s": run["compute_s"], "speedup": base / run["compute_s"],
                      "summed_s": run["summed_s"], "summed_speedup": base_summed / run["summed_s"]}
                     for run in runs]}


def report(measured: dict) -> list[str]:
    """The lines bench prints (bench/slurm.py prints them too)."""
    lines = [f"Dask heat alerts on Slurm workers: {measured['grid']}, {measured['chunks']} chunks; this machine has "
             f"{measured['cores']} CPU cores, each worker job 1 core",
             f"compute: .compute(), results ({measured['result_mb']:.0f} MB) back in the lab; summed: the same, only "
             "each output's sum comes back; speed-ups against 1 worker",
             f"{'workers':>7} {'joined':>6} {'start s':>8} {'compute s':>9} {'speed-up':>8} {'summed s':>9} "
             f"{'speed-up':>8}"]
    for run in measured["runs"]:
        lines.append(f"{run['workers']:>7} {run['joined']:>6} {run['start_s']:>8.1f} {run['compute_s']:>9.2f} "
                     f"{run['speedup']:>8.2f} {run['summed_s']:>9.2f} {run['summed_speedup']:>8.2f}")
    lines.append(f"in the lab's own process: the same chunks by Dask (synchronous) {measured['local_dask_s']:.2f} s; "
                 f"in memory, no Dask {measured['in_memory_s']:.3f} s")
    lines.append("same result on every count as in memory: " + ("yes" if measured["same_result"] else "NO"))
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--lab", action="store_true", help=argparse.SUPPRESS)  # the lab's side, in its job
    args = parser.parse_args(argv)
    if args.lab:
        print(json.dumps(_lab_side(args.workers, args.repeats)), flush=True)
        return 0
    print("\n".join(report(measure_heat_alerts(args.workers, args.repeats))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
