"""Dashboard "qualite-air" on the tiny data: the figures are occidata.compute's, map = table."""

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
from occidata.dashboards import explorer, BY_SLUG, air, data as dash_data, layout

REPO = Path(__file__).resolve().parents[2]
UTC1 = "Etc/GMT-1"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(scope="module")
def env(module_env):
    return module_env


@pytest.fixture(scope="module")
def loaded(env):
    return air.load()


@pytest.fixture(scope="module")
def raw(env):
    frame = catalog.load("air_quality_hourly")
    # The page's default period: the recent days, outside ATMO's real episode of March 2020.
    recent = (frame["time_start"] < air.EPISODE_START) | (frame["time_start"] >= air.EPISODE_END)
    frame = frame[(frame["metric"] == "hourly") & recent].copy()
    frame["time"] = frame["time_start"].dt.tz_convert(UTC1).dt.tz_localize(None)
    return frame


def direct_atmo(raw: pd.DataFrame, day: pd.Timestamp) -> dict:
    """station_code -> ATMO index of ``day``, computed straight from the rows."""
    hours = pd.date_range(day, periods=24, freq="h")
    on_day = raw[(raw["time"] >= day) & (raw["time"] < day + pd.Timedelta(days=1))]
    result = {}
    for code, st in on_day.groupby("station_code"):
        hourly = {p: g.set_index("time")["value"].reindex(hours).to_numpy()[None, :]
                  for p, g in st.groupby("pollutant")}
        result[code] = int(compute.atmo_index(hourly, backend="numpy").index[0, 0])
    return result


def rows_of(html: str, caption: str) -> list[list[str]]:
    """The body rows of the table whose caption starts with ``caption``, as cell texts."""
    start = html.index(f"<caption>{html_lib.escape(caption, quote=True)}")
    body = html[start:html.index("</table>", start)]
    return [[html_lib.unescape(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body.split("<tbody>")[1])]


def map_titles(html: str) -> list[str]:
    return [html_lib.unescape(t) for t in re.findall(r'class="od-point"[^>]*><title>(.*?)</title>', html)]


def test_latest_day_is_the_last_with_an_index(loaded, raw):
    last = raw["time"].max().normalize()
    expected = max(d for d in pd.date_range(raw["time"].min().normalize(), last)
                   if any(v > 0 for v in direct_atmo(raw, d).values()))
    assert loaded.latest_day() == expected
    page = air.view(loaded)
    assert f"Dernières données : <strong>{expected:%d/%m/%Y}</strong>" in page


def test_index_per_station_equals_compute(loaded, raw):
    day = loaded.latest_day()
    expected = direct_atmo(raw, day)
    table = air.station_table(loaded, day)
    assert dict(zip(table["station_code"], table["index"])) == expected
    assert list(table["label"]) == [compute.label(i, "fr", scheme="atmo") for i in table["index"]]
    other = loaded.days_with_index()[0]
    assert dict(zip(*[air.station_table(loaded, other)[c] for c in ("station_code", "index")])) == direct_atmo(raw, other)


def test_map_and_table_carry_the_same_values(loaded):
    day = loaded.latest_day()
    html = air.view(loaded)
    table = air.station_table(loaded, day)
    caption = f"Indice ATMO par station, {day:%d/%m/%Y}"
    rows = rows_of(html, caption)
    titles = map_titles(html)
    assert len(rows) == len(titles) == len(table)
    for row, title, (_, st) in zip(rows, titles, table.iterrows()):
        # The class right after the name: it stays on a phone's screen.
        assert row[0] == st["station_name"] and row[1] == st["label"] and row[2] == str(st["index"])
        assert title == f"{st['station_name']} ({st['commune']}) : {st['label']} ({st['index']})"
        assert st["colour"] == air.ATMO_COLOURS[st["index"]]
    # Every class shown in colour is also written in text, and the advice of each class is given.
    for i in range(1, 7):
        assert html_lib.escape(air.HEALTH_ADVICE["fr"][i], quote=True) in html
    assert html.count("<h1>") == 1


def test_commune_table_takes_the_worst_station(loaded):
    day = loaded.latest_day()
    stations = air.station_table(loaded, day)
    communes = air.commune_table(stations)
    for _, row in communes.iterrows():
        assert row["index"] == stations.loc[stations["commune"] == row["commune"], "index"].max()
    rows = rows_of(air.view(loaded), "Indice le plus élevé parmi les stations")
    assert [r[0] for r in rows] == list(communes["commune"]) and [r[2] for r in rows] == [str(i) for i in communes["index"]]


def test_pollutant_selection_changes_map_and_chart(loaded):
    day = loaded.latest_day()
    overall = air.view(loaded)
    no2 = air.view(loaded, pollutant="NO2")
    assert overall != no2
    sub = np.asarray(loaded.atmo.sub_indices["NO2"])[:, list(loaded.days).index(day)]
    rows = rows_of(no2, f"Sous-indice Dioxyde d'azote (NO₂) par station, {day:%d/%m/%Y}")
    assert [r[2] for r in rows] == [str(int(i)) for i in sub]
    assert "Seuil de la classe « Mauvais » (maximum journalier) (120)" in no2  # NO2 limit of class 4
    assert "Seuil de la classe" not in overall


def test_chart_table_holds_the_last_48_hours(loaded, raw):
    day = loaded.latest_day()
    station = air.default_station(loaded, day)
    html = air.view(loaded, pollutant="NO2", station=station)
    name = loaded.stations.loc[station, "station_name"]
    rows = rows_of(html, f"Concentrations horaires (µg/m³) à {name}")
    assert len(rows) == 48
    assert rows[0][0] == f"{day - pd.Timedelta(days=1):%d/%m/%Y}" and rows[-1][0] == f"{day:%d/%m/%Y} 23:00"
    st = raw[(raw["station_code"] == station) & (raw["pollutant"] == "NO2")].set_index("time")["value"]
    hours = pd.date_range(day - pd.Timedelta(days=1), periods=48, freq="h")
    expected = st.reindex(hours).round(1)
    got = [float(r[1]) if r[1] != "—" else np.nan for r in rows]
    np.testing.assert_allclose(got, expected.to_numpy(), atol=0.051)
    other = next(s for s in loaded.stations.index if s != station)
    assert air.view(loaded, pollutant="NO2", station=other) != html


def test_day_selection_changes_the_output(loaded):
    days = loaded.days_with_index()
    first, last = air.view(loaded, day=days[0]), air.view(loaded, day=days[-1])
    assert first != last and f"{days[0]:%d/%m/%Y}" in first
    with pytest.raises(ValueError):
        air.view(loaded, day="2019-06-01")
    with pytest.raises(ValueError):
        air.view(loaded, pollutant="CO")


def test_english_view(loaded):
    html = air.view(loaded, lang="en")
    assert 'class="od-dashboard" lang="en"' in html and "<h1>Air quality today</h1>" in html
    assert "Latest data:" in html and "Health advice" in html and "Dernières" not in html
    table = air.station_table(loaded, loaded.latest_day(), lang="en")
    assert set(table["label"]) <= {"Good", "Average", "Degraded", "Poor", "Very poor", "Extremely poor", "No data"}
    for label in table["label"]:
        assert f"<td>{label}</td>" in html


def test_tiles_only_when_configured(loaded):
    assert "<image" not in air.view(loaded)
    with_tiles = air.AirData(**{**loaded.__dict__, "tiles_url": "http://127.0.0.1:8080/{z}/{x}/{y}.png"})
    hrefs = re.findall(r'<image href="([^"]+)"', air.view(with_tiles))
    assert hrefs and all(h.startswith("http://127.0.0.1:8080/") for h in hrefs)


def test_shapes_are_the_departments(loaded):
    assert len(loaded.shapes) in (1, 13)
    html = air.view(loaded)
    assert html.count('class="od-shape"') == len(loaded.shapes)


def test_not_public_shows_no_data(env, monkeypatch):
    monkeypatch.setattr(dash_data, "entry_access", lambda name: "partner")
    shown = []
    monkeypatch.setattr(layout, "display", shown.append)
    air.show(snapshot=True)
    html = shown[0].data
    assert "Ces données ne sont pas publiques" in html
    assert "Toulouse" not in html and "Indice ATMO par station" not in html


def test_data_not_built_is_unavailable(env, monkeypatch, tmp_path):
    monkeypatch.setenv("OCCIDATA_DATA_DIR", str(tmp_path / "empty"))
    shown = []
    monkeypatch.setattr(layout, "display", shown.append)
    air.show(lang="en", snapshot=True)
    assert "Data unavailable for the moment" in shown[0].data


def test_controls_labelled(loaded):
    for lang in ("fr", "en"):
        controls = air.controls(loaded, lang)
        assert set(controls) == {"pollutant", "day", "station"}
        assert all(c.description for c in controls.values())
        assert {name: c.value for name, c in controls.items()} == air.defaults(loaded)


# --------------------------------------------------------------------------- notebook


def run_app(tiny_data_dir, tmp_path, monkeypatch, **parameters) -> nbformat.NotebookNode:
    monkeypatch.setenv("OCCIDATA_DATA_DIR", str(tiny_data_dir))
    monkeypatch.setenv("OCCIDATA_STATE_DIR", str(tmp_path / "state"))
    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(str(REPO / "voila_apps" / "qualite-air.ipynb"), str(out), parameters=parameters,
                               kernel_name="occidata-cpu", cwd=str(tmp_path), progress_bar=False)
    return nbformat.read(out, as_version=4)


def test_notebook_is_thin_and_clean():
    nb = nbformat.read(REPO / "voila_apps" / "qualite-air.ipynb", as_version=4)
    assert nb.metadata["kernelspec"] == {"name": "occidata-cpu", "display_name": "Occidata (CPU)", "language": "python"}
    assert nb.metadata["title"] == BY_SLUG["qualite-air"].title_fr
    assert [c.cell_type for c in nb.cells] == ["code", "code"]
    assert nb.cells[0].metadata["tags"] == ["parameters"]
    assert 'lang = "fr"' in nb.cells[0].source and "snapshot = False" in nb.cells[0].source
    assert "air.show(lang=lang, snapshot=snapshot)" in nb.cells[1].source
    assert all(not c.outputs and c.execution_count is None for c in nb.cells)


@pytest.mark.notebook
def test_snapshot_notebook_has_no_widget_and_the_figures(tiny_data_dir, tmp_path, monkeypatch, loaded):
    nb = run_app(tiny_data_dir, tmp_path, monkeypatch, snapshot=True)
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    assert not any(WIDGET_MIME in o.get("data", {}) for o in outputs)
    assert "widgets" not in nb.metadata
    html = "".join(o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})
                   and not o["metadata"]["occidata"]["alternative"])
    assert "Instantané du " in html and html.count("<h1>") == 1
    # Every other view of the static page: each pollutant on each of the last days, and on the days
    # of ATMO's real episode of March 2020.
    views = {(o["metadata"]["occidata"]["values"]["pollutant"], o["metadata"]["occidata"]["values"]["day"])
             for o in outputs}
    episode = air.load(period="2020-03")
    days = sorted({d.strftime("%Y-%m-%d") for d in loaded.days_with_index()})[-explorer.STATIC_DAYS:]
    days += [d.strftime("%Y-%m-%d") for d in episode.days_with_index()]
    pollutants = [p for p in loaded.pollutants if p in episode.pollutants]
    assert views == {(p, d) for p in ["ATMO"] + pollutants for d in days}
    table = air.station_table(loaded, loaded.latest_day())
    for _, st in table.iterrows():
        assert f"{html_lib.escape(st['station_name'], quote=True)} ({st['commune']}) : {st['label']} ({st['index']})" in html
    assert not any(o.get("output_type") == "error" for o in outputs)


@pytest.mark.notebook
def test_live_notebook_shows_widgets_in_english(tiny_data_dir, tmp_path, monkeypatch):
    nb = run_app(tiny_data_dir, tmp_path, monkeypatch, snapshot=False, lang="en")
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    assert sum(WIDGET_MIME in o.get("data", {}) for o in outputs) == 1
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    page_html = [o["data"]["text/html"] for m in state.values() for o in m["state"].get("outputs", [])
                 if "text/html" in o.get("data", {})]
    # The page's top (title, banner, headline) and its body are two outputs, both English.
    assert page_html and all('lang="en"' in html for html in page_html)
    assert any("Air quality today" in html for html in page_html)
    assert any(m["state"].get("description") == "Langue / Language" for m in state.values())
