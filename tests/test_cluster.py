"""occidata.cluster(): Dask workers within the lab's own limits and rights (issue 17, demo and
server mode; slurm mode in tests/test_cluster_slurm.py). Real distributed LocalClusters on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request

import numba
import numpy as np
import psutil
import pytest
from distributed import Client, get_task_stream
from distributed.security import Security

import occidata
from occidata import catalog
from occidata.compute import heatwave_alerts_xr
from occidata.modes import ModeUnavailable

GIB = 1 << 30
LAB_MEMORY = 2 * GIB
LAB_CPUS = 2  # the spawner's cpu_limit: also keeps the tests' clusters small on a big machine


def _lab_cpus() -> int:
    return min(LAB_CPUS, len(os.sched_getaffinity(0)))


def _lab_environment(patch: pytest.MonkeyPatch, state, data_dir) -> None:
    """A demo-mode lab of a researcher with public access only and the spawner's limits."""
    for key in [k for k in os.environ if k.startswith("OCCIDATA_") or k in ("JUPYTERHUB_API_TOKEN", "CPU_LIMIT")]:
        patch.delenv(key)
    patch.setenv("OCCIDATA_STATE_DIR", str(state))
    patch.setenv("OCCIDATA_DATA_DIR", str(data_dir))
    patch.setenv("OCCIDATA_ACCESS_LEVELS", "")
    patch.setenv("MEM_LIMIT", str(LAB_MEMORY))
    patch.setenv("CPU_LIMIT", str(LAB_CPUS))


@pytest.fixture(scope="module")
def lab(tiny_data_dir, tmp_path_factory):
    """occidata.cluster() with its defaults, started from the lab's environment, and its client."""
    with pytest.MonkeyPatch.context() as patch:
        _lab_environment(patch, tmp_path_factory.mktemp("cluster-state"), tiny_data_dir)
        with occidata.cluster() as cluster, cluster.get_client() as client:
            yield cluster, client


def _workers(client) -> dict:
    return client.scheduler_info(n_workers=-1)["workers"]


def test_workers_listen_on_loopback_only_and_only_for_this_lab(lab):
    cluster, client = lab
    assert cluster.scheduler_address.startswith("tls://127.0.0.1:")
    workers = _workers(client)
    assert workers
    for address, worker in workers.items():
        assert address.startswith("tls://127.0.0.1:") and worker["nanny"].startswith("tls://127.0.0.1:")
    # Another account on the machine reaches 127.0.0.1 too: without this cluster's credentials it
    # cannot connect, so it cannot run code as the researcher.
    plain = cluster.scheduler_address.replace("tls://", "tcp://")
    for address, security in ((plain, None), (cluster.scheduler_address, Security.temporary())):
        with pytest.raises((OSError, TimeoutError)):
            Client(address, security=security, timeout="2s", set_as_default=False)
    # Nor read its tasks, logs or metrics over HTTP: no dashboard, no page.
    http_port = client.scheduler_info()["services"]["dashboard"]
    for page in ("status", "info/main/workers.html", "json/identity.json", "metrics", "health"):
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(f"http://127.0.0.1:{http_port}/{page}", timeout=10)
        assert answer.value.code == 404, page


def test_workers_fit_the_labs_cpus_and_memory(lab):
    _, client = lab
    workers = _workers(client)
    assert len(workers) == _lab_cpus()  # one per CPU the lab may use, never more
    assert sum(worker["memory_limit"] for worker in workers.values()) <= LAB_MEMORY
    assert all(worker["nthreads"] == 1 for worker in workers.values())
    # Numba in a worker uses that worker's one thread, not every CPU of the machine.
    assert set(client.run(numba.get_num_threads).values()) == {1}


def test_a_compute_xr_function_on_the_cluster_gives_what_it_gives_in_memory(lab):
    _, client = lab
    weather = catalog.load("weather_daily")  # read from its Zarr store by the workers
    # The tiny month has no heat wave: warmed by 15 °C, some departments get alerts, not all.
    weather = weather.assign(tmin=weather["tmin"] + 15, tmax=weather["tmax"] + 15)
    in_memory = heatwave_alerts_xr(weather.load(), backend="numpy")
    lazy = heatwave_alerts_xr(weather.chunk({"y": 3, "x": 4}), backend="numpy")
    with get_task_stream(client) as stream:
        on_cluster = client.compute(lazy).result()
    assert {task["worker"] for task in stream.data} <= set(_workers(client))
    assert len(stream.data) > 1
    for name in ("alert", "ibmn", "ibmx", "alert_days", "episodes"):
        np.testing.assert_array_equal(on_cluster[name].values, in_memory[name].values, err_msg=name)
    assert 0 < in_memory["alert"].values.sum() < np.isfinite(in_memory["ibmx"].values).sum()


def test_workers_read_what_the_lab_may_read_and_nothing_more(lab):
    _, client = lab
    assert set(client.run(os.getenv, "OCCIDATA_ACCESS_LEVELS").values()) == {""}
    with pytest.raises(PermissionError, match="demande le niveau d'accès « partner »"):
        client.submit(catalog.load, "building_meters", pure=False).result()
    public = client.submit(catalog.load, "air_quality_hourly", year=2024, pure=False).result()
    assert len(public) > 0


def test_asking_more_than_the_lab_has_is_refused_by_name(tmp_path, monkeypatch):
    _lab_environment(monkeypatch, tmp_path, tmp_path / "data")
    cpus = _lab_cpus()
    with pytest.raises(ValueError, match=rf"n_workers={cpus + 1}.*this lab has {cpus} CPU"):
        occidata.cluster(n_workers=cpus + 1)
    with pytest.raises(ValueError, match=r"memory_limit='3 GiB'.*lab's memory \(2.00 GiB\)"):
        occidata.cluster(n_workers=1, memory_limit="3 GiB")
    with pytest.raises(ValueError, match=r"occidata.cluster\(host=...\) : option inconnue"):
        occidata.cluster(host="0.0.0.0")


def test_kubernetes_mode_is_not_available_yet(tmp_path, monkeypatch):
    _lab_environment(monkeypatch, tmp_path, tmp_path / "data")
    monkeypatch.setenv("OCCIDATA_MODE", "kubernetes")
    with pytest.raises(ModeUnavailable, match=r"occidata.cluster\(\): mode 'kubernetes' is not available yet"):
        occidata.cluster()


def test_without_distributed_the_error_says_what_to_install(tmp_path, monkeypatch):
    _lab_environment(monkeypatch, tmp_path, tmp_path / "data")
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match="pip install distributed"):
        occidata.cluster()
    # Importing occidata never imports distributed: only occidata.cluster() does.
    probe = subprocess.run([sys.executable, "-c", "import sys, occidata; print('distributed' in sys.modules)"],
                           capture_output=True, text=True, timeout=120)
    assert probe.stdout.strip() == "False", probe.stderr


def test_closing_the_cluster_leaves_no_worker_process(tmp_path, monkeypatch):
    _lab_environment(monkeypatch, tmp_path, tmp_path / "data")
    me = psutil.Process()
    before = {child.pid for child in me.children(recursive=True)}
    with occidata.cluster() as cluster, cluster.get_client() as client:
        worker_pids = set(client.run(os.getpid).values())
    assert len(worker_pids) == _lab_cpus() and not worker_pids & before
    assert not [pid for pid in worker_pids if psutil.pid_exists(pid)]
    left = [child for child in me.children(recursive=True) if child.pid not in before]
    assert not [child.cmdline() for child in left if child.is_running()]
