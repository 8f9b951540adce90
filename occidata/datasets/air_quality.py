"""air_quality_hourly: ATMO Occitanie station measurements, one row per station, pollutant and period.

- ``SCHEMA``: the long table every reader and the generator produce.
- ``read_atmo_csv``: the ATMO Occitanie open-data CSV export (hourly, monthly or annual
  "mesures"), byte-order mark, trailing spaces and all; every provider label is kept.
- ``stations_from``: the station table (code, name, place, typology, coordinates).
- ``generate_hourly``: deterministic synthetic hourly data at those stations, with daily,
  weekly and seasonal cycles, traffic NO2 peaks, summer ozone, winter particle episodes
  and missing hours, because the real hourly feed is not reachable from the lab.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .schema import SOURCE_ROW, Column, SchemaError, TableSchema

NAME = "air_quality_hourly"
INDEX_POLLUTANTS = ("NO2", "O3", "PM10", "PM2.5", "SO2")
TYPOLOGIES = ("urban", "suburban", "rural")
INFLUENCES = ("traffic", "industrial", "background")
METRICS = ("hourly", "daily", "monthly", "annual")
UNITS = ("µg/m³", "mg/m³")

SCHEMA = TableSchema(
    name=NAME,
    description="Air pollutant concentrations measured by ATMO Occitanie stations",
    columns=(
        Column("station_code", "string", "EU station code (FR5xxxx)"),
        Column("station_name", "string", "station name"),
        Column("commune", "string", "commune name"),
        Column("insee_code", "string", "INSEE code of the commune"),
        Column("department", "string", "department name"),
        Column("typology", "string", "area type", allowed=TYPOLOGIES),
        Column("typology_detail", "string", "the provider's own area label"),
        Column("influence", "string", "main influence", allowed=INFLUENCES),
        Column("longitude", "float64", "WGS84 longitude", "degree_east", minimum=-1.0, maximum=5.5),
        Column("latitude", "float64", "WGS84 latitude", "degree_north", minimum=42.0, maximum=45.5),
        Column("x_l93", "float64", "Lambert-93 easting", "m", nullable=True),
        Column("y_l93", "float64", "Lambert-93 northing", "m", nullable=True),
        Column("pollutant", "string", "pollutant as named by the provider (NO2, O3, NOX as NO2...)"),
        Column("eu_pollutant_code", "int64", "EU pollutant identifier", nullable=True),
        Column("time_start", "datetime", "start of the averaging period (UTC)"),
        Column("time_end", "datetime", "end of the averaging period (UTC)"),
        Column("value", "float64", "concentration, in `unit`", minimum=0.0, maximum=5000.0),
        Column("unit", "string", "unit of `value`", allowed=UNITS),
        Column("metric", "string", "averaging period", allowed=METRICS),
        Column("validated", "bool", "validated by the provider"),
    ),
)

# The provider's columns, and how their labels map onto ours (unknown labels pass through
# unchanged, so validation quarantines them with the reason instead of guessing).
ATMO_COLUMNS = (
    "X", "Y", "nom_dept", "nom_com", "insee_com", "nom_station", "code_station", "typologie",
    "influence", "nom_poll", "id_poll_ue", "valeur", "unite", "metrique", "date_debut",
    "date_fin", "statut_valid", "x_l93", "y_l93",
)
_TYPOLOGY = {"urbaine": "urban", "périurbaine": "suburban", "periurbaine": "suburban"}
_INFLUENCE = {"fond": "background", "trafic": "traffic", "industrielle": "industrial"}
_UNIT = {"ug.m-3": "µg/m³", "µg/m3": "µg/m³", "mg.m-3": "mg/m³", "mg/m3": "mg/m³"}
_METRIC = {"horaire": "hourly", "journaliere": "daily", "journalière": "daily", "mensuelle": "monthly", "annuelle": "annual"}


def _typology(label: str) -> str:
    key = str(label).strip().lower()
    return "rural" if key.startswith("rurale") else _TYPOLOGY.get(key, label)


def read_atmo_csv(path: str | Path) -> pd.DataFrame:
    """Read an ATMO Occitanie "mesures" CSV export into the schema's columns (as text).

    Rows keep their ``source_row`` (line number in the file) for quarantine reports; call
    ``SCHEMA.validate`` to type and check them.

    Raises
    ------
    SchemaError
        When the file is missing or lacks provider columns (the message names both).
    """
    path = Path(path)
    try:
        raw = pd.read_csv(path, sep=",", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except FileNotFoundError:
        raise SchemaError(f"{path}: no such file") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise SchemaError(f"{path}: not a readable ATMO CSV export ({error})") from None
    missing = [c for c in ATMO_COLUMNS if c not in raw.columns]
    if missing:
        raise SchemaError(
            f"{path}: not an ATMO Occitanie export, missing column(s) {', '.join(missing)} "
            f"(found: {', '.join(raw.columns[:8])}...)"
        )
    strip = lambda s: s.str.strip()  # noqa: E731 (station names carry trailing spaces)
    return pd.DataFrame(
        {
            "station_code": strip(raw["code_station"]),
            "station_name": strip(raw["nom_station"]),
            "commune": strip(raw["nom_com"]),
            "insee_code": strip(raw["insee_com"]),
            "department": strip(raw["nom_dept"]),
            "typology": raw["typologie"].map(_typology),
            "typology_detail": strip(raw["typologie"]),
            "influence": raw["influence"].map(lambda v: _INFLUENCE.get(v.strip().lower(), v)),
            "longitude": raw["X"],
            "latitude": raw["Y"],
            "x_l93": raw["x_l93"],
            "y_l93": raw["y_l93"],
            "pollutant": strip(raw["nom_poll"]),
            "eu_pollutant_code": raw["id_poll_ue"],
            "time_start": raw["date_debut"],
            "time_end": raw["date_fin"],
            "value": raw["valeur"].str.replace(",", ".", regex=False),
            "unit": raw["unite"].map(lambda v: _UNIT.get(v.strip().lower(), v)),
            "metric": raw["metrique"].map(lambda v: _METRIC.get(v.strip().lower(), v)),
            "validated": raw["statut_valid"],
            SOURCE_ROW: np.arange(2, len(raw) + 2),
        }
    )


STATION_COLUMNS = (
    "station_code", "station_name", "commune", "insee_code", "department",
    "typology", "typology_detail", "influence", "longitude", "latitude", "x_l93", "y_l93",
)


def stations_from(measurements: pd.DataFrame) -> pd.DataFrame:
    """One row per station, with the pollutants it measures among the five of the indices."""
    stations = measurements.drop_duplicates("station_code")[list(STATION_COLUMNS)].reset_index(drop=True)
    index_rows = measurements[measurements["pollutant"].isin(INDEX_POLLUTANTS)]
    measured: dict[str, set] = {}
    for code, pollutant in zip(index_rows["station_code"], index_rows["pollutant"]):
        measured.setdefault(code, set()).add(str(pollutant))
    stations["pollutants"] = [tuple(sorted(measured.get(code, ()))) or ("NO2", "O3") for code in stations["station_code"]]
    return stations.sort_values("station_code").reset_index(drop=True)


# Typical background level (µg/m³) of each pollutant, and its traffic/industry uplift.
_BASE = {"NO2": 18.0, "O3": 80.0, "PM10": 18.0, "PM2.5": 10.0, "SO2": 2.0}
_UPLIFT = {("NO2", "traffic"): 2.4, ("PM10", "traffic"): 1.4, ("PM2.5", "traffic"): 1.3,
           ("SO2", "industrial"): 4.0, ("O3", "traffic"): 0.7}


def generate_hourly(stations: pd.DataFrame, start: str, days: int, seed: int = 0, missing_rate: float = 0.02) -> pd.DataFrame:
    """Deterministic synthetic hourly measurements at ``stations`` (see ``stations_from``).

    Parameters
    ----------
    stations
        Station table; each station gets its ``pollutants``.
    start
        First day (UTC), e.g. ``"2024-01-01"``.
    days
        Number of days to generate.
    seed
        Same seed, same data.
    missing_rate
        Share of station-hours left out, as real feeds have gaps.

    Returns
    -------
    pandas.DataFrame
        Rows in ``SCHEMA`` (hourly, validated), sorted by station, pollutant and time.
    """
    rng = np.random.default_rng(seed)
    hours = pd.date_range(pd.Timestamp(start, tz="UTC"), periods=days * 24, freq="h")
    local = hours.tz_convert("Europe/Paris")
    hour = local.hour.to_numpy()
    weekend = local.day_of_week.to_numpy() >= 5
    season = np.cos(2 * np.pi * (local.day_of_year.to_numpy() - 15) / 365.25)  # +1 mid-January, -1 mid-July
    rush = np.exp(-((hour - 8) ** 2) / 4) + 0.8 * np.exp(-((hour - 19) ** 2) / 5)
    afternoon = np.exp(-((hour - 15) ** 2) / 10)
    # Winter particle episodes: a few multi-day stagnation periods shared by the region.
    episode = np.zeros(len(hours))
    for _ in range(max(1, days // 30)):
        centre = rng.integers(0, len(hours))
        episode += 1.5 * np.exp(-((np.arange(len(hours)) - centre) ** 2) / (2 * 36**2))
    episode *= np.clip(season, 0, None)

    frames = []
    for station in stations.itertuples(index=False):
        for pollutant in station.pollutants:
            level = _BASE[pollutant] * _UPLIFT.get((pollutant, station.influence), 1.0)
            if pollutant == "NO2":
                shape = (0.6 + 1.2 * rush * np.where(weekend, 0.6, 1.0)) * (1 + 0.3 * season)
            elif pollutant == "O3":
                shape = (0.5 + 0.9 * afternoon) * (1 - 0.45 * season)
            elif pollutant in ("PM10", "PM2.5"):
                shape = (0.8 + 0.3 * rush) * (1 + 0.25 * season) * (1 + episode)
            else:
                shape = np.ones(len(hours))
            values = level * shape * rng.lognormal(0.0, 0.25, len(hours))
            keep = rng.random(len(hours)) >= missing_rate
            frames.append(
                pd.DataFrame(
                    {
                        **{name: getattr(station, name) for name in STATION_COLUMNS},
                        "pollutant": pollutant,
                        "eu_pollutant_code": _EU_CODE[pollutant],
                        "time_start": hours[keep],
                        "time_end": hours[keep] + pd.Timedelta(hours=1),
                        "value": np.round(values[keep], 1),
                        "unit": "µg/m³",
                        "metric": "hourly",
                        "validated": True,
                    }
                )
            )
    frame = pd.concat(frames, ignore_index=True)
    frame["eu_pollutant_code"] = frame["eu_pollutant_code"].astype("Int64")
    frame["validated"] = frame["validated"].astype("boolean")
    return frame[SCHEMA.names]


_EU_CODE = {"SO2": 1, "PM10": 5, "O3": 7, "NO2": 8, "PM2.5": 6001}
