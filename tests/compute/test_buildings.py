"""Building meters: minimum night flow, leak detection, after-hours load.

Worked examples by hand, Numba against the NumPy reference (fixed cases and
hypothesis), the ground truth of the synthetic ``building_meters`` readings
(every injected leak and weekend anomaly found, nothing else), bad input.
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
from occidata.compute.buildings import (
    after_hours_load,
    after_hours_load_xr,
    detect_leaks,
    minimum_night_flow,
    minimum_night_flow_xr,
)
from occidata.datasets import building_meters

CPU = ["numpy", "numba"]


def assert_same(a, b, backend="numba"):
    """Backend result ``b`` against the reference ``a``, field by field."""
    for name, x, y in zip(getattr(a, "_fields", ["value"]), a if hasattr(a, "_fields") else [a],
                          b if hasattr(b, "_fields") else [b]):
        x, y = np.asarray(x), np.asarray(y)
        assert x.shape == y.shape, name
        if x.dtype.kind == "f":
            np.testing.assert_allclose(y, x, rtol=TOLERANCE[backend], atol=1e-12, equal_nan=True, err_msg=name)
        else:
            np.testing.assert_array_equal(y, x, err_msg=name)


# --------------------------------------------------------------------------- minimum night flow


def _night_example():
    """Three days and 10 steps of 15-minute readings; 02:00-04:00 = steps 8..15 of a day."""
    flow = np.zeros(3 * 96 + 10)
    flow[7] = flow[16] = 0.5                      # 01:45 and 04:00: outside the window
    flow[8:16] = [5, 4, 6, 5, 5, 7, 4.5, 5]       # day 0: min 4 l / 15 min
    flow[96 + 8:96 + 16] = np.nan
    flow[96 + 11] = 2.0                           # day 1: one valid value, 2 l / 15 min
    flow[192 + 8:192 + 16] = np.nan               # day 2: no valid value
    flow[288:298] = [9, 9, 9, 9, 9, 9, 9, 9, 3, 1]  # day 3 stops at 02:30: steps 296, 297
    return flow


@pytest.mark.parametrize("backend", CPU)
def test_minimum_night_flow_by_hand(backend):
    out = minimum_night_flow(_night_example(), backend=backend)
    # 4 l/15 min x 4 = 16 l/h; 2 x 4 = 8; no value -> NaN; min(3, 1) = 1 -> 4 l/h.
    np.testing.assert_array_equal(out, [16.0, 8.0, np.nan, 4.0])


@pytest.mark.parametrize("backend", CPU)
def test_minimum_night_flow_window_edges_and_hourly_steps(backend):
    flow = np.arange(48, dtype=float)[::-1].copy()  # two days of hourly steps, decreasing
    # night (1, 3) -> hours 1 and 2: the minimum is the value at 02:00 (step 2 and 26),
    # at 1 step per hour the rate is the value itself.
    out = minimum_night_flow(flow, steps_per_day=24, night=(1, 3), backend=backend)
    np.testing.assert_array_equal(out, [45.0, 21.0])
    out = minimum_night_flow(flow, steps_per_day=24, night=(0, 24), backend=backend)
    np.testing.assert_array_equal(out, [24.0, 0.0])


@pytest.mark.parametrize("backend", CPU)
def test_minimum_night_flow_keeps_leading_axes(backend):
    flow = np.stack([_night_example(), 2 * _night_example()]).reshape(2, 1, -1)
    out = minimum_night_flow(flow, backend=backend)
    assert out.shape == (2, 1, 4)
    np.testing.assert_array_equal(out[1, 0], [32.0, 16.0, np.nan, 8.0])


@settings(max_examples=40, deadline=None)
@given(
    meters=st.integers(1, 4),
    days=st.integers(1, 6),
    extra=st.integers(0, 40),
    steps_per_day=st.sampled_from([24, 48, 96]),
    window=st.sampled_from([(2, 4), (0, 6), (23, 24), (0, 24)]),
    missing=st.floats(0.0, 0.9),
    seed=st.integers(0, 2**31),
)
def test_minimum_night_flow_numba_matches_numpy(meters, days, extra, steps_per_day, window, missing, seed):
    rng = np.random.default_rng(seed)
    flow = rng.gamma(0.5, 10.0, (meters, days * steps_per_day + extra))
    flow[rng.random(flow.shape) < missing] = np.nan
    flow[0, 0] = 1.0
    ref = minimum_night_flow(flow, steps_per_day, window, backend="numpy")
    assert_same(ref, minimum_night_flow(flow, steps_per_day, window, backend="numba"))
    # The definition, night by night: the smallest valid value of the window, per hour.
    first, last = (h * steps_per_day // 24 for h in window)
    for d in range(ref.shape[1]):
        values = flow[:, d * steps_per_day + first:d * steps_per_day + last]
        for m in range(meters):
            valid = values[m][~np.isnan(values[m])]
            want = valid.min() * (steps_per_day / 24) if valid.size else np.nan
            np.testing.assert_equal(ref[m, d], want)


# --------------------------------------------------------------------------- leaks


@pytest.mark.parametrize("backend", CPU)
def test_detect_leaks_by_hand(backend):
    mnf = np.array([[0, 10, 50, 60, 20, 70, 80, 90, np.nan, 40, 0]], dtype=float)
    r = detect_leaks(mnf, 20.0, nights=2, backend=backend)
    # Strictly above 20: nights 2-3 (2 nights), 5-7 (3), 9 (1: too short); night 4 is AT 20.
    np.testing.assert_array_equal(r.leaking[0], [0, 0, 1, 1, 0, 1, 1, 1, 0, 0, 0])
    # Baseline: median of the other valid nights 0, 10, 20, 40, 0 -> 10 (under the threshold).
    np.testing.assert_array_equal(r.baseline, [10.0])
    # Litres: (50-10)x24 = 960, (60-10)x24 = 1200 -> 2160; (70+80+90 - 3x10) x 24 = 5040.
    np.testing.assert_array_equal(r.litres[0, [2, 3, 5, 6, 7]], [960, 1200, 1440, 1680, 1920])
    np.testing.assert_array_equal(r.run_meter, [0, 0])
    np.testing.assert_array_equal(r.run_start, [2, 5])
    np.testing.assert_array_equal(r.run_nights, [2, 3])
    np.testing.assert_array_equal(r.run_litres, [2160.0, 5040.0])
    np.testing.assert_array_equal(r.total_litres, [7200.0])


@pytest.mark.parametrize("backend", CPU)
def test_detect_leaks_threshold_is_strict(backend):
    at = detect_leaks([[20.0, 20.0, 20.0]], 20.0, nights=2, backend=backend)
    assert not at.leaking.any() and at.run_start.size == 0 and at.total_litres[0] == 0.0
    above = detect_leaks([[20.01, 20.01, 0.0]], 20.0, nights=2, backend=backend)
    np.testing.assert_array_equal(above.leaking[0], [True, True, False])
    # Baseline = the one other night, 0: 2 x 20.01 x 24 = 960.48 litres.
    np.testing.assert_allclose(above.run_litres, [960.48], rtol=1e-12)


@pytest.mark.parametrize("backend", CPU)
def test_detect_leaks_nights_limit(backend):
    mnf = [[0.0, 30.0, 30.0, 30.0, 0.0]]
    assert detect_leaks(mnf, 10.0, nights=3, backend=backend).run_nights.tolist() == [3]
    assert detect_leaks(mnf, 10.0, nights=4, backend=backend).run_nights.size == 0


@pytest.mark.parametrize("backend", CPU)
def test_detect_leaks_per_meter_threshold_and_all_leaking(backend):
    mnf = np.array([[50.0, 60.0, 70.0], [8.0, 9.0, 10.0]])
    r = detect_leaks(mnf, [100.0, 5.0], nights=2, backend=backend)
    np.testing.assert_array_equal(r.leaking, [[False] * 3, [True] * 3])
    # Meter 1 leaks every night: no normal night, the baseline is the threshold 5:
    # (3 + 4 + 5) x 24 = 288 litres. Meter 0: median 60 capped at its threshold 100 -> 60.
    np.testing.assert_array_equal(r.baseline, [60.0, 5.0])
    np.testing.assert_array_equal(r.total_litres, [0.0, 288.0])
    np.testing.assert_array_equal(r.run_meter, [1])


@settings(max_examples=40, deadline=None)
@given(
    meters=st.integers(1, 5),
    nights_total=st.integers(1, 40),
    nights=st.integers(1, 4),
    missing=st.floats(0.0, 0.3),
    seed=st.integers(0, 2**31),
)
def test_detect_leaks_numba_matches_numpy(meters, nights_total, nights, missing, seed):
    rng = np.random.default_rng(seed)
    mnf = np.where(rng.random((meters, nights_total)) < 0.5, rng.uniform(0, 10, (meters, nights_total)),
                   rng.uniform(10, 200, (meters, nights_total)))
    mnf[rng.random(mnf.shape) < missing] = np.nan
    mnf[0, 0] = 1.0
    threshold = rng.uniform(5, 20, meters)
    ref = detect_leaks(mnf, threshold, nights=nights, backend="numpy")
    assert_same(ref, detect_leaks(mnf, threshold, nights=nights, backend="numba"))
    # Invariants: a leaking night is above its threshold; every run is long enough;
    # the runs add up to the totals; no volume is negative.
    assert np.all(mnf[ref.leaking] > np.broadcast_to(threshold[:, None], mnf.shape)[ref.leaking])
    assert np.all(ref.run_nights >= nights)
    assert ref.run_nights.sum() == ref.leaking.sum()
    np.testing.assert_allclose(np.bincount(ref.run_meter, ref.run_litres, minlength=meters), ref.total_litres)
    assert np.all(ref.litres >= 0)


# --------------------------------------------------------------------------- after-hours load


def _week_example():
    """One week of 6-hour steps (00, 06, 12, 18), starting on a Monday, three meters."""
    day = np.array([1.0, 4.0, 4.0, 2.0])
    m0 = np.concatenate([np.tile(day, 5), np.full(8, 3.0)])
    m1 = np.concatenate([np.arange(20.0), np.zeros(8)])
    m2 = np.zeros(28)
    load = np.stack([m0, m1, m2])
    occupied = np.zeros((3, 28), dtype=bool)
    occupied[0, :20] = np.tile([False, True, True, False], 5)  # meter 0 in use 06-18 on weekdays
    return load, occupied


@pytest.mark.parametrize("backend", CPU)
def test_after_hours_load_by_hand(backend):
    load, occupied = _week_example()
    r = after_hours_load(load, occupied, steps_per_day=4, backend=backend)
    assert r.base.shape == (3, 1)
    # Meter 0: weekday values 1 x5, 2 x5, 4 x10; 2.5th percentile at rank 0.025 x 19 = 0.475
    # between two 1s -> base 1. Weekend unoccupied: eight 3s -> median 3, ratio 3, excess
    # 8 x (3 - 1) = 16. Weekday unoccupied: 1 x5, 2 x5 -> median 1.5, excess 5 x 1 = 5.
    # Meter 1: weekday 0..19 all unoccupied -> base 0 + 0.475 x (1 - 0) = 0.475; night
    # median 9.5 -> ratio 20; excess sum(1..19) - 19 x 0.475 = 190 - 9.025 = 180.975;
    # weekend zeros -> ratio 0, excess 0. Meter 2: all zero -> base 0, ratios 0/0 = 1.
    np.testing.assert_allclose(r.base[:, 0], [1.0, 0.475, 0.0], rtol=1e-12)
    np.testing.assert_allclose(r.weekend_ratio[:, 0], [3.0, 0.0, 1.0], rtol=1e-12)
    np.testing.assert_allclose(r.night_ratio[:, 0], [1.5, 20.0, 1.0], rtol=1e-12)
    np.testing.assert_allclose(r.weekend_excess[:, 0], [16.0, 0.0, 0.0], rtol=1e-12)
    np.testing.assert_allclose(r.night_excess[:, 0], [5.0, 180.975, 0.0], rtol=1e-12)
    np.testing.assert_array_equal(r.flagged[:, 0], [True, True, False])


@pytest.mark.parametrize("backend", CPU)
def test_after_hours_factor_limit(backend):
    load, occupied = _week_example()
    # Meter 0: weekend ratio exactly 3 -> flagged at factor 3, not at 3.01 (night ratio 1.5).
    at = after_hours_load(load[:1], occupied[:1], steps_per_day=4, factor=3.0, backend=backend)
    above = after_hours_load(load[:1], occupied[:1], steps_per_day=4, factor=3.01, backend=backend)
    assert at.flagged[0, 0] and not above.flagged[0, 0]


@pytest.mark.parametrize("backend", CPU)
def test_after_hours_partial_weeks_and_shared_calendar(backend):
    # 9 days from a Saturday: week 0 = Sat-Sun (no weekday, no base), week 1 = Mon-Sun.
    load = np.ones((2, 9 * 4))
    occupied = np.zeros(9 * 4, dtype=bool)  # one calendar for both meters
    r = after_hours_load(load, occupied, steps_per_day=4, first_weekday=5, backend=backend)
    assert r.base.shape == (2, 2)
    assert np.isnan(r.base[:, 0]).all() and np.isnan(r.weekend_ratio[:, 0]).all()
    assert not r.flagged[:, 0].any()
    np.testing.assert_array_equal(r.base[:, 1], [1.0, 1.0])
    np.testing.assert_array_equal(r.weekend_ratio[:, 1], [1.0, 1.0])


@settings(max_examples=30, deadline=None)
@given(
    meters=st.integers(1, 3),
    days=st.integers(1, 20),
    extra=st.integers(0, 5),
    steps_per_day=st.sampled_from([8, 96]),
    first_weekday=st.integers(0, 6),
    percentile=st.sampled_from([0.0, 2.5, 50.0, 97.5, 100.0]),
    missing=st.floats(0.0, 0.5),
    seed=st.integers(0, 2**31),
)
def test_after_hours_numba_matches_numpy(meters, days, extra, steps_per_day, first_weekday, percentile,
                                         missing, seed):
    rng = np.random.default_rng(seed)
    n = days * steps_per_day + extra
    load = rng.gamma(2.0, 1.0, (meters, n))
    load[rng.random(load.shape) < missing] = np.nan
    load[0, 0] = 1.0
    occupied = rng.random((meters, n)) < 0.4
    kw = dict(steps_per_day=steps_per_day, first_weekday=first_weekday, percentile=percentile)
    ref = after_hours_load(load, occupied, backend="numpy", **kw)
    assert_same(ref, after_hours_load(load, occupied, backend="numba", **kw))
    # The base against numpy.nanpercentile of each week's Monday-Friday steps.
    day = (np.arange(n) // steps_per_day + first_weekday)
    for w in range(ref.base.shape[-1]):
        weekday = (day // 7 == w) & (day % 7 < 5)
        values = load[:, weekday]
        for m in range(meters):
            valid = values[m][~np.isnan(values[m])]
            want = np.percentile(valid, percentile) if valid.size else np.nan
            np.testing.assert_allclose(ref.base[m, w], want, rtol=1e-12)
    assert np.all((ref.weekend_excess >= 0) | np.isnan(ref.weekend_excess))


@settings(max_examples=50, deadline=None)
@given(
    n=st.integers(1, 1500),
    kind=st.sampled_from(["uniform", "few values", "sorted", "reversed", "day and night", "equal"]),
    seed=st.integers(0, 2**31),
)
def test_selection_kernels_match_numpy(n, kind, seed):
    # The Numba order statistics behind the near-base load and the medians (quickselect
    # with a branch-free partition, a low-rank buffer) against numpy on awkward inputs.
    from occidata.compute.buildings import _kth, _median_select, _percentile_select

    rng = np.random.default_rng(seed)
    a = {
        "uniform": lambda: rng.random(n),
        "few values": lambda: rng.integers(0, 4, n).astype(float),
        "sorted": lambda: np.sort(rng.random(n)),
        "reversed": lambda: np.sort(rng.random(n))[::-1].copy(),
        "day and night": lambda: np.where((np.arange(n) // 40) % 2 == 0, 1.0, 8.0) + rng.random(n) * 0.1,
        "equal": lambda: np.full(n, 2.5),
    }[kind]()
    t1, t2 = np.empty(n), np.empty(n)
    original = a.copy()
    r = int(rng.integers(n))
    assert _kth(a, n, r, t1, t2) == np.sort(a)[r]
    assert _median_select(a, n, t1, t2) == np.median(a)
    for q in (0.0, 0.025, 0.5, 0.975, 1.0):
        np.testing.assert_allclose(_percentile_select(a, n, q, t1, t2), np.percentile(a, 100 * q), rtol=1e-12)
    np.testing.assert_array_equal(a, original)  # the input is left as it is


# --------------------------------------------------------------------------- ground truth


@pytest.fixture(scope="module")
def demo_meters():
    """The demo readings (40 buildings, 90 days from 1 January 2024, UTC) as arrays."""
    readings = building_meters.generate("demo")
    labels = building_meters.generate_labels("demo")
    ids = list(readings["building_id"].unique())
    shape = (len(ids), -1)
    return {
        "ids": ids,
        "water": readings["water_l"].to_numpy().reshape(shape),
        "electricity": readings["electricity_kwh"].to_numpy().reshape(shape),
        "occupied": readings["occupied"].to_numpy().reshape(shape),
        "start": readings["time_start"].iloc[0],
        "labels": labels,
    }


@pytest.mark.parametrize("nights", [1, 2])
def test_every_injected_leak_is_found_with_its_litres(demo_meters, nights):
    water, occupied, ids = demo_meters["water"], demo_meters["occupied"], demo_meters["ids"]
    step = pd.Timedelta(minutes=15)
    # Winter, UTC+1: the local 02:00-04:00 is 01:00-03:00 of the UTC series (steps 4..11).
    mnf = minimum_night_flow(water, night=(1, 3), backend="numba")
    found = detect_leaks(mnf, threshold=20.0, nights=nights, backend="numba")
    runs = {(ids[m], s): (k, litres) for m, s, k, litres in
            zip(found.run_meter, found.run_start, found.run_nights, found.run_litres)}
    expected = set()
    leaks = demo_meters["labels"].query("anomaly == 'leak'")
    assert len(leaks) >= 10  # 14 in the demo build of seed 0
    for leak in leaks.itertuples():
        first = (leak.start - demo_meters["start"]) // step
        end = (leak.end - demo_meters["start"]) // step
        # The nights whose whole window lies inside the leak.
        covered = [d for d in range(water.shape[1] // 96) if first <= d * 96 + 4 and d * 96 + 12 <= end]
        if len(covered) < nights:
            continue
        expected.add((leak.building_id, covered[0]))
        assert (leak.building_id, covered[0]) in runs, f"leak of {leak.building_id} at {leak.start} missed"
        length, litres = runs[(leak.building_id, covered[0])]
        assert length == len(covered)
        # Injected litres: the leak's flow (median of the unoccupied steps, where only the
        # leak runs) over its duration. Estimated from whole nights and the minimum flow:
        # tolerance 10 % plus one day of the leak's flow.
        i = ids.index(leak.building_id)
        flow = np.median(water[i, first:end][~occupied[i, first:end]])
        injected = flow * (end - first)
        assert abs(litres - injected) <= 0.1 * injected + flow * 96, (leak, litres, injected)
    # No false positive: every run found is an injected leak.
    assert set(runs) == expected


def test_every_weekend_anomaly_is_flagged_and_nothing_else(demo_meters):
    start = demo_meters["start"]
    assert start.day_of_week == 0  # 1 January 2024, a Monday
    result = after_hours_load(demo_meters["electricity"], demo_meters["occupied"], first_weekday=0,
                              backend="numba")
    truth = np.zeros(result.flagged.shape, dtype=bool)
    anomalies = demo_meters["labels"].query("anomaly != 'leak'")
    assert len(anomalies) >= 30  # 41 in the demo build of seed 0
    for row in anomalies.itertuples():
        truth[demo_meters["ids"].index(row.building_id), (row.start - start).days // 7] = True
    np.testing.assert_array_equal(result.flagged, truth)
    # Measured margin: lights or heating left on give a weekend ratio of 2.4 and more,
    # normal weeks 1.2 at most (weekends and nights), so the default factor 1.5 separates them.
    assert result.weekend_ratio[truth].min() > 2.0
    assert np.nanmax(np.where(truth, np.nan, result.weekend_ratio)) < 1.3
    assert np.nanmax(result.night_ratio) < 1.3


# --------------------------------------------------------------------------- xarray


def test_minimum_night_flow_xr_chunked_matches_in_memory():
    rng = np.random.default_rng(1)
    time = pd.date_range("2024-01-01", periods=5 * 96, freq="15min")
    flow = xr.DataArray(rng.gamma(1.0, 5.0, (6, time.size)), dims=("building", "time"),
                        coords={"time": time, "building": list("abcdef")})
    eager = minimum_night_flow_xr(flow, backend="numba")
    lazy = minimum_night_flow_xr(flow.chunk({"building": 2, "time": 96}), backend="numba")
    assert isinstance(lazy.data, da.Array)
    assert eager.dims == ("building", "night") and eager.sizes["night"] == 5
    np.testing.assert_array_equal(eager["night"].values, time[::96].values)
    np.testing.assert_array_equal(lazy.compute().values, eager.values)
    np.testing.assert_array_equal(eager.values, minimum_night_flow(flow.values, backend="numpy"))


def test_after_hours_load_xr_chunked_matches_in_memory():
    rng = np.random.default_rng(2)
    time = pd.date_range("2024-01-03", periods=16 * 96, freq="15min")  # a Wednesday
    load = xr.DataArray(rng.gamma(2.0, 1.0, (4, time.size)), dims=("building", "time"),
                        coords={"time": time})
    hour = time.hour.to_numpy()
    occupied = xr.DataArray((hour >= 8) & (hour < 18) & (time.day_of_week.to_numpy() < 5),
                            dims="time", coords={"time": time})
    eager = after_hours_load_xr(load, occupied, backend="numba")
    lazy = after_hours_load_xr(load.chunk({"building": 1}), occupied, backend="numba")
    assert all(isinstance(v.data, da.Array) for v in lazy.data_vars.values())
    ref = after_hours_load(load.values, occupied.values, first_weekday=2, backend="numpy")
    computed = lazy.compute()
    for name in ref._fields:
        np.testing.assert_allclose(computed[name].values, getattr(ref, name), rtol=1e-9, equal_nan=True)
        np.testing.assert_array_equal(computed[name].values, eager[name].values)
    # Weeks: Wed 3 - Sun 7 January, then 8-14, then 15-18: coordinate = first step of each.
    assert pd.DatetimeIndex(eager["week"].values).strftime("%d").tolist() == ["03", "08", "15"]


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: minimum_night_flow([1.0, -2.0, 3.0], 3, (0, 8)), r"flow: 1 negative value"),
        (lambda: minimum_night_flow([], 96), "flow: is empty"),
        (lambda: minimum_night_flow([np.nan] * 96), "flow: every value is NaN"),
        (lambda: minimum_night_flow([1.0, np.inf], 2, (0, 12)), "flow: has infinite values"),
        (lambda: minimum_night_flow(3.0), "flow: expected an array with a time axis"),
        (lambda: minimum_night_flow(np.ones(96), 0), "steps_per_day=0"),
        (lambda: minimum_night_flow(np.ones(96), 96, (2.1, 4)), r"night=\(2.1, 4\).*step boundary"),
        (lambda: minimum_night_flow(np.ones(96), 96, (4, 2)), r"night=\(4, 2\)"),
        (lambda: minimum_night_flow(np.ones(96), 96, 3), "night=3"),
        (lambda: detect_leaks([[1.0, -1.0]], 5.0), "night_flow: 1 negative value"),
        (lambda: detect_leaks([[np.nan, np.nan]], 5.0), "night_flow: every value is NaN"),
        (lambda: detect_leaks([[1.0, 2.0]], [1.0, 2.0]), r"threshold: has shape \(2,\)"),
        (lambda: detect_leaks([[1.0, 2.0]], -1.0), "threshold: must be finite and >= 0"),
        (lambda: detect_leaks([[1.0, 2.0]], np.nan), "threshold: must be finite"),
        (lambda: detect_leaks([[1.0, 2.0]], 1.0, nights=0), "nights=0"),
        (lambda: after_hours_load(np.ones((2, 8)), np.zeros((3, 8), bool), 4), r"load \(2, 8\), occupied \(3, 8\)"),
        (lambda: after_hours_load(np.ones((2, 8)), np.zeros(7, bool), 4), "occupied"),
        (lambda: after_hours_load(np.ones(8), [0, 1, 2, 0, 0, 0, 0, 0], 4), "occupied: expected booleans"),
        (lambda: after_hours_load(-np.ones(8), np.zeros(8, bool), 4), "load: 8 negative value"),
        (lambda: after_hours_load(np.full(8, np.nan), np.zeros(8, bool), 4), "load: every value is NaN"),
        (lambda: after_hours_load(np.ones(8), np.zeros(8, bool), 4, first_weekday=7), "first_weekday=7"),
        (lambda: after_hours_load(np.ones(8), np.zeros(8, bool), 4, percentile=101), "percentile=101"),
        (lambda: after_hours_load(np.ones(8), np.zeros(8, bool), 4, factor=0), "factor=0"),
        (lambda: minimum_night_flow_xr(np.ones(96)), "flow: expected an xarray.DataArray"),
    ],
)
def test_bad_input_names_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_cupy_without_gpu_says_how_to_install(monkeypatch):
    monkeypatch.setattr(_xp, "_cupy_or_reason", lambda: (None, "CuPy is not installed"))
    with pytest.raises(GPUUnavailableError, match=r"occidata\[gpu\]"):
        minimum_night_flow(np.ones(96), backend="cupy")


@pytest.mark.gpu
def test_cupy_matches_numpy():
    cupy = pytest.importorskip("cupy")
    if not _xp.gpu_usable():
        pytest.skip("no usable GPU")
    rng = np.random.default_rng(3)
    flow = rng.gamma(0.5, 10.0, (5, 20 * 96 + 7))
    flow[rng.random(flow.shape) < 0.1] = np.nan
    mnf = minimum_night_flow(flow, backend="numpy")
    mnf_gpu = minimum_night_flow(cupy.asarray(flow), backend="cupy")
    assert isinstance(mnf_gpu, cupy.ndarray)
    assert_same(mnf, cupy.asnumpy(mnf_gpu), "cupy")
    leaks = detect_leaks(mnf, 8.0, backend="numpy")
    leaks_gpu = detect_leaks(cupy.asarray(mnf), 8.0, backend="cupy")
    assert_same(leaks, type(leaks)(*(cupy.asnumpy(x) for x in leaks_gpu)), "cupy")
    occupied = rng.random(flow.shape) < 0.3
    ref = after_hours_load(flow, occupied, first_weekday=3, backend="numpy")
    got = after_hours_load(cupy.asarray(flow), cupy.asarray(occupied), first_weekday=3, backend="cupy")
    assert_same(ref, type(ref)(*(cupy.asnumpy(x) for x in got)), "cupy")
