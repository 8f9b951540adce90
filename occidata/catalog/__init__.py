"""Find and load the region's datasets: ``from occidata import catalog; catalog.load("air_quality_hourly", year=2024)``.

Two paths, one behaviour:

- inside a lab server (``OCCIDATA_DATA_SERVICE_URL`` set by the hub), non-public entries come
  through the data service (:mod:`occidata.catalog.remote`), which checks the user's hub groups
  on every request and writes the audit log; nothing is checked or audited here beyond demo mode;
- elsewhere (trusted processes: the data service itself, the CLI, tests, scheduled reports) the
  files are read directly with ``pyarrow.dataset`` (:mod:`occidata.catalog.tables`), limited to the
  caller's access levels, checked against the build manifest, and every partner or restricted
  read is written to the audit log. Public entries are always read directly.

Access levels for the direct path come from ``OCCIDATA_ACCESS_LEVELS`` (comma-separated:
``partner``, ``restricted:<dataset>``), which the spawner sets from the user's hub groups;
``public`` is always granted. Which level an entry needs is decided by :mod:`occidata.levels`;
server mode enforces it on the server side (file permissions and the data service, which also
requires its own record of the grant).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import intake

from ..config import load_config
from ..datasets.stored import stored_record
from ..levels import required_level
from ..modes import mode_of
from ..privacy.audit import record_read
from ..state import StatePaths
from .access_message import DEMO, access_refusal
from .spec import CATALOG_PATH
from .tables import CatalogError, ParameterError, built_years, parse_query, read_table, to_pandas, verify_files

__all__ = ["open_catalog", "list_entries", "search", "show", "load", "caller_levels", "datasets_read",
           "datasets_denied", "CatalogError"]

# What this process has loaded, for the provenance of reports (occidata.reports.summary).
_READS: list[dict] = []
# What this process was refused, for the publication gate (occidata.dashboards.gate).
_DENIED: list[dict] = []


@lru_cache(maxsize=4)
def _parsed(path: str, mtime_ns: int):
    # Parsing the YAML is most of a small load's cost; reparse only when the file changes.
    return intake.from_yaml_file(path)


def open_catalog(path: str | Path = CATALOG_PATH, cfg: dict | None = None):
    """The Intake catalogue with ``data_dir`` set to this platform's data directory."""
    path = Path(path)
    catalog = _parsed(str(path), path.stat().st_mtime_ns)
    return catalog(data_dir=(cfg or load_config())["data_dir"])


def caller_levels(environ=None) -> set[str]:
    """Access levels granted to whoever runs this code."""
    environ = os.environ if environ is None else environ
    granted = {level.strip() for level in environ.get("OCCIDATA_ACCESS_LEVELS", "").split(",") if level.strip()}
    return {"public"} | granted


def _entry(catalog, name: str):
    if name not in catalog:
        known = ", ".join(sorted(catalog))
        raise CatalogError(f"no dataset named {name!r} in the catalogue; known: {known}")
    return catalog[name]


def list_entries(catalog=None) -> list[dict]:
    """Every entry with its French title, access level and kind (reading may still need a level)."""
    catalog = catalog or open_catalog()
    return [
        {"name": name, "title_fr": m["title_fr"], "access": m["access"], "kind": m["kind"]}
        for name in sorted(catalog)
        for m in [catalog[name].metadata]
    ]


def search(text: str = "", catalog=None, **metadata: Any) -> list[str]:
    """Names of entries found by every word of ``text`` (accents and case do not matter, a word
    may be the start of one: see :mod:`occidata.catalog.words`) in their name, titles,
    description, producer, tags, variables or the common names of their pollutants, and whose
    metadata equal every ``metadata`` filter (e.g. ``access="public"``).

    >>> search("qualité air") == search("qualite AIR")  # doctest: +SKIP
    True
    """
    from .words import matches

    catalog = catalog or open_catalog()
    return [name for name in sorted(catalog)
            if matches(text, name, catalog[name].metadata)
            and all(catalog[name].metadata.get(key) == value for key, value in metadata.items())]


def show(name: str, catalog=None) -> dict:
    """The metadata of entry ``name``, with ``origin`` as this platform built it (``real``,
    ``synthetic`` or ``mixed``) and ``sources``: the provider files its rows came from."""
    from ..datasets.build import read_manifest

    metadata = dict(_entry(catalog or open_catalog(), name).metadata)
    try:
        built = read_manifest(load_config()["data_dir"]).get(name) or {}
    except (OSError, ValueError):
        built = {}
    if built.get("origin"):
        metadata["origin"] = built["origin"]
        metadata["sources"] = [{key: source.get(key) for key in ("provider", "name", "sha256", "rows", "period")}
                               for source in built.get("sources", [])]
    return metadata


FILTERS = ("columns", "start", "end")


def _check_parameters(name: str, kind: str, params: dict, record: dict | None, columns) -> dict:
    allowed = set()
    if kind == "table":
        allowed = {"year", *FILTERS} | ({"department"} if "department" in columns else set())
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise CatalogError(
            f"{name}: unknown parameter(s) {', '.join(unknown)}; "
            f"{'allowed: ' + ', '.join(sorted(allowed)) if allowed else 'this entry takes none'}"
        )
    if "year" in params:
        year = params["year"]
        if isinstance(year, bool) or not isinstance(year, int):
            raise CatalogError(f"{name}: year must be a whole number like 2024, not {year!r}")
        built = built_years(record)
        if built and year not in built:
            raise CatalogError(f"{name}: no data for year {year}; built years: {', '.join(map(str, built))}")
    if kind == "table":
        # Same checks as the data service's: unknown columns, dates that are not dates.
        parse_query(name, {k: v for k, v in params.items() if k in FILTERS})
    return params


def _note_read(name: str, meta: dict, params: dict, department: str | None, record: dict) -> None:
    """Remember a load with the dataset's version and the checksums of the files behind it."""
    read = {"name": name, "access": meta["access"], "version": meta.get("version"),
            "parameters": {**params, **({"department": department} if department else {})},
            "built_at": record.get("built_at"), "size": record.get("size"),
            "checksums": dict(record.get("files", {}))}
    if read not in _READS:
        _READS.append(read)


def datasets_read() -> list[dict]:
    """Every distinct load of this process: name, parameters, version, build and file checksums."""
    return [dict(r) for r in _READS]


def _deny(name: str, access: str, reason: str) -> PermissionError:
    denial = {"name": name, "access": access, "reason": reason}
    if denial not in _DENIED:
        _DENIED.append(denial)
    return PermissionError(reason)


def datasets_denied() -> list[dict]:
    """Every load of this process refused with PermissionError: name, access and reason."""
    return [dict(d) for d in _DENIED]


def _json_safe(params: dict) -> dict:
    out = {}
    for key, value in params.items():
        if hasattr(value, "isoformat"):
            value = value.isoformat()
        elif isinstance(value, (list, tuple, set)):
            value = list(value)
        out[key] = value
    return out


def load(name: str, *, levels: set[str] | None = None, user: str | None = None, **params):
    """Load dataset ``name`` as pandas (tables) or dask-backed xarray (grids).

    Parameters
    ----------
    name
        A catalogue entry, e.g. ``"air_quality_hourly"``.
    levels
        Access levels to use instead of the caller's (``caller_levels()``); direct reads only.
    user
        Who is reading, for the audit log of direct reads (default: the hub user or system user).
    **params
        For tables: ``year=2024``; ``department="Hérault"``; ``columns=["a", "b"]``;
        ``start="2024-07-01"`` / ``end=...`` (on the table's time column, end excluded).

    Raises
    ------
    PermissionError
        When the caller lacks the entry's access level: the message, in French, names the level, the
        stewards who grant it and the entry's catalogue page (:mod:`occidata.catalog.access_message`).
    CatalogError
        For an unknown entry or parameter, data not built, or a file that fails its checksum.
    """
    from . import remote

    cfg = load_config()
    catalog = open_catalog(cfg=cfg)
    entry = _entry(catalog, name)
    meta = entry.metadata
    access = meta["access"]
    needed = required_level(name, access)
    if access == "restricted" and not mode_of(cfg).serves_restricted:
        raise _deny(name, access, access_refusal(name, access, cfg, DEMO))
    service = remote.service_url() if access != "public" else None
    if service is None:
        granted = caller_levels() if levels is None else {"public"} | set(levels)
        if needed != "public" and needed not in granted:
            raise _deny(name, access, access_refusal(name, access, cfg))
    data_dir = Path(cfg["data_dir"])
    record = stored_record(data_dir, name) if service is None else None
    params = _check_parameters(name, meta["kind"], params, record, meta.get("variables", {}))
    department = params.pop("department", None)
    filters = {key: params.pop(key) for key in FILTERS if params.get(key) is not None}
    for key in FILTERS:
        params.pop(key, None)
    noted = _json_safe({**params, **filters})

    if service is not None:
        try:
            if meta["kind"] == "table":
                loaded = remote.fetch_table(name, year=params.get("year"), **filters,
                                            **({"department": department} if department is not None else {}))
            else:
                loaded = remote.open_grid(name)
        except PermissionError as error:
            raise _deny(name, access, str(error)) from None
        _note_read(name, meta, noted, department, loaded.attrs.get("occidata_build") or {})
        return loaded

    verify_files(name, data_dir, record, params.get("year"))
    if access != "public":
        record_read(StatePaths(Path(cfg["state_dir"])).logs / "audit.jsonl", name, access,
                    {**noted, **({"department": department} if department else {})}, user=user)
    if meta["kind"] == "table":
        pushed = {}
        if department is not None and filters.get("columns") is not None and "department" not in filters["columns"]:
            pushed, department = {"department": department}, None  # filtered in the scan: the column is not kept
        query = parse_query(name, {**params, **filters, **pushed})
        loaded = to_pandas(read_table(name, data_dir, query, files=record["files"]))
    elif access == "public":
        loaded = catalog[name].read()
    else:
        import xarray as xr

        loaded = xr.open_dataset(data_dir / name / f"{name}.zarr", engine="zarr", chunks={})
    _note_read(name, meta, noted, department, record)
    if department is not None:
        known = sorted(loaded["department"].dropna().unique())
        if department not in known:
            raise CatalogError(f"{name}: no department {department!r}; departments in this entry: {', '.join(known)}")
        loaded = loaded[loaded["department"] == department].reset_index(drop=True)
    return loaded


__all__ += ["ParameterError"]
