"""The synthetic generators of the entries that have real data: what a machine without ../shared builds.

Every generator runs with ``sources.real_data_dir`` pointed at an empty folder, and a Python audit
hook records the files and folders it opens or lists: none may lie under ``../shared/data``. The
tables must pass the schema as the build validates them, be the same for a seed and differ for
another, cover the period the entry's reference export covers, and keep the shape a notebook relies
on (heat waves to detect, a 30-year reference period, the first lockdown...).
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from occidata.compute.heat import heatwave_alerts, heatwave_thresholds
from occidata.datasets import air_quality as aq
from occidata.datasets import air_quality_means as means
from occidata.datasets import bicycle_counts as bicycles
from occidata.datasets import geography
from occidata.datasets import synop
from occidata.datasets import temperature_departments as departments
from occidata.datasets import temperature_station as station
from occidata.datasets import vehicle_count_campaigns as campaigns
from occidata.datasets.sources import SHARED_DATA

UTC = "UTC"
# Per module: the time column and the first and last time a tiny table covers.
TINY_PERIOD = {
    departments: ("date", "2019-06-01", "2019-08-31"),
    station: ("date", "1981-01-01", "2020-12-31"),
    synop: ("time", "2020-09-08 00:00", "2020-09-14 21:00"),
    bicycles: ("date", "2020-03-01", "2020-04-30"),
    means: ("period_start", "2022-01-01", "2023-12-01"),
    aq: ("time_start", "2024-01-01 00:00", "2024-01-07 23:00"),
}
MODULES = [*TINY_PERIOD, campaigns]

_touched: list[list[str]] = []  # the recordings in progress (the hook cannot be removed once added)


def _record(event: str, args: tuple) -> None:
    if _touched and event in ("open", "os.listdir", "os.scandir") and isinstance(args[0], (str, bytes, os.PathLike)):
        _touched[-1].append(os.fsdecode(args[0]))


sys.addaudithook(_record)


@contextmanager
def paths_touched():
    """The paths opened or listed inside the block (by this process's Python code)."""
    seen: list[str] = []
    _touched.append(seen)
    try:
        yield seen
    finally:
        _touched.remove(seen)


def under_shared(paths: list[str]) -> list[str]:
    shared = SHARED_DATA.resolve()
    return [path for path in paths if Path(os.path.abspath(path)).is_relative_to(shared)]


@pytest.fixture
def no_real_data(tmp_path, monkeypatch):
    """A configuration whose ``sources.real_data_dir`` is an empty folder, as on a machine without ../shared."""
    empty = tmp_path / "no-real-data"
    empty.mkdir()
    monkeypatch.delenv("OCCIDATA_CONFIG", raising=False)
    monkeypatch.setenv("OCCIDATA_SOURCES__REAL_DATA_DIR", str(empty))
    return empty


def tiny(module, seed: int = 0) -> pd.DataFrame:
    return module.generate("tiny", seed)


@pytest.mark.parametrize("module", MODULES, ids=lambda module: module.NAME)
def test_tiny_is_valid_deterministic_seeded_and_reads_no_real_file(module, no_real_data):
    with paths_touched() as touched:
        table, again, other = tiny(module), tiny(module), tiny(module, seed=1)
    assert under_shared(touched) == []
    assert list(table.columns) == module.SCHEMA.names
    kept, quarantined = module.SCHEMA.validate(table, f"generated {module.NAME}")  # as the build validates it
    assert quarantined["reason"].tolist() == [] and len(kept) == len(table)
    assert 50 <= len(table) <= 20_000
    pd.testing.assert_frame_equal(table, again)
    assert not table.equals(other)


@pytest.mark.parametrize("module", list(TINY_PERIOD), ids=lambda module: module.NAME)
def test_tiny_covers_its_period(module, no_real_data):
    column, first, last = TINY_PERIOD[module]
    times = module.SCHEMA.validate(tiny(module), "x")[0][column]
    assert (times.min(), times.max()) == (pd.Timestamp(first, tz=UTC), pd.Timestamp(last, tz=UTC))


@pytest.mark.parametrize("module", [m for m in MODULES if m is not aq], ids=lambda module: module.NAME)
def test_an_unknown_size_names_the_entry_and_the_sizes(module):
    with pytest.raises(ValueError, match=f"unknown size 'huge' for {module.NAME}; choose one of tiny, demo, full"):
        module.generate("huge")


def test_departments_are_occitanie_with_heat_waves_a_detector_finds():
    table = tiny(departments)
    assert tuple(sorted(table["department_code"].unique())) == geography.DEPARTMENT_CODES
    assert table.groupby("department_code").size().eq(92).all() and table["occitanie"].all()
    assert table.set_index("department_code")["department_name"].to_dict()["34"] == "Hérault"
    thresholds = heatwave_thresholds()
    codes = list(departments.CLIMATE)
    wide = {column: table.pivot(index="date", columns="department_code", values=column)[codes].to_numpy()
            for column in ("tmin", "tmax")}
    alerts = heatwave_alerts(wide["tmin"], wide["tmax"], np.array([thresholds[c]["tmin"] for c in codes]),
                             np.array([thresholds[c]["tmax"] for c in codes]), backend="numpy")
    assert alerts.episodes.sum() >= 1
    # The three years of the export: most days are no heat wave, as in the real data.
    demo = departments.generate("demo")
    assert len(demo) == 13 * 1096
    monthly = demo.groupby(demo["date"].dt.month)["tmax"].mean()
    assert monthly[7] > monthly[1] + 15


def test_station_series_has_its_reference_period_warming_and_missing_days():
    table = tiny(station)
    assert set(table["station_id"]) == {"2207"} and set(table["station_name"]) == {"MONTPELLIER-AEROPORT"}
    days = table["date"]
    assert days.diff().iloc[1:].eq(pd.Timedelta(days=1)).all()  # every calendar day, missing ones included
    reference = table[days.dt.year.between(1981, 2010)]
    assert len(reference) == len(pd.date_range("1981-01-01", "2010-12-31"))
    missing = table[table["quality"] == "missing"]
    assert len(missing) >= 1 and missing["tg"].isna().all()
    assert table.loc[table["quality"] != "missing", "tg"].notna().all()
    yearly = table.groupby(days.dt.year)["tg"].mean()
    assert yearly.loc[2011:2020].mean() > yearly.loc[1981:1990].mean() + 0.5
    assert table.set_index("date")["source_id"].loc[["2019-12-31", "2020-01-01"]].tolist() == ["107225", "907643"]
    demo = station.generate("demo")
    assert (demo["date"].iloc[0], demo["date"].iloc[-1]) == (pd.Timestamp("1946-01-01", tz=UTC),
                                                              pd.Timestamp("2021-02-28", tz=UTC))


def test_synop_is_three_hourly_and_physically_consistent():
    table = synop.generate("demo")
    assert len(table) == 31 * 8 and table["time"].diff().iloc[1:].eq(pd.Timedelta(hours=3)).all()
    assert set(table["station_id"]) == {"07643"}
    assert (table["dew_point"] <= table["temperature"]).all()
    afternoon = table["time"].dt.hour.isin([12, 15])
    assert table.loc[afternoon, "temperature"].mean() > table.loc[~afternoon, "temperature"].mean() + 2
    assert table.loc[afternoon, "humidity"].mean() < table.loc[~afternoon, "humidity"].mean()
    gust = table["wind_gust"].notna()
    assert (table.loc[gust, "wind_gust"] >= table.loc[gust, "wind_speed"]).all()
    # A trace is 0 mm, flagged; the 24-hour total is the last eight 3-hour amounts.
    assert (table.loc[table["rain_3h_trace"], "rain_3h"] == 0).all()
    known = table["rain_24h"].notna()
    last_day = table["rain_3h"].rolling(8).sum().round(1)
    assert np.allclose(table.loc[known, "rain_24h"], last_day[known])


def test_bicycle_counts_fall_in_the_lockdown_and_at_weekends():
    table = tiny(bicycles)
    assert table["counter_id"].nunique() == 4 and set(table["counter_id"]) <= set(bicycles.COUNTERS)
    day = table["date"]
    lockdown = table[day.between(pd.Timestamp("2020-03-17", tz=UTC), pd.Timestamp("2020-04-30", tz=UTC))]
    before = table[day < pd.Timestamp("2020-03-17", tz=UTC)]
    assert lockdown["count"].mean() < 0.5 * before["count"].mean()
    weekend = before["date"].dt.day_of_week >= 5
    assert before.loc[weekend, "count"].mean() < before.loc[~weekend, "count"].mean()
    demo = bicycles.generate("demo")
    first = demo.groupby("counter_id")["date"].min().dt.strftime("%Y-%m-%d").to_dict()
    assert first == {counter: spec[3] for counter, spec in bicycles.COUNTERS.items()}
    assert demo["date"].max() == pd.Timestamp("2024-11-30", tz=UTC)
    place = demo.drop_duplicates("counter_id").set_index("counter_id")
    assert place.loc["X2H19070220", ["lane_id", "longitude", "latitude"]].tolist() == ["121403593", 3.89694, 43.609699]


def test_campaigns_are_weeks_in_both_directions_from_1996_to_2013():
    table = campaigns.generate("demo")
    assert 300 <= len(table) <= 1000
    assert table["date_start"].dt.year.min() == 1996 and table["date_end"].max() <= pd.Timestamp("2013-10-31", tz=UTC)
    assert (table["date_end"] - table["date_start"]).eq(pd.Timedelta(days=6)).all()
    assert table["section_id"].str.fullmatch(r"\d+TR\d+").all()
    ends = {street: (one, other) for street, one, other, *_ in campaigns.STREETS}
    ways = table.groupby(["street", "section_id", "date_start"])["direction"].agg(set)
    pairs = ways[ways.map(len) == 2]
    assert len(pairs) > 50 and len(pairs) < len(ways)  # a campaign counts one direction or both
    assert all(found == {f"{ends[street][0]}-{ends[street][1]}", f"{ends[street][1]}-{ends[street][0]}"}
               for (street, *_), found in pairs.items())
    regulation = table["counter_type"] == "regulation"
    assert regulation.any() and table.loc[regulation, "speed_limit_kmh"].isna().all()
    assert table.loc[regulation, "date_start"].dt.year.min() >= 2011


def test_means_have_months_and_years_with_seasons_and_traffic():
    table = means.generate("demo")
    assert table["station_code"].nunique() == 12 and set(table["pollutant"]) == {"NO2", "O3", "PM10", "PM2.5"}
    months, years = table[table["period"] == "month"], table[table["period"] == "year"]
    assert sorted(years["period_start"].dt.year.unique()) == [2022, 2023]
    of_months = months.groupby(["station_code", "pollutant", months["period_start"].dt.year])["value"].mean()
    annual = years.set_index(["station_code", "pollutant", years["period_start"].dt.year])["value"]
    assert ((annual / of_months.loc[annual.index] - 1).abs() < 0.15).all()
    month = months["period_start"].dt.month
    by_month = months.groupby(["pollutant", month])["value"].mean()
    assert by_month["O3", 7] > 1.3 * by_month["O3", 1] and by_month["NO2", 1] > 1.3 * by_month["NO2", 7]
    no2 = months[months["pollutant"] == "NO2"].groupby("influence")["value"].mean()
    assert no2["traffic"] > 2 * no2["background"]


def test_air_quality_falls_back_to_the_builtin_stations(no_real_data):
    table = tiny(aq)
    builtin = aq.builtin_stations()
    assert len(builtin) == 12 and builtin["station_code"].str.fullmatch(r"FR5\d{4}").all()
    assert table["station_code"].nunique() == 6 and set(table["station_code"]) <= set(builtin["station_code"])
    # The coordinates agree: Lambert-93 x/y are the WGS84 longitude/latitude.
    longitude, latitude = geography.lambert93_to_wgs84(builtin["x_l93"].to_numpy(), builtin["y_l93"].to_numpy())
    assert np.allclose(longitude, builtin["longitude"], atol=1e-4)
    assert np.allclose(latitude, builtin["latitude"], atol=1e-4)
    assert set(builtin["department"]) >= {"HAUTE-GARONNE", "HERAULT", "GARD", "AVEYRON"}
    assert set(builtin["influence"]) == {"background", "traffic", "industrial"}


def test_air_quality_keeps_the_real_stations_when_the_exports_are_there():
    exports = SHARED_DATA / "real"
    if not any(exports.glob(aq.STATION_EXPORTS)):
        pytest.fail(f"the real ATMO exports are expected under {exports} (../shared/data beside the checkout)")
    table = aq.generate("tiny", real_data_dir=exports)
    real = set(aq.real_stations(exports)["station_code"])
    assert set(table["station_code"]) <= real
    assert not set(table["station_code"]) <= set(aq.builtin_stations()["station_code"])
