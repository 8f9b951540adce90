"""weather_daily: the synthetic SAFRAN-like grids, their Zarr store and the SAFRAN NetCDF reader."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from occidata import atomic
from occidata.datasets import geography as geo
from occidata.datasets import weather as wx
from occidata.datasets.schema import SchemaError

GEO = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "geo"
DEPARTMENTS_FILE = GEO / "departements-occitanie.geojson"
CODES = {0, *map(int, geo.DEPARTMENT_CODES)}


@pytest.fixture(scope="module")
def boundaries():
    if not DEPARTMENTS_FILE.exists():
        pytest.fail(f"the IGN department shapes are expected at {DEPARTMENTS_FILE} (../shared/data beside the checkout)")
    return json.loads(DEPARTMENTS_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def tiny(boundaries):
    return wx.generate("tiny", seed=3, boundaries=boundaries)


@pytest.fixture(scope="module")
def years(boundaries):
    """A year at 8 km for three seeds: the shapes must hold for each, not by luck of one."""
    return [wx.generate("demo", seed=seed, boundaries=boundaries) for seed in range(3)]


def at(ds: xr.Dataset, commune: str) -> xr.Dataset:
    """The grid cell holding a commune's town hall."""
    row = geo.communes().set_index("name").loc[commune]
    x, y = geo.wgs84_to_lambert93(row["lon"], row["lat"])
    return ds.sel(x=x, y=y, method="nearest")


def longest_run(flags: np.ndarray) -> int:
    best = run = 0
    for flag in flags:
        run = run + 1 if flag else 0
        best = max(best, run)
    return best


def test_tiny_grid_has_the_layout_and_metadata(tiny):
    assert wx.NAME == "weather_daily" and wx.KIND == "grid"
    assert dict(tiny.sizes) == {"time": 30, "y": 8, "x": 11}
    for name in ("tmin", "tmax", "pr"):
        assert tiny[name].dims == ("time", "y", "x") and tiny[name].dtype == np.float32
        assert tiny[name].attrs["units"] == {"tmin": "°C", "tmax": "°C", "pr": "mm/day"}[name]
        assert tiny[name].attrs["long_name"]
    assert tiny["department"].dims == ("y", "x") and set(np.unique(tiny["department"])) <= CODES
    assert np.all(np.diff(tiny["x"]) == 40_000) and np.all(np.diff(tiny["y"]) == 40_000)
    assert tiny["x"].attrs["units"] == "m" and tiny["lat"].dims == ("y", "x")
    for key, value in wx.METADATA.items():
        assert tiny.attrs[key] == value
    assert tiny.attrs["licence"] == "Licence Ouverte 2.0" and tiny.attrs["access"] == "public"
    # Values exactly inside the region, NaN outside; tmin never above tmax.
    inside = (tiny["department"] != 0).broadcast_like(tiny["tmin"])
    for name in ("tmin", "tmax", "pr"):
        assert bool((tiny[name].notnull() == inside).all())
    assert bool((tiny["tmin"] <= tiny["tmax"]).sum() == inside.sum())
    cleaned, reasons = wx.SCHEMA.validate(tiny, "generated")
    assert reasons == {} and cleaned.attrs["quarantined_values"] == 0


def test_generator_is_deterministic_and_rejects_unknown_sizes(tiny, boundaries):
    xr.testing.assert_identical(tiny, wx.generate("tiny", seed=3, boundaries=boundaries))
    other = wx.generate("tiny", seed=4, boundaries=boundaries)
    assert not other["tmax"].equals(tiny["tmax"]) and not other["pr"].equals(tiny["pr"])
    with pytest.raises(ValueError, match=r"unknown size 'huge' for weather_daily; choose one of tiny, demo, full"):
        wx.generate("huge")
    assert wx.SIZES["full"]["days"] > 3 * 365 and wx.SIZES["full"]["resolution_m"] == 8_000


def test_lat_lon_are_the_lambert93_cell_centres(tiny):
    x, y = geo.wgs84_to_lambert93(tiny["lon"].values, tiny["lat"].values)
    grid_x, grid_y = np.meshgrid(tiny["x"].values, tiny["y"].values)
    assert np.abs(x - grid_x).max() < 1e-3 and np.abs(y - grid_y).max() < 1e-3
    assert tiny["lon"].min() > -1.0 and tiny["lon"].max() < 5.5
    assert tiny["lat"].min() > 42.0 and tiny["lat"].max() < 45.5


def test_year_grids_are_valid_at_8_km(years):
    for ds in years:
        assert dict(ds.sizes) == {"time": 365, "y": 39, "x": 54}
        assert np.all(np.diff(ds["x"]) == 8_000)
        assert wx.SCHEMA.validate(ds, "generated")[1] == {}
        assert bool((ds["tmin"] <= ds["tmax"]).sum() == ds["tmin"].notnull().sum())


def test_temperatures_follow_seasons_relief_and_the_sea(years):
    for ds in years:
        month = ds["time"].dt.month
        toulouse = at(ds, "Toulouse")
        monthly_max = toulouse["tmax"].groupby(month).mean()
        assert monthly_max.sel(month=7) - monthly_max.sel(month=1) > 15, "seasonal cycle"
        mean = lambda cell: float(((cell["tmin"] + cell["tmax"]) / 2).mean())  # noqa: E731
        assert mean(at(ds, "Font-Romeu-Odeillo-Via")) < mean(toulouse) - 5, "Pyrenees colder"
        assert mean(at(ds, "Mende")) < mean(toulouse) - 3, "Massif Central colder"
        january = month == 1
        assert at(ds, "Montpellier")["tmin"][january].mean() > toulouse["tmin"][january].mean() + 1.5, "milder coast"


def test_every_summer_has_a_heat_wave_and_winter_none(years):
    for ds in years:
        month = ds["time"].dt.month
        for town in ("Nîmes", "Toulouse"):
            summer = at(ds, town)["tmax"][month.isin([6, 7, 8])].values
            assert longest_run(summer > 35) >= 3, f"a heat wave of 3+ days above 35 °C in {town}"
        assert float(ds["tmax"][month.isin([12, 1, 2])].max()) < 25


def test_rain_is_intermittent_with_cevennes_downpours_in_autumn(years):
    for ds in years:
        month = ds["time"].dt.month
        autumn = month.isin([9, 10, 11])
        toulouse = at(ds, "Toulouse")["pr"].values
        assert 0.5 < (toulouse == 0).mean() < 0.85, "most days are dry, not all"
        assert 400 < toulouse.sum() < 1000
        gard_herault = ds["department"].isin([30, 34])
        assert float(ds["pr"].where(gard_herault & autumn).max()) > 120, "Cévennes episode"
        assert float(ds["pr"].where(~autumn).max()) < 100, "no such downpour outside autumn"
        ales = at(ds, "Alès")["pr"]
        assert int(ales.idxmax("time").dt.month) in (9, 10, 11)
        assert ales.sum() > 1.5 * toulouse.sum(), "the Cévennes are wetter than the Garonne plain"


def test_department_mask_from_the_shapes_or_the_prefectures(years, boundaries):
    ds = years[0]
    for town, code in [("Toulouse", 31), ("Montpellier", 34), ("Mende", 48), ("Albi", 81), ("Tarbes", 65), ("Cahors", 46)]:
        assert int(at(ds, town)["department"]) == code
    assert set(np.unique(ds["department"])) == CODES
    fallback = wx.generate("demo", seed=0)  # no shapes: nearest prefecture inside the outline
    xr.testing.assert_identical(fallback["department"].isin(list(CODES)), xr.ones_like(fallback["department"], dtype=bool))
    inside = (ds["department"] != 0) | (fallback["department"] != 0)
    agree = (ds["department"] == fallback["department"]).where(inside).mean()
    assert float(agree) > 0.75  # the fallback is only approximate along borders and coasts
    assert int(at(fallback, "Toulouse")["department"]) == 31


def test_zarr_round_trip_replaces_atomically(tmp_path, tiny):
    store = tmp_path / "weather.zarr"
    wx.write_zarr(tiny, store)
    opened = wx.open_zarr(store)
    assert opened["tmin"].chunks is not None  # lazy, dask-backed
    xr.testing.assert_identical(opened.load(), tiny)
    assert opened.attrs["tags"] == wx.METADATA["tags"]

    newer = tiny.assign(pr=tiny["pr"] + 1)
    wx.write_zarr(newer, store)
    xr.testing.assert_identical(wx.open_zarr(store).load(), newer)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["weather.zarr"]


def test_a_failed_zarr_write_leaves_the_old_store(tmp_path, tiny, monkeypatch):
    store = tmp_path / "weather.zarr"
    wx.write_zarr(tiny, store)
    with pytest.raises(TypeError):
        wx.write_zarr(tiny.assign_attrs(bad={1, 2}), store)  # a set cannot be written as JSON
    xr.testing.assert_identical(wx.open_zarr(store).load(), tiny)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["weather.zarr"]

    real_replace, moves = os.replace, []

    def fail_moving_the_new_store_in(src, dst):
        if Path(dst) == store:
            moves.append(Path(src).name)
            if Path(src).name.endswith(".tmp"):
                raise OSError("disk full")
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", fail_moving_the_new_store_in)  # the swap is occidata.atomic's
    with pytest.raises(OSError, match="disk full"):
        wx.write_zarr(tiny.assign(pr=tiny["pr"] * 0), store)
    monkeypatch.undo()
    assert [name.rsplit(".", 1)[-1] for name in moves] == ["tmp", "old"]  # the old store was put back
    xr.testing.assert_identical(wx.open_zarr(store).load(), tiny)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["weather.zarr"]


def test_missing_or_damaged_stores_name_the_path(tmp_path, tiny):
    with pytest.raises(SchemaError, match=r"nowhere\.zarr: no such Zarr store"):
        wx.open_zarr(tmp_path / "nowhere.zarr")
    store = tmp_path / "weather.zarr"
    wx.write_zarr(tiny, store)
    (store / "zarr.json").write_text("{not json")
    with pytest.raises(SchemaError, match=r"weather\.zarr: not a readable Zarr store"):
        wx.open_zarr(store)
    partial = tmp_path / "partial.zarr"
    wx.write_zarr(tiny.drop_vars("pr"), partial)
    with pytest.raises(SchemaError, match=r"partial\.zarr: missing variable\(s\) pr for weather_daily"):
        wx.open_zarr(partial)


def safran_file(ds: xr.Dataset, path: Path, hectometres: bool = False, dates_as_int: bool = False) -> Path:
    """Write ``ds`` the way SAFRAN/SIM2 names things: TINF_H_Q, TSUP_H_Q, PRELIQ_Q + PRENEI_Q on LAMBX/LAMBY."""
    scale = 100.0 if hectometres else 1.0
    rain = (ds["pr"] * 0.8).round(1)
    dates = ds["time"].dt.strftime("%Y%m%d").astype(int).values if dates_as_int else ds["time"].values
    out = xr.Dataset(
        {
            "TINF_H_Q": (("DATE" if dates_as_int else "time", "LAMBY", "LAMBX"), ds["tmin"].values),
            "TSUP_H_Q": (("DATE" if dates_as_int else "time", "LAMBY", "LAMBX"), ds["tmax"].values),
            "PRELIQ_Q": (("DATE" if dates_as_int else "time", "LAMBY", "LAMBX"), rain.values),
            "PRENEI_Q": (("DATE" if dates_as_int else "time", "LAMBY", "LAMBX"), (ds["pr"] - rain).values),
        },
        coords={
            "DATE" if dates_as_int else "time": dates,
            "LAMBY": ("LAMBY", ds["y"].values[::-1] / scale, {"units": "hm" if hectometres else "m"}),
            "LAMBX": ("LAMBX", ds["x"].values / scale, {"units": "hm" if hectometres else "m"}),
        },
    )
    # SAFRAN files run north to south: the reader must sort the rows back.
    out = out.assign({name: (out[name].dims, out[name].values[:, ::-1, :]) for name in ("TINF_H_Q", "TSUP_H_Q", "PRELIQ_Q", "PRENEI_Q")})
    out.to_netcdf(path, engine="h5netcdf")
    return path


@pytest.mark.parametrize("hectometres, dates_as_int", [(False, False), (True, True)])
def test_safran_netcdf_maps_onto_the_grid(tmp_path, tiny, boundaries, hectometres, dates_as_int):
    source = safran_file(tiny, tmp_path / "SIM2_2023.nc", hectometres, dates_as_int)
    read = wx.READERS["safran-netcdf"](source, boundaries=boundaries)
    assert read["tmin"].dims == ("time", "y", "x") and list(read["x"].values) == list(tiny["x"].values)
    assert list(read["time"].values) == list(tiny["time"].values)
    for name in ("tmin", "tmax", "pr"):
        np.testing.assert_allclose(read[name].values, tiny[name].values, atol=1e-4)
        assert read[name].attrs["units"] == tiny[name].attrs["units"]
    xr.testing.assert_equal(read["department"], tiny["department"])
    np.testing.assert_allclose(read["lat"].values, tiny["lat"].values)
    assert read.attrs["quarantined_values"] == 0 and read.attrs["source"] == str(source)


def test_impossible_values_are_set_aside_and_counted(tmp_path, tiny):
    broken = tiny.copy(deep=True)
    inside = np.argwhere(tiny["department"].values != 0)
    (j1, i1), (j2, i2), (j3, i3) = inside[:3]
    broken["tmin"][0, j1, i1] = -99.0
    broken["tmax"][1, j1, i1] = 61.0
    broken["pr"][2, j2, i2] = -3.0
    broken["tmin"][3, j3, i3] = broken["tmax"][3, j3, i3] + 4
    source = tmp_path / "bad.nc"
    broken.drop_vars(["department", "crs", "lat", "lon"]).drop_attrs().to_netcdf(source, engine="h5netcdf")

    read = wx.read_safran_netcdf(source)
    assert read.attrs["quarantined_values"] == 5
    assert read.attrs["quarantine_reasons"] == {
        "tmin: below -50.0 °C": 1,
        "tmax: above 50.0 °C": 1,
        "pr: below 0.0 mm/day": 1,
        "tmin above tmax (both set aside)": 2,
    }
    assert np.isnan(read["tmin"][0, j1, i1]) and np.isnan(read["tmax"][1, j1, i1]) and np.isnan(read["pr"][2, j2, i2])
    assert np.isnan(read["tmin"][3, j3, i3]) and np.isnan(read["tmax"][3, j3, i3])
    # Everything else came through untouched.
    assert int(read["tmin"].isnull().sum()) == int(tiny["tmin"].isnull().sum()) + 2


def test_wrong_files_name_the_file_and_what_is_missing(tmp_path, tiny):
    source = safran_file(tiny, tmp_path / "SIM2_2023.nc")
    incomplete = tmp_path / "incomplete.nc"
    xr.open_dataset(source, engine="h5netcdf").load().drop_vars(["PRENEI_Q", "TSUP_H_Q"]).to_netcdf(incomplete, engine="h5netcdf")
    with pytest.raises(SchemaError, match=r"incomplete\.nc: not a SAFRAN/SIM2 grid, missing TSUP_H_Q \(or tmax\), PRELIQ_Q \+ PRENEI_Q \(or pr\)"):
        wx.read_safran_netcdf(incomplete)
    csv = tmp_path / "sim2.csv"
    csv.write_text("LAMBX;LAMBY;DATE;PRENEI_Q\n600;24010;20230101;0.0\n")
    with pytest.raises(SchemaError, match=r"sim2\.csv: not a readable NetCDF-4 file"):
        wx.read_safran_netcdf(csv)
    with pytest.raises(SchemaError, match=r"absent\.nc: no such file"):
        wx.read_safran_netcdf(tmp_path / "absent.nc")
    no_coords = tmp_path / "no_coords.nc"
    xr.Dataset({name: (("time", "y", "x"), np.zeros((2, 2, 2))) for name in ("tmin", "tmax", "pr")}).to_netcdf(no_coords, engine="h5netcdf")
    with pytest.raises(SchemaError, match=r"no_coords\.nc: .*missing coordinate time, coordinate y, coordinate x"):
        wx.read_safran_netcdf(no_coords)
    flat = tmp_path / "flat.nc"
    xr.Dataset({name: (("time", "x"), np.zeros((2, 2))) for name in ("tmin", "tmax", "pr")},
               coords={"time": pd.date_range("2023-01-01", periods=2), "x": [1.0, 2.0], "y": [3.0]}).to_netcdf(flat, engine="h5netcdf")
    with pytest.raises(SchemaError, match=r"flat\.nc: not a SAFRAN/SIM2 grid, expected variables on \(time, y, x\): tmin on \('time', 'x'\)"):
        wx.read_safran_netcdf(flat)
