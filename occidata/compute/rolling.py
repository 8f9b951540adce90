"""Trailing rolling statistics (mean, percentile) that skip NaN, fast on long series.

The value at index ``i`` summarises the trailing window ``x[i-window+1 .. i]``
(pandas' ``Series.rolling(window)`` without ``center``): at the start of a
series the window holds fewer values and the result is NaN until it holds
``min_periods`` valid ones. NaN values are skipped; a window with fewer than
``min_periods`` valid (non-NaN) values gives NaN.

Implementations
---------------
- NumPy (the reference): the mean from cumulative sums taken afresh in blocks
  of a few thousand steps, so their rounding error cannot grow with the
  length of the series; the percentile by sorting every window (in chunks of
  a bounded size) and interpolating like :func:`numpy.nanpercentile`.
- Numba: one pass per series with a running sum and count for the mean, and a
  sorted buffer of the window's valid values for the percentile (binary
  search for the leaving value, then move the gap it leaves to the entering
  value's rank): O(n) and O(n * window) worst case, in practice about a
  third of the window moved per step (~70 ns per step at window 96 on one
  core). The series are cut into independent pieces of at least
  ``max(window, 1024)`` steps, each started from its own preceding window,
  and the pieces of all series run in parallel (``prange``): one long series
  uses every core too, and the running sum is rebuilt from the values at
  each piece start, so float error cannot drift along a long series. Small
  inputs (under about two million elements of work) run on one thread.
- CuPy: the NumPy code with ``xp = cupy``.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from occidata.compute._parallel import serial_if_small
from occidata.compute._xp import array_module, require_cupy, run_backend, to_host
from occidata.compute.checks import as_float_array, check_not_all_nan, check_positive_int

__all__ = ["rolling_mean", "rolling_mean_xr", "rolling_percentile", "rolling_percentile_xr"]


#: Steps per independently started piece of a series in the Numba kernels
#: (at least ``window``): bounds the float drift of the running sum.
_PIECE = 1024
#: Steps per cumulative-sum block of the NumPy/CuPy mean.
_BLOCK = 4096
#: Elements (rows x steps x window) per chunk of the NumPy/CuPy percentile.
_CHUNK_ELEMENTS = 1 << 22
# --------------------------------------------------------------------------- validation


def _check_args(x: Any, window: Any, axis: Any, min_periods: Any, *, all_nan_ok: bool = False):
    arr = as_float_array("x", x)
    if arr.ndim == 0:
        raise ValueError("x: expected an array with a time axis, got a scalar")
    xp = array_module(arr)
    if bool(to_host(xp.isinf(arr).any())):
        raise ValueError("x: has infinite values; mark missing values as NaN")
    if not all_nan_ok:
        check_not_all_nan("x", arr)
    window = check_positive_int("window", window)
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise ValueError(f"axis={axis!r}: expected an integer")
    if not -arr.ndim <= axis < arr.ndim:
        raise ValueError(f"axis={axis!r}: out of range for x with {arr.ndim} dimension(s)")
    if min_periods is None:
        min_periods = window
    min_periods = check_positive_int("min_periods", min_periods)
    if min_periods > window:
        raise ValueError(f"min_periods={min_periods} must not exceed window={window}")
    return arr, window, int(axis), min_periods


def _check_q(q: Any) -> float:
    if isinstance(q, bool) or not isinstance(q, (int, float, np.integer, np.floating)):
        raise ValueError(f"q={q!r}: expected one number between 0 and 100")
    if not 0.0 <= float(q) <= 100.0:
        raise ValueError(f"q={q!r}: expected a percentile between 0 and 100")
    return float(q)


def _apply_2d(impls, backend, arr, axis, **kwargs):
    """Run an impl on ``arr`` as (series, time) and give the result back in ``arr``'s layout."""
    xp = array_module(arr)
    moved = xp.moveaxis(arr, axis, -1)
    flat = moved.reshape(-1, moved.shape[-1])
    out = run_backend(impls, backend, (flat,), **kwargs)
    return xp.moveaxis(out.reshape(moved.shape), -1, axis)


# --------------------------------------------------------------------------- rolling mean


def _rolling_mean_xp(xp, x, window: int, min_periods: int):
    rows, n = x.shape
    valid = ~xp.isnan(x)
    vals = xp.where(valid, x, 0.0)
    cnts = valid.astype(xp.int64)
    out = xp.empty_like(x)
    block = max(window, _BLOCK)
    for b in range(0, n, block):
        e = min(n, b + block)
        lo = max(0, b - window)
        zeros = xp.zeros((rows, 1))
        cs = xp.concatenate([zeros, xp.cumsum(vals[:, lo:e], axis=1)], axis=1)
        cc = xp.concatenate([zeros.astype(xp.int64), xp.cumsum(cnts[:, lo:e], axis=1)], axis=1)
        idx = xp.arange(b, e)
        hi_i = idx + 1 - lo
        lo_i = xp.maximum(idx - window + 1, 0) - lo
        s = cs[:, hi_i] - cs[:, lo_i]
        c = cc[:, hi_i] - cc[:, lo_i]
        out[:, b:e] = xp.where(c >= min_periods, s / xp.maximum(c, 1), xp.nan)
    return out


def _rolling_mean_numpy(x, *, window: int, min_periods: int):
    return _rolling_mean_xp(np, x, window, min_periods)


def _rolling_mean_cupy(x, *, window: int, min_periods: int):
    return _rolling_mean_xp(require_cupy(), x, window, min_periods)


@numba.njit(parallel=True, cache=True)
def _rolling_mean_kernel(x, window, min_periods, piece):
    rows, n = x.shape
    out = np.empty((rows, n))
    pieces = (n + piece - 1) // piece
    for task in numba.prange(rows * pieces):
        r = task // pieces
        start = (task - r * pieces) * piece
        stop = min(n, start + piece)
        # The `window` values before `start`, summed afresh (step `start` drops the
        # oldest of them): each piece starts without accumulated drift.
        s = 0.0
        c = 0
        for j in range(max(0, start - window), start):
            v = x[r, j]
            if not np.isnan(v):
                s += v
                c += 1
        for i in range(start, stop):
            v = x[r, i]
            if not np.isnan(v):
                s += v
                c += 1
            if i >= window:
                u = x[r, i - window]
                if not np.isnan(u):
                    s -= u
                    c -= 1
            if c >= min_periods:
                out[r, i] = s / c
            else:
                out[r, i] = np.nan
    return out


def _rolling_mean_numba(x, *, window: int, min_periods: int):
    with serial_if_small(2 * x.size):
        return _rolling_mean_kernel(np.ascontiguousarray(x), window, min_periods, max(window, _PIECE))


_MEAN = {"numpy": _rolling_mean_numpy, "numba": _rolling_mean_numba, "cupy": _rolling_mean_cupy}


def rolling_mean(
    x: Any, window: int, axis: int = -1, min_periods: int | None = None, backend: str = "auto"
) -> Any:
    """Trailing rolling mean that skips NaN.

    Parameters
    ----------
    x : array_like
        Values; any number of dimensions, time along ``axis``. NaN marks a
        missing value. Infinite values are refused.
    window : int
        Window length in steps: the value at ``i`` is the mean of the valid
        values among ``x[i-window+1 .. i]``.
    axis : int, default -1
        The time axis.
    min_periods : int, optional
        Valid values a window needs (1 <= min_periods <= window); default
        ``window``, i.e. a complete window.
    backend : {"auto", "numpy", "numba", "cupy"}
        Implementation.

    Returns
    -------
    ndarray
        Same shape as ``x``; NaN where the window holds fewer than
        ``min_periods`` valid values (so the first ``min_periods - 1`` steps
        always).

    Raises
    ------
    ValueError
        ``x`` empty, all NaN or with infinite values; ``window`` or
        ``min_periods`` not a positive integer, or ``min_periods > window``;
        ``axis`` out of range.

    Notes
    -----
    Same result as pandas ``Series.rolling(window, min_periods).mean()``.
    The Numba kernel keeps a running sum, rebuilt from the values at least
    every ``max(window, 1024)`` steps; a sum that must cancel a value many
    orders of magnitude larger than the others (1e15 next to 1) loses those
    digits until the next rebuild, as any running sum does.

    Examples
    --------
    >>> rolling_mean([1.0, 2.0, float("nan"), 4.0], 2, min_periods=1, backend="numpy")
    array([1. , 1.5, 2. , 4. ])
    """
    arr, window, axis, min_periods = _check_args(x, window, axis, min_periods)
    return _apply_2d(_MEAN, backend, arr, axis, window=window, min_periods=min_periods)


# --------------------------------------------------------------------------- rolling percentile


def _rolling_percentile_xp(xp, x, window: int, q: float, min_periods: int):
    rows, n = x.shape
    padded = xp.concatenate([xp.full((rows, window - 1), xp.nan), x], axis=1)
    out = xp.empty_like(x)
    qf = q / 100.0
    offsets = xp.arange(window)
    chunk = max(1, _CHUNK_ELEMENTS // (rows * window))
    for b in range(0, n, chunk):
        e = min(n, b + chunk)
        win = padded[:, (xp.arange(b, e)[:, None] + offsets[None, :])]  # (rows, e-b, window)
        srt = xp.sort(win, axis=-1)  # NaN sort last
        k = (~xp.isnan(win)).sum(axis=-1)
        # numpy's "linear" method (Hyndman & Fan 7): virtual index k*q + (1 - q) - 1.
        vi = k * qf + (1.0 + qf * (1.0 - 1.0 - 1.0)) - 1.0
        prev = xp.floor(vi)
        gamma = vi - prev
        top = vi >= k - 1
        prev_i = xp.where(top, k - 1, prev).astype(xp.int64)
        prev_i = xp.clip(prev_i, 0, window - 1)
        next_i = xp.clip(xp.where(top, prev_i, prev_i + 1), 0, window - 1)
        lo = xp.take_along_axis(srt, prev_i[..., None], axis=-1)[..., 0]
        hi = xp.take_along_axis(srt, next_i[..., None], axis=-1)[..., 0]
        diff = hi - lo
        res = xp.where(gamma >= 0.5, hi - diff * (1.0 - gamma), lo + diff * gamma)
        out[:, b:e] = xp.where(k >= min_periods, res, xp.nan)
    return out


def _rolling_percentile_numpy(x, *, window: int, q: float, min_periods: int):
    return _rolling_percentile_xp(np, x, window, q, min_periods)


def _rolling_percentile_cupy(x, *, window: int, q: float, min_periods: int):
    return _rolling_percentile_xp(require_cupy(), x, window, q, min_periods)


@numba.njit(cache=True, inline="always")
def _lower_bound(buf, k, v):
    """First index of the sorted ``buf[:k]`` whose value is not below ``v``."""
    lo = 0
    hi = k
    while lo < hi:
        mid = (lo + hi) >> 1
        if buf[mid] < v:
            lo = mid + 1
        else:
            hi = mid
    return lo


@numba.njit(cache=True, inline="always")
def _sorted_insert(buf, k, v):
    p = _lower_bound(buf, k, v)
    for j in range(k, p, -1):
        buf[j] = buf[j - 1]
    buf[p] = v


@numba.njit(cache=True, inline="always")
def _sorted_remove(buf, k, v):
    p = _lower_bound(buf, k, v)
    for j in range(p, k - 1):
        buf[j] = buf[j + 1]


@numba.njit(cache=True, inline="always")
def _sorted_replace(buf, k, old, new):
    """Remove ``old`` (present) and insert ``new``: move the hole only between their ranks."""
    p = _lower_bound(buf, k, old)
    if new > old:
        while p + 1 < k and buf[p + 1] < new:
            buf[p] = buf[p + 1]
            p += 1
    else:
        while p > 0 and buf[p - 1] > new:
            buf[p] = buf[p - 1]
            p -= 1
    buf[p] = new


@numba.njit(parallel=True, cache=True)
def _rolling_percentile_kernel(x, window, q, min_periods, piece):
    rows, n = x.shape
    out = np.empty((rows, n))
    pieces = (n + piece - 1) // piece
    qf = q / 100.0
    for task in numba.prange(rows * pieces):
        r = task // pieces
        start = (task - r * pieces) * piece
        stop = min(n, start + piece)
        # The valid values among the `window` steps before `start`, sorted.
        buf = np.empty(window)
        k = 0
        for j in range(max(0, start - window), start):
            v = x[r, j]
            if not np.isnan(v):
                buf[k] = v
                k += 1
        buf[:k] = np.sort(buf[:k])
        for i in range(start, stop):
            v = x[r, i]
            u = x[r, i - window] if i >= window else np.nan
            if not np.isnan(u):
                if not np.isnan(v):
                    _sorted_replace(buf, k, u, v)
                else:
                    _sorted_remove(buf, k, u)
                    k -= 1
            elif not np.isnan(v):
                _sorted_insert(buf, k, v)
                k += 1
            if k < min_periods:
                out[r, i] = np.nan
                continue
            # numpy's "linear" method (Hyndman & Fan 7), written as numpy computes it.
            vi = k * qf + (1.0 + qf * (1.0 - 1.0 - 1.0)) - 1.0
            if vi >= k - 1:
                out[r, i] = buf[k - 1]
                continue
            p = int(np.floor(vi))
            gamma = vi - p
            lo = buf[p]
            hi = buf[p + 1]
            diff = hi - lo
            if gamma >= 0.5:
                out[r, i] = hi - diff * (1.0 - gamma)
            else:
                out[r, i] = lo + diff * gamma
    return out


def _rolling_percentile_numba(x, *, window: int, q: float, min_periods: int):
    # Each step moves a value by about a third of the window.
    with serial_if_small(2 * x.size * max(1, window // 3)):
        return _rolling_percentile_kernel(
            np.ascontiguousarray(x), window, q, min_periods, max(window, _PIECE)
        )


_PERCENTILE = {
    "numpy": _rolling_percentile_numpy,
    "numba": _rolling_percentile_numba,
    "cupy": _rolling_percentile_cupy,
}


def rolling_percentile(
    x: Any,
    window: int,
    q: float,
    axis: int = -1,
    min_periods: int | None = None,
    backend: str = "auto",
) -> Any:
    """Trailing rolling percentile that skips NaN.

    Parameters
    ----------
    x : array_like
        Values; time along ``axis``; NaN marks a missing value. Infinite
        values are refused.
    window : int
        Window length in steps: the value at ``i`` is the ``q``-th percentile
        of the valid values among ``x[i-window+1 .. i]``.
    q : float
        Percentile in [0, 100] (one number).
    axis : int, default -1
        The time axis.
    min_periods : int, optional
        Valid values a window needs (1 <= min_periods <= window); default
        ``window``.
    backend : {"auto", "numpy", "numba", "cupy"}
        Implementation.

    Returns
    -------
    ndarray
        Same shape as ``x``; NaN where the window holds fewer than
        ``min_periods`` valid values.

    Raises
    ------
    ValueError
        As :func:`rolling_mean`, and ``q`` outside [0, 100].

    Notes
    -----
    Linear interpolation between the two nearest ranks, as
    ``numpy.nanpercentile(..., method="linear")`` and pandas
    ``Series.rolling(window, min_periods).quantile(q / 100,
    interpolation="linear")``: with ``k`` valid values sorted as
    ``v[0] <= ... <= v[k-1]``, the percentile is read at rank
    ``(k - 1) * q / 100``.

    Examples
    --------
    >>> rolling_percentile([4.0, 1.0, 3.0, 2.0], 3, 50, backend="numpy")
    array([nan, nan,  3.,  2.])
    """
    arr, window, axis, min_periods = _check_args(x, window, axis, min_periods)
    q = _check_q(q)
    return _apply_2d(_PERCENTILE, backend, arr, axis, window=window, q=q, min_periods=min_periods)


# --------------------------------------------------------------------------- xarray


def _block_mean(x, *, window, min_periods, backend):
    arr, window, axis, min_periods = _check_args(x, window, -1, min_periods, all_nan_ok=True)
    return _apply_2d(_MEAN, backend, arr, axis, window=window, min_periods=min_periods)


def _block_percentile(x, *, window, q, min_periods, backend):
    arr, window, axis, min_periods = _check_args(x, window, -1, min_periods, all_nan_ok=True)
    return _apply_2d(_PERCENTILE, backend, arr, axis, window=window, q=q, min_periods=min_periods)


def _apply_xr(func, da, dim, **kwargs):
    import xarray as xr

    if not isinstance(da, xr.DataArray):
        raise ValueError(f"da: expected an xarray.DataArray, got {type(da).__name__}")
    if dim not in da.dims:
        raise ValueError(f"dim={dim!r} is not a dimension of da; its dimensions are {da.dims}")
    if da.chunks is not None:
        # The window runs along `dim`: one chunk there, chunks over the other dims.
        da = da.chunk({dim: -1})
    out = xr.apply_ufunc(
        func,
        da,
        input_core_dims=[[dim]],
        output_core_dims=[[dim]],
        dask="parallelized",
        output_dtypes=[np.float64],
        kwargs=kwargs,
        keep_attrs=True,
    )
    return out.transpose(*da.dims)


def rolling_mean_xr(
    da: Any, window: int, dim: str = "time", min_periods: int | None = None, backend: str = "auto"
) -> Any:
    """:func:`rolling_mean` along ``dim`` of a DataArray, lazily on dask-backed data.

    Parameters
    ----------
    da : xarray.DataArray
        NumPy-, CuPy- or dask-backed. Dask data is rechunked to one chunk
        along ``dim`` and computed chunk by chunk over the other dimensions.
    window, min_periods, backend
        As :func:`rolling_mean`.
    dim : str, default "time"
        The time dimension.

    Returns
    -------
    xarray.DataArray
        Same dimensions and coordinates as ``da``; lazy if ``da`` is.

    Notes
    -----
    A chunk that is all NaN gives NaN rather than an error (the all-NaN check
    of :func:`rolling_mean` would need the whole array).
    """
    _check_args(np.zeros(1), window, -1, min_periods, all_nan_ok=True)
    return _apply_xr(_block_mean, da, dim, window=window, min_periods=min_periods, backend=backend)


def rolling_percentile_xr(
    da: Any,
    window: int,
    q: float,
    dim: str = "time",
    min_periods: int | None = None,
    backend: str = "auto",
) -> Any:
    """:func:`rolling_percentile` along ``dim`` of a DataArray, lazily on dask-backed data.

    Parameters
    ----------
    da : xarray.DataArray
        NumPy-, CuPy- or dask-backed; dask data is rechunked to one chunk
        along ``dim``.
    window, q, min_periods, backend
        As :func:`rolling_percentile`.
    dim : str, default "time"
        The time dimension.

    Returns
    -------
    xarray.DataArray
        Same dimensions and coordinates as ``da``; lazy if ``da`` is.
    """
    _check_args(np.zeros(1), window, -1, min_periods, all_nan_ok=True)
    q = _check_q(q)
    return _apply_xr(
        _block_percentile, da, dim, window=window, q=q, min_periods=min_periods, backend=backend
    )
