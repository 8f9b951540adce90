"""air_quality_means: ATMO Occitanie's monthly and annual means per station and pollutant.

- ``SCHEMA``: one long table; ``period`` ("month" or "year") says which mean a row holds and
  ``period_start`` (UTC date, the first day of the month or year) which one.
- ``read_atmo_means``: ATMO Occitanie's "mesures mensuelles/annuelles" CSV exports, the older
  (2017–2018, ISO times ``2018-08-01T01:00:00.000Z``) and the newer (2018–2023, times
  ``2022/08/01 00:00:00+00``, empty ``valeur`` on invalid rows) alike.
- ``overlap``: which rows repeat a measurement already held (same station, pollutant and period),
  with the same value or a revised one; exports overlap (2018 is in both annual exports).
- ``generate``: the table built from the real exports under ``sources.real_data_dir``.

One entry rather than a monthly and an annual one: the rows share stations, pollutants, units and
provider, and a researcher compares them side by side (a month against its year); ``period`` is
never empty, so the two are not averaged together by mistake. An annual mean is the provider's own
figure (computed from the hourly data with its coverage rules), not the mean of the monthly rows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..pollutants import find_pollutant
from .air_quality import INFLUENCES, TYPOLOGIES, UNITS, read_atmo_csv
from .duplicates import fingerprints
from .row_checks import CheckedSchema, RowCheck
from .schema import SOURCE_ROW, Column, SchemaError, TableSchema, shown

NAME = "air_quality_means"
KIND = "table"
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
# The entry holds the provider's real means only: every size is the same table.
SIZES = {"tiny": {}, "demo": {}, "full": {}}

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
)

_KEY_SCHEMA = TableSchema("key", tuple(SCHEMA.column(name) for name in KEY))
_MEASURE_SCHEMA = TableSchema("measure", tuple(SCHEMA.column(name) for name in ("value", "unit", "validated")))


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


NEW, DUPLICATE, REVISED = "new", "duplicate", "revised"


def overlap(frame: pd.DataFrame, stored: pd.DataFrame | None = None) -> pd.DataFrame:
    """How each row of ``frame`` (validated rows) stands against ``stored`` rows and the rows above it.

    A measurement is one station, pollutant, period and period start (``KEY``); station names and
    coordinates may differ between exports of the same measurement. Returns, per row of ``frame``,
    ``status``: ``"new"`` (first of its measurement), ``"duplicate"`` (the measurement is held
    already with the same value, unit and validation) or ``"revised"`` (held with another one:
    ``reason`` gives both), and ``reason`` ("" unless revised).
    """
    earlier = stored[SCHEMA.names] if stored is not None else frame[SCHEMA.names].iloc[:0]
    both = pd.concat([earlier, frame[SCHEMA.names]], ignore_index=True)
    codes, _ = pd.factorize(fingerprints(both, _KEY_SCHEMA))
    first = pd.Series(np.arange(len(both))).groupby(codes).transform("min").to_numpy()
    measures = fingerprints(both, _MEASURE_SCHEMA)
    same = np.asarray(measures == measures[first], dtype=bool)
    mine = slice(len(earlier), len(both))
    status = np.where(first == np.arange(len(both)), NEW, np.where(same, DUPLICATE, REVISED))[mine]
    reasons = np.full(len(frame), "", dtype=object)
    for i in np.flatnonzero(status == REVISED):
        row, ref = both.iloc[len(earlier) + i], both.iloc[first[len(earlier) + i]]
        where = "stored" if first[len(earlier) + i] < len(earlier) else "earlier in this file"
        measurement = f"{row['station_code']} {row['pollutant']} {row['period']} {row['period_start']:%Y-%m-%d}"
        reasons[i] = (f"value revised for {measurement}: {_measure(ref)} {where}, {_measure(row)} here")
    return pd.DataFrame({"status": status, "reason": reasons}, index=frame.index)


def _measure(row: pd.Series) -> str:
    return f"{row['value']:g} {row['unit']} (validated {bool(row['validated'])})"


# Newest first: where exports overlap, the provider's latest figure is the one built.
REAL_EXPORTS = ("atmo/Mesure_annuelle_*.csv", "atmo/Mesure_mensuelle_*.csv",
                "atmo_occitanie_mesures_annuelles.csv", "atmo_occitanie_mesures_mensuelles.csv")


def real_exports(real_data_dir: str | Path) -> list[Path]:
    """The ATMO monthly and annual exports under ``real_data_dir``, newest first."""
    found = []
    for pattern in REAL_EXPORTS:
        found += sorted(Path(real_data_dir).glob(pattern), reverse=True)
    return found


def generate(size: str = "tiny", seed: int = 0, real_data_dir: str | Path | None = None) -> pd.DataFrame:
    """The entry's table from the real exports under ``real_data_dir`` (``sources.real_data_dir``).

    Every ``size`` and ``seed`` gives the same table: these are the provider's means, not synthetic
    ones. Each measurement appears once; where exports disagree the newest export's value is kept.
    Invalid rows are left out, as validation quarantines them.
    """
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; use one of {', '.join(SIZES)}")
    from .sources import real_data_dir as default_dir

    folder = real_data_dir or default_dir()
    exports = real_exports(folder)
    if not exports:
        raise SchemaError(f"no ATMO Occitanie monthly or annual export ({', '.join(REAL_EXPORTS)}) under "
                          f"{folder}; set sources.real_data_dir to the folder holding them")
    table = None
    for path in exports:
        kept, _ = SCHEMA.validate(read_atmo_means(path), str(path))
        fresh = kept[overlap(kept, table)["status"] == NEW]
        table = fresh if table is None else pd.concat([table, fresh], ignore_index=True)
    return table.sort_values(["station_code", "pollutant", "period", "period_start"]).reset_index(drop=True)


READERS.update({"atmo-csv": read_atmo_means})
