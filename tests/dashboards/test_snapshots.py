"""Snapshots: which archived run is the snapshot of a dashboard, the schedules, the bar above it."""

from __future__ import annotations

import json

import pytest

from occidata.config import load_config
from occidata.dashboards import snapshots
from occidata.approvals import approve
from occidata.reports.archive import RunRecord, read_run
from occidata.reports.ledger import record_run
from occidata.reports.schedule import ScheduleError


def archive_run(root, slug, run_id, *, started, status="ok", html=True, recorded=True, **parameters):
    """A run in the archive; ``recorded``: noted in the ledger, as the service's own runs are."""
    folder = root / slug / run_id
    folder.mkdir(parents=True)
    record = RunRecord(name=slug, run_id=run_id, notebook=f"{slug}.ipynb", parameters=parameters,
                       status=status, started=started, finished=started)
    (folder / "run.json").write_text(json.dumps(record.to_dict()))
    # An executed notebook with nothing shown: the gate judges it (a run without one is refused).
    (folder / "notebook.ipynb").write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    if html:
        (folder / "report.html").write_text(f'<!DOCTYPE html><html lang="fr"><body class="x"><p>{run_id}</p></body></html>')
    if recorded:
        notebook = root / f"{slug}.ipynb"
        if not notebook.exists():
            notebook.write_text(json.dumps({"cells": [], "metadata": {"slug": slug}}))
        record_run(root, read_run(folder), trigger="snapshot", notebook=notebook)
    return folder


def test_only_runs_the_platform_recorded_from_an_approved_notebook_are_served(tmp_path):
    """A folder that looks like a snapshot, one whose HTML changed after its run, or one from a
    notebook no steward approved is never served: the good one before it is."""
    archive, state = tmp_path / "archive", tmp_path / "state"
    archive_run(archive, "chaleur", "r1", started="2026-11-22T08:00:00+00:00", lang="fr", snapshot=True)
    archive_run(archive, "chaleur", "r2", started="2026-11-22T09:00:00+00:00", lang="fr", snapshot=True,
                recorded=False)  # planted: no line in the ledger
    edited = archive_run(archive, "chaleur", "r3", started="2026-11-22T10:00:00+00:00", lang="fr", snapshot=True)
    (edited / "report.html").write_text("<script>document.title='pwned'</script>")
    assert snapshots.latest_snapshot(archive, "chaleur").run_id == "r1"
    assert snapshots.latest_snapshot(archive, "chaleur", state_dir=state) is None  # nobody approved it
    approve(state, archive / "chaleur.ipynb", name="chaleur", kind="dashboard", by="intendante")
    assert snapshots.latest_snapshot(archive, "chaleur", state_dir=state).run_id == "r1"
    (archive / "chaleur.ipynb").write_text("{}")  # the notebook changed since: its runs keep their approval
    assert snapshots.latest_snapshot(archive, "chaleur", state_dir=state).run_id == "r1"
    assert snapshots.approved_dashboards(archive, state) == []  # but the new notebook is not served


def test_latest_snapshot_is_the_newest_good_one_in_the_language_asked(tmp_path):
    archive_run(tmp_path, "qualite-air", "r1", started="2026-11-22T08:00:00+00:00", lang="fr", snapshot=True)
    archive_run(tmp_path, "qualite-air", "r2", started="2026-11-22T09:00:00+00:00", lang="en", snapshot=True)
    archive_run(tmp_path, "qualite-air", "r3", started="2026-11-22T10:00:00+00:00", lang="fr", snapshot=False)
    archive_run(tmp_path, "qualite-air", "r4", started="2026-11-22T11:00:00+00:00", status="failed",
                lang="fr", snapshot=True)
    archive_run(tmp_path, "qualite-air", "r5", started="2026-11-22T12:00:00+00:00", html=False,
                lang="fr", snapshot=True)
    assert snapshots.latest_snapshot(tmp_path, "qualite-air").run_id == "r1"  # r3: by hand, r4 failed, r5 no html
    assert snapshots.latest_snapshot(tmp_path, "qualite-air", "en").run_id == "r2"
    assert snapshots.latest_snapshot(tmp_path, "baignade") is None


def test_one_schedule_per_dashboard_and_language(tmp_path):
    for slug in ("qualite-air", "chaleur", "tableau-du-site"):
        (tmp_path / f"{slug}.ipynb").write_text("{}")
    (tmp_path / "Brouillon.ipynb").write_text("{}")  # not a slug: not served, not snapshotted
    cfg = load_config({})
    schedules = snapshots.snapshot_schedules(cfg, tmp_path)
    assert [s.name for s in schedules] == [
        "instantane-qualite-air", "instantane-qualite-air-en", "instantane-chaleur", "instantane-chaleur-en",
        "instantane-tableau-du-site", "instantane-tableau-du-site-en"]
    assert schedules[1].parameters == {"lang": "en", "snapshot": True}
    assert all(s.cron == cfg["dashboards"]["snapshot_cron"] for s in schedules)


def test_a_bad_snapshot_cron_names_the_setting(tmp_path):
    (tmp_path / "chaleur.ipynb").write_text("{}")
    cfg = load_config({"OCCIDATA_DASHBOARDS__SNAPSHOT_CRON": "every half hour"})
    with pytest.raises(ScheduleError, match="dashboards.snapshot_cron"):
        snapshots.snapshot_schedules(cfg, tmp_path)


def test_render_missing_renders_only_what_is_missing_french_first(tmp_path):
    archive = tmp_path / "archive"
    apps = tmp_path / "apps"
    apps.mkdir()
    for slug in ("qualite-air", "chaleur"):
        (apps / f"{slug}.ipynb").write_text("{}")
    archive_run(archive, "chaleur", "c1", started="2026-11-22T08:00:00+00:00", lang="fr", snapshot=True)
    calls = []

    def run(notebook, parameters, **options):
        calls.append((notebook.rsplit("/", 1)[-1], parameters["lang"]))
        return RunRecord(name="x", run_id=options["run_id"], notebook=notebook, status="ok")

    snapshots.render_missing(run, load_config({}), apps, archive)
    assert calls == [("qualite-air.ipynb", "fr"), ("qualite-air.ipynb", "en"), ("chaleur.ipynb", "en")]


@pytest.mark.parametrize("lang, busy, expected, link", [
    ("fr", False, "Version enregistrée le", ">English<"),
    ("fr", True, "Beaucoup de visiteurs en ce moment", ">English<"),
    ("en", True, "Many visitors right now", ">Français<"),
])
def test_the_bar_above_a_snapshot_says_what_it_is_and_links_the_other_language(lang, busy, expected, link):
    page = '<!DOCTYPE html><html lang="fr"><head></head><body class="jp-Notebook"><p>vue</p></body></html>'
    bar = snapshots.navigation("/services/dashboards/", "chaleur", lang, busy, "22/11/2026 à 09:30")
    served = snapshots.with_banner(snapshots.in_language(page, lang), bar)
    assert served.startswith(f'<!DOCTYPE html><html lang="{lang}">')
    assert served.index(expected) > served.index('<body class="jp-Notebook">') > 0
    assert served.index(expected) < served.index("<p>vue</p>")
    assert link in served and "22/11/2026 à 09:30" in served
    assert ('role="status"' in bar) == busy
    other = "/services/dashboards/chaleur/" + ("en/" if lang == "fr" else "")
    assert f'href="{other}"' in bar
    assert "Explorer en direct" in bar if lang == "fr" and not busy else True
    # The other language at the same view.
    at_view = snapshots.navigation("/services/dashboards/", "chaleur", lang, busy, "x", "?day=2023-08-13")
    assert f'href="{other}?day=2023-08-13"' in at_view


def test_a_snapshot_is_out_of_date_once_the_data_it_read_changed(tiny_data_dir):
    from occidata.datasets.stored import stored_record

    stored = stored_record(tiny_data_dir, "air_quality_hourly")
    read = {"name": "air_quality_hourly", "access": "public", "built_at": stored.get("built_at"),
            "checksums": dict(stored["files"])}
    record = RunRecord(name="qualite-air", run_id="r", notebook="x", status="ok", datasets=[read])
    assert snapshots.data_changed(record, tiny_data_dir) == []
    ingested = RunRecord(name="qualite-air", run_id="r", notebook="x", status="ok",
                         datasets=[{**read, "checksums": {**read["checksums"], "ingest/part.parquet": "0" * 64}}])
    assert snapshots.data_changed(ingested, tiny_data_dir) == ["air_quality_hourly"]
    rebuilt = RunRecord(name="qualite-air", run_id="r", notebook="x", status="ok",
                        datasets=[{**read, "built_at": "2020-01-01T00:00:00+00:00"}])
    assert snapshots.data_changed(rebuilt, tiny_data_dir) == ["air_quality_hourly"]
    # A dataset this account cannot see the record of is not taken for a change.
    unknown = RunRecord(name="x", run_id="r", notebook="x", status="ok", datasets=[{**read, "name": "absent"}])
    assert snapshots.data_changed(unknown, tiny_data_dir) == []
