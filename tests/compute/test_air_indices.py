"""EAQI (2025) and ATMO (2021): every band limit, worked examples, backends, bad input, xarray."""

from __future__ import annotations

import numpy as np
import xarray as xr
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from occidata.compute import _parallel, _xp
from occidata.compute._xp import GPUUnavailableError
from occidata.compute.air_indices import (
    POLLUTANTS,
    atmo_index,
    atmo_index_daily,
    atmo_index_xr,
    bands,
    eaqi,
    eaqi_xr,
    index_scheme,
    label,
)
from occidata.compute.air_limits import daily_max, daily_mean

BACKENDS = ["numpy", "numba"]
NAN = float("nan")

# The limits as the issue and the legal texts give them, written out here on purpose:
# the YAML files must say the same.
EAQI_LIMITS = {
    "PM2.5": (5, 15, 50, 90, 140),
    "PM10": (15, 45, 120, 195, 270),
    "NO2": (10, 25, 60, 100, 150),
    "O3": (60, 100, 120, 160, 180),
    "SO2": (20, 40, 125, 190, 275),
}
ATMO_LIMITS = {  # arrêté du 10 juillet 2020, annexe I
    "PM2.5": (10, 20, 25, 50, 75),
    "PM10": (20, 40, 50, 100, 150),
    "NO2": (40, 90, 120, 230, 340),
    "O3": (50, 100, 130, 240, 380),
    "SO2": (100, 200, 350, 500, 750),
}


def test_yaml_limits_are_the_legal_ones():
    for name, expected in (("eaqi", EAQI_LIMITS), ("atmo", ATMO_LIMITS)):
        scheme = index_scheme(name)
        assert {p: tuple(int(v) for v in lim) for p, lim in scheme["limits"].items()} == expected
        assert scheme["source"]
    assert "10 juillet 2020" in index_scheme("atmo")["source"]
    assert index_scheme("atmo")["statistic"] == {"PM2.5": "mean", "PM10": "mean", "NO2": "max", "O3": "max",
                                                 "SO2": "max"}


def _limit_probe(limits):
    """0, then each limit (stays in its band) and limit + 0.1, one step of the data's resolution
    (next band): values and expected bands."""
    values, expected = [0.0], [1]
    for k, lim in enumerate(limits, start=1):
        values += [float(lim), lim + 0.1]
        expected += [k, k + 1]
    return np.array(values), np.array(expected, dtype=np.int8)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("pollutant", POLLUTANTS)
def test_eaqi_every_limit_at_and_just_above(pollutant, backend):
    values, expected = _limit_probe(EAQI_LIMITS[pollutant])
    r = eaqi({pollutant: values}, backend=backend)
    np.testing.assert_array_equal(r.sub_indices[pollutant], expected)
    np.testing.assert_array_equal(r.index, expected)
    assert r.pollutants == (pollutant,) and (r.worst == 0).all()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("pollutant", POLLUTANTS)
def test_atmo_every_limit_at_and_just_above(pollutant, backend):
    values, expected = _limit_probe(ATMO_LIMITS[pollutant])
    r = atmo_index_daily({pollutant: values}, backend=backend)
    np.testing.assert_array_equal(r.index, expected)
    # The same through hourly values: a constant day has that mean and that maximum.
    hourly = np.repeat(values[:, None], 24, axis=1)
    np.testing.assert_array_equal(atmo_index({pollutant: hourly}, backend=backend).index[:, 0], expected)


@pytest.mark.parametrize("backend", BACKENDS)
def test_eaqi_worked_example(backend):
    # Point 0: PM2.5 12 -> 2 (5 < 12 <= 15); PM10 50 -> 3 (45 < 50 <= 120); NO2 30 -> 3 (25 < 30 <= 60);
    #          O3 110 -> 3 (100 < 110 <= 120); SO2 5 -> 1. Worst band 3, first in order: PM10.
    # Point 1: only O3 181 -> 6 (above 180): index 6, worst O3.
    # Point 2: nothing measured -> 0 "no data", worst -1.
    # Point 3: NO2 150 -> 5 (at the limit), SO2 276 -> 6: index 6, worst SO2.
    conc = {
        "PM2.5": [12.0, NAN, NAN, NAN],
        "PM10": [50.0, NAN, NAN, NAN],
        "NO2": [30.0, NAN, NAN, 150.0],
        "O3": [110.0, 181.0, NAN, NAN],
        "SO2": [5.0, NAN, NAN, 276.0],
    }
    r = eaqi(conc, backend=backend)
    assert r.index.dtype == np.int8 and r.worst.dtype == np.int8
    assert r.index.tolist() == [3, 6, 0, 6]
    assert [r.pollutants[i] if i >= 0 else None for i in r.worst] == ["PM10", "O3", None, "SO2"]
    assert r.sub_indices["PM2.5"].tolist() == [2, 0, 0, 0]
    assert r.sub_indices["NO2"].tolist() == [3, 0, 0, 5]
    assert label(r.index, "en").tolist() == ["Moderate", "Extremely poor", "No data", "Extremely poor"]
    assert label(r.index, "fr").tolist() == ["Dégradé", "Extrêmement mauvais", "Pas de données",
                                             "Extrêmement mauvais"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_eaqi_keeps_the_shape_of_a_grid(backend):
    rng = np.random.default_rng(1)
    conc = {p: rng.gamma(2.0, 20.0, (3, 4, 5)) for p in ("NO2", "O3")}
    r = eaqi(conc, backend=backend)
    assert r.index.shape == (3, 4, 5) and r.sub_indices["O3"].shape == (3, 4, 5)
    assert r.pollutants == ("NO2", "O3")  # canonical order, whatever the mapping's order


@pytest.mark.parametrize("backend", BACKENDS)
def test_atmo_worked_example_from_hourly(backend):
    # One station, two days.
    # Day 0: NO2 is 20 all day but 95 at 17:00 -> daily max 95 -> Dégradé (90 < 95 <= 120).
    #        PM10 30 for 12 h and 50 for 12 h -> mean (12*30 + 12*50)/24 = 40 -> Moyen (limit inclusive).
    #        O3 has 17 valid hours of 300 -> under 18 hours -> missing, left out.
    #        Index: Dégradé (3), set by NO2.
    # Day 1: NO2 10 -> Bon; PM10 18 valid hours of 60 and 6 missing -> mean 60 -> Mauvais (50 < 60 <= 100);
    #        O3 24 h of 50 -> Bon. Index Mauvais (4), set by PM10.
    no2 = np.r_[np.full(24, 20.0), np.full(24, 10.0)]
    no2[17] = 95.0
    pm10 = np.r_[np.full(12, 30.0), np.full(12, 50.0), np.full(18, 60.0), np.full(6, NAN)]
    o3 = np.r_[np.full(17, 300.0), np.full(7, NAN), np.full(24, 50.0)]
    r = atmo_index({"NO2": no2, "PM10": pm10, "O3": o3}, backend=backend)
    assert r.pollutants == ("PM10", "NO2", "O3")
    assert r.index.tolist() == [3, 4]
    assert [r.pollutants[i] for i in r.worst] == ["NO2", "PM10"]
    assert r.sub_indices["O3"].tolist() == [0, 1]
    assert label(r.index, "fr", scheme="atmo").tolist() == ["Dégradé", "Mauvais"]
    # Same as classifying the daily aggregates of air_limits directly.
    direct = atmo_index_daily({"NO2": daily_max(no2, backend="numpy"), "PM10": daily_mean(pm10, backend="numpy"),
                               "O3": daily_max(o3, backend="numpy")}, backend=backend)
    np.testing.assert_array_equal(direct.index, r.index)


def test_atmo_pollutant_missing_all_along_is_left_out():
    hourly = {"NO2": np.full((2, 48), 50.0), "SO2": np.full((2, 48), NAN)}
    r = atmo_index(hourly, backend="numpy")
    assert r.index.tolist() == [[2, 2], [2, 2]] and (r.sub_indices["SO2"] == 0).all()


@st.composite
def _concentrations(draw):
    names = draw(st.lists(st.sampled_from(POLLUTANTS), min_size=1, max_size=5, unique=True))
    n = draw(st.integers(1, 40))
    values = st.one_of(st.floats(0, 400, allow_nan=False), st.just(NAN),
                       st.sampled_from([5.0, 10.0, 15.0, 60.0, 100.0, 120.0, 140.0, 180.0, 275.0]))
    out = {p: draw(hnp.arrays(np.float64, n, elements=values)) for p in names}
    if not any(np.isfinite(a).any() for a in out.values()):
        out[names[0]][0] = 1.0
    return out


@settings(max_examples=40, deadline=None)
@given(_concentrations())
def test_numba_equals_numpy_and_invariants(conc):
    ref = eaqi(conc, backend="numpy")
    for threshold in (_parallel.PARALLEL_MIN_WORK, 0):  # one thread, then all of them
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(_parallel, "PARALLEL_MIN_WORK", threshold)
            got = eaqi(conc, backend="numba")
        np.testing.assert_array_equal(got.index, ref.index)
        np.testing.assert_array_equal(got.worst, ref.worst)
        for p in ref.pollutants:
            np.testing.assert_array_equal(got.sub_indices[p], ref.sub_indices[p])
    subs = np.stack([ref.sub_indices[p] for p in ref.pollutants])
    np.testing.assert_array_equal(ref.index, subs.max(axis=0))
    all_nan = np.all(np.isnan(np.stack([conc[p] for p in ref.pollutants])), axis=0)
    np.testing.assert_array_equal(ref.index == 0, all_nan)
    named = ref.worst >= 0
    np.testing.assert_array_equal(subs[ref.worst[named], np.flatnonzero(named)], ref.index[named])
    atmo_ref = atmo_index_daily(conc, backend="numpy")
    np.testing.assert_array_equal(atmo_index_daily(conc, backend="numba").index, atmo_ref.index)


@pytest.mark.parametrize("backend", BACKENDS)
def test_bands_kernel_directly(backend):
    sub, overall, worst = bands([[1.0, 2.0, NAN], [0.5, 3.0, NAN]], [[1.0, 2.0], [1.0, 2.0]], backend=backend)
    assert sub.tolist() == [[1, 2, 0], [1, 3, 0]]
    assert overall.tolist() == [1, 3, 0] and worst.tolist() == [0, 1, -1]


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "conc, match",
    [
        ({"CO": [1.0]}, r"concentrations : polluant inconnu 'CO' ; polluants acceptés : PM2.5, PM10, NO2, O3, SO2"),
        ({"pm25": [1.0], "PM2.5": [2.0]}, r"concentrations : PM2.5 est donné deux fois \('pm25' et 'PM2.5'\)"),
        ({"NO2": [1.0, 2.0], "O3": [1.0]}, r"concentrations\['NO2'\] \(2,\), concentrations\['O3'\] \(1,\)"),
        ({"NO2": [1.0, -2.0]}, r"concentrations\['NO2'\]: 1 negative"),
        ({"NO2": []}, r"concentrations\['NO2'\]: is empty"),
        ({"NO2": [NAN], "O3": [NAN]}, r"concentrations: every value of every pollutant is NaN"),
        ({}, r"concentrations: expected a non-empty mapping"),
        ([1.0, 2.0], r"concentrations: expected a non-empty mapping"),
        ({"NO2": ["a"]}, r"concentrations\['NO2'\]: not an array of numbers"),
    ],
)
def test_eaqi_bad_input_names_the_argument(conc, match):
    with pytest.raises(ValueError, match=match):
        eaqi(conc, backend="numpy")


def test_atmo_bad_input_names_the_argument():
    with pytest.raises(ValueError, match=r"hourly: the last axis has 25 hours"):
        atmo_index({"NO2": np.ones(25)})
    with pytest.raises(ValueError, match=r"hourly : polluant inconnu 'CO'"):
        atmo_index({"CO": np.ones(24)})
    with pytest.raises(ValueError, match=r"hourly\['O3'\]: 1 negative"):
        atmo_index({"O3": np.r_[np.ones(23), -1.0]})
    with pytest.raises(ValueError, match=r"daily: every value"):
        atmo_index_daily({"O3": [NAN, NAN]})
    with pytest.raises(ValueError, match="min_coverage"):
        atmo_index({"O3": np.ones(24)}, min_coverage=2.0)


def test_label_bad_input():
    with pytest.raises(ValueError, match="lang='de'"):
        label(1, "de")
    with pytest.raises(ValueError, match="index: expected band numbers 0..6"):
        label(7)
    with pytest.raises(ValueError, match="scheme='aqi'"):
        label(1, scheme="aqi")
    assert label(np.int8(2), "en") == "Fair" and label(2, "fr", "atmo") == "Moyen"


def test_cupy_without_gpu_says_how_to_install(monkeypatch):
    monkeypatch.setattr(_xp, "_cupy_or_reason", lambda: (None, "CuPy is not installed"))
    with pytest.raises(GPUUnavailableError, match=r"occidata\[gpu\]"):
        eaqi({"NO2": [1.0]}, backend="cupy")


@pytest.mark.gpu
def test_cupy_matches_numpy():
    cupy = pytest.importorskip("cupy")
    if not _xp.gpu_usable():
        pytest.skip("no usable GPU")
    rng = np.random.default_rng(3)
    conc = {p: np.where(rng.random((20, 48)) < 0.1, np.nan, rng.gamma(2.0, 30.0, (20, 48))) for p in POLLUTANTS}
    ref = eaqi(conc, backend="numpy")
    got = eaqi({p: cupy.asarray(a) for p, a in conc.items()}, backend="cupy")
    assert isinstance(got.index, cupy.ndarray)
    np.testing.assert_array_equal(cupy.asnumpy(got.index), ref.index)
    np.testing.assert_array_equal(cupy.asnumpy(got.worst), ref.worst)
    a_ref = atmo_index(conc, backend="numpy")
    a_got = atmo_index({p: cupy.asarray(a) for p, a in conc.items()}, backend="cupy")
    np.testing.assert_array_equal(cupy.asnumpy(a_got.index), a_ref.index)


# --------------------------------------------------------------------------- xarray


def test_eaqi_xr_on_dask_chunks_is_lazy_and_equal():
    rng = np.random.default_rng(5)
    shape = (6, 8, 10)
    data = {p: rng.gamma(2.0, 25.0, shape) for p in ("PM10", "NO2", "O3")}
    data["NO2"][:, :4, :5] = np.nan  # a whole chunk of NO2 missing
    for p in ("PM10", "O3"):
        data[p][:, :4, :5] = np.nan  # ... and of every pollutant: "no data", not an error
    ds = xr.Dataset({p: (("time", "y", "x"), a) for p, a in data.items()})
    lazy = eaqi_xr(ds.chunk({"y": 4, "x": 5}), backend="numba")
    assert lazy["index"].chunks is not None  # nothing computed yet
    eager = eaqi_xr(ds, backend="numpy")
    computed = lazy.compute()
    for name in ("index", "worst", "PM10_index", "NO2_index", "O3_index"):
        np.testing.assert_array_equal(computed[name].values, eager[name].values)
    np.testing.assert_array_equal(eager["index"].values, eaqi(data, backend="numpy").index)
    assert (computed["index"].values[:, :4, :5] == 0).all()


def test_atmo_index_xr_on_dask_chunks_is_lazy_and_equal():
    import pandas as pd

    rng = np.random.default_rng(6)
    time = pd.date_range("2024-07-01", periods=72, freq="h")
    data = {p: rng.gamma(2.0, 25.0, (5, 72)) for p in ("PM2.5", "NO2")}
    ds = xr.Dataset({p: (("station", "time"), a) for p, a in data.items()}, coords={"time": time})
    lazy = atmo_index_xr(ds.chunk({"station": 2, "time": 24}), backend="numba")
    assert lazy["index"].chunks is not None
    computed = lazy.compute()
    ref = atmo_index(data, backend="numpy")
    np.testing.assert_array_equal(computed["index"].values, ref.index)
    np.testing.assert_array_equal(computed["PM2.5_index"].values, ref.sub_indices["PM2.5"])
    assert computed.sizes["day"] == 3 and str(computed["day"].values[1])[:10] == "2024-07-02"


def test_bands_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="values: expected one row per quantity"):
        bands(1.0, [[1.0]])
    with pytest.raises(ValueError, match=r"limits: expected shape \(2, K\)"):
        bands([[1.0], [2.0]], [[1.0, 2.0]])
    with pytest.raises(ValueError, match="limits: each row must be ascending"):
        bands([[1.0]], [[2.0, 1.0]])
