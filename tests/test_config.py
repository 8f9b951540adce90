"""occidata.config: defaults, site file and OCCIDATA_* layers, validation messages, redaction."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from occidata.config import DEFAULTS, ConfigError, load_config, redact

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def xdg_state(tmp_path, monkeypatch) -> Path:
    """Point $XDG_STATE_HOME at a temporary directory (default_state_dir reads os.environ)."""
    base = tmp_path / "xdg-state"
    monkeypatch.setenv("XDG_STATE_HOME", str(base))
    return base


def site_file(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- defaults and paths ---------------------------------------------------------------


def test_defaults_load_from_an_empty_environment(xdg_state):
    cfg = load_config({})
    assert cfg["mode"] == "demo"
    assert cfg["hub"]["ip"] == "127.0.0.1"
    assert cfg["hub"]["port"] == 8000
    assert cfg["auth"]["type"] == "native"
    assert cfg["auth"]["admin"] == "admin"
    assert cfg["culler"]["enabled"] is True
    assert cfg["gpu"]["enabled"] == "auto"


def test_state_dir_defaults_under_xdg_state_home(xdg_state, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)  # a researcher's own demo
    cfg = load_config({})
    assert cfg["state_dir"] == str(xdg_state / "occidata")
    assert cfg["data_dir"] == str(xdg_state / "occidata" / "data")


def test_root_keeps_its_state_where_other_accounts_reach_it(xdg_state, monkeypatch):
    """Started by root, labs run as other accounts, which cannot enter root's home."""
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert load_config({})["state_dir"] == "/opt/occidata/state"


def test_state_dir_falls_back_to_home_local_state(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    cfg = load_config({})
    assert cfg["state_dir"] == str(tmp_path / ".local" / "state" / "occidata")


def test_state_dir_from_environment_and_data_dir_follows_it(tmp_path, xdg_state):
    cfg = load_config({"OCCIDATA_STATE_DIR": str(tmp_path / "state")})
    assert cfg["state_dir"] == str(tmp_path / "state")
    assert cfg["data_dir"] == str(tmp_path / "state" / "data")


def test_relative_state_dir_is_made_absolute(tmp_path, monkeypatch, xdg_state):
    monkeypatch.chdir(tmp_path)
    cfg = load_config({"OCCIDATA_STATE_DIR": "relative/state"})
    assert cfg["state_dir"] == str(tmp_path / "relative" / "state")


def test_load_config_does_not_mutate_defaults(tmp_path, xdg_state):
    before = yaml.safe_dump(DEFAULTS)
    load_config({"OCCIDATA_HUB__PORT": "9000", "OCCIDATA_STATE_DIR": str(tmp_path)})
    assert yaml.safe_dump(DEFAULTS) == before


# --- layering ---------------------------------------------------------------------------


def test_site_file_overrides_defaults_and_keeps_unmentioned_keys(tmp_path, xdg_state):
    path = site_file(tmp_path, "lab_name: Labo Test\nhub:\n  port: 9000\nculler:\n  timeout: 600\n")
    cfg = load_config({"OCCIDATA_CONFIG": str(path)})
    assert cfg["lab_name"] == "Labo Test"
    assert cfg["hub"]["port"] == 9000
    assert cfg["culler"]["timeout"] == 600
    # Deep merge: siblings of the overridden keys keep their defaults.
    assert cfg["hub"]["hub_port"] == DEFAULTS["hub"]["hub_port"]
    assert cfg["hub"]["ip"] == "127.0.0.1"
    assert cfg["culler"]["every"] == DEFAULTS["culler"]["every"]
    assert cfg["culler"]["enabled"] is True


def test_environment_overrides_site_file(tmp_path, xdg_state):
    path = site_file(tmp_path, "hub:\n  port: 9000\n  hub_port: 9081\n")
    cfg = load_config({"OCCIDATA_CONFIG": str(path), "OCCIDATA_HUB__PORT": "9100"})
    assert cfg["hub"]["port"] == 9100
    assert cfg["hub"]["hub_port"] == 9081  # from the file, untouched by the variable


def test_deep_merge_in_nested_oauth_section(tmp_path, xdg_state):
    path = site_file(tmp_path, "auth:\n  oauth:\n    allowed_groups: [chercheurs]\n")
    cfg = load_config({"OCCIDATA_CONFIG": str(path), "OCCIDATA_AUTH__OAUTH__CLIENT_ID": "hub"})
    oauth = cfg["auth"]["oauth"]
    assert oauth["allowed_groups"] == ["chercheurs"]
    assert oauth["client_id"] == "hub"
    assert oauth["username_claim"] == "preferred_username"
    assert cfg["auth"]["type"] == "native"


def test_empty_site_file_is_an_empty_layer(tmp_path, xdg_state):
    path = site_file(tmp_path, "")
    assert load_config({"OCCIDATA_CONFIG": str(path)})["hub"]["port"] == 8000


def test_not_config_variables_are_ignored(xdg_state):
    cfg = load_config({"OCCIDATA_BACKEND": "gpu", "PATH": "/usr/bin", "OTHER_HUB__PORT": "1"})
    assert cfg["hub"]["port"] == 8000


# --- environment coercion ---------------------------------------------------------------


def test_env_integer_is_coerced(xdg_state):
    cfg = load_config({"OCCIDATA_HUB__PORT": "8123"})
    assert cfg["hub"]["port"] == 8123
    assert isinstance(cfg["hub"]["port"], int)


def test_env_string_key_keeps_digits_as_text(xdg_state):
    cfg = load_config({"OCCIDATA_GPU__DEVICES": "0"})
    assert cfg["gpu"]["devices"] == "0"


def test_env_string_key_keeps_comma_list_as_text(xdg_state):
    cfg = load_config({"OCCIDATA_GPU__DEVICES": "0,1"})
    assert cfg["gpu"]["devices"] == "0,1"


def test_env_boolean_is_coerced(xdg_state):
    cfg = load_config({"OCCIDATA_CULLER__ENABLED": "false"})
    assert cfg["culler"]["enabled"] is False


def test_env_gpu_enabled_accepts_auto_and_booleans(xdg_state):
    assert load_config({"OCCIDATA_GPU__ENABLED": "auto"})["gpu"]["enabled"] == "auto"
    assert load_config({"OCCIDATA_GPU__ENABLED": "true"})["gpu"]["enabled"] is True
    assert load_config({"OCCIDATA_GPU__ENABLED": "false"})["gpu"]["enabled"] is False


def test_env_list_is_parsed_as_yaml(xdg_state):
    cfg = load_config({"OCCIDATA_AUTH__OAUTH__ALLOWED_GROUPS": "[a, b]"})
    assert cfg["auth"]["oauth"]["allowed_groups"] == ["a", "b"]


def test_env_mode(xdg_state):
    assert load_config({"OCCIDATA_MODE": "server"})["mode"] == "server"


# --- errors -----------------------------------------------------------------------------


def test_unknown_key_in_file_names_key_suggestion_and_file(tmp_path, xdg_state):
    path = site_file(tmp_path, "hub:\n  prot: 9000\n")
    with pytest.raises(ConfigError) as info:
        load_config({"OCCIDATA_CONFIG": str(path)})
    message = str(info.value)
    assert "unknown key 'hub.prot'" in message
    assert "did you mean 'hub.port'" in message
    assert str(path) in message


def test_unknown_top_level_key_in_file(tmp_path, xdg_state):
    path = site_file(tmp_path, "lab_nmae: X\n")
    with pytest.raises(ConfigError, match=r"unknown key 'lab_nmae'.*did you mean 'lab_name'"):
        load_config({"OCCIDATA_CONFIG": str(path)})


def test_bad_type_in_file_names_key_and_file(tmp_path, xdg_state):
    path = site_file(tmp_path, 'hub:\n  port: "abc"\n')
    with pytest.raises(ConfigError) as info:
        load_config({"OCCIDATA_CONFIG": str(path)})
    message = str(info.value)
    assert "'hub.port'" in message
    assert str(path) in message


def test_out_of_range_port_in_file(tmp_path, xdg_state):
    path = site_file(tmp_path, "hub:\n  port: 70000\n")
    with pytest.raises(ConfigError, match=r"'hub\.port'"):
        load_config({"OCCIDATA_CONFIG": str(path)})


def test_unknown_env_variable_is_named(xdg_state):
    with pytest.raises(ConfigError) as info:
        load_config({"OCCIDATA_HUB__PROT": "9000"})
    assert "OCCIDATA_HUB__PROT" in str(info.value)


def test_env_variable_naming_a_section_is_refused(xdg_state):
    with pytest.raises(ConfigError, match="OCCIDATA_HUB"):
        load_config({"OCCIDATA_HUB": "x"})


def test_bad_env_value_names_the_variable_and_key(xdg_state):
    with pytest.raises(ConfigError) as info:
        load_config({"OCCIDATA_HUB__PORT": "abc"})
    message = str(info.value)
    assert "OCCIDATA_HUB__PORT" in message
    assert "'hub.port'" in message


def test_malformed_yaml_names_file_and_line(tmp_path, xdg_state):
    path = site_file(tmp_path, "hub:\n  port: 9000\n  ip: [127.0.0.1\nmode: demo\n")
    with pytest.raises(ConfigError) as info:
        load_config({"OCCIDATA_CONFIG": str(path)})
    message = str(info.value)
    assert str(path) in message
    assert "line 4" in message


def test_malformed_yaml_line_of_bad_indentation(tmp_path, xdg_state):
    path = site_file(tmp_path, "hub:\n  port: 9000\n bad: 1\n")
    with pytest.raises(ConfigError, match=r"line 3"):
        load_config({"OCCIDATA_CONFIG": str(path)})


def test_missing_site_file_names_the_path(tmp_path, xdg_state):
    missing = tmp_path / "nowhere" / "config.yaml"
    with pytest.raises(ConfigError) as info:
        load_config({"OCCIDATA_CONFIG": str(missing)})
    message = str(info.value)
    assert str(missing) in message
    assert "OCCIDATA_CONFIG" in message


def test_top_level_list_is_refused(tmp_path, xdg_state):
    path = site_file(tmp_path, "- hub\n- port\n")
    with pytest.raises(ConfigError, match="mapping") as info:
        load_config({"OCCIDATA_CONFIG": str(path)})
    assert str(path) in str(info.value)


def test_mode_must_be_one_of_the_modes(xdg_state):
    with pytest.raises(ConfigError) as info:
        load_config({"OCCIDATA_MODE": "cloud"})
    message = str(info.value)
    assert "'mode'" in message
    assert "OCCIDATA_MODE" in message


def test_mode_in_file_must_be_one_of_the_modes(tmp_path, xdg_state):
    path = site_file(tmp_path, "mode: production\n")
    with pytest.raises(ConfigError, match=r"'mode'"):
        load_config({"OCCIDATA_CONFIG": str(path)})


# --- redact ------------------------------------------------------------------------------


def test_redact_hides_secrets_and_keeps_the_rest():
    cfg = {
        "auth": {
            "oauth": {"client_id": "hub", "client_secret": "s3cr3t", "scope": ["openid"]},
            "admin_password": "pw",
            "api_token": None,
        },
        "hub": {"port": 8000, "proxy_token": "tok"},
        "lab_name": "Labo",
    }
    redacted = redact(cfg)
    assert redacted["auth"]["oauth"]["client_secret"] == "***"
    assert redacted["auth"]["admin_password"] == "***"
    assert redacted["hub"]["proxy_token"] == "***"
    assert redacted["auth"]["api_token"] is None
    assert redacted["auth"]["oauth"]["client_id"] == "hub"
    assert redacted["auth"]["oauth"]["scope"] == ["openid"]
    assert redacted["hub"]["port"] == 8000
    assert redacted["lab_name"] == "Labo"
    # The input is not changed.
    assert cfg["auth"]["oauth"]["client_secret"] == "s3cr3t"


def test_redact_is_case_insensitive():
    assert redact({"Client_SECRET": "x"}) == {"Client_SECRET": "***"}


def test_redact_on_loaded_config(xdg_state):
    cfg = load_config({"OCCIDATA_AUTH__OAUTH__CLIENT_SECRET": "s3cr3t-value"})
    assert redact(cfg)["auth"]["oauth"]["client_secret"] == "***"
    assert cfg["auth"]["oauth"]["client_secret"] == "s3cr3t-value"


# --- the CLI ---------------------------------------------------------------------------


def cli_env(**occidata) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCCIDATA_")}
    env.update(occidata)
    return env


def run_cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "occidata.cli", *args],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_config_show_prints_yaml_without_secrets(tmp_path):
    env = cli_env(
        OCCIDATA_AUTH__OAUTH__CLIENT_SECRET="s3cr3t-value",
        OCCIDATA_STATE_DIR=str(tmp_path / "state"),
    )
    result = run_cli("config", "show", env=env)
    assert result.returncode == 0, result.stderr
    assert "s3cr3t-value" not in result.stdout
    assert "s3cr3t-value" not in result.stderr
    shown = yaml.safe_load(result.stdout)
    assert shown["auth"]["oauth"]["client_secret"] == "***"
    assert shown["state_dir"] == str(tmp_path / "state")
    assert shown["hub"]["port"] == 8000


def test_cli_config_show_with_bad_file_exits_2_without_traceback(tmp_path):
    path = site_file(tmp_path, "hub:\n  prot: 9000\n")
    env = cli_env(OCCIDATA_CONFIG=str(path), OCCIDATA_STATE_DIR=str(tmp_path / "state"))
    result = run_cli("config", "show", env=env)
    assert result.returncode == 2
    assert "hub.prot" in result.stderr
    assert str(path) in result.stderr
    assert "Traceback" not in result.stderr


# A billion laughs: nine aliases of nine aliases, nine levels deep (9**9 leaves from 200 bytes).
ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
)


def _latin1_file(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_bytes("lab_name: Laboratoire de données\n".encode("latin-1"))
    return path


@pytest.mark.parametrize("case, names", [
    ("latin-1 file", ["config.yaml", "UTF-8", "0xe9"]),
    ("directory", ["OCCIDATA_CONFIG", "directory"]),
    ("malformed list", ["OCCIDATA_REPORTS__ACCESS_LEVELS", "[partner", "line 1"]),
    ("alias bomb", ["config.yaml", "alias *a", "line 2"]),
])
def test_cli_bad_config_is_one_line_exit_2_naming_the_file_or_variable(tmp_path, case, names):
    settings = {
        "latin-1 file": lambda: {"OCCIDATA_CONFIG": str(_latin1_file(tmp_path))},
        "directory": lambda: {"OCCIDATA_CONFIG": str(tmp_path)},
        "malformed list": lambda: {"OCCIDATA_REPORTS__ACCESS_LEVELS": "[partner"},
        "alias bomb": lambda: {"OCCIDATA_CONFIG": str(site_file(tmp_path, ALIAS_BOMB))},
    }[case]()
    result = run_cli("config", "show", env=cli_env(OCCIDATA_STATE_DIR=str(tmp_path / "state"), **settings))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("occidata: "), result.stderr
    for name in names:
        assert name in lines[0]
    assert result.stdout == ""


def test_aliases_are_refused_in_environment_values_too(xdg_state):
    with pytest.raises(ConfigError, match=r"OCCIDATA_REPORTS__ACCESS_LEVELS.*alias \*p"):
        load_config({"OCCIDATA_REPORTS__ACCESS_LEVELS": "[&p partner, *p]"})


def test_cli_output_into_a_closed_pipe_ends_quietly(tmp_path):
    # `occidata config show | head -1`: the reader has gone before the writer is done.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run([sys.executable, "-m", "occidata.cli", "config", "show"], stdout=write_end,
                                stderr=subprocess.PIPE, text=True, timeout=60, cwd=REPO_ROOT,
                                env=cli_env(OCCIDATA_STATE_DIR=str(tmp_path / "state")))
    finally:
        os.close(write_end)
    assert result.stderr == ""
    assert result.returncode == 1


# --- server accounts: never root, never one another ---------------------------------------


@pytest.mark.parametrize("settings, key, words", [
    ({"OCCIDATA_SERVER__SERVICE_USER": "root"}, "server.service_user", "root"),
    ({"OCCIDATA_SERVER__PUBLIC_USER": "root"}, "server.public_user", "root"),
    ({"OCCIDATA_SERVER__USER_PREFIX": "root"}, "server.user_prefix", "root"),
    ({"OCCIDATA_SERVER__PUBLIC_USER": "occidata-data"}, "server.public_user", "the same account"),
    ({"OCCIDATA_SERVER__SERVICE_USER": "occidata-public"}, "server.service_user", "the same account"),
    # Hub user "data" would run as the data service's account.
    ({"OCCIDATA_SERVER__USER_PREFIX": "occidata-"}, "server.user_prefix", "'occidata-data'"),
    ({"OCCIDATA_SERVER__USER_PREFIX": "occ", "OCCIDATA_SERVER__SERVICE_USER": "occdata"}, "server.user_prefix",
     "'occdata'"),
])
def test_server_accounts_that_would_be_root_or_collide_are_refused(xdg_state, settings, key, words):
    with pytest.raises(ConfigError) as info:
        load_config(settings)
    message = str(info.value)
    assert f"'{key}'" in message and words in message, message


def test_an_empty_user_prefix_is_refused(xdg_state):
    """Without a prefix, hub user root (or occidata-data) would be that very account."""
    with pytest.raises(ConfigError, match=r"'server\.user_prefix'"):
        load_config({"OCCIDATA_SERVER__USER_PREFIX": ""})


def test_a_user_prefix_that_starts_existing_system_accounts_is_refused_in_server_mode(xdg_state):
    import pwd

    # An account of this machine that the platform did not make (root's home is not /home/root).
    system = next(a for a in pwd.getpwall() if a.pw_uid < 1000 and a.pw_name not in ("root",) and "-" not in a.pw_name)
    prefix = system.pw_name[:3]
    with pytest.raises(ConfigError) as info:
        load_config({"OCCIDATA_MODE": "server", "OCCIDATA_SERVER__USER_PREFIX": prefix})
    assert "'server.user_prefix'" in str(info.value) and repr(system.pw_name) in str(info.value)
    # The defaults are fine, and demo mode does not look at this machine's accounts.
    assert load_config({"OCCIDATA_MODE": "server"})["server"]["user_prefix"] == "jupyter-"
    assert load_config({"OCCIDATA_SERVER__USER_PREFIX": prefix})["server"]["user_prefix"] == prefix
