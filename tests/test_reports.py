"""occidata.reports: parameters checked before anything runs, papermill runs archived atomically."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from occidata.reports.archive import HTML_FILE, NOTEBOOK_FILE, RECORD_FILE, SUMMARY_FILE, RunRecord, latest_run, list_runs
from occidata.reports.parameters import ParameterError, check_parameters, read_parameters
from occidata.reports.runner import ReportError, new_run_id, run_report

NOTEBOOKS = Path(__file__).parent / "data" / "notebooks"
QUICK = NOTEBOOKS / "quick_report.ipynb"
FAILING = NOTEBOOKS / "failing_report.ipynb"
REPO_ROOT = Path(__file__).resolve().parent.parent


def write_notebook(path: Path, parameters_source: str | None, tagged: bool = True) -> Path:
    """A minimal notebook whose first code cell holds ``parameters_source``."""
    cell = {"cell_type": "code", "metadata": {"tags": ["parameters"] if tagged else []}, "source": parameters_source or "",
            "outputs": [], "execution_count": None}
    path.write_text(json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def leftovers(root: Path) -> list[Path]:
    """Partial run folders and temporary files anywhere under ``root``."""
    return [p for p in root.rglob("*") if p.name.endswith(".partial") or p.name.endswith(".tmp")]


# -- parameters (pure) ---------------------------------------------------------------------------

def test_parameters_are_read_with_types_and_allowed_values():
    params = read_parameters(QUICK)
    assert list(params) == ["pollutant", "hour", "date", "scale", "department", "details"]
    assert params["pollutant"].type == "str" and params["pollutant"].choices == ("NO2", "PM10", "O3")
    assert params["pollutant"].help == "pollutant of the report"
    assert params["hour"].type == "int" and params["hour"].range == (0, 23) and params["hour"].default == 14
    assert params["date"].format == "YYYY-MM-DD"
    assert params["scale"].type == "float" and params["scale"].range == (0.0, 10.0)
    assert params["department"].type == "none" and params["department"].default is None
    assert params["details"].type == "bool"


def test_cli_strings_are_coerced_to_the_declared_types():
    checked = check_parameters(QUICK, {"hour": "7", "scale": "2", "department": "31", "details": "yes",
                                       "pollutant": "PM10", "date": "2024-02-29"})
    assert checked == {"hour": 7, "scale": 2.0, "department": "31", "details": True, "pollutant": "PM10",
                       "date": "2024-02-29"}
    assert check_parameters(QUICK, {"department": "none"}) == {"department": None}
    assert check_parameters(QUICK, {"hour": 23, "scale": 3, "details": False}) == {"hour": 23, "scale": 3.0, "details": False}
    assert check_parameters(QUICK, {}) == {}


def test_a_pollutant_parameter_takes_the_common_spellings():
    # Choices that are all pollutants: "pm10" is PM10, as everywhere on the platform (occidata.pollutants).
    assert check_parameters(QUICK, {"pollutant": "pm10"}) == {"pollutant": "PM10"}
    assert check_parameters(QUICK, {"pollutant": " no2 "}) == {"pollutant": "NO2"}
    daily = REPO_ROOT / "notebooks" / "air_quality" / "daily_report.ipynb"
    assert check_parameters(daily, {"pollutant": "o3"}) == {"pollutant": "O3"}
    with pytest.raises(ParameterError, match=r"parameter 'pollutant': 'SO2' is not one of NO2, PM10, O3"):
        check_parameters(QUICK, {"pollutant": "so2"})


@pytest.mark.parametrize("given, message", [
    ({"hours": "3"}, r"quick_report.ipynb: unknown parameter 'hours'; did you mean 'hour'\?"),
    ({"zzz": "3"}, r"unknown parameter 'zzz' \(parameters: pollutant, hour, date"),
    ({"hour": "fourteen"}, r"parameter 'hour': 'fourteen' is not an integer in 0..23"),
    ({"hour": "2.5"}, r"parameter 'hour': '2.5' is not an integer"),
    ({"hour": "24"}, r"parameter 'hour': 24 is out of range; expected an integer in 0..23"),
    ({"hour": True}, r"parameter 'hour': True is not an integer"),
    ({"scale": "-1"}, r"parameter 'scale': -1.0 is out of range; expected a number in 0.0..10.0"),
    ({"scale": "big"}, r"parameter 'scale': 'big' is not a number"),
    ({"pollutant": "SO2"}, r"parameter 'pollutant': 'SO2' is not one of NO2, PM10, O3"),
    ({"pollutant": 3}, r"parameter 'pollutant': 3 is not one of NO2, PM10, O3"),
    ({"date": "2024-02-30"}, r"parameter 'date': '2024-02-30' is not a valid date formatted YYYY-MM-DD"),
    ({"date": "16/03/2024"}, r"is not a valid date formatted YYYY-MM-DD"),
    ({"date": "2024-3-1"}, r"is not a valid date formatted YYYY-MM-DD"),
    ({"details": "maybe"}, r"parameter 'details': 'maybe' is not true or false"),
])
def test_bad_parameters_are_refused_with_what_is_allowed(given, message):
    with pytest.raises(ParameterError, match=message):
        check_parameters(QUICK, given)


def test_parameter_error_is_a_value_error():
    assert issubclass(ParameterError, ValueError)


def test_a_notebook_without_parameters_cell_is_an_error_naming_it(tmp_path):
    path = write_notebook(tmp_path / "untagged.ipynb", "x = 1", tagged=False)
    with pytest.raises(ParameterError, match=r"untagged.ipynb: no code cell tagged 'parameters'"):
        read_parameters(path)
    with pytest.raises(ParameterError, match=r"missing.ipynb: no such notebook"):
        check_parameters(tmp_path / "missing.ipynb", {})


@pytest.mark.parametrize("source, message", [
    ("x = 1 +", "not valid Python"),
    ("x = len([1])", "the default of 'x' must be a literal"),
    ("x = [1, 2]", "'x' must default to a str, int, float, bool or None"),
    ("print(1)", r"expected 'name = literal  # comment'"),
    ("x = 1  # meaning; range: 1-3", "'range:' must be written low..high"),
])
def test_malformed_parameters_cells_are_reported(tmp_path, source, message):
    with pytest.raises(ParameterError, match=message):
        read_parameters(write_notebook(tmp_path / "bad.ipynb", source))


def test_comment_conventions_edge_cases(tmp_path):
    path = write_notebook(tmp_path / "edge.ipynb", (
        'label = "a # b"  # text with a hash; one of: a # b, c\n'
        "level = 2  # level; one of: 1, 2, 3\n"
        "threshold = 0.5  # open range; range: 0..\n"
    ))
    params = read_parameters(path)
    assert params["label"].default == "a # b" and params["label"].choices == ("a # b", "c")
    assert params["level"].choices == (1, 2, 3)
    assert params["threshold"].range == (0.0, None)
    assert check_parameters(path, {"level": "3", "threshold": "1e6"}) == {"level": 3, "threshold": 1e6}
    with pytest.raises(ParameterError, match="4 is not one of 1, 2, 3"):
        check_parameters(path, {"level": "4"})


def test_run_ids_sort_in_time_order():
    import datetime as dt

    early = new_run_id(dt.datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=dt.timezone.utc))
    late = new_run_id(dt.datetime(2026, 1, 2, 3, 4, 5, 7000, tzinfo=dt.timezone.utc))
    assert early.startswith("20260102T030405.006Z-") and early < late


def test_run_record_round_trips(tmp_path):
    record = RunRecord(name="r", run_id="1", notebook="n.ipynb", parameters={"a": 1}, error={"name": "E"},
                       folder=str(tmp_path))
    assert RunRecord.from_dict(json.loads(json.dumps(record.to_dict()))) == record
    assert RunRecord.from_dict({**record.to_dict(), "future_field": 1}) == record
    assert record.html_path == tmp_path / HTML_FILE


# -- refused before anything runs ----------------------------------------------------------------

@pytest.mark.parametrize("given", [{"hours": "3"}, {"hour": "x"}, {"pollutant": "SO2"}, {"date": "2024-13-01"}])
def test_bad_parameters_start_no_kernel_and_create_no_run_folder(tmp_path, monkeypatch, given):
    import papermill

    def no_kernel(*args, **kwargs):
        raise AssertionError("papermill must not run on bad parameters")

    monkeypatch.setattr(papermill, "execute_notebook", no_kernel)
    archive = tmp_path / "archive"
    with pytest.raises(ParameterError):
        run_report(QUICK, given, archive_dir=archive)
    assert not archive.exists()


def test_unknown_kernel_is_refused_before_running(tmp_path):
    with pytest.raises(ReportError, match="no kernel 'no-such-kernel' installed"):
        run_report(QUICK, {}, kernel="no-such-kernel", archive_dir=tmp_path / "archive")
    assert not (tmp_path / "archive").exists()


# -- real papermill runs on the occidata-cpu kernel ----------------------------------------------

@pytest.fixture
def report_env(tiny_data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("OCCIDATA_DATA_DIR", str(tiny_data_dir))
    monkeypatch.setenv("OCCIDATA_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("OCCIDATA_REPORT_SUMMARY", raising=False)
    return tmp_path / "archive"


@pytest.mark.notebook
def test_a_report_run_archives_notebook_html_summary_and_record(report_env):
    archive = report_env
    record = run_report(QUICK, {"hour": "3", "pollutant": "O3", "department": "none"}, archive_dir=archive)
    assert record.status == "ok" and record.error is None, record.error
    folder = Path(record.folder)
    assert folder.parent == archive / "quick_report" and folder.name == record.run_id
    assert {p.name for p in folder.iterdir()} == {NOTEBOOK_FILE, HTML_FILE, SUMMARY_FILE, RECORD_FILE}
    assert leftovers(archive) == []

    summary = json.loads((folder / SUMMARY_FILE).read_text())  # the kernel saw the run's summary path
    assert summary["results"]["hour"] == 3 and summary["results"]["doubled"] == 6
    assert summary["results"]["pollutant"] == "O3" and summary["results"]["department"] is None
    assert summary["results"]["rows"] > 0

    executed = (folder / NOTEBOOK_FILE).read_text()
    assert f"CWD {folder.with_name(record.run_id + '.partial')}" in executed  # cwd = the run folder
    html = (folder / HTML_FILE).read_text()
    assert "PARAMS pollutant=O3 hour=3" in html  # outputs kept
    assert "record_summary" not in html and "catalog.load" not in html  # no code
    assert "Bathing sites" in html

    stored = json.loads((folder / RECORD_FILE).read_text())
    assert stored["status"] == "ok" and stored["kernel"] == "occidata-cpu"
    assert stored["parameters"] == {"pollutant": "O3", "hour": 3, "date": "2024-07-01", "scale": 1.5,
                                    "department": None, "details": False}
    assert stored["started"] < stored["finished"] and stored["duration_s"] > 0
    assert {"python", "occidata", "papermill", "numpy", "numba"} <= set(stored["versions"])
    read = [d for d in stored["datasets"] if d["name"] == "bathing_water"]
    assert read and all(len(sha) == 64 for sha in read[0]["checksums"].values())
    assert RunRecord.from_dict(stored) == record
    assert list_runs(archive) == [record] and latest_run(archive, "quick_report") == record
    import os
    assert "OCCIDATA_REPORT_SUMMARY" not in os.environ  # restored


@pytest.mark.notebook
def test_a_failing_notebook_is_archived_as_failed_with_traceback_and_partial_notebook(report_env):
    archive = report_env
    record = run_report(FAILING, {}, archive_dir=archive, timeout=60)
    assert record.status == "failed"
    assert record.error["name"] == "ZeroDivisionError" and record.error["message"] == "division by zero"
    assert "1 / divisor" in record.error["traceback"] and "\x1b[" not in record.error["traceback"]
    folder = Path(record.folder)
    assert json.loads((folder / RECORD_FILE).read_text())["status"] == "failed"
    executed = json.loads((folder / NOTEBOOK_FILE).read_text())
    outputs = [o for cell in executed["cells"] if cell["cell_type"] == "code" for o in cell.get("outputs", [])]
    assert any("before the failure" in "".join(o.get("text", "")) for o in outputs)  # the partial run is kept
    assert any(o.get("ename") == "ZeroDivisionError" for o in outputs)
    assert "never reached" not in "".join("".join(o.get("text", "")) for o in outputs)
    assert (folder / HTML_FILE).is_file()
    assert leftovers(archive) == []
    assert latest_run(archive, "failing_report", status="failed") == record


@pytest.mark.notebook
def test_a_cell_past_the_timeout_fails_the_run(report_env):
    archive = report_env
    record = run_report(FAILING, {"sleep": "30"}, archive_dir=archive, timeout=2)
    assert record.status == "failed" and record.error["name"] == "CellTimeoutError"
    assert record.duration_s < 25
    assert "time.sleep(sleep)" in record.error["traceback"] or "time.sleep(sleep)" in record.error["message"]
    assert (Path(record.folder) / NOTEBOOK_FILE).is_file() and leftovers(archive) == []


@pytest.mark.notebook
def test_runs_are_listed_newest_first_and_partial_runs_are_hidden(report_env):
    archive = report_env
    first = run_report(QUICK, {"hour": "1"}, archive_dir=archive)
    second = run_report(QUICK, {"hour": "2"}, archive_dir=archive)
    (archive / "quick_report" / "29990101T000000.000Z-abcdef.partial").mkdir()  # a run being written
    assert [r.run_id for r in list_runs(archive, "quick_report")] == [second.run_id, first.run_id]
    assert list_runs(archive, "nothing") == [] and list_runs(archive / "absent") == []
    with pytest.raises(ReportError, match="already exists"):
        run_report(QUICK, {}, archive_dir=archive, run_id=first.run_id)


# -- the command line ----------------------------------------------------------------------------

def occidata(*args, env_dir: Path, data_dir: Path) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, "OCCIDATA_DATA_DIR": str(data_dir), "OCCIDATA_STATE_DIR": str(env_dir / "state")}
    env.pop("OCCIDATA_REPORT_SUMMARY", None)
    return subprocess.run([sys.executable, "-m", "occidata.cli", *args], capture_output=True, text=True,
                          env=env, cwd=REPO_ROOT, timeout=240)


@pytest.mark.notebook
def test_cli_report_run_and_list(tiny_data_dir, tmp_path):
    archive = tmp_path / "archive"
    done = occidata("report", "run", str(QUICK), "-p", "hour", "5", "-p", "pollutant", "PM10", "--archive", str(archive),
                    env_dir=tmp_path, data_dir=tiny_data_dir)
    assert done.returncode == 0, done.stderr
    assert "Report quick_report ran in" in done.stdout
    [record] = list_runs(archive)
    assert record.parameters["hour"] == 5 and record.parameters["pollutant"] == "PM10"
    listed = occidata("report", "list", "quick_report", "--archive", str(archive), env_dir=tmp_path, data_dir=tiny_data_dir)
    assert listed.returncode == 0 and record.run_id in listed.stdout and "hour=5" in listed.stdout

    failed = occidata("report", "run", str(FAILING), "--archive", str(archive), env_dir=tmp_path, data_dir=tiny_data_dir)
    assert failed.returncode == 1
    assert "report failing_report failed (ZeroDivisionError: division by zero)" in failed.stderr
    assert str(archive / "failing_report") in failed.stderr
    assert "Traceback" not in failed.stderr


@pytest.mark.parametrize("args, message", [
    (["-p", "hours", "3"], "unknown parameter 'hours'; did you mean 'hour'?"),
    (["-p", "hour", "noon"], "parameter 'hour': 'noon' is not an integer in 0..23"),
    (["-p", "pollutant", "CO"], "parameter 'pollutant': 'CO' is not one of NO2, PM10, O3"),
])
def test_cli_bad_parameters_exit_2_with_one_line(tmp_path, args, message):
    archive = tmp_path / "archive"
    done = occidata("report", "run", str(QUICK), *args, "--archive", str(archive), env_dir=tmp_path, data_dir=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not archive.exists()


def test_cli_missing_notebook_and_bad_kernel_exit_2(tmp_path):
    done = occidata("report", "run", str(tmp_path / "nope.ipynb"), env_dir=tmp_path, data_dir=tmp_path)
    assert done.returncode == 2 and "nope.ipynb: no such notebook" in done.stderr
    done = occidata("report", "run", str(QUICK), "--kernel", "other", env_dir=tmp_path, data_dir=tmp_path)
    assert done.returncode == 2 and "invalid choice" in done.stderr


@pytest.mark.notebook
def test_the_scheduler_runs_a_real_report_in_a_child_process_once(report_env, tmp_path):
    """The service's path end to end: a due schedule, a spawned worker, papermill, the archive."""
    import datetime as dt

    from occidata.reports.schedule import Scheduler, parse_schedules
    from occidata.reports.service import isolated_runner

    schedules = parse_schedules([{
        "name": "bain-test", "notebook": "tests/data/notebooks/quick_report.ipynb",
        "cron": "0 6 * * *", "parameters": {"hour": 3, "date": "{yesterday}"},
    }], "test schedules")
    archive = report_env
    monday = dt.datetime(2026, 6, 8, 3, 0, tzinfo=dt.timezone.utc)
    run, pool = isolated_runner(1)
    try:
        scheduler = Scheduler(schedules, tmp_path / "state", run, archive_dir=archive, concurrency=1,
                              notebooks_root=REPO_ROOT, clock=lambda: monday)
        assert scheduler.tick(monday) == []  # first sight: starts from now, runs nothing old
        scheduler.tick(monday + dt.timedelta(days=1))  # 06:00 Paris on the 8th has passed
        scheduler.wait(timeout=240)
        scheduler.shutdown()  # a restart: the first one stops, then the next one starts
        again = Scheduler(schedules, tmp_path / "state", run, archive_dir=archive, concurrency=1,
                          notebooks_root=REPO_ROOT, clock=lambda: monday)  # a restart
        assert again.tick(monday + dt.timedelta(days=1)) == []  # never duplicated
        again.shutdown()
    finally:
        pool.shutdown()
    runs = list_runs(archive)
    assert len(runs) == 1, runs
    assert runs[0].status == "ok", runs[0].error
    assert runs[0].parameters["hour"] == 3 and runs[0].parameters["date"] == "2026-06-07"
    assert leftovers(archive) == []


SLOW_SCHEDULER = """
import datetime as dt, sys, time
from pathlib import Path
from occidata.reports.schedule import Scheduler, parse_schedules
from occidata.reports.service import isolated_runner

notebook, state, archive = sys.argv[1:4]
schedules = parse_schedules([{"name": "lent", "notebook": notebook, "cron": "0 6 * * *", "retries": 0}], "test")
monday = dt.datetime(2026, 6, 8, 3, 0, tzinfo=dt.timezone.utc)
run, pool = isolated_runner(1)
scheduler = Scheduler(schedules, state, run, archive_dir=archive, concurrency=1, clock=lambda: monday)
scheduler.tick(monday)
scheduler.tick(monday + dt.timedelta(days=1))
print("fired", flush=True)
time.sleep(600)
"""


def slow_notebook(path: Path, seconds: int) -> Path:
    """A report that takes ``seconds`` to run, then archives a summary."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"name": "occidata-cpu", "display_name": "Occidata (CPU)", "language": "python"}}
    parameters = nbformat.v4.new_code_cell(f"seconds = {seconds}  # how long the report takes; range: 0..600")
    parameters.metadata["tags"] = ["parameters"]
    nb.cells = [parameters, nbformat.v4.new_code_cell(
        "import time\nfrom occidata.reports.summary import record_summary\n"
        "time.sleep(seconds)\nrecord_summary({'secondes': seconds})")]
    nbformat.write(nb, str(path))
    return path


@pytest.mark.notebook
def test_a_scheduler_killed_mid_report_leaves_one_consistent_record(report_env, tmp_path):
    """kill -9 of the scheduler's process mid-run: its worker and the worker's kernel die with
    it (before, the orphaned worker finished and archived the run as successful while the next
    scheduler recorded it as interrupted); the next scheduler records the run interrupted, once."""
    import datetime as dt
    import signal

    from occidata.processes import platform_processes
    from occidata.reports.schedule import Scheduler, parse_schedules

    notebook = slow_notebook(tmp_path / "lent.ipynb", seconds=20)
    state, archive = tmp_path / "state", report_env
    # Marked as the hub marks what it starts (occidata.processes), so that it can be counted.
    env = {**os.environ, "OCCIDATA_STATE_DIR": str(state), "JUPYTERHUB_API_URL": "http://127.0.0.1:9/hub/api"}
    scheduler = subprocess.Popen([sys.executable, "-c", SLOW_SCHEDULER, str(notebook), str(state), str(archive)],
                                 env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert scheduler.stdout.readline().strip() == "fired"
        deadline = time.monotonic() + 60  # the worker and its kernel start
        while len(platform_processes(state)) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(platform_processes(state)) >= 3, "scheduler, worker and kernel should be running"
        time.sleep(2)
        scheduler.send_signal(signal.SIGKILL)
        scheduler.wait()
    finally:
        if scheduler.poll() is None:
            scheduler.kill()
    deadline = time.monotonic() + 15
    while platform_processes(state) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert platform_processes(state) == [], "the worker or its kernel outlived the scheduler"

    schedules = parse_schedules([{"name": "lent", "notebook": str(notebook), "cron": "0 6 * * *"}], "test")
    monday = dt.datetime(2026, 6, 9, 3, 0, tzinfo=dt.timezone.utc)
    restarted = Scheduler(schedules, state, lambda *a, **k: None, archive_dir=archive, clock=lambda: monday)
    restarted.shutdown()
    fires = json.loads(restarted.state_path.read_text())["schedules"]["lent"]["fires"]
    assert [fire["status"] for fire in fires.values()] == ["interrupted"]
    time.sleep(25)  # past the time the run would have taken: nothing finishes it behind our back
    assert list_runs(archive) == []
