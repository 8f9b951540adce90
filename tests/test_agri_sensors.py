"""agri_sensors: the generator's contract, and the shapes of real vineyard sensor data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from occidata.datasets import agri_sensors as ag

SEED = 5


@pytest.fixture(scope="module")
def table():
    return ag.vineyards(6)


@pytest.fixture(scope="module")
def year(table):
    """A simulated year at six vineyards: the true state, and what the probes reported."""
    state = ag.simulate(table, "2024-01-01", 366, seed=SEED)
    readings = ag.generate_sensors(table, "2024-01-01", 366, seed=SEED)
    return state, readings


def monthly_means(values: np.ndarray, times: pd.DatetimeIndex) -> pd.DataFrame:
    """Monthly means (local time) of an array whose last axis is time."""
    flat = values.reshape(-1, values.shape[-1]).T
    months = times.tz_convert("Europe/Paris").month
    return pd.DataFrame(flat).groupby(months).mean()


def test_unknown_size_is_rejected_naming_the_allowed_ones():
    with pytest.raises(ValueError, match=r"unknown size 'xl' for agri_sensors; choose one of tiny, demo, full"):
        ag.generate("xl")


def test_tiny_is_deterministic_and_validates_unchanged():
    first = ag.generate("tiny", seed=3)
    pd.testing.assert_frame_equal(first, ag.generate("tiny", seed=3))
    assert not first.equals(ag.generate("tiny", seed=4))
    kept, quarantined = ag.SCHEMA.validate(first, "generated")
    assert len(quarantined) == 0
    pd.testing.assert_frame_equal(kept, first)
    assert first["sensor_id"].nunique() == 6
    assert len(first) < 6 * 3 * 24, "even three days show a transmission gap"


def test_catalogue_entry_is_restricted_to_partners():
    assert (ag.NAME, ag.KIND) == ("agri_sensors", "table")
    assert ag.METADATA["access"] == "partner" and ag.METADATA["licence"] == "restricted"
    assert ag.METADATA["personal_data"] is False
    assert "partners" in ag.METADATA["description"]
    assert set(ag.SIZES) == {"tiny", "demo", "full"} and ag.SIZES["full"]["days"] >= 365


def test_vineyards_are_in_their_appellations():
    vines = ag.vineyards()
    assert len(vines) == 24 and vines["station"].is_unique and vines["vineyard"].is_unique
    assert set(vines["appellation"]) == set(ag.APPELLATIONS)
    assert all(list(d) == sorted(d) and len(d) == 3 for d in vines["depths"])
    assert (vines["insee_code"].str[:2].map(ag.DEPARTMENTS) == vines["department"]).all()
    assert vines["longitude"].between(-0.5, 5.0).all() and vines["latitude"].between(42.3, 45.1).all()
    place = vines.set_index("appellation")[["commune", "insee_code"]]
    assert tuple(place.loc["Fronton"].iloc[0]) == ("Fronton", "31202")
    assert set(place.loc["Picpoul de Pinet", "insee_code"]) == {"34203", "34101"}
    assert set(ag.vineyards(8)["appellation"]) == set(ag.APPELLATIONS), "a selection spreads over appellations"


def test_demo_validates_with_nothing_quarantined():
    demo = ag.generate("demo")
    kept, quarantined = ag.SCHEMA.validate(demo, "generated")
    assert len(quarantined) == 0 and len(kept) == len(demo)
    assert demo["sensor_id"].nunique() == 72


def test_air_temperature_has_daily_and_seasonal_cycles(year):
    state, readings = year
    when = readings["time_start"].dt.tz_convert("Europe/Paris")
    july = readings[when.dt.month == 7]
    by_hour = july.groupby(when[july.index].dt.hour)["air_temperature_c"].mean()
    assert by_hour[16] > by_hour[5] + 8, "afternoon warmer than dawn"
    monthly = readings.groupby(when.dt.month)["air_temperature_c"]
    assert monthly.mean()[7] > monthly.mean()[1] + 12, "hot summer, mild winter"
    assert monthly.max()[[6, 7, 8]].max() > 33 and monthly.min()[[12, 1, 2]].min() < 3


def test_summer_is_dry_and_soils_dry_out_deeper_more_slowly(year, table):
    state, _ = year
    rain = monthly_means(state["rain"], state["times"]) * 24 * 30
    mediterranean = [i for i, a in enumerate(table["appellation"]) if a not in ("Gaillac", "Fronton")]
    regional = rain[mediterranean].mean(axis=1)
    assert regional[[7, 8]].sum() < 0.15 * regional.sum(), "little rain in July and August"
    assert regional[[9, 10, 11]].sum() > 2 * regional[[7, 8]].sum(), "autumn storms"

    moisture = state["soil_moisture_pct"]
    for probe in range(3):
        months = monthly_means(moisture[:, probe], state["times"])
        assert months.loc[8].mean() < 0.8 * months.loc[3].mean(), f"probe {probe} dries out by August"
        assert (months.loc[[7, 8]].min() < 0.8 * months.loc[3]).all(), "every vineyard dries in summer"
    # In rain-free spells of early summer the surface loses water fastest, the deepest probe slowest.
    rained = np.stack([np.convolve(hours > 0, np.ones(72))[: hours.size] > 0 for hours in state["rain"]])
    early_summer = np.isin(state["times"].tz_convert("Europe/Paris").month, (5, 6))
    dry_spell = ~rained[:, 1:] & early_summer[None, 1:]
    loss = -np.diff(moisture, axis=2)
    rates = np.array([[loss[v, probe][dry_spell[v]].mean() for probe in range(3)] for v in range(len(table))])
    assert (rates[:, 0] > rates[:, 2]).all() and (rates > 0).all()
    mean_rate = rates.mean(axis=0)
    assert mean_rate[0] > mean_rate[1] > mean_rate[2]


def test_rain_makes_soil_moisture_jump_later_and_less_deeper(year):
    state, _ = year
    rain, moisture = state["rain"], state["soil_moisture_pct"]
    daily = rain.reshape(len(rain), -1, 24).sum(axis=2)
    rises, peaks = [], []
    for vineyard, day in zip(*np.nonzero(daily >= 20)):
        start = day * 24
        if start == 0 or start + 96 > moisture.shape[2]:
            continue
        window = moisture[vineyard, :, start:start + 96]
        rises.append(window.max(axis=1) - moisture[vineyard, :, start - 1])
        peaks.append(window.argmax(axis=1))
    rises, peaks = np.array(rises), np.array(peaks)
    assert len(rises) >= 10
    assert np.median(rises[:, 0]) > 2, "the surface probe jumps after a rainy day"
    assert np.median(rises[:, 2]) < np.median(rises[:, 0]), "deeper, the jump is smaller"
    responding = rises[:, 2] > 0.5
    assert np.median(peaks[responding, 2] - peaks[responding, 0]) >= 12, "and comes later"
    steps = np.abs(np.diff(moisture, axis=2)).mean(axis=(0, 2))
    assert steps[0] > steps[1] > steps[2]


def test_loggers_drop_out_for_hours_at_a_time(year, table):
    state, readings = year
    hours = len(state["times"])
    assert len(readings) < len(table) * 3 * hours
    present = readings.assign(station=readings["sensor_id"].str[:4]).pivot_table(
        index="time_start", columns="station", values="depth_cm", aggfunc="size", fill_value=0
    ).reindex(state["times"], fill_value=0)
    whole_logger_gaps = (present == 0).to_numpy().sum()
    single_probe_gaps = ((present > 0) & (present < 3)).to_numpy().sum()
    assert whole_logger_gaps > single_probe_gaps, "gaps are mostly the logger not transmitting"
    longest = max(
        max((len(run) for run in np.split(col, np.flatnonzero(np.diff(col)) + 1) if run[0]), default=0)
        for col in (present == 0).to_numpy().T
    )
    assert longest >= 3


def test_readings_are_the_simulated_state_seen_by_real_probes(year, table):
    state, readings = year
    first = readings[readings["sensor_id"] == readings["sensor_id"].iloc[0]]
    index = state["times"].get_indexer(first["time_start"])
    truth_temperature = state["air_temperature_c"][0, index].round(1)
    np.testing.assert_allclose(first["air_temperature_c"].to_numpy(dtype=float), truth_temperature)
    truth_moisture = state["soil_moisture_pct"][0, 0, index]
    offset = first["soil_moisture_pct"].to_numpy(dtype=float) - truth_moisture
    assert abs(offset.mean()) < 3.5 and offset.std() < 0.3, "a calibration offset and a little noise"
    assert readings["battery_v"].between(3.3, 4.25).all()
    day = readings.groupby(readings["time_start"].dt.tz_convert("Europe/Paris").dt.hour)["battery_v"].mean()
    assert day[13] > day[2] + 0.05, "solar charging by day"
