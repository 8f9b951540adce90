"""Legal limits compared on the data's resolution (occidata.compute.resolution), on every backend.

Data are built as the providers publish them, one decimal (integer tenths / 10), with
statistics that land exactly on every limit and band edge, a tenth off it and on the halves
between. Each backend must give the same counts and classes as NumPy, and both must agree
with an oracle computed in integer tenths (exact arithmetic, half away from zero). The four
regressions a tester reported are plain tests at the top.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from occidata.compute import (
    atmo_index,
    atmo_index_daily,
    atmo_index_xr,
    department_thresholds,
    eaqi,
    eaqi_xr,
    exceedances,
    heatwave_alerts,
    heatwave_alerts_xr,
    heatwave_thresholds,
    label,
)
from occidata.compute._xp import gpu_usable
from occidata.compute.air_indices import POLLUTANTS, bands, index_scheme
from occidata.compute.air_limits import limit_values
from occidata.compute.resolution import resolution_scale, to_resolution, to_resolution_scalar

CUPY = pytest.param("cupy", marks=[pytest.mark.gpu,
                                   pytest.mark.skipif(not gpu_usable(), reason="no usable GPU")])
BACKENDS = ["numpy", "numba", CUPY]
OTHER_BACKENDS = ["numba", CUPY]  # compared with NumPy, the reference


def _on(backend, x):
    """``x`` on the backend's device: CuPy arrays for "cupy" (so CuPy rounds), else as is."""
    if backend == "cupy":
        import cupy

        return cupy.asarray(x)
    return x


def _host(x):
    return x.get() if type(x).__module__.split(".")[0] == "cupy" else np.asarray(x)


def _one_decimal_day(rng, total_tenths, hours=24, evenness=3.0):
    """``hours`` one-decimal values whose sum is exactly ``total_tenths`` / 10."""
    return rng.multinomial(total_tenths, rng.dirichlet(np.full(hours, evenness)))


def _half_up(numerator, denominator):
    """round(numerator / denominator), half away from zero, in integers (both >= 0)."""
    return (2 * numerator + denominator) // (2 * denominator)


# --------------------------------------------------------------------------- the four regressions


def _pm10_at_exactly_50(seed=19, days=60):
    """Sixty days of one-decimal hourly PM10, every daily mean exactly 50.0 µg/m³."""
    rng = np.random.default_rng(seed)
    return np.concatenate([_one_decimal_day(rng, 24 * 500) for _ in range(days)]) / 10.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_regression_pm10_daily_means_of_exactly_50_are_no_exceedance(backend):
    # « > 50 »: a daily mean of 50.0 is not an exceedance. Before the rule, Numba summed
    # some of these days to 50.00000000000001 and counted 14 of them, NumPy 1.
    hourly = _pm10_at_exactly_50()
    day = exceedances(_on(backend, hourly), "PM10", backend=backend)["day"]
    assert int(_host(day.count)) == 0 and not bool(_host(day.breached))
    assert (_host(day.values) == 50.0).all()


def _ozone_mda8_at_exactly_120(seed=2, days=30):
    """One-decimal hourly O3 whose MDA8 is exactly 120.0 every day (hours 8-15 high, the rest low)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(days):
        day = rng.integers(200, 600, 24)
        while True:
            high = _one_decimal_day(rng, 8 * 1200, hours=8, evenness=200.0)
            if high.min() > 600:  # every shifted window swaps a high hour for a lower one
                break
        day[8:16] = high
        out.append(day)
    return np.concatenate(out) / 10.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_regression_ozone_mda8_of_exactly_120_is_no_exceedance(backend):
    # Before the rule: NumPy counted 3 of these days above 120, Numba 7.
    hourly = _ozone_mda8_at_exactly_120()
    mda8 = exceedances(_on(backend, hourly), "O3", backend=backend)["mda8"]
    assert (_host(mda8.values) == 120.0).all()
    assert int(_host(mda8.count)) == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_regression_atmo_pm10_day_at_50_is_degrade_not_mauvais(backend):
    # ATMO PM10 classes end at 20/40/50/100/150, inclusive: 50.0 is class 3 "Dégradé".
    r = atmo_index({"PM10": _on(backend, _pm10_at_exactly_50())}, backend=backend)
    assert set(label(_host(r.index), scheme="atmo")) == {"Dégradé"}


@pytest.mark.parametrize("backend", BACKENDS)
def test_regression_heatwave_mean_of_21_computed_as_20_999_reaches_the_threshold(backend):
    # (19.2 + 20.9 + 22.9) / 3 and (33.3 + 34.9 + 39.8) / 3 are 21.0 and 36.0 on paper but
    # 20.999999999999996 and 35.99999999999999 in floating point: « atteignent » (>=), an alert.
    tmin, tmax = np.array([19.2, 20.9, 22.9]), np.array([33.3, 34.9, 39.8])
    assert (tmin.sum() / 3, tmax.sum() / 3) == (20.999999999999996, 35.99999999999999)
    r = heatwave_alerts(_on(backend, tmin), _on(backend, tmax), 21.0, 36.0, backend=backend)
    assert _host(r.alert).tolist() == [False, False, True]
    assert (float(_host(r.ibmn)[2]), float(_host(r.ibmx)[2])) == (21.0, 36.0)
    assert float(_host(r.alert_days)) == 1.0


# --------------------------------------------------------------------------- the rounding itself


@numba.njit
def _scalar_rule(values, scale):
    out = np.empty_like(values)
    for i in range(values.size):
        out[i] = to_resolution_scalar(values[i], scale)
    return out


def test_rounding_is_half_away_from_zero_and_ignores_float_noise():
    values = np.array([
        49.95, (499.0 + 500.0) / 20,  # 49.95 however it is computed -> 50.0
        sum([49.9, 50.0]) / 2, 50.04, 50.05, 50.00000000000001, 49.99999999999999,
        20.999999999999996, 0.15, 0.25, -0.05, -0.04, np.nan, np.inf,
    ])
    expected = [50.0, 50.0, 50.0, 50.0, 50.1, 50.0, 50.0, 21.0, 0.2, 0.3, -0.1, 0.0, np.nan, np.inf]
    got = to_resolution(values)
    np.testing.assert_array_equal(got, expected)
    assert not np.signbit(got[11])  # -0.04 rounds to 0.0, not -0.0
    # Each result is the double nearest to its decimal: it compares exactly with a limit.
    assert got[4] == float("50.1") and got[8] == float("0.2")
    np.testing.assert_array_equal(to_resolution([50.5, 49.5, 50.4], decimals=0), [51.0, 50.0, 50.0])
    np.testing.assert_array_equal(to_resolution([50.045, 50.0449], decimals=2), [50.05, 50.04])


@settings(max_examples=200, deadline=None)
@given(
    tenths=st.lists(st.integers(-100_000, 100_000), min_size=1, max_size=50),
    half=st.booleans(),
    ulps=st.integers(-8, 8),
    decimals=st.integers(0, 3),
)
def test_numba_kernels_round_like_the_arrays_bit_for_bit(tenths, half, ulps, decimals):
    # Values on the grid or exactly on a half, each moved by a few ulps as a sum would move it.
    scale = resolution_scale(decimals)
    exact = (np.array(tenths, dtype=np.float64) + (0.5 if half else 0.0)) / scale
    noisy = exact.copy()
    for _ in range(abs(ulps)):
        noisy = np.nextafter(noisy, np.inf if ulps > 0 else -np.inf)
    on_arrays = to_resolution(noisy, decimals)
    np.testing.assert_array_equal(_scalar_rule(noisy, scale), on_arrays)
    np.testing.assert_array_equal(on_arrays, to_resolution(exact, decimals))
    # Half away from zero: on a half, the magnitude goes up.
    k = np.array(tenths, dtype=np.float64)
    expected = np.where(k >= 0, k + (1 if half else 0), k) / scale if half else k / scale
    np.testing.assert_array_equal(on_arrays, expected + 0.0)


@pytest.mark.parametrize("decimals", [-1, 4, 1.0, True, "1", None])
def test_bad_decimals_is_named_by_every_function(decimals):
    hourly = np.full(24, 10.0)
    calls = [
        lambda: to_resolution([1.0], decimals),
        lambda: exceedances(hourly, "PM10", decimals=decimals),
        lambda: eaqi({"NO2": [10.0]}, decimals=decimals),
        lambda: atmo_index_daily({"NO2": [10.0]}, decimals=decimals),
        lambda: atmo_index({"NO2": hourly}, decimals=decimals),
        lambda: bands([[1.0]], [[1.0, 2.0]], decimals=decimals),
        lambda: heatwave_alerts([22.0] * 3, [37.0] * 3, 21.0, 36.0, decimals=decimals),
    ]
    for call in calls:
        with pytest.raises(ValueError, match=r"^decimals=.*nombre de décimales"):
            call()


def test_decimals_is_the_resolution_of_the_comparison():
    # One day at 50.4 µg/m³: an exceedance at one decimal, not once rounded to whole µg/m³.
    day = np.full(24, 50.4)
    assert int(exceedances(day, "PM10", backend="numpy")["day"].count) == 1
    assert int(exceedances(day, "PM10", backend="numpy", decimals=0)["day"].count) == 0
    assert atmo_index({"PM10": day}, backend="numba", decimals=0).index.tolist() == [3]
    assert atmo_index({"PM10": day}, backend="numba").index.tolist() == [4]
    # Two decimals: 50.04 stays above 50.
    assert eaqi({"NO2": [10.04]}, backend="numba", decimals=2).index.tolist() == [2]
    assert eaqi({"NO2": [10.04]}, backend="numba").index.tolist() == [1]
    r = heatwave_alerts([20.96] * 3, [36.0] * 3, 21.0, 36.0, backend="numba", decimals=2)
    assert not r.alert.any()


# --------------------------------------------------------------------------- EU limits: daily means

_DAY_LIMITS = [
    (directive, pollutant, limit.value)
    for directive in ("2008/50/EC", "2024/2881")
    for pollutant, limits in limit_values(directive).items()
    for limit in limits
    if limit.averaging == "day"
]
# Day sums, in tenths, around 24 x the limit: a tenth below, on the half below (49.95 -> 50.0),
# just below and above (mean 50 -/+ 1/240), exactly on it, on the half above (50.05 -> 50.1).
_DAY_OFFSETS = (-24, -12, -1, 0, 1, 12, 24)


def _daily_oracle(tenths, valid, limit_tenths):
    """Rounded daily means (tenths, -1 where invalid) and exceedance counts, in integers."""
    days = tenths.reshape(tenths.shape[:-1] + (-1, 24))
    ok = valid.reshape(days.shape)
    count = ok.sum(axis=-1)
    total = np.where(ok, days, 0).sum(axis=-1)
    rounded = np.where(count >= 18, _half_up(total, np.maximum(count, 1)), -1)
    return rounded, (rounded > limit_tenths).sum(axis=-1)


@pytest.mark.parametrize("backend", OTHER_BACKENDS)
@settings(max_examples=30, deadline=None)
@given(
    case=st.sampled_from(_DAY_LIMITS),
    seed=st.integers(0, 2**16),
    rows=st.integers(1, 3),
    days=st.integers(1, 20),
    nan_share=st.sampled_from([0.0, 0.05, 0.3]),
)
def test_daily_limits_same_counts_on_every_backend_and_the_exact_ones(backend, case, seed, rows, days,
                                                                       nan_share):
    directive, pollutant, value = case
    limit_tenths = round(value * 10)
    rng = np.random.default_rng(seed)
    sums = 24 * limit_tenths + rng.choice(_DAY_OFFSETS, (rows, days))
    tenths = np.stack([np.concatenate([_one_decimal_day(rng, s) for s in row]) for row in sums])
    valid = rng.random(tenths.shape) >= nan_share
    hourly = np.where(valid, tenths / 10.0, np.nan)

    reference = exceedances(hourly, pollutant, directive, backend="numpy")
    other = exceedances(_on(backend, hourly), pollutant, directive, backend=backend)
    for key, ref in reference.items():
        np.testing.assert_array_equal(_host(other[key].values), ref.values, err_msg=key)
        np.testing.assert_array_equal(_host(other[key].count), ref.count, err_msg=key)
        np.testing.assert_array_equal(_host(other[key].breached), ref.breached, err_msg=key)
    rounded, counts = _daily_oracle(tenths, valid, limit_tenths)
    np.testing.assert_array_equal(reference["day"].count, counts)
    np.testing.assert_array_equal(np.nan_to_num(reference["day"].values * 10, nan=-1).round(), rounded)


# --------------------------------------------------------------------------- EU limits: ozone MDA8


def _mda8_oracle(tenths, valid):
    """MDA8 in tenths, rounded half away from zero from exact sums (-1 where not valid)."""
    days = tenths.size // 24
    out = np.full(days, -1)
    for d in range(days):
        means = []
        for j in range(d * 24, d * 24 + 24):
            lo = max(0, j - 7)
            ok = valid[lo : j + 1]
            if ok.sum() >= 6:
                means.append(_half_up(int(tenths[lo : j + 1][ok].sum()), int(ok.sum())))
        if len(means) >= 18:
            out[d] = max(means)  # rounding is monotone: the max of the rounded means
    return out


@pytest.mark.parametrize("backend", OTHER_BACKENDS)
@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    days=st.integers(1, 15),
    offsets=st.lists(st.sampled_from([-8, -4, -1, 0, 1, 4, 8]), min_size=15, max_size=15),
    nan_share=st.sampled_from([0.0, 0.05, 0.2]),
    directive=st.sampled_from(["2008/50/EC", "2024/2881"]),
)
def test_ozone_mda8_same_counts_on_every_backend_and_the_exact_ones(backend, seed, days, offsets,
                                                                     nan_share, directive):
    # Hours 8-15 of each day sum to 8 x 120 plus an offset in tenths (a half is 4 tenths),
    # the other hours are lower: the day's MDA8 sits on, around or half a tenth off 120.
    rng = np.random.default_rng(seed)
    parts = []
    for d in range(days):
        day = rng.integers(0, 600, 24)
        day[8:16] = _one_decimal_day(rng, 8 * 1200 + offsets[d], hours=8, evenness=200.0)
        parts.append(day)
    tenths = np.concatenate(parts)
    valid = rng.random(tenths.shape) >= nan_share
    hourly = np.where(valid, tenths / 10.0, np.nan)
    if not valid.any():
        return
    expected = _mda8_oracle(tenths, valid)
    for name in ("numpy", backend):
        r = exceedances(_on(name, hourly), "O3", directive, backend=name)["mda8"]
        np.testing.assert_array_equal(np.nan_to_num(_host(r.values) * 10, nan=-1).round(), expected,
                                      err_msg=name)
        assert int(_host(r.count)) == int((expected > 1200).sum()), name


# --------------------------------------------------------------------------- ATMO and EAQI band edges


def _band(rounded_tenths, edges_tenths):
    """Class of each rounded value (tenths; -1 = missing -> 0): 1 + edges strictly below."""
    band = 1 + (np.asarray(edges_tenths)[None, :] < rounded_tenths[:, None]).sum(axis=1)
    return np.where(rounded_tenths < 0, 0, band)


def _atmo_days_at_every_edge(pollutant, rng):
    """Hourly one-decimal days whose ATMO aggregate is on, around or half a tenth off each edge.

    Returns the hours (flat) and the expected aggregate of each day in tenths.
    """
    scheme = index_scheme("atmo")
    edges = [round(e * 10) for e in scheme["limits"][pollutant]]
    days, expected = [], []
    if scheme["statistic"][pollutant] == "mean":
        for e in edges:
            for offset in _DAY_OFFSETS:
                total = 24 * e + offset
                days.append(_one_decimal_day(rng, total))
                expected.append(_half_up(total, 24))
    else:  # the daily maximum of hourly values: on the grid already, no arithmetic
        for e in edges:
            for top in (e - 1, e, e + 1):
                day = rng.integers(0, top, 24)
                day[rng.integers(24)] = top
                days.append(day)
                expected.append(top)
    return np.concatenate(days), np.array(expected), edges


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("pollutant", POLLUTANTS)
def test_atmo_every_band_edge_of_every_pollutant_from_hourly_data(pollutant, backend):
    tenths, aggregate, edges = _atmo_days_at_every_edge(pollutant, np.random.default_rng(7))
    hourly = tenths / 10.0
    expected = _band(aggregate, edges)
    assert set(expected) >= {1, 2, 3, 4, 5, 6}  # every class is reached
    r = atmo_index({pollutant: _on(backend, hourly)}, backend=backend)
    np.testing.assert_array_equal(_host(r.index), expected)
    np.testing.assert_array_equal(_host(r.sub_indices[pollutant]), expected)


@pytest.mark.parametrize("backend", OTHER_BACKENDS)
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), nan_share=st.sampled_from([0.0, 0.1, 0.3]))
def test_atmo_all_pollutants_same_classes_on_every_backend(backend, seed, nan_share):
    # The five pollutants at once, days shuffled per pollutant: the worst class and the
    # pollutant named must agree too.
    rng = np.random.default_rng(seed)
    hourly = {}
    for p in POLLUTANTS:
        tenths, _, _ = _atmo_days_at_every_edge(p, rng)
        days = tenths.reshape(-1, 24)[rng.permutation(tenths.size // 24)[:15]]
        hourly[p] = np.where(rng.random(days.shape) < nan_share, np.nan, days / 10.0).reshape(1, -1)
    reference = atmo_index(hourly, backend="numpy")
    r = atmo_index({p: _on(backend, a) for p, a in hourly.items()}, backend=backend)
    np.testing.assert_array_equal(_host(r.index), reference.index)
    np.testing.assert_array_equal(_host(r.worst), reference.worst)
    for p in POLLUTANTS:
        np.testing.assert_array_equal(_host(r.sub_indices[p]), reference.sub_indices[p], err_msg=p)


def _noisy(value, ulps):
    out = np.float64(value)
    for _ in range(abs(ulps)):
        out = np.nextafter(out, np.inf if ulps > 0 else -np.inf)
    return float(out)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("scheme", ["eaqi", "atmo"])
def test_every_band_edge_with_float_noise_on_the_daily_values(scheme, backend):
    # Values a few ulps off each edge, off the half below and above it, as sums leave them.
    for pollutant in POLLUTANTS:
        edges = [round(e * 10) for e in index_scheme(scheme)["limits"][pollutant]]
        values, rounded = [], []
        for e in edges:
            for twentieths, tenths in ((2 * e - 1, e), (2 * e, e), (2 * e + 1, e + 1), (2 * e + 2, e + 1)):
                for ulps in (-3, 0, 3):
                    values.append(_noisy(twentieths / 20, ulps))
                    rounded.append(tenths)
        expected = _band(np.array(rounded), edges)
        func = eaqi if scheme == "eaqi" else atmo_index_daily
        r = func({pollutant: _on(backend, np.array(values))}, backend=backend)
        np.testing.assert_array_equal(_host(r.index), expected, err_msg=pollutant)


# --------------------------------------------------------------------------- heat-wave thresholds


def _department_series(rng, days):
    """One-decimal Tmin/Tmax per Occitanie department, within 0.3 °C of its thresholds."""
    table = heatwave_thresholds()
    codes = np.array([int(code) for code in table])
    thn, thx = department_thresholds(codes)
    tmin = (np.round(thn * 10) + rng.integers(-3, 4, (days, codes.size))).astype(np.int64)
    tmax = (np.round(thx * 10) + rng.integers(-3, 4, (days, codes.size))).astype(np.int64)
    return codes, thn, thx, tmin, tmax


def _heat_oracle(tmin, tmax, thn, thx, window):
    """Alerts from exact window sums in tenths, rounded half away from zero (temperatures > 0)."""
    days = tmin.shape[0]
    alert = np.zeros(tmin.shape, dtype=bool)
    for t in range(window - 1, days):
        n = _half_up(tmin[t - window + 1 : t + 1].sum(axis=0), window)
        x = _half_up(tmax[t - window + 1 : t + 1].sum(axis=0), window)
        alert[t] = (n >= np.round(thn * 10)) & (x >= np.round(thx * 10))
    return alert


@pytest.mark.parametrize("backend", BACKENDS)
def test_heatwave_every_department_threshold_reached_exactly(backend):
    codes, thn, thx, tmin, tmax = _department_series(np.random.default_rng(5), days=120)
    expected = _heat_oracle(tmin, tmax, thn, thx, 3)
    assert expected.any(axis=0).all() and (~expected[2:]).any(axis=0).all()  # both verdicts everywhere
    r = heatwave_alerts(_on(backend, tmin / 10.0), _on(backend, tmax / 10.0), _on(backend, thn),
                        _on(backend, thx), backend=backend)
    np.testing.assert_array_equal(_host(r.alert), expected)
    np.testing.assert_array_equal(_host(r.alert_days), expected.sum(axis=0))


@pytest.mark.parametrize("backend", OTHER_BACKENDS)
@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**16), days=st.integers(1, 40), window=st.integers(1, 5))
def test_heatwave_same_alerts_on_every_backend_and_the_exact_ones(backend, seed, days, window):
    if window > days:
        return
    codes, thn, thx, tmin, tmax = _department_series(np.random.default_rng(seed), days)
    expected = _heat_oracle(tmin, tmax, thn, thx, window)
    reference = heatwave_alerts(tmin / 10.0, tmax / 10.0, thn, thx, window=window, backend="numpy")
    np.testing.assert_array_equal(reference.alert, expected)
    r = heatwave_alerts(_on(backend, tmin / 10.0), _on(backend, tmax / 10.0), _on(backend, thn),
                        _on(backend, thx), window=window, backend=backend)
    for name in reference._fields:
        np.testing.assert_array_equal(_host(getattr(r, name)), getattr(reference, name), err_msg=name)


# --------------------------------------------------------------------------- xarray wrappers


def test_xarray_wrappers_apply_the_rule_and_name_a_bad_decimals_at_once():
    import xarray as xr

    hourly = xr.Dataset({"PM10": (("station", "time"), _pm10_at_exactly_50(days=3).reshape(1, -1))})
    assert (atmo_index_xr(hourly.chunk({"time": 24}), backend="numba")["index"].values == 3).all()
    assert (eaqi_xr({"NO2": xr.DataArray([10.04, 10.05])}, backend="numba")["index"].values == [1, 2]).all()
    with pytest.raises(ValueError, match="^decimals="):
        atmo_index_xr(hourly.chunk({"time": 24}), decimals=5)
    with pytest.raises(ValueError, match="^decimals="):
        eaqi_xr({"NO2": xr.DataArray([10.0])}, decimals=-1)
    tmin = xr.DataArray([[19.2, 20.9, 22.9]], dims=("x", "time"))
    tmax = xr.DataArray([[33.3, 34.9, 39.8]], dims=("x", "time"))
    mask = xr.DataArray([31], dims=("x",))  # Haute-Garonne: 21 / 36
    out = heatwave_alerts_xr(tmin, tmax, mask, backend="numba")
    assert out["alert"].values.tolist() == [[False, False, True]]
    with pytest.raises(ValueError, match="^decimals="):
        heatwave_alerts_xr(tmin.chunk(), tmax.chunk(), mask, decimals=9)
