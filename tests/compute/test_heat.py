"""occidata.compute.heat: Météo-France's canicule criterion and Russo's HWMId.

Worked examples by hand, every backend against the NumPy reference (hypothesis), the
thresholds table, bad input, the xarray wrappers (chunked = in memory, lazy), and xclim's
heat-wave indices where they measure the same thing.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from occidata.compute import _xp
from occidata.compute._xp import GPUUnavailableError
from occidata.compute.heat import (
    department_thresholds,
    heatwave_alerts,
    heatwave_alerts_xr,
    heatwave_thresholds,
)
from occidata.compute.hwmid import calendar_day, hwmid, hwmid_xr
from occidata.datasets import geography, weather

BACKENDS = ["numpy", "numba"]


def _years(dates):
    return np.asarray(dates).astype("datetime64[Y]").astype(np.int64) + 1970


def _days(start, stop):
    return np.arange(np.datetime64(start), np.datetime64(stop))


def assert_same(a, b, rtol=1e-9):
    """Two results field by field: booleans equal, floats within rtol, NaN where NaN."""
    for name in a._fields:
        x, y = np.asarray(getattr(a, name)), np.asarray(getattr(b, name))
        assert x.shape == y.shape, name
        if x.dtype == bool:
            np.testing.assert_array_equal(x, y, err_msg=name)
        else:
            np.testing.assert_allclose(x, y, rtol=rtol, atol=0, equal_nan=True, err_msg=name)


# --------------------------------------------------------------------------- thresholds data


def test_thresholds_cover_the_13_departments_with_their_source():
    table = heatwave_thresholds()
    assert sorted(table) == sorted(geography.DEPARTMENT_CODES)
    for code, entry in table.items():
        assert 15 <= entry["tmin"] < entry["tmax"] <= 40, code
        assert isinstance(entry["verified"], bool) and entry["sources"], code
    # Cross-checked pairs (two sources each): Gard 23/36, Haute-Garonne 21/36, Hérault 22/35.
    assert (table["30"]["tmin"], table["30"]["tmax"]) == (23.0, 36.0)
    assert (table["31"]["tmin"], table["31"]["tmax"]) == (21.0, 36.0)
    assert (table["34"]["tmin"], table["34"]["tmax"]) == (22.0, 35.0)
    from occidata.compute.heat import _threshold_table

    raw = _threshold_table()
    assert raw["source"] and raw["window_days"] == 3 and raw["comparison"] == ">="


def test_department_thresholds_maps_codes_and_leaves_outside_nan():
    mask = np.array([[0, 31], [30, 9]], dtype=np.int16)
    tmin, tmax = department_thresholds(mask)
    np.testing.assert_array_equal(tmin, [[np.nan, 21.0], [23.0, 19.0]])
    np.testing.assert_array_equal(tmax, [[np.nan, 36.0], [36.0, 34.0]])
    # A float mask with NaN outside (as after a regridding) means the same.
    tmin_f, _ = department_thresholds(np.array([[np.nan, 31.0], [30.0, 9.0]]))
    np.testing.assert_array_equal(tmin_f, tmin)


def test_department_thresholds_on_the_weather_grid_mask():
    ds = weather.generate("tiny")
    tmin, tmax = department_thresholds(ds["department"])
    assert isinstance(tmin, xr.DataArray) and tmin.dims == ds["department"].dims
    inside = ds["department"].values != 0
    assert np.isfinite(tmin.values[inside]).all() and np.isnan(tmax.values[~inside]).all()
    assert float(tmax.where(ds["department"] == 31).max()) == 36.0


def test_department_thresholds_unknown_code():
    mask = np.array([0, 31, 75])
    with pytest.raises(ValueError, match="department_mask.*75"):
        department_thresholds(mask)
    tmin, _ = department_thresholds(mask, unknown="nan")
    np.testing.assert_array_equal(tmin, [np.nan, 21.0, np.nan])
    with pytest.raises(ValueError, match="department_mask"):
        department_thresholds(np.array([31, -1]))
    with pytest.raises(ValueError, match="department_mask"):
        department_thresholds(np.array([31.5]))
    with pytest.raises(ValueError, match="unknown"):
        department_thresholds(mask, unknown="ignore")


def test_department_thresholds_take_the_insee_codes_as_france_writes_them():
    tmin, tmax = department_thresholds(np.array([["09", "34"], ["0", "31"]]))
    np.testing.assert_array_equal(tmin, [[19.0, 22.0], [np.nan, 21.0]])
    np.testing.assert_array_equal(tmax, [[34.0, 35.0], [np.nan, 36.0]])
    # The same thresholds as the integer codes; a list, a scalar and a column with gaps work too.
    np.testing.assert_array_equal(department_thresholds(np.array([[9, 34], [0, 31]]))[0], tmin)
    assert department_thresholds("34")[1] == 35.0
    np.testing.assert_array_equal(department_thresholds(["09", None, " 9"])[0], [19.0, np.nan, 19.0])
    grid = xr.DataArray(np.array([["31", "2A"]]), dims=("y", "x"))
    np.testing.assert_array_equal(department_thresholds(grid, unknown="nan")[0].values, [[21.0, np.nan]])


@pytest.mark.parametrize("codes, named", [(["34", "2A"], "2A"), (["2B"], "2B"), ([75], "75")])
def test_department_thresholds_say_in_french_which_code_has_none(codes, named):
    with pytest.raises(ValueError) as info:
        department_thresholds(codes)
    message = str(info.value)
    assert message.startswith("department_mask : pas de seuils de canicule") and named in message
    assert "09, 11, 12" in message and "unknown='nan'" in message


def test_department_thresholds_refuse_text_that_is_no_department_code():
    with pytest.raises(ValueError, match=r"department_mask : 'Hérault' n'est pas un code de département INSEE"):
        department_thresholds(["34", "Hérault"])


# --------------------------------------------------------------------------- heatwave_alerts by hand


@pytest.mark.parametrize("backend", BACKENDS)
def test_station_with_a_five_day_hot_spell(backend):
    # Toulouse (Haute-Garonne, thresholds IBMn 21, IBMx 36), hot from day 2 to day 6.
    tmin = np.array([18, 19, 21, 22, 23, 22, 21, 17, 16], dtype=float)
    tmax = np.array([30, 33, 36, 37, 38, 37, 36, 31, 29], dtype=float)
    # Trailing 3-day means, on the window's last day:
    #   IBMn d2 (18+19+21)/3 = 19.33  d3 (19+21+22)/3 = 20.67  d4 (21+22+23)/3 = 22
    #        d5 (22+23+22)/3 = 22.33  d6 (23+22+21)/3 = 22     d7 (22+21+17)/3 = 20
    #        d8 (21+17+16)/3 = 18
    #   IBMx d2 (30+33+36)/3 = 33     d3 (33+36+37)/3 = 35.33  d4 (36+37+38)/3 = 37
    #        d5 (37+38+37)/3 = 37.33  d6 (38+37+36)/3 = 37     d7 (37+36+31)/3 = 34.67
    #        d8 (36+31+29)/3 = 32
    # Both at or above the thresholds on d4, d5, d6: 3 alert days, one episode.
    r = heatwave_alerts(tmin, tmax, 21.0, 36.0, backend=backend)
    assert r.alert.tolist() == [False, False, False, False, True, True, True, False, False]
    # The indicators come back rounded to the data's one decimal (what was compared).
    np.testing.assert_array_equal(r.ibmn[2:], [19.3, 20.7, 22, 22.3, 22, 20, 18])
    np.testing.assert_array_equal(r.ibmx[2:], [33, 35.3, 37, 37.3, 37, 34.7, 32])
    assert np.isnan(r.ibmn[:2]).all() and np.isnan(r.ibmx[:2]).all()
    assert float(r.alert_days) == 3.0 and float(r.episodes) == 1.0
    assert r.alert_days.shape == ()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("tmin_offset", "tmax_offset", "expected"),
    [
        (0.0, 0.0, True),     # means exactly at both thresholds: reached, an alert
        (-0.1, 0.0, False),   # IBMn one step of the data's resolution below
        (0.0, -0.1, False),   # IBMx likewise
        (0.1, 0.1, True),     # just above both
        (-0.04, 0.0, True),   # 20.96 rounds to 21.0: reached
    ],
)
def test_alert_at_the_threshold_and_just_off_it(backend, tmin_offset, tmax_offset, expected):
    # Constant days: IBMn = 21 + offset and IBMx = 36 + offset on the third day.
    tmin = np.full(3, 21.0 + tmin_offset)
    tmax = np.full(3, 36.0 + tmax_offset)
    r = heatwave_alerts(tmin, tmax, 21.0, 36.0, backend=backend)
    assert bool(r.alert[2]) is expected


@pytest.mark.parametrize("backend", BACKENDS)
def test_exact_threshold_with_unequal_days(backend):
    # (20 + 21 + 22) / 3 = 21 and (35 + 36 + 37) / 3 = 36 exactly in binary floating point.
    r = heatwave_alerts([20.0, 21, 22], [35.0, 36, 37], 21.0, 36.0, backend=backend)
    assert r.alert.tolist() == [False, False, True]


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_episodes_and_a_missing_day_breaks_one(backend):
    hot_n, hot_x, cool_n, cool_x = 25.0, 40.0, 15.0, 25.0
    tmin = np.array([hot_n] * 4 + [cool_n] * 3 + [hot_n] * 3)
    tmax = np.array([hot_x] * 4 + [cool_x] * 3 + [hot_x] * 3)
    r = heatwave_alerts(tmin, tmax, 21.0, 36.0, backend=backend)
    # Alert days: d2, d3 (windows d0-d2, d1-d3) and d9 (window d7-d9): 3 days, 2 episodes.
    assert np.flatnonzero(r.alert).tolist() == [2, 3, 9]
    assert (float(r.alert_days), float(r.episodes)) == (3.0, 2.0)
    # Ten hot days with day 5 missing: windows holding day 5 (d5, d6, d7) are NaN, no alert.
    tmin = np.full(10, hot_n)
    tmax = np.full(10, hot_x)
    tmin[5] = np.nan
    r = heatwave_alerts(tmin, tmax, 21.0, 36.0, backend=backend)
    assert np.flatnonzero(r.alert).tolist() == [2, 3, 4, 8, 9]
    assert np.isnan(r.ibmn[5:8]).all() and not np.isnan(r.ibmx[5:8]).any()
    assert (float(r.alert_days), float(r.episodes)) == (5.0, 2.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_grid_thresholds_broadcast_and_nan_outside(backend):
    rng = np.random.default_rng(3)
    tmin = rng.normal(22, 2, (40, 2, 3))
    tmax = tmin + 14
    thn = np.array([21.0, np.nan, 22.0])  # broadcasts over y; NaN = outside any department
    r = heatwave_alerts(tmin, tmax, thn, 36.0, backend=backend)
    assert r.alert.shape == (40, 2, 3) and r.episodes.shape == (2, 3)
    assert not r.alert[:, :, 1].any()
    assert np.isnan(r.alert_days[:, 1]).all() and np.isnan(r.episodes[:, 1]).all()
    assert np.isfinite(r.alert_days[:, [0, 2]]).all()
    # Each point is the 1-D computation of its own series.
    one = heatwave_alerts(tmin[:, 1, 2], tmax[:, 1, 2], 22.0, 36.0, backend=backend)
    np.testing.assert_array_equal(one.alert, r.alert[:, 1, 2])
    assert float(one.episodes) == r.episodes[1, 2]


@pytest.mark.parametrize("backend", BACKENDS)
def test_window_one_and_a_series_as_long_as_the_window(backend):
    r = heatwave_alerts([22.0, 20.0], [37.0, 37.0], 21.0, 36.0, window=1, backend=backend)
    assert r.alert.tolist() == [True, False]
    r = heatwave_alerts([22.0, 22.0], [37.0, 37.0], 21.0, 36.0, window=2, backend=backend)
    assert r.alert.tolist() == [False, True]


def test_tmin_above_tmax_is_not_an_error():
    r = heatwave_alerts([30.0, 30, 30], [20.0, 20, 20], 21.0, 19.0, backend="numpy")
    assert r.alert.tolist() == [False, False, True]


# --------------------------------------------------------------------------- heatwave_alerts: backends


_temperatures = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=30),
    # Half-degree steps make means land exactly on the thresholds often.
    elements=st.integers(30, 90).map(lambda k: k / 2) | st.just(np.nan),
)


@settings(max_examples=40, deadline=None)
@given(tmin=_temperatures, spread=st.integers(0, 30), window=st.integers(1, 5),
       thn=st.sampled_from([18.0, 21.0, 22.5, np.nan]), thx=st.sampled_from([30.0, 36.0, 38.5]))
def test_numba_matches_numpy_on_random_series(tmin, spread, window, thn, thx):
    tmax = tmin + spread / 2
    if window > tmin.shape[0] or not np.isfinite(tmin).any():
        return
    a = heatwave_alerts(tmin, tmax, thn, thx, window=window, backend="numpy")
    b = heatwave_alerts(tmin, tmax, thn, thx, window=window, backend="numba")
    assert_same(a, b)
    # Invariants: an alert day has both means at or above the thresholds; every episode
    # holds at least one alert day; the counts are the alerts'.
    assert (a.ibmn[a.alert] >= thn).all() and (a.ibmx[a.alert] >= thx).all()
    finite = np.isfinite(a.alert_days)
    np.testing.assert_array_equal(a.alert_days[finite], a.alert.sum(axis=0)[finite])
    assert (a.episodes[finite] <= a.alert_days[finite]).all()


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(tmin=np.zeros((5, 2)), tmax=np.zeros((5, 3))), "tmin"),
        (dict(tmin=np.zeros((5, 2)), tmax=np.zeros((4, 2))), "shapes differ"),
        (dict(window=-1), "window"),
        (dict(window=0), "window"),
        (dict(window=2.5), "window"),
        (dict(window=6), "window"),
        (dict(tmin=np.full(5, np.nan)), "tmin"),
        (dict(tmax=np.full(5, np.nan)), "tmax"),
        (dict(tmin=np.array([]), tmax=np.array([])), "tmin"),
        (dict(tmin=3.0, tmax=4.0), "tmin"),
        (dict(tmin_threshold=np.zeros(3)), "tmin_threshold"),
        (dict(tmax_threshold=np.array([])), "tmax_threshold"),
        (dict(tmin=["a"] * 5), "tmin"),
    ],
)
def test_bad_input_names_the_argument(kwargs, match):
    args = dict(tmin=np.full(5, 22.0), tmax=np.full(5, 37.0), tmin_threshold=21.0,
                tmax_threshold=36.0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        heatwave_alerts(**args)


def test_unknown_backend():
    with pytest.raises(ValueError, match="backend"):
        heatwave_alerts([22.0] * 3, [37.0] * 3, 21.0, 36.0, backend="fortran")


def test_cupy_without_a_gpu_says_how_to_get_one():
    if _xp.gpu_usable():
        pytest.skip("a GPU is usable here")
    with pytest.raises(GPUUnavailableError, match=r"occidata\[gpu\]"):
        heatwave_alerts([22.0] * 3, [37.0] * 3, 21.0, 36.0, backend="cupy")
    with pytest.raises(GPUUnavailableError, match=r"occidata\[gpu\]"):
        hwmid(*_hwmid_inputs(seed=0, years=1, points=1), backend="cupy")


# --------------------------------------------------------------------------- heatwave_alerts_xr


def test_xr_on_the_weather_grid_chunked_equals_in_memory_and_stays_lazy():
    ds = weather.generate("tiny")
    eager = heatwave_alerts_xr(ds, backend="numba")
    thn, thx = department_thresholds(ds["department"].values)
    direct = heatwave_alerts(ds["tmin"].values, ds["tmax"].values, thn, thx, backend="numpy")
    np.testing.assert_array_equal(eager["alert"].values, direct.alert)
    np.testing.assert_allclose(eager["ibmx"].values, direct.ibmx, rtol=1e-9, equal_nan=True)
    np.testing.assert_array_equal(eager["episodes"].values, direct.episodes)
    assert eager["alert"].dims == ("time", "y", "x") and eager["episodes"].dims == ("y", "x")

    chunked = ds.chunk({"time": 10, "y": 3, "x": 4})

    def refuse(*args, **kwargs):
        raise AssertionError("computed before .compute()")

    import dask

    with dask.config.set(scheduler=refuse):
        lazy = heatwave_alerts_xr(chunked, backend="numba")
    assert lazy["alert"].chunks is not None and lazy["episodes"].chunks is not None
    computed = lazy.compute()
    for name in ("alert", "ibmn", "ibmx", "alert_days", "episodes"):
        np.testing.assert_array_equal(computed[name].values, eager[name].values, err_msg=name)


def test_xr_with_dataarrays_and_bad_arguments():
    ds = weather.generate("tiny")
    out = heatwave_alerts_xr(ds["tmin"], ds["tmax"], ds["department"], backend="numpy")
    assert set(out.data_vars) == {"alert", "ibmn", "ibmx", "alert_days", "episodes"}
    with pytest.raises(ValueError, match="tmax"):
        heatwave_alerts_xr(ds["tmin"], department_mask=ds["department"])
    with pytest.raises(ValueError, match="department_mask"):
        heatwave_alerts_xr(ds["tmin"], ds["tmax"])
    with pytest.raises(ValueError, match="ds_or_tmin"):
        heatwave_alerts_xr(ds.drop_vars("department"))


# --------------------------------------------------------------------------- xclim


def _xclim_indices():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pytest.importorskip("xclim.indices")


def _as_xclim(values, dates):
    return xr.DataArray(values, dims=("time", "station"), coords={"time": dates},
                        attrs={"units": "degC"})


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_alert_days_and_episodes_match_xclim_heat_wave_indices(seed):
    # xclim counts days (heat_wave_total_length) and runs (heat_wave_frequency) where both
    # tasmin and tasmax pass their thresholds for >= window days. Fed our 3-day means with
    # window=1 and op=">=", that is exactly Météo-France's alert days and episodes.
    xi = _xclim_indices()
    rng = np.random.default_rng(seed)
    dates = _days("2023-01-01", "2024-01-01")
    tmin = np.round(rng.normal(20, 2.5, (dates.size, 8)), 1)
    tmax = np.round(tmin + rng.uniform(10, 17, tmin.shape), 1)
    tmin[40:45, 3] = np.nan  # a missing spell
    r = heatwave_alerts(tmin, tmax, 21.0, 35.0, backend="numba")
    kwargs = dict(thresh_tasmin="21 degC", thresh_tasmax="35 degC", window=1, freq="YS", op=">=")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        days = xi.heat_wave_total_length(_as_xclim(r.ibmn, dates), _as_xclim(r.ibmx, dates), **kwargs)
        runs = xi.heat_wave_frequency(_as_xclim(r.ibmn, dates), _as_xclim(r.ibmx, dates), **kwargs)
    assert r.episodes.max() > 1  # the comparison has runs to count
    np.testing.assert_array_equal(days.values[0], r.alert_days)
    np.testing.assert_array_equal(runs.values[0], r.episodes)


def _constant_reference(level=30.0):
    """Four reference years at ``level`` with one day at level + 1 in the last two years.

    Every 31-day pool is almost all ``level``: the 90th percentile threshold is ``level`` on
    every calendar day. Annual maxima: [level, level, level + 1, level + 1], so T25 = level
    (virtual index 3 * 0.25 = 0.75 between two ``level``) and T75 = level + 1 (2.25 between
    two level + 1): Md(Td) = Td - level for a hot day.
    """
    dates = _days("2001-01-01", "2005-01-01")
    ref = np.full(dates.size, level)
    years, cal = _years(dates), calendar_day(dates)
    ref[(years >= 2003) & (cal == 200)] = level + 1
    return ref, cal, years


@pytest.mark.parametrize("backend", BACKENDS)
def test_hwmid_matches_xclim_hot_spell_max_magnitude(backend):
    # With the reference above, HWMId is the largest sum of (Tmax - 30) over a run of >= 3
    # days above 30 within a year: xclim's hot_spell_max_magnitude(thresh=30, window=3).
    # xclim has no HWMId of its own (no percentile thresholds, no T25/T75 scaling).
    xi = _xclim_indices()
    ref, ref_cal, ref_years = _constant_reference()
    dates = _days("2010-01-01", "2013-01-01")
    rng = np.random.default_rng(5)
    tmax = np.round(rng.normal(28, 3, (dates.size, 5)), 1)
    r = hwmid(tmax, calendar_day(dates), _years(dates), np.repeat(ref[:, None], 5, axis=1),
              ref_cal, ref_years, backend=backend)
    assert (r.threshold == 30.0).all() and (r.t25 == 30.0).all() and (r.t75 == 31.0).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = xi.hot_spell_max_magnitude(_as_xclim(tmax, dates), thresh="30 degC", window=3, freq="YS")
    np.testing.assert_allclose(r.hwmid, expected.values, rtol=1e-9, atol=1e-12)
    assert r.hwmid.shape == (3, 5) and r.years.tolist() == [2010, 2011, 2012]


# --------------------------------------------------------------------------- hwmid by hand


@pytest.mark.parametrize("backend", BACKENDS)
def test_hwmid_worked_example(backend):
    ref, ref_cal, ref_years = _constant_reference()  # threshold 30, T25 30, T75 31
    dates = _days("2020-01-01", "2021-01-01")
    tmax = np.full(dates.size, 25.0)
    tmax[180:183] = [31, 32, 33]        # 3 days above 30: Md 1 + 2 + 3 = 6, a heat wave
    tmax[190:192] = [40, 40]            # 2 days only: not a heat wave (would be 20)
    tmax[200:204] = [30.5] * 4          # Md 0.5 x 4 = 2
    tmax[210:215] = [34, 34, 30, 34, 34]  # day at exactly 30 is not above: two 2-day runs
    r = hwmid(tmax, calendar_day(dates), _years(dates), ref, ref_cal, ref_years, backend=backend)
    # The year's HWMId is its largest heat wave: max(6, 2) = 6.
    assert r.hwmid.tolist() == [6.0] and r.years.tolist() == [2020]


@pytest.mark.parametrize("backend", BACKENDS)
def test_hwmid_hot_days_below_t25_count_for_length_but_add_nothing(backend):
    # Reference: 10 °C in winter (Jan-Mar), 30 °C otherwise, annual maxima 30 and 31 as above:
    # the winter threshold is 10 but T25 = 30, so a winter heat wave of 12 °C days has Md = 0.
    ref, ref_cal, ref_years = _constant_reference()
    ref[ref_cal <= 91] = 10.0
    dates = _days("2021-01-01", "2022-01-01")
    tmax = np.full(dates.size, 5.0)
    tmax[40:43] = 12.0
    r = hwmid(tmax, calendar_day(dates), _years(dates), ref, ref_cal, ref_years, backend=backend)
    assert r.threshold[40] == 10.0 and r.hwmid.tolist() == [0.0]
    tmax[150:153] = 31.0  # a summer heat wave: 3 x (31 - 30) / (31 - 30) = 3
    r = hwmid(tmax, calendar_day(dates), _years(dates), ref, ref_cal, ref_years, backend=backend)
    assert r.hwmid.tolist() == [3.0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_hwmid_heat_wave_is_cut_at_the_year_end(backend):
    ref, ref_cal, ref_years = _constant_reference()
    dates = _days("2019-12-01", "2020-02-01")
    tmax = np.full(dates.size, 25.0)
    tmax[29:33] = 35.0  # Dec 30, Dec 31, Jan 1, Jan 2: two days in each year, no heat wave
    r = hwmid(tmax, calendar_day(dates), _years(dates), ref, ref_cal, ref_years, backend=backend)
    assert r.hwmid.tolist() == [0.0, 0.0]
    tmax[33] = 35.0  # Jan 3 too: three days in 2020, Md 5 each
    r = hwmid(tmax, calendar_day(dates), _years(dates), ref, ref_cal, ref_years, backend=backend)
    assert r.hwmid.tolist() == [0.0, 15.0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_hwmid_thresholds_are_percentiles_of_the_31_day_pool(backend):
    rng = np.random.default_rng(11)
    dates = _days("1999-01-01", "2003-01-01")  # 2000 is a leap year
    ref = rng.normal(25, 5, (dates.size, 2))
    ref[::7, 1] = np.nan
    cal, years = calendar_day(dates), _years(dates)
    r = hwmid(ref, cal, years, ref, cal, years, backend=backend)
    for day in (1, 60, 61, 200, 366):
        distance = np.abs(cal - day)
        pool = ref[np.minimum(distance, 366 - distance) <= 15]
        np.testing.assert_allclose(r.threshold[day - 1], np.nanpercentile(pool, 90, axis=0), rtol=1e-12)
    annual = np.stack([np.nanmax(ref[years == y], axis=0) for y in np.unique(years)])
    np.testing.assert_allclose(r.t25, np.percentile(annual, 25, axis=0), rtol=1e-12)
    np.testing.assert_allclose(r.t75, np.percentile(annual, 75, axis=0), rtol=1e-12)
    # Day 1 (Jan 1) pools Dec 17-31 as well (the window wraps); day 60 (Feb 29) exists in
    # 2000 only, yet has a threshold pooled from Feb 14 - Mar 15 of every year.
    assert np.isfinite(r.threshold[59]).all()


def test_calendar_day_numbers_every_date_alike():
    dates = np.array(["2023-01-01", "2023-02-28", "2023-03-01", "2024-02-29", "2024-03-01",
                      "2024-12-31", "2023-12-31", "1969-07-20"], dtype="datetime64[D]")
    assert calendar_day(dates).tolist() == [1, 59, 61, 60, 61, 366, 366, 202]


@pytest.mark.parametrize("backend", BACKENDS)
def test_hwmid_nan_rules(backend):
    ref, ref_cal, ref_years = _constant_reference()
    dates = _days("2020-01-01", "2022-01-01")
    tmax = np.full((dates.size, 3), 25.0)
    tmax[dates >= np.datetime64("2021-01-01"), 1] = np.nan  # no data in 2021 at point 1
    refs = np.repeat(ref[:, None], 3, axis=1)
    refs[:, 2] = 30.0  # T75 == T25: magnitude undefined at point 2
    tmax[100:103, 0] = [np.nan, 35, 35]  # a missing day ends a run: no heat wave
    r = hwmid(tmax, calendar_day(dates), _years(dates), refs, ref_cal, ref_years, backend=backend)
    np.testing.assert_array_equal(r.hwmid, [[0.0, 0.0, np.nan], [0.0, np.nan, np.nan]])


# --------------------------------------------------------------------------- hwmid: backends


def _hwmid_inputs(seed, years, points, nan_fraction=0.0, step=0.0):
    rng = np.random.default_rng(seed)
    ref_dates = _days("1996-01-01", f"{1996 + years}-01-01")
    cal = calendar_day(ref_dates)
    season = 22 + 9 * np.sin(2 * np.pi * (cal - 110) / 366)
    ref = season[:, None] + rng.normal(0, 3.5, (ref_dates.size, points))
    dates = _days("2019-06-01", "2021-09-01")
    study = 22 + 9 * np.sin(2 * np.pi * (calendar_day(dates) - 110) / 366)
    tmax = study[:, None] + rng.normal(1.5, 4, (dates.size, points))
    if step:
        ref, tmax = np.round(ref / step) * step, np.round(tmax / step) * step
    for x in (ref, tmax):
        x[rng.random(x.shape) < nan_fraction] = np.nan
    return (tmax, calendar_day(dates), _years(dates), ref, cal, _years(ref_dates))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**16), years=st.integers(1, 4), points=st.integers(1, 5),
       nan_fraction=st.sampled_from([0.0, 0.05, 0.5]), step=st.sampled_from([0.0, 0.5, 1.0]),
       window=st.sampled_from([1, 5, 31]), percentile=st.sampled_from([50.0, 90.0, 99.5]),
       min_length=st.integers(1, 4))
def test_hwmid_numba_matches_numpy(seed, years, points, nan_fraction, step, window, percentile,
                                   min_length):
    args = _hwmid_inputs(seed, years, points, nan_fraction, step)
    kwargs = dict(window=window, percentile=percentile, min_length=min_length)
    a = hwmid(*args, backend="numpy", **kwargs)
    b = hwmid(*args, backend="numba", **kwargs)
    assert_same(a, b)
    finite = np.isfinite(a.hwmid)
    assert (a.hwmid[finite] >= 0).all()


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (dict(tmax=np.zeros((10, 2))), "day_of_year"),
        (dict(reference=np.zeros((10, 3))), "reference"),
        (dict(day_of_year=np.zeros(800, dtype=int)), "day_of_year"),
        (dict(day_of_year=np.full(800, 367)), "day_of_year"),
        (dict(year=np.arange(800)[::-1]), "year"),
        (dict(year=np.full(800, 2020.5)), "year"),
        (dict(reference_year=np.zeros(5, dtype=int)), "reference_year"),
        (dict(reference_day_of_year=np.full(731, 0)), "reference_day_of_year"),
        (dict(tmax=np.full((800, 2), np.nan)), "tmax"),
        (dict(reference=np.full((731, 2), np.nan)), "reference"),
        (dict(tmax=np.zeros((0, 2))), "tmax"),
        (dict(window=30), "window"),
        (dict(window=-31), "window"),
        (dict(percentile=0), "percentile"),
        (dict(percentile=101), "percentile"),
        (dict(min_length=0), "min_length"),
    ],
)
def test_hwmid_bad_input_names_the_argument(change, match):
    tmax, cal, year, ref, ref_cal, ref_year = _hwmid_inputs(seed=1, years=2, points=2)
    args = dict(tmax=tmax[:800], day_of_year=cal[:800], year=year[:800], reference=ref,
                reference_day_of_year=ref_cal, reference_year=ref_year)
    args.update(change)
    with pytest.raises(ValueError, match=match):
        hwmid(**args)


# --------------------------------------------------------------------------- hwmid_xr


def test_hwmid_xr_chunked_equals_in_memory_and_stays_lazy():
    tmax, cal, year, ref, ref_cal, ref_year = _hwmid_inputs(seed=4, years=3, points=6)
    dates = _days("2019-06-01", "2021-09-01")
    ref_dates = _days("1996-01-01", "1999-01-01")
    station = np.arange(6)
    tmax_da = xr.DataArray(tmax, dims=("time", "station"), coords={"time": dates, "station": station})
    ref_da = xr.DataArray(ref, dims=("time", "station"), coords={"time": ref_dates, "station": station})
    eager = hwmid_xr(tmax_da, ref_da, backend="numba")
    direct = hwmid(tmax, cal, year, ref, ref_cal, ref_year, backend="numpy")
    assert eager.dims == ("year", "station") and eager["year"].values.tolist() == [2019, 2020, 2021]
    np.testing.assert_allclose(eager.values, direct.hwmid, rtol=1e-9)

    import dask

    def refuse(*args, **kwargs):
        raise AssertionError("computed before .compute()")

    with dask.config.set(scheduler=refuse):
        lazy = hwmid_xr(tmax_da.chunk({"time": 100, "station": 2}), ref_da.chunk({"station": 3}),
                        backend="numba")
    assert lazy.chunks is not None
    np.testing.assert_array_equal(lazy.compute().values, eager.values)


def test_hwmid_xr_needs_consecutive_days():
    tmax, *_ = _hwmid_inputs(seed=4, years=1, points=1)
    dates = _days("2019-06-01", "2021-09-01")
    da = xr.DataArray(tmax, dims=("time", "station"), coords={"time": dates})
    with pytest.raises(ValueError, match="consecutive"):
        hwmid_xr(da.isel(time=slice(None, None, 2)), da)
    with pytest.raises(ValueError, match="reference"):
        hwmid_xr(da, da.rename(station="cell"))


# --------------------------------------------------------------------------- GPU


@pytest.mark.gpu
def test_cupy_matches_numpy():
    cupy = pytest.importorskip("cupy")
    if not _xp.gpu_usable():
        pytest.skip("no usable GPU")
    rng = np.random.default_rng(8)
    tmin = np.round(rng.normal(21, 3, (400, 9, 7)) * 2) / 2
    tmax = tmin + 14
    thn = np.where(rng.random((9, 7)) < 0.2, np.nan, 21.0)
    a = heatwave_alerts(tmin, tmax, thn, 36.0, backend="numpy")
    b = heatwave_alerts(cupy.asarray(tmin), cupy.asarray(tmax), cupy.asarray(thn), 36.0, backend="cupy")
    assert isinstance(b.alert, cupy.ndarray)
    assert_same(a, type(a)(*(cupy.asnumpy(x) for x in b)), rtol=_xp.TOLERANCE["cupy"])
    args = _hwmid_inputs(seed=8, years=3, points=20, nan_fraction=0.05, step=0.5)
    a = hwmid(*args, backend="numpy")
    b = hwmid(*args, backend="cupy")
    assert_same(a, type(a)(*(cupy.asnumpy(x) if isinstance(x, cupy.ndarray) else x for x in b)),
                rtol=_xp.TOLERANCE["cupy"])
