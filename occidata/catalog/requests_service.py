"""The data service's front desk: access requests, their pages, and the end of rights.

Routes, under the data service's prefix (see :func:`routes`):

- ``api/requests``: GET the caller's requests (``mine``) and, for stewards, those waiting
  (``open``); POST ``{"dataset" | "level", "purpose", "project", "end"}`` to ask (201);
- ``api/requests/<id>``: POST ``{"action": "approve" | "refuse" | "withdraw", "reason"}``;
- ``requests``: the page of the caller's requests and rights and, for stewards, the requests to
  decide, with a form each; ``requests/new?dataset=<entry>``: the request form;
  ``requests/<id>``: where those forms post.

Who decides: a data steward (hub admin or hub role ``steward``), never on their own request; a
``restricted:*`` level needs two different stewards (:mod:`occidata.catalog.access_requests`).
Through the API the steward's token must carry :data:`occidata.levels.GRANT_SCOPE`, as for
``api/access``; in a browser, the steward's session decides only through a form a person
clicked (:func:`clicked_by_a_person`): a script running in a lab on the same origin can
neither send those headers nor fake the click.

:func:`expire_and_notify` runs at start and every ``data_service.expiry_check_every`` seconds:
grants past their end are revoked (hub group and grant, audited ``revoke`` with reason
``expired``), and holders whose right ends within ``data_service.expiry_notice_days`` are
told once (audited ``expiry_notice``; reads also carry the end, which the lab's client shows).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

from ..levels import describe_level, max_request_days, needs_second_steward, required_level
from ..privacy.audit import record_event
from .access_requests import (ZONE, RequestError, RequestStore, approvals_needed, check_approval, check_request,
                              parse_end)
from .grants import GrantStore, ending_soon, expired, grant_end
from .request_pages import render_new_request, render_requests
from .service import AccessHandler, ApiError, call_hub

log = logging.getLogger("occidata.catalog.requests")

EXPIRED = "expired"


def clicked_by_a_person(headers) -> bool:
    """Whether a browser sent this request as a person's click on one of our forms: a navigation
    from our own origin with user activation (``Sec-Fetch-*`` headers, which scripts cannot set)."""
    return (headers.get("Sec-Fetch-Site") == "same-origin" and headers.get("Sec-Fetch-Mode") == "navigate"
            and headers.get("Sec-Fetch-User") == "?1")


class RequestsBase(AccessHandler):
    """What the API and the pages share: asking, deciding, listing."""

    @property
    def requests_store(self) -> RequestStore:
        return RequestStore(self.state["requests"])

    @property
    def from_browser(self) -> bool:
        return not getattr(self, "_token_authenticated", False)

    def require_person(self) -> None:
        if self.hub_user.get("kind") == "service":
            raise ApiError(403, "only hub users ask for access levels, not services")

    def level_asked(self, dataset, level) -> tuple[str, str | None]:
        """The level a request is for, from the entry it was asked from (or the level itself)."""
        if dataset:
            meta = self.entry(str(dataset))
            if meta["access"] == "public":
                raise RequestError(f"« {dataset} » est une donnée ouverte : aucune demande n'est nécessaire.", "dataset")
            needed = required_level(str(dataset), meta["access"])
            if level and level != needed:
                raise RequestError(f"« {dataset} » demande le niveau « {needed} », pas « {level} ».", "level")
            return needed, str(dataset)
        if not isinstance(level, str) or level not in self.levels():
            raise RequestError(f"Niveau inconnu : « {level} » ; niveaux : {', '.join(self.levels())}.", "level")
        return level, None

    def levels(self) -> list[str]:
        from ..levels import level_groups

        return level_groups(self.state["entries"])

    def ask(self, body: dict) -> dict:
        """Record the caller's request (audited ``access_requested``)."""
        self.require_person()
        level, dataset = self.level_asked(body.get("dataset"), body.get("level"))
        if level.startswith("restricted:") and not self.state["serves_restricted"]:
            raise RequestError("Cette plateforme est en mode démo : elle ne sert aucune donnée restreinte, "
                               "aucune demande ne peut l'ouvrir.", "level", status=409)
        now = datetime.now(timezone.utc)
        until = parse_end(body.get("end"), now)
        level, purpose, project = check_request(level, body.get("purpose"), body.get("project"), until,
                                                max_request_days(level, self.state["cfg"]), now)
        request = self.requests_store.create(self.user_name, level, dataset, purpose, project, until, now)
        record_event(self.state["audit_log"], "access_requested", who=self.user_name, what=level, request=request["id"],
                     dataset=dataset, purpose=purpose, project=project, until=request["until"])
        return request

    async def decide(self, request_id: str, action: str, reason) -> dict:
        """Approve, refuse (stewards) or withdraw (the requester) request ``request_id``."""
        store = self.requests_store
        if action == "withdraw":
            request = store.withdraw(request_id, self.user_name)
            record_event(self.state["audit_log"], "access_withdrawn", who=self.user_name, what=request["level"],
                         request=request_id)
            return request
        if action not in ("approve", "refuse"):
            raise RequestError(f"action must be approve, refuse or withdraw, not {action!r}", "action")
        self.require_steward()
        if self.from_browser:
            if not clicked_by_a_person(self.request.headers):
                raise ApiError(403, "a steward decides in a browser by clicking the request page's buttons only",
                               rule="person's click")
        else:
            self.require_grant_scope()
        now = datetime.now(timezone.utc)
        if action == "refuse":
            request = store.refuse(request_id, self.user_name, reason, now)
            record_event(self.state["audit_log"], "access_refused", who=request["user"], by=self.user_name,
                         what=request["level"], request=request_id, reason=request["decision"]["reason"])
            return request
        request = store.get(request_id)
        check_approval(request, self.user_name, now)
        stewards = [a["by"] for a in request["approvals"]] + [self.user_name]
        if len(stewards) >= approvals_needed(request["level"]):
            # Granted before the request says so: a hub that refuses leaves the request waiting.
            await self.give_level(request["user"], request["level"], stewards,
                                  until=datetime.fromisoformat(request["until"]), request=request_id)
        request = store.approve(request_id, self.user_name, now)
        record_event(self.state["audit_log"], "access_approved", who=request["user"], by=self.user_name,
                     what=request["level"], request=request_id, approvals=len(request["approvals"]),
                     needed=approvals_needed(request["level"]))
        return request

    def overview(self) -> dict:
        """The caller's requests and current rights; for stewards, the requests waiting."""
        store = self.requests_store
        rights = []
        for level, users in sorted(self.store().granted().items()):
            entry = users.get(self.user_name)
            if entry is not None:
                rights.append({"level": level, "until": entry.get("until"), "since": entry["when"]})
        answer = {"user": self.user_name, "mine": store.of_user(self.user_name), "rights": rights,
                  "steward": self.is_steward}
        if self.is_steward:
            answer["open"] = store.open()
        return answer


def body_of(handler) -> dict:
    try:
        body = json.loads(handler.request.body or b"{}")
    except (ValueError, RecursionError):
        raise ApiError(400, "the body must be one flat JSON object", parameter="body") from None
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object", parameter="body")
    return body


def api_error(error: RequestError) -> ApiError:
    return ApiError(error.status, str(error), parameter=error.field)


class RequestsApi(RequestsBase):
    async def get(self):
        self.send_json(self.overview())

    async def post(self):
        try:
            request = self.ask(body_of(self))
        except RequestError as error:
            raise api_error(error) from None
        self.send_json(request, status=201)


class RequestApi(RequestsBase):
    async def get(self, request_id: str):
        try:
            request = self.requests_store.get(request_id)
        except RequestError as error:
            raise api_error(error) from None
        if request["user"] != self.user_name and not self.is_steward:
            raise ApiError(404, f"Aucune demande « {request_id} ».")
        self.send_json(request)

    async def post(self, request_id: str):
        body = body_of(self)
        try:
            request = await self.decide(request_id, body.get("action"), body.get("reason"))
        except RequestError as error:
            raise api_error(error) from None
        self.send_json(request)


class RequestsPage(RequestsBase):
    """The caller's requests and rights, and the stewards' desk."""

    def set_default_headers(self) -> None:
        super().set_default_headers()
        from ..hub import csp

        self.set_header(csp.HEADER, csp.page_policy())  # a page, still no script

    def page(self, status: int = 200, **notes) -> None:
        overview = self.overview()
        self.set_status(status)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(render_requests(overview, self.state, xsrf_form=self.xsrf_form_html(),
                                    notice_days=self.state["notice_days"], **notes))

    async def get(self):
        self.page(created=self.get_argument("created", None), decided=self.get_argument("decided", None))


class NewRequestPage(RequestsPage):
    def form(self, status: int = 200, values: dict | None = None, error: RequestError | None = None) -> None:
        values = values or {}
        dataset = values.get("dataset") or self.get_argument("dataset", None)
        try:
            level, dataset = self.level_asked(dataset, values.get("level") or self.get_argument("level", None))
        except RequestError as unknown:
            self.page(status=400, error=str(unknown))
            return
        meta = self.state["entries"].get(dataset) if dataset else None
        self.set_status(status)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        today = datetime.now(ZONE).date()
        self.finish(render_new_request(
            self.state, user=self.user_name, level=level, dataset=dataset, meta=meta,
            opens=describe_level(level), two_stewards=needs_second_steward(level),
            max_days=max_request_days(level, self.state["cfg"]), first_day=today + timedelta(days=1),
            last_day=today + timedelta(days=max_request_days(level, self.state["cfg"])),
            held=self.held_until(level), values=values, error=error, xsrf_form=self.xsrf_form_html()))

    def held_until(self, level: str) -> datetime | None:
        entry = self.store().granted().get(level, {}).get(self.user_name)
        return grant_end(entry) if entry else None

    async def get(self):
        self.form()

    async def post(self):
        values = {key: self.get_body_argument(key, "") for key in ("dataset", "level", "purpose", "project", "end")}
        try:
            request = self.ask(values)
        except RequestError as error:
            self.form(status=error.status, values=values, error=error)
            return
        self.redirect(f"{self.state['prefix']}requests?created={quote(request['id'])}", status=303)


class DecisionPage(RequestsPage):
    async def post(self, request_id: str):
        action = self.get_body_argument("action", "")
        try:
            request = await self.decide(request_id, action, self.get_body_argument("reason", ""))
        except RequestError as error:
            self.page(status=error.status, error=str(error))
            return
        self.redirect(f"{self.state['prefix']}requests?decided={quote(request['id'])}", status=303)


def routes() -> list[tuple]:
    """The front desk's routes, relative to the data service's prefix."""
    request_id = r"(r-[0-9]{8}-[0-9a-f]{6})"
    return [
        (r"api/requests/?", RequestsApi),
        (rf"api/requests/{request_id}/?", RequestApi),
        (r"requests/?", RequestsPage),
        (r"requests/new/?", NewRequestPage),
        (rf"requests/{request_id}/?", DecisionPage),
    ]


async def expire_and_notify(hub_auth, state: dict, now: datetime | None = None) -> dict:
    """Revoke the grants past their end (hub group, grant, request; audited) and tell the holders
    whose right ends soon (once, audited). Returns what was done, for the log and tests."""
    now = now or datetime.now(timezone.utc)
    store = GrantStore(state["grants"])
    revoked, told = [], []
    for level, user, entry in expired(store.granted(), now):
        code, answer = await call_hub(hub_auth, "DELETE", f"groups/{quote(level, safe='')}/users", {"users": [user]})
        # 400/404: the user or the group is gone from the hub; the grant goes all the same.
        if code not in (200, 400, 404):
            log.error("could not remove %s from the hub group %s at the end of the right: %s %s", user, level, code,
                      answer)
            continue  # the grant is not honoured past its end anyway; try again next round
        store.remove(user, level, pending=False)
        RequestStore(state["requests"]).end(user, level, EXPIRED, now)
        record_event(state["audit_log"], "revoke", who=user, what=level, reason=EXPIRED, until=entry.get("until"))
        revoked.append((user, level))
    for level, user, entry in ending_soon(store.granted(), state["notice_days"], now):
        record_event(state["audit_log"], "expiry_notice", who=user, what=level, until=entry["until"])
        store.mark_notified(user, level)
        told.append((user, level))
    if revoked or told:
        log.info("rights ended: %s; holders told of a coming end: %s", revoked or "none", told or "none")
    return {"revoked": revoked, "told": told}
