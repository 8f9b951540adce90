"""The catalogue pages service: ``python -m occidata.catalog.pages_service``, at ``/services/catalogue/``.

Declared by :func:`occidata.hub.services.catalogue_service`; listens on the port of
``$JUPYTERHUB_SERVICE_URL`` under ``$JUPYTERHUB_SERVICE_PREFIX`` (which carries the hub's
base_url):

- ``<prefix>``: the list, with the search (``?q=``) and the filters (``theme``, ``access``,
  ``origin``, ``producer``, ``year``) as GET parameters; ``?lang=en`` for English;
- ``<prefix><entry>``: the entry's page; a non-public entry's page answers a visitor 403 with
  a French page and a link to log in that comes back (:func:`occidata.catalog.pages.render_refusal`);
- ``<prefix>login?next=<page>``: logs in through the hub (OAuth), then back to ``<page>``;
- ``<prefix>dcat.jsonld``: the public entries as DCAT-AP in JSON-LD, for open-data portals to
  harvest (:mod:`occidata.catalog.dcat`); never a partner or restricted entry, whoever asks.

Who is logged in comes from the hub's OAuth (``HubOAuthenticated``): anyone may read, nobody
must log in. The service reads the catalogue's metadata, the build manifest and the public
entries' data (for their maps); it serves no data, and in server mode it runs as
``server.public_user``, which cannot read non-public files.
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path
from urllib.parse import urlparse

from jupyterhub.services.auth import HubOAuthenticated
from tornado import ioloop, web

from ..addresses import public_url
from ..config import load_config
from ..dashboards.geo import department_shapes
from ..datasets.build import read_manifest
from ..datasets.stored import stored_record
from ..hub import csp
from ..hub.service_app import hub_service_app
from ..levels import steward_names
from ..processes import hold_service_lock
from . import open_catalog, show
from .dcat import DCAT_PATH, DcatError, dcat_catalog
from .pages import Filters, Reader, check_lang, is_public, render_entry, render_list, render_message, render_refusal
from .places import entry_places, table_years
from .spec import CATALOG_PATH

log = logging.getLogger("occidata.catalog.pages_service")

DEFAULT_PREFIX = "/services/catalogue/"
PAGE_POLICY = csp.page_policy()  # our pages run no script at all


class Catalogue:
    """The catalogue's metadata (``name -> metadata``), read again when catalog.yaml changes."""

    def __init__(self, cfg: dict, path: Path = CATALOG_PATH):
        self.cfg, self.path = cfg, Path(path)
        self._seen: tuple | None = None
        self._entries: dict[str, dict] = {}

    def entries(self) -> dict[str, dict]:
        stamp = (self.path.stat().st_mtime_ns, self.path.stat().st_size)
        if stamp != self._seen:
            catalog = open_catalog(self.path, self.cfg)
            self._entries = {name: show(name, catalog) for name in sorted(catalog)}
            self._seen = stamp
        return self._entries


def entry_years(name: str, meta: dict, cfg: dict, shapes: list[dict]) -> list[int]:
    """The years entry ``name`` holds: a table's from the manifest, a public grid's from its data."""
    if meta.get("kind") == "grid" and is_public(name, meta):
        return entry_places(name, meta, cfg["data_dir"], [s["name"] for s in shapes]).years
    return table_years(name, meta, cfg["data_dir"])


def build_record(name: str, meta: dict, data_dir: str) -> dict:
    """When and how entry ``name`` was built here (the public manifest), with its active ingests
    for public entries (their folders are the only ones this service may read)."""
    try:
        record = (stored_record(data_dir, name) if is_public(name, meta) else read_manifest(data_dir).get(name)) or {}
    except (OSError, ValueError):
        return {}
    if not record:
        return {}
    return {"built_at": record.get("built_at"), "size": record.get("size"), "seed": record.get("seed"),
            "rows": record.get("rows"), "ingests": len(record.get("ingests", [])), "origin": record.get("origin"),
            "rows_real": record.get("rows_real"), "rows_synthetic": record.get("rows_synthetic"),
            "sources": [{"provider": source["provider"], "name": source["name"], "sha256": source["sha256"],
                         **source["rows"]} for source in record.get("sources", [])]}


def with_built_origin(entries: dict[str, dict], data_dir: str) -> dict[str, dict]:
    """The entries with ``origin`` as this platform built them (real, synthetic or mixed): the
    same entry is real where the provider's exports were present and synthetic elsewhere."""
    try:
        manifest = read_manifest(data_dir)
    except (OSError, ValueError):
        return entries
    return {name: {**meta, "origin": manifest[name]["origin"]} if manifest.get(name, {}).get("origin") else meta
            for name, meta in entries.items()}


class Base(HubOAuthenticated, web.RequestHandler):
    """Our pages: French first, no script, identified (not required) through the hub's OAuth."""

    def initialize(self, state: dict):
        self.state = state

    def set_default_headers(self):
        self.set_header(csp.HEADER, PAGE_POLICY)
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")
        # What a page shows depends on who is logged in: never shared by a cache.
        self.set_header("Cache-Control", "private, no-cache")
        self.set_header("Vary", "Cookie")

    def reader(self, path: str = "", **params) -> Reader:
        user = self.current_user if isinstance(self.current_user, dict) else None
        return Reader(user=user.get("name") if user else None, prefix=self.state["prefix"],
                      base_url=self.state["base_url"], lang=check_lang(self.get_argument("lang", None)), path=path,
                      params=tuple(sorted((k, v) for k, v in params.items() if v)),
                      groups=tuple(user.get("groups") or ()) if user else ())

    def send_page(self, html: str, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(html)

    def write_error(self, status_code: int, **kwargs) -> None:
        reader = self.reader()
        fr = reader.lang == "fr"
        if status_code == 404:
            title, message = (("Page introuvable", "Cette page n'existe pas dans le catalogue.") if fr
                              else ("Not found", "This page is not in the catalogue."))
        else:
            title, message = (("Erreur", "Une erreur est survenue ; réessayez dans un instant.") if fr
                              else ("Error", "Something went wrong; try again in a moment."))
        self.send_page(render_message(reader, self.state["lab_name"], title=title, message=message), status_code)


class ListHandler(Base):
    def get(self):
        filters = Filters.from_query(lambda key: self.get_argument(key, None))
        cfg = self.state["cfg"]
        entries = with_built_origin(self.state["catalogue"].entries(), cfg["data_dir"])
        shapes = self.state["shapes"]()
        years = {name: entry_years(name, meta, cfg, shapes) for name, meta in entries.items()}
        reader = self.reader(**filters.params())
        self.send_page(render_list(entries, reader, filters, years, self.state["lab_name"]))


class EntryHandler(Base):
    def get(self, name: str):
        entries = self.state["catalogue"].entries()
        if name not in entries:
            raise web.HTTPError(404)
        meta, reader = entries[name], self.reader(name)
        if not (is_public(name, meta) or reader.signed_in):
            self.send_page(render_refusal(name, meta, reader, self.state["lab_name"]), 403)
            return
        cfg, shapes = self.state["cfg"], self.state["shapes"]()
        places = entry_places(name, meta, cfg["data_dir"], [s["name"] for s in shapes])
        self.send_page(render_entry(name, meta, reader, places=places, shapes=shapes,
                                    build=build_record(name, meta, cfg["data_dir"]),
                                    stewards=steward_names(cfg) if not is_public(name, meta) else [],
                                    lab_name=self.state["lab_name"]))


class LoginHandler(Base):
    """Through the hub's login (OAuth), then back to the catalogue page ``next``."""

    @web.authenticated
    def get(self):
        target = self.get_argument("next", "")
        prefix = self.state["prefix"]
        # Only back into the catalogue: never to another site ("//host", "/\\host"), path or header.
        if (not target.startswith(prefix) or target.startswith("//") or "\\" in target or ".." in target
                or any(ord(c) < 0x20 for c in target)):
            target = prefix
        self.redirect(target)


class DcatHandler(Base):
    """The public entries as DCAT-AP (JSON-LD), the same for everyone."""

    def get(self):
        cfg = self.state["cfg"]
        try:
            document = dcat_catalog(cfg, public_url(cfg), entries=self.state["catalogue"].entries())
        except DcatError as error:
            log.error("dcat export refused: %s", error)
            self.set_status(500)
            self.set_header("Content-Type", "application/json; charset=utf-8")
            self.finish(json.dumps({"erreur": str(error)}, ensure_ascii=False))
            return
        self.set_header("Content-Type", "application/ld+json; charset=utf-8")
        self.finish(json.dumps(document, ensure_ascii=False, indent=1))


class NotFound(Base):
    def prepare(self):
        raise web.HTTPError(404)


def make_app(cfg: dict, prefix: str = DEFAULT_PREFIX, base_url: str = "/", hub_auth=None) -> web.Application:
    """The tornado application of the catalogue pages under ``prefix``."""
    prefix = "/" + prefix.strip("/") + "/"
    state = {"cfg": cfg, "prefix": prefix, "base_url": "/" + base_url.strip("/") + "/" if base_url.strip("/") else "/",
             "lab_name": cfg["lab_name"], "catalogue": Catalogue(cfg), "shapes": lambda: department_shapes(cfg)}
    # Entry names, except the paths of the service itself (hub_service_app adds oauth_callback after these).
    routes = [("", ListHandler), ("login", LoginHandler), (re.escape(DCAT_PATH), DcatHandler),
              (r"(?!oauth_callback$)([a-z][a-z0-9_]*)", EntryHandler)]
    return hub_service_app(prefix, routes, {"state": state}, NotFound, hub_auth)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    cfg = load_config()
    lock = hold_service_lock(cfg["state_dir"], "catalogue")  # noqa: F841 - held for the life of the service
    url = urlparse(os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:10103"))
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", DEFAULT_PREFIX)
    app = make_app(cfg, prefix, os.environ.get("JUPYTERHUB_BASE_URL", "/"))
    app.listen(url.port, address=url.hostname or "127.0.0.1")
    log.info("catalogue pages on %s%s for %s", url.geturl(), prefix, cfg["data_dir"])
    ioloop.IOLoop.current().start()


if __name__ == "__main__":
    main()
