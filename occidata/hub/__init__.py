"""Configure JupyterHub from the occidata configuration.

``apply(c, cfg, root)`` is what jupyterhub_config.py calls. Each ``update_<area>``
function only sets values on the traitlets Config ``c``, one concern each, so they can be
tested on a bare ``traitlets.config.Config`` as The Littlest JupyterHub tests its configurer.
"""

from __future__ import annotations

from pathlib import Path

from .access import update_access
from .auth import update_auth
from .network import update_network, update_state
from .services import update_services
from .spawn_metrics import install_spawn_metrics
from .spawner import update_spawner
from .pages import update_pages
from .usage_records import install_usage_records


def apply(c, cfg: dict, root: str | Path) -> None:
    """Set everything the hub needs on ``c`` from ``cfg``; ``root`` is the repository."""
    root = Path(root)
    update_state(c, cfg)
    update_network(c, cfg, root)
    update_auth(c, cfg)
    update_spawner(c, cfg, root)
    update_access(c)
    update_services(c, cfg)
    update_pages(c, cfg, root)
    install_spawn_metrics(c)  # occidata_spawns_total and their durations, at /hub/metrics
    install_usage_records(c, cfg)  # last: it keeps the spawn hooks set above
