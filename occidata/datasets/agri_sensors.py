"""agri_sensors: hourly vineyard sensors of the precision-viticulture partners.

- ``SCHEMA``: one row per soil probe (a logger's probe at one depth) and hour.
- ``vineyards``: the partner vineyards in eight appellations (Corbières, Minervois,
  Pic Saint-Loup, Gaillac, Fronton, Côtes du Roussillon, Picpoul de Pinet, Limoux), each
  with one logger and three soil probes.
- ``simulate``: deterministic hourly weather and soil water at those vineyards: diurnal and
  seasonal temperature, Mediterranean or south-western rain regimes, a soil water balance
  per layer (drying through the hot summer, jumps after rain, slower and smaller deeper).
- ``generate_sensors``: the sensor table from a simulation, with logger dropouts (missing
  hours). The partners' data are not public, so there is no provider reader here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .schema import Column, TableSchema

NAME = "agri_sensors"
KIND = "table"
APPELLATIONS = (
    "Corbières", "Minervois", "Pic Saint-Loup", "Gaillac", "Fronton",
    "Côtes du Roussillon", "Picpoul de Pinet", "Limoux",
)

SCHEMA = TableSchema(
    name=NAME,
    description="Hourly soil moisture, air temperature and battery of vineyard sensors",
    columns=(
        Column("sensor_id", "string", "soil probe identifier (logger and depth)"),
        Column("vineyard", "string", "vineyard (plot) name"),
        Column("appellation", "string", "wine appellation (AOC/AOP) of the plot", allowed=APPELLATIONS),
        Column("commune", "string", "commune name"),
        Column("insee_code", "string", "INSEE code of the commune"),
        Column("department", "string", "department name"),
        Column("longitude", "float64", "WGS84 longitude", "degree_east", minimum=-0.5, maximum=5.0),
        Column("latitude", "float64", "WGS84 latitude", "degree_north", minimum=42.3, maximum=45.1),
        Column("depth_cm", "int64", "depth of the soil probe", "cm", minimum=5, maximum=200),
        Column("time_start", "datetime", "start of the hour (UTC)"),
        Column("soil_moisture_pct", "float64", "volumetric soil water content", "%", minimum=0.0, maximum=60.0),
        Column("air_temperature_c", "float64", "air temperature at the logger", "°C", minimum=-15.0, maximum=48.0),
        Column("battery_v", "float64", "logger battery voltage", "V", minimum=2.5, maximum=4.5),
    ),
)

METADATA = {
    "title_fr": "Capteurs viticoles horaires (humidité du sol, température)",
    "title_en": "Hourly vineyard sensors (soil moisture, air temperature)",
    "description": (
        "Hourly soil moisture at three depths, air temperature and logger battery at the "
        "precision-viticulture stations of partner vineyards in eight Occitanie appellations. "
        "Partners' data: restricted to the vineyard partners and the lab."
    ),
    "producer": "Synthetic (occidata), shaped like the partner vineyards' soil-moisture stations",
    "licence": "restricted",
    "access": "partner",
    "personal_data": False,
    "update_frequency": "hourly",
    "spatial_coverage": "Occitanie vineyards: Aude, Hérault, Tarn, Haute-Garonne, Pyrénées-Orientales",
    "temporal_coverage": "hourly, three days to one year depending on the size generated",
    "tags": ["agriculture", "viticulture", "soil moisture", "sensors", "climate"],
}

SIZES = {
    "tiny": {"vineyards": 2, "start": "2024-07-01", "days": 3},
    "demo": {"vineyards": 24, "start": "2024-07-01", "days": 92},
    "full": {"vineyards": 24, "start": "2024-01-01", "days": 366},
}

DEPARTMENTS = {"11": "Aude", "31": "Haute-Garonne", "34": "Hérault", "66": "Pyrénées-Orientales", "81": "Tarn"}
COMMUNES = {
    "11203": "Lézignan-Corbières", "34189": "Olonzac", "34276": "Saint-Mathieu-de-Tréviers",
    "81099": "Gaillac", "31202": "Fronton", "66210": "Thuir", "66205": "Tautavel",
    "34203": "Pinet", "34101": "Florensac", "11206": "Limoux",
}

# (place name, appellation, INSEE code, lon, lat, probe depths in cm, field capacity in %)
_VINEYARDS = (
    ("Les Garrigues", "Corbières", "11203", 2.731, 43.183, (20, 40, 80), 27.0),
    ("La Combe Rouge", "Corbières", "11203", 2.772, 43.219, (15, 30, 60), 28.0),
    ("Le Plateau", "Corbières", "11203", 2.745, 43.212, (20, 50, 90), 26.0),
    ("Les Terrasses", "Minervois", "34189", 2.715, 43.276, (20, 40, 80), 25.0),
    ("La Source", "Minervois", "34189", 2.748, 43.293, (15, 30, 60), 27.0),
    ("Le Moulin", "Minervois", "34189", 2.724, 43.297, (20, 50, 90), 24.0),
    ("Les Oliviers", "Pic Saint-Loup", "34276", 3.852, 43.782, (20, 40, 80), 28.0),
    ("La Croix", "Pic Saint-Loup", "34276", 3.881, 43.760, (15, 30, 60), 29.0),
    ("Les Pins", "Pic Saint-Loup", "34276", 3.861, 43.790, (20, 50, 90), 27.0),
    ("Les Coteaux", "Gaillac", "81099", 1.880, 43.912, (20, 40, 80), 32.0),
    ("La Colline", "Gaillac", "81099", 1.915, 43.889, (15, 30, 60), 33.0),
    ("Le Puech", "Gaillac", "81099", 1.872, 43.894, (20, 50, 90), 31.0),
    ("Les Graves", "Fronton", "31202", 1.372, 43.852, (20, 40, 80), 23.0),
    ("La Terrasse", "Fronton", "31202", 1.405, 43.830, (15, 30, 60), 24.0),
    ("Les Boulbènes", "Fronton", "31202", 1.381, 43.828, (20, 50, 90), 25.0),
    ("Les Aspres", "Côtes du Roussillon", "66210", 2.742, 42.624, (20, 40, 80), 20.0),
    ("Le Mas", "Côtes du Roussillon", "66210", 2.771, 42.641, (15, 30, 60), 21.0),
    ("Les Schistes", "Côtes du Roussillon", "66205", 2.731, 42.823, (20, 50, 90), 19.0),
    ("L'Étang", "Picpoul de Pinet", "34203", 3.521, 43.397, (20, 40, 80), 24.0),
    ("La Garrigue", "Picpoul de Pinet", "34203", 3.498, 43.414, (15, 30, 60), 25.0),
    ("Les Sables", "Picpoul de Pinet", "34101", 3.478, 43.392, (20, 50, 90), 22.0),
    ("La Haute Vallée", "Limoux", "11206", 2.205, 43.049, (20, 40, 80), 30.0),
    ("Le Cers", "Limoux", "11206", 2.236, 43.070, (15, 30, 60), 29.0),
    ("Les Clos", "Limoux", "11206", 2.226, 43.042, (20, 50, 90), 30.0),
)

# Appellation climate: annual mean and seasonal half-range (°C), diurnal half-range in
# summer and winter (°C), rain regime and annual rain (mm).
_CLIMATE = {
    "Corbières": (14.8, 8.6, 7.0, 4.0, "med", 580.0),
    "Minervois": (14.6, 8.7, 7.0, 4.0, "med", 620.0),
    "Pic Saint-Loup": (14.0, 9.0, 8.0, 4.5, "med", 950.0),
    "Gaillac": (13.2, 8.2, 6.5, 3.5, "sw", 720.0),
    "Fronton": (13.6, 8.3, 6.5, 3.5, "sw", 680.0),
    "Côtes du Roussillon": (15.8, 8.0, 6.0, 4.0, "med", 560.0),
    "Picpoul de Pinet": (15.3, 8.2, 5.5, 3.5, "med", 600.0),
    "Limoux": (13.0, 8.4, 7.0, 4.0, "med", 700.0),
}
# Monthly probability of a rainy day and mean rain of a rainy day (mm): Mediterranean
# autumn storms and a dry summer, against the more even south-western regime.
_RAIN = {
    "med": (np.array([.20, .18, .18, .22, .20, .13, .07, .10, .16, .22, .22, .20]),
            np.array([10, 9, 9, 10, 10, 9, 8, 10, 18, 22, 20, 12], dtype=float)),
    "sw": (np.array([.33, .30, .30, .36, .36, .28, .18, .20, .22, .28, .32, .32]),
           np.array([6, 6, 6, 7, 8, 8, 8, 8, 8, 8, 7, 7], dtype=float)),
}
_ROOTS = np.array([0.45, 0.35, 0.20])  # share of the vine's water uptake per layer
_DRAINAGE = np.array([0.12, 0.05, 0.03])  # per hour, of the water above field capacity
SPIN_UP_DAYS = 120  # simulated before ``start`` so soil water starts from a plausible state


def vineyards(n: int | None = None) -> pd.DataFrame:
    """The partner vineyards, one logger (station) each.

    Parameters
    ----------
    n
        Number of vineyards to keep, spread over the appellations (all 24 when ``None``).

    Returns
    -------
    pandas.DataFrame
        ``station``, ``vineyard``, ``appellation``, ``commune``, ``insee_code``,
        ``department``, ``longitude``, ``latitude``, ``depths`` (cm) and ``field_capacity`` (%).
    """
    rows = [
        {
            "station": f"VS{index:02d}",
            "vineyard": f"{place} ({COMMUNES[insee]})",
            "appellation": appellation,
            "commune": COMMUNES[insee],
            "insee_code": insee,
            "department": DEPARTMENTS[insee[:2]],
            "longitude": lon,
            "latitude": lat,
            "depths": depths,
            "field_capacity": capacity,
        }
        for index, (place, appellation, insee, lon, lat, depths, capacity) in enumerate(_VINEYARDS, start=1)
    ]
    table = pd.DataFrame(rows)
    if n is not None:
        if not 1 <= n <= len(table):
            raise ValueError(f"n must be between 1 and {len(table)}, not {n}")
        table = table.iloc[np.linspace(0, len(table) - 1, n).round().astype(int)].reset_index(drop=True)
    return table


def _ar1_daily(rng: np.random.Generator, n_series: int, n_days: int, sd: float, phi: float = 0.8) -> np.ndarray:
    """Synoptic anomalies: AR(1) day-to-day series with stationary standard deviation ``sd``."""
    shocks = rng.normal(0.0, sd * np.sqrt(1 - phi**2), (n_series, n_days))
    series = np.empty_like(shocks)
    series[:, 0] = rng.normal(0.0, sd, n_series)
    for day in range(1, n_days):
        series[:, day] = phi * series[:, day - 1] + shocks[:, day]
    return series


def _to_hours(daily: np.ndarray, n_hours: int) -> np.ndarray:
    """Daily values (centred at noon) interpolated to hours, so days join smoothly."""
    days = np.arange(daily.shape[1]) * 24 + 12
    hours = np.arange(n_hours)
    return np.stack([np.interp(hours, days, series) for series in daily])


def _rain(rng: np.random.Generator, table: pd.DataFrame, cal: pd.DataFrame, n_days: int) -> np.ndarray:
    """Hourly rain (mm) per vineyard; rain days are shared within an appellation."""
    n_hours = len(cal)
    rain = np.zeros((len(table), n_hours))
    month = cal["month"].to_numpy()[::24][:n_days] - 1
    for appellation in table["appellation"].unique():
        rows = np.flatnonzero(table["appellation"].to_numpy() == appellation)
        regime, annual = _CLIMATE[appellation][4], _CLIMATE[appellation][5]
        p_wet, mean = _RAIN[regime]
        scale = annual / (30.4 * (p_wet * mean).sum())
        wet = rng.random(n_days) < p_wet[month]
        amount = rng.gamma(0.8, mean[month] * scale / 0.8)
        summer = np.isin(month, (5, 6, 7))
        # Summer rain comes as short afternoon thunderstorms, other rain as longer spells.
        begin = np.where(summer, rng.integers(13, 19, n_days), rng.integers(0, 24, n_days))
        length = np.where(summer, rng.integers(1, 4, n_days), rng.integers(3, 11, n_days))
        for day in np.flatnonzero(wet):
            first = day * 24 + begin[day]
            span = slice(first, min(first + length[day], n_hours))
            local = rng.lognormal(0.0, 0.3, len(rows))
            rain[rows, span] += (amount[day] * local / length[day])[:, None]
    return rain


def _temperature(rng, table, cal, rain, n_days) -> np.ndarray:
    """Hourly air temperature (°C): seasonal and diurnal cycles, synoptic anomalies, rain."""
    n_hours = len(cal)
    climate = np.array([_CLIMATE[a][:4] for a in table["appellation"]])
    mean, season_amp, day_summer, day_winter = (climate[:, i:i + 1] for i in range(4))
    doy = cal["doy"].to_numpy()[None, :].astype(float)
    seasonal = mean + season_amp * np.cos(2 * np.pi * (doy - 205) / 365.25)
    summerness = 0.5 * (1 - np.cos(2 * np.pi * (doy - 15) / 365.25))
    solar = (cal["utc_hour"].to_numpy()[None, :] + table["longitude"].to_numpy()[:, None] / 15) % 24
    wet_day = _wet_days(rain, n_days)
    amplitude = (day_winter + (day_summer - day_winter) * summerness) * np.where(wet_day, 0.5, 1.0)
    diurnal = amplitude * np.cos(2 * np.pi * (solar - 15) / 24)
    codes = pd.factorize(table["appellation"])[0]
    regional = _to_hours(_ar1_daily(rng, 1, n_days, 2.8), n_hours)
    local = _to_hours(_ar1_daily(rng, codes.max() + 1, n_days, 0.8), n_hours)[codes]
    cooling = 2.0 * (rain > 0)
    noise = rng.normal(0.0, 0.3, rain.shape)
    return np.clip(seasonal + diurnal + regional + local - cooling + noise, -15.0, 48.0)


def _wet_days(rain: np.ndarray, n_days: int) -> np.ndarray:
    """Hour-level flag of days with at least 1 mm of rain."""
    daily = rain[:, : n_days * 24].reshape(len(rain), n_days, 24).sum(axis=2) >= 1.0
    flags = np.repeat(daily, 24, axis=1)
    return np.pad(flags, ((0, 0), (0, rain.shape[1] - flags.shape[1])), mode="edge")


def _evapotranspiration(table, cal, temperature) -> np.ndarray:
    """Hourly reference evapotranspiration (mm): daylight, temperature and season driven."""
    doy = cal["doy"].to_numpy()[None, :].astype(float)
    solar = (cal["utc_hour"].to_numpy()[None, :] + table["longitude"].to_numpy()[:, None] / 15) % 24
    daylight = np.clip(np.sin(np.pi * (solar - 6) / 12), 0.0, None)
    radiation = 0.75 + 0.45 * np.cos(2 * np.pi * (doy - 172) / 365.25)
    return 0.02 * np.clip(temperature + 3, 0.0, None) * daylight * radiation


def _layers(depths) -> np.ndarray:
    """Thickness (mm) of the soil layer each probe stands for (boundaries half-way between probes)."""
    d = np.asarray(depths, dtype=float)
    bounds = np.concatenate([[0.0], (d[:-1] + d[1:]) / 2, [d[-1] + (d[-1] - d[-2]) / 2]])
    return np.diff(bounds) * 10


def _soil_water(table, rain, et0, crop) -> np.ndarray:
    """Volumetric water content (%) per vineyard, layer and hour: a cascading bucket model."""
    capacity = np.repeat(table["field_capacity"].to_numpy()[:, None], 3, axis=1)
    dry, saturation = 0.35 * capacity, capacity + 14.0
    thickness = np.stack([_layers(d) for d in table["depths"]])
    theta = capacity.copy()
    out = np.empty((len(table), 3, rain.shape[1]))
    for hour in range(rain.shape[1]):
        water = 0.9 * rain[:, hour]
        for layer in range(3):
            theta[:, layer] += water / thickness[:, layer] * 100
            excess = np.maximum(theta[:, layer] - saturation[:, layer], 0.0)
            drained = _DRAINAGE[layer] * np.maximum(theta[:, layer] - excess - capacity[:, layer], 0.0)
            theta[:, layer] -= excess + drained
            water = (excess + drained) * thickness[:, layer] / 100
        available = np.clip((theta - dry) / (capacity - dry), 0.0, 1.0)
        uptake = (crop[hour] * et0[:, hour])[:, None] * _ROOTS * available**0.7
        uptake[:, 0] += 0.3 * et0[:, hour] * available[:, 0] ** 2  # bare-soil evaporation
        theta -= uptake / thickness * 100
        np.maximum(theta, 0.8 * dry, out=theta)
        out[:, :, hour] = theta
    return out


def _calendar(times: pd.DatetimeIndex) -> pd.DataFrame:
    local = times.tz_convert("Europe/Paris")
    return pd.DataFrame({"utc_hour": times.hour, "doy": local.day_of_year, "month": local.month})


def simulate(table: pd.DataFrame, start: str, days: int, seed: int = 0) -> dict:
    """Hourly weather and soil water at the vineyards of ``table`` (deterministic for a seed).

    Parameters
    ----------
    table
        Vineyard table, as returned by ``vineyards``.
    start
        First day (local midnight, Europe/Paris), e.g. ``"2024-07-01"``.
    days
        Number of days.
    seed
        Same seed, same simulation.

    Returns
    -------
    dict
        ``times`` (UTC hours), and arrays over vineyards x hours: ``rain`` (mm),
        ``air_temperature_c``, ``battery_v``; ``soil_moisture_pct`` over vineyards x
        3 probes x hours (the true water content, before probe bias and noise).
    """
    weather_rng, _, _ = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    first = pd.Timestamp(start, tz="Europe/Paris") - pd.Timedelta(days=SPIN_UP_DAYS)
    n_days = SPIN_UP_DAYS + days
    times = pd.date_range(first.tz_convert("UTC"), periods=n_days * 24, freq="h")
    cal = _calendar(times)
    rain = _rain(weather_rng, table, cal, n_days)
    temperature = _temperature(weather_rng, table, cal, rain, n_days)
    et0 = _evapotranspiration(table, cal, temperature)
    doy = cal["doy"].to_numpy().astype(float)
    # Dormant vines and cover crops in winter; the canopy peaks in July.
    crop = 0.25 + 0.45 * np.exp(-0.5 * ((doy - 200) / 45) ** 2)
    moisture = _soil_water(table, rain, et0, crop)
    battery = _battery(weather_rng, table, et0, rain, n_days, temperature)
    keep = slice(SPIN_UP_DAYS * 24, None)
    return {
        "times": times[keep],
        "rain": rain[:, keep],
        "air_temperature_c": temperature[:, keep],
        "soil_moisture_pct": moisture[:, :, keep],
        "battery_v": battery[:, keep],
    }


def _battery(rng, table, et0, rain, n_days, temperature) -> np.ndarray:
    """Solar-charged lithium battery: charges by day, less under cloud, sags in the cold."""
    sun = np.clip(et0 / 0.4, 0.0, 1.0) ** 0.5
    base = rng.uniform(3.78, 3.92, (len(table), 1))
    cloudy = _wet_days(rain, n_days)
    cold = 0.004 * np.clip(5 - temperature, 0.0, None)
    noise = rng.normal(0.0, 0.008, rain.shape)
    return np.clip(base + 0.25 * sun * np.where(cloudy, 0.4, 1.0) - cold + noise, 3.3, 4.25)


def _dropouts(rng: np.random.Generator, n_loggers: int, n_hours: int, rate_per_day: float) -> np.ndarray:
    """Hours each logger did not transmit (loggers x hours), at least one gap in all."""
    missing = np.zeros((n_loggers, n_hours), dtype=bool)
    counts = rng.poisson(rate_per_day * n_hours / 24, n_loggers)
    if counts.sum() == 0:
        counts[rng.integers(n_loggers)] = 1
    for logger, count in enumerate(counts):
        for _ in range(count):
            # Mostly short radio gaps; now and then a day or two until a visit.
            length = rng.integers(1, 7) if rng.random() < 0.8 else rng.integers(12, 61)
            first = rng.integers(n_hours)
            missing[logger, first:first + length] = True
    return missing


def generate_sensors(table: pd.DataFrame, start: str, days: int, seed: int = 0, dropout_rate: float = 1 / 20) -> pd.DataFrame:
    """Deterministic synthetic hourly readings of the probes at the vineyards of ``table``.

    Parameters
    ----------
    table
        Vineyard table, as returned by ``vineyards``.
    start
        First day (local midnight, Europe/Paris).
    days
        Number of days.
    seed
        Same seed, same data (and the same weather as ``simulate`` with that seed).
    dropout_rate
        Logger transmission gaps per logger and day.

    Returns
    -------
    pandas.DataFrame
        Rows in ``SCHEMA`` (typed as ``SCHEMA.validate`` returns them), sorted by sensor and
        time; hours a logger or probe missed are absent.
    """
    state = simulate(table, start, days, seed)
    _, probe_rng, gap_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    n_hours = len(state["times"])
    # Each probe has its own calibration offset, and some single readings are lost.
    bias = probe_rng.normal(0.0, 1.0, (len(table), 3, 1))
    moisture = state["soil_moisture_pct"] + bias + probe_rng.normal(0.0, 0.15, state["soil_moisture_pct"].shape)
    missing = _dropouts(gap_rng, len(table), n_hours, dropout_rate)[:, None, :] | (gap_rng.random(moisture.shape) < 0.003)

    frames = []
    for index, vineyard in enumerate(table.itertuples(index=False)):
        for probe, depth in enumerate(vineyard.depths):
            keep = ~missing[index, probe]
            frames.append(pd.DataFrame({
                "sensor_id": f"{vineyard.station}-P{depth:03d}",
                **{name: getattr(vineyard, name) for name in
                   ("vineyard", "appellation", "commune", "insee_code", "department", "longitude", "latitude")},
                "depth_cm": depth,
                "time_start": state["times"][keep],
                "soil_moisture_pct": np.clip(moisture[index, probe, keep], 0.0, 60.0).round(1),
                "air_temperature_c": state["air_temperature_c"][index, keep].round(1),
                "battery_v": state["battery_v"][index, keep].round(2),
            }))
    frame = pd.concat(frames, ignore_index=True)
    for name in ("sensor_id", "vineyard", "appellation", "commune", "insee_code", "department"):
        frame[name] = frame[name].astype("string")
    frame["depth_cm"] = frame["depth_cm"].astype("Int64")
    return frame[SCHEMA.names]


def generate(size: str = "tiny", seed: int = 0) -> pd.DataFrame:
    """Synthetic ``agri_sensors`` table of a named size.

    Parameters
    ----------
    size
        One of ``SIZES``: ``"tiny"`` (2 vineyards, 3 summer days), ``"demo"`` (24
        vineyards, July to September 2024) or ``"full"`` (24 vineyards, 2024).
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
    return generate_sensors(vineyards(options["vineyards"]), options["start"], options["days"], seed=seed)
