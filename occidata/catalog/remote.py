"""The data service's client: non-public entries read over HTTP, with the lab server's token.

Inside a lab server the hub sets ``OCCIDATA_DATA_SERVICE_URL`` (the service, through the hub's
proxy) and ``JUPYTERHUB_API_TOKEN`` (the server's token, allowed to call the service). Then::

    from occidata.catalog import remote
    frame = remote.fetch_table("agri_sensors", year=2024, department="Aude", start="2024-07-01")
    grid = remote.open_grid("weather_daily")       # lazy, dask-backed, chunks fetched on use

``occidata.catalog.load`` goes through here for non-public entries, and so does plain Intake:
catalog/catalog.yaml points its non-public entries at :class:`DataServiceTable` and
:class:`DataServiceGrid`. A denial is a ``PermissionError`` with the service's message (in French: the
level needed, the stewards who grant it, the entry's catalogue page; see
:mod:`occidata.catalog.access_message`); a bad request or unknown entry a ``CatalogError``.
"""

from __future__ import annotations

import json
import os
from urllib.parse import quote

from intake.readers.readers import BaseReader

from .tables import CatalogError

__all__ = ["service_url", "fetch_table", "open_grid", "DataServiceTable", "DataServiceGrid"]

URL_ENV = "OCCIDATA_DATA_SERVICE_URL"
TOKEN_ENV = "JUPYTERHUB_API_TOKEN"


def service_url(environ=None) -> str | None:
    """The data service's URL (ending in ``/``) from ``$OCCIDATA_DATA_SERVICE_URL``, or None."""
    url = (os.environ if environ is None else environ).get(URL_ENV, "").strip()
    return url.rstrip("/") + "/" if url else None


def _base(url: str | None) -> str:
    base = url or service_url()
    if not base:
        raise CatalogError(f"no data service: {URL_ENV} is not set (it is, inside a lab server of the hub)")
    return base.rstrip("/") + "/"


def _headers(token: str | None) -> dict:
    token = token or os.environ.get(TOKEN_ENV)
    if not token:
        raise CatalogError(f"no hub token: {TOKEN_ENV} is not set (it is, inside a lab server of the hub)")
    return {"Authorization": f"token {token}"}


def _raise_for(response, url: str) -> None:
    if response.status_code < 400:
        return
    try:
        message = response.json().get("error") or response.text[:300]
    except ValueError:
        message = response.text[:300] or response.reason
    if response.status_code in (401, 403):
        raise PermissionError(message)
    raise CatalogError(message)


# The hub answers for a service it has not routed yet (its proxy's 404, or 502-504 while it
# starts): not the data service's own JSON. Asked again for a while, as a person would.
NOT_YET_ROUTED = (404, 502, 503, 504)
ROUTE_RETRIES, ROUTE_WAIT_S = 6, 2.0


def _get(url: str, headers: dict, params=None, stream: bool = False):
    import time

    import requests

    for attempt in range(ROUTE_RETRIES + 1):
        try:
            response = requests.get(url, headers=headers, params=params, stream=stream, timeout=(10, 600),
                                    allow_redirects=False)
        except requests.RequestException as error:
            raise CatalogError(f"data service unreachable at {url}: {error}; is the hub running?") from None
        from_hub = "application/json" not in response.headers.get("Content-Type", "")
        if not (response.status_code in NOT_YET_ROUTED and from_hub) or attempt == ROUTE_RETRIES:
            break
        response.close()
        time.sleep(ROUTE_WAIT_S)
    if response.status_code in (301, 302, 303, 307):
        raise PermissionError(f"the data service at {url} asks for a login: the token was not accepted")
    if response.status_code in (502, 503, 504) and "application/json" not in response.headers.get("Content-Type", ""):
        raise CatalogError(f"data service unreachable at {url}: the hub answered {response.status_code}; "
                           "is the hub running?")
    _raise_for(response, url)
    warn_of_end(response.headers)
    return response


class AccessEndingWarning(UserWarning):
    """The reader's right to a non-public level ends soon (see the access requests)."""


def end_notice(headers, now=None) -> str | None:
    """The French notice of a right that ends within the service's notice days, from a read's
    ``X-Occidata-Access-Until`` and ``X-Occidata-Access-Notice-Days`` headers; else None."""
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    until, days = headers.get("X-Occidata-Access-Until"), headers.get("X-Occidata-Access-Notice-Days")
    if not until or days is None:
        return None
    try:
        end, notice = datetime.fromisoformat(until), int(days)
    except ValueError:
        return None
    left = end - (now or datetime.now(timezone.utc))
    if left.days >= notice:
        return None
    local = end.astimezone(ZoneInfo("Europe/Paris"))
    return (f"Votre accès à ces données prend fin le {local:%d/%m/%Y à %H:%M} (heure de Paris), dans "
            f"{max(left.days, 0)} jour(s) : pour continuer, faites une nouvelle demande depuis la fiche de l'entrée "
            "dans le catalogue, ou `occidata access request`.")


def warn_of_end(headers) -> None:
    import warnings

    notice = end_notice(headers)
    if notice:
        warnings.warn(notice, AccessEndingWarning, stacklevel=4)


def _params(year=None, columns=None, start=None, end=None, **equals) -> list[tuple[str, str]]:
    params: list[tuple[str, str]] = [("format", "arrow")]
    if year is not None:
        params.append(("year", str(year)))
    if columns is not None:
        params.append(("columns", columns if isinstance(columns, str) else ",".join(columns)))
    for key, value in (("start", start), ("end", end)):
        if value is not None:
            params.append((key, value.isoformat() if hasattr(value, "isoformat") else str(value)))
    for key, value in equals.items():
        for item in (value if isinstance(value, (list, tuple, set)) else [value]):
            params.append((key, str(item).lower() if isinstance(item, bool) else str(item)))
    return params


def fetch_table(name: str, *, year=None, columns=None, start=None, end=None, url: str | None = None,
                token: str | None = None, **equals):
    """Table ``name`` through the data service, filtered, as a pandas DataFrame.

    ``year``, ``columns`` (list or ``"a,b"``), ``start``/``end`` (dates or ISO text; on the
    table's time column, end excluded) and ``column=value`` (a list: any of them) are applied by
    the service. ``frame.attrs["occidata_build"]`` holds the build record (time, size, checksums).
    """
    import pyarrow as pa

    from .tables import to_pandas

    target = f"{_base(url)}api/tables/{quote(name, safe='')}"
    response = _get(target, _headers(token), _params(year, columns, start, end, **equals), stream=True)
    response.raw.decode_content = True
    try:
        with pa.ipc.open_stream(response.raw) as reader:
            table = reader.read_all()
    except (pa.ArrowInvalid, OSError) as error:
        raise CatalogError(f"{name}: the data service's answer was cut or unreadable ({error})") from None
    finally:
        response.close()
    frame = to_pandas(table)
    build = response.headers.get("X-Occidata-Build")
    if build:
        try:
            frame.attrs["occidata_build"] = json.loads(build)
        except ValueError:
            pass
    return frame


def open_grid(name: str, *, url: str | None = None, token: str | None = None):
    """Grid ``name`` through the data service as a lazy, dask-backed ``xarray.Dataset``."""
    import xarray as xr

    base = _base(url)
    headers = _headers(token)
    root = f"{base}api/zarr/{quote(name, safe='')}"
    # Ask once for the root metadata, so a denial or an unknown entry is a clear error, not a
    # "no group found" from zarr (the service audits the opening when zarr reads .zmetadata).
    _get(f"{root}/.zgroup", headers).close()
    try:
        return xr.open_zarr(root, consolidated=True, chunks={},
                            storage_options={"headers": headers, "client_kwargs": {"trust_env": False}})
    except PermissionError:
        raise
    except (OSError, ValueError, KeyError) as error:
        raise CatalogError(f"{name}: cannot open the grid from the data service at {root}: {error}") from None


class DataServiceTable(BaseReader):
    """Intake reader: a non-public table through the data service (``$OCCIDATA_DATA_SERVICE_URL``).

    Outside a lab server (no service URL), trusted processes with the files at hand read them
    directly, with the same filters and access checks as ``occidata.catalog.load``.
    """

    output_instance = "pandas:DataFrame"
    implements = set()
    imports = {"pyarrow", "requests"}

    def _read(self, name: str, for_year=None, year=None, columns=None, start=None, end=None, equals=None, **kwargs):
        # ``for_year`` holds the catalogue's ``{year}`` (a kwarg named like a catalogue parameter
        # would be taken by Intake as that parameter's value); ``read(year=...)`` overrides it.
        year = _year(year if year is not None else for_year)
        if service_url():
            return fetch_table(name, year=year, columns=columns, start=start, end=end, **(equals or {}))
        from . import load

        return load(name, **({"year": year} if year is not None else {}),
                    **{k: v for k, v in (("columns", columns), ("start", start), ("end", end)) if v is not None},
                    **(equals or {}))


class DataServiceGrid(BaseReader):
    """Intake reader: a non-public grid through the data service, lazy over Zarr HTTP."""

    output_instance = "xarray:Dataset"
    implements = set()
    imports = {"xarray", "zarr", "fsspec", "aiohttp"}

    def _read(self, name: str, **kwargs):
        if service_url():
            return open_grid(name)
        from . import load

        return load(name)


def _year(year):
    if year in (None, "", "None"):
        return None
    try:
        return int(year)
    except (TypeError, ValueError):
        raise CatalogError(f"year must be a whole number like 2024, not {year!r}") from None
