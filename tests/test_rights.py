"""Rights in server mode, tried the way they were broken: real hub, real accounts, real doors.

Who may change a right, and with what: nobody grants a right to themselves (stewards and admins
included); a ``restricted:*`` level needs two different stewards; a lab server's token cannot
grant (code running in a steward's notebook); a hub group membership made through the hub's REST
API grants nothing. Stewards here: the configured admin and ``data_service.stewards``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from conftest import RunningHub, require_root, server_mode_hub
from occidata.levels import GRANT_SCOPE
from occidata.privacy.audit import read_audit, verify_audit
from occidata.privacy.pseudonyms import load_or_create_key, pseudonymise

PASSWORD = "garrigue-causse-2026"
RESEARCHER, STEWARD, SECOND = "chercheuse", "intendante", "gardien"
RESTRICTED = "restricted:health_admissions"

require_root()

pytestmark = [pytest.mark.hub]


class Trust:
    """The module's server-mode hub, its people and their own tokens (as /hub/token makes them)."""

    def __init__(self, hub: RunningHub, base: Path):
        self.hub, self.base = hub, base
        self.cfg = hub.local.cfg
        self.audit_log = Path(self.cfg["state_dir"]) / "logs" / "audit.jsonl"
        self.people: dict = {}

    def token(self, name: str) -> str:
        return self.people[name].token

    def pseudonym(self, name: str) -> str:
        return pseudonymise(name, load_or_create_key(self.cfg["state_dir"]))

    def service_url(self, path: str = "") -> str:
        return f"{self.hub.url}services/data/{path}"

    def change(self, token: str, action: str, user: str, level: str) -> requests.Response:
        """The data service's own door for grants, as any HTTP client would use it."""
        return requests.post(self.service_url("api/access"), json={"action": action, "user": user, "level": level},
                             headers={"Authorization": f"token {token}"}, timeout=30)

    def table(self, token: str, name: str) -> requests.Response:
        return requests.get(self.service_url(f"api/tables/{name}"), headers={"Authorization": f"token {token}"},
                            timeout=60)

    def cli(self, *args, token: str) -> subprocess.CompletedProcess:
        """`occidata access ...` as the README says a steward runs it: their own token in OCCIDATA_TOKEN."""
        env = {**os.environ, "OCCIDATA_TOKEN": token, "OCCIDATA_DATA_SERVICE_URL": self.service_url()}
        env.pop("JUPYTERHUB_API_TOKEN", None)
        return subprocess.run([str(Path(sys.executable).parent / "occidata"), "access", *args],
                              env=env, capture_output=True, text=True, timeout=60)

    def sign_up(self, names, note: str) -> None:
        """Each of ``names`` signs up with :data:`PASSWORD`, the admin approves them, they log in and
        make their own token (as the hub's /hub/token page does: no scopes, their own rights)."""
        admin = self.hub.session()
        assert admin.login(self.hub.admin_name, self.hub.admin_password)
        for name in names:
            person = self.hub.session()
            assert person.signup(name, PASSWORD).status_code == 200
            assert admin.toggle_approval(name).status_code == 200
            assert person.login(name, PASSWORD)
            person.request_token(note=note)
            self.people[name] = person
        self.admin = admin

    def events(self, event: str, who: str) -> list[dict]:
        return [r for r in read_audit(self.audit_log) if r["event"] == event and r["who"] == self.pseudonym(who)]


@pytest.fixture(scope="module")
def trust(tiny_data_dir):
    with server_mode_hub(tiny_data_dir, "rights", DATA_SERVICE__STEWARDS=f'["{STEWARD}", "{SECOND}"]') as made:
        trust = Trust(made.hub, made.base)
        trust.sign_up((RESEARCHER, STEWARD, SECOND), note="rights test")
        trust.people[trust.hub.admin_name] = trust.admin
        trust.admin.request_token(note="rights test")
        yield trust


@pytest.fixture(scope="module")
def researcher_kernel(trust):
    person = trust.people[RESEARCHER]
    assert person.start_server(timeout=180)["ready"]
    try:
        yield person.start_kernel()["id"]
    finally:
        person.stop_server()


def load_in_lab(trust: Trust, kernel: str, name: str) -> str:
    return trust.people[RESEARCHER].execute(
        kernel, "from occidata import catalog\n"
                f"try:\n    print(len(catalog.load({name!r})))\n"
                "except PermissionError as e:\n    print('refused:', e)", timeout=120).strip()


def test_own_tokens_carry_the_grant_scope_lab_tokens_and_browser_sessions_do_not(trust):
    """Where GRANT_SCOPE is and is not, as the data service sees it (``may_grant``)."""
    steward = trust.people[STEWARD]
    whoami = steward.api("GET", "user").json()
    assert GRANT_SCOPE in whoami["scopes"], "a steward's token from the token page inherits the steward role"
    index = requests.get(trust.service_url(), headers={"Authorization": f"token {steward.token}"}, timeout=30)
    assert index.json()["may_grant"] is True
    researcher = requests.get(trust.service_url(), headers={"Authorization": f"token {trust.token(RESEARCHER)}"},
                              timeout=30)
    assert researcher.json()["may_grant"] is False
    # The steward's browser session, through the hub's OAuth (the login cookie, no token).
    browser = trust.hub.session()
    assert browser.login(STEWARD, PASSWORD)
    page = browser.http.get(trust.service_url(), timeout=30)
    assert page.status_code == 200 and page.json()["user"] == STEWARD, page.text[:300]
    assert page.json()["may_grant"] is False, "a browser session of the data service must not grant"


def test_a_steward_cannot_grant_themselves(trust):
    before = len(trust.events("grant", STEWARD))
    answer = trust.change(trust.token(STEWARD), "grant", STEWARD, "partner")
    assert answer.status_code == 403, answer.text
    assert "Nobody grants a right to themselves" in answer.json()["error"]
    assert "Personne ne s'accorde un droit à soi-même" in answer.json()["error"]
    cli = trust.cli("grant", STEWARD, "partner", token=trust.token(STEWARD))
    assert cli.returncode == 1 and "Nobody grants a right to themselves" in cli.stderr, cli.stderr
    assert trust.table(trust.token(STEWARD), "agri_sensors").status_code == 403
    assert len(trust.events("grant", STEWARD)) == before


def test_an_admin_cannot_grant_themselves_restricted(trust):
    admin = trust.hub.admin_name
    for level in (RESTRICTED, "partner"):
        answer = trust.change(trust.token(admin), "grant", admin, level)
        assert answer.status_code == 403 and "themselves" in answer.json()["error"], answer.text
    assert trust.events("grant_requested", admin) == [] and trust.events("grant", admin) == []


def test_restricted_needs_a_second_steward(trust, researcher_kernel):
    assert load_in_lab(trust, researcher_kernel, "health_admissions").startswith("refused:")
    first = trust.cli("grant", RESEARCHER, RESTRICTED, token=trust.token(STEWARD))
    assert first.returncode == 0, first.stderr
    assert "second" in first.stdout and "not granted yet" in first.stdout, first.stdout
    refused = load_in_lab(trust, researcher_kernel, "health_admissions")
    assert refused.startswith("refused:") and RESTRICTED in refused, "one steward is not enough"
    # What the researcher reads in the lab: French, the level, every steward who may grant it, the page.
    assert refused.startswith(f"refused: Accès refusé à « health_admissions » : cette entrée demande le niveau "
                              f"d'accès « {RESTRICTED} »"), refused
    assert f"les intendants des données de la plateforme ({STEWARD}, {SECOND}, {trust.hub.admin_name}) y répondent." \
        in refused
    assert refused.endswith(f"Fiche de l'entrée : {trust.hub.url}services/catalogue/health_admissions"), refused
    listing = trust.cli("list", token=trust.token(SECOND))
    assert listing.returncode == 0, listing.stderr
    assert f"{RESTRICTED} for {RESEARCHER}, requested by {STEWARD}" in listing.stdout, listing.stdout
    again = trust.cli("grant", RESEARCHER, RESTRICTED, token=trust.token(STEWARD))
    assert again.returncode == 1 and "second" in again.stderr
    requested = trust.events("grant_requested", RESEARCHER)
    assert requested and requested[-1]["by"] == trust.pseudonym(STEWARD) and requested[-1]["what"] == RESTRICTED

    second = trust.cli("grant", RESEARCHER, RESTRICTED, token=trust.token(SECOND))
    assert second.returncode == 0 and "granted to" in second.stdout, second.stderr
    try:
        assert int(load_in_lab(trust, researcher_kernel, "health_admissions")) > 0
        granted = trust.events("grant", RESEARCHER)[-1]
        assert (granted["what"], granted["by"], granted["second_by"]) == (
            RESTRICTED, trust.pseudonym(STEWARD), trust.pseudonym(SECOND))
        assert verify_audit(trust.audit_log) == []
    finally:
        assert trust.cli("revoke", RESEARCHER, RESTRICTED, token=trust.token(SECOND)).returncode == 0
    assert load_in_lab(trust, researcher_kernel, "health_admissions").startswith("refused:")


def test_a_grant_with_a_lab_servers_token_is_refused(trust):
    """Code in a steward's notebook runs `occidata access grant` with what the lab has: its
    server's $JUPYTERHUB_API_TOKEN. The data service refuses it; the CLI says what to do."""
    steward = trust.people[STEWARD]
    assert steward.start_server(timeout=180)["ready"]
    try:
        kernel = steward.start_kernel()["id"]
        out = steward.execute(kernel, (
            "import os, subprocess, sys\n"
            "os.environ.pop('OCCIDATA_TOKEN', None)\n"
            "r = subprocess.run([sys.executable, '-m', 'occidata.cli', 'access', 'grant', %r, 'partner'],"
            " capture_output=True, text=True)\n"
            "print(r.returncode)\nprint(bool(os.environ.get('JUPYTERHUB_API_TOKEN')))\nprint(r.stderr)") % RESEARCHER,
            timeout=120)
    finally:
        steward.stop_server()
    code, had_token, stderr = out.split("\n", 2)
    assert had_token == "True" and code == "1", out
    assert "--token" in stderr and "/hub/token" in stderr and GRANT_SCOPE in stderr, stderr
    assert "le jeton de votre serveur de lab" in stderr, stderr
    assert trust.table(trust.token(RESEARCHER), "agri_sensors").status_code == 403
    assert not [r for r in trust.events("grant", RESEARCHER) if r["what"] == "partner"]


def test_an_admin_adding_themselves_to_partner_through_the_hub_api_is_still_refused(trust):
    admin = trust.people[trust.hub.admin_name]
    added = admin.api("POST", "groups/partner/users", json={"users": [admin.username]})
    assert added.status_code == 200, added.text  # the hub lets an admin do it
    try:
        answer = trust.table(admin.token, "agri_sensors")
        assert answer.status_code == 403, answer.text[:300]
        assert "mais cette appartenance n'a pas été accordée par la fiducie de données" in answer.json()["error"]
        denied = trust.events("access_denied", admin.username)[-1]
        assert denied["what"] == "agri_sensors" and "not granted through the data trust" in denied["reason"]
    finally:
        admin.api("DELETE", "groups/partner/users", json={"users": [admin.username]})
