"""Dashboards read public catalogue entries only, whatever levels the kernel was given."""

from __future__ import annotations

import pandas as pd
import pytest

from occidata import catalog
from occidata.dashboards import data


def test_load_public_is_the_catalogue_load(tiny_env):
    loaded = data.load_public("traffic_counts")
    pd.testing.assert_frame_equal(loaded, catalog.load("traffic_counts"))


@pytest.mark.parametrize("name", ["agri_sensors", "building_meters", "health_admissions"])
def test_non_public_entry_refused_before_any_read(tiny_env, monkeypatch, name):
    monkeypatch.setenv("OCCIDATA_ACCESS_LEVELS", f"partner,restricted:{name}")

    def no_read(*args, **kwargs):
        raise AssertionError("data were read")

    monkeypatch.setattr(catalog, "load", no_read)
    with pytest.raises(data.NotPublicError) as info:
        data.load_public(name)
    assert isinstance(info.value, PermissionError) and info.value.name == name


def test_kernel_levels_are_ignored(tiny_env, monkeypatch):
    """Even when the kernel holds the partner level, a dashboard reads with public only."""
    monkeypatch.setenv("OCCIDATA_ACCESS_LEVELS", "partner")
    seen = {}
    real = catalog.load

    def spy(name, **kwargs):
        seen.update(kwargs)
        return real(name, **kwargs)

    monkeypatch.setattr(catalog, "load", spy)
    data.load_public("air_quality_hourly", year=2024)
    assert seen == {"levels": set(), "year": 2024}


def test_unknown_entry_is_a_catalogue_error(tiny_env):
    with pytest.raises(catalog.CatalogError):
        data.load_public("no_such_dataset")


def test_latest_day():
    frame = pd.DataFrame({"t": pd.to_datetime(["2024-01-05 10:00", "2024-01-07 23:30", None])})
    assert data.latest_day(frame, "t") == pd.Timestamp("2024-01-07")
    aware = pd.DataFrame({"t": pd.date_range("2024-01-01", periods=30, freq="h", tz="UTC")})
    assert data.latest_day(aware, "t") == pd.Timestamp("2024-01-02", tz="UTC")
    with pytest.raises(ValueError):
        data.latest_day(pd.DataFrame({"t": pd.to_datetime([None])}), "t")
