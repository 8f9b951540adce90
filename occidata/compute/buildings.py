"""Public building meters: minimum night flow, leaks, and load left on after hours.

Series run along the last axis, one meter per series; leading axes (buildings,
or buildings x meters) are kept. Values are what a meter records per step (the
``building_meters`` readings: litres of water and kWh of electricity per
15-minute step); NaN marks a missing reading. Negative readings are refused.

The clock
---------
The series are read in their own clock: step 0 is 00:00 of day 0, a day has
``steps_per_day`` steps, and the night window and weekdays are taken from that
clock. Give series in local time for local hours. The ``building_meters``
readings are in UTC from UTC midnight: there, the local 02:00-04:00 is
``night=(1, 3)`` in winter time (UTC+1) and ``(0, 2)`` in summer time (UTC+2);
for these meters an hour off does not matter (no water is drawn between
midnight and 05:00 in an empty building), and their weekend (Saturday and
Sunday of the UTC clock) lies inside the local Friday 19:00 - Monday 06:00.

Analyses
--------
- :func:`minimum_night_flow`: per meter and night, the minimum flow in the
  night window, as a rate per hour (the water-loss MNF).
- :func:`detect_leaks`: runs of at least ``nights`` consecutive nights whose MNF
  stays above a threshold, with the volume lost.
- :func:`after_hours_load`: per meter and week, the weekday near-base load (the
  2.5th percentile) and the load of the unoccupied hours (weekend, nights)
  against it.

Implementations
---------------
- NumPy (the reference): reshape to (meters, days, steps) or (meters, weeks,
  7 x steps), then NaN-aware reductions (``nanmin``, ``nanmedian``, a
  sort-based ``nanpercentile``); runs of leaking nights from the edges of the
  above-threshold mask.
- Numba: meters x days (night flow) or meters x weeks (after hours) in
  ``prange``, one sequential pass per meter for the runs of leaks; order
  statistics by selection, not sorting (a low-rank buffer for the near-base
  percentile, a branch-free quickselect for the medians), O(n) per week.
- CuPy: the NumPy code with ``xp = cupy``.

Inputs are checked on the host by one fused Numba pass (negative, infinite,
all-NaN) before any backend runs; the errors name the argument.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, NamedTuple

import numba
import numpy as np

from occidata.compute._xp import array_module, is_cupy_array, require_cupy, run_backend, to_host
from occidata.compute.checks import (
    as_float_array,
    check_non_negative,
    check_not_all_nan,
    check_positive_int,
)

__all__ = [
    "AfterHours",
    "Leaks",
    "after_hours_load",
    "after_hours_load_xr",
    "detect_leaks",
    "minimum_night_flow",
    "minimum_night_flow_xr",
]

#: Hours of a leaking day: the MNF excess (a rate per hour) times 24 is the
#: volume lost per day (night-day factor 1: the excess holds day and night).
HOURS_PER_DAY = 24.0


# --------------------------------------------------------------------------- validation


@numba.njit(parallel=True, cache=True)
def _count_negative_valid_infinite(flat):
    negative = 0
    valid = 0
    infinite = 0
    for i in numba.prange(flat.size):
        v = flat[i]
        if v < 0.0:
            negative += 1
        if np.isfinite(v):
            valid += 1
        elif not np.isnan(v):
            infinite += 1
    return negative, valid, infinite


def _check_series(name: str, x: Any, *, all_nan_ok: bool = False) -> Any:
    """``x`` as float64 with a time axis, not all NaN, without negative or infinite values.

    On the host one fused Numba pass counts both (the NumPy checks would read
    the array twice and allocate a mask: more than the analysis itself costs).
    The error messages are those of :mod:`occidata.compute.checks`.
    """
    arr = as_float_array(name, x)
    if arr.ndim == 0:
        raise ValueError(f"{name}: expected an array with a time axis (last axis), got a scalar")
    infinite_values = f"{name}: has infinite values; mark missing values as NaN"
    if is_cupy_array(arr):
        if bool(to_host(array_module(arr).isinf(arr).any())):
            raise ValueError(infinite_values)
        if not all_nan_ok:
            check_not_all_nan(name, arr)
        check_non_negative(name, arr)
        return arr
    arr = np.ascontiguousarray(arr)
    negative, valid, infinite = _count_negative_valid_infinite(arr.reshape(-1))
    if infinite:
        raise ValueError(infinite_values)
    if valid == 0 and not all_nan_ok:
        check_not_all_nan(name, arr)
    if negative:
        check_non_negative(name, arr)
    return arr


def _check_night(night: Any, steps_per_day: int) -> tuple[int, int]:
    """The night window (start, end) in hours -> (first, last) steps of the day."""
    try:
        start, end = (float(h) for h in night)
    except (TypeError, ValueError):
        raise ValueError(f"night={night!r}: expected two hours (start, end), e.g. (2, 4)") from None
    if not 0.0 <= start < end <= 24.0:
        raise ValueError(f"night={night!r}: expected 0 <= start < end <= 24 (hours of the day)")
    steps = []
    for hour in (start, end):
        step = hour * steps_per_day / 24.0
        if abs(step - round(step)) > 1e-9:
            raise ValueError(
                f"night={night!r}: {hour:g} h is not on a step boundary "
                f"({steps_per_day} steps a day, one every {24 * 60 / steps_per_day:g} min)"
            )
        steps.append(int(round(step)))
    return steps[0], steps[1]


def _check_number(name: str, value: Any, low: float, high: float = math.inf, *, low_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name}={value!r}: expected a number")
    value = float(value)
    if not (low < value if low_open else low <= value) or not value <= high:
        bound = f"> {low:g}" if low_open else f">= {low:g}"
        raise ValueError(f"{name}={value!r}: expected a number {bound}" + (f" and <= {high:g}" if high < math.inf else ""))
    return value


def _as_2d(arr: Any) -> tuple[Any, tuple[int, ...]]:
    lead = tuple(arr.shape[:-1])
    return arr.reshape(-1, arr.shape[-1]), lead


def _quiet(func, *args, **kwargs):
    """NaN-aware reductions warn on all-NaN slices; those give NaN here by design."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return func(*args, **kwargs)


# --------------------------------------------------------------------------- minimum night flow


def _mnf_xp(xp, flow, steps_per_day: int, first: int, last: int):
    rows, n = flow.shape
    days = -(-n // steps_per_day)
    pad = days * steps_per_day - n
    if pad:
        flow = xp.concatenate([flow, xp.full((rows, pad), xp.nan)], axis=1)
    window = flow.reshape(rows, days, steps_per_day)[:, :, first:last]
    return _quiet(xp.nanmin, window, axis=-1) * (steps_per_day / 24.0)


def _mnf_numpy(flow, *, steps_per_day: int, first: int, last: int):
    return _mnf_xp(np, flow, steps_per_day, first, last)


def _mnf_cupy(flow, *, steps_per_day: int, first: int, last: int):
    return _mnf_xp(require_cupy(), flow, steps_per_day, first, last)


@numba.njit(parallel=True, cache=True)
def _mnf_kernel(flow, steps_per_day, first, last, rate):
    rows, n = flow.shape
    days = (n + steps_per_day - 1) // steps_per_day
    out = np.empty((rows, days))
    for task in numba.prange(rows * days):
        r = task // days
        d = task - r * days
        stop = min(d * steps_per_day + last, n)
        low = np.inf
        seen = False
        for t in range(d * steps_per_day + first, stop):
            v = flow[r, t]
            if not np.isnan(v):
                seen = True
                if v < low:
                    low = v
        out[r, d] = low * rate if seen else np.nan
    return out


def _mnf_numba(flow, *, steps_per_day: int, first: int, last: int):
    return _mnf_kernel(np.ascontiguousarray(flow), steps_per_day, first, last, steps_per_day / 24.0)


_MNF = {"numpy": _mnf_numpy, "numba": _mnf_numba, "cupy": _mnf_cupy}


def _mnf(flow, steps_per_day, night, backend, *, all_nan_ok=False):
    arr = _check_series("flow", flow, all_nan_ok=all_nan_ok)
    steps_per_day = check_positive_int("steps_per_day", steps_per_day)
    first, last = _check_night(night, steps_per_day)
    flat, lead = _as_2d(arr)
    out = run_backend(_MNF, backend, (flat,), steps_per_day=steps_per_day, first=first, last=last)
    return out.reshape(lead + (out.shape[-1],))


def minimum_night_flow(
    flow: Any, steps_per_day: int = 96, night: tuple[float, float] = (2, 4), backend: str = "auto"
) -> Any:
    """Minimum night flow (MNF) of each meter and night, as a rate per hour.

    Parameters
    ----------
    flow : array_like
        Volume per step (litres per 15 min for ``building_meters``), time on
        the last axis, one series per meter; any leading axes. Step 0 is
        00:00 of the series' clock (see the module notes). NaN = missing.
    steps_per_day : int, default 96
        Steps a day (96: 15-minute steps; 24: hourly).
    night : (float, float), default (2, 4)
        The night window ``[start, end)`` in hours of the series' clock, on
        step boundaries, within one day: 0 <= start < end <= 24.
    backend : {"auto", "numpy", "numba", "cupy"}

    Returns
    -------
    ndarray
        Shape ``flow.shape[:-1] + (days,)`` with ``days = ceil(n / steps_per_day)``:
        the smallest step volume in the night window of each day, times the
        steps per hour (litres/hour for litres per step). NaN values are
        skipped; a night with no valid value (or cut off by the end of the
        series) is NaN.

    Raises
    ------
    ValueError
        ``flow`` empty, scalar, all NaN, with a negative or infinite value;
        ``steps_per_day`` not a positive integer; ``night`` not a window on
        step boundaries.

    Notes
    -----
    The MNF is the standard indicator of water-loss management (IWA water
    balance): at night legitimate use is close to nil, so a flow that does not
    drop to it is a leak. The minimum (not the mean) of the window is kept so
    one flush does not raise it.

    Examples
    --------
    One day of 15-minute readings; 02:00-04:00 are steps 8 to 15, whose
    smallest volume, 4 litres in 15 minutes, is 16 litres/hour:

    >>> flow = np.zeros(96)
    >>> flow[8:16] = [5, 4, 6, 5, 5, 7, 4.5, 5]
    >>> minimum_night_flow(flow, backend="numpy")
    array([16.])
    """
    return _mnf(flow, steps_per_day, night, backend)


# --------------------------------------------------------------------------- leaks


class Leaks(NamedTuple):
    """Leaks found by :func:`detect_leaks`.

    ``leaking``, ``litres``: shape of ``night_flow`` (per meter and night);
    ``baseline``, ``total_litres``: one per meter (``night_flow.shape[:-1]``);
    ``run_*``: one entry per leak (a run of leaking nights), meters in order
    then nights; ``run_meter`` is the meter's index in the flattened leading
    axes (``numpy.unravel_index(run_meter, night_flow.shape[:-1])``).
    """

    leaking: Any        # bool: the night belongs to a run of >= `nights` nights above the threshold
    litres: Any         # volume lost that night: (MNF - baseline) x 24 h on leaking nights, else 0
    baseline: Any       # the meter's legitimate night flow (per hour) the excess is counted from
    total_litres: Any   # volume lost over all the meter's leaks
    run_meter: Any      # int64, meter of each leak
    run_start: Any      # int64, first night of each leak
    run_nights: Any     # int64, nights each leak lasts
    run_litres: Any     # volume lost by each leak


def _runs_xp(xp, leaking, litres):
    """The runs of True along axis 1: (row, start, length, sum of ``litres``) each."""
    rows, days = leaking.shape
    edges = xp.zeros((rows, days + 2), dtype=xp.int8)
    edges[:, 1:-1] = leaking
    change = xp.diff(edges, axis=1)
    run_meter, run_start = xp.nonzero(change == 1)
    _, run_end = xp.nonzero(change == -1)
    cum = xp.concatenate([xp.zeros((rows, 1)), xp.cumsum(litres, axis=1)], axis=1)
    run_litres = cum[run_meter, run_end] - cum[run_meter, run_start]
    return (run_meter.astype(xp.int64), run_start.astype(xp.int64),
            (run_end - run_start).astype(xp.int64), run_litres)


def _leaks_xp(xp, mnf, threshold, nights: int):
    rows, days = mnf.shape
    above = mnf > threshold[:, None]  # NaN is not above: a missing night ends a run
    edges = xp.zeros((rows, days + 2), dtype=xp.int8)
    edges[:, 1:-1] = above
    change = xp.diff(edges, axis=1)
    r0, c0 = xp.nonzero(change == 1)
    _, c1 = xp.nonzero(change == -1)
    keep = (c1 - c0) >= nights
    marks = xp.zeros((rows, days + 1), dtype=xp.int64)
    marks[r0[keep], c0[keep]] = 1
    marks[r0[keep], c1[keep]] = -1
    leaking = xp.cumsum(marks, axis=1)[:, :days] > 0
    usual = _quiet(xp.nanmedian, xp.where(leaking, xp.nan, mnf), axis=1)
    baseline = xp.where(xp.isnan(usual), threshold, xp.minimum(usual, threshold))
    litres = xp.where(leaking, (mnf - baseline[:, None]) * HOURS_PER_DAY, 0.0)
    return leaking, litres, baseline, litres.sum(axis=1)


def _leaks_numpy(mnf, threshold, *, nights: int):
    return _leaks_xp(np, mnf, threshold, nights)


def _leaks_cupy(mnf, threshold, *, nights: int):
    return _leaks_xp(require_cupy(), mnf, threshold, nights)


@numba.njit(parallel=True, cache=True)
def _leaks_kernel(mnf, threshold, nights, hours):
    rows, days = mnf.shape
    leaking = np.zeros((rows, days), dtype=np.bool_)
    litres = np.zeros((rows, days))
    baseline = np.empty(rows)
    total = np.zeros(rows)
    for r in numba.prange(rows):
        limit = threshold[r]
        run = 0
        for d in range(days + 1):
            if d < days and mnf[r, d] > limit:
                run += 1
                continue
            if run >= nights:
                for j in range(d - run, d):
                    leaking[r, j] = True
            run = 0
        usual = np.empty(days)
        k = 0
        for d in range(days):
            v = mnf[r, d]
            if not leaking[r, d] and not np.isnan(v):
                usual[k] = v
                k += 1
        if k == 0:
            base = limit
        else:
            s = np.sort(usual[:k])
            mid = k // 2
            median = s[mid] if k % 2 == 1 else (s[mid - 1] + s[mid]) / 2.0
            base = min(median, limit)
        baseline[r] = base
        acc = 0.0
        for d in range(days):
            if leaking[r, d]:
                litres[r, d] = (mnf[r, d] - base) * hours
                acc += litres[r, d]
        total[r] = acc
    return leaking, litres, baseline, total


def _leaks_numba(mnf, threshold, *, nights: int):
    return _leaks_kernel(np.ascontiguousarray(mnf), np.ascontiguousarray(threshold), nights, HOURS_PER_DAY)


_LEAKS = {"numpy": _leaks_numpy, "numba": _leaks_numba, "cupy": _leaks_cupy}


def detect_leaks(night_flow: Any, threshold: Any, nights: int = 2, backend: str = "auto") -> Leaks:
    """Leaks: meters whose minimum night flow stays above a threshold for N nights or more.

    Parameters
    ----------
    night_flow : array_like
        The MNF per meter and night, as a rate per hour (litres/hour), e.g.
        from :func:`minimum_night_flow`; nights on the last axis. NaN = no
        value that night.
    threshold : float or array_like
        The flow per hour above which a night counts as leaking: one number,
        or one per meter (shape ``night_flow.shape[:-1]``). Finite, >= 0.
    nights : int, default 2
        Consecutive nights above the threshold that make a leak. Two rule out
        one night of legitimate use (a pool filled, a late cleaning crew).
    backend : {"auto", "numpy", "numba", "cupy"}

    Returns
    -------
    Leaks
        Per night ``leaking`` and ``litres``; per meter ``baseline`` and
        ``total_litres``; per leak ``run_meter``, ``run_start``, ``run_nights``
        and ``run_litres`` (see :class:`Leaks`).

    Raises
    ------
    ValueError
        ``night_flow`` empty, scalar, all NaN, negative or infinite; ``threshold``
        negative, not finite or of another shape; ``nights`` not a positive
        integer.

    Notes
    -----
    - "Above" is strict: a night exactly at the threshold is not leaking. A
      NaN night is not above the threshold, so it ends a run.
    - Volume lost, the usual water-loss estimate (excess night flow times
      duration): on each leaking night, (MNF - baseline) x 24 h, where the
      baseline is the median MNF of the meter's other (non-leaking, valid)
      nights, capped at the threshold, or the threshold if every night leaks.
      Each leaking night stands for one day of leak: a leak that starts or
      stops in the day is counted from its first to its last full night, so a
      leak of L days is found with about L nights (L - 1 to L + 1, depending
      on where its ends fall against the night window). The MNF is a minimum,
      so the volume is a slight under-estimate (on ``building_meters``, whose
      leak flow varies by about 5 % step to step, some 5-10 % low).

    Examples
    --------
    >>> r = detect_leaks([[0.0, 50.0, 60.0, 0.0, 70.0]], threshold=20.0, nights=2, backend="numpy")
    >>> r.leaking
    array([[False,  True,  True, False, False]])
    >>> r.run_start, r.run_nights, r.run_litres
    (array([1]), array([2]), array([2640.]))
    """
    arr = _check_series("night_flow", night_flow)
    xp = array_module(arr)
    nights = check_positive_int("nights", nights)
    flat, lead = _as_2d(arr)
    try:
        limit = xp.asarray(as_float_array("threshold", threshold))
    except ValueError as err:
        raise ValueError(f"{err}; expected one number or one per meter") from None
    if limit.ndim and tuple(limit.shape) != lead:
        raise ValueError(
            f"threshold: has shape {tuple(limit.shape)}; expected one number or one per meter, "
            f"shape {lead} (night_flow is {tuple(arr.shape)})"
        )
    if not bool(to_host(xp.isfinite(limit).all())) or bool(to_host((limit < 0).any())):
        raise ValueError("threshold: must be finite and >= 0 (a flow per hour)")
    limit = xp.ascontiguousarray(xp.broadcast_to(limit, lead).reshape(-1))
    leaking, litres, baseline, total = run_backend(_LEAKS, backend, (flat, limit), nights=nights)
    runs = _runs_xp(array_module(leaking), leaking, litres)
    return Leaks(leaking.reshape(arr.shape), litres.reshape(arr.shape),
                 baseline.reshape(lead), total.reshape(lead), *runs)


# --------------------------------------------------------------------------- after-hours load


class AfterHours(NamedTuple):
    """Per meter and week (shape ``load.shape[:-1] + (weeks,)``), from :func:`after_hours_load`.

    Week ``w`` runs Monday to Sunday of the series' clock; the first and last
    weeks may be partial. Load units are those of ``load`` (kWh per step for
    ``building_meters``).
    """

    base: Any            # near-base load: the `percentile`-th percentile of the week's weekday load
    weekend_ratio: Any   # median unoccupied Saturday-Sunday load / base
    night_ratio: Any     # median unoccupied Monday-Friday load / base
    weekend_excess: Any  # sum of (load - base) over unoccupied weekend steps where above base
    night_excess: Any    # the same over unoccupied weekday steps
    flagged: Any         # bool: weekend_ratio >= factor or night_ratio >= factor


def _weeks(days: int, first_weekday: int) -> int:
    return (days - 1 + first_weekday) // 7 + 1


def _ratio_xp(xp, median, base):
    """median / base, with 0 / 0 = 1 (the load stays at a zero base) and x / 0 = inf."""
    safe = xp.where(base > 0, base, 1.0)
    ratio = xp.where(base > 0, median / safe, xp.where(median > 0, xp.inf, 1.0))
    return xp.where(xp.isnan(base) | xp.isnan(median), xp.nan, ratio)


def _virtual_index(k, q):
    """numpy's rank of the linear percentile q (0-1) among k values, written as numpy writes it."""
    return k * q + (1.0 + q * (1.0 - 1.0 - 1.0)) - 1.0


def _nanpercentile_xp(xp, x, percentile: float):
    """``numpy.nanpercentile(x, percentile, axis=-1)`` (linear) by sorting: CuPy has no nanpercentile."""
    srt = xp.sort(x, axis=-1)  # NaN sort last
    k = (~xp.isnan(x)).sum(axis=-1)
    vi = _virtual_index(k, percentile / 100.0)
    lo = xp.floor(vi)
    gamma = vi - lo
    top = vi >= k - 1
    lo_i = xp.maximum(xp.where(top, k - 1, lo), 0).astype(xp.int64)
    hi_i = xp.where(top, lo_i, lo_i + 1)
    a = xp.take_along_axis(srt, lo_i[..., None], axis=-1)[..., 0]
    b = xp.take_along_axis(srt, xp.minimum(hi_i, x.shape[-1] - 1)[..., None], axis=-1)[..., 0]
    diff = b - a
    out = xp.where(gamma >= 0.5, b - diff * (1.0 - gamma), a + diff * gamma)
    return xp.where(top, a, xp.where(k > 0, out, xp.nan))


def _after_hours_xp(xp, load, occupied, steps_per_day, first_weekday, percentile, factor):
    rows, n = load.shape
    days = -(-n // steps_per_day)
    weeks = _weeks(days, first_weekday)
    lead = first_weekday * steps_per_day
    total = weeks * 7 * steps_per_day
    x = xp.full((rows, total), xp.nan)
    x[:, lead:lead + n] = load
    idle = xp.full((rows, total), xp.nan)
    idle[:, lead:lead + n] = xp.where(occupied, xp.nan, load)
    x = x.reshape(rows, weeks, 7 * steps_per_day)
    idle = idle.reshape(rows, weeks, 7 * steps_per_day)
    split = 5 * steps_per_day  # Monday-Friday | Saturday-Sunday
    base = _nanpercentile_xp(xp, x[:, :, :split], percentile)
    out = [base]
    excess = []
    for part in (idle[:, :, split:], idle[:, :, :split]):
        out.append(_ratio_xp(xp, _quiet(xp.nanmedian, part, axis=-1), base))
        above = xp.maximum(part - base[:, :, None], 0.0)
        excess.append(xp.where(xp.isnan(base), xp.nan, xp.nansum(above, axis=-1)))
    weekend_ratio, night_ratio = out[1], out[2]
    flagged = (weekend_ratio >= factor) | (night_ratio >= factor)
    return base, weekend_ratio, night_ratio, excess[0], excess[1], flagged


def _after_hours_numpy(load, occupied, **kw):
    return _after_hours_xp(np, load, occupied, **kw)


def _after_hours_cupy(load, occupied, **kw):
    return _after_hours_xp(require_cupy(), load, occupied, **kw)


@numba.njit(cache=True, inline="always")
def _median3(x, y, z):
    if x > y:
        x, y = y, x
    if y > z:
        y = z
    return x if x > y else y


#: Below this many values, selection finishes with an insertion sort.
_SMALL = 16


@numba.njit(cache=True)
def _kth(a, k, r, t1, t2):
    """The ``r``-th smallest (0-based) of ``a[:k]`` in O(k); ``a`` is left as it is.

    Quickselect whose partition is branch-free: each value is written both to
    the front and to the back of a scratch buffer (``t1``, ``t2``: at least
    ``k`` long, used in turn) and only the counters move, so the comparisons
    cost no mispredicted branches (a branchy partition was 2x slower on meter
    data). Meter series (blocks of night and day load) can make the pivots
    poor, so after 2 log2(k) + 4
    passes the values left are sorted instead (O(k log k) at worst). Pivot:
    the median of three values, or of three such medians (Tukey's ninther)
    above 64 values.
    """
    src = a
    dst = t1
    off = 0
    n = k
    budget = 2 * int(np.log2(k + 1)) + 4
    while n > _SMALL:
        if budget == 0:
            return np.sort(src[off:off + n])[r]
        budget -= 1
        if n > 64:  # Tukey's ninther: the median of three medians of three
            step = n // 8
            pivot = _median3(_median3(src[off], src[off + step], src[off + 2 * step]),
                             _median3(src[off + 3 * step], src[off + 4 * step], src[off + 5 * step]),
                             _median3(src[off + 6 * step], src[off + 7 * step], src[off + n - 1]))
        else:
            pivot = _median3(src[off], src[off + n // 2], src[off + n - 1])
        below = 0
        above = 0
        for i in range(n):
            v = src[off + i]
            dst[below] = v
            below += v < pivot
            dst[n - 1 - above] = v
            above += v > pivot
        if r < below:
            off = 0
            n = below
        elif r >= n - above:
            r -= n - above
            off = n - above
            n = above
        else:
            return pivot
        src = dst
        dst = t2 if src is t1 else t1
    for i in range(n):
        v = src[off + i]
        j = i
        while j > 0 and dst[j - 1] > v:
            dst[j] = dst[j - 1]
            j -= 1
        dst[j] = v
    return dst[r]


@numba.njit(cache=True)
def _kth_pair(a, k, r, t1, t2):
    """The ``r``-th and ``(r + 1)``-th smallest of ``a[:k]`` (r + 1 < k): one select, one pass."""
    x = _kth(a, k, r, t1, t2)
    at_most = 0
    nxt = np.inf
    for i in range(k):
        v = a[i]
        at_most += v <= x
        w = v if v > x else np.inf
        nxt = w if w < nxt else nxt
    return x, (x if at_most >= r + 2 else nxt)


@numba.njit(cache=True)
def _median_select(a, k, t1, t2):
    """numpy.median of ``a[:k]`` (NaN if k = 0); ``a`` is left as it is."""
    if k == 0:
        return np.nan
    if k % 2 == 1:
        return _kth(a, k, k // 2, t1, t2)
    lower, upper = _kth_pair(a, k, k // 2 - 1, t1, t2)
    return (lower + upper) / 2.0


#: Ranks up to this use a sorted buffer of the smallest values instead of quickselect.
_LOW_RANKS = 32


@numba.njit(cache=True)
def _smallest_pair(a, k, r, buf):
    """The ``r``-th and ``(r + 1)``-th smallest of ``a[:k]`` for a low rank (r + 2 <= len(buf)).

    One pass keeping the ``r + 2`` smallest values sorted: after the first ones
    almost every value is rejected by one well-predicted comparison, so a low
    percentile (the near-base 2.5th) costs about one read of the data.
    """
    m = min(r + 2, k)
    for i in range(m):
        v = a[i]
        j = i
        while j > 0 and buf[j - 1] > v:
            buf[j] = buf[j - 1]
            j -= 1
        buf[j] = v
    largest = buf[m - 1]
    for i in range(m, k):
        v = a[i]
        if v < largest:
            j = m - 1
            while j > 0 and buf[j - 1] > v:
                buf[j] = buf[j - 1]
                j -= 1
            buf[j] = v
            largest = buf[m - 1]
    return buf[r], buf[min(r + 1, m - 1)]


@numba.njit(cache=True)
def _percentile_select(a, k, q, t1, t2):
    """numpy.percentile(a[:k], 100 q, method="linear"), q in [0, 1]; ``a`` is left as it is."""
    if k == 0:
        return np.nan
    vi = k * q + (1.0 + q * (1.0 - 1.0 - 1.0)) - 1.0  # as numpy writes (k - 1) q
    if vi >= k - 1:
        return _kth(a, k, k - 1, t1, t2)
    lo = int(np.floor(vi))
    g = vi - lo
    if lo + 2 <= _LOW_RANKS:
        x, y = _smallest_pair(a, k, lo, t1)
    elif lo + 1 >= k or g == 0.0:
        return _kth(a, k, lo, t1, t2)
    else:
        x, y = _kth_pair(a, k, lo, t1, t2)
    if lo + 1 >= k or g == 0.0:
        return x
    diff = y - x
    if g >= 0.5:
        return y - diff * (1.0 - g)
    return x + diff * g


@numba.njit(cache=True)
def _ratio(median, base):
    if np.isnan(median) or np.isnan(base):
        return np.nan
    if base > 0:
        return median / base
    if median > 0:
        return np.inf
    return 1.0


@numba.njit(cache=True)
def _excess(a, k, base):
    total = 0.0
    for i in range(k):
        total += max(a[i] - base, 0.0)
    return total


@numba.njit(parallel=True, cache=True)
def _after_hours_kernel(load, occupied, steps_per_day, first_weekday, q, factor):
    rows, n = load.shape
    days = (n + steps_per_day - 1) // steps_per_day
    weeks = (days - 1 + first_weekday) // 7 + 1
    base = np.empty((rows, weeks))
    weekend_ratio = np.empty((rows, weeks))
    night_ratio = np.empty((rows, weeks))
    weekend_excess = np.empty((rows, weeks))
    night_excess = np.empty((rows, weeks))
    flagged = np.zeros((rows, weeks), dtype=np.bool_)
    for task in numba.prange(rows * weeks):
        r = task // weeks
        w = task - r * weeks
        # Days of this week in the series (the clock's first Monday is day -first_weekday).
        d0 = max(0, 7 * w - first_weekday)
        d1 = min(days, 7 * w - first_weekday + 7)
        size = (d1 - d0) * steps_per_day
        work = np.empty(size)
        night = np.empty(size)
        weekend = np.empty(size)
        t1 = np.empty(size)
        t2 = np.empty(size)
        kw = 0
        kn = 0
        ke = 0
        for d in range(d0, d1):
            stop = min((d + 1) * steps_per_day, n)
            if (d + first_weekday) % 7 < 5:
                for t in range(d * steps_per_day, stop):
                    v = load[r, t]
                    if not np.isnan(v):
                        work[kw] = v
                        kw += 1
                        if not occupied[r, t]:
                            night[kn] = v
                            kn += 1
            else:
                for t in range(d * steps_per_day, stop):
                    v = load[r, t]
                    if not np.isnan(v) and not occupied[r, t]:
                        weekend[ke] = v
                        ke += 1
        b = _percentile_select(work, kw, q, t1, t2)
        base[r, w] = b
        weekend_ratio[r, w] = _ratio(_median_select(weekend, ke, t1, t2), b)
        night_ratio[r, w] = _ratio(_median_select(night, kn, t1, t2), b)
        weekend_excess[r, w] = np.nan if np.isnan(b) else _excess(weekend, ke, b)
        night_excess[r, w] = np.nan if np.isnan(b) else _excess(night, kn, b)
        flagged[r, w] = weekend_ratio[r, w] >= factor or night_ratio[r, w] >= factor
    return base, weekend_ratio, night_ratio, weekend_excess, night_excess, flagged


def _after_hours_numba(load, occupied, *, steps_per_day, first_weekday, percentile, factor):
    return _after_hours_kernel(np.ascontiguousarray(load), np.ascontiguousarray(occupied),
                               steps_per_day, first_weekday, percentile / 100.0, factor)


_AFTER_HOURS = {"numpy": _after_hours_numpy, "numba": _after_hours_numba, "cupy": _after_hours_cupy}


def _check_occupied(occupied: Any, shape: tuple[int, ...], xp) -> Any:
    occ = xp.asarray(occupied)
    if occ.size == 0:
        raise ValueError("occupied: is empty; give one flag per step")
    if occ.dtype != xp.bool_:
        if occ.dtype.kind not in "biuf" or not bool(to_host(((occ == 0) | (occ == 1)).all())):
            raise ValueError("occupied: expected booleans (True while the building is in use), or 0/1")
        occ = occ.astype(xp.bool_)
    if occ.ndim == 1 and len(shape) > 1 and occ.shape[0] == shape[-1]:
        occ = xp.broadcast_to(occ, shape)  # one calendar for every meter
    if tuple(occ.shape) != shape:
        raise ValueError(
            f"shapes differ: load {shape}, occupied {tuple(occ.shape)}; occupied must have the "
            "shape of load, or be one series of the length of its last axis"
        )
    return xp.ascontiguousarray(occ)


def _after_hours(load, occupied, steps_per_day, first_weekday, percentile, factor, backend, *, all_nan_ok=False):
    arr = _check_series("load", load, all_nan_ok=all_nan_ok)
    occ = _check_occupied(occupied, tuple(arr.shape), array_module(arr))
    steps_per_day = check_positive_int("steps_per_day", steps_per_day)
    if isinstance(first_weekday, bool) or not isinstance(first_weekday, (int, np.integer)) \
            or not 0 <= first_weekday <= 6:
        raise ValueError(f"first_weekday={first_weekday!r}: expected 0 (Monday) to 6 (Sunday)")
    percentile = _check_number("percentile", percentile, 0.0, 100.0)
    factor = _check_number("factor", factor, 0.0, low_open=True)
    flat, lead = _as_2d(arr)
    out = run_backend(
        _AFTER_HOURS, backend, (flat, occ.reshape(flat.shape)), steps_per_day=steps_per_day,
        first_weekday=int(first_weekday), percentile=percentile, factor=factor,
    )
    return AfterHours(*(o.reshape(lead + (o.shape[-1],)) for o in out))


def after_hours_load(
    load: Any,
    occupied: Any,
    steps_per_day: int = 96,
    first_weekday: int = 0,
    percentile: float = 2.5,
    factor: float = 1.5,
    backend: str = "auto",
) -> AfterHours:
    """Weekend and night load of each meter and week against its weekday near-base load.

    Parameters
    ----------
    load : array_like
        Energy per step (kWh per 15 min for ``building_meters``), time on the
        last axis, one series per meter; any leading axes. Step 0 is 00:00 of
        the series' clock. NaN = missing.
    occupied : array_like of bool
        True while the building is in use (its calendar): the shape of
        ``load``, or one series (length of the last axis) for every meter.
    steps_per_day : int, default 96
    first_weekday : int, default 0
        Weekday of the first day of the series, 0 = Monday ... 6 = Sunday.
    percentile : float, default 2.5
        The percentile of the weekday load that is the near-base load.
    factor : float, default 1.5
        A week is flagged when the median unoccupied load (weekend, or weekday
        nights) is at least ``factor`` times the near-base load.
    backend : {"auto", "numpy", "numba", "cupy"}

    Returns
    -------
    AfterHours
        Per meter and week: ``base``, ``weekend_ratio``, ``night_ratio``,
        ``weekend_excess``, ``night_excess``, ``flagged``.

    Raises
    ------
    ValueError
        ``load`` empty, scalar, all NaN, negative or infinite; ``occupied`` not booleans
        or of another shape; ``steps_per_day``, ``first_weekday``,
        ``percentile`` (0-100) or ``factor`` (> 0) out of range.

    Notes
    -----
    - Near-base load: the 2.5th percentile of the load, as in the load-shape
      metrics of Mathieu, Price et al. (LBNL, 2011) ("near-base" 2.5th,
      "near-peak" 97.5th percentile), taken here over each week's Monday-Friday
      steps, occupied or not, so a weekend anomaly cannot lift its own
      reference and the reference follows the season. In a building run well
      it is the night load of a weekday.
    - Unoccupied steps (``occupied`` False) are split into weekend (Saturday,
      Sunday) and weekday ones (nights, and whole days when the building is
      closed, e.g. school holidays). Their median load over the base is the
      ratio (about 1.2 in a normal week of ``building_meters``; 2.5 and more
      with lights or heating left on); the excess is the energy above the base
      summed over those steps (it is never negative per step).
    - A ratio is NaN where the week has no valid weekday value (no base) or no
      valid unoccupied value; with a zero base, 0 / 0 counts as 1 (the load
      stays at its base) and x / 0 as inf. NaN ratios are never flagged. NaN
      load values are skipped.
    """
    return _after_hours(load, occupied, steps_per_day, first_weekday, percentile, factor, backend)


# --------------------------------------------------------------------------- xarray


def _xr_prepare(da: Any, name: str, dim: str):
    import xarray as xr

    if not isinstance(da, xr.DataArray):
        raise ValueError(f"{name}: expected an xarray.DataArray, got {type(da).__name__}")
    if dim not in da.dims:
        raise ValueError(f"dim={dim!r} is not a dimension of {name}; its dimensions are {da.dims}")
    if da.chunks is not None:
        da = da.chunk({dim: -1})  # the day/week reshape runs along `dim`: one chunk there
    return da


def _day_starts(da: Any, dim: str, step: int, count: int, offset: int = 0):
    """The ``dim`` coordinate at every ``step``-th value from ``offset``, if there is one."""
    if dim not in da.coords:
        return None
    values = da[dim].values
    return values[np.clip(np.arange(count) * step - offset, 0, None)]


def _mnf_block(flow, *, steps_per_day, night, backend):
    return _mnf(flow, steps_per_day, night, backend, all_nan_ok=True)


def minimum_night_flow_xr(
    flow: Any, dim: str = "time", steps_per_day: int = 96, night: tuple[float, float] = (2, 4),
    backend: str = "auto",
) -> Any:
    """:func:`minimum_night_flow` along ``dim`` of a DataArray, lazily on dask-backed data.

    Parameters
    ----------
    flow : xarray.DataArray
        NumPy-, CuPy- or dask-backed; dask data is rechunked to one chunk
        along ``dim`` and computed chunk by chunk over the other dimensions.
    dim : str, default "time"
        The time dimension (its first value at 00:00 of the series' clock).
    steps_per_day, night, backend
        As :func:`minimum_night_flow`.

    Returns
    -------
    xarray.DataArray
        ``dim`` replaced by ``night`` (one per day; its coordinate is the
        first ``dim`` value of each day when ``dim`` has one). A chunk that is
        all NaN gives NaN rather than an error.
    """
    import xarray as xr

    flow = _xr_prepare(flow, "flow", dim)
    steps_per_day = check_positive_int("steps_per_day", steps_per_day)
    _check_night(night, steps_per_day)
    days = -(-flow.sizes[dim] // steps_per_day)
    out = xr.apply_ufunc(
        _mnf_block, flow,
        input_core_dims=[[dim]], output_core_dims=[["night"]], exclude_dims={dim},
        dask="parallelized", output_dtypes=[np.float64],
        dask_gufunc_kwargs={"output_sizes": {"night": days}},
        kwargs={"steps_per_day": steps_per_day, "night": night, "backend": backend},
    )
    coord = _day_starts(flow, dim, steps_per_day, days)
    return out if coord is None else out.assign_coords(night=coord)


def _after_hours_block(load, occupied, *, steps_per_day, first_weekday, percentile, factor, backend):
    return tuple(_after_hours(load, occupied, steps_per_day, first_weekday, percentile, factor,
                              backend, all_nan_ok=True))


def after_hours_load_xr(
    load: Any, occupied: Any, dim: str = "time", steps_per_day: int = 96,
    first_weekday: int | None = None, percentile: float = 2.5, factor: float = 1.5,
    backend: str = "auto",
) -> Any:
    """:func:`after_hours_load` along ``dim`` of DataArrays, lazily on dask-backed data.

    Parameters
    ----------
    load : xarray.DataArray
        NumPy-, CuPy- or dask-backed; dask data is rechunked to one chunk
        along ``dim``.
    occupied : xarray.DataArray
        Booleans, broadcastable against ``load`` (e.g. only along ``dim``).
    dim : str, default "time"
    first_weekday : int, optional
        Weekday of the first day; by default read from a datetime ``dim``
        coordinate.
    steps_per_day, percentile, factor, backend
        As :func:`after_hours_load`.

    Returns
    -------
    xarray.Dataset
        One variable per field of :class:`AfterHours`, ``dim`` replaced by
        ``week`` (coordinate: the first ``dim`` value of each week, when
        ``dim`` has a coordinate).
    """
    import pandas as pd
    import xarray as xr

    load = _xr_prepare(load, "load", dim)
    if not isinstance(occupied, xr.DataArray):
        raise ValueError(f"occupied: expected an xarray.DataArray, got {type(occupied).__name__}")
    if dim not in occupied.dims:
        raise ValueError(f"occupied: has no dimension {dim!r}")
    steps_per_day = check_positive_int("steps_per_day", steps_per_day)
    if first_weekday is None:
        if dim not in load.coords or not np.issubdtype(load[dim].dtype, np.datetime64):
            raise ValueError(f"first_weekday: give it, or a datetime coordinate {dim!r} on load")
        first_weekday = int(pd.Timestamp(load[dim].values[0]).day_of_week)
    occupied = occupied.chunk({dim: -1}) if occupied.chunks is not None else occupied
    load, occupied = xr.broadcast(load, occupied)
    if load.chunks is not None and occupied.chunks is None:
        occupied = occupied.chunk(dict(zip(load.dims, load.chunks)))
    days = -(-load.sizes[dim] // steps_per_day)
    weeks = _weeks(days, first_weekday)
    names = AfterHours._fields
    outs = xr.apply_ufunc(
        _after_hours_block, load, occupied,
        input_core_dims=[[dim], [dim]], output_core_dims=[["week"]] * len(names), exclude_dims={dim},
        dask="parallelized", output_dtypes=[np.float64] * (len(names) - 1) + [np.bool_],
        dask_gufunc_kwargs={"output_sizes": {"week": weeks}},
        kwargs={"steps_per_day": steps_per_day, "first_weekday": first_weekday,
                "percentile": percentile, "factor": factor, "backend": backend},
    )
    ds = xr.Dataset(dict(zip(names, outs)))
    coord = _day_starts(load, dim, 7 * steps_per_day, weeks, first_weekday * steps_per_day)
    return ds if coord is None else ds.assign_coords(week=coord)
