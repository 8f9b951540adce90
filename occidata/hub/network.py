"""Where the hub, its proxy and its state live: loopback ports, proxy command, database, secrets."""

from __future__ import annotations

import json
import os
import shutil
import socket
from pathlib import Path

from ..atomic import write_atomic
from ..config import ConfigError
from ..state import StatePaths, ensure_secret


def find_proxy_command(cfg: dict, root: Path) -> str:
    """configurable-http-proxy: the configured one, then the repository's node_modules, then PATH."""
    configured = cfg["hub"]["proxy_command"]
    candidates = [configured] if configured else [
        str(root / "node_modules" / ".bin" / "configurable-http-proxy"),
        shutil.which("configurable-http-proxy"),
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    raise ConfigError(
        "configurable-http-proxy was not found "
        f"(looked at: {', '.join(c for c in candidates if c)}); run `make up`, which installs it "
        "with npm into node_modules/, or set hub.proxy_command"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def internal_ports(cfg: dict) -> dict[str, int]:
    """The hub's own API port and the proxy's API port: the configured ones, else free ports
    chosen at the first start of this state directory and kept in ``run/ports.json``, the same at
    every later start (servers that outlive a crashed hub call the hub's API at that port)."""
    hub = cfg["hub"]
    state = StatePaths(Path(cfg["state_dir"]))
    try:
        kept = json.loads(state.ports.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        kept = {}
    ports = {name: hub[name] or kept.get(name) or _free_port() for name in ("hub_port", "proxy_api_port")}
    if ports != {name: kept.get(name) for name in ports}:
        write_atomic(state.ports, json.dumps(ports) + "\n", mode=0o644)
    return ports


def update_network(c, cfg: dict, root: Path) -> None:
    """Bind everything to the configured (loopback by default) addresses and ports."""
    hub = cfg["hub"]
    state = StatePaths(Path(cfg["state_dir"]))
    ports = internal_ports(cfg)
    c.JupyterHub.ip = hub["ip"]
    c.JupyterHub.port = hub["port"]
    c.JupyterHub.base_url = hub["base_url"]
    c.JupyterHub.hub_ip = "127.0.0.1"
    c.JupyterHub.hub_port = ports["hub_port"]
    c.JupyterHub.log_level = hub["log_level"]
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{ports['proxy_api_port']}"
    c.ConfigurableHTTPProxy.command = [find_proxy_command(cfg, root)]
    c.ConfigurableHTTPProxy.pid_file = str(state.proxy_pid)
    c.ConfigurableHTTPProxy.auth_token = ensure_secret(state.proxy_token)


def update_state(c, cfg: dict) -> None:
    """Keep the database, cookie secret and pid file under the state directory."""
    state = StatePaths(Path(cfg["state_dir"])).prepare()
    # The database holds password hashes and tokens: create it private before JupyterHub opens it.
    state.database.touch(mode=0o600, exist_ok=True)
    os.chmod(state.database, 0o600)
    c.JupyterHub.db_url = f"sqlite:///{state.database}"
    # JupyterHub creates this file itself, with mode 0600, at first start.
    c.JupyterHub.cookie_secret_file = str(state.cookie_secret)
    c.JupyterHub.pid_file = str(state.hub_pid)
