"""Live dashboards that cost only while used (issue 16): a visitor's kernel is released soon after
its page is closed (or never connected), only pages in use count under the cap, and the wait
for a live page speaks French and offers the saved version."""

from __future__ import annotations

import re
import time
from types import SimpleNamespace

import pytest
import requests

from conftest import ARTIFACTS, dashboards_status, open_visit, start_dashboards_hub, wait_for_dashboards
from occidata.config import ConfigError, load_config
from occidata.dashboards import BY_SLUG
from occidata.dashboards.live import VisitorKernels, page_kernel_id

PREFIX = "services/dashboards/"
LIVE_PAGE = PREFIX + "voila/render/qualite-air.ipynb"
RENDER_TIMEOUT = 120_000  # ms: a kernel may have to start and run the notebook on a busy machine
CONNECT_TIMEOUT = 30  # s: the fixture's dashboards.connect_timeout
WAITING = "Préparation de la page interactive…"
SAVED_LINK = "Voir tout de suite la version enregistrée"


# --- which kernels are in use: the rule alone, on a clock of our own --------------------------


class Kernels:
    """A kernel manager's public face, as VisitorKernels reads it (kernel_model, shutdown_kernel)."""

    def __init__(self, **connections: int):
        self.connections = dict(connections)
        self.kernels = {kernel_id: SimpleNamespace(last_activity=None) for kernel_id in connections}

    def get_kernel(self, kernel_id: str):
        return self.kernels[kernel_id]

    def kernel_model(self, kernel_id: str) -> dict:
        return {"id": kernel_id, "connections": self.connections[kernel_id]}

    async def shutdown_kernel(self, kernel_id: str) -> None:
        del self.connections[kernel_id]


def tracker(kernels: Kernels, now: list[float]) -> VisitorKernels:
    return VisitorKernels(kernels, lambda: set(kernels.connections), release_after=10, connect_timeout=60,
                          clock=lambda: now[0])


def test_a_closed_page_is_released_after_release_after_and_a_page_never_connected_after_connect_timeout():
    import asyncio

    now = [0.0]
    kernels = Kernels(closed=1, never=0)
    live = tracker(kernels, now)
    assert live.survey() == ({"closed", "never"}, set())
    kernels.connections["closed"] = 0  # its tab closed
    now[0] = 5
    assert live.survey() == ({"closed", "never"}, set())
    now[0] = 16  # 11 s since the tab closed
    assert live.survey() == ({"never"}, {"closed"})
    asyncio.run(live.release_unused())
    assert set(kernels.connections) == {"never"} and live.released == 1
    now[0] = 61
    assert live.survey() == (set(), {"never"})


def test_a_page_being_rendered_and_a_browser_coming_back_keep_their_kernel():
    now = [0.0]
    kernels = Kernels(slow=0, back=1)
    live = tracker(kernels, now)
    live.render_started("slow")
    live.survey()
    kernels.connections["back"] = 0
    now[0] = 500  # a very slow rendering, and a dropped connection...
    live.survey()
    kernels.connections["back"] = 1  # ...that came back
    assert live.survey() == ({"slow", "back"}, set())
    live.render_ended("slow")  # the connect grace counts from the end of the rendering
    now[0] = 559
    assert live.survey() == ({"slow", "back"}, set())
    now[0] = 561
    assert live.survey() == ({"back"}, {"slow"})


def test_handing_a_preheated_kernel_to_a_visitor_counts_as_activity_for_the_idle_cull():
    import datetime as dt

    kernels = Kernels(preheated=0)
    hours_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=3)
    kernels.kernels["preheated"].last_activity = hours_ago  # ran the notebook, then waited
    live = tracker(kernels, [0.0])
    live.render_started("preheated")
    started = kernels.kernels["preheated"].last_activity
    assert started > hours_ago + dt.timedelta(hours=2, minutes=59)
    live.render_ended("preheated")  # the browser's connect grace starts: so does the cull's
    assert kernels.kernels["preheated"].last_activity >= started


def test_a_kernel_still_starting_counts_as_in_use_and_never_breaks_the_count():
    """jupyter_server lists a kernel as it starts launching, but its model is whole only once
    launched (last_activity None: TraitError); the count must not fail then (the bench saw HTTP 500
    on live pages during a burst)."""
    from traitlets import TraitError

    class Starting(Kernels):
        def kernel_model(self, kernel_id: str) -> dict:
            if kernel_id == "starting":
                raise TraitError("The 'last_activity' trait of a KernelModel instance expected a datetime")
            return super().kernel_model(kernel_id)

    now = [0.0]
    kernels = Starting(starting=0, open=1)
    live = tracker(kernels, now)
    assert live.survey() == ({"starting", "open"}, set())


def test_the_kernel_a_page_connects_to_is_read_from_voila_page_config():
    chunk = '<script id="jupyter-config-data" type="application/json">\n {"baseUrl": "/x/", ' \
            '"kernelId": "0b6d9c5e-8f1e-4a57-9a39-2f4b1f0c7d11"}</script>'
    assert page_kernel_id(chunk) == "0b6d9c5e-8f1e-4a57-9a39-2f4b1f0c7d11"
    assert page_kernel_id("<div>Exécution 1 sur 2</div>") is None


@pytest.mark.parametrize("key", ["RELEASE_AFTER", "CONNECT_TIMEOUT"])
def test_release_graces_are_whole_seconds_of_at_least_one(key, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert load_config({})["dashboards"][key.lower()] == {"RELEASE_AFTER": 10, "CONNECT_TIMEOUT": 60}[key]
    with pytest.raises(ConfigError, match=f"(?s)OCCIDATA_DASHBOARDS__{key}.*dashboards.{key.lower()}.*minimum"):
        load_config({f"OCCIDATA_DASHBOARDS__{key}": "0"})


# --- a real hub: one dashboard, a cap of 2, an idle cull too far away to explain anything -------


@pytest.fixture(scope="module")
def live_hub(tmp_path_factory, tiny_data_dir):
    local, _token, count = start_dashboards_hub(
        tmp_path_factory.mktemp("live-hub"), tiny_data_dir, apps=["qualite-air"],
        DASHBOARDS__POOL_SIZE="1", DASHBOARDS__MAX_KERNELS="2",
        DASHBOARDS__CULL_IDLE_TIMEOUT="600", DASHBOARDS__CULL_INTERVAL="60",
        DASHBOARDS__RELEASE_AFTER="2", DASHBOARDS__CONNECT_TIMEOUT=str(CONNECT_TIMEOUT))
    try:
        wait_for_dashboards(local.url, count, 1)
        yield local
    finally:
        local.stop()


def wait_for_status(url: str, wanted, what: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status = dashboards_status(url)
        if wanted(status):
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in {timeout:.0f} s, status: {status}")
        time.sleep(0.5)


def settled(url: str) -> dict:
    """No visitor's kernel left, nothing being rendered, the pool full."""
    return wait_for_status(url, lambda s: s["visitors"] == 0 and s["in_use"] == 0 and s["admitting"] == 0
                           and s["preheated"] == 1, "no visitor and a full pool")


def kernel_model(url: str, kernel_id: str) -> dict | None:
    """The kernel as Voilà's page sees it (its public kernels API); None once it is shut down."""
    response = requests.get(url + PREFIX + f"api/kernels/{kernel_id}", timeout=10)
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return response.json()


def wait_until_gone(url: str, kernel_ids: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while any(kernel_model(url, k) is not None for k in kernel_ids):
        if time.monotonic() > deadline:
            raise AssertionError(f"kernels {kernel_ids} still alive after {timeout:.0f} s: {dashboards_status(url)}")
        time.sleep(0.5)


def visit(url: str) -> requests.Response:
    # A visitor whose browser never opens the page's websocket (a bot, a page left loading).
    return requests.get(url + LIVE_PAGE, timeout=180)


@pytest.mark.browser
def test_closing_the_page_releases_its_kernel_long_before_the_idle_cull(live_hub, browser):
    from playwright.sync_api import expect

    url = live_hub.url
    before = settled(url)
    context, seen = open_visit(browser, width=390, height=844)
    try:
        page = seen.page
        page.goto(url + LIVE_PAGE, timeout=RENDER_TIMEOUT)
        expect(page.locator(".od-dashboard h1")).to_have_text(BY_SLUG["qualite-air"].title_fr, timeout=RENDER_TIMEOUT)
        kernel_id = page.evaluate("JSON.parse(document.getElementById('jupyter-config-data').textContent).kernelId")
        # The page talks to its kernel over a websocket: that is what "in use" means.
        wait_for_status(url, lambda s: (kernel_model(url, kernel_id) or {}).get("connections", 0) >= 1,
                        "the page's websocket", timeout=60)
        status = wait_for_status(url, lambda s: s["preheated"] == 1 and s["visitors"] == 1, "the pool refilled")
        assert status["in_use"] == 1
        seen.assert_clean()
    finally:
        # Closed without its beforeunload handlers, as a phone discards a tab: Voilà's own
        # shutdown beacon is never sent, only the service can notice.
        context.close()
    wait_until_gone(url, [kernel_id], timeout=60)  # the idle cull is 600 s away
    status = settled(url)
    assert status["released"] >= before["released"] + 1


def test_a_page_no_browser_connects_to_is_released_and_its_room_given_to_the_next_visitor(live_hub):
    url = live_hub.url
    before = settled(url)
    first, second = visit(url), visit(url)
    assert "X-Occidata-Snapshot" not in first.headers and "X-Occidata-Snapshot" not in second.headers
    kernel_ids = [page_kernel_id(response.text) for response in (first, second)]
    assert all(kernel_ids) and kernel_ids[0] != kernel_ids[1]
    # A page just sent counts under the cap while its browser may still connect.
    assert kernel_model(url, kernel_ids[1]) is not None and dashboards_status(url)["in_use"] >= 1

    wait_until_gone(url, kernel_ids, timeout=CONNECT_TIMEOUT + 60)  # the idle cull is 600 s away
    status = settled(url)
    assert status["in_use"] == 0 and status["released"] >= before["released"] + 2

    # With a cap of 2, two abandoned pages no longer keep the third visitor from a live page.
    third = visit(url)
    assert third.status_code == 200
    assert "X-Occidata-Snapshot" not in third.headers
    assert page_kernel_id(third.text) and "application/vnd.jupyter.widget-view+json" in third.text  # the notebook ran


def test_the_waiting_screen_is_french_and_links_to_the_saved_version(live_hub):
    url = live_hub.url
    settled(url)
    page = visit(url).text
    waiting = page[page.index('id="loading"'):page.index('id="rendered_cells"')]  # before the cells
    assert WAITING in waiting
    link = re.search(r'<a href="([^"]+)">([^<]+)</a>', waiting)
    assert link and link.groups() == ("/" + PREFIX + "qualite-air/", SAVED_LINK)
    for english in ("Running", "Executing", "Loading"):
        assert english not in page, english
    saved = requests.get(url + PREFIX + "qualite-air/", timeout=60)
    assert saved.status_code == 200 and "X-Occidata-Snapshot" in saved.headers


@pytest.mark.browser
def test_a_slow_live_page_offers_the_saved_version_after_a_few_seconds_on_a_phone(live_hub, browser):
    from playwright.sync_api import expect

    url = live_hub.url
    settled(url)
    context, seen = open_visit(browser, width=390, height=844)
    held = []
    # A slow preparation: Voilà's bundle (which shows the cells) does not arrive until released.
    context.route(re.compile(r".*/voila\.js(\?.*)?$"), lambda route: held.append(route))
    try:
        page = seen.page
        cdp = context.new_cdp_session(page)
        cdp.send("Animation.enable")
        cdp.send("Animation.setPlaybackRate", {"playbackRate": 0})  # CSS time stands still
        page.goto(url + LIVE_PAGE, wait_until="commit", timeout=RENDER_TIMEOUT)
        expect(page.get_by_text(WAITING)).to_be_visible(timeout=RENDER_TIMEOUT)
        link = page.get_by_role("link", name=SAVED_LINK, include_hidden=True)
        expect(link).to_have_count(1, timeout=RENDER_TIMEOUT)
        assert link.is_hidden()  # not at once: the live page may well come in a moment
        delay = link.evaluate("a => getComputedStyle(a.parentElement).animationDelay")
        assert delay == "4s"
        cdp.send("Animation.setPlaybackRate", {"playbackRate": 1})
        expect(link).to_be_visible(timeout=30_000)
        assert page.locator("#rendered_cells").is_hidden()  # still being prepared
        assert link.get_attribute("href") == "/" + PREFIX + "qualite-air/"
        box = link.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390  # on the phone's screen
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "qualite-air-waiting-390px.png"))

        deadline = time.monotonic() + RENDER_TIMEOUT / 1000
        while not held and time.monotonic() < deadline:
            page.wait_for_timeout(200)
        assert held, "the page never asked for Voilà's bundle"
        for route in held:
            route.continue_()
        expect(page.locator(".od-dashboard h1")).to_have_text(BY_SLUG["qualite-air"].title_fr, timeout=RENDER_TIMEOUT)
        expect(page.get_by_text(WAITING)).to_have_count(0)
        seen.assert_clean()
    finally:
        context.close()
