"""A new researcher's first hour, in chromium on a fresh platform (demo mode; run as root, the lab
runs as the researcher's own system account): the lab is a home, in French, that leads to the
curated notebooks, the catalogue and the platform's pages, and offers only what works here."""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import expect

from conftest import RunningHub, open_visit, start_hub
from lab_steps import README_HEADING, log_in, open_launcher, run_first_code_cell, run_in_new_notebook, wait_for_first_lab

pytestmark = [pytest.mark.browser, pytest.mark.hub, pytest.mark.slow]

RESEARCHER = "camille"
PASSWORD = "premiere-heure-occitanie"


@pytest.fixture(scope="module")
def platform(tmp_path_factory, tiny_data_dir):
    local, token = start_hub(tmp_path_factory.mktemp("lab"), CULLER__ENABLED="false", DATA_DIR=str(tiny_data_dir))
    hub = RunningHub(local, token)
    try:
        person = hub.session()
        assert person.signup(RESEARCHER, PASSWORD).status_code == 200
        admin = hub.session()
        assert admin.login(hub.admin_name, hub.admin_password)
        assert admin.toggle_approval(RESEARCHER).status_code == 200
        yield hub
    finally:
        local.stop()


@pytest.fixture(scope="module")
def lab(platform, browser):
    """The researcher's first login, in chromium: the page of the lab it opens."""
    context, visit = open_visit(browser, width=1400)
    log_in(visit.page, platform.url, RESEARCHER, PASSWORD)
    wait_for_first_lab(visit.page, RESEARCHER)
    yield visit
    context.close()
    person = platform.session()
    person.login(RESEARCHER, PASSWORD)
    person.request_token(note="stop")
    person.stop_server()


@pytest.fixture(scope="module")
def researcher(platform, lab):
    person = platform.session()
    assert person.login(RESEARCHER, PASSWORD)
    person.request_token(note="test")
    return person


def test_first_login_opens_the_lab_on_the_curated_notebooks_and_their_readme(lab):
    page = lab.page
    readme = page.locator(".jp-RenderedMarkdown", has_text=README_HEADING)
    # What each notebook does, the data it reads and the level it needs, in French and English.
    expect(readme).to_contain_text("Niveau d'accès nécessaire")
    expect(readme).to_contain_text("building_meters")
    expect(readme).to_contain_text("partenaire")
    expect(readme).to_contain_text("Access level needed")
    # The file browser is in their folder: the README and the themes' folders.
    expect(page.locator(".jp-FileBrowser .jp-BreadCrumbs")).to_contain_text("notebooks-occidata")
    for name in ("README.md", "air_quality", "buildings"):
        expect(page.locator(".jp-DirListing-item", has_text=name).first).to_be_visible()


def test_the_lab_is_french_and_says_what_the_server_has(lab):
    page = lab.page
    assert page.locator("html").get_attribute("lang") == "fr-FR"  # JupyterLab's French language pack
    expect(page.locator(".lm-MenuBar-itemLabel", has_text="Fichier")).to_be_visible()
    expect(page.locator(".lm-MenuBar-itemLabel", has_text="Noyau")).to_be_visible()
    top_bar = page.locator("#jp-top-bar")
    expect(top_bar).to_contain_text("Serveur CPU")
    expect(top_bar).to_contain_text(re.compile(r"\d+ cœurs? · [\d,]+ Go de mémoire · sans GPU"))


def test_only_the_servers_kernels_are_offered_ours_first(lab, researcher):
    specs = researcher.server_api("GET", "kernelspecs").json()
    # A CPU server: no GPU kernel, and no plain ipykernel beside ours.
    assert specs["default"] == "occidata-cpu"
    assert sorted(specs["kernelspecs"]) == ["occidata-cpu"]
    launcher = open_launcher(lab.page).inner_text()
    assert "GPU" not in launcher and "ipykernel" not in launcher
    assert "Python 3 (occidata, CPU)" in launcher


def test_launcher_and_menu_open_the_catalogue_and_the_reports(platform, lab):
    page = lab.page
    section = open_launcher(page).locator(".jp-Launcher-section", has_text="Occitanie Data")
    for title, path in (("Catalogue des données", "services/catalogue/"), ("Rapports", "services/reports/")):
        with page.context.expect_page() as opened:
            section.locator(".jp-LauncherCard", has_text=title).click()
        tab = opened.value
        tab.wait_for_load_state()
        assert tab.url.startswith(platform.url + path), tab.url
        assert tab.locator("html").get_attribute("lang") == "fr"
        tab.close()
    page.locator(".lm-MenuBar-itemLabel", has_text="Occitanie Data").click()
    menu = page.locator(".lm-Menu-content")
    expect(menu).to_contain_text("Catalogue des données")
    expect(menu).to_contain_text("Mettre à jour les notebooks curés")
    page.keyboard.press("Escape")
    # The help is a page of the lab itself.
    section.locator(".jp-LauncherCard", has_text="Aide de la plateforme").click()
    expect(page.locator(".jp-RenderedMarkdown", has_text="Aide — Occitanie Data Lab").first).to_be_visible()


def test_a_snippet_from_the_catalogue_runs_in_a_notebook_and_a_missing_level_says_what_to_do(platform, lab, browser):
    # A visitor's page of a public entry: its plain-Intake snippet, as copied.
    context, visit = open_visit(browser)
    visit.page.goto(platform.url + "services/catalogue/air_quality_hourly")
    snippet = visit.page.locator('code[data-snippet="intake"]').inner_text()
    context.close()
    assert "OCCIDATA_CATALOG" in snippet
    page = lab.page
    output = run_in_new_notebook(page, "Python 3 (occidata, CPU)", (
        f"{snippet}\nprint('lignes', len(df) > 0)\n"
        "from occidata import catalog\n"
        "try:\n    catalog.load('agri_sensors')\nexcept PermissionError as error:\n    print(error)"))
    assert output.startswith("lignes True"), output
    # The refusal is French, names the level and links to the entry's catalogue page.
    assert "partenaire" in output and "Traceback" not in output, output
    link = re.search(r"https?://\S+/services/catalogue/agri_sensors", output)
    assert link, output
    assert requests.get(link.group(0), timeout=30).status_code in (200, 403)


def test_a_terminal_finds_occidata_and_the_platforms_python(researcher):
    printed = researcher.run_in_terminal("occidata catalog list; echo FIN-$((1+1))", until="FIN-2", timeout=120)
    assert "air_quality_hourly" in printed and "command not found" not in printed, printed
    printed = researcher.run_in_terminal("python -c 'import occidata; print(\"OK\", 6*7)'", until="OK 42", timeout=60)


def test_a_curated_notebook_opens_and_its_first_cell_runs(platform, lab):
    output = run_first_code_cell(lab.page, platform.url, RESEARCHER, "notebooks-occidata/air_quality/daily_report.ipynb")
    assert "Error" not in output, output
    lab.assert_clean()
