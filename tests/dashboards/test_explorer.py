"""The static explorer's rules: which views are rendered ahead, their one spelling, the form above
each, and how the service finds a view (occidata.dashboards.explorer, static_pages)."""

from __future__ import annotations

import gzip
import json

import pandas as pd
import pytest

from occidata.dashboards import bathing, explorer, static_pages
from occidata.dashboards.explorer import Choice, Option, StaticViews
from occidata.dashboards.render import page
from occidata.reports.archive import RunRecord

POLLUTANT = Choice("pollutant", "Polluant", (Option("ATMO", "Indice ATMO", "ATMO"), Option("NO2", "NO₂", "NO2")), "ATMO")
DAYS = pd.date_range("2024-03-01", "2024-03-20", freq="D")


def test_a_key_is_the_same_whatever_the_order_of_the_values():
    assert explorer.view_key({"pollutant": "NO2", "day": "2024-03-20"}) == \
        explorer.view_key({"day": "2024-03-20", "pollutant": "NO2"}) == "day=2024-03-20&pollutant=NO2"


def test_a_day_control_offers_the_latest_days_latest_first_in_the_page_language():
    french = explorer.day_choice("day", "Jour", list(DAYS), "fr")
    assert [o.key for o in french.options] == [d.strftime("%Y-%m-%d") for d in DAYS[::-1][:explorer.STATIC_DAYS]]
    assert french.default == "2024-03-20" and french.options[0].text == "20/03/2024"
    assert explorer.day_choice("day", "Day", list(DAYS), "en").options[0].text == "2024-03-20"
    with pytest.raises(ValueError, match="day: no day"):
        explorer.day_choice("day", "Jour", [], "fr")


def test_every_combination_once_with_the_default_first():
    day = explorer.day_choice("day", "Jour", list(DAYS), "fr", count=3)
    views = StaticViews((POLLUTANT, day), fixed={"station": None})
    keys = [explorer.view_key(c) for c in views.keys()]
    assert len(keys) == len(set(keys)) == 6
    assert keys[0] == "day=2024-03-20&pollutant=ATMO"
    values = views.values({"pollutant": "NO2", "day": "2024-03-19"})
    assert values == {"station": None, "pollutant": "NO2", "day": pd.Timestamp("2024-03-19")}


def test_a_choice_refuses_a_default_it_does_not_offer():
    with pytest.raises(ValueError, match="choice pollutant: default 'O3'"):
        Choice("pollutant", "Polluant", POLLUTANT.options, "O3")


def test_bathing_renders_every_season_and_every_commune_of_the_latest_season_not_their_product():
    samples = pd.DataFrame({"season": [2022, 2023, 2024, 2024], "commune": ["Sète", "Agde", "Sète", "Gruissan"]})
    views = bathing.static_views(samples, "fr")
    keys = {explorer.view_key(c) for c in views.keys()}
    assert keys == {"commune=&season=2024", "commune=&season=2023", "commune=&season=2022",
                    "commune=Agde&season=2024", "commune=Gruissan&season=2024", "commune=Sète&season=2024"}
    assert views.choices[1].options[0].text == "Toutes les communes"


def test_the_form_sits_under_the_top_of_the_page_with_the_view_selected():
    view = page("<p>corps</p>", lang="fr", title="Titre", headline='<div class="od-headline"><p>x</p></div>')
    form = explorer.form_html((POLLUTANT,), {"pollutant": "NO2"}, "fr")
    shown = explorer.with_form(view, form)
    assert shown.index('class="od-headline"') < shown.index("<form") < shown.index("<p>corps</p>")
    assert '<option value="NO2" selected>' in form and '<option value="ATMO">' in form
    assert '<label for="od-pollutant">Polluant</label>' in form and 'method="get"' in form
    assert ">Afficher</button>" in form
    assert explorer.with_form("<p>notice</p>", form) == "<p>notice</p>"


def _record(tmp_path, outputs) -> RunRecord:
    folder = tmp_path / "run"
    folder.mkdir()
    notebook = {"cells": [{"cell_type": "code", "source": "", "outputs": outputs, "metadata": {}}],
                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    record = RunRecord(name="qualite-air", run_id="r1", notebook="x.ipynb", status="ok", folder=str(folder))
    record.notebook_path.write_text(json.dumps(notebook), encoding="utf-8")
    return record


def _view(values, html, default=False):
    return {"output_type": "display_data", "data": {"text/html": html},
            "metadata": {"occidata": {"values": values, "default": default, "alternative": not default}}}


def test_the_service_reads_the_views_and_finds_the_closest_one(tmp_path):
    record = _record(tmp_path, [
        _view({"season": "2024", "commune": ""}, "<p>2024 toutes</p>", default=True),
        _view({"season": "2023", "commune": ""}, ["<p>2023 ", "toutes</p>"]),
        _view({"season": "2024", "commune": "Sète"}, "<p>2024 Sète</p>"),
        {"output_type": "stream", "name": "stderr", "text": "bruit"},
    ])
    views, values, default = static_pages.read_views(record)
    assert default == "commune=&season=2024" and views["commune=&season=2023"] == "<p>2023 toutes</p>"
    snapshot = static_pages.Snapshot(record, views, values, default)
    assert snapshot.closest({"season": "2023"}) == ("commune=&season=2023", True)
    assert snapshot.closest({"season": "2024", "commune": "Sète", "other": "x"}) == ("commune=Sète&season=2024", True)
    # Not rendered ahead: the view sharing the control the visitor just moved.
    assert snapshot.closest({"season": "2023", "commune": "Sète"}, changed="commune")[0] == "commune=Sète&season=2024"
    assert snapshot.closest({"season": "2023", "commune": "Sète"}, changed="season")[0] == "commune=&season=2023"
    assert snapshot.closest({"season": "1999"}) == ("commune=&season=2024", False)


def test_the_headline_block_is_taken_whole_with_its_inner_blocks():
    view = ('<div class="od-top"><h1>T</h1><div class="od-headline"><p>a</p><div class="x">b</div><p>c</p></div>'
            "</div><p>reste</p>")
    assert static_pages.headline_of(view) == '<div class="od-headline"><p>a</p><div class="x">b</div><p>c</p></div>'
    assert static_pages.headline_of("<p>aucun</p>") is None


def test_a_page_is_kept_ready_in_utf8_and_gzip():
    ready = static_pages.prepare_page("<p>Hérault</p>", "r1", "day=2024-03-20")
    assert gzip.decompress(ready.gzipped) == ready.body == "<p>Hérault</p>".encode("utf-8")
    assert ready.etag == static_pages.prepare_page("<p>autre</p>", "r1", "day=2024-03-20").etag
    assert ready.etag != static_pages.prepare_page("<p>Hérault</p>", "r2", "day=2024-03-20").etag


def test_the_page_asks_the_static_address_whichever_address_served_it():
    view = explorer.with_form(page("<p>corps</p>", lang="fr", title="T"),
                              explorer.form_html((POLLUTANT,), {"pollutant": "ATMO"}, "fr"))
    served = static_pages.document("Titre", "fr", "<div>barre</div>", view, "/p/explorer/explorer.js", "/p/qualite-air/")
    assert '<form class="od-explore" method="get" action="/p/qualite-air/"' in served
    assert 'data-static-path="/p/qualite-air/"' in served and '<script src="/p/explorer/explorer.js"></script>' in served
    assert served.startswith('<!DOCTYPE html><html lang="fr">') and "<title>Titre</title>" in served
    assert served.index("<div>barre</div>") < served.index('<main id="contenu"')
