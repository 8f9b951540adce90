"""`occidata usage` (issue 17): CPU-hours, GPU-hours and jobs per user and hub group over a period,
from Slurm's job completion records (read from a real Slurm's own file) or from the hub's journal of
lab servers (written by a real hub's spawn hooks). The Slurm tests fail without root or Slurm, as
tests/test_slurm_cluster.py's do: `make test` as root installs Slurm."""

from __future__ import annotations

import json
import os
import secrets
import stat
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from occidata.hub.usage_records import append_usage_entry, read_usage_log
from occidata.slurm.jobcomp import read_jobcomp
from occidata.usage import NO_GROUP, Source, UsageError, UsageRecord, ZONE, period, summarize, with_hub_gpus
from slurm_cluster import hub_settings, running_slurm

# The researcher's system account is <prefix><hub name>, as the platform makes it (server.user_prefix).
PREFIX = f"ou{secrets.token_hex(2)}-"
RESEARCHER = "marie"


def usage_cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "occidata.cli", "usage", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def platform_env(state_dir: Path, **settings: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCCIDATA_")}
    return {**env, "OCCIDATA_STATE_DIR": str(state_dir), "OCCIDATA_SERVER__USER_PREFIX": PREFIX,
            **{f"OCCIDATA_{key}": value for key, value in settings.items()}}


# --- Slurm's records, from a real Slurm -----------------------------------------------------------


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    yield from running_slurm(tmp_path_factory.mktemp("slurm"))


@pytest.fixture(scope="module")
def account():
    """The researcher's system account (removed at the end)."""
    name = PREFIX + RESEARCHER
    subprocess.run(["useradd", "--no-create-home", "--shell", "/bin/bash", name], check=True)
    try:
        yield name
    finally:
        subprocess.run(["userdel", name], check=False)


@pytest.fixture(scope="module")
def jobs(slurm, account) -> dict[str, str]:
    """Three jobs that ended: a 2-core CPU job and a one-GPU job of the researcher, and a job of root
    (an account outside the platform's prefix). Their ids, once Slurm has written their records."""
    def finished(options: list[str], user: str | None) -> str:
        done = slurm.run(["sbatch", "--parsable", "--wait", "--mem=100M", *options, "--wrap", "sleep 2"], user=user)
        return done.stdout.strip().split(";")[0]

    ids = {"cpu": finished(["-c", "2"], account), "gpu": finished(["-p", "gpu", "--gres=gpu:1"], account),
           "root": finished([], None)}
    deadline = time.monotonic() + 30
    while not all(f"JobId={job} " in (slurm.jobcomp.read_text() if slurm.jobcomp.exists() else "")
                  for job in ids.values()):
        assert time.monotonic() < deadline, f"no completion record of {ids}"
        time.sleep(0.5)
    return ids


def test_slurms_records_give_each_jobs_user_cores_and_duration(slurm, jobs):
    records, skipped = read_jobcomp(slurm.jobcomp, PREFIX)
    assert skipped == []
    by_id = {record.what: record for record in records}
    cpu, gpu, root = by_id[jobs["cpu"]], by_id[jobs["gpu"]], by_id[jobs["root"]]
    # The account <prefix>marie is hub user marie; root is reported as itself.
    assert (cpu.user, gpu.user, root.user) == (RESEARCHER, RESEARCHER, "root")
    assert (cpu.cores, gpu.cores, root.cores) == (2, 1, 1)
    assert cpu.state == gpu.state == "COMPLETED" and cpu.ran
    # `sleep 2`: Slurm's whole seconds never make it shorter.
    assert (cpu.end - cpu.start).total_seconds() >= 2
    assert cpu.start.tzinfo is not None


def test_gpu_hours_count_for_the_gpu_job_only(slurm, jobs):
    """Slurm 22.05 without slurmdbd keeps no GPU count (see occidata.slurm.jobcomp): the lab's GPUs
    come from the hub's record of the server that ran as that job."""
    records, _ = read_jobcomp(slurm.jobcomp, PREFIX)
    lab = UsageRecord(user=RESEARCHER, start=datetime.now(timezone.utc), end=None, cores=1, gpus=1, what="",
                      job_id=jobs["gpu"])
    records = with_hub_gpus(records, [lab])
    today = datetime.now(ZONE).date()
    source = Source("slurm", slurm.jobcomp)

    def gpu_hours(job: str) -> float:
        [record] = [r for r in records if r.what == job]
        return summarize([record], {}, today - timedelta(days=1), today + timedelta(days=1), source).total.gpu_hours

    assert gpu_hours(jobs["gpu"]) > 0
    assert gpu_hours(jobs["cpu"]) == 0 and gpu_hours(jobs["root"]) == 0


def test_usage_in_slurm_mode_finds_slurms_records_and_reports_users(slurm, jobs, tmp_path):
    env = platform_env(tmp_path / "state", MODE="slurm", SLURM__CONF=str(slurm.conf))
    done = usage_cli(env=env)
    assert done.returncode == 0, done.stderr
    assert f"source : enregistrements de fin de tâche de Slurm ({slurm.jobcomp})" in done.stdout
    report = json.loads(usage_cli("--json", env=env).stdout)
    users = {row["user"]: row for row in report["users"]}
    assert users[RESEARCHER]["jobs"] >= 2 and users[RESEARCHER]["cpu_hours"] > 0
    assert "root" in users
    # No hub database: nobody's groups are known.
    assert [group["group"] for group in report["groups"]] == [NO_GROUP]


def test_a_torn_completion_line_is_reported_with_its_number_never_dropped(slurm, jobs, tmp_path):
    lines = slurm.jobcomp.read_text().splitlines()
    damaged = tmp_path / "jobcomp.txt"
    damaged.write_text("\n".join([lines[0][:45], *lines]) + "\n")  # a record cut by a crash, first
    done = usage_cli("--jobcomp", str(damaged), "--json", env=platform_env(tmp_path / "state"))
    assert done.returncode == 0, done.stderr
    assert f"{damaged}, ligne 1 : champ(s) JobState" in done.stderr
    report = json.loads(done.stdout)
    assert [(s["file"], s["line"]) for s in report["skipped"]] == [(str(damaged), 1)]
    assert report["total"]["jobs"] >= 3  # the other records still count


# --- the report (pure) ----------------------------------------------------------------------------


def paris(day: str, hour: int) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00").replace(tzinfo=ZONE)


def test_report_per_user_and_group_within_the_period():
    records = [
        UsageRecord("anne", paris("2024-05-02", 10), paris("2024-05-02", 12), cores=2, gpus=1, what="1"),
        # Crosses the period's start: only its hour in May counts.
        UsageRecord("bruno", paris("2024-04-30", 23), paris("2024-05-01", 1), cores=4, gpus=None, what="2"),
        UsageRecord("anne", paris("2024-06-01", 0), paris("2024-06-01", 3), cores=8, gpus=1, what="3"),  # after
        UsageRecord("chloe", paris("2024-05-31", 22), paris("2024-05-31", 23), cores=1, gpus=0, what="4"),
        UsageRecord("chloe", paris("2024-05-10", 9), paris("2024-05-10", 9), cores=1, gpus=0, what="5", ran=False),
    ]
    groups = {"anne": ["climat", "vignes"], "bruno": ["climat"]}
    report = summarize(records, groups, date(2024, 5, 1), date(2024, 5, 31), Source("slurm", Path("jobcomp.txt")))
    users = {name: (t.hours, t.cpu_hours, t.gpu_hours, t.count) for name, t in report.users.items()}
    assert users == {"anne": (2, 4, 2, 1), "bruno": (1, 4, 0, 1), "chloe": (1, 1, 0, 1)}
    by_group = {name: (t.hours, t.cpu_hours, t.gpu_hours, t.count) for name, t in report.groups.items()}
    # anne counts in both of her groups; chloe, in none, under « (sans groupe) ».
    assert by_group == {"climat": (3, 8, 2, 2), "vignes": (2, 4, 2, 1), NO_GROUP: (1, 1, 0, 1)}
    assert report.members["climat"] == ["anne", "bruno"]
    assert (report.total.hours, report.total.cpu_hours, report.total.count) == (4, 9, 3)  # each job once


def test_period_defaults_to_the_current_month_and_refuses_an_inverted_one():
    assert period(None, None, today=date(2024, 2, 10)) == (date(2024, 2, 1), date(2024, 2, 29))
    assert period(date(2024, 1, 15), date(2024, 1, 20)) == (date(2024, 1, 15), date(2024, 1, 20))
    with pytest.raises(UsageError, match="--until 2024-01-01 est avant --since 2024-01-15"):
        period(date(2024, 1, 15), date(2024, 1, 1))


def test_a_bad_date_is_refused_naming_the_parameter(tmp_path):
    done = usage_cli("--since", "2024-13-01", env=platform_env(tmp_path / "state"))
    assert done.returncode == 2
    assert "argument --since: not a date: '2024-13-01'" in done.stderr and "Traceback" not in done.stderr


def test_the_hubs_journal_pairs_starts_and_stops(tmp_path):
    journal = tmp_path / "usage.jsonl"
    hour = datetime(2024, 5, 2, 8, tzinfo=timezone.utc)

    def entry(event, user, at, **extra):
        append_usage_entry(journal, {"event": event, "user": user, "server": "", "time": at.isoformat(),
                                     "profile": "cpu", "cores": None, "gpus": 0, "job_id": "", **extra})

    entry("start", "anne", hour, gpus=1)
    entry("stop", "anne", hour + timedelta(hours=2))
    entry("stop", "bruno", hour)  # its start is not in the journal
    with open(journal, "a") as handle:
        handle.write('{"event": "start", "user": "chl')  # torn by a crash
    entry("start", "chloe", hour)  # still running
    log, skipped = read_usage_log(journal)
    assert stat.S_IMODE(journal.stat().st_mode) == 0o600
    assert [(s.line, "JSON" in s.reason) for s in skipped] == [(4, True)]
    runs = {record.user: record for record in log.records}
    assert set(runs) == {"anne", "chloe"}
    assert runs["anne"].end - runs["anne"].start == timedelta(hours=2) and runs["anne"].gpus == 1
    assert runs["chloe"].end is None  # counts up to now
    assert log.notes == ["1 arrêt(s) sans démarrage enregistré : non comptés"]
    now = hour + timedelta(hours=5)
    report = summarize(log.records, {}, date(2024, 5, 1), date(2024, 5, 31), Source("hub", journal), now=now)
    assert report.users["chloe"].hours == 5 and report.users["anne"].gpu_hours == 2


# --- the hub's journal, written by a real hub -----------------------------------------------------


def test_a_lab_started_and_stopped_on_the_hub_is_reported_with_its_group(hub):
    service = hub.service()
    name = f"usage-{secrets.token_hex(2)}"
    assert service.api("POST", f"users/{name}").status_code == 201
    assert service.api("POST", "groups/usage-projet").status_code in (201, 409)
    assert service.api("POST", "groups/usage-projet/users", json={"users": [name]}).status_code == 200
    service.username = name
    service.start_server()
    service.stop_server()
    journal = hub.local.state.usage_log

    def entries() -> list[dict]:
        return [json.loads(line) for line in journal.read_text().splitlines()] if journal.exists() else []

    deadline = time.monotonic() + 30
    while not any(e["user"] == name and e["event"] == "stop" for e in entries()):
        assert time.monotonic() < deadline, entries()
        time.sleep(0.5)
    [start] = [e for e in entries() if e["user"] == name and e["event"] == "start"]
    assert start["profile"] and start["gpus"] is not None  # what the lab was given, as the hub knew it
    assert stat.S_IMODE(journal.stat().st_mode) == 0o600  # the hub's account only

    table = usage_cli(env=hub.local.env)
    assert table.returncode == 0, table.stderr
    assert "source : journal des serveurs du hub" in table.stdout and name in table.stdout
    report = json.loads(usage_cli("--json", env=hub.local.env).stdout)
    [row] = [row for row in report["users"] if row["user"] == name]
    assert row["servers"] == 1 and row["hours"] > 0 and row["gpu_hours"] == 0
    [group] = [g for g in report["groups"] if g["group"] == "usage-projet"]
    assert name in group["members"] and group["hours"] >= row["hours"]


# --- slurm mode end to end: labs of a real hub as Slurm jobs --------------------------------------

LAB_PROFILES = """
profiles:
  - slug: cpu
    display_name: "CPU"
    description: "CPU."
    kernel: occidata-cpu
    slurm: {partition: cpu, cpus: 1, memory: 1024M, time: "1:00:00", max_time: "2:00:00"}
  - slug: gpu
    display_name: "GPU"
    description: "GPU."
    kernel: occidata-cpu
    gpu: true
    slurm: {partition: gpu, cpus: 1, memory: 1024M, gpus: 1, time: "1:00:00", max_time: "2:00:00"}
"""


@pytest.fixture(scope="module")
def slurm_platform(slurm, tiny_data_dir, tmp_path_factory):
    from conftest import server_mode_hub

    profiles = tmp_path_factory.mktemp("profiles") / "profiles.yaml"
    profiles.write_text(LAB_PROFILES)
    os.chmod(profiles.parent, 0o755)
    with server_mode_hub(tiny_data_dir, "usage", **hub_settings(slurm, profiles)) as made:
        yield made


def test_usage_reports_the_labs_slurm_ran_with_gpu_hours_for_the_gpu_lab(slurm_platform, slurm):
    hub = slurm_platform.hub
    service = hub.service()
    for name, groups in (("gael", ["calcul"]), ("hugo", [])):
        assert service.api("POST", f"users/{name}").status_code == 201
        for group in groups:
            service.api("POST", f"groups/{group}")
            assert service.api("POST", f"groups/{group}/users", json={"users": [name]}).status_code == 200
    for name, profile in (("gael", "gpu"), ("hugo", "cpu")):
        service.username = name
        service.start_server({"profile": profile}, timeout=180)
        service.stop_server(timeout=90)
    journal = hub.local.state.usage_log
    stops = {e["user"]: e for e in map(json.loads, journal.read_text().splitlines()) if e["event"] == "stop"}
    # The hub recorded which Slurm job each lab was, and the GPUs its profile asked for.
    assert stops["gael"]["job_id"] and stops["gael"]["gpus"] == 1 and stops["hugo"]["gpus"] == 0
    deadline = time.monotonic() + 60
    while not all(f"JobId={stops[n]['job_id']} " in slurm.jobcomp.read_text() for n in ("gael", "hugo")):
        assert time.monotonic() < deadline, "Slurm wrote no completion record of the labs"
        time.sleep(0.5)

    done = usage_cli("--json", env=hub.local.env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["source"] == {"kind": "slurm", "file": str(slurm.jobcomp)}
    users = {row["user"]: row for row in report["users"]}
    assert users["gael"]["jobs"] == 1 and users["gael"]["cpu_hours"] > 0
    assert users["gael"]["gpu_hours"] == pytest.approx(users["gael"]["hours"]) and users["gael"]["gpu_hours"] > 0
    assert users["hugo"]["jobs"] == 1 and users["hugo"]["gpu_hours"] == 0
    groups = {row["group"]: row for row in report["groups"]}
    assert groups["calcul"]["members"] == ["gael"] and groups["calcul"]["gpu_hours"] > 0
    assert "hugo" in groups[NO_GROUP]["members"]
