"""Hub services and their roles, declared as data with the smallest scopes that work."""

from __future__ import annotations

import json
import socket
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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _flat_env(prefix: str, section: dict) -> dict:
    """``OCCIDATA_*`` variables that rebuild ``section`` in the service's own load_config()."""
    env = {}
    for key, value in section.items():
        name = f"{prefix}__{key.upper()}"
        if isinstance(value, dict):
            env.update(_flat_env(name, value))
        elif value is None:
            env[name] = "null"
        else:
            env[name] = value if isinstance(value, str) else json.dumps(value)
    return env


def reports_service(cfg: dict) -> tuple[dict, dict]:
    """The report scheduler and its pages (/services/reports/), and its role.

    It needs no hub API scope: users are identified through the hub's OAuth, with their own
    tokens; its own token (which report kernels could inherit) can do nothing.
    """
    reports = cfg["reports"]
    port = reports["port"] or _free_port()
    environment = {
        "OCCIDATA_STATE_DIR": cfg["state_dir"],
        "OCCIDATA_DATA_DIR": cfg["data_dir"],
        "OCCIDATA_LAB_NAME": cfg["lab_name"],
        "OCCIDATA_ACCESS_LEVELS": ",".join(reports["access_levels"]),
        **_flat_env("OCCIDATA_REPORTS", reports),
    }
    service = {
        "name": "reports",
        "display": True,
        "url": f"http://127.0.0.1:{port}",
        "command": [sys.executable, "-m", "occidata.reports.service"],
        "environment": environment,
        "oauth_no_confirm": True,
    }
    role = {
        "name": "reports",
        "description": "Scheduled reports: no hub API access needed",
        "scopes": [],
        "services": ["reports"],
    }
    return service, role


def dashboards_service(cfg: dict) -> tuple[dict, dict]:
    """The public Voilà dashboards (/services/dashboards/), and a role that grants nothing.

    Visitors need no account: the service does not use the hub's OAuth, and its own token is
    dropped before any kernel starts (see occidata.dashboards.service).
    """
    dashboards = cfg["dashboards"]
    port = dashboards["port"] or _free_port()
    environment = {
        "OCCIDATA_MODE": cfg["mode"],
        "OCCIDATA_STATE_DIR": cfg["state_dir"],
        "OCCIDATA_DATA_DIR": cfg["data_dir"],
        "OCCIDATA_LAB_NAME": cfg["lab_name"],
        **_flat_env("OCCIDATA_DASHBOARDS", dashboards),
        **_flat_env("OCCIDATA_SOURCES", cfg["sources"]),
        "OCCIDATA_REPORTS__ARCHIVE_DIR": cfg["reports"]["archive_dir"] or "null",
    }
    service = {
        "name": "dashboards",
        "display": True,
        "url": f"http://127.0.0.1:{port}",
        "command": [sys.executable, "-m", "occidata.dashboards.service"],
        "environment": environment,
    }
    role = {
        "name": "dashboards",
        "description": "Public dashboards: no hub API access needed",
        "scopes": [],
        "services": ["dashboards"],
    }
    return service, role


def update_services(c, cfg: dict) -> None:
    """Declare every hub service and role the platform runs."""
    services, roles = [], []
    user_scopes = ["self"]
    if cfg["culler"]["enabled"]:
        service, role = culler_service(cfg["culler"])
        services.append(service)
        roles.append(role)
    if cfg["reports"]["enabled"]:
        service, role = reports_service(cfg)
        services.append(service)
        roles.append(role)
        # Every logged-in user may open the reports pages (OAuth checks this scope).
        user_scopes.append("access:services!service=reports")
    if cfg["dashboards"]["enabled"]:
        service, role = dashboards_service(cfg)
        services.append(service)
        roles.append(role)
    if len(user_scopes) > 1:
        roles.append({"name": "user", "description": "Standard user privileges and the platform's pages",
                      "scopes": user_scopes})
    c.JupyterHub.services = services
    c.JupyterHub.load_roles = roles
