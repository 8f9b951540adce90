"""Every curated notebook and dashboard runs as shipped (issue 14).

Each notebook under notebooks/ and each dashboard under voila_apps/ is run top to bottom on its
default parameters (no parameter injected), as a researcher pressing « Run All » in the lab would:
papermill on the occidata-cpu kernel, in the notebook's own folder (a copy), without the report
runner's summary path, with Jupyter Server's ``JPY_SESSION_NAME``. The data are those `make up`
builds (`occidata data build`, size demo), then the same after every real ATMO export that
``air_quality_hourly`` takes has been ingested with the real CLI. The scheduled reports run through
the report runner on the parameters their schedules give them today.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import papermill
import pytest

from occidata.datasets.sources import real_data_dir
from occidata.reports.runner import run_report
from occidata.reports.schedule import read_schedules

pytestmark = [pytest.mark.notebook, pytest.mark.slow]

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").rglob("*.ipynb"))
DASHBOARDS = sorted((REPO / "voila_apps").glob("*.ipynb"))
# Their audience: researchers of hub group `partner`, whose lab gets OCCIDATA_ACCESS_LEVELS=partner.
PARTNER_NOTEBOOKS = {"leaks_and_waste"}
# The hourly export: the one `occidata data ingest air_quality_hourly` must take.
HOURLY_EXPORT = "Mesure_72h_Region_Occitanie_Polluants_Principaux_2020-03-14.csv"
ERROR_PAGE = "od-notice od-notice-error"  # a dashboard's "Données indisponibles" page


def occidata(*args: str, data_dir: Path, state_dir: Path) -> subprocess.CompletedProcess:
    """The real command line, as a steward types it."""
    env = {**os.environ, "OCCIDATA_DATA_DIR": str(data_dir), "OCCIDATA_STATE_DIR": str(state_dir)}
    return subprocess.run([sys.executable, "-m", "occidata.cli", *args], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=600)


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory) -> Path:
    """The demo data `make up` builds (`occidata up` builds size demo, as `occidata data build` does)."""
    data_dir = tmp_path_factory.mktemp("demo-data")
    done = occidata("data", "build", "--size", "demo", data_dir=data_dir, state_dir=data_dir.parent / "build-state")
    assert done.returncode == 0, done.stderr
    return data_dir


@pytest.fixture(scope="session")
def ingested_data(demo_data, tmp_path_factory) -> Path:
    """The demo data plus every real ATMO export air_quality_hourly takes, ingested with the CLI."""
    data_dir = tmp_path_factory.mktemp("ingested") / "data"
    shutil.copytree(demo_data, data_dir, symlinks=True)
    exports = sorted((real_data_dir() / "atmo").glob("*.csv"))
    assert HOURLY_EXPORT in [f.name for f in exports]
    taken = []
    for export in exports:
        done = occidata("data", "ingest", "air_quality_hourly", str(export), data_dir=data_dir,
                        state_dir=data_dir.parent / "state")
        # A monthly or annual export may be refused, with one line naming the file; never with a traceback.
        assert done.returncode in (0, 2) and "Traceback" not in done.stderr, done.stderr
        if done.returncode == 0:
            taken.append(export.name)
    assert HOURLY_EXPORT in taken
    return data_dir


@pytest.fixture(params=["demo", "ingested"])
def data_dir(request) -> Path:
    return request.getfixturevalue(f"{request.param}_data")


@pytest.fixture
def lab(data_dir, tmp_path, monkeypatch) -> Path:
    """A researcher's lab environment: the data, their own home and state, no report summary path."""
    monkeypatch.setenv("OCCIDATA_DATA_DIR", str(data_dir))
    monkeypatch.setenv("OCCIDATA_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "home" / ".local" / "state"))
    monkeypatch.delenv("OCCIDATA_REPORT_SUMMARY", raising=False)
    monkeypatch.delenv("OCCIDATA_ACCESS_LEVELS", raising=False)
    return tmp_path


def run_all(notebook: Path, lab: Path, monkeypatch) -> tuple[nbformat.NotebookNode, Path]:
    """« Run All » on a copy of ``notebook`` in its own folder; the executed notebook and the folder."""
    folder = lab / "lab" / notebook.parent.name
    folder.mkdir(parents=True)
    copy = folder / notebook.name
    shutil.copy(notebook, copy)
    monkeypatch.setenv("JPY_SESSION_NAME", str(copy))  # as Jupyter Server sets it for the notebook's kernel
    if notebook.stem in PARTNER_NOTEBOOKS:
        monkeypatch.setenv("OCCIDATA_ACCESS_LEVELS", "partner")
    executed = lab / "executed" / notebook.name
    executed.parent.mkdir()
    papermill.execute_notebook(str(copy), str(executed), kernel_name="occidata-cpu", cwd=str(folder),
                               progress_bar=False)
    assert sorted(p.name for p in folder.iterdir()) == [notebook.name], "the run wrote beside the notebook"
    return nbformat.read(executed, as_version=4), folder


def outputs(nb: nbformat.NotebookNode) -> list[dict]:
    return [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]


def text_of(output: dict) -> str:
    return "".join(output.get("text", "")) + "".join(output.get("data", {}).get("text/plain", ""))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: str(p.relative_to(REPO / "notebooks")))
def test_notebook_runs_as_shipped(notebook, lab, monkeypatch):
    executed, folder = run_all(notebook, lab, monkeypatch)
    assert not [text_of(o) for o in outputs(executed) if o.get("name") == "stderr"]  # no warning on the page
    # Its summary is the researcher's own, never beside the (shared, maybe read-only) notebook, and it says where.
    summary = lab / "home" / ".local" / "state" / "occidata" / "summaries" / notebook.stem / "summary.json"
    document = json.loads(summary.read_text())
    assert document["datasets"]
    assert f"Résumé enregistré dans {summary}" in text_of(outputs(executed)[-1])
    results = document["results"]
    if notebook.stem == "daily_report":  # every station of the report has its index, aligned by code
        codes = [s["station_code"] for s in results["stations"]]
        assert len(codes) == len(set(codes)) == results["n_stations"] > 0
        assert set(results["map"]["station_values"]) <= set(codes)
    if notebook.stem == "mobility_patterns" and results["no2_values_in_period"]:
        # Stations of other years (the ingested 2020 export) never take a counter from one measuring then.
        assert all(c["no2_mean_period"] is not None for c in results["counters"])


@pytest.mark.parametrize("dashboard", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_runs_as_shipped(dashboard, lab, monkeypatch):
    executed, _ = run_all(dashboard, lab, monkeypatch)
    page = json.dumps(executed)  # the page lives in the widgets' state
    assert "od-dashboard" in page
    assert ERROR_PAGE not in page and "occidata.dashboards[" not in page
    assert not [o for o in outputs(executed) if o.get("name") == "stderr" or o["output_type"] == "error"]


SCHEDULES = read_schedules(REPO / "hub" / "report_schedules.yaml")
# The parameter naming each scheduled notebook's period (None: the latest period in the data).
PERIOD_PARAMETER = {"daily_report": "date", "annual_assessment": "year", "heatwave_watch": "summer",
                    "season_classification": "last_season"}


@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: s.name)
def test_scheduled_report_runs_today(schedule, lab):
    """Today's parameters (``{yesterday}``, ``{year}``…) ask for periods after the demo data: the
    report covers the last period measured and says so first, in French, and in its summary."""
    parameters = schedule.resolve_parameters(dt.datetime.now(dt.timezone.utc))
    record = run_report(REPO / schedule.notebook, parameters, kernel=schedule.kernel, timeout=schedule.timeout,
                        archive_dir=lab / "archive")
    assert record.status == "ok", record.error
    period = json.loads(record.summary_path.read_text())["results"]["report_period"]
    asked = parameters.get(PERIOD_PARAMETER[Path(schedule.notebook).stem])
    if asked is not None:
        assert period["requested"] == asked
    assert period["reported"] <= period["requested"]
    first = text_of(outputs(nbformat.read(Path(record.folder) / "notebook.ipynb", as_version=4))[0])
    if period["stale"]:
        assert first.startswith("⚠ Pas encore de mesures pour ")
        assert (period.get("delay_days") or period.get("delay_years")) > 0
        assert "Pas encore de mesures pour " in (Path(record.folder) / "report.html").read_text()
    if "date" in parameters:  # the demo data end in 2024: yesterday is always after them
        assert period["stale"] and period["reported"] < parameters["date"]
        assert f"le {dt.date.fromisoformat(period['reported']):%d/%m/%Y}" in first
