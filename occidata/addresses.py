"""Where people reach the platform: the hub's public address and the pages we link to.

The hub knows its public address from the configuration (``hub.public_url`` and ``hub.base_url``);
the processes it starts (lab servers, the data service) get it as ``$OCCIDATA_PUBLIC_URL`` and do
not need the hub's configuration to write a link a researcher can open.
"""

from __future__ import annotations

import os
from typing import Mapping
from urllib.parse import quote

PUBLIC_URL_ENV = "OCCIDATA_PUBLIC_URL"
# Where the hub serves the catalogue pages (a hub service), under its base_url.
CATALOGUE_PREFIX = "services/catalogue/"
# Where the hub serves the data service, whose pages take access requests.
DATA_PREFIX = "services/data/"


def public_url(cfg: dict, environ: Mapping[str, str] | None = None) -> str:
    """The hub's public address with its base_url, ending in ``/`` (e.g. ``https://lab.example.org/``).

    ``$OCCIDATA_PUBLIC_URL`` when the hub set it (lab servers, the data service); else
    ``hub.public_url`` and ``hub.base_url``; else ``http://<hub.ip>:<hub.port>`` (``127.0.0.1`` for
    an address that listens everywhere).
    """
    environ = os.environ if environ is None else environ
    given = environ.get(PUBLIC_URL_ENV, "").strip()
    if given:
        return given.rstrip("/") + "/"
    hub = cfg["hub"]
    origin = hub.get("public_url")
    if not origin:
        host = hub["ip"] if hub["ip"] not in ("", "0.0.0.0", "::") else "127.0.0.1"
        origin = f"http://{host}:{hub['port']}"
    path = hub["base_url"].strip("/")
    return f"{origin.rstrip('/')}/{path + '/' if path else ''}"


def catalogue_page(name: str, base: str) -> str:
    """The catalogue page of entry ``name`` under the hub's public address ``base``."""
    return f"{base.rstrip('/')}/{CATALOGUE_PREFIX}{quote(name, safe='')}"


def access_request_page(name: str, base: str) -> str:
    """The page where a researcher asks for the level entry ``name`` needs, under ``base``."""
    return f"{base.rstrip('/')}/{DATA_PREFIX}requests/new?dataset={quote(name, safe='')}"


def access_requests_page(base: str) -> str:
    """The page listing a researcher's access requests (and, for stewards, those to decide)."""
    return f"{base.rstrip('/')}/{DATA_PREFIX}requests"
