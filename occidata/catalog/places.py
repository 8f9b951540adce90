"""Where a catalogue entry's data are, for its page's map: sites, a grid's footprint, or departments.

Only two sources are used, so that the catalogue pages never read what their visitors may not:

- the data of **public** entries (read through :func:`occidata.catalog.load` with no level: the
  distinct sites of a table with ``latitude``/``longitude``, the outline and years of a grid);
- the catalogue's metadata for the others (the departments named in ``spatial_coverage``),
  and the build manifest (public) for the years a table holds.

Non-public files are never opened: in server mode the pages run as the public account, which
cannot read them anyway.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..datasets.build import read_manifest
from ..datasets.stored import stored_record
from ..levels import required_level
from .tables import built_years
from .words import words

# Columns that name a site, first found wins (the catalogue's tables use these).
SITE_IDS = ("station_code", "site_id", "counter_id", "sensor_id", "building_id")
SITE_NAMES = ("station_name", "name", "counter_name", "vineyard", "building_name")
MAX_GRID_EDGE = 200  # points kept on each side of a grid's outline


@dataclass
class Places:
    """What an entry's map shows.

    kind : ``"sites"`` (``points``: site, name, commune, lon, lat), ``"grid"`` (``outline``: a
        lon/lat ring, ``cells``, ``corners``), or ``"departments"`` (``departments``: names from
        the metadata, possibly none: the whole region).
    source : ``"data"`` (read from the public data) or ``"metadata"``.
    years : the years with data, when known.
    note : why the map shows less than the data would (not built, not public), or ''.
    """
    kind: str
    source: str
    points: pd.DataFrame | None = None
    outline: np.ndarray | None = None
    cells: int = 0
    corners: dict = field(default_factory=dict)
    departments: list[str] = field(default_factory=list)
    years: list[int] = field(default_factory=list)
    note: str = ""


def is_public(name: str, meta: dict) -> bool:
    """Whether entry ``name`` needs no level at all (asked of :mod:`occidata.levels`)."""
    return required_level(name, meta["access"]) == "public"


def named_departments(text: str, department_names: list[str]) -> list[str]:
    """The departments of ``department_names`` that ``text`` names (accents and case aside)."""
    have = " " + " ".join(words(text)) + " "
    found = set()
    for name in sorted(department_names, key=len, reverse=True):  # "Tarn-et-Garonne" is not "Tarn"
        wanted = " " + " ".join(words(name)) + " "
        if wanted in have:
            found.add(name)
            have = have.replace(wanted, " | ")
    return [d for d in department_names if d in found]


def table_years(name: str, meta: dict, data_dir: str | Path) -> list[int]:
    """The years a table holds, from the build manifest (and, for public entries, their ingests)."""
    if meta.get("kind") != "table":
        return []
    try:
        record = stored_record(data_dir, name) if is_public(name, meta) else read_manifest(data_dir).get(name)
    except (OSError, ValueError):
        return []
    return built_years(record)


_CACHE: dict[tuple, Places] = {}


def _version(name: str, data_dir: str | Path) -> str:
    """What changes when the stored files of public entry ``name`` change."""
    try:
        return json.dumps(stored_record(data_dir, name), sort_keys=True, default=str)
    except (OSError, ValueError):
        return ""


def _sites(name: str, meta: dict) -> pd.DataFrame:
    from . import load

    variables = meta.get("variables") or {}
    ident = next(c for c in SITE_IDS if c in variables)
    label = next((c for c in SITE_NAMES if c in variables), ident)
    commune = ["commune"] if "commune" in variables else []
    columns = list(dict.fromkeys([ident, label, *commune, "longitude", "latitude"]))
    frame = load(name, levels=set(), columns=columns)
    frame = frame.dropna(subset=["longitude", "latitude"]).drop_duplicates(subset=[ident]).sort_values(ident)
    return pd.DataFrame({"site": frame[ident].astype(str).to_numpy(), "name": frame[label].astype(str).to_numpy(),
                         "commune": frame["commune"].astype(str).to_numpy() if "commune" in frame else "",
                         "lon": frame["longitude"].astype(float).to_numpy(),
                         "lat": frame["latitude"].astype(float).to_numpy()})


def _grid(name: str) -> Places:
    from . import load

    grid = load(name, levels=set())
    lon, lat = np.asarray(grid["lon"].values, dtype=float), np.asarray(grid["lat"].values, dtype=float)
    edge = np.concatenate([np.c_[lon[0, :], lat[0, :]], np.c_[lon[:, -1], lat[:, -1]],
                           np.c_[lon[-1, ::-1], lat[-1, ::-1]], np.c_[lon[::-1, 0], lat[::-1, 0]]])
    step = max(1, len(edge) // (4 * MAX_GRID_EDGE))
    outline = np.vstack([edge[::step], edge[:1]])
    times = pd.DatetimeIndex(grid["time"].values)
    corners = {"sud-ouest": (float(lon.min()), float(lat.min())), "nord-est": (float(lon.max()), float(lat.max()))}
    return Places("grid", "data", outline=outline, cells=int(lon.size), corners=corners,
                  years=sorted(set(times.year.tolist())))


def entry_places(name: str, meta: dict, data_dir: str | Path, department_names: list[str]) -> Places:
    """What the map of entry ``name`` shows (see :class:`Places`); never raises for missing data."""
    from .tables import CatalogError

    from_metadata = Places("departments", "metadata",
                           departments=named_departments(str(meta.get("spatial_coverage", "")), department_names),
                           years=table_years(name, meta, data_dir))
    if not is_public(name, meta):
        from_metadata.note = "not_public"
        return from_metadata
    variables = meta.get("variables") or {}
    has_sites = {"latitude", "longitude"} <= set(variables) and any(c in variables for c in SITE_IDS)
    if meta.get("kind") == "table" and not has_sites:
        return from_metadata
    key = (name, str(data_dir), _version(name, data_dir))
    if key not in _CACHE:
        try:
            if meta.get("kind") == "grid":
                places = _grid(name)
            else:
                places = Places("sites", "data", points=_sites(name, meta), years=from_metadata.years)
        except (CatalogError, OSError, KeyError, ValueError) as error:
            from_metadata.note = f"not_built: {error}"
            return from_metadata
        _CACHE[key] = places
    return _CACHE[key]


__all__ = ["Places", "entry_places", "is_public", "named_departments", "table_years"]
