"""The public dashboards service through the hub's proxy: landing page, live pages, snapshots,
the cap on visitor kernels and the culling of kernels no browser talks to (issue 6)."""

from __future__ import annotations

import html
import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from conftest import (ARTIFACTS, PARTNER_DASHBOARD, UNAPPROVED_DASHBOARD, dashboards_status, open_visit, start_dashboards_hub,
                      wait_for_dashboards)
from occidata.dashboards import DASHBOARDS

pytestmark = [pytest.mark.hub]

PREFIX = "services/dashboards/"
SLUGS = [d.slug for d in DASHBOARDS]
# src/href/url(...) values that point at another host than the one serving the page
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["'](?:https?:)?//(?!127\.0\.0\.1|localhost)[^"']+""", re.IGNORECASE)


def get(hub, path: str, **kwargs) -> requests.Response:
    return requests.get(hub.url + PREFIX + path, timeout=120, **kwargs)


def test_landing_page_lists_every_dashboard_in_french_without_login(dashboards_hub):
    response = get(dashboards_hub, "")
    assert response.status_code == 200
    page = response.text
    assert '<html lang="fr">' in page
    assert "<h1>Tableaux de bord publics</h1>" in page
    for dashboard in DASHBOARDS:
        assert f'href="/{PREFIX}voila/render/{dashboard.slug}.ipynb"' in page
        assert dashboard.title_fr in html.unescape(page)
        assert f'href="/{PREFIX}{dashboard.slug}/"' in page  # the static page first
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert not EXTERNAL.findall(page)


@pytest.mark.parametrize("slug", SLUGS)
def test_live_dashboard_renders_through_the_proxy_offline(dashboards_hub, slug):
    dashboard = next(d for d in DASHBOARDS if d.slug == slug)
    response = get(dashboards_hub, f"voila/render/{slug}.ipynb")
    assert response.status_code == 200
    assert "X-Occidata-Snapshot" not in response.headers
    page = response.text
    assert '<html lang="fr">' in page
    assert html.unescape(re.search(r"<title>(.*?)</title>", page).group(1)) == dashboard.title_fr
    # The notebook ran: the page holds its widgets (the view is drawn in the browser, see
    # test_browser_dashboards.py), and no cell failed.
    assert "application/vnd.jupyter.widget-view+json" in page
    assert "There was an error when executing cell" not in page and "Traceback" not in page
    assert not EXTERNAL.findall(page), EXTERNAL.findall(page)[:3]
    assert "cdn.jsdelivr.net" not in page and "cdnjs" not in page


@pytest.mark.parametrize("slug", SLUGS)
@pytest.mark.parametrize("address", ["{slug}/", "snapshots/{slug}/"])
def test_snapshot_is_static_html_of_the_default_view(dashboards_hub, slug, address):
    response = get(dashboards_hub, address.format(slug=slug))
    assert response.status_code == 200
    assert response.headers["X-Occidata-Snapshot"].endswith(f"instantane-{slug}")
    page = response.text
    assert "od-dashboard" in page
    assert "Instantané du" in page
    assert "application/vnd.jupyter.widget-view+json" not in page  # no widget: nothing to run
    assert not EXTERNAL.findall(page), EXTERNAL.findall(page)[:3]


def test_a_snapshot_that_reached_for_partner_data_is_kept_back_by_the_gate(dashboards_hub):
    """The partner dashboard's snapshot was rendered (its kernel holds no level: it shows the
    refusal), but it tried a non-public read, so the publication gate never lets it be served."""
    status = dashboards_status(dashboards_hub.url)
    assert status["snapshots_refused"][PARTNER_DASHBOARD] >= 1
    assert status["snapshots"][PARTNER_DASHBOARD] is False
    response = get(dashboards_hub, f"snapshots/{PARTNER_DASHBOARD}/")
    assert "X-Occidata-Snapshot" not in response.headers, "a refused snapshot must never be served"
    assert "en préparation" in response.text and "od-dashboard" not in response.text
    assert all(status["snapshots_refused"][slug] == 0 for slug in SLUGS), "public dashboards pass the gate"


def test_english_snapshots_and_the_bar_between_languages(dashboards_hub):
    deadline = time.monotonic() + 300  # English snapshots are rendered after the French ones
    while not dashboards_status(dashboards_hub.url)["snapshots_en"].get("qualite-air"):
        assert time.monotonic() < deadline, "no English snapshot of qualite-air after 300 s"
        time.sleep(2)
    english = get(dashboards_hub, "snapshots/qualite-air/en/")
    assert english.status_code == 200
    assert '<html lang="en">' in english.text
    assert "Air quality today" in english.text and "Qualité de l" not in english.text.split(">Français<")[1]
    assert f'href="/{PREFIX}qualite-air/"' in english.text
    french = get(dashboards_hub, "snapshots/qualite-air/")
    assert "Version enregistrée le" in french.text
    assert f'href="/{PREFIX}qualite-air/en/"' in french.text
    assert f'href="/{PREFIX}voila/render/qualite-air.ipynb"' in french.text


def test_a_notebook_no_steward_approved_is_never_served(dashboards_hub):
    """An edited copy of a dashboard sits in the dashboards' folder: no page, live or saved,
    no card on the landing page, no snapshot rendered (nothing reaches citizens unapproved)."""
    assert UNAPPROVED_DASHBOARD not in dashboards_status(dashboards_hub.url)["dashboards"]
    assert get(dashboards_hub, f"voila/render/{UNAPPROVED_DASHBOARD}.ipynb").status_code == 404
    assert get(dashboards_hub, f"snapshots/{UNAPPROVED_DASHBOARD}/").status_code == 404
    assert UNAPPROVED_DASHBOARD not in get(dashboards_hub, "").text


def test_unknown_dashboards_and_paths_are_not_found(dashboards_hub):
    assert get(dashboards_hub, "voila/render/inconnu.ipynb").status_code == 404
    assert get(dashboards_hub, "voila/render/../jupyterhub_config.py").status_code == 404
    assert get(dashboards_hub, "snapshots/inconnu/").status_code == 404
    tree = get(dashboards_hub, "voila/tree", allow_redirects=False)
    assert tree.status_code in (301, 302) and tree.headers["Location"].endswith(PREFIX)


def test_pools_refill_after_visitors_took_their_kernels(dashboards_hub):
    # The tests above each took a preheated kernel; Voilà starts a new one for every kernel taken.
    count = len(dashboards_status(dashboards_hub.url)["dashboards"])
    status = wait_for_dashboards(dashboards_hub.url, count, 1, timeout=120)
    assert status["pool_size"] == 1
    assert status["preheated"] == count
    assert set(SLUGS) <= set(status["dashboards"])


# --- the cap and the culling: a hub of its own, with one dashboard and a cap of 2 ------------


@pytest.fixture(scope="module")
def capped_hub(tmp_path_factory, tiny_data_dir):
    local, _token, count = start_dashboards_hub(
        tmp_path_factory.mktemp("capped-hub"), tiny_data_dir, apps=["qualite-air"],
        DASHBOARDS__POOL_SIZE="1", DASHBOARDS__MAX_KERNELS="2",
        DASHBOARDS__CULL_IDLE_TIMEOUT="20", DASHBOARDS__CULL_INTERVAL="2")
    try:
        wait_for_dashboards(local.url, count, 1)
        yield local
    finally:
        local.stop()


def visit(url: str) -> requests.Response:
    # A visitor that never opens the page's websocket: the kernel it got lives until culled.
    return requests.get(url + PREFIX + "voila/render/qualite-air.ipynb", timeout=180)


def wait_for_visitors(url: str, count: int, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status = dashboards_status(url)
        if status["visitors"] == count and status["admitting"] == 0:
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"expected {count} visitor kernels, status: {status}")
        time.sleep(0.5)


def test_above_the_cap_visitors_get_the_snapshot_then_idle_kernels_are_culled(capped_hub):
    url = capped_hub.url
    wait_for_visitors(url, 0)
    first, second = visit(url), visit(url)
    assert "X-Occidata-Snapshot" not in first.headers and "X-Occidata-Snapshot" not in second.headers
    assert dashboards_status(url)["visitors"] == 2

    third = visit(url)
    assert third.status_code == 200  # never an error page
    assert third.headers["X-Occidata-Snapshot"].endswith("instantane-qualite-air")
    assert "Beaucoup de visiteurs en ce moment" in third.text
    assert "od-dashboard" in third.text and "Instantané du" in third.text  # content, not an apology
    assert dashboards_status(url)["visitors"] == 2

    # Nobody connected to those two kernels: the culler shuts them down, live pages come back.
    wait_for_visitors(url, 0, timeout=90)
    assert "X-Occidata-Snapshot" not in visit(url).headers


def test_a_burst_of_visitors_never_exceeds_the_cap(capped_hub):
    url = capped_hub.url
    wait_for_visitors(url, 0, timeout=90)
    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(lambda _: visit(url), range(6)))
    assert all(r.status_code == 200 for r in responses)
    live = [r for r in responses if "X-Occidata-Snapshot" not in r.headers]
    assert 1 <= len(live) <= 2
    assert len(responses) - len(live) >= 4
    assert dashboards_status(url)["visitors"] <= 2


def test_the_service_and_its_kernels_listen_on_loopback_only(capped_hub):
    import psutil

    service = [p for p in psutil.process_iter(["cmdline"])
               if "occidata.dashboards.service" in " ".join(p.info["cmdline"] or [])
               and p.environ().get("OCCIDATA_STATE_DIR") == str(capped_hub.state_dir)]
    assert len(service) == 1
    family = [service[0], *service[0].children(recursive=True)]
    addresses = {c.laddr.ip for proc in family for c in proc.net_connections(kind="inet") if c.status == "LISTEN"}
    assert addresses and addresses <= {"127.0.0.1"}


def reading_visitor(browser, url: str):
    """A citizen who opens the live page and keeps reading: the page holds its kernel's websocket,
    so neither the idle cull nor the release of unconnected pages takes that kernel back."""
    from playwright.sync_api import expect

    context, seen = open_visit(browser, width=375)
    page = seen.page
    page.goto(url + PREFIX + "voila/render/qualite-air.ipynb", timeout=180_000)
    expect(page.locator(".od-dashboard h1")).to_have_text("Qualité de l'air aujourd'hui", timeout=180_000)
    kernel_id = page.evaluate("JSON.parse(document.getElementById('jupyter-config-data').textContent).kernelId")
    deadline = time.monotonic() + 60
    while requests.get(url + PREFIX + f"api/kernels/{kernel_id}", timeout=10).json().get("connections", 0) < 1:
        assert time.monotonic() < deadline, f"the page never connected to its kernel {kernel_id}"
        time.sleep(0.5)
    return context


@pytest.mark.browser
def test_a_busy_visitor_sees_the_snapshot_and_its_note_in_the_browser(capped_hub, browser):
    from playwright.sync_api import expect

    url = capped_hub.url
    wait_for_visitors(url, 0, timeout=90)
    # Two citizens reading the live page fill the cap of 2; their open pages keep their kernels
    # however slow the machine (kernels that nobody connects to would be culled within 20 s).
    readers = [reading_visitor(browser, url) for _ in range(2)]
    context, seen = open_visit(browser, width=375)
    try:
        assert dashboards_status(url)["in_use"] == 2
        page = seen.page
        page.goto(url + PREFIX + "voila/render/qualite-air.ipynb")
        expect(page.locator(".od-busy")).to_contain_text("Beaucoup de visiteurs en ce moment")
        expect(page.locator(".od-dashboard h1")).to_have_text("Qualité de l'air aujourd'hui")
        expect(page.get_by_role("link", name="Réessayer en direct")).to_be_visible()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "qualite-air-busy-375px.png"), full_page=True)
        seen.assert_clean()
    finally:
        context.close()
        for reader in readers:
            reader.close()
