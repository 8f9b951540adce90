"""Report schedules and the scheduler, with an injected clock and fake runs (no kernel)."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from types import SimpleNamespace

import pytest

from occidata.reports.schedule import REPO_ROOT, Schedule, ScheduleError, Scheduler, SchedulerBusy, parse_schedules, read_schedules

PARIS = dt.timezone(dt.timedelta(hours=2))  # summer time, for readable instants


def at(day: int, hour: int, minute: int = 0, month: int = 6) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=PARIS)


class FakeRun:
    """Records calls; fails the first ``failures`` calls; optionally slow."""

    def __init__(self, failures: int = 0, delay: float = 0.0):
        self.calls, self.failures, self.delay = [], failures, delay
        self.running = self.peak = 0
        self.lock = threading.Lock()

    def __call__(self, notebook, parameters, *, kernel, timeout, archive_dir, run_id):
        with self.lock:
            self.calls.append({"notebook": str(notebook), "parameters": parameters, "run_id": run_id})
            self.running += 1
            self.peak = max(self.peak, self.running)
            failing = len(self.calls) <= self.failures
        time.sleep(self.delay)
        with self.lock:
            self.running -= 1
        status = "failed" if failing else "ok"
        error = {"name": "RuntimeError", "message": "boom"} if failing else None
        return SimpleNamespace(status=status, error=error, folder=f"/archive/{run_id}")


def daily(name="air", **extra) -> Schedule:
    return Schedule(name=name, notebook="notebooks/air_quality/daily_report.ipynb", cron="0 6 * * *",
                    parameters={"date": "{yesterday}"}, **extra)


def make(tmp_path, schedules, run, **options) -> Scheduler:
    options.setdefault("sleep", lambda s: None)
    return Scheduler(schedules, tmp_path / "state", run, archive_dir=tmp_path / "archive", **options)


# --- the file -------------------------------------------------------------------------------


def test_default_schedules_file_is_valid():
    schedules = {s.name: s for s in read_schedules(REPO_ROOT / "hub" / "report_schedules.yaml")}
    air = schedules["qualite-air-quotidienne"]
    assert (air.cron, air.timezone) == ("0 6 * * *", "Europe/Paris")
    assert air.notebook_path().is_file()
    bathing = schedules["eaux-de-baignade-hebdomadaire"]
    assert bathing.season == (6, 7, 8, 9)
    # Weekly during the season only: nothing from October to May.
    fires = bathing.fire_times(at(1, 0, month=1), dt.datetime(2026, 12, 31, tzinfo=PARIS))
    assert fires and {f.month for f in fires} == {6, 7, 8, 9}
    assert all(f.weekday() == 0 and f.hour == 7 for f in fires)
    for schedule in schedules.values():
        assert schedule.notebook_path().is_file(), schedule.notebook


@pytest.mark.parametrize(
    "item, words",
    [
        ({"name": "a", "notebook": "x.ipynb", "cron": "0 6 * *"}, ["schedule 'a'", "'cron'"]),
        ({"name": "a", "notebook": "x.ipynb", "cron": "61 6 * * *"}, ["schedule 'a'", "'cron'"]),
        ({"name": "a", "notebook": "x.ipynb", "cron": "0 6 * * *", "timezone": "Europe/Pariss"}, ["'timezone'"]),
        ({"name": "a", "notebook": "x.ipynb", "cron": "0 6 * * *", "season": [0, 13]}, ["'season'"]),
        ({"name": "a", "notebook": "x.ipynb", "cron": "0 6 * * *", "retries": -1}, ["'retries'"]),
        ({"name": "a", "notebook": "x.ipynb", "cron": "0 6 * * *", "timeout": "long"}, ["'timeout'"]),
        ({"name": "a", "notebook": "x.ipynb", "cron": "0 6 * * *", "cronn": 1}, ["unknown key 'cronn'"]),
        ({"name": "a", "cron": "0 6 * * *"}, ["'notebook' is required"]),
        ({"name": "a", "notebook": "x.py", "cron": "0 6 * * *"}, ["not a .ipynb"]),
        ({"name": "A b", "notebook": "x.ipynb", "cron": "0 6 * * *"}, ["schedule #1", "'name'"]),
        ({"name": "a", "notebook": "x.ipynb", "cron": "0 6 * * *", "parameters": {"d": "{tomorrow}"}},
         ["parameter 'd'", "{tomorrow}", "{yesterday}"]),
        ({"name": "a", "notebook": "x.ipynb", "cron": "0 6 * * *", "parameters": ["d"]}, ["'parameters'"]),
    ],
)
def test_schedule_errors_name_file_schedule_and_key(tmp_path, item, words):
    path = tmp_path / "schedules.yaml"
    path.write_text(json.dumps({"schedules": [item]}))
    with pytest.raises(ScheduleError) as info:
        read_schedules(path)
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    assert str(path) in message
    for word in words:
        assert word in message, message


def test_duplicate_names_and_bad_yaml(tmp_path):
    item = {"name": "a", "notebook": "x.ipynb", "cron": "0 6 * * *"}
    with pytest.raises(ScheduleError, match="schedule 'a': key 'name': used twice"):
        parse_schedules({"schedules": [item, item]}, "f.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("schedules: [\n")
    with pytest.raises(ScheduleError, match="cannot parse"):
        read_schedules(bad)
    with pytest.raises(ScheduleError, match="does not exist"):
        read_schedules(tmp_path / "missing.yaml")


def test_placeholders_resolve_in_the_schedule_time_zone():
    schedule = Schedule(name="a", notebook="x.ipynb", cron="30 0 * * *",
                        parameters={"date": "{yesterday}", "day": "{today}", "year": "{last_year}",
                                    "label": "année {year}", "n": 3})
    # 00:30 in Paris on 1 January 2026 is still 31 December 2025 in UTC.
    fire = dt.datetime(2025, 12, 31, 23, 30, tzinfo=dt.timezone.utc)
    assert schedule.resolve_parameters(fire) == {
        "date": "2025-12-31", "day": "2026-01-01", "year": 2025, "label": "année 2026", "n": 3}


def test_daylight_saving_change_keeps_local_06_00():
    fires = daily().fire_times(dt.datetime(2026, 3, 27, 12, tzinfo=dt.timezone.utc),
                               dt.datetime(2026, 3, 29, 12, tzinfo=dt.timezone.utc))
    assert [f.astimezone(dt.timezone.utc).hour for f in fires] == [5, 4]  # CET then CEST


# --- the scheduler ---------------------------------------------------------------------------


def test_first_start_runs_nothing_then_fires_when_due(tmp_path):
    run = FakeRun()
    scheduler = make(tmp_path, [daily()], run)
    assert scheduler.tick(at(10, 5)) == []  # first sight: starts from now, no back-fill
    assert scheduler.tick(at(10, 5, 59)) == []
    scheduler.tick(at(10, 6, 0))
    scheduler.wait()
    assert len(run.calls) == 1
    call = run.calls[0]
    assert call["parameters"] == {"date": "2026-06-09"}
    assert call["notebook"].endswith("notebooks/air_quality/daily_report.ipynb")
    state = json.loads((tmp_path / "state" / "reports" / "scheduler.json").read_text())
    entry = state["schedules"]["air"]
    assert entry["last_fire"] == "2026-06-10T06:00:00+02:00"
    assert entry["fires"]["2026-06-10T06:00:00+02:00"]["status"] == "ok"
    assert scheduler.tick(at(10, 6, 1)) == []  # the same fire time is not fired twice
    scheduler.shutdown()


def test_no_duplicate_after_restart(tmp_path):
    run = FakeRun()
    first = make(tmp_path, [daily()], run)
    first.tick(at(10, 5))
    first.tick(at(10, 6))
    first.wait()
    first.shutdown()
    second = make(tmp_path, [daily()], run)  # a restarted service: same state file
    assert second.tick(at(10, 6, 1)) == []
    second.wait()
    assert len(run.calls) == 1
    second.shutdown()


def test_run_claimed_then_interrupted_is_not_run_again(tmp_path):
    started = threading.Event()

    def never_finishes(*args, **kwargs):
        started.set()
        time.sleep(0.5)
        raise KeyboardInterrupt  # the process stops mid-run: nothing recorded by the run

    crashed = make(tmp_path, [daily()], never_finishes)
    crashed.tick(at(10, 5))
    crashed.tick(at(10, 6))
    assert started.wait(5)
    # The claim was written before the run started.
    state = json.loads(crashed.state_path.read_text())
    assert state["schedules"]["air"]["fires"]["2026-06-10T06:00:00+02:00"]["status"] == "running"
    crashed.shutdown(wait=False)

    run = FakeRun()
    events = []
    restarted = make(tmp_path, [daily()], run, notify=events.append)
    assert restarted.tick(at(10, 7)) == []
    assert run.calls == []
    fire = json.loads(restarted.state_path.read_text())["schedules"]["air"]["fires"]["2026-06-10T06:00:00+02:00"]
    assert fire["status"] == "interrupted"
    assert [e["event"] for e in events] == ["report_interrupted"]
    # A second scheduler is refused while one runs; a third start does not notify again.
    with pytest.raises(SchedulerBusy, match=r"another report scheduler \(pid \d+\)"):
        make(tmp_path, [daily()], run, notify=events.append)
    restarted.shutdown()
    make(tmp_path, [daily()], run, notify=events.append).shutdown()
    assert len(events) == 1


def test_a_run_its_worker_finished_while_the_scheduler_was_down_is_recorded_once(tmp_path):
    """The worker archived the run, then the scheduler died before noting it: the next start
    records the run's own status, not also "interrupted"."""
    from occidata.reports.archive import RECORD_FILE, RunRecord

    crashed = make(tmp_path, [daily()], FakeRun())
    crashed.tick(at(10, 5))
    fire = "2026-06-10T06:00:00+02:00"
    crashed._set_fire("air", fire, status="running", attempts=1, run_id="20260610T040000Z-a1")
    crashed.shutdown()
    folder = tmp_path / "archive" / "air" / "20260610T040000Z-a1"
    folder.mkdir(parents=True)
    (folder / RECORD_FILE).write_text(json.dumps(RunRecord("air", "20260610T040000Z-a1", "air.ipynb").to_dict()))

    events = []
    restarted = make(tmp_path, [daily()], FakeRun(), notify=events.append)
    entry = json.loads(restarted.state_path.read_text())["schedules"]["air"]["fires"][fire]
    assert entry["status"] == "ok" and entry["folder"] == str(folder)
    assert events == []  # not notified as interrupted
    restarted.shutdown()


@pytest.mark.parametrize("catch_up, expected", [("latest", ["2026-06-12"]),
                                                 ("all", ["2026-06-10", "2026-06-11", "2026-06-12"]),
                                                 ("none", [])])
def test_missed_runs_are_caught_up_once(tmp_path, catch_up, expected):
    run = FakeRun()
    scheduler = make(tmp_path, [daily()], run, catch_up=catch_up)
    scheduler.tick(at(10, 5))
    scheduler.shutdown()
    # Down from the 10th 05:00 until the 13th 05:00: three 06:00 fire times missed.
    back = make(tmp_path, [daily()], run, catch_up=catch_up)
    back.tick(at(13, 5))
    back.wait()
    assert sorted(c["parameters"]["date"] for c in run.calls) == sorted(
        (dt.date.fromisoformat(d) - dt.timedelta(days=1)).isoformat() for d in expected)
    back.tick(at(13, 5, 30))
    back.wait()
    assert len(run.calls) == len(expected), "caught up once only"
    back.tick(at(13, 6))  # and the next fire time on time, whatever catch_up says
    back.wait()
    assert len(run.calls) == len(expected) + 1
    back.shutdown()


def test_season_skips_months_outside(tmp_path):
    run = FakeRun()
    weekly = Schedule(name="baignade", notebook="x.ipynb", cron="0 7 * * 1", season=(6, 7, 8, 9))
    scheduler = make(tmp_path, [weekly], run)
    scheduler.tick(at(25, 0, month=5))
    assert scheduler.due(at(1, 8, month=6)) == [(weekly, at(1, 7, month=6))]
    scheduler.tick(at(1, 8, month=6))
    scheduler.wait()
    assert len(run.calls) == 1
    assert scheduler.due(dt.datetime(2026, 10, 20, tzinfo=PARIS)) != []  # September Mondays were missed
    assert all(t.month == 9 for _, t in scheduler.due(dt.datetime(2026, 10, 20, tzinfo=PARIS)))
    scheduler.shutdown()


def test_retries_with_backoff_then_notification(tmp_path):
    run = FakeRun(failures=10)
    delays, events = [], []
    scheduler = make(tmp_path, [daily(retries=3)], run, backoff=30, sleep=delays.append, notify=events.append)
    scheduler.tick(at(10, 5))
    scheduler.tick(at(10, 6))
    scheduler.wait()
    assert len(run.calls) == 4
    assert delays == [30, 60, 120]
    # Each attempt is its own run in the archive (failed runs are kept).
    assert len({c["run_id"] for c in run.calls}) == 4
    fire = json.loads(scheduler.state_path.read_text())["schedules"]["air"]["fires"]["2026-06-10T06:00:00+02:00"]
    assert fire["status"] == "failed" and fire["attempts"] == 4 and "boom" in fire["error"]
    lines = scheduler.notifications_path.read_text().splitlines()
    assert len(lines) == 1
    event = json.loads(lines[0])
    assert event["event"] == "report_failed" and event["schedule"] == "air" and "boom" in event["error"]
    assert events == [event]
    assert scheduler.notifications()[0]["schedule"] == "air"
    scheduler.shutdown()


def test_retry_succeeds_and_refused_parameters_are_not_retried(tmp_path):
    run = FakeRun(failures=1)
    delays = []
    scheduler = make(tmp_path, [daily(retries=2)], run, backoff=0.01, sleep=delays.append)
    scheduler.tick(at(10, 5))
    scheduler.tick(at(10, 6))
    scheduler.wait()
    assert len(run.calls) == 2 and delays == [0.01]
    assert not scheduler.notifications_path.exists()
    scheduler.shutdown()

    def refuses(*args, **kwargs):
        refuses.calls += 1
        raise ValueError("unknown parameter 'dat'")

    refuses.calls = 0
    other = Scheduler([daily("other", retries=3)], tmp_path / "state2", refuses, sleep=lambda s: None)
    other.tick(at(10, 5))
    other.tick(at(10, 6))
    other.wait()
    assert refuses.calls == 1
    assert "unknown parameter" in other.notifications()[0]["error"]
    other.shutdown()


def test_hook_failure_does_not_stop_the_scheduler(tmp_path):
    def broken_mail(event):
        raise OSError("smtp down")

    scheduler = make(tmp_path, [daily(retries=0)], FakeRun(failures=1), notify=broken_mail)
    scheduler.tick(at(10, 5))
    scheduler.tick(at(10, 6))
    scheduler.wait()
    assert scheduler.notifications()[0]["event"] == "report_failed"
    scheduler.shutdown()


def test_concurrency_limit(tmp_path):
    run = FakeRun(delay=0.2)
    schedules = [daily(f"r{i}") for i in range(6)]
    scheduler = make(tmp_path, schedules, run, concurrency=2)
    scheduler.tick(at(10, 5))
    started = time.monotonic()
    assert len(scheduler.tick(at(10, 6))) == 6
    scheduler.wait()
    assert len(run.calls) == 6
    assert run.peak == 2
    assert time.monotonic() - started >= 0.55  # three waves of two
    scheduler.shutdown()


def test_smtp_hook_off_by_default_and_sends_when_configured(monkeypatch):
    from occidata.config import DEFAULTS
    from occidata.reports import schedule as module

    assert module.smtp_hook(DEFAULTS["reports"]["smtp"]) is None
    sent = []

    class FakeSMTP:
        def __init__(self, host, port, timeout):
            sent.append((host, port))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def send_message(self, message):
            sent.append(message)

    monkeypatch.setattr(module.smtplib, "SMTP", FakeSMTP)
    hook = module.smtp_hook({**DEFAULTS["reports"]["smtp"], "host": "mail.example", "to": ["ops@example.org"]})
    hook({"schedule": "air", "error": "boom"})
    assert sent[0] == ("mail.example", 25)
    assert "air" in sent[1]["Subject"] and sent[1]["To"] == "ops@example.org"
