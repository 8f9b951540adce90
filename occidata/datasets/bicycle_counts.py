"""bicycle_counts: daily bicycle counts at Montpellier Méditerranée Métropole's Eco-Counter counters.

- ``SCHEMA``: one row per counter, lane and local day, with the counter's location.
- ``read_ecocompt_json``: one ``MMM_EcoCompt_<counter>_*.json`` export, a JSON array of NGSI
  ``TrafficFlowObserved`` records (``intensity``, ``dateObserved`` as the local-day interval
  ``start/end``, ``location`` point, ``laneId``, ``id``).
- ``read_ecocompt_folder``: every such export of a folder (all counters), each row with its file.
- ``load_real``: the folder under ``sources.real_data_dir``, validated, each repeat kept once.
- ``generate``: synthetic counts at the 13 counters, for a build without the exports.

``SCHEMA`` is a :class:`~.row_checks.CheckedSchema`: beside the column checks, it quarantines the
problems the reader found in a record that the columns cannot show (``reader_problem``), and
the records that contradict another one for the same counter, lane and day.

Where a row is in a JSON file: ``source_row`` is the line of the file on which the record begins
(what an editor shows, as for a CSV row; the exports write one record per line, some with blank
lines between records, so it is not the record's number), ``source_record`` its position in the
array (1 = first record) and ``record_id`` its NGSI ``id``; the folder reader adds
``source_file``. The quarantine report carries all of them.

The providers' quirks, and what becomes of them:

- keys written ``",intensity"`` (a stray comma from the export): read as ``intensity``;
- ``intensity`` null: quarantined (``count: missing value``);
- placeholder records of a counter's first weeks, ``laneId`` 1 and coordinates ``[null, null]``:
  quarantined for their missing coordinates (their location is not guessed); ``laneId`` 1
  records that do have coordinates are kept, lane ``1`` (one counter's first months, before
  its lane got its id);
- a ``dateObserved`` that is not one local day: quarantined with its value (one record, the
  night the clocks went back in 2020, reads ``2020-10-25T00:00:00/2020-10-25T00:00:00``);
- the same counter, lane and day twice: identical records are repeats, counted and stored once;
  records that differ (a count and a ``3`` or a null, sent again for the same days) are all
  quarantined, as which one is right cannot be told.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from .calendar import LOCKDOWNS
from .real_sources import WHOLE, RealSource
from .duplicates import duplicate_rows
from .row_checks import CheckedSchema, RowCheck
from .schema import SOURCE_ROW, Column, SchemaError, shown
from .sourcefile import open_source
from .synthetic import size_plan

NAME = "bicycle_counts"
KIND = "table"
CATALOGUE_YEAR = 2020  # read when no year is given: the lockdowns of 2020
FILES = "MMM_EcoCompt_*.json"
REAL_FOLDER = "montpellier/ecocompt"  # under sources.real_data_dir
WHAT = "un export Eco-Counter (liste JSON d'enregistrements NGSI TrafficFlowObserved)"
SOURCE_RECORD = "source_record"
SOURCE_FILE = "source_file"
RECORD_ID = "record_id"
PROBLEM = "reader_problem"
ATTRIBUTION = "© Montpellier Méditerranée Métropole"

METADATA = {
    "title_fr": "Comptages vélo quotidiens — compteurs de Montpellier Méditerranée Métropole",
    "title_en": "Daily bicycle counts — Montpellier Méditerranée Métropole's counters",
    "description": (
        "Bicycles counted each day by the 13 Eco-Counter counters of Montpellier Méditerranée "
        "Métropole (cycle paths and lanes), from 2020 to November 2024, with each counter's location. "
        "Real data, as published by the Métropole (NGSI TrafficFlowObserved exports); records the "
        "provider sent twice with different counts, null counts and placeholder records are kept "
        "aside in the ingest's quarantine report, with their line and reason."
    ),
    "description_fr": (
        "Nombre de vélos comptés chaque jour par les 13 compteurs Eco-Counter de Montpellier "
        "Méditerranée Métropole (pistes et bandes cyclables), de 2020 à novembre 2024, avec "
        "l'emplacement de chaque compteur. Données réelles, telles que publiées par la Métropole "
        "(exports NGSI TrafficFlowObserved) ; les relevés envoyés deux fois avec des comptages "
        "différents, les comptages vides et les relevés provisoires sans coordonnées sont mis de "
        "côté dans le rapport de quarantaine de l'ingestion, avec leur ligne et leur motif."
    ),
    "producer": "Montpellier Méditerranée Métropole (Eco-Counter counters)",
    "licence": "ODbL 1.0",
    "licence_url": "https://opendatacommons.org/licenses/odbl/1-0/",
    "attribution": ATTRIBUTION,
    "licence_note_fr": (
        "ODbL : citer « © Montpellier Méditerranée Métropole » ; toute base de données dérivée "
        "diffusée doit l'être sous ODbL (partage à l'identique)."
    ),
    "licence_note_en": (
        "ODbL: credit \"© Montpellier Méditerranée Métropole\"; any derived database made public "
        "must be shared under the ODbL (share-alike)."
    ),
    "source_files": "MMM_EcoCompt_<counter>_*.json (Montpellier Méditerranée Métropole open data)",
    "access": "public",
    "personal_data": False,
    "update_frequency": "daily",
    "spatial_coverage": "Montpellier Méditerranée Métropole, 13 counters",
    "temporal_coverage": "2020-01-01 to 2024-11, each counter from its installation",
    "tags": ["mobility", "bicycle", "cycling", "counters", "Montpellier", "vélo"],
}

def _reader_problems(typed: pd.DataFrame, raw: pd.DataFrame) -> pd.Series:
    """The reader's problem for each row (none for rows that did not come from the reader)."""
    if PROBLEM not in raw.columns:
        return pd.Series("", index=typed.index)
    return pd.Series(raw[PROBLEM].fillna("").to_numpy(), index=typed.index)


SCHEMA = CheckedSchema(
    name=NAME,
    description="Daily bicycle counts per Eco-Counter counter and lane, Montpellier Méditerranée Métropole",
    columns=(
        Column("counter_id", "string", "the counter's Eco-Counter serial (X2H19070220...)"),
        Column("lane_id", "string", "the provider's lane (channel) id; 1 in some counters' first weeks"),
        Column("date", "datetime", "the local day counted (Europe/Paris), as that date at 00:00: a calendar day, "
                                   "not an instant"),
        Column("count", "int64", "bicycles counted that day on that lane", "bicycle/day", minimum=0, maximum=50000),
        Column("longitude", "float64", "WGS84 longitude of the counter", "degree_east", minimum=2.5, maximum=4.5),
        Column("latitude", "float64", "WGS84 latitude of the counter", "degree_north", minimum=43.2, maximum=44.0),
    ),
    checks=(RowCheck("what the reader found", _reader_problems),),
    key=("counter_id", "lane_id", "date"),
)

KEYS = ("id", "intensity", "dateObserved", "location", "laneId")  # each record must have them
_COLUMN_OF = {"id": "counter_id", "intensity": "count", "dateObserved": "date", "location": "longitude, latitude",
              "laneId": "lane_id"}
_OPTIONAL = ("type", "vehicleType", "reversedLane")
_EXPECTED = {"type": "TrafficFlowObserved", "vehicleType": "bicycle"}
_RECORD_ID = re.compile(r"MMM_EcoCompt_([A-Za-z0-9]+)_\d{12}")
# A local day: midnight, with or without seconds, fraction or UTC offset (the exports have none).
_DAY = r"(\d{4}-\d{2}-\d{2})(?:T00:00(?::00(?:\.0+)?)?)?(?:[+-]\d{2}:?\d{2})?"
_INTERVAL = re.compile(f"{_DAY}/{_DAY}")
_SPACE = re.compile(r"[ \t\n\r]*")
_JSON_ERRORS = {
    "Expecting value": "valeur attendue",
    "Expecting ',' delimiter": "« , » attendue",
    "Expecting ':' delimiter": "« : » attendu",
    "Expecting property name enclosed in double quotes": "nom de clé entre guillemets attendu",
    "Unterminated string starting at": "chaîne jamais refermée",
    "Invalid control character at": "caractère de contrôle dans une chaîne",
    "Extra data": "contenu en trop",
}


def read_ecocompt_json(path: str | Path, encoding: str | None = None) -> pd.DataFrame:
    """Read one Eco-Counter NGSI JSON export into the schema's columns (as text).

    Each record becomes one row, with ``source_row`` (the line where the record begins),
    ``source_record`` (its position in the array, from 1), ``record_id`` and ``reader_problem``
    (what ``SCHEMA`` quarantines it for, if anything, beside its column checks). Call
    ``SCHEMA.validate`` to type and check the rows. ``encoding``: the file's (default detected;
    the exports are UTF-8).

    Raises
    ------
    SchemaError
        One French line naming the file, and the line and column where relevant: not a file,
        not JSON, not a list of records, no record, or a key (``intensity``...) no record has.
    """
    source = open_source(path, encoding)
    name = shown(path)
    records = _records(source.path.read_text(encoding=source.encoding), name)
    if not records:
        raise SchemaError(f"{name} : liste vide, aucun enregistrement ; pas {WHAT}")
    rows = [_row(record, line, number) for number, (record, line) in enumerate(records, start=1)]
    frame = pd.DataFrame(rows)
    absent = [key for key in KEYS if frame[f"_has_{key}"].eq(False).all()]
    if absent:
        raise SchemaError(f"{name} : pas {WHAT}, clé(s) absente(s) de tous les {len(rows)} enregistrement(s) : "
                          f"{', '.join(absent)}")
    return frame.drop(columns=[f"_has_{key}" for key in KEYS])


def read_ecocompt_folder(folder: str | Path | None = None, encoding: str | None = None) -> pd.DataFrame:
    """Read every ``MMM_EcoCompt_*.json`` export of ``folder`` (default: the one under
    ``sources.real_data_dir``), in file-name order; each row also has its ``source_file``.

    Raises
    ------
    SchemaError
        When ``folder`` is not a folder or holds no export (one French line naming it), or an
        export is unreadable (as :func:`read_ecocompt_json`).
    """
    if folder is None:
        from .sources import real_data_dir

        folder = real_data_dir() / REAL_FOLDER
    folder = Path(folder)
    if not folder.is_dir():
        problem = "pas un dossier" if folder.exists() else "dossier introuvable"
        raise SchemaError(f"{shown(folder)} : {problem} ; il faut le dossier des exports Eco-Counter ({FILES})")
    files = sorted(path for path in folder.glob(FILES) if path.is_file())
    if not files:
        raise SchemaError(f"{shown(folder)} : aucun export Eco-Counter ({FILES}) dans ce dossier")
    frames = [read_ecocompt_json(path, encoding).assign(**{SOURCE_FILE: path.name}) for path in files]
    return pd.concat(frames, ignore_index=True)


def load_real(folder: str | Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """The counts of every export of ``folder`` (default under ``sources.real_data_dir``),
    validated: (kept rows, each repeat once; quarantined rows with their file, line and reason;
    how many repeats were left out)."""
    kept, quarantined = SCHEMA.validate(read_ecocompt_folder(folder), str(folder or REAL_FOLDER))
    repeated = duplicate_rows(kept, SCHEMA, [])
    return kept[~repeated].reset_index(drop=True), quarantined, int(repeated.sum())


def _records(text: str, name: str) -> list[tuple[object, int]]:
    """The array's items, each with the line it begins on (read one by one, to know the lines)."""
    decoder = json.JSONDecoder()
    position = _SPACE.match(text).end()
    if not text.startswith("[", position):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as error:
            raise _unreadable(name, error) from None
        kind = "un objet" if isinstance(value, dict) else "une valeur seule"
        raise SchemaError(f"{name} : pas {WHAT} ; le JSON est {kind}, pas une liste d'enregistrements")
    position = _SPACE.match(text, position + 1).end()
    records: list[tuple[object, int]] = []
    line, counted = 1, 0
    if text.startswith("]", position):
        position = len(text)
    while position < len(text):
        line += text.count("\n", counted, position)
        counted = position
        try:
            value, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as error:
            raise _unreadable(name, error) from None
        records.append((value, line))
        position = _SPACE.match(text, position).end()
        if text.startswith(",", position):
            position = _SPACE.match(text, position + 1).end()
            continue
        if text.startswith("]", position) and _SPACE.match(text, position + 1).end() == len(text):
            break
        at = text.count("\n", 0, position) + 1
        column = position - text.rfind("\n", 0, position)
        expected = "contenu après la fin de la liste" if text.startswith("]", position) else \
            f"« , » ou « ] » attendu après l'enregistrement {len(records)}"
        raise SchemaError(f"{name}, ligne {at}, colonne {column} : JSON illisible ({expected}) ; pas {WHAT}")
    else:
        if not text.rstrip().endswith("]"):
            raise SchemaError(f"{name} : JSON illisible (la liste n'est jamais refermée par « ] ») ; pas {WHAT}")
    return records


def _unreadable(name: str, error: json.JSONDecodeError) -> SchemaError:
    what = next((french for english, french in _JSON_ERRORS.items() if error.msg.startswith(english)),
                "JSON mal formé")
    return SchemaError(f"{name}, ligne {error.lineno}, colonne {error.colno} : JSON illisible ({what}) ; pas {WHAT}")


def _row(record: object, line: int, number: int) -> dict:
    """One record as the schema's columns (text), where it is, and what is wrong with it."""
    row = {"counter_id": None, "lane_id": None, "date": None, "count": None, "longitude": None,
           "latitude": None, SOURCE_ROW: line, SOURCE_RECORD: number, RECORD_ID: None}
    if not isinstance(record, dict):
        return {**row, PROBLEM: "", **{f"_has_{key}": False for key in KEYS}}
    fields, problems = _fields(record)
    row[RECORD_ID] = _text(fields.get("id"))
    if "id" in fields:
        match = _RECORD_ID.fullmatch(str(fields["id"]))
        row["counter_id"] = match.group(1) if match else _text(fields["id"])
        if not match:
            problems.append(f"counter_id: id is not an Eco-Counter record id ({_short(fields['id'])})")
    if "dateObserved" in fields:
        row["date"], problem = _day(fields["dateObserved"])
        problems += [problem] if problem else []
    row["count"] = _text(fields.get("intensity"))
    row["lane_id"] = _text(fields.get("laneId"))
    if "location" in fields:
        row["longitude"], row["latitude"] = _point(fields["location"])
    for key, expected in _EXPECTED.items():
        if key in fields and fields[key] != expected:
            problems.append(f"{key}: {_short(fields[key])}, not {expected}")
    return {**row, PROBLEM: "; ".join(problems), **{f"_has_{key}": key in fields for key in KEYS}}


def _fields(record: dict) -> tuple[dict, list[str]]:
    """The record's keys, with malformed ones (``",intensity"``) read as the key they spell."""
    fields: dict = {}
    problems: list[str] = []
    for key, value in record.items():
        clean = key.strip().strip(",;'\" ").strip() if isinstance(key, str) else key
        if clean not in KEYS and clean not in _OPTIONAL:
            continue
        if clean in fields and fields[clean] != value:
            problems.append(f"{_COLUMN_OF.get(clean, clean)}: {clean} given twice with different values "
                            f"({_short(fields[clean])}, {_short(value)})")
        fields.setdefault(clean, value)
    return fields, problems


def _day(value: object) -> tuple[str | None, str | None]:
    """The local day of a one-day ``start/end`` interval as ISO text, and a problem if it is not
    one day (what is not an interval of days is given back as it is, for validation to show)."""
    problem = f"date: dateObserved is not one local day 'start/end' ({_short(value)})"
    match = _INTERVAL.fullmatch(value.strip()) if isinstance(value, str) else None
    try:
        start, end = date.fromisoformat(match.group(1)), date.fromisoformat(match.group(2))
    except (AttributeError, ValueError):
        return _text(value), None if value is None else problem
    if end != start + timedelta(days=1):
        return start.isoformat(), problem
    return start.isoformat(), None


def _point(location: object) -> tuple[str | None, str | None]:
    """(longitude, latitude) of a GeoJSON point, missing when it is not one."""
    coordinates = location.get("coordinates") if isinstance(location, dict) else None
    if not isinstance(coordinates, list) or len(coordinates) != 2:
        return None, None
    longitude, latitude = (_text(value) for value in coordinates)
    return longitude, latitude


def _text(value: object) -> str | None:
    """A JSON value as the text validation reads (null stays missing)."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _short(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# The 13 counters as the exports give them: lane (laneId), longitude, latitude, first day counted,
# and the mean daily count (bicycles) over 2020-2024.
COUNTERS = {
    "X2H19070220": ("121403593", 3.896940, 43.609699, "2020-01-01", 1211),
    "X2H20042633": ("734202564", 3.833600, 43.614650, "2020-12-17", 795),
    "X2H20063162": ("23231541", 3.868467, 43.613884, "2020-12-17", 1113),
    "XTH19101158": ("188609530", 3.874408, 43.616209, "2020-12-17", 1533),
    "X2H20104132": ("10429699", 3.893790, 43.629590, "2020-11-12", 106),
    "X2H21070341": ("135001721", 3.853390, 43.623870, "2022-01-05", 439),
    "XTH21015106": ("97705917", 3.800261, 43.589824, "2022-01-06", 301),
    "X2H21111120": ("437445704", 3.868300, 43.616700, "2022-01-20", 608),
    "X2H22043029": ("249866952", 3.855992, 43.648909, "2022-06-13", 264),
    "X2H22104765": ("1085031414", 3.698800, 43.538000, "2022-12-19", 175),
    "X2H22104771": ("477652564", 3.908900, 43.623300, "2023-01-03", 159),
    "ED223110495": ("105575465", 3.892298, 43.623637, "2024-02-28", 612),
    "XTH24072390": ("930381158", 3.900942, 43.660053, "2024-08-05", 177),
}
SIZES = {
    # tiny: four counters over the first lockdown, all counting from 1 March whatever their installation day.
    "tiny": {"start": "2020-03-01", "end": "2020-04-30", "counters": tuple(COUNTERS)[:4], "installed": False},
    "demo": {"start": "2020-01-01", "end": "2024-11-30", "counters": tuple(COUNTERS), "installed": True},
    "full": {"start": "2020-01-01", "end": "2024-11-30", "counters": tuple(COUNTERS), "installed": True},
}
# Ratios to a counter's mean, measured on the exports (outside the lockdown).
WEEKDAY = (1.07, 1.21, 1.13, 1.17, 1.02, 0.70, 0.71)  # Monday to Sunday
MONTH = (0.90, 0.91, 1.05, 1.02, 1.05, 1.17, 0.95, 0.82, 1.23, 1.08, 1.02, 0.72)  # January to December
GROWTH_PER_YEAR = 0.06  # cycling grew in Montpellier from 2020 on
LOCKDOWN = (*LOCKDOWNS[0][1:], 0.25)  # first lockdown, first and last day, and what was left
RAINY_DAYS, RAIN_FACTOR = 0.08, 0.45  # share of days of heavy rain (all counters), and what is left
NOISE = 0.15  # log-normal day-to-day spread of each counter


def generate(size: str = "tiny", seed: int = 0) -> pd.DataFrame:
    """Synthetic daily counts at the Métropole's 13 counters (for a build without the exports),
    shaped like them: each counter's place, lane and level, fewer bicycles at weekends, in
    August and in December, growth year on year, rainy days across the city, and the first
    lockdown (17 March to 10 May 2020) down to a quarter.

    Parameters
    ----------
    size
        ``"tiny"`` (4 counters, March-April 2020) or ``"demo"``/``"full"`` (every counter from the
        day it was installed to 2024-11-30).
    seed
        Same seed, same counts.

    Returns
    -------
    pandas.DataFrame
        ``SCHEMA``'s columns, one row per counter and day (the local day, at 00:00 UTC, as the
        reader gives it); ``SCHEMA.validate`` sets nothing aside.
    """
    plan = size_plan(SIZES, size, NAME)
    rng = np.random.default_rng(seed)
    days = pd.date_range(plan["start"], plan["end"], freq="D", tz="UTC")
    weekday, month = days.day_of_week.to_numpy(), days.month.to_numpy()
    years = (days - pd.Timestamp("2020-01-01", tz="UTC")).days.to_numpy() / 365.25
    lockdown = (days >= pd.Timestamp(LOCKDOWN[0], tz="UTC")) & (days <= pd.Timestamp(LOCKDOWN[1], tz="UTC"))
    rainy = rng.random(len(days)) < RAINY_DAYS
    shape = (np.take(WEEKDAY, weekday) * np.take(MONTH, month - 1) * (1 + GROWTH_PER_YEAR) ** (years - 2)
             * np.where(lockdown, LOCKDOWN[2], 1.0) * np.where(rainy, RAIN_FACTOR, 1.0))
    frames = []
    for counter in plan["counters"]:
        lane, longitude, latitude, installed, level = COUNTERS[counter]
        counted = days >= pd.Timestamp(installed, tz="UTC") if plan["installed"] else np.ones(len(days), bool)
        counts = level * shape * rng.lognormal(-NOISE**2 / 2, NOISE, len(days))
        frames.append(pd.DataFrame({"counter_id": counter, "lane_id": lane, "date": days[counted],
                                    "count": np.round(counts[counted]).astype("int64"),
                                    "longitude": longitude, "latitude": latitude}))
    return pd.concat(frames, ignore_index=True)[SCHEMA.names]


READERS = {"ecocompt-json": read_ecocompt_json}


# The real exports this entry is built from when sources.real_data_dir holds them (else synthetic).
REAL = RealSource(
    provider='Montpellier Méditerranée Métropole',
    licence='ODbL 1.0',
    attribution=ATTRIBUTION,
    patterns=('montpellier/ecocompt/MMM_EcoCompt_*.json',),
    fmt='ecocompt-json',
    role=WHOLE,
)
