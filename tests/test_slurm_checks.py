"""`occidata up` in slurm mode checks its head node first (issue 17): on a real Slurm every check
passes, and each missing piece (a profile's partition, munge, the shared storage and its mount)
gives one line saying what to do; `occidata up` prints them and starts nothing. Without root or
Slurm they fail: `make test` as root installs Slurm."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from occidata.config import ConfigError, load_config
from occidata.platform import REPO_ROOT, free_port
from occidata.slurm.checks import SLURM_COMMANDS, head_node_problems, munge_socket, node_gpus, require_head_node
from slurm_cluster import SlurmCluster, require_slurm, running_slurm

pytestmark = [pytest.mark.slow]

OCCIDATA = str(Path(sys.executable).parent / "occidata")
# Slurm mode's accounts are server mode's: a prefix of this module's own, so that accounts other
# tests left on the machine never count as ours (occidata.config.check_server_accounts).
PREFIX = f"sc{secrets.token_hex(2)}-"

BAD_PARTITION = """\
profiles:
  - slug: cpu
    display_name: CPU
    kernel: occidata-cpu
    slurm: {partition: cpu, cpus: 1, memory: 1G}
  - slug: gros-calcul
    display_name: Gros calcul
    kernel: occidata-cpu
    slurm: {partition: bigmem, cpus: 1, memory: 1G}
  - slug: quatre-gpu
    display_name: 4 GPU
    kernel: occidata-gpu
    gpu: true
    slurm: {partition: gpu, cpus: 1, memory: 1G, gpus: 4}
"""


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    yield from running_slurm(tmp_path_factory.mktemp("slurm"))


def slurm_environ(cluster: SlurmCluster, base: Path, **settings: str) -> dict:
    """A head node's OCCIDATA_* settings: Slurm's conf, everything under ``base`` (the parent of
    data_dir, so the shared folder), no mount required unless ``settings`` say so."""
    environ = {"OCCIDATA_MODE": "slurm", "OCCIDATA_SLURM__CONF": str(cluster.conf),
               "OCCIDATA_SLURM__CHECK_MOUNT": "false", "OCCIDATA_STATE_DIR": str(base / "state"),
               "OCCIDATA_DATA_DIR": str(base / "data"), "OCCIDATA_SERVER__HOME_DIR": str(base / "home"),
               "OCCIDATA_SERVER__USER_PREFIX": PREFIX}
    environ.update({f"OCCIDATA_{key}": value for key, value in settings.items()})
    return environ


def mount_points() -> set[Path]:
    """This machine's mount points, from the kernel's own table (octal escapes undone)."""
    with open("/proc/self/mounts", encoding="utf-8") as table:
        return {Path(line.split()[1].encode().decode("unicode_escape")) for line in table if line.strip()}


def plain_folder(tmp_path: Path) -> Path:
    """A new folder on no mount but ``/`` (pytest's own where it is so; CI may mount /tmp)."""
    mounts = mount_points() - {Path("/")}
    for base in (tmp_path, Path("/var/tmp"), REPO_ROOT.parent):
        if base.is_dir() and not any(point == folder for folder in (base, *base.parents) for point in mounts):
            folder = Path(tempfile.mkdtemp(prefix="occidata-plain-", dir=base))
            os.chmod(folder, 0o755)
            return folder
    pytest.fail(f"no folder off a mount to test with (mount points: {sorted(map(str, mounts))})")


def mounted_folder() -> Path:
    """A writable mount point other than ``/`` (/dev/shm on Linux machines and containers)."""
    for point in (Path("/dev/shm"), Path("/run"), Path("/tmp")):
        if point in mount_points() and os.access(point, os.W_OK):
            return point
    pytest.fail("no writable mount point but / (looked at /dev/shm, /run, /tmp) to test the mount check with")


def test_a_ready_head_node_passes_every_check(slurm, tmp_path):
    cfg = load_config(slurm_environ(slurm, tmp_path))
    assert head_node_problems(cfg, REPO_ROOT) == []
    require_head_node(cfg, REPO_ROOT)  # raises nothing


def test_a_profile_on_a_partition_slurm_lacks_is_named_with_its_partition(slurm, tmp_path):
    profiles = tmp_path / "profiles.yaml"
    profiles.write_text(BAD_PARTITION)
    cfg = load_config(slurm_environ(slurm, tmp_path, SPAWNER__PROFILES_FILE=str(profiles)))
    problems = head_node_problems(cfg, REPO_ROOT)
    assert len(problems) == 2, problems
    missing_partition, too_many_gpus = problems
    assert "'gros-calcul'" in missing_partition and "'bigmem'" in missing_partition
    assert str(profiles) in missing_partition and "partitions: cpu, gpu" in missing_partition
    # The test nodes have two GPUs: a profile asking four would wait for ever.
    assert "'quatre-gpu'" in too_many_gpus and "4 GPU(s)" in too_many_gpus and "at most 2" in too_many_gpus
    with pytest.raises(ConfigError) as refused:
        require_head_node(cfg, REPO_ROOT)
    assert "'bigmem'" in str(refused.value) and "deploy/slurm/README.md" in str(refused.value)


def test_a_profile_on_a_partition_that_is_down_says_how_to_bring_it_up(slurm, tmp_path):
    cfg = load_config(slurm_environ(slurm, tmp_path))
    slurm.run(["scontrol", "update", "PartitionName=gpu", "State=DOWN"])
    try:
        problems = head_node_problems(cfg, REPO_ROOT)
    finally:
        slurm.run(["scontrol", "update", "PartitionName=gpu", "State=UP"])
    assert len(problems) == 1, problems
    assert "profile 'gpu'" in problems[0] and "scontrol update PartitionName=gpu State=UP" in problems[0]


def test_a_profile_without_a_slurm_request_is_refused(slurm, tmp_path):
    profiles = tmp_path / "profiles.yaml"
    profiles.write_text("profiles:\n  - {slug: cpu, display_name: CPU, kernel: occidata-cpu}\n")
    cfg = load_config(slurm_environ(slurm, tmp_path, SPAWNER__PROFILES_FILE=str(profiles)))
    [problem] = head_node_problems(cfg, REPO_ROOT)
    assert str(profiles) in problem and "'slurm' request" in problem and "profile(s) cpu" in problem


def test_munge_down_is_one_line_naming_the_socket_slurm_uses(tmp_path_factory, tmp_path):
    require_slurm()
    cluster = SlurmCluster(tmp_path_factory.mktemp("slurm-munge")).start()
    try:
        cfg = load_config(slurm_environ(cluster, tmp_path))
        assert head_node_problems(cfg, REPO_ROOT) == []
        munged = next(process for process in cluster.processes if process.args[0] == "munged")
        munged.terminate()
        munged.wait(timeout=30)
        problems = head_node_problems(cfg, REPO_ROOT)
    finally:
        cluster.stop()
    # One line: slurmctld's own failure to authenticate is a consequence, not a second problem.
    assert len(problems) == 1, problems
    assert problems[0].startswith("munge does not answer") and str(cluster.munge_socket) in problems[0]
    assert "munged" in problems[0]


def test_data_outside_the_shared_folder_is_refused(slurm, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    cfg = load_config(slurm_environ(slurm, shared, SLURM__SHARED_DIR=str(shared),
                                    DATA_DIR=str(tmp_path / "local" / "data")))
    problems = head_node_problems(cfg, REPO_ROOT)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"data_dir {tmp_path / 'local' / 'data'} is not inside slurm.shared_dir {shared}")

    cfg = load_config(slurm_environ(slurm, tmp_path, SLURM__SHARED_DIR=str(tmp_path / "absent")))
    assert head_node_problems(cfg, REPO_ROOT) == [
        f"slurm.shared_dir {tmp_path / 'absent'} does not exist: mount there the storage every compute node mounts "
        "at the same path, or set slurm.shared_dir"]


def test_check_mount_wants_the_shared_folder_on_a_mount_of_its_own(slurm, tmp_path):
    plain = plain_folder(tmp_path)
    try:
        cfg = load_config(slurm_environ(slurm, plain, SLURM__CHECK_MOUNT="true"))
        problems = head_node_problems(cfg, REPO_ROOT)
        assert len(problems) == 1, problems
        assert problems[0].startswith(f"the shared folder (slurm.shared_dir unset: the parent of data_dir) {plain} "
                                      "is not on a mount of its own")
    finally:
        shutil.rmtree(plain)
    # A folder under a mount point (a tmpfs such as /dev/shm) is on the mount.
    shared = Path(tempfile.mkdtemp(prefix="occidata-shared-", dir=mounted_folder()))
    try:
        cfg = load_config(slurm_environ(slurm, shared, SLURM__CHECK_MOUNT="true"))
        assert head_node_problems(cfg, REPO_ROOT) == []
    finally:
        shutil.rmtree(shared)


def test_without_slurm_installed_the_lines_say_what_to_install(tmp_path, monkeypatch):
    # No cluster needed: a PATH without Slurm's and munge's commands, as on a bare head node.
    environ = {"OCCIDATA_MODE": "slurm", "OCCIDATA_SLURM__CHECK_MOUNT": "false",
               "OCCIDATA_STATE_DIR": str(tmp_path / "state"), "OCCIDATA_DATA_DIR": str(tmp_path / "data"),
               "OCCIDATA_SERVER__HOME_DIR": str(tmp_path / "home"), "OCCIDATA_SERVER__USER_PREFIX": PREFIX}
    cfg = load_config(environ)
    monkeypatch.setenv("PATH", str(tmp_path))
    problems = [line for line in head_node_problems(cfg, REPO_ROOT) if not line.startswith("not running as root")]
    assert problems == [
        f"Slurm's commands {', '.join(SLURM_COMMANDS)} are not installed on this machine: install Slurm's client "
        "(Debian: apt-get install slurm-client) with the cluster's slurm.conf",
        "munge's commands are not installed on this machine: install munge (Debian: apt-get install munge) and "
        "copy the cluster's /etc/munge/munge.key, the same on every node"]


def test_occidata_up_in_slurm_mode_prints_each_problem_and_starts_no_hub(slurm, tiny_data_dir, tmp_path):
    plain = plain_folder(tmp_path)
    profiles = plain / "profiles.yaml"
    profiles.write_text(BAD_PARTITION)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCCIDATA_")}
    env.update(slurm_environ(
        slurm, plain / "shared", SLURM__CHECK_MOUNT="true", SERVER__HOME_DIR=str(plain / "home"),
        SPAWNER__PROFILES_FILE=str(profiles), HUB__PORT=str(port), HUB__HUB_PORT=str(free_port()),
        HUB__PROXY_API_PORT=str(free_port()), DASHBOARDS__ENABLED="false", REPORTS__ENABLED="false"))
    try:
        shutil.copytree(tiny_data_dir, plain / "shared" / "data")  # nothing left to build before the checks
        up = subprocess.run([OCCIDATA, "up"], env=env, capture_output=True, text=True, timeout=300)
        assert up.returncode == 2, up.stdout + up.stderr
        said = up.stderr
        assert "not ready to be slurm mode's head node" in said
        lines = [line.strip()[2:] for line in said.splitlines() if line.strip().startswith("- ")]
        assert len(lines) == 4, said
        assert any("'gros-calcul'" in line and "'bigmem'" in line for line in lines), said
        assert any("'quatre-gpu'" in line and "at most 2" in line for line in lines), said
        assert any(line.startswith(f"server.home_dir {plain / 'home'} is not inside") for line in lines), said
        assert any("is not on a mount of its own" in line for line in lines), said
        assert "Traceback" not in said
        # Nothing started: no hub recorded, nothing listening on its port, no account made.
        assert not (plain / "shared" / "state" / "run" / "jupyterhub.pid").exists()
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        assert not (plain / "home").exists()
    finally:
        subprocess.run([OCCIDATA, "down"], env=env, capture_output=True, timeout=180)
        shutil.rmtree(plain)


def test_the_munge_socket_is_read_from_slurm_conf_as_slurm_reads_it(tmp_path):
    conf = tmp_path / "slurm.conf"
    conf.write_text("ClusterName=x\n#AuthInfo=socket=/commented\nauthinfo=ttl=60,socket=/first\n"
                    "AuthType=auth/munge AuthInfo=cred_expire=120,socket=/run/m/munge.socket  # the last wins\n")
    assert munge_socket(conf) == "/run/m/munge.socket"
    conf.write_text("AuthType=auth/munge\n")
    assert munge_socket(conf) is None  # munge's own default socket
    assert munge_socket(tmp_path / "absent.conf") is None


def test_node_gpus_reads_sinfos_gres_forms():
    assert node_gpus("gpu:2") == 2
    assert node_gpus("gpu:a100:4(S:0-1)") == 4
    assert node_gpus("gpu:a100:2,gpu:v100:2,mps:200") == 4
    assert node_gpus("(null)") == 0 and node_gpus("mps:100") == 0 and node_gpus("gpuext:2") == 0
