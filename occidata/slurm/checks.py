"""What slurm mode needs of its head node, checked by ``occidata up`` (``Mode.prepare``) before
it makes any account or starts the hub.

Each check is a small function returning the problems it found, one line each, saying what is
missing and what to do (operator's English, like the rest of ``occidata up``). A check that needs
Slurm to answer runs only when what it relies on is there (commands installed, munge answering),
so one missing piece gives one line, not a cascade of consequences.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ..config import ConfigError
from .commands import SlurmCommandError, run_slurm, slurm_environment

SLURM_COMMANDS = ("sinfo", "squeue", "sbatch", "scancel", "scontrol")
# Where Slurm's commands read their configuration when SLURM_CONF is not set (Debian's build).
DEFAULT_SLURM_CONF = "/etc/slurm/slurm.conf"
README = "deploy/slurm/README.md"
# One generic resource of a node as sinfo's %G writes it: gpu, gpu:2, gpu:a100:4, gpu:a100:4(S:0-1).
_GPU_GRES = re.compile(r"(?:^|,)gpu(?=[:,(]|$)(?::([^:,(]+))?(?::(\d+))?")


def root_problems() -> list[str]:
    """Slurm mode, like server mode, makes one system account per researcher and submits each
    lab as that account's job: only root can."""
    if os.geteuid() == 0:
        return []
    return ["not running as root: slurm mode creates one system account per researcher and submits each lab "
            "as that account's Slurm job; run `sudo make up` on the head node"]


def batchspawner_problems() -> list[str]:
    """Labs are submitted by batchspawner, which must be importable by the hub's Python."""
    try:
        importlib.import_module("batchspawner")
    except Exception as error:  # an ImportError, or a batchspawner that breaks on import
        return [f"batchspawner cannot be imported by this Python ({type(error).__name__}: {error}): install it in "
                "the platform's environment (pip install batchspawner)"]
    return []


def command_problems() -> list[str]:
    """Slurm's client commands the hub and its labs run."""
    missing = [name for name in SLURM_COMMANDS if shutil.which(name) is None]
    if not missing:
        return []
    return [f"Slurm's commands {', '.join(missing)} are not installed on this machine: install Slurm's client "
            "(Debian: apt-get install slurm-client) with the cluster's slurm.conf"]


def slurm_conf_path(cfg: dict) -> Path:
    """The slurm.conf Slurm's commands read: ``slurm.conf`` of the site config, else
    ``SLURM_CONF``, else Slurm's default."""
    return Path(slurm_environment(cfg).get("SLURM_CONF") or DEFAULT_SLURM_CONF)


def munge_socket(conf: Path) -> str | None:
    """The munge socket of Slurm's auth/munge plugin: ``socket=`` of slurm.conf's ``AuthInfo``
    (comma-separated options, the last ``AuthInfo`` line winning, as Slurm reads it); None when
    the file does not say (munge's own default socket), or cannot be read."""
    try:
        text = conf.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    auth_info = None
    for line in text.splitlines():
        for word in line.split("#", 1)[0].split():
            key, _, value = word.partition("=")
            if key.lower() == "authinfo":
                auth_info = value.strip('"')
    for option in (auth_info or "").split(","):
        key, _, value = option.partition("=")
        if key.strip().lower() == "socket" and value.strip():
            return value.strip()
    return None


def munge_problems(cfg: dict) -> list[str]:
    """A credential must encode and decode through the munged Slurm uses (``munge | unmunge`` on
    the socket of slurm.conf's ``AuthInfo``)."""
    if shutil.which("munge") is None or shutil.which("unmunge") is None:
        return ["munge's commands are not installed on this machine: install munge (Debian: apt-get install "
                "munge) and copy the cluster's /etc/munge/munge.key, the same on every node"]
    socket = munge_socket(slurm_conf_path(cfg))
    options = [f"--socket={socket}"] if socket else []
    where = f"socket {socket} (AuthInfo of {slurm_conf_path(cfg)})" if socket else "munge's default socket"
    try:
        done = subprocess.run(["munge", "--no-input", *options], capture_output=True, text=True, timeout=15)
        if done.returncode == 0:
            done = subprocess.run(["unmunge", *options], input=done.stdout, capture_output=True, text=True,
                                  timeout=15)
    except subprocess.TimeoutExpired:
        said = "no answer within 15 s"
    else:
        if done.returncode == 0:
            return []
        said = " ".join((done.stderr or done.stdout).split()) or f"exit status {done.returncode}"
    return [f"munge does not answer on {where} ({said}): start munged with the cluster's key (systemctl enable "
            "--now munge; /etc/munge/munge.key must be the same on every node)"]


@dataclass
class Partition:
    """What sinfo says of one partition: whether it is up, and the most GPUs one of its nodes has."""

    name: str
    up: bool = False
    gpus_per_node: int = 0
    gres: set[str] = field(default_factory=set)


def node_gpus(gres: str) -> int:
    """The GPUs of a node from sinfo's ``%G`` (``gpu:2``, ``gpu:a100:4(S:0-1)``, ``(null)``)."""
    total = 0
    for match in _GPU_GRES.finditer(gres):
        kind, count = match.groups()
        if count is not None:
            total += int(count)
        elif kind is not None and kind.isdigit():
            total += int(kind)
        else:
            total += 1
    return total


def read_partitions(cfg: dict) -> dict[str, Partition]:
    """Every partition slurmctld knows (hidden ones too), from ``sinfo``. Raises
    :class:`SlurmCommandError` when slurmctld does not answer."""
    listing = run_slurm(cfg, ["sinfo", "--all", "--noheader", "--format=%R|%a|%G"]).stdout
    partitions: dict[str, Partition] = {}
    for line in listing.splitlines():
        if line.count("|") != 2:
            continue
        name, available, gres = line.split("|")
        partition = partitions.setdefault(name, Partition(name))
        partition.up = partition.up or available.strip() == "up"
        partition.gpus_per_node = max(partition.gpus_per_node, node_gpus(gres.strip()))
        partition.gres.add(gres.strip())
    return partitions


def controller_problems(cfg: dict) -> tuple[list[str], dict[str, Partition] | None]:
    """slurmctld must answer ``sinfo``; the problems, and its partitions when it answers."""
    try:
        return [], read_partitions(cfg)
    except SlurmCommandError as error:
        said = " ".join(str(error).split())
        return [f"slurmctld does not answer ({said}): start it on the controller (systemctl enable --now slurmctld) "
                f"and check SlurmctldHost and SlurmctldPort in {slurm_conf_path(cfg)} and the firewall between "
                "this machine and the controller"], None


def partition_problems(cfg: dict, repository: Path, partitions: dict[str, Partition]) -> list[str]:
    """Every profile asks Slurm for a partition that exists and is up, and a GPU profile for one
    whose nodes have that many GPUs as generic resources (``Gres=gpu:N``). The profiles are the
    hub's (``spawner.profiles_file``, else ``hub/profiles.yaml``)."""
    from ..hub.profiles import read_profiles
    from ..hub.spawner import check_slurm_requests, profiles_path

    source = profiles_path(cfg, repository)
    try:
        profiles = read_profiles(source)
        check_slurm_requests(profiles, source)
    except ConfigError as error:
        return [str(error)]
    known = ", ".join(sorted(partitions)) or "none"
    problems = []
    for profile in profiles:
        request = profile.slurm
        partition = partitions.get(request.partition)
        if partition is None:
            problems.append(f"profile '{profile.slug}' in {source} asks for Slurm partition '{request.partition}', "
                            f"which does not exist (partitions: {known}): declare it in slurm.conf "
                            "(PartitionName=...) or change the profile's slurm.partition")
        elif not partition.up:
            problems.append(f"profile '{profile.slug}' in {source} asks for Slurm partition '{request.partition}', "
                            f"which is not up: scontrol update PartitionName={request.partition} State=UP")
        elif request.gpus and partition.gpus_per_node < request.gpus:
            has = (f"its nodes have at most {partition.gpus_per_node}" if partition.gpus_per_node
                   else "none of its nodes has GPUs declared")
            problems.append(f"profile '{profile.slug}' in {source} asks for {request.gpus} GPU(s) per lab in Slurm "
                            f"partition '{request.partition}', but {has} (sinfo gres: "
                            f"{', '.join(sorted(partition.gres))}): declare them (GresTypes=gpu, Gres=gpu:N on the "
                            "NodeName lines, gres.conf) or lower the profile's slurm.gpus")
    return problems


def shared_dir_of(cfg: dict) -> Path:
    """The storage every node mounts: ``slurm.shared_dir``, else the parent of ``data_dir``."""
    return Path(cfg["slurm"]["shared_dir"] or Path(cfg["data_dir"]).parent)


def is_mounted(path: Path) -> bool:
    """Whether ``path`` or a folder above it other than ``/`` is a mount point."""
    path = Path(os.path.realpath(path))
    return any(os.path.ismount(folder) for folder in (path, *path.parents) if folder != Path("/"))


def storage_problems(cfg: dict) -> list[str]:
    """data_dir, the researchers' homes and state_dir lie on the storage every node mounts."""
    shared = shared_dir_of(cfg)
    named = ("slurm.shared_dir" if cfg["slurm"]["shared_dir"]
             else "the shared folder (slurm.shared_dir unset: the parent of data_dir)")
    if not shared.is_dir():
        return [f"{named} {shared} does not exist: mount there the storage every compute node mounts at the same "
                "path, or set slurm.shared_dir"]
    real = Path(os.path.realpath(shared))
    problems = []
    for key, path in (("data_dir", cfg["data_dir"]), ("server.home_dir", cfg["server"]["home_dir"]),
                      ("state_dir", cfg["state_dir"])):
        if not Path(os.path.realpath(path)).is_relative_to(real):
            problems.append(f"{key} {path} is not inside {named} {shared}: compute nodes would not see it; move it "
                            f"under {shared} (set {key}) or set slurm.shared_dir to a folder holding it")
    if cfg["slurm"]["check_mount"] and not is_mounted(shared):
        problems.append(f"{named} {shared} is not on a mount of its own (neither it nor a folder above it but / is a "
                        "mount point): mount the storage the compute nodes share there (NFS, Lustre, GPFS...), or set "
                        "slurm.check_mount: false where this machine's own disk is what the nodes mount")
    return problems


def head_node_problems(cfg: dict, repository: Path) -> list[str]:
    """Everything missing for this machine to be slurm mode's head node, one line each (empty: ready)."""
    problems = root_problems() + batchspawner_problems()
    commands, munge = command_problems(), munge_problems(cfg)
    problems += commands + munge
    if not commands and not munge:  # without them, sinfo's failure would only repeat the line above
        controller, partitions = controller_problems(cfg)
        problems += controller
        if partitions is not None:
            problems += partition_problems(cfg, Path(repository), partitions)
    return problems + storage_problems(cfg)


def require_head_node(cfg: dict, repository: Path) -> None:
    """Raise :class:`ConfigError` listing :func:`head_node_problems`, if any."""
    problems = head_node_problems(cfg, repository)
    if problems:
        raise ConfigError(f"this machine is not ready to be slurm mode's head node (see {README}):\n  - "
                          + "\n  - ".join(problems))
