"""Every page we serve has a Content-Security-Policy without inline script (issue 13).

The services live in the hub's origin: a script planted in one of their pages would run with the
hub cookie of whoever opens it. Here a dashboard and a report carry a planted ``<script>`` and an
``<img onerror=...>`` (an approved notebook whose output holds markup it should not: an unescaped
value, a planted output), rendered by the platform's own runner and served by its own services;
chromium opens them and nothing runs. Then every route of the three services is asked for its
policy over HTTP.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from conftest import RunningHub, open_visit, owned_like, start_hub, wait_for_dashboards
from occidata.hub import csp

PLANTED = "piege"
TITLE = "Piège (test)"
# Each payload sets window.pwned and the page's title if it ever runs (no digit: Markdown with a
# number, or an image, is refused by the publication gate before any policy is needed).
SCRIPT = "<script>window.pwned = '{where}: script'; document.title = 'pwned';</script>"
ONERROR = "<img src=\"x\" alt=\"\" onerror=\"window.pwned = '{where}: onerror'; document.title = 'pwned';\">"
# Python's HTML parser reads <style> as text; a browser, inside <svg>, reads markup there, and <img>
# breaks out of the SVG: an image with its handler (the publication gate refuses markup there now).
SVG_BREAKOUT = ("<svg role=\"img\" aria-label=\"carte\"><style><img src=\"x\" alt=\"\" "
                "onerror=\"window.pwned = '{where}: svg'; document.title = 'pwned';\"></style></svg>")
ONTOGGLE = ("<details open ontoggle=\"window.pwned = '{where}: ontoggle'; document.title = 'pwned';\">"
            "<summary>Détails</summary>Texte</details>")
BLOCKED = ("Content Security Policy", "sandboxed")  # chromium's words for a script it refused to run


def planted_notebook(path: Path, body: str, title: str = TITLE) -> Path:
    """A dashboard-like notebook: parameters, a Markdown cell carrying a script and an event
    handler that fires by itself, then the code cell ``body``."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"name": "occidata-cpu", "display_name": "Occidata (CPU)", "language": "python"},
                   "title": title}
    parameters = nbformat.v4.new_code_cell('lang = "fr"  # language of the page; one of: fr, en\n'
                                           'snapshot = False  # static rendering for the snapshot (no widgets)')
    parameters.metadata["tags"] = ["parameters"]
    markdown = nbformat.v4.new_markdown_cell("Une page de test.\n\n" + SCRIPT.format(where="markdown") + "\n\n"
                                             + ONTOGGLE.format(where="markdown"))
    nb.cells = [parameters, markdown, nbformat.v4.new_code_cell(body)]
    nbformat.write(nb, str(path))
    return path


def write_planted_dashboard(path: Path) -> Path:
    """A dashboard whose live page carries the payloads in a plain output and in its view (the
    Output widget); its snapshot, in the Markdown cell and, in its view, only what the check of a
    snapshot's view before it is displayed once missed (the SVG breakout)."""
    output = "<p id='piege-sortie'>Sortie</p>" + SCRIPT.format(where="output") + ONERROR.format(where="output")
    # The SVG breakout only in the live page: a snapshot holding it no longer renders at all
    # (publishable() refuses markup inside <style>), so the snapshot keeps the Markdown payloads,
    # which the gate's judge refuses: the snapshot is kept back and never served.
    page = SCRIPT.format(where="page") + ONERROR.format(where="page") + SVG_BREAKOUT.format(where="page")
    both = "<p id='piege'>Contenu planté</p>"
    return planted_notebook(path, (
        "from IPython.display import HTML, display\n"
        "from occidata.dashboards import layout, render\n\n"
        "if not snapshot:\n"
        f"    display(HTML({output!r}))\n\n"
        "def view(lang='fr'):\n"
        f"    return render.page({both!r} + ('' if snapshot else {page!r}),\n"
        "                       lang=lang, title='Piège')\n\n"
        f"layout.show_dashboard({PLANTED!r}, {{}}, view, lang=lang, snapshot=snapshot)\n"))


@pytest.fixture(scope="module")
def planted_hub(tmp_path_factory, tiny_data_dir):
    """A hub with its three services; its dashboards service serves the planted dashboard only
    (approved by a steward, so that it is served at all), without preheated kernels."""
    from occidata.approvals import approve

    tmp = tmp_path_factory.mktemp("csp-hub")
    apps = tmp / "apps"
    apps.mkdir()
    notebook = write_planted_dashboard(apps / f"{PLANTED}.ipynb")
    # start_hub's state folder: the approval is there before the dashboards service reads it.
    approve(tmp / "state", notebook, name=PLANTED, kind="dashboard", by="steward-csp-test")
    local, token = start_hub(tmp, DASHBOARDS__ENABLED="true", DATA_DIR=str(tiny_data_dir),
                             DASHBOARDS__APPS_DIR=str(apps), DASHBOARDS__POOL_SIZE="0")
    try:
        wait_for_dashboards(local.url, 1, 0)
        yield RunningHub(local, token)
    finally:
        local.stop()


@pytest.fixture(scope="module")
def planted_report(planted_hub, tiny_data_dir, tmp_path_factory):
    """A report run by the platform's runner into the hub's archive: it read a public dataset
    (so any logged-in user may open it) and shows the payload; returns its report.html path."""
    import os

    from occidata.reports.runner import run_report
    from occidata.reports.schedule import archive_path

    shown = "<p id='piege-rapport'>Rapport</p>" + SCRIPT.format(where="report") + ONERROR.format(where="report")
    notebook = planted_notebook(tmp_path_factory.mktemp("csp-report") / "rapport_piege.ipynb", (
        "from IPython.display import HTML, display\n"
        "from occidata import catalog\n"
        "from occidata.reports.summary import record_summary\n\n"
        "catalog.load('air_quality_hourly')\n"
        "record_summary({'lignes': 1})\n"
        f"display(HTML({shown!r}))\n"), title="Rapport piégé (test)")
    saved = os.environ.get("OCCIDATA_DATA_DIR")
    os.environ["OCCIDATA_DATA_DIR"] = str(tiny_data_dir)  # the kernel inherits it
    try:
        record = run_report(notebook, {}, archive_dir=archive_path(planted_hub.local.cfg), timeout=300)
    finally:
        if saved is None:
            os.environ.pop("OCCIDATA_DATA_DIR", None)
        else:
            os.environ["OCCIDATA_DATA_DIR"] = saved
    assert record.status == "ok", record.error
    assert [d["access"] for d in record.datasets] == ["public"]
    archive = archive_path(planted_hub.local.cfg)
    owned_like(archive / record.name, archive)  # as the reports service's account writes its archive
    return f"services/reports/runs/{record.name}/{record.run_id}/report.html"


@pytest.fixture
def visit(browser):
    context, visit = open_visit(browser)
    yield visit
    context.close()


def blocked_scripts(visit, at_least: int = 1, timeout: float = 15) -> list[str]:
    """chromium's console messages about scripts it refused, once there are ``at_least``
    (the image's onerror fires after its request fails: the messages come a little later)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [m for m in visit.console_errors if any(word in m for word in BLOCKED)]
        if len(found) >= at_least or time.monotonic() > deadline:
            return found
        visit.page.wait_for_timeout(100)


def assert_nothing_ran(visit, title: str, at_least: int) -> None:
    page = visit.page
    refused = blocked_scripts(visit, at_least)
    assert page.evaluate("() => window.pwned === undefined"), page.evaluate("() => window.pwned")
    assert page.title() == title
    assert len(refused) >= at_least, f"chromium refused no script: console {visit.console_errors}"


def test_policies_run_no_inline_script():
    for policy in (csp.page_policy(), csp.page_policy(scripts_from="127.0.0.1:8000/services/dashboards/voila/"),
                   csp.archive_policy("https://tiles.example/{z}/{x}/{y}.png"), csp.api_policy()):
        assert not csp.allows_untrusted_script(policy), policy
        assert "'unsafe-inline'" not in csp.directives(policy)["script-src"]
    assert "sandbox" in csp.directives(csp.archive_policy())
    assert "allow-scripts" not in csp.directives(csp.archive_policy())["sandbox"]
    with_tiles = csp.directives(csp.archive_policy("https://tiles.example/{z}/{x}/{y}.png"))
    assert "https://tiles.example" in with_tiles["img-src"]
    # What the dashboards' pages were served with before, and other weak ones.
    for weak in ("default-src 'self'; script-src 'self' 'unsafe-inline'", "sandbox allow-scripts allow-popups",
                 "frame-ancestors 'self'", "", None, "script-src 'self' 'unsafe-eval'", "default-src *",
                 "script-src 'self'; script-src-attr 'unsafe-inline'", "script-src data:"):
        assert csp.allows_untrusted_script(weak), weak
    # Two policies are both enforced: one strict is enough.
    assert not csp.allows_untrusted_script("frame-ancestors 'self', " + csp.api_policy())


def test_protect_refuses_a_weak_fallback_and_path_sources_need_a_folder():
    from tornado import web
    from tornado.httputil import HTTPHeaders, HTTPServerRequest, RequestStartLine

    def request(host: str) -> HTTPServerRequest:
        return HTTPServerRequest(start_line=RequestStartLine("GET", "/", "HTTP/1.1"),
                                 headers=HTTPHeaders({"Host": host}))

    with pytest.raises(ValueError, match="allows inline or foreign script"):
        csp.protect(web.Application(), "script-src 'self' 'unsafe-inline'")
    assert (csp.path_source(request("127.0.0.1:8000"), "/services/dashboards/voila/")
            == "127.0.0.1:8000/services/dashboards/voila/")
    assert csp.path_source(request("[::1]:8000"), "/a/") == "'self'"  # CSP cannot name an IPv6 host
    with pytest.raises(ValueError, match="must start and end with '/'"):
        csp.path_source(request("127.0.0.1"), "/services/dashboards/voila")


@pytest.mark.hub
@pytest.mark.browser
def test_a_script_planted_in_a_snapshot_never_runs(planted_hub, visit):
    """Two locks: the publication gate keeps a snapshot it cannot read from the public (its
    Markdown cell holds a script and an event handler), and a snapshot it let through would run
    no script (the archive policy, checked on every snapshot response in the HTTP test below)."""
    from conftest import dashboards_status

    page = visit.page
    response = page.goto(planted_hub.url + f"services/dashboards/snapshots/{PLANTED}/")
    assert not response.headers.get("x-occidata-snapshot"), "a snapshot holding a script was served"
    assert dashboards_status(planted_hub.url)["snapshots_refused"][PLANTED] >= 1
    assert page.evaluate("() => window.pwned === undefined")
    assert page.title() != "pwned"


@pytest.mark.hub
@pytest.mark.browser
def test_a_script_planted_in_a_live_dashboard_does_not_run(planted_hub, visit):
    page = visit.page
    page.goto(planted_hub.url + f"services/dashboards/voila/render/{PLANTED}.ipynb", timeout=120_000)
    # Voilà's own scripts ran (widgets over the kernel's websocket): the page is drawn.
    expect(page.locator(".od-dashboard h1")).to_have_text("Piège", timeout=120_000)
    expect(page.locator("#piege")).to_be_attached()
    expect(page.locator("#piege-sortie")).to_be_attached()
    assert_nothing_ran(visit, TITLE, at_least=2)


@pytest.mark.hub
@pytest.mark.browser
def test_a_script_planted_in_a_report_does_not_run_for_a_logged_in_admin(planted_hub, planted_report, visit):
    from test_browser import log_in_as_admin

    page = visit.page
    log_in_as_admin(page, planted_hub, next_path="/" + planted_report)
    page.wait_for_url("**/report.html", timeout=60_000)
    expect(page.locator("#piege-rapport")).to_be_visible()
    assert_nothing_ran(visit, "Rapport piégé (test)", at_least=2)


def hops(response: requests.Response) -> list[requests.Response]:
    return [*response.history, response]


def assert_policies(responses: list[requests.Response], prefixes: tuple[str, ...]) -> int:
    """Every response of a service (not the hub's own login pages on the way) has a policy that
    runs no inline script; returns how many were checked."""
    from urllib.parse import urlparse

    checked = 0
    for response in responses:
        for hop in hops(response):
            if not urlparse(hop.url).path.startswith(prefixes):
                continue
            policy = hop.headers.get("Content-Security-Policy")
            assert policy, f"{hop.status_code} {hop.url}: no Content-Security-Policy"
            assert "'unsafe-inline'" not in csp.directives(policy).get("script-src", []), (hop.url, policy)
            assert not csp.allows_untrusted_script(policy), (hop.url, policy)
            checked += 1
    return checked


@pytest.mark.hub
def test_every_response_of_the_three_services_carries_a_policy_without_inline_script(planted_hub, planted_report):
    hub = planted_hub
    anonymous = requests.Session()
    admin = hub.session()
    assert admin.login(hub.admin_name, hub.admin_password)
    token = admin.request_token("csp test")

    def get(session, path, **kwargs):
        return session.get(hub.url + path, timeout=120, **kwargs)

    dashboards = "services/dashboards/"
    responses = [get(anonymous, dashboards + path) for path in (
        "", "status", f"snapshots/{PLANTED}/", f"snapshots/{PLANTED}/en/", "snapshots/absent/",
        f"voila/render/{PLANTED}.ipynb", "voila/render/absent.ipynb", "voila/tree", "voila/tree/x",
        "voila/static/voila.js", "voila/templates/occidata/static/occidata-voila.js",
        "voila/templates/occidata/static/absent.js", "voila/api/themes/absent.css", "voila/labextensions/absent.js",
        f"voila/files/{PLANTED}.ipynb", "voila/api/shutdown/absent", "api/kernels/absent", "nowhere")]
    responses.append(get(anonymous, dashboards.rstrip("/")))
    snapshot = responses[2]  # kept back by the gate: the "being prepared" page, which runs no script
    assert not snapshot.headers.get("X-Occidata-Snapshot") and "script-src 'none'" in snapshot.headers[
        "Content-Security-Policy"]
    voila = responses[5]
    assert voila.status_code == 200 and "application/vnd.voila.cell-output+json" in voila.text
    assert f"script-src 127.0.0.1:{hub.local.cfg['hub']['port']}/{dashboards}voila/" in voila.headers[
        "Content-Security-Policy"]

    reports = "services/reports/"
    responses += [get(anonymous, reports + path) for path in (
        "public/", "public/absent/", "runs/a/b/report.html", "oauth_callback", "nowhere")]
    responses += [get(anonymous, reports.rstrip("/"), allow_redirects=False)]
    responses += [get(admin.http, path) for path in (
        reports, planted_report, planted_report.replace("report.html", "notebook.ipynb"),
        reports + "runs/absent/x/report.html")]
    report = responses[-3]  # archived HTML, as a served snapshot is: no script, sandboxed
    assert report.status_code == 200 and "piege-rapport" in report.text
    assert "script-src 'none'" in report.headers["Content-Security-Policy"]
    assert "sandbox" in report.headers["Content-Security-Policy"]

    data = "services/data/"
    with_token = requests.Session()
    with_token.headers["Authorization"] = f"token {token}"
    responses += [get(anonymous, data + path) for path in ("", "api/entries", "oauth_callback", "nowhere")]
    responses += [get(anonymous, data.rstrip("/"), allow_redirects=False)]
    responses += [get(with_token, data + path) for path in (
        "api/entries", "api/tables/absent", "api/tables/air_quality_hourly?format=arrow&columns=nope",
        "api/zarr/absent/.zattrs", "api/access", "api/audit", "nowhere")]
    entries = responses[-7]
    assert entries.status_code == 200 and json.loads(entries.text)

    checked = assert_policies(responses, ("/services/dashboards", "/services/reports", "/services/data"))
    assert checked >= len(responses)
