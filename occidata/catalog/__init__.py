"""Find and load the region's datasets: ``from occidata import catalog; catalog.load("air_quality_hourly", year=2024)``.

Reads go through the Intake catalogue (catalog/catalog.yaml), are limited to the caller's
access levels, check the stored files against the build manifest, and every partner or
restricted read is written to the audit log.

Access levels come from ``OCCIDATA_ACCESS_LEVELS`` (comma-separated: ``partner``,
``restricted:<dataset>``), which the spawner sets from the user's hub groups; ``public`` is
always granted. This check is a convenience in the notebook: server mode (issue 7) enforces
the same rules on the server side (file permissions and the data service).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import intake

from ..config import load_config
from ..datasets.build import read_manifest, tree_checksum
from ..datasets.store import sha256_of
from ..privacy.audit import record_read
from ..state import StatePaths
from .spec import CATALOG_PATH

__all__ = ["open_catalog", "list_entries", "search", "show", "load", "caller_levels", "datasets_read", "CatalogError"]

# What this process has loaded, for the provenance of reports (occidata.reports.summary).
_READS: list[dict] = []


class CatalogError(ValueError):
    """A catalogue request that cannot be served; the message names the entry and what to do."""


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


def _required_level(name: str, access: str) -> str:
    return f"restricted:{name}" if access == "restricted" else access


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
    """Names of entries whose name, titles, description, producer or tags contain ``text``
    (case-insensitive) and whose metadata equal every ``metadata`` filter (e.g. ``access="public"``)."""
    catalog = catalog or open_catalog()
    text = text.lower()
    found = []
    for name in sorted(catalog):
        meta = catalog[name].metadata
        haystack = " ".join(
            [name, meta.get("title_fr", ""), meta.get("title_en", ""), meta.get("description", ""),
             meta.get("producer", ""), " ".join(meta.get("tags", []))]
        ).lower()
        if text in haystack and all(meta.get(key) == value for key, value in metadata.items()):
            found.append(name)
    return found


def show(name: str, catalog=None) -> dict:
    """The metadata of entry ``name``."""
    return dict(_entry(catalog or open_catalog(), name).metadata)


def _check_parameters(name: str, kind: str, params: dict, manifest_record: dict | None, columns) -> dict:
    allowed = set()
    if kind == "table":
        allowed = {"year"} | ({"department"} if "department" in columns else set())
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
        built = sorted(int(f.split("/")[0].split("=")[1]) for f in (manifest_record or {}).get("files", {}) if f.startswith("year="))
        if built and year not in built:
            raise CatalogError(f"{name}: no data for year {year}; built years: {', '.join(map(str, built))}")
    return params


def _verify_files(name: str, data_dir: Path, record: dict | None, year: int | None) -> None:
    if record is None:
        raise CatalogError(f"{name}: not built in {data_dir}; run `occidata data build --size demo` (or `make up`)")
    for relative, expected in record["files"].items():
        if year is not None and not relative.startswith(f"year={year}/"):
            continue
        path = data_dir / name / relative
        if not path.exists():
            raise CatalogError(f"{name}: missing data file {path}; rebuild with `occidata data build`")
        actual = tree_checksum(path) if path.is_dir() else sha256_of(path)
        if actual != expected:
            raise CatalogError(f"{name}: checksum mismatch for {path} (changed since the build); rebuild it")


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


def load(name: str, *, levels: set[str] | None = None, user: str | None = None, **params):
    """Load dataset ``name`` as pandas (tables) or dask-backed xarray (grids).

    Parameters
    ----------
    name
        A catalogue entry, e.g. ``"air_quality_hourly"``.
    levels
        Access levels to use instead of the caller's (``caller_levels()``).
    user
        Who is reading, for the audit log (default: the hub user or system user).
    **params
        Catalogue parameters, e.g. ``year=2024`` for tables.

    Raises
    ------
    PermissionError
        When the caller lacks the entry's access level (the message names it).
    CatalogError
        For an unknown entry or parameter, data not built, or a file that fails its checksum.
    """
    cfg = load_config()
    catalog = open_catalog(cfg=cfg)
    entry = _entry(catalog, name)
    meta = entry.metadata
    needed = _required_level(name, meta["access"])
    granted = caller_levels() if levels is None else {"public"} | set(levels)
    if meta["access"] == "restricted" and cfg["mode"] == "demo":
        raise PermissionError(f"{name} is restricted and demo mode does not serve restricted datasets at all")
    if needed != "public" and needed not in granted:
        raise PermissionError(f"{name} needs access level '{needed}' (you have: {', '.join(sorted(granted))}); ask a data steward")
    data_dir = Path(cfg["data_dir"])
    record = read_manifest(data_dir).get(name)
    params = _check_parameters(name, meta["kind"], params, record, meta.get("variables", {}))
    department = params.pop("department", None)
    _verify_files(name, data_dir, record, params.get("year"))
    if meta["access"] != "public":
        record_read(StatePaths(Path(cfg["state_dir"])).logs / "audit.jsonl", name, meta["access"], params, user=user)
    if meta["kind"] == "table" and "year" not in params:
        loaded = catalog[name].read(filters=None)  # every year: drop the entry's year filter
    else:
        loaded = catalog(**params)[name].read()
    _note_read(name, meta, params, department, record)
    if department is not None:
        known = sorted(loaded["department"].dropna().unique())
        if department not in known:
            raise CatalogError(f"{name}: no department {department!r}; departments in this entry: {', '.join(known)}")
        loaded = loaded[loaded["department"] == department].reset_index(drop=True)
    return loaded
