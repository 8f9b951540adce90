"""The tornado application shared by the platform's OAuth-protected hub services (reports, data),
and the ``metrics`` page every platform service serves to Prometheus."""

from __future__ import annotations

import os
import re

from tornado import web

from . import csp


class MetricsHandler(web.RequestHandler):
    """``<prefix>metrics``: a registry in Prometheus's text format, for a token with ``read:metrics``.

    As JupyterHub's own ``/hub/metrics``: the token (``Authorization: Bearer <token>`` or
    ``token <token>``) is identified by the hub, never from a cache, and its scopes must include
    ``read:metrics`` (the ``prometheus`` service's role holds it; hub admins' tokens too); else 403.
    """

    def initialize(self, registry, hub_auth=None):
        self.registry = registry
        self.hub_auth = hub_auth or self.settings["hub_auth"]

    def set_default_headers(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.set_header(csp.HEADER, csp.api_policy())

    async def get(self):
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        from ..metrics import METRICS_SCOPE

        token = self.hub_auth.get_token(self, in_cookie=False)
        model = await self.hub_auth.user_for_token(token, use_cache=False, sync=False) if token else None
        if not model or METRICS_SCOPE not in (model.get("scopes") or []):
            self.set_status(403)
            self.set_header("Content-Type", "text/plain; charset=utf-8")
            self.finish(f"Access to metrics requires a token with the scope '{METRICS_SCOPE}' "
                        "(the hub service 'prometheus' has one: occidata metrics scrape-config)\n")
            return
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.finish(generate_latest(self.registry))


def hub_service_app(prefix: str, routes: list[tuple], handler_args: dict, not_found: type,
                    hub_auth=None, metrics=None) -> web.Application:
    """An application serving ``routes`` (``(pattern relative to the prefix, handler)``) under ``prefix``.

    Adds what every such service needs: the hub's OAuth callback, a redirect from the prefix
    without its slash, a fresh cookie secret per start (logins last as long as the process),
    ``not_found`` for everything else, and a Content-Security-Policy on every response (the
    handler's own when it runs no inline script, else :func:`csp.page_policy`: no script at all).
    ``hub_auth`` defaults to ``HubOAuth.instance()``. ``metrics``, a prometheus_client registry,
    is served at ``<prefix>metrics`` (:class:`MetricsHandler`).
    """
    from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler

    quoted = re.escape(prefix)
    served = [(quoted + "metrics", MetricsHandler, {"registry": metrics})] if metrics is not None else []
    app = web.Application(
        served + [(quoted + pattern, handler, handler_args) for pattern, handler in routes]
        + [(quoted + "oauth_callback", HubOAuthCallbackHandler),
           (quoted.rstrip("/"), web.RedirectHandler, {"url": prefix})],
        cookie_secret=os.urandom(32),
        hub_auth=hub_auth or HubOAuth.instance(),
        default_handler_class=not_found,
        default_handler_args=handler_args,
    )
    return csp.protect(app, csp.page_policy())
