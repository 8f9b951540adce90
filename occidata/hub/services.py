"""Hub services and their roles, declared as data with the smallest scopes that work."""

from __future__ import annotations

import sys


def culler_service(culler: dict) -> tuple[dict, dict]:
    """jupyterhub-idle-culler as a hub-managed service, and the role it needs."""
    command = [
        sys.executable,
        "-m",
        "jupyterhub_idle_culler",
        f"--timeout={culler['timeout']}",
        f"--cull-every={culler['every']}",
    ]
    if culler["max_age"]:
        command.append(f"--max-age={culler['max_age']}")
    service = {"name": "idle-culler", "command": command}
    role = {
        "name": "idle-culler",
        "description": "Stop servers left idle",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    }
    return service, role


def update_services(c, cfg: dict) -> None:
    """Declare every hub service and role the platform runs."""
    services, roles = [], []
    if cfg["culler"]["enabled"]:
        service, role = culler_service(cfg["culler"])
        services.append(service)
        roles.append(role)
    c.JupyterHub.services = services
    c.JupyterHub.load_roles = roles
