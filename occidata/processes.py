"""The processes a platform started: finding every one, stopping them all, tying helpers to their parent.

Every process the hub starts for a state directory (its services, the researchers' servers) gets
``OCCIDATA_STATE_DIR=<state dir>`` and ``JUPYTERHUB_API_URL`` in its environment (see
occidata.hub.services and occidata.hub.spawner), and everything those start inherits both: pool
workers, kernels, terminals. That pair marks the platform's processes, after a crash too, when
none of them is a child of a live hub any more. The hub and the proxy are found by their pid files
(occidata.platform).

A service's helpers die with it: pool workers ask the kernel for a SIGKILL when their parent dies
(:func:`die_with_parent`), so that a killed service never leaves a worker finishing a run on its
own; kernels already do (ipykernel polls its parent). And a service runs once per state directory
(:func:`hold_service_lock`, ``<state>/locks/<service>.lock``), however it was started.
"""

from __future__ import annotations

import ctypes
import fcntl
import logging
import os
import signal
import time
from pathlib import Path
from typing import IO

log = logging.getLogger("occidata.processes")

MARKER = "OCCIDATA_STATE_DIR"
_STARTED_BY_HUB = b"JUPYTERHUB_API_URL="
_SERVICE = b"JUPYTERHUB_SERVICE_NAME="
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _markers(state_dir: str | os.PathLike) -> set[bytes]:
    return {f"{MARKER}={path}".encode() for path in (os.path.abspath(state_dir), Path(state_dir).resolve())}


def platform_processes(state_dir: str | os.PathLike, *, services_only: bool = False) -> list[int]:
    """Pids of the processes the hub of ``state_dir`` started, and of their descendants; with
    ``services_only``, those of its services only (not the researchers' servers). Found by their
    environment, so only where it is readable: as root, or as the same account."""
    markers = _markers(state_dir)
    needed = _SERVICE if services_only else _STARTED_BY_HUB
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            environ = set((proc / "environ").read_bytes().split(b"\0"))
        except OSError:
            continue
        if markers & environ and any(item.startswith(needed) for item in environ):
            found.append(int(proc.name))
    return found


def stop_processes(state_dir: str | os.PathLike, *, services_only: bool = False, timeout: float = 10) -> list[int]:
    """Stop :func:`platform_processes` (SIGTERM to each and to its process group, then SIGKILL to
    what is left after ``timeout`` seconds); returns the pids found at first."""
    first = platform_processes(state_dir, services_only=services_only)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        left = platform_processes(state_dir, services_only=services_only)
        if not left:
            break
        for pid in left:
            _signal(pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and platform_processes(state_dir, services_only=services_only):
            time.sleep(0.2)
    return first


def _signal(pid: int, sig: int) -> None:
    try:
        group = os.getpgid(pid)
        if group != os.getpgrp():  # never our own group (the command that stops the platform)
            os.killpg(group, sig)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def resident_memory(pids: list[int]) -> int:
    """The resident memory of ``pids`` together, in bytes (what a leftover process costs)."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except (OSError, ValueError):
            continue
    return total


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (a pool worker's initializer).

    Without it, a worker whose service was killed goes on alone: it may finish a run and archive
    it while the restarted service has already recorded that run as interrupted.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        log.warning("prctl(PR_SET_PDEATHSIG) failed (errno %d): this worker may outlive its service",
                    ctypes.get_errno())
    if os.getppid() == 1:  # the parent died before the request was in place
        os._exit(1)


def _lock_path(state_dir: str | os.PathLike, name: str) -> Path:
    # Not in run/ (root's alone in server mode): a folder every service account may pass through
    # (0711), where each opens its own lock file and cannot list the others.
    return Path(state_dir) / "locks" / f"{name}.lock"


def prepare_service_lock(state_dir: str | os.PathLike, name: str, account: str | None = None) -> Path:
    """Create the lock file of service ``name``, private to the account that runs it (as root,
    ``account``): nobody else may open it, so nobody else can hold it and keep the service from
    starting."""
    path = _lock_path(state_dir, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o711)
    path.touch(mode=0o600, exist_ok=True)
    os.chmod(path, 0o600)
    if account and os.geteuid() == 0:
        import pwd

        try:
            entry = pwd.getpwnam(account)
        except KeyError:  # not created yet: the service will say it runs without its lock
            return path
        os.chown(path, entry.pw_uid, entry.pw_gid)
    return path


def try_lock(path: str | os.PathLike) -> tuple[IO | None, str]:
    """Open ``path`` and take its exclusive ``flock`` without waiting: ``(the open file, "")``,
    with this pid written in it (keep the file open: the lock goes with it), or ``(None, the
    holder's pid)``. OSError when the file cannot be opened."""
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held by the caller
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "?"
        handle.close()
        return None, holder
    _write_pid(handle)
    return handle, ""


def _write_pid(handle: IO) -> None:
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()


def hold_service_lock(state_dir: str | os.PathLike, name: str) -> IO | None:
    """Take the lock of service ``name`` for ``state_dir``, waiting while another copy holds it;
    keep the returned file open for the life of the service (the lock goes with the process).

    Never two copies of a service, even one started by hand or by a hub that did not stop the
    previous one: the second waits, without serving, until the first is gone. Returns None (and
    logs why) where the lock file cannot be opened: a service started outside the platform.
    """
    path = _lock_path(state_dir, name)
    try:
        handle, holder = try_lock(path)
        if handle is None:
            log.warning("service %s: another copy (pid %s) holds %s; waiting for it to stop", name, holder, path)
            handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held until the process ends
            fcntl.flock(handle, fcntl.LOCK_EX)
            _write_pid(handle)
    except OSError as exc:
        log.warning("service %s: no lock at %s (%s): a second copy would not be detected", name, path, exc)
        return None
    return handle
