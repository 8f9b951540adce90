"""summary.json: what a notebook records of its results, with the datasets it read."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from occidata import catalog
from occidata.reports.summary import SUMMARY_ENV, record_summary


def test_summary_is_plain_json_with_the_datasets_read(tiny_data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("OCCIDATA_DATA_DIR", str(tiny_data_dir))
    monkeypatch.setenv("OCCIDATA_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv(SUMMARY_ENV, str(tmp_path / "run" / "summary.json"))
    catalog.load("bathing_water")
    written = record_summary({
        "sites": np.int64(12), "worst": np.float64(np.nan), "classes": np.array(["good", "poor"]),
        "day": pd.Timestamp("2024-07-01"),
    })
    assert written == tmp_path / "run" / "summary.json"
    document = json.loads(written.read_text())
    assert document["results"] == {"sites": 12, "worst": None, "classes": ["good", "poor"],
                                   "day": "2024-07-01T00:00:00"}
    read = [d for d in document["datasets"] if d["name"] == "bathing_water"]
    assert read and read[0]["size"] == "tiny" and read[0]["checksums"]
    assert all(len(sha) == 64 for sha in read[0]["checksums"].values())
    assert not list((tmp_path / "run").glob("*.tmp*"))  # atomic: nothing half-written left
    # Curated notebooks end with this call: what it shows names no folder of the platform.
    from IPython.lib.pretty import pretty

    assert pretty(written) == "Résumé enregistré (summary.json)"
    assert written.stat().st_mode & 0o077 == 0  # the archive's files are its account's alone


def test_summary_refuses_what_is_not_a_dict(tmp_path):
    with pytest.raises(TypeError, match="results must be a dict, not list"):
        record_summary([1, 2], tmp_path / "summary.json")


def test_a_run_by_hand_keeps_its_summary_in_the_users_folder_never_beside_the_notebook(tmp_path, monkeypatch):
    # A lab kernel: its working directory is the notebook's (shared) folder, Jupyter Server names the notebook.
    shared = tmp_path / "notebooks" / "air_quality"
    shared.mkdir(parents=True)
    monkeypatch.chdir(shared)
    monkeypatch.delenv(SUMMARY_ENV, raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "home" / "state"))
    monkeypatch.setenv("JPY_SESSION_NAME", str(shared / "daily_report.ipynb"))
    written = record_summary({"n": 1})
    assert written == tmp_path / "home" / "state" / "occidata" / "summaries" / "daily_report" / "summary.json"
    assert json.loads(written.read_text())["results"] == {"n": 1}
    assert list(shared.iterdir()) == []
    from IPython.lib.pretty import pretty

    assert pretty(written) == f"Résumé enregistré dans {written}"  # the researcher's own file: where it is


def test_a_run_by_hand_without_a_writable_home_uses_a_private_temporary_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(SUMMARY_ENV, raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    (tmp_path / "state").write_text("")  # XDG_STATE_HOME is a file: nothing can be made under it
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    written = record_summary({"n": 2})
    try:
        assert written.name == "summary.json" and written.parent.name.startswith("occidata-notebook-")
        assert json.loads(written.read_text())["results"] == {"n": 2}
        assert written.parent.stat().st_mode & 0o077 == 0
        assert sorted(p.name for p in tmp_path.iterdir()) == ["state"]
    finally:
        shutil.rmtree(written.parent)
