"""The reports service: pages behind hub OAuth, public snapshots, files only from the archive."""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from occidata.reports.service import is_public, levels_needed, may_see, run_file

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


@pytest.mark.hub
def test_reports_pages_with_a_real_hub(hub):
    archive = Path(hub.local.cfg["state_dir"]) / "reports"
    seed_run(archive, "daily_report", "20260610T040000.000Z-test", html="<p>Indice ATMO du jour</p>")
    seed_run(archive, "daily_report", "20260611T040000.000Z-test", status="failed")
    seed_run(archive, "leaks_and_waste", "20260610T040000.000Z-test", datasets=PARTNER, html="<p>Fuites</p>")

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
    partner_html = admin.url("services/reports/runs/leaks_and_waste/20260610T040000.000Z-test/report.html")
    assert admin.http.get(partner_html, timeout=30).status_code == 404
    service = hub.service()
    service.api("POST", "groups/partner")  # may exist already: another test made it
    assert service.api("POST", "groups/partner/users", json={"users": [hub.admin_name]}).status_code == 200
    member = hub.session()  # a new login: the service sees the groups of the new token
    assert member.login(hub.admin_name, hub.admin_password)
    assert "leaks_and_waste" in member.http.get(page_url, timeout=30).text
    assert "Fuites" in member.http.get(partner_html, timeout=30).text
    service.api("DELETE", "groups/partner/users", json={"users": [hub.admin_name]})
    traversal = admin.http.get(admin.url("services/reports/runs/daily_report/..%2F..%2F/run.json"), timeout=30)
    assert traversal.status_code == 404
