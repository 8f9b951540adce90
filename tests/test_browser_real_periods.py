"""« Chaleur », « Qualité de l'air » and the bicycle view of « Trafic et air » on real data, as a
citizen sees them (issue 18): Debian's chromium through the hub's proxy (every request that is not
to 127.0.0.1 blocked), the live page switched to a real period through Voilà, and the static
page's views of it without a kernel. One hub serves the three pages. The bicycle figure shown is
the one checked by hand in the Métropole's real export (tests/test_dashboard_bicycles.py)."""

from __future__ import annotations

import pandas as pd
import pytest
from playwright.sync_api import expect

from conftest import ARTIFACTS, open_visit, start_dashboards_hub, wait_for_dashboards
from occidata.dashboards import BY_SLUG
from test_dashboard_bicycles import HAND_CHECKED, folder, raw_days

pytestmark = [pytest.mark.browser, pytest.mark.hub]

PREFIX = "services/dashboards/"
HEAD, BODY = ".od-dashboard.od-head", ".od-dashboard:not(.od-head)"
RENDER_TIMEOUT = 180_000  # ms: a kernel may have to start and run the notebook on a busy 2-core machine
CHANGE_TIMEOUT = 60_000  # ms: the kernel reads the period's data and redraws the page
SLUG = "trafic-air"
LIVE_PAGE = f"services/dashboards/voila/render/{SLUG}.ipynb"


@pytest.fixture(scope="module")
def hub(tmp_path_factory, tiny_data_dir):
    """A hub serving the three pages on the tiny data (whose real entries hold the providers' files)."""
    folder()  # the Métropole's real counter exports, beside the checkout
    local, _token, count = start_dashboards_hub(tmp_path_factory.mktemp("real-periods-hub"), tiny_data_dir,
                                                apps=["chaleur", "qualite-air", SLUG], DASHBOARDS__POOL_SIZE="1",
                                                DASHBOARDS__MAX_KERNELS="8")
    try:
        wait_for_dashboards(local.url, count, 1)
        yield local
    finally:
        local.stop()


@pytest.fixture
def visit(browser):
    context, visit = open_visit(browser)
    yield visit
    context.close()


def open_live(visit, hub, slug: str):
    page = visit.page
    page.goto(hub.url + PREFIX + f"voila/render/{slug}.ipynb", timeout=RENDER_TIMEOUT)
    expect(page.locator(f"{HEAD} h1")).to_have_text(BY_SLUG[slug].title_fr, timeout=RENDER_TIMEOUT)
    return page


def choose(page, label: str, option: str, then: str) -> None:
    """Pick ``option`` (its text) in the control labelled ``label``; wait until the page says ``then``."""
    page.get_by_label(label, exact=True).select_option(label=option)
    expect(page.locator(BODY)).to_contain_text(then, timeout=CHANGE_TIMEOUT)


def test_heat_page_switches_to_the_real_summer_2019(hub, visit):
    page = open_live(visit, hub, "chaleur")
    expect(page.locator(HEAD)).to_contain_text("Données de démonstration")  # the grid's recent days first
    expect(page.locator(f"{BODY} .od-credits")).to_contain_text("données synthétiques de démonstration")
    choose(page, "Période", "Été 2019 (Météo-France)", "Niveau par département le 24 juillet 2019")
    choose(page, "Jour", "28 juin 2019", "Niveau par département le 28 juin 2019")
    choose(page, "Département", "Hérault", "Hérault : indicateurs jour par jour")
    record = page.locator(f"{BODY} table", has_text="Indicateurs de l'Hérault").locator("tbody tr").first
    expect(record).to_contain_text("28/06/2019")
    expect(record).to_contain_text("41.17")  # Météo-France's TX of Hérault that day
    credits = page.locator(f"{BODY} .od-credits")
    expect(credits).to_contain_text("Sources et licences")
    expect(credits).to_contain_text("Météo-France")
    expect(credits).to_contain_text("Licence Ouverte 2.0")
    expect(page.locator(HEAD)).to_contain_text("Archives : été 2019")
    expect(page.locator(HEAD)).not_to_contain_text("Données de démonstration")
    visit.assert_clean()


def test_air_page_switches_to_atmos_real_episode_of_march_2020(hub, visit):
    page = open_live(visit, hub, "qualite-air")
    choose(page, "Période", "Épisode réel de mars 2020 (ATMO Occitanie)", "Indice ATMO par station, 16/03/2020")
    choose(page, "Polluant", "Dioxyde d'azote (NO₂)", "Sous-indice Dioxyde d'azote (NO₂) par station")
    choose(page, "Station (courbe)", "Toulouse-Périphérique Trafic (Toulouse)",
           "Concentrations horaires (µg/m³) à Toulouse-Périphérique Trafic")
    caption = "Concentrations horaires (µg/m³) à Toulouse-Périphérique Trafic"
    hours = page.locator(f"{BODY} table", has_text=caption)
    # ATMO's export: 94.4 µg/m³ of NO2 on 14 March 2020 23:00 UTC, midnight in UTC+1.
    expect(hours.locator("tbody tr", has_text="15/03/2020").first).to_contain_text("94.4")
    credits = page.locator(f"{BODY} .od-credits")
    expect(credits).to_contain_text("Sources et licences")
    expect(credits).to_contain_text("© ATMO Occitanie")
    expect(credits).to_contain_text("ODbL")
    expect(page.locator(HEAD)).not_to_contain_text("Données de démonstration")
    visit.assert_clean()


@pytest.mark.parametrize("slug, query, says, source", [
    ("chaleur", "?day=2019-06-29", "Niveau par département le 29 juin 2019", "Météo-France"),
    ("qualite-air", "?pollutant=NO2&day=2020-03-16", "Sous-indice Dioxyde d'azote (NO₂) par station, 16/03/2020",
     "© ATMO Occitanie"),
])
def test_static_page_serves_the_real_period_rendered_ahead(hub, visit, slug, query, says, source):
    sockets = []
    page = visit.page
    page.on("websocket", lambda socket: sockets.append(socket.url))
    response = page.goto(hub.url + PREFIX + f"{slug}/{query}")
    assert response is not None and response.status == 200
    view = page.locator("main.od-view")
    expect(view).to_contain_text(says)
    expect(view.locator(".od-credits")).to_contain_text(source)
    expect(view.locator(".od-top")).not_to_contain_text("Données de démonstration")
    assert sockets == []  # rendered ahead: no kernel
    visit.assert_clean()


def test_switching_to_the_bicycle_view_shows_the_hand_checked_count_and_its_credit(hub, browser):
    assert raw_days(HAND_CHECKED["counter"])[HAND_CHECKED["day"]] == {HAND_CHECKED["count"]}
    context, visit = open_visit(browser)
    try:
        page = visit.page
        page.goto(hub.url + LIVE_PAGE, timeout=RENDER_TIMEOUT)
        expect(page.locator(".od-dashboard h1").first).to_have_text(BY_SLUG[SLUG].title_fr, timeout=RENDER_TIMEOUT)
        body = page.locator(BODY)
        expect(body).to_contain_text("véhicules", timeout=RENDER_TIMEOUT)  # the page opens on the road view
        expect(page.get_by_label("Jour (vélos)")).to_be_hidden()

        page.get_by_label("Afficher", exact=True).select_option(label="Vélos à Montpellier (compteurs réels)")
        expect(body).to_contain_text("Carte des compteurs vélo de la Métropole", timeout=CHANGE_TIMEOUT)
        expect(page.get_by_label("Point de comptage")).to_be_hidden()
        day = pd.Timestamp(HAND_CHECKED["day"]).strftime("%d/%m/%Y")
        page.get_by_label("Jour (vélos)").select_option(label=day)

        caption = f"Vélos comptés le {day} par compteur"
        day_table = body.locator("table").filter(has=page.locator("caption", has_text=caption))
        expect(day_table).to_have_count(1, timeout=CHANGE_TIMEOUT)
        row = day_table.locator("tbody tr").filter(has_text=f"Compteur {HAND_CHECKED['counter']} ")
        expect(row.locator("td").first).to_have_text(str(HAND_CHECKED["count"]))
        expect(page.locator(HEAD)).to_contain_text(f"{HAND_CHECKED['count']} vélos comptés le {day}")
        expect(page.locator(HEAD)).not_to_contain_text("Données de démonstration")
        credits = body.locator("section.od-credits")
        expect(credits).to_contain_text("« © Montpellier Méditerranée Métropole »")
        expect(credits).to_contain_text("ODbL 1.0")
        expect(body.locator("svg[role=img] title").first).to_contain_text(caption.replace(" par compteur", ""))
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{SLUG}-bicycles.png"), full_page=True)
        visit.assert_clean()
    finally:
        context.close()


def test_the_bicycle_view_fits_a_375_pixel_phone(hub, browser):
    context, phone = open_visit(browser, width=375, height=812)
    try:
        page = phone.page
        page.goto(hub.url + LIVE_PAGE, timeout=RENDER_TIMEOUT)
        expect(page.locator(BODY)).to_contain_text("véhicules", timeout=RENDER_TIMEOUT)
        page.get_by_label("Afficher", exact=True).select_option(label="Vélos à Montpellier (compteurs réels)")
        expect(page.locator(BODY)).to_contain_text("semaine par semaine", timeout=CHANGE_TIMEOUT)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"the bicycle view is {width} px wide on a 375 px screen"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{SLUG}-bicycles-375px.png"), full_page=True)
        phone.assert_clean()
    finally:
        context.close()
