"""Curated notebooks: bathing water classes, heat-wave watch, building leaks and waste.

Each runs under papermill on the real occidata-cpu kernel against the tiny data with its
parameter set from notebooks/params/, and its summary.json is checked against the same
analyses computed here directly.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

pytestmark = pytest.mark.notebook

papermill = pytest.importorskip("papermill")

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
LIMIT_S = 60.0


@pytest.fixture
def env(tiny_data_dir, tmp_path, monkeypatch):
    """The environment the kernel inherits: tiny data, a fresh state dir, the summary path."""
    monkeypatch.setenv("OCCIDATA_DATA_DIR", str(tiny_data_dir))
    monkeypatch.setenv("OCCIDATA_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("OCCIDATA_REPORT_SUMMARY", str(tmp_path / "summary.json"))
    monkeypatch.delenv("OCCIDATA_ACCESS_LEVELS", raising=False)
    return monkeypatch


def execute(relative: str, tmp_path: Path) -> dict:
    """Run notebooks/<relative>.ipynb with its tiny parameters; the summary's document."""
    name = Path(relative).name
    parameters = yaml.safe_load((NOTEBOOKS / "params" / f"{name}.yaml").read_text())
    started = time.perf_counter()
    papermill.execute_notebook(
        str(NOTEBOOKS / f"{relative}.ipynb"), str(tmp_path / f"{name}.ipynb"),
        parameters=parameters, kernel_name="occidata-cpu", cwd=str(tmp_path), progress_bar=False,
    )
    elapsed = time.perf_counter() - started
    assert elapsed < LIMIT_S, f"{relative} took {elapsed:.1f} s on the tiny data"
    return json.loads((tmp_path / "summary.json").read_text())


@pytest.mark.parametrize("relative", ["bathing_water/season_classification", "climate/heatwave_watch",
                                      "buildings/leaks_and_waste"])
def test_notebook_is_committed_clean(relative):
    nb = json.loads((NOTEBOOKS / f"{relative}.ipynb").read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "occidata-cpu"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert "parameters" in code[0]["metadata"].get("tags", [])
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    assert "record_summary(" in "".join(code[-1]["source"])
    params = yaml.safe_load((NOTEBOOKS / "params" / f"{Path(relative).name}.yaml").read_text())
    declared = {line.split("=")[0].strip() for line in "".join(code[0]["source"]).splitlines() if "=" in line}
    assert set(params) <= declared


# --------------------------------------------------------------------------- bathing water


def test_season_classification(env, tmp_path):
    from occidata import catalog, compute
    from occidata.compute.bathing_water import CLASSES

    document = execute("bathing_water/season_classification", tmp_path)
    results = document["results"]
    samples = catalog.load("bathing_water")
    params = yaml.safe_load((NOTEBOOKS / "params" / "season_classification.yaml").read_text())
    season, min_samples = params["last_season"], params["min_samples"]
    current = compute.bathing_water_class_table(samples, min_samples=min_samples, last_season=season,
                                                backend="numpy")
    previous = compute.bathing_water_class_table(samples, min_samples=min_samples, last_season=season - 1,
                                                 backend="numpy")

    assert results["last_season"] == season and results["seasons"] == list(range(season - 3, season + 1))
    n_sites = samples["site_id"].nunique()
    assert results["n_sites"] == n_sites == len(results["sites"])
    assert set(results["counts"]) == set(CLASSES)
    assert sum(results["counts"].values()) == n_sites == sum(results["previous_counts"].values())
    for name in CLASSES:
        assert results["counts"][name] == int((current["classification"] == name).sum())
    per_site = {s["site_id"]: s for s in results["sites"]}
    for site_id, row in current.iterrows():
        assert per_site[site_id]["classification"] == row["classification"]
        assert per_site[site_id]["n_samples"] == row["n_samples"]
        assert per_site[site_id]["previous_classification"] == previous.loc[site_id, "classification"]
    changed = set(current.index[current["classification"] != previous["classification"]])
    assert {s["site_id"] for s in results["changed_sites"]} == changed
    # The tiny data hold one season of 8 samples per site: classes with min_samples=8, none before.
    assert results["counts"]["insufficient samples"] == 0
    assert results["previous_counts"]["insufficient samples"] == n_sites
    assert [d["name"] for d in document["datasets"]] == ["bathing_water"]


# --------------------------------------------------------------------------- heat-wave watch


def test_heatwave_watch(env, tmp_path):
    from occidata import catalog, compute
    from occidata.datasets.geography import departments

    results = execute("climate/heatwave_watch", tmp_path)["results"]
    grid = catalog.load("weather_daily")
    alerts = compute.heatwave_alerts_xr(grid, backend="numpy").compute()
    mask = grid["department"].values

    assert results["backend"] == compute.resolve_backend("auto")
    assert results["summer"] == 2023
    assert results["period"] == {"start": "2023-07-15", "end": "2023-08-13", "days": grid.sizes["time"]}
    rows = results["departments"]
    assert [r["code"] for r in rows] == departments()["code"].tolist()  # the 13 of Occitanie
    thresholds = compute.heatwave_thresholds()
    for row in rows:
        code = int(row["code"])
        assert row["cells"] == int((mask == code).sum()) > 0
        assert row["tmax_threshold"] == thresholds[row["code"]]["tmax"]
        assert row["max_cell_alert_days"] == int(alerts["alert_days"].values[mask == code].max())
        assert 0 <= row["episodes"] <= row["alert_days"] <= results["period"]["days"]
        # The department indicator: the mean of its cells, under the same criterion.
        tmin = grid["tmin"].values[:, mask == code].mean(axis=1)
        tmax = grid["tmax"].values[:, mask == code].mean(axis=1)
        direct = compute.heatwave_alerts(tmin, tmax, thresholds[row["code"]]["tmin"],
                                         thresholds[row["code"]]["tmax"], backend="numpy")
        assert row["alert_days"] == int(direct.alert_days)
        assert row["episodes"] == int(direct.episodes)
        assert row["max_ibmx"] == pytest.approx(np.nanmax(direct.ibmx), abs=0.051)
    assert results["alert_days_total"] == sum(r["alert_days"] for r in rows)
    assert results["departments_in_alert"] == [r["code"] for r in rows if r["alert_days"]]
    # One summer of reference on the tiny grid: T75 - T25 of one annual maximum is 0, HWMId undefined.
    hwmid = results["hwmid"]
    assert hwmid["reference_years"] == [2023]
    assert hwmid["cells"] == int((mask > 0).sum())
    assert hwmid["valid_cells"] == 0 and hwmid["max"] is None


# --------------------------------------------------------------------------- buildings


def test_leaks_and_waste(env, tmp_path):
    from occidata import catalog, compute

    env.setenv("OCCIDATA_ACCESS_LEVELS", "partner")
    results = execute("buildings/leaks_and_waste", tmp_path)["results"]
    readings = catalog.load("building_meters")
    labels = catalog.load("building_meters_labels")
    ids = sorted(readings["building_id"].unique())
    readings = readings.sort_values(["building_id", "time_start"])
    water = readings["water_l"].to_numpy().reshape(len(ids), -1)

    assert results["n_buildings"] == len(ids) == len(results["waste"])
    leak_ids = sorted(labels.loc[labels["anomaly"] == "leak", "building_id"])
    left_on = sorted(labels.loc[labels["anomaly"] != "leak", "building_id"])
    assert results["leak_buildings"] == leak_ids
    assert results["after_hours_buildings"] == left_on
    # Litres: the same detection computed directly (winter: local 02:00-04:00 = 01:00-03:00 UTC).
    direct = compute.detect_leaks(compute.minimum_night_flow(water, night=(1, 3), backend="numpy"),
                                  threshold=20.0, nights=2, backend="numpy")
    assert results["litres_lost"] == pytest.approx(float(direct.total_litres.sum()), abs=0.5)
    assert results["litres_lost"] > 0 and results["kwh_wasted"] > 0
    assert results["kwh_wasted"] == pytest.approx(sum(w["after_hours_kwh"] for w in results["waste"]), abs=0.1)
    scores = {s["kind"]: s for s in results["scores"]}
    assert set(scores) == {"leak", "after_hours"}
    for score in scores.values():
        assert 0.0 <= score["precision"] <= 1.0 and 0.0 <= score["recall"] <= 1.0
    assert scores["leak"]["labels"] == len(leak_ids)
    assert scores["after_hours"]["labels"] == len(left_on)
    # On the tiny data every injected anomaly is found and nothing else.
    assert scores["leak"]["recall"] == 1.0 and scores["leak"]["precision"] == 1.0
    assert scores["after_hours"]["recall"] == 1.0 and scores["after_hours"]["precision"] == 1.0
    assert set(results["recall_by_anomaly"]) == set(labels["anomaly"])
    assert all(v == 1.0 for v in results["recall_by_anomaly"].values())


def test_leaks_and_waste_needs_partner_access(env, tmp_path):
    with pytest.raises(papermill.PapermillExecutionError) as failure:
        execute("buildings/leaks_and_waste", tmp_path)
    assert failure.value.ename == "PermissionError"
    assert "demande le niveau d'accès « partner »" in failure.value.evalue
    assert not (tmp_path / "summary.json").exists()
