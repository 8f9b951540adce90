"""The live/snapshot shell shared by the dashboards, without a kernel."""

from __future__ import annotations

import ipywidgets as widgets
import pytest
from ipywidgets.widgets import widget as widget_module

from occidata import catalog
from occidata.dashboards import layout
from occidata.dashboards.data import NotPublicError
from occidata.dashboards.render import page

SLUG = "qualite-air"
TEXTS = {"fr": {"pollutant": "Polluant"}, "en": {"pollutant": "Pollutant"}}


def fake_controls(lang):
    return {"pollutant": widgets.Dropdown(options=["NO2", "O3"], value="NO2", description=TEXTS[lang]["pollutant"])}


def fake_render(lang="fr", pollutant="NO2"):
    return page(f"<p>valeur {pollutant}</p>", lang=lang, title="Titre" if lang == "fr" else "Title")


def html_of(container) -> str:
    """The live page's HTML: its top (above the controls) and the rest."""
    live = container.dashboard
    outputs = live.output.outputs
    assert len(outputs) == 1
    return "".join(o["data"]["text/html"] for o in live.top.outputs) + outputs[0]["data"]["text/html"]


def test_live_language_switch_and_controls():
    box = layout.build_dashboard(SLUG, fake_controls, fake_render)
    live = box.dashboard
    assert isinstance(live.language, widgets.ToggleButtons)
    assert live.language.description == "Langue / Language"
    assert [label for label, _ in live.language.options] == ["Français", "English"]
    assert all(c.description for c in live.controls.values())
    assert live.controls["pollutant"].description == "Polluant"
    assert "valeur NO2" in html_of(box) and 'lang="fr"' in html_of(box)

    live.controls["pollutant"].value = "O3"
    assert "valeur O3" in html_of(box)

    live.language.value = "en"
    html = html_of(box)
    assert 'lang="en"' in html and "Title" in html and "valeur O3" in html  # the choice is kept
    assert live.controls["pollutant"].description == "Pollutant"
    assert list(live.box.children) == list(live.controls.values())
    live.controls["pollutant"].value = "NO2"
    assert "valeur NO2" in html_of(box)


def test_live_with_a_dict_of_controls():
    controls = fake_controls("fr")
    box = layout.build_dashboard(SLUG, controls, fake_render, lang="en")
    assert 'lang="en"' in html_of(box)
    controls["pollutant"].value = "O3"
    assert "valeur O3" in html_of(box)
    box.dashboard.language.value = "fr"
    assert 'lang="fr"' in html_of(box) and "valeur O3" in html_of(box)


def test_snapshot_has_no_widget_and_a_note():
    def refuse(lang):
        raise AssertionError("controls built for a snapshot with defaults")

    before = set(widget_module._instances)
    html = layout.build_dashboard(SLUG, refuse, fake_render, snapshot=True, defaults={"pollutant": "O3"})
    assert set(widget_module._instances) == before
    assert "valeur O3" in html and "Instantané du " in html
    assert html.index("</h1>") < html.index("Instantané du ") < html.index("valeur O3")
    en = layout.build_dashboard(SLUG, fake_controls, fake_render, lang="en", snapshot=True)
    assert "Snapshot of " in en and "valeur NO2" in en and 'lang="en"' in en


def test_show_dashboard_displays_once_and_returns_none(monkeypatch):
    shown = []
    monkeypatch.setattr(layout, "display", shown.append)
    assert layout.show_dashboard(SLUG, fake_controls, fake_render, snapshot=True) is None
    assert len(shown) == 1 and "valeur NO2" in shown[0].data
    assert layout.show_dashboard(SLUG, fake_controls, fake_render) is None
    assert len(shown) == 2 and isinstance(shown[1], widgets.VBox)


@pytest.mark.parametrize("lang, words", [("fr", "Ces données ne sont pas publiques"),
                                         ("en", "These data are not public")])
def test_not_public_shows_a_notice_and_no_data(lang, words, capsys):
    def render(lang="fr", **values):
        raise NotPublicError("health_admissions")

    html = layout.build_dashboard(SLUG, fake_controls, render, lang=lang, snapshot=True)
    assert words in html and "Traceback" not in html and html.count("<h1>") == 1
    box = layout.build_dashboard(SLUG, fake_controls, render, lang=lang)
    assert words in html_of(box)


def test_other_errors_are_unavailable_and_logged(capsys):
    def render(lang="fr", **values):
        raise catalog.CatalogError("air_quality_hourly: not built in /secret/path")

    html = layout.build_dashboard(SLUG, fake_controls, render, snapshot=True)
    assert "Données indisponibles pour le moment" in html and "/secret/path" not in html
    assert "/secret/path" in capsys.readouterr().err
    box = layout.build_dashboard(SLUG, fake_controls, render, lang="en")
    assert "Data unavailable for the moment" in html_of(box)


def test_controls_that_fail_give_the_notice():
    def broken(lang):
        raise FileNotFoundError("no data")

    box = layout.build_dashboard(SLUG, broken, fake_render)
    assert "Données indisponibles" in html_of(box)
    html = layout.build_dashboard(SLUG, broken, fake_render, snapshot=True)
    assert "Données indisponibles" in html and "valeur" not in html


def test_a_site_dashboard_outside_the_registry_is_titled_by_its_slug_and_language_is_checked():
    html = layout.build_dashboard("tableau-du-site", fake_controls, fake_render, snapshot=True)
    assert "valeur" in html
    assert layout._title("tableau-du-site", "fr") == "tableau-du-site"
    with pytest.raises(ValueError):
        layout.build_dashboard(SLUG, fake_controls, fake_render, lang="de")


def test_live_page_shows_its_top_above_the_controls():
    def render(lang="fr", pollutant="NO2"):
        return page(f"<p>valeur {pollutant}</p>", lang=lang, title="Titre", headline="<p>chiffre clé</p>")

    box = layout.build_dashboard(SLUG, fake_controls, render)
    live = box.dashboard
    assert list(box.children) == [live.top, live.language, live.box, live.output]
    top = live.top.outputs[0]["data"]["text/html"]
    assert "<h1>Titre</h1>" in top and "chiffre clé" in top and "valeur" not in top
    assert "valeur NO2" in live.output.outputs[0]["data"]["text/html"]
    live.controls["pollutant"].value = "O3"
    assert "chiffre clé" in live.top.outputs[0]["data"]["text/html"]
    assert "valeur O3" in live.output.outputs[0]["data"]["text/html"]
