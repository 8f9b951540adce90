"""Benchmark cases of the interpolations: inverse distance weighting and ordinary kriging.

Inputs: 47 stations (the size of the ATMO Occitanie network) at fixed random places over the
region, hourly values shaped like temperatures (a smooth regional gradient, a daily cycle,
noise) with 2 % of the values missing at random, onto the regional grid of
``occidata.datasets.weather.grid``: the 8 km grid (39 x 54 = 2 106 points) and the 2 km grid
(153 x 213 = 32 589 points).

- ``idw``, demo: 2 160 hourly steps (90 days) onto the 8 km grid; full: 8 784 steps (2024,
  366 days) onto the 2 km grid, a 2.3 GB result. ``numpy_best`` is what a researcher writes
  with NumPy: the weight matrix (points x stations) once, then by chunks of time steps (to
  bound the temporaries) ``(Z0 @ W.T) / (M @ W.T)`` with ``Z0`` the values with NaN set to 0
  and ``M`` the 0/1 matrix of reporting stations. ``cupy`` is ``idw(backend="cupy")`` on
  device arrays (cuBLAS products, the result left on the GPU).
- ``ordinary_kriging``, spherical model with fixed parameters, demo: 24 hourly steps onto the
  8 km grid; full: 168 steps (a week). ``numpy_best`` is PyKrige's ``OrdinaryKriging`` with
  its "vectorized" backend, one object per step with the stations that reported (the plain
  way a researcher krige series; PyKrige has no time axis).
"""

from __future__ import annotations

import numpy as np
from _compute_case import Case

from occidata.compute._xp import gpu_usable
from occidata.compute.interpolation import idw
from occidata.compute.kriging import VariogramModel, ordinary_kriging
from occidata.datasets.weather import X_RANGE, Y_RANGE, grid

N_STATIONS = 47
MISSING = 0.02
SIZES = {
    "idw": {"demo": (2160, 8000), "full": (8784, 2000)},
    "kriging": {"demo": (24, 8000), "full": (168, 8000)},
}
MODEL = VariogramModel("spherical", sill=10.0, range_=150_000.0, nugget=0.5)
#: Time steps x points per chunk of the plain NumPy IDW (32 MB temporaries).
_CHUNK = 1 << 22


def _inputs(n_t: int, resolution: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    sx = rng.uniform(*X_RANGE, N_STATIONS)
    sy = rng.uniform(*Y_RANGE, N_STATIONS)
    hours = np.arange(n_t)[:, None]
    values = (14.0 + 6.0 * np.sin(2 * np.pi * (hours % 24 - 9) / 24)
              - 2e-5 * (sy - Y_RANGE[0]) + 1e-5 * (sx - X_RANGE[0])
              + rng.normal(0.0, 1.5, (n_t, N_STATIONS)))
    values[rng.random(values.shape) < MISSING] = np.nan
    x, y = grid(resolution)
    gx, gy = np.meshgrid(x, y)
    return sx, sy, values, gx, gy


def _numpy_idw(sx, sy, values, gx, gy, power=2.0):
    """The plain vectorised NumPy IDW: weights once, two matrix products per chunk of steps."""
    px, py = gx.ravel(), gy.ravel()
    w = np.hypot(px[:, None] - sx, py[:, None] - sy) ** -power     # no grid point on a station
    valid = np.isfinite(values)
    z0 = np.where(valid, values, 0.0)
    m = valid.astype(np.float64)
    out = np.empty((values.shape[0], px.size))
    step = max(1, _CHUNK // px.size)
    for t0 in range(0, values.shape[0], step):
        np.divide(z0[t0:t0 + step] @ w.T, m[t0:t0 + step] @ w.T, out=out[t0:t0 + step])
    return out.reshape((values.shape[0],) + gx.shape)


def _pykrige(sx, sy, values, x, y):
    from pykrige.ok import OrdinaryKriging

    params = MODEL.pykrige_parameters()
    out = []
    for row in values:
        ok = np.isfinite(row)
        krig = OrdinaryKriging(sx[ok], sy[ok], row[ok], variogram_model=MODEL.model,
                               variogram_parameters=params)
        z, ss = krig.execute("grid", x, y, backend="vectorized")
        out.append((z, ss))
    return out


def _synced(fn):
    import cupy

    def run():
        result = fn()
        cupy.cuda.Device().synchronize()
        return result
    return run


def cases(size: str) -> list[Case]:
    out = []

    n_t, res = SIZES["idw"][size]
    sx, sy, values, gx, gy = _inputs(n_t, res)
    cupy_case = None
    if gpu_usable():
        import cupy
        d = [cupy.asarray(a) for a in (sx, sy, values, gx, gy)]
        cupy_case = _synced(lambda: idw(*d, backend="cupy"))
    out.append(Case(
        analysis="idw",
        shape=(f"{N_STATIONS} stations x {n_t} h ({MISSING:.0%} NaN) -> {gx.shape[0]}x{gx.shape[1]} "
               f"grid ({res // 1000} km); numpy: weights once + (Z0 @ W.T)/(M @ W.T) by time chunks"),
        numba=lambda: idw(sx, sy, values, gx, gy, backend="numba"),
        numpy_best=lambda: _numpy_idw(sx, sy, values, gx, gy),
        cupy=cupy_case,
    ))

    k_t, k_res = SIZES["kriging"][size]
    ksx, ksy, kvalues, kgx, kgy = _inputs(k_t, k_res, seed=1)
    kx, ky = grid(k_res)
    params = {"sill": MODEL.sill, "range_": MODEL.range_, "nugget": MODEL.nugget}
    kcupy = None
    if gpu_usable():
        import cupy
        kd = [cupy.asarray(a) for a in (ksx, ksy, kvalues, kgx, kgy)]
        kcupy = _synced(lambda: ordinary_kriging(*kd, variogram="spherical", backend="cupy", **params))
    out.append(Case(
        analysis="ordinary_kriging",
        shape=(f"spherical, {N_STATIONS} stations x {k_t} h ({MISSING:.0%} NaN) -> "
               f"{kgx.shape[0]}x{kgx.shape[1]} grid ({k_res // 1000} km); "
               "numpy: PyKrige OrdinaryKriging vectorized, one per step"),
        numba=lambda: ordinary_kriging(ksx, ksy, kvalues, kgx, kgy, variogram="spherical",
                                       backend="numba", **params),
        numpy_best=lambda: _pykrige(ksx, ksy, kvalues, kx, ky),
        cupy=kcupy,
    ))
    return out
