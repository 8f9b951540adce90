"""occidata.compute.hwmid: HWMId and the list of heat waves on small series worked by hand.

The reference is built so that every number can be checked on paper: the daily threshold,
T25 and T75, each wave's magnitude and the year's index, on every CPU backend; then the list of
waves agrees with hwmid's index year by year on random series with gaps.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from occidata.compute.hwmid import HWMId, calendar_day, heat_waves, hwmid

BACKENDS = ["numpy", "numba"]


def _days(start: str, stop: str) -> np.ndarray:
    return np.arange(np.datetime64(start), np.datetime64(stop))


def _years(dates: np.ndarray) -> np.ndarray:
    return dates.astype("datetime64[Y]").astype(np.int64) + 1970


def _reference():
    """Four years at 20 °C, each with one hot day (calendar day 200) at 30, 32, 34, 36.

    31-day pools hold at most 4 hot values among 124: the 90th percentile (rank 110.7) is 20 on
    every calendar day. Annual maxima [30, 32, 34, 36]: T25 at rank 0.75 = 30 + 0.75 * 2 = 31.5,
    T75 at rank 2.25 = 34 + 0.25 * 2 = 34.5, so Md(T) = (T - 31.5) / 3 above 31.5.
    """
    dates = _days("2001-01-01", "2005-01-01")
    ref = np.full(dates.size, 20.0)
    hot_day = calendar_day(dates) == 200
    ref[hot_day] = [30.0, 32.0, 34.0, 36.0]
    return ref, calendar_day(dates), _years(dates)


def _study():
    """2010 and 2011 at 15 °C, with the waves of the docstrings below."""
    dates = _days("2010-01-01", "2012-01-01")
    t = np.full(dates.size, 15.0)
    at = {d: i for i, d in enumerate(dates.astype(str))}
    t[at["2010-07-01"]:at["2010-07-04"]] = [33.0, 36.0, 30.0]        # wave A: 0.5 + 1.5 + 0 = 2
    t[at["2010-08-01"]:at["2010-08-05"]] = [21.0, 37.5, 37.5, 25.0]  # wave B: 0 + 2 + 2 + 0 = 4
    t[at["2010-08-20"]:at["2010-08-22"]] = [50.0, 50.0]              # 2 days: not a wave
    t[at["2010-09-10"]:at["2010-09-14"]] = [40.0, 20.0, 40.0, 40.0]  # a day at the threshold cuts it
    t[at["2011-06-10"]:at["2011-06-13"]] = [34.5, np.nan, 34.5]      # a missing day cuts it too
    t[at["2011-12-30"]:] = 33.0                                      # 2 days: not a wave in 2011
    return dates, t


@pytest.mark.parametrize("backend", BACKENDS)
def test_hwmid_of_a_series_worked_by_hand(backend):
    ref, ref_cal, ref_years = _reference()
    dates, t = _study()
    r = hwmid(t, calendar_day(dates), _years(dates), ref, ref_cal, ref_years, backend=backend)
    assert (r.threshold == 20.0).all()
    assert float(r.t25) == 31.5 and float(r.t75) == 34.5
    # 2010: the largest of waves A (2) and B (4); 2011: no wave of 3 days.
    assert r.years.tolist() == [2010, 2011] and r.hwmid.tolist() == [4.0, 0.0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_heat_waves_lists_the_waves_behind_the_index(backend):
    ref, ref_cal, ref_years = _reference()
    dates, t = _study()
    r = hwmid(t, calendar_day(dates), _years(dates), ref, ref_cal, ref_years, backend=backend)
    waves = heat_waves(t, dates, r)
    assert waves.to_dict("records") == [
        {"year": 2010, "start": pd.Timestamp("2010-07-01"), "end": pd.Timestamp("2010-07-03"), "days": 3,
         "magnitude": 2.0, "peak": 36.0, "peak_day": pd.Timestamp("2010-07-02")},
        {"year": 2010, "start": pd.Timestamp("2010-08-01"), "end": pd.Timestamp("2010-08-04"), "days": 4,
         "magnitude": 4.0, "peak": 37.5, "peak_day": pd.Timestamp("2010-08-02")},
    ]
    # Two days are a wave when min_length is 2, as hwmid says too.
    short = hwmid(t, calendar_day(dates), _years(dates), ref, ref_cal, ref_years, min_length=2, backend=backend)
    waves = heat_waves(t, dates, short, min_length=2)
    # A, B, Aug 20-21, Sep 12-13 (Sep 10 alone is one day) and Dec 30-31; not the two lone days of June 2011.
    assert len(waves) == 5 and waves["magnitude"].max() == short.hwmid[0] == (50 - 31.5) / 3 * 2
    assert waves.loc[waves["year"] == 2011, "start"].tolist() == [pd.Timestamp("2011-12-30")]


def test_a_wave_is_cut_at_the_year_end():
    ref, ref_cal, ref_years = _reference()
    dates = _days("2010-12-01", "2011-02-01")
    t = np.full(dates.size, 15.0)
    t[29:33] = 35.0  # Dec 30 - Jan 2: two days in each year
    r = hwmid(t, calendar_day(dates), _years(dates), ref, ref_cal, ref_years, backend="numpy")
    assert heat_waves(t, dates, r).empty and r.hwmid.tolist() == [0.0, 0.0]
    t[33] = 35.0  # Jan 3: three days in 2011, Md 3.5 / 3 each
    r = hwmid(t, calendar_day(dates), _years(dates), ref, ref_cal, ref_years, backend="numpy")
    waves = heat_waves(t, dates, r)
    assert waves[["year", "days"]].values.tolist() == [[2011, 3]]
    assert waves["magnitude"].iloc[0] == r.hwmid[1] == pytest.approx(3.5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_largest_wave_of_each_year_is_its_hwmid(seed):
    rng = np.random.default_rng(seed)
    ref_dates = _days("1991-01-01", "2001-01-01")
    seasonal = lambda d: 18 + 9 * np.sin(2 * np.pi * (calendar_day(d) - 110) / 366)  # noqa: E731
    ref = seasonal(ref_dates) + rng.normal(0, 3, ref_dates.size)
    dates = _days("2001-01-01", "2011-01-01")
    t = seasonal(dates) + rng.normal(0, 3, dates.size) + 1.0
    t[rng.random(dates.size) < 0.02] = np.nan
    for backend in BACKENDS:
        r = hwmid(t, calendar_day(dates), _years(dates), ref, calendar_day(ref_dates), _years(ref_dates),
                  backend=backend)
        waves = heat_waves(t, dates, r)
        largest = waves.groupby("year")["magnitude"].max().reindex(r.years, fill_value=0.0)
        np.testing.assert_allclose(largest.to_numpy(), r.hwmid, rtol=1e-12, atol=0)
        assert (waves["days"] >= 3).all() and len(waves) > 10


def test_an_undefined_scale_gives_waves_without_magnitude():
    dates = _days("2010-07-01", "2010-07-05")
    flat = HWMId(hwmid=None, years=None, threshold=np.full(366, 20.0), t25=30.0, t75=30.0)
    waves = heat_waves([25.0, 26.0, 27.0, 10.0], dates, flat)
    assert waves["days"].tolist() == [3] and np.isnan(waves["magnitude"]).all()


@pytest.mark.parametrize("change, match", [
    ({"tmax": np.zeros((3, 2))}, r"tmax: expected the daily values of one point"),
    ({"dates": _days("2010-07-01", "2010-07-03")}, r"dates: "),
    ({"dates": np.array(["2010-07-01", "2010-07-02", "2010-07-04"], dtype="datetime64[D]")},
     r"dates: expected consecutive days"),
    ({"result": HWMId(None, None, np.full((366, 2), 20.0), np.zeros(2), np.ones(2))},
     r"result: expected the hwmid result of one point"),
    ({"min_length": 0}, r"min_length"),
])
def test_bad_input_names_the_argument(change, match):
    args = {"tmax": np.array([25.0, 26.0, 27.0]), "dates": _days("2010-07-01", "2010-07-04"),
            "result": HWMId(None, None, np.full(366, 20.0), 30.0, 32.0), "min_length": 3}
    args.update(change)
    with pytest.raises(ValueError, match=match):
        heat_waves(**args)
