"""The data service as the hub declares it: its role's few scopes, the lab servers' token and URL."""

from __future__ import annotations

from pathlib import Path

from traitlets.config import Config

from occidata.config import load_config
from occidata.hub import apply

REPO = Path(__file__).resolve().parent.parent


def configure(tmp_path, **env) -> Config:
    c = Config()
    apply(c, load_config({"OCCIDATA_STATE_DIR": str(tmp_path / "state"), **env}), root=REPO)
    return c


def test_data_service_role_lab_token_and_url(tmp_path):
    c = configure(tmp_path, OCCIDATA_DATA_SERVICE__PORT="18125", OCCIDATA_HUB__PORT="8765")
    service = next(s for s in c.JupyterHub.services if s["name"] == "data")
    assert service["url"] == "http://127.0.0.1:18125"
    assert service["command"][-2:] == ["-m", "occidata.catalog.service"]
    assert service["environment"]["OCCIDATA_MODE"] == "demo"
    assert service["environment"]["OCCIDATA_DATA_SERVICE__PORT"] == "18125"
    assert "user" not in service  # only server mode runs it as the data's own account
    role = next(r for r in c.JupyterHub.load_roles if r["name"] == "data")
    assert sorted(role["scopes"]) == sorted(["read:users:groups", "read:roles:users", "read:users:name", "list:users",
                                             "read:groups", "groups"])
    user = next(r for r in c.JupyterHub.load_roles if r["name"] == "user")
    assert "access:services!service=data" in user["scopes"]
    assert "access:services!service=data" in c.Spawner.server_token_scopes
    # Added beside what update_spawner set, not instead of it.
    env = c.Spawner.environment
    assert env["OCCIDATA_DATA_SERVICE_URL"] == "http://127.0.0.1:8765/services/data/"
    assert {"OCCIDATA_DATA_DIR", "OCCIDATA_STATE_DIR"} <= set(env)
    assert c.JupyterHub.load_groups == {"partner": {}, "restricted:health_admissions": {}}


def test_grants_need_a_custom_scope_that_stewards_have_and_lab_tokens_do_not(tmp_path):
    from occidata.levels import GRANT_SCOPE

    c = configure(tmp_path, OCCIDATA_DATA_SERVICE__STEWARDS='["intendante"]', OCCIDATA_AUTH__ADMIN="chef")
    assert GRANT_SCOPE in c.JupyterHub.custom_scopes
    steward = next(r for r in c.JupyterHub.load_roles if r["name"] == "steward")
    assert GRANT_SCOPE in steward["scopes"] and steward["users"] == ["intendante", "chef"]
    assert GRANT_SCOPE not in c.Spawner.server_token_scopes, "code in a steward's lab must not grant"
    user = next(r for r in c.JupyterHub.load_roles if r["name"] == "user")
    assert GRANT_SCOPE not in user["scopes"]


def test_data_service_disabled(tmp_path):
    c = configure(tmp_path, OCCIDATA_DATA_SERVICE__ENABLED="false")
    assert "data" not in {s["name"] for s in c.JupyterHub.services}
    assert "OCCIDATA_DATA_SERVICE_URL" not in c.Spawner.environment


def test_lab_servers_env_is_not_taken_for_configuration():
    cfg = load_config({"OCCIDATA_DATA_SERVICE_URL": "http://127.0.0.1:8000/services/data/", "OCCIDATA_STATE_DIR": "/tmp/x"})
    assert cfg["data_service"] == {"enabled": True, "port": None, "stewards": [], "contact": None,
                                   "max_days_partner": 365, "max_days_restricted": 90, "expiry_notice_days": 14,
                                   "expiry_check_every": 60}
