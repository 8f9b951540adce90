"""Benchmark cases of the heat-wave analyses: Météo-France's canicule alerts and Russo's HWMId.

Inputs are the gridded weather dataset itself (``occidata.datasets.weather.generate``: the
8 km grid over Occitanie, 39 x 54 cells of which 1 140 inside the region, NaN outside): one
year at demo size, five years (1 826 days) at full size, converted once to float64.

- ``heatwave_alerts``: ``numpy_best`` is a cumulative sum along time for the 3-day means and
  a vectorised run count (an alert day whose day before is not one starts an episode);
  ``xarray`` is ``Dataset.rolling(time=3).mean()``, the comparison and the same run count with
  ``shift``. Both produce the same outputs as ours (alert, IBMn, IBMx, alert days, episodes)
  except that they compare the means unrounded: ours rounds them to the data's 0.1 first
  (``occidata.compute.resolution``), which the baselines skip, so they do slightly less work.
- ``hwmid``: the reference period is the five-year full grid (2019-2023; the real index uses 30
  reference years, which makes the threshold step longer); the study period is the demo year at
  demo size and the same five years at full size.
  ``numpy_best`` lays the reference out as (year, 366 calendar days, point), pads the calendar
  circularly, takes 31-day ``sliding_window_view`` pools and their 90th percentile by sorting
  (NaN last) and gathering at the interpolated rank, by blocks of points to bound memory
  (``np.nanpercentile`` along an axis loops in Python per series, far slower); then the runs
  above the threshold by labels and ``np.bincount``, and the yearly maximum by
  ``np.maximum.at``. No xarray counterpart.
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr
from _compute_case import Case

from occidata.compute._xp import gpu_usable
from occidata.compute.heat import department_thresholds, heatwave_alerts
from occidata.compute.hwmid import calendar_day, hwmid
from occidata.datasets import weather

WINDOW = 3
_POINT_BLOCK = 256


def _grid(size: str):
    ds = weather.generate(size)
    tmin = ds["tmin"].values.astype(np.float64)
    tmax = ds["tmax"].values.astype(np.float64)
    thn, thx = department_thresholds(ds["department"].values)
    return ds, tmin, tmax, thn, thx


# --------------------------------------------------------------------------- best plain NumPy


def _np_heatwave(tmin, tmax, thn, thx, window=WINDOW):
    def running_mean(x):
        c = np.cumsum(x, axis=0)
        out = np.full(x.shape, np.nan)
        out[window - 1] = c[window - 1]
        out[window:] = c[window:] - c[:-window]
        out[window - 1:] /= window
        return out

    ibmn, ibmx = running_mean(tmin), running_mean(tmax)
    alert = (ibmn >= thn) & (ibmx >= thx)
    starts = alert.copy()
    starts[1:] &= ~alert[:-1]
    return alert, ibmn, ibmx, alert.sum(axis=0), starts.sum(axis=0)


def _xr_heatwave(ds, thn, thx, window=WINDOW):
    ibm = ds.rolling(time=window).mean()
    alert = (ibm["tmin"] >= thn) & (ibm["tmax"] >= thx)
    episodes = (alert & ~alert.shift(time=1, fill_value=False)).sum("time")
    return xr.Dataset({"alert": alert, "ibmn": ibm["tmin"], "ibmx": ibm["tmax"],
                       "alert_days": alert.sum("time"), "episodes": episodes})


def _np_thresholds(reference, cal, year_index, n_years, half=15, q=0.9):
    """(366, points) 90th percentiles of the circular 31-day calendar pools, all years."""
    points = reference.shape[1]
    laid = np.full((n_years, 366, points), np.nan)
    laid[year_index, cal - 1] = reference
    padded = np.concatenate([laid[:, -half:], laid, laid[:, :half]], axis=1)
    out = np.empty((366, points))
    for p0 in range(0, points, _POINT_BLOCK):
        block = padded[:, :, p0:p0 + _POINT_BLOCK]
        pools = np.lib.stride_tricks.sliding_window_view(block, 2 * half + 1, axis=1)
        # (years, 366, points, window) -> (366, points, years * window), sorted, NaN last
        pools = np.sort(pools.transpose(1, 2, 0, 3).reshape(366, block.shape[2], -1), axis=-1)
        n = (~np.isnan(pools)).sum(axis=-1)
        virtual = (n - 1) * q
        low = np.clip(np.floor(virtual).astype(np.int64), 0, None)
        high = np.minimum(low + 1, np.maximum(n - 1, 0))
        a = np.take_along_axis(pools, low[..., None], axis=-1)[..., 0]
        b = np.take_along_axis(pools, high[..., None], axis=-1)[..., 0]
        out[:, p0:p0 + _POINT_BLOCK] = np.where(n > 0, a + (b - a) * (virtual - low), np.nan)
    return out


def _np_hwmid(tmax, cal, year_index, n_years, reference, ref_cal, ref_year_index, n_ref_years,
              min_length=3):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        annual = np.stack([np.nanmax(reference[ref_year_index == y], axis=0) for y in range(n_ref_years)])
        t25, t75 = np.nanpercentile(annual, [25, 75], axis=0)
        threshold = _np_thresholds(reference, ref_cal, ref_year_index, n_ref_years)
        hot = tmax > threshold[cal - 1]
        magnitude = np.where(tmax > t25, (tmax - t25) / (t75 - t25), 0.0)
    days, points = tmax.shape
    new_year = np.r_[True, year_index[1:] != year_index[:-1]]
    starts = hot & ~np.vstack([np.zeros((1, points), bool), hot[:-1] & ~new_year[1:, None]])
    label = np.cumsum(starts.T.ravel()).reshape(points, days).T  # runs numbered point by point
    length = np.bincount(label[hot], minlength=label.max() + 1)
    total = np.bincount(label[hot], weights=magnitude[hot], minlength=label.max() + 1)
    t_start, p_start = np.nonzero(starts)
    keep = length[label[t_start, p_start]] >= min_length
    index = np.zeros((n_years, points))
    np.maximum.at(index, (year_index[t_start[keep]], p_start[keep]),
                  total[label[t_start[keep], p_start[keep]]])
    observed = np.stack([(~np.isnan(tmax[year_index == y])).any(axis=0) for y in range(n_years)])
    return np.where(observed & (t75 > t25), index, np.nan)


# --------------------------------------------------------------------------- cases


def cases(size: str) -> list[Case]:
    ds, tmin, tmax, thn, thx = _grid(size)
    days, ny, nx = tmin.shape
    ds64 = ds[["tmin", "tmax"]].astype(np.float64)
    thn_da = xr.DataArray(thn, dims=("y", "x"))
    thx_da = xr.DataArray(thx, dims=("y", "x"))
    grid = f"{days} days x {ny}x{nx} cells (8 km grid, {int((ds['department'] != 0).sum())} inside)"

    def calendar(d):
        dates = d["time"].values.astype("datetime64[D]")
        year = dates.astype("datetime64[Y]").astype(np.int64) + 1970
        return calendar_day(dates), year, *np.unique(year, return_inverse=True)

    cal, year, years, year_index = calendar(ds)
    ref_ds = ds if size == "full" else weather.generate("full")
    ref = ref_ds["tmax"].values.astype(np.float64)
    ref_cal, ref_year, ref_years, ref_year_index = calendar(ref_ds)
    flat_tmax, flat_ref = tmax.reshape(days, -1), ref.reshape(ref.shape[0], -1)

    out = [
        Case(
            analysis="heatwave_alerts",
            shape=f"{grid}, 3-day IBMn/IBMx against departmental thresholds, alert runs",
            numba=lambda: heatwave_alerts(tmin, tmax, thn, thx, backend="numba"),
            numpy_best=lambda: _np_heatwave(tmin, tmax, thn, thx),
            xarray=lambda: _xr_heatwave(ds64, thn_da, thx_da),
            sequential=True,
        ),
        Case(
            analysis="hwmid",
            shape=f"{grid}, reference {len(ref_years)} years, 31-day p90 thresholds",
            numba=lambda: hwmid(tmax, cal, year, ref, ref_cal, ref_year, backend="numba"),
            numpy_best=lambda: _np_hwmid(flat_tmax, cal, year_index, len(years),
                                         flat_ref, ref_cal, ref_year_index, len(ref_years)),
            sequential=True,
        ),
    ]
    if gpu_usable():
        import cupy

        d_tmin, d_tmax, d_thn, d_thx, d_ref = (cupy.asarray(a) for a in (tmin, tmax, thn, thx, ref))

        def cupy_alerts():
            r = heatwave_alerts(d_tmin, d_tmax, d_thn, d_thx, backend="cupy")
            cupy.cuda.Device().synchronize()
            return r

        def cupy_hwmid():
            r = hwmid(d_tmax, cal, year, d_ref, ref_cal, ref_year, backend="cupy")
            cupy.cuda.Device().synchronize()
            return r

        out[0].cupy = cupy_alerts
        out[1].cupy = cupy_hwmid
    return out
