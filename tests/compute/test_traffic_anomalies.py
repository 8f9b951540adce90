"""Traffic anomalies: robust z-score against the same hour of the week.

Worked examples by hand (the modified z-score, the MAD = 0 fallback, the
past-only and whole-series references), injected spikes found, Numba against
the NumPy reference (hypothesis), bad input.
"""

from __future__ import annotations

import dask.array as da
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from occidata.compute import _xp
from occidata.compute._xp import TOLERANCE, GPUUnavailableError
from occidata.compute.traffic import traffic_anomalies, traffic_anomalies_xr
from occidata.datasets import traffic

CPU = ["numpy", "numba"]


def assert_same(ref, got, backend="numba"):
    for name, x, y in zip(ref._fields, ref, got):
        x, y = np.asarray(x), np.asarray(y)
        if x.dtype.kind == "f":
            # atol: z = (x - median) / scale cancels where x is the median.
            np.testing.assert_allclose(y, x, rtol=TOLERANCE[backend], atol=1e-9, equal_nan=True, err_msg=name)
        else:
            np.testing.assert_array_equal(y, x, err_msg=name)


# --------------------------------------------------------------------------- by hand


@pytest.mark.parametrize("backend", CPU)
def test_robust_z_by_hand(backend):
    r = traffic_anomalies([[98.0, 100.0, 102.0, 160.0]], [8, 8, 8, 8], weeks=8, backend=backend)
    # Reference of the 4th value: 98, 100, 102 -> median 100, deviations 2, 0, 2 -> MAD 2,
    # scale 1.4826 x 2 = 2.9652, z = (160 - 100) / 2.9652 = 20.2347. The first three
    # have fewer than min_history = 3 earlier values: NaN, not flagged.
    np.testing.assert_allclose(r.z[0, 3], 60 / 2.9652, rtol=1e-12)
    np.testing.assert_array_equal(r.expected[0], [np.nan, np.nan, np.nan, 100.0])
    np.testing.assert_allclose(r.scale[0, 3], 2.9652, rtol=1e-12)
    np.testing.assert_array_equal(r.flagged[0], [False, False, False, True])
    assert np.isnan(r.z[0, :3]).all()


@pytest.mark.parametrize("backend", CPU)
def test_each_hour_of_week_has_its_own_reference(backend):
    counts = [[10, 5, 12, 5, 14, 5, 13, 9]]
    r = traffic_anomalies(counts, [0, 1, 0, 1, 0, 1, 0, 1], weeks=8, backend=backend)
    # Hour 0: 10, 12, 14 -> median 12, MAD 2 -> z(13) = 1 / 2.9652 = 0.33725.
    np.testing.assert_allclose(r.z[0, 6], 1 / 2.9652, rtol=1e-12)
    # Hour 1: 5, 5, 5 -> MAD 0 and MeanAD 0: all equal, 9 != 5 -> z = +inf, flagged.
    assert r.z[0, 7] == np.inf and r.flagged[0, 7]


@pytest.mark.parametrize("backend", CPU)
def test_mad_zero_falls_back_to_mean_absolute_deviation(backend):
    counts = [[5.0, 5.0, 5.0, 8.0, 7.0, 5.0]]
    r = traffic_anomalies(counts, [3] * 6, weeks=4, backend=backend)
    # Reference of the 5th value: 5, 5, 5, 8 -> median 5, deviations 0, 0, 0, 3 -> MAD 0;
    # MeanAD = 3 / 4 = 0.75, scale 1.253314 x 0.75 = 0.9399855, z = 2 / 0.9399855 = 2.12769.
    np.testing.assert_allclose(r.scale[0, 4], 1.253314 * 0.75, rtol=1e-12)
    np.testing.assert_allclose(r.z[0, 4], 2 / (1.253314 * 0.75), rtol=1e-12)
    # 6th: 5, 5, 8, 7 -> median 6, deviations 1, 1, 2, 1 -> MAD 1, z = -1 / 1.4826.
    np.testing.assert_allclose(r.z[0, 5], -1 / 1.4826, rtol=1e-12)
    # All equal reference and the same value: z = 0, not flagged.
    same = traffic_anomalies([[4.0, 4.0, 4.0, 4.0]], [0] * 4, weeks=8, backend=backend)
    assert same.z[0, 3] == 0.0 and same.scale[0, 3] == 0.0 and not same.flagged[0, 3]


@pytest.mark.parametrize("backend", CPU)
def test_past_window_forgets_old_weeks(backend):
    counts = [[100.0, 0.0, 50.0, 52.0, 54.0]]
    r = traffic_anomalies(counts, [0] * 5, weeks=2, min_history=2, backend=backend)
    # t=2: 100, 0 -> median 50, MAD 50 -> z(50) = 0.
    # t=3: 0, 50 -> median 25, MAD 25 -> z(52) = 27 / 37.065.
    # t=4: 50, 52 (100 and 0 have left) -> median 51, MAD 1 -> z(54) = 3 / 1.4826.
    np.testing.assert_allclose(r.z[0, 2:], [0.0, 27 / (1.4826 * 25), 3 / 1.4826], rtol=1e-12)
    np.testing.assert_array_equal(r.expected[0, 2:], [50.0, 25.0, 51.0])


@pytest.mark.parametrize("backend", CPU)
def test_missing_values_are_skipped_in_the_reference(backend):
    counts = [[10.0, np.nan, 12.0, 14.0, 100.0]]
    r = traffic_anomalies(counts, [0] * 5, weeks=4, backend=backend)
    # t=4: 10, NaN, 12, 14 -> 3 valid values, median 12, MAD 2 -> z = 88 / 2.9652.
    np.testing.assert_allclose(r.z[0, 4], 88 / 2.9652, rtol=1e-12)
    assert np.isnan(r.z[0, 1])  # a missing count has no z
    strict = traffic_anomalies(counts, [0] * 5, weeks=4, min_history=4, backend=backend)
    assert np.isnan(strict.z[0, 4]) and not strict.flagged[0, 4]


@pytest.mark.parametrize("backend", CPU)
def test_whole_series_reference_by_hand(backend):
    counts = [[10.0, 12.0, 14.0, 13.0, 40.0]]
    r = traffic_anomalies(counts, [0] * 5, weeks=None, backend=backend)
    # All five values: median 13, deviations 3, 1, 1, 0, 27 -> MAD 1, scale 1.4826.
    np.testing.assert_allclose(r.z[0], np.array([-3, -1, 1, 0, 27]) / 1.4826, rtol=1e-12)
    np.testing.assert_array_equal(r.flagged[0], [False, False, False, False, True])
    np.testing.assert_array_equal(r.expected[0], [13.0] * 5)


@pytest.mark.parametrize("backend", CPU)
def test_threshold_limit(backend):
    def flag(counts, threshold):
        return traffic_anomalies(counts, [0] * 4, threshold=threshold, weeks=3, backend=backend).flagged[0, 3]

    counts = [[98.0, 100.0, 102.0, 160.0]]
    z = traffic_anomalies(counts, [0] * 4, weeks=3, backend=backend).z[0, 3]
    assert flag(counts, z) and not flag(counts, z + 0.01)
    # Negative side: |z| counts.
    low = [[98.0, 100.0, 102.0, 40.0]]
    z = traffic_anomalies(low, [0] * 4, weeks=3, backend=backend).z[0, 3]
    assert z < 0 and flag(low, -z) and not flag(low, -z + 0.01)


# --------------------------------------------------------------------------- injected anomalies


def _synthetic_counts(weeks=12, counters=4, seed=0):
    """Hourly counts from Monday 00:00: a weekly profile times a level, Poisson noise."""
    rng = np.random.default_rng(seed)
    hours = np.arange(weeks * 168)
    hour, day = hours % 24, (hours // 24) % 7
    profile = 50 + 900 * np.exp(-0.5 * ((hour - 8) / 1.5) ** 2) + 700 * np.exp(-0.5 * ((hour - 17.5) / 2) ** 2)
    profile = np.where(day >= 5, 0.6 * profile, profile)
    level = rng.uniform(0.5, 2.0, (counters, 1))
    return rng.poisson(level * profile).astype(float), (day * 24 + hour)


@pytest.mark.parametrize("weeks", [8, None])
@pytest.mark.parametrize("backend", CPU)
def test_injected_spike_and_drop_are_found(backend, weeks):
    counts, how = _synthetic_counts()
    spike = 10 * 168 + 24 + 8          # week 10, Tuesday 08:00
    drop = 11 * 168 + 3 * 24 + 17      # week 11, Thursday 17:00 (an incident: 30 % of the flow)
    counts[1, spike] *= 3
    counts[2, drop] = np.round(0.3 * counts[2, drop])
    r = traffic_anomalies(counts, how, weeks=weeks, backend=backend)
    assert r.flagged[1, spike] and r.z[1, spike] > 10
    assert r.flagged[2, drop] and r.z[2, drop] < -10
    assert not r.flagged[[0, 3], spike].any()


def test_false_alarm_rates_as_documented():
    # Counts with no anomaly: the whole-series reference flags well under 1 % of them,
    # a 26-week past window about 0.7 % once it is full (the module notes' figures).
    counts, how = _synthetic_counts(weeks=40, counters=6, seed=7)
    whole = traffic_anomalies(counts, how, backend="numba")
    assert whole.flagged.mean() < 0.01
    past = traffic_anomalies(counts, how, weeks=26, min_history=26, backend="numba")
    assert past.flagged[:, 26 * 168:].mean() < 0.015
    assert not past.flagged[:, :26 * 168].any()  # no judgement before 26 weeks of history


def test_injected_spike_in_the_traffic_dataset():
    table = traffic.generate("demo")
    ids = table["counter_id"].unique()
    counts = table["vehicles"].to_numpy(dtype=float).reshape(len(ids), -1)
    local = pd.DatetimeIndex(table["time_start"].iloc[:counts.shape[1]]).tz_convert("Europe/Paris")
    how = local.day_of_week.to_numpy() * 24 + local.hour.to_numpy()
    t = np.flatnonzero(how == 9)[3]  # the fourth Monday 09:00 (local: the clocks change on 27 October)
    counts[17, t] *= 2.5
    r = traffic_anomalies(counts, how, weeks=None, backend="numba")
    assert r.flagged[17, t] and r.z[17, t] > 3.5


# --------------------------------------------------------------------------- Numba = NumPy


@settings(max_examples=50, deadline=None)
@given(
    counters=st.integers(1, 3),
    n=st.integers(1, 150),
    labels=st.integers(1, 12),
    weeks=st.one_of(st.none(), st.integers(1, 6)),
    min_history=st.integers(1, 4),
    integers=st.booleans(),
    missing=st.floats(0.0, 0.5),
    seed=st.integers(0, 2**31),
)
def test_numba_matches_numpy(counters, n, labels, weeks, min_history, integers, missing, seed):
    rng = np.random.default_rng(seed)
    if weeks is not None:
        min_history = min(min_history, weeks)
    counts = rng.poisson(3.0, (counters, n)).astype(float) if integers else rng.gamma(2.0, 50.0, (counters, n))
    counts[rng.random(counts.shape) < missing] = np.nan
    counts[0, 0] = 1.0
    how = rng.permutation(np.arange(n) % labels) if rng.random() < 0.3 else np.arange(n) % labels
    kw = dict(weeks=weeks, min_history=min_history, threshold=2.0)
    ref = traffic_anomalies(counts, how, backend="numpy", **kw)
    assert_same(ref, traffic_anomalies(counts, how, backend="numba", **kw))
    np.testing.assert_array_equal(ref.flagged, np.abs(ref.z) >= 2.0)
    assert np.all(np.isnan(ref.z[np.isnan(counts)]))


# --------------------------------------------------------------------------- xarray


def test_xr_chunked_matches_in_memory():
    counts, how = _synthetic_counts(weeks=5, counters=6, seed=4)
    time = pd.date_range("2024-01-01", periods=counts.shape[1], freq="h")  # a Monday
    arr = xr.DataArray(counts, dims=("counter", "time"), coords={"time": time})
    eager = traffic_anomalies_xr(arr, weeks=3, backend="numba")
    lazy = traffic_anomalies_xr(arr.chunk({"counter": 2, "time": 200}), weeks=3, backend="numba")
    assert all(isinstance(v.data, da.Array) for v in lazy.data_vars.values())
    ref = traffic_anomalies(counts, how, weeks=3, backend="numpy")
    computed = lazy.compute()
    for name in ref._fields:
        assert computed[name].dims == ("counter", "time")
        np.testing.assert_allclose(computed[name].values, getattr(ref, name), rtol=1e-9, atol=1e-9, equal_nan=True)
        np.testing.assert_array_equal(computed[name].values, eager[name].values)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: traffic_anomalies([[1.0, -3.0]], [0, 1]), "counts: 1 negative value"),
        (lambda: traffic_anomalies([], []), "counts: is empty"),
        (lambda: traffic_anomalies([[np.nan, np.nan]], [0, 1]), "counts: every value is NaN"),
        (lambda: traffic_anomalies([[1.0, np.inf]], [0, 1]), "counts: has infinite values"),
        (lambda: traffic_anomalies([[1.0, 2.0, 3.0]], [0, 1]), "hour_of_week: has 2 along axis 0 but counts"),
        (lambda: traffic_anomalies([[1.0, 2.0]], [[0, 1]]), "hour_of_week: expected a 1-D array"),
        (lambda: traffic_anomalies([[1.0, 2.0]], [0, -1]), "hour_of_week: expected integers >= 0"),
        (lambda: traffic_anomalies([[1.0, 2.0]], [0.5, 1]), "hour_of_week: expected whole numbers"),
        (lambda: traffic_anomalies([[1.0, 2.0]], ["a", "b"]), "hour_of_week: expected integers"),
        (lambda: traffic_anomalies([[1.0, 2.0]], [0, 1], threshold=0), "threshold=0"),
        (lambda: traffic_anomalies([[1.0, 2.0]], [0, 1], weeks=0), "weeks=0"),
        (lambda: traffic_anomalies([[1.0, 2.0]], [0, 1], weeks=2, min_history=3), "min_history=3"),
        (lambda: traffic_anomalies_xr(xr.DataArray([1.0, 2.0], dims="time")), "hour_of_week: give it"),
    ],
)
def test_bad_input_names_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_cupy_without_gpu_says_how_to_install(monkeypatch):
    monkeypatch.setattr(_xp, "_cupy_or_reason", lambda: (None, "CuPy is not installed"))
    with pytest.raises(GPUUnavailableError, match=r"occidata\[gpu\]"):
        traffic_anomalies([[1.0, 2.0]], [0, 1], backend="cupy")


@pytest.mark.gpu
@pytest.mark.parametrize("weeks", [8, None])
def test_cupy_matches_numpy(weeks):
    cupy = pytest.importorskip("cupy")
    if not _xp.gpu_usable():
        pytest.skip("no usable GPU")
    counts, how = _synthetic_counts(weeks=10, counters=5, seed=5)
    counts[:, ::37] = np.nan
    ref = traffic_anomalies(counts, how, weeks=weeks, backend="numpy")
    got = traffic_anomalies(cupy.asarray(counts), how, weeks=weeks, backend="cupy")
    assert isinstance(got.z, cupy.ndarray)
    assert_same(ref, type(ref)(*(cupy.asnumpy(x) for x in got)), "cupy")
