"""A real Slurm for the tests (issue 17): munged, slurmctld and slurmd in the foreground, on loopback
ports of their own, with a generated configuration and nothing of the machine's own set-up.

One node (this machine, by its short host name) in two partitions, ``cpu`` (default) and ``gpu``,
with two GPUs declared as generic resources backed by placeholder character devices (``/dev/null``'s
numbers, named ``nvidia0`` and ``nvidia1`` so that Slurm hands each job its own
``CUDA_VISIBLE_DEVICES``). ``proctrack/cgroup`` and ``task/cgroup`` with ``ConstrainRAMSpace``
enforce memory on this machine's cgroup v1; job completion records are written as text
(``jobcomp/filetxt``), the accounting a site without slurmdbd has.

Needs root and Debian's ``slurmctld``, ``slurmd``, ``slurm-client`` and ``munge`` (``make test``
installs them when run as root).
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import time
from pathlib import Path

from occidata.hub.network import free_port

DAEMONS = ("munged", "slurmctld", "slurmd", "sinfo", "sbatch", "squeue", "scancel", "srun")
PARTITIONS = ("cpu", "gpu")
GPUS = 2
CPUS = 16


def missing() -> list[str]:
    """The programs a real Slurm needs that this machine lacks (empty: all there)."""
    return [name for name in DAEMONS if shutil.which(name) is None]


def _memory_mb() -> int:
    with open("/proc/meminfo", encoding="ascii") as info:
        total_kb = next(int(line.split()[1]) for line in info if line.startswith("MemTotal:"))
    return max(1024, total_kb // 1024 - 1024)  # leave slurmd its own room


class SlurmCluster:
    """munged + slurmctld + slurmd under ``root``; ``env`` points Slurm's commands at them."""

    def __init__(self, root: Path, gpu_allow_groups: str | None = None):
        self.root = Path(root)
        # Unix groups allowed on the gpu partition (Slurm's AllowGroups); None: everyone.
        self.gpu_allow_groups = gpu_allow_groups
        self.node = socket.gethostname().split(".")[0]
        self.conf = self.root / "slurm.conf"
        self.munge_socket = self.root / "munge" / "munge.socket"
        self.jobcomp = self.root / "log" / "jobcomp.txt"
        self.processes: list[subprocess.Popen] = []

    @property
    def env(self) -> dict:
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def _write_config(self) -> None:
        for folder in ("state", "spool", "log", "munge", "dev", "work"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        os.chmod(self.root / "work", 0o1777)  # where jobs are submitted from, and write their output
        # Slurm's commands run as the researchers' accounts too: they must reach the socket.
        os.chmod(self.root, 0o755)
        os.chmod(self.root / "munge", 0o755)
        for index in range(GPUS):
            device = self.root / "dev" / f"nvidia{index}"
            if not device.exists():
                os.mknod(device, 0o666 | 0o020000, os.makedev(1, 3))  # a character device, like a GPU's
        ctld_port, slurmd_port = free_port(), free_port()
        self.conf.write_text("\n".join([
            "ClusterName=occidata-test",
            # Jobs' cgroups are named by job id on the machine: two test clusters at once never share one.
            f"FirstJobId={random.randrange(10, 90) * 100_000}",
            f"SlurmctldHost={self.node}(127.0.0.1)",
            f"SlurmctldPort={ctld_port}",
            f"SlurmdPort={slurmd_port}",
            "AuthType=auth/munge", "CredType=cred/munge", f"AuthInfo=socket={self.munge_socket}",
            "SlurmUser=root", "SlurmdUser=root",
            f"StateSaveLocation={self.root / 'state'}", f"SlurmdSpoolDir={self.root / 'spool'}",
            f"SlurmctldPidFile={self.root / 'slurmctld.pid'}", f"SlurmdPidFile={self.root / 'slurmd.pid'}",
            f"SlurmctldLogFile={self.root / 'log' / 'slurmctld.log'}",
            f"SlurmdLogFile={self.root / 'log' / 'slurmd.log'}",
            "ProctrackType=proctrack/cgroup", "TaskPlugin=task/cgroup",
            "SelectType=select/cons_tres", "SelectTypeParameters=CR_Core_Memory",
            # A job past its time limit is killed 5 s after its warning signal, not Slurm's default 30 s.
            "KillWait=5",
            "GresTypes=gpu", "ReturnToService=2", "MpiDefault=none", "SchedulerType=sched/backfill",
            "JobAcctGatherType=jobacct_gather/cgroup",
            "JobCompType=jobcomp/filetxt", f"JobCompLoc={self.jobcomp}",
            # More CPUs than the machine has (config_overrides), so that several labs fit at once.
            "SlurmdParameters=config_overrides",
            f"NodeName={self.node} NodeAddr=127.0.0.1 CPUs={CPUS} RealMemory={_memory_mb()} "
            f"Gres=gpu:{GPUS} State=UNKNOWN",
            f"PartitionName=cpu Nodes={self.node} Default=YES MaxTime=INFINITE State=UP",
            f"PartitionName=gpu Nodes={self.node} MaxTime=INFINITE State=UP"
            + (f" AllowGroups={self.gpu_allow_groups}" if self.gpu_allow_groups else ""),
        ]) + "\n")
        (self.root / "gres.conf").write_text(
            f"NodeName={self.node} Name=gpu File={self.root / 'dev'}/nvidia[0-{GPUS - 1}]\n")
        (self.root / "cgroup.conf").write_text(
            "CgroupPlugin=cgroup/v1\nCgroupMountpoint=/sys/fs/cgroup\nConstrainRAMSpace=yes\n"
            "ConstrainCores=no\nConstrainDevices=no\n")
        key = self.root / "munge" / "munge.key"
        if not key.exists():
            key.write_bytes(os.urandom(1024))
            os.chmod(key, 0o400)

    def _start(self, name: str, command: list[str]) -> None:
        log = open(self.root / "log" / f"{name}.out", "ab")
        self.processes.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                                               start_new_session=True))

    def start(self, timeout: float = 60) -> "SlurmCluster":
        """Start the three daemons and wait until the node is idle in both partitions."""
        self._write_config()
        munge = self.root / "munge"
        self._start("munged", ["munged", "--foreground", "--force", f"--key-file={munge / 'munge.key'}",
                               f"--socket={self.munge_socket}", f"--pid-file={munge / 'munged.pid'}",
                               f"--log-file={self.root / 'log' / 'munged.log'}", f"--seed-file={munge / 'seed'}"])
        self._wait(lambda: self.munge_socket.exists(), timeout, "munged")
        self._start("slurmctld", ["slurmctld", "-D", "-f", str(self.conf)])
        self._start("slurmd", ["slurmd", "-D", "-f", str(self.conf), "-N", self.node])
        self._wait(self._idle, timeout, "slurmctld/slurmd")
        return self

    def _idle(self) -> bool:
        done = self.run(["sinfo", "-h", "-o", "%P %t"], check=False)
        states = dict(line.split() for line in done.stdout.splitlines() if line.strip())
        return done.returncode == 0 and all(states.get(p, "").startswith("idle") for p in ("cpu*", "gpu"))

    def _wait(self, ready, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            dead = [p.args[0] for p in self.processes if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                logs = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-1500:]}"
                                 for p in sorted((self.root / "log").glob("*")) if p.is_file())
                raise RuntimeError(f"{what} did not start ({', '.join(dead) or 'timeout'}):\n{logs}")
            time.sleep(0.5)

    def run(self, command: list[str], *, user: str | None = None, check: bool = True,
            timeout: float = 120) -> subprocess.CompletedProcess:
        """A Slurm command, as ``user`` (a system account) or root."""
        prefix = ["runuser", "-u", user, "--"] if user else []
        done = subprocess.run(prefix + command, capture_output=True, text=True, env=self.env, timeout=timeout,
                              cwd=self.root / "work")
        if check and done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()}")
        return done

    def stop(self) -> None:
        """Cancel every job, then stop the daemons (slurmd first)."""
        jobs = self.run(["squeue", "-h", "-o", "%i"], check=False, timeout=30).stdout.split()
        if jobs:
            self.run(["scancel", "--quiet", *jobs], check=False, timeout=30)
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def require_slurm() -> None:
    """Fail (never skip: only "no GPU" may) where a real Slurm cannot run: `make test` as root
    installs it."""
    import pytest

    lacking = missing()
    if os.geteuid() != 0 or lacking:
        why = "not root" if os.geteuid() != 0 else f"missing {', '.join(lacking)}"
        pytest.fail(f"a real Slurm is needed ({why}): run `make test` as root, or apt-get install slurmctld "
                    "slurmd slurm-client munge")


def running_slurm(root: Path, **options):
    """A test module's Slurm (a generator for a module-scoped fixture): started, yielded, stopped."""
    require_slurm()
    cluster = SlurmCluster(root, **options).start()
    try:
        yield cluster
    finally:
        cluster.stop()


def hub_settings(cluster: SlurmCluster, profiles: Path) -> dict:
    """A slurm-mode hub's settings on this Slurm: labs on this machine's loopback, no mount check."""
    return {"MODE": "slurm", "SLURM__CONF": str(cluster.conf), "SLURM__CHECK_MOUNT": "false",
            "SLURM__LAB_IP": "127.0.0.1", "SLURM__CONNECT_HOST": "127.0.0.1", "SLURM__POLL_INTERVAL": "0.5",
            "SPAWNER__PROFILES_FILE": str(profiles), "HUB__START_TIMEOUT": "120"}
