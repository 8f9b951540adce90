"""Access requests as records: what a request must say, who may decide, when a right ends.

Pure logic on real files (the requests and grants records in a temporary state folder); the same
rules through the real hub, the data service and a browser are in test_access_requests_flow.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from occidata.catalog.access_requests import RequestError, RequestStore, check_request, parse_end, requests_path
from occidata.catalog.grants import GrantStore, ending_soon, expired, grants_path
from occidata.catalog.remote import end_notice
from occidata.config import load_config
from occidata.levels import max_request_days

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=timezone.utc)


def test_a_day_typed_in_the_form_lasts_to_its_end_in_the_region():
    assert parse_end("2026-12-31", NOW) == datetime(2026, 12, 31, 23, 0, tzinfo=timezone.utc)  # 1 Jan 00:00 Paris
    assert parse_end("2027-01-01T12:00:00+01:00", NOW) == datetime(2027, 1, 1, 11, 0, tzinfo=timezone.utc)
    for bad, says in (("", "Indiquez la date de fin"), ("31/12/2026", "Date de fin illisible"),
                      ("2027-01-01T12:00:00", "sans fuseau")):
        with pytest.raises(RequestError, match=says) as caught:
            parse_end(bad, NOW)
        assert caught.value.field == "end"


def test_the_maximum_duration_comes_from_the_configuration_per_level(tmp_path):
    cfg = load_config({"OCCIDATA_STATE_DIR": str(tmp_path), "OCCIDATA_DATA_SERVICE__MAX_DAYS_RESTRICTED": "30"})
    assert max_request_days("partner", cfg) == 365
    assert max_request_days("restricted:health_admissions", cfg) == 30
    with pytest.raises(ValueError, match="no request is needed for level 'public'"):
        max_request_days("public", cfg)


@pytest.mark.parametrize(("purpose", "project", "end_days", "field", "says"), [
    ("", "Canicule", 30, "purpose", "finalité"),
    ("   ", "Canicule", 30, "purpose", "finalité"),
    ("Étude des îlots de chaleur", "", 30, "project", "projet"),
    ("Étude des îlots de chaleur", "Canicule", -1, "end", "déjà passée"),
    ("Étude des îlots de chaleur", "Canicule", 92, "end", "90 jours au plus"),
])
def test_a_request_without_purpose_project_or_with_a_bad_end_is_refused_naming_the_field(purpose, project, end_days,
                                                                                         field, says):
    with pytest.raises(RequestError, match=says) as caught:
        check_request("restricted:health_admissions", purpose, project, NOW + timedelta(days=end_days), 90, NOW)
    assert caught.value.field == field


def test_the_last_allowed_day_is_accepted():
    last = parse_end((NOW + timedelta(days=90)).date().isoformat(), NOW)
    assert check_request("restricted:health_admissions", "Étude", "Canicule", last, 90, NOW)[0] == \
        "restricted:health_admissions"


def request_store(tmp_path) -> RequestStore:
    return RequestStore(requests_path(tmp_path))


def test_restricted_needs_two_different_stewards_and_nobody_decides_their_own(tmp_path):
    store = request_store(tmp_path)
    made = store.create("marie", "restricted:health_admissions", "health_admissions", "Étude", "Canicule",
                        NOW + timedelta(days=30), NOW)
    with pytest.raises(RequestError, match="Personne ne décide de sa propre demande"):
        store.approve(made["id"], "marie", NOW)
    first = store.approve(made["id"], "alice", NOW)
    assert first["state"] == "pending" and [a["by"] for a in first["approvals"]] == ["alice"]
    with pytest.raises(RequestError, match="déjà approuvé"):
        store.approve(made["id"], "alice", NOW)
    second = store.approve(made["id"], "bob", NOW)
    assert second["state"] == "approved"
    with pytest.raises(RequestError, match="n'attend plus de décision"):
        store.refuse(made["id"], "carla", "trop tard", NOW)
    assert (tmp_path / "grants" / "requests.json").stat().st_mode & 0o777 == 0o600


def test_partner_needs_one_steward_a_refusal_needs_a_reason_and_one_open_request_per_level(tmp_path):
    store = request_store(tmp_path)
    made = store.create("marie", "partner", "agri_sensors", "Étude", "Vignes", NOW + timedelta(days=30), NOW)
    with pytest.raises(RequestError, match="déjà une demande en attente"):
        store.create("marie", "partner", None, "Autre", "Vignes", NOW + timedelta(days=10), NOW)
    with pytest.raises(RequestError, match="Donnez la raison du refus") as caught:
        store.refuse(made["id"], "alice", "  ", NOW)
    assert caught.value.field == "reason"
    refused = store.refuse(made["id"], "alice", "Finalité trop vague", NOW)
    assert refused["state"] == "refused" and refused["decision"]["reason"] == "Finalité trop vague"
    again = store.create("marie", "partner", "agri_sensors", "Étude précise", "Vignes", NOW + timedelta(days=30), NOW)
    assert store.approve(again["id"], "alice", NOW)["state"] == "approved"
    assert [r["id"] for r in store.of_user("marie")] == [again["id"], made["id"]]


def test_a_grant_past_its_end_is_not_honoured_and_is_listed_for_revocation(tmp_path):
    grants = GrantStore(grants_path(tmp_path))
    grants.grant("marie", "partner", by=["alice"], until=NOW + timedelta(days=3))
    grants.grant("paul", "partner", by=["alice"])  # by hand, before requests: no end
    assert grants.has("marie", "partner", now=NOW) and grants.has("paul", "partner", now=NOW)
    later = NOW + timedelta(days=3, seconds=1)
    assert not grants.has("marie", "partner", now=later) and grants.has("paul", "partner", now=later)
    assert [(level, user) for level, user, _ in expired(grants.granted(), later)] == [("partner", "marie")]
    soon = ending_soon(grants.granted(), 14, NOW)
    assert [(level, user) for level, user, _ in soon] == [("partner", "marie")]
    grants.mark_notified("marie", "partner")
    assert ending_soon(grants.granted(), 14, NOW) == []  # told once


def test_a_read_tells_the_reader_when_their_right_ends_soon():
    headers = {"X-Occidata-Access-Until": (NOW + timedelta(days=5)).isoformat(), "X-Occidata-Access-Notice-Days": "14"}
    notice = end_notice(headers, now=NOW)
    assert notice.startswith("Votre accès à ces données prend fin le 11/12/2026 à 11:00 (heure de Paris), dans 5 jour")
    assert end_notice({**headers, "X-Occidata-Access-Notice-Days": "3"}, now=NOW) is None
    assert end_notice({}, now=NOW) is None
