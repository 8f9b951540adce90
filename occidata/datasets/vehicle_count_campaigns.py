"""vehicle_count_campaigns: the City of Montpellier's one-week vehicle-count campaigns, 1996–2013.

- ``SCHEMA``: one row per campaign, street section and direction: the mean daily traffic (TJM)
  and the morning and evening peak hours (PHJM, PHJS).
- ``read_comptage_csv``: the City's export ``VilleMTP_MTP_Comptage.csv`` (an ArcGIS/dBase table
  saved as CSV).
- ``load_real``: that file under ``sources.real_data_dir``, validated, each repeat kept once.

``SCHEMA`` is a :class:`~.row_checks.CheckedSchema`: beside the column checks, it quarantines
rows that break a rule across columns and rows that contradict another for the same campaign.

The export's quirks, and what becomes of them:

- Windows-1252 text (detected, or ``encoding=``);
- dBase-style header cells, ``"NAME,TYPE,LENGTH,DECIMALS"`` (``"TJM,N,19,8"``): the name is
  what precedes the first comma (plain names are read too);
- dates ``dd/mm/yy``: years 69–99 are 1969–1999, 00–68 are 2000–2068 (the campaigns run
  1996–2013); a date that is not ``dd/mm/yy`` is quarantined, with its value, as not a date;
- ``#N/A`` (a spreadsheet's "no value") in any column is a missing value; ``9999`` in the speed
  limit and the peak hours is the table's "no value" too (the traffic-light regulation counts
  have no speed limit, defective counters no peak hour), not a measurement;
- a campaign that ends before it starts (``25/03/11 → 11/03/82``) or a peak hour above the day's
  mean traffic cannot be right: quarantined, with the values;
- ``OBJECTID`` is the table's row number, not data: two rows that differ only by it are one
  campaign recorded twice (counted as a repeat, stored once); it stays in the quarantine
  report as ``source_object_id`` to find a row in the City's table. Two rows for the same
  section, count, start and direction that differ elsewhere are both quarantined.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from .duplicates import duplicate_rows
from .row_checks import CheckedSchema, RowCheck
from .schema import SOURCE_ROW, Column, SchemaError, read_provider_csv, shown
from .sourcefile import open_source

NAME = "vehicle_count_campaigns"
KIND = "table"
REAL_FILE = "montpellier/VilleMTP_MTP_Comptage.csv"  # under sources.real_data_dir
WHAT = "un export des comptages routiers de la Ville de Montpellier (VilleMTP_MTP_Comptage)"
PROVIDER_COLUMNS = ("OBJECTID", "IDENT", "NOM", "VLEGALE", "REF", "DDEBUT", "DFIN", "SENS", "PHJM", "PHJS", "TJM",
                    "COMMENTAIR", "MOIS", "ANNEE", "TYPECOMPTA", "IDENTSIG")
NO_VALUE = "#N/A"
PLACEHOLDER = "9999"
PLACEHOLDER_COLUMNS = ("VLEGALE", "PHJM", "PHJS")
SOURCE_OBJECT_ID = "source_object_id"
COUNTER_TYPES = ("pneumatic", "magnetic", "regulation")
_COUNTER_TYPE = {"pneumatique": "pneumatic", "magnétique": "magnetic", "magnetique": "magnetic",
                 "regulation": "regulation", "régulation": "regulation"}
ATTRIBUTION = "Ville de Montpellier"

METADATA = {
    "title_fr": "Campagnes de comptage routier de la Ville de Montpellier (1996–2013)",
    "title_en": "City of Montpellier vehicle-count campaigns (1996–2013)",
    "description": (
        "One-week vehicle counts on the streets of Montpellier, per street section and direction, "
        "1996 to 2013: mean daily traffic (TJM) and the morning and evening peak hours (PHJM, PHJS), "
        "with the speed limit and the kind of counter. Real data, as published by the City of "
        "Montpellier; impossible rows (a campaign ending before it starts, a peak hour above the "
        "daily mean) are kept aside in the ingest's quarantine report with their line and reason."
    ),
    "description_fr": (
        "Comptages de véhicules d'une semaine dans les rues de Montpellier, par tronçon et par sens, "
        "de 1996 à 2013 : trafic journalier moyen (TJM) et heures de pointe du matin et du soir "
        "(PHJM, PHJS), avec la vitesse légale et le type de compteur. Données réelles, telles que "
        "publiées par la Ville de Montpellier ; les lignes impossibles (campagne finissant avant de "
        "commencer, heure de pointe supérieure au trafic journalier) sont mises de côté dans le "
        "rapport de quarantaine de l'ingestion, avec leur ligne et leur motif."
    ),
    "producer": "Ville de Montpellier",
    "licence": "Licence Ouverte",
    "licence_url": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
    "attribution": ATTRIBUTION,
    "licence_note_fr": "Licence Ouverte : réutilisation libre, en citant la source (« Ville de Montpellier »).",
    "licence_note_en": "Licence Ouverte: free reuse, crediting the source (\"Ville de Montpellier\").",
    "origin": "real",
    "source_files": "VilleMTP_MTP_Comptage.csv (City of Montpellier open data)",
    "access": "public",
    "personal_data": False,
    "update_frequency": "none (historical, 1996–2013)",
    "spatial_coverage": "City of Montpellier, about 600 streets",
    "temporal_coverage": "1996-01 to 2013-10, one-week campaigns",
    "tags": ["mobility", "traffic", "roads", "counts", "Montpellier", "historical"],
}


def _rule(first: str, second: str, text: str):
    """A check that ``first`` is not above ``second``, whose reason shows both values."""
    def test(typed: pd.DataFrame, raw: pd.DataFrame) -> pd.Series:
        broken = (typed[first] > typed[second]).fillna(False).to_numpy(dtype=bool)
        shown_values = f"{first}=" + raw[first].astype(str) + f", {second}=" + raw[second].astype(str)
        return pd.Series(np.where(broken, f"{first}, {second}: {text} (" + shown_values + ")", ""), index=typed.index)

    return RowCheck(f"{first} <= {second}", test)


SCHEMA = CheckedSchema(
    name=NAME,
    description="Vehicle-count campaigns per street section and direction, City of Montpellier",
    columns=(
        Column("date_start", "datetime", "first day of the campaign (local day, as that date at 00:00)"),
        Column("date_end", "datetime", "last day of the campaign (local day, as that date at 00:00)"),
        Column("section_id", "string", "the City's street-section identifier (IDENT)"),
        Column("street", "string", "street name"),
        Column("direction", "string", "direction counted, as the City names it (from-to)"),
        Column("count_ref", "string", "the City's reference of the count (REF)"),
        Column("daily_mean", "int64", "mean daily traffic over the campaign (TJM)", "vehicle/day",
               minimum=0, maximum=200000),
        Column("peak_morning", "int64", "vehicles in the morning peak hour (PHJM); empty when not measured",
               "vehicle/h", minimum=0, maximum=20000, nullable=True),
        Column("peak_evening", "int64", "vehicles in the evening peak hour (PHJS); empty when not measured",
               "vehicle/h", minimum=0, maximum=20000, nullable=True),
        Column("speed_limit_kmh", "int64", "speed limit of the street (VLEGALE); empty when not given", "km/h",
               minimum=10, maximum=130, nullable=True),
        Column("counter_type", "string", "how vehicles were counted: pneumatic tube, magnetic loop, or the "
                                         "traffic-light regulation's loops", allowed=COUNTER_TYPES),
        Column("comment", "string", "the City's comment (R.A.S, Tube coupé, Pluie...)", nullable=True),
        Column("campaign_month", "int64", "month the City files the campaign under (MOIS)", minimum=1, maximum=12),
        Column("campaign_year", "int64", "year the City files the campaign under (ANNEE)", minimum=1990, maximum=2030),
        Column("gis_section_id", "string", "the section's id in the City's GIS (IDENTSIG)", nullable=True),
    ),
    checks=(
        _rule("date_start", "date_end", "the campaign ends before it starts"),
        _rule("peak_morning", "daily_mean", "morning peak hour above the daily mean"),
        _rule("peak_evening", "daily_mean", "evening peak hour above the daily mean"),
    ),
    key=("section_id", "count_ref", "date_start", "direction"),
)


def read_comptage_csv(path: str | Path, encoding: str | None = None) -> pd.DataFrame:
    """Read the City of Montpellier's vehicle-count export into the schema's columns (as text).

    Rows keep their ``source_row`` (line in the file) and ``source_object_id`` (the City's
    OBJECTID); dates become ISO days (a cell that is not ``dd/mm/yy`` stays as written, for
    validation to show it). Call ``SCHEMA.validate`` to type and check them. ``encoding``: the
    file's (default detected; the City writes Windows-1252).

    Raises
    ------
    SchemaError
        One French line naming the file: not a file, unreadable as CSV, or lacking columns (named,
        with the separator read).
    """
    encoding = open_source(path, encoding).encoding  # checks the file, and a given encoding, first
    raw = read_provider_csv(path, (), WHAT, sep=",", encoding=encoding)
    raw.columns = [str(name).split(",", 1)[0].strip() for name in raw.columns]
    missing = [name for name in PROVIDER_COLUMNS if name not in raw.columns]
    if missing:
        raise SchemaError(f"{shown(path)} : pas {WHAT}, colonne(s) manquante(s) {', '.join(missing)} "
                          f"(l'en-tête a {len(raw.columns)} colonne(s), séparateur « , »)")
    raw = raw.apply(lambda column: column.str.strip().mask(column.str.strip() == NO_VALUE, ""))
    for name in PLACEHOLDER_COLUMNS:
        raw[name] = raw[name].mask(pd.to_numeric(raw[name], errors="coerce") == float(PLACEHOLDER), "")
    return pd.DataFrame(
        {
            "date_start": _days(raw["DDEBUT"]),
            "date_end": _days(raw["DFIN"]),
            "section_id": raw["IDENT"],
            "street": raw["NOM"],
            "direction": raw["SENS"],
            "count_ref": raw["REF"],
            "daily_mean": raw["TJM"],
            "peak_morning": raw["PHJM"],
            "peak_evening": raw["PHJS"],
            "speed_limit_kmh": raw["VLEGALE"],
            "counter_type": raw["TYPECOMPTA"].map(lambda v: _COUNTER_TYPE.get(v.lower(), v)),
            "comment": raw["COMMENTAIR"],
            "campaign_month": raw["MOIS"],
            "campaign_year": raw["ANNEE"],
            "gis_section_id": raw["IDENTSIG"],
            SOURCE_ROW: np.arange(2, len(raw) + 2),
            SOURCE_OBJECT_ID: raw["OBJECTID"],
        }
    )


def load_real(path: str | Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """The campaigns of ``path`` (default the export under ``sources.real_data_dir``), validated:
    (kept rows, each repeat once; quarantined rows with their line and reason; how many repeats
    were left out)."""
    if path is None:
        from .sources import real_data_dir

        path = real_data_dir() / REAL_FILE
    kept, quarantined = SCHEMA.validate(read_comptage_csv(path), str(path))
    repeated = duplicate_rows(kept, SCHEMA, [])
    return kept[~repeated].reset_index(drop=True), quarantined, int(repeated.sum())


def _days(column: pd.Series) -> pd.Series:
    """``dd/mm/yy`` dates as ISO days; a cell that is not one stays as written (empty stays empty)."""
    def day(text: str) -> str:
        try:
            return datetime.strptime(text, "%d/%m/%y").date().isoformat()
        except ValueError:
            return text

    return column.map(day)


READERS = {"mtp-comptage-csv": read_comptage_csv}
