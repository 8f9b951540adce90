"""Static snapshots of the dashboards, rendered through ``occidata.reports``.

Each dashboard notebook runs under papermill with ``snapshot=True`` (no widgets, the default
view as plain HTML) and is archived like any report, under ``<reports archive>/<slug>/``; its
``report.html`` (no code, nothing fetched from outside the host) is the snapshot. Snapshots are
the fastest first paint and what visitors get when the live kernels are at their cap.
"""

from __future__ import annotations

import html
import logging
import re
from pathlib import Path
from typing import Callable

from ..approvals import is_approved
from ..datasets.stored import stored_record
from ..reports.archive import RunRecord, list_runs
from ..reports.ledger import ledger_entry, record_run
from ..reports.runner import new_run_id
from ..reports.schedule import Schedule, parse_schedule
from . import DASHBOARDS, gate
from .gate import DEFAULT_K

log = logging.getLogger("occidata.dashboards.snapshots")

LANGUAGES = ("fr", "en")  # French first: rendered first at start, served at snapshots/<slug>/
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
BODY_TAG = re.compile(r"<body[^>]*>", re.IGNORECASE)


def available(apps_dir: str | Path) -> list[str]:
    """Slugs of the dashboards in ``apps_dir``: the registered ones first, then any other
    ``<slug>.ipynb`` a site added (listed under its notebook's ``metadata.title``)."""
    apps_dir = Path(apps_dir)
    found = {p.stem for p in apps_dir.glob("*.ipynb") if SLUG.match(p.stem)} if apps_dir.is_dir() else set()
    registered = [d.slug for d in DASHBOARDS if d.slug in found]
    return registered + sorted(found - set(registered))


def snapshot_parameters(lang: str) -> dict:
    return {"lang": lang, "snapshot": True}


def schedule_name(slug: str, lang: str) -> str:
    return f"instantane-{slug}" + ("" if lang == "fr" else f"-{lang}")


def snapshot_schedules(cfg: dict, apps_dir: str | Path, slugs: list[str] | None = None) -> list[Schedule]:
    """One report schedule per dashboard (``slugs``, default all) and language, on
    ``dashboards.snapshot_cron``.

    Raises ScheduleError naming ``dashboards.snapshot_cron`` when the expression is not valid.
    """
    section = cfg["dashboards"]
    schedules = []
    for slug in available(apps_dir) if slugs is None else slugs:
        for lang in LANGUAGES:
            item = {"name": schedule_name(slug, lang), "notebook": str(Path(apps_dir) / f"{slug}.ipynb"),
                    "cron": section["snapshot_cron"], "parameters": snapshot_parameters(lang),
                    "timeout": section["snapshot_timeout"], "retries": 1}
            schedules.append(parse_schedule(item, "configuration dashboards.snapshot_cron", len(schedules)))
    return schedules


def latest_snapshot(archive_dir: str | Path, slug: str, lang: str = "fr", k: int = DEFAULT_K,
                    state_dir: str | Path | None = None) -> RunRecord | None:
    """The newest snapshot of ``slug`` in ``lang`` that may be served, or None: a successful run
    in snapshot mode that the platform recorded itself (:mod:`occidata.reports.ledger`, HTML
    unchanged since), that passes the publication gate's output checks and, when ``state_dir``
    is given, whose notebook had a steward's recorded approval (:mod:`occidata.approvals`).

    Runs of the notebook made by hand (``snapshot`` false: with widgets) are not snapshots. A
    snapshot the gate refuses is never served: it is skipped (logged once, with the reasons,
    and noted in its run's gate.json) and the previous good one is served instead.
    """
    for record in _rendered(archive_dir, slug, lang):
        entry = ledger_entry(archive_dir, record)
        if entry is None:
            continue
        if state_dir is not None and not is_approved(state_dir, digest=entry.get("notebook_sha256") or ""):
            continue
        if _refused(record, k):
            continue
        return record
    return None


def _rendered(archive_dir: str | Path, slug: str, lang: str) -> list[RunRecord]:
    return [record for record in list_runs(archive_dir, slug)
            if record.status == "ok" and record.parameters.get("snapshot") is True
            and record.parameters.get("lang", "fr") == lang and record.html_path.is_file()]


def refused_snapshots(archive_dir: str | Path, slug: str, lang: str = "fr", k: int = DEFAULT_K) -> int:
    """How many recorded snapshots of ``slug`` in ``lang`` the publication gate refused."""
    return sum(1 for record in _rendered(archive_dir, slug, lang)
               if ledger_entry(archive_dir, record) is not None and _refused(record, k))


def approved_dashboards(apps_dir: str | Path, state_dir: str | Path) -> list[str]:
    """The dashboards of ``apps_dir`` whose notebook, as it is now, a steward approved."""
    return [slug for slug in available(apps_dir) if is_approved(state_dir, Path(apps_dir) / f"{slug}.ipynb")]


def _refused(record: RunRecord, k: int) -> bool:
    """Whether the gate refuses this snapshot; the first time, a log line says why."""
    first = (str(record.folder), k) not in gate._VERDICTS
    reasons = gate.check_snapshot(record, k)
    if reasons and first:
        log.warning("snapshot %s of %s is not served (publication gate): %s", record.run_id, record.name,
                    "; ".join(reasons))
    return bool(reasons)


def _render(run: Callable, cfg: dict, apps_dir: str | Path, archive_dir: str | Path, slug: str,
            lang: str) -> RunRecord | None:
    """One snapshot of ``slug`` in ``lang``, noted in the archive's ledger; None when it could not run."""
    notebook = Path(apps_dir) / f"{slug}.ipynb"
    try:
        record = run(str(notebook), snapshot_parameters(lang), timeout=cfg["dashboards"]["snapshot_timeout"],
                     archive_dir=archive_dir, run_id=new_run_id() + "-" + schedule_name(slug, lang))
        record_run(archive_dir, record, trigger="snapshot", notebook=notebook)
    except Exception:  # noqa: BLE001 - the service must keep serving the live dashboards
        log.exception("%s snapshot of %s could not be rendered", lang, slug)
        return None
    if record.status != "ok":
        log.error("%s snapshot of %s failed: %s", lang, slug, record.error)
    return record


def render_missing(run: Callable, cfg: dict, apps_dir: str | Path, archive_dir: str | Path,
                   slugs: list[str] | None = None) -> list[RunRecord]:
    """Render, one after the other, every snapshot not there yet: French ones first.

    ``run`` is :func:`occidata.reports.runner.run_report` or the isolated runner the service uses;
    ``slugs``: the dashboards to render (default: every one of ``apps_dir``). Each run is noted
    in the archive's ledger. A failed rendering is logged and left for the next scheduled fire.
    """
    records = []
    for lang in LANGUAGES:
        for slug in available(apps_dir) if slugs is None else slugs:
            if latest_snapshot(archive_dir, slug, lang) is not None:
                continue
            log.info("rendering the first %s snapshot of %s", lang, slug)
            record = _render(run, cfg, apps_dir, archive_dir, slug, lang)
            if record is not None:
                records.append(record)
    return records


def data_changed(record: RunRecord, data_dir: str | Path) -> list[str]:
    """The datasets ``record`` read whose stored files changed since (an ingest, a new build):
    their build time or file checksums differ from what the run noted. A dataset the caller
    cannot read the record of is not counted as changed."""
    changed = []
    for read in record.datasets or []:
        try:
            stored = stored_record(data_dir, read["name"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if stored is None:
            continue
        if (dict(stored.get("files") or {}) != dict(read.get("checksums") or {})
                or stored.get("built_at") != read.get("built_at")):
            changed.append(read["name"])
    return changed


def render_changed(run: Callable, cfg: dict, apps_dir: str | Path, archive_dir: str | Path, slugs: list[str],
                   tried: set, state_dir: str | Path | None = None) -> list[RunRecord]:
    """Render again every snapshot whose data changed since it was rendered (:func:`data_changed`),
    French first. ``tried`` holds the snapshots already rendered again (a failure is not retried
    before the next scheduled fire, nor before the data change again)."""
    records = []
    for lang in LANGUAGES:
        for slug in slugs:
            record = latest_snapshot(archive_dir, slug, lang, state_dir=state_dir)
            if record is None or (slug, lang, record.run_id) in tried:
                continue
            changed = data_changed(record, cfg["data_dir"])
            if not changed:
                continue
            tried.add((slug, lang, record.run_id))
            log.info("rendering the %s snapshot of %s again: %s changed", lang, slug, ", ".join(changed))
            fresh = _render(run, cfg, apps_dir, archive_dir, slug, lang)
            if fresh is not None:
                records.append(fresh)
    return records


def with_banner(page: str, banner_html: str) -> str:
    """``page`` with ``banner_html`` inserted right after its ``<body>`` tag (or at the top)."""
    match = BODY_TAG.search(page)
    at = match.end() if match else 0
    return page[:at] + banner_html + page[at:]


def navigation(prefix: str, slug: str, lang: str, busy: bool, taken_at: str, query: str = "",
               missed: bool = False) -> str:
    """The bar above a served snapshot: what it is, the live page (« Explorer en direct »), the
    other language (at the same view: ``query``, e.g. ``?day=2024-03-16``), the way back.

    ``busy``: served because the live kernels are at their cap (says so, and when it was saved).
    ``missed``: the view asked for was not rendered ahead; the closest one is shown.
    """
    live = html.escape(f"{prefix}voila/render/{slug}.ipynb")
    other = html.escape(f"{prefix}{slug}/" + ("en/" if lang == "fr" else "") + query)
    style = ("font-family:system-ui,sans-serif;font-size:.9rem;padding:.5rem .8rem;margin:.3rem;"
             "border:1px solid #c9a227;background:#fff3cd;color:#3d2e00" if busy else
             "font-family:system-ui,sans-serif;font-size:.9rem;padding:.3rem .8rem;color:#1b1b1b")
    if lang == "fr":
        lead = ("<strong>Beaucoup de visiteurs en ce moment.</strong> Voici la version enregistrée "
                f"({html.escape(taken_at)}). <a href=\"{live}\">Réessayer en direct</a> dans quelques minutes." if busy
                else f"Version enregistrée le {html.escape(taken_at)} · <a href=\"{live}\">Explorer en direct</a>")
        links = (f' · <a href="{other}" lang="en" hreflang="en">English</a>'
                 f' · <a href="{html.escape(prefix)}">Tous les tableaux de bord</a>')
        miss = ("<p>Cette combinaison n'a pas été préparée à l'avance : voici la plus proche. "
                f"<a href=\"{live}\">Explorez en direct</a> pour la voir.</p>")
    else:
        lead = ("<strong>Many visitors right now.</strong> This is the saved version "
                f"({html.escape(taken_at)}). <a href=\"{live}\">Try the live page</a> again in a few minutes." if busy
                else f"Saved on {html.escape(taken_at)} · <a href=\"{live}\">Explore live</a>")
        links = (f' · <a href="{other}" lang="fr" hreflang="fr">Français</a>'
                 f' · <a href="{html.escape(prefix)}">All dashboards</a>')
        miss = ("<p>This combination was not prepared ahead: here is the closest one. "
                f"<a href=\"{live}\">Explore live</a> to see it.</p>")
    role = ' role="status"' if busy or missed else ""
    css_class = "od-busy" if busy else "od-snapshot-nav"
    label = "Autres pages" if lang == "fr" else "Other pages"
    return (f'<div class="{css_class}"{role} lang="{lang}" style="{style}">{lead}'
            f'<nav aria-label="{label}" style="display:inline">{links}</nav>{miss if missed else ""}</div>')


def in_language(page: str, lang: str) -> str:
    """The page with its ``<html lang>`` set to ``lang`` (reports are rendered as French)."""
    return re.sub(r'<html lang="[a-z]+"', f'<html lang="{lang}"', page, count=1)
