"""Access requests through the real doors: a researcher's kernel, the catalogue, the data service's
pages in chromium, two stewards' browsers, the CLI, and the platform revoking a right at its end.

Server mode (real system accounts, a real hub with configurable-http-proxy); the expiry round runs
every second here (``data_service.expiry_check_every``) so that an end is seen within the test.
Timings (approve → usable, end → revoked) are written to ``test-artifacts/dashboards/access_timings.json``
and printed: measured, never asserted.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
import requests

from conftest import ARTIFACTS, open_visit, require_root, server_mode_hub
from occidata.privacy.audit import read_audit, verify_audit
from test_rights import PASSWORD, RESEARCHER, RESTRICTED, SECOND, STEWARD, Trust, load_in_lab

require_root()

pytestmark = [pytest.mark.hub]

TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="module")
def desk(tiny_data_dir):
    with server_mode_hub(tiny_data_dir, "desk", DATA_SERVICE__STEWARDS=f'["{STEWARD}", "{SECOND}"]',
                         DATA_SERVICE__EXPIRY_CHECK_EVERY="1", DATA_SERVICE__MAX_DAYS_PARTNER="60") as made:
        trust = Trust(made.hub, made.base)
        trust.sign_up((RESEARCHER, STEWARD, SECOND), note="access requests test")
        yield trust
    if TIMINGS:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "access_timings.json").write_text(json.dumps(TIMINGS, indent=1) + "\n")
        print("\naccess request timings (s):", json.dumps(TIMINGS))


@pytest.fixture(scope="module")
def kernel(desk):
    person = desk.people[RESEARCHER]
    assert person.start_server(timeout=180)["ready"]
    try:
        yield person.start_kernel()["id"]
    finally:
        person.stop_server()


def api(desk: Trust, who: str, method: str, path: str, body: dict | None = None) -> requests.Response:
    return requests.request(method, desk.service_url(path), json=body, timeout=30,
                            headers={"Authorization": f"token {desk.token(who)}"})


def events(desk: Trust, event: str) -> list[dict]:
    return [r for r in read_audit(desk.audit_log) if r["event"] == event]


def wait_until(check, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.2)


def browser_as(browser, desk: Trust, name: str, next_path: str):
    """A person's browser, logged in through the hub's French form, which sends them on to
    ``next_path`` (through the service's OAuth): no lab is started."""
    context, seen = open_visit(browser)
    page = seen.page
    page.goto(desk.hub.url + "hub/login?" + urlencode({"next": "/" + next_path.lstrip("/")}))
    page.fill("#username_input", name)
    page.fill("#password_input", PASSWORD)
    page.click("#login_submit")
    page.wait_for_url(re.compile(rf".*/{re.escape(next_path.split('?')[0].strip('/'))}.*"), timeout=60_000)
    return context, seen


def in_days(days: int) -> str:
    return (datetime.now(ZoneInfo("Europe/Paris")).date() + timedelta(days=days)).isoformat()


@pytest.mark.browser
def test_a_researcher_asks_a_steward_approves_the_next_load_works_and_the_right_ends(desk, kernel, browser):
    from playwright.sync_api import expect

    # 1. In the lab, the entry is refused; the refusal says where to ask.
    refused = load_in_lab(desk, kernel, "agri_sensors")
    link = f"{desk.hub.url}services/data/requests/new?dataset=agri_sensors"
    assert refused.startswith("refused:") and link in refused, refused

    # 2. The researcher follows the link (logging in), fills in the form, sends it.
    context, seen = browser_as(browser, desk, RESEARCHER, "services/data/requests/new?dataset=agri_sensors")
    stewards_context = None
    try:
        page = seen.page
        expect(page.locator("h1")).to_contain_text("Demander l'accès")
        expect(page.locator("dl.facts")).to_contain_text("60 jours au plus")
        page.fill("#finalite", "Relier l'humidité des sols des parcelles aux rendements de 2024")
        page.fill("#projet", "VigneSol")
        page.fill("#fin", in_days(30))
        page.click("text=Envoyer la demande")
        expect(page.locator("p.notice")).to_contain_text("envoyée")
        expect(page.locator("td.state").first).to_have_text("en attente")
        request_id = page.locator("p.notice code").inner_text()
        assert re.fullmatch(r"r-\d{8}-[0-9a-f]{6}", request_id)

        # The researcher's own lab cannot approve it: its token is no steward's (nor would a steward's lab's be).
        forged = desk.people[RESEARCHER].execute(
            kernel, "import os, requests\n"
                    f"answer = requests.post(os.environ['OCCIDATA_DATA_SERVICE_URL'].rstrip('/') + '/api/requests/{request_id}',"
                    " json={'action': 'approve'}, headers={'Authorization': 'token ' + os.environ['JUPYTERHUB_API_TOKEN']})\n"
                    "print(answer.status_code)", timeout=60)
        assert forged.strip() == "403", forged

        # 3. A steward approves it on the steward page, by a click.
        stewards_context, steward = browser_as(browser, desk, STEWARD, "services/data/requests")
        card = steward.page.locator("section.request", has_text=request_id)
        expect(card).to_contain_text("VigneSol")
        expect(card).to_contain_text("Relier l'humidité des sols")
        clicked = time.monotonic()
        card.get_by_role("button", name="Approuver").click()
        expect(steward.page.locator("p.notice")).to_contain_text("Décision enregistrée")

        # 4. The researcher's next load works, and their page says until when.
        wait_until(lambda: api(desk, RESEARCHER, "GET", "api/tables/agri_sensors").status_code == 200,
                   "the approved level usable")
        TIMINGS["approve_to_usable_s"] = round(time.monotonic() - clicked, 3)
        assert int(load_in_lab(desk, kernel, "agri_sensors")) > 0
        # The steward's desk leads to the view of use, where the new holder appears until the end date.
        steward.page.get_by_role("link", name="L'usage des données").click()
        expect(steward.page.locator("#niveaux")).to_have_text("Qui détient quel niveau")
        expect(steward.page.locator("main")).to_contain_text(RESEARCHER)
        page.goto(desk.service_url("requests"))
        expect(page.locator("td.state").first).to_have_text("accordée")
        expect(page.locator("table", has_text="Niveaux que la fiducie vous a accordés")).to_contain_text("partner")
        seen.assert_clean()
        steward.assert_clean()
    finally:
        context.close()
        if stewards_context is not None:
            stewards_context.close()

    # 5. A renewal asked from the command line with a precise end, approved by the CLI: the right
    # ends a few seconds later, revoked by the platform itself.
    end = (datetime.now(timezone.utc) + timedelta(seconds=20)).replace(microsecond=0)
    renewal = api(desk, RESEARCHER, "POST", "api/requests",
                  {"dataset": "agri_sensors", "purpose": "Fin de l'analyse", "project": "VigneSol", "end": end.isoformat()})
    assert renewal.status_code == 201, renewal.text
    approved = desk.cli("approve", renewal.json()["id"], token=desk.token(SECOND))
    assert approved.returncode == 0, approved.stderr
    read = api(desk, RESEARCHER, "GET", "api/tables/agri_sensors")
    assert read.status_code == 200 and read.headers["X-Occidata-Access-Until"] == end.isoformat(timespec="seconds")
    warned = desk.people[RESEARCHER].execute(
        kernel, "import warnings\nfrom occidata import catalog\nwith warnings.catch_warnings(record=True) as w:\n"
                "    warnings.simplefilter('always')\n    catalog.load('agri_sensors')\n"
                "print([str(x.message) for x in w if 'prend fin' in str(x.message)])", timeout=120)
    assert "Votre accès à ces données prend fin le" in warned, warned
    wait_until(lambda: events(desk, "expiry_notice"), "the holder told ahead of the end (audited)", timeout=15)

    def revoked() -> bool:
        groups = desk.hub.service().api("GET", f"users/{RESEARCHER}").json()["groups"]
        return "partner" not in groups
    wait_until(revoked, "the right revoked at its end", timeout=60)
    TIMINGS["end_to_revoked_s"] = round((datetime.now(timezone.utc) - end).total_seconds(), 3)
    after = load_in_lab(desk, kernel, "agri_sensors")
    assert after.startswith("refused:") and link in after, after

    # 6. Every step is on record, chained and sealed.
    assert verify_audit(desk.audit_log) == []
    mine = desk.pseudonym(RESEARCHER)
    steps = [(r["event"], r.get("reason")) for r in read_audit(desk.audit_log)
             if r["who"] == mine and r.get("what") in ("partner", "agri_sensors")]
    for step in [("access_denied", None), ("access_requested", None), ("access_approved", None), ("grant", None),
                 ("read", None), ("access_requested", None), ("access_approved", None), ("grant", None),
                 ("expiry_notice", None), ("revoke", "expired"), ("access_denied", None)]:
        assert step in steps, (step, steps)
    requested = [r for r in events(desk, "access_requested") if r["who"] == mine]
    assert requested[0]["purpose"].startswith("Relier l'humidité") and requested[0]["project"] == "VigneSol"
    listing = api(desk, RESEARCHER, "GET", "api/requests").json()
    assert [r["state"] for r in listing["mine"]][:2] == ["ended", "ended"]


@pytest.mark.browser
def test_restricted_needs_a_second_steward_and_a_script_cannot_approve_for_one(desk, browser):
    from playwright.sync_api import expect

    asked = api(desk, RESEARCHER, "POST", "api/requests", {"level": RESTRICTED, "purpose": "Admissions pour chaleur",
                                                          "project": "Canicule 2025", "end": in_days(20)})
    assert asked.status_code == 201, asked.text
    request_id = asked.json()["id"]
    context, steward = browser_as(browser, desk, STEWARD, "services/data/requests")
    try:
        page = steward.page
        # A script in the steward's own origin (a lab's output, say) posts the form's own fields.
        forged = page.evaluate("""async (id) => {
            const form = document.querySelector(`form[action$="requests/${id}"]`);
            const body = new FormData(form); body.set('action', 'approve');
            const answer = await fetch(form.getAttribute('action'), {method: 'POST', body});
            return [answer.status, await answer.text()]; }""", request_id)
        assert forged[0] == 403, forged
        card = page.locator("section.request", has_text=request_id)
        card.get_by_role("button", name="Approuver").click()
        expect(page.locator("p.notice")).to_contain_text("Décision enregistrée")
        card = page.locator("section.request", has_text=request_id)
        expect(card).to_contain_text("1 sur 2")
        expect(card).to_contain_text("un second intendant doit le donner")
        seen_errors = [e for e in steward.console_errors if "403" not in e]  # the forged fetch's own 403
        assert seen_errors == []
    finally:
        context.close()
    assert api(desk, RESEARCHER, "GET", "api/tables/health_admissions").status_code == 403, "one steward is not enough"
    again = api(desk, STEWARD, "POST", f"api/requests/{request_id}", {"action": "approve"})
    assert again.status_code == 409 and "second intendant" in again.json()["error"]
    second = api(desk, SECOND, "POST", f"api/requests/{request_id}", {"action": "approve"})
    assert second.status_code == 200 and second.json()["state"] == "approved", second.text
    assert api(desk, RESEARCHER, "GET", "api/tables/health_admissions").status_code == 200
    grant = [r for r in events(desk, "grant") if r.get("request") == request_id]
    assert grant and grant[0]["by"] == desk.pseudonym(STEWARD) and grant[0]["second_by"] == desk.pseudonym(SECOND)


def test_requests_that_break_the_rules_are_refused(desk):
    too_long = api(desk, RESEARCHER, "POST", "api/requests", {"dataset": "agri_sensors", "purpose": "Étude",
                                                              "project": "P", "end": in_days(90)})
    assert too_long.status_code == 400 and too_long.json()["parameter"] == "end"
    assert "60 jours au plus" in too_long.json()["error"]
    empty = api(desk, RESEARCHER, "POST", "api/requests", {"dataset": "agri_sensors", "purpose": "  ",
                                                           "project": "P", "end": in_days(10)})
    assert empty.status_code == 400 and empty.json()["parameter"] == "purpose"
    public = api(desk, RESEARCHER, "POST", "api/requests", {"dataset": "air_quality_hourly", "purpose": "Étude",
                                                            "project": "P", "end": in_days(10)})
    assert public.status_code == 400 and "aucune demande n'est nécessaire" in public.json()["error"]
    cli = desk.cli("request", "agri_sensors", "--purpose", "", "--project", "P", "--end", in_days(10),
                   token=desk.token(RESEARCHER))
    assert cli.returncode == 1 and "finalité" in cli.stderr, cli.stderr

    own = api(desk, STEWARD, "POST", "api/requests", {"dataset": "agri_sensors", "purpose": "Contrôle",
                                                       "project": "Audit", "end": in_days(10)})
    assert own.status_code == 201, own.text
    self_approval = api(desk, STEWARD, "POST", f"api/requests/{own.json()['id']}", {"action": "approve"})
    assert self_approval.status_code == 403 and "propre demande" in self_approval.json()["error"]
    by_researcher = api(desk, RESEARCHER, "POST", f"api/requests/{own.json()['id']}", {"action": "approve"})
    assert by_researcher.status_code == 403
    no_reason = api(desk, SECOND, "POST", f"api/requests/{own.json()['id']}", {"action": "refuse", "reason": ""})
    assert no_reason.status_code == 400 and no_reason.json()["parameter"] == "reason"
    refused = desk.cli("refuse", own.json()["id"], "--reason", "Un intendant ne se contrôle pas lui-même",
                       token=desk.token(SECOND))
    assert refused.returncode == 0, refused.stderr
    mine = api(desk, STEWARD, "GET", "api/requests").json()["mine"]
    assert mine[0]["state"] == "refused" and mine[0]["decision"]["reason"].startswith("Un intendant")
    assert any(r.get("request") == own.json()["id"] for r in events(desk, "access_refused"))


def test_a_right_past_its_end_is_refused_at_once_and_revoked_when_the_data_service_starts(tmp_path, tiny_data_dir):
    """The expiry round runs hourly here: a right past its end is refused at once, and revoked when
    the data service starts again."""
    from conftest import RunningHub, start_hub

    local, service_token = start_hub(tmp_path, DATA_DIR=str(tiny_data_dir), DATA_SERVICE__EXPIRY_CHECK_EVERY="3600",
                                     REPORTS__ENABLED="false")
    hub = RunningHub(local, service_token)
    url = f"{hub.url}services/data/"
    try:
        admin = hub.session()
        assert admin.login(hub.admin_name, hub.admin_password)
        steward_token = admin.request_token(note="steward")
        reader = hub.session()
        assert reader.signup("lectrice", PASSWORD).status_code == 200
        assert admin.toggle_approval("lectrice").status_code == 200
        assert reader.login("lectrice", PASSWORD)
        reader_token = reader.request_token(note="researcher")
        end = (datetime.now(timezone.utc) + timedelta(seconds=15)).replace(microsecond=0)
        asked = requests.post(url + "api/requests", timeout=30, headers={"Authorization": f"token {reader_token}"},
                              json={"dataset": "agri_sensors", "purpose": "Courte étude", "project": "Essai",
                                    "end": end.isoformat()})
        assert asked.status_code == 201, asked.text
        approved = requests.post(url + f"api/requests/{asked.json()['id']}", json={"action": "approve"}, timeout=30,
                                 headers={"Authorization": f"token {steward_token}"})
        assert approved.status_code == 200 and approved.json()["state"] == "approved", approved.text
        read = requests.get(url + "api/tables/agri_sensors", headers={"Authorization": f"token {reader_token}"},
                            timeout=60)
        assert read.status_code == 200
        # Past the end, the right is not honoured, although the hourly round has not revoked it yet.
        time.sleep(max(0.0, (end - datetime.now(timezone.utc)).total_seconds()) + 0.5)
        ended = requests.get(url + "api/tables/agri_sensors", headers={"Authorization": f"token {reader_token}"},
                             timeout=60)
        assert ended.status_code == 403 and "a pris fin à la date de fin de votre demande" in ended.json()["error"]
        assert "partner" in hub.service().api("GET", "users/lectrice").json()["groups"]
    finally:
        local.stop()
    local.start()
    try:
        service = hub.service()
        wait_until(lambda: "partner" not in service.api("GET", "users/lectrice").json()["groups"],
                   "the ended right revoked when the data service starts", timeout=90)
        audit = Path(local.cfg["state_dir"]) / "logs" / "audit.jsonl"
        revokes = [r for r in read_audit(audit) if r["event"] == "revoke" and r.get("reason") == "expired"]
        assert len(revokes) == 1 and revokes[0]["what"] == "partner"
        after = requests.get(url + "api/tables/agri_sensors", headers={"Authorization": f"token {reader_token}"},
                             timeout=60)
        assert after.status_code == 403
    finally:
        local.stop()
