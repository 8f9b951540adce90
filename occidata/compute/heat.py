"""Heat waves: Météo-France's departmental canicule criterion and Russo's HWMId.

- :func:`heatwave_alerts`: the biometeorological indicators IBMn / IBMx (running means of
  the daily minimum and maximum temperature over ``window`` days, 3 for Météo-France) and the
  days on which both reach the department's thresholds, with per-point counts of alert days and
  of episodes. :func:`department_thresholds` turns a grid of department codes into the two
  threshold grids (the thresholds are data: ``data/heatwave_thresholds.yaml``);
  :func:`heatwave_alerts_xr` runs it on a gridded dataset chunk by chunk.
- :func:`hwmid`: the Heat Wave Magnitude Index daily of Russo et al. (2015), per year, with
  :func:`hwmid_xr` for DataArrays with a time coordinate and :func:`calendar_day` for the
  366-day calendar it uses.

Daily values lie on axis 0 (time), consecutive days, any trailing spatial shape ((time,
station) or (time, y, x)). Temperatures in °C, float64 throughout; NaN is a missing value.
"""

from __future__ import annotations

import functools
import math
import warnings
from importlib import resources
from typing import Any, NamedTuple

import numba
import numpy as np
import yaml

from occidata.compute._xp import array_module, require_cupy, run_backend, to_host
from occidata.compute.checks import (
    as_float_array,
    check_length,
    check_not_all_nan,
    check_positive_int,
    check_same_shape,
)

__all__ = [
    "HWMId",
    "HeatwaveAlerts",
    "calendar_day",
    "department_thresholds",
    "heatwave_alerts",
    "heatwave_alerts_xr",
    "heatwave_thresholds",
    "hwmid",
    "hwmid_xr",
]

# Points handled together by one Numba task (HWMId kernels, heat-wave alerts): the kernels
# walk time in the outer loop and the points of a block in the inner one, so that a (time,
# point) array is read row by row (C order) instead of one strided column per point.
_BLOCK = 64
_HEAT_BLOCK = 256

#: Days of a 366-day calendar year: :func:`calendar_day` numbers Jan 1 .. Dec 31 as 1 .. 366,
#: Feb 29 being day 60 and Mar 1 day 61 in every year.
CALENDAR_DAYS = 366
_MONTH_START = np.array([0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335])


# --------------------------------------------------------------------------- thresholds (data)


@functools.cache
def _threshold_table() -> dict[str, Any]:
    text = resources.files("occidata.compute").joinpath("data/heatwave_thresholds.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def heatwave_thresholds() -> dict[str, dict[str, Any]]:
    """Météo-France's heat-wave thresholds of the 13 departments of Occitanie.

    Returns
    -------
    dict
        ``{"09": {"name": "Ariège", "tmin": 19.0, "tmax": 34.0, "verified": True, ...}, ...}``
        keyed by department code: IBMn threshold ``tmin`` and IBMx threshold ``tmax`` in °C,
        and whether two independent sources agree on them (``verified``). The sources are in
        ``data/heatwave_thresholds.yaml``.
    """
    table = _threshold_table()["departments"]
    return {
        code: {**entry, "tmin": float(entry["tmin"]), "tmax": float(entry["tmax"])}
        for code, entry in table.items()
    }


def department_thresholds(department_mask: Any, unknown: str = "raise") -> tuple[Any, Any]:
    """The IBMn and IBMx threshold grids of a grid of department codes.

    Parameters
    ----------
    department_mask
        Integer department codes (9 for Ariège, 31 for Haute-Garonne...), 0 outside any
        department: the ``department`` variable of ``occidata.datasets.weather``. A NumPy or
        CuPy array, or an xarray DataArray.
    unknown
        What a non-zero code missing from the table means: ``"raise"`` (a ValueError) or
        ``"nan"`` (no threshold, so no alert there; for a grid wider than Occitanie).

    Returns
    -------
    tuple
        ``(tmin_threshold, tmax_threshold)`` in °C, float64, of the mask's shape (DataArrays
        with the mask's coordinates when it is one); NaN where the code is 0 (or unknown with
        ``unknown="nan"``).

    Raises
    ------
    ValueError
        ``department_mask`` holds a code that is not in the table (with ``unknown="raise"``)
        or is not made of integers; ``unknown`` is not "raise" or "nan".
    """
    if unknown not in ("raise", "nan"):
        raise ValueError(f"unknown={unknown!r} is not known; use one of 'raise', 'nan'")
    try:
        import xarray as xr
    except ImportError:  # pragma: no cover - xarray is a dependency
        xr = None
    if xr is not None and isinstance(department_mask, xr.DataArray):
        if department_mask.chunks is not None:
            # Dask-backed: look up block by block, lazily (a bad code is reported on compute).
            grids = [
                xr.apply_ufunc(lambda m, i=i: department_thresholds(m, unknown)[i], department_mask,
                               dask="parallelized", output_dtypes=[np.float64])
                for i in (0, 1)
            ]
        else:
            values = department_thresholds(department_mask.values, unknown)
            grids = [department_mask.copy(data=v) for v in values]
        return (
            grids[0].rename("tmin_threshold").assign_attrs(units="degC"),
            grids[1].rename("tmax_threshold").assign_attrs(units="degC"),
        )
    xp = array_module(department_mask)
    codes = xp.asarray(department_mask)
    if codes.dtype.kind == "f":
        finite = codes[xp.isfinite(codes)]
        if bool(to_host((finite != xp.round(finite)).any())):
            raise ValueError("department_mask: department codes must be integers (0 outside)")
        codes = xp.where(xp.isfinite(codes), codes, 0)
    elif codes.dtype.kind not in "iu":
        raise ValueError(f"department_mask: expected integer department codes, got dtype {codes.dtype}")
    codes = codes.astype(np.int64)
    if bool(to_host((codes < 0).any())):
        raise ValueError("department_mask: negative department code (0 marks outside any department)")
    table = heatwave_thresholds()
    known = {int(code): entry for code, entry in table.items()}
    present = {int(c) for c in np.unique(to_host(codes))} - {0}
    missing = sorted(present - set(known))
    if missing and unknown == "raise":
        raise ValueError(
            f"department_mask: code(s) {missing} have no heat-wave thresholds; the table covers "
            f"{', '.join(sorted(table))} (0 = outside); pass unknown='nan' to leave them without alert"
        )
    lookup_size = max([*known, *present, 0]) + 1
    tmin_lut = np.full(lookup_size, np.nan)
    tmax_lut = np.full(lookup_size, np.nan)
    for code, entry in known.items():
        tmin_lut[code], tmax_lut[code] = entry["tmin"], entry["tmax"]
    return xp.asarray(tmin_lut)[codes], xp.asarray(tmax_lut)[codes]


# --------------------------------------------------------------------------- heatwave_alerts


class HeatwaveAlerts(NamedTuple):
    """Result of :func:`heatwave_alerts`.

    ``alert``, ``ibmn`` and ``ibmx`` have the input's shape (time, ...); ``alert_days`` and
    ``episodes`` the spatial shape (...).
    """

    alert: Any       # bool: IBMn >= tmin threshold and IBMx >= tmax threshold
    ibmn: Any        # running mean of Tmin over the window ending that day (NaN before it is full)
    ibmx: Any        # running mean of Tmax, likewise
    alert_days: Any  # float64: number of alert days per point (NaN: no threshold or no full window)
    episodes: Any    # float64: number of runs of consecutive alert days per point (NaN likewise)


def _spatial_threshold(name: str, value: Any, spatial: tuple[int, ...]) -> Any:
    """``value`` as float64 broadcast to the spatial shape, flattened to (points,)."""
    th = as_float_array(name, value)
    xp = array_module(th)
    try:
        return xp.ascontiguousarray(xp.broadcast_to(th, spatial)).reshape(-1)
    except ValueError:
        raise ValueError(
            f"{name}: shape {tuple(th.shape)} does not broadcast to the spatial shape {spatial} "
            "(the temperatures' shape without the time axis)"
        ) from None


def heatwave_alerts(
    tmin: Any,
    tmax: Any,
    tmin_threshold: Any,
    tmax_threshold: Any,
    window: int = 3,
    backend: str = "auto",
) -> HeatwaveAlerts:
    """Météo-France's departmental heat-wave (canicule) criterion on daily temperatures.

    IBMn and IBMx are the ``window``-day running means of the daily minimum and maximum
    temperature; a day is an alert day when IBMn >= ``tmin_threshold`` **and** IBMx >=
    ``tmax_threshold`` (thresholds reached or exceeded).

    Parameters
    ----------
    tmin, tmax
        Daily minimum and maximum temperature (°C), time on axis 0, consecutive days, any
        trailing spatial shape, the same shape for both. ``tmin > tmax`` on a day is not
        checked (it is not an error here).
    tmin_threshold, tmax_threshold
        The department's IBMn and IBMx thresholds (°C): a scalar or an array broadcastable to
        the spatial shape (see :func:`department_thresholds`). NaN = no department there: no
        alert.
    window
        Days in the running mean; 3 for Météo-France.
    backend
        "auto", "numpy", "numba" or "cupy".

    Returns
    -------
    HeatwaveAlerts
        ``alert`` (bool), ``ibmn``, ``ibmx`` (time, ...) and per point ``alert_days`` and
        ``episodes`` (the number of runs of consecutive alert days).

    Raises
    ------
    ValueError
        Empty or all-NaN temperatures, ``tmin`` and ``tmax`` of different shapes, a threshold
        that does not broadcast to the spatial shape, ``window`` not a positive integer or
        longer than the series.

    Notes
    -----
    **Trailing window.** The running mean is assigned to the last day of its window: IBM on
    day d is the mean of days d-window+1 .. d, and the first ``window - 1`` days have NaN
    indicators and no alert. This is the observation view (a heat wave is declared once its
    days have been measured). Météo-France's vigilance for day d uses the *forecast* mean of
    days d, d+1, d+2: that is this result shifted back by ``window - 1`` days
    (``alert[d + window - 1]``).

    **NaN rule.** A window with a missing day has NaN indicators and is not an alert day, so
    a missing day ends an episode. ``alert_days`` and ``episodes`` are NaN at points without
    a threshold (NaN) or without a single complete window; they are counts elsewhere.

    **Arithmetic.** Every backend sums a window's days in the same order (oldest first) and
    divides by ``window``, so a mean exactly at a threshold is an alert on every backend; the
    window is recomputed for each day rather than updated as a running sum (whose rounding
    drift could move a mean across the threshold), which costs ``window`` additions a day.

    Source: Système d'alerte canicule et santé (InVS, now Santé publique France, with
    Météo-France, 2004-): IBMn/IBMx, 3-day means against departmental thresholds.

    Examples
    --------
    >>> import numpy as np
    >>> r = heatwave_alerts(np.array([20., 21, 22, 23, 18]), np.array([34., 36, 38, 37, 30]),
    ...                     21.0, 36.0, backend="numpy")
    >>> r.alert.tolist(), float(r.episodes)
    ([False, False, True, True, False], 1.0)
    """
    window = check_positive_int("window", window)
    tn = as_float_array("tmin", tmin)
    tx = as_float_array("tmax", tmax)
    check_same_shape(tmin=tn, tmax=tx)
    if tn.ndim == 0:
        raise ValueError("tmin: expected daily values on axis 0, got a scalar")
    if window > tn.shape[0]:
        raise ValueError(f"window={window}: longer than the {tn.shape[0]} days of tmin/tmax")
    check_not_all_nan("tmin", tn)
    check_not_all_nan("tmax", tx)
    spatial = tuple(tn.shape[1:])
    thn = _spatial_threshold("tmin_threshold", tmin_threshold, spatial)
    thx = _spatial_threshold("tmax_threshold", tmax_threshold, spatial)
    days = tn.shape[0]
    result = run_backend(
        {"numpy": _heatwave_numpy, "numba": _heatwave_numba, "cupy": _heatwave_cupy},
        backend,
        (tn.reshape(days, -1), tx.reshape(days, -1), thn, thx),
        window=window,
    )
    return HeatwaveAlerts(
        alert=result.alert.reshape(tn.shape),
        ibmn=result.ibmn.reshape(tn.shape),
        ibmx=result.ibmx.reshape(tn.shape),
        alert_days=result.alert_days.reshape(spatial),
        episodes=result.episodes.reshape(spatial),
    )


def _window_mean(x: Any, window: int, xp: Any) -> Any:
    """Trailing ``window``-day mean along axis 0, summed oldest first (NaN before it is full)."""
    days = x.shape[0]
    out = xp.full(x.shape, xp.nan)
    total = x[: days - window + 1].copy()
    for k in range(1, window):
        total = total + x[k : days - window + 1 + k]
    out[window - 1 :] = total / window
    return out


def _heatwave_array(tmin, tmax, thn, thx, window, xp):
    """The reference on (time, points) arrays, as array code for NumPy and CuPy alike."""
    ibmn = _window_mean(tmin, window, xp)
    ibmx = _window_mean(tmax, window, xp)
    alert = (ibmn >= thn) & (ibmx >= thx)
    previous = xp.zeros_like(alert)
    previous[1:] = alert[:-1]
    alert_days = alert.sum(axis=0).astype(xp.float64)
    episodes = (alert & ~previous).sum(axis=0).astype(xp.float64)
    complete = (~xp.isnan(ibmn) & ~xp.isnan(ibmx)).any(axis=0)
    defined = complete & ~xp.isnan(thn) & ~xp.isnan(thx)
    alert_days = xp.where(defined, alert_days, xp.nan)
    episodes = xp.where(defined, episodes, xp.nan)
    return HeatwaveAlerts(alert, ibmn, ibmx, alert_days, episodes)


def _heatwave_numpy(tmin, tmax, thn, thx, *, window):
    return _heatwave_array(tmin, tmax, thn, thx, window, np)


def _heatwave_cupy(tmin, tmax, thn, thx, *, window):
    return _heatwave_array(tmin, tmax, thn, thx, window, require_cupy())


@numba.njit(cache=True)
def _heatwave_columns(tmin, tmax, thn, thx, window, alert, ibmn, ibmx, alert_days, episodes, p0, p1):
    """The sequential pass over the points p0:p1: time outer, points inner.

    Rows are taken as ``x[t, p0:p1]``, which Numba knows to be contiguous (a column block
    ``x[:, p0:p1]`` is not, and its loops would not vectorise).
    """
    days = tmin.shape[0]
    width = p1 - p0
    thn = thn[p0:p1]
    thx = thx[p0:p1]
    previous = np.zeros(width)  # 1.0 where the day before was an alert day
    count = np.zeros(width)
    runs = np.zeros(width)
    complete = np.zeros(width)
    for t in range(min(window - 1, days)):
        ibmn[t, p0:p1] = np.nan
        ibmx[t, p0:p1] = np.nan
        alert[t, p0:p1] = False
    for t in range(window - 1, days):
        first = t - window + 1
        mean_n = ibmn[t, p0:p1]
        mean_x = ibmx[t, p0:p1]
        hot_row = alert[t, p0:p1]
        # Same order as _window_mean: oldest day first, then divide; the points innermost,
        # branch-free, so that the loops vectorise.
        row_n = tmin[first, p0:p1]
        row_x = tmax[first, p0:p1]
        for j in range(width):
            mean_n[j] = row_n[j]
            mean_x[j] = row_x[j]
        for k in range(1, window):
            row_n = tmin[first + k, p0:p1]
            row_x = tmax[first + k, p0:p1]
            for j in range(width):
                mean_n[j] += row_n[j]
                mean_x[j] += row_x[j]
        for j in range(width):
            mn = mean_n[j] / window
            mx = mean_x[j] / window
            mean_n[j] = mn
            mean_x[j] = mx
            hot = (mn >= thn[j]) & (mx >= thx[j])
            hot_row[j] = hot
            now = np.float64(hot)
            count[j] += now
            runs[j] += now * (1.0 - previous[j])
            previous[j] = now
            complete[j] = max(complete[j], np.float64((mn == mn) & (mx == mx)))
    for j in range(width):
        defined = complete[j] == 1.0 and thn[j] == thn[j] and thx[j] == thx[j]
        alert_days[p0 + j] = count[j] if defined else np.nan
        episodes[p0 + j] = runs[j] if defined else np.nan


@numba.njit(parallel=True, cache=True)
def _heatwave_kernel(tmin, tmax, thn, thx, window, alert, ibmn, ibmx, alert_days, episodes):
    points = tmin.shape[1]
    blocks = (points + _HEAT_BLOCK - 1) // _HEAT_BLOCK
    for block in numba.prange(blocks):
        _heatwave_columns(tmin, tmax, thn, thx, window, alert, ibmn, ibmx, alert_days, episodes,
                          block * _HEAT_BLOCK, min(points, (block + 1) * _HEAT_BLOCK))


def _heatwave_numba(tmin, tmax, thn, thx, *, window):
    tmin = np.ascontiguousarray(tmin)
    tmax = np.ascontiguousarray(tmax)
    days, points = tmin.shape
    alert = np.empty((days, points), dtype=np.bool_)
    ibmn = np.empty((days, points))
    ibmx = np.empty((days, points))
    alert_days = np.empty(points)
    episodes = np.empty(points)
    _heatwave_kernel(tmin, tmax, np.ascontiguousarray(thn), np.ascontiguousarray(thx), window,
                     alert, ibmn, ibmx, alert_days, episodes)
    return HeatwaveAlerts(alert, ibmn, ibmx, alert_days, episodes)


def heatwave_alerts_xr(
    ds_or_tmin: Any,
    tmax: Any = None,
    department_mask: Any = None,
    window: int = 3,
    time_dim: str = "time",
    unknown: str = "raise",
    backend: str = "auto",
):
    """:func:`heatwave_alerts` on gridded xarray data with the department mask, chunk by chunk.

    Parameters
    ----------
    ds_or_tmin
        A Dataset with ``tmin``, ``tmax`` and ``department`` (the layout of
        ``occidata.datasets.weather``), or the ``tmin`` DataArray.
    tmax, department_mask
        The ``tmax`` DataArray and the department codes (DataArray over the spatial dims,
        0 outside) when ``ds_or_tmin`` is a DataArray; taken from the Dataset otherwise.
    window
        Days in the running mean (3).
    time_dim
        The time dimension (the core dimension; the others are computed independently).
    unknown
        See :func:`department_thresholds`.
    backend
        See :func:`heatwave_alerts`.

    Returns
    -------
    xarray.Dataset
        ``alert``, ``ibmn``, ``ibmx`` over the input's dims and ``alert_days``, ``episodes``
        over the spatial dims. Lazy (dask) when the input is chunked: chunk over space, time is
        gathered into one chunk per block; nothing is computed until ``.compute()``.

    Raises
    ------
    ValueError
        A Dataset without ``tmin``/``tmax``/``department``, or a missing ``tmax`` or
        ``department_mask`` argument; and the errors of :func:`heatwave_alerts`, raised when
        the chunks are computed for a dask input.
    """
    import xarray as xr

    if isinstance(ds_or_tmin, xr.Dataset):
        missing = [name for name in ("tmin", "tmax", "department") if name not in ds_or_tmin]
        if missing:
            raise ValueError(f"ds_or_tmin: the Dataset lacks {', '.join(missing)}")
        tmin_da = ds_or_tmin["tmin"]
        tmax_da = ds_or_tmin["tmax"] if tmax is None else tmax
        mask = ds_or_tmin["department"] if department_mask is None else department_mask
    else:
        if tmax is None:
            raise ValueError("tmax: required when ds_or_tmin is a DataArray")
        if department_mask is None:
            raise ValueError("department_mask: required when ds_or_tmin is a DataArray")
        tmin_da, tmax_da, mask = ds_or_tmin, tmax, department_mask
    for name, da in (("tmin", tmin_da), ("tmax", tmax_da)):
        if time_dim not in da.dims:
            raise ValueError(f"{name}: has no {time_dim!r} dimension (dims {da.dims})")
    if not isinstance(mask, xr.DataArray):
        spatial_dims = [d for d in tmin_da.dims if d != time_dim]
        mask = xr.DataArray(np.asarray(mask), dims=spatial_dims)
    thn, thx = department_thresholds(mask, unknown)
    window = check_positive_int("window", window)
    tmin_da, tmax_da = (_single_chunk(da, time_dim) for da in (tmin_da, tmax_da))
    if tmin_da.chunks is not None:
        spatial_chunks = {d: c for d, c in tmin_da.chunksizes.items() if d != time_dim and d in thn.dims}
        thn, thx = thn.chunk(spatial_chunks), thx.chunk(spatial_chunks)

    def block(tn, tx, n_threshold, x_threshold):
        tn, tx = np.moveaxis(tn, -1, 0), np.moveaxis(tx, -1, 0)
        spatial = tn.shape[1:]
        if not (np.isfinite(tn).any() and np.isfinite(tx).any()):
            # A chunk wholly outside the region: nothing to compute, and no error either.
            nan_series = np.full(spatial + tn.shape[:1], np.nan)
            return (np.zeros(nan_series.shape, dtype=bool), nan_series, nan_series.copy(),
                    np.full(spatial, np.nan), np.full(spatial, np.nan))
        r = heatwave_alerts(tn, tx, np.broadcast_to(n_threshold, spatial),
                            np.broadcast_to(x_threshold, spatial), window, backend)
        return (np.moveaxis(r.alert, 0, -1), np.moveaxis(r.ibmn, 0, -1),
                np.moveaxis(r.ibmx, 0, -1), r.alert_days, r.episodes)

    alert, ibmn, ibmx, alert_days, episodes = xr.apply_ufunc(
        block, tmin_da, tmax_da, thn, thx,
        input_core_dims=[[time_dim], [time_dim], [], []],
        output_core_dims=[[time_dim], [time_dim], [time_dim], [], []],
        dask="parallelized",
        output_dtypes=[bool, np.float64, np.float64, np.float64, np.float64],
    )
    dims = tmin_da.dims
    out = xr.Dataset({
        "alert": alert.transpose(*dims).assign_attrs(
            long_name=f"heat-wave alert: {window}-day means of Tmin and Tmax at or above the department's thresholds"),
        "ibmn": ibmn.transpose(*dims).assign_attrs(units="degC", long_name=f"IBMn: {window}-day trailing mean of Tmin"),
        "ibmx": ibmx.transpose(*dims).assign_attrs(units="degC", long_name=f"IBMx: {window}-day trailing mean of Tmax"),
        "alert_days": alert_days.assign_attrs(long_name="number of alert days"),
        "episodes": episodes.assign_attrs(long_name="number of runs of consecutive alert days"),
    })
    return out.assign_coords(tmin_threshold=thn.reset_coords(drop=True), tmax_threshold=thx.reset_coords(drop=True))


def _single_chunk(da: Any, dim: str) -> Any:
    """``da`` with ``dim`` in one chunk when it is dask-backed (a core dim cannot be split)."""
    if da.chunks is not None:
        return da.chunk({dim: -1})
    return da


# --------------------------------------------------------------------------- HWMId


def calendar_day(dates: Any) -> np.ndarray:
    """The day of a 366-day calendar (1..366) of each date: Feb 29 = 60, Mar 1 = 61, Dec 31 = 366.

    Every date gets the same number in leap and common years, so that a calendar day means
    the same date whatever the year (:func:`hwmid` pools its thresholds by it).

    Parameters
    ----------
    dates
        datetime64 values (or anything ``numpy.asarray(..., "datetime64[D]")`` accepts).

    Returns
    -------
    numpy.ndarray
        int64 calendar days.
    """
    d = np.asarray(dates).astype("datetime64[D]")
    month_start = d.astype("datetime64[M]")
    month = month_start.astype(np.int64) % 12
    day = (d - month_start.astype("datetime64[D]")).astype(np.int64)
    return _MONTH_START[month] + day + 1


class HWMId(NamedTuple):
    """Result of :func:`hwmid`."""

    hwmid: Any      # (years, ...) the index per year: 0 without a heat wave, NaN without data
    years: Any      # (years,) the calendar years, ascending
    threshold: Any  # (366, ...) daily threshold per calendar day (90th percentile, 31-day window)
    t25: Any        # (...) 25th percentile of the reference period's annual maxima
    t75: Any        # (...) 75th percentile of the reference period's annual maxima


def _int_vector(name: str, x: Any, length: int, other: str) -> np.ndarray:
    arr = np.asarray(to_host(x))
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array, got shape {arr.shape}")
    check_length(name, arr, 0, length, other)
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all() or (arr != np.round(arr)).any():
            raise ValueError(f"{name}: expected whole numbers")
    elif arr.dtype.kind not in "iu":
        raise ValueError(f"{name}: expected integers, got dtype {arr.dtype}")
    return arr.astype(np.int64)


def _calendar_vector(name: str, x: Any, length: int, other: str) -> np.ndarray:
    arr = _int_vector(name, x, length, other)
    if ((arr < 1) | (arr > CALENDAR_DAYS)).any():
        bad = arr[(arr < 1) | (arr > CALENDAR_DAYS)][0]
        raise ValueError(f"{name}: calendar days run from 1 to {CALENDAR_DAYS} (see calendar_day), found {bad}")
    return arr


def hwmid(
    tmax: Any,
    day_of_year: Any,
    year: Any,
    reference: Any,
    reference_day_of_year: Any,
    reference_year: Any,
    *,
    window: int = 31,
    percentile: float = 90.0,
    min_length: int = 3,
    backend: str = "auto",
) -> HWMId:
    """Heat Wave Magnitude Index daily (HWMId) of Russo et al. (2015), per calendar year.

    Parameters
    ----------
    tmax
        Daily maximum temperature (°C) of the study period, time on axis 0 (consecutive days,
        ascending), any trailing spatial shape.
    day_of_year, year
        For each day of ``tmax``: its day of the 366-day calendar (:func:`calendar_day`:
        Jan 1 = 1, Feb 29 = 60, Mar 1 = 61, Dec 31 = 366 in every year) and its year
        (non-decreasing).
    reference
        Daily maximum temperature of the reference period (30 years in Russo et al.), time on
        axis 0, the same trailing shape as ``tmax``.
    reference_day_of_year, reference_year
        Calendar day and year of each day of ``reference``.
    window
        Days of the window centred on each calendar day that pools the reference values of
        the daily threshold (31, odd, at most 365).
    percentile
        Percentile of the daily threshold (90).
    min_length
        Consecutive days above the threshold that make a heat wave (3).
    backend
        "auto", "numpy", "numba" or "cupy".

    Returns
    -------
    HWMId
        ``hwmid`` (years, ...), ``years``, the daily ``threshold`` (366, ...) and ``t25``,
        ``t75`` (...).

    Raises
    ------
    ValueError
        Empty or all-NaN temperatures; ``reference`` with another trailing shape; calendar
        or year vectors of the wrong length, not integers, calendar days outside 1..366, a
        decreasing ``year``; bad ``window``, ``percentile`` or ``min_length``.

    Notes
    -----
    Russo, S., Sillmann, J. and Fischer, E. M. (2015), Top ten European heatwaves since 1950
    and their occurrence in the coming decades, Environ. Res. Lett. 10 124003:

    - daily threshold = the 90th percentile of the reference period's daily maxima in the
      31-day window centred on the calendar day (all reference years pooled);
    - a heat wave = at least 3 consecutive days with Tmax **above** (>) the threshold;
    - daily magnitude Md(Td) = (Td - T25) / (T75 - T25) if Td > T25, else 0, with T25 and T75
      the 25th and 75th percentiles of the reference period's annual maxima of Tmax;
    - HWMId of a year = the largest sum of Md over the days of one of its heat waves
      (0 when the year has none).

    Conventions here: percentiles are NumPy's ``method="linear"`` (Hyndman & Fan type 7) on the
    non-missing values (``numpy.nanpercentile``). Calendar days are those of a 366-day
    calendar, windows wrap around the year end (Dec 31 is next to Jan 1); Feb 29 has its own
    threshold, pooled from the windows around it, and in common years the window around a
    date near the end of February holds one day fewer. A heat wave is cut at the year
    boundary (each year is judged on its own days). A missing day is not above the threshold:
    it ends a heat wave. ``hwmid`` is NaN for a year without any value at a point, and for all
    years at a point whose reference has no annual maximum or whose T75 <= T25 (magnitude
    undefined). Annual maxima are those of the reference years present, whatever their
    completeness.

    Backends: NumPy sorts each calendar day's pool; Numba keeps one sorted pool per point and
    slides it through the year (the calendar day leaving the window out, the one entering it
    merged in), then reads the percentile at its rank. Both pick the same order statistics and
    interpolate with NumPy's formula, so thresholds agree exactly, and a heat wave's
    magnitudes are summed in time order on both.
    """
    tx = as_float_array("tmax", tmax)
    ref = as_float_array("reference", reference)
    if tx.ndim == 0:
        raise ValueError("tmax: expected daily values on axis 0, got a scalar")
    if ref.ndim == 0:
        raise ValueError("reference: expected daily values on axis 0, got a scalar")
    if tuple(ref.shape[1:]) != tuple(tx.shape[1:]):
        raise ValueError(
            f"reference: trailing shape {tuple(ref.shape[1:])} differs from tmax's {tuple(tx.shape[1:])}; "
            "both need the same points after the time axis"
        )
    days, ref_days = tx.shape[0], ref.shape[0]
    cal = _calendar_vector("day_of_year", day_of_year, days, "tmax")
    yr = _int_vector("year", year, days, "tmax")
    ref_cal = _calendar_vector("reference_day_of_year", reference_day_of_year, ref_days, "reference")
    ref_yr = _int_vector("reference_year", reference_year, ref_days, "reference")
    if (np.diff(yr) < 0).any():
        raise ValueError("year: must be non-decreasing (days in time order)")
    window = check_positive_int("window", window)
    if window % 2 == 0 or window > 365:
        raise ValueError(f"window={window}: expected an odd number of days, at most 365")
    if isinstance(percentile, bool) or not isinstance(percentile, (int, float, np.number)) \
            or not 0.0 < float(percentile) <= 100.0:
        raise ValueError(f"percentile={percentile!r}: expected a number in (0, 100]")
    min_length = check_positive_int("min_length", min_length)
    check_not_all_nan("tmax", tx)
    check_not_all_nan("reference", ref)

    years, year_index = np.unique(yr, return_inverse=True)
    ref_years, ref_year_index = np.unique(ref_yr, return_inverse=True)
    spatial = tuple(tx.shape[1:])
    result = run_backend(
        {"numpy": _hwmid_numpy, "numba": _hwmid_numba, "cupy": _hwmid_cupy},
        backend,
        (tx.reshape(days, -1), ref.reshape(ref_days, -1)),
        calendar=cal, year_index=year_index.astype(np.int64), n_years=len(years),
        ref_calendar=ref_cal, ref_year_index=ref_year_index.astype(np.int64), n_ref_years=len(ref_years),
        half=window // 2, q=float(percentile) / 100.0, min_length=min_length,
    )
    index, threshold, t25, t75 = result
    return HWMId(
        hwmid=index.reshape((len(years), *spatial)),
        years=years,
        threshold=threshold.reshape((CALENDAR_DAYS, *spatial)),
        t25=t25.reshape(spatial),
        t75=t75.reshape(spatial),
    )


def _nanpercentile0(x: Any, q: float, xp: Any) -> Any:
    """``numpy.nanpercentile(x, 100 * q, axis=0)`` (method "linear") as plain array code.

    Sort, then the neighbours of the virtual index (n - 1) * q and NumPy's two-sided lerp, so
    that CuPy and the Numba kernel (which selects instead of sorting) give the same numbers.
    """
    if x.shape[0] == 0:
        return xp.full(x.shape[1:], xp.nan)
    missing = xp.isnan(x)
    # NaN as +inf sorts last on every backend; only ranks below the count are read.
    ordered = xp.sort(xp.where(missing, xp.inf, x), axis=0)
    count = (~missing).sum(axis=0)
    virtual = (count - 1) * q
    above = virtual >= count - 1
    previous = xp.where(above, count - 1, xp.floor(virtual).astype(xp.int64))
    following = xp.where(above, count - 1, previous + 1)
    empty = count == 0
    previous = xp.where(empty, 0, previous)
    following = xp.where(empty, 0, following)
    a = xp.take_along_axis(ordered, previous[None], axis=0)[0]
    b = xp.take_along_axis(ordered, following[None], axis=0)[0]
    gamma = virtual - previous
    with np.errstate(invalid="ignore"):  # inf - inf in empty columns, NaN'd just below
        diff = b - a
        result = xp.where(gamma >= 0.5, b - diff * (1 - gamma), a + diff * gamma)
    return xp.where(empty, xp.nan, result)


def _nanmax0(x: Any, xp: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN column: NaN is the answer
        return xp.nanmax(x, axis=0)


def _hwmid_array(tmax, reference, *, calendar, year_index, n_years, ref_calendar, ref_year_index,
                 n_ref_years, half, q, min_length, xp):
    """The reference on (time, points) arrays, as array code for NumPy and CuPy alike."""
    points = tmax.shape[1]
    calendar, year_index = xp.asarray(calendar), xp.asarray(year_index)
    ref_calendar, ref_year_index = xp.asarray(ref_calendar), xp.asarray(ref_year_index)

    annual_max = xp.stack([_nanmax0(reference[ref_year_index == y], xp) for y in range(n_ref_years)])
    t25 = _nanpercentile0(annual_max, 0.25, xp)
    t75 = _nanpercentile0(annual_max, 0.75, xp)

    threshold = xp.empty((CALENDAR_DAYS, points))
    for c in range(1, CALENDAR_DAYS + 1):
        distance = xp.abs(ref_calendar - c)
        distance = xp.minimum(distance, CALENDAR_DAYS - distance)
        threshold[c - 1] = _nanpercentile0(reference[distance <= half], q, xp)

    hot = tmax > threshold[calendar - 1]  # NaN is never hot
    with np.errstate(divide="ignore", invalid="ignore"):  # T75 == T25: NaN'd below
        magnitude = xp.where(tmax > t25, (tmax - t25) / (t75 - t25), 0.0)
    # Runs of hot days per point, cut at year boundaries; laid out point by point so that
    # a run's days are consecutive and bincount sums them in time order.
    same_year = xp.zeros(tmax.shape[0], dtype=bool)
    same_year[1:] = year_index[1:] == year_index[:-1]
    hot_t = hot.T
    continues = xp.zeros_like(hot_t)
    continues[:, 1:] = hot_t[:, :-1] & same_year[1:]
    starts = (hot_t & ~continues).ravel()
    label = xp.cumsum(starts, dtype=xp.int64)
    hot_flat = hot_t.ravel()
    n_runs = int(to_host(label[-1])) if label.size else 0
    run_label = label[hot_flat]
    run_length = xp.bincount(run_label, minlength=n_runs + 1)
    run_sum = xp.bincount(run_label, weights=magnitude.T.ravel()[hot_flat], minlength=n_runs + 1)
    start_at = xp.nonzero(starts)[0]  # flat (point, time) index of each run's first day
    run_point = start_at // tmax.shape[0]
    run_year = year_index[start_at % tmax.shape[0]]
    heatwave = run_length[1:] >= min_length
    index = xp.zeros((n_years, points))
    flat = run_year[heatwave] * points + run_point[heatwave]
    _scatter_max(index.reshape(-1), flat, run_sum[1:][heatwave], xp)

    observed = xp.stack([(~xp.isnan(tmax[year_index == y])).any(axis=0) for y in range(n_years)])
    defined = ~xp.isnan(t25) & ~xp.isnan(t75) & (t75 > t25)
    index = xp.where(observed & defined, index, xp.nan)
    return index, threshold, t25, t75


def _scatter_max(out: Any, index: Any, values: Any, xp: Any) -> None:
    if xp is np:
        np.maximum.at(out, index, values)
    else:
        import cupyx

        cupyx.scatter_max(out, index, values)


def _hwmid_numpy(tmax, reference, **kwargs):
    return _hwmid_array(tmax, reference, xp=np, **kwargs)


def _hwmid_cupy(tmax, reference, **kwargs):
    return _hwmid_array(tmax, reference, xp=require_cupy(), **kwargs)


@numba.njit(cache=True)
def _percentile_sorted(a, n, q):
    """numpy.percentile(a[:n], 100 * q) ("linear") of the sorted, NaN-free a[:n]."""
    if n == 0:
        return np.nan
    virtual = (n - 1) * q
    if virtual >= n - 1:
        return a[n - 1]
    k = math.floor(virtual)
    low = a[k]
    high = a[k + 1]
    gamma = virtual - k
    diff = high - low
    if gamma >= 0.5:  # NumPy's two-sided lerp, for the same rounding
        return high - diff * (1 - gamma)
    return low + diff * gamma


@numba.njit(cache=True)
def _slide(pool, n, leaving, n_leaving, entering, n_entering, out):
    """out[:m] = sorted(pool[:n] - leaving[:n_leaving] + entering[:n_entering]); return m.

    All three inputs sorted and ``leaving`` a sub-multiset of ``pool``: one merge pass.
    """
    i = 0
    li = 0
    ei = 0
    m = 0
    while i < n or ei < n_entering:
        if i < n and li < n_leaving and pool[i] == leaving[li]:
            i += 1
            li += 1
            continue
        if ei < n_entering and (i >= n or entering[ei] < pool[i]):
            out[m] = entering[ei]
            ei += 1
        else:
            out[m] = pool[i]
            i += 1
        m += 1
    return m


@numba.njit(cache=True)
def _finite_of(values, start, stop, out):
    """Copy the non-NaN values[start:stop] into out, sorted (insertion: a few values); return how many."""
    n = 0
    for r in range(start, stop):
        v = values[r]
        if v == v:
            i = n
            while i > 0 and out[i - 1] > v:
                out[i] = out[i - 1]
                i -= 1
            out[i] = v
            n += 1
    return n


@numba.njit(parallel=True, cache=True)
def _hwmid_reference_kernel(reference, order, offsets, ref_year_index, n_ref_years, half, q,
                            threshold, t25, t75):
    ref_days, points = reference.shape
    blocks = (points + _BLOCK - 1) // _BLOCK
    for block in numba.prange(blocks):
        p0 = block * _BLOCK
        p1 = min(points, p0 + _BLOCK)
        width = p1 - p0
        # The block's series regrouped by calendar day (order), one contiguous row per point.
        grouped = np.empty((width, ref_days))
        annual = np.full((width, n_ref_years), np.nan)
        for r in range(ref_days):
            src = reference[order[r], p0:p1]
            row = reference[r, p0:p1]
            y = ref_year_index[r]
            for j in range(width):
                grouped[j, r] = src[j]
                v = row[j]
                if v == v and not (annual[j, y] >= v):
                    annual[j, y] = v
        pool = np.empty(ref_days)
        spare = np.empty(ref_days)
        most = 0  # the largest number of reference days on one calendar day
        for d in range(366):
            most = max(most, offsets[d + 1] - offsets[d])
        leaving = np.empty(most)
        entering = np.empty(most)
        for j in range(width):
            n = 0
            for y in range(n_ref_years):
                if annual[j, y] == annual[j, y]:
                    pool[n] = annual[j, y]
                    n += 1
            pool[:n].sort()
            t25[p0 + j] = _percentile_sorted(pool, n, 0.25)
            t75[p0 + j] = _percentile_sorted(pool, n, 0.75)
            values = grouped[j]
            # The pool of calendar day 1 (days 1 - half .. 1 + half, wrapping), sorted once;
            # each next day drops the calendar day leaving the window and merges in the one
            # entering it, so the pool stays sorted and the percentile is read at its rank.
            n = 0
            for d in range(1 - half, 2 + half):
                day = d if d >= 1 else d + 366
                for r in range(offsets[day - 1], offsets[day]):
                    v = values[r]
                    if v == v:
                        pool[n] = v
                        n += 1
            pool[:n].sort()
            threshold[0, p0 + j] = _percentile_sorted(pool, n, q)
            for c in range(2, 367):
                day_out = c - 1 - half
                if day_out < 1:
                    day_out += 366
                day_in = c + half
                if day_in > 366:
                    day_in -= 366
                n_out = _finite_of(values, offsets[day_out - 1], offsets[day_out], leaving)
                n_in = _finite_of(values, offsets[day_in - 1], offsets[day_in], entering)
                n = _slide(pool, n, leaving, n_out, entering, n_in, spare)
                pool, spare = spare, pool
                threshold[c - 1, p0 + j] = _percentile_sorted(pool, n, q)


@numba.njit(parallel=True, cache=True)
def _hwmid_kernel(tmax, calendar, year_index, n_years, threshold, t25, t75, min_length, index):
    days, points = tmax.shape
    blocks = (points + _BLOCK - 1) // _BLOCK
    for block in numba.prange(blocks):
        p0 = block * _BLOCK
        p1 = min(points, p0 + _BLOCK)
        width = p1 - p0
        length = np.zeros(width, dtype=np.int64)
        total = np.zeros(width)
        observed = np.zeros((n_years, width), dtype=np.bool_)
        for y in range(n_years):
            for p in range(p0, p1):
                index[y, p] = 0.0
        for t in range(days + 1):
            # Close the runs at the end of a year (and of the series).
            if t == days or (t > 0 and year_index[t] != year_index[t - 1]):
                y = year_index[t - 1]
                for j in range(width):
                    if length[j] >= min_length and total[j] > index[y, p0 + j]:
                        index[y, p0 + j] = total[j]
                    length[j] = 0
                    total[j] = 0.0
                if t == days:
                    break
            y = year_index[t]
            c = calendar[t] - 1
            for p in range(p0, p1):
                j = p - p0
                v = tmax[t, p]
                if v == v:
                    observed[y, j] = True
                if v > threshold[c, p]:
                    length[j] += 1
                    if v > t25[p]:
                        total[j] += (v - t25[p]) / (t75[p] - t25[p])
                    else:
                        total[j] += 0.0
                else:
                    if length[j] >= min_length and total[j] > index[y, p]:
                        index[y, p] = total[j]
                    length[j] = 0
                    total[j] = 0.0
        for p in range(p0, p1):
            defined = t25[p] == t25[p] and t75[p] == t75[p] and t75[p] > t25[p]
            for y in range(n_years):
                if not (defined and observed[y, p - p0]):
                    index[y, p] = np.nan


def _hwmid_numba(tmax, reference, *, calendar, year_index, n_years, ref_calendar, ref_year_index,
                 n_ref_years, half, q, min_length):
    tmax = np.ascontiguousarray(tmax)
    reference = np.ascontiguousarray(reference)
    points = tmax.shape[1]
    order = np.argsort(ref_calendar, kind="stable")
    offsets = np.zeros(CALENDAR_DAYS + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(np.bincount(ref_calendar - 1, minlength=CALENDAR_DAYS))
    threshold = np.empty((CALENDAR_DAYS, points))
    t25 = np.empty(points)
    t75 = np.empty(points)
    _hwmid_reference_kernel(reference, order.astype(np.int64), offsets, ref_year_index, n_ref_years,
                            half, q, threshold, t25, t75)
    index = np.empty((n_years, points))
    _hwmid_kernel(tmax, calendar, year_index, n_years, threshold, t25, t75, min_length, index)
    return index, threshold, t25, t75


def hwmid_xr(
    tmax: Any,
    reference: Any,
    *,
    window: int = 31,
    percentile: float = 90.0,
    min_length: int = 3,
    time_dim: str = "time",
    backend: str = "auto",
):
    """:func:`hwmid` on DataArrays with a daily time coordinate, chunk by chunk over space.

    Parameters
    ----------
    tmax
        Daily maximum temperature (°C) of the study period: a DataArray with a datetime
        ``time_dim`` coordinate of consecutive days and any other dims.
    reference
        Daily maximum temperature of the reference period, the same other dims.
    window, percentile, min_length, backend
        See :func:`hwmid`.
    time_dim
        The time dimension of both.

    Returns
    -------
    xarray.DataArray
        ``hwmid`` over (``year``, other dims...). Lazy when ``tmax`` or ``reference`` is
        dask-backed (time gathered into one chunk); computed on ``.compute()``.

    Raises
    ------
    ValueError
        No ``time_dim``, days that are not consecutive or other dims that differ; and the
        errors of :func:`hwmid`.
    """
    import xarray as xr

    for name, da in (("tmax", tmax), ("reference", reference)):
        if not isinstance(da, xr.DataArray) or time_dim not in da.dims:
            raise ValueError(f"{name}: expected a DataArray with a {time_dim!r} dimension")
    other = [d for d in tmax.dims if d != time_dim]
    if sorted(other) != sorted(d for d in reference.dims if d != time_dim):
        raise ValueError(f"reference: dims {reference.dims} differ from tmax's {tmax.dims} (besides {time_dim!r})")
    times = tmax[time_dim].values.astype("datetime64[D]")
    if len(times) > 1 and (np.diff(times) != np.timedelta64(1, "D")).any():
        raise ValueError(f"tmax: the {time_dim!r} coordinate must be consecutive days")
    ref_times = reference[time_dim].values.astype("datetime64[D]")
    cal, yr = calendar_day(times), times.astype("datetime64[Y]").astype(np.int64) + 1970
    ref_cal, ref_yr = calendar_day(ref_times), ref_times.astype("datetime64[Y]").astype(np.int64) + 1970
    years = np.unique(yr)
    ref_dim = f"reference_{time_dim}"
    reference = reference.rename({time_dim: ref_dim}).transpose(ref_dim, *other)
    tmax = tmax.transpose(time_dim, *other)
    tmax, reference = _single_chunk(tmax, time_dim), _single_chunk(reference, ref_dim)
    kwargs = dict(window=window, percentile=percentile, min_length=min_length, backend=backend)

    def block(tx, ref):
        if not (np.isfinite(tx).any() and np.isfinite(ref).any()):
            return np.full(tx.shape[:-1] + (len(years),), np.nan)  # a chunk outside the region
        r = hwmid(np.moveaxis(tx, -1, 0), cal, yr, np.moveaxis(ref, -1, 0), ref_cal, ref_yr, **kwargs)
        return np.moveaxis(r.hwmid, 0, -1)

    out = xr.apply_ufunc(
        block, tmax, reference,
        input_core_dims=[[time_dim], [ref_dim]],
        output_core_dims=[["year"]],
        dask="parallelized",
        output_dtypes=[np.float64],
        dask_gufunc_kwargs={"output_sizes": {"year": len(years)}},
    )
    out = out.transpose("year", *other).assign_coords(year=years)
    return out.rename("hwmid").assign_attrs(
        long_name="Heat Wave Magnitude Index daily (Russo et al. 2015)", units="1")
