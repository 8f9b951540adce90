"""The steward's view of use, served by the data service (:mod:`occidata.catalog.service`).

- ``api/use?month_from=YYYY-MM&month_to=YYYY-MM&names=1``: the view of :mod:`occidata.catalog.use`
  as JSON (``occidata access use`` asks it);
- ``use`` (same parameters): the same view as a French page, for a steward's browser (no script:
  :func:`occidata.hub.csp.page_policy`).

For data stewards only (hub admins or the hub role ``steward``), like ``api/access``. It is the data
service that serves it because, in server mode, its account alone reads the audit log, the grants
and the pseudonym key; the hub's journal of lab servers is root's and readable by that account's
group (:func:`occidata.hub.isolation.prepare_server`), Slurm's job completion records as Slurm
leaves them. What it cannot read, the view says, with the other parts still shown. The hub's
users and their groups come from the hub's API (the service cannot read the hub's database).

Readers are pseudonyms unless ``names=1``; every view with names is audited first
(``names_shown``, who: the steward), and nothing is shown when that record cannot be written.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from tornado import ioloop

from ..hub import csp
from ..privacy.audit import read_audit
from ..privacy.pseudonyms import load_or_create_key
from ..usage import UsageError, usage_report
from .service import AccessHandler, ApiError, call_hub, log
from .use import (UseError, build_view, hours_by_group, hours_unavailable, last_day, months_of, names_by_pseudonym,
                  names_shown_events, parse_month, render_page)

PAGE_SIZE = 200  # JupyterHub's largest page by default (api_page_max_limit)
YES, NO = ("1", "true", "oui"), ("", "0", "false", "non")


async def hub_people(hub_auth) -> dict[str, list[str]]:
    """Every hub user's name and current groups, from the hub's API (paged)."""
    people: dict[str, list[str]] = {}
    while True:
        code, page = await call_hub(hub_auth, "GET", f"users?offset={len(people)}&limit={PAGE_SIZE}")
        if code != 200 or not isinstance(page, list):
            raise ApiError(502, f"could not list the hub's users ({code})")
        fresh = [user for user in page if user.get("name") not in people]
        if not fresh:
            return people
        for user in fresh:
            people[user["name"]] = sorted(user.get("groups") or [])


def usage_part(cfg: dict, months: list[str], groups: dict[str, list[str]]) -> dict:
    """Hours per hub group over the months, or why they cannot be read by this account."""
    since = parse_month(months[0], "month_from")
    try:
        return hours_by_group(usage_report(cfg, since, last_day(months[-1]), groups=groups))
    except UsageError as error:
        return hours_unavailable(str(error))
    except OSError as error:
        return hours_unavailable(f"{error.filename or ''} : {error.strerror or error}")


class UseApi(AccessHandler):
    """``GET api/use``: the steward's view as JSON."""

    def period(self) -> list[str]:
        try:
            return months_of(parse_month(self.get_argument("month_from", None), "month_from"),
                             parse_month(self.get_argument("month_to", None), "month_to"))
        except UseError as error:
            raise ApiError(400, str(error), parameter=error.parameter) from None

    def wants_names(self) -> bool:
        value = (self.get_argument("names", "") or "").strip().lower()
        if value not in YES + NO:
            raise ApiError(400, f"names : « {value} » n'est ni 1 ni 0 / names: {value!r} is neither 1 nor 0",
                           parameter="names")
        return value in YES

    async def view(self) -> dict:
        self.require_steward()
        months, names = self.period(), self.wants_names()
        granted = self.store().granted()
        people = await hub_people(self.hub_auth)
        loop = ioloop.IOLoop.current()
        audit_log = Path(self.state["audit_log"])
        records = await loop.run_in_executor(None, read_audit, audit_log)
        hours = await loop.run_in_executor(None, partial(usage_part, self.state["cfg"], months, people))
        by_pseudonym = None
        if names:
            # Readers may also be services (the report scheduler reads as "service:reports").
            known = [*people, *(f"service:{name}" for name in self.state["service_levels"])]
            by_pseudonym = names_by_pseudonym(known, load_or_create_key(audit_log.parent.parent))
        try:
            view = build_view(entries=self.state["entries"], granted=granted, records=records, months=months,
                              hours=hours, names=by_pseudonym)
        except ValueError as error:  # a grant's end that is no date: the grants file is damaged
            log.error("%s", error)
            raise ApiError(500, str(error)) from None
        for fields in names_shown_events(view):
            self.audit("names_shown", **fields)  # before anything is shown; refused if it cannot be
        return view

    async def get(self):
        self.send_json(await self.view())


class UsePage(UseApi):
    """``GET use``: the steward's view as a French page, without script."""

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header(csp.HEADER, csp.page_policy())
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")

    async def get(self):
        view = await self.view()
        self.send_html(render_page(view, lab_name=self.state["cfg"]["lab_name"], action=self.request.path,
                                   user=self.user_name))

    def send_html(self, html: str, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(html)

    def write_error(self, status_code: int, **kwargs) -> None:
        error = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(error, ApiError):
            message = error.body["error"]
        elif status_code == 404:
            message = "Page introuvable."
        else:
            message = "Erreur interne du service de données ; voir son journal."
        if status_code == 403:
            message = ("Cette page est réservée aux intendants des données (administrateurs du hub ou rôle "
                       f"« steward »). / {message}")
        user = self.hub_user["name"] if self.hub_user else ""
        self.send_html(render_page(None, lab_name=self.state["cfg"]["lab_name"], action=self.request.path,
                                   user=user, error=message,
                                   month_from=self.get_argument("month_from", "") or "",
                                   month_to=self.get_argument("month_to", "") or ""), status_code)


def use_routes() -> list[tuple]:
    """The routes of the view, relative to the data service's prefix."""
    return [(r"api/use/?", UseApi), (r"use/?", UsePage)]
