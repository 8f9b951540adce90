"""Where real provider files are read from (never copied into the repository).

``sources.real_data_dir`` and ``sources.boundaries`` in the configuration; by default the
reference files beside the checkout (``../shared/data``), as the project's CI has them.
"""

from __future__ import annotations

from pathlib import Path

from ..config import load_config

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def real_data_dir(cfg: dict | None = None) -> Path:
    """Folder of real provider exports (``sources.real_data_dir``)."""
    configured = (cfg or load_config())["sources"]["real_data_dir"]
    return Path(configured) if configured else SHARED_DATA / "real"


def boundaries_source(cfg: dict | None = None) -> str | None:
    """Path or URL of the departments GeoJSON (``sources.boundaries``), else the shared file if present."""
    configured = (cfg or load_config())["sources"]["boundaries"]
    if configured:
        return configured
    shared = SHARED_DATA / "geo" / "departements-occitanie.geojson"
    return str(shared) if shared.exists() else None
