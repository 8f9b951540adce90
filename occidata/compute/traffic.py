"""Traffic counters: anomalies by a robust z-score against the same hour of the week.

Each count is compared with the counts of the same counter at the same hour of
the week (Monday 08:00 with the Mondays 08:00), by the modified z-score of
Iglewicz and Hoaglin (1993):

    z = (x - median) / (1.4826 * MAD)

where the median and the MAD (median absolute deviation from that median) are
taken over the reference values of that counter and hour of the week; 1.4826
makes 1.4826 * MAD the standard deviation of normal data. A count is flagged
when ``|z| >= threshold`` (3.5, Iglewicz and Hoaglin's cut-off).

The reference
-------------
- ``weeks=None`` (the default), the whole series: every value of that counter
  at that hour of the week, the value itself included, as in Iglewicz and
  Hoaglin's outlier labelling (a study of a period already counted).
- ``weeks=k``, past only, as an operator runs it online: the previous ``k``
  values at the same hour of the week, i.e. the previous ``k`` weeks of an
  hourly series. The value itself is not in its reference and a result never
  changes when later data arrive. The median and MAD of a few weeks are
  uncertain, so short windows raise more false alarms: on Poisson counts with
  a weekly profile and no anomaly, the share of counts flagged at 3.5 was
  0.2-0.4 % with the whole series (12 to 60 weeks), and with past windows
  14 % (4 weeks), 4.8 % (8), 2.5 % (12), 0.7 % (26), 0.3 % (52). Online, use
  26 weeks or more, or a higher threshold.

"Previous values" are counted along the series: give hourly series with the
missing hours as NaN (not dropped), so the ``k`` previous values of an hour of
the week are the ``k`` previous weeks. NaN values are skipped in the reference;
a reference with fewer than ``min_history`` valid values gives NaN (no
judgement).

MAD = 0 (more than half the reference values equal, common for low counts at
night) would divide by zero. Then, as Iglewicz and Hoaglin advise, the scale
is 1.253314 * MeanAD (mean absolute deviation from the median; 1.253314 =
sqrt(pi / 2) makes it the standard deviation of normal data). If that is 0 too
(all reference values equal), z is 0 for a count equal to them and +/-inf
(flagged) otherwise.

Counters are on the leading axes, time on the last axis (as for
:mod:`occidata.compute.buildings`).

Implementations: NumPy (reference: the counts laid out per hour of the week and
NaN-aware medians over the reference windows), Numba (one pass per counter in
``prange``; past-only: a sorted window per hour of the week updated by
insertion and removal, median and MAD read from it in O(weeks); whole series:
median and MAD of each hour of the week by quickselect, O(n)), CuPy (the NumPy
code with ``xp = cupy``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numba
import numpy as np

from occidata.compute._xp import require_cupy, run_backend, to_host
from occidata.compute.buildings import _check_series, _median_select, _quiet
from occidata.compute.checks import check_length, check_positive_int

__all__ = ["TrafficAnomalies", "traffic_anomalies", "traffic_anomalies_xr"]

#: 1 / Phi^-1(3/4): 1.4826 x MAD estimates the standard deviation of normal data.
MAD_SCALE = 1.4826
#: sqrt(pi / 2): 1.253314 x MeanAD estimates it too (the fallback when MAD = 0).
MEANAD_SCALE = 1.253314
#: Elements (counters x steps x weeks) per block of the NumPy/CuPy past-only reference.
_BLOCK_ELEMENTS = 1 << 22


class TrafficAnomalies(NamedTuple):
    """Per count (shape of ``counts``), from :func:`traffic_anomalies`."""

    z: Any         # robust z-score; NaN where the count is NaN or the reference too short
    flagged: Any   # bool: |z| >= threshold
    expected: Any  # the reference median: the usual count at that hour of the week
    scale: Any     # 1.4826 x MAD, or 1.253314 x MeanAD where MAD = 0


# --------------------------------------------------------------------------- NumPy / CuPy


def _robust_xp(xp, ref, min_history: int):
    """Median and scale over the last axis of ``ref`` (NaN = no value)."""
    valid = (~xp.isnan(ref)).sum(axis=-1)
    median = _quiet(xp.nanmedian, ref, axis=-1)
    dev = xp.abs(ref - median[..., None])
    mad = _quiet(xp.nanmedian, dev, axis=-1)
    meanad = _quiet(xp.nanmean, dev, axis=-1)
    scale = xp.where(mad > 0, MAD_SCALE * mad, MEANAD_SCALE * meanad)
    enough = valid >= min_history
    return xp.where(enough, median, xp.nan), xp.where(enough, scale, xp.nan)


def _score_xp(xp, counts, median, scale, threshold: float):
    diff = counts - median
    positive = scale > 0
    # A zero scale (all reference values equal): 0 at that value, +/-inf elsewhere.
    flat = xp.where(diff == 0, 0.0, xp.where(diff > 0, xp.inf, -xp.inf))
    z = xp.where(positive, diff / xp.where(positive, scale, 1.0), flat)
    z = xp.where(xp.isnan(diff), xp.nan, z)
    return z, xp.abs(z) >= threshold


def _anomalies_xp(xp, counts, codes, rank, *, labels, longest, weeks, min_history, threshold):
    rows, n = counts.shape
    median = xp.empty((rows, n))
    scale = xp.empty((rows, n))
    span = n * (weeks or 1)
    block = max(1, _BLOCK_ELEMENTS // max(span, 1))
    for b in range(0, rows, block):
        part = counts[b:b + block]
        m = part.shape[0]
        table = xp.full((m, labels, longest), xp.nan)  # counts laid out per hour of the week
        table[:, codes, rank] = part
        if weeks is None:
            med, sc = _robust_xp(xp, table, min_history)
            median[b:b + m], scale[b:b + m] = med[:, codes], sc[:, codes]
            continue
        padded = xp.concatenate([xp.full((m, labels, weeks), xp.nan), table], axis=-1)
        # Reference of the j-th value of an hour of the week: its values j-weeks .. j-1.
        window = xp.stack([padded[:, :, i:i + longest] for i in range(weeks)], axis=-1)
        med, sc = _robust_xp(xp, window, min_history)
        median[b:b + m], scale[b:b + m] = med[:, codes, rank], sc[:, codes, rank]
    z, flagged = _score_xp(xp, counts, median, scale, threshold)
    return z, flagged, median, scale


def _anomalies_numpy(counts, codes, rank, order, starts, **kw):
    return _anomalies_xp(np, counts, codes, rank, **kw)


def _anomalies_cupy(counts, codes, rank, order, starts, **kw):
    return _anomalies_xp(require_cupy(), counts, codes, rank, **kw)


# --------------------------------------------------------------------------- Numba


@numba.njit(cache=True, inline="always")
def _insert_sorted(buf, k, v):
    p = np.searchsorted(buf[:k], v)
    for j in range(k, p, -1):
        buf[j] = buf[j - 1]
    buf[p] = v


@numba.njit(cache=True, inline="always")
def _remove_sorted(buf, k, v):
    p = np.searchsorted(buf[:k], v)
    for j in range(p, k - 1):
        buf[j] = buf[j + 1]


@numba.njit(cache=True)
def _robust_sorted(s, k):
    """(median, scale) of the sorted s[:k], k >= 1, in O(k).

    The absolute deviations from the median, taken outwards from the middle,
    form two increasing sequences (left of the median and right of it): their
    merge gives the deviations in order, so the MAD needs no second sort.
    """
    mid = k // 2
    if k % 2 == 1:
        median = s[mid]
        i = mid
    else:
        median = (s[mid - 1] + s[mid]) / 2.0
        i = mid - 1
    j = i + 1
    low = 0.0
    high = 0.0
    for c in range(k // 2 + 1):
        if j >= k or (i >= 0 and median - s[i] <= s[j] - median):
            d = median - s[i]
            i -= 1
        else:
            d = s[j] - median
            j += 1
        low = high
        high = d
    mad = high if k % 2 == 1 else (low + high) / 2.0
    if mad > 0:
        return median, 1.4826 * mad
    total = 0.0
    for c in range(k):
        total += abs(s[c] - median)
    return median, 1.253314 * (total / k)


@numba.njit(cache=True)
def _robust_select(buf, k, dev, t1, t2):
    """(median, scale) of buf[:k], k >= 1, by selection in O(k); dev, t1, t2: scratch."""
    median = _median_select(buf, k, t1, t2)
    total = 0.0
    for c in range(k):
        dev[c] = abs(buf[c] - median)
        total += dev[c]
    mad = _median_select(dev, k, t1, t2)
    if mad > 0:
        return median, 1.4826 * mad
    return median, 1.253314 * (total / k)


@numba.njit(cache=True, inline="always")
def _emit(x, median, scale, threshold, r, t, z, flagged, med_out, scale_out):
    med_out[r, t] = median
    scale_out[r, t] = scale
    if np.isnan(x) or np.isnan(median):
        z[r, t] = np.nan
        return
    diff = x - median
    if scale > 0:
        v = diff / scale
    elif diff == 0:
        v = 0.0
    elif diff > 0:
        v = np.inf
    else:
        v = -np.inf
    z[r, t] = v
    flagged[r, t] = abs(v) >= threshold


@numba.njit(parallel=True, cache=True)
def _past_kernel(counts, codes, labels, weeks, min_history, threshold):
    rows, n = counts.shape
    z = np.empty((rows, n))
    flagged = np.zeros((rows, n), dtype=np.bool_)
    med_out = np.empty((rows, n))
    scale_out = np.empty((rows, n))
    for r in numba.prange(rows):
        ring = np.full((labels, weeks), np.nan)  # the last `weeks` values of each hour, NaN too
        head = np.zeros(labels, dtype=np.int64)
        window = np.empty((labels, weeks))        # their valid values, sorted
        size = np.zeros(labels, dtype=np.int64)
        for t in range(n):
            h = codes[t]
            k = size[h]
            if k >= min_history:
                median, scale = _robust_sorted(window[h], k)
            else:
                median, scale = np.nan, np.nan
            x = counts[r, t]
            _emit(x, median, scale, threshold, r, t, z, flagged, med_out, scale_out)
            old = ring[h, head[h]]
            if not np.isnan(old):
                _remove_sorted(window[h], k, old)
                k -= 1
            if not np.isnan(x):
                _insert_sorted(window[h], k, x)
                k += 1
            size[h] = k
            ring[h, head[h]] = x
            head[h] = (head[h] + 1) % weeks
    return z, flagged, med_out, scale_out


@numba.njit(parallel=True, cache=True)
def _whole_kernel(counts, codes, order, starts, min_history, threshold):
    rows, n = counts.shape
    labels = starts.size - 1
    z = np.empty((rows, n))
    flagged = np.zeros((rows, n), dtype=np.bool_)
    med_out = np.empty((rows, n))
    scale_out = np.empty((rows, n))
    for r in numba.prange(rows):
        medians = np.empty(labels)
        scales = np.empty(labels)
        buf = np.empty(n)
        dev = np.empty(n)
        t1 = np.empty(n)
        t2 = np.empty(n)
        for h in range(labels):
            k = 0
            for p in range(starts[h], starts[h + 1]):
                v = counts[r, order[p]]
                if not np.isnan(v):
                    buf[k] = v
                    k += 1
            if k >= min_history:
                medians[h], scales[h] = _robust_select(buf, k, dev, t1, t2)
            else:
                medians[h] = np.nan
                scales[h] = np.nan
        for t in range(n):
            h = codes[t]
            _emit(counts[r, t], medians[h], scales[h], threshold, r, t, z, flagged, med_out, scale_out)
    return z, flagged, med_out, scale_out


def _anomalies_numba(counts, codes, rank, order, starts, *, labels, longest, weeks, min_history, threshold):
    counts = np.ascontiguousarray(counts)
    if weeks is None:
        return _whole_kernel(counts, codes, order, starts, min_history, threshold)
    return _past_kernel(counts, codes, labels, weeks, min_history, threshold)


_ANOMALIES = {"numpy": _anomalies_numpy, "numba": _anomalies_numba, "cupy": _anomalies_cupy}


# --------------------------------------------------------------------------- public


def _check_labels(hour_of_week: Any, n: int):
    """Integer labels of the time steps -> (codes 0..L-1, rank within label, order, starts)."""
    labels = np.asarray(to_host(hour_of_week))
    if labels.ndim != 1:
        raise ValueError(
            f"hour_of_week: expected a 1-D array (one label per step of the last axis of counts), "
            f"got shape {labels.shape}"
        )
    check_length("hour_of_week", labels, 0, n, "counts (last axis)")
    if labels.dtype.kind == "f":
        if not np.isfinite(labels).all() or (labels != np.round(labels)).any():
            raise ValueError("hour_of_week: expected whole numbers (0 = Monday 00:00 ... 167)")
        labels = labels.astype(np.int64)
    elif labels.dtype.kind not in "iu":
        raise ValueError(f"hour_of_week: expected integers (0 = Monday 00:00 ... 167), got {labels.dtype}")
    if labels.size and labels.min() < 0:
        raise ValueError("hour_of_week: expected integers >= 0 (0 = Monday 00:00 ... 167)")
    _, codes = np.unique(labels, return_inverse=True)
    codes = codes.astype(np.int64).reshape(-1)
    order = np.argsort(codes, kind="stable").astype(np.int64)
    sizes = np.bincount(codes)
    starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - np.repeat(starts[:-1], sizes)
    return codes, rank, order, starts, int(sizes.max())


def _check_options(threshold: Any, weeks: Any, min_history: Any):
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.integer, np.floating)) \
            or not np.isfinite(threshold) or threshold <= 0:
        raise ValueError(f"threshold={threshold!r}: expected a number > 0 (3.5 is usual)")
    if weeks is not None:
        weeks = check_positive_int("weeks", weeks)
    min_history = check_positive_int("min_history", min_history)
    if weeks is not None and min_history > weeks:
        raise ValueError(f"min_history={min_history} must not exceed weeks={weeks}")
    return float(threshold), weeks, min_history


def _anomalies(counts, hour_of_week, threshold, weeks, min_history, backend, *, all_nan_ok=False):
    arr = _check_series("counts", counts, all_nan_ok=all_nan_ok)
    threshold, weeks, min_history = _check_options(threshold, weeks, min_history)
    n = arr.shape[-1]
    codes, rank, order, starts, longest = _check_labels(hour_of_week, n)
    flat = arr.reshape(-1, n)
    out = run_backend(
        _ANOMALIES, backend, (flat, codes, rank, order, starts),
        labels=starts.size - 1, longest=longest, weeks=weeks, min_history=min_history,
        threshold=threshold,
    )
    return TrafficAnomalies(*(o.reshape(arr.shape) for o in out))


def traffic_anomalies(
    counts: Any,
    hour_of_week: Any,
    threshold: float = 3.5,
    weeks: int | None = None,
    min_history: int = 3,
    backend: str = "auto",
) -> TrafficAnomalies:
    """Counts far from the usual count of the same hour of the week (robust z-score).

    Parameters
    ----------
    counts : array_like
        Vehicles per hour, time on the last axis, one series per counter; any
        leading axes. Hourly without dropped hours: NaN marks a missing count.
    hour_of_week : array_like of int
        One label per step of the last axis: the hour of the week, 0 =
        Monday 00:00 ... 167 = Sunday 23:00 (local time, for local rhythms),
        e.g. ``index.day_of_week * 24 + index.hour``. Any integers >= 0 work:
        the reference of a value is the values with the same label.
    threshold : float, default 3.5
        Flag where ``|z| >= threshold``.
    weeks : int or None, default None
        ``None``: the reference is all values of the label in the series, the
        value included. An integer: past only, the previous ``weeks`` values
        of the same label (see the module notes for the false-alarm rates).
    min_history : int, default 3
        Valid reference values needed to judge a count (<= ``weeks``).
    backend : {"auto", "numpy", "numba", "cupy"}

    Returns
    -------
    TrafficAnomalies
        ``z``, ``flagged``, ``expected`` (the reference median) and ``scale``,
        each of the shape of ``counts``.

    Raises
    ------
    ValueError
        ``counts`` empty, scalar, all NaN, negative or infinite;
        ``hour_of_week`` not one non-negative integer per step;
        ``threshold`` not > 0; ``weeks`` or ``min_history`` not positive
        integers, or ``min_history > weeks``.

    Notes
    -----
    See the module notes for the rule (Iglewicz and Hoaglin's modified
    z-score), the MAD = 0 fallback and the reference windows.

    Examples
    --------
    Four Mondays 08:00 (one label), the fourth judged against the first three
    (median 100, deviations 2, 0, 2 so MAD 2, scale 2.9652):

    >>> r = traffic_anomalies([[98.0, 100.0, 102.0, 160.0]], [8, 8, 8, 8], weeks=3, backend="numpy")
    >>> float(r.z[0, 3].round(2)), bool(r.flagged[0, 3])
    (20.23, True)
    """
    return _anomalies(counts, hour_of_week, threshold, weeks, min_history, backend)


# --------------------------------------------------------------------------- xarray


def _anomalies_block(counts, *, hour_of_week, threshold, weeks, min_history, backend):
    return tuple(_anomalies(counts, hour_of_week, threshold, weeks, min_history, backend, all_nan_ok=True))


def traffic_anomalies_xr(
    counts: Any,
    hour_of_week: Any = None,
    dim: str = "time",
    threshold: float = 3.5,
    weeks: int | None = None,
    min_history: int = 3,
    backend: str = "auto",
) -> Any:
    """:func:`traffic_anomalies` along ``dim`` of a DataArray, lazily on dask-backed data.

    Parameters
    ----------
    counts : xarray.DataArray
        NumPy-, CuPy- or dask-backed; dask data is rechunked to one chunk
        along ``dim`` and computed chunk by chunk over the other dimensions.
    hour_of_week : array_like of int, optional
        As :func:`traffic_anomalies`; by default from a datetime ``dim``
        coordinate (``day_of_week * 24 + hour``, in the coordinate's clock).
    dim : str, default "time"
    threshold, weeks, min_history, backend
        As :func:`traffic_anomalies`.

    Returns
    -------
    xarray.Dataset
        ``z``, ``flagged``, ``expected``, ``scale`` with the dimensions and
        coordinates of ``counts``. A chunk that is all NaN gives NaN rather
        than an error.
    """
    import pandas as pd
    import xarray as xr

    if not isinstance(counts, xr.DataArray):
        raise ValueError(f"counts: expected an xarray.DataArray, got {type(counts).__name__}")
    if dim not in counts.dims:
        raise ValueError(f"dim={dim!r} is not a dimension of counts; its dimensions are {counts.dims}")
    if hour_of_week is None:
        if dim not in counts.coords or not np.issubdtype(counts[dim].dtype, np.datetime64):
            raise ValueError(f"hour_of_week: give it, or a datetime coordinate {dim!r} on counts")
        index = pd.DatetimeIndex(counts[dim].values)
        hour_of_week = index.day_of_week.to_numpy() * 24 + index.hour.to_numpy()
    threshold, weeks, min_history = _check_options(threshold, weeks, min_history)
    _check_labels(hour_of_week, counts.sizes[dim])
    if counts.chunks is not None:
        counts = counts.chunk({dim: -1})
    names = TrafficAnomalies._fields
    outs = xr.apply_ufunc(
        _anomalies_block, counts,
        input_core_dims=[[dim]], output_core_dims=[[dim]] * len(names),
        dask="parallelized", output_dtypes=[np.float64, np.bool_, np.float64, np.float64],
        kwargs={"hour_of_week": np.asarray(to_host(hour_of_week)), "threshold": threshold,
                "weeks": weeks, "min_history": min_history, "backend": backend},
    )
    return xr.Dataset({name: out.transpose(*counts.dims) for name, out in zip(names, outs)})
