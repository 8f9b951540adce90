"""The GDPR publication gate (issues 7 and 13): real papermill runs in the occidata-cpu kernel, tiny data.

The privacy rules themselves (k, what a count is, the fail-closed judge) are tested without a
kernel in tests/test_disclosure.py; here every disguise of a small count goes through the gate.
"""

from __future__ import annotations

import json
import logging

import nbformat
import pytest

from occidata import cli
from occidata.config import load_config
from occidata.dashboards import APPS_DIR, DASHBOARDS, gate, snapshots
from occidata.privacy.disclosure import MIME, html_tables
from occidata.privacy.audit import query_audit, read_audit, verify_audit
from occidata.privacy.pseudonyms import load_or_create_key, pseudonymise
from occidata.reports.ledger import record_run
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
    "from occidata.privacy import show_counts, suppress_small_cells\n"
    "table = pd.DataFrame({'department': ['09', '09', '11', '11', '31', '31'], 'sex': ['F', 'M'] * 3,\n"
    "                      'n': [25, 3, 14, 30, 40, 52]})\n"
    "safe = suppress_small_cells(table, count='n', k=11)\n"
    "show_counts(safe, count='n', caption='Admissions')",
]

# One count of 3 in every disguise that passed the gate before issue 13: (name, cell, kind, words).
# Cells are numbered from 1 with the setup cell first, Markdown cells included.
SETUP = ("import pandas as pd\n"
         "import matplotlib.pyplot as plt\n"
         "from IPython.display import JSON, Markdown, display")
DISGUISES = [
    ("printed as text", "print('Foix : 3 patients')", "stdout", "text printed on stdout"),
    ("a column named valeur", "pd.DataFrame({'commune': ['Foix', 'Pamiers'], 'valeur': [25, 3]})", "html",
     "HTML output"),
    ("a transposed table", "pd.DataFrame({'commune': ['Foix', 'Pamiers'], 'n': [25, 3]}).set_index('commune').T",
     "html", "HTML output"),
    ("JSON output", "JSON({'Foix': 3, 'Pamiers': 25})", "json", "JSON output"),
    ("Markdown output", "Markdown('**3** patients à Foix')", "markdown", "Markdown output"),
    ("a Markdown cell", ("md", "3 patients à Foix"), "markdown cell", "Markdown text holding a number"),
    ("a matplotlib figure",
     "fig, ax = plt.subplots()\nax.bar(['Foix', 'Pamiers'], [3, 25])\ndisplay(fig)\nplt.close(fig)",
     "image", "an image or figure"),
]

FORGED = (
    "from IPython.display import display\n"
    "page = ('<table><thead><tr><th>commune</th><th>n</th></tr></thead>'\n"
    "        '<tbody><tr><td>Foix</td><td>3</td></tr><tr><td>Pamiers</td><td>25</td></tr></tbody></table>')\n"
    "payload = {'version': 1, 'k': 11, 'tables': [{'columns': ['commune', 'n'],\n"
    "           'rows': [['Foix', '3'], ['Pamiers', '25']], 'count_columns': ['n'], 'counts': True}]}\n"
    f"display({{'text/html': page, 'text/plain': 'Tableau', {MIME!r}: payload}}, raw=True)"
)
# The marker on a page whose table is not the one declared (a clean declaration, 3 shown as "valeur").
FORGED_ELSEWHERE = (
    "page = ('<table><thead><tr><th>commune</th><th>valeur</th></tr></thead>'\n"
    "        '<tbody><tr><td>Foix</td><td>3</td></tr></tbody></table>')\n"
    "payload = {'version': 1, 'k': 11, 'tables': [{'columns': ['commune', 'valeur'], 'rows': [['Foix', 's']],\n"
    "           'count_columns': ['valeur'], 'counts': True}]}\n"
    f"display({{'text/html': page, 'text/plain': 'Tableau', {MIME!r}: payload}}, raw=True)"
)


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
    assert not result.ok and result.run.ok
    assert len(result.reasons) == 2, result.reasons
    first, second = result.reasons
    assert first.startswith("cell 2, output 1: HTML output") and "column 'n', row 2: count 3 is under 11" in first
    assert second.startswith("cell 3, output 1: HTML output")
    assert "column 'Nombre de cas', row 2: count 4 is under 11" in second


@pytest.fixture(scope="module")
def disguised(tiny_data_dir, tmp_path_factory):
    """One gate run of a notebook holding every disguise, each in its own cell after the setup cell."""
    tmp = tmp_path_factory.mktemp("disguises")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OCCIDATA_DATA_DIR", str(tiny_data_dir))
        mp.setenv("OCCIDATA_STATE_DIR", str(tmp / "state"))
        notebook = write_notebook(tmp / "deguisements.ipynb", SETUP, *[cell for _, cell, _, _ in DISGUISES])
        yield gate.check_publication(notebook, cfg=load_config())


@pytest.mark.parametrize("number, disguise", list(enumerate(DISGUISES, start=2)), ids=[d[0] for d in DISGUISES])
def test_every_disguise_of_a_small_count_is_refused_naming_its_cell(disguised, number, disguise):
    name, cell, kind, words = disguise
    assert disguised.run.ok, disguised.reasons
    mine = [f for f in disguised.findings if f["cell"] == number]
    assert [f["kind"] for f in mine] == [kind], (name, disguised.reasons)
    where = f"cell {number}: " if isinstance(cell, tuple) else f"cell {number}, output 1: "
    assert mine[0]["text"].startswith(where + words), mine[0]["text"]


def test_the_disguise_notebook_is_refused_for_its_disguises_only(disguised):
    assert not disguised.ok
    assert sorted(f["cell"] for f in disguised.findings) == list(range(2, 2 + len(DISGUISES)))
    assert len(disguised.reasons) == len(DISGUISES) == 7


def test_a_forged_sanctioned_output_declaring_a_count_of_3_is_refused(env):
    notebook = write_notebook(env / "faux-tampon.ipynb", ("md", "# Admissions"), FORGED, FORGED_ELSEWHERE)
    result = gate.check_publication(notebook, cfg=load_config())
    assert result.run.ok
    assert result.reasons == ["cell 2, output 1: table 1, column 'n', row 1: count 3 is under 11",
                              "cell 3, output 1: table 1: its HTML cells are not the declared rows"]


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
        "from occidata.privacy import show_counts\n"
        "table = pd.DataFrame({'department': ['09', '11', '31'], 'n': [25, 3, 40]})\n"
        "table if leak else show_counts(table)",
        parameters="lang = 'fr'  # language; one of: fr, en\nsnapshot = False  # static page\n"
                   "leak = False  # show the small count")
    archive = env / "archive"
    good = run_report(dashboard, {"snapshot": True}, archive_dir=archive)
    leaked = run_report(dashboard, {"snapshot": True, "leak": True}, archive_dir=archive)
    assert good.ok and leaked.ok
    for record in (good, leaked):  # as the scheduler does: only recorded runs may be served
        record_run(archive, record, trigger="snapshot", notebook=dashboard)
    with caplog.at_level(logging.WARNING, logger="occidata.dashboards.snapshots"):
        served = snapshots.latest_snapshot(archive, "effectifs")
    assert served.run_id == good.run_id
    assert "cell 2, output 1: HTML output" in caplog.text and leaked.run_id in caplog.text
    assert "column 'n', row 2: count 3 is under 11" in caplog.text
    verdict = json.loads((archive / "effectifs" / leaked.run_id / "gate.json").read_text())
    assert verdict["ok"] is False
    # Only the refused one left: nothing is served (the page says the snapshot is being prepared).
    import shutil

    shutil.rmtree(good.folder)
    assert snapshots.latest_snapshot(archive, "effectifs") is None


def test_a_snapshot_without_an_executed_notebook_is_never_served(tmp_path):
    from occidata.reports.archive import RunRecord

    folder = tmp_path / "chaleur" / "r1"
    folder.mkdir(parents=True)
    record = RunRecord(name="chaleur", run_id="r1", notebook="chaleur.ipynb", parameters={"snapshot": True},
                       status="ok", started="2026-11-22T08:00:00+00:00", finished="2026-11-22T08:00:00+00:00")
    (folder / "run.json").write_text(json.dumps(record.to_dict()))
    (folder / "report.html").write_text("<table><tr><th>n</th></tr><tr><td>3</td></tr></table>")
    record = RunRecord(**{**record.to_dict(), "folder": str(folder)})
    assert gate.check_snapshot(record) == [
        "no executed notebook to judge in the run folder (notebook.ipynb missing or unreadable)"]


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
    assert "cell 2, output 1: HTML output" in out.err and "column 'n', row 2: count 3 is under 11" in out.err
    assert not (env / "apps" / "petits.ipynb").exists()

    safe = write_notebook(env / "sexe.ipynb", *SUPPRESSED)
    assert cli.main(["publish", str(safe), "--approved-by", "claire"]) == 0
    assert "Published" in capsys.readouterr().out
    assert (env / "apps" / "sexe.ipynb").is_file()
    assert cli.main(["publish", str(safe), "--approved-by", "claire"]) == 2
    assert "--replace" in capsys.readouterr().err


# --- the four public dashboards ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dashboard_snapshots(tiny_data_dir, tmp_path_factory):
    """Each public dashboard rendered once in snapshot mode on the tiny data, as the scheduler does."""
    tmp = tmp_path_factory.mktemp("dashboard-snapshots")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OCCIDATA_DATA_DIR", str(tiny_data_dir))
        mp.setenv("OCCIDATA_STATE_DIR", str(tmp / "state"))
        mp.delenv("OCCIDATA_ACCESS_LEVELS", raising=False)
        mp.delenv("OCCIDATA_DASHBOARDS__TILES_URL", raising=False)
        yield {d.slug: run_report(APPS_DIR / f"{d.slug}.ipynb", snapshots.snapshot_parameters("fr"),
                                  archive_dir=tmp / "archive") for d in DASHBOARDS}


@pytest.mark.parametrize("slug", [d.slug for d in DASHBOARDS])
def test_each_public_dashboard_snapshot_declares_its_tables_and_passes_the_gate(dashboard_snapshots, slug):
    record = dashboard_snapshots[slug]
    assert record.ok, record.error
    assert gate.check_snapshot(record) == []
    executed = json.loads(record.notebook_path.read_text(encoding="utf-8"))
    outputs = [o for c in executed["cells"] for o in c.get("outputs", [])]
    # The default view, then every other view of the static page: each one a sanctioned output.
    assert outputs[0]["metadata"]["occidata"]["default"] and len(outputs) > 1
    for output in outputs:
        assert MIME in output["data"]
        declared = output["data"][MIME]["tables"]
        shown = html_tables("".join(output["data"]["text/html"]))  # nbformat keeps text as lines
        assert len(declared) == len(shown) >= 3
        assert [t["columns"] for t in declared] == [t["columns"] for t in shown]


def test_a_view_planted_in_an_archived_snapshot_is_never_served(dashboard_snapshots, tmp_path):
    """Whoever can write the archive edits an executed snapshot after its run, to slip a view of
    their own onto the static page (a table the gate never judged, a script): the service serves
    views only from an executed notebook the ledger vouches for, so it serves none of them."""
    import shutil

    from occidata.dashboards.static_pages import StaticPages
    from occidata.reports.archive import read_run

    source = dashboard_snapshots["qualite-air"]
    archive = tmp_path / "archive"
    record = read_run(shutil.copytree(source.folder, archive / "qualite-air" / source.run_id))
    record_run(archive, record, trigger="snapshot", notebook=APPS_DIR / "qualite-air.ipynb")
    served = StaticPages(archive, None).latest("qualite-air")
    assert served.default is not None and len(served.views) > 1  # vouched for: every view served

    executed = json.loads(record.notebook_path.read_text(encoding="utf-8"))
    outputs = [o for c in executed["cells"] for o in c.get("outputs", [])]
    planted = '<p id="planted">Liste nominative</p><script>window.pwned = 1</script>'
    outputs[1]["data"]["text/html"] = planted
    record.notebook_path.write_text(json.dumps(executed), encoding="utf-8")
    tampered = StaticPages(archive, None).latest("qualite-air")
    assert tampered.record.run_id == record.run_id  # its report's HTML, untouched, is still served...
    assert tampered.default is None and tampered.views == {}  # ...but no view of the edited notebook
    assert "planted" not in json.dumps(tampered.views)


def test_run_as_root_the_gate_uses_a_throwaway_account_else_its_verdict_is_advisory(env, capsys, monkeypatch):
    """Not root (a researcher's own demo), the gate cannot keep the notebook from what its caller
    may read or write: it says its verdict is advisory, and so does the audit record."""
    import os
    import pwd

    clean = write_notebook(env / "sans-sortie.ipynb", "x = 1 + 1")
    with monkeypatch.context() as patched:
        patched.setattr(os, "geteuid", lambda: 1000)
        assert cli.main(["publish", str(clean), "--approved-by", "claire"]) == 0
    out = capsys.readouterr().out
    assert "as you (advisory)" in out and "avis consultatif" in out
    [record] = [r for r in read_audit(env / "state" / "logs" / "audit.jsonl") if r["event"] == "publication"]
    assert record["advisory"] is True
    if os.geteuid() == 0:  # as root: a throwaway account, gone afterwards
        before = {a.pw_name for a in pwd.getpwall()}
        result = gate.check_publication(clean)
        assert result.ok and not result.advisory
        assert {a.pw_name for a in pwd.getpwall()} == before
