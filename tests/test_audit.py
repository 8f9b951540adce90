"""The audit log: hash chain, pseudonyms, concurrent appends, retention, queries and the CLI."""

from __future__ import annotations

import json
import multiprocessing
import os
import stat
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from occidata.cli import main
from occidata.config import ConfigError, load_config
from occidata.privacy.audit import (
    GENESIS,
    AuditError,
    anchor_path,
    check_audit,
    prune_audit,
    query_audit,
    read_anchor,
    read_audit,
    record_event,
    record_hash,
    record_mac,
    record_read,
    verify_audit,
)
from occidata.privacy.audit_keys import key_state_path, root_key_path
from occidata.privacy.pseudonyms import load_or_create_key, pseudonymise

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def state(tmp_path, monkeypatch):
    """An empty state directory that the configuration (and so the CLI) points at."""
    for key in [k for k in os.environ if k.startswith("OCCIDATA_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("OCCIDATA_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


@pytest.fixture
def log(state) -> Path:
    return state / "logs" / "audit.jsonl"


def write_events(log: Path, count: int, start: datetime = NOW, step: timedelta = timedelta(hours=1)) -> None:
    kinds = ["read", "grant", "revoke", "publication", "login", "access_denied"]
    for i in range(count):
        event = kinds[i % len(kinds)]
        fields = {"what": f"dataset_{i % 3}", "access": "partner", "parameters": {"year": 2024, "i": i}}
        if event in ("grant", "revoke"):
            fields = {"group": "partner", "by": "steward"}
        record_event(log, event, who=f"user{i % 4}", now=start + i * step, **fields)


def lines_of(log: Path) -> list[str]:
    return log.read_text(encoding="utf-8").splitlines()


def rewrite(log: Path, lines: list[str]) -> None:
    log.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


# --- the chain ---------------------------------------------------------------------------------


def test_chain_is_intact_after_many_writes(log):
    write_events(log, 120)
    records = read_audit(log)
    assert [r["seq"] for r in records] == list(range(1, 121))
    assert records[0]["prev"] == GENESIS
    for before, record in zip(records, records[1:]):
        assert record["prev"] == before["hash"]
    for record in records:
        assert record["hash"] == record_hash(record)
        assert datetime.fromisoformat(record["when"]).utcoffset() == timedelta(0)
    assert verify_audit(log) == []
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


def test_record_read_keeps_its_signature_and_writes_a_read_event(log, state):
    record = record_read(log, "building_meters", "partner", {"year": 2024}, user="chercheuse")
    assert record == read_audit(log)[-1]
    assert (record["event"], record["what"], record["access"], record["parameters"]) == (
        "read", "building_meters", "partner", {"year": 2024})
    assert record["who"] == pseudonymise("chercheuse", load_or_create_key(state))


def test_people_are_pseudonymised_never_written_in_clear(log, state):
    record_event(log, "grant", who="alice.martin", group="restricted:health_admissions", by="steward.dupont")
    record_event(log, "login", who="alice.martin")
    text = log.read_text(encoding="utf-8")
    assert "alice" not in text and "dupont" not in text
    key = load_or_create_key(state)
    grant, login = read_audit(log)
    assert grant["who"] == login["who"] == pseudonymise("alice.martin", key)
    assert grant["by"] == pseudonymise("steward.dupont", key)
    assert grant["group"] == "restricted:health_admissions"
    assert stat.S_IMODE((state / "secrets" / "pseudonym.key").stat().st_mode) == 0o600


def test_unknown_event_and_reserved_fields_are_refused(log):
    with pytest.raises(ValueError, match="unknown audit event 'download'"):
        record_event(log, "download", who="a")
    with pytest.raises(ValueError, match="seq"):
        record_event(log, "read", who="a", seq=3)
    assert not log.exists() or read_audit(log) == []


def test_an_edited_line_is_found_with_its_number(log):
    write_events(log, 12)
    lines = lines_of(log)
    record = json.loads(lines[6])
    record["what"] = "something_else"
    lines[6] = json.dumps(record)
    rewrite(log, lines)
    assert verify_audit(log) == ["line 7: hash does not match its content (edited?)"]


def test_an_edited_line_with_a_recomputed_hash_breaks_its_mac_and_the_next_link(log):
    write_events(log, 12)
    lines = lines_of(log)
    record = json.loads(lines[6])
    record["who"] = "p-0000000000000000"
    record["hash"] = record_hash(record)
    lines[6] = json.dumps(record)
    rewrite(log, lines)
    assert verify_audit(log) == ["line 7: MAC does not match (rewritten with a fresh hash, or forged without the key)",
                                 "line 8: prev does not match line 7"]


def test_a_deleted_line_is_found_with_its_number(log):
    write_events(log, 14)
    lines = lines_of(log)
    del lines[8]  # the record with seq 9
    rewrite(log, lines)
    assert verify_audit(log) == ["line 9: seq 10 after 8 (line removed?)"]


def test_deleting_the_first_line_is_found(log):
    write_events(log, 5)
    rewrite(log, lines_of(log)[1:])
    problems = verify_audit(log)
    assert len(problems) == 1 and problems[0].startswith("line 1: seq 2, but the chain starts at 1")


def test_reordered_lines_are_found_with_their_numbers(log):
    write_events(log, 10)
    lines = lines_of(log)
    lines[4], lines[5] = lines[5], lines[4]
    rewrite(log, lines)
    problems = verify_audit(log)
    assert problems == [
        "line 5: seq 6 after 4 (lines out of order?)",
        "line 6: seq 5 after 6 (lines out of order?)",
        "line 7: seq 7 after 5 (lines out of order?)",
    ]


def test_a_repeated_line_is_found(log):
    write_events(log, 6)
    lines = lines_of(log)
    rewrite(log, lines[:4] + [lines[3]] + lines[4:])
    assert verify_audit(log)[0] == "line 5: seq 4 after 4 (line repeated?)"


def test_a_line_that_is_not_json_is_a_problem_not_a_crash(log):
    write_events(log, 5)
    lines = lines_of(log)
    lines[2] = '{"seq": 3, "when": "2025-'  # a torn write
    rewrite(log, lines)
    problems = verify_audit(log)
    assert problems == ["line 3: not a JSON record"]
    assert len(read_audit(log)) == 4  # readers skip it


def test_appending_after_a_torn_last_line_chains_from_the_last_record(log):
    write_events(log, 3)
    with open(log, "a", encoding="utf-8") as handle:
        handle.write('{"seq": 4, "wh')  # no newline: a crash in the middle of a write
    record = record_event(log, "login", who="bob")
    assert record["seq"] == 4 and record["prev"] == read_audit(log)[2]["hash"]
    assert verify_audit(log) == ["line 4: not a JSON record"]  # reported, yet the chain goes on


def test_missing_or_empty_log_verifies(log):
    assert verify_audit(log) == []
    log.parent.mkdir(parents=True)
    log.touch()
    assert verify_audit(log) == []


# --- keyed records: the log's owner as the attacker ----------------------------------------------
# The owner of the log can rewrite the file and its key state at will; it holds the key of the
# next record only. Each attack below passes a hash chain alone.


def rechain(lines: list[str], start: int, renumber: bool = False, drop_macs: bool = False) -> list[str]:
    """The lines with seq (if ``renumber``), prev and hash recomputed from line ``start`` (0-based) on."""
    records = [json.loads(line) for line in lines]
    prev = records[start - 1]["hash"] if start else GENESIS
    for index in range(start, len(records)):
        record = records[index]
        if renumber:
            record["seq"] = index + 1
        if drop_macs:
            record.pop("mac", None)
        record["prev"] = prev
        record["hash"] = prev = record_hash(record)
    return [json.dumps(record) for record in records]


MAC_MISMATCH = "MAC does not match (rewritten with a fresh hash, or forged without the key)"


def test_records_carry_macs_and_the_writer_keeps_only_the_next_key(log, state):
    write_events(log, 6)
    assert all(len(r["mac"]) == 64 for r in read_audit(log))
    kept = key_state_path(log)
    assert json.loads(kept.read_text())["seq"] == 7
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600 and stat.S_IMODE(kept.parent.stat().st_mode) == 0o700
    root = root_key_path(state)
    assert stat.S_IMODE(root.stat().st_mode) == 0o600 and json.loads(root.read_text())["keyed_from"] == 1
    check = check_audit(log)
    assert (check.problems, check.notes, check.records, check.keyed) == ([], [], 6, True)


def test_an_edit_rechained_to_the_end_is_found(log):
    write_events(log, 12)
    lines = lines_of(log)
    record = json.loads(lines[6])
    record["what"] = "someone_else"
    lines[6] = json.dumps(record)
    rewrite(log, rechain(lines, 6))
    assert verify_audit(log) == [f"line {n}: {MAC_MISMATCH}" for n in range(7, 13)]
    rewrite(log, rechain(lines, 6, drop_macs=True))  # or with the MACs taken off
    assert verify_audit(log) == [f"line {n}: seq {n} carries no MAC, though records are keyed from seq 1 on (rewritten?)"
                                 for n in range(7, 13)]


def test_remaking_macs_with_the_key_the_writer_holds_is_found(log):
    write_events(log, 8)
    held = bytes.fromhex(json.loads(key_state_path(log).read_text())["key"])
    lines = lines_of(log)
    record = json.loads(lines[-1])
    record["what"] = "someone_else"
    record["hash"] = record_hash(record)
    record["mac"] = record_mac(record, held)
    lines[-1] = json.dumps(record)
    rewrite(log, lines)
    assert verify_audit(log) == [f"line 8: {MAC_MISMATCH}"]


def test_a_dropped_record_rechained_is_found(log):
    write_events(log, 14)
    lines = lines_of(log)
    del lines[8]  # the record with seq 9
    rewrite(log, rechain(lines, 8))  # the gap in seq stays
    assert verify_audit(log) == [f"line 9: {MAC_MISMATCH}", "line 9: seq 10 after 8 (line removed?)"] + [
        f"line {n}: {MAC_MISMATCH}" for n in range(10, 14)]
    rewrite(log, rechain(lines, 8, renumber=True))  # renumbered too: seq and chain look whole
    problems = verify_audit(log)
    assert problems == [f"line {n}: {MAC_MISMATCH}" for n in range(9, 14)] + [
        "the log ends at seq 13 but its key state is at seq 15: records seq 14 are missing (log cut?)"]


def test_cutting_the_last_records_is_found(log):
    write_events(log, 10)
    lines = lines_of(log)
    rewrite(log, lines[:7])
    assert verify_audit(log) == [
        "the log ends at seq 7 but its key state is at seq 11: records seq 8 to 10 are missing (log cut?)"]
    rewrite(log, [])
    assert verify_audit(log) == [
        "the log ends at seq 0 but its key state is at seq 11: records seq 1 to 10 are missing (log cut?)"]
    log.unlink()
    assert verify_audit(log)[0].startswith("the log ends at seq 0 but its key state is at seq 11")


def test_cutting_the_log_and_removing_its_key_state_is_found_and_stops_appends(log):
    write_events(log, 10)
    rewrite(log, lines_of(log)[:7])
    key_state_path(log).unlink()
    assert verify_audit(log) == [f"the key state {key_state_path(log)} is missing: the log may have been cut "
                                 "(its last record is seq 7) and the key state removed"]
    with pytest.raises(AuditError, match="is missing although the root key .* exists"):
        record_event(log, "login", who="someone")
    assert len(lines_of(log)) == 7


def test_appending_after_a_cut_keeps_the_gap_visible(log):
    write_events(log, 10)
    rewrite(log, lines_of(log)[:7])
    record = record_event(log, "login", who="after")
    assert record["seq"] == 11
    assert verify_audit(log) == ["line 8: seq 11 after 7 (line removed?)"]


def test_an_older_key_state_put_back_is_found(log):
    write_events(log, 5)
    older = key_state_path(log).read_bytes()
    write_events(log, 5, start=NOW + timedelta(days=1))
    key_state_path(log).write_bytes(older)
    assert verify_audit(log) == [f"the key state {key_state_path(log)} is at seq 6, behind the log's last record "
                                 "(seq 10): an older copy put back?"]


def test_a_key_state_with_another_key_is_found(log):
    write_events(log, 5)
    key_state_path(log).write_text(json.dumps({"seq": 6, "key": "ab" * 32}))
    assert verify_audit(log) == [f"the key state {key_state_path(log)} does not hold the key of seq 6: replaced or forged"]
    key_state_path(log).write_text(json.dumps({"seq": 10**12, "key": "ab" * 32}))  # checked without walking there
    assert verify_audit(log) == [f"the key state {key_state_path(log)} is at seq {10**12}, far beyond the log's last "
                                 "record (seq 5): forged?"]


def test_a_record_forged_far_ahead_is_found(log):
    write_events(log, 5)
    lines = lines_of(log)
    record = json.loads(lines[-1])
    record["seq"] = 10**12
    record["hash"] = record_hash(record)
    rewrite(log, lines[:-1] + [json.dumps(record)])
    assert f"line 5: seq {10**12} lies beyond any seq the writer reached (forged?)" in verify_audit(log)


def test_a_key_state_one_record_behind_is_a_note_and_heals(log):
    """A writer killed between writing a record and replacing its key state."""
    write_events(log, 4)
    before = key_state_path(log).read_bytes()
    write_events(log, 1, start=NOW + timedelta(days=1))
    key_state_path(log).write_bytes(before)
    check = check_audit(log)
    assert check.problems == [] and check.notes[0].startswith("the key state is one record behind the log (seq 5)")
    assert record_event(log, "login", who="after")["seq"] == 6
    assert check_audit(log).notes == [] and verify_audit(log) == []


def test_prune_keeps_keyed_records_verifying_and_attacks_after_it_are_found(log):
    write_events(log, 20, start=NOW - timedelta(days=100), step=timedelta(days=5))
    assert prune_audit(log, 45, now=NOW)["removed"] == 11
    records = read_audit(log)
    assert records[0]["seq"] == 12 and records[-1]["event"] == "prune" and "mac" in records[-1]
    assert verify_audit(log) == []
    record_event(log, "login", who="after")
    assert verify_audit(log) == []
    lines = lines_of(log)
    record = json.loads(lines[2])
    record["what"] = "someone_else"
    lines[2] = json.dumps(record)
    rewrite(log, rechain(lines, 2))
    assert verify_audit(log) == [f"line {n}: {MAC_MISMATCH}" for n in range(3, len(lines) + 1)]


def test_a_log_from_before_keyed_records_says_so_then_is_keyed_from_the_next_record(log, state, capsys):
    write_events(log, 5)
    # The same log as an older release wrote it: no MACs, no keys.
    rewrite(log, rechain(lines_of(log), 0, drop_macs=True))
    key_state_path(log).unlink()
    key_state_path(log).parent.rmdir()
    root_key_path(state).unlink()
    check = check_audit(log)
    assert check.problems == [] and not check.keyed and "this log is not keyed" in check.notes[0]
    assert main(["audit", "verify"]) == 0
    out = capsys.readouterr().out
    assert "hash chain intact, NOT keyed" in out and "this log is not keyed" in out
    record_event(log, "login", who="after")  # the first write after the upgrade keys the log from seq 6
    assert json.loads(root_key_path(state).read_text())["keyed_from"] == 6
    check = check_audit(log)
    assert check.problems == [] and check.keyed
    assert check.notes == ["5 record(s) before seq 6 were written before records were keyed: only their hash chain "
                           "was checked"]
    lines = lines_of(log)
    rewrite(log, rechain(lines, 4, drop_macs=True))  # taking the MAC off a keyed record is found
    assert verify_audit(log) == ["line 6: seq 6 carries no MAC, though records are keyed from seq 6 on (rewritten?)"]


def test_macs_without_a_root_key_are_a_problem(log, state):
    write_events(log, 3)
    root_key_path(state).unlink()
    assert verify_audit(log) == [f"the root key {root_key_path(state)} is missing, yet the log is keyed: its MACs "
                                 "cannot be checked (root key removed?)"]


def test_cli_verify_names_each_problem_and_exits_1(log, capsys):
    write_events(log, 10)
    lines = lines_of(log)[:6]
    lines[3] = lines[3].replace('"partner"', '"public"')
    rewrite(log, rechain(lines, 3))
    assert main(["audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert f"line 4: {MAC_MISMATCH}" in err and "records seq 7 to 10 are missing (log cut?)" in err
    assert "Traceback" not in err


# --- concurrency -------------------------------------------------------------------------------


def _append_many(log: str, worker: int, count: int) -> None:
    for i in range(count):
        record_event(log, "read", who=f"worker{worker}", what="air_quality_hourly", access="partner",
                     parameters={"i": i})


def _prune_once(log: str, now: str) -> None:
    prune_audit(log, 30, now=datetime.fromisoformat(now))


def test_concurrent_processes_never_fork_the_chain(log, state):
    load_or_create_key(state)
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_append_many, args=(str(log), w, 40)) for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(60)
        assert process.exitcode == 0
    records = read_audit(log)
    assert len(records) == 160
    assert [r["seq"] for r in records] == list(range(1, 161))
    assert verify_audit(log) == []


def test_appends_during_a_prune_land_in_the_new_log(log, state):
    write_events(log, 50, start=NOW - timedelta(days=400))
    now = datetime.now(timezone.utc)
    context = multiprocessing.get_context("fork")
    appenders = [context.Process(target=_append_many, args=(str(log), w, 30)) for w in range(3)]
    pruner = context.Process(target=_prune_once, args=(str(log), now.isoformat()))
    for process in appenders[:2]:
        process.start()
    pruner.start()
    appenders[2].start()
    for process in appenders + [pruner]:
        process.join(60)
        assert process.exitcode == 0
    assert verify_audit(log) == []
    records = read_audit(log)
    assert sum(r["event"] == "read" and r["what"] == "air_quality_hourly" for r in records) == 90  # none lost
    assert not any(r.get("what", "").startswith("dataset_") for r in records)  # the old ones are gone
    assert [r["event"] for r in records].count("prune") == 1


# --- retention ---------------------------------------------------------------------------------


def test_prune_removes_only_old_records_and_the_chain_still_verifies(log):
    write_events(log, 10, start=NOW - timedelta(days=100), step=timedelta(days=1))  # 100 .. 91 days ago
    write_events(log, 5, start=NOW - timedelta(days=10), step=timedelta(days=1))  # 10 .. 6 days ago
    result = prune_audit(log, 30, now=NOW)
    assert (result["removed"], result["kept"]) == (10, 5)
    records = read_audit(log)
    assert [r["seq"] for r in records] == list(range(11, 17))
    assert all(datetime.fromisoformat(r["when"]) >= NOW - timedelta(days=30) for r in records)
    prune = records[-1]
    assert prune["event"] == "prune" and (prune["removed"], prune["through_seq"]) == (10, 10)
    anchor = read_anchor(log)
    assert (anchor["seq"], anchor["removed"]) == (10, 10) and anchor["hash"] == records[0]["prev"]
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert verify_audit(log) == []
    record_event(log, "login", who="after")  # the chain goes on after a prune
    assert verify_audit(log) == []


def test_nothing_to_prune_changes_nothing(log):
    write_events(log, 4)
    before = log.read_text()
    assert prune_audit(log, 365, now=NOW + timedelta(days=1))["removed"] == 0
    assert log.read_text() == before and not anchor_path(log).exists()


def test_pruning_twice_and_everything(log):
    write_events(log, 6, start=NOW - timedelta(days=50), step=timedelta(days=1))
    assert prune_audit(log, 47, now=NOW)["removed"] == 3
    assert prune_audit(log, 1, now=NOW + timedelta(days=2))["removed"] == 4  # the three left and the first prune
    records = read_audit(log)
    assert [r["event"] for r in records] == ["prune"] and records[0]["seq"] == 8
    assert read_anchor(log)["removed_total"] == 7
    assert verify_audit(log) == []


def test_after_a_prune_deleting_the_first_line_is_still_found(log):
    write_events(log, 8, start=NOW - timedelta(days=100), step=timedelta(days=10))
    prune_audit(log, 45, now=NOW)
    rewrite(log, lines_of(log)[1:])
    assert verify_audit(log)[0].startswith("line 1: seq ")


def test_a_forged_anchor_is_found(log):
    write_events(log, 6, start=NOW - timedelta(days=100), step=timedelta(days=30))
    prune_audit(log, 45, now=NOW)
    anchor = read_anchor(log)
    anchor["hash"] = "f" * 64
    anchor_path(log).write_text(json.dumps(anchor))
    problems = verify_audit(log)
    assert "line 1: prev does not match the anchor" in problems
    assert any("the anchor does not match the last prune event" in p for p in problems)


def test_an_interrupted_prune_still_verifies(log):
    """Killed after writing the anchor and before replacing the log: nothing is lost or flagged."""
    write_events(log, 6, start=NOW - timedelta(days=100), step=timedelta(days=30))
    before, key_state = log.read_text(), key_state_path(log).read_bytes()
    prune_audit(log, 45, now=NOW)
    log.write_text(before)  # the old log and its key state, with the new anchor
    key_state_path(log).write_bytes(key_state)
    assert verify_audit(log) == []
    record_event(log, "login", who="after")
    assert verify_audit(log) == []


def test_a_tampered_log_is_not_pruned(log):
    write_events(log, 6, start=NOW - timedelta(days=100), step=timedelta(days=1))
    lines = lines_of(log)
    rewrite(log, lines[:2] + lines[3:])
    with pytest.raises(AuditError, match="does not verify"):
        prune_audit(log, 30, now=NOW)
    assert len(lines_of(log)) == 5


# --- queries -----------------------------------------------------------------------------------


def test_query_by_user_dataset_event_and_dates(log):
    write_events(log, 24, start=datetime(2025, 5, 1, tzinfo=timezone.utc), step=timedelta(hours=6))
    user1 = query_audit(log, user="user1")
    assert {r["seq"] for r in user1} == {2, 6, 10, 14, 18, 22}
    assert query_audit(log, user="nobody") == []
    steward = query_audit(log, user="steward")  # matched through `by` as well
    assert steward and {r["event"] for r in steward} == {"grant", "revoke"}
    assert {r["what"] for r in query_audit(log, dataset="dataset_2")} == {"dataset_2"}
    assert {r["event"] for r in query_audit(log, event="grant")} == {"grant"}
    day = query_audit(log, since="2025-05-02", until="2025-05-02")
    assert [r["when"][:10] for r in day] == ["2025-05-02"] * 4
    assert len(query_audit(log, since=date(2025, 5, 7))) == 0
    assert len(query_audit(log, user="user2", event="revoke", until="2025-05-04")) == 2  # seq 3 and 15
    assert len(query_audit(log, user="user2", event="revoke", until="2025-05-03")) == 1
    with pytest.raises(ValueError, match="since: not a date"):
        query_audit(log, since="2025-13-01")
    with pytest.raises(ValueError, match="unknown audit event"):
        query_audit(log, event="reads")


# --- configuration and CLI -----------------------------------------------------------------------


def test_retention_days_is_configured(state, monkeypatch):
    assert load_config()["audit"]["retention_days"] == 365
    monkeypatch.setenv("OCCIDATA_AUDIT__RETENTION_DAYS", "30")
    assert load_config()["audit"]["retention_days"] == 30
    monkeypatch.setenv("OCCIDATA_AUDIT__RETENTION_DAYS", "0")
    with pytest.raises(ConfigError, match="audit.retention_days"):
        load_config()


def test_cli_verify_exit_codes_and_messages(log, capsys):
    write_events(log, 9)
    assert main(["audit", "verify"]) == 0
    assert capsys.readouterr().out.startswith("audit log intact: 9 records")
    lines = lines_of(log)
    lines[6] = lines[6].replace('"partner"', '"public"')
    rewrite(log, lines)
    assert main(["audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert "line 7: hash does not match its content (edited?)" in err and "Traceback" not in err


def test_cli_query_table_and_json(log, capsys):
    write_events(log, 8, start=datetime(2025, 5, 1, tzinfo=timezone.utc))
    assert main(["audit", "query", "--user", "user1"]) == 0
    out = capsys.readouterr().out
    pseudonym = read_audit(log)[1]["who"]
    assert pseudonym in out and "user1" not in out and "dataset_2" in out and "group=partner" in out and "2 record(s)" in out
    assert main(["audit", "query", "--event", "grant", "--since", "2025-05-01", "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["seq"] for r in records] == [2, 8]
    assert main(["audit", "query", "--dataset", "nothing"]) == 0
    assert "no audit records match" in capsys.readouterr().out


def test_cli_query_bad_date_names_the_option(log, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["audit", "query", "--until", "01/05/2025"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "argument --until: not a date: '01/05/2025' (expected YYYY-MM-DD" in err and "Traceback" not in err


def test_cli_prune_uses_the_configured_retention(log, capsys, monkeypatch):
    now = datetime.now(timezone.utc)
    write_events(log, 4, start=now - timedelta(days=60), step=timedelta(days=1))
    write_events(log, 2, start=now - timedelta(days=2))
    assert main(["audit", "prune"]) == 0
    assert "Nothing to remove" in capsys.readouterr().out
    monkeypatch.setenv("OCCIDATA_AUDIT__RETENTION_DAYS", "30")
    assert main(["audit", "prune"]) == 0
    assert "Removed 4 audit record(s) older than 30 days" in capsys.readouterr().out
    assert main(["audit", "verify"]) == 0
    assert "audit log intact: 3 records" in capsys.readouterr().out
    rewrite(log, lines_of(log)[1:])
    assert main(["audit", "prune"]) == 1
    assert "does not verify" in capsys.readouterr().err
