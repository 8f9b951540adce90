"""Where the hub, its proxy and its state live: loopback ports, proxy command, database, secrets."""

from __future__ import annotations

import json
import os
import shutil
import socket
from pathlib import Path

from ..atomic import write_atomic
from ..config import ConfigError
from ..modes import mode_of
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


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a program listens on ``host:port`` (connections left in TIME_WAIT do not count:
    the hub and the proxy listen with SO_REUSEADDR too)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def _kept_ports(state: StatePaths) -> dict[str, int]:
    try:
        kept = json.loads(state.ports.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    return {name: port for name, port in kept.items() if isinstance(port, int)}


def loopback_port(cfg: dict, name: str, configured: int | None = None, *, stable: bool = False) -> int:
    """The loopback port of ``name`` (``hub_port``, ``proxy_api_port``, a service): ``configured``
    if set, else the one kept for it in ``run/ports.json``, else a free port that none of this
    platform's other ports uses (its public port included: it is chosen before the proxy listens),
    kept from then on. Two platforms on one machine never share one; a service restarted after a
    crash finds its port again. A kept port another program took meanwhile is replaced, unless
    ``stable`` (the hub's API port: servers that outlived a crashed hub call it there)."""
    if configured:
        return configured
    state = StatePaths(Path(cfg["state_dir"]))
    kept = _kept_ports(state)
    port = kept.get(name)
    if port and (stable or not port_in_use(port)):
        return port
    taken = {cfg["hub"]["port"], *kept.values(),
             *(cfg["hub"][key] for key in ("hub_port", "proxy_api_port") if cfg["hub"][key])}
    port = free_port()
    while port in taken:
        port = free_port()
    write_atomic(state.ports, json.dumps({**kept, name: port}, sort_keys=True) + "\n", mode=0o644)
    return port


def internal_ports(cfg: dict) -> dict[str, int]:
    """The hub's own API port and the proxy's API port (see :func:`loopback_port`)."""
    return {name: loopback_port(cfg, name, cfg["hub"][name], stable=True) for name in ("hub_port", "proxy_api_port")}


def update_network(c, cfg: dict, root: Path) -> None:
    """Bind everything to the configured (loopback by default) addresses and ports."""
    hub = cfg["hub"]
    state = StatePaths(Path(cfg["state_dir"]))
    ports = internal_ports(cfg)
    c.JupyterHub.ip = hub["ip"]
    c.JupyterHub.port = hub["port"]
    c.JupyterHub.base_url = hub["base_url"]
    # Labs on compute nodes (slurm mode) reach the hub's API at the head node's address.
    c.JupyterHub.hub_ip = cfg["slurm"]["connect_host"] if mode_of(cfg).batch else "127.0.0.1"
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
