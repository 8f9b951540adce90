"""air_quality_hourly: ATMO Occitanie station measurements, one row per station, pollutant and period.

- ``SCHEMA``: the long table every reader and the generator produce.
- ``read_atmo_csv``: the ATMO Occitanie open-data CSV export (hourly, monthly or annual
  "mesures"), byte-order mark, trailing spaces and all; every provider label is kept.
- ``stations_from``: the station table (code, name, place, typology, coordinates).
- ``BUILTIN_STATIONS`` / ``stations_for``: a dozen of ATMO Occitanie's stations kept in the code,
  used where no ATMO export is under ``sources.real_data_dir`` (a machine without ../shared).
- ``generate_hourly``: deterministic synthetic hourly data at those stations, with daily,
  weekly and seasonal cycles, traffic NO2 peaks, summer ozone, winter particle episodes
  and missing hours, because the real hourly feed is not reachable from the lab.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .real_sources import PERIOD, RealSource
from .schema import SOURCE_ROW, Column, SchemaError, TableSchema, read_provider_csv

NAME = "air_quality_hourly"
KIND = "table"
METADATA = {
    "title_fr": "Qualité de l'air — mesures horaires des stations",
    "title_en": "Air quality — hourly station measurements",
    "description": "NO2, O3, PM10, PM2.5 and SO2 concentrations at the ATMO Occitanie stations. "
    "The demo data are synthetic, generated at the real stations (codes, names, typology, coordinates "
    "from ATMO Occitanie's open-data exports); real exports are ingested with `occidata data ingest`.",
    "description_fr": "Concentrations de NO2, O3, PM10, PM2.5 et SO2 aux stations d'ATMO Occitanie : valeurs "
    "horaires synthétiques de démonstration aux stations réelles (codes, noms, typologie, coordonnées des exports "
    "ouverts d'ATMO Occitanie), et les valeurs horaires réelles de l'épisode du 14 au 17 mars 2020 quand l'export "
    "d'ATMO est présent ; les exports réels s'ingèrent avec `occidata data ingest`.",
    "producer": "ATMO Occitanie (station network); hourly values synthetic (occidata)",
    "licence": "ODbL 1.0",
    "access": "public",
    "personal_data": False,
    "update_frequency": "hourly",
    "spatial_coverage": "Occitanie, ATMO Occitanie stations",
    "temporal_coverage": "per build year",
    "tags": ["air", "pollution", "NO2", "O3", "PM10", "PM2.5", "SO2", "atmo"],
}
READERS = {}  # filled below, once the readers are defined
SIZES = {
    "tiny": {"stations": 6, "days": 7},
    "demo": {"stations": None, "days": 90},
    "full": {"stations": None, "days": 366},
}
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
EU_CODES = {"SO2": 1, "PM10": 5, "O3": 7, "NO2": 8, "PM2.5": 6001}
_UNIT = {"ug.m-3": "µg/m³", "µg/m3": "µg/m³", "mg.m-3": "mg/m³", "mg/m3": "mg/m³"}
_METRIC = {"horaire": "hourly", "journaliere": "daily", "journalière": "daily", "mensuelle": "monthly", "annuelle": "annual"}


def _typology(label: str) -> str:
    key = str(label).strip().lower()
    return "rural" if key.startswith("rurale") else _TYPOLOGY.get(key, label)


def read_atmo_csv(path: str | Path, encoding: str | None = None) -> pd.DataFrame:
    """Read an ATMO Occitanie "mesures" CSV export into the schema's columns (as text).

    Rows keep their ``source_row`` (line number in the file) for quarantine reports; call
    ``SCHEMA.validate`` to type and check them. ``encoding``: the file's (default UTF-8, with or
    without a byte-order mark, as ATMO writes it).

    Raises
    ------
    SchemaError
        When the file is missing or lacks provider columns (the message names both).
    """
    raw = read_provider_csv(path, ATMO_COLUMNS, "un export ATMO Occitanie", sep=",", encoding=encoding)
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


GEODAIR_COLUMNS = (
    "Date de début", "Date de fin", "code site", "nom site", "type d'implantation", "Polluant",
    "type d'influence", "valeur", "unité de mesure", "validité",
)
_GEODAIR_UNIT = {"µg-m3": "µg/m³", "µg/m3": "µg/m³", "ug.m-3": "µg/m³", "mg-m3": "mg/m³", "mg/m3": "mg/m³"}


def _geodair_time(column: pd.Series) -> pd.Series:
    # Géod'air writes local-free "YYYY/MM/DD HH:MM:SS" in UTC; make them ISO 8601 so validation can parse them.
    return column.str.strip().str.replace("/", "-", regex=False).str.replace(" ", "T", regex=False) + "Z"


def read_geodair_csv(path: str | Path, stations: pd.DataFrame | None = None, encoding: str | None = None) -> pd.DataFrame:
    """Read a national Géod'air/LCSQA "E2" CSV export (";"-separated, French headers).

    Géod'air rows name the station by its code only, so place and coordinates come from
    ``stations`` (default: the ATMO station table under ``sources.real_data_dir``); a row of an
    unknown station keeps its code and fails validation ("missing value") instead of vanishing.
    Hourly rows of the pollutants of the indices are expected; ``validité`` 1 means validated.
    ``encoding``: the file's (default UTF-8, with or without a byte-order mark).
    """
    raw = read_provider_csv(path, GEODAIR_COLUMNS, "un export Géod'air E2", sep=";", encoding=encoding)
    if stations is None:
        from .sources import real_data_dir

        stations = real_stations(real_data_dir())
    place = stations.set_index("station_code")
    codes = raw["code site"].str.strip()
    known = place.reindex(codes)
    return pd.DataFrame(
        {
            "station_code": codes,
            "station_name": raw["nom site"].str.strip(),
            "commune": known["commune"].to_numpy(),
            "insee_code": known["insee_code"].to_numpy(),
            "department": known["department"].to_numpy(),
            "typology": raw["type d'implantation"].map(_typology),
            "typology_detail": raw["type d'implantation"].str.strip(),
            "influence": raw["type d'influence"].map(lambda v: _INFLUENCE.get(v.strip().lower(), v)),
            "longitude": known["longitude"].to_numpy(),
            "latitude": known["latitude"].to_numpy(),
            "x_l93": known["x_l93"].to_numpy(),
            "y_l93": known["y_l93"].to_numpy(),
            "pollutant": raw["Polluant"].str.strip(),
            "eu_pollutant_code": raw["Polluant"].str.strip().map(EU_CODES),
            "time_start": _geodair_time(raw["Date de début"]),
            "time_end": _geodair_time(raw["Date de fin"]),
            "value": raw["valeur"].str.replace(",", ".", regex=False),
            "unit": raw["unité de mesure"].map(lambda v: _GEODAIR_UNIT.get(v.strip().lower(), v)),
            "metric": "hourly",
            "validated": raw["validité"].str.strip().map({"1": "t", "0": "f", "-1": "f"}).fillna(raw["validité"]),
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
                        "eu_pollutant_code": EU_CODES[pollutant],
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


STATION_EXPORTS = "atmo_occitanie_mesures_*.csv"  # under sources.real_data_dir: the exports giving the stations
# A dozen of ATMO Occitanie's stations as its 2022-2023 monthly export describes them (background
# and traffic, urban and rural, nine départements), with the index pollutants each measures there:
# the stations of a build without the exports.
BUILTIN_STATIONS = (
    ("FR50004", "Toulouse-Jacquier Urbain", "TOULOUSE", "31555", "HAUTE-GARONNE", "urban", "Urbaine", "background",
     1.41807, 43.5757, 572184, 6276463, ("NO2", "O3", "PM10")),
    ("FR50048", "Toulouse-Périphérique Trafic", "TOULOUSE", "31555", "HAUTE-GARONNE", "urban", "Urbaine", "traffic",
     1.44959, 43.574, 574726, 6276223, ("NO2", "PM10")),
    ("FR50020", "Peyrusse Vieille Rural", "PEYRUSSE-VIEILLE", "32317", "GERS", "rural", "Rurale Nationale",
     "background", 0.179722, 43.6303, 472377, 6285316, ("NO2", "O3", "PM10", "PM2.5")),
    ("FR50015", "Saint Gaudens-Miramont Industriel", "MIRAMONT-DE-COMMINGES", "31344", "HAUTE-GARONNE", "urban",
     "Urbaine", "industrial", 0.744722, 43.0944, 516263, 6224304, ("O3", "SO2")),
    ("FR50052", "Tarbes-Dupuy Urbain", "TARBES", "65440", "HAUTES-PYRENEES", "urban", "Urbaine", "background",
     0.062222, 43.2303, 461244, 6241231, ("NO2", "O3", "PM10", "PM2.5")),
    ("FR50053", "Castres-Travet Urbain", "CASTRES", "81065", "TARN", "urban", "Urbaine", "background",
     2.23, 43.6106, 637820, 6279364, ("NO2", "O3", "PM10", "PM2.5")),
    ("FR50060", "Montauban - Ramierou Urbain", "MONTAUBAN", "82121", "TARN-ET-GARONNE", "urban", "Urbaine",
     "background", 1.37531, 44.0129, 569728, 6325102, ("NO2", "O3", "PM10", "PM2.5")),
    ("FR50200", "Montpellier - Prés d Arènes Urbain", "MONTPELLIER", "34172", "HERAULT", "urban", "Urbaine",
     "background", 3.88689, 43.5915, 771642, 6277340, ("NO2", "O3", "PM10", "PM2.5")),
    ("FR50225", "Montpellier Liberte Trafic", "MONTPELLIER", "34172", "HERAULT", "urban", "Urbaine", "traffic",
     3.82806, 43.6116, 766867, 6279519, ("NO2", "PM10", "PM2.5")),
    ("FR50211", "Nîmes Sud - Urbain", "NIMES", "30189", "GARD", "urban", "Urbaine", "background",
     4.37422, 43.8344, 810536, 6304894, ("NO2", "O3", "PM10", "PM2.5")),
    ("FR50220", "Perpignan Centre - Urbain", "PERPIGNAN", "66136", "PYRENEES-ORIENTALES", "urban", "Urbaine",
     "background", 2.8997, 42.6958, 691771, 6177360, ("NO2", "O3", "PM10", "PM2.5")),
    ("FR50815", "Rodez - Camonil Urbain", "RODEZ", "12202", "AVEYRON", "urban", "Urbaine", "background",
     2.5707, 44.357, 665783, 6362089, ("NO2", "O3", "PM10", "PM2.5")),
)


def builtin_stations() -> pd.DataFrame:
    """``BUILTIN_STATIONS`` as a station table (the columns of :func:`stations_from`)."""
    stations = pd.DataFrame(BUILTIN_STATIONS, columns=[*STATION_COLUMNS, "pollutants"])
    stations[["x_l93", "y_l93"]] = stations[["x_l93", "y_l93"]].astype("float64")
    return stations.sort_values("station_code").reset_index(drop=True)


def stations_for(real_data_dir: str | Path | None) -> pd.DataFrame:
    """The stations of the ATMO exports under ``real_data_dir`` when it holds some, else the
    built-in ones (``BUILTIN_STATIONS``), so that a machine without the exports still builds."""
    if real_data_dir is None or not any(Path(real_data_dir).glob(STATION_EXPORTS)):
        return builtin_stations()
    return real_stations(real_data_dir)


def real_stations(real_data_dir: str | Path) -> pd.DataFrame:
    """The station table read from the ATMO export(s) under ``real_data_dir``."""
    exports = sorted(Path(real_data_dir).glob(STATION_EXPORTS))
    if not exports:
        raise SchemaError(
            f"no ATMO Occitanie export ({STATION_EXPORTS}) under {real_data_dir}; "
            "set sources.real_data_dir to the folder holding them"
        )
    frames = [SCHEMA.validate(read_atmo_csv(path), str(path))[0] for path in exports]
    return stations_from(pd.concat(frames, ignore_index=True))


def generate(size: str = "tiny", seed: int = 0, year: int = 2024, real_data_dir: str | Path | None = None) -> pd.DataFrame:
    """Synthetic hourly measurements of one ``year`` at ATMO's stations, sized by ``size``.

    Parameters
    ----------
    size
        ``tiny`` (6 stations, 7 days), ``demo`` (all stations, 90 days) or ``full`` (a year).
    seed
        Same seed, same data.
    year
        Calendar year the series starts on (1 January, UTC).
    real_data_dir
        Folder with the ATMO exports giving the stations (default ``sources.real_data_dir``);
        where it holds none, the built-in stations (``BUILTIN_STATIONS``).
    """
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; use one of {', '.join(SIZES)}")
    from .sources import real_data_dir as default_dir

    stations = stations_for(real_data_dir or default_dir())
    plan = SIZES[size]
    if plan["stations"]:
        stations = stations.iloc[:: max(1, len(stations) // plan["stations"])].head(plan["stations"])
    return generate_hourly(stations, f"{year}-01-01", plan["days"], seed=seed)


READERS.update({"atmo-csv": read_atmo_csv, "geodair-csv": read_geodair_csv})


# The real exports this entry is built from when sources.real_data_dir holds them (else synthetic).
REAL = RealSource(
    provider='ATMO Occitanie',
    licence='ODbL 1.0',
    attribution='© ATMO Occitanie',
    patterns=('atmo/Mesure_72h_*.csv', 'atmo/Mesure_horaire_*.csv'),
    fmt='atmo-csv',
    role=PERIOD,
)
