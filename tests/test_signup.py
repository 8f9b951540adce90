"""Signup and approval that let an admin decide (issue 15), on a real hub.

The form asks who one is (e-mail, affiliation) and says the password rule before refusing it; a
refused form comes back as typed with the reason in French; the approval page shows who asked,
from where, when, and who approved; an admin cannot withdraw their own approval; an admin who
logs in lands on the hub's home, a researcher in their lab.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from html import unescape
from html.parser import HTMLParser

import pytest

from occidata.hub import account_requests

PASSWORD = "garrigue-et-etangs-2026"


class _Form(HTMLParser):
    """The values of a page's text inputs by name, and the text of one table row by id."""

    def __init__(self, row_id: str = ""):
        super().__init__()
        self.values: dict[str, str] = {}
        self.row_id, self.in_row, self.row_text, self.times = row_id, 0, [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("name"):
            self.values[attrs["name"]] = attrs.get("value") or ""
        if tag == "tr" and self.row_id and attrs.get("id") == self.row_id:
            self.in_row = 1
        elif tag == "tr" and self.in_row:
            self.in_row += 1
        if tag == "time" and self.in_row:
            self.times.append(attrs["datetime"])

    def handle_endtag(self, tag):
        if tag == "tr" and self.in_row:
            self.in_row -= 1

    def handle_data(self, data):
        if self.in_row:
            self.row_text.append(data)


def parse(html: str, row_id: str = "") -> _Form:
    form = _Form(row_id)
    form.feed(html)
    return form


def row_text(form: _Form) -> str:
    return " ".join(" ".join(form.row_text).split())


@pytest.mark.hub
def test_a_signup_shows_who_asked_from_where_and_when_then_who_approved(hub):
    before = datetime.now(timezone.utc).replace(microsecond=0)
    form = hub.session().http.get(hub.url + "hub/signup", timeout=30).text
    assert 'name="email"' in form and 'name="affiliation"' in form
    assert "au moins 10 caractères" in form, "the password rule is said before it is enforced"

    answer = hub.session().signup("hydrologue", PASSWORD, email="marie.curie@univ-montp2.fr",
                                  affiliation="HydroSciences Montpellier")
    assert "un administrateur doit valider votre compte" in answer.text
    admin = hub.session()
    assert admin.login(hub.admin_name, hub.admin_password)
    page = parse(admin.http.get(admin.url("hub/authorize"), timeout=30).text, "hydrologue")
    text = row_text(page)
    assert "marie.curie@univ-montp2.fr" in text and "HydroSciences Montpellier" in text, text
    asked = datetime.fromisoformat(page.times[0])
    assert before <= asked <= datetime.now(timezone.utc), (before, asked)
    assert "Valider" in text

    approved = admin.toggle_approval("hydrologue")
    assert approved.status_code == 200
    page = parse(approved.text, "hydrologue")
    assert f"validé par {hub.admin_name} le" in row_text(page), row_text(page)
    assert asked <= datetime.fromisoformat(page.times[1]) <= datetime.now(timezone.utc)
    assert hub.session().login("hydrologue", PASSWORD)


@pytest.mark.hub
@pytest.mark.parametrize("change, reason", [
    ({"password": "k8#zq"}, "Mot de passe trop court : il faut au moins 10 caractères"),
    ({"password": "password123"}, "mots de passe les plus courants"),
    ({"confirmation": "autre-chose-2026"}, "Les deux mots de passe ne correspondent pas"),
    ({"email": "pas-une-adresse"}, "Le courriel « pas-une-adresse » n'est pas une adresse valide"),
    ({"affiliation": "  "}, "Indiquez votre établissement ou laboratoire"),
    ({"username": "deja pris"}, "ne doit contenir ni espace, ni virgule, ni barre oblique"),
])
def test_a_refused_signup_keeps_what_was_typed_and_says_why_in_french(hub, change, reason):
    typed = {"username": "agronome", "email": "agro@inrae.fr", "affiliation": "UMR LISAH, INRAE",
             "password": PASSWORD, "confirmation": None, **change}
    page = hub.session().signup(typed["username"], typed["password"], email=typed["email"],
                                affiliation=typed["affiliation"], confirmation=typed["confirmation"])
    assert reason in unescape(page.text), page.text[-2000:]
    values = parse(page.text).values
    assert values["username"] == typed["username"]
    assert values["email"] == typed["email"]
    if typed["affiliation"].strip():
        assert values["affiliation"] == typed["affiliation"]
    assert values["signup_password"] == "" and typed["password"] not in page.text, "never the password"
    assert not hub.session().login(typed["username"], typed["password"]), "no account was made"


@pytest.mark.hub
def test_a_taken_username_is_refused_with_the_typed_values_kept(hub):
    assert "Demande transmise" in hub.session().signup("geographe", PASSWORD).text
    page = hub.session().signup("geographe", "autre-mot-de-passe-2026", email="autre@univ-tlse2.fr",
                                affiliation="LISST, Toulouse")
    assert "L'identifiant « geographe » est déjà utilisé" in unescape(page.text)
    values = parse(page.text).values
    assert (values["username"], values["email"], values["affiliation"]) == (
        "geographe", "autre@univ-tlse2.fr", "LISST, Toulouse")


@pytest.mark.hub
def test_an_admin_cannot_withdraw_their_own_approval(hub):
    admin = hub.session()
    assert admin.login(hub.admin_name, hub.admin_password)
    page = admin.http.get(admin.url("hub/authorize"), timeout=30).text
    assert f'id="authorize-{hub.admin_name}"' not in page, "no button to withdraw one's own approval"
    refused = admin.toggle_approval(hub.admin_name)  # the form's POST, with its _xsrf token
    assert refused.status_code == 403
    assert "Vous ne pouvez pas retirer votre propre validation" in refused.text
    assert hub.session().login(hub.admin_name, hub.admin_password), "the admin can still log in"


@pytest.mark.hub
def test_an_admin_lands_on_the_hub_home_and_a_researcher_in_their_lab(hub):
    admin = hub.session()
    xsrf = admin.form_xsrf("hub/login")
    landed = admin.http.post(admin.url("hub/login"), timeout=60,
                             data={"_xsrf": xsrf, "username": hub.admin_name, "password": hub.admin_password})
    assert landed.url == admin.url("hub/home"), landed.url
    assert "Démarrer mon serveur" in landed.text
    assert admin.http.get(admin.url("hub/"), timeout=30).url == admin.url("hub/home")
    admin.username = hub.admin_name
    assert admin.api("GET", f"users/{hub.admin_name}").json()["servers"] == {}, "no lab was started"

    hub.session().signup("climatologue", PASSWORD)
    assert admin.toggle_approval("climatologue").status_code == 200
    person = hub.session()
    xsrf = person.form_xsrf("hub/login")
    landed = person.http.post(person.url("hub/login"), timeout=120,
                              data={"_xsrf": xsrf, "username": "climatologue", "password": PASSWORD})
    server = hub.service()
    server.username = "climatologue"
    try:
        if "/hub/spawn-pending/" in landed.url:  # a slow start: the progress page, then the lab
            deadline = time.monotonic() + 120
            while not (server.api("GET", "users/climatologue").json()["servers"].get("") or {}).get("ready"):
                assert time.monotonic() < deadline, "the researcher's lab did not start"
                time.sleep(0.5)
            landed = person.http.get(landed.url, timeout=60)
        assert landed.url.startswith(person.url("user/climatologue/")), landed.url
    finally:
        server.stop_server()


def test_the_request_store_records_decisions_and_forgets(tmp_path):
    path = tmp_path / "account-requests.json"
    account_requests.record_request(path, "ana", "IRIT, Toulouse")
    account_requests.record_decision(path, "ana", True, by="admin")
    record = account_requests.load(path)["ana"]
    assert (record["affiliation"], record["approved_by"]) == ("IRIT, Toulouse", "admin")
    account_requests.record_decision(path, "ana", False, by="marie")
    record = account_requests.load(path)["ana"]
    assert "approved_by" not in record and record["withdrawn_by"] == "marie"
    assert path.stat().st_mode & 0o777 == 0o600, "it holds personal data"
    account_requests.forget(path, "ana")
    assert account_requests.load(path) == {}
    path.write_text("{pas du json", encoding="utf-8")
    with pytest.raises(ValueError, match="account-requests.json: not valid JSON"):
        account_requests.load(path)
