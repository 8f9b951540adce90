"""ordinary_kriging against PyKrige, by hand, and every backend against NumPy."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from pykrige.ok import OrdinaryKriging

from occidata.compute._xp import TOLERANCE, GPUUnavailableError, gpu_usable
from occidata.compute.kriging import (
    KrigingResult, VariogramModel, fit_variogram, ordinary_kriging, ordinary_kriging_xr,
)

CPU_BACKENDS = ["numpy", "numba"]
MODELS = {
    "spherical": {"sill": 9.0, "range_": 40_000.0, "nugget": 1.0},
    "exponential": {"sill": 9.0, "range_": 60_000.0, "nugget": 0.5},
    "linear": {"slope": 2e-4, "nugget": 0.3},
}


def random_network(seed=0, n_s=20, n_t=4):
    rng = np.random.default_rng(seed)
    sx, sy = rng.uniform(0, 1e5, n_s), rng.uniform(0, 8e4, n_s)
    values = rng.normal(12, 3, (n_t, n_s))
    if n_t >= 3:
        values[1, 3] = np.nan
        values[2, [0, 5, 7]] = np.nan
    gx, gy = np.meshgrid(np.linspace(-5e3, 1.05e5, 13), np.linspace(0, 8e4, 9))
    return sx, sy, values, gx, gy


def model_of(name):
    p = MODELS[name]
    return VariogramModel(name, p.get("sill"), p.get("range_"), p.get("nugget", 0.0), p.get("slope"))


def assert_close(result: KrigingResult, reference: KrigingResult, backend, scale, sill):
    tol = TOLERANCE[backend]
    for got, want, s in ((result.prediction, reference.prediction, scale), (result.variance, reference.variance, sill)):
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * s)


# --------------------------------------------------------------------------- against PyKrige


@pytest.mark.parametrize("backend", CPU_BACKENDS)
@pytest.mark.parametrize("name", list(MODELS))
def test_matches_pykrige_with_fixed_parameters(name, backend):
    sx, sy, values, gx, gy = random_network()
    out = ordinary_kriging(sx, sy, values, gx, gy, variogram=name, backend=backend, **MODELS[name])
    assert out.prediction.shape == out.variance.shape == (4,) + gx.shape
    params = model_of(name).pykrige_parameters()
    for t in range(values.shape[0]):
        ok = np.isfinite(values[t])       # PyKrige gets the stations that reported at step t
        pk = OrdinaryKriging(sx[ok], sy[ok], values[t, ok], variogram_model=name,
                             variogram_parameters=params)
        z, ss = pk.execute("points", gx.ravel(), gy.ravel())
        np.testing.assert_allclose(out.prediction[t].ravel(), z, rtol=1e-6)
        np.testing.assert_allclose(out.variance[t].ravel(), ss, rtol=1e-6)


@pytest.mark.parametrize("name", list(MODELS))
def test_fit_matches_pykrige_default_fit(name):
    sx, sy, values, gx, gy = random_network(seed=2, n_s=25, n_t=1)
    fitted = fit_variogram(sx, sy, values[0], name)
    pk = OrdinaryKriging(sx, sy, values[0], variogram_model=name)
    p = pk.variogram_model_parameters           # [psill, range, nugget] or [slope, nugget]
    if name == "linear":
        np.testing.assert_allclose([fitted.slope, fitted.nugget], p, rtol=1e-6)
    else:
        np.testing.assert_allclose([fitted.sill - fitted.nugget, fitted.range_, fitted.nugget], p, rtol=1e-6)
    # Without parameters, ordinary_kriging fits them the same way.
    out = ordinary_kriging(sx, sy, values[0], gx, gy, variogram=name, backend="numpy")
    z, ss = pk.execute("points", gx.ravel(), gy.ravel())
    np.testing.assert_allclose(out.prediction.ravel(), z, rtol=1e-6)
    np.testing.assert_allclose(out.variance.ravel(), ss, rtol=1e-6)


# --------------------------------------------------------------------------- by hand


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_two_stations_midpoint_by_hand(backend):
    # Linear variogram, slope 1, no nugget; stations at (0,0) and (2,0), point (1,0).
    # A = [[0, 2, 1], [2, 0, 1], [1, 1, 0]], b = [1, 1, 1]: by symmetry lambda = (1/2, 1/2);
    # row 1: 0*1/2 + 2*1/2 + mu = 1 -> mu = 0. Prediction (4 + 8)/2 = 6;
    # variance = 1/2*1 + 1/2*1 + 0 = 1.
    out = ordinary_kriging([0.0, 2.0], [0.0, 0.0], [4.0, 8.0], [1.0], [0.0],
                           variogram="linear", slope=1.0, backend=backend)
    np.testing.assert_allclose(out.prediction, [6.0], rtol=1e-14)
    np.testing.assert_allclose(out.variance, [1.0], rtol=1e-14)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_one_station_by_hand(backend):
    # One station: A = [[0, 1], [1, 0]], b = [gamma(d), 1]: lambda = 1, mu = gamma(d);
    # prediction = the value, variance = lambda*gamma + mu = 2 gamma(d) (= Var(Z0 - Z1)).
    # Spherical, sill 4, nugget 1, range 10, d = 5:
    # gamma = 1 + 3 * (1.5*0.5 - 0.5*0.125) = 1 + 3 * 0.6875 = 3.0625; variance 6.125.
    out = ordinary_kriging([0.0], [0.0], [[7.0]], [3.0], [4.0], variogram="spherical",
                           sill=4.0, range_=10.0, nugget=1.0, backend=backend)
    np.testing.assert_allclose(out.prediction, [[7.0]])
    np.testing.assert_allclose(out.variance, [[6.125]], rtol=1e-14)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("nugget", [0.0, 0.7])
def test_exact_at_stations(name, nugget, backend):
    sx, sy, values, _, _ = random_network(seed=4)
    params = {**MODELS[name], "nugget": nugget}
    out = ordinary_kriging(sx, sy, values, sx, sy, variogram=name, backend=backend, **params)
    ok = np.isfinite(values)
    np.testing.assert_allclose(out.prediction[ok], values[ok], rtol=1e-9)
    np.testing.assert_allclose(out.variance[ok], 0.0, atol=1e-9)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_step_without_stations_is_nan(backend):
    sx, sy, values, gx, gy = random_network()
    values[3] = np.nan
    out = ordinary_kriging(sx, sy, values, gx, gy, backend=backend, **MODELS["spherical"])
    assert np.isnan(out.prediction[3]).all() and np.isnan(out.variance[3]).all()
    assert np.isfinite(out.prediction[:3]).all()


def test_variogram_model_argument_and_range_convention():
    m = VariogramModel("exponential", sill=5.0, range_=30.0, nugget=1.0)
    # Practical range: at h = range_, 1 - exp(-3) = 95 % of the partial sill.
    np.testing.assert_allclose(m.gamma(np.array([0.0, 30.0])), [0.0, 1.0 + 4.0 * (1 - np.exp(-3.0))])
    s = VariogramModel("spherical", sill=5.0, range_=30.0, nugget=1.0)
    np.testing.assert_allclose(s.gamma(np.array([30.0, 31.0, 1e9])), [5.0, 5.0, 5.0])
    sx, sy, values, gx, gy = random_network()
    a = ordinary_kriging(sx, sy, values, gx, gy, variogram=m, backend="numpy")
    b = ordinary_kriging(sx, sy, values, gx, gy, variogram="exponential", sill=5.0, range_=30.0,
                         nugget=1.0, backend="numpy")
    np.testing.assert_array_equal(a.prediction, b.prediction)


# --------------------------------------------------------------------------- backends


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), name=st.sampled_from(list(MODELS)),
       n_s=st.integers(1, 12), n_t=st.integers(1, 5))
def test_numba_matches_numpy(seed, name, n_s, n_t):
    rng = np.random.default_rng(seed)
    sx, sy = rng.uniform(0, 1e5, n_s), rng.uniform(0, 1e5, n_s)
    values = rng.normal(0, 5, (n_t, n_s))
    values[rng.random(values.shape) < 0.2] = np.nan
    values[0, 0] = 1.0
    gx, gy = rng.uniform(0, 1e5, 90), rng.uniform(0, 1e5, 90)
    gx[:2], gy[:2] = sx[:2], sy[:2]
    ref = ordinary_kriging(sx, sy, values, gx, gy, variogram=name, backend="numpy", **MODELS[name])
    out = ordinary_kriging(sx, sy, values, gx, gy, variogram=name, backend="numba", **MODELS[name])
    sill = MODELS[name].get("sill") or MODELS[name]["slope"] * 1.5e5
    assert_close(out, ref, "numba", np.nanmax(np.abs(values)), sill)


@pytest.mark.skipif(gpu_usable(), reason="a GPU is usable here")
def test_cupy_without_gpu_raises():
    sx, sy, values, gx, gy = random_network()
    with pytest.raises(GPUUnavailableError, match=r"occidata\[gpu\]"):
        ordinary_kriging(sx, sy, values, gx, gy, backend="cupy", **MODELS["spherical"])


@pytest.mark.gpu
@pytest.mark.parametrize("name", list(MODELS))
def test_cupy_matches_numpy(name):
    cupy = pytest.importorskip("cupy")
    if not gpu_usable():
        pytest.skip("no usable GPU")
    sx, sy, values, gx, gy = random_network(seed=7, n_s=30, n_t=6)
    ref = ordinary_kriging(sx, sy, values, gx, gy, variogram=name, backend="numpy", **MODELS[name])
    out = ordinary_kriging(*(cupy.asarray(a) for a in (sx, sy, values, gx, gy)), variogram=name,
                           backend="cupy", **MODELS[name])
    assert isinstance(out.prediction, cupy.ndarray)
    host = KrigingResult(cupy.asnumpy(out.prediction), cupy.asnumpy(out.variance))
    sill = MODELS[name].get("sill") or MODELS[name]["slope"] * 1.5e5
    assert_close(host, ref, "cupy", np.nanmax(np.abs(values)), sill)


# --------------------------------------------------------------------------- xarray / dask


def test_kriging_xr_is_lazy_on_dask_and_matches_in_memory():
    sx, sy, values, _, _ = random_network(n_t=9)
    values[6] = np.nan
    da = xr.DataArray(values, dims=("time", "station"),
                      coords={"time": np.arange(9), "x": ("station", sx), "y": ("station", sy)})
    x, y = np.linspace(0, 1e5, 7), np.linspace(0, 8e4, 5)
    eager = ordinary_kriging_xr(da, x, y, backend="numba", **MODELS["exponential"], variogram="exponential")
    lazy = ordinary_kriging_xr(da.chunk({"time": 4}), x, y, backend="numba",
                               **MODELS["exponential"], variogram="exponential")
    assert lazy.prediction.chunks is not None and lazy.variance.chunks is not None
    computed = lazy.compute()
    xr.testing.assert_allclose(computed, eager, rtol=1e-12)
    gx, gy = np.meshgrid(x, y)
    direct = ordinary_kriging(sx, sy, values, gx, gy, variogram="exponential", backend="numpy",
                              **MODELS["exponential"])
    np.testing.assert_allclose(eager.prediction.values, direct.prediction, rtol=1e-9)
    assert np.isnan(computed.prediction.isel(time=6)).all()
    # Without parameters: fitted once on all the values, then the same per chunk.
    fitted = ordinary_kriging_xr(da.chunk({"time": 4}), x, y, variogram="spherical", backend="numpy")
    whole = ordinary_kriging(sx, sy, values, gx, gy, variogram="spherical", backend="numpy")
    np.testing.assert_allclose(fitted.prediction.values, whole.prediction, rtol=1e-9)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"variogram": "gaussian"}, "variogram"),
        ({"sill": 0.0}, "sill"),
        ({"sill": -1.0}, "sill"),
        ({"range_": 0.0}, "range_"),
        ({"range_": None}, "range_"),
        ({"sill": None}, "sill"),
        ({"nugget": -0.1}, "nugget"),
        ({"nugget": 10.0}, "nugget"),
        ({"slope": 1.0}, "slope"),
        ({"variogram": "linear"}, "slope"),
        ({"variogram": "linear", "slope": 0.0, "sill": None, "range_": None}, "slope"),
        ({"values": np.full((2, 20), np.nan)}, "values"),
        ({"values": np.ones((2, 19))}, "values"),
        ({"values": []}, "values"),
        ({"station_y": np.zeros(3)}, "station_y"),
        ({"grid_y": np.zeros(4)}, "grid_x"),
        ({"backend": "julia"}, "backend"),
    ],
)
def test_bad_input(kwargs, match):
    sx, sy, values, gx, gy = random_network()
    args = dict(station_x=sx, station_y=sy, values=values, grid_x=gx, grid_y=gy,
                variogram="spherical", **MODELS["spherical"])
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        ordinary_kriging(**args)


def test_duplicate_stations_refused():
    with pytest.raises(ValueError, match="station_x"):
        ordinary_kriging([0.0, 1.0, 0.0], [0.0, 1.0, 0.0], [1.0, 2.0, 3.0], [0.5], [0.5],
                         sill=1.0, range_=5.0)


def test_fit_needs_variation():
    with pytest.raises(ValueError, match="values"):
        fit_variogram([0.0, 1.0, 2.0], [0.0, 0.0, 1.0], [3.0, 3.0, 3.0])
