"""temperature_station_daily: the long daily mean temperature series of a weather station (ECA&D).

The European Climate Assessment & Dataset (ECA&D) publishes, per station, the daily mean
temperature TG since the station opened, blended from the sources that measured it (the
Montpellier-Aéroport series starts in 1946 and is Météo-France's measurement). A series this
long is what a heat-wave index needs for its reference period (HWMId's 30 years).

- ``SCHEMA``: one row per station and day; ``quality`` is ECA&D's ``Q_TG`` in words.
- ``read_eca_tg``: an ECA&D station file (``TG_STAIDnnnnnn.txt`` and its renamed copies): a
  free-text header, then ``SOUID,DATE,TG,Q_TG`` with TG in 0.1 °C, missing ``-9999`` with
  ``Q_TG=9``; CRLF line ends; the source id changes where the blend switches source.
- ``generate``: a synthetic series at the same station, for a build without the ECA&D file.

Missing days are kept, with an empty ``tg`` and ``quality`` ``missing``, rather than quarantined:
a researcher computing a 30-year reference or looking for runs of hot days needs every calendar
day in place. A series with the missing day left out would make a rolling three-day window span
four days and join two separate hot spells, and the count of missing days per year (the
completeness rule of a reference period) would have to be rebuilt from a quarantine report.
Suspect values (``Q_TG=1``) are kept and say so. A row whose code and value disagree (``-9999``
said valid, a value said missing) is quarantined with the reason.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from .real_sources import WHOLE, RealSource
from .row_checks import CheckedSchema, RowCheck, provider_numbers
from .schema import SOURCE_ROW, Column, SchemaError, shown
from .sourcefile import open_source
from .synthetic import ar1, size_plan, summer_episodes

NAME = "temperature_station_daily"
KIND = "table"
CATALOGUE_YEAR = 2003  # read when no year is given: the heat wave of August 2003
METADATA = {
    "title_fr": "Température moyenne quotidienne d'une station sur longue période (ECA&D)",
    "title_en": "Long daily mean temperature series of a station (ECA&D)",
    "description_fr": (
        "Température moyenne quotidienne de l'air (TG, °C) à une station météorologique depuis son "
        "ouverture, série homogénéisée par assemblage des sources de l'ECA&D : Montpellier-Aéroport "
        "depuis 1946 (mesures de Météo-France). Les jours manquants restent dans la série (tg vide, "
        "quality « missing ») ; les valeurs douteuses sont signalées (« suspect »). De quoi fixer "
        "une période de référence de 30 ans (HWMId)."
    ),
    "description": (
        "Daily mean air temperature (TG, °C) at a weather station since it opened, blended from "
        "ECA&D's sources: Montpellier-Aéroport since 1946 (measured by Météo-France). Missing days stay "
        "in the series (empty tg, quality 'missing'); doubtful values are flagged ('suspect'). Long "
        "enough for a 30-year reference period (HWMId)."
    ),
    "producer": "ECA&D (European Climate Assessment & Dataset, KNMI), data from Météo-France",
    "licence": "ECA&D: free use with acknowledgement of the source",
    "licence_url": "https://www.ecad.eu/documents/ECAD_datapolicy.pdf",
    "attribution": (
        "Klein Tank, A.M.G. and Coauthors, 2002. Daily dataset of 20th-century surface air temperature "
        "and precipitation series for the European Climate Assessment. Int. J. of Climatol., 22, "
        "1441-1453. Data and metadata available at https://www.ecad.eu"
    ),
    "source_file": "eca_tg_montpellier_aeroport.txt (ECA&D blended series, STAID 2207)",
    "access": "public",
    "personal_data": False,
    "update_frequency": "daily (ECA&D publishes monthly updates)",
    "spatial_coverage": "Montpellier-Aéroport (Mauguio, Hérault), one station",
    "temporal_coverage": "daily; the reference file covers 1946-01-01 to 2021-02-28",
    "tags": ["weather", "climate", "temperature", "long series", "HWMId", "heat wave", "station", "ECA&D"],
}

MISSING_CODE = -9999  # ECA&D's missing value, in the file's 0.1 °C
QUALITY = {"0": "valid", "1": "suspect", "9": "missing"}  # ECA&D's Q_TG codes
_CODE = {words: code for code, words in QUALITY.items()}
ECA_COLUMNS = ("SOUID", "DATE", "TG", "Q_TG")
HEADER_LINES = 60  # ECA&D headers are about 20 lines; the column line must come within these
SIZES = {
    "tiny": {"start": "1981-01-01", "end": "2020-12-31"},  # a 30-year reference (1981-2010) and ten years after
    "demo": {"start": "1946-01-01", "end": "2021-02-28"},
    "full": {"start": "1946-01-01", "end": "2021-02-28"},
}

def _code_and_value_agree(typed: pd.DataFrame, raw: pd.DataFrame) -> pd.Series:
    said_missing = typed["quality"] == "missing"
    no_value = typed["tg"].isna()
    # Rows that did not come from the reader (the generator's) carry no provider text: show their values.
    from_file = "TG" in raw.columns and "Q_TG" in raw.columns
    tg_text = raw["TG"].str.strip() if from_file else typed["tg"].astype(str)
    code = raw["Q_TG"].str.strip() if from_file else typed["quality"].map(_CODE).fillna("?")
    where_code = np.where(tg_text == str(MISSING_CODE), f"tg: missing-value code {MISSING_CODE}", "tg: empty")
    return pd.Series(np.select(
        [said_missing & ~no_value, ~said_missing & no_value],
        ["tg: a value (" + tg_text + ") but Q_TG 9 (missing)",
         where_code + " but Q_TG " + code + " (" + typed["quality"].astype(str) + ")"],
        "",
    ), index=typed.index)


SCHEMA = CheckedSchema(
    name=NAME,
    description="Daily mean air temperature of a station, ECA&D blended series",
    columns=(
        Column("date", "datetime", "day of observation (UTC midnight)"),
        Column("station_id", "string", "ECA&D station identifier (STAID)"),
        Column("station_name", "string", "station name, as ECA&D writes it"),
        Column("source_id", "string", "ECA&D source identifier (SOUID) the day's value comes from"),
        Column("tg", "float64", "daily mean air temperature; empty when missing", "°C",
               minimum=-50.0, maximum=50.0, nullable=True),
        Column("quality", "string", "ECA&D quality code Q_TG: valid (0), suspect (1), missing (9)",
               allowed=tuple(QUALITY.values())),
    ),
    checks=(RowCheck("tg present unless Q_TG 9", _code_and_value_agree),),
    key=("station_id", "date"),
)


_STATION = re.compile(r"station\s+(?P<country>[^,(]+),\s*(?P<name>.+?)\s*\(STAID:\s*(?P<staid>\d+)\)", re.IGNORECASE)


def read_eca_tg(path: str | Path, encoding: str | None = None) -> pd.DataFrame:
    """Read an ECA&D daily mean temperature (TG) station file into ``SCHEMA``'s columns.

    The station comes from the header's "series of station COUNTRY, NAME (STAID: n)" line; the
    column line (``SOUID,DATE,TG,Q_TG``) is found in the header, wherever it is. TG is converted
    from 0.1 °C to °C and ``-9999`` to an empty value.

    Parameters
    ----------
    path
        The station file (text, comma-separated, CRLF or LF line ends).
    encoding
        The file's encoding (default: detected, as for ``occidata data ingest``).

    Returns
    -------
    pandas.DataFrame
        ``SCHEMA``'s columns (as text), the provider's ``TG`` and ``Q_TG`` as written, and
        ``source_row`` (the line in the file). Call ``SCHEMA.validate`` next.

    Raises
    ------
    SchemaError
        One French line naming the file (and line): not a readable text file, no ECA&D column
        line, a column missing, a row with another number of fields, or no station in the header.
    """
    checked = open_source(path, encoding)
    name = shown(path)
    lines = Path(path).read_text(encoding=checked.encoding).splitlines()
    header_at = next((i for i, line in enumerate(lines[:HEADER_LINES])
                      if line.strip().upper().startswith("SOUID")), None)
    if header_at is None:
        raise SchemaError(f"{name} : pas une série ECA&D, ligne d'en-tête « SOUID,DATE,TG,Q_TG » introuvable "
                          f"dans les {HEADER_LINES} premières lignes")
    columns = [column.strip() for column in lines[header_at].split(",")]
    missing = [column for column in ECA_COLUMNS if column not in columns]
    if missing:
        raise SchemaError(f"{name}, ligne {header_at + 1} : pas une série ECA&D de température moyenne (TG), "
                          f"colonne(s) manquante(s) {', '.join(missing)} (l'en-tête a {len(columns)} colonne(s), "
                          "séparateur « , »)")
    station = next((match for line in lines[:header_at] if (match := _STATION.search(line))), None)
    if station is None:
        raise SchemaError(f"{name} : pas une série ECA&D, l'en-tête ne nomme pas la station "
                          "(« … of station PAYS, NOM (STAID: n) »)")
    rows, numbers = [], []
    for number, line in enumerate(lines[header_at + 1:], start=header_at + 2):
        if not line.strip():
            continue
        fields = line.split(",")
        if len(fields) != len(columns):
            raise SchemaError(f"{name}, ligne {number} : {len(fields)} champs au lieu des {len(columns)} de "
                              "l'en-tête (séparateur « , ») ; illisible comme série ECA&D")
        rows.append(fields)
        numbers.append(number)
    raw = pd.DataFrame(rows, columns=columns, dtype="string")
    for column in ECA_COLUMNS:
        raw[column] = raw[column].str.strip()
    dates = raw["DATE"]
    tg = raw["TG"].where(raw["TG"] != str(MISSING_CODE), "")
    return pd.DataFrame(
        {
            "date": dates.where(~dates.str.fullmatch(r"\d{8}").fillna(False),
                                dates.str[:4] + "-" + dates.str[4:6] + "-" + dates.str[6:]),
            "station_id": station["staid"],
            "station_name": station["name"].strip(),
            "source_id": raw["SOUID"],
            "tg": provider_numbers(tg, scale=0.1, digits=1),
            "quality": raw["Q_TG"].map(QUALITY).fillna(raw["Q_TG"]),
            "TG": raw["TG"],
            "Q_TG": raw["Q_TG"],
            SOURCE_ROW: np.array(numbers, dtype="int64"),
        }
    )


# The station and the sources of its blended series, as the ECA&D file names them.
STATION_ID = "2207"
STATION_NAME = "MONTPELLIER-AEROPORT"
SOURCES = (("107225", "1946-01-01"), ("907643", "2020-01-01"))  # (SOUID, first day it gives)
# The series' climate, fitted on the file: mean TG before the warming, the warming since 1981,
# the seasons (peak in late July) and the day-to-day weather (larger in winter, persistent).
MEAN_BEFORE_1981 = 14.0  # °C
WARMING_FROM = 1981
WARMING_PER_DECADE = 0.4  # °C (the file's 1981-2020 trend is 0.38)
SEASON = 8.4  # °C, half the swing between winter and summer
WARMEST_DAY = 205
WEATHER = (2.75, 0.65)  # °C: standard deviation of the day's departure, and its extra in winter (less in summer)
PERSISTENCE = 0.7
HOT_SPELL = 5.0  # °C added at a hot spell's peak
HOT_SPELLS_PER_SUMMER = (0, 2)
HOT_SPELL_DAYS = (3, 7)
MISSING_DAYS = 3  # days without a value (ECA&D: -9999, Q_TG 9); the file has 2 in 75 years
SUSPECT_DAYS = 2  # values kept but flagged (Q_TG 1)


def normal_tg(days: pd.DatetimeIndex) -> np.ndarray:
    """The synthetic series' expected daily mean temperature (°C) on ``days``: climate and season,
    no weather. The SYNOP generator, at the same airport, starts from it too."""
    years = (days - pd.Timestamp(f"{WARMING_FROM}-01-01", tz=days.tz)).days.to_numpy() / 365.25
    season = np.cos(2 * np.pi * (days.day_of_year.to_numpy() - WARMEST_DAY) / 365.25)
    return MEAN_BEFORE_1981 + WARMING_PER_DECADE / 10 * np.clip(years, 0, None) + SEASON * season


def generate(size: str = "tiny", seed: int = 0) -> pd.DataFrame:
    """A synthetic daily mean temperature series at Montpellier-Aéroport (for a build without the
    ECA&D file), shaped like it: the seasons, a flat climate until 1980 and a warming of
    ``WARMING_PER_DECADE`` since, persistent weather, a few summer hot spells, the source id of the
    blend, and a few missing days (kept, with an empty ``tg`` and ``quality`` ``missing``) and
    suspect ones.

    Parameters
    ----------
    size
        ``"tiny"`` (1981-2020: a 30-year reference period and ten years after) or
        ``"demo"``/``"full"`` (1946-01-01 to 2021-02-28, as the file).
    seed
        Same seed, same series.

    Returns
    -------
    pandas.DataFrame
        ``SCHEMA``'s columns, one row per calendar day; ``SCHEMA.validate`` sets nothing aside.
    """
    plan = size_plan(SIZES, size, NAME)
    rng = np.random.default_rng(seed)
    days = pd.date_range(plan["start"], plan["end"], freq="D", tz="UTC")
    winter = -np.cos(2 * np.pi * (days.day_of_year.to_numpy() - WARMEST_DAY) / 365.25)
    tg = (normal_tg(days)
          + (WEATHER[0] + WEATHER[1] * winter) * ar1(rng, len(days), PERSISTENCE)
          + HOT_SPELL * summer_episodes(days, rng, HOT_SPELLS_PER_SUMMER, HOT_SPELL_DAYS)).round(1)
    quality = np.full(len(days), QUALITY["0"], dtype=object)
    odd = rng.choice(len(days), MISSING_DAYS + SUSPECT_DAYS, replace=False)
    quality[odd[:MISSING_DAYS]], quality[odd[MISSING_DAYS:]] = QUALITY["9"], QUALITY["1"]
    starts = pd.DatetimeIndex([pd.Timestamp(first, tz="UTC") for _, first in SOURCES])
    source = np.array([souid for souid, _ in SOURCES])[starts.searchsorted(days, side="right") - 1]
    return pd.DataFrame({
        "date": days,
        "station_id": STATION_ID,
        "station_name": STATION_NAME,
        "source_id": source,
        "tg": np.where(quality == QUALITY["9"], np.nan, tg),
        "quality": quality,
    })[SCHEMA.names]


READERS = {"eca-tg": read_eca_tg}


# The real exports this entry is built from when sources.real_data_dir holds them (else synthetic).
REAL = RealSource(
    provider='ECA&D (KNMI), data from Météo-France',
    licence='ECA&D: free use with acknowledgement',
    attribution='Klein Tank et al. 2002, ECA&D, https://www.ecad.eu (données Météo-France)',
    patterns=('meteo/eca_tg_*.txt',),
    fmt='eca-tg',
    role=WHOLE,
)
