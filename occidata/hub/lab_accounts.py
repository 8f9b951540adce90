"""Which account a researcher's lab runs as: the one rule the spawner, the login hook and
``occidata up`` ask.

- server mode: system account ``<server.user_prefix><name>``, home under ``server.home_dir``;
- demo mode started by root: the same kind of account, home under ``<state>/homes``: a lab
  never runs as root, so it cannot read the hub's secrets, its database, the audit log,
  non-public data files or the services' tokens (all root's); the same rule runs the public
  dashboards and the report scheduler as their own accounts, as in server mode
  (:mod:`occidata.hub.services`);
- demo mode started by another user: that user, as The Littlest JupyterHub's "single user"
  setups do; researchers then share everything that account can read.
"""

from __future__ import annotations

from pathlib import Path

from ..modes import mode_of
from ..state import StatePaths


def labs_as_system_users(cfg: dict) -> bool:
    """Whether each researcher's lab runs as a system account of its own (:mod:`occidata.modes`)."""
    return mode_of(cfg).labs_as_system_users()


def lab_home_root(cfg: dict) -> str:
    """Where those accounts' homes are made."""
    if mode_of(cfg).own_accounts:
        return cfg["server"]["home_dir"]
    return str(StatePaths(Path(cfg["state_dir"])).homes)


def sharing_note(cfg: dict) -> str:
    """What researchers share, for the start-up message (demo mode)."""
    if labs_as_system_users(cfg):
        return (f"each researcher's lab runs as an unprivileged account {cfg['server']['user_prefix']}<name> "
                "(made at first login), which cannot read the hub's secrets, its database, the audit log or "
                "non-public data files; researchers share the public data and the tmp folder; the dashboards "
                f"and the reports run as {cfg['server']['public_user']} and {cfg['server']['reports_user']}")
    return ("every lab runs as this system user: researchers share everything it can read (their homes, "
            "the hub's state); run as root, or in server mode, to keep them apart")
