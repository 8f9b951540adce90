"""Where the hub, its proxy and its state live: loopback ports, proxy command, database, secrets."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

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


def update_network(c, cfg: dict, root: Path) -> None:
    """Bind everything to the configured (loopback by default) addresses and ports."""
    hub = cfg["hub"]
    state = StatePaths(Path(cfg["state_dir"]))
    c.JupyterHub.ip = hub["ip"]
    c.JupyterHub.port = hub["port"]
    c.JupyterHub.base_url = hub["base_url"]
    c.JupyterHub.hub_ip = "127.0.0.1"
    c.JupyterHub.hub_port = hub["hub_port"]
    c.JupyterHub.log_level = hub["log_level"]
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{hub['proxy_api_port']}"
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
