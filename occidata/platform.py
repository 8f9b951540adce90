"""Start, watch and stop the platform's JupyterHub process (used by `occidata up|down` and tests)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from functools import cached_property
from pathlib import Path

import requests

from .config import load_config
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


def orphaned_services(state_dir: str | os.PathLike) -> list[int]:
    """Processes of the platform's services (data, reports, dashboards, culler) started for
    ``state_dir`` by a hub that is gone: a killed hub leaves them running, each with its token,
    still serving on its loopback port. Found by their environment (readable: root, or the same
    account)."""
    markers = {f"OCCIDATA_STATE_DIR={path}".encode() for path in (os.path.abspath(state_dir), Path(state_dir).resolve())}
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if markers & set(environ) and any(item.startswith(b"JUPYTERHUB_SERVICE_NAME=") for item in environ):
            found.append(int(proc.name))
    return found


def stop_orphaned_services(state_dir: str | os.PathLike, timeout: float = 10) -> list[int]:
    """End the services a dead hub left (their process groups: pool workers and kernels too)."""
    pids = orphaned_services(state_dir)
    groups = set()
    for pid in pids:
        try:
            groups.add(os.getpgid(pid))
        except ProcessLookupError:
            continue
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for group in groups:
            try:
                os.killpg(group, sig)
            except (ProcessLookupError, PermissionError):
                pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and orphaned_services(state_dir):
            time.sleep(0.2)
        if not orphaned_services(state_dir):
            break
    return pids


def start_hub(cfg: dict, config_file: Path, env: dict | None = None, log_file: Path | None = None) -> subprocess.Popen:
    """Launch ``jupyterhub -f config_file`` in its own session, logging to the state directory.

    Services that a previous hub of this state directory left running (it was killed) are
    stopped first: never two copies of a service, never an old one serving with its old token.
    """
    state = StatePaths(Path(cfg["state_dir"])).prepare()
    stop_orphaned_services(state.root)
    if cfg["mode"] == "server":
        from .hub.isolation import prepare_server

        prepare_server(cfg, Path(config_file).resolve().parent)
    elif os.geteuid() == 0:
        from .hub.isolation import prepare_demo_as_root

        prepare_demo_as_root(cfg)
    from .approvals import approve_curated

    approve_curated(cfg)
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


def stop_pid(pid: int, timeout: float = 120) -> None:
    """SIGTERM, so JupyterHub stops its proxy and servers, then SIGKILL if it lingers.

    The timeout is generous: a hub stops every running server before it exits.
    """
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


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalHub:
    """A real hub + proxy from the project's jupyterhub_config.py, on random loopback ports.

    ``settings`` are extra ``OCCIDATA_*`` variables (e.g. ``{"CULLER__TIMEOUT": "5"}``).
    Used by the test suite and the benchmarks, as jupyterhub's tests/mocking.py is used by its own.
    """

    def __init__(self, state_dir: Path, settings: dict | None = None, config_file: Path | None = None):
        self.state_dir = Path(state_dir)
        self.config_file = Path(config_file or REPO_ROOT / "jupyterhub_config.py")
        self.settings = {
            "STATE_DIR": str(self.state_dir),
            "HUB__PORT": str(free_port()),
            "HUB__HUB_PORT": str(free_port()),
            "HUB__PROXY_API_PORT": str(free_port()),
            "GPU__ENABLED": "false",
            **(settings or {}),
        }
        self.process: subprocess.Popen | None = None
        self.start_seconds: float | None = None

    @property
    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OCCIDATA_")}
        env.update({f"OCCIDATA_{k}": v for k, v in self.settings.items()})
        return env

    @cached_property
    def cfg(self) -> dict:
        return load_config(self.env)

    @property
    def url(self) -> str:
        return hub_url(self.cfg)

    @property
    def state(self) -> StatePaths:
        return StatePaths(self.state_dir)

    def start(self, timeout: float = 90) -> "LocalHub":
        self.process = start_hub(self.cfg, self.config_file, env=self.env)
        self.start_seconds = wait_until_ready(self.url, self.process, self.state.hub_log, timeout=timeout)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            # Our own child: wait() reaps it (polling its pid would see the zombie as alive).
            self.process.terminate()
            try:
                self.process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        proxy = read_pid(self.state.proxy_pid)
        if proxy:
            stop_pid(proxy)

    def __enter__(self) -> "LocalHub":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
