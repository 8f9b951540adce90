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


@pytest.fixture(scope="module")
def module_env(tiny_data_dir, tmp_path_factory):
    """:func:`tiny_env` for a whole test module (data loaded once per module)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OCCIDATA_DATA_DIR", str(tiny_data_dir))
        mp.setenv("OCCIDATA_STATE_DIR", str(tmp_path_factory.mktemp("state")))
        mp.delenv("OCCIDATA_ACCESS_LEVELS", raising=False)
        mp.delenv("OCCIDATA_DASHBOARDS__TILES_URL", raising=False)
        yield tiny_data_dir
