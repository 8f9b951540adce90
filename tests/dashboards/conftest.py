"""Fixtures of the dashboard tests: the tiny data, a private state directory, no network."""

from __future__ import annotations

import pytest


@pytest.fixture
def tiny_env(tiny_data_dir, tmp_path, monkeypatch):
    """The session's tiny data as the data directory, a fresh state directory, no granted level."""
    monkeypatch.setenv("OCCIDATA_DATA_DIR", str(tiny_data_dir))
    monkeypatch.setenv("OCCIDATA_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("OCCIDATA_ACCESS_LEVELS", raising=False)
    monkeypatch.delenv("OCCIDATA_DASHBOARDS__TILES_URL", raising=False)
    return tiny_data_dir
