"""The reports service: pages behind hub OAuth, public snapshots, files only from the archive."""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import owned_like
from occidata.approvals import approve
from occidata.reports.archive import read_run
from occidata.reports.ledger import ledger_path, record_run
from occidata.reports.service import is_public, latest_public, levels_needed, may_see, run_file

PUBLIC = [{"name": "air_quality_hourly", "access": "public", "version": "1"}]
PARTNER = [{"name": "air_quality_hourly", "access": "public"}, {"name": "building_meters", "access": "partner"}]


def seed_run(archive: Path, name: str, run_id: str, *, status="ok", datasets=PUBLIC, html="<p>Rapport</p>") -> Path:
    folder = archive / name / run_id
    folder.mkdir(parents=True)
    record = {"name": name, "run_id": run_id, "notebook": f"notebooks/x/{name}.ipynb",
              "parameters": {"date": "2024-01-05"}, "kernel": "occidata-cpu", "status": status,
              "started": "2026-06-10T04:00:00.000+00:00", "finished": "2026-06-10T04:00:12.500+00:00",
              "duration_s": 12.5, "error": None if status == "ok" else
              {"name": "ZeroDivisionError", "message": "division by zero", "traceback": "Traceback ...\nZeroDivisionError"},
              "versions": {}, "datasets": datasets, "folder": str(folder)}
    (folder / "run.json").write_text(json.dumps(record))
    (folder / "report.html").write_text(f"<html><body>{html}</body></html>")
    (folder / "notebook.ipynb").write_text("{}")
    owned_like(archive / name, archive)  # as the reports service's account writes its archive
    return folder


def scheduled_run(archive: Path, state_dir: Path, name: str, run_id: str, *, approved: bool = True, **options) -> Path:
    """A run as the scheduler makes it: archived, noted in the ledger, from an approved notebook."""
    folder = seed_run(archive, name, run_id, **options)
    notebook = state_dir / "notebooks" / f"{name}.ipynb"
    notebook.parent.mkdir(parents=True, exist_ok=True)
    if not notebook.exists():
        notebook.write_text(json.dumps({"cells": [], "metadata": {"name": name}}))
    if approved:
        approve(state_dir, notebook, name=name, kind="report", by="steward")
    record_run(archive, read_run(folder), trigger="schedule", notebook=notebook)
    owned_like(ledger_path(archive), archive)
    return folder


def test_public_means_every_dataset_public():
    assert is_public(SimpleNamespace(status="ok", datasets=PUBLIC))
    assert not is_public(SimpleNamespace(status="ok", datasets=PARTNER))
    assert not is_public(SimpleNamespace(status="ok", datasets=[]))
    assert not is_public(SimpleNamespace(status="failed", datasets=PUBLIC))


def test_non_public_runs_need_the_hub_groups_that_grant_them():
    partner_run = SimpleNamespace(status="ok", datasets=PARTNER)
    restricted = SimpleNamespace(status="ok", datasets=[{"name": "health_admissions", "access": "restricted"}])
    unknown = SimpleNamespace(status="failed", datasets=[])
    assert levels_needed(SimpleNamespace(status="ok", datasets=PUBLIC)) == set()
    assert levels_needed(partner_run) == {"partner"}
    assert levels_needed(restricted) == {"restricted:health_admissions"}
    assert levels_needed(unknown) == {"partner"}  # a failed run may show data in its notebook
    assert may_see({"name": "ana", "groups": []}, SimpleNamespace(status="ok", datasets=PUBLIC))
    assert not may_see({"name": "ana", "groups": []}, partner_run)
    assert may_see({"name": "ana", "groups": ["partner"]}, partner_run)
    assert not may_see({"name": "ana", "groups": ["partner"]}, restricted)
    assert not may_see(None, partner_run)


def test_files_only_from_inside_the_archive(tmp_path):
    archive = tmp_path / "archive"
    seed_run(archive, "daily_report", "r1")
    (tmp_path / "secret.html").write_text("secret")
    assert run_file(archive, "daily_report", "r1", "report.html") == (archive / "daily_report/r1/report.html").resolve()
    for name, run_id, filename in [("..", "..", "report.html"), ("daily_report", "..", "report.html"),
                                   ("daily_report", "r1", "run.json"), ("daily_report", "r1", "../../../secret.html"),
                                   (".hidden", "r1", "report.html"), ("daily_report", "r2", "report.html")]:
        assert run_file(archive, name, run_id, filename) is None, (name, run_id, filename)
    (archive / "daily_report" / "r3").symlink_to(tmp_path)  # a link out of the archive
    (tmp_path / "report.html").write_text("outside")
    assert run_file(archive, "daily_report", "r3", "report.html") is None


def test_only_approved_scheduled_recorded_runs_are_public(tmp_path):
    """A folder that looks like a run, an ad hoc run, an unapproved notebook or an HTML changed
    after the run is never public; a scheduled run of an approved notebook that read public
    data only is."""
    archive, state = tmp_path / "archive", tmp_path / "state"
    state.mkdir()
    scheduled_run(archive, state, "daily_report", "20260610T040000.000Z-a", html="<p>approuvé</p>")
    assert latest_public(archive, "daily_report", state).run_id == "20260610T040000.000Z-a"
    # Planted (or ad hoc: `occidata report run` notes nothing in the service's ledger): not served,
    # and it does not hide the good one either.
    seed_run(archive, "daily_report", "20260611T040000.000Z-planted", html="<script>alert(1)</script>")
    assert latest_public(archive, "daily_report", state).run_id == "20260610T040000.000Z-a"
    seed_run(archive, "planted_only", "20260611T040000.000Z-x")
    assert latest_public(archive, "planted_only", state) is None
    scheduled_run(archive, state, "unapproved", "20260610T040000.000Z-u", approved=False)
    assert latest_public(archive, "unapproved", state) is None
    folder = scheduled_run(archive, state, "edited", "20260610T040000.000Z-e")
    (folder / "report.html").write_text("<p>changed after the run</p>")
    assert latest_public(archive, "edited", state) is None
    scheduled_run(archive, state, "partner_report", "20260610T040000.000Z-p", datasets=PARTNER)
    assert latest_public(archive, "partner_report", state) is None


@pytest.mark.hub
def test_reports_pages_with_a_real_hub(hub):
    state = Path(hub.local.cfg["state_dir"])
    archive = state / "reports"
    scheduled_run(archive, state, "daily_report", "20260610T040000.000Z-test", html="<p>Indice ATMO du jour</p>")
    scheduled_run(archive, state, "daily_report", "20260611T040000.000Z-test", status="failed")
    scheduled_run(archive, state, "leaks_and_waste", "20260610T040000.000Z-test", datasets=PARTNER,
                  html="<p>Fuites</p>")
    seed_run(archive, "planted", "20260610T040000.000Z-test", html="<p>Planté</p>")  # not made by the platform
    # A partner report failing every morning: before, nobody outside "partner" saw it fail, and
    # every logged-in user read the scheduler's alerts, error text (which may quote data) included.
    scheduled_run(archive, state, "fuites_quotidiennes", "20260611T040000.000Z-test", status="failed",
                  datasets=PARTNER)
    with open(state / "reports" / "notifications.jsonl", "a", encoding="utf-8") as alerts:
        alerts.write(json.dumps({"time": "2026-06-11T04:00:09+00:00", "event": "report_failed",
                                 "schedule": "fuites-quotidiennes", "run_id": "20260611T040000.000Z-test",
                                 "error": "ValueError: compteur 4242 hors plage"}) + "\n")
    owned_like(state / "reports" / "notifications.jsonl", archive)

    anonymous = hub.session()
    page_url = anonymous.url("services/reports/")
    deadline = time.monotonic() + 60
    while True:  # the hub starts the service; give it a moment to listen
        first = anonymous.http.get(page_url, allow_redirects=False, timeout=30)
        if first.status_code != 503 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert first.status_code == 302, first.text[:300]
    followed = anonymous.http.get(page_url, timeout=30)
    assert "/hub/login" in followed.url

    # A public-only report's snapshot is served to anyone; a partner-data report is not.
    public = anonymous.http.get(anonymous.url("services/reports/public/daily_report/"), timeout=30)
    assert public.status_code == 200
    assert "Indice ATMO du jour" in public.text
    assert "sandbox" in public.headers["Content-Security-Policy"]
    assert anonymous.http.get(anonymous.url("services/reports/public/leaks_and_waste/"), timeout=30).status_code == 404
    listing = anonymous.http.get(anonymous.url("services/reports/public/"), timeout=30)
    assert "daily_report" in listing.text and "leaks_and_waste" not in listing.text
    assert "planted" not in listing.text
    assert anonymous.http.get(anonymous.url("services/reports/public/planted/"), timeout=30).status_code == 404
    # Run files need a login.
    run_html = anonymous.url("services/reports/runs/daily_report/20260610T040000.000Z-test/report.html")
    assert anonymous.http.get(run_html, allow_redirects=False, timeout=30).status_code == 302

    admin = hub.session()
    assert admin.login(hub.admin_name, hub.admin_password)
    page = admin.http.get(page_url, timeout=30)
    assert page.status_code == 200, page.text[:500]
    assert page.url.rstrip("/").endswith("services/reports")
    assert '<html lang="fr">' in page.text
    assert "Rapports programmés" in page.text
    assert "20260610T040000.000Z-test" in page.text and "réussi" in page.text
    assert "échec" in page.text and "division by zero" in page.text  # failures show on the page
    assert "qualite-air-quotidienne" in page.text  # the default schedules
    assert "12.5 s" in page.text and "2024-01-05" in page.text
    assert admin.http.get(run_html, timeout=30).text.count("Indice ATMO du jour") == 1
    # Partner data reach only members of the hub group "partner", on the page and as files.
    assert "leaks_and_waste" not in page.text
    # The admin sees that the partner report failed, and the alert, without its files nor its error.
    failed_row = page.text.split('data-run="20260611T040000.000Z-test"')
    assert "fuites_quotidiennes" in page.text and "Détail et fichiers réservés aux membres de : partner" in page.text
    assert "runs/fuites_quotidiennes/" not in page.text and "4242" not in page.text
    assert "fuites-quotidiennes (report_failed)" in page.text
    assert len(failed_row) >= 2
    partner_html = admin.url("services/reports/runs/leaks_and_waste/20260610T040000.000Z-test/report.html")
    assert admin.http.get(partner_html, timeout=30).status_code == 404
    service = hub.service()
    service.api("POST", "groups/partner")  # may exist already: another test made it
    assert service.api("POST", "groups/partner/users", json={"users": [hub.admin_name]}).status_code == 200
    member = hub.session()  # a new login: the service sees the groups of the new token
    assert member.login(hub.admin_name, hub.admin_password)
    member_page = member.http.get(page_url, timeout=30).text
    assert "leaks_and_waste" in member_page
    assert "4242" in member_page and "runs/fuites_quotidiennes/" in member_page
    assert "Fuites" in member.http.get(partner_html, timeout=30).text
    service.api("DELETE", "groups/partner/users", json={"users": [hub.admin_name]})
    traversal = admin.http.get(admin.url("services/reports/runs/daily_report/..%2F..%2F/run.json"), timeout=30)
    assert traversal.status_code == 404
