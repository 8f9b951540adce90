"""Inverse distance weighting (Shepard) of station series onto a grid, many time steps at once.

The rule, for one grid point and one time step:

1. A station *counts* when its value at that step is not NaN. Its distance to the
   point is ``d = sqrt(dx**2 + dy**2)`` in float64, in the units of the coordinates.
2. If fewer than ``min_stations`` counting stations lie within ``radius`` of the
   point (``d <= radius``, inclusive; every station when ``radius`` is None), the
   result is NaN.
3. Otherwise, if the point lies exactly on counting stations (``d == 0.0``, an
   exact-zero test: a point a millimetre off a station is weighted normally, with
   a very large weight), the result is the value of that station (the mean of
   their values when several stations share the location).
4. Otherwise the result is ``sum(w_i z_i) / sum(w_i)`` over the counting stations
   within the radius, with ``w_i = d_i ** -power``.

So NaN values are left out step by step: the weights are renormalised over the
stations that reported at each step, and a point on a station that did not
report at a step is interpolated from the others.

Implementations
---------------
- NumPy (the reference, and the best vectorised NumPy way): the weight matrix
  ``W`` (points x stations) is computed once; then, in chunks of time steps,
  ``num = Z0 @ W.T`` (NaN replaced by 0) and ``den = M @ W.T`` (``M`` the 0/1 mask
  of reporting stations; ``W.sum(1)`` when every station reported in the chunk),
  ``num / den``, a separate small product for the points on a station, and the
  station count ``M @ R.T`` (``R`` the within-radius indicator) for
  ``min_stations``.
- Numba: the weights in one parallel pass; then, per chunk of time steps, one
  BLAS product for the weighted sums (the fastest way to do it on a CPU) and a
  fused parallel pass that divides by the weight sum of the reporting stations
  (the point's total minus the weights of the stations missing at that step,
  usually none or one; summed directly when the missing ones hold most of the
  weight), applies the on-station and ``min_stations`` rules and writes each
  result once. That saves NumPy's second product and its temporaries.
- CuPy: the NumPy code with ``xp = cupy``: the products run on cuBLAS and the
  step is bound by writing the result. :mod:`occidata.compute._cuda_idw` holds
  the same algorithm as a ``numba.cuda`` kernel (:func:`~occidata.compute._cuda_idw.idw_cuda`).
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import numba
import numpy as np

from occidata.compute._xp import array_module, require_cupy, run_backend, to_host
from occidata.compute.checks import as_float_array, check_not_all_nan, check_positive_int

__all__ = ["idw", "idw_xr"]

#: Time steps per task of the Numba finishing pass (its scratch arrays are per task).
_FINISH_ROWS = 8
#: Elements (time steps x points) per BLAS product of the Numba path.
_CHUNK_FINISH = 1 << 22
#: Elements (time steps x points) per chunk of the NumPy products: bounds the temporaries.
_CHUNK_NUMPY = 1 << 22
#: The same on the GPU, where fewer and larger products are faster.
_CHUNK_CUPY = 1 << 27


# --------------------------------------------------------------------------- validation


def _check_finite(name: str, arr: Any) -> None:
    if not bool(to_host(array_module(arr).isfinite(arr).all())):
        raise ValueError(f"{name}: has NaN or infinite coordinates; every coordinate must be finite")


def check_stations(station_x: Any, station_y: Any) -> tuple[Any, Any]:
    """Station coordinates as two finite 1-D float64 arrays of one length."""
    sx = as_float_array("station_x", station_x, ndim=1)
    sy = as_float_array("station_y", station_y, ndim=1)
    if sx.shape != sy.shape:
        raise ValueError(
            f"station_x has {sx.shape[0]} stations but station_y has {sy.shape[0]}; they must match"
        )
    _check_finite("station_x", sx)
    _check_finite("station_y", sy)
    return sx, sy


def check_station_values(values: Any, n_stations: int, *, all_nan_ok: bool = False) -> tuple[Any, bool]:
    """``values`` as a 2-D (time, station) float64 array, and whether it was 1-D."""
    vals = as_float_array("values", values, ndim=(1, 2))
    if vals.shape[-1] != n_stations:
        raise ValueError(
            f"values: has {vals.shape[-1]} stations along its last axis but station_x has "
            f"{n_stations}; values are (n_times, n_stations) with stations last"
        )
    xp = array_module(vals)
    if bool(to_host(xp.isinf(vals).any())):
        raise ValueError("values: has infinite values; mark missing values as NaN")
    if not all_nan_ok:
        check_not_all_nan("values", vals)
    one_d = vals.ndim == 1
    return (vals[None, :] if one_d else vals), one_d


def check_grid(grid_x: Any, grid_y: Any) -> tuple[Any, Any]:
    """Grid coordinates as two finite float64 arrays of one shape."""
    gx = as_float_array("grid_x", grid_x)
    gy = as_float_array("grid_y", grid_y)
    if gx.shape != gy.shape:
        raise ValueError(
            f"shapes differ: grid_x {tuple(gx.shape)}, grid_y {tuple(gy.shape)}; "
            "give both coordinates of every grid point (e.g. from numpy.meshgrid)"
        )
    _check_finite("grid_x", gx)
    _check_finite("grid_y", gy)
    return gx, gy


def _check_params(power: Any, radius: Any, min_stations: Any) -> tuple[float, float | None, int]:
    try:
        p = float(power)
    except (TypeError, ValueError):
        raise ValueError(f"power={power!r}: expected a number > 0") from None
    if not (math.isfinite(p) and p > 0):
        raise ValueError(f"power={power!r}: expected a finite number > 0")
    r = None
    if radius is not None:
        try:
            r = float(radius)
        except (TypeError, ValueError):
            raise ValueError(f"radius={radius!r}: expected a distance > 0 or None") from None
        if not r > 0:  # also catches NaN
            raise ValueError(f"radius={radius!r}: expected a distance > 0 or None (no radius)")
        if math.isinf(r):
            r = None
    return p, r, check_positive_int("min_stations", min_stations)


# --------------------------------------------------------------------------- NumPy / CuPy


def _idw_array(xp, sx, sy, z, gx, gy, *, power, radius, min_stations, chunk):
    """The reference algorithm on points (1-D grid) and values (time, station), for numpy or cupy."""
    n_t = z.shape[0]
    n_p = gx.shape[0]
    dx = gx[:, None] - sx[None, :]
    dy = gy[:, None] - sy[None, :]
    d = xp.sqrt(dx * dx + dy * dy)                         # (points, stations)
    on = d == 0.0
    w = xp.where(on, 1.0, d) ** -power
    w = xp.where(on, 0.0, w)
    inside_t = None
    if radius is not None:
        inside = d <= radius
        w = xp.where(inside, w, 0.0)
        if min_stations > 1:
            inside_t = inside.T.astype(xp.float64)
    wt = w.T
    sum_w = w.sum(axis=1)
    valid = xp.isfinite(z)
    z0 = xp.where(valid, z, 0.0)
    m = valid.astype(xp.float64)
    count_rows = m.sum(axis=1)
    # Points on a station are few (at most one per station): a small product for them only.
    on_points = xp.nonzero(on.any(axis=1))[0]
    on_t = on[on_points].T.astype(xp.float64) if on_points.size else None

    out = xp.empty((n_t, n_p), dtype=xp.float64)
    step = max(1, chunk // max(n_p, 1))
    quiet = np.errstate(divide="ignore", invalid="ignore") if xp is np else contextlib.nullcontext()
    with quiet:
        for t0 in range(0, n_t, step):
            rows = slice(t0, min(n_t, t0 + step))
            zc, mc, o = z0[rows], m[rows], out[rows]
            num = zc @ wt
            # When every station reported, the weight sums are the same at every step.
            den = sum_w if bool(valid[rows].all()) else mc @ wt
            xp.divide(num, den, out=o)                      # 0/0 -> NaN: no station in range
            del num, den
            if on_t is not None:
                on_count = mc @ on_t
                on_value = (zc @ on_t) / on_count
                o[:, on_points] = xp.where(on_count > 0, on_value, o[:, on_points])
            if min_stations > 1:
                count = mc @ inside_t if inside_t is not None else count_rows[rows, None]
                xp.copyto(o, xp.nan, where=count < min_stations)
    return out


def _idw_numpy(sx, sy, z, gx, gy, *, power, radius, min_stations):
    return _idw_array(np, sx, sy, z, gx, gy, power=power, radius=radius,
                      min_stations=min_stations, chunk=_CHUNK_NUMPY)


def _idw_cupy(sx, sy, z, gx, gy, *, power, radius, min_stations):
    cupy = require_cupy()
    return _idw_array(cupy, sx, sy, z, gx, gy, power=power, radius=radius,
                      min_stations=min_stations, chunk=_CHUNK_CUPY)


# --------------------------------------------------------------------------- Numba


@numba.njit(parallel=True, cache=True, error_model="numpy")
def _idw_weights(sx, sy, gx, gy, power, radius, has_radius):
    """Weights (stations x points, the layout of the product) and per-point summaries."""
    n_s = sx.shape[0]
    n_p = gx.shape[0]
    w = np.zeros((n_s, n_p))
    inside = np.zeros((n_s, n_p), dtype=np.bool_)
    on = np.zeros((n_s, n_p), dtype=np.bool_)
    sum_w = np.zeros(n_p)
    n_inside = np.zeros(n_p)
    any_on = np.zeros(n_p, dtype=np.bool_)
    for j in numba.prange(n_p):
        for s in range(n_s):
            dx = gx[j] - sx[s]
            dy = gy[j] - sy[s]
            d = math.sqrt(dx * dx + dy * dy)
            if has_radius and d > radius:
                continue
            inside[s, j] = True
            n_inside[j] += 1.0
            if d == 0.0:
                on[s, j] = True
                any_on[j] = True
            else:
                w[s, j] = d ** -power
                sum_w[j] += w[s, j]
    return w, inside, on, sum_w, n_inside, any_on


@numba.njit(parallel=True, cache=True, error_model="numpy")
def _idw_finish(out, t0, z0, valid, row_full, w, inside, on, sum_w, n_inside, any_on, min_stations):
    """Turn the weighted sums ``out`` (steps t0.. of the product) into the IDW values, in place.

    The weight sum of the reporting stations is the point's total minus the weights of
    the stations missing at that step (usually none or one): O(missing) per point instead
    of the second product NumPy needs. When the missing ones hold most of the weight the
    sum is taken directly, so that no digits are lost in the difference.
    """
    n_s = w.shape[0]
    n_p = out.shape[1]
    # Points whose answer, when every station reported, is just the weighted sum / total.
    plain = np.empty(n_p, dtype=np.bool_)
    inv_sum = np.empty(n_p)
    for j in range(n_p):
        plain[j] = (not any_on[j]) and n_inside[j] >= min_stations and sum_w[j] > 0.0
        inv_sum[j] = 1.0 / sum_w[j] if sum_w[j] > 0.0 else 0.0
    simple = n_inside.min() >= min_stations and not any_on.any()
    n_rows = out.shape[0]
    for task in numba.prange((n_rows + _FINISH_ROWS - 1) // _FINISH_ROWS):
        missing = np.empty(n_s, dtype=np.int64)
        w_out = np.empty(n_p)
        n_out = np.empty(n_p)
        for r in range(task * _FINISH_ROWS, min(n_rows, (task + 1) * _FINISH_ROWS)):
            t = t0 + r
            if row_full[t]:
                for j in range(n_p):  # the common case: branch-light, vectorised
                    out[r, j] = out[r, j] * inv_sum[j] if plain[j] else np.nan
                if simple:
                    continue
            n_missing = 0
            for s in range(n_s):
                if not valid[t, s]:
                    missing[n_missing] = s
                    n_missing += 1
            # Weight (and count) of the missing stations, station by station along the
            # contiguous rows of w: vectorised, O(missing x points).
            w_out[:] = 0.0
            n_out[:] = 0.0
            for k in range(n_missing):
                s = missing[k]
                for j in range(n_p):
                    w_out[j] += w[s, j]
                    n_out[j] += inside[s, j]
            for j in range(n_p):
                if row_full[t] and plain[j]:
                    continue
                res = np.nan
                if n_inside[j] - n_out[j] >= min_stations:
                    if w_out[j] > 0.5 * sum_w[j]:
                        den = 0.0
                        for s in range(n_s):
                            if valid[t, s]:
                                den += w[s, j]
                    else:
                        den = sum_w[j] - w_out[j]
                    if den > 0.0:
                        res = out[r, j] / den
                    if any_on[j]:
                        on_sum = 0.0
                        on_count = 0
                        for s in range(n_s):
                            if on[s, j] and valid[t, s]:
                                on_sum += z0[t, s]
                                on_count += 1
                        if on_count > 0:
                            res = on_sum / on_count
                out[r, j] = res


def _idw_numba(sx, sy, z, gx, gy, *, power, radius, min_stations):
    """Weights in Numba, the weighted sums as one BLAS product per chunk, a fused finishing pass.

    On the CPU the weighted sums are a matrix product and BLAS is the fastest way to
    do it; what Numba saves is NumPy's second product (the weight sums of the
    reporting stations) and its temporaries.
    """
    n_t = z.shape[0]
    valid = np.isfinite(z)
    z0 = np.where(valid, z, 0.0)
    row_full = valid.all(axis=1)
    has_radius = radius is not None
    w, inside, on, sum_w, n_inside, any_on = _idw_weights(
        np.ascontiguousarray(sx), np.ascontiguousarray(sy), np.ascontiguousarray(gx),
        np.ascontiguousarray(gy), float(power), float(radius) if has_radius else 0.0, has_radius)
    out = np.empty((n_t, gx.shape[0]))
    # All products first, then one finishing pass: alternating BLAS's threads (which spin
    # for a while after a call) with Numba's would make them fight over the cores.
    step = max(1, _CHUNK_FINISH // max(gx.shape[0], 1))
    for t0 in range(0, n_t, step):
        np.matmul(z0[t0:t0 + step], w, out=out[t0:t0 + step])
    _idw_finish(out, 0, z0, valid, row_full, w, inside, on, sum_w, n_inside, any_on, float(min_stations))
    return out


_IDW_IMPLS = {"numpy": _idw_numpy, "numba": _idw_numba, "cupy": _idw_cupy}


# --------------------------------------------------------------------------- public API


def _idw_checked(sx, sy, vals2d, gx, gy, power, radius, min_stations, backend):
    """IDW on validated arrays: points flattened, result reshaped to (n_times, *grid.shape)."""
    flat = run_backend(
        _IDW_IMPLS, backend, (sx, sy, vals2d, gx.reshape(-1), gy.reshape(-1)),
        power=power, radius=radius, min_stations=min_stations,
    )
    return flat.reshape((vals2d.shape[0],) + tuple(gx.shape))


def idw(
    station_x: Any,
    station_y: Any,
    values: Any,
    grid_x: Any,
    grid_y: Any,
    power: float = 2,
    radius: float | None = None,
    min_stations: int = 1,
    backend: str = "auto",
) -> Any:
    """Inverse distance weighting (Shepard) of station values onto grid points, all time steps at once.

    Parameters
    ----------
    station_x, station_y : array_like, shape (n_stations,)
        Station coordinates (projected, e.g. Lambert-93 metres; finite).
    values : array_like, shape (n_times, n_stations) or (n_stations,)
        Station values, **stations on the last axis**. NaN = missing (left out at that
        step); infinite values are refused.
    grid_x, grid_y : array_like, any one shape
        Coordinates of the grid points, e.g. both from ``numpy.meshgrid(x, y)``.
    power : float, default 2
        Exponent of the inverse distance weights ``d ** -power``; > 0.
    radius : float or None, default None
        Only stations at a distance ``<= radius`` (inclusive) count; None: all stations.
    min_stations : int, default 1
        Fewest reporting stations within the radius for a value; fewer gives NaN.
    backend : {"auto", "numpy", "numba", "cupy"}
        "auto": CuPy when a GPU is usable, else Numba. NumPy is the reference.

    Returns
    -------
    numpy.ndarray or cupy.ndarray
        Shape ``(n_times, *grid_x.shape)``, or ``grid_x.shape`` for 1-D ``values``;
        float64, NaN where rule 2 of the module applies. CuPy if any input was CuPy.

    Raises
    ------
    ValueError
        Naming the argument: empty input, mismatched shapes, NaN coordinates, values
        all NaN or infinite, ``power <= 0``, ``radius <= 0``, ``min_stations < 1``.
    occidata.compute.GPUUnavailableError
        ``backend="cupy"`` without a usable GPU.

    Notes
    -----
    Shepard (1968), "A two-dimensional interpolation function for irregularly-spaced
    data", Proc. 23rd ACM national conference. Rule, step by step: see the module
    docstring. A point exactly on a reporting station (distance == 0.0, an exact test)
    takes its value; the other backends agree with NumPy within
    :data:`occidata.compute._xp.TOLERANCE` (relative to the largest ``|value|``, as
    weighted means of values of both signs can cancel).

    Examples
    --------
    >>> idw([0.0, 2.0], [0.0, 0.0], [10.0, 20.0], [0.5], [0.0], backend="numpy")
    array([11.])
    """
    sx, sy = check_stations(station_x, station_y)
    vals, one_d = check_station_values(values, sx.shape[0])
    gx, gy = check_grid(grid_x, grid_y)
    power, radius, min_stations = _check_params(power, radius, min_stations)
    out = _idw_checked(sx, sy, vals, gx, gy, power, radius, min_stations, backend)
    return out[0] if one_d else out


def idw_xr(
    values: Any,
    x: Any,
    y: Any,
    power: float = 2,
    radius: float | None = None,
    min_stations: int = 1,
    backend: str = "auto",
    station_dim: str = "station",
    station_x: str = "x",
    station_y: str = "y",
) -> Any:
    """:func:`idw` on an xarray DataArray of station series, lazily on dask chunks.

    Parameters
    ----------
    values : xarray.DataArray
        Station values with a ``station_dim`` dimension (any other dimensions, e.g.
        ``time``, are kept and may be dask-chunked) and the station coordinates as
        coordinates ``station_x`` / ``station_y`` along ``station_dim``.
    x, y : array_like, 1-D
        Grid axes (eastings, northings); the grid is their outer product.
    power, radius, min_stations, backend
        As in :func:`idw`.
    station_dim, station_x, station_y : str
        Names of the station dimension and of its coordinate variables.

    Returns
    -------
    xarray.DataArray
        Dimensions ``(<other dims of values>, "y", "x")`` with coordinates ``y`` and
        ``x``; dask-backed (lazy) when ``values`` is.

    Notes
    -----
    Runs :func:`idw` per chunk through ``xarray.apply_ufunc(dask="parallelized")``;
    the station dimension is made a single chunk. A chunk whose values are all NaN
    gives NaN (the all-NaN ValueError of :func:`idw` is not raised per chunk).
    """
    import xarray as xr

    if not isinstance(values, xr.DataArray):
        raise ValueError("values: expected an xarray.DataArray with a station dimension")
    if station_dim not in values.dims:
        raise ValueError(f"values: has no dimension {station_dim!r} (dims {values.dims})")
    for name in (station_x, station_y):
        if name not in values.coords:
            raise ValueError(f"values: has no station coordinate {name!r}")
    sx, sy = check_stations(np.asarray(values[station_x]), np.asarray(values[station_y]))
    gx_axis = as_float_array("x", np.asarray(x), ndim=1)
    gy_axis = as_float_array("y", np.asarray(y), ndim=1)
    gx, gy = check_grid(*np.meshgrid(gx_axis, gy_axis))
    power, radius, min_stations = _check_params(power, radius, min_stations)
    n_s = sx.shape[0]

    def chunk(block: Any) -> Any:
        lead = block.shape[:-1]
        vals, _ = check_station_values(block.reshape(-1, n_s), n_s, all_nan_ok=True)
        out = _idw_checked(sx, sy, vals, gx, gy, power, radius, min_stations, backend)
        return out.reshape(lead + gx.shape)

    data = values.drop_vars([station_x, station_y])
    if data.chunks is not None:
        data = data.chunk({station_dim: -1})
    result = xr.apply_ufunc(
        chunk, data,
        input_core_dims=[[station_dim]],
        output_core_dims=[["y", "x"]],
        dask="parallelized",
        output_dtypes=[np.float64],
        dask_gufunc_kwargs={"output_sizes": {"y": gy_axis.shape[0], "x": gx_axis.shape[0]}},
    )
    return result.assign_coords(y=np.asarray(gy_axis), x=np.asarray(gx_axis))
