"""occidata.compute.rolling: trailing rolling mean and percentile, every backend against the reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from occidata.compute._xp import TOLERANCE, GPUUnavailableError, gpu_usable
from occidata.compute.rolling import (
    rolling_mean,
    rolling_mean_xr,
    rolling_percentile,
    rolling_percentile_xr,
)

BACKENDS = ["numpy", "numba"]


def _random(shape, nan_share=0.2, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(50.0, 20.0, shape)
    x[rng.random(shape) < nan_share] = np.nan
    return x


def _close(actual, expected, backend):
    rtol = max(TOLERANCE[backend], 1e-12)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * 1e-3)
    assert np.array_equal(np.isnan(actual), np.isnan(expected))


# --------------------------------------------------------------------------- worked examples


@pytest.mark.parametrize("backend", BACKENDS)
def test_mean_worked_example(backend):
    # window 2, min_periods 1: [1], [1, 2] -> 1.5, [2, nan] -> 2, [nan, 4] -> 4
    out = rolling_mean([1.0, 2.0, np.nan, 4.0], 2, min_periods=1, backend=backend)
    np.testing.assert_allclose(out, [1.0, 1.5, 2.0, 4.0])
    # default min_periods = window: only complete windows; [2, nan] has 1 valid value
    out = rolling_mean([1.0, 2.0, np.nan, 4.0], 2, backend=backend)
    np.testing.assert_array_equal(np.isnan(out), [True, False, True, True])
    assert out[1] == 1.5


@pytest.mark.parametrize("backend", BACKENDS)
def test_percentile_worked_example(backend):
    # window 3, median: [4, 1, 3] -> 3; [1, 3, 2] -> 2
    out = rolling_percentile([4.0, 1.0, 3.0, 2.0], 3, 50, backend=backend)
    np.testing.assert_array_equal(out[2:], [3.0, 2.0])
    assert np.isnan(out[:2]).all()
    # q = 25 over [1, 2, 3, 4]: rank (4 - 1) * 0.25 = 0.75 -> 1 + 0.75 * (2 - 1) = 1.75
    out = rolling_percentile([3.0, 1.0, 4.0, 2.0], 4, 25, backend=backend)
    assert out[-1] == pytest.approx(1.75)
    # a NaN is skipped: [1, nan, 4, 2] with min_periods 3 -> median of [1, 2, 4] = 2
    out = rolling_percentile([1.0, np.nan, 4.0, 2.0], 4, 50, min_periods=3, backend=backend)
    assert out[-1] == 2.0


# --------------------------------------------------------------------------- against pandas


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "window, min_periods, q",
    [(1, None, 50.0), (5, 3, 30.0), (24, 18, 95.0), (96, 48, 2.5), (1500, 1, 0.0), (7, 7, 100.0)],
)
def test_against_pandas(backend, window, min_periods, q):
    # 3000 steps: several 1024-step pieces in the Numba kernels, each started afresh.
    x = _random((3, 3000), seed=window)
    mp = window if min_periods is None else min_periods
    mean = rolling_mean(x, window, min_periods=min_periods, backend=backend)
    pct = rolling_percentile(x, window, q, min_periods=min_periods, backend=backend)
    for row, m, p in zip(x, mean, pct):
        rolled = pd.Series(row).rolling(window, min_periods=mp)
        _close(m, rolled.mean().to_numpy(), "numba")
        _close(p, rolled.quantile(q / 100, interpolation="linear").to_numpy(), "numba")


@pytest.mark.parametrize("backend", BACKENDS)
def test_percentile_matches_nanpercentile(backend):
    x = _random((2, 200), nan_share=0.3, seed=3)
    out = rolling_percentile(x, 10, 90, min_periods=1, backend=backend)
    for i in range(9, 200):
        window = x[:, i - 9 : i + 1]
        for r in range(2):
            if np.isnan(window[r]).all():
                assert np.isnan(out[r, i])
            else:
                assert out[r, i] == pytest.approx(np.nanpercentile(window[r], 90), rel=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_axis_and_shape(backend):
    x = _random((50, 2, 3), seed=4)
    out = rolling_mean(x, 4, axis=0, min_periods=2, backend=backend)
    assert out.shape == x.shape
    expected = pd.Series(x[:, 1, 2]).rolling(4, min_periods=2).mean().to_numpy()
    _close(out[:, 1, 2], expected, "numba")
    out = rolling_percentile(x, 4, 50, axis=-3, min_periods=2, backend=backend)
    expected = pd.Series(x[:, 0, 1]).rolling(4, min_periods=2).median().to_numpy()
    _close(out[:, 0, 1], expected, "numba")


def test_long_series_no_drift():
    # A large offset and 40 000 steps: a running sum that never restarts loses digits here.
    rng = np.random.default_rng(5)
    x = 1e6 + rng.random(40_000)
    out = rolling_mean(x, 96, backend="numba")
    exact = np.lib.stride_tricks.sliding_window_view(x, 96).mean(axis=-1)
    np.testing.assert_allclose(out[95:], exact, rtol=1e-12)
    np.testing.assert_allclose(rolling_mean(x, 96, backend="numpy")[95:], exact, rtol=1e-12)


# --------------------------------------------------------------------------- properties

series = st.integers(min_value=1, max_value=4).flatmap(
    lambda rows: st.integers(min_value=1, max_value=300).map(lambda n: (rows, n))
)


@settings(max_examples=40, deadline=None)
@given(
    shape=series,
    window=st.integers(min_value=1, max_value=40),
    mp_share=st.floats(min_value=0.0, max_value=1.0),
    q=st.floats(min_value=0.0, max_value=100.0),
    nan_share=st.sampled_from([0.0, 0.1, 0.5, 0.9]),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_numba_equals_numpy(shape, window, mp_share, q, nan_share, seed):
    x = _random(shape, nan_share=nan_share, seed=seed)
    if np.isnan(x).all():
        x[0, 0] = 1.0
    mp = max(1, round(mp_share * window))
    _close(
        rolling_mean(x, window, min_periods=mp, backend="numba"),
        rolling_mean(x, window, min_periods=mp, backend="numpy"),
        "numba",
    )
    _close(
        rolling_percentile(x, window, q, min_periods=mp, backend="numba"),
        rolling_percentile(x, window, q, min_periods=mp, backend="numpy"),
        "numba",
    )


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(min_value=5, max_value=200),
    window=st.integers(min_value=1, max_value=30),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_percentile_invariants(n, window, seed):
    x = _random((2, n), nan_share=0.2, seed=seed)
    x[:, 0] = 1.0
    lo = rolling_percentile(x, window, 0, min_periods=1, backend="numba")
    mid = rolling_percentile(x, window, 50, min_periods=1, backend="numba")
    hi = rolling_percentile(x, window, 100, min_periods=1, backend="numba")
    mean = rolling_mean(x, window, min_periods=1, backend="numba")
    ok = ~np.isnan(mid)
    assert (lo[ok] <= mid[ok]).all() and (mid[ok] <= hi[ok]).all()
    assert (lo[ok] <= mean[ok] + 1e-9).all() and (mean[ok] <= hi[ok] + 1e-9).all()
    for r in range(2):  # q = 0 and 100 are the rolling min and max
        s = pd.Series(x[r]).rolling(window, min_periods=1)
        _close(lo[r], s.min().to_numpy(), "numba")
        _close(hi[r], s.max().to_numpy(), "numba")


# --------------------------------------------------------------------------- xarray / dask


def test_xarray_wrappers_on_dask():
    xr = pytest.importorskip("xarray")
    pytest.importorskip("dask")
    x = _random((6, 500, 4), seed=8)  # (station, time, variable): time not last
    da = xr.DataArray(
        x,
        dims=("station", "time", "variable"),
        coords={"time": pd.date_range("2024-01-01", periods=500, freq="15min")},
    )
    lazy = da.chunk({"station": 2, "time": 100, "variable": 2})
    mean = rolling_mean_xr(lazy, 12, dim="time", min_periods=6, backend="numba")
    pct = rolling_percentile_xr(lazy, 12, 90, dim="time", min_periods=6, backend="numba")
    assert mean.dims == da.dims and mean.chunks is not None  # still lazy
    assert pct.chunks is not None
    mean_now = rolling_mean_xr(da, 12, dim="time", min_periods=6, backend="numba")
    np.testing.assert_array_equal(mean.compute().values, mean_now.values)
    np.testing.assert_array_equal(
        mean_now.values, rolling_mean(x, 12, axis=1, min_periods=6, backend="numba")
    )
    np.testing.assert_array_equal(
        pct.compute().values, rolling_percentile(x, 12, 90, axis=1, min_periods=6, backend="numba")
    )
    assert (mean.time.values == da.time.values).all()
    # xarray's own rolling agrees
    theirs = da.rolling(time=12, min_periods=6).mean()
    np.testing.assert_allclose(mean_now.values, theirs.values, rtol=1e-9)


def test_xarray_wrapper_bad_input():
    xr = pytest.importorskip("xarray")
    da = xr.DataArray(np.ones((3, 10)), dims=("a", "time"))
    with pytest.raises(ValueError, match="dim"):
        rolling_mean_xr(da, 3, dim="hour")
    with pytest.raises(ValueError, match="da"):
        rolling_mean_xr(np.ones(10), 3)
    with pytest.raises(ValueError, match="window"):
        rolling_mean_xr(da, 0)
    with pytest.raises(ValueError, match="q"):
        rolling_percentile_xr(da, 3, 120)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"x": []}, "x"),
        ({"x": [np.nan, np.nan]}, "x"),
        ({"x": [1.0, np.inf]}, "x"),
        ({"x": 3.0}, "x"),
        ({"x": ["a", "b"]}, "x"),
        ({"window": 0}, "window"),
        ({"window": 2.5}, "window"),
        ({"min_periods": 0}, "min_periods"),
        ({"min_periods": 4}, "min_periods"),
        ({"axis": 1}, "axis"),
        ({"backend": "gpu"}, "backend"),
    ],
)
@pytest.mark.parametrize("func", ["mean", "percentile"])
def test_bad_input(func, kwargs, match):
    args = {"x": [1.0, 2.0, 3.0], "window": 3, **kwargs}
    with pytest.raises(ValueError, match=match):
        if func == "mean":
            rolling_mean(**args)
        else:
            rolling_percentile(q=50, **args)


@pytest.mark.parametrize("q", [-1, 100.5, "50", None])
def test_bad_q(q):
    with pytest.raises(ValueError, match="q"):
        rolling_percentile([1.0, 2.0], 2, q)


# --------------------------------------------------------------------------- GPU


@pytest.mark.skipif(gpu_usable(), reason="a GPU is usable here")
def test_cupy_without_gpu_gives_install_hint():
    with pytest.raises(GPUUnavailableError, match=r"occidata\[gpu\]"):
        rolling_mean([1.0, 2.0, 3.0], 2, backend="cupy")


@pytest.mark.gpu
def test_cupy_equals_numpy():
    cupy = pytest.importorskip("cupy")
    if not gpu_usable():
        pytest.skip("no usable GPU")
    x = _random((5, 3000), seed=9)
    for window, mp, q in [(1, 1, 50.0), (24, 18, 95.0), (96, 10, 2.5)]:
        m = rolling_mean(cupy.asarray(x), window, min_periods=mp, backend="cupy")
        p = rolling_percentile(cupy.asarray(x), window, q, min_periods=mp, backend="cupy")
        assert isinstance(m, cupy.ndarray) and isinstance(p, cupy.ndarray)
        _close(m.get(), rolling_mean(x, window, min_periods=mp, backend="numpy"), "cupy")
        _close(p.get(), rolling_percentile(x, window, q, min_periods=mp, backend="numpy"), "cupy")
    # NumPy in, backend="cupy": computed on the GPU, NumPy out
    out = rolling_mean(x, 24, backend="cupy")
    assert isinstance(out, np.ndarray)
