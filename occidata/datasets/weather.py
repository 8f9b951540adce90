"""weather_daily: gridded daily minimum/maximum temperature and precipitation over Occitanie.

- ``SCHEMA``: the grid layout every reader and the generator produce (variables, dims,
  physical ranges), and the check that sets out-of-range values aside.
- ``generate``: deterministic synthetic grids shaped like Météo-France's SAFRAN/SIM2
  reanalysis (8 km cells in Lambert-93): seasonal cycle, colder Pyrenees and Massif
  Central, milder Mediterranean coast, summer heat waves and Cévennes autumn downpours,
  because the real grids are not open to the lab.
- ``read_safran_netcdf``: a SAFRAN/SIM2-style NetCDF file mapped onto the same layout.
- ``write_zarr`` / ``open_zarr``: the grid as a Zarr store, written atomically.

Cells outside Occitanie hold NaN; ``department`` says which department each cell lies in.
"""

from __future__ import annotations

import math
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ..atomic import swap_in_directory
from . import geography
from .schema import SchemaError

NAME = "weather_daily"
KIND = "grid"
METADATA = {
    "title_fr": "Météo quotidienne maillée : températures minimales et maximales, précipitations",
    "title_en": "Gridded daily weather: minimum and maximum temperature, precipitation",
    "description": (
        "Daily minimum and maximum air temperature and precipitation on a regular 8 km grid in "
        "Lambert-93 over Occitanie, in the layout of Météo-France's SAFRAN/SIM2 reanalysis."
    ),
    "description_fr": (
        "Températures minimale et maximale quotidiennes de l'air et précipitations sur une grille régulière de "
        "8 km en Lambert-93 sur l'Occitanie, au format de la réanalyse SAFRAN/SIM2 de Météo-France. Données "
        "synthétiques de démonstration."
    ),
    "producer": "Synthetic (occidata), shaped like Météo-France SAFRAN/SIM2",
    "licence": "Licence Ouverte 2.0",
    "access": "public",
    "personal_data": False,
    "update_frequency": "daily",
    "spatial_coverage": "Occitanie, 8 km grid in Lambert-93 (EPSG:2154)",
    "temporal_coverage": "daily, from 2019 (synthetic)",
    "tags": ["weather", "climate", "temperature", "precipitation", "heat wave", "grid", "SAFRAN"],
}

SIZES = {
    "tiny": {"start": "2023-07-15", "days": 30, "resolution_m": 40_000},
    "demo": {"start": "2023-01-01", "days": 365, "resolution_m": 8_000},
    "full": {"start": "2019-01-01", "days": 5 * 365 + 1, "resolution_m": 8_000},
}

# The grid's extent (cell centres, Lambert-93 metres), on SAFRAN's 8 km spacing: the region's
# outline lies within x 428-848 km, y 6137-6438 km.
X_RANGE = (424_000, 848_000)
Y_RANGE = (6_136_000, 6_440_000)
DIMS = ("time", "y", "x")


@dataclass(frozen=True)
class Variable:
    """One gridded variable: its unit, description and the physically possible range."""

    name: str
    long_name: str
    unit: str
    minimum: float
    maximum: float


@dataclass(frozen=True)
class GridSchema:
    """The variables of a (time, y, x) grid and the range check applied to their values.

    A grid cannot quarantine rows as a table does: an impossible value is set to NaN in
    place and counted, by reason, in ``attrs["quarantined_values"]`` and
    ``attrs["quarantine_reasons"]``.
    """

    name: str
    dims: tuple[str, ...]
    variables: tuple[Variable, ...]

    @property
    def names(self) -> list[str]:
        return [variable.name for variable in self.variables]

    def check_layout(self, ds: xr.Dataset, source: str) -> None:
        """Raise SchemaError naming ``source`` when variables or dims are missing."""
        missing = [name for name in [*self.names, "department"] if name not in ds.variables]
        if missing:
            raise SchemaError(f"{source}: missing variable(s) {', '.join(missing)} for {self.name}")
        wrong = [name for name in self.names if ds[name].dims != self.dims]
        if wrong:
            raise SchemaError(f"{source}: variable(s) {', '.join(wrong)} are not on dims {self.dims}")

    def validate(self, ds: xr.Dataset, source: str) -> tuple[xr.Dataset, dict[str, int]]:
        """Set out-of-range values to NaN; return the cleaned grid and the count per reason.

        Parameters
        ----------
        ds
            A grid holding the schema's variables on ``dims``.
        source
            Named in errors.

        Returns
        -------
        tuple
            The grid (a copy, with the counts in its attrs) and ``{reason: values}``.

        Raises
        ------
        SchemaError
            When variables or dims are missing.
        """
        self.check_layout(ds, source)
        ds = ds.copy()
        reasons: dict[str, int] = {}
        for variable in self.variables:
            values = ds[variable.name]
            for bad, text in (
                (values < variable.minimum, f"below {variable.minimum} {variable.unit}"),
                (values > variable.maximum, f"above {variable.maximum} {variable.unit}"),
            ):
                count = int(bad.sum())
                if count:
                    reasons[f"{variable.name}: {text}"] = count
                    ds[variable.name] = ds[variable.name].where(~bad)
        inverted = ds["tmin"] > ds["tmax"]
        count = int(inverted.sum())
        if count:
            reasons["tmin above tmax (both set aside)"] = 2 * count
            ds["tmin"] = ds["tmin"].where(~inverted)
            ds["tmax"] = ds["tmax"].where(~inverted)
        ds.attrs["quarantined_values"] = sum(reasons.values())
        ds.attrs["quarantine_reasons"] = dict(reasons)
        return ds, reasons


SCHEMA = GridSchema(
    name=NAME,
    dims=DIMS,
    variables=(
        Variable("tmin", "daily minimum air temperature at 2 m", "°C", -50.0, 50.0),
        Variable("tmax", "daily maximum air temperature at 2 m", "°C", -50.0, 50.0),
        Variable("pr", "daily precipitation (rain and snow, water equivalent)", "mm/day", 0.0, 1000.0),
    ),
)


def grid(resolution_m: int) -> tuple[np.ndarray, np.ndarray]:
    """Cell-centre coordinates of the regional grid at ``resolution_m`` metres.

    Returns
    -------
    tuple of numpy.ndarray
        Eastings ``x`` and northings ``y`` (Lambert-93 metres, ascending), on multiples of
        the resolution as SAFRAN's cells are.
    """
    def axis(low: int, high: int) -> np.ndarray:
        first = -(-low // resolution_m) * resolution_m
        return np.arange(first, high + 1, resolution_m, dtype="float64")

    return axis(*X_RANGE), axis(*Y_RANGE)


def department_mask(lon: np.ndarray, lat: np.ndarray, boundaries: dict | None) -> np.ndarray:
    """The department code (as an integer, 0 outside Occitanie) of each grid cell.

    Parameters
    ----------
    lon, lat
        Cell-centre coordinates (2-D, degrees).
    boundaries
        Department shapes from ``geography.load_boundaries``; ``None`` falls back to the
        nearest prefecture inside the region's coarse outline.

    Returns
    -------
    numpy.ndarray
        ``int16`` codes (31 for Haute-Garonne...).
    """
    if boundaries is None:
        codes = geography.nearest_prefecture_departments(lon, lat)
    else:
        codes = geography.departments_at(lon, lat, boundaries)
    return np.where(codes == "", "0", codes).astype(np.int16)


def generate(size: str = "tiny", seed: int = 0, boundaries: dict | None = None) -> xr.Dataset:
    """Deterministic synthetic daily weather grids over Occitanie, shaped like SAFRAN/SIM2.

    Temperatures follow the seasons, cool with a relief proxy (Pyrenees to the south,
    Massif Central to the north-east) and are milder by the Mediterranean; each summer has
    heat waves of several days above 35 °C in the plains; precipitation is intermittent,
    heavier on the relief, and each autumn brings Cévennes downpours (Gard, Hérault) of
    well over 100 mm in a day.

    Parameters
    ----------
    size
        One of ``SIZES``: ``"tiny"`` (40 km grid, 30 days), ``"demo"`` (8 km, one year) or
        ``"full"`` (8 km, five years).
    seed
        Same seed, same grids.
    boundaries
        Department shapes for the ``department`` mask (see ``department_mask``).

    Returns
    -------
    xarray.Dataset
        ``tmin``, ``tmax`` (°C) and ``pr`` (mm/day) as float32 on (time, y, x), NaN outside
        the region; ``department`` on (y, x); 2-D ``lat``/``lon``; the catalogue metadata in
        ``attrs``. ``SCHEMA.validate`` sets nothing aside.

    Raises
    ------
    ValueError
        For an unknown size.
    """
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r} for {NAME}; choose one of {', '.join(SIZES)}")
    options = SIZES[size]
    rng = np.random.default_rng(seed)
    time = pd.date_range(options["start"], periods=options["days"], freq="D")
    x, y = grid(options["resolution_m"])
    lon, lat = geography.lambert93_to_wgs84(*np.meshgrid(x, y))
    place = _Place(lon, lat, x, y)
    tmean, dtr = _temperature(time, place, rng)
    pr = _precipitation(time, place, rng)
    # Wet days have a smaller daily range (clouds), clear heat-wave days a larger one.
    dtr = np.maximum(dtr * np.where(pr > 0.5, 0.65, 1.05), 1.0)
    tmin, tmax = tmean - dtr / 2, tmean + dtr / 2
    mask = department_mask(lon, lat, boundaries)
    attrs = {**METADATA, "size": size, "seed": seed, "resolution_m": options["resolution_m"]}
    return _dataset(time, x, y, lon, lat, mask, tmin, tmax, pr, attrs)


class _Place:
    """Fixed fields of the grid: relief proxy (m), nearness to the sea and its influence (0-1)."""

    def __init__(self, lon: np.ndarray, lat: np.ndarray, x: np.ndarray, y: np.ndarray):
        self.lon, self.lat = lon, lat
        self.elevation = _elevation(lon, lat)
        coast_km = _coast_km(lon, lat)
        self.coast = np.exp(-coast_km / 40.0)  # sea breeze, mild nights
        self.mediterranean = np.exp(-coast_km / 90.0)  # Mediterranean rain regime
        # Normalised position, -1..1, for the large-scale gradients of each day's weather.
        self.xn = ((x - x.mean()) / (np.ptp(x) / 2 or 1))[None, None, :]
        self.yn = ((y - y.mean()) / (np.ptp(y) / 2 or 1))[None, :, None]


def _elevation(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """A smooth relief proxy in metres: Pyrenees, Massif Central, Montagne Noire, low plains."""
    kx, ky = 111.32 * math.cos(math.radians(43.6)), 111.2  # km per degree
    # The Pyrenean crest, its height and its northward width, west to east.
    crest = np.interp(lon, [-0.5, 0.5, 1.0, 1.5, 1.75, 2.0, 2.5, 2.9, 3.2], [42.80, 42.72, 42.72, 42.62, 42.55, 42.42, 42.42, 42.45, 42.45])
    height = np.interp(lon, [-0.5, 0.5, 1.5, 2.3, 2.6, 2.8, 3.0, 3.2], [1700, 2100, 1950, 1900, 1700, 1000, 550, 250])
    width = np.interp(lon, [-0.5, 2.0, 2.6, 3.2], [30, 30, 20, 12])
    north = (lat - crest) * ky
    pyrenees = height * np.exp(-((north / width) ** 2))

    def hill(lon0, lat0, top, sx_km, sy_km):
        return top * np.exp(-(((lon - lon0) * kx / sx_km) ** 2) - (((lat - lat0) * ky / sy_km) ** 2))

    massif = (
        hill(3.30, 44.55, 950, 80, 60)  # Aubrac, Margeride, Causses
        + hill(3.70, 44.35, 350, 30, 25)  # Mont Lozère, Cévennes
        + hill(2.45, 43.47, 600, 35, 14)  # Montagne Noire
        + hill(2.75, 43.70, 550, 40, 20)  # Monts de Lacaune
    )
    plain = 150.0 * (1 - np.exp(-_coast_km(lon, lat) / 30.0))
    return plain + pyrenees + massif


# The Gulf of Lion's shore, from the Spanish border to the Camargue.
_COAST = np.array([
    (3.17, 42.43), (3.05, 42.55), (3.03, 42.75), (3.04, 42.95), (3.10, 43.12), (3.25, 43.25),
    (3.50, 43.28), (3.70, 43.40), (3.95, 43.53), (4.15, 43.53), (4.45, 43.45), (4.85, 43.40),
])


def _coast_km(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Distance in km from each point to the Mediterranean shore (a polyline)."""
    kx, ky = 111.32 * math.cos(math.radians(43.6)), 111.2
    px, py = (lon * kx)[..., None], (lat * ky)[..., None]
    ax, ay = _COAST[:-1, 0] * kx, _COAST[:-1, 1] * ky
    bx, by = _COAST[1:, 0] * kx, _COAST[1:, 1] * ky
    dx, dy = bx - ax, by - ay
    along = np.clip(((px - ax) * dx + (py - ay) * dy) / (dx**2 + dy**2), 0, 1)
    return np.hypot(px - ax - along * dx, py - ay - along * dy).min(axis=-1)


def _ar1(rng: np.random.Generator, days: int, count: int, phi: float) -> np.ndarray:
    """``count`` unit-variance AR(1) series of ``days`` values: weather persists for days."""
    shocks = rng.standard_normal((days, count)) * math.sqrt(1 - phi**2)
    series = np.empty((days, count))
    series[0] = rng.standard_normal(count)
    for day in range(1, days):
        series[day] = phi * series[day - 1] + shocks[day]
    return series


def _temperature(time: pd.DatetimeIndex, place: _Place, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Daily mean temperature and diurnal range (°C) on (time, y, x)."""
    doy = time.day_of_year.to_numpy()[:, None, None]
    winter = np.cos(2 * np.pi * (doy - 20) / 365.25)  # +1 on 20 January, -1 in late July
    annual_mean = 15.0 + 1.4 * place.coast + 0.4 * (place.lon - 1.4) - 6.5 * place.elevation / 1000
    amplitude = 8.3 - 0.6 * place.coast
    anomaly = _ar1(rng, len(time), 3, 0.8)
    field = (
        2.4 * anomaly[:, 0, None, None]
        + 1.0 * anomaly[:, 1, None, None] * place.xn
        + 1.0 * anomaly[:, 2, None, None] * place.yn
        + 0.5 * rng.standard_normal((len(time), *place.lon.shape))
    )
    heat = _heat_waves(time, rng)[:, None, None] * (1 - 0.45 * place.coast) * np.clip(1 - place.elevation / 2500, 0.3, 1)
    tmean = annual_mean - amplitude * winter + field + heat
    dtr = (10.3 - 2.8 * winter) * (1 - 0.15 * place.coast) + 0.25 * heat
    return tmean, dtr


def _heat_waves(time: pd.DatetimeIndex, rng: np.random.Generator) -> np.ndarray:
    """Regional warming (°C) of each day from summer heat waves: 1-3 a summer, 4-9 days each."""
    warming = np.zeros(len(time))
    days = (time - time[0]).days.to_numpy()
    for year in range(time[0].year, time[-1].year + 1):
        for _ in range(1 + min(rng.poisson(0.8), 2)):
            start = pd.Timestamp(year, 6, 20) + pd.Timedelta(days=int(rng.integers(0, 60)))
            length, peak = int(rng.integers(4, 10)), rng.uniform(8.0, 10.5)
            offset = (start - time[0]).days
            # A one-day rise and fall around a plateau, as heat domes build and break.
            ramp = np.clip(np.minimum(days - offset + 1, offset + length - days), 0, 1.5) / 1.5
            warming = np.maximum(warming, peak * ramp)
    return warming


def _normal_cdf(z: np.ndarray) -> np.ndarray:
    """Standard normal CDF (Abramowitz & Stegun 7.1.26 erf, error < 2e-7), without scipy."""
    u = np.abs(z) / math.sqrt(2)
    t = 1 / (1 + 0.3275911 * u)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erf = 1 - poly * np.exp(-(u**2))
    return 0.5 * (1 + np.sign(z) * erf)


def _precipitation(time: pd.DatetimeIndex, place: _Place, rng: np.random.Generator) -> np.ndarray:
    """Daily precipitation (mm) on (time, y, x): intermittent, heavier on relief, Cévennes downpours."""
    doy = time.day_of_year.to_numpy()[:, None, None]
    summer_dry = np.exp(-(((doy - 205) / 30) ** 2))
    atlantic = 0.33 + 0.06 * np.cos(2 * np.pi * (doy - 100) / 365.25) - 0.09 * summer_dry
    mediterranean = 0.18 + 0.06 * np.cos(2 * np.pi * (doy - 300) / 365.25) - 0.10 * summer_dry
    med = place.mediterranean
    wet_chance = ((1 - med) * atlantic + med * mediterranean) * (1 + 0.3 * place.elevation / 1000)

    # Rain comes with regional weather systems: a shared daily signal plus moving gradients.
    signal = _ar1(rng, len(time), 3, 0.6)
    latent = (
        0.8 * signal[:, 0, None, None]
        + 0.3 * (signal[:, 1, None, None] * place.xn + signal[:, 2, None, None] * place.yn)
        + 0.5 * rng.standard_normal((len(time), *place.lon.shape))
    )
    wet = _normal_cdf(latent) > 1 - wet_chance
    autumn = np.exp(-(((doy - 290) / 40) ** 2))
    mean_amount = (6.5 + 10.0 * med * autumn) * (1 + 0.4 * place.elevation / 1000)
    amount = np.minimum(rng.gamma(0.8, mean_amount / 0.8), 5 * mean_amount)
    pr = np.where(wet, amount, 0.0) + _cevennes_episodes(time, place, rng)
    return np.round(pr, 1)


def _cevennes_episodes(time: pd.DatetimeIndex, place: _Place, rng: np.random.Generator) -> np.ndarray:
    """Cévennes episodes: 1-3 each autumn, 2-3 days, 150-320 mm on the peak day (Gard, Hérault)."""
    rain = np.zeros((len(time), *place.lon.shape))
    kx, ky = 111.32 * math.cos(math.radians(43.6)), 111.2
    for year in range(time[0].year, time[-1].year + 1):
        for _ in range(1 + min(rng.poisson(1.0), 2)):
            start = (pd.Timestamp(year, 9, 10) + pd.Timedelta(days=int(rng.integers(0, 76))) - time[0]).days
            lon0, lat0 = 3.85 + rng.uniform(-0.25, 0.3), 44.02 + rng.uniform(-0.12, 0.12)
            # Storms line up along the Cévennes' south-west to north-east slope.
            along = ((place.lon - lon0) * kx + (place.lat - lat0) * ky) / math.sqrt(2)
            across = ((place.lon - lon0) * kx - (place.lat - lat0) * ky) / math.sqrt(2)
            footprint = np.exp(-((along / 45) ** 2) - ((across / 20) ** 2))
            peak = rng.uniform(150, 320)
            for step, share in enumerate((0.35, 1.0, 0.45)[: int(rng.integers(2, 4))]):
                if 0 <= start + step < len(time):
                    rain[start + step] += peak * share * footprint * rng.uniform(0.85, 1.15)
    return np.where(rain > 0.5, rain, 0.0)


_VAR_ATTRS = {variable.name: {"long_name": variable.long_name, "units": variable.unit, "grid_mapping": "crs"} for variable in SCHEMA.variables}
_VAR_ATTRS["tmin"]["standard_name"] = _VAR_ATTRS["tmax"]["standard_name"] = "air_temperature"
_VAR_ATTRS["pr"]["standard_name"] = "lwe_thickness_of_precipitation_amount"


def _dataset(time, x, y, lon, lat, mask, tmin, tmax, pr, attrs: dict, clip: bool = True) -> xr.Dataset:
    """Assemble the grid in the common layout, NaN outside the region when ``clip``."""
    inside = (mask != 0)[None] | (not clip)
    data = {
        name: (DIMS, np.where(inside, values, np.nan).astype("float32"), _VAR_ATTRS[name])
        for name, values in (("tmin", tmin), ("tmax", tmax), ("pr", pr))
    }
    codes = geography.DEPARTMENT_CODES
    names = geography.departments()["name"].tolist()
    data["department"] = (("y", "x"), mask.astype("int16"), {
        "long_name": "department of the cell centre (0 outside Occitanie)",
        "flag_values": [0, *map(int, codes)],
        "flag_meanings": " ".join(["outside", *(name.replace(" ", "_") for name in names)]),
    })
    data["crs"] = ((), np.int32(0), {
        "grid_mapping_name": "lambert_conformal_conic", "epsg_code": "EPSG:2154",
        "standard_parallel": [49.0, 44.0], "latitude_of_projection_origin": 46.5,
        "longitude_of_central_meridian": 3.0, "false_easting": 700000.0, "false_northing": 6600000.0,
    })
    coords = {
        "time": ("time", pd.DatetimeIndex(time).values.astype("datetime64[ns]"), {"long_name": "day (UTC)"}),
        "y": ("y", np.asarray(y, dtype="float64"), {"units": "m", "standard_name": "projection_y_coordinate", "long_name": "Lambert-93 northing"}),
        "x": ("x", np.asarray(x, dtype="float64"), {"units": "m", "standard_name": "projection_x_coordinate", "long_name": "Lambert-93 easting"}),
        "lat": (("y", "x"), lat, {"units": "degrees_north", "standard_name": "latitude"}),
        "lon": (("y", "x"), lon, {"units": "degrees_east", "standard_name": "longitude"}),
    }
    return xr.Dataset(data, coords=coords, attrs={"Conventions": "CF-1.8", **attrs})


def write_zarr(ds: xr.Dataset, path: str | Path) -> None:
    """Write ``ds`` as a Zarr store at ``path``, atomically.

    The store is written to a hidden sibling directory and renamed into place, so readers
    see the old store or the new one, never half of one; a failed write leaves nothing
    behind and the old store untouched. Chunks hold a year of the whole grid.

    Parameters
    ----------
    ds
        A grid in the layout of ``generate``.
    path
        The store's directory; replaced when it exists.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    ds = ds.copy()
    for variable in ds.variables.values():
        variable.encoding = {}  # chunking and compressors of a store it was read from do not apply
    if "time" in ds.dims:
        ds = ds.chunk({"time": min(366, ds.sizes["time"])})
    try:
        ds.to_zarr(tmp, mode="w-", consolidated=True, zarr_format=2)  # v2: consolidated metadata is standard there
        swap_in_directory(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def open_zarr(path: str | Path) -> xr.Dataset:
    """Open a grid written by ``write_zarr`` (lazily, dask-backed).

    Raises
    ------
    SchemaError
        When the store is missing, unreadable or lacks the grid's variables (the message
        names the path). Damage inside chunks shows only when they are read.
    """
    path = Path(path)
    if not path.is_dir():
        raise SchemaError(f"{path}: no such Zarr store")
    try:
        ds = xr.open_zarr(path, consolidated=True)
    except Exception as error:  # zarr reports damage as many types (JSON, key, value errors)
        raise SchemaError(f"{path}: not a readable Zarr store ({type(error).__name__}: {error})") from None
    SCHEMA.check_layout(ds, str(path))
    return ds


# SAFRAN/SIM2 names of each variable, and the dims they may come on.
_SAFRAN_NAMES = {"tmin": ("TINF_H_Q",), "tmax": ("TSUP_H_Q",), "pr": ("PRELIQ_Q", "PRENEI_Q")}
_DIM_NAMES = {"LAMBX": "x", "LAMBY": "y", "DATE": "time", "X": "x", "Y": "y"}
_UNIT_TO_M = {"m": 1.0, "metre": 1.0, "meter": 1.0, "km": 1000.0, "hm": 100.0}


def read_safran_netcdf(path: str | Path, boundaries: dict | None = None) -> xr.Dataset:
    """Read a SAFRAN/SIM2-style NetCDF grid into the layout of ``generate``.

    Variables may carry Météo-France's names (``TINF_H_Q``, ``TSUP_H_Q``, and ``PRELIQ_Q``
    + ``PRENEI_Q`` summed into ``pr``) or ours (``tmin``, ``tmax``, ``pr``), on dims
    ``time``/``y``/``x`` or ``DATE``/``LAMBY``/``LAMBX``. Coordinates must be Lambert-93,
    in metres unless their ``units`` attribute says ``hm`` or ``km``; ``DATE`` may be
    ``YYYYMMDD`` integers.

    A grid cannot quarantine rows: impossible values (temperatures outside -50..50 °C,
    negative or > 1000 mm precipitation, tmin above tmax) become NaN, and are counted by
    reason in ``attrs["quarantined_values"]`` and ``attrs["quarantine_reasons"]``.

    Parameters
    ----------
    path
        A NetCDF-4 (HDF5) file.
    boundaries
        Department shapes for the ``department`` mask (see ``department_mask``).

    Raises
    ------
    SchemaError
        When the file is missing, not NetCDF-4, or lacks variables or coordinates (the
        message names the file and what is missing).
    """
    path = Path(path)
    if not path.exists():
        raise SchemaError(f"{path}: no such file")
    try:
        with xr.open_dataset(path, engine="h5netcdf") as raw:
            raw = raw.load()
    except Exception as error:  # h5py and h5netcdf raise OSError, ValueError, KeyError...
        raise SchemaError(f"{path}: not a readable NetCDF-4 file ({type(error).__name__}: {error})") from None
    raw = raw.rename({name: new for name, new in _DIM_NAMES.items() if name in raw.variables or name in raw.dims})
    values, missing = {}, []
    for name, provider in _SAFRAN_NAMES.items():
        if name in raw.variables:
            values[name] = raw[name]
        elif all(part in raw.variables for part in provider):
            values[name] = sum(raw[part] for part in provider)
        else:
            missing.append(" + ".join(part for part in provider) + f" (or {name})")
    missing += [f"coordinate {dim}" for dim in DIMS if dim not in raw.coords]
    if missing:
        raise SchemaError(f"{path}: not a SAFRAN/SIM2 grid, missing {', '.join(missing)} (found: {', '.join(map(str, raw.variables))})")
    wrong = [f"{name} on {value.dims}" for name, value in values.items() if set(value.dims) != set(DIMS)]
    if wrong:
        raise SchemaError(f"{path}: not a SAFRAN/SIM2 grid, expected variables on (time, y, x): {', '.join(wrong)}")
    grid_values = {name: value.transpose(*DIMS).astype("float64") for name, value in values.items()}
    time = _dates(raw["time"].values, path)
    x = raw["x"].values * _UNIT_TO_M.get(str(raw["x"].attrs.get("units", "m")).lower(), 1.0)
    y = raw["y"].values * _UNIT_TO_M.get(str(raw["y"].attrs.get("units", "m")).lower(), 1.0)
    lon, lat = geography.lambert93_to_wgs84(*np.meshgrid(x, y))
    mask = department_mask(lon, lat, boundaries)
    # Cells outside the region keep their values here: a national file stays national.
    attrs = {**METADATA, "producer": "Météo-France SAFRAN/SIM2 (as read)", "source": str(path)}
    ds = _dataset(time, x, y, lon, lat, mask, *(grid_values[name].values for name in ("tmin", "tmax", "pr")), attrs, clip=False)
    ds = ds.sortby(["y", "x"])
    ds, _ = SCHEMA.validate(ds, str(path))
    return ds


def _dates(values: np.ndarray, path: Path) -> pd.DatetimeIndex:
    """Days from datetimes or ``YYYYMMDD`` integers, as SIM2 writes them."""
    if np.issubdtype(values.dtype, np.datetime64):
        return pd.DatetimeIndex(values).normalize()
    try:
        return pd.to_datetime(values.astype("int64").astype(str), format="%Y%m%d")
    except (ValueError, TypeError):
        raise SchemaError(f"{path}: time/DATE is neither dates nor YYYYMMDD integers") from None


READERS = {"safran-netcdf": read_safran_netcdf}
