"""What a lab server got (profile, cores, memory, GPU), measured from inside the server."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ServerResources:
    """The share of the machine a lab server may use."""

    profile: str
    cores: float
    memory_bytes: int
    gpus: tuple[str, ...]

    def summary_fr(self) -> str:
        """One French line for the lab's top bar, e.g. « CPU · 2 cœurs · 8 Go · sans GPU »."""
        cores = f"{self.cores:g} cœur" + ("s" if self.cores >= 2 else "")
        memory = f"{self.memory_bytes / 1e9:.1f}".rstrip("0").rstrip(".").replace(".", ",") + " Go de mémoire"
        gpu = "sans GPU" if not self.gpus else ", ".join(self.gpus)
        return f"Serveur {self.profile.upper()} · {cores} · {memory} · {gpu}"


def _cgroup_memory_limit() -> int | None:
    # cgroup v2 (systemd, Slurm, Kubernetes put the server in a cgroup with a memory.max).
    try:
        line = Path("/proc/self/cgroup").read_text().splitlines()[0]
        limit = (Path("/sys/fs/cgroup") / line.split("::", 1)[1].lstrip("/") / "memory.max").read_text().strip()
    except (OSError, IndexError):
        return None
    return int(limit) if limit.isdigit() else None


def _machine_memory() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _gpu_names(visible: str | None) -> tuple[str, ...]:
    # An empty CUDA_VISIBLE_DEVICES (the CPU profiles) hides every GPU from the server's kernels.
    if visible is not None and not visible.strip():
        return ()
    smi = shutil.which("nvidia-smi")
    if not smi:
        return ()
    try:
        listing = subprocess.run([smi, "--query-gpu=index,name", "--format=csv,noheader"], capture_output=True,
                                 text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ()
    wanted = None if visible is None else {part.strip() for part in visible.split(",")}
    names = []
    for line in listing.stdout.splitlines():
        index, _, name = line.partition(",")
        if wanted is None or index.strip() in wanted:
            names.append(name.strip())
    return tuple(names)


def lab_limits(environ=None) -> tuple[float, int]:
    """``(cores, memory in bytes)`` this server may use: the spawner's limits (``CPU_LIMIT``,
    ``MEM_LIMIT``, which JupyterHub sets when configured), else what the process may use (CPU
    affinity, its cgroup's memory limit, the machine's memory)."""
    environ = os.environ if environ is None else environ
    cores = float(environ.get("CPU_LIMIT") or len(os.sched_getaffinity(0)))
    limits = [int(environ["MEM_LIMIT"])] if environ.get("MEM_LIMIT") else []
    cgroup = _cgroup_memory_limit()
    return cores, min([*limits, *([cgroup] if cgroup else []), _machine_memory()])


def server_resources(environ=None) -> ServerResources:
    """The resources of this server: its :func:`lab_limits` and the GPUs ``CUDA_VISIBLE_DEVICES``
    leaves visible."""
    environ = os.environ if environ is None else environ
    cores, memory = lab_limits(environ)
    return ServerResources(profile=environ.get("OCCIDATA_PROFILE", "cpu"), cores=cores, memory_bytes=memory,
                           gpus=_gpu_names(environ.get("CUDA_VISIBLE_DEVICES")))
