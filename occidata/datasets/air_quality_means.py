"""air_quality_means: ATMO Occitanie's monthly and annual means per station and pollutant.

- ``SCHEMA``: one long table; ``period`` ("month" or "year") says which mean a row holds and
  ``period_start`` (UTC date, the first day of the month or year) which one.
- ``read_atmo_means``: ATMO Occitanie's "mesures mensuelles/annuelles" CSV exports, the older
  (2017–2018, ISO times ``2018-08-01T01:00:00.000Z``) and the newer (2018–2023, times
  ``2022/08/01 00:00:00+00``, empty ``valeur`` on invalid rows) alike.
- ``overlap``: which rows repeat a measurement already held (same station, pollutant and period),
  with the same value or a revised one; exports overlap (2018 is in both annual exports).
- ``REAL``: the exports under ``sources.real_data_dir`` the build reads (newest first, each
  measurement once: :func:`.real_sources.load_real`).
- ``generate``: synthetic monthly and annual means at a dozen stations, for a build without them.

One entry rather than a monthly and an annual one: the rows share stations, pollutants, units and
provider, and a researcher compares them side by side (a month against its year); ``period`` is
never empty, so the two are not averaged together by mistake. An annual mean is the provider's own
figure (computed from the hourly data with its coverage rules), not the mean of the monthly rows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .real_sources import WHOLE, RealSource
from ..pollutants import find_pollutant
from .air_quality import EU_CODES, INFLUENCES, STATION_COLUMNS, TYPOLOGIES, UNITS, builtin_stations, read_atmo_csv
from . import revisions
from .revisions import DUPLICATE, NEW, REVISED  # noqa: F401  (re-exported: the statuses overlap gives)
from .row_checks import CheckedSchema, RowCheck
from .schema import SOURCE_ROW, Column, SchemaError, shown
from .synthetic import size_plan

NAME = "air_quality_means"
KIND = "table"
CATALOGUE_YEAR = 2022  # read when no year is given: the newest monthly and annual means
LICENCE = "ODbL 1.0"
ATTRIBUTION = "© ATMO Occitanie"
METADATA = {
    "title_fr": "Qualité de l'air — moyennes mensuelles et annuelles des stations",
    "title_en": "Air quality — monthly and annual station means",
    "description_fr": (
        "Moyennes mensuelles et annuelles des concentrations (NO2, NO, NOx, O3, PM10, PM2.5, SO2, H2S, CO) "
        "mesurées par les stations d'ATMO Occitanie, telles que publiées en open data : moyennes "
        "mensuelles de février à décembre 2018 et d'août 2022 à novembre 2023, moyennes annuelles de "
        "2017 à 2023 selon les stations. La colonne `period` distingue les moyennes mensuelles (`month`) "
        "des annuelles (`year`) ; les valeurs non validées par ATMO sont gardées et signalées "
        "(`validated`). « NOX » des exports récents et « NOX as NO2 » des anciens sont la même grandeur "
        "(oxydes d'azote exprimés en équivalent NO2, code européen 9), notée `NOX as NO2`."
    ),
    "description": (
        "Monthly and annual mean concentrations (NO2, NO, NOx, O3, PM10, PM2.5, SO2, H2S, CO) at ATMO "
        "Occitanie's stations, as published in its open data: monthly means for February to December "
        "2018 and August 2022 to November 2023, annual means 2017 to 2023 depending on the station. "
        "`period` tells monthly (`month`) from annual (`year`) means; values ATMO has not validated are "
        "kept and flagged (`validated`). The newer exports' `NOX` and the older ones' `NOX as NO2` are "
        "the same quantity (nitrogen oxides expressed as NO2, EU code 9), written `NOX as NO2`."
    ),
    "producer": "ATMO Occitanie (real open-data exports)",
    "licence": LICENCE,
    "licence_url": "https://opendatacommons.org/licenses/odbl/1-0/",
    "attribution": ATTRIBUTION,
    "attribution_fr": f"Données {ATTRIBUTION}, sous licence ODbL 1.0 (partage à l'identique des bases dérivées)",
    "access": "public",
    "personal_data": False,
    "update_frequency": "monthly",
    "spatial_coverage": "Occitanie, ATMO Occitanie stations",
    "temporal_coverage": "monthly means 2018-02 to 2018-12 and 2022-08 to 2023-11; annual means 2017 to 2023",
    "tags": ["air", "pollution", "NO2", "O3", "PM10", "PM2.5", "SO2", "NOx", "atmo", "monthly", "annual"],
}
READERS = {}  # filled below, once the reader is defined
SIZES = {
    "tiny": {"stations": 6, "years": (2022, 2023)},
    "demo": {"stations": 12, "years": (2022, 2023)},
    "full": {"stations": 12, "years": (2022, 2023)},
}

PERIODS = ("month", "year")
NOX = "NOX as NO2"
# The pollutants the exports carry, as stored. Other labels stay as the provider wrote them, so
# validation quarantines them with the reason instead of guessing.
POLLUTANTS = ("NO2", "NO", NOX, "O3", "PM10", "PM2.5", "SO2", "H2S", "CO")
_OTHER_POLLUTANTS = {"no": "NO", "nox": NOX, "noxasno2": NOX, "h2s": "H2S", "co": "CO"}
_PERIOD = {"monthly": "month", "annual": "year"}  # read_atmo_csv's metric -> our period
_METRIC_FR = {"hourly": "horaire", "daily": "journalière"}  # the provider's words, for its own files


KEY = ("station_code", "pollutant", "period", "period_start")  # one measurement


def _period_problems(typed: pd.DataFrame, raw: pd.DataFrame) -> pd.Series:
    """Per row, "" or why ``period_start`` does not open its month or year, or the provider's end
    time (``period_end``, when the rows come from a file) does not close it."""
    start = typed["period_start"]
    yearly = (typed["period"] == "year").to_numpy()
    unit = np.where(yearly, "year", "month")
    day = start.dt.strftime("%Y-%m-%d").to_numpy()
    reasons = np.full(len(typed), "", dtype=object)
    if "period_end" in raw.columns:
        ends = raw["period_end"].to_numpy()
        following = start + pd.DateOffset(months=1)
        following[yearly] = start[yearly] + pd.DateOffset(years=1)
        # Older exports end a period at the next one's midnight, newer ones at 23:59 on its last day.
        end = pd.to_datetime(pd.Series(ends, index=typed.index), utc=True, format="ISO8601", errors="coerce")
        open_ended = ~((end > following - pd.Timedelta(days=1)) & (end <= following)).to_numpy()
        reasons[open_ended] = [f"period_end: does not close the {u} starting {d} ({e!r})"
                               for u, d, e in zip(unit[open_ended], day[open_ended], ends[open_ended])]
    misplaced = ~((start.dt.day == 1) & ((start.dt.month == 1) | ~yearly)).to_numpy()
    reasons[misplaced] = [f"period_start: not the first day of a {u} ({d!r})"
                          for u, d in zip(unit[misplaced], day[misplaced])]
    return pd.Series(reasons, index=typed.index, dtype=object)


SCHEMA = CheckedSchema(
    name=NAME,
    description="Monthly and annual mean concentrations at ATMO Occitanie stations",
    columns=(
        Column("station_code", "string", "EU station code (FR5xxxx)"),
        Column("station_name", "string", "station name, as the export names it"),
        Column("commune", "string", "commune name"),
        Column("insee_code", "string", "INSEE code of the commune"),
        Column("department", "string", "department name"),
        Column("typology", "string", "area type", allowed=TYPOLOGIES),
        Column("influence", "string", "main influence", allowed=INFLUENCES),
        Column("longitude", "float64", "WGS84 longitude", "degree_east", minimum=-1.0, maximum=5.5),
        Column("latitude", "float64", "WGS84 latitude", "degree_north", minimum=42.0, maximum=45.5),
        Column("pollutant", "string", "pollutant; 'NOX as NO2' is nitrogen oxides expressed as NO2 "
               "(EU code 9), which the newer exports label 'NOX' and the older 'NOX as NO2'", allowed=POLLUTANTS),
        Column("eu_pollutant_code", "int64", "EU pollutant identifier", nullable=True),
        Column("period", "string", "what the value is the mean of: a calendar month or year", allowed=PERIODS),
        Column("period_start", "datetime", "first day of the month or year (UTC date)"),
        Column("value", "float64", "mean concentration, in `unit`", minimum=0.0, maximum=5000.0),
        Column("unit", "string", "unit of `value`", allowed=UNITS),
        Column("validated", "bool", "validated by ATMO Occitanie"),
    ),
    checks=(RowCheck("period", _period_problems),),
    key=KEY,
    measure=("value", "unit", "validated"),
)


def _pollutant(label: str) -> str:
    found = find_pollutant(label)
    if found:
        return found
    return _OTHER_POLLUTANTS.get("".join(str(label).split()).casefold(), label)


def _utc_text(column: pd.Series) -> pd.Series:
    """The provider's times (``2018-08-01T01:00:00.000Z`` or ``2022/08/01 00:00:00+00``) as ISO 8601
    text; a time that is neither stays as written, for validation to quarantine with its value."""
    text = column.str.strip()
    # pandas happens to read "2022/08/01" as ISO 8601 today; the slashes are not ISO, so do not rely on it.
    parsed = pd.to_datetime(text.str.replace("/", "-", regex=False), utc=True, format="ISO8601", errors="coerce")
    return text.where(parsed.isna(), parsed.dt.strftime("%Y-%m-%dT%H:%M:%SZ"))


def _start_date(column: pd.Series) -> pd.Series:
    # The older exports start periods at 01:00Z: the period is the calendar date the start falls on.
    iso = _utc_text(column)
    parsed = pd.to_datetime(iso, utc=True, format="ISO8601", errors="coerce")
    return iso.where(parsed.isna(), parsed.dt.strftime("%Y-%m-%d"))


def read_atmo_means(path: str | Path, encoding: str | None = None) -> pd.DataFrame:
    """Read an ATMO Occitanie monthly or annual "mesures" CSV export into ``SCHEMA``'s columns (as text).

    Rows keep their ``source_row`` (line number in the file) and the provider's end time
    (``period_end``); call ``SCHEMA.validate`` to type and check them. Empty ``valeur`` cells (the
    newer exports' invalid rows) are quarantined there as "value: missing value".
    ``encoding``: the file's (default UTF-8, with or without a byte-order mark).

    Raises
    ------
    SchemaError
        When the file is missing, lacks provider columns, or holds no monthly or annual row (an
        hourly export belongs to ``air_quality_hourly``): one French line naming the file.
    """
    rows = read_atmo_csv(path, encoding=encoding)
    periods = rows["metric"].map(lambda metric: _PERIOD.get(metric, metric))
    if len(rows) and not periods.isin(PERIODS).any():
        found = ", ".join(sorted({_METRIC_FR.get(metric, metric) for metric in rows["metric"].astype(str)})[:3])
        raise SchemaError(f"{shown(path)} : pas un export de moyennes mensuelles ou annuelles ATMO Occitanie "
                          f"(métrique {found}) ; un export horaire s'ingère dans air_quality_hourly")
    return pd.DataFrame(
        {
            **{name: rows[name] for name in ("station_code", "station_name", "commune", "insee_code", "department",
                                             "typology", "influence", "longitude", "latitude")},
            "pollutant": rows["pollutant"].map(_pollutant),
            "eu_pollutant_code": rows["eu_pollutant_code"],
            "period": periods,
            "period_start": _start_date(rows["time_start"]),
            "period_end": _utc_text(rows["time_end"]),
            "value": rows["value"],
            "unit": rows["unit"],
            "validated": rows["validated"],
            SOURCE_ROW: rows[SOURCE_ROW],
        }
    )


def overlap(frame: pd.DataFrame, stored: pd.DataFrame | None = None) -> pd.DataFrame:
    """How each row of ``frame`` (validated rows) stands against ``stored`` rows and the rows above
    it (:func:`.revisions.overlap`): a measurement is one station, pollutant, period and period
    start (``KEY``); station names and coordinates may differ between exports of the same one."""
    return revisions.overlap(frame, stored, SCHEMA)


# Newest first: where exports overlap, the provider's latest figure is the one built.
REAL_EXPORTS = ("atmo/Mesure_annuelle_*.csv", "atmo/Mesure_mensuelle_*.csv",
                "atmo_occitanie_mesures_annuelles.csv", "atmo_occitanie_mesures_mensuelles.csv")


def real_exports(real_data_dir: str | Path) -> list[Path]:
    """The ATMO monthly and annual exports under ``real_data_dir``, newest first."""
    found = []
    for pattern in REAL_EXPORTS:
        found += sorted(Path(real_data_dir).glob(pattern), reverse=True)
    return found


# Monthly mean (µg/m³) of each index pollutant by the station's influence, as in the 2022-2023
# export, and how much a month differs from it: winter NO2 and particles, summer ozone.
MEAN_LEVEL = {
    "NO2": {"background": 10.5, "industrial": 10.2, "traffic": 28.0},
    "O3": {"background": 58.5, "industrial": 58.0, "traffic": 45.0},
    "PM10": {"background": 13.5, "industrial": 15.7, "traffic": 18.6},
    "PM2.5": {"background": 8.0, "industrial": 8.2, "traffic": 9.2},
}
WINTER_EXCESS = {"NO2": 0.35, "O3": -0.3, "PM10": 0.15, "PM2.5": 0.3}  # January above the mean, July below
STATION_SPREAD, MONTH_SPREAD = 0.2, 0.12  # log-normal spread of a station's level, and of a month's
YEAR_SPREAD = 0.03  # the provider's annual figure is not quite the mean of its months
UNIT = "µg/m³"


def generate(size: str = "tiny", seed: int = 0) -> pd.DataFrame:
    """Synthetic monthly and annual means of NO2, O3, PM10 and PM2.5 at ATMO's stations (for a build
    without the provider's exports; the build reads those through
    :func:`.real_sources.load_real` when they are there).

    Stations are :data:`.air_quality.BUILTIN_STATIONS`, each with the index pollutants it
    measures; levels follow the station's influence (NO2 near traffic), the seasons (winter NO2
    and particles, summer ozone) and a spread per station and month. Each year's annual mean is
    close to the mean of its months, as the provider's own figure is.

    Parameters
    ----------
    size
        ``"tiny"`` (6 stations) or ``"demo"``/``"full"`` (12 stations); 2022 and 2023 each.
    seed
        Same seed, same table.

    Returns
    -------
    pandas.DataFrame
        ``SCHEMA``'s columns, one row per station, pollutant and period, sorted like the old
        real-data table; ``SCHEMA.validate`` sets nothing aside.
    """
    plan = size_plan(SIZES, size, NAME)
    rng = np.random.default_rng(seed)
    stations = builtin_stations()
    stations = stations.iloc[:: len(stations) // plan["stations"]].head(plan["stations"])
    months = pd.date_range(f"{plan['years'][0]}-01-01", f"{plan['years'][1]}-12-01", freq="MS", tz="UTC")
    winter = np.cos(2 * np.pi * (months.month.to_numpy() - 1) / 12)
    frames = []
    for station in stations.itertuples(index=False):
        for pollutant in (p for p in station.pollutants if p in MEAN_LEVEL):
            level = MEAN_LEVEL[pollutant][station.influence] * rng.lognormal(0, STATION_SPREAD)
            monthly = level * (1 + WINTER_EXCESS[pollutant] * winter) * rng.lognormal(0, MONTH_SPREAD, len(months))
            yearly = pd.Series(monthly, index=months.year).groupby(level=0).mean()
            yearly *= rng.lognormal(0, YEAR_SPREAD, len(yearly))
            starts = [*months, *pd.to_datetime(yearly.index.astype(str), format="%Y").tz_localize("UTC")]
            frames.append(pd.DataFrame({
                **{name: getattr(station, name) for name in SCHEMA.names if name in STATION_COLUMNS},
                "pollutant": pollutant,
                "eu_pollutant_code": EU_CODES[pollutant],
                "period": ["month"] * len(months) + ["year"] * len(yearly),
                "period_start": starts,
                "value": np.r_[monthly, yearly.to_numpy()].round(1),
                "unit": UNIT,
                "validated": True,
            }))
    table = pd.concat(frames, ignore_index=True).sort_values(["station_code", "pollutant", "period", "period_start"])
    return table.reset_index(drop=True)[SCHEMA.names]


READERS.update({"atmo-csv": read_atmo_means})


# The real exports this entry is built from when sources.real_data_dir holds them (else synthetic).
REAL = RealSource(
    provider='ATMO Occitanie',
    licence='ODbL 1.0',
    attribution=ATTRIBUTION,
    patterns=REAL_EXPORTS,
    fmt='atmo-csv',
    role=WHOLE,
)
