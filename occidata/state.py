"""The state directory: every file the running platform owns, outside the repository.

Layout::

    <state_dir>/
      jupyterhub.sqlite          hub database (users, groups, tokens, NativeAuthenticator accounts)
      secrets/                   0700; each file 0600, created at first start
        cookie-secret            hub cookie secret (written by JupyterHub itself)
        proxy-token              shared hub <-> proxy token
        prometheus-token         the hub service `prometheus`'s token (read:metrics only), for scrapes
        initial-admin-password   the first admin's password, removed once `occidata up` printed it
      account-requests.json      0600; affiliation, time and approver of each signup
      logs/jupyterhub.log
      logs/usage.jsonl           0600; the hub's record of each lab server's start and stop (occidata usage)
      run/jupyterhub.pid, run/jupyterhub-proxy.pid
      homes/<user>/              demo-mode home directories
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from .atomic import write_atomic


@dataclass(frozen=True)
class StatePaths:
    """Named paths inside one state directory."""

    root: Path

    @property
    def database(self) -> Path:
        return self.root / "jupyterhub.sqlite"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets"

    @property
    def cookie_secret(self) -> Path:
        return self.secrets / "cookie-secret"

    @property
    def proxy_token(self) -> Path:
        return self.secrets / "proxy-token"

    @property
    def prometheus_token(self) -> Path:
        """The API token of the hub service ``prometheus`` (scope read:metrics), for scrapes."""
        return self.secrets / "prometheus-token"

    @property
    def initial_admin_password(self) -> Path:
        return self.secrets / "initial-admin-password"

    @property
    def account_requests(self) -> Path:
        """Affiliation, time of request and approver of each signup (occidata.hub.account_requests)."""
        return self.root / "account-requests.json"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def hub_log(self) -> Path:
        return self.logs / "jupyterhub.log"

    @property
    def usage_log(self) -> Path:
        """One JSON line per lab server start and stop, written by the hub (occidata.hub.usage_records)."""
        return self.logs / "usage.jsonl"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def hub_pid(self) -> Path:
        return self.run / "jupyterhub.pid"

    @property
    def ports(self) -> Path:
        return self.run / "ports.json"

    @property
    def proxy_pid(self) -> Path:
        return self.run / "jupyterhub-proxy.pid"

    @property
    def homes(self) -> Path:
        return self.root / "homes"

    def prepare(self) -> "StatePaths":
        """Create the directories; secrets/ is private to the owner."""
        for directory in (self.root, self.logs, self.run, self.homes):
            directory.mkdir(parents=True, exist_ok=True)
        self.secrets.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Private to the owner. Server mode hands the directory to the data service's group with
        # a traverse bit only (0710, see occidata.hub.isolation: that account reaches its
        # pseudonym key and lists nothing); that bit is kept when the group is such a group.
        info = os.stat(self.secrets)
        handed_over = info.st_gid != os.getegid() and info.st_mode & 0o010
        os.chmod(self.secrets, 0o710 if handed_over else 0o700)
        return self


def ensure_secret(path: Path, nbytes: int = 32) -> str:
    """Return the secret stored at ``path``, creating it (mode 0600) on first use."""
    path = Path(path)
    if not path.exists():
        write_atomic(path, secrets.token_hex(nbytes) + "\n", mode=0o600)
    return path.read_text(encoding="utf-8").strip()


def generate_password(length: int = 20) -> str:
    """A random password from an alphabet without look-alike characters."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(length))
