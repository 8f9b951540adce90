"""building_meters: 15-minute water and electricity readings of municipal public buildings.

- ``SCHEMA``: one row per building and 15-minute step (UTC), with the occupancy from its calendar.
- ``BUILDINGS``: the buildings (schools, gyms, town halls, swimming pools, libraries) of eight
  Occitanie communes, with coordinates and floor area.
- ``occupancy``: when a building type is in use, from its opening rules, the zone C school
  holidays (académies of Toulouse and Montpellier) and French public holidays.
- ``generate`` / ``generate_labels``: deterministic synthetic readings, and the ground truth of
  the anomalies injected into them (water leaks, lights or heating left on over a weekend), so a
  detection method can be scored. ``simulate`` returns both for any buildings and period.

The real readings are shared by partner communes under agreement and are not reachable from the
lab, so the data are synthetic, shaped like remote meter readings: consumption follows
occupancy, electricity has winter heating and lighting, water is near zero at night.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import calendar
from .geography import communes, departments
from .schema import Column, TableSchema

NAME = "building_meters"
KIND = "table"
METADATA = {
    "title_fr": "Compteurs d'eau et d'électricité des bâtiments publics (pas de 15 minutes)",
    "title_en": "Public building water and electricity meters (15-minute readings)",
    "description": (
        "Water (litres) and electricity (kWh) consumed per 15 minutes by schools, gyms, town halls, "
        "swimming pools and libraries of Occitanie communes, with each building's occupancy from its "
        "calendar (opening hours, zone C school holidays, public holidays). Shared with municipal "
        "partners only. The data are synthetic; they contain water leaks and lights or heating left "
        "on over weekends, whose ground truth is `building_meters.generate_labels`."
    ),
    "producer": "Synthetic (occidata), shaped like communes' remote meter readings (water AMR, electricity load curves)",
    "licence": "restricted",
    "access": "partner",
    "personal_data": False,
    "update_frequency": "daily",
    "spatial_coverage": "Occitanie, public buildings of eight communes",
    "temporal_coverage": "per build year",
    "tags": ["energy", "water", "electricity", "buildings", "smart meters", "anomalies", "leaks"],
}
# ``start`` is a month-day of the ``year`` given to generate(); ``days`` None means the whole year.
SIZES = {
    "tiny": {"buildings": 6, "start": "02-01", "days": 14},
    "demo": {"buildings": None, "start": "01-01", "days": 90},
    "full": {"buildings": None, "start": "01-01", "days": None},
}

BUILDING_TYPES = ("school", "gym", "town_hall", "swimming_pool", "library")
ANOMALIES = ("leak", "lights_on_weekend", "heating_on_weekend")
STEP = pd.Timedelta(minutes=15)
LOCAL_TZ = "Europe/Paris"
DEPARTMENTS = tuple(departments()["name"])

SCHEMA = TableSchema(
    name=NAME,
    description="Water and electricity consumed per 15 minutes by municipal public buildings",
    columns=(
        Column("building_id", "string", "building identifier (<INSEE code>-<type>-<n>)"),
        Column("building_name", "string", "building name"),
        Column("building_type", "string", "building use", allowed=BUILDING_TYPES),
        Column("commune", "string", "commune name"),
        Column("insee_code", "string", "INSEE code of the commune"),
        Column("department", "string", "department name", allowed=DEPARTMENTS),
        Column("time_start", "datetime", "start of the 15-minute step (UTC)"),
        Column("water_l", "float64", "water consumed during the step", "l", minimum=0.0),
        Column("electricity_kwh", "float64", "electricity consumed during the step", "kWh", minimum=0.0),
        Column("occupied", "bool", "building in use at the start of the step, from its calendar"),
    ),
)
LABELS_SCHEMA = TableSchema(
    name=f"{NAME}_labels",
    description="Ground truth of the anomalies injected into the synthetic readings, as [start, end) periods",
    columns=(
        Column("building_id", "string", "building identifier, as in the readings"),
        Column("anomaly", "string", "kind of anomaly", allowed=ANOMALIES),
        Column("start", "datetime", "first instant of the anomaly (UTC, included)"),
        Column("end", "datetime", "end of the anomaly (UTC, excluded)"),
    ),
)

# INSEE code, then per building: type, name, floor area (m²). The first six rows span the five
# types and are the tiny size.
_SITES = (
    ("31555", "school", "École élémentaire Jules Ferry", 2400),
    ("34172", "gym", "Gymnase Jean Bouin", 1900),
    ("30189", "town_hall", "Hôtel de ville", 6500),
    ("66136", "swimming_pool", "Piscine municipale Arlette Franco", 4200),
    ("81004", "library", "Médiathèque Pierre-Amalric", 3100),
    ("12202", "school", "Groupe scolaire Paul Ramadier", 2900),
    ("31555", "school", "Groupe scolaire Jean Jaurès", 3300),
    ("31555", "school", "École maternelle Les Minimes", 1300),
    ("31555", "gym", "Gymnase municipal Compans", 2200),
    ("31555", "swimming_pool", "Piscine Léo Lagrange", 4800),
    ("31555", "library", "Bibliothèque de quartier Saint-Cyprien", 900),
    ("31555", "town_hall", "Mairie annexe Rangueil", 1600),
    ("34172", "school", "École élémentaire Louis Pasteur", 2100),
    ("34172", "school", "Groupe scolaire Heidelberg", 2700),
    ("34172", "town_hall", "Hôtel de ville", 9000),
    ("34172", "swimming_pool", "Piscine Antigone", 5200),
    ("34172", "library", "Médiathèque Victor Hugo", 1500),
    ("30189", "school", "École Jean Macé", 1800),
    ("30189", "gym", "Gymnase Bellevue", 1500),
    ("30189", "swimming_pool", "Piscine Pablo Neruda", 3600),
    ("30189", "library", "Médiathèque Marc Bernard", 2200),
    ("66136", "school", "École Jordi Barre", 2000),
    ("66136", "gym", "Gymnase du Moulin à Vent", 1700),
    ("66136", "town_hall", "Hôtel de ville", 4800),
    ("66136", "library", "Médiathèque municipale", 2600),
    ("81004", "school", "École de la Madeleine", 1600),
    ("81004", "gym", "Gymnase du Lude", 1400),
    ("81004", "town_hall", "Hôtel de ville", 3400),
    ("12202", "gym", "Gymnase de Bourran", 1600),
    ("12202", "town_hall", "Hôtel de ville", 3000),
    ("12202", "swimming_pool", "Piscine Aquavallon", 3900),
    ("34301", "school", "École Renan", 1700),
    ("34301", "gym", "Gymnase Louis Pasteur", 1500),
    ("34301", "town_hall", "Hôtel de ville", 3800),
    ("34301", "library", "Médiathèque François Mitterrand", 2000),
    ("11262", "school", "École Jules Ferry", 1900),
    ("11262", "gym", "Gymnase Léo Lagrange", 1800),
    ("11262", "town_hall", "Hôtel de ville", 4100),
    ("11262", "swimming_pool", "Piscine Espace de Liberté", 4500),
    ("11262", "library", "Médiathèque du Grand Narbonne", 2800),
)
_TYPE_CODE = {"school": "SCH", "gym": "GYM", "town_hall": "TWH", "swimming_pool": "POOL", "library": "LIB"}


def _of_commune(name: str, commune: str) -> str:
    return f"{name} d'{commune}" if commune[0] in "AEIOUÉ" else f"{name} de {commune}"


def _buildings() -> pd.DataFrame:
    places = communes().set_index("insee_code")
    names = departments().set_index("code")["name"]
    rows, counts = [], {}
    for index, (insee, kind, name, area) in enumerate(_SITES):
        key = (insee, kind)
        counts[key] = counts.get(key, 0) + 1
        place = places.loc[insee]
        # A fixed offset from the town hall, so buildings of a commune do not share a point.
        angle = 2.4 * index
        radius = 0.0 if kind == "town_hall" else 0.004 + 0.0015 * (index % 5)
        rows.append({
            "building_id": f"{insee}-{_TYPE_CODE[kind]}-{counts[key]:02d}",
            "building_name": _of_commune(name, place["name"]) if name == "Hôtel de ville" else name,
            "building_type": kind,
            "commune": place["name"],
            "insee_code": insee,
            "department": names[place["department"]],
            "lon": round(float(place["lon"]) + radius * np.cos(angle), 5),
            "lat": round(float(place["lat"]) + radius * np.sin(angle), 5),
            "floor_area_m2": float(area),
        })
    return pd.DataFrame(rows)


BUILDINGS = _buildings()
BUILDING_COLUMNS = ("building_id", "building_name", "building_type", "commune", "insee_code", "department")

# The days the shared school calendar is known for; calendar-bound types refuse other days.
CALENDAR_RANGE = calendar.SCHOOL_CALENDAR_RANGE


def _local_clock(times) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(local day, weekday 0=Monday, minute of the day) of tz-aware ``times`` in Europe/Paris."""
    index = pd.DatetimeIndex(times)
    if index.tz is None:
        raise ValueError("times must be timezone-aware (the readings are in UTC)")
    local = index.tz_convert(LOCAL_TZ)
    day = local.tz_localize(None).to_numpy().astype("datetime64[D]")
    return day, local.day_of_week.to_numpy(), (local.hour * 60 + local.minute).to_numpy()


def occupancy(building_type: str, times) -> np.ndarray:
    """Whether a building of ``building_type`` is in use at each of ``times``.

    Rules, in local time (Europe/Paris), for the step starting at each time:

    - ``school``: Monday-Friday 8:00-18:00, Wednesday 8:00-12:00 only, closed during the zone C
      school holidays and on public holidays;
    - ``gym``: Monday-Friday 17:00-22:00 (clubs), Saturday and Sunday 9:00-19:00;
    - ``town_hall``: Monday-Friday 8:30-17:30, closed on public holidays;
    - ``swimming_pool``: every day 10:00-20:00;
    - ``library``: Tuesday-Saturday 10:00-19:00, closed on public holidays.

    Parameters
    ----------
    building_type
        One of ``BUILDING_TYPES``.
    times
        Timezone-aware instants (DatetimeIndex, Series or array).

    Returns
    -------
    numpy.ndarray
        Booleans, one per time.

    Raises
    ------
    ValueError
        For an unknown type, naive times, or, for calendar-bound types (school, town hall,
        library), days outside ``CALENDAR_RANGE``.
    """
    if building_type not in BUILDING_TYPES:
        raise ValueError(f"unknown building type {building_type!r}; use one of {', '.join(BUILDING_TYPES)}")
    day, weekday, minute = _local_clock(times)
    weekdays = weekday < 5
    if building_type == "gym":
        return np.where(weekdays, (minute >= 17 * 60) & (minute < 22 * 60), (minute >= 9 * 60) & (minute < 19 * 60))
    if building_type == "swimming_pool":
        return (minute >= 10 * 60) & (minute < 20 * 60)
    calendar.require_school_calendar(day, building_type)
    open_day = ~calendar.is_public_holiday(day)
    if building_type == "school":
        closing = np.where(weekday == 2, 12 * 60, 18 * 60)
        return weekdays & (minute >= 8 * 60) & (minute < closing) & open_day & ~calendar.is_school_holiday(day)
    if building_type == "town_hall":
        return weekdays & (minute >= 8 * 60 + 30) & (minute < 17 * 60 + 30) & open_day
    return (weekday >= 1) & (weekday <= 5) & (minute >= 10 * 60) & (minute < 19 * 60) & open_day


# Per type: baseload and in-use electricity (W/m²), share of the in-use load added by winter
# heating and lighting, water drawn in use (l per 15 minutes per 1000 m²).
_PROFILE = {
    "school": {"base_w": 1.5, "use_w": 9.0, "winter": 0.8, "water": 45.0},
    "gym": {"base_w": 1.0, "use_w": 11.0, "winter": 0.6, "water": 70.0},
    "town_hall": {"base_w": 2.5, "use_w": 10.0, "winter": 0.7, "water": 12.0},
    "swimming_pool": {"base_w": 14.0, "use_w": 12.0, "winter": 0.5, "water": 220.0},
    "library": {"base_w": 1.8, "use_w": 9.0, "winter": 0.7, "water": 5.0},
}
# Which anomalies each type can have (pools are never left "on": they always run).
_ELIGIBLE = {
    "leak": BUILDING_TYPES,
    "lights_on_weekend": ("school", "gym", "town_hall", "library"),
    "heating_on_weekend": ("school", "town_hall", "library"),
}
_HEATING_MONTHS = (11, 12, 1, 2, 3)
_LEAK_DAYS = (2, 10)
_LEAK_FLOW_L = (20.0, 200.0)  # extra litres per 15 minutes, night and day
_LIGHTS_W = (3.5, 6.0)
_HEATING_W = (8.0, 14.0)


def _time_axis(start: str | pd.Timestamp, days: int) -> pd.DatetimeIndex:
    first = pd.Timestamp(start)
    first = first.tz_localize("UTC") if first.tz is None else first.tz_convert("UTC")
    return pd.date_range(first, periods=days * 96, freq=STEP)


def _weekends(times: pd.DatetimeIndex) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """(Friday 19:00, Monday 06:00) local, in UTC, of the weekends wholly inside ``times``."""
    first, last = times[0], times[-1] + STEP
    wall = pd.DatetimeIndex([first, last]).tz_convert(LOCAL_TZ).tz_localize(None)
    days = pd.date_range(wall[0].normalize(), wall[1], freq="D")
    periods = []
    for friday in days[days.day_of_week == 4]:
        start = (friday + pd.Timedelta(hours=19)).tz_localize(LOCAL_TZ).tz_convert("UTC")
        end = (friday + pd.Timedelta(days=3, hours=6)).tz_localize(LOCAL_TZ).tz_convert("UTC")
        if start >= first and end <= last:
            periods.append((start, end))
    return periods


def _draw_leaks(buildings: pd.DataFrame, times: pd.DatetimeIndex, rng: np.random.Generator) -> list[dict]:
    steps, days = len(times), len(times) // 96
    wanted = max(1, round(len(buildings) * days / 250))
    shortest, longest = _LEAK_DAYS[0] * 96, min(_LEAK_DAYS[1] * 96, steps - 4 * 96)
    if longest < shortest:
        return []
    leaks, taken = [], {}
    for _ in range(wanted * 20):
        if len(leaks) == wanted:
            break
        row = int(rng.integers(len(buildings)))
        length = int(rng.integers(shortest, longest + 1))
        first = int(rng.integers(0, steps - length + 1))
        # A day apart from the building's other leaks, so each label is one distinct episode.
        if any(first < end + 96 and start < first + length + 96 for start, end in taken.get(row, [])):
            continue
        taken.setdefault(row, []).append((first, first + length))
        leaks.append({"row": row, "anomaly": "leak", "start": times[first], "end": times[first] + length * STEP,
                      "size": float(rng.uniform(*_LEAK_FLOW_L))})
    return leaks


def _draw_weekend_anomalies(buildings: pd.DataFrame, times: pd.DatetimeIndex, rng: np.random.Generator) -> list[dict]:
    weekends = _weekends(times)
    types = buildings["building_type"].to_numpy()
    drawn, used = [], set()
    for anomaly, per_pairs, watts in (("lights_on_weekend", 15, _LIGHTS_W), ("heating_on_weekend", 20, _HEATING_W)):
        pairs = [
            (row, start, end)
            for row in range(len(buildings)) if types[row] in _ELIGIBLE[anomaly]
            for start, end in weekends
            if (row, start) not in used
            and (anomaly != "heating_on_weekend" or start.tz_convert(LOCAL_TZ).month in _HEATING_MONTHS)
        ]
        if not pairs:
            continue
        for pick in np.sort(rng.choice(len(pairs), size=max(1, round(len(pairs) / per_pairs)), replace=False)):
            row, start, end = pairs[pick]
            used.add((row, start))
            drawn.append({"row": row, "anomaly": anomaly, "start": start, "end": end, "size": float(rng.uniform(*watts))})
    return drawn


def _draw_anomalies(buildings: pd.DataFrame, times: pd.DatetimeIndex, seed: int) -> list[dict]:
    """The anomalies to inject, each with its building row, period and size; same seed, same list."""
    rng = np.random.default_rng([seed, 1])
    return _draw_leaks(buildings, times, rng) + _draw_weekend_anomalies(buildings, times, rng)


def _labels(buildings: pd.DataFrame, anomalies: list[dict]) -> pd.DataFrame:
    ids = buildings["building_id"].to_numpy()
    frame = pd.DataFrame(
        {
            "building_id": [str(ids[a["row"]]) for a in anomalies],
            "anomaly": [a["anomaly"] for a in anomalies],
            "start": pd.DatetimeIndex([a["start"] for a in anomalies], tz="UTC"),
            "end": pd.DatetimeIndex([a["end"] for a in anomalies], tz="UTC"),
        }
    )
    return frame.sort_values(["start", "building_id", "anomaly"]).reset_index(drop=True)


def _season(times: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """(cold, warm) in [0, 1]: cold peaks mid-January and is 0 from mid-April to mid-October."""
    cycle = np.cos(2 * np.pi * (times.tz_convert(LOCAL_TZ).day_of_year.to_numpy() - 15) / 365.25)
    return np.clip(cycle, 0, None), np.clip(-cycle, 0, None)


def _consumption(buildings: pd.DataFrame, times: pd.DatetimeIndex, occupied: np.ndarray,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Normal water (l) and electricity (kWh) per step, buildings x times, without anomalies."""
    shape = occupied.shape
    cold, warm = _season(times)
    profile = pd.DataFrame([_PROFILE[t] for t in buildings["building_type"]])
    area_kw = buildings["floor_area_m2"].to_numpy()[:, None] / 1000.0  # W/m² x area -> kW
    base = profile["base_w"].to_numpy()[:, None] * (1 + 0.4 * cold)
    use = profile["use_w"].to_numpy()[:, None] * (1 + profile["winter"].to_numpy()[:, None] * cold + 0.15 * warm)
    power = base * rng.lognormal(0.0, 0.08, shape) + occupied * use * rng.lognormal(0.0, 0.15, shape)
    electricity = power * area_kw * 0.25
    # Water: drawn while in use; otherwise mostly nothing, with the odd flush or cleaning.
    in_use = profile["water"].to_numpy()[:, None] * area_kw * rng.gamma(2.0, 0.5, shape)
    stray = (rng.random(shape) < 0.02) * rng.uniform(1.0, 8.0, shape)
    water = np.where(occupied, in_use, stray)
    return water, electricity


def _inject(water: np.ndarray, electricity: np.ndarray, occupied: np.ndarray, buildings: pd.DataFrame,
            times: pd.DatetimeIndex, anomalies: list[dict], rng: np.random.Generator) -> None:
    """Add each anomaly to the readings, in place, exactly within its [start, end) period."""
    cold, _ = _season(times)
    areas = buildings["floor_area_m2"].to_numpy()
    for anomaly in anomalies:
        row = anomaly["row"]
        inside = (times >= anomaly["start"]) & (times < anomaly["end"])
        if anomaly["anomaly"] == "leak":
            water[row, inside] += anomaly["size"] * rng.lognormal(0.0, 0.05, inside.sum())
            continue
        # Left on: the load only shows while nobody is there (in use, it is on anyway).
        idle = inside & ~occupied[row]
        watts = anomaly["size"] * rng.lognormal(0.0, 0.05, idle.sum())
        if anomaly["anomaly"] == "heating_on_weekend":
            watts = watts * (0.6 + 0.6 * cold[idle])
        electricity[row, idle] += watts * areas[row] / 1000.0 * 0.25


def simulate(buildings: pd.DataFrame, start: str | pd.Timestamp, days: int,
             seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Synthetic readings of ``buildings`` and the ground truth of the anomalies injected into them.

    Parameters
    ----------
    buildings
        Rows of ``BUILDINGS`` (any subset).
    start
        First 15-minute step, UTC (e.g. ``"2024-01-01"``).
    days
        Number of days (96 steps each).
    seed
        Same seed, same readings and labels.

    Returns
    -------
    tuple of pandas.DataFrame
        The readings, in ``SCHEMA`` column order, sorted by building and time; and the labels, in
        ``LABELS_SCHEMA`` column order: each anomaly's building, kind and [start, end) period.
    """
    buildings = buildings.reset_index(drop=True)
    times = _time_axis(start, days)
    occupied = np.stack([occupancy(kind, times) for kind in buildings["building_type"]])
    anomalies = _draw_anomalies(buildings, times, seed)
    rng = np.random.default_rng([seed, 0])
    water, electricity = _consumption(buildings, times, occupied, rng)
    _inject(water, electricity, occupied, buildings, times, anomalies, rng)
    steps = len(times)
    readings = pd.DataFrame(
        {
            **{name: np.repeat(buildings[name].to_numpy(dtype=object), steps) for name in BUILDING_COLUMNS},
            "time_start": times[np.tile(np.arange(steps), len(buildings))],
            "water_l": np.round(water.ravel(), 1),
            "electricity_kwh": np.round(electricity.ravel(), 3),
            "occupied": occupied.ravel(),
        }
    )
    return readings[SCHEMA.names], _labels(buildings, anomalies)


def _plan(size: str, year: int) -> tuple[pd.DataFrame, pd.Timestamp, int]:
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; use one of {', '.join(SIZES)}")
    plan = SIZES[size]
    start = pd.Timestamp(f"{year}-{plan['start']}", tz="UTC")
    days = plan["days"] or (pd.Timestamp(f"{year + 1}-01-01", tz="UTC") - start).days
    buildings = BUILDINGS.head(plan["buildings"]) if plan["buildings"] else BUILDINGS
    return buildings, start, days


def generate(size: str = "tiny", seed: int = 0, year: int = 2024) -> pd.DataFrame:
    """Synthetic 15-minute readings of the partner buildings, sized by ``size``.

    Parameters
    ----------
    size
        ``tiny`` (6 buildings, 14 days from 1 February), ``demo`` (all 40 buildings, 90 days
        from 1 January) or ``full`` (all buildings, the whole ``year``).
    seed
        Same seed, same data; ``generate_labels`` with the same arguments gives the anomalies
        injected into these readings.
    year
        Calendar year of the series (UTC); the school calendar covers 22 October 2022 to
        3 July 2026 (``CALENDAR_RANGE``), so the sizes that fit in it.

    Returns
    -------
    pandas.DataFrame
        Rows in ``SCHEMA``, sorted by building and time.

    Raises
    ------
    ValueError
        For an unknown size, or a year the calendars do not cover.
    """
    buildings, start, days = _plan(size, year)
    return simulate(buildings, start, days, seed)[0]


def generate_labels(size: str = "tiny", seed: int = 0, year: int = 2024) -> pd.DataFrame:
    """The ground truth of the anomalies in ``generate(size, seed, year)``, without generating it.

    Parameters
    ----------
    size, seed, year
        As for ``generate``.

    Returns
    -------
    pandas.DataFrame
        Rows in ``LABELS_SCHEMA``: ``building_id``, ``anomaly`` (``leak``: continuous extra
        water flow, night and day; ``lights_on_weekend`` / ``heating_on_weekend``: electricity
        that stays high while the building is empty from Friday 19:00 to Monday 06:00 local),
        ``start`` (included) and ``end`` (excluded), UTC, sorted by start.
    """
    buildings, start, days = _plan(size, year)
    buildings = buildings.reset_index(drop=True)
    times = _time_axis(start, days)
    for kind in buildings["building_type"].unique():
        occupancy(kind, times[[0, -1]])  # the same calendar-range error as generate()
    return _labels(buildings, _draw_anomalies(buildings, times, seed))
