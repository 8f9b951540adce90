"""The reports service: the scheduler and its pages, run by the hub at /services/reports/.

``python -m occidata.reports.service`` (declared by :func:`occidata.hub.services.reports_service`)
listens on the port of ``$JUPYTERHUB_SERVICE_URL`` under ``$JUPYTERHUB_SERVICE_PREFIX``:

- ``<prefix>``: reports, their runs (status, duration, parameters, links), the schedules and
  recent failures — logged-in hub users only (hub OAuth);
- ``<prefix>runs/<name>/<run-id>/report.html|notebook.ipynb``: a run's files (logged in);
- ``<prefix>public/`` and ``<prefix>public/<name>/``: the latest successful HTML of each
  report that a steward approved, run by the schedule (never an ad hoc run), noted in the
  archive's ledger and that read only ``public`` datasets — anyone, no login (see
  :func:`latest_public`). Anything else answers 404.

The scheduler ticks on the IOLoop every ``reports.check_every`` seconds; each report runs in
a fresh child process (papermill, the kernel and the environment it sets stay out of the
service), at most ``reports.concurrency`` at a time. It depends on no user's server.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from urllib.parse import urlparse

from jinja2 import Environment, FileSystemLoader, select_autoescape
from tornado import ioloop, web

from occidata.config import load_config
from occidata.processes import die_with_parent, hold_service_lock
from occidata.hub import csp
from occidata.hub.service_app import hub_service_app
from occidata.levels import required_level
from occidata.metrics import ReportMetrics, counted_runs, report_metrics
from occidata.approvals import is_approved
from occidata.reports.archive import list_runs, read_run
from occidata.reports.ledger import ledger_entry
from occidata.reports.schedule import Scheduler, archive_path, scheduler_from_config

log = logging.getLogger("occidata.reports.service")

TEMPLATES = Path(__file__).resolve().parent / "templates"
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
RUN_FILES = {"report.html": "text/html; charset=utf-8", "notebook.ipynb": "application/x-ipynb+json"}
# Our pages run no script; a run's HTML (a notebook's output) runs none either (see make_app).
PAGE_POLICY = csp.page_policy()
STATUS_FR = {"ok": "réussi", "failed": "échec", "running": "en cours", "interrupted": "interrompu"}


def is_public(record) -> bool:
    """A run whose every dataset read is ``public`` (and that read some, and succeeded)."""
    datasets = getattr(record, "datasets", None) or []
    return (record.status == "ok" and bool(datasets)
            and all(isinstance(d, dict) and d.get("access") == "public" for d in datasets))


def levels_needed(record) -> set[str]:
    """The hub groups a user needs to see a run: those of the non-public datasets it read.

    A run that recorded no datasets (it failed before writing its summary) may still show
    data in its partial notebook, so it needs what the service itself may read: ``partner``.
    """
    datasets = getattr(record, "datasets", None) or []
    if not datasets:
        return {"partner"}
    needed = set()
    for dataset in datasets:
        access = dataset.get("access") if isinstance(dataset, dict) else None
        if access == "public":
            continue
        # Anything not plainly partner (restricted, or unknown) needs the dataset's restricted level.
        needed.add(required_level(str(dataset.get("name")), "partner" if access == "partner" else "restricted"))
    return needed


def _groups(user) -> set[str]:
    return set((user or {}).get("groups") or []) if isinstance(user, dict) else set()


def may_see(user, record) -> bool:
    """Whether the hub user (the OAuth user model, with its groups) may see this run."""
    return levels_needed(record) <= _groups(user)


def sees_failure_of(user, record) -> bool:
    """Whether the user sees that this run failed, without its files or error: the hub's admins
    see every failure, or a failing report nobody is a member for would go unnoticed."""
    return record.status != "ok" and isinstance(user, dict) and bool(user.get("admin"))


def visible_notifications(user, notifications: list[dict], access_levels: list[str]) -> list[dict]:
    """The scheduler's alerts this user sees: with their error text for members of every level
    scheduled reports may read (an error may quote those data), without it for admins, else none."""
    if set(access_levels) <= _groups(user):
        return notifications
    if isinstance(user, dict) and user.get("admin"):
        return [{key: value for key, value in n.items() if key in ("time", "schedule", "event", "run_id")}
                for n in notifications]
    return []


def latest_public(archive_dir: Path, name: str, state_dir: str | Path):
    """The newest successful run of ``name`` if anonymous visitors may see it, else None.

    It must have been started by the schedule (ad hoc runs stay private), be noted in the
    archive's ledger with its HTML unchanged, come from a notebook a steward approved as it was
    when it ran (:mod:`occidata.approvals`), and have read public data only.
    """
    for record in list_runs(archive_dir, name):
        if record.status != "ok":
            continue
        entry = ledger_entry(archive_dir, record)
        if entry is None or entry.get("trigger") != "schedule":
            continue  # an ad hoc run, or a folder the platform did not make
        approved = is_approved(state_dir, digest=entry.get("notebook_sha256") or "")
        return record if approved and is_public(record) else None
    return None


def run_file(archive_dir: Path, name: str, run_id: str, filename: str) -> Path | None:
    """The archived file, only if every part is a plain name and it lies inside the archive."""
    if filename not in RUN_FILES or not SAFE_NAME.match(name) or not SAFE_NAME.match(run_id):
        return None
    root = Path(archive_dir).resolve()
    path = (root / name / run_id / filename).resolve()
    if not path.is_relative_to(root) or not path.is_file() or run_id.endswith(".partial"):
        return None
    return path


def _error_text(error) -> str:
    if isinstance(error, dict):
        text = f"{error.get('name', 'Error')}: {error.get('message', '')}"
        tb = (error.get("traceback") or "").strip().splitlines()
        return text + ("\n" + "\n".join(tb[-8:]) if tb else "")
    return str(error or "")


class Base(web.RequestHandler):
    def initialize(self, app_state: dict):
        self.app_state = app_state

    def set_default_headers(self):
        self.set_header(csp.HEADER, PAGE_POLICY)
        self.set_header("X-Content-Type-Options", "nosniff")

    @property
    def prefix(self) -> str:
        return self.app_state["prefix"]

    def render_page(self, template: str, **values) -> None:
        page = self.app_state["jinja"].get_template(template)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(page.render(prefix=self.prefix, lab_name=self.app_state["lab_name"], **values))

    def write_error(self, status_code: int, **kwargs) -> None:
        messages = {404: "Page introuvable / Not found", 403: "Accès refusé / Forbidden"}
        message = messages.get(status_code, "Erreur / Error")
        self.render_page("error.html", title=message, status_code=status_code, message=message)


def _hub_authenticated():
    from jupyterhub.services.auth import HubOAuthenticated

    return HubOAuthenticated


class IndexHandler(_hub_authenticated(), Base):
    @web.authenticated
    def get(self):
        state = self.app_state
        archive = state["archive_dir"]
        scheduler: Scheduler | None = state.get("scheduler")
        # Partner and restricted reports only reach the members of the hub groups that grant them.
        user_model = self.current_user
        runs = [(r, may_see(user_model, r)) for r in list_runs(archive)]
        runs = [(r, seen) for r, seen in runs if seen or sees_failure_of(user_model, r)]
        reports: dict[str, list] = {}
        public = set()
        for record, seen in runs:
            reports.setdefault(record.name, []).append((record, seen))
        for name in reports:
            if latest_public(archive, name, state["state_dir"]) is not None:
                public.add(name)
        rows = []
        for name, records in sorted(reports.items()):
            rows.append((name, [dict(
                name=r.name, run_id=r.run_id, started=r.started, status=r.status, duration_s=r.duration_s,
                parameters_text=json.dumps(r.parameters, ensure_ascii=False, default=str),
                error=_error_text(r.error) if r.status != "ok" and seen else "",
                reserved="" if seen else ", ".join(sorted(levels_needed(r))),
                has_html=seen and run_file(archive, r.name, r.run_id, "report.html") is not None,
                has_notebook=seen and run_file(archive, r.name, r.run_id, "notebook.ipynb") is not None,
            ) for r, seen in records[:50]]))
        schedules, notifications = [], []
        if scheduler is not None:
            now = dt.datetime.now(dt.timezone.utc)
            for s in scheduler.schedules.values():
                fires = scheduler.state["schedules"].get(s.name, {}).get("fires", {})
                last = fires[max(fires)]["status"] if fires else ""
                nxt = s.next_fire(now)
                schedules.append(dict(name=s.name, notebook=s.notebook, cron=s.cron, timezone=s.timezone,
                                      season=s.season, next=nxt.strftime("%d/%m/%Y %H:%M") if nxt else "",
                                      status=last, status_fr=STATUS_FR.get(last, last or "—")))
            notifications = visible_notifications(user_model, scheduler.notifications(10), state["access_levels"])
        user = self.current_user.get("name", "") if isinstance(self.current_user, dict) else ""
        self.render_page("index.html", title="Rapports", user=user, reports=rows, public=public,
                         schedules=schedules, notifications=notifications)


class RunFileHandler(_hub_authenticated(), Base):
    @web.authenticated
    def get(self, name: str, run_id: str, filename: str):
        path = run_file(self.app_state["archive_dir"], name, run_id, filename)
        if path is None or not may_see(self.current_user, read_run(path.parent)):
            raise web.HTTPError(404)
        self.set_header("Content-Type", RUN_FILES[filename])
        if filename.endswith(".ipynb"):
            self.set_header("Content-Disposition", f'attachment; filename="{name}-{run_id}.ipynb"')
        else:
            self.set_header(csp.HEADER, self.app_state["run_html_csp"])
        self.finish(path.read_bytes())


class PublicListHandler(Base):
    def get(self):
        archive = self.app_state["archive_dir"]
        names = sorted({r.name for r in list_runs(archive)})
        runs = [r for r in (latest_public(archive, n, self.app_state["state_dir"]) for n in names) if r is not None]
        self.render_page("public.html", title="Rapports publics", runs=runs)


class PublicReportHandler(Base):
    def get(self, name: str):
        if not SAFE_NAME.match(name):
            raise web.HTTPError(404)
        record = latest_public(self.app_state["archive_dir"], name, self.app_state["state_dir"])
        path = record and run_file(self.app_state["archive_dir"], name, record.run_id, "report.html")
        if not path:
            raise web.HTTPError(404)
        self.set_header("Content-Type", RUN_FILES["report.html"])
        self.set_header(csp.HEADER, self.app_state["run_html_csp"])
        self.set_header("Cache-Control", "public, max-age=300")
        self.finish(path.read_bytes())


def make_app(cfg: dict, prefix: str = "/services/reports/", scheduler: Scheduler | None = None,
             metrics: ReportMetrics | None = None) -> web.Application:
    """The tornado application; ``scheduler`` feeds the schedules and failures shown; ``metrics``
    (those its scheduler's runs count, :func:`occidata.metrics.counted_runs`) are served at ``<prefix>metrics``."""
    prefix = "/" + prefix.strip("/") + "/"
    state = {
        "prefix": prefix,
        "archive_dir": archive_path(cfg),
        "state_dir": cfg["state_dir"],
        "access_levels": list(cfg["reports"]["access_levels"]),
        "scheduler": scheduler,
        "lab_name": cfg["lab_name"],
        # A run's HTML is a notebook's output: sandboxed, no script; maps may show the tile server's images.
        "run_html_csp": csp.archive_policy(cfg.get("dashboards", {}).get("tiles_url")),
        "jinja": Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"])),
    }
    routes = [
        ("", IndexHandler),
        (r"runs/([^/]+)/([^/]+)/([^/]+)", RunFileHandler),
        (r"public/?", PublicListHandler),
        (r"public/([^/]+)/?", PublicReportHandler),
    ]
    metrics = metrics or report_metrics()
    return hub_service_app(prefix, routes, {"app_state": state}, _NotFound, metrics=metrics.registry)


class _NotFound(Base):
    def prepare(self):
        raise web.HTTPError(404)


def isolated_runner(concurrency: int):
    """A run_report that runs each report in a fresh child process (spawned, one task each),
    which dies with the service: a run is never finished by a worker whose service is gone."""
    # PR_SET_PDEATHSIG follows the thread that started the worker: the scheduler's pool threads and
    # the executor's manager thread, which live as long as the service.
    pool = ProcessPoolExecutor(max_workers=concurrency, mp_context=get_context("spawn"), max_tasks_per_child=1,
                               initializer=die_with_parent)

    def run(notebook, parameters, **options):
        from occidata.reports.runner import run_report

        return pool.submit(run_report, notebook, parameters, **options).result()

    return run, pool


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    cfg = load_config()
    lock = hold_service_lock(cfg["state_dir"], "reports")  # noqa: F841 - held for the life of the service
    os.umask(0o077)  # the archive it writes is its own: closed to every other account
    from jupyterhub.services.auth import HubOAuth

    # The service's token may only call the data service (its role): report kernels inherit it
    # to read partner data there, audited as the reports service.
    HubOAuth.instance().api_token
    url = urlparse(os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:10101"))
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/reports/")
    run, pool = isolated_runner(cfg["reports"]["concurrency"])
    metrics = report_metrics()
    scheduler = scheduler_from_config(cfg, counted_runs(run, metrics))
    app = make_app(cfg, prefix, scheduler, metrics)
    app.listen(url.port, address=url.hostname or "127.0.0.1")
    log.info("reports service on %s%s: %d schedules", url.geturl(), prefix, len(scheduler.schedules))

    def tick():
        try:
            scheduler.tick()
        except Exception:  # noqa: BLE001 - keep ticking
            log.exception("scheduler tick failed")

    loop = ioloop.IOLoop.current()
    loop.add_callback(tick)
    ioloop.PeriodicCallback(tick, cfg["reports"]["check_every"] * 1000).start()
    try:
        loop.start()
    finally:
        scheduler.shutdown(wait=False)
        pool.shutdown(wait=False, cancel_futures=True)


if __name__ == "__main__":
    main()
