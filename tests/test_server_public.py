"""Server mode's public side, end to end as root: the dashboards (live and snapshots), the
report scheduler and `occidata publish`, each as its own account, and what a hostile notebook
submitted to the gate can reach (nothing that is served, no archive, no other gate run).

One server-mode hub for the module, with the dashboards and the reports on (the real
deployment). Accounts get a random prefix and are deleted at the end.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests

from conftest import open_visit, require_root, server_mode_hub, service_owners, wait_for_dashboards
from occidata.approvals import approve
from occidata.dashboards import DASHBOARDS

OCCIDATA = str(Path(sys.executable).parent / "occidata")
PASSWORD = "garrigue-causse-2026"
PREFIX = "services/dashboards/"
REPORT = "releve-public"
PARTNER_REPORT = "releve-partenaire"

require_root()

pytestmark = [pytest.mark.hub]

REPORT_NOTEBOOK = {
    "cells": [
        {"cell_type": "code", "execution_count": None, "id": "p", "metadata": {"tags": ["parameters"]}, "outputs": [],
         "source": "year = 2024  # the year; range: 2020..2030"},
        {"cell_type": "code", "execution_count": None, "id": "r", "metadata": {}, "outputs": [],
         "source": "from occidata import catalog\nfrom occidata.reports.summary import record_summary\n"
                   "rows = len(catalog.load('air_quality_hourly', year=year))\n"
                   "print('Relevé public :', rows, 'mesures')\n"
                   "record_summary({'rows': rows})  # last, as curated notebooks end: shows no folder"},
    ],
    "metadata": {"kernelspec": {"name": "occidata-cpu", "display_name": "Occidata (CPU)", "language": "python"}},
    "nbformat": 4, "nbformat_minor": 5,
}


class Server:
    def __init__(self, made):
        self.hub, self.base, self.names = made.hub, made.base, made.names
        self.cfg = made.cfg
        self.state = Path(self.cfg["state_dir"])


@pytest.fixture(scope="module")
def server(tiny_data_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("schedules")
    os.chmod(folder, 0o755)  # the reports' account reads the notebooks there
    notebook = folder / f"{REPORT}.ipynb"
    notebook.write_text(json.dumps(REPORT_NOTEBOOK))
    partner = folder / f"{PARTNER_REPORT}.ipynb"
    partner.write_text(json.dumps(REPORT_NOTEBOOK).replace("air_quality_hourly", "building_meters")
                       .replace("Relevé public", "Relevé partenaire"))
    for path in (notebook, partner):
        os.chmod(path, 0o644)
    schedules = folder / "schedules.yaml"
    schedules.write_text("schedules:\n" + "".join(
        f"  - name: {name}\n    notebook: {path}\n    cron: '* * * * *'\n    retries: 0\n"
        for name, path in ((REPORT, notebook), (PARTNER_REPORT, partner))))
    with server_mode_hub(tiny_data_dir, "public", DASHBOARDS__ENABLED="true", DASHBOARDS__POOL_SIZE="1",
                         REPORTS__ENABLED="true", REPORTS__SCHEDULES_FILE=str(schedules),
                         REPORTS__CHECK_EVERY="5") as made:
        server = Server(made)
        server.report_notebook = notebook
        yield server


@pytest.fixture(scope="module")
def dashboards_ready(server):
    return wait_for_dashboards(server.hub.url, len(DASHBOARDS), 1, timeout=600)


@pytest.fixture(scope="module")
def researcher_kernel(server):
    """A researcher's lab kernel (no level): the door a hostile researcher has."""
    person = server.hub.session()
    assert person.signup("curieux", PASSWORD).status_code == 200
    admin = server.hub.session()
    assert admin.login(server.hub.admin_name, server.hub.admin_password)
    assert admin.toggle_approval("curieux").status_code == 200
    assert person.login("curieux", PASSWORD)
    person.request_token(note="test")
    assert person.start_server(timeout=180)["ready"]
    try:
        yield person, person.start_kernel()["id"]
    finally:
        person.stop_server()


def wait_for_report(server, name: str = REPORT, timeout: float = 180) -> Path:
    """The first run of an every-minute schedule, once archived."""
    archive = server.state / "reports" / name
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = [p for p in archive.glob("*") if p.is_dir() and not p.name.endswith(".partial")] if archive.is_dir() else []
        if runs and (runs[0] / "run.json").is_file():
            return runs[0]
        time.sleep(2)
    raise AssertionError(f"no run of {name} after {timeout:.0f} s")


def test_services_run_as_their_own_accounts(server, dashboards_ready):
    services = {s["name"]: s for s in server.hub.service().api("GET", "services").json().values()}
    assert service_owners(services["dashboards"]["url"].rstrip("/")) == {server.names["public"]}
    assert service_owners(services["reports"]["url"].rstrip("/")) == {server.names["reports"]}
    # Archives: each its account's alone, files 0600 (the services run with umask 077).
    snapshots = server.state / "public" / "snapshots"
    public = pwd.getpwnam(server.names["public"])
    assert stat.S_IMODE(os.stat(server.state / "public").st_mode) == 0o700
    html = next(snapshots.rglob("report.html"))
    assert os.stat(html).st_uid == public.pw_uid and stat.S_IMODE(os.stat(html).st_mode) == 0o600


@pytest.mark.parametrize("slug", [d.slug for d in DASHBOARDS])
def test_every_public_page_works_in_server_mode_in_chromium(server, dashboards_ready, browser, slug):
    from playwright.sync_api import expect

    dashboard = next(d for d in DASHBOARDS if d.slug == slug)
    context, visit = open_visit(browser)
    page = visit.page
    try:
        page.goto(server.hub.url + PREFIX + f"voila/render/{slug}.ipynb", timeout=180_000)
        view = page.locator(".od-dashboard")
        expect(view.locator("h1")).to_have_text(dashboard.title_fr, timeout=180_000)
        assert view.locator("table").count() >= 1
        page.goto(server.hub.url + PREFIX + f"snapshots/{slug}/")
        expect(page.locator(".od-dashboard h1")).to_have_text(dashboard.title_fr)
        assert page.locator(".od-dashboard table").count() >= 1
        # The public address, served by the public account: its controls switch views without a kernel.
        sockets = []
        page.on("websocket", lambda socket: sockets.append(socket.url))
        page.goto(server.hub.url + PREFIX + f"{slug}/")
        expect(page.locator(".od-dashboard h1")).to_have_text(dashboard.title_fr)
        # A control offering a choice (the tiny data hold one bathing season: its communes, then).
        select = next(s for s in page.locator("form.od-explore select").all() if s.locator("option").count() > 1)
        name, other = select.get_attribute("name"), select.locator("option").nth(1).get_attribute("value")
        select.select_option(other)
        expect(page.locator(f'form.od-explore select[name="{name}"]')).to_have_value(other)
        page.wait_for_url(f"**{name}=*")
        assert sockets == [], "a static page opened a websocket"
        visit.assert_clean()
    finally:
        context.close()


def test_a_scheduled_report_is_closed_on_disk_and_public_only_once_approved(server, researcher_kernel):
    run = wait_for_report(server)
    reports = pwd.getpwnam(server.names["reports"])
    for path in [run, *run.iterdir()]:
        info = os.stat(path)
        assert info.st_uid == reports.pw_uid, path
        assert stat.S_IMODE(info.st_mode) in (0o700, 0o600), (path, oct(info.st_mode))
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "ok", record.get("error")
    # A researcher's kernel cannot open the archive, whatever its level.
    person, kernel = researcher_kernel
    probe = (f"try:\n    open({str(run / 'report.html')!r}).read(); print('read')\n"
             "except PermissionError:\n    print('closed')\n"
             f"try:\n    import os; os.listdir({str(server.state / 'reports')!r}); print('listed')\n"
             "except PermissionError:\n    print('closed')")
    assert person.execute(kernel, probe).split() == ["closed", "closed"]
    # Not approved: not public, though it read public data only and the schedule ran it.
    public_url = server.hub.url + f"services/reports/public/{REPORT}/"
    assert requests.get(public_url, timeout=30).status_code == 404
    approve(server.state, server.report_notebook, name=REPORT, kind="report", by="intendante")
    page = requests.get(public_url, timeout=30)
    assert page.status_code == 200 and "Relevé public" in page.text
    assert str(server.state) not in page.text  # no internal path on a public page


def test_a_partner_report_reads_through_the_data_service_and_stays_closed(server, researcher_kernel):
    """The scheduler's account cannot open partner files: it reads them through the data service,
    audited as the reports service; the researcher without `partner` cannot open the result."""
    from occidata.privacy.audit import read_audit

    run = wait_for_report(server, PARTNER_REPORT)
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "ok", record.get("error")
    assert {d["name"]: d["access"] for d in record["datasets"]}["building_meters"] == "partner"
    reads = [r for r in read_audit(server.state / "logs" / "audit.jsonl")
             if r["event"] == "read" and r.get("what") == "building_meters"]
    assert reads, "the partner read went around the data service"
    person, kernel = researcher_kernel
    probe = (f"try:\n    open({str(run / 'report.html')!r}).read(); print('read')\n"
             "except PermissionError:\n    print('closed')")
    assert person.execute(kernel, probe).strip() == "closed"
    page = person.http.get(person.url(f"services/reports/runs/{PARTNER_REPORT}/{run.name}/report.html"), timeout=30)
    assert page.status_code == 404  # nor through the reports pages, without the group
    assert requests.get(server.hub.url + f"services/reports/public/{PARTNER_REPORT}/", timeout=30).status_code == 404


def test_publish_works_in_server_mode(server):
    """A steward publishes a dashboard (a copy of a curated one): the gate passes it in a throwaway
    account, the approval is recorded, it is installed."""
    apps = Path(server.cfg["dashboards"]["apps_dir"] or Path(__file__).resolve().parent.parent / "voila_apps")
    source = server.base / "chaleur-test.ipynb"
    shutil.copy(Path(__file__).resolve().parent.parent / "voila_apps" / "chaleur.ipynb", source)
    os.chmod(source, 0o644)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCCIDATA_")}
    env.update({f"OCCIDATA_{k}": v for k, v in server.hub.local.settings.items()},
               OCCIDATA_DASHBOARDS__APPS_DIR=str(server.base / "apps"))
    (server.base / "apps").mkdir(exist_ok=True)
    done = subprocess.run([OCCIDATA, "publish", str(source), "--approved-by", server.hub.admin_name], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "throwaway account" in done.stdout and "advisory" not in done.stdout
    assert (server.base / "apps" / "chaleur-test.ipynb").is_file()
    assert not apps.joinpath("chaleur-test.ipynb").exists()
    assert not [a for a in pwd.getpwall() if a.pw_name.startswith(server.names["gate"])]


HOSTILE = r'''
import json, os
from pathlib import Path
state = Path(%(state)r)
tries = {}
def attempt(what, action):
    try:
        action()
        tries[what] = "done"
    except OSError as error:
        tries[what] = type(error).__name__
def plant(folder):
    folder.mkdir(parents=True)
    (folder / "run.json").write_text(json.dumps({"name": "chaleur", "run_id": folder.name, "status": "ok",
        "parameters": {"snapshot": True, "lang": "fr"}, "started": "2099-01-01T00:00:00+00:00"}))
    (folder / "report.html").write_text("<script>document.title='pwned'</script>")
attempt("plant a snapshot", lambda: plant(state / "public" / "snapshots" / "chaleur" / "20990101T000000.000Z-x"))
attempt("list the snapshots", lambda: os.listdir(state / "public"))
attempt("read the report archive", lambda: os.listdir(state / "reports"))
attempt("read earlier gate runs", lambda: os.listdir(state / "gate" / "runs"))
attempt("write the approvals", lambda: open(state / "approvals.json", "a").write("{}"))
attempt("write the dashboards", lambda: open(Path(%(apps)r) / "x.ipynb", "w").write("{}"))
Path(%(probe)r).write_text(json.dumps(tries))
from occidata import catalog
catalog.load("building_meters")
'''


def test_a_refused_gate_notebook_reaches_nothing_that_is_served(server, dashboards_ready):
    import nbformat

    from occidata.dashboards.gate import check_publication

    before = {d.slug: requests.get(server.hub.url + PREFIX + f"snapshots/{d.slug}/", timeout=60)
              .headers.get("X-Occidata-Snapshot") for d in DASHBOARDS}
    drop = Path(tempfile.mkdtemp(prefix="probe-", dir="/tmp"))
    os.chmod(drop, 0o777)
    probe = drop / "tries.json"
    apps = Path(__file__).resolve().parent.parent / "voila_apps"
    notebook = server.base / "hostile.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(HOSTILE % {"state": str(server.state), "probe": str(probe),
                                                         "apps": str(apps)}))
    nbformat.write(nb, str(notebook))
    os.chmod(notebook, 0o644)
    try:
        result = check_publication(notebook, cfg=server.cfg)
        tries = json.loads(probe.read_text())
    finally:
        shutil.rmtree(drop, ignore_errors=True)
    assert not result.ok and not result.advisory
    assert any("building_meters" in reason for reason in result.reasons), result.reasons
    assert tries == {what: "PermissionError" for what in tries}, tries
    assert len(tries) == 6
    assert not (server.state / "public" / "snapshots" / "chaleur" / "20990101T000000.000Z-x").exists()
    after = {d.slug: requests.get(server.hub.url + PREFIX + f"snapshots/{d.slug}/", timeout=60)
             .headers.get("X-Occidata-Snapshot") for d in DASHBOARDS}
    assert after == before and all(before.values())
    assert not [a for a in pwd.getpwall() if a.pw_name.startswith(server.names["gate"])]


def test_the_hub_pages_and_the_service_locks_hold_in_server_mode(server, dashboards_ready):
    """Server mode, the real deployment: every hub page an admin meets runs no inline script and
    carries the hub's policy (a planted script ran with the admin's cookie before), and each
    service holds its lock as its own account (the lock folder was root's alone)."""
    import fcntl

    from test_hub_pages import assert_hub_policy, inline_scripts

    admin = server.hub.session()
    assert admin.login(server.hub.admin_name, server.hub.admin_password)
    for path in ("hub/login", "hub/home", "hub/token", "hub/admin", "hub/authorize", "hub/nowhere"):
        response = admin.http.get(server.hub.url + path, timeout=60)
        assert_hub_policy(response)
        inline, lang = inline_scripts(response.text)
        assert inline == [] and lang == "fr", (path, inline, lang)
    for name, account in (("data", server.names["service"]), ("reports", server.names["reports"]),
                          ("dashboards", server.names["public"])):
        lock = server.state / "locks" / f"{name}.lock"
        assert lock.stat().st_uid == pwd.getpwnam(account).pw_uid
        with open(lock) as handle:
            with pytest.raises(BlockingIOError):  # held by the running service
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_a_visitor_reads_the_catalogue_pages_served_by_the_public_account(server):
    """The catalogue pages run as the public account: a public entry's map comes from public data it
    may read, a partner entry's page is refused to a visitor, and its files stay closed to it."""
    deadline = time.monotonic() + 60
    while (page := requests.get(server.hub.url + "services/catalogue/air_quality_hourly", timeout=60)).status_code == 503:
        assert time.monotonic() < deadline, "the catalogue pages did not start"
        time.sleep(0.5)  # the hub started the service: give it a moment to listen
    services = {s["name"]: s for s in server.hub.service().api("GET", "services").json().values()}
    assert service_owners(services["catalogue"]["url"].rstrip("/")) == {server.names["public"]}
    assert page.status_code == 200 and '<html lang="fr">' in page.text
    assert page.text.count('class="od-point"') >= 3  # the stations, read from public data
    assert requests.get(server.hub.url + "services/catalogue/agri_sensors", timeout=60).status_code == 403
    closed = subprocess.run(["runuser", "-u", server.names["public"], "--", "ls", str(server.base / "data" / "agri_sensors")],
                            capture_output=True, text=True)
    assert closed.returncode != 0
