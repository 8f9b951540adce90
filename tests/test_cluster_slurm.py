"""occidata.cluster() in slurm mode (issue 17): Dask workers as Slurm jobs of the researcher, on a real
Slurm (tests/slurm_cluster.py). The lab itself is a Slurm job of a system account of its own, as in
slurm mode, running tests/slurm_dask_lab.py; without root or Slurm these fail (`make test` as root
installs Slurm)."""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

import occidata
from occidata.slurm.requests import WORKERS_ENV
from slurm_cluster import SlurmCluster, running_slurm
from slurm_dask_lab import remove_scratch

pytestmark = [pytest.mark.slow]

LAB_SCRIPT = Path(__file__).resolve().parent / "slurm_dask_lab.py"
# What the hub gives the test lab's workers (occidata.slurm.requests.workers_limits' shape).
LIMITS = {"partition": "cpu", "max_workers": 2, "cores": 1, "memory_mib": 1024, "time_minutes": 30}


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    # The test node declares more cores than this machine has (tests/slurm_cluster.py): the lab's job
    # and its workers' jobs fit side by side.
    yield from running_slurm(tmp_path_factory.mktemp("slurm"))


@pytest.fixture(scope="module")
def account(tmp_path_factory):
    """A researcher's system account (random name, removed at the end) with its own home, where
    its cluster keeps its TLS credentials, as on a cluster's shared storage."""
    homes = tmp_path_factory.mktemp("homes")
    os.chmod(homes, 0o755)
    name = f"oscd{secrets.token_hex(3)}"
    subprocess.run(["useradd", "--create-home", "--home-dir", str(homes / name), "--shell", "/bin/bash", name],
                   check=True)
    try:
        yield name, homes / name
    finally:
        remove_scratch(pwd.getpwnam(name).pw_uid)
        subprocess.run(["userdel", name], check=False)


def _partner_file(data_dir: Path) -> Path:
    """A file of a partner entry: as in server mode, another account's and mode 0600."""
    path = next(p for p in sorted((data_dir / "building_meters").rglob("*")) if p.is_file())
    info = path.stat()
    assert info.st_uid == 0 and stat.S_IMODE(info.st_mode) == 0o600, oct(info.st_mode)
    return path


def _squeue(slurm: SlurmCluster, user: str) -> list[str]:
    return slurm.run(["squeue", "-h", "-u", user, "-o", "%i %T %j"]).stdout.splitlines()


def _lab_environment(slurm: SlurmCluster, home: Path, data_dir: Path, token: str) -> dict:
    """A lab's environment in slurm mode with public access only, as the hub gives it."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
        "SLURM_CONF": str(slurm.conf), "OCCIDATA_MODE": "slurm", "OCCIDATA_DATA_DIR": str(data_dir),
        "OCCIDATA_STATE_DIR": str(home / "state"), "OCCIDATA_ACCESS_LEVELS": "", "JUPYTERHUB_API_TOKEN": token,
        WORKERS_ENV: json.dumps(LIMITS),
    }


def _wait_for_no_job(slurm: SlurmCluster, user: str, within: float) -> list[str]:
    deadline = time.monotonic() + within
    while (left := _squeue(slurm, user)) and time.monotonic() < deadline:
        time.sleep(0.5)
    return left


@pytest.fixture(scope="module")
def lab(slurm, account, tiny_data_dir):
    """The lab's run (tests/slurm_dask_lab.py) as a Slurm job of the account; its JSON, and the
    account's jobs once it is over."""
    name, home = account
    token = secrets.token_hex(16)
    # srun hands its environment to the job, as batchspawner's sbatch does for a lab.
    done = subprocess.run([shutil.which("runuser"), "-u", name, "--", "srun", "--mem=2G", "--time=15",
                           "--job-name=occidata-lab", sys.executable, str(LAB_SCRIPT),
                           str(_partner_file(tiny_data_dir))],
                          env=_lab_environment(slurm, home, tiny_data_dir, token), cwd=home, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    result = json.loads(done.stdout.strip().splitlines()[-1])
    # Cancelling is Slurm's work: the workers' jobs leave the queue within a few seconds.
    return {**result, "token": token, "account": name, "left": _wait_for_no_job(slurm, name, 60)}


def test_workers_are_slurm_jobs_of_the_researcher_within_the_labs_limits(lab):
    workers = list(lab["workers"].values())
    assert len(workers) == 2
    uid = lab["lab"]["uid"]
    assert uid != 0 and {worker["uid"] for worker in workers} == {uid}
    queue = {line.split()[0]: line.split()[1:] for line in lab["squeue"]}
    jobs = {worker["job"] for worker in workers}
    assert len(jobs) == 2 and lab["lab"]["job"] not in jobs
    for job in jobs:  # user, name, partition, cores, memory, time limit
        assert queue[job] == [lab["account"], "occidata-dask", "cpu", "1", "1G", "30:00"], queue


def test_heat_alerts_on_the_slurm_workers_equal_the_in_memory_result(lab):
    alerts = lab["alerts"]
    assert alerts["differing"] == []
    assert 0 < alerts["alert_cells"] < alerts["finite_cells"]
    assert alerts["tasks"] > 1 and set(alerts["workers_used"]) <= set(lab["workers"])


def test_workers_read_what_the_lab_reads_and_nothing_more(lab):
    for worker in lab["workers"].values():
        assert worker["env"] == lab["lab"]["env"]
        assert worker["env"]["JUPYTERHUB_API_TOKEN"] == lab["token"]
    # The catalogue refuses a partner entry to a lab without the level, on a worker too ...
    assert "demande le niveau d'accès « partner »" in lab["denied_catalog"], lab["denied_catalog"]
    # ... and the file itself stays closed: the worker is the researcher's account, not root.
    assert lab["denied_file"].startswith("PermissionError: [Errno 13]"), lab["denied_file"]


def test_only_this_cluster_reaches_its_scheduler_and_no_page_is_served(lab):
    assert lab["scheduler"].startswith("tls://")
    assert lab["stranger"] == "refused"
    for server, answers in lab["http"].items():
        assert answers == [404] * 5, (server, answers)
    assert all(worker["http_routes"] == [] for worker in lab["workers"].values())


def test_closing_the_cluster_leaves_no_job_of_the_researcher(lab):
    assert lab["left"] == []


def test_a_lab_whose_job_ends_leaves_no_worker_job_behind(slurm, account, tiny_data_dir):
    name, home = account
    output = home / "held-lab.out"
    done = subprocess.run([shutil.which("runuser"), "-u", name, "--", "sbatch", "--parsable", "--mem=2G",
                           "--time=15", "--job-name=occidata-lab", f"--output={output}",
                           "--wrap", f"{sys.executable} {LAB_SCRIPT} --hold"],
                          env=_lab_environment(slurm, home, tiny_data_dir, "held"), cwd=home, capture_output=True,
                          text=True, timeout=60, check=True)
    job = done.stdout.strip()
    deadline = time.monotonic() + 180
    while not (output.exists() and "workers up" in output.read_text()):
        assert time.monotonic() < deadline and job in " ".join(_squeue(slurm, name)), \
            output.read_text()[-3000:] if output.exists() else _squeue(slurm, name)
        time.sleep(0.5)
    assert [line.split()[2] for line in _squeue(slurm, name)].count("occidata-dask") == 1
    # The lab's job ends (time limit, out of memory, a stopped server) without closing its cluster:
    # the worker loses its scheduler and stops, and its job with it.
    slurm.run(["scancel", job])
    assert _wait_for_no_job(slurm, name, 120) == []


# --- what a researcher may ask (no Slurm job needed) ---------------------------------------------

def _slurm_lab_environment(patch: pytest.MonkeyPatch, tmp_path: Path, limits: dict | None = LIMITS) -> None:
    for key in [k for k in os.environ if k.startswith("OCCIDATA_") or k == "JUPYTERHUB_API_TOKEN"]:
        patch.delenv(key)
    patch.setenv("OCCIDATA_MODE", "slurm")
    patch.setenv("OCCIDATA_STATE_DIR", str(tmp_path / "state"))
    patch.setenv("OCCIDATA_DATA_DIR", str(tmp_path / "data"))
    patch.setenv("HOME", str(tmp_path))
    if limits is not None:
        patch.setenv(WORKERS_ENV, json.dumps(limits))


def test_asking_more_than_the_labs_workers_have_is_refused_by_name(tmp_path, monkeypatch):
    _slurm_lab_environment(monkeypatch, tmp_path)
    with pytest.raises(ValueError, match=r"occidata.cluster\(n_workers=3\) : ce lab peut avoir au plus 2 "
                                         r"worker\(s\) Slurm / this lab may have at most 2"):
        occidata.cluster(n_workers=3)
    with pytest.raises(ValueError, match=r"memory_limit='2 GiB'.*has 1 MiB to 1.00 GiB"):
        occidata.cluster(memory_limit="2 GiB")
    with pytest.raises(ValueError, match=r"walltime='1:00:00'.*have at most 30 min"):
        occidata.cluster(walltime="1:00:00")
    with pytest.raises(ValueError, match=r"occidata.cluster\(threads_per_worker=...\) : option inconnue"):
        occidata.cluster(threads_per_worker=2)
    _slurm_lab_environment(monkeypatch, tmp_path, {**LIMITS, "max_workers": 0})
    with pytest.raises(ValueError, match=r"ne donne pas de workers Dask \(max_workers: 0\)"):
        occidata.cluster()


def test_missing_or_malformed_worker_limits_are_named(tmp_path, monkeypatch):
    _slurm_lab_environment(monkeypatch, tmp_path, limits=None)
    with pytest.raises(ValueError, match=rf"^occidata.cluster\(\) : {WORKERS_ENV} n'est pas défini"):
        occidata.cluster()
    monkeypatch.setenv(WORKERS_ENV, "{partition: cpu}")
    with pytest.raises(ValueError, match=rf"{WORKERS_ENV} n'est pas du JSON valide"):
        occidata.cluster()
    monkeypatch.setenv(WORKERS_ENV, json.dumps({**LIMITS, "memory_mib": "1G"}))
    with pytest.raises(ValueError, match=rf"{WORKERS_ENV}, clé « memory_mib » : un nombre entier ≥ 1"):
        occidata.cluster()


def test_what_slurm_refuses_is_said_at_once_not_workers_that_never_come(slurm, tmp_path, monkeypatch):
    _slurm_lab_environment(monkeypatch, tmp_path, {**LIMITS, "partition": "nowhere"})
    monkeypatch.setenv("SLURM_CONF", str(slurm.conf))
    monkeypatch.setenv(occidata.dask_cluster.HOST_ENV, "127.0.0.1")
    with pytest.raises(RuntimeError, match=r"Slurm refuse les tâches des workers / Slurm refuses the workers' "
                                           r"jobs: .*[Ii]nvalid partition"):
        occidata.cluster(n_workers=1)
    assert slurm.run(["squeue", "-h", "-o", "%i"]).stdout.split() == []
