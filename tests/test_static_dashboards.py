"""The citizens' static dashboard pages in Debian's chromium (issue 16): each dashboard's public
address (``/services/dashboards/<slug>/``) is a page rendered ahead, whose controls switch between
views rendered ahead without a kernel, that a phone shows first-screen-first, and that a crowd
costs no kernel. Every request that is not to 127.0.0.1 is blocked and counted."""

from __future__ import annotations

import html
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from playwright.sync_api import expect

from conftest import ARTIFACTS, dashboards_status, open_visit
from occidata.dashboards import BY_SLUG, DASHBOARDS

pytestmark = [pytest.mark.browser, pytest.mark.hub, pytest.mark.slow]

PREFIX = "services/dashboards/"
SLUGS = [d.slug for d in DASHBOARDS]
SCREENS = {
    "phone": {"width": 390, "height": 844, "is_mobile": True, "has_touch": True},
    "desktop": {"width": 1366, "height": 768},
}
VIEW = "main.od-view"
FORM = f"{VIEW} form.od-explore"
SWITCH_TIMEOUT = 60_000  # ms: one view fetched from the service, on a busy machine
LIVE_TIMEOUT = 180_000  # ms: a live page's kernel runs the notebook, on a busy 2-core machine
RELEASE_SECONDS = 60  # a closed live page's kernel is shut down within this
CROWD = 50
# The column citizens look for first, right after the name column, in each dashboard's first table.
CLASS_COLUMNS = {
    "qualite-air": ("Qualificatif", "Classe (1 à 6)"),
    "baignade": ("Classement",),
    "chaleur": ("Niveau",),
    "trafic-air": ("Véhicules dans la journée",),
}
# Places of the tiny data, as French writes them, and as a careless export would.
ACCENTED_PLACES = ("Hérault", "Lozère", "Ariège", "Pyrénées-Orientales", "Hautes-Pyrénées", "Sète", "Nîmes",
                   "Argelès-sur-Mer", "Vallabrègues", "Clermont-l'Hérault")
UNACCENTED = re.compile(r"\b(HERAULT|NIMES|LOZERE|ARIEGE|PYRENEES|SETE|Herault|Nimes|Lozere|Ariege|Pyrenees|Sete)\b")
GENERIC_PLURAL = re.compile(r"\w\(s\)")
FRENCH_MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
                 "novembre", "décembre")


def address(hub, slug: str) -> str:
    return hub.url + PREFIX + f"{slug}/"


# --- what a visit recorded ------------------------------------------------------------------


@dataclass
class Recorder:
    """The websockets a page opened and the paths it asked for."""

    sockets: list = field(default_factory=list)
    paths: list = field(default_factory=list)

    def kernel_requests(self) -> list[str]:
        return [p for p in self.paths if "/voila/" in p or "/api/" in p]

    def assert_no_kernel(self) -> None:
        assert self.sockets == [], f"websockets opened: {self.sockets[:5]}"
        assert self.kernel_requests() == [], f"requests towards a kernel: {self.kernel_requests()[:5]}"


def record(context, page) -> Recorder:
    recorder = Recorder()
    page.on("websocket", lambda socket: recorder.sockets.append(socket.url))
    context.on("request", lambda request: recorder.paths.append(urlparse(request.url).path))
    return recorder


@contextmanager
def static_visit(browser, screen: str = "desktop", **options):
    """A fresh browser context (loopback only) and its recorder; closed at the end."""
    context, visit = open_visit(browser, **SCREENS[screen], **options)
    try:
        yield visit, record(context, visit.page)
    finally:
        context.close()


def asked(url: str) -> dict:
    """The query of ``url``: name -> values."""
    return parse_qs(urlparse(url).query, keep_blank_values=True)


def open_static(visit, hub, slug: str, query: str = ""):
    response = visit.page.goto(address(hub, slug) + query)
    assert response is not None and response.status == 200, (slug, response and response.status)
    expect(visit.page.locator(f"{VIEW} .od-dashboard h1")).to_have_text(BY_SLUG[slug].title_fr)
    return response


def quiet_status(hub_url: str, timeout: float = 300) -> dict:
    """The service's counts once no visitor's kernel is alive or admitted (kernels taken by the
    tests before this one released, pools refilled): a baseline that only a new kernel changes."""
    deadline = time.monotonic() + timeout
    while True:
        status = dashboards_status(hub_url)
        if (status["visitors"] == 0 and status["admitting"] == 0
                and status["preheated"] == status["pool_size"] * len(status["dashboards"])):
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"the dashboards service did not settle in {timeout:.0f} s: {status}")
        time.sleep(1)


# --- the controls -----------------------------------------------------------------------------


def controls(page) -> list[dict]:
    """Each select of the page's form: its name, value and options (value, text)."""
    return page.evaluate("""(form) => Array.from(document.querySelectorAll(form + ' select')).map(s => ({
        name: s.name, value: s.value,
        options: Array.from(s.options).map(o => ({value: o.value, text: o.textContent.trim()}))}))""", FORM)


def another_option(control: dict) -> dict | None:
    """An option other than the one shown (for bathing's commune: Sète, whose accent must survive)."""
    others = [o for o in control["options"] if o["value"] != control["value"]]
    return next((o for o in others if o["value"] == "Sète"), others[0] if others else None)


def french_day(key: str) -> str:
    """« 12 août 2023 » (« 1er ») for ``YYYY-MM-DD``, as the heat dashboard writes its days."""
    year, month, day = (int(part) for part in key.split("-"))
    return f"{'1er' if day == 1 else day} {FRENCH_MONTHS[month - 1]} {year}"


def map_title(page) -> str:
    return page.locator(f"{VIEW} svg[role=img] title").first.text_content()


def first_table_column(page, label: str) -> list[str]:
    """The texts of the column headed ``label`` in the view's first table."""
    return page.evaluate("""([view, label]) => {
        const table = document.querySelector(view + ' table');
        const heads = Array.from(table.querySelectorAll('thead th')).map(th => th.textContent.trim());
        const i = heads.indexOf(label);
        if (i < 0) return null;
        return Array.from(table.querySelectorAll('tbody tr')).map(tr => tr.children[i].textContent.trim());
    }""", [VIEW, label])


def assert_shows(page, slug: str, name: str, option: dict) -> None:
    """The view on screen is the one of ``option`` of control ``name``, by what it says."""
    if name == "commune":  # bathing: only that commune's sites
        communes = first_table_column(page, "Commune")
        assert communes and set(communes) == {option["value"]}, (option, communes)
    elif name == "season":
        assert f"saison {option['value']}" in map_title(page)
    elif name == "pollutant":  # the map shows that pollutant's sub-index
        assert option["text"] in map_title(page), (option, map_title(page))
    elif name == "day" and slug == "chaleur":  # the heat level of that day; the data date stays the latest
        assert french_day(option["value"]) in map_title(page), (option, map_title(page))
    elif name == "day":  # air and traffic: the map and the data date say that day
        assert option["text"] in map_title(page), (option, map_title(page))
        expect(page.locator(f"{VIEW} .od-updated")).to_contain_text(option["text"])
    else:
        raise AssertionError(f"{slug}: a control this test does not know: {name}")


def switch(page, name: str, option: dict) -> None:
    """Choose ``option`` in the select ``name`` and wait until explorer.js has put its view in place."""
    page.locator(f'{FORM} select[name="{name}"]').select_option(option["value"])
    page.wait_for_function("""([form, name, value]) => {
        const shown = document.querySelector(form + ' select[name="' + name + '"]');
        return new URLSearchParams(location.search).get(name) === value && shown && shown.value === value
            && !document.querySelector('main.od-view[aria-busy]');
    }""", arg=[FORM, name, option["value"]], timeout=SWITCH_TIMEOUT)


def switch_every_control(page, slug: str) -> list[str]:
    """Move every control that offers a choice, one after the other; the names moved."""
    moved = []
    for control in controls(page):
        option = another_option(control)
        if option is None:  # one option only in the tiny data (bathing: one season)
            continue
        switch(page, control["name"], option)
        assert_shows(page, slug, control["name"], option)
        moved.append(control["name"])
    return moved


# --- 1. the first screen ----------------------------------------------------------------------


@pytest.mark.parametrize("screen", ["phone", "desktop"])
@pytest.mark.parametrize("slug", SLUGS)
def test_first_screen_shows_the_headline_figure_the_data_date_and_the_demo_banner(dashboards_hub, browser, slug,
                                                                                  screen):
    height = SCREENS[screen]["height"]
    with static_visit(browser, screen) as (visit, recorder):
        response = open_static(visit, dashboards_hub, slug)
        assert response.headers["x-occidata-snapshot"].endswith(f"instantane-{slug}")
        page = visit.page
        top = page.locator(f"{VIEW} .od-top")
        expect(top.locator(".od-banner")).to_contain_text("démonstration")
        for part in (top.locator(".od-headline .od-figure").first, top.locator(".od-updated"),
                     top.locator(".od-banner")):
            expect(part).to_be_visible()
            box = part.bounding_box()
            assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height, (slug, screen, box)
        # The controls come right under the top, where the live page has them.
        expect(page.locator(f"{VIEW} .od-top + form.od-explore select").first).to_be_visible()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{slug}-static-{screen}-first-screen.png"))
        recorder.assert_no_kernel()
        visit.assert_clean()


# --- 2. the controls, without a kernel --------------------------------------------------------


@pytest.mark.parametrize("slug", SLUGS)
def test_every_control_switches_the_view_without_a_kernel(dashboards_hub, browser, slug):
    before = quiet_status(dashboards_hub.url)
    with static_visit(browser) as (visit, recorder):
        page = visit.page
        open_static(visit, dashboards_hub, slug)
        expect(page.locator(f"{FORM} .od-apply")).to_be_hidden()  # the script switches at once
        page.evaluate("window.odSameDocument = true")  # gone if a control reloaded the page
        moved = switch_every_control(page, slug)
        assert moved, f"{slug}: no control offers a second option"
        assert page.evaluate("window.odSameDocument === true"), "a control reloaded the whole page"
        english = page.locator("a[hreflang=en]").get_attribute("href")
        assert asked(english).keys() >= set(moved), english  # the other language, same view
        recorder.assert_no_kernel()
        visit.assert_clean()
    after = dashboards_status(dashboards_hub.url)
    assert after["visitors"] == before["visitors"], (before, after)


@pytest.mark.parametrize("slug", SLUGS)
def test_without_javascript_the_form_button_shows_the_chosen_view(dashboards_hub, browser, slug):
    with static_visit(browser, java_script_enabled=False) as (visit, recorder):
        page = visit.page
        open_static(visit, dashboards_hub, slug)
        chosen = {}
        for control in controls(page):
            option = another_option(control)
            if option is not None:
                page.locator(f'{FORM} select[name="{control["name"]}"]').select_option(option["value"])
                chosen[control["name"]] = option
        assert chosen, f"{slug}: no control offers a second option"
        page.locator(FORM).get_by_role("button", name="Afficher").click()
        page.wait_for_url(lambda url: all(asked(url).get(name) == [o["value"]] for name, o in chosen.items()),
                          timeout=SWITCH_TIMEOUT)
        for name, option in chosen.items():
            expect(page.locator(f'{FORM} select[name="{name}"]')).to_have_value(option["value"])
            assert_shows(page, slug, name, option)
        recorder.assert_no_kernel()
        visit.assert_clean()


# --- 3. the class column on a phone -----------------------------------------------------------


@pytest.mark.parametrize("slug", SLUGS)
def test_the_class_column_stays_on_a_390_pixel_screen_after_a_change(dashboards_hub, browser, slug):
    with static_visit(browser, "phone") as (visit, _recorder):
        page = visit.page
        open_static(visit, dashboards_hub, slug)
        control = next(c for c in controls(page) if another_option(c) is not None)
        switch(page, control["name"], another_option(control))
        found = page.evaluate("""([view, labels]) => {
            const table = document.querySelector(view + ' table');
            const wrap = table.closest('.od-table-wrap');
            const heads = Array.from(table.querySelectorAll('thead th')).map(th => th.textContent.trim());
            const cells = [];
            for (const label of labels) {
                const i = heads.indexOf(label);
                if (i < 0) { cells.push({label, missing: heads}); continue; }
                for (const tr of Array.from(table.querySelectorAll('tbody tr')).slice(0, 3)) {
                    const box = tr.children[i].getBoundingClientRect();
                    cells.push({label, text: tr.children[i].textContent.trim(), left: box.left, right: box.right});
                }
            }
            return {cells, scrollLeft: wrap ? wrap.scrollLeft : null,
                    wrapRight: wrap ? wrap.getBoundingClientRect().right : null,
                    pageWidth: document.documentElement.scrollWidth};
        }""", [VIEW, list(CLASS_COLUMNS[slug])])
        assert found["scrollLeft"] == 0 and found["cells"], found
        for cell in found["cells"]:
            assert "missing" not in cell, f"{slug}: no column {cell['label']!r} in the first table: {cell}"
            assert cell["left"] >= 0 and cell["right"] <= min(390, found["wrapRight"]), (slug, cell)
        assert found["pageWidth"] <= 390, f"{slug}: the page is {found['pageWidth']} px wide on a 390 px screen"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{slug}-static-390px-after-change.png"), full_page=True)
        visit.assert_clean()


# --- 4. French as citizens read it ------------------------------------------------------------


@pytest.mark.parametrize("slug", SLUGS)
def test_french_text_has_no_generic_plural_and_places_keep_their_accents(dashboards_hub, browser, slug):
    with static_visit(browser) as (visit, _recorder):
        page = visit.page
        open_static(visit, dashboards_hub, slug)
        queries = [""] + ["?" + urlencode({c["name"]: o["value"]}) for c in controls(page) for o in c["options"]]
        accented = set()
        for query in queries:
            if query:
                open_static(visit, dashboards_hub, slug, query)
            text = page.locator("body").inner_text()
            assert not GENERIC_PLURAL.findall(text), (slug, query, GENERIC_PLURAL.findall(text)[:5])
            # Everything the page holds, the map's titles included.
            whole = html.unescape(re.sub(r"<[^>]+>", " ", page.content()))
            assert not UNACCENTED.findall(whole), (slug, query, UNACCENTED.findall(whole)[:5])
            # Folded table rows count too: real stations lengthen the tables past their first rows.
            accented |= {place for place in ACCENTED_PLACES if place in whole}
        assert accented, f"{slug}: no accented place name shown"
        visit.assert_clean()


# --- 5. the live page, from the static one ----------------------------------------------------


def test_the_live_page_opens_from_its_link_and_its_kernel_goes_once_closed(dashboards_hub, browser):
    url = dashboards_hub.url
    before = quiet_status(url)
    context, visit = open_visit(browser, **SCREENS["phone"])
    recorder = record(context, visit.page)
    try:
        page = visit.page
        open_static(visit, dashboards_hub, "qualite-air")
        assert recorder.sockets == []
        page.get_by_role("link", name="Explorer en direct").click()
        page.wait_for_url(re.compile(r"/voila/render/qualite-air\.ipynb"), timeout=LIVE_TIMEOUT)
        expect(page.locator(".od-dashboard h1").first).to_have_text(BY_SLUG["qualite-air"].title_fr,
                                                                    timeout=LIVE_TIMEOUT)
        # The body is drawn by widgets, which talk to the kernel: what the other tests count, seen here.
        expect(page.locator(".od-dashboard:not(.od-head)").first).to_be_visible(timeout=LIVE_TIMEOUT)
        deadline = time.monotonic() + 60
        while not any("/api/kernels/" in socket for socket in recorder.sockets):
            assert time.monotonic() < deadline, f"no websocket to the live page's kernel: {recorder.sockets}"
            page.wait_for_timeout(500)
        # The pool has its preheated kernel again: the one visitor's kernel left is this page's.
        deadline = time.monotonic() + LIVE_TIMEOUT / 1000
        while True:
            status = dashboards_status(url)
            if status["preheated"] == before["preheated"] and status["visitors"] == before["visitors"] + 1:
                break
            assert time.monotonic() < deadline, f"the live page's kernel and the refilled pool: {status}"
            time.sleep(1)
    finally:
        context.close()  # as a tab closed: no goodbye from the page (no beforeunload)
    deadline = time.monotonic() + RELEASE_SECONDS
    while (status := dashboards_status(url))["visitors"] != before["visitors"]:
        assert time.monotonic() < deadline, (
            f"the closed page's kernel was still alive {RELEASE_SECONDS} s later: before {before}, now {status}")
        time.sleep(1)


# --- 6. a crowd -------------------------------------------------------------------------------


def test_a_crowd_of_50_visitors_gets_the_static_pages_and_no_kernel(dashboards_hub, browser):
    url = dashboards_hub.url
    before = quiet_status(url)
    visits = []
    try:
        for i in range(CROWD):
            context, visit = open_visit(browser, width=390, height=844)
            visits.append((context, visit, record(context, visit.page), SLUGS[i % len(SLUGS)]))
        # Each page asked before any has loaded: the browser fetches them all at once.
        for _context, visit, _recorder, slug in visits:
            visit.page.goto(address(dashboards_hub, slug), wait_until="commit", timeout=120_000)
        for _context, visit, recorder, slug in visits:
            page = visit.page
            expect(page.locator(f"{VIEW} .od-dashboard h1")).to_have_text(BY_SLUG[slug].title_fr, timeout=120_000)
            expect(page.locator(f"{VIEW} .od-headline .od-figure").first).to_be_visible(timeout=120_000)
        for _context, visit, recorder, slug in visits:
            recorder.assert_no_kernel()
            visit.assert_clean()
    finally:
        for context, *_rest in visits:
            context.close()
    after = dashboards_status(url)
    assert (after["visitors"], after["live"]) == (before["visitors"], before["live"]), (before, after)
