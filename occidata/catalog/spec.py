"""catalog/catalog.yaml, generated from the dataset modules (the one source of truth).

The file is Intake 2's version-2 YAML: plain ``intake.from_yaml_file("catalog/catalog.yaml")``
opens every public entry with Intake's own Parquet and Zarr readers; non-public entries use
:class:`occidata.catalog.remote.DataServiceTable` / ``DataServiceGrid``, which read through the
data service inside a lab server (``$OCCIDATA_DATA_SERVICE_URL``). Intake 2 quirks
handled here: ``list(cat)`` shows aliases only, so each entry gets an alias of its own name;
the data location is a catalogue parameter ``data_dir`` whose default is Intake's
``func(occidata.catalog.spec:DATA_DIR)`` template: the platform's data directory as
:func:`occidata.config.load_config` finds it (``OCCIDATA_DATA_DIR``, else the site config, else
``<state_dir>/data``), so plain Intake outside a lab reads where occidata does; ``year`` is a
bounded parameter given as ``cat(year=2024)``, not to ``read()``.
"""

from __future__ import annotations

from pathlib import Path

from intake.readers import datatypes, readers
from intake.readers.entry import Catalog
from intake.readers.user_parameters import BoundedNumberUserParameter, SimpleUserParameter

from .. import __version__
from ..datasets import get_dataset, names
from ..datasets.real_sources import WHOLE, real_source
from ..levels import LEVELS

CATALOG_PATH = Path(__file__).resolve().parent.parent.parent / "catalog" / "catalog.yaml"
ACCESS_LEVELS = LEVELS  # decided in occidata.levels
BUILD_YEAR = 2024
FIRST_YEAR = 1900  # the long station series starts in 1946, the City's traffic campaigns in 1996


def default_year(module) -> int:
    """The year a table is read for when none is given (``CATALOGUE_YEAR`` of its module, say the
    2019 heat wave for daily temperatures, else the synthetic build year)."""
    return getattr(module, "CATALOGUE_YEAR", BUILD_YEAR)


def entry_metadata(module) -> dict:
    """The catalogue metadata of one dataset, with its variables and units."""
    metadata = dict(module.METADATA)
    metadata["version"] = __version__
    metadata["kind"] = module.KIND
    metadata["checksums"] = "recorded per build in <data_dir>/manifest.json and checked on load"
    source = real_source(module)
    if source is not None:
        # Which it is (real, synthetic or mixed) depends on the platform's build: its manifest says.
        metadata["real_source"] = source.describe()
        metadata["origin_rule"] = (
            f"real ({source.provider}'s exports) where sources.real_data_dir holds them, else synthetic"
            if source.role == WHOLE else
            f"mixed: synthetic values, plus the real period of {source.provider}'s exports where "
            "sources.real_data_dir holds them")
        metadata.setdefault("attribution", source.attribution)
    metadata["default_year"] = default_year(module)
    if module.KIND == "table":
        metadata["variables"] = {
            c.name: {"dtype": c.dtype, "unit": c.unit, "description": c.description} for c in module.SCHEMA.columns
        }
    else:
        metadata["variables"] = {
            v.name: {"dims": list(module.SCHEMA.dims), "unit": v.unit, "description": v.long_name}
            for v in module.SCHEMA.variables
        }
    return metadata


def _reader(name: str, module):
    if module.METADATA["access"] != "public":
        # Non-public entries go through the data service (the lab server's token says who reads);
        # outside a lab, trusted processes read the files directly (see occidata.catalog.remote).
        from .remote import DataServiceGrid, DataServiceTable

        if module.KIND == "table":
            return DataServiceTable(name=name, for_year="{year}", metadata=entry_metadata(module))
        return DataServiceGrid(name=name, metadata=entry_metadata(module))
    if module.KIND == "table":
        data = datatypes.Parquet(url=f"{{data_dir}}/{name}")
        return readers.PandasParquet(data, filters=[["year", "==", "{year}"]], metadata=entry_metadata(module))
    data = datatypes.Zarr(url=f"{{data_dir}}/{name}/{name}.zarr")
    # chunks={} keeps the Zarr chunks and makes the grid dask-backed (lazy) instead of loaded in memory.
    return readers.XArrayDatasetReader(data, chunks={}, metadata=entry_metadata(module))


def build_catalog() -> Catalog:
    """The Intake catalogue of every dataset module."""
    catalog = Catalog(metadata={"title": "Occitanie Data Lab", "version": __version__, "access_levels": list(ACCESS_LEVELS)})
    catalog.user_parameters["data_dir"] = SimpleUserParameter(
        default=f"func({__name__}:DATA_DIR)", dtype=str,
        description="the platform's data directory (occidata's configuration: OCCIDATA_DATA_DIR, "
                    "else the site config's data_dir, else <state_dir>/data)",
    )
    catalog.user_parameters["year"] = BoundedNumberUserParameter(
        default=BUILD_YEAR, min_value=FIRST_YEAR, max_value=2100, dtype=int,
        description="calendar year (tables); an entry's own years are in its metadata (default_year)"
    )
    for name in names():
        module = get_dataset(name)
        catalog.add_entry(_reader(name, module), name=name)
        catalog.aliases[name] = name
    return catalog


def __getattr__(name: str):
    # ``DATA_DIR`` is computed each time Intake imports it (the catalogue's data_dir default), so
    # that it follows the configuration of the process that opens the catalogue.
    if name == "DATA_DIR":
        from ..config import load_config

        return load_config()["data_dir"]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def render_catalog() -> str:
    """The YAML text of ``build_catalog()``, as checked in at catalog/catalog.yaml."""
    import yaml

    return yaml.safe_dump(build_catalog().to_dict(), sort_keys=True, allow_unicode=True)
