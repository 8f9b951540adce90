"""The static pages citizens get first: every view of a dashboard's latest snapshot, from memory.

A snapshot run renders the default view and every other view of the dashboard's static page
(:mod:`occidata.dashboards.explorer`) as outputs of its executed notebook, which the publication
gate judged whole and the archive's ledger vouches for (:func:`occidata.reports.ledger.executed_unchanged`).
:class:`StaticPages` reads them once per run and keeps, per view, the page ready to send (UTF-8
and gzip), so that a crowd costs the service a dictionary lookup per visit. Which snapshot is the
latest is asked of the archive at most every :data:`RECHECK_SECONDS`.

A snapshot recorded before the ledger noted executed notebooks has no views here: the service
serves its report's HTML as before.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from ..reports.archive import RunRecord
from ..reports.ledger import executed_unchanged
from .explorer import FORM_CLASS, METADATA, view_key
from .render import escape
from .snapshots import latest_snapshot

__all__ = ["StaticPages", "Snapshot", "Page", "prepare_page", "document", "addressed", "query_of", "RECHECK_SECONDS", "headline_of"]

#: How long the service trusts what it knows of the latest snapshot before asking the archive again.
RECHECK_SECONDS = 5.0
HEADLINE = re.compile(r'<div class="od-headline">')
DIV = re.compile(r"<(/?)div\b", re.IGNORECASE)


@dataclass(frozen=True)
class Page:
    """A response ready to send: its bytes, their gzip form and their entity tag."""

    body: bytes
    gzipped: bytes
    etag: str


def prepare_page(text: str, *identity) -> Page:
    """``text`` ready to send, its entity tag made of ``identity`` (the run, the view, its form)."""
    body = text.encode("utf-8")
    etag = hashlib.sha1(repr(identity).encode("utf-8")).hexdigest()[:20]
    return Page(body, gzip.compress(body, compresslevel=6, mtime=0), f'"{etag}"')


@dataclass
class Snapshot:
    """One rendered snapshot of a dashboard in one language and the views it holds."""

    record: RunRecord
    views: dict[str, str]  # view key -> the view's HTML (the page's whole dashboard)
    values: dict[str, dict[str, str]]  # view key -> {control name: option key}
    default: str | None  # the key of the view the page opens with (None: no views, the report's HTML)
    pages: dict[tuple, Page] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        return self.record.run_id

    def closest(self, wanted: dict[str, str], changed: str | None = None) -> tuple[str, bool]:
        """The key of the view for ``wanted`` (control -> option key) and whether it is that exact
        view; otherwise the view sharing most of its values (``changed`` first: the control the
        visitor just moved), else the default view."""
        names = set(self.values.get(self.default, {}))
        asked = {**self.values.get(self.default, {}), **{k: v for k, v in wanted.items() if k in names}}
        key = view_key(asked)
        if key in self.views:
            return key, True

        def score(candidate: str) -> tuple:
            values = self.values[candidate]
            return (changed is not None and values.get(changed) == asked.get(changed),
                    sum(values.get(name) == asked.get(name) for name in names), candidate == self.default)

        return max(self.values, key=score), False


def read_views(record: RunRecord) -> tuple[dict[str, str], dict[str, dict[str, str]], str | None]:
    """The views of an executed snapshot notebook: HTML and values by key, and the default's key."""
    notebook = json.loads(record.notebook_path.read_text(encoding="utf-8"))
    views, values, default = {}, {}, None
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs") or []:
            marks = (output.get("metadata") or {}).get(METADATA) or {}
            shown = marks.get("values")
            page = (output.get("data") or {}).get("text/html")
            if not isinstance(shown, dict) or page is None:
                continue
            shown = {str(k): str(v) for k, v in shown.items()}
            key = view_key(shown)
            views[key] = "".join(page) if isinstance(page, list) else str(page)
            values[key] = shown
            if marks.get("default") and default is None:
                default = key
    return views, values, default if default in views else None


def headline_of(view_html: str) -> str | None:
    """The ``<div class="od-headline">`` block of a view (the figure that matters first), or None."""
    match = HEADLINE.search(view_html)
    if not match:
        return None
    depth = 0
    for tag in DIV.finditer(view_html, match.start()):
        depth += -1 if tag.group(1) else 1
        if depth == 0:
            end = view_html.find(">", tag.end())
            return view_html[match.start():end + 1] if end >= 0 else None
    return None


class StaticPages:
    """The latest servable snapshot of each dashboard and language, and its views, in memory."""

    def __init__(self, archive_dir: str | Path, state_dir: str | Path | None):
        self.archive_dir, self.state_dir = archive_dir, state_dir
        self._known: dict[tuple[str, str], tuple[float, Snapshot | None]] = {}
        self._lock = threading.Lock()

    def latest(self, slug: str, lang: str = "fr") -> Snapshot | None:
        """The latest snapshot that may be served (see :func:`occidata.dashboards.snapshots.latest_snapshot`),
        asked of the archive at most every :data:`RECHECK_SECONDS`."""
        now = time.monotonic()
        known = self._known.get((slug, lang))
        if known and now - known[0] < RECHECK_SECONDS:
            return known[1]
        with self._lock:
            record = latest_snapshot(self.archive_dir, slug, lang, state_dir=self.state_dir)
            current = known[1] if known else None
            if record is None:
                current = None
            elif current is None or current.run_id != record.run_id:
                current = self._load(record)
            self._known[(slug, lang)] = (now, current)
            return current

    def forget(self) -> None:
        """Ask the archive again at the next visit (after a new snapshot was rendered)."""
        self._known.clear()

    def _load(self, record: RunRecord) -> Snapshot:
        if not executed_unchanged(self.archive_dir, record):
            return Snapshot(record, {}, {}, None)
        try:
            views, values, default = read_views(record)
        except (OSError, ValueError):
            return Snapshot(record, {}, {}, None)
        return Snapshot(record, views, values, default)

    def headline(self, slug: str, lang: str = "fr") -> str | None:
        """The headline block of the latest snapshot's default view, for the landing page."""
        snapshot = self.latest(slug, lang)
        if snapshot is None or snapshot.default is None:
            return None
        return headline_of(snapshot.views[snapshot.default])


def query_of(values: dict[str, str]) -> str:
    """``?name=key&...`` for a view's values (empty for none), names in their order."""
    return "?" + urlencode(values) if values else ""


def addressed(view_html: str, static_path: str) -> str:
    """The view with its form asking the static page's address (``static_path``), whichever
    address served it (the live page's, when the live kernels are at their cap)."""
    return view_html.replace(f'<form class="{FORM_CLASS}" method="get" action=""',
                             f'<form class="{FORM_CLASS}" method="get" action="{escape(static_path)}"', 1)


def document(title: str, lang: str, nav: str, view_html: str, script_src: str, static_path: str) -> str:
    """A static page: the bar (:func:`occidata.dashboards.snapshots.navigation`), the view, and the
    host's script that switches views (the page works without it), told the static page's address."""
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{escape(title)}</title><link rel="icon" href="data:,">'
            "<style>body{margin:0;background:#fff}</style></head><body>"
            f'{nav}<main id="contenu" class="od-view" data-static-path="{escape(static_path)}">'
            f"{addressed(view_html, static_path)}</main>"
            f'<script src="{escape(script_src)}"></script></body></html>')
