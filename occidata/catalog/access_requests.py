"""Access requests: a researcher asks for a level, stewards approve or refuse, the right ends.

A request names the level (``partner`` or ``restricted:<dataset>``), the entry it was asked from,
a purpose (free text), the project, and an end date no further than
:func:`occidata.levels.max_request_days`. Stewards approve or refuse it with a reason; nobody
approves their own request, and a ``restricted:*`` level needs two different stewards
(:func:`occidata.levels.needs_second_steward`). An approved request becomes a grant with that end
(:mod:`occidata.catalog.grants`); the data service revokes it at the end.

The record is ``<state_dir>/grants/requests.json``, beside the grants and owned by the data
service's account (0600, written atomically)::

    {"version": 1, "requests": [{"id": "r-20261206-1a2b3c", "user": "marie", "level": "partner",
      "dataset": "agri_sensors", "purpose": "…", "project": "…", "until": "2027-01-01T23:00:00+00:00",
      "created": "…", "state": "pending", "approvals": [{"by": "alice", "when": "…"}],
      "decision": {"by": "bob", "when": "…", "reason": "…"}}]}

States: ``pending`` (waiting for stewards), ``approved`` (granted until ``until``), ``refused``,
``withdrawn`` (by the requester), ``ended`` (its right reached its end date or was revoked).
Messages are in French: researchers and stewards read them.
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from ..atomic import write_atomic
from ..levels import is_level_group, needs_second_steward

VERSION = 1
ZONE = ZoneInfo("Europe/Paris")  # a date typed in a form is a day in the region
MAX_PURPOSE = 2000  # characters: a paragraph, not a document
MAX_PROJECT = 200
STATES = ("pending", "approved", "refused", "withdrawn", "ended")
OPEN = "pending"


class RequestError(ValueError):
    """A request or a decision that cannot be accepted; ``field`` names what is wrong (French message)."""

    def __init__(self, message: str, field: str | None = None, status: int = 400):
        super().__init__(message)
        self.field = field
        self.status = status


def requests_path(state_dir: str | os.PathLike) -> Path:
    """Where the data service keeps the access requests: beside its grants."""
    from .grants import grants_path

    return grants_path(state_dir).parent / "requests.json"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def parse_end(text: object, now: datetime | None = None) -> datetime:
    """The end of a right (aware, UTC) from ``text``: a day ``YYYY-MM-DD`` (the right lasts to the
    end of that day, Europe/Paris) or an ISO date and time with its offset."""
    if not isinstance(text, str) or not text.strip():
        raise RequestError("Indiquez la date de fin de l'accès (AAAA-MM-JJ).", "end")
    text = text.strip()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        day = None
    if day is not None and len(text) == 10:
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=ZONE).astimezone(timezone.utc)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise RequestError(f"Date de fin illisible : « {text[:40]} » ; écrivez-la AAAA-MM-JJ.", "end") from None
    if moment.tzinfo is None:
        raise RequestError(f"Date et heure de fin sans fuseau : « {text[:40]} » ; ajoutez-le (ex. +01:00) "
                           "ou donnez un jour AAAA-MM-JJ.", "end")
    return moment.astimezone(timezone.utc)


def check_request(level: object, purpose: object, project: object, until: datetime, max_days: int,
                  now: datetime | None = None) -> tuple[str, str, str]:
    """The level, purpose and project of a request, cleaned; a :class:`RequestError` naming the
    field when one is missing, too long, or the end is past or beyond ``max_days``."""
    now = now or _now()
    if not isinstance(level, str) or not is_level_group(level):
        raise RequestError(f"Niveau inconnu : « {level} » ; demandez « partner » ou « restricted:<jeu> ».", "level")
    purpose = purpose.strip() if isinstance(purpose, str) else ""
    if not purpose:
        raise RequestError("Dites pourquoi vous avez besoin de ces données (finalité) : la fiducie n'accorde "
                           "un accès que pour une finalité déclarée.", "purpose")
    if len(purpose) > MAX_PURPOSE:
        raise RequestError(f"La finalité fait {len(purpose)} caractères ; {MAX_PURPOSE} au plus.", "purpose")
    project = project.strip() if isinstance(project, str) else ""
    if not project:
        raise RequestError("Indiquez le projet pour lequel vous demandez cet accès.", "project")
    if len(project) > MAX_PROJECT:
        raise RequestError(f"Le nom du projet fait {len(project)} caractères ; {MAX_PROJECT} au plus.", "project")
    if until <= now:
        raise RequestError("La date de fin est déjà passée : choisissez une date à venir.", "end")
    # A day typed in the form ends at midnight after it: allow the whole last day.
    if until > now + timedelta(days=max_days + 1):
        last = (now + timedelta(days=max_days)).astimezone(ZONE).date()
        raise RequestError(f"Durée trop longue : le niveau « {level} » s'accorde pour {max_days} jours au plus, "
                           f"soit jusqu'au {last:%d/%m/%Y} inclus.", "end")
    return level, purpose, project


class RequestStore:
    """Read-modify-write access to the requests file (one writer: the data service's process)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def read(self) -> list[dict]:
        """Every request, oldest first; none when the file does not exist."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        try:
            data = json.loads(text)
        except ValueError as error:
            raise RequestError(f"the requests file {self.path} is not valid JSON ({error})", status=500) from None
        if not isinstance(data, dict) or data.get("version") != VERSION or not isinstance(data.get("requests"), list):
            raise RequestError(f"the requests file {self.path} is not a version {VERSION} requests record", status=500)
        return data["requests"]

    def _write(self, requests: list[dict]) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomic(self.path, json.dumps({"version": VERSION, "requests": requests}, ensure_ascii=False,
                                           indent=1) + "\n", mode=0o600)

    def get(self, request_id: str) -> dict:
        for request in self.read():
            if request["id"] == request_id:
                return request
        raise RequestError(f"Aucune demande « {request_id} ».", "id", status=404)

    def of_user(self, user: str) -> list[dict]:
        """``user``'s own requests, newest first."""
        return [r for r in reversed(self.read()) if r["user"] == user]

    def open(self) -> list[dict]:
        """Requests waiting for stewards, oldest first."""
        return [r for r in self.read() if r["state"] == OPEN]

    def create(self, user: str, level: str, dataset: str | None, purpose: str, project: str,
               until: datetime, now: datetime | None = None) -> dict:
        """Record a new request of ``user``; one open request per user and level."""
        now = now or _now()
        requests = self.read()
        if any(r["user"] == user and r["level"] == level and r["state"] == OPEN for r in requests):
            raise RequestError(f"Vous avez déjà une demande en attente pour « {level} » : attendez la réponse "
                               "des intendants ou retirez-la.", "level", status=409)
        request = {"id": f"r-{now:%Y%m%d}-{secrets.token_hex(3)}", "user": user, "level": level,
                   "dataset": dataset, "purpose": purpose, "project": project, "until": _iso(until),
                   "created": _iso(now), "state": OPEN, "approvals": []}
        requests.append(request)
        self._write(requests)
        return request

    def _change(self, request_id: str, change) -> dict:
        requests = self.read()
        for request in requests:
            if request["id"] == request_id:
                change(request)
                self._write(requests)
                return request
        raise RequestError(f"Aucune demande « {request_id} ».", "id", status=404)

    def approve(self, request_id: str, steward: str, now: datetime | None = None) -> dict:
        """Add ``steward``'s approval; the request is ``approved`` once it has as many different
        stewards as its level needs (see :func:`approvals_needed`)."""
        now = now or _now()

        def change(request: dict) -> None:
            check_approval(request, steward, now)
            request["approvals"].append({"by": steward, "when": _iso(now)})
            if len(request["approvals"]) >= approvals_needed(request["level"]):
                request["state"] = "approved"

        return self._change(request_id, change)

    def refuse(self, request_id: str, steward: str, reason: object, now: datetime | None = None) -> dict:
        """Refuse the request, with the reason the requester will read."""
        now = now or _now()
        reason = reason.strip() if isinstance(reason, str) else ""
        if not reason:
            raise RequestError("Donnez la raison du refus : le demandeur la lira.", "reason")

        def change(request: dict) -> None:
            check_decision(request, steward, now, refusing=True)
            request["state"] = "refused"
            request["decision"] = {"by": steward, "when": _iso(now), "reason": reason[:MAX_PURPOSE]}

        return self._change(request_id, change)

    def withdraw(self, request_id: str, user: str) -> dict:
        """The requester takes back a request still waiting."""
        def change(request: dict) -> None:
            if request["user"] != user:
                raise RequestError("Seule la personne qui a fait la demande peut la retirer.", "id", status=403)
            if request["state"] != OPEN:
                raise RequestError(f"Cette demande est déjà « {request['state']} ».", "id", status=409)
            request["state"] = "withdrawn"

        return self._change(request_id, change)

    def end(self, user: str, level: str, why: str, now: datetime | None = None) -> list[dict]:
        """Mark ``user``'s approved requests of ``level`` as ``ended`` (``why``: expired, revoked)."""
        ended = []

        def change_all(requests: list[dict]) -> None:
            for request in requests:
                if request["user"] == user and request["level"] == level and request["state"] == "approved":
                    request["state"] = "ended"
                    request["ended"] = {"when": _iso(now or _now()), "why": why}
                    ended.append(request)

        requests = self.read()
        change_all(requests)
        if ended:
            self._write(requests)
        return ended


def approvals_needed(level: str) -> int:
    """How many different stewards approve a request for ``level``."""
    return 2 if needs_second_steward(level) else 1


def check_decision(request: dict, steward: str, now: datetime, refusing: bool = False) -> None:
    """Refuse a decision on a request that is not waiting, by its own requester, or (approving)
    past its end date."""
    if request["state"] != OPEN:
        raise RequestError(f"Cette demande n'attend plus de décision : elle est « {request['state']} ».", "id",
                           status=409)
    if request["user"] == steward:
        raise RequestError("Personne ne décide de sa propre demande : un autre intendant des données doit "
                           "l'examiner. / Nobody decides on their own request.", "by", status=403)
    if not refusing and datetime.fromisoformat(request["until"]) <= now:
        raise RequestError("La date de fin de cette demande est passée : le demandeur doit en faire une nouvelle.",
                           "end", status=409)


def check_approval(request: dict, steward: str, now: datetime) -> None:
    """:func:`check_decision`, and a steward approves a request once (a second steward is another one)."""
    check_decision(request, steward, now)
    if any(a["by"] == steward for a in request["approvals"]):
        raise RequestError(f"Vous avez déjà approuvé cette demande : « {request['level']} » demande l'accord "
                           "d'un second intendant, différent de vous.", "by", status=409)
