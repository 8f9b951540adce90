"""The « Eaux de baignade » dashboard: values equal occidata.compute's, map and table agree,
selections change the page, English, tiles, public data only, and its Voilà notebook."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import papermill
import pytest

from occidata import compute
from occidata.dashboards import bathing, data, layout

from .html_tables import point_titles, table

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "voila_apps" / "baignade.ipynb"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


# --------------------------------------------------------------------------- helpers


def unescape(text: str) -> str:
    import html as html_lib

    return html_lib.unescape(text)


@pytest.fixture
def samples(tiny_env):
    return bathing.load()


def two_seasons(samples: pd.DataFrame) -> pd.DataFrame:
    """The tiny season (2024) and a made-up 2023 season with ten times the counts."""
    earlier = samples.copy()
    earlier["season"] = (earlier["season"] - 1).astype("Int64")
    earlier["sample_date"] = earlier["sample_date"] - pd.DateOffset(years=1)
    earlier["e_coli"] = earlier["e_coli"] * 10
    earlier["enterococci"] = earlier["enterococci"] * 10
    return pd.concat([earlier, samples], ignore_index=True)


# --------------------------------------------------------------------------- data functions


def test_assess_sites_equals_compute(samples):
    sites = bathing.assess_sites(samples, 2024, min_samples=8)
    expected = compute.bathing_water_class_table(samples, min_samples=8, last_season=2024)
    assert list(sites.index) == list(expected.index)
    assert sites["classification"].tolist() == expected["classification"].tolist()
    assert sites["n_samples"].tolist() == expected["n_samples"].tolist()
    np.testing.assert_allclose(sites["e_coli_p95"].to_numpy(float), expected["e_coli_p95"].to_numpy(float))
    # Not every site is excellent in the tiny data, so the comparison means something.
    assert sites["classification"].nunique() > 1


def test_latest_sample_per_site_is_the_last_date(samples):
    sites = bathing.assess_sites(samples, 2024, min_samples=8)
    for site_id, row in sites.iterrows():
        mine = samples[(samples["site_id"] == site_id) & samples["e_coli"].notna()]
        last = mine.loc[mine["sample_date"].idxmax()]
        assert row["last_date"] == last["sample_date"]
        assert row["last_e_coli"] == last["e_coli"]


def test_match_communes_ignores_accents_and_case(samples):
    assert bathing.match_communes(samples, "SETE") == ["Sète"]
    assert bathing.match_communes(samples, "grau") == ["Le Grau-du-Roi"]
    assert bathing.match_communes(samples, "nowhere") == []
    assert len(bathing.match_communes(samples, "")) == samples["commune"].nunique()


def test_assessment_uses_four_seasons(samples):
    both = two_seasons(samples)
    later = bathing.assess_sites(both, 2024, min_samples=16)
    earlier = bathing.assess_sites(both, 2023, min_samples=8)
    expected_later = compute.bathing_water_class_table(both, min_samples=16, last_season=2024)
    expected_earlier = compute.bathing_water_class_table(both[both["season"] == 2023], min_samples=8,
                                                         last_season=2023)
    assert later["classification"].tolist() == expected_later["classification"].tolist()
    assert earlier["classification"].tolist() == expected_earlier["classification"].tolist()
    assert (later["n_samples"] >= 16).all()
    assert bathing.assess_sites(both, 2030).empty


# --------------------------------------------------------------------------- view


def test_view_table_and_map_hold_the_same_classes(samples):
    html = bathing.view(samples, min_samples=8, shapes=[])
    sites = bathing.assess_sites(samples, 2024, min_samples=8)
    shown = table(html, "Classement des sites")
    assert len(shown) == len(sites)
    by_name = dict(zip(shown["Site"], shown["Classement"]))
    expected = {row["name"]: bathing.CLASS_NAMES["fr"][row["classification"]] for _, row in sites.iterrows()}
    assert by_name == expected
    titles = [unescape(t) for t in point_titles(html)]
    assert len(titles) == len(sites)
    for title in titles:
        name = title.split(" (")[0]
        assert title.endswith(f" : {by_name[name]}")
    # The letter beside each point is the same as the table's "Repère".
    letters = re.findall(r'<text class="od-point-text"[^>]*>([^<]*)</text>', html)
    assert sorted(letters) == sorted(shown["Repère"])


def test_view_counts_and_latest_values(samples):
    html = bathing.view(samples, min_samples=8, shapes=[])
    counts = table(html, "Nombre de sites par classe")
    expected = compute.bathing_water_class_table(samples, min_samples=8, last_season=2024)["classification"]
    for name, count in zip(counts["Classement"], counts["Sites"]):
        code = next(c for c, label in bathing.CLASS_NAMES["fr"].items() if label == name)
        assert int(count) == int((expected == code).sum())
    latest = table(html, "Derniers prélèvements")
    assert len(latest) == bathing.LATEST_COUNT
    newest = samples["sample_date"].max()
    assert latest["Date"].iloc[0] == bathing.format_date(newest, "fr")
    assert "Dernières données : <strong>14/09/2024</strong>" in html


def test_directive_minimum_marks_sites_unclassified(samples):
    html = bathing.view(samples, shapes=[])  # 16 samples needed; the tiny data has 8 or 9 per site
    shown = table(html, "Classement des sites")
    assert set(shown["Classement"]) == {"Prélèvements insuffisants"}
    assert "pas encore assez de prélèvements" in html


def test_season_selection_changes_the_page(samples):
    both = two_seasons(samples)
    later = bathing.view(both, min_samples=8, shapes=[])
    earlier = bathing.view(both, season=2023, min_samples=8, shapes=[])
    assert later != earlier
    assert "Classement des sites de baignade, évaluation 2021–2024" in later
    assert "Classement des sites de baignade, évaluation 2020–2023" in earlier
    expected = compute.bathing_water_class_table(both[both["season"] == 2023], min_samples=8, last_season=2023)
    names = samples.groupby("site_id")["name"].first()
    shown = table(earlier, "Classement des sites")
    assert dict(zip(shown["Site"], shown["Classement"])) == {
        names[s]: bathing.CLASS_NAMES["fr"][c] for s, c in expected["classification"].items()}
    assert "saison 2023" in earlier


def test_commune_search_filters_map_and_tables(samples):
    everything = bathing.view(samples, min_samples=8, shapes=[])
    html = bathing.view(samples, commune="sète", min_samples=8, shapes=[])
    assert html != everything
    shown = table(html, "Classement des sites")
    expected = samples.loc[samples["commune"] == "Sète", "name"].unique()
    assert sorted(shown["Site"]) == sorted(expected)
    assert set(shown["Commune"]) == {"Sète"}
    assert len(point_titles(html)) == len(expected)
    season_rows = table(html, "Prélèvements de la saison 2024")
    assert set(season_rows["Commune"]) == {"Sète"}
    assert len(season_rows) == int((samples["commune"] == "Sète").sum())


def test_commune_without_site_says_so(samples):
    html = bathing.view(samples, commune="Toulouse", shapes=[])
    assert "Aucune commune ne correspond à « Toulouse »" in html
    assert "<table" not in html and "<svg" not in html


def test_english_view(samples):
    html = bathing.view(samples, lang="en", min_samples=8, shapes=[])
    assert 'lang="en"' in html and "<h1>Bathing water</h1>" in html
    assert "Latest data:" in html
    shown = table(html, "Class of the bathing sites")
    assert {"Excellent", "Good"} <= set(shown["Class"])
    assert "Classement" not in html
    with pytest.raises(ValueError, match="lang"):
        bathing.view(samples, lang="de")


def test_page_accessibility_basics(samples):
    html = bathing.view(samples, min_samples=8)
    assert html.count("<h1>") == 1
    assert 'role="img"' in html and "<title" in html and "<desc" in html and "viewBox=" in html
    assert '<th scope="col">' in html and '<th scope="row">' in html
    for name in bathing.CLASS_NAMES["fr"].values():
        assert name in html  # every class named in text in the legend


def test_tiles_only_when_configured(samples):
    plain = bathing.view(samples, min_samples=8)
    assert "<image" not in plain
    url = "http://127.0.0.1:8080/{z}/{x}/{y}.png"
    tiled = bathing.view(samples, min_samples=8, tiles_url=url)
    hrefs = re.findall(r'<image[^>]*href="([^"]+)"', tiled)
    assert hrefs and all(h.startswith("http://127.0.0.1:8080/") for h in hrefs)


# --------------------------------------------------------------------------- public data only


def test_non_public_entry_is_refused_before_reading(tiny_env, monkeypatch):
    def no_read(*args, **kwargs):
        raise AssertionError("data were read")

    monkeypatch.setattr(data, "entry_access", lambda name: "restricted")
    monkeypatch.setattr(data.catalog, "load", no_read)
    with pytest.raises(data.NotPublicError):
        bathing.load()
    shown = []
    monkeypatch.setattr(layout, "display", lambda obj: shown.append(obj))
    bathing.show(snapshot=True)
    html = shown[0].data
    assert "Ces données ne sont pas publiques" in html
    assert "Sète" not in html and "<table" not in html


# --------------------------------------------------------------------------- live widgets


def test_live_controls_redraw_the_page(tiny_env, monkeypatch):
    shown = []
    monkeypatch.setattr(layout, "display", lambda obj: shown.append(obj))
    assert bathing.show() is None
    live = shown[0].dashboard
    assert set(live.controls) == {"season", "commune"}
    assert all(c.description for c in live.controls.values())
    first = live.output.outputs[0]["data"]["text/html"]
    live.controls["commune"].value = "Agde"
    filtered = live.output.outputs[0]["data"]["text/html"]
    assert filtered != first and "Prélèvements de la saison 2024 : Agde" in filtered
    live.language.value = "en"
    english = live.output.outputs[0]["data"]["text/html"]
    assert 'lang="en"' in english and "Samples of the 2024 season: Agde" in english
    assert live.controls["season"].description == "Season"


# --------------------------------------------------------------------------- notebook


def test_notebook_is_the_thin_contract():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "occidata-cpu"
    assert nb.metadata["title"] == "Eaux de baignade"
    assert [c.cell_type for c in nb.cells] == ["code", "code"]
    assert "parameters" in nb.cells[0].metadata["tags"]
    assert 'lang = "fr"' in nb.cells[0].source and "snapshot = False" in nb.cells[0].source
    assert nb.cells[1].source.splitlines()[0] == "from occidata.dashboards import bathing"
    assert nb.cells[1].source.splitlines()[-1] == "bathing.show(lang=lang, snapshot=snapshot)"
    assert all(not c.outputs and c.execution_count is None for c in nb.cells)


def run_notebook(tmp_path, **parameters) -> dict:
    out = tmp_path / "baignade.ipynb"
    papermill.execute_notebook(str(NOTEBOOK), str(out), parameters=parameters, kernel_name="occidata-cpu",
                               cwd=str(tmp_path), progress_bar=False)
    return json.loads(out.read_text())


@pytest.mark.notebook
def test_snapshot_notebook_has_no_widget_and_the_key_figures(tiny_env, tmp_path, samples):
    nb = run_notebook(tmp_path, snapshot=True)
    outputs = nb["cells"][-1]["outputs"]
    assert not any(WIDGET_MIME in o["data"] for o in outputs)
    assert "widgets" not in nb["metadata"]  # no widget was even created
    # The page's view first, then the static page's other views, each marked as one.
    marks = [o["metadata"]["occidata"] for o in outputs]
    assert marks[0]["default"] and not marks[0]["alternative"]
    assert len(outputs) > 1 and all(m["alternative"] and not m["default"] for m in marks[1:])
    html = "".join(outputs[0]["data"]["text/html"])
    assert "Instantané du" in html and "Dernières données : <strong>14/09/2024</strong>" in html
    counts = table(html, "Nombre de sites par classe")
    expected = compute.bathing_water_class_table(samples, min_samples=bathing.MIN_SAMPLES, last_season=2024)
    assert int(counts.set_index("Classement").loc["Prélèvements insuffisants", "Sites"]) == \
        int((expected["classification"] == "insufficient samples").sum()) == samples["site_id"].nunique()
    assert len(table(html, "Classement des sites")) == samples["site_id"].nunique()


@pytest.mark.notebook
def test_live_notebook_shows_the_widgets_once(tiny_env, tmp_path):
    outputs = run_notebook(tmp_path, snapshot=False, lang="en")["cells"][-1]["outputs"]
    assert len(outputs) == 1 and WIDGET_MIME in outputs[0]["data"]
