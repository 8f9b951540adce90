"""Start, watch and stop the platform's JupyterHub process (used by `occidata up|down` and tests)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from functools import cached_property
from pathlib import Path

import requests

from .config import load_config
from .modes import mode_of
from .hub.network import free_port, internal_ports, port_in_use  # free_port: the tests' and benchmarks' too
from .processes import platform_processes, resident_memory, stop_processes
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
    """Launch ``jupyterhub -f config_file`` in its own session, logging to the state directory.

    Services that a previous hub of this state directory left running (it was killed) are
    stopped first: never two copies of a service, never an old one serving with its old token.
    """
    state = StatePaths(Path(cfg["state_dir"])).prepare()
    # Researchers' servers are left alone: the new hub finds them running and keeps them.
    stop_processes(state.root, services_only=True)
    check_ports_free(cfg)
    mode_of(cfg).prepare(cfg, Path(config_file).resolve().parent)
    from .approvals import approve_curated

    approve_curated(cfg)
    publish_notebooks(cfg, Path(config_file).resolve().parent)
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


def publish_notebooks(cfg: dict, repo_root: Path) -> str | None:
    """Publish the repository's curated notebooks to the labs (occidata.lab.curated); the new
    commit, or None when the labs already have this set."""
    from .datasets import get_dataset, names
    from .lab.curated import publish_curated

    if shutil.which("git") is None:
        # The platform runs without it; only the labs' copy of the curated notebooks needs it.
        print("occidata: git is missing, so the labs get no copy of the curated notebooks "
              "(install it: apt-get install git)", file=sys.stderr)
        return None
    entries = {name: get_dataset(name).METADATA for name in names()}
    return publish_curated(repo_root / "notebooks", cfg["state_dir"], entries)


def check_ports_free(cfg: dict) -> None:
    """Refuse to start on a port another program holds (a second platform, most often), naming
    the port and the setting that moves it; the proxy a crashed hub of this state directory left
    keeps its ports (the new hub takes it over)."""
    state = StatePaths(Path(cfg["state_dir"]))
    ports = internal_ports(cfg)
    wanted = [("hub.hub_port", ports["hub_port"], "127.0.0.1")]
    if not read_pid(state.proxy_pid):
        wanted += [("hub.port", cfg["hub"]["port"], cfg["hub"]["ip"] or "0.0.0.0"),
                   ("hub.proxy_api_port", ports["proxy_api_port"], "127.0.0.1")]
    for key, port, host in wanted:
        if port_in_use(port, host):
            variable = "OCCIDATA_" + key.upper().replace(".", "__")
            raise PlatformError(f"port {port} ({key}) is already in use on {host}, by another program or "
                                f"another platform: choose another one ({variable}=...), or stop the other one")


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
    """Stop the hub and the proxy of this state directory, then every process the platform
    started that is still there (what a crashed hub left: services, their workers and kernels,
    researchers' servers, except where they are jobs of a workload manager, which outlive the hub
    and which it finds again: slurm mode); False if nothing ran."""
    state = StatePaths(Path(cfg["state_dir"]))
    stopped = False
    for pid_file in (state.hub_pid, state.proxy_pid):
        pid = read_pid(pid_file)
        if pid:
            stop_pid(pid)
            stopped = True
        pid_file.unlink(missing_ok=True)
    return bool(stop_processes(state.root, services_only=mode_of(cfg).batch)) or stopped


def platform_footprint(cfg: dict) -> tuple[int, int]:
    """How many processes the platform of ``cfg`` runs (hub, proxy and everything they started),
    and their resident memory in bytes."""
    state = StatePaths(Path(cfg["state_dir"]))
    pids = [pid for pid in (read_pid(state.hub_pid), read_pid(state.proxy_pid)) if pid]
    pids += platform_processes(state.root)
    return len(pids), resident_memory(pids)


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
        # What the hub did not stop (kernels of a killed service...); labs that are Slurm jobs stay.
        stop_processes(self.state_dir, services_only=mode_of(self.cfg).batch)

    def __enter__(self) -> "LocalHub":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
