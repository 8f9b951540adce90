"""The catalogue pages (issue 15): the list with search and filters, one page per entry, French
first with an English switch, public to anyone, non-public metadata to logged-in users only.

The renderer is tested on the shipped catalogue and the tiny data; the service through a real
hub and its proxy (as a visitor, then logged in through the hub's login), and once in chromium on
a phone-sized screen with every request outside 127.0.0.1 blocked."""

from __future__ import annotations

import re
import time
from html import unescape
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from conftest import open_visit, start_hub
from occidata.catalog import open_catalog, show
from occidata.catalog.pages import (Filters, Reader, keep, masked, origin_of, producer_of, render_entry, render_list,
                                    render_refusal, snippets)
from occidata.catalog.places import entry_places
from occidata.catalog.spec import CATALOG_PATH
from occidata.datasets import names as catalogue_names
from occidata.hub import csp

PREFIX = "/services/catalogue/"
PUBLIC_ENTRY = "air_quality_hourly"
PARTNER_ENTRY = "agri_sensors"
# Words of the partner entry's description that its title does not hold.
PARTNER_SECRET = "precision-viticulture stations"


@pytest.fixture(scope="module")
def entries(tiny_data_dir, monkeypatch_module):
    monkeypatch_module.setenv("OCCIDATA_DATA_DIR", str(tiny_data_dir))
    catalog = open_catalog()
    return {name: show(name, catalog) for name in sorted(catalog)}


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


SHAPES = [{"name": "Hérault", "code": "34", "rings": [[[3.0, 43.2], [4.0, 43.2], [4.0, 43.9], [3.0, 43.2]]],
           "fill": None, "text": None},
          {"name": "Aude", "code": "11", "rings": [[[1.7, 42.7], [3.2, 42.7], [3.2, 43.4], [1.7, 42.7]]],
           "fill": None, "text": None}]


def reader(user=None, lang="fr", **kwargs) -> Reader:
    return Reader(user=user, prefix=PREFIX, lang=lang, **kwargs)


def entry_page(name, meta, data_dir, who=None, lang="fr", **kwargs) -> str:
    places = entry_places(name, meta, data_dir, [s["name"] for s in SHAPES])
    return render_entry(name, meta, reader(who, lang, **kwargs), places=places, shapes=SHAPES,
                        build={"built_at": "2026-06-01T00:00:00+00:00", "size": "tiny", "seed": 0, "rows": 10},
                        stewards=["admin"], lab_name="Lab")


class Links(HTMLParser):
    """Every href and action of a page, and its <html lang>."""

    def __init__(self):
        super().__init__()
        self.urls, self.lang = [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.lang = attrs.get("lang")
        for key in ("href", "action", "src"):
            if attrs.get(key):
                self.urls.append(attrs[key])


def links(html: str) -> Links:
    parser = Links()
    parser.feed(html)
    return parser


# --- the renderer -------------------------------------------------------------------------


def test_every_entry_of_the_shipped_catalogue_renders_in_both_languages(entries, tiny_data_dir):
    assert len(entries) >= 8
    for name, meta in entries.items():
        for lang in ("fr", "en"):
            page = entry_page(name, meta, tiny_data_dir, who="ana", lang=lang)
            assert links(page).lang == lang
            assert page.count("<h1>") == 1 and "<script" not in page
            assert "<svg" in page and 'role="img"' in page, name  # a map for every entry
            for variable, info in meta["variables"].items():
                assert f"<code>{variable}</code>" in page
                if info.get("unit"):
                    assert info["unit"].replace("'", "&#39;") in page or info["unit"] in page
            assert meta["licence"] in unescape(page) and meta["access"] in page
            assert 'data-snippet="intake"' in page
            assert 'scope="col"' in page and "<caption>" in page


def test_a_public_entry_maps_its_stations_with_a_table_of_the_same_places(entries, tiny_data_dir):
    page = entry_page(PUBLIC_ENTRY, entries[PUBLIC_ENTRY], tiny_data_dir)
    stations = re.findall(r'<circle class="od-point"', page)
    rows = re.findall(r'<tr(?: class="od-extra")?><th scope="row">', page.split('id="variables"')[0])
    assert len(stations) >= 3 and len(stations) == len(rows)
    # Non-public entries never get sites: the map follows the departments the metadata names.
    partner = entry_page(PARTNER_ENTRY, entries[PARTNER_ENTRY], tiny_data_dir, who="ana")
    assert 'class="od-point"' not in partner
    assert "Hérault" in partner and "Aude" in partner and "non publiques" in partner


def test_a_signed_in_reader_of_a_non_public_entry_is_shown_where_to_ask_for_it(entries, tiny_data_dir):
    partner = entry_page(PARTNER_ENTRY, entries[PARTNER_ENTRY], tiny_data_dir, who="ana")
    assert f'<a class="ask" href="/services/data/requests/new?dataset={PARTNER_ENTRY}">Demander l&#39;accès</a>' in partner
    assert f"occidata access request {PARTNER_ENTRY}" in partner
    public = entry_page(PUBLIC_ENTRY, entries[PUBLIC_ENTRY], tiny_data_dir, who="ana")
    assert "requests/new" not in public  # open data: nothing to ask


def test_snippets_are_python_and_plain_intake_loads_every_public_entry(entries, tiny_data_dir, monkeypatch):
    monkeypatch.setenv("OCCIDATA_CATALOG", str(CATALOG_PATH))  # as the lab sets it
    monkeypatch.setenv("OCCIDATA_DATA_DIR", str(tiny_data_dir))
    for name, meta in entries.items():
        code = snippets(name, meta, meta["default_year"])
        for text in code.values():
            compile(text, f"<{name} snippet>", "exec")
        assert 'intake.from_yaml_file(os.environ["OCCIDATA_CATALOG"])' in code["intake"]
        if meta["access"] != "public":
            continue
        for kind, text in code.items():
            scope: dict = {}
            exec(compile(text, f"<{name} {kind}>", "exec"), scope)
            loaded = scope["df" if meta["kind"] == "table" else "ds"]
            assert len(loaded) > 0, (name, kind)
    # The page shows the snippet with the year of the data on this platform.
    page = entry_page(PUBLIC_ENTRY, entries[PUBLIC_ENTRY], tiny_data_dir)
    assert "df = cat(year=2024)['air_quality_hourly'].read()" in unescape(page)


def test_visitors_learn_only_the_title_and_level_of_non_public_entries(entries):
    hidden = masked(PARTNER_ENTRY, entries[PARTNER_ENTRY], signed_in=False)
    assert set(hidden) == {"title_fr", "title_en", "access"}
    assert masked(PUBLIC_ENTRY, entries[PUBLIC_ENTRY], signed_in=False) == entries[PUBLIC_ENTRY]
    years = {name: [2024] for name in entries}
    visitor = render_list(entries, reader(), Filters(), years, "Lab")
    member = render_list(entries, reader("ana"), Filters(), years, "Lab")
    assert PARTNER_SECRET not in visitor and PARTNER_SECRET.split()[0] in member.lower()
    assert 'data-entry="agri_sensors"' in visitor and "Accès réservé" in visitor
    # The search does not tell a visitor what a hidden description holds.
    described_only = Filters(q="precision viticulture")
    assert 'data-entry="agri_sensors"' not in render_list(entries, reader(), described_only, years, "Lab")
    assert 'data-entry="agri_sensors"' in render_list(entries, reader("ana"), described_only, years, "Lab")
    assert 'data-entry="agri_sensors"' not in render_list(entries, reader(), Filters(year="2024"), years, "Lab")
    refusal = render_refusal(PARTNER_ENTRY, entries[PARTNER_ENTRY], reader(path=PARTNER_ENTRY), "Lab")
    assert PARTNER_SECRET not in refusal and "Se connecter" in refusal
    assert "login?next=%2Fservices%2Fcatalogue%2Fagri_sensors" in refusal


def test_filters_and_search(entries):
    def found(**filters):
        return [name for name, meta in entries.items() if keep(name, meta, Filters(**filters), [2024])]

    assert found(q="qualite air")[0] == "air_quality_hourly" and "air_quality_hourly" in found(q="ozone")
    assert set(found(access="public")) == {n for n, m in entries.items() if m["access"] == "public"}
    assert found(theme="Baignade") == ["bathing_water"]  # case and accents aside
    assert found(producer="ATMO Occitanie") == ["air_quality_hourly", "air_quality_means"]
    assert found(origin="mixed") == ["air_quality_hourly"] and "weather_daily" in found(origin="synthetic")
    assert found(year="1999") == []
    assert origin_of({"producer": "Météo-France"}) == "real"
    assert producer_of({"producer": "Synthetic (occidata), shaped like X"}) == "Synthetic"


def test_links_stay_under_the_hubs_base_url_and_keep_the_language(entries, tiny_data_dir):
    prefix = "/lab/services/catalogue/"
    who = Reader(user=None, prefix=prefix, base_url="/lab/", lang="en", path=PUBLIC_ENTRY)
    page = render_entry(PUBLIC_ENTRY, entries[PUBLIC_ENTRY], who, shapes=SHAPES, build=None, stewards=[],
                        lab_name="Lab", places=entry_places(PUBLIC_ENTRY, entries[PUBLIC_ENTRY], tiny_data_dir, []))
    urls = links(page).urls
    assert urls and all(u.startswith("/lab/") or u == "#contenu" for u in urls), urls
    inside = [u for u in urls if u.startswith(prefix) and "login" not in u]
    english = [u for u in inside if "lang=en" in u]
    assert len(english) == len(inside) - 1  # every link keeps English, except the switch to French


# --- through the hub ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def catalogue_hub(tmp_path_factory, tiny_data_dir):
    from conftest import RunningHub

    local, token = start_hub(tmp_path_factory.mktemp("catalogue-hub"), DATA_DIR=str(tiny_data_dir),
                             REPORTS__ENABLED="false", CULLER__ENABLED="false")
    try:
        hub = RunningHub(local, token)
        deadline = time.monotonic() + 60
        while requests.get(hub.url + PREFIX.lstrip("/"), timeout=10).status_code == 503:
            assert time.monotonic() < deadline, "the catalogue service did not start"
            time.sleep(0.5)
        yield hub
    finally:
        local.stop()


def visit(hub, path: str = "", session=None, **params) -> requests.Response:
    response = (session or requests).get(hub.url + PREFIX.lstrip("/") + path, params=params, timeout=30)
    response.encoding = "utf-8"
    return response


@pytest.mark.hub
def test_a_visitor_reads_the_list_and_a_public_entry_in_french(catalogue_hub):
    listing = visit(catalogue_hub)
    assert listing.status_code == 200
    assert '<html lang="fr">' in listing.text and "Catalogue des données" in listing.text
    assert not csp.allows_untrusted_script(listing.headers["Content-Security-Policy"])
    assert "<script" not in listing.text
    page = visit(catalogue_hub, PUBLIC_ENTRY)
    assert page.status_code == 200 and '<html lang="fr">' in page.text
    assert "Qualité de l&#39;air" in page.text and "ODbL" in page.text and "degree_north" in page.text
    assert page.text.count('class="od-point"') >= 3
    assert 'cat = intake.from_yaml_file(os.environ["OCCIDATA_CATALOG"])' in unescape(page.text)
    assert visit(catalogue_hub, "no_such_entry").status_code == 404


@pytest.mark.hub
def test_search_and_filters_through_the_proxy(catalogue_hub):
    def names(**params):
        return re.findall(r'data-entry="([a-z0-9_]+)"', visit(catalogue_hub, **params).text)

    everything = names()
    assert sorted(everything) == sorted(catalogue_names())
    assert "air_quality_hourly" in names(q="qualite air") and "air_quality_hourly" in names(q="ozone")
    assert "air_quality_hourly" in names(q="Qualité de l'air")
    assert "bathing_water" not in names(q="ozone")
    public = names(access="public")
    assert "air_quality_hourly" in public and "agri_sensors" not in public and len(public) < len(everything)
    assert names(theme="baignade") == ["bathing_water"]


@pytest.mark.hub
def test_english_switch_keeps_the_language(catalogue_hub):
    listing = visit(catalogue_hub, lang="en")
    assert '<html lang="en">' in listing.text and "Data catalogue" in listing.text
    assert 'href="' + PREFIX + PUBLIC_ENTRY + '?lang=en"' in listing.text.replace(catalogue_hub.url.rstrip("/"), "")
    page = visit(catalogue_hub, PUBLIC_ENTRY, lang="en")
    assert '<html lang="en">' in page.text and "Variables and units" in page.text
    assert 'hreflang="fr"' in page.text


@pytest.mark.hub
def test_non_public_metadata_only_after_logging_in_through_the_hub(catalogue_hub):
    visitor = requests.Session()
    listing = visit(catalogue_hub, session=visitor)
    assert PARTNER_SECRET not in listing.text and 'data-entry="agri_sensors"' in listing.text
    refused = visit(catalogue_hub, PARTNER_ENTRY, session=visitor)
    assert refused.status_code == 403 and '<html lang="fr">' in refused.text
    assert PARTNER_SECRET not in refused.text
    login = re.search(r'href="([^"]*login\?next=[^"]*)"', refused.text).group(1).replace("&amp;", "&")
    assert parse_qs(urlparse(login).query)["next"] == [PREFIX + PARTNER_ENTRY]

    person = catalogue_hub.session()
    assert person.login(catalogue_hub.admin_name, catalogue_hub.admin_password)
    back = person.http.get(catalogue_hub.url.rstrip("/") + login, timeout=30)  # OAuth through the hub, and back
    back.encoding = "utf-8"
    assert back.status_code == 200, (back.url, [r.url for r in back.history])
    assert urlparse(back.url).path == PREFIX + PARTNER_ENTRY
    assert PARTNER_SECRET in back.text and "partner" in back.text
    assert "Connecté·e" in back.text and catalogue_hub.admin_name in back.text
    assert PARTNER_SECRET.split()[0] in visit(catalogue_hub, session=person.http).text.lower()
    # The way back never leaves the catalogue.
    away = person.http.get(catalogue_hub.url + PREFIX.lstrip("/") + "login", params={"next": "//example.org/x"},
                           timeout=30, allow_redirects=False)
    assert away.status_code == 302 and away.headers["Location"] == PREFIX
    for target in (PREFIX + "../../hub/admin", PREFIX + "x\r\nSet-Cookie: a=b"):
        away = person.http.get(catalogue_hub.url + PREFIX.lstrip("/") + "login", params={"next": target},
                               timeout=30, allow_redirects=False)
        assert away.status_code == 302 and away.headers["Location"] == PREFIX, target


@pytest.mark.hub
@pytest.mark.browser
def test_a_visitor_on_a_phone_searches_and_reads_an_entry_with_its_map(catalogue_hub, browser):
    from playwright.sync_api import expect

    context, seen = open_visit(browser, width=375)
    violations = []
    seen.page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page = seen.page
    try:
        page.goto(catalogue_hub.url + PREFIX.lstrip("/"))
        expect(page.locator("h1")).to_have_text("Catalogue des données")
        page.get_by_label("Rechercher", exact=True).fill("ozone")
        page.get_by_role("button", name="Rechercher").click()
        expect(page).to_have_url(re.compile(r"q=ozone"))
        page.locator(f'[data-entry="{PUBLIC_ENTRY}"] h3 a').click()
        expect(page.locator("h1")).to_contain_text("Qualité de l'air")
        stations = page.locator("svg.od-map circle.od-point")
        assert stations.count() >= 3
        table = page.locator("table", has=page.locator("caption", has_text="sites de mesure"))
        assert table.locator("tbody tr").count() == stations.count()
        assert page.evaluate("document.documentElement.scrollWidth") <= 375  # nothing wider than the phone
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.getAttribute('href')") == "#contenu"  # the skip link first
        seen.assert_clean()
        assert violations == []
    finally:
        context.close()
