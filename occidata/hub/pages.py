"""The hub's own pages: French templates first, the one script they run, and their policy.

JupyterHub's templates run inline scripts; ours (``hub/templates/``) run none: what those scripts
did lives in ``hub/static/occidata-hub.js``, which the hub serves itself under
``<base_url>hub/occidata/``. Every response of the hub then carries a Content-Security-Policy
(:func:`hub_policy`) that runs scripts from the hub's two static folders only, so that markup
planted in a hub page (an announcement, a spawner's message, a name) cannot act with the hub
cookie of whoever reads it, an admin included.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from tornado import httputil, web

from ..addresses import CATALOGUE_PREFIX, DATA_PREFIX
from . import csp

# Below the hub's prefix (<base_url>hub/): where the hub serves hub/static/.
STATIC_FOLDER = "occidata/"


def hub_prefix(cfg: dict) -> str:
    """The hub's own URL prefix, ``<base_url>hub/``."""
    return cfg["hub"]["base_url"].rstrip("/") + "/hub/"


def hub_policy(request: httputil.HTTPServerRequest, prefix: str) -> str:
    """The policy of a hub response: for a page, scripts from JupyterHub's static folder and ours
    only, never framed; for the REST API, nothing at all. (No report-uri: JupyterHub's report handler
    refuses a browser's report, which carries no xsrf token.)"""
    if request.path.startswith(prefix + "api/"):
        return csp.api_policy()
    scripts = " ".join(csp.path_source(request, prefix + folder) for folder in ("static/", STATIC_FOLDER))
    return csp.page_policy(scripts_from=scripts, framed_by="'none'")


# A request the proxy could not pass on was for an API (hub, data service, a lab's server).
_API_PATH = re.compile(r"/api(/|$)")


class _ProxyErrorAsJson(web.OutputTransform):
    """The proxy asks the hub for the page of an error it met (``<prefix>error/<code>?url=...``),
    a service restarting for instance, and passes on its body and Content-Type: a program that
    called an API gets JSON, naming the status and what to do, instead of the hub's HTML page."""

    def __init__(self, request: httputil.HTTPServerRequest, prefix: str):
        super().__init__(request)
        self.as_json, self.code, self.target = False, 0, ""
        code = request.path.rsplit("/", 1)[-1]
        if request.path.startswith(prefix + "error/") and code.isdigit():  # the proxy's error requests only
            self.target = (parse_qs(urlparse(request.uri).query).get("url") or [""])[0]
            self.as_json, self.code = bool(_API_PATH.search(urlparse(self.target).path)), int(code)

    def transform_first_chunk(self, status_code, headers, chunk, finishing):
        if not self.as_json:
            return status_code, headers, chunk
        reason = httputil.responses.get(self.code, "Error")
        body = json.dumps({"error": f"{reason} : {self.target} ne répond pas pour l'instant (un service qui "
                                    "redémarre ?) ; réessayez dans quelques secondes", "status": self.code},
                          ensure_ascii=False).encode()
        headers["Content-Type"] = "application/json; charset=UTF-8"
        if "Content-Length" in headers:
            headers["Content-Length"] = str(len(body))
        return status_code, headers, body

    def transform_chunk(self, chunk, finishing):
        return b"" if self.as_json else chunk


def _version(path: Path) -> str:
    """A short digest of ``path``: browsers fetch the script again when it changes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def update_pages(c, cfg: dict, root: Path) -> None:
    """Our templates before JupyterHub's, their variables, the static script and the policy."""
    prefix = hub_prefix(cfg)
    base_url = cfg["hub"]["base_url"].rstrip("/") + "/"
    static = root / "hub" / "static"
    c.JupyterHub.template_paths = [str(root / "hub" / "templates")]
    c.JupyterHub.template_vars = {
        "lab_name": cfg["lab_name"],
        "dashboards_url": cfg["hub"]["dashboards_url"],
        # The data trust's front desk (access requests) and catalogue, when the platform runs them.
        "requests_url": f"{base_url}{DATA_PREFIX}requests" if cfg["data_service"]["enabled"] else None,
        "catalogue_url": f"{base_url}{CATALOGUE_PREFIX}" if cfg["catalogue_pages"]["enabled"] else None,
        "native_auth": cfg["auth"]["type"] == "native",
        "occidata_hub_script": f"{prefix}{STATIC_FOLDER}occidata-hub.js?v={_version(static / 'occidata-hub.js')}",
    }
    # A page's script must come from the hub itself, and JupyterHub has no other way to serve a
    # file of ours (extra_handlers is deprecated for *endpoints*, which belong in services).
    c.JupyterHub.extra_handlers = [(rf"/{STATIC_FOLDER}(.*)", web.StaticFileHandler, {"path": str(static)})]
    # tornado's Application(transforms=...): JupyterHub passes its tornado_settings through.
    c.JupyterHub.tornado_settings = {"transforms": [
        csp.transform(lambda request: hub_policy(request, prefix)),
        lambda request: _ProxyErrorAsJson(request, prefix),
    ]}
