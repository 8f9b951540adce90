"""Data access levels from hub groups, handed to each lab server at spawn.

Groups named ``partner`` and ``restricted:<dataset>`` grant those levels; the server gets
them as ``OCCIDATA_ACCESS_LEVELS``, which ``occidata.catalog`` reads. In demo mode this is
the only gate (restricted data is not served there at all); server mode adds file
permissions and the data service on top.
"""

from __future__ import annotations

import os

import requests


def access_levels(group_names) -> list[str]:
    """The access levels the given hub group names grant, sorted."""
    return sorted(name for name in set(group_names) if name == "partner" or name.startswith("restricted:"))


def set_access_levels(spawner) -> None:
    """pre_spawn_hook: put the user's current levels in the server's environment."""
    levels = access_levels(group.name for group in spawner.user.groups)
    spawner.environment = {**spawner.environment, "OCCIDATA_ACCESS_LEVELS": ",".join(levels)}


def update_access(c) -> None:
    c.Spawner.pre_spawn_hook = set_access_levels


class AccessError(RuntimeError):
    """A grant, revoke or listing the data service refused or could not be asked for."""


def service_endpoint(cfg: dict, url: str | None = None) -> str:
    """The data service's access endpoint: ``url``, else $OCCIDATA_DATA_SERVICE_URL, else this hub's."""
    from ..platform import hub_url

    base = url or os.environ.get("OCCIDATA_DATA_SERVICE_URL") or f"{hub_url(cfg)}services/data/"
    return base.rstrip("/") + "/api/access"


def _token(token: str | None) -> str:
    token = token or os.environ.get("JUPYTERHUB_API_TOKEN")
    if not token:
        raise AccessError(
            "no hub token: run this in a lab terminal (it uses your server's token), or pass --token "
            "with a token from the hub's Token page (/hub/token); only stewards and admins may change access"
        )
    return token


def _answer(response: requests.Response, endpoint: str) -> dict:
    try:
        body = response.json()
    except ValueError:
        body = {"error": response.text[:200]}
    if response.status_code >= 400:
        raise AccessError(f"the data service at {endpoint} answered {response.status_code}: {body.get('error', body)}")
    return body


def change_access(action: str, user: str, level: str, *, cfg: dict, url: str | None = None,
                  token: str | None = None) -> dict:
    """Ask the data service to ``grant`` or ``revoke`` ``level`` for hub user ``user``.

    The service checks that the caller is a steward, changes the hub group and writes the
    audit record; this returns its answer (the group's members).
    """
    if action not in ("grant", "revoke"):
        raise AccessError(f"unknown action {action!r}: grant or revoke")
    endpoint = service_endpoint(cfg, url)
    try:
        response = requests.post(endpoint, json={"action": action, "user": user, "level": level},
                                 headers={"Authorization": f"token {_token(token)}"}, timeout=30)
    except requests.ConnectionError as error:
        raise AccessError(f"cannot reach the data service at {endpoint} ({error}); is the hub running?") from None
    return _answer(response, endpoint)


def list_access(*, cfg: dict, url: str | None = None, token: str | None = None) -> dict:
    """Members of ``partner`` and of every ``restricted:<dataset>`` group, from the data service."""
    endpoint = service_endpoint(cfg, url)
    try:
        response = requests.get(endpoint, headers={"Authorization": f"token {_token(token)}"}, timeout=30)
    except requests.ConnectionError as error:
        raise AccessError(f"cannot reach the data service at {endpoint} ({error}); is the hub running?") from None
    return _answer(response, endpoint)


def query_audit_remote(*, cfg: dict, url: str | None = None, token: str | None = None, **filters) -> list[dict]:
    """Audit records from the data service (stewards), for when the log itself is not readable here."""
    endpoint = service_endpoint(cfg, url).rsplit("/", 1)[0] + "/audit"
    params = {key: str(value) for key, value in filters.items() if value is not None}
    try:
        response = requests.get(endpoint, params=params, headers={"Authorization": f"token {_token(token)}"},
                                timeout=60)
    except requests.ConnectionError as error:
        raise AccessError(f"cannot reach the data service at {endpoint} ({error}); is the hub running?") from None
    return _answer(response, endpoint)
