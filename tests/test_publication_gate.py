"""The GDPR publication gate (issue 7): real papermill runs in the occidata-cpu kernel, tiny data."""

from __future__ import annotations

import json
import logging

import nbformat
import pandas as pd
import pytest

from occidata import cli
from occidata.config import load_config
from occidata.dashboards import gate, snapshots
from occidata.privacy.audit import query_audit, read_audit, verify_audit
from occidata.privacy.pseudonyms import load_or_create_key, pseudonymise
from occidata.reports.runner import run_report

KERNELSPEC = {"name": "occidata-cpu", "display_name": "Occidata (CPU)", "language": "python"}


def write_notebook(path, *cells, parameters: str | None = None, metadata: dict | None = None):
    """A notebook of ``cells`` (strings: code; ("md", text): markdown) for the occidata-cpu kernel."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": KERNELSPEC, **(metadata or {})}
    if parameters is not None:
        cell = nbformat.v4.new_code_cell(parameters)
        cell.metadata["tags"] = ["parameters"]
        nb.cells.append(cell)
    for cell in cells:
        nb.cells.append(nbformat.v4.new_markdown_cell(cell[1]) if isinstance(cell, tuple)
                        else nbformat.v4.new_code_cell(cell))
    nbformat.write(nb, str(path))
    return path


@pytest.fixture
def env(tiny_data_dir, tmp_path, monkeypatch):
    """Tiny data, a fresh state directory, a temporary apps folder; the caller holds every level
    (the gate must still run with public access only)."""
    monkeypatch.setenv("OCCIDATA_DATA_DIR", str(tiny_data_dir))
    monkeypatch.setenv("OCCIDATA_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("OCCIDATA_DASHBOARDS__APPS_DIR", str(tmp_path / "apps"))
    monkeypatch.setenv("OCCIDATA_ACCESS_LEVELS", "partner,restricted:health_admissions")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "not-for-the-gate")
    (tmp_path / "apps").mkdir()
    return tmp_path


SMALL_COUNTS = [
    ("md", "# Admissions par département"),
    "import pandas as pd\n"
    "pd.DataFrame({'department': ['09', '11', '31'], 'n': [25, 3, 40]})",
    "from IPython.display import HTML\n"
    "from occidata.dashboards import render\n"
    "frame = pd.DataFrame({'commune': ['Foix', 'Pamiers'], 'cas': [12.0, 4.0]})\n"
    "HTML(render.html_table(frame, caption='Cas', columns={'commune': 'Commune', 'cas': 'Nombre de cas'}))",
]

SUPPRESSED = [
    ("md", "# Admissions par département et par sexe"),
    "import pandas as pd\n"
    "from occidata.privacy.suppression import suppress_small_cells\n"
    "table = pd.DataFrame({'department': ['09', '09', '11', '11', '31', '31'], 'sex': ['F', 'M'] * 3,\n"
    "                      'n': [25, 3, 14, 30, 40, 52]})\n"
    "safe = suppress_small_cells(table, count='n', k=11)\n"
    "safe",
]


# --- the rules, without a kernel -----------------------------------------------------------------


@pytest.mark.parametrize("label, expected", [
    ("n", True), ("N", True), ("count", True), ("Effectif", True), ("Nombre de séjours", True),
    ("nombre d'admissions", True), ("n_admissions", True), ("admissions_count", True), ("patients", True),
    ("Cas", True), ("admissions (semaine)", True),
    ("taux d'admissions", False), ("admissions (%)", False), ("N° de station", False), ("département", False),
    ("part des patients", False), ("cas pour 100 000", False), ("moyenne", False), ("", False),
])
def test_count_columns_are_named_by_their_header(label, expected):
    assert gate.is_count_column(label) is expected


def test_metadata_may_add_count_columns_but_never_exempt_one():
    assert gate.is_count_column("séjours", extra=["Séjours"])
    assert gate.is_count_column("n", extra=[])


@pytest.mark.parametrize("value, expected", [
    ("3", 3), ("3.0", 3), ("3,000000", 3), (3, 3), (10.0, 10), ("11", None), ("0", None), ("", None),
    ("<11", None), ("—", None), ("NaN", None), ("<NA>", None), ("2.5", None), (float("nan"), None),
    ("1 234", None), ("3 000", None), ("s", None), (True, None),
])
def test_small_counts_are_whole_numbers_from_1_to_k_minus_1(value, expected):
    assert gate.small_count(value, 11) == expected


def test_pandas_html_with_a_named_index_and_table_schema_output_are_read():
    frame = pd.DataFrame({"n": [30, 2], "taux": [1.5, 2.0]}, index=pd.Index(["09", "11"], name="department"))
    resource = json.loads(frame.reset_index().to_json(orient="table"))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x", outputs=[nbformat.v4.new_output(
                    "execute_result", data={"text/html": frame.to_html(), "text/plain": "x"}, execution_count=1)]),
                nbformat.v4.new_code_cell("y", outputs=[nbformat.v4.new_output(
                    "display_data", data={"application/vnd.dataresource+json": resource})])]
    findings = gate.scan_outputs(nb)
    assert [(f["where"], f["table"], f["column"], f["row"], f["value"]) for f in findings] == [
        ("cell 1", 1, "n", 2, 2), ("cell 2", 1, "n", 2, 2)]


# --- the gate, with real kernels ---------------------------------------------------------------------


def test_a_notebook_reading_restricted_data_is_refused_and_not_installed(env):
    notebook = write_notebook(
        env / "admissions-brutes.ipynb",
        ("md", "# Admissions"),
        "from occidata import catalog",
        "try:\n    admissions = catalog.load('health_admissions')\nexcept PermissionError:\n    admissions = None",
        "try:\n    meters = catalog.load('building_meters')\nexcept PermissionError:\n    meters = None")
    with pytest.raises(gate.PublicationRefused) as refused:
        gate.publish_notebook(notebook, approved_by="claire.steward")
    reasons = refused.value.result.reasons
    assert any(r.startswith("reads restricted data: health_admissions (cell 3)") for r in reasons), reasons
    assert any(r.startswith("reads partner data: building_meters (cell 4)") for r in reasons), reasons
    assert not (env / "apps" / "admissions-brutes.ipynb").exists()
    log = env / "state" / "logs" / "audit.jsonl"
    assert verify_audit(log) == []
    records = query_audit(log, event="publication")
    assert [(r["what"], r["outcome"], "by" in r) for r in records] == [("admissions-brutes", "refused", False)]


def test_check_publication_names_the_cell_and_column_of_a_small_count(env):
    notebook = write_notebook(env / "petits-effectifs.ipynb", *SMALL_COUNTS)
    result = gate.check_publication(notebook, cfg=load_config())
    assert not result.ok
    assert "cell 2, table 1, column 'n', row 2: count 3 is under 11" in result.reasons
    assert "cell 3, table 1, column 'Nombre de cas', row 2: count 4 is under 11" in result.reasons
    assert len(result.reasons) == 2 and result.run.ok


def test_a_failing_notebook_is_refused_with_its_error(env):
    notebook = write_notebook(env / "erreur.ipynb", "x = 1", "undefined_name + 1")
    result = gate.check_publication(notebook)
    assert result.reasons == ["execution failed in cell 2: NameError: name 'undefined_name' is not defined"]


def test_suppressed_counts_pass_are_installed_and_the_approval_is_audited(env):
    notebook = write_notebook(env / "admissions-sexe.ipynb", *SUPPRESSED)
    installed = gate.publish_notebook(notebook, approved_by="claire.steward", cfg=load_config())
    assert installed == env / "apps" / "admissions-sexe.ipynb"
    published = nbformat.read(str(installed), as_version=4)
    assert all(c.get("outputs", []) == [] for c in published.cells)
    assert [c.source for c in published.cells] == [c.source for c in nbformat.read(str(notebook), as_version=4).cells]
    log = env / "state" / "logs" / "audit.jsonl"
    assert verify_audit(log) == []
    [record] = [r for r in read_audit(log) if r["event"] == "publication"]
    key = load_or_create_key(env / "state")
    assert record["by"] == pseudonymise("claire.steward", key) and "claire" not in record["by"]
    assert record["what"] == "admissions-sexe" and record["outcome"] == "approved" and record["k"] == 11
    assert len(record["notebook_sha256"]) == 64
    with pytest.raises(gate.GateError, match="already installed"):
        gate.publish_notebook(notebook, approved_by="claire.steward")


# --- snapshots -----------------------------------------------------------------------------------------


def test_a_snapshot_showing_a_small_count_is_not_served(env, caplog):
    dashboard = write_notebook(
        env / "apps" / "effectifs.ipynb",
        "import pandas as pd\n"
        "pd.DataFrame({'department': ['09', '11'], 'n': [25, 3 if leak else pd.NA]})",
        parameters="lang = 'fr'  # language; one of: fr, en\nsnapshot = False  # static page\n"
                   "leak = False  # show the small count")
    archive = env / "archive"
    good = run_report(dashboard, {"snapshot": True}, archive_dir=archive)
    leaked = run_report(dashboard, {"snapshot": True, "leak": True}, archive_dir=archive)
    assert good.ok and leaked.ok
    with caplog.at_level(logging.WARNING, logger="occidata.dashboards.snapshots"):
        served = snapshots.latest_snapshot(archive, "effectifs")
    assert served.run_id == good.run_id
    assert "column 'n', row 2: count 3 is under 11" in caplog.text and leaked.run_id in caplog.text
    verdict = json.loads((archive / "effectifs" / leaked.run_id / "gate.json").read_text())
    assert verdict["ok"] is False
    # Only the refused one left: nothing is served (the page says the snapshot is being prepared).
    import shutil

    shutil.rmtree(good.folder)
    assert snapshots.latest_snapshot(archive, "effectifs") is None


# --- the command ------------------------------------------------------------------------------------------


def test_publish_command_exit_codes(env, capsys):
    assert cli.main(["publish", str(env / "absent.ipynb"), "--approved-by", "claire"]) == 2
    assert "no such notebook" in capsys.readouterr().err
    (env / "notes.txt").write_text("hello")
    assert cli.main(["publish", str(env / "notes.txt"), "--approved-by", "claire"]) == 2
    assert "not a notebook" in capsys.readouterr().err

    small = write_notebook(env / "petits.ipynb", *SMALL_COUNTS)
    assert cli.main(["publish", str(small), "--approved-by", "claire"]) == 1
    out = capsys.readouterr()
    assert "running petits.ipynb with public access only" in out.out
    assert "cell 2, table 1, column 'n', row 2: count 3 is under 11" in out.err
    assert not (env / "apps" / "petits.ipynb").exists()

    safe = write_notebook(env / "sexe.ipynb", *SUPPRESSED)
    assert cli.main(["publish", str(safe), "--approved-by", "claire"]) == 0
    assert "Published" in capsys.readouterr().out
    assert (env / "apps" / "sexe.ipynb").is_file()
    assert cli.main(["publish", str(safe), "--approved-by", "claire"]) == 2
    assert "--replace" in capsys.readouterr().err
