"""Pollutant names as people write them: one rule (occidata.pollutants), every function that takes one."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from occidata import compute
from occidata.pollutants import POLLUTANTS, find_pollutant, pollutant_name

SPELLINGS = {
    "PM2.5": ["PM2.5", "pm25", "pm2.5", "pm2_5", "PM25", "PM2,5", "pm 2.5", "PM₂.₅"],
    "PM10": ["PM10", "pm10", "Pm10", "pm_10"],
    "NO2": ["NO2", "no2", "NO₂"],
    "O3": ["O3", "o3", "O₃"],
    "SO2": ["SO2", "so2"],
}


@pytest.mark.parametrize("canonical, written", [(c, w) for c, ws in SPELLINGS.items() for w in ws])
def test_common_spellings_name_the_canonical_pollutant(canonical, written):
    assert pollutant_name(written) == canonical
    assert find_pollutant(written) == canonical


@pytest.mark.parametrize("name", ["CO", "pm1", "NO", "PM2.5x", "", None, 25])
def test_an_unknown_name_is_refused_in_french_with_the_accepted_ones(name):
    with pytest.raises(ValueError) as info:
        pollutant_name(name, where="pollutant")
    assert str(info.value).startswith(f"pollutant : polluant inconnu {name!r} ; polluants acceptés : ")
    assert ", ".join(POLLUTANTS) in str(info.value)
    assert find_pollutant(name) is None


def test_a_pollutant_the_caller_does_not_handle_is_refused():
    with pytest.raises(ValueError, match=r"polluant inconnu 'so2' ; polluants acceptés : NO2, O3 \("):
        pollutant_name("so2", accepted=("NO2", "O3"))


def test_exceedances_take_the_common_spellings():
    hourly = np.r_[np.full(24 * 36, 60.0), np.full(24 * 329, 10.0)]
    reference = compute.exceedances(hourly, "PM10", backend="numpy")
    for written in ("pm10", "PM 10", "pm_10"):
        result = compute.exceedances(hourly, written, backend="numpy")
        assert result["day"].limit.pollutant == "PM10"
        assert int(result["day"].count) == int(reference["day"].count) == 36
    assert compute.exceedances(np.full(24, 30.0), "pm2_5", backend="numpy")["year"].limit.pollutant == "PM2.5"
    with pytest.raises(ValueError, match=r"pollutant : polluant inconnu 'CO'"):
        compute.exceedances(hourly, "CO")


def test_the_indices_take_the_common_spellings_and_answer_with_the_canonical_names():
    values = {"PM2.5": np.array([4.0, 60.0]), "NO2": np.array([8.0, 30.0])}
    reference = compute.eaqi(values, backend="numpy")
    written = compute.eaqi({"pm2_5": values["PM2.5"], "no2": values["NO2"]}, backend="numpy")
    assert written.pollutants == reference.pollutants == ("PM2.5", "NO2")
    np.testing.assert_array_equal(written.index, reference.index)
    np.testing.assert_array_equal(written.sub_indices["PM2.5"], reference.sub_indices["PM2.5"])
    hourly = {"pm25": np.full(24, 20.0), "o3": np.full(24, 90.0)}
    atmo = compute.atmo_index(hourly, backend="numpy")
    assert atmo.pollutants == ("PM2.5", "O3")
    np.testing.assert_array_equal(atmo.index, compute.atmo_index({"PM2.5": hourly["pm25"], "O3": hourly["o3"]},
                                                                 backend="numpy").index)


def test_the_xarray_indices_find_variables_in_any_spelling():
    ds = xr.Dataset({"pm25": ("x", [4.0, 60.0]), "no2": ("x", [8.0, 30.0]), "station": ("x", ["a", "b"])})
    out = compute.eaqi_xr(ds, backend="numpy")
    assert list(out.attrs["pollutants"]) == ["PM2.5", "NO2"]
    expected = compute.eaqi({"PM2.5": ds["pm25"].values, "NO2": ds["no2"].values}, backend="numpy").index
    np.testing.assert_array_equal(out["index"].values, expected)
    hourly = xr.Dataset({"pm10": (("station", "time"), np.full((1, 24), 30.0))})
    assert list(compute.atmo_index_xr(hourly, backend="numpy").attrs["pollutants"]) == ["PM10"]


def test_docstring_examples():
    import doctest

    import occidata.pollutants

    assert doctest.testmod(occidata.pollutants).failed == 0
