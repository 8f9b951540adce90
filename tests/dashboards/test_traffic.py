"""Dashboard "trafic-air" on the tiny data: traffic per counter beside NO2 at the nearest station."""

from __future__ import annotations

import html as html_lib
import re
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import papermill
import pytest

from occidata import catalog, compute
from occidata.dashboards import BY_SLUG, data as dash_data, layout, traffic
from occidata.datasets import geography

REPO = Path(__file__).resolve().parents[2]
TZ = "Europe/Paris"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(scope="module")
def env(module_env):
    return module_env


@pytest.fixture(scope="module")
def loaded(env):
    return traffic.load()


@pytest.fixture(scope="module")
def counts(env):
    frame = catalog.load("traffic_counts")
    frame["local"] = frame["time_start"].dt.tz_convert(TZ)
    return frame


@pytest.fixture(scope="module")
def no2(env):
    air = catalog.load("air_quality_hourly")
    return air[(air["pollutant"] == "NO2") & (air["metric"] == "hourly")]


def rows_of(html: str, caption: str) -> list[list[str]]:
    start = html.index(f"<caption>{html_lib.escape(caption, quote=True)}")
    body = html[start:html.index("</table>", start)]
    return [[html_lib.unescape(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body.split("<tbody>")[1])]


def on_day(frame: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    local_day = frame["local"].dt.tz_localize(None).dt.normalize()
    return frame[local_day == day]


def test_latest_day_and_vehicles_per_counter(loaded, counts):
    day = counts["local"].max().tz_localize(None).normalize()
    assert loaded.latest_day() == day
    table = traffic.counter_table(loaded, day)
    expected = on_day(counts, day).groupby("counter_id")["vehicles"].sum()
    assert dict(zip(table["counter_id"], table["vehicles"].astype(int))) == expected.astype(int).to_dict()
    html = traffic.view(loaded)
    assert f"Dernières données : <strong>{day:%d/%m/%Y}</strong>" in html
    total = f"{int(expected.sum()):,}".replace(",", "\u202f")
    assert f"{total} véhicules comptés le {day:%d/%m/%Y}</span> sur {len(expected)} points de comptage" in html


def test_nearest_station_and_its_no2(loaded, counts, no2):
    day = loaded.latest_day()
    table = traffic.counter_table(loaded, day)
    stations = no2.drop_duplicates("station_code").set_index("station_code").sort_index()
    # The stations measuring during the counts (an export of other years holds others).
    measuring = no2.loc[no2["time_start"].between(counts["time_start"].min(), counts["time_start"].max()),
                        "station_code"]
    stations = stations[stations.index.isin(set(measuring))]
    sx, sy = geography.wgs84_to_lambert93(stations["longitude"].to_numpy(), stations["latitude"].to_numpy())
    cx, cy = geography.wgs84_to_lambert93(table["longitude"].to_numpy(), table["latitude"].to_numpy())
    distance = np.hypot(cx[:, None] - sx[None, :], cy[:, None] - sy[None, :]) / 1000.0
    assert list(table["nearest_station"]) == list(stations.index[distance.argmin(axis=1)])
    np.testing.assert_allclose(table["distance_km"], distance.min(axis=1).round(1))
    local = no2.assign(local=no2["time_start"].dt.tz_convert(TZ))
    local = local[local["time_start"].between(counts["time_start"].min(), counts["time_start"].max())]
    means = on_day(local, day).groupby("station_code")["value"].mean().round(1)
    for station, value in zip(table["nearest_station"], table["no2"]):
        assert value == pytest.approx(means.get(station, np.nan), nan_ok=True)


def test_a_station_of_other_years_never_takes_a_counter(env, loaded):
    # An older ATMO export ingested beside the current data: a station right on a counter, measuring NO2 in 2020.
    rows, air = catalog.load("traffic_counts"), catalog.load("air_quality_hourly")
    counter = loaded.counters.index[0]
    old = air[(air["pollutant"] == "NO2") & (air["metric"] == "hourly")].head(24).assign(
        station_code="FR99999", station_name="Station de 2020",
        longitude=loaded.counters.loc[counter, "longitude"], latitude=loaded.counters.loc[counter, "latitude"])
    old["time_start"] -= pd.DateOffset(years=4)
    old["time_end"] -= pd.DateOffset(years=4)
    data = traffic.prepare(rows, pd.concat([air, old], ignore_index=True))
    assert data.counters.loc[counter, "nearest_station"] == loaded.counters.loc[counter, "nearest_station"]
    assert "FR99999" not in set(data.counters["nearest_station"])
    assert traffic.counter_table(data, data.latest_day())["no2"].notna().all()


def test_unusual_hours_are_compute_traffic_anomalies(loaded, counts):
    steps = pd.date_range(counts["time_start"].min(), counts["time_start"].max(), freq="h")
    ids = list(loaded.counters.index)
    matrix = counts.pivot_table(index="counter_id", columns="time_start", values="vehicles", aggfunc="sum")
    matrix = matrix.reindex(index=ids, columns=steps).to_numpy(dtype=float)
    local = steps.tz_convert(TZ)
    weekly = (local[-1] - local[0]) >= pd.Timedelta(days=28)
    labels = np.asarray(local.dayofweek * 24 + local.hour if weekly else local.hour)
    flagged = np.asarray(compute.traffic_anomalies(matrix, labels, threshold=3.5).flagged)
    np.testing.assert_array_equal(loaded.unusual, flagged)
    day = loaded.latest_day()
    mask = np.asarray(local.tz_localize(None).normalize() == day)
    table = traffic.counter_table(loaded, day)
    assert list(table["unusual"]) == list(flagged[:, mask].sum(axis=1))


def test_map_and_table_carry_the_same_values(loaded):
    day = loaded.latest_day()
    html = traffic.view(loaded)
    table = traffic.counter_table(loaded, day)
    rows = rows_of(html, f"Trafic du {day:%d/%m/%Y} par point de comptage")
    titles = [html_lib.unescape(t) for t in re.findall(r'class="od-point"[^>]*><title>(.*?)</title>', html)]
    assert len(titles) == len(table) + len(loaded.stations)
    for row, title, (_, c) in zip(rows, titles, table.iterrows()):
        vehicles = f"{int(c['vehicles']):,}".replace(",", "\u202f")
        assert row[0] == c["counter_name"] and row[1] == str(int(c["vehicles"]))
        assert title == f"{c['counter_name']} : {vehicles} véhicules"
    station_rows = rows_of(html, f"Stations de mesure du NO₂, moyenne du {day:%d/%m/%Y}")
    for row, title in zip(station_rows, titles[len(table):]):
        assert title.startswith(f"{row[0]} : NO₂ ")
        if row[1] != "—":
            assert f"NO₂ {float(row[1]):.1f} µg/m³" in title
    assert html.count("<h1>") == 1 and 'role="img"' in html


def test_hourly_table_matches_the_counts(loaded, counts):
    day = loaded.latest_day()
    counter = traffic.default_counter(loaded)
    assert loaded.counters.loc[counter, "road_type"] in traffic.MAIN_ROADS
    hours = traffic.hourly_table(loaded, counter, day)
    rows = on_day(counts[counts["counter_id"] == counter], day).sort_values("time_start")
    np.testing.assert_array_equal(hours["vehicles"].to_numpy(), rows["vehicles"].to_numpy(dtype=float))
    html = traffic.view(loaded, counter=counter)
    name = f"{loaded.counters.loc[counter, 'counter_name']} ({loaded.counters.loc[counter, 'direction']})"
    station = loaded.stations.loc[loaded.counters.loc[counter, "nearest_station"], "station_name"]
    table_rows = rows_of(html, f"{name} et NO₂ à {station}, heure par heure, {day:%d/%m/%Y}")
    assert [int(r[1]) for r in table_rows] == list(rows["vehicles"])
    assert "Valeur limite horaire de l&#x27;UE (200)" in html


def test_selection_changes_the_output(loaded):
    days = loaded.days()
    base = traffic.view(loaded)
    other_counter = next(c for c in loaded.counters.index if c != traffic.default_counter(loaded))
    assert traffic.view(loaded, counter=other_counter) != base
    assert traffic.view(loaded, day=days[0]) != base and f"comptés le {days[0]:%d/%m/%Y}" in traffic.view(loaded, day=days[0])
    with pytest.raises(ValueError):
        traffic.view(loaded, counter="nope")
    with pytest.raises(ValueError):
        traffic.view(loaded, day="2019-01-01")


def test_main_roads_listed_first(loaded):
    types = list(loaded.counters["road_type"])
    ranks = [traffic.MAIN_ROADS.index(t) if t in traffic.MAIN_ROADS else len(traffic.MAIN_ROADS) for t in types]
    assert ranks == sorted(ranks)


def test_english_view(loaded):
    html = traffic.view(loaded, lang="en")
    assert 'class="od-dashboard" lang="en"' in html and "<h1>Traffic and air</h1>" in html
    assert "Latest data:" in html and "vehicles counted on" in html and "véhicules" not in html
    assert "Motorway" in html


def test_tiles_only_when_configured(loaded):
    assert "<image" not in traffic.view(loaded)
    with_tiles = traffic.TrafficData(**{**loaded.__dict__, "tiles_url": "http://127.0.0.1:8080/{z}/{x}/{y}.png"})
    hrefs = re.findall(r'<image href="([^"]+)"', traffic.view(with_tiles))
    assert hrefs and all(h.startswith("http://127.0.0.1:8080/") for h in hrefs)


def test_not_public_shows_no_data(env, monkeypatch):
    monkeypatch.setattr(dash_data, "entry_access", lambda name: "restricted" if name == "traffic_counts" else "public")
    shown = []
    monkeypatch.setattr(layout, "display", shown.append)
    traffic.show(snapshot=True)
    html = shown[0].data
    assert "Ces données ne sont pas publiques" in html and "Ramonville" not in html and "véhicules" not in html


def test_controls_labelled(loaded):
    for lang in ("fr", "en"):
        controls = traffic.controls(loaded, lang)
        road = {"topic", "counter", "day"}  # the bicycle view's controls: tests/test_dashboard_bicycles.py
        assert set(controls) >= road and all(c.description for c in controls.values())
        assert {name: controls[name].value for name in road} == traffic.defaults(loaded)


# --------------------------------------------------------------------------- notebook


def run_app(tiny_data_dir, tmp_path, monkeypatch, **parameters) -> nbformat.NotebookNode:
    monkeypatch.setenv("OCCIDATA_DATA_DIR", str(tiny_data_dir))
    monkeypatch.setenv("OCCIDATA_STATE_DIR", str(tmp_path / "state"))
    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(str(REPO / "voila_apps" / "trafic-air.ipynb"), str(out), parameters=parameters,
                               kernel_name="occidata-cpu", cwd=str(tmp_path), progress_bar=False)
    return nbformat.read(out, as_version=4)


def test_notebook_is_thin_and_clean():
    nb = nbformat.read(REPO / "voila_apps" / "trafic-air.ipynb", as_version=4)
    assert nb.metadata["kernelspec"] == {"name": "occidata-cpu", "display_name": "Occidata (CPU)", "language": "python"}
    assert nb.metadata["title"] == BY_SLUG["trafic-air"].title_fr
    assert [c.cell_type for c in nb.cells] == ["code", "code"]
    assert nb.cells[0].metadata["tags"] == ["parameters"]
    assert "traffic.show(lang=lang, snapshot=snapshot)" in nb.cells[1].source
    assert all(not c.outputs and c.execution_count is None for c in nb.cells)


@pytest.mark.notebook
def test_snapshot_notebook_has_no_widget_and_the_figures(tiny_data_dir, tmp_path, monkeypatch, loaded):
    nb = run_app(tiny_data_dir, tmp_path, monkeypatch, snapshot=True, lang="en")
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    assert not any(WIDGET_MIME in o.get("data", {}) for o in outputs) and "widgets" not in nb.metadata
    html = "".join(o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {}))
    assert "Snapshot of " in html and 'lang="en"' in html
    table = traffic.counter_table(loaded, loaded.latest_day(), lang="en")
    for _, c in table.iterrows():
        assert f"{html_lib.escape(c['counter_name'], quote=True)}: {int(c['vehicles']):,} vehicles" in html


@pytest.mark.notebook
def test_live_notebook_has_widgets(tiny_data_dir, tmp_path, monkeypatch):
    nb = run_app(tiny_data_dir, tmp_path, monkeypatch)
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    assert sum(WIDGET_MIME in o.get("data", {}) for o in outputs) == 1
    assert not any(o.get("output_type") == "error" for o in outputs)
