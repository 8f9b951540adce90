"""The tornado application shared by the platform's OAuth-protected hub services (reports, data)."""

from __future__ import annotations

import os
import re

from tornado import web

from . import csp


def hub_service_app(prefix: str, routes: list[tuple], handler_args: dict, not_found: type,
                    hub_auth=None) -> web.Application:
    """An application serving ``routes`` (``(pattern relative to the prefix, handler)``) under ``prefix``.

    Adds what every such service needs: the hub's OAuth callback, a redirect from the prefix
    without its slash, a fresh cookie secret per start (logins last as long as the process),
    ``not_found`` for everything else, and a Content-Security-Policy on every response (the
    handler's own when it runs no inline script, else :func:`csp.page_policy`: no script at all).
    ``hub_auth`` defaults to ``HubOAuth.instance()``.
    """
    from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler

    quoted = re.escape(prefix)
    app = web.Application(
        [(quoted + pattern, handler, handler_args) for pattern, handler in routes]
        + [(quoted + "oauth_callback", HubOAuthCallbackHandler),
           (quoted.rstrip("/"), web.RedirectHandler, {"url": prefix})],
        cookie_secret=os.urandom(32),
        hub_auth=hub_auth or HubOAuth.instance(),
        default_handler_class=not_found,
        default_handler_args=handler_args,
    )
    return csp.protect(app, csp.page_policy())
