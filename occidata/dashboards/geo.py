"""Map backgrounds for the dashboards: department shapes and the optional tile server.

Shapes come from the configured department boundaries (``sources.boundaries``, else the shared
``departements-occitanie.geojson`` beside the repository), simplified for a phone-sized SVG. When
none can be had (no file, offline, broken file), the region's simplified outline stands in as
one shape, so that a map always shows.
"""

from __future__ import annotations

import os
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..config import load_config
from ..datasets import geography
from ..datasets.schema import SchemaError
from ..datasets.sources import boundaries_source

__all__ = ["department_shapes", "tiles_url", "simplify_ring", "SIMPLIFY_DEGREES"]

SIMPLIFY_DEGREES = 0.01  # about 1 km: invisible on a 640 px map of the region, 10x fewer points


def simplify_ring(ring: np.ndarray, tolerance: float = SIMPLIFY_DEGREES) -> np.ndarray:
    """``ring`` with the vertices closer than ``tolerance`` to the last kept one removed
    (radial-distance simplification); the first and last vertices are always kept."""
    ring = np.asarray(ring, dtype=float)[:, :2]
    if len(ring) <= 4:
        return ring
    kept = [ring[0]]
    for vertex in ring[1:-1]:
        if np.hypot(*(vertex - kept[-1])) >= tolerance:
            kept.append(vertex)
    kept.append(ring[-1])
    return np.asarray(kept) if len(kept) >= 4 else ring


def _rings(geometry: dict) -> list[np.ndarray]:
    polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    return [simplify_ring(np.asarray(ring, dtype=float)) for polygon in polygons for ring in polygon]


def _cache_dir(cfg: dict) -> Path:
    """This account's own cache (XDG): the dashboards, the gate's throwaway accounts and the
    researchers render maps as different accounts, and none may write the platform's state."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "occidata" / "geography"


def _boundaries(cfg: dict) -> dict | None:
    """The department FeatureCollection from the source, the cache, or the data build; else None."""
    attempts = [(boundaries_source(cfg), _cache_dir(cfg)), (None, _cache_dir(cfg)),
                (None, Path(cfg["data_dir"]) / "geography")]
    for source, cache in attempts:
        try:
            found = geography.load_boundaries(source, cache)
        except (SchemaError, OSError) as error:
            print(f"occidata.dashboards.geo: boundaries unusable ({error})", file=sys.stderr)
            continue
        if found is not None:
            return found
    return None


@lru_cache(maxsize=4)
def _shapes_for(source: str | None, state_dir: str, data_dir: str) -> tuple:
    cfg = {"sources": {"boundaries": source}, "state_dir": state_dir, "data_dir": data_dir}
    boundaries = _boundaries(cfg)
    if boundaries is None:
        outline = np.asarray(geography.REGION_OUTLINE, dtype=float)
        return ({"name": "Occitanie", "code": None, "rings": [outline], "fill": None, "text": None},)
    shapes = []
    for feature in sorted(boundaries["features"], key=lambda f: str(f["properties"].get("code"))):
        props = feature["properties"]
        shapes.append({"name": props["nom"], "code": str(props.get("code")),
                       "rings": _rings(feature["geometry"]), "fill": None, "text": None})
    return tuple(shapes)


def department_shapes(cfg: dict | None = None) -> list[dict]:
    """The departments of Occitanie as map shapes, sorted by code.

    Each shape is ``{"name", "code", "rings": [array (n, 2) lon/lat], "fill": None, "text": None}``
    (copies: callers may set ``fill`` and ``text``). When no boundaries can be had, one shape
    ``"Occitanie"`` (code None) made of the region's simplified outline.
    """
    cfg = cfg or load_config()
    source = cfg.get("sources", {}).get("boundaries")
    if not source:
        source = boundaries_source({"sources": {"boundaries": None}})
    cached = _shapes_for(source, str(cfg["state_dir"]), str(cfg["data_dir"]))
    return [dict(shape) for shape in cached]


def tiles_url(cfg: dict | None = None) -> str | None:
    """The map tiles' URL template (``dashboards.tiles_url``), or None for no tiles."""
    cfg = cfg or load_config()
    return cfg.get("dashboards", {}).get("tiles_url") or None
