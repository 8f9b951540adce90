"""What an admin needs to decide on an account request, beside NativeAuthenticator's own table.

NativeAuthenticator keeps the name, the password hash, the e-mail and whether the account is
approved; it keeps neither the affiliation a person gave, nor when they asked, nor who approved
them and when. Those live here, in one small JSON file of the state directory (``0600``: it holds
personal data), keyed by account name::

    {"doctorante": {"affiliation": "LEMAR, Université de Montpellier",
                    "requested_at": "2026-12-05T14:02:11+00:00",
                    "approved_by": "admin", "approved_at": "2026-12-05T14:10:40+00:00"}}

The hub is one process whose handlers do not await between reading and writing this file, so
two requests never interleave a read and a write; each write replaces the file whole.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from ..atomic import write_atomic


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def load(path: str | Path) -> dict[str, dict]:
    """Every recorded request, by account name (empty when nothing was recorded yet)."""
    path = Path(path)
    if not path.exists():
        return {}
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON ({error}); fix or remove the file") from error
    if not isinstance(records, dict):
        raise ValueError(f"{path}: expected an object keyed by account name, got {type(records).__name__}")
    return records


def _save(path: str | Path, records: dict[str, dict]) -> None:
    write_atomic(Path(path), json.dumps(records, ensure_ascii=False, indent=1, sort_keys=True) + "\n", mode=0o600)


def record_request(path: str | Path, username: str, affiliation: str) -> None:
    """Record that ``username`` asked for an account now, from ``affiliation``."""
    records = load(path)
    records[username] = {"affiliation": affiliation, "requested_at": _now()}
    _save(path, records)


def record_decision(path: str | Path, username: str, approved: bool, by: str) -> None:
    """Record that the admin ``by`` approved ``username`` now, or withdrew the approval."""
    records = load(path)
    record = records.setdefault(username, {})
    for key in ("approved_by", "approved_at", "withdrawn_by", "withdrawn_at"):
        record.pop(key, None)
    prefix = "approved" if approved else "withdrawn"
    record[f"{prefix}_by"], record[f"{prefix}_at"] = by, _now()
    _save(path, records)


def forget(path: str | Path, username: str) -> None:
    """Remove what was recorded about ``username`` (its request was discarded or the user deleted)."""
    records = load(path)
    if records.pop(username, None) is not None:
        _save(path, records)
