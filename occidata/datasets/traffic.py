"""traffic_counts: hourly vehicle counts and mean speeds at road counters in Occitanie.

- ``SCHEMA``: one row per counter (one direction of one road section) and hour.
- ``counters``: the counter table, 150 counters on the motorways (A61, A9, A62, A75, A64,
  A66, A20, A68), main roads, the Toulouse and Montpellier ring roads and city streets.
- ``school_holidays`` / ``public_holidays``: the French calendar (zone C for Occitanie), from
  ``occidata.datasets.calendar``, with a guess for school holidays outside its table.
- ``generate_counts``: deterministic synthetic counts at those counters, shaped like the
  real counting stations (weekday rush hours, later and lighter weekends, school holidays,
  summer tourism, ring-road congestion, Sunday lorry ban, incidents). No open hourly feed
  covers the region's networks together, so there is no provider reader here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import calendar
from .calendar import easter, is_public_holiday, public_holidays  # noqa: F401 (part of this module's API)
from .schema import Column, TableSchema

NAME = "traffic_counts"
KIND = "table"
ROAD_TYPES = ("motorway", "trunk", "ring_road", "urban")

SCHEMA = TableSchema(
    name=NAME,
    description="Hourly vehicle counts and mean speeds at road counters",
    columns=(
        Column("counter_id", "string", "counter identifier (one per direction)"),
        Column("counter_name", "string", "road and place of the counter"),
        Column("road", "string", "road number or street name"),
        Column("road_type", "string", "kind of road", allowed=ROAD_TYPES),
        Column("commune", "string", "commune name"),
        Column("insee_code", "string", "INSEE code of the commune"),
        Column("department", "string", "department name"),
        Column("longitude", "float64", "WGS84 longitude", "degree_east", minimum=-0.5, maximum=5.0),
        Column("latitude", "float64", "WGS84 latitude", "degree_north", minimum=42.3, maximum=45.1),
        Column("direction", "string", "direction of travel counted"),
        Column("speed_limit_kmh", "int64", "posted speed limit", "km/h", minimum=30, maximum=130),
        Column("time_start", "datetime", "start of the hour (UTC)"),
        Column("vehicles", "int64", "vehicles counted in the hour", "vehicle/h", minimum=0, maximum=20000),
        Column("mean_speed_kmh", "float64", "mean speed; empty when no vehicle passed", "km/h",
               minimum=0.0, maximum=250.0, nullable=True),
        Column("heavy_share", "float64", "share of heavy goods vehicles; empty when no vehicle passed",
               minimum=0.0, maximum=1.0, nullable=True),
        Column("incident", "bool", "an incident disturbed traffic at the counter"),
    ),
)

COUNTER_COLUMNS = SCHEMA.names[: SCHEMA.names.index("time_start")]
# The pandas dtypes SCHEMA.validate gives each schema dtype, so generated and ingested
# tables are interchangeable.
SCHEMA_DTYPES = {"string": "string", "float64": "float64", "int64": "Int64", "bool": "boolean"}

METADATA = {
    "title_fr": "Comptages routiers horaires (débits et vitesses)",
    "title_en": "Hourly road traffic counts and speeds",
    "description": (
        "Hourly vehicle counts, mean speed, heavy-vehicle share and incident flag at about 150 "
        "counters on the motorways (A61, A9, A62, A75...), main roads, the Toulouse and "
        "Montpellier ring roads and city streets."
    ),
    "description_fr": (
        "Nombre de véhicules par heure, vitesse moyenne, part des poids lourds et signalement d'incident à environ "
        "150 points de comptage des autoroutes (A61, A9, A62, A75...), routes principales, rocades de Toulouse et "
        "de Montpellier et rues des villes. Données synthétiques de démonstration."
    ),
    "producer": "Synthetic (occidata), shaped like the DIR Sud-Ouest / DIR Méditerranée and city counting stations",
    "licence": "Licence Ouverte 2.0",
    "access": "public",
    "personal_data": False,
    "update_frequency": "hourly",
    "spatial_coverage": "Occitanie: Toulouse and Montpellier areas and main interurban roads",
    "temporal_coverage": "hourly, one to twelve months depending on the size generated",
    "tags": ["mobility", "traffic", "roads", "congestion"],
}

SIZES = {
    "tiny": {"counters": 6, "start": "2024-01-03", "days": 3},
    "demo": {"counters": 150, "start": "2024-02-05", "days": 30},
    "full": {"counters": 150, "start": "2024-01-01", "days": 366},
}

DEPARTMENTS = {
    "09": "Ariège", "11": "Aude", "12": "Aveyron", "30": "Gard", "31": "Haute-Garonne", "32": "Gers",
    "34": "Hérault", "46": "Lot", "48": "Lozère", "65": "Hautes-Pyrénées", "66": "Pyrénées-Orientales",
    "81": "Tarn", "82": "Tarn-et-Garonne",
}

COMMUNES = {
    "09122": "Foix", "09225": "Pamiers", "11069": "Carcassonne", "11076": "Castelnaudary",
    "11170": "Gruissan", "11202": "Leucate", "11203": "Lézignan-Corbières", "11262": "Narbonne",
    "12145": "Millau", "12202": "Rodez", "30133": "Le Grau-du-Roi", "30189": "Nîmes", "31044": "Balma",
    "31069": "Blagnac", "31149": "Colomiers", "31395": "Muret", "31446": "Ramonville-Saint-Agne",
    "31555": "Toulouse", "31557": "Tournefeuille", "32013": "Auch", "34003": "Agde", "34032": "Béziers",
    "34057": "Castelnau-le-Lez", "34101": "Florensac", "34129": "Lattes", "34172": "Montpellier",
    "34192": "Palavas-les-Flots", "34270": "Saint-Jean-de-Védas", "34301": "Sète", "46042": "Cahors",
    "48095": "Mende", "65440": "Tarbes", "81099": "Gaillac", "66008": "Argelès-sur-Mer", "66024": "Le Boulou",
    "66037": "Canet-en-Roussillon", "66136": "Perpignan", "81004": "Albi", "82121": "Montauban",
}

# Directions counted on each road: both directions of a section are separate counters.
_DIRECTIONS = {
    "A61": ("vers Toulouse", "vers Narbonne"), "A9": ("vers Le Perthus", "vers Orange"),
    "A62": ("vers Toulouse", "vers Bordeaux"), "A75": ("vers Béziers", "vers Clermont-Ferrand"),
    "A64": ("vers Toulouse", "vers Bayonne"), "A66": ("vers Toulouse", "vers Foix"),
    "N20": ("vers Toulouse", "vers Andorre"), "A20": ("vers Montauban", "vers Brive"),
    "A68": ("vers Toulouse", "vers Albi"), "N124": ("vers Toulouse", "vers Auch"),
    "N88": ("vers Albi", "vers Le Puy-en-Velay"),
    "ring_road": ("intérieur", "extérieur"), "urban": ("entrant", "sortant"),
    "coast": ("vers la mer", "vers l'intérieur"),
}

# (road, road type, place, INSEE code, lon, lat, vehicles/day per direction, speed limit,
#  commuting weight 0..1, summer tourism uplift, daytime heavy-vehicle share)
_SITES = (
    ("A61", "motorway", "Ramonville", "31446", 1.487, 43.538, 42000, 130, 0.6, 0.30, 0.16),
    ("A61", "motorway", "Castelnaudary", "11076", 1.953, 43.302, 17000, 130, 0.1, 0.35, 0.19),
    ("A61", "motorway", "Carcassonne Ouest", "11069", 2.318, 43.224, 18000, 130, 0.15, 0.40, 0.18),
    ("A61", "motorway", "Lézignan-Corbières", "11203", 2.762, 43.183, 17000, 130, 0.1, 0.35, 0.19),
    ("A61", "motorway", "Narbonne Ouest", "11262", 2.965, 43.168, 20000, 130, 0.15, 0.40, 0.19),
    ("A9", "motorway", "Nîmes Ouest", "30189", 4.318, 43.806, 38000, 130, 0.3, 0.45, 0.22),
    ("A9", "motorway", "Montpellier Est", "34172", 3.935, 43.592, 40000, 130, 0.4, 0.45, 0.21),
    ("A9", "motorway", "Saint-Jean-de-Védas", "34270", 3.818, 43.568, 36000, 130, 0.4, 0.45, 0.21),
    ("A9", "motorway", "Florensac", "34101", 3.462, 43.402, 28000, 130, 0.1, 0.50, 0.22),
    ("A9", "motorway", "Béziers Est", "34032", 3.262, 43.358, 26000, 130, 0.15, 0.50, 0.22),
    ("A9", "motorway", "Narbonne Sud", "11262", 3.018, 43.152, 24000, 130, 0.1, 0.55, 0.23),
    ("A9", "motorway", "Leucate", "11202", 2.982, 42.925, 20000, 130, 0.05, 0.60, 0.24),
    ("A9", "motorway", "Perpignan Nord", "66136", 2.897, 42.738, 22000, 130, 0.25, 0.55, 0.23),
    ("A9", "motorway", "Le Boulou", "66024", 2.826, 42.531, 18000, 130, 0.05, 0.60, 0.27),
    ("A62", "motorway", "Toulouse Sesquières", "31555", 1.421, 43.658, 45000, 110, 0.6, 0.20, 0.14),
    ("A62", "motorway", "Montauban Sud", "82121", 1.318, 43.962, 24000, 130, 0.2, 0.20, 0.16),
    ("A62", "motorway", "Montauban Nord", "82121", 1.296, 44.032, 20000, 130, 0.15, 0.20, 0.16),
    ("A75", "motorway", "Béziers Nord", "34032", 3.281, 43.378, 9000, 110, 0.2, 0.80, 0.12),
    ("A75", "motorway", "Viaduc de Millau", "12145", 3.022, 44.077, 11000, 110, 0.05, 0.90, 0.13),
    ("A64", "motorway", "Muret", "31395", 1.309, 43.455, 26000, 130, 0.5, 0.15, 0.14),
    ("A64", "motorway", "Tarbes Est", "65440", 0.098, 43.248, 11000, 130, 0.2, 0.25, 0.15),
    ("A66", "motorway", "Pamiers", "09225", 1.602, 43.143, 11000, 130, 0.2, 0.40, 0.10),
    ("N20", "trunk", "Foix", "09122", 1.602, 42.973, 9000, 90, 0.3, 0.45, 0.09),
    ("A20", "motorway", "Montauban Nord", "82121", 1.384, 44.045, 14000, 130, 0.2, 0.30, 0.15),
    ("A20", "motorway", "Cahors Sud", "46042", 1.472, 44.421, 11000, 130, 0.1, 0.35, 0.16),
    ("A68", "motorway", "Gaillac", "81099", 1.903, 43.885, 15000, 110, 0.3, 0.10, 0.08),
    ("A68", "motorway", "Albi Ouest", "81004", 2.105, 43.922, 17000, 110, 0.4, 0.10, 0.08),
    ("N124", "trunk", "Colomiers", "31149", 1.318, 43.618, 30000, 110, 0.7, 0.10, 0.06),
    ("N124", "trunk", "Auch Est", "32013", 0.612, 43.648, 8000, 110, 0.3, 0.15, 0.09),
    ("N88", "trunk", "Rodez Est", "12202", 2.598, 44.352, 9000, 110, 0.4, 0.30, 0.09),
    ("N88", "trunk", "Mende", "48095", 3.478, 44.522, 5000, 90, 0.3, 0.40, 0.10),
    ("D612", "trunk", "Agde", "34003", 3.471, 43.318, 12000, 90, 0.2, 1.30, 0.03),
    ("D612", "trunk", "Sète Lido", "34301", 3.652, 43.383, 14000, 90, 0.3, 1.20, 0.03),
    ("D986", "trunk", "Palavas-les-Flots", "34192", 3.925, 43.535, 9000, 90, 0.3, 1.50, 0.02),
    ("D979", "trunk", "Le Grau-du-Roi", "30133", 4.141, 43.546, 8000, 80, 0.2, 1.60, 0.02),
    ("D617", "trunk", "Canet-en-Roussillon", "66037", 2.996, 42.702, 10000, 90, 0.3, 1.40, 0.02),
    ("D914", "trunk", "Argelès-sur-Mer", "66008", 3.012, 42.551, 8000, 90, 0.2, 1.60, 0.03),
    ("D32", "trunk", "Gruissan", "11170", 3.071, 43.118, 6000, 80, 0.2, 1.70, 0.02),
    ("A620", "ring_road", "Purpan", "31555", 1.402, 43.610, 58000, 90, 0.9, 0.0, 0.07),
    ("A620", "ring_road", "Lalande", "31555", 1.440, 43.650, 62000, 90, 0.9, 0.0, 0.09),
    ("A620", "ring_road", "Croix-Daurade", "31555", 1.474, 43.641, 55000, 90, 0.9, 0.0, 0.08),
    ("A620", "ring_road", "Montaudran", "31555", 1.482, 43.578, 56000, 90, 0.9, 0.0, 0.08),
    ("A620", "ring_road", "Rangueil", "31555", 1.463, 43.562, 60000, 90, 0.9, 0.0, 0.08),
    ("A620", "ring_road", "Empalot", "31555", 1.440, 43.578, 52000, 90, 0.9, 0.0, 0.07),
    ("A620", "ring_road", "Langlade", "31555", 1.418, 43.570, 50000, 90, 0.9, 0.0, 0.07),
    ("A620", "ring_road", "Sept-Deniers", "31555", 1.418, 43.628, 54000, 90, 0.9, 0.0, 0.07),
    ("A621", "ring_road", "Blagnac", "31069", 1.390, 43.625, 38000, 90, 0.9, 0.0, 0.05),
    ("A624", "ring_road", "Tournefeuille", "31557", 1.345, 43.590, 28000, 90, 0.9, 0.0, 0.04),
    ("A620", "ring_road", "Balma", "31044", 1.490, 43.610, 45000, 90, 0.9, 0.0, 0.08),
    ("A709", "ring_road", "Montpellier Sud", "34172", 3.875, 43.585, 46000, 90, 0.9, 0.15, 0.10),
    ("A709", "ring_road", "Montpellier Prés d'Arènes", "34172", 3.900, 43.590, 44000, 90, 0.9, 0.15, 0.10),
    ("A709", "ring_road", "Saint-Jean-de-Védas", "34270", 3.830, 43.575, 40000, 90, 0.85, 0.15, 0.10),
    ("Avenue de la Mer", "ring_road", "Lattes", "34129", 3.905, 43.570, 22000, 70, 0.8, 0.40, 0.03),
    ("Rocade Est", "ring_road", "Castelnau-le-Lez", "34057", 3.905, 43.640, 25000, 70, 0.9, 0.0, 0.05),
    ("Rocade Nord", "ring_road", "Montpellier Hôpitaux-Facultés", "34172", 3.850, 43.640, 18000, 70, 0.9, 0.0, 0.04),
    ("Rocade Ouest", "ring_road", "Perpignan", "66136", 2.868, 42.700, 20000, 70, 0.85, 0.10, 0.05),
    ("Allées Jean Jaurès", "urban", "Toulouse centre", "31555", 1.4515, 43.6075, 14000, 50, 1.0, 0.0, 0.02),
    ("Boulevard de Strasbourg", "urban", "Toulouse centre", "31555", 1.4470, 43.6090, 12000, 50, 1.0, 0.0, 0.02),
    ("Avenue de Grande-Bretagne", "urban", "Toulouse Saint-Cyprien", "31555", 1.4180, 43.6020, 11000, 50, 1.0, 0.0, 0.02),
    ("Route de Narbonne", "urban", "Toulouse Rangueil", "31555", 1.4600, 43.5700, 13000, 50, 1.0, 0.0, 0.03),
    ("Avenue de Muret", "urban", "Toulouse Croix-de-Pierre", "31555", 1.4285, 43.5850, 10000, 50, 1.0, 0.0, 0.02),
    ("Pont Saint-Pierre", "urban", "Toulouse centre", "31555", 1.4360, 43.6030, 9000, 50, 1.0, 0.0, 0.01),
    ("Boulevard Lascrosses", "urban", "Toulouse Compans", "31555", 1.4370, 43.6105, 11000, 50, 1.0, 0.0, 0.02),
    ("Avenue des États-Unis", "urban", "Toulouse Minimes", "31555", 1.4320, 43.6330, 12000, 50, 1.0, 0.0, 0.03),
    ("Route d'Espagne", "urban", "Toulouse Saint-Simon", "31555", 1.4170, 43.5730, 15000, 50, 1.0, 0.0, 0.04),
    ("Route de Revel", "urban", "Toulouse Montaudran", "31555", 1.4780, 43.5800, 13000, 50, 1.0, 0.0, 0.03),
    ("Avenue de la Liberté", "urban", "Montpellier Croix d'Argent", "34172", 3.8830, 43.5890, 13000, 50, 1.0, 0.0, 0.03),
    ("Avenue de Toulouse", "urban", "Montpellier Croix d'Argent", "34172", 3.8600, 43.5960, 12000, 50, 1.0, 0.0, 0.03),
    ("Avenue Pierre Mendès France", "urban", "Montpellier Port Marianne", "34172", 3.8950, 43.6030, 14000, 50, 1.0, 0.0, 0.02),
    ("Route de Ganges", "urban", "Montpellier Hôpitaux-Facultés", "34172", 3.8500, 43.6300, 11000, 50, 1.0, 0.0, 0.02),
    ("Avenue de Palavas", "urban", "Montpellier Prés d'Arènes", "34172", 3.8880, 43.5880, 10000, 50, 1.0, 0.10, 0.02),
    ("Boulevard Henri IV", "urban", "Montpellier centre", "34172", 3.8720, 43.6140, 9000, 50, 1.0, 0.0, 0.01),
    ("Avenue du Pirée", "urban", "Montpellier Antigone", "34172", 3.8900, 43.6060, 8000, 50, 1.0, 0.0, 0.01),
    ("Avenue de Lodève", "urban", "Montpellier Cévennes", "34172", 3.8490, 43.6110, 12000, 50, 1.0, 0.0, 0.02),
    ("Avenue de la Pompignane", "urban", "Montpellier Pompignane", "34172", 3.8960, 43.6150, 9000, 50, 1.0, 0.0, 0.02),
)

# Hourly capacity per direction as a share of the daily volume: ring roads run close to it
# at rush hour, motorways well below it outside summer weekends.
_CAPACITY = {"motorway": 0.15, "trunk": 0.15, "ring_road": 0.085, "urban": 0.105}
_FREE_FLOW = {"motorway": 0.92, "trunk": 0.93, "ring_road": 0.93, "urban": 0.86}
_HGV_SPEED = {"motorway": 88.0, "trunk": 80.0, "ring_road": 80.0, "urban": 45.0}


def counters(n: int | None = None) -> pd.DataFrame:
    """The counter table: one row per counting direction of each road section.

    Parameters
    ----------
    n
        Number of counters to keep, spread over all road types (all 150 when ``None``).

    Returns
    -------
    pandas.DataFrame
        Counter attributes (the schema's counter columns) plus the generator's parameters:
        ``daily`` (vehicles/day), ``commute`` (0..1), ``tourism``, ``heavy`` and ``inbound``.
    """
    rows = []
    for index, (road, kind, place, insee, lon, lat, daily, limit, commute, tourism, heavy) in enumerate(_SITES):
        key = "coast" if road.startswith("D") else road if road in _DIRECTIONS else kind
        for sense, direction in enumerate(_DIRECTIONS[key], start=1):
            rows.append({
                "counter_id": f"CPT-{insee[:2]}-{index + 1:03d}-{sense}",
                "counter_name": f"{road} – {place}",
                "road": road,
                "road_type": kind,
                "commune": COMMUNES[insee],
                "insee_code": insee,
                "department": DEPARTMENTS[insee[:2]],
                # The two directions of a section sit on either side of the road.
                "longitude": round(lon + (0.0004 if sense == 1 else -0.0004), 5),
                "latitude": lat,
                "direction": direction,
                "speed_limit_kmh": limit,
                "daily": daily * (1.0 if sense == 1 else 0.96),
                "commute": commute,
                "tourism": tourism,
                "heavy": heavy,
                "inbound": 1.0 if direction == "entrant" else -1.0 if direction == "sortant" else 0.0,
            })
    table = pd.DataFrame(rows)
    if n is not None:
        if not 1 <= n <= len(table):
            raise ValueError(f"n must be between 1 and {len(table)}, not {n}")
        table = table.iloc[np.linspace(0, len(table) - 1, n).round().astype(int)].reset_index(drop=True)
    return table


def school_holidays(dates) -> np.ndarray:
    """Whether each date falls in the zone C school holidays (Occitanie).

    Dates in ``calendar.SCHOOL_CALENDAR_RANGE`` (22 October 2022 to 3 July 2026) use the official
    calendar; outside it, the summer (5 July to 31 August) and Christmas (20 December to
    4 January) breaks are approximated.

    Parameters
    ----------
    dates
        Dates (timezone-aware ones count at their own wall-clock date).

    Returns
    -------
    numpy.ndarray
        Booleans, one per date.
    """
    days = calendar.days(dates)
    known = calendar.school_calendar_covers(days)
    off = np.zeros(len(days), dtype=bool)
    off[known] = calendar.is_school_holiday(days[known])
    local = pd.DatetimeIndex(days)
    month_day = local.month * 100 + local.day
    approx = ((month_day >= 705) & (month_day <= 831)) | (month_day >= 1220) | (month_day <= 104)
    return np.where(known, off, approx)


def _bump(hours: np.ndarray, centre: float, width: float) -> np.ndarray:
    return np.exp(-0.5 * ((hours - centre) / width) ** 2)


def _plateau(hours: np.ndarray, rise: float, fall: float) -> np.ndarray:
    return 1 / (1 + np.exp(-(hours - rise) / 0.8)) / (1 + np.exp(-(fall - hours) / 1.2))


def _profiles(hours: np.ndarray, commute: np.ndarray, inbound: np.ndarray, peak: np.ndarray) -> dict:
    """Unnormalised hourly shapes (counters x hours) for weekdays, Saturdays and Sundays."""
    w, way = commute[:, None], inbound[:, None]
    rush = 1.15 * _bump(hours, 8.0, 0.9) * (1 + 0.3 * way) + 0.95 * _bump(hours, 17.6, 1.3) * (1 - 0.3 * way)
    weekday = 0.05 + 0.5 * _plateau(hours, 6.0, 21.5) + w * peak * rush + (1 - w) * 0.35 * _bump(hours, 15.0, 3.5)
    weekend = 0.05 + 0.45 * _plateau(hours, 8.5, 22.5) + 0.35 * _bump(hours, 12.0, 2.5) + 0.3 * _bump(hours, 17.5, 2.2)
    saturday = np.broadcast_to(weekend, weekday.shape)
    # Long-distance returns fill the motorways on Sunday evenings.
    sunday = saturday + (1 - w) * 0.45 * _bump(hours, 18.5, 2.0)
    return {"weekday": weekday, "saturday": saturday, "sunday": sunday}


def _calendar(times: pd.DatetimeIndex) -> pd.DataFrame:
    """Local (Europe/Paris) calendar facts for each UTC hour."""
    local = times.tz_convert("Europe/Paris")
    dates = local.tz_localize(None).normalize()
    holiday = is_public_holiday(dates)
    next_off = is_public_holiday(dates + pd.Timedelta(days=1)) | (local.day_of_week == 5)
    return pd.DataFrame({
        "hour": local.hour + 0.5,
        "dow": local.day_of_week,
        "sunday": (local.day_of_week == 6) | holiday,
        "next_off": next_off,
        "school": school_holidays(dates),
        "doy": local.day_of_year,
        "month": local.month,
        "day": (dates - dates[0]).days,
    })


def _expected_flow(table: pd.DataFrame, cal: pd.DataFrame) -> np.ndarray:
    """Expected vehicles per hour (counters x hours) before noise and incidents."""
    w = table["commute"].to_numpy()
    hours = cal["hour"].to_numpy()
    school = cal["school"].to_numpy()
    shapes = _profiles(hours, w, table["inbound"].to_numpy(), 1 - 0.25 * school)
    full_day = np.arange(24) + 0.5
    norms = {k: v.sum(axis=1, keepdims=True) for k, v in _profiles(full_day, w, table["inbound"].to_numpy(), np.ones(24)).items()}
    dow, sunday = cal["dow"].to_numpy(), cal["sunday"].to_numpy()
    saturday = (dow == 5) & ~sunday
    shape = np.where(sunday, shapes["sunday"] / norms["sunday"],
                     np.where(saturday, shapes["saturday"] / norms["saturday"], shapes["weekday"] / norms["weekday"]))
    wc = w[:, None]
    day_factor = np.where(sunday, 0.52 * wc + 0.85 * (1 - wc),
                          np.where(saturday, 0.72 * wc + 0.97 * (1 - wc),
                                   np.where(dow == 4, 1.03 + 0.12 * (1 - wc), 1.0)))
    summer = _bump(cal["doy"].to_numpy().astype(float), 215.0, 22.0)
    season = (1 + table["tourism"].to_numpy()[:, None] * summer) * (1 - 0.15 * wc * summer) * (1 - 0.1 * wc * school)
    return table["daily"].to_numpy()[:, None] * day_factor * shape * season


def _incidents(rng: np.random.Generator, flow: np.ndarray, rate: float) -> list[tuple[int, int, int]]:
    """(counter, first hour, hours) of each incident; likelier where and when traffic is heavy."""
    n_counters, n_hours = flow.shape
    count = max(1, rng.poisson(rate * n_counters * n_hours / 24))
    events = []
    for _ in range(count):
        counter = int(rng.integers(n_counters))
        start = int(rng.choice(n_hours, p=flow[counter] / flow[counter].sum()))
        events.append((counter, start, int(rng.integers(2, 6))))
    return events


def generate_counts(table: pd.DataFrame, start: str, days: int, seed: int = 0, incident_rate: float = 1 / 150) -> pd.DataFrame:
    """Deterministic synthetic hourly counts and speeds at the counters of ``table``.

    Parameters
    ----------
    table
        Counter table, as returned by ``counters``.
    start
        First day (local midnight, Europe/Paris), e.g. ``"2024-10-07"``.
    days
        Number of days to generate.
    seed
        Same seed, same data.
    incident_rate
        Incidents per counter and day (at least one incident is always drawn).

    Returns
    -------
    pandas.DataFrame
        Rows in ``SCHEMA`` (typed as ``SCHEMA.validate`` returns them), sorted by counter and time.
    """
    rng = np.random.default_rng(seed)
    first = pd.Timestamp(start, tz="Europe/Paris").tz_convert("UTC")
    times = pd.date_range(first, periods=days * 24, freq="h")
    cal = _calendar(times)
    n_counters, n_hours = len(table), len(times)

    flow = _expected_flow(table, cal)
    day_noise = rng.lognormal(0.0, 0.05, (n_counters, days + 1))[:, cal["day"].to_numpy()]
    flow = flow * day_noise * rng.lognormal(0.0, 0.04, flow.shape)

    incident = np.zeros(flow.shape, dtype=bool)
    speed_cut = np.ones(flow.shape)
    for counter, begin, length in _incidents(rng, flow, incident_rate):
        span = slice(begin, min(begin + length, n_hours))
        incident[counter, span] = True
        flow[counter, span] *= rng.uniform(0.3, 0.6)
        speed_cut[counter, span] = rng.uniform(0.15, 0.35)
    vehicles = rng.poisson(flow)

    kinds = table["road_type"].to_numpy()
    limit = table["speed_limit_kmh"].to_numpy(dtype=float)
    free = limit * np.array([_FREE_FLOW[k] for k in kinds]) * rng.normal(1.0, 0.03, n_counters)
    capacity = table["daily"].to_numpy() * np.array([_CAPACITY[k] for k in kinds])
    load = vehicles / capacity[:, None]
    hours = cal["hour"].to_numpy()
    night = 1 + 0.05 * _bump(hours, 3.0, 2.0)
    speed = free[:, None] * night / (1 + 0.9 * load**4) * speed_cut * rng.normal(1.0, 0.025, flow.shape)

    heavy_p = _heavy_share(table, cal)
    heavy = rng.binomial(vehicles, heavy_p)
    hgv_speed = np.array([_HGV_SPEED[k] for k in kinds])[:, None]
    share = np.divide(heavy, vehicles, out=np.zeros(flow.shape), where=vehicles > 0)
    speed = speed * (1 - share) + np.minimum(speed, hgv_speed) * share
    empty = vehicles == 0
    return _frame(table, times, vehicles, np.where(empty, np.nan, speed.round(1)),
                  np.where(empty, np.nan, share.round(3)), incident)


def _heavy_share(table: pd.DataFrame, cal: pd.DataFrame) -> np.ndarray:
    """Probability that a vehicle is a lorry: more at night, far fewer during the bans."""
    hours = cal["hour"].to_numpy()
    base = table["heavy"].to_numpy()[:, None] * (1 + 0.9 * _bump(hours, 3.0, 2.5))
    # Lorries over 7.5 t may not drive from 22:00 the day before a Sunday or holiday until
    # 22:00 that day, nor on summer Saturdays from 07:00 to 19:00.
    sunday_ban = (cal["sunday"].to_numpy() & (hours < 22)) | (cal["next_off"].to_numpy() & (hours >= 22))
    summer_saturday = (cal["dow"].to_numpy() == 5) & np.isin(cal["month"].to_numpy(), (7, 8)) & (hours >= 7) & (hours < 19)
    factor = np.where(sunday_ban, 0.25, np.where(summer_saturday, 0.4, 1.0))
    return np.clip(base * factor, 0.0, 0.6)


def _frame(table, times, vehicles, speed, share, incident) -> pd.DataFrame:
    n_counters, n_hours = vehicles.shape
    data = {}
    for column in COUNTER_COLUMNS:
        values = np.repeat(table[column].to_numpy(), n_hours)
        data[column] = pd.array(values, dtype=SCHEMA_DTYPES[SCHEMA.column(column).dtype])
    data["time_start"] = times[np.tile(np.arange(n_hours), n_counters)]
    data["vehicles"] = pd.array(vehicles.ravel(), dtype="Int64")
    data["mean_speed_kmh"] = speed.ravel()
    data["heavy_share"] = share.ravel()
    data["incident"] = pd.array(incident.ravel(), dtype="boolean")
    return pd.DataFrame(data)



def generate(size: str = "tiny", seed: int = 0) -> pd.DataFrame:
    """Synthetic ``traffic_counts`` table of a named size.

    Parameters
    ----------
    size
        One of ``SIZES``: ``"tiny"`` (6 counters, 3 days), ``"demo"`` (150 counters,
        30 days around the autumn school holidays) or ``"full"`` (150 counters, 2024).
    seed
        Same seed, same data.

    Returns
    -------
    pandas.DataFrame
        Rows valid against ``SCHEMA``, with no row quarantined.

    Raises
    ------
    ValueError
        For an unknown size.
    """
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r} for {NAME}; choose one of {', '.join(SIZES)}")
    options = SIZES[size]
    return generate_counts(counters(options["counters"]), options["start"], options["days"], seed=seed)
