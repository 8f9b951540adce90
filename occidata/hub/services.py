"""Hub services and their roles, declared as data with the smallest scopes that work."""

from __future__ import annotations

import json
import sys

from ..addresses import PUBLIC_URL_ENV, public_url
from ..levels import GRANT_SCOPE, level_groups, steward_names
from ..modes import mode_of
from ..processes import prepare_service_lock
from .lab_accounts import labs_as_system_users
from .network import loopback_port
from .prometheus import prometheus_service


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


def flat_env(prefix: str, section: dict) -> dict:
    """``OCCIDATA_*`` variables that rebuild ``section`` in the service's own load_config()."""
    env = {}
    for key, value in section.items():
        name = f"{prefix}__{key.upper()}"
        if isinstance(value, dict):
            env.update(flat_env(name, value))
        elif value is None:
            env[name] = "null"
        else:
            env[name] = value if isinstance(value, str) else json.dumps(value)
    return env


def platform_environment(cfg: dict) -> dict:
    """What every platform service is told of the platform: its mode, state, data and name."""
    return {"OCCIDATA_MODE": cfg["mode"], "OCCIDATA_STATE_DIR": cfg["state_dir"],
            "OCCIDATA_DATA_DIR": cfg["data_dir"], "OCCIDATA_LAB_NAME": cfg["lab_name"]}


def _platform_service(cfg: dict, name: str, module: str, port: int | None, environment: dict, *, description: str,
                      scopes: list[str], python: str = sys.executable, display: bool = True,
                      oauth: bool = True) -> tuple[dict, dict]:
    """A hub-managed service running ``python -m module`` on a loopback port, and its role."""
    service = {
        "name": name,
        "display": display,
        "url": f"http://127.0.0.1:{loopback_port(cfg, name, port)}",
        "command": [python, "-m", module],
        "environment": environment,
    }
    if oauth:
        service["oauth_no_confirm"] = True  # our own pages: no "authorize access" screen
    role = {"name": name, "description": description, "scopes": list(scopes), "services": [name]}
    return service, role


def reports_service(cfg: dict) -> tuple[dict, dict]:
    """The report scheduler and its pages (/services/reports/), and its role.

    Users are identified through the hub's OAuth, with their own tokens. Its own token, which
    its report kernels inherit, may only call the data service, which serves it the levels of
    ``reports.access_levels`` (never restricted) and audits each read as the reports service.
    In server mode it runs as ``server.reports_user``, which owns the report archive.
    """
    reports = cfg["reports"]
    environment = {
        **platform_environment(cfg),
        "OCCIDATA_ACCESS_LEVELS": ",".join(reports["access_levels"]),
        **flat_env("OCCIDATA_REPORTS", reports),
    }
    scopes = []
    if cfg["data_service"]["enabled"]:
        # Its report kernels read partner data through the data service, as a lab does: that is
        # all its token may do.
        scopes = ["access:services!service=data"]
        environment["OCCIDATA_DATA_SERVICE_URL"] = data_service_url(cfg)
    service, role = _platform_service(cfg, "reports", "occidata.reports.service", reports["port"], environment,
                                      description="Scheduled reports: reads non-public data through the data service",
                                      scopes=scopes, python=service_python(cfg))
    if labs_as_system_users(cfg):
        # The scheduler, its report kernels and the archive they write belong to an account of
        # their own: a researcher's kernel cannot read a partner report from disk.
        from .isolation import server_python_environment

        service["user"] = cfg["server"]["reports_user"]
        environment.update(server_python_environment())
    return service, role


def dashboards_service(cfg: dict) -> tuple[dict, dict]:
    """The public Voilà dashboards (/services/dashboards/), and a role that grants nothing.

    Visitors need no account: the service does not use the hub's OAuth, and its own token is
    dropped before any kernel starts (see occidata.dashboards.service).
    """
    dashboards = cfg["dashboards"]
    environment = {
        **platform_environment(cfg),
        **flat_env("OCCIDATA_DASHBOARDS", dashboards),
        **flat_env("OCCIDATA_SOURCES", cfg["sources"]),
        "OCCIDATA_REPORTS__ARCHIVE_DIR": cfg["reports"]["archive_dir"] or "null",
    }
    service, role = _platform_service(cfg, "dashboards", "occidata.dashboards.service", dashboards["port"], environment,
                                      description="Public dashboards: no hub API access needed", scopes=[],
                                      python=service_python(cfg), oauth=False)
    if labs_as_system_users(cfg):
        # Visitors' kernels run as an account that cannot read partner or restricted files,
        # with its own home and its own snapshot archive.
        from .isolation import public_dir, server_python_environment

        service["user"] = cfg["server"]["public_user"]
        environment.update(server_python_environment(),
                           OCCIDATA_REPORTS__ARCHIVE_DIR=str(public_dir(cfg) / "snapshots"))
    return service, role


def catalogue_service(cfg: dict) -> tuple[dict, dict]:
    """The catalogue pages (/services/catalogue/), and a role that grants nothing.

    Anyone reads them; the hub's OAuth only tells the service who is logged in (non-public
    entries show their metadata to logged-in users), which needs no scope of the service's own.
    It reads metadata and public data only: in server mode it runs as ``server.public_user``.
    """
    section = cfg["catalogue_pages"]
    environment = {
        **platform_environment(cfg),
        **flat_env("OCCIDATA_CATALOGUE_PAGES", section),
        **flat_env("OCCIDATA_SOURCES", cfg["sources"]),
        # The pages of non-public entries say who grants their level.
        "OCCIDATA_AUTH__ADMIN": cfg["auth"]["admin"],
        "OCCIDATA_DATA_SERVICE__STEWARDS": json.dumps(cfg["data_service"]["stewards"]),
    }
    service, role = _platform_service(cfg, "catalogue", "occidata.catalog.pages_service", section["port"], environment,
                                      description="Catalogue pages: identifies users through OAuth, no hub API access",
                                      scopes=[], python=service_python(cfg))
    if labs_as_system_users(cfg):
        # It must not be able to read partner or restricted files: the public account cannot.
        from .isolation import server_python_environment

        service["user"] = cfg["server"]["public_user"]
        environment.update(server_python_environment())
    return service, role


DATA_SERVICE_SCOPES = [
    "read:users:groups",  # each request is authorised from the caller's current groups,
    "read:roles:users",  # roles (the steward role)
    "read:users:name",  # and admin flag
    "list:users",
    "read:groups",  # stewards list the level groups
    "groups",  # and grant or revoke them (membership only: no group creation or deletion)
]
# What a lab server's $JUPYTERHUB_API_TOKEN may do: the defaults, plus calling the data service.
# Never GRANT_SCOPE: code running in a steward's lab must not grant rights with the lab's token.
SERVER_TOKEN_SCOPES = ["users:activity!user", "access:servers!server", "access:services!service=data"]


def data_service_url(cfg: dict) -> str:
    """Where lab servers reach the data service (through the hub's proxy)."""
    hub = cfg["hub"]
    host = hub["ip"] if hub["ip"] not in ("", "0.0.0.0", "::") else "127.0.0.1"
    if mode_of(cfg).batch:
        host = cfg["slurm"]["connect_host"]  # labs run on compute nodes
    return f"http://{host}:{hub['port']}{hub['base_url'].rstrip('/')}/services/data/"


def data_service(cfg: dict) -> tuple[dict, dict]:
    """The data service for non-public entries (/services/data/), and its role.

    Its token reads users' groups, roles and admin flag (each request is authorised afresh) and
    changes the membership of groups (stewards' grants and revokes) — nothing more.
    """
    section = cfg["data_service"]
    environment = {
        "OCCIDATA_MODE": cfg["mode"],
        "OCCIDATA_STATE_DIR": cfg["state_dir"],
        "OCCIDATA_DATA_DIR": cfg["data_dir"],
        **flat_env("OCCIDATA_DATA_SERVICE", section),
        "OCCIDATA_REPORTS__ENABLED": json.dumps(cfg["reports"]["enabled"]),
        "OCCIDATA_REPORTS__ACCESS_LEVELS": json.dumps(cfg["reports"]["access_levels"]),
        # Its refusals name the stewards (data_service.stewards and the admin) and link to the entry's page.
        "OCCIDATA_AUTH__ADMIN": cfg["auth"]["admin"],
        PUBLIC_URL_ENV: public_url(cfg, {}),
    }
    service, role = _platform_service(
        cfg, "data", "occidata.catalog.service", section["port"], environment, python=service_python(cfg), display=False,
        description="Data service: reads users' groups and roles, changes group membership",
        scopes=DATA_SERVICE_SCOPES)
    if mode_of(cfg).own_accounts:
        # The service runs as the account that alone may read non-public data.
        service["user"] = cfg["server"]["service_user"]
    return service, role


def service_python(cfg: dict) -> str:
    """The Python of services that run as another account: one that account can read."""
    if labs_as_system_users(cfg):
        from .isolation import server_python

        return server_python(cfg)
    return sys.executable


def steward_role(cfg: dict) -> dict:
    """Stewards grant and revoke data levels through the data service; the role marks them.

    Its hub scopes only let them see who the users and groups are; :data:`GRANT_SCOPE` (a custom
    scope the hub checks nothing against) is what the data service asks of a grant's token. A
    steward's own tokens (the hub's /hub/token page, or the API without ``scopes``) inherit it;
    lab servers' tokens and browser OAuth sessions of the data service do not get it. Members:
    ``data_service.stewards`` and the configured admin ``auth.admin`` (other hub admins are not
    stewards unless listed).
    """
    members = steward_names(cfg)
    return {
        "name": "steward",
        "description": "Data stewards: grant and revoke access levels (through the data service)",
        "scopes": ["list:users", "read:users:name", "read:groups", GRANT_SCOPE],
        "users": members,
    }


def _already(section, key: str) -> dict:
    """A dict already set on a traitlets Config section (reading a missing key would create one)."""
    return dict(section[key]) if key in section and isinstance(section[key], dict) else {}


def _groups_managed_by_authenticator(cfg: dict) -> bool:
    oauth = cfg["auth"]["oauth"]
    return cfg["auth"]["type"] == "generic-oauth" and bool(oauth["allowed_groups"] or oauth["admin_groups"])


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
    if cfg["catalogue_pages"]["enabled"]:
        service, role = catalogue_service(cfg)
        services.append(service)
        roles.append(role)
        # Logged-in users are identified by the catalogue pages through OAuth (this scope).
        user_scopes.append("access:services!service=catalogue")
    if cfg["data_service"]["enabled"]:
        service, role = data_service(cfg)
        services.append(service)
        roles.append(role)
        roles.append(steward_role(cfg))
        c.JupyterHub.custom_scopes = {**_already(c.JupyterHub, "custom_scopes"), GRANT_SCOPE: {
            "description": "Grant and revoke data access levels through the data service (stewards' own tokens)"}}
        user_scopes.append("access:services!service=data")
        c.Spawner.server_token_scopes = list(SERVER_TOKEN_SCOPES)
        # Added to what update_spawner set (it runs before), never replacing it.
        c.Spawner.environment = {**_already(c.Spawner, "environment"),
                                 "OCCIDATA_DATA_SERVICE_URL": data_service_url(cfg)}
        if not _groups_managed_by_authenticator(cfg):
            # Declared at every start; load_groups only adds, so no member is ever removed here.
            c.JupyterHub.load_groups = {**_already(c.JupyterHub, "load_groups"),
                                        **{name: {} for name in level_groups()}}
    if len(user_scopes) > 1:
        roles.append({"name": "user", "description": "Standard user privileges and the platform's pages",
                      "scopes": user_scopes})
    for service in services:
        # Marks the process as this platform's: a restarted hub stops what a killed one left,
        # `occidata down` what is left after a crash (occidata.processes).
        service.setdefault("environment", {}).setdefault("OCCIDATA_STATE_DIR", cfg["state_dir"])
        if "command" in service:
            prepare_service_lock(cfg["state_dir"], service["name"], service.get("user"))
    # No process of its own: a token that may read /hub/metrics and the services' metrics, nothing else.
    service, role = prometheus_service(cfg)
    services.append(service)
    roles.append(role)
    c.JupyterHub.services = services
    c.JupyterHub.load_roles = roles
