"""Shared fixtures: a real hub with its proxy on random loopback ports, for the whole session."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from occidata.hub.client import HubSession
from occidata.platform import LocalHub

REPO_ROOT = Path(__file__).resolve().parent.parent

SERVICE_SNIPPET = """
c.JupyterHub.services.append({{"name": "test-admin", "api_token": "{token}"}})
c.JupyterHub.load_roles.append({{
    "name": "test-admin",
    "scopes": ["admin:users", "admin:groups", "admin:servers", "access:servers", "tokens", "list:services", "read:services"],
    "services": ["test-admin"],
}})
"""


def write_service_snippet(directory: Path) -> str:
    """A jupyterhub_config.d snippet declaring an admin service; returns its token."""
    token = secrets.token_hex(32)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "50-test-admin.py").write_text(SERVICE_SNIPPET.format(token=token))
    return token


class RunningHub:
    """What tests need of a live hub: its URL, the admin's password and a service token."""

    def __init__(self, local: LocalHub, service_token: str):
        self.local = local
        self.url = local.url
        self.service_token = service_token
        name, password = local.state.initial_admin_password.read_text().split("\n")[:2]
        self.admin_name, self.admin_password = name, password

    def service(self) -> HubSession:
        session = HubSession(self.url)
        session.token = self.service_token
        return session

    def session(self) -> HubSession:
        return HubSession(self.url)


def start_hub(tmp: Path, **settings) -> tuple[LocalHub, str]:
    token = write_service_snippet(tmp / "config.d")
    local = LocalHub(tmp / "state", settings={"HUB__CONFIG_D": str(tmp / "config.d"), **settings})
    local.start()
    return local, token


@pytest.fixture(scope="session")
def hub(tmp_path_factory):
    """One hub for the session, from the project's own jupyterhub_config.py."""
    local, token = start_hub(tmp_path_factory.mktemp("hub"))
    try:
        yield RunningHub(local, token)
    finally:
        local.stop()


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory) -> Path:
    """Every dataset built at size tiny, once per session (a few seconds)."""
    from occidata.datasets.build import build_all

    data_dir = tmp_path_factory.mktemp("tiny-data")
    build_all("tiny", data_dir)
    return data_dir
