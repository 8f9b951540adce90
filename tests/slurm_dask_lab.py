"""The lab's side of tests/test_cluster_slurm.py, run as a researcher's account inside a Slurm job,
as a lab of slurm mode runs: ``python slurm_dask_lab.py PARTNER_FILE`` prints one JSON line with
what the workers were, what they computed and what they were refused; ``python slurm_dask_lab.py
--hold`` starts one worker and waits to be killed, as a lab whose job ends under it.

Only occidata's public calls and Dask's; everything it reads comes from the job's environment
(OCCIDATA_MODE=slurm, OCCIDATA_DASK_WORKERS, OCCIDATA_DATA_DIR, ...), as in a lab.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

import numpy as np

import occidata
from occidata import catalog
from occidata.compute import heatwave_alerts_xr

# What decides what a process may read (occidata.catalog): the workers must hold the lab's.
RIGHTS_ENV = ("OCCIDATA_MODE", "OCCIDATA_ACCESS_LEVELS", "OCCIDATA_DATA_DIR", "JUPYTERHUB_API_TOKEN")
WORKERS = 2


def remove_scratch(uid: int) -> None:
    """Remove what an account's Dask workers leave in the node's temporary folders (distributed's
    ``dask-scratch-space*``), before the account is deleted at the end of a test or bench."""
    import shutil
    from pathlib import Path

    for base in {Path("/tmp"), Path("/var/tmp")}:
        for folder in base.glob("dask-scratch-space*"):
            if folder.stat().st_uid == uid:
                shutil.rmtree(folder, ignore_errors=True)


def _facts() -> dict:
    import dask

    return {"uid": os.getuid(), "job": os.environ.get("SLURM_JOB_ID"),
            "env": {name: os.environ.get(name) for name in RIGHTS_ENV},
            "http_routes": dask.config.get("distributed.worker.http.routes", None)}


def _read(path: str) -> str:
    with open(path, "rb") as handle:
        return f"read {len(handle.read())} bytes"


def _refusal(client, fn, *args) -> str:
    try:
        client.submit(fn, *args, pure=False).result()
    except PermissionError as error:
        return f"PermissionError: {error}"
    return "not refused"


def _http(host: str, port: int) -> list:
    """What each page of a Dask HTTP server answers (a status, or why there was none)."""
    answers = []
    for page in ("status", "health", "metrics", "info/main/workers.html", "json/identity.json"):
        try:
            answers.append(urllib.request.urlopen(f"http://{host}:{port}/{page}", timeout=10).status)
        except urllib.error.HTTPError as error:
            answers.append(error.code)
        except OSError as error:
            answers.append(type(error).__name__)
    return answers


def _alerts(client) -> dict:
    from distributed import get_task_stream

    weather = catalog.load("weather_daily")  # read from its Zarr store, lazily
    # The tiny month has no heat wave: warmed by 15 °C, some cells get alerts, not all.
    weather = weather.assign(tmin=weather["tmin"] + 15, tmax=weather["tmax"] + 15)
    in_memory = heatwave_alerts_xr(weather.load(), backend="numpy")
    lazy = heatwave_alerts_xr(weather.chunk({"y": 3, "x": 4}), backend="numpy")
    with get_task_stream(client) as stream:
        on_cluster = client.compute(lazy).result()
    differing = [name for name in ("alert", "ibmn", "ibmx", "alert_days", "episodes")
                 if not np.array_equal(on_cluster[name].values, in_memory[name].values, equal_nan=True)]
    return {"differing": differing, "alert_cells": int(in_memory["alert"].values.sum()),
            "finite_cells": int(np.isfinite(in_memory["ibmx"].values).sum()),
            "tasks": len(stream.data), "workers_used": sorted({task["worker"] for task in stream.data})}


def main(partner_file: str) -> dict:
    from distributed import Client
    from distributed.security import Security

    lab = {"uid": os.getuid(), "job": os.environ.get("SLURM_JOB_ID"),
           "env": {name: os.environ.get(name) for name in RIGHTS_ENV}}
    with occidata.cluster(n_workers=WORKERS) as cluster, cluster.get_client() as client:
        client.wait_for_workers(WORKERS, timeout=120)
        info = client.scheduler_info(n_workers=-1)
        workers = {address: {**facts, "dashboard": info["workers"][address]["services"].get("dashboard")}
                   for address, facts in client.run(_facts).items()}
        squeue = subprocess.run(["squeue", "-h", "-o", "%i %u %j %P %C %m %l"], capture_output=True, text=True,
                                check=True).stdout
        alerts = _alerts(client)
        denied_file = _refusal(client, _read, partner_file)
        denied_catalog = _refusal(client, catalog.load, "building_meters")
        try:  # credentials of another cluster: no connection, so no code run as this account
            Client(cluster.scheduler_address, security=Security.temporary(), timeout="3s", set_as_default=False)
            stranger = "connected"
        except (OSError, TimeoutError):
            stranger = "refused"
        http = {"scheduler": _http("127.0.0.1", info["services"]["dashboard"]),
                **{address: _http("127.0.0.1", facts["dashboard"]) for address, facts in workers.items()}}
        address = cluster.scheduler_address
    return {"lab": lab, "workers": workers, "squeue": squeue.splitlines(), "alerts": alerts,
            "denied_file": denied_file, "denied_catalog": denied_catalog, "stranger": stranger, "http": http,
            "scheduler": address}


def hold() -> None:
    """A lab that opens a cluster of one worker, says so, and waits to be killed (never closes it)."""
    import time

    cluster = occidata.cluster(n_workers=1)
    cluster.get_client().wait_for_workers(1, timeout=120)
    print("workers up", flush=True)
    time.sleep(600)


if __name__ == "__main__":
    if sys.argv[1] == "--hold":
        hold()
    else:
        print(json.dumps(main(sys.argv[1])), flush=True)
