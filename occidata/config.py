"""Platform configuration: defaults, then the site file, then ``OCCIDATA_*`` variables.

The layering follows The Littlest JupyterHub's configurer: a dict of defaults is
deep-merged with the site ``config.yaml`` (path from ``OCCIDATA_CONFIG``) and then with
environment variables. Every layer is validated on its own against one JSON schema, so
an error names the key *and* where it came from (the file, or the variable).

Environment variables map onto keys with ``__`` between levels::

    OCCIDATA_MODE=demo            -> mode
    OCCIDATA_HUB__PORT=8001       -> hub.port
    OCCIDATA_CULLER__TIMEOUT=600  -> culler.timeout
"""

from __future__ import annotations

import copy
import difflib
import os
from pathlib import Path
from typing import Any, Mapping

import jsonschema
import yaml

from .modes import MODES, mode_of

ENV_PREFIX = "OCCIDATA_"
# OCCIDATA_* variables that are not configuration keys (set for kernels and lab servers).
NOT_CONFIG_ENV = {
    "OCCIDATA_CONFIG",
    "OCCIDATA_BACKEND",
    "OCCIDATA_PROFILE",
    "OCCIDATA_DEFAULT_KERNEL",
    "OCCIDATA_KERNELS",  # set for lab servers (occidata.lab): the kernels their profile offers
    "OCCIDATA_CURATED_REPO",  # the platform's repository of curated notebooks (occidata.lab.curated)
    "OCCIDATA_LAB_SERVICES",  # the platform's pages the lab links to (occidata.lab.shortcuts)
    "OCCIDATA_ENV_BIN",  # the platform environment's bin/, first on the lab terminals' PATH
    "OCCIDATA_ACCESS_LEVELS",
    "OCCIDATA_REPORT_SUMMARY",
    "OCCIDATA_DATA_SERVICE_URL",  # set by the hub for lab servers: where the data service answers
    "OCCIDATA_PUBLIC_URL",  # set by the hub for lab servers and the data service: occidata.addresses.public_url
    "OCCIDATA_TOKEN",  # a steward's own hub token for `occidata access` (occidata.hub.access)
    "OCCIDATA_CATALOG",  # set for lab servers: the absolute path of catalog/catalog.yaml (plain Intake)
    "OCCIDATA_DASK_WORKERS",  # slurm mode, set for lab servers: their Dask workers' limits (occidata.dask_cluster)
    "OCCIDATA_DASK_HOST",  # slurm mode, optional: where a lab's Dask scheduler listens (occidata.dask_cluster)
}
SECRET_WORDS = ("secret", "password", "token")
SERVER_STATE_DIR = "/opt/occidata/state"


class ConfigError(Exception):
    """A configuration problem a person can fix; the message says what and where."""


def default_state_dir() -> str:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(Path.home(), ".local", "state")
    return os.path.join(base, "occidata")


DEFAULTS: dict[str, Any] = {
    "mode": "demo",
    "lab_name": "Occitanie Data Lab",
    "state_dir": None,  # resolved to $XDG_STATE_HOME/occidata
    "data_dir": None,  # resolved to <state_dir>/data
    "hub": {
        "ip": "127.0.0.1",
        "port": 8000,
        # Internal loopback ports; null: free ports chosen at first start and kept in
        # <state_dir>/run/ports.json, so that two platforms on one machine never collide.
        "hub_port": None,
        "proxy_api_port": None,
        "base_url": "/",
        "proxy_command": None,  # resolved to the repository's node_modules, then PATH
        "config_d": None,  # resolved to jupyterhub_config.d beside jupyterhub_config.py
        "concurrent_spawn_limit": 20,
        "start_timeout": 120,
        "log_level": "INFO",
        "dashboards_url": "/services/dashboards/",
        # The address people type to reach the hub, without base_url (e.g. https://lab.example.org), for
        # the links researchers are given (an entry's catalogue page); null: http://<ip>:<port>.
        "public_url": None,
    },
    "auth": {
        "type": "native",
        "admin": "admin",
        "open_signup": False,
        "minimum_password_length": 10,
        # NativeAuthenticator locks an account for seconds_before_next_try after this many failed
        # logins in a row (0: never); each failure and each lockout is audited.
        "allowed_failed_logins": 5,
        "seconds_before_next_try": 600,
        "oauth": {
            "client_id": None,
            "client_secret": None,
            "authorize_url": None,
            "token_url": None,
            "userdata_url": None,
            "callback_url": None,
            "login_service": "SSO",
            "username_claim": "preferred_username",
            "scope": ["openid", "profile", "email"],
            "groups_claim": "groups",
            "allowed_groups": [],
            "admin_groups": [],
        },
    },
    "spawner": {
        "default_url": "/lab",
        "profiles_file": None,  # resolved to hub/profiles.yaml in the repository
        "cpu_limit": None,
        "mem_limit": None,
    },
    "gpu": {
        "enabled": "auto",
        "devices": "0",
    },
    "sources": {
        "real_data_dir": None,  # resolved to ../shared/data/real beside the repository
        "boundaries": None,  # path or URL of the departments GeoJSON; else ../shared/data/geo
    },
    "culler": {
        "enabled": True,
        "timeout": 3600,
        "every": 300,
        "max_age": 0,
    },
    "reports": {
        "enabled": True,  # the scheduler service at /services/reports/
        "port": None,  # loopback port of the service; null: a free port chosen at hub start
        "schedules_file": None,  # resolved to hub/report_schedules.yaml in the repository
        "archive_dir": None,  # resolved to <state_dir>/reports
        "concurrency": 2,  # reports run at the same time
        "catch_up": "latest",  # fire times missed while down: latest (once) | all | none
        "check_every": 30,  # seconds between two looks at the schedules
        "timeout": 600,  # seconds per cell, unless a schedule says otherwise
        "retries": 2,  # attempts after a failure, unless a schedule says otherwise
        "backoff": 30,  # seconds before the first retry, doubled at each next one
        "access_levels": ["partner"],  # data levels scheduled reports may read (never restricted)
        "smtp": {  # e-mail on failure; off while host is null
            "host": None,
            "port": 25,
            "starttls": False,
            "username": None,
            "password": None,
            "from": None,
            "to": [],
        },
    },
    "dashboards": {
        "enabled": True,  # the public Voilà service at /services/dashboards/
        "port": None,  # loopback port of the service; null: a free port chosen at hub start
        "apps_dir": None,  # the dashboards' notebooks; resolved to voila_apps/ in the repository
        "pool_size": 1,  # preheated kernels kept ready per dashboard (0: no preheating)
        "max_kernels": 12,  # visitor kernels in use (pages open); above it visitors get the latest snapshot
        "cull_idle_timeout": 300,  # seconds before a kernel no browser talks to is shut down
        "cull_interval": 60,  # seconds between two culling rounds
        "release_after": 10,  # seconds before the kernel of a closed page (no browser connected) is shut down
        "connect_timeout": 60,  # seconds a rendered page's kernel waits for its browser to connect
        "snapshot_cron": "*/30 * * * *",  # when the static snapshots are rendered (Europe/Paris)
        "snapshot_timeout": 300,  # seconds per cell of a snapshot rendering
        "tiles_url": None,  # map tiles, e.g. http://tiles.example/{z}/{x}/{y}.png; null: no tiles
        "tiles_attribution": "",  # credit line shown under maps when tiles_url is set
    },
    "catalogue_pages": {
        "enabled": True,  # the catalogue's public pages at /services/catalogue/ (occidata.catalog.pages_service)
        "port": None,  # loopback port of the service; null: a free port chosen at hub start
    },
    "data_service": {
        "enabled": True,  # the data service for non-public entries at /services/data/
        "port": None,  # loopback port of the service; null: a free port chosen at hub start
        "stewards": [],  # hub users given the steward role: they grant and revoke levels (admins may too)
        "contact": None,  # e-mail address researchers write to for an access level; null: the stewards' names only
        "max_days_partner": 365,  # longest access request for the partner level, in days
        "max_days_restricted": 90,  # longest access request for a restricted:<dataset> level, in days
        "expiry_notice_days": 14,  # holders are told this many days before their right ends
        "expiry_check_every": 60,  # seconds between two looks for rights past their end date
    },
    "audit": {
        "retention_days": 365,  # audit records older than this are removed by `occidata audit prune`
    },
    "server": {  # mode: server only (started as root, like The Littlest JupyterHub)
        "user_prefix": "jupyter-",  # hub user marie runs as system user jupyter-marie
        "home_dir": "/home",  # where the system users' homes are created
        "service_user": "occidata-data",  # owns the data dir, runs the data service
        "public_user": "occidata-public",  # runs the public dashboards and renders their snapshots
        "reports_user": "occidata-reports",  # runs the report scheduler and owns the report archive
        "gate_prefix": "occgate-",  # throwaway accounts of the publication gate: one per run, removed after
        "python": None,  # a Python every user can read; null: this one, which must be
    },
    "slurm": {  # mode: slurm only: each lab is a Slurm job of the researcher's account (deploy/slurm/)
        # The head node's address labs on compute nodes use to reach the hub, its proxy and services.
        "connect_host": "127.0.0.1",
        # Where a lab listens on its compute node (the hub connects to the node's NodeAddr); every
        # request to a lab needs the hub's token, and compute nodes sit on the cluster's own network.
        "lab_ip": "0.0.0.0",
        "conf": None,  # slurm.conf for Slurm's commands (SLURM_CONF); null: Slurm's own default
        # Storage every node mounts: data_dir, the homes (server.home_dir) and state_dir live under it.
        "shared_dir": None,  # null: the parent of data_dir
        "check_mount": True,  # `occidata up` requires shared_dir to be a mount point of its own
        "poll_interval": 2,  # seconds between two looks at a starting lab's job
        "pending_timeout": 1800,  # seconds a lab may wait in Slurm's queue before the hub cancels it
        # Hub groups named in profiles (e.g. gpu) mirrored as Unix groups <prefix><group> of the researchers'
        # accounts, for the partitions' AllowGroups: Slurm itself refuses the others (occidata.slurm.groups).
        "group_prefix": "occgrp-",
    },
}

_str_or_null = {"type": ["string", "null"]}
_positive_int = {"type": "integer", "minimum": 1}
_port = {"type": "integer", "minimum": 1, "maximum": 65535}


def _section(properties: dict) -> dict:
    return {"type": "object", "additionalProperties": False, "properties": properties}


SCHEMA: dict[str, Any] = _section(
    {
        "mode": {"enum": list(MODES)},
        "lab_name": {"type": "string", "minLength": 1},
        "state_dir": _str_or_null,
        "data_dir": _str_or_null,
        "hub": _section(
            {
                "ip": {"type": "string"},
                "port": _port,
                "hub_port": {"anyOf": [_port, {"type": "null"}]},
                "proxy_api_port": {"anyOf": [_port, {"type": "null"}]},
                "base_url": {"type": "string", "pattern": "^/"},
                "proxy_command": _str_or_null,
                "config_d": _str_or_null,
                "concurrent_spawn_limit": {"type": "integer", "minimum": 0},
                "start_timeout": _positive_int,
                "log_level": {"enum": ["DEBUG", "INFO", "WARN", "ERROR", "CRITICAL"]},
                "dashboards_url": {"type": "string"},
                "public_url": {"type": ["string", "null"], "pattern": "^https?://[^/?#]+/?$"},
            }
        ),
        "auth": _section(
            {
                "type": {"enum": ["native", "generic-oauth"]},
                "admin": {"type": "string", "pattern": "^[a-z0-9][a-z0-9._-]*$"},
                "open_signup": {"type": "boolean"},
                "minimum_password_length": {"type": "integer", "minimum": 8},
                "allowed_failed_logins": {"type": "integer", "minimum": 0},
                # NativeAuthenticator 1.3 compares timedelta.seconds, which wraps at a day.
                "seconds_before_next_try": {"type": "integer", "minimum": 1, "maximum": 86399},
                "oauth": _section(
                    {
                        "client_id": _str_or_null,
                        "client_secret": _str_or_null,
                        "authorize_url": _str_or_null,
                        "token_url": _str_or_null,
                        "userdata_url": _str_or_null,
                        "callback_url": _str_or_null,
                        "login_service": {"type": "string"},
                        "username_claim": {"type": "string"},
                        "scope": {"type": "array", "items": {"type": "string"}},
                        "groups_claim": {"type": "string"},
                        "allowed_groups": {"type": "array", "items": {"type": "string"}},
                        "admin_groups": {"type": "array", "items": {"type": "string"}},
                    }
                ),
            }
        ),
        "spawner": _section(
            {
                "default_url": {"type": "string"},
                "profiles_file": _str_or_null,
                "cpu_limit": {"type": ["number", "null"], "exclusiveMinimum": 0},
                "mem_limit": _str_or_null,
            }
        ),
        "gpu": _section(
            {
                "enabled": {"enum": ["auto", True, False]},
                "devices": {"type": "string"},
            }
        ),
        "sources": _section({"real_data_dir": _str_or_null, "boundaries": _str_or_null}),
        "culler": _section(
            {
                "enabled": {"type": "boolean"},
                "timeout": _positive_int,
                "every": _positive_int,
                "max_age": {"type": "integer", "minimum": 0},
            }
        ),
        "reports": _section(
            {
                "enabled": {"type": "boolean"},
                "port": {"type": ["integer", "null"], "minimum": 1, "maximum": 65535},
                "schedules_file": _str_or_null,
                "archive_dir": _str_or_null,
                "concurrency": _positive_int,
                "catch_up": {"enum": ["latest", "all", "none"]},
                "check_every": _positive_int,
                "timeout": _positive_int,
                "retries": {"type": "integer", "minimum": 0},
                "backoff": {"type": "number", "minimum": 0},
                "access_levels": {"type": "array", "items": {"enum": ["partner"]}},
                "smtp": _section(
                    {
                        "host": _str_or_null,
                        "port": _port,
                        "starttls": {"type": "boolean"},
                        "username": _str_or_null,
                        "password": _str_or_null,
                        "from": _str_or_null,
                        "to": {"type": "array", "items": {"type": "string"}},
                    }
                ),
            }
        ),
        "dashboards": _section(
            {
                "enabled": {"type": "boolean"},
                "port": {"type": ["integer", "null"], "minimum": 1, "maximum": 65535},
                "apps_dir": _str_or_null,
                "pool_size": {"type": "integer", "minimum": 0, "maximum": 8},
                "max_kernels": _positive_int,
                "cull_idle_timeout": _positive_int,
                "cull_interval": _positive_int,
                "release_after": _positive_int,
                "connect_timeout": _positive_int,
                "snapshot_cron": {"type": "string", "minLength": 9},
                "snapshot_timeout": _positive_int,
                "tiles_url": {"type": ["string", "null"], "pattern": "^https?://.*[{]z[}].*[{]x[}].*[{]y[}]"},
                "tiles_attribution": {"type": "string"},
            }
        ),
        "catalogue_pages": _section(
            {
                "enabled": {"type": "boolean"},
                "port": {"type": ["integer", "null"], "minimum": 1, "maximum": 65535},
            }
        ),
        "data_service": _section(
            {
                "enabled": {"type": "boolean"},
                "port": {"type": ["integer", "null"], "minimum": 1, "maximum": 65535},
                "stewards": {"type": "array", "items": {"type": "string"}},
                "contact": {"type": ["string", "null"], "pattern": "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$"},
                "max_days_partner": {"type": "integer", "minimum": 1, "maximum": 3660},
                "max_days_restricted": {"type": "integer", "minimum": 1, "maximum": 3660},
                "expiry_notice_days": {"type": "integer", "minimum": 0, "maximum": 365},
                "expiry_check_every": _positive_int,
            }
        ),
        "audit": _section({"retention_days": _positive_int}),
        "server": _section(
            {
                "user_prefix": {"type": "string", "pattern": "^[a-z_][a-z0-9_-]*$", "maxLength": 16},
                "home_dir": {"type": "string", "pattern": "^/"},
                "service_user": {"type": "string", "pattern": "^[a-z_][a-z0-9_-]{0,31}$"},
                "public_user": {"type": "string", "pattern": "^[a-z_][a-z0-9_-]{0,31}$"},
                "reports_user": {"type": "string", "pattern": "^[a-z_][a-z0-9_-]{0,31}$"},
                "gate_prefix": {"type": "string", "pattern": "^[a-z_][a-z0-9_-]*$", "maxLength": 16},
                "python": _str_or_null,
            }
        ),
        "slurm": _section(
            {
                "connect_host": {"type": "string", "minLength": 1},
                "lab_ip": {"type": "string", "minLength": 1},
                "conf": _str_or_null,
                "shared_dir": {"type": ["string", "null"], "pattern": "^/"},
                "check_mount": {"type": "boolean"},
                "poll_interval": {"type": "number", "exclusiveMinimum": 0},
                "pending_timeout": {"type": "integer", "minimum": 0},
                "group_prefix": {"type": "string", "pattern": "^[a-z_][a-z0-9_-]*$", "maxLength": 16},
            }
        ),
    }
)


def deep_merge(base: Mapping, override: Mapping) -> dict:
    """Return ``base`` updated by ``override``, recursing into dicts; inputs are not changed."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _schema_at(path: list[str]) -> dict | None:
    node = SCHEMA
    for key in path:
        node = node.get("properties", {}).get(key)
        if node is None:
            return None
    return node


def _describe(error: jsonschema.ValidationError) -> str:
    path = [str(p) for p in error.absolute_path]
    if error.validator == "additionalProperties":
        known = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(known))
        key = unknown[0]
        dotted = ".".join(path + [key])
        hint = difflib.get_close_matches(key, known, n=1)
        suggestion = f" (did you mean '{'.'.join(path + [hint[0]])}'?)" if hint else ""
        return f"unknown key '{dotted}'{suggestion}; known keys here: {', '.join(known)}"
    dotted = ".".join(path) or "<top level>"
    return f"bad value for '{dotted}': {error.message}"


def validate_layer(layer: Any, source: str) -> None:
    """Check one configuration layer; raise ConfigError naming the key and ``source``."""
    validator = jsonschema.Draft202012Validator(SCHEMA)
    errors = sorted(validator.iter_errors(layer), key=lambda e: list(e.absolute_path))
    if errors:
        details = "\n  ".join(_describe(e) for e in errors)
        raise ConfigError(f"invalid configuration in {source}:\n  {details}")


class _NoAliasLoader(yaml.SafeLoader):
    """PyYAML's safe loader without aliases (``*name``, and so ``<<: *name``).

    A few nested aliases make a small file expand into billions of nodes ("billion laughs")
    when validated or merged; a budget would be one more number to tune, and a hand-written
    configuration of a few dozen keys never needs an alias: writing the value out is enough.
    """

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, f"alias *{event.anchor} refused: write the value out (aliases are not allowed here)",
                event.start_mark)
        return super().compose_node(parent, index)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """' at line L, column C: problem' of a YAML error, on one line."""
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = getattr(exc, "problem", None) or str(exc)
    return f"{where}: {' '.join(str(problem).split())}"


def read_site_file(path: str | os.PathLike) -> dict:
    """Read the site ``config.yaml``; an empty file is an empty layer."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"the site config file {path} does not exist (set by OCCIDATA_CONFIG); "
            "create it or unset OCCIDATA_CONFIG"
        ) from None
    except IsADirectoryError:
        raise ConfigError(
            f"OCCIDATA_CONFIG names a directory, {path}, not a YAML file; point it at the config.yaml inside"
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"the site config file {path} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
            f"{exc.start}); save it as UTF-8"
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read the site config file {path} (set by OCCIDATA_CONFIG): {exc.strerror}") from None
    try:
        layer = yaml.load(text, Loader=_NoAliasLoader)
    except yaml.YAMLError as exc:
        raise ConfigError(f"cannot parse {path}{_yaml_problem(exc)}") from None
    if layer is None:
        return {}
    if not isinstance(layer, dict):
        raise ConfigError(f"{path} must hold a mapping of keys, not {type(layer).__name__}")
    validate_layer(layer, str(path))
    return layer


def read_env(environ: Mapping[str, str]) -> dict:
    """Turn ``OCCIDATA_SECTION__KEY`` variables into a configuration layer."""
    layer: dict[str, Any] = {}
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX) or name in NOT_CONFIG_ENV:
            continue
        path = [part.lower() for part in name[len(ENV_PREFIX) :].split("__")]
        schema = _schema_at(path)
        if schema is None or schema.get("type") == "object":
            raise ConfigError(
                f"environment variable {name} names no configuration key "
                f"('{'.'.join(path)}'); run `occidata config show` for the keys"
            )
        types = schema.get("type", [])
        keeps_text = "string" in (types if isinstance(types, list) else [types])
        try:
            as_text = keeps_text and raw.lower() not in ("null", "~")
            value: Any = raw if as_text else yaml.load(raw, Loader=_NoAliasLoader)
        except yaml.YAMLError as exc:
            raise ConfigError(
                f"environment variable {name}: cannot parse {raw!r} as YAML{_yaml_problem(exc)} "
                "(a list is written [a, b])"
            ) from None
        node = layer
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
        validate_layer(layer, f"environment variable {name}")
    return layer


def _resolve_paths(cfg: dict) -> dict:
    # Root runs the platform for other accounts (server mode, and demo mode's labs): its state
    # lives where every account can reach it, not in root's closed home.
    shared = mode_of(cfg).shared_state()
    state_dir = cfg["state_dir"] or (SERVER_STATE_DIR if shared else default_state_dir())
    cfg["state_dir"] = os.path.abspath(os.path.expanduser(state_dir))
    data_dir = cfg["data_dir"] or os.path.join(cfg["state_dir"], "data")
    cfg["data_dir"] = os.path.abspath(os.path.expanduser(data_dir))
    return cfg


def _server_accounts(server: Mapping) -> tuple[dict[str, str], dict[str, str]]:
    """The ``server`` section's account names (keys ``*_user``) and name prefixes (``*_prefix``)."""
    accounts = {f"server.{k}": v for k, v in server.items() if k.endswith("_user") and isinstance(v, str)}
    prefixes = {f"server.{k}": v for k, v in server.items() if k.endswith("_prefix") and isinstance(v, str)}
    return accounts, prefixes


def check_server_accounts(cfg: Mapping) -> None:
    """Refuse ``server`` account names that would be root or collide with one another.

    Service accounts (``server.service_user``, ``server.public_user``, ...) must not be root and
    must differ; no prefix (``server.user_prefix``, ...) may be root, be the start of another
    prefix or of a service account's name (hub user ``data`` under prefix ``occidata-`` would run as
    ``occidata-data``). In server mode, no account that exists on this machine outside
    ``server.home_dir`` may start with ``server.user_prefix``: a hub user could be named into it.
    """
    accounts, prefixes = _server_accounts(cfg["server"])
    problems = []
    for key, name in sorted({**accounts, **prefixes}.items()):
        if name == "root":
            problems.append(f"'{key}' is 'root': the platform never runs anything of its own as root; choose another name")
    seen: dict[str, str] = {}
    for key, name in sorted(accounts.items()):
        if name in seen:
            problems.append(f"'{key}' is {name!r}, the same account as '{seen[name]}': each service needs its own account")
        seen.setdefault(name, key)
    for pkey, prefix in sorted(prefixes.items()):
        for key, name in sorted(accounts.items()):
            if name.startswith(prefix):
                problems.append(f"'{pkey}' is {prefix!r}, the start of '{key}' ({name!r}): a user named "
                                f"{name[len(prefix):]!r} would run as that service account; choose another prefix")
        for other, start in sorted(prefixes.items()):
            if other != pkey and start.startswith(prefix):
                problems.append(f"'{pkey}' is {prefix!r}, the start of '{other}' ({start!r}): their accounts would "
                                "collide; choose prefixes that do not start one another")
    if cfg.get("mode") in MODES and mode_of(cfg).own_accounts and "server.user_prefix" in prefixes:
        import pwd

        prefix, home_dir = prefixes["server.user_prefix"], Path(cfg["server"].get("home_dir") or "/home")
        for account in sorted(pwd.getpwall(), key=lambda a: a.pw_name):
            if account.pw_name.startswith(prefix) and Path(account.pw_dir) != home_dir / account.pw_name:
                problems.append(f"'server.user_prefix' is {prefix!r}, the start of the existing system account "
                                f"{account.pw_name!r} (home {account.pw_dir}): a hub user could run as it; "
                                "choose another prefix")
    if problems:
        raise ConfigError("invalid configuration of the server accounts:\n  " + "\n  ".join(problems))


def load_config(environ: Mapping[str, str] | None = None) -> dict:
    """Load the merged, validated configuration.

    Parameters
    ----------
    environ
        The environment to read ``OCCIDATA_CONFIG`` and ``OCCIDATA_*`` from
        (defaults to ``os.environ``).

    Returns
    -------
    dict
        Defaults updated by the site file, then by the environment, with paths made absolute.

    Raises
    ------
    ConfigError
        When the site file is missing, malformed, any layer has an unknown key or a bad value,
        or the server accounts would be root or collide (:func:`check_server_accounts`).
    """
    environ = os.environ if environ is None else environ
    cfg = copy.deepcopy(DEFAULTS)
    site_path = environ.get("OCCIDATA_CONFIG")
    if site_path:
        cfg = deep_merge(cfg, read_site_file(site_path))
    cfg = deep_merge(cfg, read_env(environ))
    check_server_accounts(cfg)
    return _resolve_paths(cfg)


def redact(cfg: Any, key: str = "") -> Any:
    """Return a copy of ``cfg`` with secret values replaced by ``'***'``."""
    if isinstance(cfg, Mapping):
        return {k: redact(v, k) for k, v in cfg.items()}
    if cfg is not None and any(word in key.lower() for word in SECRET_WORDS):
        return "***"
    return cfg
