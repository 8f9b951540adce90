"""Access levels at the lab's door, and the stewards' client of the data service's ``api/access``.

The lab server gets the user's level groups (:mod:`occidata.levels`) as ``OCCIDATA_ACCESS_LEVELS``
at spawn, which ``occidata.catalog`` reads for direct reads only (demo mode without the data
service). Wherever the data service runs, it decides on every request from the hub's groups and
its own grants; this variable is not believed there.

Grants and revokes (``occidata access grant|revoke``) need a steward's own token, which carries
:data:`occidata.levels.GRANT_SCOPE`: ``--token``, else ``$OCCIDATA_TOKEN``. A lab server's
``$JUPYTERHUB_API_TOKEN`` is only a fallback for listing; the service refuses it for changes.
"""

from __future__ import annotations

import getpass
import os

import requests

from ..levels import GRANT_SCOPE, levels_from_groups

TOKEN_ENV = "OCCIDATA_TOKEN"


def set_access_levels(spawner) -> None:
    """pre_spawn_hook: put the user's current levels in the server's environment."""
    levels = levels_from_groups(group.name for group in spawner.user.groups)
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


def resolve_token(token: str | None) -> tuple[str, str]:
    """The token to send and where it came from: ``--token`` (``-``: asked without echo),
    ``$OCCIDATA_TOKEN``, else the lab server's ``$JUPYTERHUB_API_TOKEN``."""
    if token == "-":
        return getpass.getpass("Votre jeton du hub (/hub/token) / Your hub token: ").strip(), "--token"
    for value, origin in ((token, "--token"), (os.environ.get(TOKEN_ENV), f"${TOKEN_ENV}"),
                          (os.environ.get("JUPYTERHUB_API_TOKEN"), "$JUPYTERHUB_API_TOKEN")):
        if value:
            return value, origin
    raise AccessError(
        "aucun jeton du hub : créez le vôtre sur /hub/token et passez --token <jeton> (ou OCCIDATA_TOKEN). "
        "/ no hub token: create your own at /hub/token and pass --token <token> (or set OCCIDATA_TOKEN); "
        "only data stewards may change access"
    )


def _answer(response: requests.Response, endpoint: str, origin: str | None = None) -> dict:
    try:
        body = response.json()
    except ValueError:
        body = {"error": response.text[:200]}
    if response.status_code >= 400:
        message = body.get("error", body) if isinstance(body, dict) else body
        if isinstance(body, dict) and body.get("scope_needed") == GRANT_SCOPE and origin == "$JUPYTERHUB_API_TOKEN":
            raise AccessError(
                "le jeton de votre serveur de lab ($JUPYTERHUB_API_TOKEN) ne peut pas accorder de droits : "
                "passez votre propre jeton, créé sur /hub/token : `occidata access grant ... --token <jeton>` "
                "(ou OCCIDATA_TOKEN). / your lab server's token ($JUPYTERHUB_API_TOKEN) may not grant rights: "
                "pass your own token from /hub/token: `occidata access grant ... --token <token>` "
                f"(or set OCCIDATA_TOKEN). The data service answered {response.status_code}: {message}")
        raise AccessError(f"the data service at {endpoint} answered {response.status_code}: {message}")
    return body


def change_access(action: str, user: str, level: str, *, cfg: dict, url: str | None = None,
                  token: str | None = None) -> dict:
    """Ask the data service to ``grant`` or ``revoke`` ``level`` for hub user ``user``.

    The service checks that the caller is a steward with a token carrying
    :data:`~occidata.levels.GRANT_SCOPE`, that nobody grants themselves, and that a restricted
    level has two stewards; it changes the hub group and its grants and audits it. This returns
    its answer: ``status`` is ``granted``, ``pending`` (a second steward must grant it too) or
    ``revoked``, with the level's members.
    """
    if action not in ("grant", "revoke"):
        raise AccessError(f"unknown action {action!r}: grant or revoke")
    return _call("POST", service_endpoint(cfg, url), token, {"action": action, "user": user, "level": level})


def list_access(*, cfg: dict, url: str | None = None, token: str | None = None) -> dict:
    """From the data service: ``members`` (granted) per level, ``pending`` restricted grants waiting
    for a second steward, and ``not_granted`` hub members the data trust did not grant (no access)."""
    return _call("GET", service_endpoint(cfg, url), token)


def query_audit_remote(*, cfg: dict, url: str | None = None, token: str | None = None, **filters) -> list[dict]:
    """Audit records from the data service (stewards), for when the log itself is not readable here."""
    params = {key: str(value) for key, value in filters.items() if value is not None}
    return _call("GET", service_endpoint(cfg, url).rsplit("/", 1)[0] + "/audit", token, params=params, timeout=60)


def use_view(*, cfg: dict, url: str | None = None, token: str | None = None, month_from: str | None = None,
             month_to: str | None = None, names: bool = False) -> dict:
    """The stewards' view of use from the data service (:mod:`occidata.catalog.use`): who holds which
    level until when, reads per month, hours per hub group. Readers are pseudonyms unless ``names``
    (the data service audits that asking)."""
    params = {"month_from": month_from or "", "month_to": month_to or "", "names": "1" if names else "0"}
    return _call("GET", service_endpoint(cfg, url).rsplit("/", 1)[0] + "/use", token, params=params, timeout=120)


def _requests_endpoint(cfg: dict, url: str | None, request_id: str | None = None) -> str:
    base = service_endpoint(cfg, url).rsplit("/", 1)[0] + "/requests"
    return f"{base}/{request_id}" if request_id else base


def _call(method: str, endpoint: str, token: str | None, body: dict | None = None, params: dict | None = None,
          timeout: float = 30) -> dict:
    """The data service's JSON answer to ``method endpoint`` with the caller's token (see
    :func:`resolve_token`); an :class:`AccessError` naming the endpoint when it refuses or is down."""
    value, origin = resolve_token(token)
    try:
        response = requests.request(method, endpoint, json=body, params=params,
                                    headers={"Authorization": f"token {value}"}, timeout=timeout)
    except requests.ConnectionError as error:
        raise AccessError(f"cannot reach the data service at {endpoint} ({error}); is the hub running?") from None
    return _answer(response, endpoint, origin)


def request_access(dataset: str, *, purpose: str, project: str, end: str, cfg: dict, url: str | None = None,
                   token: str | None = None) -> dict:
    """Ask for the level entry ``dataset`` needs, for ``purpose`` and ``project``, until ``end``
    (``YYYY-MM-DD``, that day included); the data service records it for the stewards (audited)."""
    return _call("POST", _requests_endpoint(cfg, url), token,
                 {"dataset": dataset, "purpose": purpose, "project": project, "end": end})


def list_requests(*, cfg: dict, url: str | None = None, token: str | None = None) -> dict:
    """Your requests and rights, and for stewards the requests waiting (``open``)."""
    return _call("GET", _requests_endpoint(cfg, url), token)


def decide_request(request_id: str, action: str, *, reason: str | None = None, cfg: dict, url: str | None = None,
                   token: str | None = None) -> dict:
    """``approve`` or ``refuse`` (stewards, with their own token; a reason to refuse) or ``withdraw``
    (the requester) access request ``request_id``."""
    return _call("POST", _requests_endpoint(cfg, url, request_id), token, {"action": action, "reason": reason})
