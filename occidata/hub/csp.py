"""The Content-Security-Policy of every response the platform's services send, in one place.

Every service sits behind the hub's proxy, in the hub's own origin: a script that ran in one of
their pages could act with the hub cookie of whoever opened it (an admin: mint tokens, grant
rights). So no policy here allows inline script (``'unsafe-inline'``), ``eval`` or scripts from the
whole origin (which holds every lab's ``/user/<name>/files/``):

- :func:`page_policy`: pages we write. No script at all, unless ``scripts_from`` names the
  paths of ours that serve the page's script files (Voilà's ``<prefix>voila/``, the hub's static
  folders for the hub's own pages: see :mod:`occidata.hub.pages`).
- :func:`archive_policy`: HTML archived from notebook runs (report.html, dashboard snapshots).
  They need no script: none runs (``script-src 'none'``), and the page is sandboxed besides (an
  opaque origin, no script, no form), so that a planted ``<script>`` or ``onerror=`` does nothing.
- :func:`api_policy`: JSON and other data: nothing at all.

Inline *style* stays allowed in pages (``style-src 'unsafe-inline'``): our templates, nbconvert's
HTML and JupyterLab's widgets carry ``<style>`` blocks and ``style=`` attributes, and a style
cannot run code, and ``img-src``/``connect-src`` stay closed to other hosts.

:func:`protect` puts a fallback policy on every response of a tornado application that left
without one, or with one that would run inline script: handlers choose the strictest policy for
what they send, and nothing can leave with a weaker one.
"""

from __future__ import annotations

import re
from typing import Callable
from urllib.parse import urlparse

from tornado import httputil, web

HEADER = "Content-Security-Policy"
# A request's Host as a CSP host-source: a name or IPv4 address and a port (CSP has no IPv6 form).
_HOST = re.compile(r"^[A-Za-z0-9.-]+(?::[0-9]{1,5})?$")
# Script sources that let a page run what someone else wrote.
_WEAK_SOURCES = {"'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "'wasm-unsafe-eval'", "*", "data:", "blob:",
                 "http:", "https:", "filesystem:"}


def _origin(url: str | None) -> str:
    """``scheme://host[:port]`` of ``url`` (the tile server), or '' when there is none."""
    if not url:
        return ""
    parts = urlparse(url)
    return f" {parts.scheme}://{parts.netloc}"


def _join(directives: dict[str, str]) -> str:
    return "; ".join(f"{name} {value}".strip() for name, value in directives.items())


def page_policy(scripts_from: str | None = None, tiles_url: str | None = None, *,
                framed_by: str = "'self'") -> str:
    """The policy of a page we write: scripts only from ``scripts_from`` (CSP sources naming
    paths of ours, see :func:`path_source`), none when it is None; images from this host,
    ``data:`` and the tile server; style inline or from this host; connections to this host only
    (Voilà's kernel websocket: ``'self'`` matches ``ws:``/``wss:`` of the same host). Only
    ``framed_by`` may show the page in a frame."""
    return _join({
        "default-src": "'self'",
        "script-src": scripts_from or "'none'",
        "style-src": "'self' 'unsafe-inline'",
        "img-src": "'self' data:" + _origin(tiles_url),
        "font-src": "'self' data:",
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'none'",
        "form-action": "'self'",
        "frame-ancestors": framed_by,
    })


def archive_policy(tiles_url: str | None = None) -> str:
    """The policy of HTML archived from a notebook run: no script, sandboxed, inline style and
    images (this host, ``data:``, the tile server) only."""
    return _join({
        # No allow-scripts, no allow-same-origin: even a script the policy missed would run in an
        # opaque origin, without the hub's cookies. Links may open new tabs, which are not sandboxed.
        "sandbox": "allow-popups allow-popups-to-escape-sandbox",
        "default-src": "'none'",
        "script-src": "'none'",
        "style-src": "'unsafe-inline'",
        "img-src": "'self' data:" + _origin(tiles_url),
        "font-src": "'self' data:",
        "object-src": "'none'",
        "base-uri": "'none'",
        "form-action": "'none'",
        "frame-ancestors": "'self'",
    })


def api_policy() -> str:
    """The policy of JSON and other data: nothing may load or run."""
    return _join({"default-src": "'none'", "script-src": "'none'", "base-uri": "'none'", "form-action": "'none'",
                  "frame-ancestors": "'none'"})


def path_source(request: httputil.HTTPServerRequest, path: str) -> str:
    """A CSP source for ``path`` (absolute, ending in ``/``) on the host the browser asked for.

    Without a scheme the source matches the page's own (http, or https behind TLS). A Host that
    CSP cannot name (an IPv6 literal, garbage) gets ``'self'``: scripts from this origin only.
    """
    if not path.startswith("/") or not path.endswith("/"):
        raise ValueError(f"csp.path_source: {path!r} must start and end with '/'")
    host = request.host or ""
    return f"{host}{path}" if _HOST.match(host) else "'self'"


def directives(policy: str) -> dict[str, list[str]]:
    """The policy's directives by name (lower case), each with its sources."""
    found: dict[str, list[str]] = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            found.setdefault(words[0].lower(), words[1:])  # the first of a repeated directive wins
    return found


def allows_untrusted_script(policy: str | None) -> bool:
    """Whether a browser would run, under ``policy``, inline script (``<script>`` blocks,
    ``onerror=`` attributes), ``eval``, or scripts from any host or from ``data:``/``blob:`` URLs.

    No policy, or one without ``script-src`` nor ``default-src``, allows them all. Several
    policies (joined by commas, as repeated headers are) are all enforced: one strict is enough.
    """
    return all(_weak(one) for one in (policy or "").split(","))


def _weak(policy: str) -> bool:
    found = directives(policy)
    script = found.get("script-src", found.get("default-src"))
    if script is None:
        return True
    lists = [script] + [found[name] for name in ("script-src-elem", "script-src-attr") if name in found]
    return any(word.lower() in _WEAK_SOURCES for sources in lists for word in sources)


class _Fallback(web.OutputTransform):
    """Sets the fallback policy on a response whose own policy is missing or too weak."""

    def __init__(self, request: httputil.HTTPServerRequest, fallback: Callable[[httputil.HTTPServerRequest], str]):
        super().__init__(request)
        self.request, self.fallback = request, fallback

    def transform_first_chunk(self, status_code, headers, chunk, finishing):
        if allows_untrusted_script(headers.get(HEADER)):
            headers[HEADER] = self.fallback(self.request)
        return status_code, headers, chunk


def transform(fallback: str | Callable[[httputil.HTTPServerRequest], str]) -> Callable:
    """A tornado output transform (for ``Application(transforms=...)`` or ``add_transform``) that
    makes every response carry a policy that runs no inline script: the handler's own when it is
    one, else ``fallback`` (a policy, or a function of the request that returns one).

    Raises ValueError when ``fallback`` itself would allow inline script.
    """
    choose = fallback if callable(fallback) else (lambda _request: fallback)
    if not callable(fallback) and allows_untrusted_script(fallback):
        raise ValueError(f"csp: the fallback policy {fallback!r} allows inline or foreign script")
    return lambda request: _Fallback(request, choose)


def protect(app: web.Application, fallback: str | Callable[[httputil.HTTPServerRequest], str]) -> web.Application:
    """Put :func:`transform` ``(fallback)`` on every response of ``app``."""
    app.add_transform(transform(fallback))
    return app


__all__ = ["HEADER", "allows_untrusted_script", "api_policy", "archive_policy", "directives", "page_policy",
           "path_source", "protect", "transform"]
