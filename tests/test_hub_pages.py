"""The hub's own pages run no inline script, and still work (issue 13: every page we serve).

JupyterHub's templates carry inline scripts, so its pages were served with a policy that let any
planted ``<script>`` run with the hub cookie of whoever opened the page, an admin included. Here
a script and an event handler are planted in the hub's announcement (HTML the hub renders on every
page, as an operator pasting it would); an admin logs in with chromium, uses the pages whose
behaviour is script (home's stop button, the token page, the admin application, the progress of
a starting server), and nothing planted runs. Over HTTP, every page the hub answers is French,
holds no inline script and carries the policy.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
import requests
from playwright.sync_api import expect

from conftest import RunningHub, open_visit, start_hub
from occidata.hub import csp
from test_csp import ONERROR, SCRIPT, blocked_scripts

PLANTED = SCRIPT.format(where="announcement") + ONERROR.format(where="announcement")


@pytest.fixture(scope="module")
def planted_hub(tmp_path_factory):
    """A hub whose announcement, shown on every page, holds a script and an event handler."""
    tmp = tmp_path_factory.mktemp("hub-pages")
    snippets = tmp / "config.d"
    snippets.mkdir()
    (snippets / "zz-announcement.py").write_text(
        f"c.JupyterHub.template_vars.update({{'announcement': {PLANTED!r}}})\n", encoding="utf-8")
    local, token = start_hub(tmp)
    try:
        yield RunningHub(local, token)
    finally:
        local.stop()


class _Scripts(HTMLParser):
    """The ``<script>`` elements of a page that a browser would run inline, and the page's language."""

    def __init__(self):
        super().__init__()
        self.inline: list[str] = []
        self.lang: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.lang = attrs.get("lang")
        elif tag == "script" and "src" not in attrs and attrs.get("type") != "application/json":
            self.inline.append(self.get_starttag_text())
        self.inline += [f"<{tag} {name}=...>" for name in attrs if name.startswith("on")]


def inline_scripts(html: str) -> tuple[list[str], str | None]:
    parser = _Scripts()
    parser.feed(html)
    return parser.inline, parser.lang


def assert_hub_policy(response: requests.Response) -> str:
    policy = response.headers.get("Content-Security-Policy")
    assert policy, f"{response.status_code} {response.url}: no Content-Security-Policy"
    assert not csp.allows_untrusted_script(policy), (response.url, policy)
    assert csp.directives(policy)["frame-ancestors"] == ["'none'"], (response.url, policy)
    return policy


@pytest.mark.hub
def test_every_hub_page_is_french_holds_no_inline_script_and_carries_the_policy(planted_hub):
    hub = planted_hub
    anonymous = requests.Session()
    admin = hub.session()
    assert admin.login(hub.admin_name, hub.admin_password)

    pages = [anonymous.get(hub.url + path, timeout=60) for path in ("hub/login", "hub/signup", "hub/nowhere")]
    pages += [admin.http.get(hub.url + path, timeout=60) for path in (
        "hub/home", "hub/token", "hub/admin", "hub/authorize", "hub/change-password",
        f"hub/change-password/{hub.admin_name}", f"hub/user/{hub.admin_name}/",
        "hub/spawn", "hub/nowhere")]  # the spawn last: it starts the server, shown starting (spawn-pending)
    server = hub.service()
    server.username = hub.admin_name
    server.stop_server()
    checked = 0
    for response in pages:
        for hop in [*response.history, response]:
            if hop.status_code in (301, 302, 303, 307):
                continue
            policy = assert_hub_policy(hop)
            assert "/hub/static/" in " ".join(csp.directives(policy)["script-src"]), policy
            assert PLANTED in hop.text, f"{hop.url}: the planted announcement is not on the page"
            inline, lang = inline_scripts(hop.text.replace(PLANTED, ""))
            assert inline == [], f"{hop.url}: inline script {inline}"
            assert lang == "fr", f"{hop.url}: <html lang={lang!r}>"
            checked += 1
    assert checked >= len(pages)
    titles = {r.url.rsplit("/hub/", 1)[1]: r.text for r in pages}
    assert "Erreur 404" in titles["nowhere"]
    assert "Démarrer le serveur" in titles[f"user/{hub.admin_name}/"]  # not running: French, with its button
    assert "Votre serveur démarre" in titles[f"spawn-pending/{hub.admin_name}"]

    api = admin.http.get(hub.url + "hub/api/users", headers={"Authorization": f"token {hub.service_token}"}, timeout=60)
    assert api.status_code == 200
    assert csp.directives(api.headers["Content-Security-Policy"])["default-src"] == ["'none'"]
    script = anonymous.get(hub.url + "hub/occidata/occidata-hub.js", timeout=60)
    assert script.status_code == 200 and "occidata-hub-data" in script.text
    assert anonymous.get(hub.url + "hub/occidata/../../jupyterhub_config.py", timeout=60).status_code in (403, 404)


@pytest.mark.hub
@pytest.mark.browser
def test_the_hub_pages_work_in_chromium_and_a_planted_script_never_runs(planted_hub, browser):
    hub = planted_hub
    context, visit = open_visit(browser)
    page = visit.page
    server = hub.service()
    server.username = hub.admin_name

    def nothing_ran(where: str) -> None:
        refused = blocked_scripts(visit, at_least=2)
        assert page.evaluate("() => window.pwned === undefined"), (where, page.evaluate("() => window.pwned"))
        assert page.title() != "pwned", where
        assert len(refused) >= 2, f"{where}: chromium refused nothing: {visit.console_errors}"
        # The planted image itself (src="x") answers 404: part of the payload, not of the page.
        others = [m for m in visit.console_errors if m not in refused and "/hub/x)" not in m]
        assert others == [], f"{where}: errors besides the refused scripts: {others}"
        visit.console_errors.clear()

    try:
        # Login, then the spawn (an admin lands on the hub's home, hence next): the hub shows the
        # progress page (its event stream) and reloads into JupyterLab when the server is ready.
        from test_browser import log_in_as_admin

        log_in_as_admin(page, hub, "/hub/spawn")
        page.wait_for_url(f"**/user/{hub.admin_name}/lab**", timeout=120_000)
        visit.console_errors.clear()  # JupyterLab's own console is not the hub's

        page.goto(hub.url + "hub/home")
        expect(page.locator("#stop")).to_be_visible()
        nothing_ran("home")
        page.click("#stop")  # home.js asks the REST API with the page's xsrf token
        expect(page.locator("#stop")).to_be_hidden(timeout=60_000)

        page.goto(hub.url + "hub/token")
        page.fill("#token-note", "jeton de test")
        page.click("#request-token-form button[type=submit]")
        expect(page.locator("#token-result")).not_to_be_empty(timeout=30_000)
        nothing_ran("token")

        page.goto(hub.url + "hub/admin")
        expect(page.locator("#react-admin-hook")).to_contain_text(hub.admin_name, timeout=30_000)
        nothing_ran("admin")
    finally:
        context.close()
        try:
            server.stop_server()
        except Exception:  # noqa: BLE001 - stopped by the test already
            pass


@pytest.mark.hub
def test_a_program_calling_an_api_the_proxy_cannot_reach_gets_json(planted_hub):
    """While a service restarts, the proxy answers with the hub's error page; a program that
    called an API got that HTML page and choked on it. Through the real proxy, to a route whose
    service is down: JSON for an API path, the French HTML page for a page."""
    from occidata.platform import free_port

    hub = planted_hub
    proxy_api = f"http://127.0.0.1:{hub.local.settings['HUB__PROXY_API_PORT']}/api/routes/services/absent"
    proxy_token = hub.local.state.proxy_token.read_text().strip()
    auth = {"Authorization": f"token {proxy_token}"}
    added = requests.post(proxy_api, json={"target": f"http://127.0.0.1:{free_port()}"}, headers=auth, timeout=30)
    assert added.status_code == 201, added.text
    try:
        api = requests.get(hub.url + "services/absent/api/tables/x", timeout=60)
        assert api.status_code == 503
        assert api.headers["Content-Type"].startswith("application/json")
        assert api.json()["status"] == 503 and "réessayez" in api.json()["error"]
        page = requests.get(hub.url + "services/absent/", timeout=60)
        assert page.status_code == 503 and page.headers["Content-Type"].startswith("text/html")
        assert '<html lang="fr">' in page.text and "Erreur 503" in page.text
    finally:
        requests.delete(proxy_api, headers=auth, timeout=30)
