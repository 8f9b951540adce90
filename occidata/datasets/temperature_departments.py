"""temperature_departments_daily: daily minimum, maximum and mean temperature of each département.

Météo-France's daily departmental temperatures (published on the ODRÉ portal): for each day and
each of the 96 départements of metropolitan France, the mean over the département's stations of
the day's minimum (TN), maximum (TX) and mean (TMOY) temperature. This is the unit the French
heat-wave alert criterion (canicule) is defined on, so all 96 are kept; ``occitanie`` flags the
13 of the region and :func:`occitanie_only` keeps them.

- ``SCHEMA``: one row per day and département; ``tmin`` above ``tmax`` or ``tmean`` outside
  them is set aside with the reason, and two rows of the same day and département with other
  values are both set aside (identical repeats are duplicates, stored once).
- ``read_odre_csv``: the provider's export (``date_obs;code_insee_departement;departement;
  tmin;tmax;tmoy``, ``;``-separated, rows in no order, codes as text: ``09``, ``2A``).
- ``generate``: synthetic days of the 13 départements of Occitanie, for a build without the
  export: each département's climate, the seasons, weather shared across the region and a few
  summer heat waves that reach the canicule thresholds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .real_sources import WHOLE, RealSource
from .geography import DEPARTMENT_CODES as OCCITANIE_CODES
from .row_checks import CheckedSchema, RowCheck
from .schema import SOURCE_ROW, Column, read_provider_csv
from .sourcefile import open_source
from .synthetic import ar1, size_plan, summer_episodes

NAME = "temperature_departments_daily"
KIND = "table"
CATALOGUE_YEAR = 2019  # read when no year is given: the record heat of June 2019
METADATA = {
    "title_fr": "Températures quotidiennes par département (minimale, maximale, moyenne)",
    "title_en": "Daily temperatures by département (minimum, maximum, mean)",
    "description_fr": (
        "Pour chaque jour et chacun des 96 départements de France métropolitaine, les températures "
        "minimale (TN), maximale (TX) et moyenne (TMOY) de l'air, moyennes des stations du département, "
        "en °C. C'est l'échelle à laquelle le critère de vigilance canicule est défini ; les 13 "
        "départements d'Occitanie sont signalés (colonne occitanie). Données réelles de Météo-France."
    ),
    "description": (
        "For each day and each of the 96 départements of metropolitan France, the daily minimum (TN), "
        "maximum (TX) and mean (TMOY) air temperature averaged over the département's stations, in °C. "
        "The heat-wave alert criterion is defined at this scale; the 13 départements of Occitanie are "
        "flagged (column occitanie). Real data from Météo-France."
    ),
    "producer": "Météo-France, via the ODRÉ open-data portal (Opendata Réseaux-Énergies)",
    "licence": "Licence Ouverte 2.0",
    "licence_url": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
    "attribution": "Météo-France — température quotidienne départementale (ODRÉ)",
    "source_file": "temperature-quotidienne-departementale.csv",
    "access": "public",
    "personal_data": False,
    "update_frequency": "daily",
    "spatial_coverage": "metropolitan France, 96 départements (the 13 of Occitanie flagged)",
    "temporal_coverage": "daily; the reference export covers 2018-01-01 to 2020-12-31",
    "tags": ["weather", "climate", "temperature", "heat wave", "canicule", "département", "Météo-France"],
}

# The 96 départements of metropolitan France (Corsica is 2A and 2B, there is no 20).
DEPARTMENT_CODES = tuple(f"{n:02d}" for n in range(1, 20)) + ("2A", "2B") + tuple(f"{n:02d}" for n in range(21, 96))
SIZES = {
    "tiny": {"start": "2019-06-01", "end": "2019-08-31"},
    "demo": {"start": "2018-01-01", "end": "2020-12-31"},
    "full": {"start": "2018-01-01", "end": "2020-12-31"},
}
T_RANGE = (-50.0, 50.0)  # °C, as for the gridded weather: beyond it a value is an error, not weather
MEAN_TOLERANCE = 0.05  # °C: the provider rounds the three values separately

ODRE_COLUMNS = ("date_obs", "code_insee_departement", "departement", "tmin", "tmax", "tmoy")


def _tmin_above_tmax(typed: pd.DataFrame, raw: pd.DataFrame) -> pd.Series:
    bad = typed["tmin"] > typed["tmax"]
    return pd.Series(np.where(bad, "tmin above tmax (" + raw["tmin"].astype(str) + " > " + raw["tmax"].astype(str)
                              + " °C)", ""), index=typed.index)


def _tmean_outside(typed: pd.DataFrame, raw: pd.DataFrame) -> pd.Series:
    low = typed[["tmin", "tmax"]].min(axis=1) - MEAN_TOLERANCE
    high = typed[["tmin", "tmax"]].max(axis=1) + MEAN_TOLERANCE
    bad = (typed["tmean"] < low) | (typed["tmean"] > high)
    return pd.Series(np.where(bad, "tmean outside tmin..tmax (" + raw["tmean"].astype(str) + " °C)", ""),
                     index=typed.index)


SCHEMA = CheckedSchema(
    name=NAME,
    description="Daily minimum, maximum and mean air temperature per département of metropolitan France",
    columns=(
        Column("date", "datetime", "day of observation (UTC midnight of the French calendar day)"),
        Column("department_code", "string", "INSEE code of the département, as text (09, 2A)",
               allowed=DEPARTMENT_CODES),
        Column("department_name", "string", "name of the département, as the provider writes it"),
        Column("occitanie", "bool", "the département is one of the 13 of Occitanie"),
        Column("tmin", "float64", "daily minimum air temperature (TN), mean of the département's stations", "°C",
               minimum=T_RANGE[0], maximum=T_RANGE[1]),
        Column("tmax", "float64", "daily maximum air temperature (TX), mean of the département's stations", "°C",
               minimum=T_RANGE[0], maximum=T_RANGE[1]),
        Column("tmean", "float64", "daily mean air temperature (TMOY), as the provider gives it", "°C",
               minimum=T_RANGE[0], maximum=T_RANGE[1]),
    ),
    checks=(RowCheck("tmin <= tmax", _tmin_above_tmax), RowCheck("tmin <= tmean <= tmax", _tmean_outside)),
    key=("date", "department_code"),
)


def _department_code(codes: pd.Series) -> pd.Series:
    # A spreadsheet that read the codes as numbers writes "9" for Ariège: one digit can only be 01-09.
    stripped = codes.str.strip().str.upper()
    return stripped.where(~stripped.str.fullmatch(r"\d"), "0" + stripped)


def read_odre_csv(path: str | Path, encoding: str | None = None) -> pd.DataFrame:
    """Read Météo-France's daily departmental temperatures (ODRÉ CSV export) into ``SCHEMA``'s columns.

    Parameters
    ----------
    path
        The export, ``;``-separated, with or without a byte-order mark.
    encoding
        The file's encoding (default: detected, as for ``occidata data ingest``).

    Returns
    -------
    pandas.DataFrame
        ``SCHEMA``'s columns as text, plus ``source_row`` (the line in the file); rows stay in the
        file's order. Call ``SCHEMA.validate`` next.

    Raises
    ------
    SchemaError
        One French line naming the file: not a readable text file, not ``;``-separated, or a
        provider column missing.
    """
    checked = open_source(path, encoding)
    raw = read_provider_csv(path, ODRE_COLUMNS, "un export Météo-France des températures quotidiennes "
                            "départementales", sep=";", encoding=checked.encoding)
    codes = _department_code(raw["code_insee_departement"])
    return pd.DataFrame(
        {
            "date": raw["date_obs"].str.strip(),
            "department_code": codes,
            "department_name": raw["departement"].str.strip(),
            "occitanie": np.where(codes.isin(OCCITANIE_CODES), "t", "f"),
            "tmin": raw["tmin"].str.strip().str.replace(",", ".", regex=False),
            "tmax": raw["tmax"].str.strip().str.replace(",", ".", regex=False),
            "tmean": raw["tmoy"].str.strip().str.replace(",", ".", regex=False),
            SOURCE_ROW: np.arange(2, len(raw) + 2),
        }
    )


def occitanie_only(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of the 13 départements of Occitanie."""
    return frame[frame["department_code"].isin(OCCITANIE_CODES)].reset_index(drop=True)


# Each département of Occitanie: its name as the export writes it, and the annual mean of TN and
# TX (°C) fitted on the export of 2018–2020.
CLIMATE = {
    "09": ("Ariège", 7.6, 19.0), "11": ("Aude", 11.9, 19.9), "12": ("Aveyron", 7.3, 16.8),
    "30": ("Gard", 8.6, 17.7), "31": ("Haute-Garonne", 10.0, 19.8), "32": ("Gers", 8.8, 20.0),
    "34": ("Hérault", 11.9, 20.7), "46": ("Lot", 8.7, 19.2), "48": ("Lozère", 5.6, 15.7),
    "65": ("Hautes-Pyrénées", 8.2, 18.8), "66": ("Pyrénées-Orientales", 13.1, 20.5),
    "81": ("Tarn", 9.1, 20.1), "82": ("Tarn-et-Garonne", 9.4, 20.2),
}
SEASON = {"tmin": 7.1, "tmax": 9.0}  # °C, half the swing between winter and summer
WARMEST_DAY = 205  # day of the year (late July)
PERSISTENCE = 0.7  # day-to-day correlation of the weather
SPREAD = {"tmin": (2.3, 1.5), "tmax": (3.2, 2.0)}  # °C: weather shared by the region, local departures
HEAT_WAVE = {"tmin": 5.5, "tmax": 9.0}  # °C added at a heat wave's peak
HEAT_WAVES_PER_SUMMER = (1, 2)
HEAT_WAVE_DAYS = (4, 8)
MIN_DAILY_RANGE = 1.5  # °C: TX stays above TN by at least this much


def generate(size: str = "tiny", seed: int = 0) -> pd.DataFrame:
    """Synthetic daily TN, TX and TMOY of the 13 départements of Occitanie (for a build without
    Météo-France's export).

    Each département keeps its own climate (milder by the Mediterranean, cooler in Lozère); the
    seasons peak in late July; day-to-day weather persists and is mostly shared by the region;
    every summer has one to three heat waves of four to nine days that reach the canicule
    thresholds in several départements. TMOY is the mean of TN and TX, as the provider's is.

    Parameters
    ----------
    size
        ``"tiny"`` (summer 2019) or ``"demo"``/``"full"`` (2018-01-01 to 2020-12-31, as the export).
    seed
        Same seed, same table.

    Returns
    -------
    pandas.DataFrame
        ``SCHEMA``'s columns, one row per day and département, sorted by day then code;
        ``SCHEMA.validate`` sets nothing aside.
    """
    plan = size_plan(SIZES, size, NAME)
    rng = np.random.default_rng(seed)
    days = pd.date_range(plan["start"], plan["end"], freq="D", tz="UTC")
    codes = list(CLIMATE)
    season = np.cos(2 * np.pi * (days.day_of_year.to_numpy() - WARMEST_DAY) / 365.25)[:, None]
    heat = summer_episodes(days, rng, HEAT_WAVES_PER_SUMMER, HEAT_WAVE_DAYS)[:, None]
    regional = ar1(rng, len(days), PERSISTENCE)[:, None]
    values = {}
    for column, at in (("tmin", 1), ("tmax", 2)):
        normal = np.array([CLIMATE[code][at] for code in codes]) + SEASON[column] * season
        shared, local = SPREAD[column]
        weather = shared * regional + local * ar1(rng, (len(days), len(codes)), PERSISTENCE)
        values[column] = normal + weather + HEAT_WAVE[column] * heat
    tmax = values["tmax"].round(2)
    tmin = np.minimum(values["tmin"], tmax - MIN_DAILY_RANGE).round(2)
    return pd.DataFrame({
        "date": days.repeat(len(codes)),
        "department_code": np.tile(codes, len(days)),
        "department_name": np.tile([CLIMATE[code][0] for code in codes], len(days)),
        "occitanie": True,
        "tmin": tmin.ravel(),
        "tmax": tmax.ravel(),
        "tmean": ((tmin + tmax) / 2).round(2).ravel(),
    })[SCHEMA.names]


READERS = {"meteofrance-odre-csv": read_odre_csv}


# The real exports this entry is built from when sources.real_data_dir holds them (else synthetic).
REAL = RealSource(
    provider='Météo-France (ODRÉ)',
    licence='Licence Ouverte 2.0',
    attribution='Météo-France — température quotidienne départementale (ODRÉ)',
    patterns=('meteo/temperature-quotidienne-departementale*.csv',),
    fmt='meteofrance-odre-csv',
    role=WHOLE,
)
