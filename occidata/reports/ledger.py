"""The runs a service made itself: the only runs its public pages may serve.

A folder in the archive that looks like a run proves nothing: anything that could write there
could plant one. The process that asked for a run (the scheduler, the dashboards' first
renderings) appends one line to ``<archive>/.ledger.jsonl`` once the run is archived: the run,
what started it (``schedule`` or ``snapshot``), the SHA-256 of the notebook it ran, of its
HTML and of its executed notebook. Public pages serve a run only when its line is there and what
they serve of it (the HTML; a dashboard's other views, from the executed notebook) still has that
digest.
Ad hoc runs (``occidata report run``) are never in a service's ledger.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
from pathlib import Path

LEDGER_FILE = ".ledger.jsonl"
TRIGGERS = ("schedule", "snapshot")
_CACHE: dict[str, tuple[float, int, dict]] = {}


def ledger_path(archive_dir: str | os.PathLike) -> Path:
    return Path(archive_dir) / LEDGER_FILE


_DIGESTS: dict[str, tuple[tuple, str]] = {}


def _digest(path: Path) -> str | None:
    """SHA-256 of the file, hashed again only when it changed (snapshot pages ask on every visit)."""
    try:
        info = os.stat(path)
        seen = (info.st_ino, info.st_mtime_ns, info.st_size)
        cached = _DIGESTS.get(str(path))
        if cached and cached[0] == seen:
            return cached[1]
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None
    _DIGESTS[str(path)] = (seen, digest)
    return digest


def record_run(archive_dir: str | os.PathLike, record, *, trigger: str, notebook: str | os.PathLike) -> dict:
    """Append ``record`` (an archived RunRecord) to the ledger; returns the line written."""
    if trigger not in TRIGGERS:
        raise ValueError(f"trigger must be one of {', '.join(TRIGGERS)}, not {trigger!r}")
    entry = {"name": record.name, "run_id": record.run_id, "trigger": trigger, "status": record.status,
             "notebook_sha256": _digest(Path(notebook)), "html_sha256": _digest(record.html_path),
             "executed_sha256": _digest(record.notebook_path),
             "recorded": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    path = ledger_path(archive_dir)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, (json.dumps(entry, sort_keys=True) + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return entry


def recorded_runs(archive_dir: str | os.PathLike) -> dict[tuple[str, str], dict]:
    """Ledger lines by (name, run_id), re-read only when the file changed."""
    path = ledger_path(archive_dir)
    try:
        info = path.stat()
    except OSError:
        return {}
    cached = _CACHE.get(str(path))
    if cached and cached[:2] == (info.st_mtime, info.st_size):
        return cached[2]
    entries = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return {}
    for line in lines:
        try:
            entry = json.loads(line)
            entries[(entry["name"], entry["run_id"])] = entry
        except (ValueError, KeyError, TypeError):
            continue
    _CACHE[str(path)] = (info.st_mtime, info.st_size, entries)
    return entries


def ledger_entry(archive_dir: str | os.PathLike, record) -> dict | None:
    """The ledger's line for ``record`` if the platform made this run and its HTML is unchanged."""
    entry = recorded_runs(archive_dir).get((record.name, record.run_id))
    if entry is None or entry.get("html_sha256") is None:
        return None
    return entry if _digest(record.html_path) == entry["html_sha256"] else None


def executed_unchanged(archive_dir: str | os.PathLike, record) -> bool:
    """Whether the ledger vouches for ``record``'s executed notebook as it is now (runs recorded
    before the ledger noted executed notebooks: never)."""
    entry = ledger_entry(archive_dir, record)
    if entry is None or not entry.get("executed_sha256"):
        return False
    return _digest(record.notebook_path) == entry["executed_sha256"]
