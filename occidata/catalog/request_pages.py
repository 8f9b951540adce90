"""The access requests' pages, in French, in the catalogue's frame (no script, forms only).

:func:`render_requests` is a researcher's requests and rights and, for stewards, the requests
waiting for them; :func:`render_new_request` is the request form. Both are served by the data
service (:mod:`occidata.catalog.requests_service`), which holds the records.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from ..addresses import CATALOGUE_PREFIX, DATA_PREFIX
from .access_requests import ZONE, approvals_needed
from .pages import Reader, render_page

STATE_WORDS = {"pending": "en attente", "approved": "accordée", "refused": "refusée", "withdrawn": "retirée",
               "ended": "terminée"}
END_WORDS = {"expired": "date de fin atteinte", "revoked": "retirée par un intendant"}


def when(text: str | None) -> str:
    """An ISO moment as a person in the region reads it (``31/12/2026 à 23:59``)."""
    if not text:
        return "sans fin"
    moment = datetime.fromisoformat(text).astimezone(ZONE)
    return f"{moment:%d/%m/%Y à %H:%M}"


def last_day(text: str) -> str:
    """The last day of a right ending at ``text`` (a right ending at midnight ends the day before)."""
    moment = datetime.fromisoformat(text).astimezone(ZONE)
    if (moment.hour, moment.minute, moment.second) == (0, 0, 0):
        return f"{(moment - timedelta(days=1)):%d/%m/%Y} inclus"
    return when(text)


def state_of(request: dict) -> str:
    """A request's state in words, with the approvals a restricted level still waits for."""
    words = STATE_WORDS.get(request["state"], request["state"])
    if request["state"] == "pending":
        needed = approvals_needed(request["level"])
        if needed > 1:
            words += f" ({len(request['approvals'])} accord sur {needed})"
    if request["state"] == "ended" and request.get("ended"):
        words += f" ({END_WORDS.get(request['ended']['why'], request['ended']['why'])})"
    return words


def reader_for(state: dict, user: str) -> Reader:
    """The catalogue's frame around a data service page: its links go to the catalogue."""
    base = state["prefix"].removesuffix(DATA_PREFIX) or "/"
    return Reader(user=user, prefix=base + CATALOGUE_PREFIX, base_url=base, lang="fr", path="")


def days_left(until: str | None, now: datetime | None = None) -> int | None:
    if not until:
        return None
    return (datetime.fromisoformat(until) - (now or datetime.now(timezone.utc))).days


def render_requests(overview: dict, state: dict, *, xsrf_form: str, notice_days: int, created: str | None = None,
                    decided: str | None = None, error: str | None = None) -> str:
    """The requests page of ``overview`` (see ``RequestsBase.overview``)."""
    rights = [{**right, "ends": when(right.get("until")), "left": days_left(right.get("until"))}
              for right in overview["rights"]]
    return render_page("requests.html", reader_for(state, overview["user"]), state["cfg"]["lab_name"],
                       title="Demandes d'accès", overview=overview, rights=rights, when=when, last_day=last_day,
                       state_of=state_of, xsrf_form=xsrf_form, notice_days=notice_days, created=created,
                       decided=decided, error=error, data_prefix=state["prefix"],
                       needed=approvals_needed)


def render_new_request(state: dict, *, user: str, level: str, dataset: str | None, meta: dict | None, opens: str,
                       two_stewards: bool, max_days: int, first_day: date, last_day: date,
                       held: datetime | None, values: dict, error, xsrf_form: str) -> str:
    """The request form for ``level`` (asked from entry ``dataset``), with ``values`` typed so far
    and the ``error`` (a RequestError naming its field) of the last try."""
    title = (meta or {}).get("title_fr") or dataset or level
    return render_page("request_form.html", reader_for(state, user), state["cfg"]["lab_name"],
                       title=f"Demander l'accès : {title}", entry_title=title, level=level, dataset=dataset,
                       opens=opens, two_stewards=two_stewards, max_days=max_days, first_day=first_day,
                       last_day=last_day, held=when(held.isoformat()) if held else None, values=values,
                       error=error, xsrf_form=xsrf_form, data_prefix=state["prefix"])
