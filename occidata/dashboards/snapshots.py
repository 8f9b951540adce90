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

from ..reports.archive import RunRecord, latest_run
from ..reports.runner import new_run_id
from ..reports.schedule import Schedule, parse_schedule
from . import DASHBOARDS

log = logging.getLogger("occidata.dashboards.snapshots")

SNAPSHOT_PARAMETERS = {"lang": "fr", "snapshot": True}
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
BODY_TAG = re.compile(r"<body[^>]*>", re.IGNORECASE)


def available(apps_dir: str | Path) -> list[str]:
    """Slugs of the dashboards in ``apps_dir``: the registered ones first, then any other
    ``<slug>.ipynb`` a site added (listed under its notebook's ``metadata.title``)."""
    apps_dir = Path(apps_dir)
    found = {p.stem for p in apps_dir.glob("*.ipynb") if SLUG.match(p.stem)} if apps_dir.is_dir() else set()
    registered = [d.slug for d in DASHBOARDS if d.slug in found]
    return registered + sorted(found - set(registered))


def snapshot_schedules(cfg: dict, apps_dir: str | Path) -> list[Schedule]:
    """One report schedule per dashboard, on ``dashboards.snapshot_cron``.

    Raises ScheduleError naming ``dashboards.snapshot_cron`` when the expression is not valid.
    """
    section = cfg["dashboards"]
    schedules = []
    for index, slug in enumerate(available(apps_dir)):
        item = {"name": f"instantane-{slug}", "notebook": str(Path(apps_dir) / f"{slug}.ipynb"),
                "cron": section["snapshot_cron"], "parameters": dict(SNAPSHOT_PARAMETERS),
                "timeout": section["snapshot_timeout"], "retries": 1}
        schedules.append(parse_schedule(item, "configuration dashboards.snapshot_cron", index))
    return schedules


def latest_snapshot(archive_dir: str | Path, slug: str) -> RunRecord | None:
    """The newest successful snapshot of ``slug`` that has its HTML, or None."""
    record = latest_run(archive_dir, slug, status="ok")
    if record is None or not record.html_path.is_file():
        return None
    if record.parameters.get("snapshot") is not True:
        return None  # a run of the notebook made by hand, with widgets: not a snapshot
    return record


def render_missing(run: Callable, cfg: dict, apps_dir: str | Path, archive_dir: str | Path) -> list[RunRecord]:
    """Render, one after the other, the snapshot of every dashboard that has none yet.

    ``run`` is :func:`occidata.reports.runner.run_report` or the isolated runner the service uses.
    A failed rendering is logged and left for the next scheduled fire.
    """
    records = []
    for slug in available(apps_dir):
        if latest_snapshot(archive_dir, slug) is not None:
            continue
        log.info("rendering the first snapshot of %s", slug)
        try:
            record = run(str(Path(apps_dir) / f"{slug}.ipynb"), dict(SNAPSHOT_PARAMETERS),
                         timeout=cfg["dashboards"]["snapshot_timeout"], archive_dir=archive_dir,
                         run_id=new_run_id() + f"-instantane-{slug}")
        except Exception:  # noqa: BLE001 - the service must keep serving the live dashboards
            log.exception("snapshot of %s could not be rendered", slug)
            continue
        if record.status != "ok":
            log.error("snapshot of %s failed: %s", slug, record.error)
        records.append(record)
    return records


def with_banner(page: str, banner_html: str) -> str:
    """``page`` with ``banner_html`` inserted right after its ``<body>`` tag (or at the top)."""
    match = BODY_TAG.search(page)
    at = match.end() if match else 0
    return page[:at] + banner_html + page[at:]


def busy_banner(taken_at: str, live_url: str) -> str:
    """The note shown above a snapshot served because the live kernels are at their cap."""
    return (
        '<div role="status" class="od-busy" style="background:#fff3cd;color:#3d2e00;border:1px solid #c9a227;'
        'padding:.6rem 1rem;margin:.5rem;font-family:system-ui,sans-serif">'
        "<strong>Beaucoup de visiteurs en ce moment.</strong> Voici la dernière version enregistrée "
        f"({html.escape(taken_at)}). <a href=\"{html.escape(live_url)}\">Réessayer la version interactive</a> "
        'dans quelques minutes. <span lang="en">Busy: this is the latest saved version.</span></div>'
    )
