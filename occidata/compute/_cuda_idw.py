"""IDW as ``numba.cuda`` kernels: the algorithm of :func:`occidata.compute.idw` on a GPU without CuPy.

Two kernels: one thread per grid point computes the point's weights once
(stations x points, so that neighbouring threads read neighbouring memory), then
one thread per (grid point, time step) sums over the stations in order, as the
Numba CPU kernel does. ``idw(..., backend="cupy")`` uses CuPy's matrix products
instead (faster: cuBLAS); this module is the alternative for a machine with
numba-cuda only, and is tested in CI under ``NUMBA_ENABLE_CUDASIM=1`` (the CUDA
simulator, which runs the same Python kernel code on the CPU).

Importing this module imports ``numba.cuda``; with ``NUMBA_ENABLE_CUDASIM=1``
that environment variable must be set before Numba is first imported.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import cuda

__all__ = ["idw_cuda"]

#: Flags per (station, point): outside the radius, inside it, or exactly on the point.
_OUT, _IN, _ON = 0, 1, 2
_THREADS_1D = 256
_THREADS_2D = (128, 2)


@cuda.jit
def _weights_kernel(sx, sy, gx, gy, power, radius, has_radius, w, flag):
    p = cuda.grid(1)
    if p >= gx.shape[0]:
        return
    for s in range(sx.shape[0]):
        dx = gx[p] - sx[s]
        dy = gy[p] - sy[s]
        d = math.sqrt(dx * dx + dy * dy)
        w[s, p] = 0.0
        if has_radius and d > radius:
            flag[s, p] = _OUT
        elif d == 0.0:
            flag[s, p] = _ON
        else:
            flag[s, p] = _IN
            w[s, p] = d ** -power


@cuda.jit
def _sum_kernel(z, w, flag, min_stations, out):
    p, t = cuda.grid(2)
    if p >= out.shape[1] or t >= out.shape[0]:
        return
    num = 0.0
    den = 0.0
    count = 0
    on_sum = 0.0
    on_count = 0
    for s in range(z.shape[1]):
        f = flag[s, p]
        v = z[t, s]
        if f == _OUT or math.isnan(v):
            continue
        count += 1
        if f == _ON:
            on_sum += v
            on_count += 1
        else:
            num += w[s, p] * v
            den += w[s, p]
    res = math.nan
    if count >= min_stations:
        if on_count > 0:
            res = on_sum / on_count
        elif den > 0.0:
            res = num / den
    out[t, p] = res


def idw_cuda(
    station_x: Any,
    station_y: Any,
    values: Any,
    grid_x: Any,
    grid_y: Any,
    power: float = 2,
    radius: float | None = None,
    min_stations: int = 1,
) -> np.ndarray:
    """:func:`occidata.compute.idw` with ``numba.cuda`` kernels; NumPy in, NumPy out.

    Parameters
    ----------
    station_x, station_y, values, grid_x, grid_y, power, radius, min_stations
        As in :func:`occidata.compute.idw` (validated the same way).

    Returns
    -------
    numpy.ndarray
        Shape ``(n_times, *grid_x.shape)``, or ``grid_x.shape`` for 1-D ``values``.
    """
    from occidata.compute.interpolation import (
        _check_params, check_grid, check_station_values, check_stations,
    )
    from occidata.compute._xp import to_host

    sx, sy = check_stations(to_host(station_x), to_host(station_y))
    z, one_d = check_station_values(to_host(values), sx.shape[0])
    gx, gy = check_grid(to_host(grid_x), to_host(grid_y))
    power, radius, min_stations = _check_params(power, radius, min_stations)
    n_t, n_s = z.shape
    n_p = gx.size

    d_gx = cuda.to_device(np.ascontiguousarray(gx.reshape(-1)))
    d_gy = cuda.to_device(np.ascontiguousarray(gy.reshape(-1)))
    d_w = cuda.device_array((n_s, n_p), dtype=np.float64)
    d_flag = cuda.device_array((n_s, n_p), dtype=np.int8)
    blocks = (n_p + _THREADS_1D - 1) // _THREADS_1D
    _weights_kernel[blocks, _THREADS_1D](
        cuda.to_device(np.ascontiguousarray(sx)), cuda.to_device(np.ascontiguousarray(sy)),
        d_gx, d_gy, power, radius if radius is not None else 0.0, radius is not None, d_w, d_flag,
    )
    d_out = cuda.device_array((n_t, n_p), dtype=np.float64)
    grid2 = ((n_p + _THREADS_2D[0] - 1) // _THREADS_2D[0], (n_t + _THREADS_2D[1] - 1) // _THREADS_2D[1])
    _sum_kernel[grid2, _THREADS_2D](cuda.to_device(np.ascontiguousarray(z)), d_w, d_flag,
                                    min_stations, d_out)
    out = d_out.copy_to_host().reshape((n_t,) + tuple(gx.shape))
    return out[0] if one_d else out
