"""idw: worked examples by hand, the NaN / radius / min_stations rules, every backend against NumPy."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from occidata.compute._xp import TOLERANCE, GPUUnavailableError, gpu_usable
from occidata.compute.interpolation import idw, idw_xr

CPU_BACKENDS = ["numpy", "numba"]

# Three stations around the point P = (0, 0): A at distance 1, B at 2, C at 4.
SX = np.array([1.0, 0.0, 0.0])
SY = np.array([0.0, 2.0, -4.0])
VALUES = np.array([10.0, 20.0, 40.0])


def assert_close(result, reference, backend, scale):
    """Within the backend's tolerance, relative to the largest |value| (weighted means cancel)."""
    tol = TOLERANCE[backend]
    np.testing.assert_array_equal(np.isnan(result), np.isnan(reference))
    np.testing.assert_allclose(result, reference, rtol=tol, atol=tol * scale)


# --------------------------------------------------------------------------- worked examples


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_worked_example_power_2(backend):
    # w = 1/d**2 = 1, 1/4, 1/16; sum(w z) = 10 + 5 + 2.5 = 17.5; sum(w) = 1.3125;
    # 17.5 / 1.3125 = 40/3.
    out = idw(SX, SY, VALUES, [0.0], [0.0], backend=backend)
    np.testing.assert_allclose(out, [40.0 / 3.0], rtol=1e-14)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_worked_example_power_1(backend):
    # w = 1, 1/2, 1/4; sum(w z) = 10 + 10 + 10 = 30; sum(w) = 1.75; 30 / 1.75 = 120/7.
    out = idw(SX, SY, VALUES, [0.0], [0.0], power=1, backend=backend)
    np.testing.assert_allclose(out, [120.0 / 7.0], rtol=1e-14)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_nan_station_left_out_per_step(backend):
    # Step 0 as above (40/3); step 1 without A: (20/4 + 40/16) / (1/4 + 1/16) = 7.5 / 0.3125 = 24;
    # step 2 with only C: 40.
    values = np.array([VALUES, [np.nan, 20.0, 40.0], [np.nan, np.nan, 40.0]])
    out = idw(SX, SY, values, np.array([[0.0]]), np.array([[0.0]]), backend=backend)
    assert out.shape == (3, 1, 1)
    np.testing.assert_allclose(out[:, 0, 0], [40.0 / 3.0, 24.0, 40.0], rtol=1e-14)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_radius_is_inclusive_and_min_stations(backend):
    p = ([0.0], [0.0])
    # radius 2 keeps A (d=1) and B (d=2, on the limit): (10 + 20/4) / (1 + 1/4) = 15 / 1.25 = 12.
    np.testing.assert_allclose(idw(SX, SY, VALUES, *p, radius=2, backend=backend), [12.0], rtol=1e-14)
    # Just inside 2: only A.
    np.testing.assert_allclose(idw(SX, SY, VALUES, *p, radius=1.99, backend=backend), [10.0])
    # Two stations needed, two in the radius: a value; three needed: NaN.
    assert np.isfinite(idw(SX, SY, VALUES, *p, radius=2, min_stations=2, backend=backend)).all()
    assert np.isnan(idw(SX, SY, VALUES, *p, radius=2, min_stations=3, backend=backend)).all()
    assert np.isnan(idw(SX, SY, VALUES, *p, radius=1.99, min_stations=2, backend=backend)).all()
    # No station within the radius at all: NaN.
    assert np.isnan(idw(SX, SY, VALUES, *p, radius=0.5, backend=backend)).all()
    # A missing station no longer counts toward min_stations.
    values = np.array([VALUES, [np.nan, 20.0, 40.0]])
    out = idw(SX, SY, values, *p, radius=2, min_stations=2, backend=backend)
    np.testing.assert_allclose(out[:, 0], [12.0, np.nan])


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_point_on_station_takes_its_value(backend):
    # Grid points exactly on A, B and C, and one 1 mm off A (weighted, not snapped).
    gx = np.array([1.0, 0.0, 0.0, 1.001])
    gy = np.array([0.0, 2.0, -4.0, 0.0])
    values = np.array([VALUES, [np.nan, 20.0, 40.0]])
    out = idw(SX, SY, values, gx, gy, backend=backend)
    np.testing.assert_array_equal(out[0, :3], VALUES)
    # w_A = 1e6 against w_B ~ 1/5, w_C ~ 1/17: just above 10, not 10.
    assert 10.0 < out[0, 3] < 10.0001
    # A is missing at step 1: the point on A is interpolated from B (d = sqrt(5)) and C
    # (d = sqrt(17)): (20/5 + 40/17) / (1/5 + 1/17) = (108/17) / (22/85) = 540/22.
    np.testing.assert_allclose(out[1, 0], 540.0 / 22.0, rtol=1e-14)
    np.testing.assert_array_equal(out[1, 1:3], [20.0, 40.0])


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_point_on_two_stations_at_one_place_takes_their_mean(backend):
    out = idw([0.0, 0.0, 5.0], [0.0, 0.0, 0.0], [[1.0, 3.0, 9.0], [np.nan, 3.0, 9.0]],
              [0.0], [0.0], backend=backend)
    np.testing.assert_allclose(out[:, 0], [2.0, 3.0])


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_shapes(backend):
    gx, gy = np.meshgrid(np.linspace(-5, 5, 4), np.linspace(-5, 5, 3))
    assert idw(SX, SY, VALUES, gx, gy, backend=backend).shape == (3, 4)
    assert idw(SX, SY, np.stack([VALUES] * 5), gx, gy, backend=backend).shape == (5, 3, 4)
    assert idw(SX, SY, np.stack([VALUES] * 5), 0.5, 0.5, backend=backend).shape == (5,)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_all_nan_step_gives_nan(backend):
    values = np.array([VALUES, [np.nan] * 3])
    out = idw(SX, SY, values, [0.0, 1.0], [0.0, 0.0], backend=backend)
    assert np.isfinite(out[0]).all() and np.isnan(out[1]).all()


# --------------------------------------------------------------------------- property tests


@st.composite
def idw_cases(draw):
    n_s = draw(st.integers(1, 9))
    n_t = draw(st.integers(1, 7))
    coords = st.integers(-20, 20).map(float)
    sx = np.array(draw(st.lists(coords, min_size=n_s, max_size=n_s)))
    sy = np.array(draw(st.lists(coords, min_size=n_s, max_size=n_s)))
    values = draw(hnp.arrays(np.float64, (n_t, n_s), elements=st.floats(-1e3, 1e3)))
    missing = draw(hnp.arrays(np.bool_, (n_t, n_s)))
    values[missing] = np.nan
    if np.isnan(values).all():
        values[0, 0] = 1.0
    # Grid points on integer coordinates too, so that some fall exactly on stations.
    n_p = draw(st.integers(1, 70))
    gx = np.array(draw(st.lists(st.integers(-25, 25).map(float), min_size=n_p, max_size=n_p)))
    gy = np.array(draw(st.lists(st.integers(-25, 25).map(float), min_size=n_p, max_size=n_p)))
    radius = draw(st.one_of(st.none(), st.floats(0.5, 60.0)))
    min_stations = draw(st.integers(1, 4))
    power = draw(st.sampled_from([0.5, 1.0, 2.0, 3.0]))
    return sx, sy, values, gx, gy, dict(radius=radius, min_stations=min_stations, power=power)


@settings(max_examples=50, deadline=None)
@given(idw_cases())
def test_numba_matches_numpy(case):
    sx, sy, values, gx, gy, kw = case
    ref = idw(sx, sy, values, gx, gy, backend="numpy", **kw)
    out = idw(sx, sy, values, gx, gy, backend="numba", **kw)
    assert_close(out, ref, "numba", np.nanmax(np.abs(values)))


@settings(max_examples=50, deadline=None)
@given(idw_cases())
def test_result_within_station_range(case):
    # A weighted mean (or a station's value) lies between the smallest and largest value reported.
    sx, sy, values, gx, gy, kw = case
    out = idw(sx, sy, values, gx, gy, backend="numpy", **kw)
    lo = np.nanmin(np.where(np.isnan(values), np.inf, values), axis=1)[:, None]
    hi = np.nanmax(np.where(np.isnan(values), -np.inf, values), axis=1)[:, None]
    finite = np.isfinite(out)
    slack = 1e-12 * np.nanmax(np.abs(values))
    assert (out[finite] >= np.broadcast_to(lo, out.shape)[finite] - slack).all()
    assert (out[finite] <= np.broadcast_to(hi, out.shape)[finite] + slack).all()


def test_numba_matches_numpy_on_a_grid_with_missing_values():
    # Many blocks of 64 points, step counts not a multiple of the kernel's row group, ~5 % NaN,
    # points very close to a missing station (most of the weight missing).
    rng = np.random.default_rng(3)
    sx, sy = rng.uniform(0, 1e5, 30), rng.uniform(0, 1e5, 30)
    values = rng.normal(15, 8, (23, 30))
    values[rng.random(values.shape) < 0.05] = np.nan
    values[:, 0] = np.nan
    gx, gy = np.meshgrid(np.linspace(0, 1e5, 41), np.linspace(0, 1e5, 37))
    gx[0, :3] = sx[0] + np.array([0.0, 1e-3, 1.0])
    gy[0, :3] = sy[0]
    for kw in ({}, {"radius": 3e4}, {"radius": 3e4, "min_stations": 3}, {"power": 3.5}):
        ref = idw(sx, sy, values, gx, gy, backend="numpy", **kw)
        out = idw(sx, sy, values, gx, gy, backend="numba", **kw)
        assert_close(out, ref, "numba", np.nanmax(np.abs(values)))


# --------------------------------------------------------------------------- GPU


CUDASIM_SCRIPT = textwrap.dedent("""
    import numpy as np
    from occidata.compute._cuda_idw import idw_cuda
    from occidata.compute.interpolation import idw
    rng = np.random.default_rng(0)
    sx, sy = rng.uniform(0, 100, 6), rng.uniform(0, 100, 6)
    values = rng.normal(10, 3, (3, 6))
    values[0, 2] = np.nan
    values[2, :] = np.nan
    gx, gy = np.meshgrid(np.linspace(0, 100, 5), np.linspace(0, 100, 4))
    gx[0, 0], gy[0, 0] = sx[1], sy[1]
    for kw in ({}, {"radius": 40.0, "min_stations": 2}, {"power": 1.0}):
        out = idw_cuda(sx, sy, values, gx, gy, **kw)
        ref = idw(sx, sy, values, gx, gy, backend="numpy", **kw)
        assert out.shape == ref.shape == (3, 4, 5)
        assert np.array_equal(np.isnan(out), np.isnan(ref))
        np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)
    print("cudasim ok")
""")


def test_numba_cuda_kernel_under_cudasim():
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    done = subprocess.run([sys.executable, "-c", CUDASIM_SCRIPT], env=env,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "cudasim ok" in done.stdout


@pytest.mark.skipif(gpu_usable(), reason="a GPU is usable here")
def test_cupy_without_gpu_raises():
    with pytest.raises(GPUUnavailableError, match=r"occidata\[gpu\]"):
        idw(SX, SY, VALUES, [0.0], [0.0], backend="cupy")


@pytest.mark.gpu
def test_cupy_matches_numpy():
    cupy = pytest.importorskip("cupy")
    if not gpu_usable():
        pytest.skip("no usable GPU")
    rng = np.random.default_rng(5)
    sx, sy = rng.uniform(0, 1e5, 40), rng.uniform(0, 1e5, 40)
    values = rng.normal(15, 8, (50, 40))
    values[rng.random(values.shape) < 0.05] = np.nan
    gx, gy = np.meshgrid(np.linspace(0, 1e5, 61), np.linspace(0, 1e5, 47))
    gx[0, 0], gy[0, 0] = sx[3], sy[3]
    for kw in ({}, {"radius": 3e4, "min_stations": 3}, {"power": 1.5}):
        ref = idw(sx, sy, values, gx, gy, backend="numpy", **kw)
        out = idw(cupy.asarray(sx), cupy.asarray(sy), cupy.asarray(values), cupy.asarray(gx),
                  cupy.asarray(gy), backend="cupy", **kw)
        assert isinstance(out, cupy.ndarray)
        assert_close(cupy.asnumpy(out), ref, "cupy", np.nanmax(np.abs(values)))
        # NumPy in, NumPy out, computed on the GPU.
        host = idw(sx, sy, values, gx, gy, backend="cupy", **kw)
        assert isinstance(host, np.ndarray)
        assert_close(host, ref, "cupy", np.nanmax(np.abs(values)))


# --------------------------------------------------------------------------- xarray / dask


def station_dataarray(n_t=12, n_s=8, seed=0):
    rng = np.random.default_rng(seed)
    values = rng.normal(10, 4, (n_t, n_s))
    values[rng.random(values.shape) < 0.1] = np.nan
    values[5] = np.nan
    return xr.DataArray(
        values, dims=("time", "station"),
        coords={"time": np.arange(n_t), "x": ("station", rng.uniform(0, 100, n_s)),
                "y": ("station", rng.uniform(0, 50, n_s))},
    )


def test_idw_xr_is_lazy_on_dask_and_matches_in_memory():
    da = station_dataarray()
    x, y = np.linspace(0, 100, 11), np.linspace(0, 50, 6)
    eager = idw_xr(da, x, y, radius=40.0, backend="numba")
    lazy = idw_xr(da.chunk({"time": 5}), x, y, radius=40.0, backend="numba")
    assert lazy.chunks is not None          # nothing computed yet
    assert lazy.dims == eager.dims == ("time", "y", "x")
    computed = lazy.compute()
    # BLAS may sum in another order for another number of rows: equal to the last digits.
    xr.testing.assert_allclose(computed, eager, rtol=1e-12, atol=0)
    gx, gy = np.meshgrid(x, y)
    direct = idw(da.x.values, da.y.values, da.values, gx, gy, radius=40.0, backend="numpy")
    assert_close(eager.values, direct, "numba", np.nanmax(np.abs(da.values)))
    np.testing.assert_array_equal(eager.x, x)
    assert np.isnan(computed.isel(time=5)).all()   # a step with no station: NaN, no error


def test_idw_xr_bad_input():
    da = station_dataarray()
    with pytest.raises(ValueError, match="values"):
        idw_xr(da.values, [0.0], [0.0])
    with pytest.raises(ValueError, match="values"):
        idw_xr(da.rename(station="site"), [0.0], [0.0])
    with pytest.raises(ValueError, match="radius"):
        idw_xr(da, [0.0], [0.0], radius=-1)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"station_y": [0.0, 1.0]}, "station_y"),
        ({"station_x": []}, "station_x"),
        ({"station_x": [1.0, np.nan, 0.0]}, "station_x"),
        ({"values": [1.0, 2.0]}, "values"),
        ({"values": np.ones((2, 4))}, "values"),
        ({"values": []}, "values"),
        ({"values": [np.nan, np.nan, np.nan]}, "values"),
        ({"values": [1.0, np.inf, 3.0]}, "values"),
        ({"values": np.ones((2, 2, 3))}, "values"),
        ({"grid_x": [0.0, 1.0]}, "grid_x"),
        ({"grid_x": []}, "grid_x"),
        ({"grid_y": [np.nan]}, "grid_y"),
        ({"power": 0}, "power"),
        ({"power": -1.0}, "power"),
        ({"radius": 0.0}, "radius"),
        ({"radius": -5.0}, "radius"),
        ({"radius": np.nan}, "radius"),
        ({"min_stations": 0}, "min_stations"),
        ({"min_stations": 1.5}, "min_stations"),
        ({"backend": "fortran"}, "backend"),
    ],
)
def test_bad_input(kwargs, match):
    args = {"station_x": SX, "station_y": SY, "values": VALUES, "grid_x": [0.0], "grid_y": [0.0]}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        idw(**args)
