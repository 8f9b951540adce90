"""What matters first, on every dashboard built from the tiny data: title, banner, data date and
headline at the top (above the controls on the live page), French as it is written."""

from __future__ import annotations

import dataclasses
import html as html_lib
import re
import unicodedata

import pandas as pd
import pytest

from occidata.dashboards import air, bathing, heat, layout, traffic
from occidata.dashboards.data import mark_demo
from occidata.dashboards.render import split_top
from occidata.datasets import geography

SLUGS = ("qualite-air", "baignade", "chaleur", "trafic-air")
BANNER, HEADLINE = '<div class="od-banner', '<div class="od-headline"'


@pytest.fixture(scope="module")
def loaded(module_env):
    return {"qualite-air": air.load(), "baignade": bathing.load(), "chaleur": heat.load(),
            "trafic-air": traffic.load()}


def render(slug: str, data, lang: str = "fr", **values) -> str:
    if slug == "qualite-air":
        return air.view(data, lang=lang, **values)
    if slug == "baignade":
        return bathing.view(data, lang=lang, shapes=[], **values)
    if slug == "chaleur":
        return heat.view(data, lang=lang, shapes=[], **values)
    return traffic.view(data, lang=lang, **values)


def controls(slug: str, data, lang: str) -> dict:
    module = {"qualite-air": air, "baignade": bathing, "chaleur": heat, "trafic-air": traffic}[slug]
    return module.controls(data if slug in ("qualite-air", "trafic-air") else (lambda: data), lang)


def text(html: str) -> str:
    """What a reader sees (tags removed, entities decoded)."""
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<style>.*?</style>", "", html, flags=re.S)))


def unaccented(name: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))


ACCENTED = sorted({n for n in list(geography.departments()["name"]) + list(geography.communes()["name"])
                   if unaccented(n) != n})


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("slug", SLUGS)
def test_no_bracketed_plural_and_no_lost_accent(loaded, slug, lang):
    seen = text(render(slug, loaded[slug], lang))
    assert "(s)" not in seen and "(es)" not in seen
    lost = [n for n in ACCENTED if re.search(rf"(?<![\w-]){re.escape(unaccented(n))}(?![\w-])", seen)]
    assert not lost, f"{slug}: names without their accents: {lost}"


def test_air_tables_name_departments_and_communes_as_written(loaded):
    html = render("qualite-air", loaded["qualite-air"])
    assert "Hérault" in html and "Herault" not in html and "HERAULT" not in html
    assert "Vallabrègues" in html and "Haute-Garonne" in html  # ATMO writes VALLABREGUES, HAUTE-GARONNE


@pytest.mark.parametrize("lang, words", [("fr", "Données de démonstration — dernières mesures du"),
                                         ("en", "Demonstration data — latest measurements of")])
@pytest.mark.parametrize("slug", SLUGS)
def test_banner_date_and_headline_come_first(loaded, slug, lang, words):
    html = render(slug, loaded[slug], lang)
    top, rest = split_top(html)
    shown = text(top)
    assert words in re.sub(r"\s+", " ", shown), shown  # the tiny data are generated: demonstration data
    assert ("Dernières données" if lang == "fr" else "Latest data") in shown
    assert 'class="od-headline"' in top and 'class="od-figure"' in top
    assert BANNER not in rest and HEADLINE not in rest and "<h1>" not in rest
    # Before anything else of the page: its sections, maps and tables.
    assert html.index("<h1>") < html.index(BANNER) < html.index(HEADLINE) < min(
        html.index(mark) for mark in ("<h2", "<svg", "<table") if mark in html)


@pytest.mark.parametrize("slug", SLUGS)
def test_live_page_puts_banner_and_headline_above_the_controls(loaded, slug):
    data = loaded[slug]
    box = layout.build_dashboard(slug, lambda lang: controls(slug, data, lang),
                                 lambda lang="fr", **values: render(slug, data, lang, **values))
    live = box.dashboard
    assert box.children[0] is live.top and list(box.children[1:]) == [live.language, live.box, live.output]
    top = live.top.outputs[0]["data"]["text/html"]
    assert "Données de démonstration" in top and 'class="od-headline"' in top
    assert BANNER not in live.output.outputs[0]["data"]["text/html"]


def test_air_headline_gives_the_worst_class_and_stations_per_class(loaded):
    data = loaded["qualite-air"]
    table = air.station_table(data, data.latest_day())
    with_index = table[table["index"] > 0]
    top = text(split_top(render("qualite-air", data))[0])
    worst = int(with_index["index"].max())
    assert f"{worst} — {air.compute.label(worst, 'fr', scheme='atmo')}" in top
    for index, n in with_index["index"].value_counts().items():
        label = air.compute.label(int(index), "fr", scheme="atmo")
        assert re.search(rf"{index} — {re.escape(label)}\s+{n} stations?\b", top), top


def test_heat_headline_counts_departments_at_the_threshold(loaded):
    alerts = loaded["chaleur"]
    day = alerts["day"].max()
    at = int((alerts[alerts["day"] == day]["level"] == "alert").sum())
    top = text(split_top(render("chaleur", alerts))[0])
    expected = "Aucun département" if at == 0 else f"{at} département{'s' if at > 1 else ''}"
    assert f"{expected} sur 13 aux seuils de canicule" in top


def test_current_data_have_no_banner_and_old_data_say_so(loaded):
    data = dataclasses.replace(loaded["qualite-air"], demo=False)
    last = data.latest_day()
    assert BANNER not in air.view(data, today=last + pd.Timedelta(days=2))
    old = text(air.view(data, today=last + pd.Timedelta(days=3)))
    assert "Données qui ne sont pas à jour — dernières mesures du" in re.sub(r"\s+", " ", old)
    samples = mark_demo(loaded["baignade"].copy(), False)
    last_sample = samples["sample_date"].max()
    assert BANNER not in bathing.view(samples, shapes=[], today=last_sample)
    assert f"{BANNER} od-banner-stale" in bathing.view(samples, shapes=[], today=last_sample + pd.Timedelta(days=30))


def test_bathing_headline_counts_the_sites_in_alert(loaded):
    samples = loaded["baignade"].copy()
    samples["e_coli"] *= 100
    samples["enterococci"] *= 100
    sites = bathing.assess_sites(samples, bathing.seasons(samples)[-1], min_samples=8)
    poor = sites[sites["classification"] == "poor"]
    assert len(poor) >= 1
    top = re.sub(r"\s+", " ", text(split_top(bathing.view(samples, shapes=[], min_samples=8))[0]))
    assert f"{len(poor)} site{'s' if len(poor) > 1 else ''} sur {len(sites)} en qualité « Insuffisante »" in top
    assert "Baignade déconseillée ou interdite" in top and poor["name"].iloc[0] in top
