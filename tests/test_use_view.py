"""A data steward's view of use (occidata.catalog.use, served by the data service at api/use and use).

First the view itself, from a real audit log, a real grants file and a real journal of lab servers
in a temporary state directory; then through a real server-mode hub: a steward gets it with
pseudonyms, names only when asking (and the asking is in the audit log), a researcher gets 403.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests

from occidata.catalog.grants import GrantStore, grants_path
from occidata.catalog.use import (NO_END, UseError, build_view, chart_bars, hours_by_group, months_of,
                                  names_by_pseudonym, names_shown_events, parse_month, render_page, render_text)
from occidata.config import load_config
from occidata.datasets import get_dataset, names
from occidata.hub.usage_records import append_usage_entry
from occidata.privacy.audit import query_audit, read_audit, record_event, verify_audit
from occidata.privacy.pseudonyms import load_or_create_key, pseudonymise
from occidata.state import StatePaths
from occidata.usage import ZONE, usage_report

MARIE, PAUL, GONE, STEWARD = "marie", "paul", "ancienne", "alice"
ENTRIES = {name: get_dataset(name).METADATA for name in names()}
PARTNER_DATASETS = sorted(name for name, meta in ENTRIES.items() if meta["access"] == "partner")
UTC = timezone.utc


@pytest.fixture
def trust_dir(tmp_path):
    """A state directory with grants, an audit log and the hub's journal of servers."""
    state = tmp_path / "state"
    store = GrantStore(grants_path(state))
    store.ensure()
    store.grant(MARIE, "partner", by=[STEWARD], until=datetime(2026, 6, 30, tzinfo=UTC))
    store.grant(PAUL, "restricted:health_admissions", by=[STEWARD, "bruno"])
    log = StatePaths(state).logs / "audit.jsonl"
    for when, event, who, what in [
        (datetime(2026, 1, 31, 23, 30, tzinfo=UTC), "read", MARIE, "agri_sensors"),  # 1 February in Paris
        (datetime(2026, 2, 10, 9, 0, tzinfo=UTC), "read", MARIE, "agri_sensors"),
        (datetime(2026, 2, 11, 9, 0, tzinfo=UTC), "read", PAUL, "health_admissions"),
        (datetime(2026, 2, 12, 9, 0, tzinfo=UTC), "access_denied", PAUL, "agri_sensors"),
        (datetime(2026, 3, 2, 9, 0, tzinfo=UTC), "read", GONE, "agri_sensors"),
        (datetime(2025, 12, 15, 9, 0, tzinfo=UTC), "read", MARIE, "building_meters"),  # before the period
    ]:
        record_event(log, event, who=who, what=what, access=ENTRIES[what]["access"], now=when)
    journal = StatePaths(state).usage_log
    for user, start, stop, gpus in [(MARIE, "2026-02-03T08:00", "2026-02-03T10:00", 1),
                                    (PAUL, "2026-02-04T08:00", "2026-02-04T11:00", 0)]:
        for event, moment in (("start", start), ("stop", stop)):
            append_usage_entry(journal, {"event": event, "time": f"{moment}:00+00:00", "user": user, "server": "",
                                         "profile": "gpu" if gpus else "cpu", "cores": 4, "gpus": gpus, "job_id": ""})
    return state


def view_of(state: Path, months: list[str], names_wanted: bool = False) -> dict:
    cfg = load_config({"OCCIDATA_STATE_DIR": str(state), "OCCIDATA_DATA_DIR": str(state.parent / "data")})
    groups = {MARIE: ["labo-eau", "partner"], PAUL: ["labo-eau"]}
    report = usage_report(cfg, parse_month(months[0], "month_from"), datetime(2026, 3, 31).date(), groups=groups,
                          now=datetime(2026, 4, 1, tzinfo=UTC))
    key = load_or_create_key(state)
    return build_view(entries=ENTRIES, granted=GrantStore(grants_path(state)).granted(),
                      records=read_audit(StatePaths(state).logs / "audit.jsonl"), months=months,
                      hours=hours_by_group(report), names=names_by_pseudonym([MARIE, PAUL, STEWARD], key)
                      if names_wanted else None, now=datetime(2026, 4, 1, tzinfo=UTC))


def test_who_holds_which_level_until_when_per_dataset(trust_dir):
    view = view_of(trust_dir, months_of(parse_month("2026-01", "month_from"), parse_month("2026-03", "month_to")))
    held = {(row["dataset"], row["user"]): row for row in view["holdings"]}
    # partner opens every partner dataset: marie holds each of them, until the end of her grant
    assert {d for d, u in held if u == MARIE} == set(PARTNER_DATASETS)
    assert held[("agri_sensors", MARIE)]["until"] == "2026-06-30T00:00:00+00:00"
    assert held[("agri_sensors", MARIE)]["by"] == [STEWARD] and not held[("agri_sensors", MARIE)]["ended"]
    assert held[("health_admissions", PAUL)]["level"] == "restricted:health_admissions"
    assert held[("health_admissions", PAUL)]["until"] is None and held[("health_admissions", PAUL)]["by"] == [
        STEWARD, "bruno"]
    assert not any(ENTRIES[d]["access"] == "public" for d, _ in held)
    text = render_text(view)
    assert "Qui détient quel niveau" in text
    paul_line = next(line for line in text.splitlines() if line.startswith("health_admissions") and PAUL in line)
    assert paul_line.endswith(NO_END), paul_line
    assert "2026-06-30 00:00 UTC" in text
    # past its end, a grant shows as ended (the platform revokes it on its next round)
    later = build_view(entries=ENTRIES, granted=GrantStore(grants_path(trust_dir)).granted(), records=[],
                       months=["2026-07"], hours=view["hours"], now=datetime(2026, 7, 2, tzinfo=UTC))
    assert all(row["ended"] for row in later["holdings"] if row["user"] == MARIE)
    assert "(échue)" in render_text(later)


def test_reads_per_paris_month_per_dataset_with_readers_as_pseudonyms(trust_dir):
    view = view_of(trust_dir, months_of(parse_month("2026-01", "month_from"), parse_month("2026-03", "month_to")))
    reads = view["reads"]
    by_dataset = {d["dataset"]: d for d in reads["datasets"]}
    # 23:30 UTC on 31 January is 1 February in Paris; the denial is no read; December is outside
    assert by_dataset["agri_sensors"]["by_month"] == {"2026-01": 0, "2026-02": 2, "2026-03": 1}
    assert by_dataset["health_admissions"]["by_month"] == {"2026-01": 0, "2026-02": 1, "2026-03": 0}
    assert "building_meters" not in by_dataset
    assert reads["by_month"] == {"2026-01": 0, "2026-02": 3, "2026-03": 1} and reads["total"] == 4
    key = load_or_create_key(trust_dir)
    readers = {(r["dataset"], r["month"], r["pseudonym"]): r["reads"] for r in reads["readers"]}
    assert readers[("agri_sensors", "2026-02", pseudonymise(MARIE, key))] == 2
    assert view["names_shown"] is False and all("name" not in r for r in reads["readers"])
    document = json.dumps(view["reads"])
    assert MARIE not in document and PAUL not in document, "no clear name unless the steward asks"
    assert names_shown_events(view) == []
    # the bar chart shows the table's own values
    assert [(bar["month"], bar["value"]) for bar in chart_bars(reads["by_month"])] == list(reads["by_month"].items())
    page = render_page(view, lab_name="Lab", action="/services/data/use", user=STEWARD)
    assert "Lectures par mois" in page and "<script" not in page.lower() and "width:100.0%" in page
    assert pseudonymise(MARIE, key) in page


def test_names_come_back_through_the_audit_key_and_their_showing_is_audited(trust_dir):
    view = view_of(trust_dir, months_of(parse_month("2026-02", "month_from"), parse_month("2026-03", "month_to")),
                   names_wanted=True)
    key = load_or_create_key(trust_dir)
    named = {(r["dataset"], r["month"]): r["name"] for r in view["reads"]["readers"]}
    assert named[("agri_sensors", "2026-02")] == MARIE and named[("health_admissions", "2026-02")] == PAUL
    # an account the hub no longer has stays a pseudonym
    assert named[("agri_sensors", "2026-03")] is None
    assert f"{pseudonymise(GONE, key)} (inconnu du hub)" in render_text(view)
    events = names_shown_events(view)
    assert events == [
        {"what": "agri_sensors", "shown": sorted([pseudonymise(MARIE, key)]), "month_from": "2026-02",
         "month_to": "2026-03"},
        {"what": "health_admissions", "shown": [pseudonymise(PAUL, key)], "month_from": "2026-02",
         "month_to": "2026-03"}]
    log = StatePaths(trust_dir).logs / "audit.jsonl"
    for fields in events:
        record_event(log, "names_shown", who=STEWARD, **fields)
    asked = query_audit(log, event="names_shown", user=STEWARD)
    assert [r["what"] for r in asked] == ["agri_sensors", "health_admissions"]
    assert STEWARD not in json.dumps(asked) and MARIE not in json.dumps(asked)
    assert verify_audit(log) == []


def test_server_and_gpu_hours_per_hub_group(trust_dir):
    view = view_of(trust_dir, months_of(parse_month("2026-01", "month_from"), parse_month("2026-03", "month_to")))
    hours = view["hours"]
    groups = {g["group"]: g for g in hours["groups"]}
    assert (groups["labo-eau"]["hours"], groups["labo-eau"]["gpu_hours"], groups["labo-eau"]["members"]) == (5, 2, 2)
    assert (groups["partner"]["hours"], groups["partner"]["gpu_hours"], groups["partner"]["count"]) == (2, 2, 1)
    assert (hours["total"]["hours"], hours["total"]["gpu_hours"]) == (5, 2), "a record counts once in the total"
    text = render_text(view)
    assert "Heures de serveur et de GPU par groupe" in text
    assert any(line.split()[:4] == ["labo-eau", "2", "5.00", "2.00"] for line in text.splitlines()), text


def test_months_are_checked_and_named():
    assert months_of(None, None, today=datetime(2026, 3, 15).date())[::11] == ["2025-04", "2026-03"]
    assert months_of(parse_month("2025-11", "month_from"), None, today=datetime(2026, 1, 5).date()) == [
        "2025-11", "2025-12", "2026-01"]
    for text, parameter in (("2026-13", "month_from"), ("mars", "month_to"), ("2026-1", "month_from")):
        with pytest.raises(UseError) as error:
            parse_month(text, parameter)
        assert error.value.parameter == parameter and f"« {text} » n'est pas un mois AAAA-MM" in str(error.value)
    with pytest.raises(UseError) as error:
        months_of(parse_month("2026-03", "month_from"), parse_month("2026-01", "month_to"))
    assert error.value.parameter == "month_to"


# --- through a real server-mode hub ------------------------------------------------------------


@pytest.fixture(scope="module")
def trust(tiny_data_dir):
    from conftest import require_root, server_mode_hub
    from test_rights import PASSWORD, RESEARCHER, STEWARD as HUB_STEWARD, Trust

    require_root("the steward's view through a server-mode hub")
    with server_mode_hub(tiny_data_dir, "use", DATA_SERVICE__STEWARDS=f'["{HUB_STEWARD}"]') as made:
        trust = Trust(made.hub, made.base)
        trust.sign_up((RESEARCHER, HUB_STEWARD), note="use test")
        trust.password = PASSWORD
        yield trust


@pytest.mark.hub
def test_a_steward_sees_use_with_pseudonyms_names_only_when_asked_and_audited(trust):
    from test_rights import RESEARCHER, STEWARD as HUB_STEWARD

    steward, researcher = trust.token(HUB_STEWARD), trust.token(RESEARCHER)
    assert trust.change(steward, "grant", RESEARCHER, "partner").status_code == 200
    assert trust.table(researcher, "agri_sensors").status_code == 200  # one audited read
    # The hub (root) journals lab servers; two hours of a GPU lab of the researcher, this month.
    start = datetime.now(ZONE).replace(day=1, hour=0, minute=0, second=0, microsecond=0)  # within this month
    journal = StatePaths(Path(trust.cfg["state_dir"])).usage_log
    for event, moment in (("start", start), ("stop", start + timedelta(hours=2))):
        append_usage_entry(journal, {"event": event, "time": moment.isoformat(), "user": RESEARCHER, "server": "",
                                     "profile": "gpu", "cores": 2, "gpus": 1, "job_id": ""})

    def use(token: str, **params) -> requests.Response:
        return requests.get(trust.service_url("api/use"), params=params,
                            headers={"Authorization": f"token {token}"}, timeout=60)

    answer = use(steward)
    assert answer.status_code == 200, answer.text[:500]
    view = answer.json()
    held = {(row["dataset"], row["user"]): row for row in view["holdings"]}
    assert held[("agri_sensors", RESEARCHER)]["until"] is None and held[("agri_sensors", RESEARCHER)]["by"] == [
        HUB_STEWARD]
    this_month = view["period"]["month_to"]
    agri = next(d for d in view["reads"]["datasets"] if d["dataset"] == "agri_sensors")
    assert agri["by_month"][this_month] == 1
    assert [r["pseudonym"] for r in view["reads"]["readers"]] == [trust.pseudonym(RESEARCHER)]
    assert RESEARCHER not in json.dumps(view["reads"]), "readers are pseudonyms by default"
    # The data service's account reads the hub's journal (server mode: root's, 0640 to its group).
    assert view["hours"]["error"] is None, view["hours"]
    partner = next(g for g in view["hours"]["groups"] if g["group"] == "partner")
    assert (partner["hours"], partner["gpu_hours"]) == (2, 2)
    assert trust.events("names_shown", HUB_STEWARD) == []

    named = use(steward, names="1", month_from=this_month)
    assert named.status_code == 200, named.text[:500]
    assert [r["name"] for r in named.json()["reads"]["readers"]] == [RESEARCHER]
    shown = trust.events("names_shown", HUB_STEWARD)
    assert [(r["what"], r["shown"], r["month_from"]) for r in shown] == [
        ("agri_sensors", [trust.pseudonym(RESEARCHER)], this_month)]
    assert verify_audit(trust.audit_log) == []

    refused = use(researcher)
    assert refused.status_code == 403 and "only data stewards" in refused.json()["error"]
    assert use(researcher, names="1").status_code == 403
    assert len(trust.events("names_shown", HUB_STEWARD)) == 1 and trust.events("names_shown", RESEARCHER) == []
    bad = use(steward, month_from="2026-13")
    assert bad.status_code == 400 and bad.json()["parameter"] == "month_from"

    # The page, in the steward's browser session (the hub's OAuth): French, no script.
    browser = trust.hub.session()
    assert browser.login(HUB_STEWARD, trust.password)
    page = browser.http.get(trust.service_url("use"), timeout=60)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html"), page.text[:300]
    for heading in ("Qui détient quel niveau", "Lectures par mois", "Heures de serveur et de GPU par groupe"):
        assert heading in page.text
    assert trust.pseudonym(RESEARCHER) in page.text and "<script" not in page.text.lower()
    assert "script-src 'none'" in page.headers["Content-Security-Policy"]
    other = trust.hub.session()
    assert other.login(RESEARCHER, trust.password)
    refused_page = other.http.get(trust.service_url("use"), timeout=60)
    assert refused_page.status_code == 403 and "réservée aux intendants des données" in refused_page.text

    # The command line, with the steward's own token.
    cli = trust.cli("use", "--json", token=steward)
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)["reads"]["total"] == view["reads"]["total"]
    table = trust.cli("use", token=steward)
    assert table.returncode == 0 and "Lectures par mois" in table.stdout and "sans fin" in table.stdout, table.stdout
    assert trust.cli("use", token=researcher).returncode == 1
