"""The public dashboards as a citizen sees them: Debian's chromium through the hub's proxy, with
every request that is not to 127.0.0.1 blocked and counted (issue 6)."""

from __future__ import annotations


from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from conftest import ARTIFACTS, PARTNER_DASHBOARD, Visit, open_visit
from occidata.dashboards import BY_SLUG, DASHBOARDS
from occidata.hub import csp

pytestmark = [pytest.mark.browser, pytest.mark.hub]

PREFIX = "services/dashboards/"
# The live page draws the top of the page (title, banner, data date, headline) above the controls
# in a div.od-dashboard.od-head, and the rest below them in another div.od-dashboard.
BODY = ".od-dashboard:not(.od-head)"
RENDER_TIMEOUT = 120_000  # ms: a kernel may have to start and run the notebook on a busy CI machine

# What a citizen must find on each page once rendered (French), besides its title.
KEY_FIGURES = {
    "qualite-air": ["Indice ATMO", "Conseils"],
    "baignade": ["Classement", "E. coli", "Derniers prélèvements"],
    "chaleur": ["Seuils", "vigilance"],
    "trafic-air": ["véhicules", "NO₂"],
}


@pytest.fixture
def visit(browser):
    context, visit = open_visit(browser)
    yield visit
    context.close()


@pytest.fixture
def phone(browser):
    context, visit = open_visit(browser, width=375)
    yield visit
    context.close()


def open_dashboard(visit: Visit, hub, slug: str):
    """The live page of ``slug``, drawn; its policy runs no inline script (issue 13), so a
    console without errors also says that Voilà needs none."""
    page = visit.page
    response = page.goto(hub.url + PREFIX + f"voila/render/{slug}.ipynb", timeout=RENDER_TIMEOUT)
    policy = response.headers["content-security-policy"]
    assert not csp.allows_untrusted_script(policy), policy
    expect(page.locator(".od-dashboard h1")).to_have_text(BY_SLUG[slug].title_fr, timeout=RENDER_TIMEOUT)
    return page.locator(BODY)


def labelled_controls(page) -> list[str]:
    """The label of every select, input and button group of the page (empty string if none)."""
    return page.evaluate("""() => Array.from(document.querySelectorAll('select, input, textarea')).map(el => {
        const label = el.id ? document.querySelector(`label[for="${el.id}"]`) : null;
        return (label && label.textContent.trim()) || el.getAttribute('aria-label') || el.title || '';
    })""")


@pytest.mark.parametrize("slug", [d.slug for d in DASHBOARDS])
def test_dashboard_renders_in_french_with_labelled_controls_and_tables(dashboards_hub, visit, slug):
    view = open_dashboard(visit, dashboards_hub, slug)
    page = visit.page
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.title() == BY_SLUG[slug].title_fr
    for text in KEY_FIGURES[slug]:
        expect(view).to_contain_text(text)
    labels = labelled_controls(page)
    assert labels and all(labels), f"controls without a label: {labels}"
    assert view.locator("svg[role=img] title").count() >= 1  # a map or a chart, with its title
    assert view.locator("table caption").count() >= 1  # the same values in a table
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{slug}.png"), full_page=True)
    visit.assert_clean()


def pick_another_option(page) -> None:
    """Choose, in the first selector, an option other than the one shown."""
    select = page.locator("select").first
    options = select.locator("option").all_text_contents()
    assert len(options) >= 2, f"the first selector offers {options}"
    current = select.evaluate("el => el.selectedIndex")
    select.select_option(index=1 if current == 0 else 0)


def search_a_commune(page) -> None:
    """Type a commune in the bathing dashboard's search box (the tiny data hold one season)."""
    box = page.get_by_label("Commune")
    box.fill("Sète")
    box.press("Enter")


CHANGE = {"qualite-air": pick_another_option, "baignade": search_a_commune, "chaleur": pick_another_option,
          "trafic-air": pick_another_option}


@pytest.mark.parametrize("slug", [d.slug for d in DASHBOARDS])
def test_changing_a_control_updates_the_view(dashboards_hub, visit, slug):
    view = open_dashboard(visit, dashboards_hub, slug)
    page = visit.page
    before = view.inner_html()
    CHANGE[slug](page)
    page.wait_for_function("([body, before]) => document.querySelector(body).innerHTML !== before",
                           arg=[BODY, before], timeout=60_000)
    assert view.inner_html() != before
    if slug == "baignade":
        rows = view.locator("table").first.locator("tbody tr")
        assert rows.count() >= 1 and all("Sète" in text for text in rows.all_inner_texts())
    visit.assert_clean()


def test_english_switch_translates_the_page(dashboards_hub, visit):
    open_dashboard(visit, dashboards_hub, "qualite-air")
    page = visit.page
    page.get_by_role("button", name="English").click()
    english = page.locator('.od-dashboard[lang="en"]')
    expect(english.locator("h1")).to_have_text(BY_SLUG["qualite-air"].title_en, timeout=60_000)
    expect(page.locator(f'{BODY}[lang="en"]')).to_be_visible(timeout=60_000)
    assert all("Indice ATMO" not in text for text in english.all_inner_texts())
    visit.assert_clean()


@pytest.mark.parametrize("slug", [d.slug for d in DASHBOARDS])
def test_usable_on_a_375_pixel_phone(dashboards_hub, phone, slug):
    open_dashboard(phone, dashboards_hub, slug)
    page = phone.page
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"{slug}: the page is {width} px wide on a 375 px screen"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{slug}-375px.png"), full_page=True)
    phone.assert_clean()


def test_landing_and_snapshot_pages_load_nothing_from_outside(dashboards_hub, visit):
    page = visit.page
    page.goto(dashboards_hub.url + PREFIX)
    expect(page.locator("h1")).to_have_text("Tableaux de bord publics")
    page.get_by_role("link", name=DASHBOARDS[0].title_fr).first.click()  # the static page first
    expect(page.locator(".od-dashboard h1")).to_have_text(DASHBOARDS[0].title_fr)
    expect(page.locator(".od-dashboard")).to_contain_text("Instantané du")
    assert page.url.endswith(f"/{PREFIX}{DASHBOARDS[0].slug}/")
    visit.assert_clean()


@pytest.mark.parametrize("slug", [d.slug for d in DASHBOARDS])
def test_static_page_shows_its_map_and_table_and_runs_only_the_hosts_switcher(dashboards_hub, visit, slug):
    page = visit.page
    response = page.goto(dashboards_hub.url + PREFIX + f"snapshots/{slug}/")
    policy = csp.directives(response.headers["content-security-policy"])
    # One script may run: the host's view switcher (the page is whole without it:
    # tests/test_static_dashboards.py); nothing inline, nothing from another path.
    assert policy["script-src"] == [f"{urlparse(dashboards_hub.url).netloc}/{PREFIX}explorer/"]
    assert "'unsafe-inline'" not in policy["script-src"]
    view = page.locator(".od-dashboard")
    expect(view.locator("h1")).to_have_text(BY_SLUG[slug].title_fr)
    assert view.locator("svg[role=img] title").count() >= 1  # the map or chart, drawn without script
    assert view.locator("table caption").count() >= 1
    visit.assert_clean()


def test_partner_data_never_reach_the_page(dashboards_hub, visit):
    page = visit.page
    page.goto(dashboards_hub.url + PREFIX + f"voila/render/{PARTNER_DASHBOARD}.ipynb", timeout=RENDER_TIMEOUT)
    expect(page.locator(BODY)).to_contain_text("Ces données ne sont pas publiques", timeout=RENDER_TIMEOUT)
    assert page.locator(".od-dashboard table").count() == 0
    visit.assert_clean()


@pytest.mark.parametrize("kind", ["live", "snapshot"])
@pytest.mark.parametrize("slug", [d.slug for d in DASHBOARDS])
def test_first_screen_of_a_phone_shows_what_matters(dashboards_hub, browser, slug, kind):
    """390×844: the headline figure, the data's date and the demonstration banner (the tiny data are
    generated) on the first screen, above the controls of the live page; the class (the key figure
    for traffic) of the first table row visible without scrolling sideways."""
    context, phone = open_visit(browser, width=390, height=844)
    try:
        page = phone.page
        if kind == "live":
            open_dashboard(phone, dashboards_hub, slug)
            top, body = page.locator(".od-dashboard.od-head"), page.locator(BODY)
        else:
            page.goto(dashboards_hub.url + PREFIX + f"snapshots/{slug}/")
            top, body = page.locator(".od-dashboard .od-top"), page.locator(".od-dashboard")
        expect(top.locator(".od-banner")).to_contain_text("Données de démonstration — dernières mesures du")
        for part in (top.locator(".od-figure").first, top.locator(".od-updated"), top.locator(".od-banner")):
            box = part.bounding_box()
            assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 844, (slug, box)
        if kind == "live":  # every dashboard has a selector, below what matters first
            first_control = page.locator("select").first.bounding_box()
            assert first_control["y"] > top.locator(".od-figure").first.bounding_box()["y"]
        cell = body.locator("table").first.locator("tbody tr").first.locator("td").first
        box = cell.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, (slug, cell.inner_text(), box)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{slug}-{kind}-390x844-first-screen.png"))
        phone.assert_clean()
    finally:
        context.close()
