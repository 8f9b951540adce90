"""synop_3hourly: Météo-France's SYNOP observations of a weather station, every three hours.

The essential SYNOP messages (WMO) of Météo-France's synoptic stations, as the open-data export
``donnees-synop-essentielles-omm`` gives them: 82 French columns, ``;``-separated, with a
byte-order mark, local times with their UTC offset, the temperature both in kelvin
(``Température``) and in °C (``Température (°C)``), and ``-0.1`` for a trace of rain.

- ``SCHEMA``: a subset a researcher uses (the rest of the message, cloud layers, present and
  past weather codes, soil state, is left out): time in UTC, station, temperature, dew point,
  humidity, pressures, wind, and rain over 3 and 24 hours with the trace flagged. A row whose
  kelvin and °C temperatures disagree, or whose time has no offset (a local time that cannot be
  placed), is quarantined with the reason; two rows of the same station and time with other
  values are both set aside.
- ``read_synop_csv``: that export, mapped onto the schema.
- ``generate``: synthetic observations at the same station, for a build without the export.

Units are converted once, here: temperatures to °C, pressures from Pa to hPa; a trace of rain
is 0 mm with ``rain_*_trace`` true, so that sums are right and the trace is not lost.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .real_sources import WHOLE, RealSource
from .row_checks import CheckedSchema, RowCheck, provider_numbers
from .schema import SOURCE_ROW, Column, read_provider_csv
from .sourcefile import open_source
from .synthetic import ar1, size_plan
from .temperature_station import normal_tg

NAME = "synop_3hourly"
KIND = "table"
CATALOGUE_YEAR = 2020  # read when no year is given: the month of September 2020
METADATA = {
    "title_fr": "Observations météorologiques SYNOP trihoraires d'une station",
    "title_en": "Three-hourly SYNOP weather observations at a station",
    "description_fr": (
        "Observations synoptiques (SYNOP) de Météo-France toutes les trois heures : température et "
        "point de rosée (°C), humidité, pression au niveau de la mer et à la station (hPa), vent moyen "
        "et rafale, pluie sur 3 et 24 heures (les traces signalées). Heures en UTC. Montpellier-"
        "Fréjorgues (OMM 07643). Données réelles."
    ),
    "description": (
        "Météo-France's synoptic observations (SYNOP) every three hours: temperature and dew point (°C), "
        "humidity, sea-level and station pressure (hPa), mean wind and gust, rain over 3 and 24 hours "
        "(traces flagged). Times in UTC. Montpellier-Fréjorgues (WMO 07643). Real data."
    ),
    "producer": "Météo-France (SYNOP messages of the WMO network), open-data export",
    "licence": "Licence Ouverte 2.0",
    "licence_url": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
    "attribution": "Météo-France — données SYNOP essentielles OMM",
    "source_file": "donnees-synop-essentielles-omm_07643_2020-09.csv",
    "access": "public",
    "personal_data": False,
    "update_frequency": "every three hours",
    "spatial_coverage": "Montpellier-Fréjorgues (Mauguio, Hérault), WMO station 07643",
    "temporal_coverage": "three-hourly; the reference export covers 2020-09-08 to 2020-10-08",
    "tags": ["weather", "SYNOP", "temperature", "humidity", "pressure", "wind", "rain", "station", "Météo-France"],
}

KELVIN = 273.15
KELVIN_TOLERANCE = 0.05  # °C: both columns come from the same measurement, rounded to 0.01
TRACE = "-0.1"  # the provider's code for a trace of rain (less than 0.1 mm)

# The provider's columns this reader uses, by the schema column they feed.
SYNOP_COLUMNS = {
    "station_id": "ID OMM station",
    "time": "Date",
    "station_name": "Nom",
    "latitude": "Latitude",
    "longitude": "Longitude",
    "altitude": "Altitude",
    "department_code": "department (code)",
    "temperature": "Température (°C)",
    "temperature_k": "Température",
    "dew_point": "Point de rosée",
    "humidity": "Humidité",
    "sea_level_pressure": "Pression au niveau mer",
    "station_pressure": "Pression station",
    "wind_direction": "Direction du vent moyen 10 mn",
    "wind_speed": "Vitesse du vent moyen 10 mn",
    "wind_gust": "Rafale sur les 10 dernières minutes",
    "rain_3h": "Précipitations dans les 3 dernières heures",
    "rain_24h": "Précipitations dans les 24 dernières heures",
}


SIZES = {
    "tiny": {"start": "2020-09-08", "days": 7},
    "demo": {"start": "2020-09-08", "days": 31},  # the reference export's month
    "full": {"start": "2020-09-08", "days": 31},
}


def _time_has_offset(typed: pd.DataFrame, raw: pd.DataFrame) -> pd.Series:
    text = raw["time"].astype(str)
    bad = ~text.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True)
    return pd.Series(np.where(bad, "time: no UTC offset (" + text + "), the local time cannot be placed", ""),
                     index=typed.index)


def _kelvin_agrees(typed: pd.DataFrame, raw: pd.DataFrame) -> pd.Series:
    if "temperature_k" not in raw.columns:  # not the reader's rows (the generator's): no kelvin to compare
        return pd.Series("", index=typed.index)
    kelvin = pd.to_numeric(raw["temperature_k"].astype("string").str.strip(), errors="coerce").to_numpy(dtype=float)
    celsius = typed["temperature"].to_numpy(dtype=float)
    bad = np.abs(kelvin - KELVIN - celsius) > KELVIN_TOLERANCE  # False where either is missing
    said = [f"temperature: {k} K is {k - KELVIN:.2f} °C, not {c} °C" for k, c in zip(kelvin, celsius)]
    return pd.Series(np.where(bad, said, ""), index=typed.index)


SCHEMA = CheckedSchema(
    name=NAME,
    description="Three-hourly SYNOP observations of Météo-France stations (subset of the essential message)",
    columns=(
        Column("time", "datetime", "time of observation (UTC)"),
        Column("station_id", "string", "WMO station number, as text (07643)"),
        Column("station_name", "string", "station name, as the provider writes it"),
        Column("latitude", "float64", "station latitude (WGS84)", "degree_north", minimum=41.0, maximum=52.0),
        Column("longitude", "float64", "station longitude (WGS84)", "degree_east", minimum=-6.0, maximum=10.0),
        Column("altitude", "float64", "station altitude", "m", minimum=-10.0, maximum=5000.0),
        Column("department_code", "string", "INSEE code of the station's département, as text", nullable=True),
        Column("temperature", "float64", "air temperature at 2 m (checked against the provider's kelvin)", "°C",
               minimum=-60.0, maximum=60.0, nullable=True),
        Column("dew_point", "float64", "dew point temperature", "°C", minimum=-80.0, maximum=50.0, nullable=True),
        Column("humidity", "float64", "relative humidity", "%", minimum=0.0, maximum=100.0, nullable=True),
        Column("sea_level_pressure", "float64", "pressure reduced to sea level", "hPa", minimum=850.0,
               maximum=1100.0, nullable=True),
        Column("station_pressure", "float64", "pressure at the station", "hPa", minimum=500.0, maximum=1100.0,
               nullable=True),
        Column("wind_direction", "float64", "mean wind direction over 10 min (from; 0 calm, 360 north)", "degree",
               minimum=0.0, maximum=360.0, nullable=True),
        Column("wind_speed", "float64", "mean wind speed over 10 min", "m/s", minimum=0.0, maximum=100.0,
               nullable=True),
        Column("wind_gust", "float64", "strongest gust over the last 10 min", "m/s", minimum=0.0, maximum=150.0,
               nullable=True),
        Column("rain_3h", "float64", "precipitation over the last 3 hours (0 for a trace)", "mm", minimum=0.0,
               maximum=500.0, nullable=True),
        Column("rain_3h_trace", "bool", "a trace of rain (under 0.1 mm) over the last 3 hours", nullable=True),
        Column("rain_24h", "float64", "precipitation over the last 24 hours (0 for a trace)", "mm", minimum=0.0,
               maximum=1000.0, nullable=True),
        Column("rain_24h_trace", "bool", "a trace of rain (under 0.1 mm) over the last 24 hours", nullable=True),
    ),
    checks=(RowCheck("time with a UTC offset", _time_has_offset),
            RowCheck("kelvin and °C agree", _kelvin_agrees)),
    key=("station_id", "time"),
)


def _rain(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(millimetres, trace flag): ``-0.1`` is a trace, 0 mm; an empty cell has no flag either."""
    stripped = text.str.strip()
    trace = stripped == TRACE
    flag = pd.Series(np.where(stripped == "", "", np.where(trace, "t", "f")), index=text.index)
    return provider_numbers(stripped.where(~trace, "0")), flag


def read_synop_csv(path: str | Path, encoding: str | None = None) -> pd.DataFrame:
    """Read a ``donnees-synop-essentielles-omm`` export into ``SCHEMA``'s columns.

    Parameters
    ----------
    path
        The export, ``;``-separated, UTF-8 with a byte-order mark.
    encoding
        The file's encoding (default: detected, as for ``occidata data ingest``).

    Returns
    -------
    pandas.DataFrame
        ``SCHEMA``'s columns (times as the provider wrote them, with their offset; validation
        turns them into UTC), the provider's kelvin ``temperature_k``, and ``source_row`` (the
        line in the file). Call ``SCHEMA.validate`` next.

    Raises
    ------
    SchemaError
        One French line naming the file: not a readable text file, not ``;``-separated, or a
        provider column missing.
    """
    checked = open_source(path, encoding)
    raw = read_provider_csv(path, tuple(SYNOP_COLUMNS.values()), "un export SYNOP de Météo-France "
                            "(données SYNOP essentielles OMM)", sep=";", encoding=checked.encoding)
    text = {name: raw[column].str.strip() for name, column in SYNOP_COLUMNS.items()}
    kelvin = text["temperature_k"]
    temperature = text["temperature"].where(text["temperature"] != "", provider_numbers(kelvin, offset=-KELVIN))
    rain_3h, trace_3h = _rain(text["rain_3h"])
    rain_24h, trace_24h = _rain(text["rain_24h"])
    return pd.DataFrame(
        {
            "time": text["time"],
            "station_id": text["station_id"],
            "station_name": text["station_name"],
            "latitude": text["latitude"],
            "longitude": text["longitude"],
            "altitude": text["altitude"],
            "department_code": text["department_code"],
            "temperature": provider_numbers(temperature, digits=2),
            "dew_point": provider_numbers(text["dew_point"], offset=-KELVIN, digits=2),
            "humidity": text["humidity"],
            "sea_level_pressure": provider_numbers(text["sea_level_pressure"], scale=0.01, digits=2),
            "station_pressure": provider_numbers(text["station_pressure"], scale=0.01, digits=2),
            "wind_direction": text["wind_direction"],
            "wind_speed": text["wind_speed"],
            "wind_gust": text["wind_gust"],
            "rain_3h": rain_3h,
            "rain_3h_trace": trace_3h,
            "rain_24h": rain_24h,
            "rain_24h_trace": trace_24h,
            "temperature_k": kelvin,
            SOURCE_ROW: np.arange(2, len(raw) + 2),
        }
    )


# The station, as the export describes it.
STATION = {"station_id": "07643", "station_name": "MONTPELLIER", "latitude": 43.577, "longitude": 3.963167,
           "altitude": 2.0, "department_code": "34"}
STEP_HOURS = 3
WARMEST_HOUR = 13  # UTC
DIURNAL = 3.5  # °C, half the swing between night and afternoon
WEATHER, PERSISTENCE = 2.5, 0.7  # °C: the day's departure from the season, and its day-to-day correlation
DEPRESSION = (6.0, 3.0, 2.0)  # °C: dew-point depression, its diurnal half-swing, its day-to-day spread
SEA_LEVEL_PRESSURE = (1014.5, 6.0)  # hPa: mean and synoptic spread
STATION_BELOW_SEA_LEVEL_PRESSURE = 0.9  # hPa, as in the export
WIND = (2.0, 2.0, 0.4)  # gamma shape and scale (m/s), and the afternoon strengthening
BREEZE_FROM = {"day": 180, "night": 330}  # degrees: sea breeze in the afternoon, land breeze at night
GUST_FACTOR = (1.2, 1.7)
GUST_MISSING = 0.13  # share of observations without a gust, as in the export
WET_DAYS, WET_SLOT, RAIN_MEAN = 0.2, 0.35, 1.5  # chance a day rains, a 3-hour slot of it does; mm
BUCKET = 0.2  # mm: the rain gauge's resolution
TRACE_SHARE = 0.3  # dry slots of a wet day with a trace of rain
CALM_SHARE = 0.02  # observations without wind (speed and direction 0)
RAIN_24H_MISSING = 0.12


def _magnus(t: np.ndarray) -> np.ndarray:
    """Saturation vapour pressure (hPa) at ``t`` °C (Magnus formula)."""
    return 6.112 * np.exp(17.62 * t / (243.12 + t))


def generate(size: str = "tiny", seed: int = 0) -> pd.DataFrame:
    """Synthetic three-hourly SYNOP observations at Montpellier-Fréjorgues (for a build without
    Météo-France's export), shaped like the export of September 2020.

    The temperature follows the airport's season (:func:`.temperature_station.normal_tg`), the
    day's weather and a diurnal cycle; the dew point and humidity agree with it (Magnus); the
    pressure drifts with the weather; the wind is a sea breeze in the afternoon and a land breeze
    at night, calm now and then (direction 0); rain comes in 0.2 mm steps on wet days, with traces
    flagged, and the 24-hour total sums the last eight observations. Gusts and 24-hour totals are
    sometimes missing, as in the export.

    Parameters
    ----------
    size
        ``"tiny"`` (7 days from 2020-09-08) or ``"demo"``/``"full"`` (31 days, as the export).
    seed
        Same seed, same observations.

    Returns
    -------
    pandas.DataFrame
        ``SCHEMA``'s columns, one row every three hours (UTC); ``SCHEMA.validate`` sets nothing aside.
    """
    plan = size_plan(SIZES, size, NAME)
    rng = np.random.default_rng(seed)
    per_day = 24 // STEP_HOURS
    times = pd.date_range(plan["start"], periods=plan["days"] * per_day, freq=f"{STEP_HOURS}h", tz="UTC")
    n = len(times)
    day = np.arange(n) // per_day
    daily = lambda values: np.interp(np.arange(n) / per_day - 0.5, np.arange(plan["days"]), values)  # noqa: E731
    diurnal = np.cos(2 * np.pi * (times.hour.to_numpy() - WARMEST_HOUR) / 24)

    wet_day = rng.random(plan["days"]) < WET_DAYS
    raining = wet_day[day] & (rng.random(n) < WET_SLOT)
    rain = np.where(raining, BUCKET * np.ceil(rng.exponential(RAIN_MEAN, n) / BUCKET), 0.0).round(1)
    trace = wet_day[day] & ~raining & (rng.random(n) < TRACE_SHARE)

    temperature = (normal_tg(times.normalize()) + WEATHER * daily(ar1(rng, plan["days"], PERSISTENCE))
                   + DIURNAL * diurnal - 1.5 * raining + 0.5 * rng.standard_normal(n)).round(1)
    depression = DEPRESSION[0] + DEPRESSION[1] * diurnal + DEPRESSION[2] * daily(ar1(rng, plan["days"], PERSISTENCE))
    depression = np.where(raining, rng.uniform(0.3, 1.5, n), np.clip(depression, 0.5, None))
    dew_point = (temperature - depression).round(1)
    humidity = np.clip(np.round(100 * _magnus(dew_point) / _magnus(temperature)), 1, 100)
    sea_level = (SEA_LEVEL_PRESSURE[0] + SEA_LEVEL_PRESSURE[1] * daily(ar1(rng, plan["days"], 0.8))
                 + 0.3 * rng.standard_normal(n)).round(1)

    speed = (rng.gamma(WIND[0], WIND[1], n) * (1 + WIND[2] * diurnal) * (rng.random(n) >= CALM_SHARE)).round(1)
    breeze = np.where(diurnal > 0, BREEZE_FROM["day"], BREEZE_FROM["night"])
    direction = np.round((breeze + rng.normal(0, 50, n)) % 360 / 10) * 10
    direction = np.where(speed == 0, 0, np.where(direction == 0, 360, direction))
    gust = (speed * rng.uniform(*GUST_FACTOR, n) + 0.3).round(1)

    window = np.lib.stride_tricks.sliding_window_view(np.r_[np.zeros(per_day - 1), rain], per_day).sum(axis=1)
    traced = np.lib.stride_tricks.sliding_window_view(np.r_[np.zeros(per_day - 1), trace], per_day).any(axis=1)
    known = (np.arange(n) >= per_day - 1) & (rng.random(n) >= RAIN_24H_MISSING)  # a full day behind it
    return pd.DataFrame({
        "time": times,
        **STATION,
        "temperature": temperature,
        "dew_point": dew_point,
        "humidity": humidity,
        "sea_level_pressure": sea_level,
        "station_pressure": (sea_level - STATION_BELOW_SEA_LEVEL_PRESSURE).round(1),
        "wind_direction": direction.astype(float),
        "wind_speed": speed,
        "wind_gust": np.where(rng.random(n) < GUST_MISSING, np.nan, gust),
        "rain_3h": rain,
        "rain_3h_trace": pd.array(trace, dtype="boolean"),
        "rain_24h": np.where(known, window.round(1), np.nan),
        "rain_24h_trace": pd.array(np.where(known, (window == 0) & traced, None), dtype="boolean"),
    })[SCHEMA.names]


READERS = {"synop-csv": read_synop_csv}


# The real exports this entry is built from when sources.real_data_dir holds them (else synthetic).
REAL = RealSource(
    provider='Météo-France',
    licence='Licence Ouverte 2.0',
    attribution='Météo-France — données SYNOP essentielles OMM',
    patterns=('meteo/donnees-synop-essentielles-omm_*.csv',),
    fmt='synop-csv',
    role=WHOLE,
)
