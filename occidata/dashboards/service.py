"""The public dashboards service: Voilà behind the hub's proxy at ``/services/dashboards/``.

``python -m occidata.dashboards.service`` (declared by
:func:`occidata.hub.services.dashboards_service`) runs Voilà on the loopback port of
``$JUPYTERHUB_SERVICE_URL`` with ``base_url`` set to the service prefix, and adds to it:

- ``<prefix>``: a French landing page listing the dashboards (live and snapshot links);
- ``<prefix>voila/render/<slug>.ipynb``: the live dashboard, if fewer than
  ``dashboards.max_kernels`` visitor kernels are alive; above the cap, the latest snapshot with a
  short note (never an error page);
- ``<prefix>snapshots/<slug>/``: the latest static snapshot (see ``snapshots``);
- ``<prefix>status``: counts of kernels (visitors, preheated) as JSON, for operators and tests.

Kernels: ``dashboards.pool_size`` preheated kernels per dashboard (Voilà runs the notebook in
them ahead of the visit); a visitor's kernel is released a few seconds after its page is closed,
or never connected (``live``: ``dashboards.release_after``, ``dashboards.connect_timeout``), and
only pages in use count under the cap; the idle cull (``dashboards.cull_idle_timeout``) remains
behind it. Kernels see public data only: the service empties
``OCCIDATA_ACCESS_LEVELS`` and drops the hub's token before any kernel starts.
"""

from __future__ import annotations

import atexit
import datetime as dt
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from tornado import ioloop, web

from ..config import load_config
from ..processes import hold_service_lock
from ..hub import csp
from ..metrics import dashboard_metrics
from ..reports.schedule import Scheduler, archive_path
from . import APPS_DIR, BY_SLUG, Dashboard
from .live import VisitorKernels, page_kernel_id
from .snapshots import (approved_dashboards, in_language, latest_snapshot, navigation, refused_snapshots, render_changed,
                        render_missing, snapshot_schedules, with_banner)
from .static_pages import StaticPages, addressed, document, prepare_page, query_of

log = logging.getLogger("occidata.dashboards.service")

TEMPLATES = Path(__file__).resolve().parent / "templates"
VOILA_TEMPLATES = TEMPLATES / "voila"  # a JUPYTER_PATH entry: voila/templates/occidata/
STATIC_DIR = Path(__file__).resolve().parent / "static"  # explorer.js, served at <prefix>explorer/
DATA_CHECK_SECONDS = 30  # how often the service looks for snapshots whose data changed
DEFAULT_PREFIX = "/services/dashboards/"
PARIS = ZoneInfo("Europe/Paris")
PAGE_POLICY = csp.page_policy()
# The JupyterLab extensions a dashboard page loads (Voilà loads every installed one otherwise).
DASHBOARD_EXTENSIONS = ("@voila-dashboards/widgets-manager8", "@jupyter-widgets/jupyterlab-manager", "jupyterlab_pygments")
# What Voilà writes, inline, while a cell runs longer than its keep-alive timeout; it only keeps the
# connection busy (our template's voila_heartbeat does nothing), so a comment does the same.
VOILA_HEARTBEAT = "<script>window.voila_heartbeat()</script>\n"
HUB_VARIABLES = ("JUPYTERHUB_API_TOKEN", "JPY_API_TOKEN", "JUPYTERHUB_CLIENT_ID", "JUPYTERHUB_OAUTH_CALLBACK_URL",
                 "JUPYTERHUB_OAUTH_SCOPES", "JUPYTERHUB_OAUTH_ACCESS_SCOPES", "JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES")


def apps_dir_of(cfg: dict) -> Path:
    return Path(cfg["dashboards"]["apps_dir"] or APPS_DIR)


# --- kernels ------------------------------------------------------------------------------------


def pooled_kernel_ids(kernel_manager) -> set[str]:
    """Kernels waiting, preheated, in Voilà's pools (none when preheating is off)."""
    ids = set()
    # Voilà keeps its pools in a private attribute; a pool entry is a task that yields the kernel.
    for pool in getattr(kernel_manager, "_pools", {}).values():
        for task in pool:
            if task.done() and not task.cancelled() and task.exception() is None:
                ids.add(task.result()["kernel_id"])
    return ids


def kernel_counts(kernel_manager, visitor_kernels=None) -> dict:
    """Live kernels, split into preheated ones and visitors' ones; with ``visitor_kernels``
    (:class:`~occidata.dashboards.live.VisitorKernels`), the visitors' kernels in use (``in_use``),
    those of them whose page is being rendered (``rendering``) and how many were ``released``.

    A pool kernel still starting is counted as a visitor's: the cap errs on the safe side.
    """
    live = set(kernel_manager.list_kernel_ids())
    pooled = pooled_kernel_ids(kernel_manager) & live
    counts = {"live": len(live), "preheated": len(pooled), "visitors": len(live - pooled)}
    if visitor_kernels is not None:
        in_use = visitor_kernels.in_use()
        counts.update(in_use=len(in_use), rendering=len(in_use & set(visitor_kernels.rendered)),
                      released=visitor_kernels.released)
    return counts


# --- pages --------------------------------------------------------------------------------------


def voila_policy(prefix: str, tiles_url: str | None):
    """The policy of every response that is not one of our pages: Voilà's pages run scripts from
    the service's ``voila/`` path only (its bundle, widgets, our template's static file)."""
    return lambda request: csp.page_policy(scripts_from=csp.path_source(request, prefix + "voila/"),
                                           tiles_url=tiles_url)


class PageHandler(web.RequestHandler):
    """Pages of our own (landing, snapshots, status), rendered with jinja2, French first."""

    def initialize(self, state: dict):
        self.state = state

    def set_default_headers(self):
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header(csp.HEADER, PAGE_POLICY)  # our pages run no script at all

    def render_page(self, template: str, **values) -> None:
        page = self.state["jinja"].get_template(template)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header(csp.HEADER, self.state["csp"])
        self.finish(page.render(prefix=self.state["prefix"], lab_name=self.state["lab_name"], **values))

    def write_error(self, status_code: int, **kwargs) -> None:
        self.render_page("message.html", title="Page introuvable" if status_code == 404 else "Erreur",
                         message="Cette page n'existe pas." if status_code == 404 else
                         "Une erreur est survenue ; réessayez dans un instant.",
                         message_en="This page does not exist." if status_code == 404 else "Something went wrong.")


def describe(apps_dir: Path, slug: str) -> Dashboard:
    """The registry's entry for ``slug``, or one made from the notebook's own metadata."""
    if slug in BY_SLUG:
        return BY_SLUG[slug]
    try:
        title = json.loads((apps_dir / f"{slug}.ipynb").read_text(encoding="utf-8"))["metadata"].get("title")
    except (OSError, ValueError, KeyError):
        title = None
    return Dashboard(slug, title or slug, title or slug, "", "")


def snapshot_time(record) -> str:
    """When a snapshot was rendered, in Paris time, for people."""
    moment = dt.datetime.fromisoformat(record.finished or record.started)
    return moment.astimezone(PARIS).strftime("%d/%m/%Y à %H:%M")


def _message_no_snapshot(handler: PageHandler, slug: str, busy: bool) -> None:
    state = handler.state
    handler.set_header("Retry-After", "60")
    handler.render_page("message.html", title=describe(apps_dir_of(state["cfg"]), slug).title_fr, refresh=60,
                        message=("Ce tableau de bord est très demandé et sa version enregistrée est en "
                                 "préparation. Cette page se rechargera dans une minute." if busy else
                                 "La version enregistrée de ce tableau de bord est en préparation. "
                                 "Cette page se rechargera dans une minute."),
                        message_en="The saved version of this dashboard is being prepared.",
                        link=f"{state['prefix']}voila/render/{slug}.ipynb" if not busy else None)


def write_snapshot(handler: PageHandler, slug: str, busy: bool, lang: str = "fr") -> None:
    """The static page of ``slug`` in ``lang`` (:func:`write_static_page`); a snapshot rendered
    before the static views existed is served as its report's HTML, under the same bar."""
    state = handler.state
    snapshot = state["static"].latest(slug, lang)
    if snapshot is None:
        return _message_no_snapshot(handler, slug, busy)
    state["metrics"].served(slug, busy)
    if snapshot.default is not None:
        return write_static_page(handler, slug, lang, snapshot, busy)
    record = snapshot.record
    page = in_language(record.html_path.read_text(encoding="utf-8"), lang)
    page = with_banner(page, navigation(state["prefix"], slug, lang, busy, snapshot_time(record)))
    handler.set_header("Content-Type", "text/html; charset=utf-8")
    # A notebook's output, archived: no script runs in it, whatever it holds.
    handler.set_header(csp.HEADER, state["archive_csp"])
    handler.set_header("Cache-Control", "no-cache")
    handler.set_header("X-Occidata-Snapshot", record.run_id)
    handler.finish(page)


def write_static_page(handler: PageHandler, slug: str, lang: str, snapshot, busy: bool) -> None:
    """One view of the latest snapshot, as a page (or, with ``part=view``, the view alone, for
    explorer.js): the view named by the query's controls, or the closest one rendered ahead."""
    state, request = handler.state, handler.request
    wanted = {name: handler.get_query_argument(name) for name in request.query_arguments}
    changed, part = wanted.pop("changed", None), wanted.pop("part", None)
    key, exact = snapshot.closest(wanted, changed)
    fragment = part == "view"
    cached = (key, fragment, busy, exact)
    page = snapshot.pages.get(cached)
    if page is None:
        query = "" if key == snapshot.default else query_of(snapshot.values[key])
        nav = navigation(state["prefix"], slug, lang, busy, snapshot_time(snapshot.record), query, missed=not exact)
        static_path = f"{state['prefix']}{slug}/" + ("en/" if lang == "en" else "")
        if fragment:
            text = (nav if not exact else "") + addressed(snapshot.views[key], static_path)
        else:
            dashboard = describe(apps_dir_of(state["cfg"]), slug)
            text = document(dashboard.title_fr if lang == "fr" else dashboard.title_en, lang, nav,
                            snapshot.views[key], state["prefix"] + "explorer/explorer.js", static_path)
        page = snapshot.pages.setdefault(cached, prepare_page(text, snapshot.run_id, *cached))
    handler.set_header("Content-Type", "text/html; charset=utf-8")
    handler.set_header(csp.HEADER, csp.page_policy(scripts_from=csp.path_source(request, state["prefix"] + "explorer/"),
                                                   tiles_url=state["cfg"]["dashboards"]["tiles_url"]))
    handler.set_header("Cache-Control", "no-cache")
    handler.set_header("Vary", "Accept-Encoding")
    handler.set_header("X-Occidata-Snapshot", snapshot.run_id)
    handler.set_header("X-Occidata-View", query_of(snapshot.values[key])[1:])
    handler.set_header("Etag", page.etag)
    if handler.check_etag_header():
        handler.set_status(304)
        return handler.finish()
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        handler.set_header("Content-Encoding", "gzip")
        return handler.finish(page.gzipped)
    handler.finish(page.body)


class LandingHandler(PageHandler):
    def get(self):
        state = self.state
        cards = []
        for slug in state["slug_order"]:
            snapshot = state["static"].latest(slug)
            headline = state["static"].headline(slug)
            cards.append({"d": describe(apps_dir_of(state["cfg"]), slug),
                          "snapshot_time": snapshot_time(snapshot.record) if snapshot else None,
                          # From the snapshot the gate passed and the ledger vouches for, as served.
                          "headline": Markup(headline) if headline else None,
                          "snapshot_en": state["static"].latest(slug, "en") is not None})
        self.render_page("landing.html", title="Tableaux de bord publics", cards=cards)


class SnapshotHandler(PageHandler):
    """A dashboard's public address (``<prefix><slug>/``, and the older ``snapshots/<slug>/``):
    its static page, in French, or in English under ``en/``."""

    def get(self, slug: str, lang: str | None = None):
        if slug not in self.state["slugs"]:
            raise web.HTTPError(404)
        write_snapshot(self, slug, busy=False, lang=lang or "fr")


class StatusHandler(PageHandler):
    def get(self):
        state = self.state
        counts = kernel_counts(state["kernel_manager"], state["visitor_kernels"])
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps({**counts, "admitting": state["inflight"], "max_kernels": state["max_kernels"],
                                "pool_size": state["pool_size"], "dashboards": sorted(state["slugs"]),
                                "snapshots": {s: bool(latest_snapshot(state["archive_dir"], s, state_dir=state["state_dir"]))
                                              for s in state["slugs"]},
                                "snapshots_en": {s: bool(latest_snapshot(state["archive_dir"], s, "en", state_dir=state["state_dir"]))
                                                 for s in state["slugs"]},
                                # Rendered but kept from the public by the publication gate.
                                "snapshots_refused": {s: refused_snapshots(state["archive_dir"], s)
                                                      for s in state["slugs"]},
                                "served_snapshots_busy": state["busy_served"]}))


def capped_voila_handler():
    """Voilà's page handler behind the cap on visitor kernels (built late: imports Voilà)."""
    from voila.tornado.handler import TornadoVoilaHandler

    class CappedVoilaHandler(TornadoVoilaHandler):
        def initialize(self, **kwargs):
            self.state = kwargs.pop("occidata_state")
            self.rendering = False
            self.page_kernel = None  # the kernel of the page being rendered, once Voilà wrote it
            super().initialize(**kwargs)

        async def get(self, path=None):
            state = self.state
            slug = (path or "").removesuffix(".ipynb")
            if path != f"{slug}.ipynb" or slug not in state["slugs"]:
                raise web.HTTPError(404)
            # Only pages in use count (see live.py): a closed page's kernel, waiting to be released,
            # leaves its room. Requests being rendered count as kernels already, once each: a burst
            # cannot overshoot the cap.
            counts = kernel_counts(self.kernel_manager, state["visitor_kernels"])
            taken = counts["in_use"] - counts["rendering"] + state["inflight"]
            if taken >= state["max_kernels"]:
                state["busy_served"] += 1
                log.warning("dashboard %s: %d visitor kernels (cap %d), serving the snapshot", slug, taken,
                            state["max_kernels"])
                PageHandler.initialize(self, state)
                return write_snapshot(self, slug, busy=True)
            state["inflight"] += 1
            self.rendering = True
            # Sets the _xsrf cookie, which Voilà's page sends back when it closes to shut its
            # kernel down (without it that request is refused and the kernel waits for the cull).
            self.xsrf_token
            try:
                await super().get(path)
            finally:
                state["inflight"] -= 1
                if self.page_kernel:
                    state["visitor_kernels"].render_ended(self.page_kernel)

        def render_page(self, template, **values):
            return PageHandler.render_page(self, template, **values)

        def write(self, chunk):
            if self.rendering and self.page_kernel is None and isinstance(chunk, str):
                self.page_kernel = page_kernel_id(chunk)
                if self.page_kernel:
                    self.state["visitor_kernels"].render_started(self.page_kernel)
            super().write("<!-- -->\n" if chunk == VOILA_HEARTBEAT else chunk)

        def set_header(self, name, value):
            # Voilà says "text/html" alone; without the charset, non-browser clients read Latin-1.
            if name.lower() == "content-type" and value == "text/html":
                value = "text/html; charset=utf-8"
            super().set_header(name, value)

    return CappedVoilaHandler


def dashboards_app_class():
    """A Voilà application with our pages and the kernel cap in front of its own handlers."""
    from jupyterhub.services.auth import HubAuth  # identifies a scrape's token only: the service holds none
    from voila.app import Voila

    from ..hub.service_app import MetricsHandler

    class DashboardsVoila(Voila):
        occidata_state: dict = {}

        def init_handlers(self):
            state = self.occidata_state
            state["kernel_manager"] = self.kernel_manager
            kernels = self.kernel_manager
            # Closed pages' kernels are released within seconds, not at the idle cull.
            state["visitor_kernels"] = VisitorKernels(
                kernels, lambda: set(kernels.list_kernel_ids()) - pooled_kernel_ids(kernels),
                state["release_after"], state["connect_timeout"])
            state["visitor_kernels"].start()
            prefix = state["prefix"]
            render_kwargs = {"template_paths": self.template_paths, "config": self.config,
                             "voila_configuration": self.voila_configuration, "occidata_state": state}
            ours = [
                (prefix, LandingHandler, {"state": state}),
                (prefix + r"status", StatusHandler, {"state": state}),
                (prefix + r"metrics", MetricsHandler, {"registry": state["metrics"].registry, "hub_auth": HubAuth()}),
                (prefix + r"snapshots/([a-z0-9-]+)/?(?:(en)/?)?", SnapshotHandler, {"state": state}),
                (prefix + r"explorer/(explorer\.js)", web.StaticFileHandler, {"path": str(STATIC_DIR)}),
                (prefix + r"voila/render/(.*)", capped_voila_handler(), render_kwargs),
                (prefix + r"voila/tree(?:/.*)?", web.RedirectHandler, {"url": prefix}),
            ]
            # Every response of the application (Voilà's own, static files, errors) gets a policy
            # without inline script; Voilà.start has made self.app just before asking for handlers.
            csp.protect(self.app, state["voila_csp"])
            # Tornado takes the first pattern that matches: ours come before Voilà's, and the
            # dashboards' own addresses (<prefix><slug>/) after every other of ours.
            ours.append((prefix + r"([a-z0-9-]+)/(?:(en)/)?", SnapshotHandler, {"state": state}))
            return ours + super().init_handlers()

    return DashboardsVoila


def voila_config(cfg: dict, prefix: str, port: int):
    """Voilà's traitlets configuration from the platform's ``dashboards`` section."""
    from traitlets.config import Config

    section = cfg["dashboards"]
    c = Config()
    c.Voila.ip = "127.0.0.1"
    c.Voila.port = port
    c.Voila.port_retries = 0  # the hub's proxy points at this port and no other
    c.Voila.open_browser = False
    c.Voila.base_url = prefix
    c.Voila.root_dir = str(apps_dir_of(cfg))
    c.VoilaConfiguration.template = "occidata"
    c.VoilaConfiguration.show_tracebacks = False
    c.VoilaConfiguration.file_allowlist = []  # the notebooks' folder serves no files
    # Only the widgets' renderer reaches a citizen's phone: the lab's extensions (launcher,
    # top bar, resource use) are installed in the same environment and would fail here.
    c.VoilaConfiguration.extension_allowlist = list(DASHBOARD_EXTENSIONS)
    c.VoilaConfiguration.preheat_kernel = section["pool_size"] > 0
    c.VoilaConfiguration.default_pool_size = section["pool_size"]
    # Voilà preheats every notebook of its folder, running it ahead of any visit: never one
    # that no steward approved (see occidata.approvals).
    approved = set(approved_dashboards(apps_dir_of(cfg), cfg["state_dir"]))
    root = apps_dir_of(cfg)  # as Voilà lists it: Path(root_dir).rglob
    c.VoilaKernelManager.preheat_denylist = [re.escape(str(path)) + "$" for path in sorted(root.rglob("*.ipynb"))
                                             if path.stem not in approved or path.parent != root]
    c.VoilaExporter.language_code = "fr"
    # Kernels talk to the service over Unix sockets, not loopback TCP ports: with many kernels,
    # a port jupyter_client picked for a new kernel was sometimes taken meanwhile by one of the
    # service's own connections, and the kernel died at every restart (Address already in use).
    c.KernelManager.transport = "ipc"
    c.MappingKernelManager.cull_idle_timeout = section["cull_idle_timeout"]
    c.MappingKernelManager.cull_interval = section["cull_interval"]
    c.MappingKernelManager.cull_connected = False
    c.MappingKernelManager.cull_busy = False
    return c


def kernel_environment(cfg: dict) -> None:
    """This process's environment, which every kernel inherits: public data, no hub token."""
    for name in HUB_VARIABLES:
        os.environ.pop(name, None)
    os.environ["OCCIDATA_ACCESS_LEVELS"] = ""
    os.environ["OCCIDATA_DATA_DIR"] = cfg["data_dir"]
    os.environ["OCCIDATA_STATE_DIR"] = cfg["state_dir"]
    # The kernels' Unix sockets live in the runtime folder: a short private one (a socket's path
    # is limited to 107 bytes), this account's alone.
    runtime = tempfile.mkdtemp(prefix="occidata-voila-")
    atexit.register(shutil.rmtree, runtime, True)
    os.environ["JUPYTER_RUNTIME_DIR"] = runtime
    # Voilà looks for templates on the Jupyter data path: put our 'occidata' template first.
    os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(VOILA_TEMPLATES.parent), os.environ.get("JUPYTER_PATH")) if p)


def make_state(cfg: dict, prefix: str) -> dict:
    section = cfg["dashboards"]
    approved = approved_dashboards(apps_dir_of(cfg), cfg["state_dir"])
    jinja = Environment(loader=FileSystemLoader(str(TEMPLATES / "pages")), autoescape=select_autoescape(["html"]))
    state = {"cfg": cfg, "prefix": prefix, "lab_name": cfg["lab_name"], "jinja": jinja,
            # Only dashboards a steward approved (as they are now) are served, live or saved.
            "slug_order": approved, "slugs": set(approved), "state_dir": cfg["state_dir"],
            "archive_dir": archive_path(cfg), "static": StaticPages(archive_path(cfg), cfg["state_dir"]),
            "max_kernels": section["max_kernels"], "pool_size": section["pool_size"],
            "csp": PAGE_POLICY, "archive_csp": csp.archive_policy(section["tiles_url"]),
            "voila_csp": voila_policy(prefix, section["tiles_url"]), "inflight": 0, "busy_served": 0,
            "release_after": section["release_after"], "connect_timeout": section["connect_timeout"],
            "visitor_kernels": None}
    # Served at <prefix>metrics; the kernels are counted at each scrape, once Voilà has started them.
    state["metrics"] = dashboard_metrics(lambda: kernel_counts(state["kernel_manager"]) if "kernel_manager" in state
                                         else None)
    return state


def keep_snapshots_fresh(run, cfg: dict, apps_dir: Path, archive: Path, slugs: list[str]) -> None:
    """The first snapshots, then, every :data:`DATA_CHECK_SECONDS`, a snapshot rendered again as soon
    as the data it shows changed (an ingest, a new build): citizens never wait for the schedule."""
    render_missing(run, cfg, apps_dir, archive, slugs)
    tried: set = set()
    while True:
        try:
            render_changed(run, cfg, apps_dir, archive, slugs, tried, state_dir=cfg["state_dir"])
        except Exception:  # noqa: BLE001 - keep checking
            log.exception("checking the snapshots' data failed")
        time.sleep(DATA_CHECK_SECONDS)


def start_snapshots(cfg: dict) -> Scheduler:
    """Render missing snapshots now (in the background), again when their data change, and on
    ``dashboards.snapshot_cron``."""
    from ..reports.service import isolated_runner

    apps_dir, archive = apps_dir_of(cfg), archive_path(cfg)
    run, _pool = isolated_runner(1)  # one rendering at a time: the live dashboards come first
    slugs = approved_dashboards(apps_dir, cfg["state_dir"])
    scheduler = Scheduler(snapshot_schedules(cfg, apps_dir, slugs), Path(cfg["state_dir"]) / "dashboards", run,
                          archive_dir=archive, concurrency=1, catch_up="latest")
    threading.Thread(target=keep_snapshots_fresh, args=(run, cfg, apps_dir, archive, slugs), name="fresh-snapshots",
                     daemon=True).start()

    def tick():
        try:
            scheduler.tick()
        except Exception:  # noqa: BLE001 - keep ticking
            log.exception("snapshot scheduler tick failed")

    ioloop.PeriodicCallback(tick, 30_000).start()
    ioloop.IOLoop.current().add_callback(tick)
    return scheduler


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    cfg = load_config()
    lock = hold_service_lock(cfg["state_dir"], "dashboards")  # noqa: F841 - held for the life of the service
    os.umask(0o077)  # the archive it writes is its own: closed to every other account
    kernel_environment(cfg)
    url = urlparse(os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:10102"))
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", DEFAULT_PREFIX)
    if not apps_dir_of(cfg).is_dir():
        raise SystemExit(f"dashboards.apps_dir: {apps_dir_of(cfg)} is not a folder of dashboards (voila_apps/)")
    app_class = dashboards_app_class()
    app_class.occidata_state = make_state(cfg, prefix)
    app = app_class(config=voila_config(cfg, prefix, url.port))
    app.initialize(argv=[])
    start_snapshots(cfg)
    log.info("dashboards service on %s%s: %s", url.geturl(), prefix, ", ".join(sorted(app_class.occidata_state["slugs"])))
    app.start()


if __name__ == "__main__":
    main()
