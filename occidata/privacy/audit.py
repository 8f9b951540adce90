"""Audit log: one JSON line per read of a partner or restricted dataset (who, what, parameters, when)."""

from __future__ import annotations

import getpass
import json
import os
from datetime import datetime, timezone
from pathlib import Path


def current_user() -> str:
    """The person reading: the hub user inside a lab server, else the system user."""
    return os.environ.get("JUPYTERHUB_USER") or getpass.getuser()


def record_read(log_path: str | Path, dataset: str, access: str, parameters: dict, user: str | None = None) -> dict:
    """Append one audit record to ``log_path`` (created 0600); return the record."""
    record = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "who": user or current_user(),
        "what": dataset,
        "access": access,
        "parameters": parameters,
    }
    path = Path(log_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # One write() of a line on an O_APPEND descriptor: concurrent readers never interleave records.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (json.dumps(record, ensure_ascii=False, default=str) + "\n").encode())
    finally:
        os.close(fd)
    return record


def read_audit(log_path: str | Path) -> list[dict]:
    """Every record of the audit log, oldest first."""
    path = Path(log_path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
