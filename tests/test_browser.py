"""The hub's pages as a person sees them: Debian's chromium through Playwright, loopback only."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urlparse

import pytest
from playwright.sync_api import expect

from conftest import RunningHub, start_hub

pytestmark = [pytest.mark.browser, pytest.mark.hub]

@pytest.fixture
def page(browser):
    context = browser.new_context(locale="fr-FR")

    def loopback_only(route):
        if urlparse(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", loopback_only)
    page = context.new_page()
    yield page
    context.close()


def log_in_as_admin(page, hub, next_path: str = "") -> None:
    """Fill in and send the French login form as the hub's first admin."""
    page.goto(hub.url + "hub/login" + (f"?next={quote(next_path)}" if next_path else ""))
    page.fill("#username_input", hub.admin_name)
    page.fill("#password_input", hub.admin_password)
    page.click("#login_submit")


def test_login_page_is_french_and_links_the_public_dashboards(hub, page):
    page.goto(hub.url + "hub/login")
    assert page.locator("html").get_attribute("lang") == "fr"
    expect(page.locator("#login_submit")).to_have_value("Se connecter")
    expect(page.locator("label[for=username_input]")).to_have_text("Identifiant")
    assert page.locator("#public-dashboards").get_attribute("href") == "/services/dashboards/"
    expect(page.locator("#signup-link")).to_have_text("Demander un compte")


def test_login_form_leads_to_jupyterlab_and_a_french_home(hub, page):
    log_in_as_admin(page, hub)
    try:
        # An admin lands on the hub's home; its start button spawns the server and the hub sends
        # the browser on to JupyterLab.
        page.wait_for_url("**/hub/home", timeout=60_000)
        page.click("#start")
        page.wait_for_url(f"**/user/{hub.admin_name}/lab**", timeout=90_000)
        page.goto(hub.url + "hub/home")
        expect(page.locator("#start")).to_contain_text("Ouvrir mon serveur")
        expect(page.locator("#stop")).to_contain_text("Arrêter mon serveur")
        expect(page.locator("nav")).to_contain_text("Autoriser des comptes")
        expect(page.locator("#logout")).to_contain_text("Se déconnecter")
        # The way to non-public data starts here: the catalogue, and the access requests.
        page.get_by_role("link", name="vos demandes d'accès").click()
        expect(page.locator("h1")).to_have_text("Demandes d'accès")
        expect(page.locator("#a-examiner")).to_have_text("Demandes à examiner")  # the admin is a steward
    finally:
        service = hub.service()
        service.username = hub.admin_name
        service.stop_server()


def test_wrong_password_keeps_the_visitor_on_the_login_page(hub, page):
    page.goto(hub.url + "hub/login")
    page.fill("#username_input", hub.admin_name)
    page.fill("#password_input", "mauvais-mot-de-passe")
    page.click("#login_submit")
    expect(page.locator(".login_error")).to_be_visible()
    assert urlparse(page.url).path == "/hub/login"


@pytest.fixture(scope="module")
def gpu_hub(tmp_path_factory):
    """A hub told a GPU is there (gpu.enabled: true), so the spawn page offers CPU and GPU."""
    local, token = start_hub(tmp_path_factory.mktemp("gpu-hub"), GPU__ENABLED="true", GPU__DEVICES="0")
    try:
        yield RunningHub(local, token)
    finally:
        local.stop()


def test_spawn_page_offers_gpu_and_the_choice_reaches_the_server(gpu_hub, page):
    hub = gpu_hub
    log_in_as_admin(page, hub, "/hub/spawn")
    page.wait_for_url("**/hub/spawn**")
    expect(page.locator("h1")).to_have_text("Démarrer un serveur")
    expect(page.locator("legend")).to_have_text("Environnement de calcul")
    expect(page.locator("#profile-gpu")).to_be_checked()  # the GPU is the default where there is one
    expect(page.locator("label[for=profile-cpu]")).to_contain_text("CPU — analyses courantes")
    page.click("#spawn_form button[type=submit]")
    page.wait_for_url(f"**/user/{hub.admin_name}/lab**", timeout=90_000)

    server = hub.service()
    server.username = hub.admin_name
    try:
        assert server.server_api("GET", "kernelspecs").json()["default"] == "occidata-gpu"
        kernel = server.start_kernel()
        out = server.execute(kernel["id"], "import os, occidata; print(occidata.current_backend(), os.environ['CUDA_VISIBLE_DEVICES'])")
        assert out.split() == ["gpu", "0"]
    finally:
        server.stop_server()


def test_admin_approves_an_account_from_the_french_authorize_page(hub, page):
    hub.session().signup("doctorante", "etang-de-thau-2026")
    assert not hub.session().login("doctorante", "etang-de-thau-2026")
    log_in_as_admin(page, hub, "/hub/authorize")
    page.wait_for_url("**/hub/authorize**")
    expect(page.locator("h1")).to_have_text("Comptes et demandes d'accès")
    row = page.locator("tr#doctorante")
    expect(row).to_contain_text("non")
    row.locator("#authorize-doctorante").click()
    expect(page.locator("tr#doctorante #authorize-doctorante")).to_have_text("Retirer la validation")
    assert hub.session().login("doctorante", "etang-de-thau-2026")


def test_reports_pages_in_chromium_public_snapshot_then_login(hub, browser):
    """A citizen opens the public snapshot; a researcher logs in and finds the run list, in French."""
    from test_report_service import scheduled_run

    state = Path(hub.local.cfg["state_dir"])
    scheduled_run(state / "reports", state, "bilan_navigateur", "20260612T040000.000Z-test",
                  html="<h1>Bilan du jour</h1>")
    context = browser.new_context(locale="fr-FR")
    blocked, console_errors = [], []

    def loopback_only(route):
        if urlparse(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", loopback_only)
    page = context.new_page()
    page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
    try:
        page.goto(hub.url + "services/reports/public/")
        assert page.locator("html").get_attribute("lang") == "fr"
        expect(page.locator("h1")).to_contain_text("Rapports publics")
        page.click("text=bilan_navigateur")
        expect(page.locator("body")).to_contain_text("Bilan du jour")

        log_in_as_admin(page, hub, next_path="/services/reports/")
        page.wait_for_url("**/services/reports/**", timeout=60_000)
        expect(page.locator("h1")).to_contain_text("Rapports programmés")
        expect(page.locator("#rapport-bilan_navigateur")).to_be_visible()
        expect(page.locator("#calendrier")).to_contain_text("qualite-air-quotidienne")
    finally:
        context.close()
    assert blocked == [], f"requests left the host: {blocked}"
    assert console_errors == [], console_errors
