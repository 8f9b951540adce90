"""Running code as another system account: the one place the platform does it.

- :func:`run_as` runs a command as an account with its own group only (no supplementary
  groups), umask 077 and the environment it is given, nothing inherited;
- :func:`throwaway_account` makes a system account for one untrusted job (the publication
  gate's run of a submitted notebook) and removes it afterwards, with every process it left;
- :func:`kill_account_processes` ends what an account still runs.

Hub-managed services are started as their accounts by JupyterHub itself (the ``user`` key of
a service, see :mod:`occidata.hub.services`); labs by :class:`occidata.hub.system_users.SystemUserSpawner`.
"""

from __future__ import annotations

import os
import pwd
import secrets
import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

from .system_users import SystemUserError, user_exists

PRIVATE_UMASK = 0o077


def account(name: str | pwd.struct_passwd) -> pwd.struct_passwd:
    """The password entry of ``name`` (or ``name`` itself when it already is one)."""
    if isinstance(name, pwd.struct_passwd):
        return name
    try:
        return pwd.getpwnam(name)
    except KeyError:
        raise SystemUserError(f"no system account named {name!r}") from None


def run_as(user: str | pwd.struct_passwd, command: Sequence[str], *, env: dict, cwd: str | os.PathLike,
           timeout: float | None = None, umask: int = PRIVATE_UMASK) -> subprocess.CompletedProcess:
    """Run ``command`` as ``user`` (its primary group only) in ``cwd`` with exactly ``env``.

    Output is captured as text. Needs root. Raises OSError when the account cannot run the
    program (e.g. a Python it cannot read) and subprocess.TimeoutExpired after ``timeout``.
    """
    entry = account(user)
    return subprocess.run(list(command), user=entry.pw_uid, group=entry.pw_gid, extra_groups=[], umask=umask,
                          env=dict(env), cwd=str(cwd), capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def account_pids(uid: int) -> list[int]:
    """Processes whose real uid is ``uid`` (from /proc)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid == uid:
                pids.append(int(entry.name))
        except (FileNotFoundError, ProcessLookupError):
            continue
    return pids


def kill_account_processes(uid: int, timeout: float = 5.0) -> int:
    """SIGKILL every process of ``uid`` until none is left (a fork may race one pass); how many."""
    if uid == 0:
        raise ValueError("refusing to kill the processes of root")
    killed = 0
    deadline = time.monotonic() + timeout
    while True:
        pids = account_pids(uid)
        if not pids or time.monotonic() > deadline:
            return killed
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
        time.sleep(0.05)


@contextmanager
def throwaway_account(prefix: str) -> Iterator[pwd.struct_passwd]:
    """A fresh system account ``<prefix><random>`` (no home, no shell, its own group), removed
    at the end with every process it still runs. Needs root."""
    name = f"{prefix}{secrets.token_hex(4)}"
    if user_exists(name):  # pragma: no cover - 32 random bits
        raise SystemUserError(f"account {name} already exists")
    done = subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                           "--shell", "/usr/sbin/nologin", "--user-group", name], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemUserError(f"useradd {name} failed ({done.returncode}): {done.stderr.strip()}")
    entry = pwd.getpwnam(name)
    try:
        yield entry
    finally:
        kill_account_processes(entry.pw_uid)
        subprocess.run(["userdel", name], capture_output=True, text=True)
        subprocess.run(["groupdel", name], capture_output=True, text=True)  # userdel may leave it
