"""traffic_counts: the generator's contract, and the shapes of real road-counting data."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from occidata.datasets import traffic as tr


@pytest.fixture(scope="module")
def demo():
    return tr.generate("demo", seed=1)


def local_time(frame: pd.DataFrame) -> pd.Series:
    return frame["time_start"].dt.tz_convert("Europe/Paris")


def test_unknown_size_is_rejected_naming_the_allowed_ones():
    with pytest.raises(ValueError, match=r"unknown size 'huge' for traffic_counts; choose one of tiny, demo, full"):
        tr.generate("huge")


def test_tiny_is_deterministic_and_validates_unchanged():
    first = tr.generate("tiny", seed=3)
    pd.testing.assert_frame_equal(first, tr.generate("tiny", seed=3))
    assert not first.equals(tr.generate("tiny", seed=4))
    kept, quarantined = tr.SCHEMA.validate(first, "generated")
    assert len(quarantined) == 0
    pd.testing.assert_frame_equal(kept, first)
    assert first["counter_id"].nunique() == 6 and len(first) == 6 * 3 * 24
    assert first["time_start"].diff().dropna().isin([pd.Timedelta(hours=1), -pd.Timedelta(hours=71)]).all()


def test_catalogue_entry():
    assert (tr.NAME, tr.KIND) == ("traffic_counts", "table")
    assert tr.METADATA["licence"] == "Licence Ouverte 2.0" and tr.METADATA["access"] == "public"
    assert tr.METADATA["personal_data"] is False
    keys = {"title_fr", "title_en", "description", "producer", "update_frequency", "spatial_coverage", "temporal_coverage", "tags"}
    assert keys <= set(tr.METADATA)
    assert set(tr.SIZES) == {"tiny", "demo", "full"}
    assert tr.SIZES["full"]["counters"] == 150 and tr.SIZES["full"]["days"] >= 365


def test_counters_sit_on_real_roads_and_places():
    table = tr.counters()
    assert len(table) == 150 and table["counter_id"].is_unique
    assert {"A61", "A9", "A62", "A75", "A620", "A709"} <= set(table["road"])
    assert set(table["road_type"]) == set(tr.ROAD_TYPES)
    assert (table.groupby("counter_name").size() == 2).all(), "each section is counted in both directions"
    assert (table["insee_code"].str[:2].map(tr.DEPARTMENTS) == table["department"]).all()
    assert table["longitude"].between(-0.5, 5.0).all() and table["latitude"].between(42.3, 45.1).all()
    assert set(table.loc[table["commune"] == "Toulouse", "insee_code"]) == {"31555"}
    assert set(table.loc[table["commune"] == "Montpellier", "insee_code"]) == {"34172"}
    city = table[table["road_type"].isin(["urban", "ring_road"])]
    assert set(city["commune"].str.cat(city["department"], sep="/")) >= {"Toulouse/Haute-Garonne", "Montpellier/Hérault"}
    assert len(tr.counters(6)["road_type"].unique()) >= 3, "a small selection still mixes road types"


def test_demo_validates_with_nothing_quarantined(demo):
    kept, quarantined = tr.SCHEMA.validate(demo, "generated")
    assert len(quarantined) == 0 and len(kept) == 150 * 30 * 24


def test_weekday_rush_hours_and_later_lighter_weekends(demo):
    commuting = demo[demo["road_type"].isin(["urban", "ring_road"])]
    when = local_time(commuting)
    hour, dow = when.dt.hour, when.dt.day_of_week
    weekday = commuting[dow < 5].groupby(hour[dow < 5])["vehicles"].mean()
    sunday = commuting[dow == 6].groupby(hour[dow == 6])["vehicles"].mean()
    assert weekday[8] > 1.5 * weekday[12] and weekday[17] > 1.5 * weekday[12], "morning and evening rush hours"
    assert weekday[8] > 10 * weekday[3]
    assert sunday[8] < 0.4 * weekday[8] and sunday.idxmax() >= 11, "Sunday traffic starts later"
    per_day = commuting.groupby(when.dt.date)["vehicles"].sum()
    weekend = np.array([day.weekday() >= 5 for day in per_day.index])
    assert per_day[weekend].mean() < 0.8 * per_day[~weekend].mean()


def test_school_holidays_lower_commuting(demo):
    commuting = demo[demo["road_type"].isin(["urban", "ring_road"])]
    when = local_time(commuting)
    morning = commuting[(when.dt.hour == 8) & (when.dt.day_of_week < 5)]
    on_holiday = tr.school_holidays(local_time(morning).dt.tz_localize(None))
    assert on_holiday.any() and (~on_holiday).any()
    holiday_mean = morning.loc[on_holiday, "vehicles"].mean()
    term_mean = morning.loc[~on_holiday, "vehicles"].mean()
    assert holiday_mean < 0.85 * term_mean, "the February holidays thin the morning rush"


def test_school_and_public_holiday_calendars():
    days = pd.to_datetime(["2024-02-12", "2024-02-27", "2024-07-15", "2024-09-02", "2024-10-25",
                           "2024-12-24", "2025-01-06", "2025-04-14", "2019-08-01", "2019-10-01"])
    assert tr.school_holidays(days).tolist() == [True, False, True, False, True, True, False, True, True, False]
    assert tr.easter(2024) == dt.date(2024, 3, 31) and tr.easter(2025) == dt.date(2025, 4, 20)
    holidays = tr.public_holidays([2024])
    assert {dt.date(2024, 4, 1), dt.date(2024, 5, 9), dt.date(2024, 5, 20), dt.date(2024, 7, 14)} <= holidays
    assert len(holidays) == 11


def test_ring_roads_slow_down_at_rush_hour_and_motorways_hardly(demo):
    when = local_time(demo)
    weekday = demo[when.dt.day_of_week < 5]
    speed = weekday.groupby([weekday["road_type"], local_time(weekday).dt.hour])["mean_speed_kmh"].mean()
    assert speed["ring_road", 8] < 0.7 * speed["ring_road", 3]
    assert speed["ring_road", 17] < 0.7 * speed["ring_road", 3]
    assert speed["motorway", 8] > 0.9 * speed["motorway", 3]
    assert speed["urban", 3] < 50, "night speeds in town stay near the limit"


def test_incidents_cut_speed_and_counts_for_a_few_hours_at_one_counter(demo):
    when = local_time(demo)
    frame = demo.assign(hour=when.dt.hour, weekend=when.dt.day_of_week >= 5)
    usual = frame[~frame["incident"]].groupby(["counter_id", "weekend", "hour"])[["vehicles", "mean_speed_kmh"]].median()
    hit = frame[frame["incident"]].merge(usual, on=["counter_id", "weekend", "hour"], suffixes=("", "_usual"))
    assert len(hit) >= 20
    assert (hit["mean_speed_kmh"] < 0.5 * hit["mean_speed_kmh_usual"]).mean() > 0.9
    assert (hit["vehicles"] < 0.8 * hit["vehicles_usual"]).mean() > 0.8
    flags = demo.pivot(index="time_start", columns="counter_id", values="incident").astype(bool)
    runs = [len(run) for column in flags for run in np.split(flags[column].to_numpy(), np.flatnonzero(np.diff(flags[column].to_numpy())) + 1) if run[0]]
    assert 2 <= np.median(runs) <= 5 and max(runs) <= 10, "incidents last a few hours"
    at_once = flags.sum(axis=1)[flags.any(axis=1)]
    assert at_once.median() == 1 and at_once.max() <= 4, "an incident hits one counter, not the network"


def test_lorries_keep_off_the_motorways_on_sundays(demo):
    motorway = demo[demo["road_type"] == "motorway"]
    when = local_time(motorway)
    daytime = when.dt.hour.between(10, 18)
    weekday = motorway.loc[daytime & (when.dt.day_of_week < 5), "heavy_share"].mean()
    sunday = motorway.loc[daytime & (when.dt.day_of_week == 6), "heavy_share"].mean()
    assert weekday > 0.12 and sunday < weekday / 3


def test_speed_and_heavy_share_are_empty_exactly_when_no_vehicle_passed():
    quiet = tr.counters(4).assign(daily=6.0)
    frame = tr.generate_counts(quiet, "2024-03-04", 2, seed=2)
    empty = frame["vehicles"] == 0
    assert 0 < empty.mean() < 1
    assert (frame["mean_speed_kmh"].isna() == empty).all() and (frame["heavy_share"].isna() == empty).all()
    assert frame["heavy_share"].dropna().between(0, 1).all()
    assert len(tr.SCHEMA.validate(frame, "generated")[1]) == 0


def test_summer_brings_tourists_to_the_coast_and_empties_the_city():
    table = tr.counters()
    table = table[table["road"].str.match(r"D\d") | (table["road_type"] == "urban")].reset_index(drop=True)
    june = tr.generate_counts(table, "2024-06-03", 12, seed=5)
    august = tr.generate_counts(table, "2024-07-29", 12, seed=5)

    def weekday_mean(frame, kind, hour=None):
        when = local_time(frame)
        rows = (frame["road_type"] == kind) & (when.dt.day_of_week < 5) & (when.dt.date != dt.date(2024, 8, 15))
        if hour is not None:
            rows &= when.dt.hour == hour
        return frame.loc[rows, "vehicles"].mean()

    assert weekday_mean(august, "trunk") > 1.8 * weekday_mean(june, "trunk"), "seaside roads fill up"
    assert weekday_mean(august, "urban", 8) < 0.8 * weekday_mean(june, "urban", 8), "fewer commuters"
