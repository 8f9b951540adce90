"""The data service's own record of rights: ``<state_dir>/grants/grants.json``.

A hub group membership grants nothing by itself: the data service serves a non-public entry
only to a member of the level's group whom it granted the level itself, here. In server mode
the folder belongs to the service's account (0700, file 0600; see
:func:`occidata.hub.isolation.prepare_server`), so neither the hub's admins nor any lab can
write a right into it. Writes are atomic (temporary file, then rename).

The file holds, per level, the users granted (with the stewards who granted them and when) and
the restricted grants waiting for a second steward::

    {"version": 1,
     "granted": {"partner": {"marie": {"by": ["alice"], "when": "2026-01-05T10:00:00+00:00",
                                       "until": "2026-07-01T00:00:00+00:00", "request": "r-…"}}},
     "pending": {"restricted:health_admissions": {"marie": {"by": "alice", "when": "..."}}}}

A missing file is an empty one: no membership that existed before the file did is trusted
(stewards grant again with ``occidata access grant``). An unreadable one is an error, so that
nothing is served on a guess.

A grant may carry an end (``until``, UTC): past it the grant is not honoured, and the data service
revokes it (:func:`expired`); grants given by hand before requests existed have none.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

from ..atomic import write_atomic

VERSION = 1


class GrantsError(RuntimeError):
    """The grants file cannot be read or written; the message names the file."""


def grants_path(state_dir: str | os.PathLike) -> Path:
    """Where the data service keeps its grants."""
    return Path(state_dir) / "grants" / "grants.json"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class GrantStore:
    """Read-modify-write access to the grants file (one writer: the data service's process)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def ensure(self) -> bool:
        """Create an empty grants file if there is none; True when it was created."""
        if self.path.exists():
            self.read()  # fail now, at start, on a damaged file
            return False
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._write(self._empty())
        return True

    @staticmethod
    def _empty() -> dict:
        return {"version": VERSION, "granted": {}, "pending": {}}

    def read(self) -> dict:
        """The whole record; an empty one when the file does not exist."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return self._empty()
        except OSError as error:
            raise GrantsError(f"the grants file {self.path} cannot be read: {error}") from None
        try:
            data = json.loads(text)
        except ValueError as error:
            raise GrantsError(f"the grants file {self.path} is not valid JSON ({error}); "
                              "restore it from a backup or remove it (every level must then be granted again)") from None
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise GrantsError(f"the grants file {self.path} is not a version {VERSION} grants record")
        data.setdefault("granted", {})
        data.setdefault("pending", {})
        return data

    def _write(self, data: dict) -> None:
        try:
            write_atomic(self.path, json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n", mode=0o600)
        except OSError as error:
            raise GrantsError(f"the grants file {self.path} cannot be written: {error}") from None

    # --- questions ------------------------------------------------------------------------------

    def has(self, user: str, level: str, now: datetime | None = None) -> bool:
        """Whether the data service granted ``level`` to ``user`` and the grant has not ended."""
        entry = self.read()["granted"].get(level, {}).get(user)
        return entry is not None and not has_ended(entry, now)

    def entry(self, user: str, level: str) -> dict | None:
        """``user``'s grant of ``level`` as recorded ({by, when, until?}), or None."""
        return self.read()["granted"].get(level, {}).get(user)

    def granted(self) -> dict[str, dict[str, dict]]:
        """Level -> user -> {by, when}."""
        return self.read()["granted"]

    def pending(self) -> dict[str, dict[str, dict]]:
        """Level -> user -> {by, when}: restricted grants waiting for a second steward."""
        return self.read()["pending"]

    # --- changes --------------------------------------------------------------------------------

    def request(self, user: str, level: str, by: str) -> dict:
        """Record a first steward's grant of ``level`` to ``user``, waiting for a second one."""
        data = self.read()
        entry = {"by": by, "when": _now()}
        data["pending"].setdefault(level, {})[user] = entry
        self._write(data)
        return entry

    def grant(self, user: str, level: str, by: list[str], until: datetime | None = None,
              request: str | None = None) -> dict:
        """Record ``level`` as granted to ``user`` by the stewards ``by``, until ``until`` (None: no
        end) after access request ``request``; clears a pending request."""
        data = self.read()
        entry = {"by": list(by), "when": _now()}
        if until is not None:
            entry["until"] = until.astimezone(timezone.utc).isoformat(timespec="seconds")
        if request is not None:
            entry["request"] = request
        data["granted"].setdefault(level, {})[user] = entry
        data["pending"].get(level, {}).pop(user, None)
        self._write(data)
        return entry

    def mark_notified(self, user: str, level: str) -> None:
        """Note that ``user`` was told their grant of ``level`` is about to end (told once)."""
        data = self.read()
        entry = data["granted"].get(level, {}).get(user)
        if entry is not None and not entry.get("notified"):
            entry["notified"] = _now()
            self._write(data)

    def remove(self, user: str, level: str, pending: bool = True) -> bool:
        """Forget ``user``'s grant of ``level`` (and, if ``pending``, a request waiting for a second
        steward); True if there was anything to forget."""
        data = self.read()
        found = data["granted"].get(level, {}).pop(user, None) is not None
        if pending:
            found = data["pending"].get(level, {}).pop(user, None) is not None or found
        if found:
            self._write(data)
        return found


def grant_end(entry: dict) -> datetime | None:
    """When a grant ends (aware, UTC), or None for a grant without end."""
    until = entry.get("until")
    return datetime.fromisoformat(until) if until else None


def has_ended(entry: dict, now: datetime | None = None) -> bool:
    """Whether the grant ``entry`` is past its end."""
    end = grant_end(entry)
    return end is not None and end <= (now or datetime.now(timezone.utc))


def expired(granted: dict[str, dict[str, dict]], now: datetime | None = None) -> list[tuple[str, str, dict]]:
    """(level, user, grant) of every grant past its end, in ``granted`` (level -> user -> grant)."""
    return [(level, user, entry) for level, users in sorted(granted.items())
            for user, entry in sorted(users.items()) if has_ended(entry, now)]


def ending_soon(granted: dict[str, dict[str, dict]], within_days: int,
                now: datetime | None = None) -> list[tuple[str, str, dict]]:
    """(level, user, grant) of the grants that end within ``within_days`` and whose holder was not
    told yet."""
    from datetime import timedelta

    now = now or datetime.now(timezone.utc)
    horizon = now + timedelta(days=within_days)
    return [(level, user, entry) for level, users in sorted(granted.items())
            for user, entry in sorted(users.items())
            if not entry.get("notified") and (end := grant_end(entry)) is not None and now < end <= horizon]
