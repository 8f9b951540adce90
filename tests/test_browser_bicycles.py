"""The bicycle view of « Trafic et air » as a citizen opens it (issue 18): Debian's chromium through
the hub's proxy and Voilà, every request that is not to 127.0.0.1 blocked and counted. The figure
shown is the one checked by hand in the Métropole's real export (tests/test_dashboard_bicycles.py)."""

from __future__ import annotations

import pandas as pd
import pytest
from playwright.sync_api import expect

from conftest import ARTIFACTS, open_visit, start_dashboards_hub, wait_for_dashboards
from occidata.dashboards import BY_SLUG
from test_dashboard_bicycles import HAND_CHECKED, folder, raw_days

pytestmark = [pytest.mark.browser, pytest.mark.hub]

SLUG = "trafic-air"
LIVE_PAGE = f"services/dashboards/voila/render/{SLUG}.ipynb"
BODY = ".od-dashboard:not(.od-head)"  # the page below the controls (the top is above them)
TOP = ".od-dashboard.od-head"
RENDER_TIMEOUT = 120_000  # ms: a kernel may have to start and run the notebook on a busy machine
REDRAW_TIMEOUT = 60_000


@pytest.fixture(scope="module")
def traffic_hub(tmp_path_factory, tiny_data_dir):
    """A hub serving the « Trafic et air » dashboard alone, on the tiny data (real bicycle counts)."""
    folder()
    local, _token, count = start_dashboards_hub(tmp_path_factory.mktemp("bicycles-hub"), tiny_data_dir,
                                                apps=[SLUG], DASHBOARDS__POOL_SIZE="1", DASHBOARDS__MAX_KERNELS="4")
    try:
        wait_for_dashboards(local.url, count, 1)
        yield local
    finally:
        local.stop()


def test_switching_to_the_bicycle_view_shows_the_hand_checked_count_and_its_credit(traffic_hub, browser):
    assert raw_days(HAND_CHECKED["counter"])[HAND_CHECKED["day"]] == {HAND_CHECKED["count"]}
    context, visit = open_visit(browser)
    try:
        page = visit.page
        page.goto(traffic_hub.url + LIVE_PAGE, timeout=RENDER_TIMEOUT)
        expect(page.locator(".od-dashboard h1").first).to_have_text(BY_SLUG[SLUG].title_fr, timeout=RENDER_TIMEOUT)
        body = page.locator(BODY)
        expect(body).to_contain_text("véhicules", timeout=RENDER_TIMEOUT)  # the page opens on the road view
        expect(page.get_by_label("Jour (vélos)")).to_be_hidden()

        page.get_by_label("Afficher", exact=True).select_option(label="Vélos à Montpellier (compteurs réels)")
        expect(body).to_contain_text("Carte des compteurs vélo de la Métropole", timeout=REDRAW_TIMEOUT)
        expect(page.get_by_label("Point de comptage")).to_be_hidden()
        day = pd.Timestamp(HAND_CHECKED["day"]).strftime("%d/%m/%Y")
        page.get_by_label("Jour (vélos)").select_option(label=day)

        caption = f"Vélos comptés le {day} par compteur"
        day_table = body.locator("table").filter(has=page.locator("caption", has_text=caption))
        expect(day_table).to_have_count(1, timeout=REDRAW_TIMEOUT)
        row = day_table.locator("tbody tr").filter(has_text=f"Compteur {HAND_CHECKED['counter']} ")
        expect(row.locator("td").first).to_have_text(str(HAND_CHECKED["count"]))
        expect(page.locator(TOP)).to_contain_text(f"{HAND_CHECKED['count']} vélos comptés le {day}")
        expect(page.locator(TOP)).not_to_contain_text("Données de démonstration")
        credits = body.locator("section.od-credits")
        expect(credits).to_contain_text("« © Montpellier Méditerranée Métropole »")
        expect(credits).to_contain_text("ODbL 1.0")
        expect(body.locator("svg[role=img] title").first).to_contain_text(caption.replace(" par compteur", ""))
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{SLUG}-bicycles.png"), full_page=True)
        visit.assert_clean()
    finally:
        context.close()


def test_the_bicycle_view_fits_a_375_pixel_phone(traffic_hub, browser):
    context, phone = open_visit(browser, width=375, height=812)
    try:
        page = phone.page
        page.goto(traffic_hub.url + LIVE_PAGE, timeout=RENDER_TIMEOUT)
        expect(page.locator(BODY)).to_contain_text("véhicules", timeout=RENDER_TIMEOUT)
        page.get_by_label("Afficher", exact=True).select_option(label="Vélos à Montpellier (compteurs réels)")
        expect(page.locator(BODY)).to_contain_text("semaine par semaine", timeout=REDRAW_TIMEOUT)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"the bicycle view is {width} px wide on a 375 px screen"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{SLUG}-bicycles-375px.png"), full_page=True)
        phone.assert_clean()
    finally:
        context.close()
