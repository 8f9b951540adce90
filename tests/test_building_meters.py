"""building_meters: the building calendars, and synthetic readings whose injected anomalies match their labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from occidata.datasets import building_meters as bm

PARIS = "Europe/Paris"


def local(*stamps: str) -> pd.DatetimeIndex:
    """Local (Paris) wall-clock times, as the UTC instants the readings use."""
    return pd.DatetimeIndex(stamps).tz_localize(PARIS).tz_convert("UTC")


@pytest.fixture(scope="module")
def demo():
    readings = bm.generate("demo", seed=0)
    labels = bm.generate_labels("demo", seed=0)
    clock = readings["time_start"].dt.tz_convert(PARIS)
    return readings.assign(hour=clock.dt.hour, weekday=clock.dt.day_of_week), labels


def within(readings: pd.DataFrame, label) -> np.ndarray:
    """Rows of ``readings`` of the label's building inside its [start, end) period."""
    time = readings["time_start"]
    return ((readings["building_id"] == label.building_id) & (time >= label.start) & (time < label.end)).to_numpy()


def labelled(readings: pd.DataFrame, labels: pd.DataFrame, kinds: tuple[str, ...]) -> np.ndarray:
    """Rows of ``readings`` inside a label of one of ``kinds`` for their building."""
    inside = np.zeros(len(readings), dtype=bool)
    for label in labels[labels["anomaly"].isin(kinds)].itertuples():
        inside |= within(readings, label)
    return inside


def test_tiny_is_deterministic_valid_and_matches_its_labels():
    first = bm.generate("tiny", seed=3)
    pd.testing.assert_frame_equal(first, bm.generate("tiny", seed=3))
    assert not first.equals(bm.generate("tiny", seed=4))
    assert list(first.columns) == bm.SCHEMA.names
    assert len(first) == 6 * 14 * 96
    assert set(first["building_type"]) == set(bm.BUILDING_TYPES)

    kept, quarantined = bm.SCHEMA.validate(first, "generated")
    assert len(quarantined) == 0 and len(kept) == len(first)
    steps = first.groupby("building_id")["time_start"].diff().dropna()
    assert (steps == pd.Timedelta(minutes=15)).all()
    assert str(first["time_start"].dt.tz) == "UTC"

    labels = bm.generate_labels("tiny", seed=3)
    pd.testing.assert_frame_equal(labels, bm.generate_labels("tiny", seed=3))
    _, quarantined = bm.LABELS_SCHEMA.validate(labels, "labels")
    assert len(quarantined) == 0
    # The labels are exactly those of the anomalies injected into the readings of that seed.
    buildings = bm.BUILDINGS.head(6)
    readings, truth = bm.simulate(buildings, "2024-02-01", 14, seed=3)
    pd.testing.assert_frame_equal(readings, first)
    pd.testing.assert_frame_equal(truth, labels)


def test_unknown_size_is_refused():
    with pytest.raises(ValueError, match=r"unknown size 'huge'; use one of tiny, demo, full"):
        bm.generate("huge")
    with pytest.raises(ValueError, match="unknown size 'huge'"):
        bm.generate_labels("huge")


def test_buildings_are_real_occitanie_places():
    buildings = bm.BUILDINGS
    assert len(buildings) == 40 and buildings["building_id"].is_unique
    assert set(buildings["building_type"]) == set(bm.BUILDING_TYPES)
    assert buildings["lon"].between(-0.5, 5.0).all() and buildings["lat"].between(42.3, 45.1).all()
    toulouse = buildings[buildings["insee_code"] == "31555"]
    assert set(toulouse["commune"]) == {"Toulouse"} and set(toulouse["department"]) == {"Haute-Garonne"}
    assert (buildings["floor_area_m2"] > 0).all()


def test_occupancy_rules():
    # Tuesday 6 and Wednesday 7 February 2024 are school days; 13 February is in the zone C winter holidays.
    school = bm.occupancy("school", local("2024-02-06 10:00", "2024-02-07 10:00", "2024-02-07 14:00",
                                          "2024-02-13 10:00", "2024-02-06 18:00", "2024-02-03 10:00"))
    assert school.tolist() == [True, True, False, False, False, False]
    assert not bm.occupancy("school", local("2024-05-08 10:00"))[0], "public holiday"
    gym = bm.occupancy("gym", local("2024-02-06 10:00", "2024-02-06 19:00", "2024-02-10 10:00", "2024-02-10 23:00"))
    assert gym.tolist() == [False, True, True, False]
    town_hall = bm.occupancy("town_hall", local("2024-02-05 08:15", "2024-02-05 08:30", "2024-02-05 17:15",
                                                "2024-02-05 17:30", "2024-02-10 10:00"))
    assert town_hall.tolist() == [False, True, True, False, False]
    pool = bm.occupancy("swimming_pool", local("2024-02-11 09:45", "2024-02-11 15:00", "2024-02-13 15:00",
                                               "2024-02-11 20:00"))
    assert pool.tolist() == [False, True, True, False]
    library = bm.occupancy("library", local("2024-02-05 12:00", "2024-02-06 12:00", "2024-02-10 12:00",
                                            "2024-02-11 12:00", "2024-02-06 19:00"))
    assert library.tolist() == [False, True, True, False, False]
    # The rules are in local time: 10:00 in Paris is 09:00 UTC in winter, 08:00 UTC in summer.
    assert bm.occupancy("swimming_pool", pd.DatetimeIndex(["2024-07-01 08:00"], tz="UTC"))[0]
    assert not bm.occupancy("swimming_pool", pd.DatetimeIndex(["2024-01-15 08:00"], tz="UTC"))[0]


def test_occupancy_refuses_what_it_cannot_know():
    with pytest.raises(ValueError, match="unknown building type 'church'"):
        bm.occupancy("church", local("2024-02-06 10:00"))
    with pytest.raises(ValueError, match="timezone-aware"):
        bm.occupancy("gym", pd.DatetimeIndex(["2024-02-06 10:00"]))
    with pytest.raises(ValueError, match="no school calendar for 2027-02-02"):
        bm.occupancy("school", local("2027-02-02 10:00"))
    assert bm.occupancy("swimming_pool", local("2027-02-02 10:00"))[0]
    with pytest.raises(ValueError, match="no school calendar"):
        bm.generate("tiny", year=2027)


def test_generated_occupancy_is_the_calendar():
    readings = bm.generate("tiny", seed=0)
    for kind, rows in readings.groupby("building_type"):
        assert (rows["occupied"].to_numpy() == bm.occupancy(kind, rows["time_start"])).all()
    school = readings[readings["building_id"] == "31555-SCH-01"].set_index("time_start")
    at = local("2024-02-06 10:00", "2024-02-07 10:00", "2024-02-07 14:00", "2024-02-13 10:00")
    assert school.loc[at, "occupied"].tolist() == [True, True, False, False]
    # A holiday weekday looks like a night: no pupils, no water, baseload only.
    holiday = school[school.index.tz_convert(PARIS).normalize() == pd.Timestamp("2024-02-13", tz=PARIS)]
    school_day = school[school.index.tz_convert(PARIS).normalize() == pd.Timestamp("2024-02-06", tz=PARIS)]
    assert holiday["electricity_kwh"].sum() < 0.5 * school_day["electricity_kwh"].sum()
    assert holiday["water_l"].sum() < 0.1 * school_day["water_l"].sum()


def test_labels_lie_in_the_data_and_reference_its_buildings(demo):
    readings, labels = demo
    assert set(labels["anomaly"]) == set(bm.ANOMALIES)
    assert set(labels["building_id"]) <= set(readings["building_id"])
    first, last = readings["time_start"].min(), readings["time_start"].max() + pd.Timedelta(minutes=15)
    assert (labels["start"] >= first).all() and (labels["end"] <= last).all()
    assert (labels["start"] < labels["end"]).all()
    types = labels["building_id"].map(bm.BUILDINGS.set_index("building_id")["building_type"])

    leaks = labels[labels["anomaly"] == "leak"]
    assert (leaks["end"] - leaks["start"]).between(pd.Timedelta(days=2), pd.Timedelta(days=10)).all()
    weekends = labels[labels["anomaly"] != "leak"]
    start, end = weekends["start"].dt.tz_convert(PARIS), weekends["end"].dt.tz_convert(PARIS)
    assert (start.dt.day_of_week == 4).all() and (start.dt.hour == 19).all()
    assert (end.dt.day_of_week == 0).all() and (end.dt.hour == 6).all()
    assert not types[weekends.index].eq("swimming_pool").any(), "pools always run"
    heating = labels["anomaly"] == "heating_on_weekend"
    assert labels.loc[heating, "start"].dt.tz_convert(PARIS).dt.month.isin([11, 12, 1, 2, 3]).all()
    assert not weekends.duplicated(["building_id", "start"]).any()
    assert not bm.generate_labels("demo", seed=1).equals(labels)


def test_each_labelled_leak_raises_the_night_flow(demo):
    readings, labels = demo
    night = readings["hour"].between(2, 4).to_numpy()
    leaking = labelled(readings, labels, ("leak",))
    quiet = readings[night & ~leaking]
    # Without a leak, water at night is close to zero everywhere.
    assert quiet.groupby("building_id")["water_l"].mean().max() < 1.0
    baseline = quiet.groupby("building_id")["water_l"].mean()
    for leak in labels[labels["anomaly"] == "leak"].itertuples():
        flow = readings.loc[within(readings, leak) & night, "water_l"]
        assert len(flow) >= 12, "a leak lasts at least one whole 2-5 am window"
        assert flow.mean() > baseline[leak.building_id] + 15 and flow.mean() > 10 * baseline[leak.building_id], leak


def test_each_weekend_left_on_raises_weekend_night_electricity(demo):
    readings, labels = demo
    weekend_night = (readings["weekday"] >= 5).to_numpy() & readings["hour"].between(0, 4).to_numpy()
    left_on = labelled(readings, labels, ("lights_on_weekend", "heating_on_weekend"))
    normal = readings[weekend_night & ~left_on].groupby("building_id")["electricity_kwh"].mean()
    checked = 0
    for label in labels[labels["anomaly"] != "leak"].itertuples():
        load = readings.loc[within(readings, label) & weekend_night, "electricity_kwh"]
        assert len(load) == 2 * 5 * 4
        assert load.mean() > 1.5 * normal[label.building_id], label
        checked += 1
    assert checked == (labels["anomaly"] != "leak").sum() > 10


def test_consumption_follows_occupancy(demo):
    readings, labels = demo
    normal = readings[~labelled(readings, labels, bm.ANOMALIES)]
    means = normal.groupby(["building_id", "occupied"])[["electricity_kwh", "water_l"]].mean().unstack()
    types = bm.BUILDINGS.set_index("building_id")["building_type"][means.index]
    ratio = means["electricity_kwh", True] / means["electricity_kwh", False]
    # Pools run their pumps and heat their water day and night; the others drop to a baseload.
    assert (ratio[types == "swimming_pool"] > 1.4).all()
    assert (ratio[types != "swimming_pool"] > 3).all()
    assert (means["water_l", True] > 5 * means["water_l", False]).all()


def test_electricity_is_higher_in_winter():
    buildings = bm.BUILDINGS[bm.BUILDINGS["building_id"].isin(["31555-SCH-01", "30189-TWH-01"])]
    readings, labels = bm.simulate(buildings, "2024-01-01", 366, seed=5)
    normal = readings[~labelled(readings, labels, bm.ANOMALIES)]
    month = normal["time_start"].dt.tz_convert(PARIS).dt.month
    means = normal.groupby(["building_id", "occupied", month])["electricity_kwh"].mean()
    for building in buildings["building_id"]:
        for occupied in (True, False):
            assert means[building, occupied, 1] > 1.3 * means[building, occupied, 6], (building, occupied)
