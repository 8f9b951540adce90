"""occidata.compute.air_limits: daily means, MDA8 and EU limit exceedances."""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from occidata.compute._xp import TOLERANCE, GPUUnavailableError, gpu_usable
from occidata.compute.air_limits import (
    POLLUTANTS,
    daily_max,
    daily_max_xr,
    daily_mean,
    daily_mean_xr,
    exceedances,
    limit_values,
    mda8,
    mda8_xr,
)

BACKENDS = ["numpy", "numba"]
DIRECTIVES = ["2008/50/EC", "2024/2881"]


def _hourly(rows, days, nan_share=0.1, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.lognormal(4.0, 0.5, (rows, days * 24))
    x[rng.random(x.shape) < nan_share] = np.nan
    return x


def _close(actual, expected, backend):
    rtol = max(TOLERANCE[backend], 1e-12)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=0)
    assert np.array_equal(np.isnan(actual), np.isnan(expected))


# --------------------------------------------------------------------------- daily mean / max


@pytest.mark.parametrize("backend", BACKENDS)
def test_daily_mean_coverage_17_vs_18_hours(backend):
    # hours 0..17 hold 1, 2, ..., 18, the rest missing: 18 valid hours -> valid,
    # mean = (1 + ... + 18) / 18 = 171 / 18 = 9.5; max = 18
    day = np.full(24, np.nan)
    day[:18] = np.arange(1.0, 19.0)
    assert daily_mean(day, backend=backend)[0] == 9.5
    assert daily_max(day, backend=backend)[0] == 18.0
    # one more hour missing: 17 valid < ceil(0.75 * 24) = 18 -> NaN
    day[17] = np.nan
    assert np.isnan(daily_mean(day, backend=backend)[0])
    assert np.isnan(daily_max(day, backend=backend)[0])
    # a looser rule: min_coverage 0.5 -> 12 hours; mean of 1..17 = 153 / 17 = 9
    assert daily_mean(day, min_coverage=0.5, backend=backend)[0] == 9.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_daily_shapes(backend):
    x = _hourly(3, 5).reshape(3, 1, 120)
    assert daily_mean(x, backend=backend).shape == (3, 1, 5)
    assert daily_max(x, backend=backend).shape == (3, 1, 5)
    # day 2 of series 0 computed by hand from its 24 hours
    hours = x[0, 0, 48:72]
    expected = np.nanmean(hours) if (~np.isnan(hours)).sum() >= 18 else np.nan
    assert daily_mean(x, backend=backend)[0, 0, 2] == pytest.approx(expected, rel=1e-12, nan_ok=True)


@settings(max_examples=40, deadline=None)
@given(
    rows=st.integers(min_value=1, max_value=4),
    days=st.integers(min_value=1, max_value=12),
    nan_share=st.sampled_from([0.0, 0.1, 0.25, 0.5]),
    coverage=st.sampled_from([0.0, 0.5, 0.75, 1.0]),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_daily_numba_equals_numpy(rows, days, nan_share, coverage, seed):
    x = _hourly(rows, days, nan_share, seed)
    x[0, 0] = 5.0
    for func in (daily_mean, daily_max):
        _close(func(x, coverage, backend="numba"), func(x, coverage, backend="numpy"), "numba")
    mean = daily_mean(x, coverage, backend="numba")
    peak = daily_max(x, coverage, backend="numba")
    ok = ~np.isnan(mean)
    assert np.array_equal(ok, ~np.isnan(peak))
    assert (mean[ok] <= peak[ok] * (1 + 1e-12)).all()


# --------------------------------------------------------------------------- MDA8


@pytest.mark.parametrize("backend", BACKENDS)
def test_mda8_window_assignment_by_hand(backend):
    # Day 0: hours 00-16 at 20, 17-23 at 300. Day 1: hour 00 at 300, 01-23 at 10.
    # Day 0's best window ends at 24:00 (16:00-24:00): (20 + 7 * 300) / 8 = 2120 / 8 = 265.
    # Day 1's first window (17:00 day 0 - 01:00 day 1) holds eight hours at 300 -> 300:
    # the previous evening belongs to day 1's MDA8.
    x = np.concatenate([np.full(17, 20.0), np.full(8, 300.0), np.full(23, 10.0)])
    np.testing.assert_array_equal(mda8(x, backend=backend), [265.0, 300.0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_mda8_eight_hour_validity_6_of_8(backend):
    # Day 0 at 10. Day 1 at 10 except hours 08-15 at 100.
    x = np.full(48, 10.0)
    x[24 + 8 : 24 + 16] = 100.0
    assert mda8(x, backend=backend)[1] == 100.0
    # Hours 08 and 09 missing: the window 08-15 keeps 6 valid hours -> mean 100.
    x[24 + 8 : 24 + 10] = np.nan
    assert mda8(x, backend=backend)[1] == 100.0
    # Hour 10 missing too: 08-15 has 5 -> invalid; best is 09-16 with hours 11-15 at 100
    # and 16 at 10: (5 * 100 + 10) / 6 = 510 / 6 = 85. Six windows (ending 10:00 .. 15:00
    # hold all three gaps) are invalid, 18 remain: the day is still valid.
    x[24 + 10] = np.nan
    assert mda8(x, backend=backend)[1] == 85.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_mda8_day_validity_18_of_24_and_first_day(backend):
    # Day 0 has no previous evening: windows ending 01:00..05:00 hold fewer than 6 hours,
    # so 19 windows are valid (>= 18) and a full day 0 gives its MDA8.
    x = np.full(24, 50.0)
    assert mda8(x, backend=backend)[0] == 50.0
    # Hour 00 missing: the window ending 06:00 has 5 hours -> 18 valid -> still valid.
    x[0] = np.nan
    assert mda8(x, backend=backend)[0] == 50.0
    # Hours 00 and 01 missing: windows ending 06:00 and 07:00 drop too -> 17 -> NaN.
    x[1] = np.nan
    assert np.isnan(mda8(x, backend=backend)[0])


@settings(max_examples=40, deadline=None)
@given(
    rows=st.integers(min_value=1, max_value=3),
    days=st.integers(min_value=1, max_value=10),
    nan_share=st.sampled_from([0.0, 0.1, 0.2, 0.4]),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_mda8_numba_equals_numpy_and_pandas(rows, days, nan_share, seed):
    x = _hourly(rows, days, nan_share, seed)
    x[0, 0] = 5.0
    ours = mda8(x, backend="numba")
    _close(ours, mda8(x, backend="numpy"), "numba")
    # An independent construction: pandas' trailing 8-hour mean with 6 valid hours.
    for r in range(rows):
        means = pd.Series(x[r]).rolling(8, min_periods=6).mean().to_numpy().reshape(days, 24)
        count = (~np.isnan(means)).sum(axis=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN days
            best = np.nanmax(means, axis=1)
        expected = np.where(count >= 18, best, np.nan)
        _close(ours[r], expected, "numba")


# --------------------------------------------------------------------------- limit data


EXPECTED = {
    "2008/50/EC": {
        ("PM10", "day"): (50, 35),
        ("PM10", "year"): (40, 0),
        ("PM2.5", "year"): (25, 0),
        ("NO2", "hour"): (200, 18),
        ("NO2", "year"): (40, 0),
        ("SO2", "hour"): (350, 24),
        ("SO2", "day"): (125, 3),
        ("O3", "mda8"): (120, 25),
    },
    "2024/2881": {
        ("PM2.5", "year"): (10, 0),
        ("PM2.5", "day"): (25, 18),
        ("PM10", "year"): (20, 0),
        ("PM10", "day"): (45, 18),
        ("NO2", "year"): (20, 0),
        ("NO2", "day"): (50, 18),
        ("NO2", "hour"): (200, 3),
        ("SO2", "year"): (20, 0),
        ("SO2", "day"): (50, 18),
        ("SO2", "hour"): (350, 3),
        ("O3", "mda8"): (120, 18),
    },
}


@pytest.mark.parametrize("directive", DIRECTIVES)
def test_limit_values_data(directive):
    table = limit_values(directive)
    assert set(table) == set(POLLUTANTS)
    got = {(l.pollutant, l.averaging): (l.value, l.allowed) for rows in table.values() for l in rows}
    assert got == EXPECTED[directive]
    for rows in table.values():
        for limit in rows:
            assert limit.source.startswith(("Directive 2008/50/EC, Annex", "Directive (EU) 2024/2881, Annex"))
            assert directive in limit.source
            assert limit.averaged_over_years == (3 if limit.pollutant == "O3" else 1)
    # the caller cannot change the cached table
    table["PM10"] = ()
    assert limit_values(directive)["PM10"]


# --------------------------------------------------------------------------- exceedances

ALL_LIMITS = [
    (directive, pollutant, averaging, value, allowed)
    for directive, rows in EXPECTED.items()
    for (pollutant, averaging), (value, allowed) in rows.items()
]


def _series_with(averaging, level, periods, background=1.0, days=365):
    """A year of hourly values at `background` with `periods` hours/days at `level`."""
    x = np.full(days * 24, background)
    if averaging == "hour":
        x[: periods * 10 : 10] = level  # isolated hours
    elif averaging in ("day", "mda8"):
        x[: periods * 24] = level  # whole days
    else:
        x[:] = level
    return x


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("directive, pollutant, averaging, value, allowed", ALL_LIMITS)
def test_every_limit_at_and_just_above(backend, directive, pollutant, averaging, value, allowed):
    periods = 1 if averaging == "year" else allowed + 1
    # exactly at the limit: not an exceedance, however many times
    at = exceedances(_series_with(averaging, value, periods), pollutant, directive, backend)[averaging]
    assert at.limit.value == value and at.limit.allowed == allowed
    assert int(at.count) == 0 and not bool(at.breached)
    # 0.1 (the data's resolution) above, one period more than allowed: breached
    above = exceedances(_series_with(averaging, value + 0.1, periods), pollutant, directive, backend)
    assert int(above[averaging].count) == periods and bool(above[averaging].breached)
    # 0.1 above exactly `allowed` times: counted, not breached
    if allowed:
        ok = exceedances(_series_with(averaging, value + 0.1, allowed), pollutant, directive, backend)
        assert int(ok[averaging].count) == allowed and not bool(ok[averaging].breached)


@pytest.mark.parametrize("backend", BACKENDS)
def test_pm10_35_and_36_days(backend):
    # Two stations: 35 and 36 days with a daily mean of 60 µg/m³, the rest at 20.
    x = np.full((2, 365 * 24), 20.0)
    x[0, : 35 * 24] = 60.0
    x[1, : 36 * 24] = 60.0
    result = exceedances(x, "PM10", backend=backend)
    assert set(result) == {"day", "year"}
    np.testing.assert_array_equal(result["day"].count, [35, 36])
    np.testing.assert_array_equal(result["day"].breached, [False, True])
    assert result["day"].values.shape == (2, 365)
    # annual means (35 * 60 + 330 * 20) / 365 = 8700 / 365 = 23.836 and (36 * 60 + 329 * 20) / 365
    # = 23.945, compared (and given back) rounded to the data's one decimal
    np.testing.assert_array_equal(result["year"].values, [23.8, 23.9])
    np.testing.assert_array_equal(result["year"].breached, [False, False])
    # a day with only 17 valid hours above 50 does not count
    x[1, 35 * 24 : 35 * 24 + 7] = np.nan
    result = exceedances(x, "PM10", backend=backend)
    np.testing.assert_array_equal(result["day"].count, [35, 35])


@pytest.mark.parametrize("backend", BACKENDS)
def test_annual_coverage_90_percent(backend):
    # 2023: 8760 hours, a valid annual mean needs ceil(0.9 * 8760) = 7884 valid hours.
    x = np.full(8760, 41.0)
    x[7884:] = np.nan
    assert exceedances(x, "NO2", backend=backend)["year"].values == 41.0
    x[7883] = np.nan
    year = exceedances(x, "NO2", backend=backend)["year"]
    assert np.isnan(year.values) and int(year.count) == 0 and not bool(year.breached)
    # a leap year of 366 days needs ceil(0.9 * 8784) = 7906
    x = np.full(8784, 41.0)
    x[7906:] = np.nan
    assert exceedances(x, "NO2", backend=backend)["year"].values == 41.0
    x[7905] = np.nan
    assert np.isnan(exceedances(x, "NO2", backend=backend)["year"].values)
    # 90 days of input can never be a valid calendar year
    assert np.isnan(exceedances(np.full(90 * 24, 41.0), "NO2", backend=backend)["year"].values)


@pytest.mark.parametrize("backend", BACKENDS)
def test_ozone_and_missing_mda8_days(backend):
    x = _series_with("mda8", 130.0, 26)
    result = exceedances(x, "O3", backend=backend)
    assert set(result) == {"mda8"}
    assert int(result["mda8"].count) == 26 and bool(result["mda8"].breached)
    assert result["mda8"].limit.kind == "target value"
    # 2024/2881 allows 18 days
    assert bool(exceedances(_series_with("mda8", 130.0, 19), "O3", "2024/2881", backend)["mda8"].breached)
    # a high day without a valid MDA8 (8 hours missing) is not counted
    x[24 * 3 : 24 * 3 + 8] = np.nan
    assert int(exceedances(x, "O3", backend=backend)["mda8"].count) == 25


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**16), pollutant=st.sampled_from(POLLUTANTS))
def test_exceedances_numba_equals_numpy(seed, pollutant):
    x = _hourly(3, 40, 0.1, seed) * 2
    for directive in DIRECTIVES:
        a = exceedances(x, pollutant, directive, backend="numba")
        b = exceedances(x, pollutant, directive, backend="numpy")
        assert set(a) == set(b)
        for key in a:
            _close(a[key].values, b[key].values, "numba")
            np.testing.assert_array_equal(a[key].count, b[key].count)
            np.testing.assert_array_equal(a[key].breached, b[key].breached)


# --------------------------------------------------------------------------- xarray / dask


def test_xarray_wrappers_on_dask():
    x = _hourly(6, 10, 0.1, seed=3)
    x = np.stack([x, x * 0.5])  # (variable, station, time)
    da = xr.DataArray(
        x.transpose(1, 2, 0),
        dims=("station", "time", "variable"),
        coords={"time": pd.date_range("2024-01-01", periods=240, freq="h")},
    )
    lazy = da.chunk({"station": 2, "time": 48})
    for wrapper, func in [(daily_mean_xr, daily_mean), (daily_max_xr, daily_max), (mda8_xr, mda8)]:
        out = wrapper(lazy, backend="numba")
        assert out.chunks is not None and out.dims == da.dims  # lazy, same dims
        assert out.sizes["time"] == 10
        np.testing.assert_array_equal(out.time.values, pd.date_range("2024-01-01", periods=10).values)
        now = wrapper(da, backend="numba")
        np.testing.assert_array_equal(out.compute().values, now.values)
        expected = func(np.moveaxis(da.values, 1, -1), backend="numba")
        np.testing.assert_array_equal(now.values, np.moveaxis(expected, -1, 1))
    # xarray's own resample agrees where 18 hours are valid
    theirs = da.resample(time="1D").mean().where(da.resample(time="1D").count() >= 18)
    np.testing.assert_allclose(daily_mean_xr(da).values, theirs.values, rtol=1e-12)


def test_xarray_bad_input():
    da = xr.DataArray(np.ones((2, 30)), dims=("station", "time"))
    with pytest.raises(ValueError, match="hourly"):
        daily_mean_xr(da)
    with pytest.raises(ValueError, match="dim"):
        mda8_xr(xr.DataArray(np.ones((2, 48)), dims=("station", "t")))


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("func", [daily_mean, daily_max, mda8])
@pytest.mark.parametrize(
    "hourly",
    [[], np.full(24, np.nan), np.ones(23), np.ones((2, 30)), -np.ones(24), 5.0, ["x"] * 24],
    ids=["empty", "all-nan", "23-hours", "30-hours", "negative", "scalar", "text"],
)
def test_bad_hourly(func, hourly):
    with pytest.raises(ValueError, match="hourly"):
        func(hourly)


@pytest.mark.parametrize("coverage", [-0.1, 1.5, "high", None])
def test_bad_min_coverage(coverage):
    with pytest.raises(ValueError, match="min_coverage"):
        daily_mean(np.ones(24), coverage)


def test_unknown_pollutant_and_directive():
    accepted = "PM10, PM2.5, NO2, O3, SO2"
    with pytest.raises(ValueError, match=rf"pollutant : polluant inconnu 'CO' ; polluants acceptés : {accepted}"):
        exceedances(np.ones(24), "CO")
    with pytest.raises(ValueError, match=r"directive=.*'2008/50/EC'.*'2024/2881'"):
        exceedances(np.ones(24), "PM10", directive="2004/107/EC")
    with pytest.raises(ValueError, match="directive"):
        limit_values("2030")


def test_exceedances_bad_hourly():
    with pytest.raises(ValueError, match="hourly"):
        exceedances(np.ones(367 * 24), "PM10")
    with pytest.raises(ValueError, match="hourly"):
        exceedances(-np.ones(24), "PM10")
    with pytest.raises(ValueError, match="backend"):
        exceedances(np.ones(24), "PM10", backend="tpu")


# --------------------------------------------------------------------------- GPU


@pytest.mark.skipif(gpu_usable(), reason="a GPU is usable here")
def test_cupy_without_gpu_gives_install_hint():
    with pytest.raises(GPUUnavailableError, match=r"occidata\[gpu\]"):
        daily_mean(np.ones(24), backend="cupy")


@pytest.mark.gpu
def test_cupy_equals_numpy():
    cupy = pytest.importorskip("cupy")
    if not gpu_usable():
        pytest.skip("no usable GPU")
    x = _hourly(4, 366, 0.1, seed=11) * 2
    for func in (daily_mean, daily_max, mda8):
        got = func(cupy.asarray(x), backend="cupy")
        assert isinstance(got, cupy.ndarray)
        _close(got.get(), func(x, backend="numpy"), "cupy")
    for pollutant in POLLUTANTS:
        for directive in DIRECTIVES:
            a = exceedances(cupy.asarray(x), pollutant, directive, backend="cupy")
            b = exceedances(x, pollutant, directive, backend="numpy")
            for key in b:
                _close(cupy.asnumpy(a[key].values), b[key].values, "cupy")
                np.testing.assert_array_equal(cupy.asnumpy(a[key].count), b[key].count)
