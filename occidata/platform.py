"""Start, watch and stop the platform's JupyterHub process (used by `occidata up|down` and tests)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from .state import StatePaths

REPO_ROOT = Path(__file__).resolve().parent.parent


class PlatformError(Exception):
    """The platform could not be started or stopped; the message says what to do."""


def hub_url(cfg: dict) -> str:
    host = cfg["hub"]["ip"] or "127.0.0.1"
    return f"http://{host}:{cfg['hub']['port']}{cfg['hub']['base_url']}"


def read_pid(path: Path) -> int | None:
    """The live process whose pid is in ``path``, or None."""
    try:
        pid = int(Path(path).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return pid


def start_hub(cfg: dict, config_file: Path, env: dict | None = None, log_file: Path | None = None) -> subprocess.Popen:
    """Launch ``jupyterhub -f config_file`` in its own session, logging to the state directory."""
    state = StatePaths(Path(cfg["state_dir"])).prepare()
    log_path = Path(log_file or state.hub_log)
    log = open(log_path, "ab")
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(config_file)],
            cwd=state.root,
            env=dict(os.environ if env is None else env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        log.close()


def wait_until_ready(url: str, process: subprocess.Popen, log_path: Path, timeout: float = 90, progress=None) -> float:
    """Poll the hub's API through the proxy until it answers; return the seconds it took."""
    started = time.monotonic()
    api = url.rstrip("/") + "/hub/api/"
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise PlatformError(
                f"JupyterHub exited with code {process.returncode} while starting; "
                f"the end of {log_path}:\n{tail(log_path)}"
            )
        try:
            if requests.get(api, timeout=2).status_code == 200:
                return time.monotonic() - started
        except requests.RequestException:
            pass
        if progress:
            progress()
        time.sleep(0.25)
    raise PlatformError(f"JupyterHub did not answer at {api} within {timeout:.0f} s; see {log_path}:\n{tail(log_path)}")


def tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log written)"


def stop_pid(pid: int, timeout: float = 30) -> None:
    """SIGTERM, so JupyterHub stops its proxy and servers, then SIGKILL if it lingers."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)


def stop_hub(cfg: dict) -> bool:
    """Stop the hub (and the proxy it started) of this state directory; False if none ran."""
    state = StatePaths(Path(cfg["state_dir"]))
    stopped = False
    for pid_file in (state.hub_pid, state.proxy_pid):
        pid = read_pid(pid_file)
        if pid:
            stop_pid(pid)
            stopped = True
        pid_file.unlink(missing_ok=True)
    return stopped
