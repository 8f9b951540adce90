"""Every hub page a researcher or an admin meets is French, scripts included (issue 15).

JupyterHub's pages and scripts are English; ours replace them. A list of the English texts
JupyterHub 6 and NativeAuthenticator 1.3 ship on those pages (their templates, home.js, token.js,
the progress events, the admin application) is looked for in what chromium shows once the page's
scripts ran (text, titles, placeholders, button values): after the home page's stop button, in the
token page's answer, in the admin application, in the progress of a starting server, and on the
error pages.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect

from conftest import RunningHub, open_visit, start_hub

pytestmark = [pytest.mark.hub, pytest.mark.browser]

PASSWORD = "causses-et-cevennes-2026"

# What JupyterHub 6.1 (share/jupyterhub/templates, static/js, the progress events of spawner.py and
# apihandlers/users.py), its admin application and NativeAuthenticator 1.3.0's templates write on the
# pages below. Words that French shares (Note, Permissions, Actions, Email) are left out.
ENGLISH = [
    # page.html, home.html, home.js
    "Logout", "Login", "Home", "Token", "Services", "Start My Server", "Stop My Server", "My Server",
    "Your server is stopping", "Start your default server", "JupyterHub home page", "Named Servers",
    # token.html, token.js, moment's dates
    "Manage JupyterHub Tokens", "Request new API token", "Your new API Token", "Token expires in",
    "This note will help you keep track", "You can configure when your token will expire", "API Tokens",
    "Copy this token", "Last used", "Created", "Expires", "Never", "revoke", "scopes", "Authorized Applications",
    "Requested via token page", "note to identify your new token", "1 Hour", "1 Day", "1 Week", "1 Month",
    "1 Year", "seconds ago", "minutes ago", "a few seconds",
    # spawn_pending.html and the progress events
    "Your server is starting up", "You will be redirected automatically", "Event log", "Stop Server",
    "Server requested", "Spawning server", "Server ready at", "Spawn failed",
    # not_running.html, stop_pending.html, error.html, 404.html, tornado's reasons
    "is not running", "Would you like", "Launch", "Server not running", "has failed", "Jupyter has lots of moons",
    "Not Found", "Forbidden", "Action is not authorized",
    # NativeAuthenticator's templates and messages
    "Sign In", "Sign in", "Sign up", "to create a new user", "Username", "Password:", "Change Password", "Change password",
    "Authorize Users", "Authorization area", "Unauthorize", "Discard", "Is authorized?", "Something went wrong",
    "Your information has been sent to the admin", "Your current password was incorrect",
    "Old password", "New password", "Confirm password",
    # the admin application (admin-react.js)
    "Start All", "Stop All", "Shutdown Hub", "Add Users", "Manage Groups", "Edit User", "Start Server",
    "Spawn Page", "Access Server", "Only Active Servers", "Search Users", "Last Activity", "Items per page",
    "Displaying", "Previous", "Server Start Time", "User", "Admin", "Server",
]

def _english_pattern(text: str) -> re.Pattern:
    return re.compile(r"(?<![\w-])" + re.escape(text) + r"(?![\w-])")


PATTERNS = {text: _english_pattern(text) for text in ENGLISH}

# Everything a reader sees or hears of the page: text, title, placeholders, labels, buttons' values.
_SHOWN = """() => {
  const texts = [document.title, document.body.innerText];
  document.querySelectorAll("[title], [placeholder], [aria-label], input[type=submit], option").forEach((e) => {
    for (const name of ["title", "placeholder", "aria-label"]) { if (e.getAttribute(name)) texts.push(e.getAttribute(name)); }
    if (e.tagName === "INPUT") texts.push(e.value);
    if (e.tagName === "OPTION") texts.push(e.textContent);
  });
  return texts.join("\\n");
}"""


def english_on(page) -> list[str]:
    shown = page.evaluate(_SHOWN)
    return [text for text, pattern in PATTERNS.items() if pattern.search(shown)]


def test_the_english_list_is_what_jupyterhub_ships():
    """Each string looked for is really in the installed JupyterHub or NativeAuthenticator:
    the check below looks for what a reader would otherwise meet."""
    import jupyterhub
    import nativeauthenticator

    sources = [*Path(sys.prefix, "share", "jupyterhub").rglob("*.html"),
               *Path(sys.prefix, "share", "jupyterhub", "static", "js").glob("*.js"),
               *(Path(jupyterhub.__file__).parent / name for name in (
                   "spawner.py", "apihandlers/users.py", "handlers/pages.py", "scopes.py")),
               *Path(nativeauthenticator.__file__).parent.rglob("*.html"),
               Path(nativeauthenticator.__file__).parent / "handlers.py"]
    shipped = "\n".join(path.read_text(encoding="utf-8", errors="replace") for path in sources)
    moment = {"seconds ago", "minutes ago", "a few seconds", "Not Found", "Forbidden"}  # moment, tornado
    missing = [text for text in ENGLISH if text not in moment and text not in shipped]
    assert missing == []


@pytest.fixture(scope="module")
def french_hub(tmp_path_factory):
    """A hub whose spawn page goes at once to the progress page (the progress is then shown)."""
    tmp = tmp_path_factory.mktemp("hub-french")
    snippets = tmp / "config.d"
    snippets.mkdir()
    (snippets / "zz-slow-spawn.py").write_text("c.JupyterHub.slow_spawn_timeout = 0\n", encoding="utf-8")
    local, token = start_hub(tmp)
    try:
        yield RunningHub(local, token)
    finally:
        local.stop()


# JupyterHub's own progress events for a spawn, as its event stream sends them (retry: the browser
# does not ask again within the test).
def _progress_stream(user: str) -> str:
    events = [{"progress": 0, "message": "Server requested"},
              {"progress": 50, "message": "Spawning server..."},
              {"progress": 90, "message": "Spawn failed: the spawner's own words stay as they are"}]
    return "retry: 600000\n\n" + "".join(f"data: {json.dumps(event)}\n\n" for event in events)


def _log_in(page, hub, name: str, password: str) -> None:
    page.goto(hub.url + "hub/login")
    page.fill("#username_input", name)
    page.fill("#password_input", password)
    page.click("#login_submit")


def test_every_page_a_researcher_or_an_admin_meets_is_french(french_hub, browser):
    hub = french_hub
    researcher = "chercheuse-fr"
    admin_http = hub.session()
    assert admin_http.login(hub.admin_name, hub.admin_password)
    assert "Demande transmise" in hub.session().signup(researcher, PASSWORD, affiliation="GET, Toulouse").text
    assert admin_http.toggle_approval(researcher).status_code == 200

    found: dict[str, list[str]] = {}

    def check(where: str) -> None:
        page.wait_for_load_state()
        english = english_on(page)
        if english:
            found[where] = english

    context, visit = open_visit(browser)
    page = visit.page
    admin_api = hub.service()
    admin_api.username = hub.admin_name
    try:
        # A visitor: login, signup, a refused signup.
        page.goto(hub.url + "hub/login")
        check("login")
        page.goto(hub.url + "hub/signup")
        check("signup")
        page.fill("#username_input", "visiteur")
        page.fill("#email_input", "visiteur@example.org")
        page.fill("#affiliation_input", "IMT Mines Albi")
        page.fill("#password_input", "court")
        page.fill("#password_confirmation_input", "court")
        page.click("#signup_submit")
        expect(page.locator("#signup-result")).to_be_visible()
        check("signup refused")

        # The researcher: their pages, a refused password change, an admin page, a stopped server, a 404.
        _log_in(page, hub, researcher, PASSWORD)
        page.wait_for_url(f"**/user/{researcher}/**", timeout=120_000)
        for path in ("hub/home", "hub/token", "hub/change-password"):
            page.goto(hub.url + path)
            check(path + " (researcher)")
        page.fill("#old_password_input", "pas-le-bon-mot-de-passe")
        page.fill("#new_password_input", "nouveau-mot-de-passe-2026")
        page.fill("#new_password_confirmation_input", "nouveau-mot-de-passe-2026")
        page.click("#signup_submit")
        expect(page.locator("[role=alert]")).to_contain_text("Le mot de passe actuel est incorrect")
        check("change-password refused")
        page.goto(hub.url + "hub/admin")
        check("admin refused (researcher)")
        page.goto(hub.url + "hub/home")
        expect(page.locator("#stop")).to_be_visible()
        page.click("#stop")
        expect(page.locator("#stop")).to_be_hidden(timeout=60_000)
        expect(page.locator("#start")).to_have_text("Démarrer mon serveur")
        check("home after stop (researcher)")
        page.goto(hub.url + f"hub/user/{researcher}/")
        check("not running")
        page.goto(hub.url + "hub/nowhere")
        check("404")
        page.goto(hub.url + "hub/logout")

        # The admin: lands on the home; a spawn shows JupyterHub's progress events; home, stop,
        # tokens, the admin application, the approval page, the refusal of their own withdrawal.
        context.route("**/hub/api/users/*/server/progress*", lambda route: route.fulfill(
            status=200, headers={"Content-Type": "text/event-stream"}, body=_progress_stream(hub.admin_name)))
        _log_in(page, hub, hub.admin_name, hub.admin_password)
        page.wait_for_url("**/hub/home")
        check("home (admin)")
        page.goto(hub.url + "hub/spawn")
        page.wait_for_url(f"**/hub/spawn-pending/{hub.admin_name}**")
        expect(page.locator("#progress-log")).to_contain_text("Le démarrage a échoué", timeout=30_000)
        expect(page.locator("#progress-log")).to_contain_text("Démarrage du serveur")
        check("spawn-pending")
        context.unroute("**/hub/api/users/*/server/progress*")
        assert admin_api.api("GET", f"users/{hub.admin_name}").json()["servers"], "the spawn was asked"
        page.goto(hub.url + "hub/home")
        expect(page.locator("#stop")).to_be_visible(timeout=120_000)
        check("home with a server (admin)")
        page.click("#stop")
        expect(page.locator("#stop")).to_be_hidden(timeout=60_000)
        expect(page.locator("#start")).to_have_text("Démarrer mon serveur")
        check("home after stop (admin)")

        page.goto(hub.url + "hub/token")
        page.fill("#token-note", "jeton de test")
        page.click("#request-token-form button[type=submit]")
        expect(page.locator("#token-result")).not_to_be_empty(timeout=30_000)
        page.goto(hub.url + "hub/token")  # its table now lists the tokens, with their dates
        expect(page.locator("#api-tokens-table")).to_contain_text("jeton de test")
        check("token")

        page.goto(hub.url + "hub/admin")
        expect(page.locator("#react-admin-hook")).to_contain_text(researcher, timeout=30_000)
        page.wait_for_timeout(500)  # the application renders its rows and pager after the list arrives
        check("admin")
        page.goto(hub.url + "hub/authorize")
        check("authorize")
        page.goto(hub.url + f"hub/change-password/{researcher}")
        check("change-password of another account")
        page.goto(hub.url + "hub/authorize")
        page.evaluate("""([url, xsrf]) => {
          const form = Object.assign(document.createElement("form"), {method: "post", action: url});
          form.appendChild(Object.assign(document.createElement("input"), {type: "hidden", name: "_xsrf", value: xsrf}));
          document.body.appendChild(form);
          form.submit();
        }""", [f"/hub/authorize/{hub.admin_name}", page.evaluate("() => window.jhdata.xsrf_token")])
        expect(page.locator("h1")).to_contain_text("Erreur 403")
        check("self-unauthorize refused")
    finally:
        context.close()
        for name in (researcher, hub.admin_name):
            admin_api.username = name
            try:
                admin_api.stop_server()
            except Exception:  # noqa: BLE001 - stopped by the test already
                pass
    assert found == {}, f"English on hub pages: {found}"
