"""occidata.hub.apply() on a bare traitlets Config, as The Littlest JupyterHub tests its configurer."""

from __future__ import annotations

import asyncio
import os
import stat
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from traitlets.config import Config

import occidata.hub
from occidata.config import ConfigError, load_config
from occidata.hub.auth import OccidataNativeAuthenticator
from occidata.hub.native_handlers import CompatLoginHandler

REPO_ROOT = Path(__file__).resolve().parent.parent

OAUTH_ENV = {
    "OCCIDATA_AUTH__TYPE": "generic-oauth",
    "OCCIDATA_AUTH__OAUTH__CLIENT_ID": "occidata-hub",
    "OCCIDATA_AUTH__OAUTH__CLIENT_SECRET": "s3cr3t",
    "OCCIDATA_AUTH__OAUTH__AUTHORIZE_URL": "https://sso.example.org/auth",
    "OCCIDATA_AUTH__OAUTH__TOKEN_URL": "https://sso.example.org/token",
    "OCCIDATA_AUTH__OAUTH__USERDATA_URL": "https://sso.example.org/userinfo",
    "OCCIDATA_AUTH__OAUTH__CALLBACK_URL": "https://lab.example.org/hub/oauth_callback",
}


@pytest.fixture
def state_dir(tmp_path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def configure(state_dir):
    """Load a configuration from extra OCCIDATA_* settings and apply it to a bare Config."""

    def _configure(**env: str) -> tuple[Config, dict]:
        environ = {"OCCIDATA_STATE_DIR": str(state_dir), "OCCIDATA_GPU__ENABLED": "false", **env}
        cfg = load_config(environ)
        c = Config()
        occidata.hub.apply(c, cfg, root=REPO_ROOT)
        return c, cfg

    return _configure


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- network and state --------------------------------------------------------------------


def test_hub_listens_on_loopback(configure):
    c, _ = configure()
    assert c.JupyterHub.ip == "127.0.0.1"
    assert c.JupyterHub.hub_ip == "127.0.0.1"
    assert c.ConfigurableHTTPProxy.api_url.startswith("http://127.0.0.1:")


def test_ports_come_from_the_configuration(configure):
    c, _ = configure(
        OCCIDATA_HUB__PORT="9000", OCCIDATA_HUB__HUB_PORT="9081", OCCIDATA_HUB__PROXY_API_PORT="9001"
    )
    assert c.JupyterHub.port == 9000
    assert c.JupyterHub.hub_port == 9081
    assert c.ConfigurableHTTPProxy.api_url == "http://127.0.0.1:9001"


def test_default_ports_are_free_ones_kept_per_state_directory(configure, tmp_path):
    """Two platforms on one machine never share the internal ports (before: 8081 and 8001 for
    all, so a second one reached the first one's proxy); one platform keeps its own across
    restarts (servers that outlive a crashed hub still call it there)."""
    c, _ = configure()
    again, _ = configure()
    other, _ = configure(OCCIDATA_STATE_DIR=str(tmp_path / "other-state"))
    assert c.JupyterHub.port == 8000
    assert (again.JupyterHub.hub_port, again.ConfigurableHTTPProxy.api_url) == (
        c.JupyterHub.hub_port, c.ConfigurableHTTPProxy.api_url)
    assert other.JupyterHub.hub_port != c.JupyterHub.hub_port
    assert other.ConfigurableHTTPProxy.api_url != c.ConfigurableHTTPProxy.api_url
    assert c.JupyterHub.hub_port not in (8000, 8081)


def test_database_and_secrets_live_in_the_state_dir(configure, state_dir):
    c, _ = configure()
    database = state_dir / "jupyterhub.sqlite"
    assert c.JupyterHub.db_url == f"sqlite:///{database}"
    assert database.is_file()
    assert mode_of(database) == 0o600
    assert c.JupyterHub.cookie_secret_file == str(state_dir / "secrets" / "cookie-secret")
    assert c.JupyterHub.pid_file == str(state_dir / "run" / "jupyterhub.pid")
    assert mode_of(state_dir / "secrets") == 0o700


def test_proxy_token_is_the_private_secret_file(configure, state_dir):
    c, _ = configure()
    token_file = state_dir / "secrets" / "proxy-token"
    assert c.ConfigurableHTTPProxy.auth_token == token_file.read_text().strip()
    assert len(c.ConfigurableHTTPProxy.auth_token) == 64
    assert mode_of(token_file) == 0o600


def test_proxy_token_is_stable_across_restarts(configure):
    first, _ = configure()
    second, _ = configure()
    assert first.ConfigurableHTTPProxy.auth_token == second.ConfigurableHTTPProxy.auth_token


def test_proxy_command_is_an_existing_file(configure):
    c, _ = configure()
    command = c.ConfigurableHTTPProxy.command
    assert len(command) == 1
    assert Path(command[0]).is_file()
    assert Path(command[0]).name == "configurable-http-proxy"


def test_configured_proxy_command_is_used(configure, tmp_path):
    proxy = tmp_path / "my-proxy"
    proxy.write_text("#!/bin/sh\n")
    c, _ = configure(OCCIDATA_HUB__PROXY_COMMAND=str(proxy))
    assert c.ConfigurableHTTPProxy.command == [str(proxy)]


def test_missing_proxy_command_says_make_up(configure, tmp_path):
    missing = tmp_path / "no" / "configurable-http-proxy"
    with pytest.raises(ConfigError) as info:
        configure(OCCIDATA_HUB__PROXY_COMMAND=str(missing))
    message = str(info.value)
    assert "make up" in message
    assert str(missing) in message


# --- spawner ------------------------------------------------------------------------------


def test_demo_mode_uses_the_local_process_spawner(configure, state_dir, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)  # a researcher's own demo, not root
    c, _ = configure()
    assert c.JupyterHub.spawner_class == "jupyterhub.spawner.SimpleLocalProcessSpawner"
    assert c.SimpleLocalProcessSpawner.home_dir_template == str(state_dir / "homes" / "{username}")
    assert c.Spawner.default_url == "/lab"
    assert Path(c.Spawner.cmd[0]).name == "jupyterhub-singleuser"


def test_demo_mode_started_by_root_never_runs_a_lab_as_root(configure, state_dir, monkeypatch):
    """Root's demo runs each lab as a system account of its own, home under <state>/homes."""
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    c, _ = configure(OCCIDATA_SERVER__USER_PREFIX="lab-")
    assert c.JupyterHub.spawner_class == "occidata.hub.system_users.SystemUserSpawner"
    assert c.SystemUserSpawner.user_prefix == "lab-"
    assert c.SystemUserSpawner.home_root == str(state_dir / "homes")
    assert "--allow-root" not in c.Spawner.args
    assert callable(c.Authenticator.post_auth_hook)


def test_spawner_limits_and_timeouts(configure):
    c, _ = configure(
        OCCIDATA_SPAWNER__CPU_LIMIT="2",
        OCCIDATA_SPAWNER__MEM_LIMIT="4G",
        OCCIDATA_HUB__START_TIMEOUT="300",
    )
    assert c.Spawner.cpu_limit == 2
    assert c.Spawner.mem_limit == "4G"
    assert c.Spawner.start_timeout == 300
    assert c.Spawner.http_timeout == 300


def test_no_limits_by_default(configure):
    c, _ = configure()
    assert "cpu_limit" not in c.Spawner
    assert "mem_limit" not in c.Spawner


def test_server_mode_runs_each_user_as_a_prefixed_system_user(configure, tmp_path):
    c, cfg = configure(OCCIDATA_MODE="server", OCCIDATA_SERVER__USER_PREFIX="lab-",
                       OCCIDATA_SERVER__HOME_DIR=str(tmp_path / "home"))
    assert c.JupyterHub.spawner_class == "occidata.hub.system_users.SystemUserSpawner"
    assert c.SystemUserSpawner.user_prefix == "lab-"
    assert c.SystemUserSpawner.home_root == str(tmp_path / "home")
    assert "--allow-root" not in c.Spawner.args, "server mode never runs a lab as root"
    assert callable(c.Authenticator.post_auth_hook)


def test_server_mode_state_defaults_outside_roots_home():
    cfg = load_config({"OCCIDATA_MODE": "server"})
    assert cfg["state_dir"] == "/opt/occidata/state"
    assert cfg["data_dir"] == "/opt/occidata/state/data"


@pytest.mark.parametrize("mode", ["kubernetes"])
def test_modes_not_available_are_refused(configure, mode):
    with pytest.raises(ConfigError) as info:
        configure(OCCIDATA_MODE=mode)
    message = str(info.value)
    assert mode in message
    assert "demo" in message


def test_slurm_mode_runs_labs_as_jobs_that_reach_the_hub_at_the_connect_host(configure):
    c, _ = configure(OCCIDATA_MODE="slurm", OCCIDATA_SLURM__CONNECT_HOST="10.1.2.3",
                     OCCIDATA_SLURM__CONF="/etc/slurm/site.conf")
    assert c.JupyterHub.spawner_class == "occidata.hub.slurm_spawner.OccidataSlurmSpawner"
    assert c.JupyterHub.hub_ip == c.JupyterHub.hub_connect_ip == "10.1.2.3"
    assert c.JupyterHub.cleanup_servers is False  # labs are jobs: a hub restart finds them again
    assert c.OccidataSlurmSpawner.slurm_conf == "/etc/slurm/site.conf"
    assert c.Spawner.cmd[0].endswith("/jupyterhub-singleuser")
    assert c.Spawner.start_timeout > 1800  # a lab may wait in Slurm's queue


def test_slurm_mode_refuses_a_group_prefix_that_meets_the_accounts(configure):
    # Hub group "gpu" under prefix "jupyter-" would be Unix group jupyter-gpu: hub user gpu's own group.
    with pytest.raises(ConfigError, match=r"slurm.group_prefix 'jupyter-' meets server.user_prefix"):
        configure(OCCIDATA_MODE="slurm", OCCIDATA_SLURM__GROUP_PREFIX="jupyter-")


# --- services -----------------------------------------------------------------------------


def test_idle_culler_service_and_its_role(configure):
    c, _ = configure(OCCIDATA_CULLER__TIMEOUT="600", OCCIDATA_CULLER__EVERY="60")
    services = {s["name"]: s for s in c.JupyterHub.services}
    assert set(services) == {"idle-culler", "reports", "dashboards", "catalogue", "data", "prometheus"}
    command = services["idle-culler"]["command"]
    assert "jupyterhub_idle_culler" in command
    assert "--timeout=600" in command
    assert "--cull-every=60" in command
    assert not any(arg.startswith("--max-age") for arg in command)

    roles = {r["name"]: r for r in c.JupyterHub.load_roles}
    assert set(roles) == {"idle-culler", "reports", "dashboards", "catalogue", "data", "steward", "user", "prometheus"}
    assert sorted(roles["idle-culler"]["scopes"]) == sorted(
        ["list:users", "read:users:activity", "read:servers", "delete:servers"]
    )
    assert roles["idle-culler"]["services"] == ["idle-culler"]


def test_idle_culler_max_age(configure):
    c, _ = configure(OCCIDATA_CULLER__MAX_AGE="86400")
    service = next(s for s in c.JupyterHub.services if s["name"] == "idle-culler")
    assert "--max-age=86400" in service["command"]


def test_culler_disabled_means_no_service_and_no_role(configure):
    c, _ = configure(OCCIDATA_CULLER__ENABLED="false", OCCIDATA_REPORTS__ENABLED="false",
                     OCCIDATA_DASHBOARDS__ENABLED="false", OCCIDATA_DATA_SERVICE__ENABLED="false",
                     OCCIDATA_CATALOGUE_PAGES__ENABLED="false")
    # Only the token Prometheus reads /hub/metrics with (occidata.hub.prometheus): no process.
    assert [s["name"] for s in c.JupyterHub.services] == ["prometheus"]
    assert [r["name"] for r in c.JupyterHub.load_roles] == ["prometheus"]


def test_reports_service_may_only_call_the_data_service_and_users_may_open_it(configure):
    c, _ = configure(OCCIDATA_REPORTS__PORT="18123", OCCIDATA_REPORTS__CONCURRENCY="3")
    service = next(s for s in c.JupyterHub.services if s["name"] == "reports")
    assert service["url"] == "http://127.0.0.1:18123"
    assert service["command"][-1] == "occidata.reports.service"
    assert service["environment"]["OCCIDATA_REPORTS__CONCURRENCY"] == "3"
    assert service["environment"]["OCCIDATA_REPORTS__SMTP__HOST"] == "null"
    roles = {r["name"]: r for r in c.JupyterHub.load_roles}
    # Its report kernels read partner data through the data service, as a lab does; nothing more.
    assert roles["reports"]["scopes"] == ["access:services!service=data"]
    assert service["environment"]["OCCIDATA_DATA_SERVICE_URL"].endswith("/services/data/")
    assert roles["user"]["scopes"] == ["self", "access:services!service=reports", "access:services!service=catalogue",
                                       "access:services!service=data"]


def test_catalogue_pages_identify_users_with_oauth_and_hold_no_scope(configure):
    c, cfg = configure(OCCIDATA_CATALOGUE_PAGES__PORT="18124")
    service = next(s for s in c.JupyterHub.services if s["name"] == "catalogue")
    assert service["url"] == "http://127.0.0.1:18124"
    assert service["command"][-1] == "occidata.catalog.pages_service"
    assert service["oauth_no_confirm"] is True
    assert service["environment"]["OCCIDATA_DATA_DIR"] == cfg["data_dir"]
    roles = {r["name"]: r for r in c.JupyterHub.load_roles}
    assert roles["catalogue"]["scopes"] == []
    assert "access:services!service=catalogue" in roles["user"]["scopes"]
    c, _ = configure(OCCIDATA_MODE="server", OCCIDATA_SERVER__PYTHON="/opt/readable/bin/python")
    service = next(s for s in c.JupyterHub.services if s["name"] == "catalogue")
    assert service["user"] == "occidata-public" and service["command"][0] == "/opt/readable/bin/python"
    c, _ = configure(OCCIDATA_CATALOGUE_PAGES__ENABLED="false")
    assert "catalogue" not in {s["name"] for s in c.JupyterHub.services}


def test_server_mode_runs_services_as_their_accounts_with_a_readable_python(configure, tmp_path):
    c, cfg = configure(OCCIDATA_MODE="server", OCCIDATA_SERVER__PYTHON="/opt/readable/bin/python",
                       OCCIDATA_DATA_SERVICE__STEWARDS='["gestionnaire"]')
    services = {s["name"]: s for s in c.JupyterHub.services}
    assert services["data"]["user"] == "occidata-data"
    assert services["data"]["command"][0] == "/opt/readable/bin/python"
    dashboards = services["dashboards"]
    assert dashboards["user"] == "occidata-public"
    assert dashboards["environment"]["OCCIDATA_REPORTS__ARCHIVE_DIR"].startswith(cfg["state_dir"] + "/public/")
    assert services["reports"]["user"] == "occidata-reports"  # owns the report archive, nothing else
    assert services["reports"]["command"][0] == "/opt/readable/bin/python"
    assert "user" not in services["idle-culler"]
    assert c.Spawner.cmd == ["/opt/readable/bin/python", "-m", "jupyterhub.singleuser"]
    roles = {r["name"]: r for r in c.JupyterHub.load_roles}
    assert roles["steward"]["users"] == ["gestionnaire", "admin"]  # the first admin is a steward too
    assert not any(scope.startswith(("admin", "groups")) for scope in roles["steward"]["scopes"]), \
        "stewards change groups only through the data service, which audits"


def test_dashboards_service_is_public_and_its_kernels_get_no_token(configure):
    c, _ = configure(OCCIDATA_DASHBOARDS__PORT="18124", OCCIDATA_DASHBOARDS__MAX_KERNELS="5",
                     OCCIDATA_DASHBOARDS__TILES_URL="http://127.0.0.1:9999/{z}/{x}/{y}.png")
    service = next(s for s in c.JupyterHub.services if s["name"] == "dashboards")
    assert service["url"] == "http://127.0.0.1:18124"
    assert service["command"][-1] == "occidata.dashboards.service"
    env = service["environment"]
    assert env["OCCIDATA_DASHBOARDS__MAX_KERNELS"] == "5"
    assert env["OCCIDATA_DASHBOARDS__TILES_URL"] == "http://127.0.0.1:9999/{z}/{x}/{y}.png"
    assert "oauth_no_confirm" not in service  # no login: citizens have no account
    roles = {r["name"]: r for r in c.JupyterHub.load_roles}
    assert roles["dashboards"]["scopes"] == []
    assert not any("service=dashboards" in scope for scope in roles["user"]["scopes"])


def test_tiles_url_must_be_a_tile_template(configure):
    with pytest.raises(ConfigError) as info:
        configure(OCCIDATA_DASHBOARDS__TILES_URL="tiles.example.org")
    assert "dashboards.tiles_url" in str(info.value)


# --- templates ----------------------------------------------------------------------------


def test_templates_and_their_variables(configure):
    c, _ = configure(OCCIDATA_LAB_NAME="Labo Test")
    assert c.JupyterHub.template_paths == [str(REPO_ROOT / "hub" / "templates")]
    assert c.JupyterHub.template_vars["lab_name"] == "Labo Test"
    assert c.JupyterHub.template_vars["native_auth"] is True


# --- authentication: native ---------------------------------------------------------------


def test_native_authenticator_by_default(configure, state_dir):
    c, _ = configure()
    assert c.JupyterHub.authenticator_class is OccidataNativeAuthenticator
    assert c.Authenticator.admin_users == {"admin"}
    assert c.NativeAuthenticator.open_signup is False
    assert c.NativeAuthenticator.minimum_password_length == 10
    assert c.OccidataNativeAuthenticator.initial_admin_password_file == str(
        state_dir / "secrets" / "initial-admin-password"
    )


def test_native_authenticator_settings_from_the_configuration(configure):
    c, _ = configure(
        OCCIDATA_AUTH__ADMIN="marie",
        OCCIDATA_AUTH__OPEN_SIGNUP="true",
        OCCIDATA_AUTH__MINIMUM_PASSWORD_LENGTH="14",
    )
    assert c.Authenticator.admin_users == {"marie"}
    assert c.NativeAuthenticator.open_signup is True
    assert c.NativeAuthenticator.minimum_password_length == 14


def test_native_routes_use_the_fixed_handlers():
    from nativeauthenticator import handlers as native

    from occidata.hub.native_handlers import ApprovalHandler, ChangePasswordHandler, DiscardHandler, FrenchSignUpHandler

    # NativeAuthenticator.get_handlers does not use self: skip __init__ (which needs a db).
    authenticator = OccidataNativeAuthenticator.__new__(OccidataNativeAuthenticator)
    handlers = dict(authenticator.get_handlers(None))
    assert handlers["/login"] is CompatLoginHandler
    assert handlers["/signup"] is FrenchSignUpHandler
    assert handlers["/authorize/([^/]*)"] is ApprovalHandler
    assert handlers["/discard/([^/]*)"] is DiscardHandler
    assert handlers["/change-password"] is ChangePasswordHandler
    replaced = {native.LoginHandler, native.SignUpHandler, native.ToggleAuthorizationHandler, native.DiscardHandler,
                native.ChangePasswordHandler}
    assert not replaced & set(handlers.values())


def test_compat_login_handler_statsd_is_a_no_op():
    timer = CompatLoginHandler.statsd.timer("login.authenticate-user")
    assert timer.start().stop(send=False) is None
    assert CompatLoginHandler.statsd.incr("login.failure") is None


# --- authentication: generic OAuth --------------------------------------------------------


def test_generic_oauth(configure, tmp_path):
    site = tmp_path / "config.yaml"
    site.write_text(
        "auth:\n  oauth:\n    allowed_groups: [chercheurs]\n    admin_groups: [admins-lab]\n",
        encoding="utf-8",
    )
    c, _ = configure(OCCIDATA_CONFIG=str(site), **OAUTH_ENV)
    assert c.JupyterHub.authenticator_class == "generic-oauth"
    # JupyterHub resolves the short name through this entry point.
    (entry,) = [e for e in entry_points(group="jupyterhub.authenticators") if e.name == "generic-oauth"]
    assert entry.value == "oauthenticator.generic:GenericOAuthenticator"

    from oauthenticator.generic import GenericOAuthenticator

    authenticator = GenericOAuthenticator(config=c)
    assert authenticator.client_id == "occidata-hub"
    assert authenticator.client_secret == "s3cr3t"
    assert authenticator.authorize_url == "https://sso.example.org/auth"
    assert authenticator.token_url == "https://sso.example.org/token"
    assert authenticator.userdata_url == "https://sso.example.org/userinfo"
    assert authenticator.oauth_callback_url == "https://lab.example.org/hub/oauth_callback"
    assert authenticator.username_claim == "preferred_username"
    assert authenticator.allowed_groups == {"chercheurs"}
    assert authenticator.admin_groups == {"admins-lab"}
    assert authenticator.manage_groups is True
    assert authenticator.auth_state_groups_key == "oauth_user.groups"
    assert authenticator.allow_all is False
    assert c.JupyterHub.template_vars["native_auth"] is False


def test_generic_oauth_groups_claim_decides_who_logs_in(configure, tmp_path):
    site = tmp_path / "config.yaml"
    site.write_text("auth:\n  oauth:\n    groups_claim: roles\n    allowed_groups: [chercheurs]\n")
    c, _ = configure(OCCIDATA_CONFIG=str(site), **OAUTH_ENV)
    from oauthenticator.generic import GenericOAuthenticator

    authenticator = GenericOAuthenticator(config=c)

    async def allowed(user_info: dict) -> bool:
        auth_state = authenticator.build_auth_state_dict({"access_token": "t"}, user_info)
        groups = await authenticator.get_user_groups(auth_state)
        name = user_info["preferred_username"]
        model = {"name": name, "admin": None, "auth_state": auth_state, "groups": sorted(groups)}
        return await authenticator.check_allowed(name, model)

    assert asyncio.run(allowed({"preferred_username": "marie", "roles": ["chercheurs"]})) is True
    assert asyncio.run(allowed({"preferred_username": "paul", "roles": ["etudiants"]})) is False
    assert asyncio.run(allowed({"preferred_username": "paul", "groups": ["chercheurs"]})) is False


def test_generic_oauth_without_group_rule_allows_all(configure):
    c, _ = configure(**OAUTH_ENV)
    from oauthenticator.generic import GenericOAuthenticator

    authenticator = GenericOAuthenticator(config=c)
    assert authenticator.allow_all is True
    assert authenticator.allowed_groups == set()


def test_generic_oauth_missing_keys_are_listed(configure):
    with pytest.raises(ConfigError) as info:
        configure(OCCIDATA_AUTH__TYPE="generic-oauth", OCCIDATA_AUTH__OAUTH__TOKEN_URL="https://x/token")
    message = str(info.value)
    for key in ("client_id", "client_secret", "authorize_url", "userdata_url", "callback_url"):
        assert f"auth.oauth.{key}" in message
    assert "auth.oauth.token_url" not in message


def test_hub_groups_become_access_levels():
    from types import SimpleNamespace

    from occidata.hub.access import set_access_levels
    from occidata.levels import levels_from_groups

    assert levels_from_groups(["restricted:health_admissions", "students", "partner"]) == [
        "partner",
        "restricted:health_admissions",
    ]
    spawner = SimpleNamespace(
        user=SimpleNamespace(groups=[SimpleNamespace(name="partner"), SimpleNamespace(name="admins")]),
        environment={"OCCIDATA_DATA_DIR": "/data"},
    )
    set_access_levels(spawner)
    assert spawner.environment == {"OCCIDATA_DATA_DIR": "/data", "OCCIDATA_ACCESS_LEVELS": "partner"}


def test_a_port_chosen_for_a_service_is_never_the_public_one_nor_another_s(tmp_path):
    """The public port is chosen before the proxy listens on it: once, the reports service got
    the same free port as the proxy, and the proxy sent /services/reports/ to itself (431)."""
    import json

    from occidata.hub.network import loopback_port
    from occidata.platform import free_port
    from occidata.state import StatePaths

    public = free_port()
    cfg = load_config({"OCCIDATA_STATE_DIR": str(tmp_path / "state"), "OCCIDATA_HUB__PORT": str(public)})
    StatePaths(tmp_path / "state").prepare()
    ports = [loopback_port(cfg, f"service-{i}") for i in range(200)]
    assert public not in ports and len(set(ports)) == len(ports)
    assert loopback_port(cfg, "service-7") == ports[7]  # kept
    assert json.loads(StatePaths(tmp_path / "state").ports.read_text())["service-7"] == ports[7]
