"""Benchmark cases for rolling statistics, daily means and MDA8 (occidata.compute).

Inputs are synthetic arrays shaped like the air quality dataset (47 stations,
hourly, 2 % missing hours, daily and seasonal cycles like
``occidata.datasets.air_quality.generate_hourly``): 90 days at demo size,
366 days at full size; at full size the rolling statistics also run on a long
series case shaped like the building meters (150 meters x a leap year of
15-minute steps, 35 136 steps, window 96 = one day).

"numpy_best" for the rolling percentile sorts the sliding windows
(``sliding_window_view`` + ``np.sort`` + gather at the interpolated rank):
``np.nanpercentile`` over the window axis falls back to a Python-level
``apply_along_axis`` per window and is about 150x slower (5 s at demo size),
so it would not be a fair "best" way.
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr
from _compute_case import Case

from occidata.compute._xp import gpu_usable
from occidata.compute.air_limits import daily_mean, mda8
from occidata.compute.rolling import rolling_mean, rolling_percentile

STATIONS = 47
DAYS = {"demo": 90, "full": 366}


def _hourly(stations: int, days: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    hours = np.arange(days * 24)
    hour = hours % 24
    season = np.cos(2 * np.pi * (hours / 24 - 15) / 365.25)
    shape = (0.5 + 0.9 * np.exp(-((hour - 15) ** 2) / 10)) * (1 - 0.45 * season)
    level = rng.uniform(40.0, 90.0, (stations, 1))
    x = level * shape * rng.lognormal(0.0, 0.25, (stations, len(hours)))
    x[rng.random(x.shape) < 0.02] = np.nan
    return np.round(x, 1)


def _long(series: int = 150, steps: int = 35_136, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(steps)
    daily = 1.0 + 0.8 * np.exp(-(((t % 96) - 50) ** 2) / 200.0)
    x = rng.uniform(5.0, 50.0, (series, 1)) * daily * rng.lognormal(0.0, 0.2, (series, steps))
    x[rng.random(x.shape) < 0.01] = np.nan
    return x


# --------------------------------------------------------------------------- best plain NumPy


def _np_rolling_mean(x, window, min_periods):
    """Cumulative sums of the values (NaN as 0) and of the valid counts."""
    valid = ~np.isnan(x)
    zeros = np.zeros(x.shape[:-1] + (1,))
    cs = np.concatenate([zeros, np.cumsum(np.where(valid, x, 0.0), axis=-1)], axis=-1)
    cc = np.concatenate([zeros, np.cumsum(valid, axis=-1)], axis=-1)
    n = x.shape[-1]
    hi = np.arange(1, n + 1)
    lo = np.maximum(hi - window, 0)
    s = cs[..., hi] - cs[..., lo]
    c = cc[..., hi] - cc[..., lo]
    return np.where(c >= min_periods, s / np.maximum(c, 1), np.nan)


def _np_rolling_percentile(x, window, q, min_periods, rows_per_block=8):
    """Sliding windows sorted (NaN last), read at the linear rank of the valid values."""
    padded = np.concatenate([np.full(x.shape[:-1] + (window - 1,), np.nan), x], axis=-1)
    out = np.empty_like(x)
    for r in range(0, x.shape[0], rows_per_block):  # bounds the (rows, n, window) copy
        win = np.sort(np.lib.stride_tricks.sliding_window_view(padded[r : r + rows_per_block], window, axis=-1), axis=-1)
        k = (~np.isnan(win)).sum(axis=-1)
        rank = np.maximum(k - 1, 0) * (q / 100.0)
        lo = np.floor(rank).astype(np.intp)
        hi = np.minimum(lo + 1, np.maximum(k - 1, 0))
        a = np.take_along_axis(win, lo[..., None], axis=-1)[..., 0]
        b = np.take_along_axis(win, hi[..., None], axis=-1)[..., 0]
        out[r : r + rows_per_block] = np.where(k >= min_periods, a + (b - a) * (rank - lo), np.nan)
    return out


def _np_daily_mean(x):
    days = x.reshape(x.shape[0], -1, 24)
    count = (~np.isnan(days)).sum(axis=-1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # days with no valid hour
        return np.where(count >= 18, np.nanmean(days, axis=-1), np.nan)


def _np_mda8(x):
    """8-hour means from cumulative sums (hours before the series missing), then per-day nanmax."""
    valid = ~np.isnan(x)
    zeros = np.zeros((x.shape[0], 1))
    cs = np.concatenate([zeros, np.cumsum(np.where(valid, x, 0.0), axis=-1)], axis=-1)
    cc = np.concatenate([zeros, np.cumsum(valid, axis=-1)], axis=-1)
    hi = np.arange(1, x.shape[-1] + 1)
    lo = np.maximum(hi - 8, 0)
    c = cc[:, hi] - cc[:, lo]
    means = np.where(c >= 6, (cs[:, hi] - cs[:, lo]) / np.maximum(c, 1), np.nan)
    days = means.reshape(x.shape[0], -1, 24)
    count = (~np.isnan(days)).sum(axis=-1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.where(count >= 18, np.nanmax(days, axis=-1), np.nan)


# --------------------------------------------------------------------------- xarray's own way


def _xr_daily_mean(da):
    daily = da.resample(time="1D")
    return daily.mean().where(daily.count() >= 18).values


def _xr_mda8(da):
    means = da.rolling(time=8, min_periods=6).mean()
    daily = means.resample(time="1D")
    return daily.max().where(daily.count() >= 18).values


def _gpu_call(func, *args, **kwargs):
    import cupy

    def call():
        out = func(*args, **kwargs)
        cupy.cuda.Device().synchronize()
        return out

    return call


# --------------------------------------------------------------------------- cases


def _rolling_cases(x, label, window, min_periods, q, with_xr_percentile, gpu):
    da = xr.DataArray(x, dims=("series", "time"))
    xg = None
    if gpu:
        import cupy

        xg = cupy.asarray(x)
    return [
        Case(
            analysis="rolling_mean",
            shape=f"{label}, window {window}",
            numba=lambda: rolling_mean(x, window, min_periods=min_periods, backend="numba"),
            numpy_best=lambda: _np_rolling_mean(x, window, min_periods),
            xarray=lambda: da.rolling(time=window, min_periods=min_periods).mean().values,
            cupy=_gpu_call(rolling_mean, xg, window, min_periods=min_periods, backend="cupy") if gpu else None,
            sequential=True,
            bytes_read=x.nbytes,
        ),
        Case(
            analysis="rolling_percentile",
            shape=f"{label}, window {window}, q {q:g}",
            numba=lambda: rolling_percentile(x, window, q, min_periods=min_periods, backend="numba"),
            numpy_best=lambda: _np_rolling_percentile(x, window, q, min_periods),
            # np.nanpercentile per window under xarray's reduce: seconds even at demo size
            xarray=(
                lambda: da.rolling(time=window, min_periods=min_periods)
                .reduce(np.nanpercentile, q=q)
                .values
            )
            if with_xr_percentile
            else None,
            cupy=_gpu_call(rolling_percentile, xg, window, q, min_periods=min_periods, backend="cupy")
            if gpu
            else None,
            sequential=True,
            bytes_read=x.nbytes,
        ),
    ]


def cases(size: str) -> list[Case]:
    """Benchmark cases for size "demo" (47 stations x 90 days) or "full" (x 366 days + long series)."""
    if size not in DAYS:
        raise ValueError(f"size={size!r}: use 'demo' or 'full'")
    gpu = gpu_usable()
    days = DAYS[size]
    x = _hourly(STATIONS, days)
    time = np.datetime64("2024-01-01T00", "h") + np.arange(days * 24)
    da = xr.DataArray(x, dims=("station", "time"), coords={"time": time})
    label = f"{STATIONS} stations x {days} days hourly"
    xg = None
    if gpu:
        import cupy

        xg = cupy.asarray(x)

    out = _rolling_cases(x, label, 24, 18, 95.0, with_xr_percentile=size == "demo", gpu=gpu)
    if size == "full":
        long = _long()
        out += _rolling_cases(
            long, "150 meters x 35136 15-min steps", 96, 72, 2.5, with_xr_percentile=False, gpu=gpu
        )
    out += [
        Case(
            analysis="daily_mean",
            shape=label,
            numba=lambda: daily_mean(x, backend="numba"),
            numpy_best=lambda: _np_daily_mean(x),
            xarray=lambda: _xr_daily_mean(da),
            cupy=_gpu_call(daily_mean, xg, backend="cupy") if gpu else None,
            bytes_read=x.nbytes,
        ),
        Case(
            analysis="mda8",
            shape=label,
            numba=lambda: mda8(x, backend="numba"),
            numpy_best=lambda: _np_mda8(x),
            xarray=lambda: _xr_mda8(da),
            cupy=_gpu_call(mda8, xg, backend="cupy") if gpu else None,
            sequential=True,
            bytes_read=x.nbytes,
        ),
    ]
    return out
