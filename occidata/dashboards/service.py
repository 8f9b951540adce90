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
them ahead of the visit); a visitor kernel that no browser talks to for
``dashboards.cull_idle_timeout`` seconds is shut down (Voilà's own page shuts its kernel down
when the tab closes). Kernels see public data only: the service empties
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
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from tornado import ioloop, web

from ..config import load_config
from ..processes import hold_service_lock
from ..hub import csp
from ..reports.schedule import Scheduler, archive_path
from . import APPS_DIR, BY_SLUG, Dashboard
from .snapshots import (approved_dashboards, in_language, latest_snapshot, navigation, refused_snapshots, render_missing,
                        snapshot_schedules, with_banner)

log = logging.getLogger("occidata.dashboards.service")

TEMPLATES = Path(__file__).resolve().parent / "templates"
VOILA_TEMPLATES = TEMPLATES / "voila"  # a JUPYTER_PATH entry: voila/templates/occidata/
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


def kernel_counts(kernel_manager) -> dict:
    """Live kernels, split into preheated ones and visitors' ones.

    A pool kernel still starting is counted as a visitor's: the cap errs on the safe side.
    """
    live = set(kernel_manager.list_kernel_ids())
    pooled = pooled_kernel_ids(kernel_manager) & live
    return {"live": len(live), "preheated": len(pooled), "visitors": len(live - pooled)}


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


def write_snapshot(handler: PageHandler, slug: str, busy: bool, lang: str = "fr") -> None:
    """The latest snapshot of ``slug`` in ``lang``, under a bar saying what it is (and, when
    ``busy``, that the live kernels are at their cap); a 'being prepared' page when there is none."""
    state = handler.state
    record = latest_snapshot(state["archive_dir"], slug, lang, state_dir=state["state_dir"])
    live_url = f"{state['prefix']}voila/render/{slug}.ipynb"
    if record is None:
        handler.set_header("Retry-After", "60")
        handler.render_page("message.html", title=describe(apps_dir_of(state["cfg"]), slug).title_fr, refresh=60,
                            message=("Ce tableau de bord est très demandé et sa version enregistrée est en "
                                     "préparation. Cette page se rechargera dans une minute." if busy else
                                     "La version enregistrée de ce tableau de bord est en préparation. "
                                     "Cette page se rechargera dans une minute."),
                            message_en="The saved version of this dashboard is being prepared.",
                            link=live_url if not busy else None)
        return
    page = in_language(record.html_path.read_text(encoding="utf-8"), lang)
    page = with_banner(page, navigation(state["prefix"], slug, lang, busy, snapshot_time(record)))
    handler.set_header("Content-Type", "text/html; charset=utf-8")
    # A notebook's output, archived: no script runs in it, whatever it holds.
    handler.set_header(csp.HEADER, state["archive_csp"])
    handler.set_header("Cache-Control", "no-cache")
    handler.set_header("X-Occidata-Snapshot", record.run_id)
    handler.finish(page)


class LandingHandler(PageHandler):
    def get(self):
        state = self.state
        cards = []
        for slug in state["slug_order"]:
            record = latest_snapshot(state["archive_dir"], slug, state_dir=state["state_dir"])
            cards.append({"d": describe(apps_dir_of(state["cfg"]), slug),
                          "snapshot_time": snapshot_time(record) if record else None,
                          "snapshot_en": latest_snapshot(state["archive_dir"], slug, "en",
                                                         state_dir=state["state_dir"]) is not None})
        self.render_page("landing.html", title="Tableaux de bord publics", cards=cards)


class SnapshotHandler(PageHandler):
    def get(self, slug: str, lang: str | None = None):
        if slug not in self.state["slugs"]:
            raise web.HTTPError(404)
        write_snapshot(self, slug, busy=False, lang=lang or "fr")


class StatusHandler(PageHandler):
    def get(self):
        state = self.state
        counts = kernel_counts(state["kernel_manager"])
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
            super().initialize(**kwargs)

        async def get(self, path=None):
            state = self.state
            slug = (path or "").removesuffix(".ipynb")
            if path != f"{slug}.ipynb" or slug not in state["slugs"]:
                raise web.HTTPError(404)
            # Requests being rendered count as kernels already: a burst cannot overshoot the cap.
            taken = kernel_counts(self.kernel_manager)["visitors"] + state["inflight"]
            if taken >= state["max_kernels"]:
                state["busy_served"] += 1
                log.warning("dashboard %s: %d visitor kernels (cap %d), serving the snapshot", slug, taken,
                            state["max_kernels"])
                PageHandler.initialize(self, state)
                return write_snapshot(self, slug, busy=True)
            state["inflight"] += 1
            # Sets the _xsrf cookie, which Voilà's page sends back when it closes to shut its
            # kernel down (without it that request is refused and the kernel waits for the cull).
            self.xsrf_token
            try:
                await super().get(path)
            finally:
                state["inflight"] -= 1

        def render_page(self, template, **values):
            return PageHandler.render_page(self, template, **values)

        def write(self, chunk):
            super().write("<!-- -->\n" if chunk == VOILA_HEARTBEAT else chunk)

        def set_header(self, name, value):
            # Voilà says "text/html" alone; without the charset, non-browser clients read Latin-1.
            if name.lower() == "content-type" and value == "text/html":
                value = "text/html; charset=utf-8"
            super().set_header(name, value)

    return CappedVoilaHandler


def dashboards_app_class():
    """A Voilà application with our pages and the kernel cap in front of its own handlers."""
    from voila.app import Voila

    class DashboardsVoila(Voila):
        occidata_state: dict = {}

        def init_handlers(self):
            state = self.occidata_state
            state["kernel_manager"] = self.kernel_manager
            prefix = state["prefix"]
            render_kwargs = {"template_paths": self.template_paths, "config": self.config,
                             "voila_configuration": self.voila_configuration, "occidata_state": state}
            ours = [
                (prefix, LandingHandler, {"state": state}),
                (prefix + r"status", StatusHandler, {"state": state}),
                (prefix + r"snapshots/([a-z0-9-]+)/?(?:(en)/?)?", SnapshotHandler, {"state": state}),
                (prefix + r"voila/render/(.*)", capped_voila_handler(), render_kwargs),
                (prefix + r"voila/tree(?:/.*)?", web.RedirectHandler, {"url": prefix}),
            ]
            # Every response of the application (Voilà's own, static files, errors) gets a policy
            # without inline script; Voilà.start has made self.app just before asking for handlers.
            csp.protect(self.app, state["voila_csp"])
            # Tornado takes the first pattern that matches: ours come before Voilà's.
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
    return {"cfg": cfg, "prefix": prefix, "lab_name": cfg["lab_name"], "jinja": jinja,
            # Only dashboards a steward approved (as they are now) are served, live or saved.
            "slug_order": approved, "slugs": set(approved), "state_dir": cfg["state_dir"],
            "archive_dir": archive_path(cfg),
            "max_kernels": section["max_kernels"], "pool_size": section["pool_size"],
            "csp": PAGE_POLICY, "archive_csp": csp.archive_policy(section["tiles_url"]),
            "voila_csp": voila_policy(prefix, section["tiles_url"]), "inflight": 0, "busy_served": 0}


def start_snapshots(cfg: dict) -> Scheduler:
    """Render missing snapshots now (in the background), then on ``dashboards.snapshot_cron``."""
    from ..reports.service import isolated_runner

    apps_dir, archive = apps_dir_of(cfg), archive_path(cfg)
    run, _pool = isolated_runner(1)  # one rendering at a time: the live dashboards come first
    slugs = approved_dashboards(apps_dir, cfg["state_dir"])
    scheduler = Scheduler(snapshot_schedules(cfg, apps_dir, slugs), Path(cfg["state_dir"]) / "dashboards", run,
                          archive_dir=archive, concurrency=1, catch_up="latest")
    threading.Thread(target=render_missing, args=(run, cfg, apps_dir, archive, slugs), name="first-snapshots",
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
