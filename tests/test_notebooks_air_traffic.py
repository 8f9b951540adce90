"""Curated air quality and traffic notebooks run under papermill on the tiny data (issue 5)."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import papermill
import pytest
import yaml

from occidata import compute

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
UTC1 = "Etc/GMT-1"

pytestmark = pytest.mark.notebook


def run_notebook(rel: str, tiny_data_dir, tmp_path, monkeypatch, **overrides) -> dict:
    name = Path(rel).stem
    params = yaml.safe_load((NOTEBOOKS / "params" / f"{name}.yaml").read_text()) or {}
    params.update(overrides)
    monkeypatch.setenv("OCCIDATA_DATA_DIR", str(tiny_data_dir))
    monkeypatch.setenv("OCCIDATA_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("OCCIDATA_REPORT_SUMMARY", str(tmp_path / "summary.json"))
    papermill.execute_notebook(str(NOTEBOOKS / rel), str(tmp_path / f"{name}.ipynb"), parameters=params,
                               kernel_name="occidata-cpu", cwd=str(tmp_path), progress_bar=False)
    return json.loads((tmp_path / "summary.json").read_text())


def air(tiny_data_dir, monkeypatch) -> pd.DataFrame:
    monkeypatch.setenv("OCCIDATA_DATA_DIR", str(tiny_data_dir))
    from occidata import catalog

    a = catalog.load("air_quality_hourly")
    a = a[a["metric"] == "hourly"].copy()
    a["time"] = a["time_start"].dt.tz_convert(UTC1).dt.tz_localize(None)
    return a


@pytest.mark.parametrize("rel", ["air_quality/daily_report.ipynb", "air_quality/annual_assessment.ipynb",
                                 "traffic/mobility_patterns.ipynb"])
def test_notebook_is_clean_with_parameters_cell(rel):
    nb = nbformat.read(NOTEBOOKS / rel, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "occidata-cpu"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", [])
    assert all(not c.outputs and c.execution_count is None for c in code)
    assert "record_summary(" in code[-1].source
    params = yaml.safe_load((NOTEBOOKS / "params" / f"{Path(rel).stem}.yaml").read_text())
    for key in params:
        assert f"\n{key} = " in "\n" + code[0].source


def test_daily_report_takes_the_pollutant_as_commonly_written(tiny_data_dir, tmp_path, monkeypatch):
    # Straight through papermill, as a researcher editing the parameters cell would: no CLI check first.
    summary = run_notebook("air_quality/daily_report.ipynb", tiny_data_dir, tmp_path, monkeypatch, pollutant="pm10")
    assert summary["results"]["pollutant"] == "PM10"


def test_daily_report(tiny_data_dir, tmp_path, monkeypatch):
    summary = run_notebook("air_quality/daily_report.ipynb", tiny_data_dir, tmp_path, monkeypatch)
    res = summary["results"]
    params = yaml.safe_load((NOTEBOOKS / "params" / "daily_report.yaml").read_text())
    day = pd.Timestamp(params["date"])
    a = air(tiny_data_dir, monkeypatch)
    on_day = a[(a["time"] >= day) & (a["time"] < day + pd.Timedelta(days=1))]
    expected = sorted(on_day.loc[on_day["value"].notna(), "station_code"].unique())

    assert res["n_stations"] == len(expected)
    assert sorted(s["station_code"] for s in res["stations"]) == expected
    assert sum(res["atmo_class_counts"].values()) == res["n_stations"]
    for s in res["stations"]:
        assert 0 <= s["atmo_index"] <= 6 and 0 <= s["eaqi_index"] <= 6
        assert s["atmo_label"] == compute.label(s["atmo_index"], "fr", scheme="atmo")
        assert s["eaqi_label"] == compute.label(s["eaqi_index"], "fr", scheme="eaqi")

    # ATMO index of one station recomputed directly from its hours of that day.
    code = expected[0]
    hours = pd.date_range(day, periods=24, freq="h")
    st = on_day[on_day["station_code"] == code]
    hourly = {p: g.set_index("time")["value"].reindex(hours).to_numpy()[None, :]
              for p, g in st.groupby("pollutant")}
    direct = compute.atmo_index(hourly, backend="numpy")
    row = next(s for s in res["stations"] if s["station_code"] == code)
    assert row["atmo_index"] == int(direct.index[0, 0])

    # Exceedances: stations listed have a positive count on the day; counts match a direct computation.
    ex = pd.DataFrame(res["exceedances"])
    assert set(res["stations_in_exceedance"]) == set(ex.loc[ex["count_on_day"] > 0, "station_code"])
    assert set(res["stations_in_exceedance"]) <= set(res["stations_in_exceedance_so_far"])
    assert set(ex["directive"]) == {"2008/50/EC", "2024/2881"}
    year_hours = pd.date_range(pd.Timestamp(day.year, 1, 1), day + pd.Timedelta(hours=23), freq="h")
    assert res["partial_year"]["hours"] == len(year_hours)
    # The year so far: the data also hold ATMO's real hours of March 2020, another year.
    no2 = a[(a["pollutant"] == "NO2") & (a["time"] >= year_hours[0]) & (a["time"] < day + pd.Timedelta(days=1))]
    m = no2.pivot_table(index="station_code", columns="time", values="value").reindex(columns=year_hours)
    direct = compute.exceedances(m.to_numpy(), "NO2", "2024/2881", backend="numpy")["day"]
    got = ex[(ex["pollutant"] == "NO2") & (ex["directive"] == "2024/2881") & (ex["averaging"] == "day")]
    assert dict(zip(got["station_code"], got["count_so_far"])) == dict(zip(m.index, map(int, direct.count)))

    # Map: values between the station values used, stations at that hour.
    mp = res["map"]
    at_hour = no2[no2["time"] == day + pd.Timedelta(hours=params["hour"])]
    assert mp["n_stations_used"] == at_hour["value"].notna().sum() > 0
    vals = list(mp["station_values"].values())
    assert min(vals) - 1e-9 <= mp["min"] <= mp["mean"] <= mp["max"] <= max(vals) + 1e-9
    assert mp["n_cells"] > 0
    assert [d["name"] for d in summary["datasets"]] == ["air_quality_hourly"]


def test_daily_report_date_out_of_range_fails_clearly(tiny_data_dir, tmp_path, monkeypatch):
    with pytest.raises(papermill.PapermillExecutionError, match="avant le premier jour mesuré"):
        run_notebook("air_quality/daily_report.ipynb", tiny_data_dir, tmp_path, monkeypatch, date="2019-06-01")


def test_annual_assessment(tiny_data_dir, tmp_path, monkeypatch):
    res = run_notebook("air_quality/annual_assessment.ipynb", tiny_data_dir, tmp_path, monkeypatch)["results"]
    a = air(tiny_data_dir, monkeypatch)
    a = a[a["time"].dt.year == res["year"]]
    pairs = a[a["value"].notna()].groupby(["station_code", "pollutant"])["value"]
    assert res["hours_in_year"] == (8784 if res["year"] % 4 == 0 else 8760)
    assert len(res["rows"]) == pairs.ngroups
    counts = pairs.size()
    for row in res["rows"]:
        n = counts[(row["station_code"], row["pollutant"])]
        assert row["valid_hours"] == n
        assert row["coverage"] == pytest.approx(n / res["hours_in_year"])
        assert row["mean_available"] == pytest.approx(pairs.mean()[(row["station_code"], row["pollutant"])])
        for directive, status in row["status"].items():
            assert status in ("compliant", "insufficient coverage", "exceeded", "no limit")
            # A week of data: nothing can be declared compliant.
            if row["coverage"] < res["min_coverage"]:
                assert status != "compliant"
    for directive, by_status in res["status_counts"].items():
        assert sum(by_status.values()) == len(res["rows"])
    # Annual means are not valid on a partial year.
    assert all(s["annual_mean"] is None for s in res["standards"] if s["averaging"] == "year")


def test_mobility_patterns(tiny_data_dir, tmp_path, monkeypatch):
    res = run_notebook("traffic/mobility_patterns.ipynb", tiny_data_dir, tmp_path, monkeypatch)["results"]
    from occidata import catalog
    from occidata.datasets import geography

    t = catalog.load("traffic_counts")
    counts = t.pivot_table(index="counter_id", columns="time_start", values="vehicles", aggfunc="sum")
    steps = pd.date_range(counts.columns.min(), counts.columns.max(), freq="h")
    counts = counts.reindex(columns=steps).sort_index()
    local = steps.tz_convert("Europe/Paris")
    labels = local.hour if res["reference"] == "hour_of_day" else local.dayofweek * 24 + local.hour
    direct = compute.traffic_anomalies(counts.to_numpy(dtype="float64"), np.asarray(labels),
                                       threshold=res["threshold"], backend="numpy")
    per = {c["counter_id"]: c for c in res["counters"]}
    assert sorted(per) == list(counts.index) and res["n_counters"] == len(counts)
    flagged = np.asarray(direct.flagged).sum(axis=1)
    assert {c: per[c]["n_anomalies"] for c in per} == dict(zip(counts.index, map(int, flagged)))
    assert res["n_anomalies"] == int(flagged.sum()) == sum(c["n_anomalies"] for c in res["counters"])

    # Stations measuring while the counters count (not those of ATMO's real March 2020 hours).
    a = catalog.load("air_quality_hourly", start=t["time_start"].min(), end=t["time_start"].max() + pd.Timedelta(hours=1))
    st = a[a["pollutant"] == "NO2"].drop_duplicates("station_code").set_index("station_code")
    sx, sy = geography.wgs84_to_lambert93(st["longitude"].to_numpy(), st["latitude"].to_numpy())
    cnt = t.drop_duplicates("counter_id").set_index("counter_id").sort_index()
    for cid, row in cnt.iterrows():
        cx, cy = geography.wgs84_to_lambert93(row["longitude"], row["latitude"])
        d = np.hypot(sx - cx, sy - cy) / 1000
        assert per[cid]["nearest_station"] == st.index[d.argmin()]
        assert per[cid]["distance_km"] == pytest.approx(d.min())
