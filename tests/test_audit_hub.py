"""What the hub itself records in the audit log: group, role and admin changes through its REST API
(the admin page uses the same API with the admin's cookie), failed logins and lockouts through the
real login form. One live hub for the session (conftest's ``hub``)."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from traitlets.config import Config

from occidata.config import ConfigError, load_config
from occidata.hub.auth import update_auth
from occidata.privacy.audit import read_audit, verify_audit
from occidata.privacy.pseudonyms import load_or_create_key, pseudonymise

PASSWORD = "causse-garrigue-2026"


def audit_log(hub) -> Path:
    return hub.local.state.logs / "audit.jsonl"


def pseudonym(hub, name: str) -> str:
    return pseudonymise(name, load_or_create_key(hub.local.state.root))


def last_seq(hub) -> int:
    records = read_audit(audit_log(hub))
    return records[-1]["seq"] if records else 0


def records_after(hub, seq: int, event: str | None = None) -> list[dict]:
    return [r for r in read_audit(audit_log(hub)) if r["seq"] > seq and (event is None or r["event"] == event)]


def new_user(hub) -> str:
    name = f"audite-{secrets.token_hex(3)}"
    assert hub.service().api("POST", f"users/{name}").status_code == 201
    return name


@pytest.fixture(scope="module")
def admin(hub):
    """The first admin, logged in through the form and holding a token of their own."""
    session = hub.session()
    assert session.login(hub.admin_name, hub.admin_password)
    session.request_token(note="audit hub test")
    return session


def test_lockout_settings_come_from_the_configuration(tmp_path):
    environ = {"OCCIDATA_STATE_DIR": str(tmp_path)}
    c = Config()
    update_auth(c, load_config(environ))
    assert (c.NativeAuthenticator.allowed_failed_logins, c.NativeAuthenticator.seconds_before_next_try) == (5, 600)
    assert c.OccidataNativeAuthenticator.audit_log == str(tmp_path / "logs" / "audit.jsonl")
    c = Config()
    update_auth(c, load_config({**environ, "OCCIDATA_AUTH__ALLOWED_FAILED_LOGINS": "3",
                                "OCCIDATA_AUTH__SECONDS_BEFORE_NEXT_TRY": "120"}))
    assert (c.NativeAuthenticator.allowed_failed_logins, c.NativeAuthenticator.seconds_before_next_try) == (3, 120)
    with pytest.raises(ConfigError, match="auth.seconds_before_next_try"):
        load_config({**environ, "OCCIDATA_AUTH__SECONDS_BEFORE_NEXT_TRY": "86400"})


@pytest.mark.hub
def test_group_changes_through_the_rest_api_are_audited_with_who_made_them(hub, admin):
    name = new_user(hub)
    before = last_seq(hub)
    response = admin.api("POST", "groups/partner/users", json={"users": [name]})
    assert response.status_code == 200, response.text
    added = records_after(hub, before, "group_change")
    assert [(r["who"], r["group"], r["action"], r["via"], r["by"]) for r in added] == [
        (pseudonym(hub, name), "partner", "add", "hub", pseudonym(hub, hub.admin_name))]

    # As the admin page does it: the admin's cookie and its xsrf header, no token.
    page = hub.session()
    assert page.login(hub.admin_name, hub.admin_password)
    before = last_seq(hub)
    response = page.api("DELETE", "groups/partner/users", json={"users": [name]})
    assert response.status_code == 200, response.text
    removed = records_after(hub, before, "group_change")
    assert [(r["who"], r["group"], r["action"], r["by"]) for r in removed] == [
        (pseudonym(hub, name), "partner", "remove", pseudonym(hub, hub.admin_name))]
    assert name not in audit_log(hub).read_text()
    assert verify_audit(audit_log(hub)) == []


@pytest.mark.hub
def test_a_group_change_by_a_service_names_the_service(hub):
    name = new_user(hub)
    before = last_seq(hub)
    assert hub.service().api("POST", "groups/partner/users", json={"users": [name]}).status_code == 200
    try:
        [record] = records_after(hub, before, "group_change")
        assert (record["who"], record["action"], record["by_service"]) == (pseudonym(hub, name), "add", "test-admin")
        assert "by" not in record
    finally:
        hub.service().api("DELETE", "groups/partner/users", json={"users": [name]})


@pytest.mark.hub
def test_deleting_a_user_records_the_memberships_it_ends(hub, admin):
    name = new_user(hub)
    assert admin.api("POST", "groups/partner/users", json={"users": [name]}).status_code == 200
    before = last_seq(hub)
    assert admin.api("DELETE", f"users/{name}").status_code == 204
    ended = [(r["event"], r.get("group") or r.get("role"), r["action"], r["reason"], r["by"])
             for r in records_after(hub, before) if r["who"] == pseudonym(hub, name)]
    by = pseudonym(hub, hub.admin_name)
    assert ("group_change", "partner", "remove", "user deleted", by) in ended
    assert ("role_change", "user", "remove", "user deleted", by) in ended
    assert len(ended) == len(set(ended))  # each once


@pytest.mark.hub
def test_admin_and_role_changes_through_the_rest_api_are_audited(hub, admin):
    name = new_user(hub)
    before = last_seq(hub)
    response = admin.api("PATCH", f"users/{name}", json={"admin": True})
    assert response.status_code == 200, response.text
    try:
        changes = [(r["event"], r.get("role"), r["action"], r["by"]) for r in records_after(hub, before)
                   if r["who"] == pseudonym(hub, name)]
        by = pseudonym(hub, hub.admin_name)
        assert ("admin_change", None, "add", by) in changes
        assert ("role_change", "admin", "add", by) in changes
    finally:
        before = last_seq(hub)
        assert admin.api("PATCH", f"users/{name}", json={"admin": False}).status_code == 200
    removed = {(r["event"], r.get("role"), r["action"]) for r in records_after(hub, before)}
    assert {("admin_change", None, "remove"), ("role_change", "admin", "remove")} <= removed


@pytest.mark.hub
def test_failed_logins_through_the_login_form_are_audited(hub):
    before = last_seq(hub)
    stranger = f"inconnu-{secrets.token_hex(3)}"
    assert not hub.session().login(stranger, "pas-le-bon-mot-de-passe")
    [record] = records_after(hub, before, "login_failed")
    assert (record["who"], record["reason"], record["how"]) == (
        pseudonym(hub, stranger), "refused", "OccidataNativeAuthenticator")
    assert stranger not in audit_log(hub).read_text()


@pytest.mark.hub
def test_enough_failures_lock_the_account_and_the_lockout_is_audited(hub):
    name = f"verrou-{secrets.token_hex(3)}"
    person = hub.session()
    assert person.signup(name, PASSWORD).status_code == 200
    admin = hub.session()
    assert admin.login(hub.admin_name, hub.admin_password)
    assert admin.toggle_approval(name).status_code == 200
    allowed = hub.local.cfg["auth"]["allowed_failed_logins"]
    assert allowed == 5
    before = last_seq(hub)
    for _ in range(allowed):
        assert not hub.session().login(name, "mauvais-mot-de-passe")
    assert not hub.session().login(name, PASSWORD)  # locked: even the right password is refused
    me = pseudonym(hub, name)
    events = [(r["event"], r.get("reason")) for r in records_after(hub, before) if r["who"] == me]
    assert events == [("login_failed", "refused")] * allowed + [("login_locked", None), ("login_failed", "locked")]
    [locked] = records_after(hub, before, "login_locked")
    assert (locked["attempts"], locked["seconds"]) == (5, 600)
    assert verify_audit(audit_log(hub)) == []
