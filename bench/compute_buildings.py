"""Benchmark cases for building meters and traffic counters (occidata.compute).

Inputs come from the dataset generators, pivoted to (series, steps):

- building meters, 40 buildings of 15-minute steps: 90 days (demo, 8 640 steps)
  or the leap year 2024 (full, 35 136 steps), water for the night flow and
  leaks, electricity and occupancy for the after-hours load;
- traffic counters, 150 counters of hourly counts: 30 days (demo) or 366 days
  (full); the hour of the week is counted from the first step (a Monday
  00:00), so the reshape to (counters, weeks, 168) of "numpy_best" groups
  exactly as ours does.

"numpy_best" is the vectorised NumPy a researcher would write: a reshape to
(meters, days, 96) and ``nanmin`` over the night slice for the night flow; a
reshape to (meters, weeks, 7 x 96) and percentiles and medians by sorting
(NaN last) and reading the interpolated rank for the after-hours load
(``np.nanpercentile`` along an axis with NaN runs ``apply_along_axis`` in
Python and is many times slower, so it would not be a fair best); for the
traffic anomalies a reshape to (counters, weeks, 168) and ``nanmedian`` for the
median and MAD (whole series), and ``sliding_window_view`` over the weeks plus
the same sort-and-rank for the past-only 8-week reference.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import xarray as xr
from _compute_case import Case

from occidata.compute._xp import gpu_usable
from occidata.compute.buildings import after_hours_load, detect_leaks, minimum_night_flow
from occidata.compute.traffic import MAD_SCALE, MEANAD_SCALE, traffic_anomalies
from occidata.datasets import building_meters, traffic

STEPS = 96
NIGHT = (4, 12)  # 01:00-03:00 UTC = 02:00-04:00 local in winter


def _meters(size: str) -> dict:
    readings = building_meters.generate(size)
    buildings = readings["building_id"].nunique()
    times = pd.DatetimeIndex(readings["time_start"].iloc[: len(readings) // buildings]).tz_localize(None).rename(None)
    return {
        "water": readings["water_l"].to_numpy().reshape(buildings, -1),
        "electricity": readings["electricity_kwh"].to_numpy().reshape(buildings, -1),
        "occupied": readings["occupied"].to_numpy().reshape(buildings, -1),
        "time": times,
    }


def _counts(size: str) -> tuple[np.ndarray, np.ndarray]:
    table = traffic.generate(size)
    counters = table["counter_id"].nunique()
    counts = table["vehicles"].to_numpy(dtype=float).reshape(counters, -1)
    return counts, np.arange(counts.shape[1]) % 168


# --------------------------------------------------------------------------- best plain NumPy


def _np_mnf(water):
    m = water.shape[0]
    return np.nanmin(water.reshape(m, -1, STEPS)[:, :, NIGHT[0]:NIGHT[1]], axis=-1) * (STEPS / 24)


def _np_leaks(mnf, threshold, nights):
    """Runs by the edges of ``mnf > threshold``, baseline by nanmedian, litres per run."""
    above = np.pad(mnf > threshold, ((0, 0), (1, 1)))
    change = np.diff(above.astype(np.int8), axis=1)
    rows, starts = np.nonzero(change == 1)
    _, ends = np.nonzero(change == -1)
    keep = ends - starts >= nights
    marks = np.zeros((mnf.shape[0], mnf.shape[1] + 1), dtype=np.int64)
    np.add.at(marks, (rows[keep], starts[keep]), 1)
    np.add.at(marks, (rows[keep], ends[keep]), -1)
    leaking = np.cumsum(marks, axis=1)[:, :-1] > 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        base = np.nanmedian(np.where(leaking, np.nan, mnf), axis=1)
    base = np.where(np.isnan(base), threshold, np.minimum(base, threshold))
    litres = np.where(leaking, (mnf - base[:, None]) * 24, 0.0)
    cum = np.concatenate([np.zeros((mnf.shape[0], 1)), np.cumsum(litres, axis=1)], axis=1)
    return leaking, cum[rows[keep], ends[keep]] - cum[rows[keep], starts[keep]]


def _sorted_rank(sorted_values, valid, q):
    """numpy's linear percentile ``q`` (0-1) of sorted rows with NaN last, ``valid`` values each."""
    rank = np.maximum(valid - 1, 0) * q
    lo = np.floor(rank).astype(np.intp)
    hi = np.minimum(lo + 1, np.maximum(valid - 1, 0))
    a = np.take_along_axis(sorted_values, lo[..., None], axis=-1)[..., 0]
    b = np.take_along_axis(sorted_values, hi[..., None], axis=-1)[..., 0]
    out = a + (b - a) * (rank - lo)
    return np.where(valid > 0, out, np.nan)


def _np_after_hours(load, occupied, first_weekday=0, q=2.5, factor=1.5):
    m, n = load.shape
    lead = first_weekday * STEPS
    weeks = -(-(n + lead) // (7 * STEPS))
    x = np.full((m, weeks * 7 * STEPS), np.nan)
    x[:, lead:lead + n] = load
    idle = np.full_like(x, np.nan)
    idle[:, lead:lead + n] = np.where(occupied, np.nan, load)
    x = x.reshape(m, weeks, 7 * STEPS)
    idle = idle.reshape(m, weeks, 7 * STEPS)
    work = np.sort(x[:, :, : 5 * STEPS], axis=-1)
    base = _sorted_rank(work, (~np.isnan(work)).sum(-1), q / 100)
    out = [base]
    for part in (idle[:, :, 5 * STEPS:], idle[:, :, : 5 * STEPS]):
        srt = np.sort(part, axis=-1)
        median = _sorted_rank(srt, (~np.isnan(srt)).sum(-1), 0.5)
        out.append(median / base)
        out.append(np.nansum(np.maximum(part - base[..., None], 0.0), axis=-1))
    return out, (out[1] >= factor) | (out[3] >= factor)


def _np_traffic_whole(counts, threshold=3.5):
    c, n = counts.shape
    weeks = -(-n // 168)
    table = np.full((c, weeks * 168), np.nan)
    table[:, :n] = counts
    table = table.reshape(c, weeks, 168)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        median = np.nanmedian(table, axis=1, keepdims=True)
        dev = np.abs(table - median)
        mad = np.nanmedian(dev, axis=1, keepdims=True)
        scale = np.where(mad > 0, MAD_SCALE * mad, MEANAD_SCALE * np.nanmean(dev, axis=1, keepdims=True))
        z = ((table - median) / scale).reshape(c, -1)[:, :n]
    return z, np.abs(z) >= threshold


def _np_traffic_past(counts, weeks=8, min_history=3, threshold=3.5):
    c, n = counts.shape
    total = -(-n // 168)
    table = np.full((c, (total + weeks) * 168), np.nan)
    table[:, weeks * 168: weeks * 168 + n] = counts
    table = table.reshape(c, total + weeks, 168).transpose(0, 2, 1)  # (counters, hour, week)
    win = np.lib.stride_tricks.sliding_window_view(table, weeks, axis=-1)[:, :, :total]
    srt = np.sort(win, axis=-1)
    k = (~np.isnan(srt)).sum(-1)
    median = _sorted_rank(srt, k, 0.5)
    dev = np.sort(np.abs(win - median[..., None]), axis=-1)
    mad = _sorted_rank(dev, k, 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        meanad = np.nanmean(dev, axis=-1)
    scale = np.where(mad > 0, MAD_SCALE * mad, MEANAD_SCALE * meanad)
    scale = np.where(k >= min_history, scale, np.nan)
    x = table[:, :, weeks:]
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (x - median) / scale
    z = z.transpose(0, 2, 1).reshape(c, -1)[:, :n]
    return z, np.abs(z) >= threshold


# --------------------------------------------------------------------------- xarray's own


def _xr_mnf(flow):
    hour = flow["time"].dt.hour
    night = flow.isel(time=np.flatnonzero(((hour >= 1) & (hour < 3)).values))
    return night.resample(time="1D").min() * (STEPS / 24)


def _xr_after_hours(load, occupied, factor=1.5):
    day = load["time"].dt.dayofweek
    week = ("time", (np.arange(load.sizes["time"]) // (7 * STEPS)))  # series starts on a Monday
    load = load.assign_coords(week=week)
    base = load.where(day < 5).groupby("week").quantile(0.025, dim="time")
    idle = load.where(~occupied)
    weekend = idle.where(day >= 5).groupby("week").median() / base
    night = idle.where(day < 5).groupby("week").median() / base
    return base, (weekend >= factor) | (night >= factor)


def _xr_traffic(counts):
    how = counts["time"].dt.dayofweek * 24 + counts["time"].dt.hour
    grouped = counts.groupby(how)
    median = grouped.median()
    dev = abs(grouped - median)
    mad = dev.groupby(how).median()
    z = (counts.groupby(how) - median).groupby(how) / (MAD_SCALE * mad)
    return abs(z) >= 3.5


# --------------------------------------------------------------------------- cases


def cases(size: str) -> list[Case]:
    if size not in ("demo", "full"):
        raise ValueError(f"size={size!r}: expected 'demo' or 'full'")
    meters = _meters(size)
    water, electricity, occupied = meters["water"], meters["electricity"], meters["occupied"]
    m, n = water.shape
    time = meters["time"]
    flow_xr = xr.DataArray(water, dims=("building", "time"), coords={"time": time})
    load_xr = xr.DataArray(electricity, dims=("building", "time"), coords={"time": time})
    occupied_xr = xr.DataArray(occupied, dims=("building", "time"), coords={"time": time})
    night = (NIGHT[0] / 4, NIGHT[1] / 4)
    mnf = minimum_night_flow(water, night=night, backend="numpy")
    counts, how = _counts(size)
    ctime = pd.date_range("2024-01-01", periods=counts.shape[1], freq="h")  # a Monday
    counts_xr = xr.DataArray(counts, dims=("counter", "time"), coords={"time": ctime})
    on_gpu = gpu_usable()
    if on_gpu:
        import cupy

        def sync(result):
            cupy.cuda.Device().synchronize()
            return result

        water_d, electricity_d = cupy.asarray(water), cupy.asarray(electricity)
        occupied_d, mnf_d, counts_d = cupy.asarray(occupied), cupy.asarray(mnf), cupy.asarray(counts)

    days = n // STEPS
    meters_shape = f"{m} buildings x {days} days of 15-min steps ({n} steps)"
    counts_shape = f"{counts.shape[0]} counters x {counts.shape[1]} hours"
    return [
        Case(
            analysis="minimum_night_flow",
            shape=meters_shape + ", night 02:00-04:00 local",
            numba=lambda: minimum_night_flow(water, night=night, backend="numba"),
            numpy_best=lambda: _np_mnf(water),
            xarray=lambda: _xr_mnf(flow_xr).values,
            cupy=(lambda: sync(minimum_night_flow(water_d, night=night, backend="cupy"))) if on_gpu else None,
            sequential=True,
            bytes_read=water.nbytes * (NIGHT[1] - NIGHT[0]) // STEPS,
        ),
        Case(
            analysis="detect_leaks",
            shape=f"{m} buildings x {mnf.shape[1]} nights, 2 nights above 20 l/h",
            numba=lambda: detect_leaks(mnf, 20.0, nights=2, backend="numba"),
            numpy_best=lambda: _np_leaks(mnf, 20.0, 2),
            cupy=(lambda: sync(detect_leaks(mnf_d, 20.0, nights=2, backend="cupy"))) if on_gpu else None,
            sequential=True,
        ),
        Case(
            analysis="after_hours_load",
            shape=meters_shape + ", weekly near-base (2.5th percentile) and medians",
            numba=lambda: after_hours_load(electricity, occupied, backend="numba"),
            numpy_best=lambda: _np_after_hours(electricity, occupied),
            xarray=lambda: _xr_after_hours(load_xr, occupied_xr)[1].values,
            cupy=(lambda: sync(after_hours_load(electricity_d, occupied_d, backend="cupy"))) if on_gpu else None,
            bytes_read=electricity.nbytes + occupied.nbytes,
        ),
        Case(
            analysis="traffic_anomalies",
            shape=counts_shape + ", whole-series median/MAD per hour of week",
            numba=lambda: traffic_anomalies(counts, how, backend="numba"),
            numpy_best=lambda: _np_traffic_whole(counts),
            xarray=lambda: _xr_traffic(counts_xr).values,
            cupy=(lambda: sync(traffic_anomalies(counts_d, how, backend="cupy"))) if on_gpu else None,
            bytes_read=counts.nbytes,
        ),
        Case(
            analysis="traffic_anomalies_past8w",
            shape=counts_shape + ", past 8 weeks per hour of week",
            numba=lambda: traffic_anomalies(counts, how, weeks=8, backend="numba"),
            numpy_best=lambda: _np_traffic_past(counts, 8),
            cupy=(lambda: sync(traffic_anomalies(counts_d, how, weeks=8, backend="cupy"))) if on_gpu else None,
            sequential=True,
        ),
    ]
