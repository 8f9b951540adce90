"""bathing_water: E. coli and intestinal enterococci in bathing-water samples, coast and inland.

- ``SCHEMA``: one row per sample at a bathing water (EEA identifier, place, season, date,
  both indicators in cfu/100 ml with their "<" / ">" flags, sample status).
- ``SITES``: the bathing waters this module knows (coastal beaches of the Gard, Hérault,
  Aude and Pyrénées-Orientales, Thau and Leucate lagoons, lakes and rivers inland).
- ``read_eea_csv``: the EEA bathing-water monitoring table (Bathing Water Directive
  reporting), places joined from ``SITES``; values below the detection limit are kept
  with their "<" flag whether written "<15" or flagged by the status column.
- ``generate``: deterministic synthetic seasons shaped like the ARS Occitanie monitoring,
  because the lab cannot reach the live feed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .schema import SOURCE_ROW, Column, TableSchema, read_provider_csv

NAME = "bathing_water"
KIND = "table"

WATER_TYPES = ("coastal", "transitional", "river", "lake")
FLAGS = ("", "<", ">")
SAMPLE_STATUSES = ("routine", "pre_season", "short_term_pollution", "replacement", "confirmation", "missing_sample")
UNIT = "cfu/100ml"
DETECTION_LIMIT = 15.0  # microplate methods (ISO 9308-3, ISO 7899-1) report "<15"
UPPER_LIMIT = 20000.0  # the generator's upper quantification limit after dilution, reported ">20000"

DEPARTMENTS = {"11": "Aude", "12": "Aveyron", "30": "Gard", "31": "Haute-Garonne", "34": "Hérault",
               "46": "Lot", "48": "Lozère", "66": "Pyrénées-Orientales"}

# (commune, INSEE code, water type, longitude, latitude, bathing waters of the commune).
# Each bathing water is (name, longitude offset, latitude offset) from the commune's point.
_PLACES = (
    ("Le Grau-du-Roi", "30133", "coastal", 4.136, 43.532,
     (("Rive Droite", -0.010, 0.000), ("Rive Gauche - Boucanet", 0.012, 0.008), ("L'Espiguette", 0.060, -0.022))),
    ("La Grande-Motte", "34344", "coastal", 4.085, 43.556,
     (("Plage du Couchant", -0.012, -0.003), ("Plage du Centre", 0.000, 0.000), ("Plage du Grand Travers", -0.040, -0.010))),
    ("Mauguio", "34154", "coastal", 3.990, 43.541, (("Carnon - Plage Est", 0.010, 0.002), ("Carnon - Petit Travers", 0.030, 0.006))),
    ("Palavas-les-Flots", "34192", "coastal", 3.931, 43.526,
     (("Plage Rive Gauche", 0.006, 0.002), ("Plage Rive Droite", -0.006, -0.002), ("Plage des Roquilles", 0.030, 0.008))),
    ("Villeneuve-lès-Maguelone", "34337", "coastal", 3.870, 43.510, (("Plage de Maguelone", 0.000, 0.000),)),
    ("Frontignan", "34108", "coastal", 3.760, 43.440, (("Plage des Aresquiers", 0.035, 0.012), ("Plage de la Fontaine", 0.000, 0.000))),
    ("Sète", "34301", "coastal", 3.670, 43.390,
     (("Plage de la Corniche", 0.000, 0.000), ("Lido - Les Trois Digues", -0.040, -0.030), ("Plage du Castellas", -0.080, -0.055))),
    ("Marseillan", "34150", "coastal", 3.540, 43.320, (("Marseillan-Plage", 0.000, 0.000),)),
    ("Agde", "34003", "coastal", 3.510, 43.285,
     (("Cap d'Agde - Plage Richelieu", 0.010, 0.000), ("La Tamarissière", -0.055, 0.000), ("Le Grau d'Agde", -0.045, 0.003))),
    ("Vias", "34332", "coastal", 3.420, 43.293, (("Vias-Plage Ouest", -0.010, 0.000), ("Vias-Plage Est", 0.010, 0.001))),
    ("Portiragnes", "34209", "coastal", 3.365, 43.270, (("Portiragnes-Plage", 0.000, 0.000),)),
    ("Sérignan", "34299", "coastal", 3.320, 43.255, (("Les Orpellières", 0.000, 0.000),)),
    ("Valras-Plage", "34324", "coastal", 3.292, 43.246, (("Plage Centre", 0.000, 0.000), ("Plage Est", 0.012, 0.005))),
    ("Fleury", "11145", "coastal", 3.215, 43.200, (("Saint-Pierre-la-Mer", 0.000, 0.000), ("Les Cabanes de Fleury", 0.020, 0.015))),
    ("Narbonne", "11262", "coastal", 3.165, 43.160, (("Narbonne-Plage Centre", 0.000, 0.000), ("Plage de la Vieille Nouvelle", -0.020, -0.060))),
    ("Gruissan", "11170", "coastal", 3.110, 43.100,
     (("Plage des Chalets", 0.000, 0.000), ("Plage des Ayguades", 0.020, 0.030), ("Plage de Mateille", -0.005, -0.020))),
    ("Port-la-Nouvelle", "11266", "coastal", 3.060, 43.010, (("Plage Centre", 0.000, 0.000),)),
    ("Leucate", "11202", "coastal", 3.050, 42.910,
     (("La Franqui", -0.005, 0.035), ("Leucate-Plage", 0.010, 0.005), ("Port-Leucate", 0.000, -0.035))),
    ("Le Barcarès", "66017", "coastal", 3.036, 42.790, (("Plage Centre", 0.000, 0.000), ("Plage du Lydia", 0.000, -0.010))),
    ("Torreilles", "66212", "coastal", 3.030, 42.755, (("Torreilles-Plage", 0.000, 0.000),)),
    ("Sainte-Marie-la-Mer", "66182", "coastal", 3.035, 42.728, (("Sainte-Marie-Plage", 0.000, 0.000),)),
    ("Canet-en-Roussillon", "66037", "coastal", 3.037, 42.700,
     (("Plage Nord", 0.000, 0.010), ("Plage Centre", 0.000, 0.000), ("Plage Sud", 0.000, -0.012))),
    ("Saint-Cyprien", "66171", "coastal", 3.040, 42.625, (("Plage Nord", 0.000, 0.010), ("Plage Sud", -0.002, -0.010))),
    ("Argelès-sur-Mer", "66008", "coastal", 3.045, 42.555,
     (("Plage Nord", -0.002, 0.020), ("Plage Centre", 0.000, 0.000), ("Le Racou", 0.010, -0.030))),
    ("Collioure", "66053", "coastal", 3.084, 42.526, (("Plage Boramar", 0.000, 0.000),)),
    ("Banyuls-sur-Mer", "66016", "coastal", 3.130, 42.483, (("Plage Centrale", 0.000, 0.000),)),
    ("Balaruc-les-Bains", "34023", "transitional", 3.680, 43.443, (("Étang de Thau - Plage du Lido", 0.000, 0.000),)),
    ("Bouzigues", "34039", "transitional", 3.658, 43.448, (("Étang de Thau - Plage du Port", 0.000, 0.000),)),
    ("Mèze", "34157", "transitional", 3.605, 43.420, (("Étang de Thau - Le Taurus", 0.000, 0.000),)),
    ("Revel", "31451", "lake", 1.995, 43.424, (("Lac de Saint-Ferréol - Plage", 0.000, 0.000),)),
    ("Belflou", "11031", "lake", 1.810, 43.330, (("Lac de la Ganguise - Base nautique", 0.000, 0.000),)),
    ("Clermont-l'Hérault", "34079", "lake", 3.380, 43.640,
     (("Lac du Salagou - Plage de Clermont", 0.000, 0.000), ("Lac du Salagou - Les Vailhés", -0.030, 0.010))),
    ("Salles-Curan", "12250", "lake", 2.790, 44.180, (("Lac de Pareloup - Les Vernhes", 0.000, 0.000),)),
    ("Gorges du Tarn Causses", "48146", "river", 3.410, 44.365,
     (("Gorges du Tarn - Sainte-Enimie", 0.000, 0.000), ("Gorges du Tarn - Saint-Chély", -0.040, -0.020))),
    ("Millau", "12145", "river", 3.078, 44.098, (("Le Tarn - Plage de Millau", 0.000, 0.000),)),
    ("Vers-Pont-du-Gard", "30346", "river", 4.535, 43.947, (("Le Gardon - Pont du Gard", 0.000, 0.000),)),
    ("Saint-Guilhem-le-Désert", "34261", "river", 3.550, 43.733, (("L'Hérault - Pont du Diable", 0.000, 0.000),)),
    ("Saint-Cirq-Lapopie", "46256", "river", 1.670, 44.465, (("Le Lot - Plage de Saint-Cirq", 0.000, 0.000),)),
)


def _site_table() -> pd.DataFrame:
    rows = []
    for commune, insee, water_type, lon, lat, waters in _PLACES:
        for number, (name, dlon, dlat) in enumerate(waters, start=1):
            rows.append({
                # EEA style: FR, the department on three digits, the commune, the bathing water.
                "site_id": f"FR0{insee[:2]}{insee[2:]}{number:03d}",
                "name": f"{commune} - {name}" if water_type == "coastal" else name,
                "commune": commune,
                "insee_code": insee,
                "department": DEPARTMENTS[insee[:2]],
                "water_type": water_type,
                "longitude": round(lon + dlon, 4),
                "latitude": round(lat + dlat, 4),
            })
    return pd.DataFrame(rows)


SITES = _site_table()
SITE_COLUMNS = ("site_id", "name", "commune", "insee_code", "department", "water_type", "longitude", "latitude")

SCHEMA = TableSchema(
    name=NAME,
    description="Microbiological samples at bathing waters of Occitanie (Bathing Water Directive monitoring)",
    columns=(
        Column("site_id", "string", "EEA bathing water identifier", allowed=tuple(SITES["site_id"])),
        Column("name", "string", "bathing water name"),
        Column("commune", "string", "commune name"),
        Column("insee_code", "string", "INSEE code of the commune"),
        Column("department", "string", "department name"),
        Column("water_type", "string", "kind of water", allowed=WATER_TYPES),
        Column("longitude", "float64", "WGS84 longitude", "degree_east", minimum=-0.5, maximum=5.0),
        Column("latitude", "float64", "WGS84 latitude", "degree_north", minimum=42.3, maximum=45.1),
        Column("season", "int64", "bathing season (year)", minimum=1990, maximum=2100),
        Column("sample_date", "datetime", "sampling day (UTC midnight)"),
        Column("e_coli", "float64", "Escherichia coli; the limit itself when flagged", UNIT, minimum=0.0, maximum=1e7,
               nullable=True),
        Column("e_coli_flag", "string", "'<' below the detection limit, '>' above the upper limit", allowed=FLAGS,
               nullable=True),
        Column("enterococci", "float64", "intestinal enterococci; the limit itself when flagged", UNIT, minimum=0.0,
               maximum=1e7, nullable=True),
        Column("enterococci_flag", "string", "'<' below the detection limit, '>' above the upper limit", allowed=FLAGS,
               nullable=True),
        Column("sample_status", "string", "why the sample was taken", allowed=SAMPLE_STATUSES),
    ),
)

METADATA = {
    "title_fr": "Qualité des eaux de baignade en Occitanie (E. coli, entérocoques intestinaux)",
    "title_en": "Bathing water quality in Occitanie (E. coli, intestinal enterococci)",
    "description": (
        "One row per sample at a bathing water of the Gard, Hérault, Aude and Pyrénées-Orientales coast, "
        "the Thau lagoon and inland lakes and rivers: E. coli and intestinal enterococci in cfu/100 ml. "
        "Results below the detection limit are kept, at the limit, with a '<' flag."
    ),
    "description_fr": (
        "Une ligne par prélèvement aux eaux de baignade du littoral du Gard, de l'Hérault, de l'Aude et des "
        "Pyrénées-Orientales, de l'étang de Thau et des lacs et rivières : E. coli et entérocoques intestinaux en "
        "UFC/100 ml. Les résultats sous la limite de détection sont gardés, à la limite, avec un signe « < ». "
        "Données synthétiques de démonstration."
    ),
    "producer": "Synthetic (occidata), shaped like ARS Occitanie / EEA Bathing Water Directive reporting",
    "licence": "Licence Ouverte 2.0",
    "access": "public",
    "personal_data": False,
    "update_frequency": "weekly during the bathing season (June to mid-September)",
    "spatial_coverage": "Occitanie: Mediterranean coast (30, 34, 11, 66), Thau lagoon, lakes and rivers inland",
    "temporal_coverage": "bathing seasons, June to mid-September",
    "tags": ["water", "bathing", "baignade", "health", "E. coli", "enterococci", "coast", "EEA"],
}

# Each size ends with the ``year`` given to ``generate`` (2024 unless told): tiny is that one season.
SIZES = {
    "tiny": {"communes": ("Le Grau-du-Roi", "Palavas-les-Flots", "Sète", "Agde", "Gruissan", "Leucate",
                          "Canet-en-Roussillon", "Argelès-sur-Mer", "Bouzigues", "Revel", "Clermont-l'Hérault",
                          "Gorges du Tarn Causses"),
             "seasons": 1, "interval_days": 14},
    "demo": {"communes": None, "seasons": 8, "interval_days": 14},
    "full": {"communes": None, "seasons": 25, "interval_days": 7},
}

# ---------------------------------------------------------------------------------------------
# The EEA monitoring table

EEA_COLUMNS = (
    "bathingWaterIdentifier", "season", "sampleDate", "escherichiaColiValue", "escherichiaColiStatus",
    "intestinalEnterococciValue", "intestinalEnterococciStatus", "sampleStatus",
)
# Value statuses of the EEA table; "confirmedValue" is an exceptionally high result that was
# confirmed, so it is a measured value and carries no flag. Unknown statuses pass through.
_VALUE_STATUS = {"": "", "limitOfDetectionValue": "<", "confirmedValue": "", "missingValue": "missing"}
_SAMPLE_STATUS = {
    "": "routine", "preSeasonSample": "pre_season", "shortTermPollutionSample": "short_term_pollution",
    "replacementSample": "replacement", "confirmationSample": "confirmation", "missingSample": "missing_sample",
}


def _value_and_flag(values: pd.Series, statuses: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Split provider values ("<15", "15", ">20000") and their status into (number text, flag).

    A flag written in the value and one given by the status must agree; when they do not,
    the flag holds both so that validation quarantines the row instead of choosing one.
    """
    text = values.str.strip().str.replace(",", ".", regex=False)
    prefix = text.str[:1].where(text.str[:1].isin(["<", ">"]), "")
    number = text.where(prefix == "", text.str[1:].str.strip())
    status = statuses.str.strip()
    from_status = status.map(lambda s: _VALUE_STATUS.get(s, s))
    # A missingValue status carries a placeholder (empty or 0), not a result; a real
    # result with that status is a contradiction, flagged for quarantine below.
    missing = from_status == "missing"
    placeholder = missing & (prefix == "") & number.isin(["", "0"])
    agree = (prefix == "") | (from_status == "") | (from_status == prefix)
    flag = pd.Series(
        np.select([placeholder, missing, prefix == "", agree], ["", text + " but status " + status, from_status, prefix],
                  prefix + " but status " + status),
        index=values.index,
    )
    number = number.where(~placeholder, "")
    return number, flag


def read_eea_csv(path: str | Path, encoding: str | None = None) -> pd.DataFrame:
    """Read an EEA bathing-water monitoring table (CSV) into the schema's columns (as text).

    Places come from ``SITES`` by ``bathingWaterIdentifier``; an unknown identifier keeps
    empty place fields so that validation quarantines the row. Columns other than the
    monitoring ones are ignored. Rows keep their ``source_row`` (line in the file).

    Parameters
    ----------
    path
        Comma- or semicolon-separated export, with or without a byte-order mark.
    encoding
        The file's encoding (default UTF-8, with or without a byte-order mark).

    Returns
    -------
    pandas.DataFrame
        ``SCHEMA``'s columns as text, plus ``source_row``; call ``SCHEMA.validate`` next.

    Raises
    ------
    SchemaError
        When the file is missing, unreadable or lacks monitoring columns (the message names the file).
    """
    raw = read_provider_csv(path, EEA_COLUMNS, "une table de surveillance des eaux de baignade de l'AEE",
                            encoding=encoding)
    ids = raw["bathingWaterIdentifier"].str.strip()
    places = SITES.set_index("site_id").reindex(ids)
    e_coli, e_coli_flag = _value_and_flag(raw["escherichiaColiValue"], raw["escherichiaColiStatus"])
    enterococci, enterococci_flag = _value_and_flag(raw["intestinalEnterococciValue"], raw["intestinalEnterococciStatus"])
    frame = pd.DataFrame(
        {
            "site_id": ids.to_numpy(),
            **{name: places[name].to_numpy() for name in SITE_COLUMNS[1:]},
            "season": raw["season"].str.strip().to_numpy(),
            "sample_date": raw["sampleDate"].str.strip().to_numpy(),
            "e_coli": e_coli.to_numpy(),
            "e_coli_flag": e_coli_flag.to_numpy(),
            "enterococci": enterococci.to_numpy(),
            "enterococci_flag": enterococci_flag.to_numpy(),
            "sample_status": raw["sampleStatus"].str.strip().map(lambda s: _SAMPLE_STATUS.get(s, s)).to_numpy(),
            SOURCE_ROW: np.arange(2, len(raw) + 2),
        }
    )
    return frame


READERS = {"eea-csv": read_eea_csv}

# ---------------------------------------------------------------------------------------------
# Synthetic seasons

# Geometric-mean E. coli (cfu/100 ml) by kind of water: the open sea dilutes, rivers carry runoff.
_BASE = {"coastal": 12.0, "transitional": 30.0, "lake": 40.0, "river": 110.0}
_RUNOFF = {"coastal": 1.0, "transitional": 1.2, "lake": 1.0, "river": 2.0}
# Alert levels for one sample (E. coli), above which the ARS takes a confirmation sample.
_ALERT = {"coastal": 1000.0, "transitional": 1000.0, "lake": 1800.0, "river": 1800.0}
_SEASON_START, _SEASON_END = (6, 1), (9, 15)


def generate(size: str = "tiny", seed: int = 0, year: int = 2024) -> pd.DataFrame:
    """Deterministic synthetic bathing-water samples, shaped like the ARS Occitanie monitoring.

    Each commune's bathing waters are sampled the same day, about every two weeks (weekly
    for ``full``) from June to mid-September. Counts are mostly low with lognormal noise, and
    many fall below the detection limit (kept at 15 with a '<' flag). Storms (more frequent
    in late summer) raise counts for a few days at every site near them; rivers and lakes
    run higher than the open coast. A sample above the alert level is followed by a
    confirmation sample a few days later.

    Parameters
    ----------
    size
        ``"tiny"``, ``"demo"`` or ``"full"`` (see ``SIZES``).
    seed
        Same seed, same data.
    year
        The last season; earlier seasons come before it.

    Returns
    -------
    pandas.DataFrame
        Rows in ``SCHEMA`` order and dtypes, sorted by site and date; validates with none quarantined.

    Raises
    ------
    ValueError
        For an unknown ``size``.
    """
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r} for {NAME}; allowed: {', '.join(SIZES)}")
    plan = SIZES[size]
    return _simulate(plan["communes"], year - plan["seasons"] + 1, plan["seasons"], plan["interval_days"], seed)


def _pick_sites(communes: tuple[str, ...] | None) -> pd.DataFrame:
    """The bathing waters of ``communes``, or all of them."""
    if communes is None:
        return SITES
    unknown = set(communes) - set(SITES["commune"])
    if unknown:
        raise ValueError(f"no bathing water known in {', '.join(sorted(unknown))}")
    return SITES[SITES["commune"].isin(communes)]


def _storms(rng: np.random.Generator, start: pd.Timestamp, days: int) -> pd.DataFrame:
    """Storm days of one season: day, centre, radius (km) and strength; more in late summer."""
    day = np.arange(days)
    month = (start + pd.to_timedelta(day, unit="D")).month
    chance = np.select([month <= 7, month == 8], [0.04, 0.07], 0.12)  # Cévenol episodes start in September
    hit = day[rng.random(days) < chance]
    return pd.DataFrame({
        "day": hit,
        "lon": rng.uniform(1.5, 4.6, len(hit)),
        "lat": rng.uniform(42.4, 44.5, len(hit)),
        "radius_km": rng.uniform(30, 80, len(hit)),
        "strength": rng.lognormal(np.log(80), 0.9, len(hit)),
    })


def _storm_effect(storms: pd.DataFrame, days: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Multiplicative uplift from runoff: strongest the day after rain, gone within four days."""
    if storms.empty:
        return np.zeros(len(days))
    dx = (lon[:, None] - storms["lon"].to_numpy()) * 111.0 * np.cos(np.radians(43.5))
    dy = (lat[:, None] - storms["lat"].to_numpy()) * 111.0
    reach = np.exp(-(dx**2 + dy**2) / storms["radius_km"].to_numpy() ** 2)
    lag = days[:, None] - storms["day"].to_numpy()
    decay = np.where((lag >= 0) & (lag <= 4), np.exp(-np.abs(lag - 1) / 0.8), 0.0)
    return (reach * decay * storms["strength"].to_numpy()).sum(axis=1)


def _censor(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Laboratory reporting: whole counts, '<15' below detection, '>20000' above range."""
    counts = np.round(values)
    flags = np.where(counts < DETECTION_LIMIT, "<", np.where(counts > UPPER_LIMIT, ">", ""))
    return np.clip(counts, DETECTION_LIMIT, UPPER_LIMIT), flags


def _simulate(communes: tuple[str, ...] | None, first_season: int, seasons: int, interval_days: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    chosen = _pick_sites(communes).reset_index(drop=True)
    # Some beaches sit near an outfall or a harbour: a lasting per-site level.
    site_level = rng.lognormal(0.0, 0.45, len(chosen))
    frames = []
    for season in range(first_season, first_season + seasons):
        start = pd.Timestamp(season, *_SEASON_START, tz="UTC")
        days = (pd.Timestamp(season, *_SEASON_END, tz="UTC") - start).days + 1
        storms = _storms(rng, start, days + 5)
        rows = []
        for commune in chosen["commune"].unique():
            # One sampling round per commune: its bathing waters are sampled the same day.
            offset = int(rng.integers(0, min(interval_days, 7)))
            planned = np.arange(offset, days, interval_days)
            planned = np.clip(planned + rng.integers(-2, 3, len(planned)), 0, days - 1)
            for index in np.flatnonzero(chosen["commune"].to_numpy() == commune):
                rows.append(pd.DataFrame({"site": index, "day": np.unique(planned), "status": "routine"}))
        samples = pd.concat(rows, ignore_index=True)
        samples = _measure(samples, chosen, site_level, storms, rng)
        # A result above the alert level calls for a confirmation sample three days later.
        alert = samples["e_coli_true"].to_numpy() > chosen["water_type"].map(_ALERT).to_numpy()[samples["site"]]
        if alert.any():
            follow = samples.loc[alert, ["site", "day"]].assign(day=lambda f: f["day"] + 3, status="confirmation")
            samples = pd.concat([samples, _measure(follow, chosen, site_level, storms, rng)], ignore_index=True)
        samples["season"] = season
        samples["sample_date"] = start + pd.to_timedelta(samples["day"], unit="D")
        frames.append(samples)
    samples = pd.concat(frames, ignore_index=True)
    e_coli, e_coli_flag = _censor(samples["e_coli_true"].to_numpy())
    enterococci, enterococci_flag = _censor(samples["enterococci_true"].to_numpy())
    place = chosen.iloc[samples["site"].to_numpy()].reset_index(drop=True)
    frame = pd.DataFrame({
        **{name: place[name] for name in SITE_COLUMNS},
        "season": samples["season"].astype("Int64"),
        "sample_date": samples["sample_date"],
        "e_coli": e_coli,
        "e_coli_flag": e_coli_flag,
        "enterococci": enterococci,
        "enterococci_flag": enterococci_flag,
        "sample_status": samples["status"],
    })
    for name in ("site_id", "name", "commune", "insee_code", "department", "water_type",
                 "e_coli_flag", "enterococci_flag", "sample_status"):
        frame[name] = frame[name].astype("string")
    frame = frame.sort_values(["site_id", "sample_date"], kind="stable").reset_index(drop=True)
    return frame[SCHEMA.names]


def _measure(samples: pd.DataFrame, chosen: pd.DataFrame, site_level: np.ndarray,
             storms: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """True (uncensored) E. coli and enterococci for planned samples (site index, season day)."""
    site = samples["site"].to_numpy()
    water = chosen["water_type"].to_numpy()[site]
    uplift = _storm_effect(storms, samples["day"].to_numpy(),
                           chosen["longitude"].to_numpy()[site], chosen["latitude"].to_numpy()[site])
    base = pd.Series(water).map(_BASE).to_numpy() * site_level[site]
    e_coli = base * rng.lognormal(0.0, 0.8, len(site)) * (1 + pd.Series(water).map(_RUNOFF).to_numpy() * uplift)
    # Enterococci follow E. coli (same faecal source), lower and noisier.
    enterococci = 0.4 * e_coli * rng.lognormal(0.0, 0.6, len(site))
    return samples.assign(e_coli_true=e_coli, enterococci_true=enterococci)
