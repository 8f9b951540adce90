"""vehicle_count_campaigns: the City of Montpellier's one-week vehicle-count campaigns, 1996–2013.

- ``SCHEMA``: one row per campaign, street section and direction: the mean daily traffic (TJM)
  and the morning and evening peak hours (PHJM, PHJS).
- ``read_comptage_csv``: the City's export ``VilleMTP_MTP_Comptage.csv`` (an ArcGIS/dBase table
  saved as CSV).
- ``load_real``: that file under ``sources.real_data_dir``, validated, each repeat kept once.
- ``generate``: synthetic campaigns shaped like the City's, for a build without the export.

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

from .real_sources import WHOLE, RealSource
from .duplicates import duplicate_rows
from .row_checks import CheckedSchema, RowCheck
from .schema import SOURCE_ROW, Column, SchemaError, read_provider_csv, shown
from .sourcefile import open_source
from .synthetic import size_plan

NAME = "vehicle_count_campaigns"
KIND = "table"
CATALOGUE_YEAR = 2012  # read when no year is given: the year with the most campaigns
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


# Streets of Montpellier as the export names them, the two crossings a direction runs between
# (as in SENS, "from-to"), the four letters the City's older references use, and the street's
# usual mean daily traffic (vehicles a day, both directions).
STREETS = (
    ("Avenue de Fès", "Alfand", "Viala", "FES", 2200),
    ("Rue des Paradisiers", "Val Marie", "St Maur", "PARA", 1400),
    ("Route de Vauguières", "Penelope", "Boualem", "VAUG", 2400),
    ("Boulevard Ernest Renan", "Maur", "Ricard", "RENA", 900),
    ("Rue du Père Cyprien Rome", "Lilas", "Laverune", "ROME", 1500),
    ("Boulevard Professeur Louis Vialleton", "Henri", "Rollin", "VIAL", 30000),
    ("Rue François Dezeuze", "Métairie", "Alpes", "DEZE", 6500),
    ("Avenue de Heidelberg", "Schuman", "Oxford", "HEID", 2100),
    ("Avenue du Val de Montferrand", "Mende", "Allende", "MONT", 2200),
    ("Rue des Tourterelles", "Martinets", "Justice", "TOUR", 550),
    ("Rue Guillaume Janvier", "Toulouse", "Angoulème", "JANV", 6000),
    ("Rue de Bionne", "Traverses", "Liberté", "BION", 800),
    ("Avenue du Mondial 98", "Manuguerra", "Odysseum", "MOND", 11000),
    ("Boulevard Pénélope", "Londres", "Odysseum", "PENE", 3300),
    ("Rue du Lantissargues", "Industrie", "Saporta", "LANT", 3200),
    ("Rue de Louvain", "Gaillarde", "Agriculture", "LOUV", 600),
    ("Rue Jean Vachet", "Grau", "Cherchel", "VACH", 650),
    ("Avenue du Professeur Louis Ravaz", "Moulins", "Rimbaud", "RAVA", 8800),
    ("Route de Mende", "Pezet", "Dunant", "MEND", 9000),
    ("Avenue de la Liberté", "Celleneuve", "Laverune", "LIBE", 12000),
    ("Rue de Las Sorbes", "Vert-Bois", "Justice", "SORB", 1800),
    ("Avenue de Palavas", "Garrats", "Causse", "PALA", 14000),
)
SIZES = {
    "tiny": {"sections": 40, "campaigns": 100},
    "demo": {"sections": 200, "campaigns": 400},
    "full": {"sections": 1200, "campaigns": 2100},  # about the City's 3,200 rows
}
FIRST_YEAR, LAST_DAY = 1996, "2013-10-25"
# Campaigns a year in the export, 1996 to 2013: the City counted more and more.
CAMPAIGNS_PER_YEAR = (89, 125, 68, 69, 67, 83, 57, 101, 104, 165, 257, 174, 275, 251, 311, 316, 404, 316)
NEW_REFERENCES_FROM = 2003  # "212_001_02" from then on, "LANT_011" before
CAMPAIGN_DAYS = 7
BOTH_DIRECTIONS = 0.6
SECTION_SPREAD, CAMPAIGN_SPREAD = 0.5, 0.12  # log-normal spread of a section's traffic, and of a week's
PEAK_SHARE = {"peak_morning": (0.07, 0.16), "peak_evening": (0.08, 0.17)}  # of the day's traffic
PEAK_MISSING = 0.003  # rows whose counter gave no peak hour
SPEED_LIMITS, SPEED_SHARES = (50, 30, 70), (0.9, 0.08, 0.02)
# The kind of counter, by period (magnetic loops from 2010, the regulation's loops from 2011),
# and the comments each kind gets.
COUNTER_SHARES = {2010: (0.6, 0.4, 0.0), 2011: (0.55, 0.3, 0.15)}  # from that year: pneumatic, magnetic, regulation
COMMENTS = {
    "pneumatic": (("", "R.A.S", "Rapport Lissé", "Tube coupé", "Compteur défectueux", "Pluie"),
                  (0.87, 0.07, 0.02, 0.02, 0.01, 0.01)),
    "magnetic": (("", "0"), (0.92, 0.08)),
    "regulation": (("0",), (1.0,)),
}


def _counter_types(rng: np.random.Generator, years: np.ndarray) -> np.ndarray:
    """The kind of counter of each campaign, by its year (only tubes before 2010)."""
    kinds = np.full(len(years), "pneumatic", dtype=object)
    for since, shares in COUNTER_SHARES.items():
        later = years >= since
        kinds[later] = rng.choice(COUNTER_TYPES, later.sum(), p=shares)
    return kinds


def generate(size: str = "tiny", seed: int = 0) -> pd.DataFrame:
    """Synthetic one-week vehicle-count campaigns, 1996-2013, shaped like the City's export (for a
    build without it): sections of real street names (``<n>TR<gis id>``), campaigns more frequent
    over the years, often in both directions (``from-to`` and back), the City's older and newer
    references, the mean daily traffic of the street with a share per direction, peak hours of
    about a tenth of it, the kind of counter of the time (regulation counts have no speed limit)
    and the City's comments.

    Parameters
    ----------
    size
        ``"tiny"`` (about 160 rows), ``"demo"`` (about 640) or ``"full"`` (about 3,300).
    seed
        Same seed, same campaigns.

    Returns
    -------
    pandas.DataFrame
        ``SCHEMA``'s columns, one row per campaign, section and direction, in date order;
        ``SCHEMA.validate`` sets nothing aside.
    """
    plan = size_plan(SIZES, size, NAME)
    rng = np.random.default_rng(seed)
    streets = pd.DataFrame(STREETS, columns=["street", "one_end", "other_end", "abbreviation", "traffic"])
    sections = streets.iloc[rng.integers(0, len(streets), plan["sections"])].reset_index(drop=True)
    sections["number"] = rng.choice(np.arange(100, 3400), len(sections), replace=False)
    sections["gis"] = rng.choice(np.arange(100, 18000), len(sections), replace=False)
    sections["ordinal"] = sections.groupby("street").cumcount() + 1
    sections["traffic"] *= rng.lognormal(0, SECTION_SPREAD, len(sections))

    weights = np.array(CAMPAIGNS_PER_YEAR) / sum(CAMPAIGNS_PER_YEAR)
    years = FIRST_YEAR + rng.choice(len(weights), plan["campaigns"], p=weights)
    last = pd.Timestamp(LAST_DAY, tz="UTC")
    days_open = np.where(years == last.year, last.day_of_year, 365)  # the export stops in October 2013
    starts = pd.to_datetime(years.astype(str), format="%Y").tz_localize("UTC") + pd.to_timedelta(
        rng.integers(0, days_open), unit="D")
    campaigns = sections.iloc[rng.integers(0, len(sections), len(years))].reset_index(drop=True)
    campaigns = campaigns.assign(date_start=starts, number_ref=rng.integers(100, 2400, len(years)),
                                 both=rng.random(len(years)) < BOTH_DIRECTIONS, first=rng.integers(1, 3, len(years)))
    campaigns = campaigns.drop_duplicates(["number", "date_start"]).sort_values("date_start", kind="stable")
    rows = pd.concat([campaigns.assign(way=campaigns["first"]), campaigns[campaigns["both"]].assign(
        way=3 - campaigns.loc[campaigns["both"], "first"])]).sort_values(["date_start", "number", "way"])
    rows = rows.reset_index(drop=True)

    n, year = len(rows), rows["date_start"].dt.year.to_numpy()
    forward = (rows["way"] == 1).to_numpy()
    share = np.where(forward, 1, -1) * rng.uniform(-0.15, 0.15, n) + 0.5
    daily = np.clip(rows["traffic"] * share * rng.lognormal(0, CAMPAIGN_SPREAD, n), 0, 150_000).round()
    kinds = _counter_types(rng, year)
    peaks = {}
    for column, (low, high) in PEAK_SHARE.items():
        value = (daily * rng.uniform(low, high, n)).round().astype("Int64")
        peaks[column] = value.mask(rng.random(n) < PEAK_MISSING)
    speed = pd.Series(rng.choice(SPEED_LIMITS, n, p=SPEED_SHARES), dtype="Int64")
    comments = np.empty(n, dtype=object)
    for kind, (words, shares) in COMMENTS.items():
        chosen = kinds == kind
        comments[chosen] = rng.choice(words, chosen.sum(), p=shares)
    # The City's references: campaign_section_direction from 2003 ("212_001_02"), before it the
    # street's letters and the section, plus 10 for the way back ("LANT_011").
    newer = rows["number_ref"].astype(str) + "_" + rows["ordinal"].map("{:03d}".format) + "_0" + rows["way"].astype(str)
    older = rows["abbreviation"] + "_" + (rows["ordinal"] + 10 * (rows["way"] - 1)).map("{:03d}".format)
    return pd.DataFrame({
        "date_start": rows["date_start"],
        "date_end": rows["date_start"] + pd.Timedelta(days=CAMPAIGN_DAYS - 1),
        "section_id": rows["number"].astype(str) + "TR" + rows["gis"].astype(str),
        "street": rows["street"],
        "direction": np.where(forward, rows["one_end"] + "-" + rows["other_end"],
                              rows["other_end"] + "-" + rows["one_end"]),
        "count_ref": np.where(year >= NEW_REFERENCES_FROM, newer, older),
        "daily_mean": daily.astype("int64"),
        **peaks,
        "speed_limit_kmh": speed.mask(kinds == "regulation"),
        "counter_type": kinds,
        "comment": comments,
        "campaign_month": rows["date_start"].dt.month,
        "campaign_year": year,
        "gis_section_id": rows["gis"].astype(str),
    })[SCHEMA.names]


READERS = {"mtp-comptage-csv": read_comptage_csv}


# The real exports this entry is built from when sources.real_data_dir holds them (else synthetic).
REAL = RealSource(
    provider='Ville de Montpellier',
    licence='Licence Ouverte',
    attribution=ATTRIBUTION,
    patterns=('montpellier/VilleMTP_MTP_Comptage*.csv',),
    fmt='mtp-comptage-csv',
    role=WHOLE,
)
