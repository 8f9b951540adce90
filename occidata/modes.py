"""The platform's modes, each declared once: what it spawns, how it keeps accounts and data apart,
how its services run, what ``occidata up`` prepares and says.

Every other module asks the mode of a configuration (:func:`mode_of`) what it needs, never its
name. Adding a mode (slurm, then kubernetes) is one :class:`Mode` here and its tests.

============  =======================  ==========================================================
mode          labs                     non-public data
============  =======================  ==========================================================
demo          the caller's account     partner through the data service; restricted never built
              (as root: system ones)   nor served (nothing keeps researchers apart)
server        one system account each  readable by the data service's account only
slurm         one system account each, as server mode, on storage every node mounts
              as a Slurm job (batchspawner)
kubernetes    (not available yet)      mounted into the data service's pod only
============  =======================  ==========================================================
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Mode", "MODES", "mode_of", "ModeUnavailable"]


class ModeUnavailable(ValueError):
    """A mode this release declares but cannot run yet; the message says what to do instead."""


@dataclass(frozen=True)
class Mode:
    """One way of running the platform.

    own_accounts: researchers' labs and the platform's services run as system accounts of their
    own, and the state lives where every one of them can reach it. serves_restricted: restricted
    (personal) datasets may be built and served. spawner: the spawner class of labs run as the
    caller's account (system accounts always use occidata.hub.system_users.SystemUserSpawner).
    dask_workers: how ``occidata.cluster()`` (:mod:`occidata.dask_cluster`) gives a lab Dask workers:
    "local" (a LocalCluster within the lab's own limits), "slurm" (dask-jobqueue's SLURMCluster, the
    researcher's own Slurm jobs), "gateway" (dask-gateway).
    """

    name: str
    available: bool
    own_accounts: bool
    serves_restricted: bool
    spawner: str = ""
    unavailable: str = ""
    dask_workers: str = "local"
    # Labs run as jobs of a workload manager (Slurm) on compute nodes, not as processes of the hub's
    # machine: the spawner is batch_spawner's, and `occidata up` checks the manager first.
    batch: bool = False

    def check_available(self) -> None:
        """Raise :class:`ModeUnavailable` for a mode declared but not runnable in this release."""
        if not self.available:
            raise ModeUnavailable(f"mode '{self.name}' is not available yet: {self.unavailable}")

    def labs_as_system_users(self) -> bool:
        """Whether each researcher's lab runs as a system account of its own: always in a mode
        with its own accounts, and in demo mode started as root (a lab never runs as root)."""
        return self.own_accounts or os.geteuid() == 0

    def shared_state(self) -> bool:
        """Whether the state lives where other accounts reach it (not in the caller's home)."""
        return self.own_accounts or os.geteuid() == 0

    def data_owner(self, cfg: dict) -> str:
        """The account that alone may read non-public data files."""
        if self.own_accounts:
            return cfg["server"]["service_user"]
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name

    def prepare(self, cfg: dict, repository: Path) -> None:
        """What the machine needs before the hub starts in this mode (accounts, folders, modes)."""
        if self.batch:
            # One clear line per missing piece (munge, slurmctld, partitions, shared storage) before
            # anything is made.
            from .slurm.checks import require_head_node

            require_head_node(cfg, repository)
        if self.own_accounts:
            from .hub.isolation import prepare_server

            prepare_server(cfg, repository)
        elif os.geteuid() == 0:
            from .hub.isolation import prepare_demo_as_root

            prepare_demo_as_root(cfg)

    def startup_lines(self, cfg: dict, url: str) -> list[str]:
        """What ``occidata up`` says of this mode once the hub answers."""
        if self.batch:
            server, slurm = cfg["server"], cfg["slurm"]
            return [f"  Slurm mode: hub user <name>'s lab is a Slurm job of system user {server['user_prefix']}<name> "
                    f"(made at first login; the account must exist on every compute node);\n  labs reach the hub at "
                    f"{slurm['connect_host']}; non-public data is readable by {server['service_user']} only, served by "
                    f"the data service at {url}services/data/."]
        if self.own_accounts:
            server = cfg["server"]
            return [f"  Server mode: hub user <name> runs as system user {server['user_prefix']}<name> (made at first "
                    f"login);\n  non-public data is readable by {server['service_user']} only, served by the data "
                    f"service at {url}services/data/ to hub groups 'partner' and 'restricted:<dataset>'."]
        from .dashboards.gate import isolated
        from .hub.lab_accounts import sharing_note

        lines = [f"  Demo mode: {sharing_note(cfg)}.\n  Restricted (personal) datasets are never built nor served "
                 "in demo mode; partner data reach hub group 'partner' through the data service."]
        if not isolated(cfg):
            lines.append("  The publication gate runs notebooks as this user: its verdicts are advisory (run as "
                         "root for throwaway accounts).")
        return lines


_LATER = ("this release runs the 'demo', 'server' and 'slurm' modes (set mode: in the site config, or "
          "OCCIDATA_MODE=server); {what}")

MODES: dict[str, Mode] = {mode.name: mode for mode in (
    Mode("demo", available=True, own_accounts=False, serves_restricted=False,
         spawner="jupyterhub.spawner.SimpleLocalProcessSpawner"),
    Mode("server", available=True, own_accounts=True, serves_restricted=True),
    Mode("slurm", available=True, own_accounts=True, serves_restricted=True, dask_workers="slurm", batch=True,
         spawner="occidata.hub.slurm_spawner.OccidataSlurmSpawner"),
    Mode("kubernetes", available=False, own_accounts=True, serves_restricted=True, dask_workers="gateway",
         unavailable=_LATER.format(what="kubernetes mode (Zero to JupyterHub's KubeSpawner) is planned, see "
                                        "deploy/README.md")),
)}


def mode_of(cfg: dict) -> Mode:
    """The :class:`Mode` of a configuration (its ``mode``, validated by :mod:`occidata.config`)."""
    try:
        return MODES[cfg["mode"]]
    except KeyError:
        raise ValueError(f"mode: {cfg.get('mode')!r} is not one of {', '.join(MODES)}") from None
