"""Which notebooks may feed a public page: a steward's recorded approval, by content.

Nothing reaches a public page (a dashboard, live or snapshot, or a report's public snapshot)
unless the notebook that produced it was approved: ``occidata publish`` records the steward's
approval after the publication gate passed it, and ``occidata up`` approves the curated set
shipped with the platform in the administrator's name (``auth.admin``), saying so at start.
An approval names the notebook's SHA-256: an edited notebook is a new notebook, approved again
or never served. Every approval is also an audit event (``publication``).

The registry is ``<state>/approvals.json``: written by root (or the demo user) alone, atomically,
readable by the services that serve pages (they never write it).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
from pathlib import Path

from .atomic import write_atomic

APPROVALS_FILE = "approvals.json"
KINDS = ("dashboard", "report")


def approvals_path(state_dir: str | os.PathLike) -> Path:
    return Path(state_dir) / APPROVALS_FILE


def notebook_digest(path: str | os.PathLike) -> str:
    """SHA-256 of the notebook file as it is on disk."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


_READ: dict[str, tuple[tuple, dict]] = {}


def read_approvals(state_dir: str | os.PathLike) -> dict[str, dict]:
    """Approved notebooks by SHA-256 (empty when nothing was ever approved). Parsed again only
    when the file changed: the public pages ask on every visit."""
    path = approvals_path(state_dir)
    try:
        info = os.stat(path)
        seen = (info.st_ino, info.st_mtime_ns, info.st_size)
        cached = _READ.get(str(path))
        if cached and cached[0] == seen:
            return dict(cached[1])
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # missing, unreadable or damaged: nothing is approved (fail closed)
    notebooks = data.get("notebooks") if isinstance(data, dict) else None
    notebooks = notebooks if isinstance(notebooks, dict) else {}
    _READ[str(path)] = (seen, notebooks)
    return dict(notebooks)


def is_approved(state_dir: str | os.PathLike, notebook: str | os.PathLike | None = None, *,
                digest: str | None = None) -> bool:
    """Whether this notebook (its current content, or ``digest``) has a recorded approval."""
    if digest is None:
        try:
            digest = notebook_digest(notebook)
        except OSError:
            return False
    return digest in read_approvals(state_dir)


def approve(state_dir: str | os.PathLike, notebook: str | os.PathLike, *, name: str, kind: str, by: str,
            basis: str = "publication gate") -> dict:
    """Record that steward ``by`` approved ``notebook`` (as it is now) for public pages; returns
    the entry. The registry is readable by services: ``by`` is kept as its keyed pseudonym."""
    from .privacy.pseudonyms import load_or_create_key, pseudonymise

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    digest = notebook_digest(notebook)
    path = approvals_path(state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {"name": name, "kind": kind, "by": pseudonymise(by, load_or_create_key(state_dir)), "basis": basis,
             "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    with open(path.with_name(APPROVALS_FILE + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        notebooks = read_approvals(state_dir)
        notebooks[digest] = entry
        write_atomic(path, json.dumps({"notebooks": notebooks}, indent=1, sort_keys=True, ensure_ascii=False) + "\n",
                     mode=0o644)
    return {"sha256": digest, **entry}


def curated_notebooks(cfg: dict) -> list[tuple[str, str, Path]]:
    """(kind, name, path) of the dashboards and scheduled reports shipped in the repository."""
    from .dashboards import APPS_DIR
    from .reports.schedule import REPO_ROOT, read_schedules

    found = [("dashboard", p.stem, p) for p in sorted(APPS_DIR.glob("*.ipynb"))]
    try:
        schedules = read_schedules(REPO_ROOT / "hub" / "report_schedules.yaml")
    except (OSError, ValueError):
        schedules = []
    found += [("report", s.name, s.notebook_path(REPO_ROOT)) for s in schedules]
    return found


def approve_curated(cfg: dict) -> list[dict]:
    """Approve the curated set in the administrator's name, once per content; audited.

    Returns the new approvals (empty when every curated notebook was already approved).
    """
    from .privacy.audit import record_event
    from .state import StatePaths

    state_dir = cfg["state_dir"]
    admin = cfg["auth"]["admin"]
    made = []
    for kind, name, path in curated_notebooks(cfg):
        if not path.is_file() or is_approved(state_dir, path):
            continue
        entry = approve(state_dir, path, name=name, kind=kind, by=admin,
                        basis="curated set shipped with occidata, approved at start by the administrator")
        record_event(StatePaths(Path(state_dir)).logs / "audit.jsonl", "publication", who=admin, by=admin,
                     what=name, outcome="approved", kind=kind, basis="curated", notebook_sha256=entry["sha256"])
        made.append(entry)
    return made
