"""Benchmark cases of the banded indices (EAQI, ATMO) and the bathing water classes.

``numpy_best`` is what a researcher would write: ``np.searchsorted`` per pollutant and a
running maximum for the indices; ``log10`` + ``nanmean`` / ``nanstd(ddof=1)`` per site for
bathing waters. Each produces the same outputs as ours (sub-indices, index, worst
pollutant; P95/P90 of both parameters and the class), except that ours rounds each
concentration to the data's 0.1 before classifying it (``occidata.compute.resolution``),
which the index baselines skip: they differ within 0.05 of a band edge and do slightly less work.
"""

from __future__ import annotations

import warnings

import numpy as np
from _compute_case import Case

from occidata.compute._xp import gpu_usable
from occidata.compute.air_indices import POLLUTANTS, atmo_index, eaqi, index_scheme
from occidata.compute.bathing_water import bathing_water_class, rules

# size -> (stations, days) for hourly station data; (days, ny, nx) for a daily grid; (sites, samples).
SIZES = {
    "demo": {"stations": (47, 90), "grid": (30, 200, 200), "bathing": (1_000, 80)},
    "full": {"stations": (47, 366), "grid": (365, 200, 200), "bathing": (10_000, 80)},
}
# Typical levels (µg/m³, gamma mean) so that every band occurs.
_MEAN = {"PM2.5": 12.0, "PM10": 22.0, "NO2": 25.0, "O3": 70.0, "SO2": 4.0}


def _concentrations(shape, seed=0, missing=0.03):
    rng = np.random.default_rng(seed)
    out = {}
    for p in POLLUTANTS:
        a = rng.gamma(2.0, _MEAN[p] / 2.0, shape)
        a[rng.random(shape) < missing] = np.nan
        out[p] = a
    return out


def _bands_numpy_best(values: dict, limits: dict):
    """Sub-indices, overall index and worst pollutant the plain NumPy way."""
    subs, index, worst = {}, None, None
    for i, (p, a) in enumerate(values.items()):
        b = (np.searchsorted(limits[p], a, side="left") + 1).astype(np.int8)
        b[np.isnan(a)] = 0
        subs[p] = b
        if index is None:
            index, worst = b.copy(), np.where(b > 0, 0, -1).astype(np.int8)
        else:
            worse = b > index
            worst[worse] = i
            np.maximum(index, b, out=index)
    return index, worst, subs


def _atmo_numpy_best(hourly: dict, limits: dict, statistic: dict):
    daily = {}
    for p, a in hourly.items():
        days = a.reshape(a.shape[:-1] + (a.shape[-1] // 24, 24))
        count = np.count_nonzero(~np.isnan(days), axis=-1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN days
            agg = np.nanmax(days, axis=-1) if statistic[p] == "max" else np.nanmean(days, axis=-1)
        agg[count < 18] = np.nan
        daily[p] = agg
    return _bands_numpy_best(daily, limits)


def _atmo_xarray(ds, limits: dict, statistic: dict):
    import xarray as xr

    out = {}
    for p in ds.data_vars:
        days = ds[p].coarsen(time=24)
        agg = days.max() if statistic[p] == "max" else days.mean()
        agg = agg.where(days.count() >= 18)
        out[p] = xr.apply_ufunc(lambda a, lim=np.asarray(limits[p]): np.where(
            np.isnan(a), 0, np.searchsorted(lim, a, side="left") + 1).astype(np.int8), agg)
    index = xr.concat(list(out.values()), dim="pollutant")
    return index.max("pollutant"), index.argmax("pollutant")


def _bathing_numpy_best(ent, eco, season, limits, last):
    z95, z90 = rules()["z95"], rules()["z90"]
    use = (season > last - 4) & (season <= last)
    out, codes, counts = [], [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for k, x in enumerate((ent, eco)):
            lx = np.log10(np.where(use, np.where(x == 0, 15.0, x), np.nan))
            n = np.count_nonzero(~np.isnan(lx), axis=1)
            mu = np.nanmean(lx, axis=1)
            sd = np.nanstd(lx, axis=1, ddof=1)
            p95, p90 = 10 ** (mu + z95 * sd), 10 ** (mu + z90 * sd)
            lim = limits[:, 3 * k:3 * k + 3]
            codes.append(np.select([p95 <= lim[:, 0], p95 <= lim[:, 1], p90 <= lim[:, 2]], [1, 2, 3], 4))
            counts.append(n)
            out += [p95, p90]
    n = np.minimum(*counts)
    code = np.where(n >= 16, np.maximum(*codes), 0)
    return (*out, np.array(["insufficient samples", "excellent", "good", "sufficient", "poor"])[code], n)


def _sync(cupy):
    cupy.cuda.Device().synchronize()


def cases(size: str) -> list[Case]:
    plan = SIZES[size]
    eaqi_limits = {p: np.array(v) for p, v in index_scheme("eaqi")["limits"].items()}
    atmo = index_scheme("atmo")
    atmo_limits = {p: np.array(v) for p, v in atmo["limits"].items()}
    on_gpu = gpu_usable()
    cupy = None
    if on_gpu:
        import cupy
    out = []

    # EAQI at stations, every hour of the period.
    stations, days = plan["stations"]
    hourly = _concentrations((stations, days * 24), seed=1)
    nbytes = sum(a.nbytes for a in hourly.values())
    gpu_hourly = {p: cupy.asarray(a) for p, a in hourly.items()} if on_gpu else None

    def eaqi_cupy(data=gpu_hourly):
        r = eaqi(data, backend="cupy")
        _sync(cupy)
        return r

    out.append(Case(
        analysis="eaqi", shape=f"5 pollutants x {stations} stations x {days * 24} h",
        numba=lambda: eaqi(hourly, backend="numba"),
        numpy_best=lambda: _bands_numpy_best(hourly, eaqi_limits),
        cupy=eaqi_cupy if on_gpu else None, bytes_read=nbytes,
    ))

    # EAQI on a daily grid (e.g. a year of modelled daily values on a 200 x 200 grid).
    grid = _concentrations(plan["grid"], seed=2, missing=0.01)
    gbytes = sum(a.nbytes for a in grid.values())
    gpu_grid = {p: cupy.asarray(a) for p, a in grid.items()} if on_gpu else None

    def eaqi_grid_cupy(data=gpu_grid):
        r = eaqi(data, backend="cupy")
        _sync(cupy)
        return r

    d, ny, nx = plan["grid"]
    out.append(Case(
        analysis="eaqi (grid)", shape=f"5 pollutants x {d} days x {ny} x {nx} grid",
        numba=lambda: eaqi(grid, backend="numba"),
        numpy_best=lambda: _bands_numpy_best(grid, eaqi_limits),
        cupy=eaqi_grid_cupy if on_gpu else None, bytes_read=gbytes,
    ))

    # ATMO from hourly station data: daily mean / max with the 18-hour rule, then classes.
    def atmo_cupy(data=gpu_hourly):
        r = atmo_index(data, backend="cupy")
        _sync(cupy)
        return r

    ds = None
    try:
        import xarray as xr

        ds = xr.Dataset({p: (("station", "time"), a) for p, a in hourly.items()})
    except ImportError:  # xarray is a dependency; keep the case usable without it anyway
        pass
    out.append(Case(
        analysis="atmo_index", shape=f"5 pollutants x {stations} stations x {days * 24} h -> {days} days",
        numba=lambda: atmo_index(hourly, backend="numba"),
        numpy_best=lambda: _atmo_numpy_best(hourly, atmo_limits, atmo["statistic"]),
        xarray=(lambda: _atmo_xarray(ds, atmo_limits, atmo["statistic"])) if ds is not None else None,
        cupy=atmo_cupy if on_gpu else None, bytes_read=nbytes,
    ))

    # Bathing water classes: many sites, 8 seasons of 10 samples, the last 4 assessed.
    sites, n = plan["bathing"]
    rng = np.random.default_rng(3)
    level = rng.normal(1.6, 0.5, (sites, 1))
    ent = np.maximum(np.round(10 ** (level + rng.normal(0, 0.5, (sites, n)))), 15.0)
    eco = np.maximum(np.round(10 ** (level + 0.4 + rng.normal(0, 0.5, (sites, n)))), 15.0)
    ent[rng.random((sites, n)) < 0.05] = np.nan
    season = np.tile(np.repeat(np.arange(2017, 2017 + n // 10), 10), (sites, 1)).astype(float)
    types = np.where(rng.random(sites) < 0.8, "coastal", "inland")
    limits = np.stack([rules()["limits"][t] for t in types])
    if on_gpu:
        g_ent, g_eco, g_season = cupy.asarray(ent), cupy.asarray(eco), cupy.asarray(season)

    def bathing_cupy():
        r = bathing_water_class(g_ent, g_eco, types, season=g_season, backend="cupy")
        _sync(cupy)
        return r

    out.append(Case(
        analysis="bathing_water_class", shape=f"{sites} sites x {n} samples (8 seasons, last 4 used)",
        numba=lambda: bathing_water_class(ent, eco, types, season=season, backend="numba"),
        numpy_best=lambda: _bathing_numpy_best(ent, eco, season, limits, 2017 + n // 10 - 1),
        cupy=bathing_cupy if on_gpu else None, bytes_read=ent.nbytes + eco.nbytes + season.nbytes,
    ))
    return out
