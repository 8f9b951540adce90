"""The Heat Wave Magnitude Index daily (HWMId) of Russo et al. (2015), per year.

:func:`hwmid` on arrays (time on axis 0, any trailing spatial shape), :func:`hwmid_xr` on
DataArrays with a time coordinate, :func:`calendar_day` for the 366-day calendar it uses, and
:func:`heat_waves`, the list of one series' heat waves (dates, length, magnitude) under the
thresholds of an :func:`hwmid` result. Temperatures in °C, float64 throughout; NaN is a missing
value.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, NamedTuple

import numba
import numpy as np

from occidata.compute._xp import require_cupy, run_backend, to_host
from occidata.compute.checks import (
    as_float_array,
    check_length,
    check_not_all_nan,
    check_positive_int,
)
from occidata.compute.heat import _single_chunk

__all__ = ["HWMId", "calendar_day", "heat_waves", "hwmid", "hwmid_xr"]

# Points handled together by one Numba task: time in the outer loop, the points of a block in
# the inner one, so that a (time, point) array is read row by row (C order).
_BLOCK = 64

#: Days of a 366-day calendar year: :func:`calendar_day` numbers Jan 1 .. Dec 31 as 1 .. 366,
#: Feb 29 being day 60 and Mar 1 day 61 in every year.
CALENDAR_DAYS = 366
_MONTH_START = np.array([0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335])


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


# --------------------------------------------------------------------------- heat waves of a series


def heat_waves(tmax: Any, dates: Any, result: HWMId, *, min_length: int = 3):
    """The heat waves of one daily series under the thresholds of an :func:`hwmid` result.

    The same definition as :func:`hwmid` (Russo et al. 2015): at least ``min_length``
    consecutive days above the daily threshold, cut at the year boundary, a missing day ending
    a wave; the magnitude of a wave is the sum over its days of
    Md(Td) = (Td - T25) / (T75 - T25) where Td > T25, else 0. So the largest ``magnitude`` of a
    year is that year's ``result.hwmid`` (0 when the year has no wave).

    Parameters
    ----------
    tmax
        The daily temperatures (°C) of one point, 1-D, the series ``result`` was computed on.
    dates
        The day of each value: consecutive days, ascending (datetime64 or anything
        ``numpy.asarray(..., "datetime64[D]")`` accepts).
    result
        The :func:`hwmid` result of this point (one point: ``threshold`` of shape (366,)).
    min_length
        The ``min_length`` given to :func:`hwmid` (3).

    Returns
    -------
    pandas.DataFrame
        One row per heat wave, in time order: ``year``, ``start`` and ``end`` (first and last
        day, datetime64), ``days``, ``magnitude`` (NaN where the magnitude is undefined, as
        ``result.hwmid`` is), ``peak`` (the wave's highest temperature) and ``peak_day``.

    Raises
    ------
    ValueError
        ``tmax`` not 1-D or empty, ``dates`` of another length or not consecutive days,
        ``result`` of several points, ``min_length`` not a positive integer.

    Examples
    --------
    >>> import numpy as np
    >>> dates = np.arange(np.datetime64("2003-08-01"), np.datetime64("2003-08-08"))
    >>> flat = HWMId(hwmid=None, years=None, threshold=np.full(366, 30.0), t25=30.0, t75=32.0)
    >>> waves = heat_waves([29, 31, 33, 32, 29, 35, 36], dates, flat)
    >>> waves[["start", "days", "magnitude", "peak"]].to_dict("records")
    [{'start': Timestamp('2003-08-02 00:00:00'), 'days': 3, 'magnitude': 3.0, 'peak': 33.0}]
    """
    import pandas as pd

    series = as_float_array("tmax", to_host(tmax))
    if series.ndim != 1 or series.size == 0:
        raise ValueError(f"tmax: expected the daily values of one point (1-D, not empty), got shape {series.shape}")
    days = np.asarray(to_host(dates)).astype("datetime64[D]")
    check_length("dates", days, 0, series.size, "tmax")
    if days.size > 1 and (np.diff(days) != np.timedelta64(1, "D")).any():
        raise ValueError("dates: expected consecutive days, ascending (reindex the series, NaN for the missing days)")
    threshold = np.asarray(to_host(result.threshold), dtype=np.float64)
    if threshold.shape != (CALENDAR_DAYS,):
        raise ValueError(f"result: expected the hwmid result of one point (threshold of shape (366,)), "
                         f"got threshold of shape {threshold.shape}")
    min_length = check_positive_int("min_length", min_length)
    t25, t75 = float(np.asarray(to_host(result.t25))), float(np.asarray(to_host(result.t75)))

    years = days.astype("datetime64[Y]").astype(np.int64) + 1970
    hot = series > threshold[calendar_day(days) - 1]  # NaN is never hot
    defined = t75 > t25  # False with a NaN scale too
    with np.errstate(divide="ignore", invalid="ignore"):
        magnitude = np.where(series > t25, (series - t25) / (t75 - t25), 0.0) if defined \
            else np.full(series.size, np.nan)
    # A run starts on a hot day after a day that is not hot, or on a year's first day.
    starts_run = hot & np.r_[True, ~hot[:-1] | (years[1:] != years[:-1])]
    ends_run = hot & np.r_[~hot[1:] | (years[1:] != years[:-1]), True]
    rows = []
    for first, last in zip(np.flatnonzero(starts_run), np.flatnonzero(ends_run)):
        if last - first + 1 < min_length:
            continue
        # Summed in time order, as hwmid sums them, so that the numbers agree to the last bit.
        total = float(np.cumsum(magnitude[first:last + 1])[-1])
        peak = first + int(np.argmax(series[first:last + 1]))
        rows.append({"year": int(years[first]), "start": days[first], "end": days[last],
                     "days": int(last - first + 1), "magnitude": total, "peak": float(series[peak]),
                     "peak_day": days[peak]})
    columns = ["year", "start", "end", "days", "magnitude", "peak", "peak_day"]
    waves = pd.DataFrame(rows, columns=columns)
    for column in ("start", "end", "peak_day"):
        waves[column] = pd.to_datetime(waves[column])
    return waves.astype({"year": "int64", "days": "int64", "magnitude": "float64", "peak": "float64"})
