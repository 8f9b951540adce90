"""The « Chaleur » dashboard: levels equal occidata.compute's criterion, map and table agree,
selections change the page, no forecast claimed, English, tiles, public data only, notebook."""

from __future__ import annotations

import html as html_lib
import json
import re
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import papermill
import pytest

from occidata import catalog, compute
from occidata.dashboards import data, heat, layout
from occidata.datasets import geography

from .html_tables import table

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "voila_apps" / "chaleur.ipynb"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


# --------------------------------------------------------------------------- helpers


def shape_titles(html: str) -> dict[str, str]:
    """Department -> level, from the map's shapes (their <title> "Name : Level")."""
    titles = re.findall(r'<path class="od-shape"[^>]*><title>([^<]*)</title>', html)
    return dict(html_lib.unescape(t).split(" : ", 1) for t in titles)


def synthetic() -> pd.DataFrame:
    """Two departments over 6 days: Hérault (34, thresholds 22/35) heats up, Ariège (09, 19/34)
    only by day, so Hérault reaches both thresholds and Ariège one."""
    days = pd.date_range("2023-08-01", periods=6, freq="D")
    tmin = pd.DataFrame({"09": [12.0, 12, 12, 12, 12, 12], "34": [20.0, 21, 23, 24, 25, 22]}, index=days)
    tmax = pd.DataFrame({"09": [30.0, 33, 35, 36, 37, 30], "34": [34.0, 35, 36, 37, 38, 33]}, index=days)
    return heat.department_alerts({"tmin": tmin, "tmax": tmax})


@pytest.fixture
def alerts(tiny_env):
    return heat.load()


# --------------------------------------------------------------------------- data functions


def test_department_alerts_equal_compute_on_the_grid(tiny_env, alerts):
    grid = catalog.load("weather_daily", levels=set())
    mask = grid["department"].values
    thresholds = compute.heatwave_thresholds()
    codes = sorted(thresholds)
    tmin = np.stack([grid["tmin"].values[:, mask == int(c)].astype(float).mean(axis=1) for c in codes], axis=1)
    tmax = np.stack([grid["tmax"].values[:, mask == int(c)].astype(float).mean(axis=1) for c in codes], axis=1)
    expected = compute.heatwave_alerts(tmin, tmax, np.array([thresholds[c]["tmin"] for c in codes]),
                                       np.array([thresholds[c]["tmax"] for c in codes]), backend="numpy")
    assert sorted(alerts["code"].unique()) == codes
    assert alerts["day"].nunique() == grid.sizes["time"]
    ibmx = alerts.pivot(index="day", columns="code", values="ibmx")[codes].to_numpy()
    ibmn = alerts.pivot(index="day", columns="code", values="ibmn")[codes].to_numpy()
    alert = alerts.pivot(index="day", columns="code", values="alert")[codes].to_numpy(dtype=bool)
    np.testing.assert_allclose(ibmx, expected.ibmx, rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(ibmn, expected.ibmn, rtol=1e-12, equal_nan=True)
    assert (alert == expected.alert).all()
    first_days = alerts[alerts["day"] < alerts["day"].min() + pd.Timedelta(days=2)]
    assert set(first_days["level"]) == {"missing"}


def test_levels_follow_the_thresholds():
    frame = synthetic().set_index(["day", "code"])
    herault = frame.xs("34", level="code")
    ariege = frame.xs("09", level="code")
    assert herault["level"].tolist() == ["missing", "missing", "near", "alert", "alert", "alert"]
    assert ariege["level"].tolist() == ["missing", "missing", "below", "near", "near", "near"]
    # IBMx of Hérault on the 4th day: mean of 35, 36, 37.
    assert herault["ibmx"].iloc[3] == pytest.approx(36.0)
    assert herault["alert"].tolist() == [False, False, False, True, True, True]


def test_recent_days_and_default_department():
    alerts = synthetic()
    days = heat.recent_days(alerts)
    assert days[0] == pd.Timestamp("2023-08-06") and len(days) == 6
    assert heat.default_department(alerts) == "34"  # the one at the heat-wave thresholds


# --------------------------------------------------------------------------- view


def test_view_map_and_table_hold_the_same_levels():
    alerts = synthetic()
    shapes = [{"name": "Ariège", "code": "09", "rings": [np.array([[1.0, 42.5], [2.0, 42.5], [2.0, 43.0]])],
               "fill": None, "text": None},
              {"name": "Hérault", "code": "34", "rings": [np.array([[3.0, 43.2], [4.0, 43.2], [4.0, 43.8]])],
               "fill": None, "text": None}]
    html = heat.view(alerts, day="2023-08-05", shapes=shapes)
    shown = table(html, "Niveau et indicateurs par département")
    levels = dict(zip(shown["Département"], shown["Niveau"]))
    assert levels == {"Ariège": "Un seuil atteint", "Hérault": "Seuils de canicule atteints"}
    assert shape_titles(html) == levels
    assert f'fill="{heat.LEVEL_COLOURS["alert"]}"' in html
    assert ">Canicule</text>" in html and ">1 seuil</text>" in html
    assert shown.set_index("Département").loc["Hérault", "IBMx (°C)"] == "37.0"
    assert "1 département sur 2 aux seuils de canicule le 5 août 2023." in html


def test_departments_without_a_shape_become_points():
    alerts = synthetic()
    outline = [{"name": "Occitanie", "code": None, "rings": [np.asarray(geography.REGION_OUTLINE)],
                "fill": None, "text": None}]
    html = heat.view(alerts, shapes=outline)
    titles = [html_lib.unescape(t) for t in re.findall(r'<circle class="od-point"[^>]*><title>([^<]*)</title>', html)]
    assert sorted(titles) == ["Ariège : Un seuil atteint", "Hérault : Seuils de canicule atteints"]


def test_day_and_department_selection_change_the_page():
    alerts = synthetic()
    latest = heat.view(alerts, shapes=[])
    earlier = heat.view(alerts, day="2023-08-03", shapes=[])
    assert latest != earlier
    assert "Niveau par département le 3 août 2023" in earlier
    assert table(earlier, "Niveau et indicateurs").set_index("Département").loc["Hérault", "Niveau"] == \
        "Un seuil atteint"
    ariege = heat.view(alerts, department="09", shapes=[])
    assert "Ariège : indicateurs jour par jour" in ariege and "Hérault : indicateurs" not in ariege
    series = table(ariege, "Indicateurs de l'Ariège")
    assert len(series) == 6 and series["Jour"].iloc[0] == "06/08/2023"
    assert "Seuil IBMx (34)" in ariege  # the chart's threshold line, labelled with its value


def test_recent_table_lists_levels_in_words():
    html = heat.view(synthetic(), shapes=[])
    recent = table(html, "Niveau par département, du")
    assert list(recent.columns)[1:] == [f"0{d}/08/2023" for d in range(1, 7)]
    herault = recent.set_index("Département").loc["Hérault"].tolist()
    assert herault == ["Données insuffisantes"] * 2 + ["Un seuil atteint"] + ["Seuils de canicule atteints"] * 3


def test_thresholds_explained_with_their_values(alerts):
    html = heat.view(alerts, shapes=[])
    shown = table(html, "Seuils canicule des départements").set_index("Code")
    for code, entry in compute.heatwave_thresholds().items():
        assert float(shown.loc[code, "Seuil IBMn (°C)"]) == entry["tmin"]
        assert float(shown.loc[code, "Seuil IBMx (°C)"]) == entry["tmax"]
        assert shown.loc[code, "Seuils"] == ("vérifiés" if entry["verified"] else "à confirmer")


def test_no_forecast_is_claimed(alerts):
    html = heat.view(alerts, shapes=[])
    assert "aucune prévision" in html and "pas la vigilance officielle" in html
    assert "Dernières données : <strong>13/08/2023</strong>" in html
    latest = table(html, "Niveau et indicateurs par département")
    assert len(latest) == 13 and set(latest["Niveau"]) == {"Sous les seuils"}  # no heat wave in the tiny data


def test_english_view():
    html = heat.view(synthetic(), lang="en", shapes=[])
    assert 'lang="en"' in html and "<h1>Heat</h1>" in html and "Latest data:" in html
    assert "they hold no forecast" in html
    shown = table(html, "Level and indicators by department")
    assert set(shown["Level"]) == {"Heat-wave thresholds reached", "One threshold reached"}
    assert "Sous les seuils" not in html


def test_page_accessibility_basics(alerts):
    html = heat.view(alerts)
    assert html.count("<h1>") == 1
    assert html.count('role="img"') == 2  # the map and the chart, each beside its table
    assert '<th scope="col">' in html and '<th scope="row">' in html
    for name in heat.LEVEL_NAMES["fr"].values():
        assert name in html


def test_tiles_only_when_configured(alerts):
    assert "<image" not in heat.view(alerts)
    tiled = heat.view(alerts, tiles_url="http://127.0.0.1:8080/{z}/{x}/{y}.png")
    hrefs = re.findall(r'<image[^>]*href="([^"]+)"', tiled)
    assert hrefs and all(h.startswith("http://127.0.0.1:8080/") for h in hrefs)


# --------------------------------------------------------------------------- public data only


def test_non_public_entry_is_refused_before_reading(tiny_env, monkeypatch):
    def no_read(*args, **kwargs):
        raise AssertionError("data were read")

    monkeypatch.setattr(data, "entry_access", lambda name: "partner")
    monkeypatch.setattr(data.catalog, "load", no_read)
    with pytest.raises(data.NotPublicError):
        heat.load()
    shown = []
    monkeypatch.setattr(layout, "display", lambda obj: shown.append(obj))
    heat.show(lang="en", snapshot=True)
    html = shown[0].data
    assert "These data are not public" in html
    assert "Hérault" not in html and "<table" not in html


# --------------------------------------------------------------------------- live widgets


def test_live_controls_redraw_the_page(tiny_env, monkeypatch):
    shown = []
    monkeypatch.setattr(layout, "display", lambda obj: shown.append(obj))
    assert heat.show() is None
    live = shown[0].dashboard
    assert set(live.controls) == {"period", "day", "department"}  # period: recent days or a real summer
    assert all(c.description for c in live.controls.values())
    first = live.output.outputs[0]["data"]["text/html"]
    live.controls["department"].value = "66"
    second = live.output.outputs[0]["data"]["text/html"]
    assert second != first and "Pyrénées-Orientales : indicateurs jour par jour" in second
    live.controls["day"].value = pd.Timestamp("2023-08-01")
    assert "Niveau par département le 1er août 2023" in live.output.outputs[0]["data"]["text/html"]


# --------------------------------------------------------------------------- notebook


def test_notebook_is_the_thin_contract():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "occidata-cpu"
    assert nb.metadata["title"] == "Chaleur"
    assert [c.cell_type for c in nb.cells] == ["code", "code"]
    assert "parameters" in nb.cells[0].metadata["tags"]
    assert 'lang = "fr"' in nb.cells[0].source and "snapshot = False" in nb.cells[0].source
    assert nb.cells[1].source.splitlines()[0] == "from occidata.dashboards import heat"
    assert nb.cells[1].source.splitlines()[-1] == "heat.show(lang=lang, snapshot=snapshot)"
    assert all(not c.outputs and c.execution_count is None for c in nb.cells)


def run_notebook(tmp_path, **parameters) -> dict:
    out = tmp_path / "chaleur.ipynb"
    papermill.execute_notebook(str(NOTEBOOK), str(out), parameters=parameters, kernel_name="occidata-cpu",
                               cwd=str(tmp_path), progress_bar=False)
    return json.loads(out.read_text())


@pytest.mark.notebook
def test_snapshot_notebook_has_no_widget_and_the_key_figures(tiny_env, tmp_path, alerts):
    nb = run_notebook(tmp_path, snapshot=True)
    outputs = nb["cells"][-1]["outputs"]
    assert not any(WIDGET_MIME in o["data"] for o in outputs)
    assert "widgets" not in nb["metadata"]  # no widget was even created
    # The page's view first, then the static page's other views, each marked as one.
    marks = [o["metadata"]["occidata"] for o in outputs]
    assert marks[0]["default"] and not marks[0]["alternative"]
    assert len(outputs) > 1 and all(m["alternative"] and not m["default"] for m in marks[1:])
    html = "".join(outputs[0]["data"]["text/html"])
    assert "Instantané du" in html and "Dernières données : <strong>13/08/2023</strong>" in html
    assert "Aucun département sur 13 aux seuils de canicule le 13 août 2023." in html
    shown = table(html, "Niveau et indicateurs par département").set_index("Département")
    latest = alerts[alerts["day"] == alerts["day"].max()].set_index("name")
    for name, row in latest.iterrows():
        assert shown.loc[name, "IBMx (°C)"] == f"{row['ibmx']:.1f}"
        assert shown.loc[name, "IBMn (°C)"] == f"{row['ibmn']:.1f}"


@pytest.mark.notebook
def test_live_notebook_shows_the_widgets_once(tiny_env, tmp_path):
    outputs = run_notebook(tmp_path, snapshot=False, lang="en")["cells"][-1]["outputs"]
    assert len(outputs) == 1 and WIDGET_MIME in outputs[0]["data"]
