"""Bathing water classes (Directive 2006/7/EC): worked examples, every limit, seasons, backends, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from occidata.compute import _parallel, _xp
from occidata.compute._xp import TOLERANCE, GPUUnavailableError
from occidata.compute.bathing_water import CLASSES, bathing_water_class, bathing_water_class_table, rules

BACKENDS = ["numpy", "numba"]
NAN = float("nan")

# Annex I, written out here on purpose: the YAML must say the same.
# (water, parameter) -> (excellent P95, good P95, sufficient P90), cfu/100 ml.
ANNEX_I = {
    ("inland", "enterococci"): (200, 400, 330),
    ("inland", "e_coli"): (500, 1000, 900),
    ("coastal", "enterococci"): (100, 200, 185),
    ("coastal", "e_coli"): (250, 500, 500),
    ("transitional", "enterococci"): (100, 200, 185),
    ("transitional", "e_coli"): (250, 500, 500),
}
CLEAN = np.full(16, 15.0)  # log10 constant: P95 = P90 = 15, excellent everywhere


def test_yaml_limits_are_annex_i():
    info = rules()
    for (water, param), expected in ANNEX_I.items():
        offset = 0 if param == "enterococci" else 3
        assert tuple(info["limits"][water][offset:offset + 3]) == expected
    assert (info["z95"], info["z90"], info["seasons"]) == (1.65, 1.282, 4)
    assert "2006/7/EC" in info["source"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_worked_example_coastal_sufficient(backend):
    # Enterococci: 8 samples of 10 and 8 of 100 cfu/100 ml -> log10 values eight 1s and eight 2s.
    #   mu = 1.5; each deviation is +-0.5, sum of squares 16 * 0.25 = 4, s^2 = 4 / 15 = 0.26667,
    #   sigma = 0.516398.
    #   P95 = 10^(1.5 + 1.65 * 0.516398) = 10^2.352056 = 224.93  (> 200: not good)
    #   P90 = 10^(1.5 + 1.282 * 0.516398) = 10^2.162022 = 145.22 (<= 185: sufficient)
    # E. coli: 16 samples of 15 -> P95 = P90 = 15 -> excellent. Worse of the two: sufficient.
    ent = np.r_[np.full(8, 10.0), np.full(8, 100.0)]
    r = bathing_water_class(ent, CLEAN, "coastal", backend=backend)
    assert r.enterococci_p95 == pytest.approx(224.93463694577306, rel=1e-12)
    assert r.enterococci_p90 == pytest.approx(145.2185022768006, rel=1e-12)
    assert r.e_coli_p95 == pytest.approx(15.0, rel=1e-12)
    assert r.classification == "sufficient" and r.code == 3 and r.n_samples == 16
    assert r.classification.shape == ()
    # Inland, the same enterococci are excellent (P95 224.9 <= 200? no: 224.9 <= 400 good).
    assert bathing_water_class(ent, CLEAN, "inland", backend=backend).classification == "good"


@pytest.mark.parametrize("backend", BACKENDS)
def test_worked_example_inland_good(backend):
    # E. coli, 16 samples: 20 30 40 50 60 80 100 120 150 200 250 300 400 500 700 1000.
    #   log10: 1.3010 1.4771 1.6021 1.6990 1.7782 1.9031 2.0000 2.0792 2.1761 2.3010 2.3979 2.4771
    #          2.6021 2.6990 2.8451 3.0000 -> sum 34.3379, mu = 2.146120
    #   sigma (ddof=1) = 0.503789
    #   P95 = 10^(2.146120 + 1.65 * 0.503789) = 10^2.977371 = 949.23  (inland: 500 < 949 <= 1000 good)
    #   P90 = 10^(2.146120 + 1.282 * 0.503789) = 10^2.791978 = 619.41
    # Enterococci 16 x 15: excellent. Site: good. The same counts as enterococci: P95 949 > 400 and
    # P90 619 > 330: poor.
    e_coli = np.array([20, 30, 40, 50, 60, 80, 100, 120, 150, 200, 250, 300, 400, 500, 700, 1000.0])
    r = bathing_water_class(CLEAN, e_coli, "river", backend=backend)
    assert r.e_coli_p95 == pytest.approx(949.230851652819, rel=1e-12)
    assert r.e_coli_p90 == pytest.approx(619.4088618666867, rel=1e-12)
    assert r.classification == "good"
    assert bathing_water_class(e_coli, CLEAN, "lake", backend=backend).classification == "poor"


def _samples_at(percentile_value: float, z: float, spread: float = 0.3) -> np.ndarray:
    """16 counts whose Annex II percentile with factor z is percentile_value (eight at mu-d, eight at mu+d).

    sigma = d * sqrt(16/15) (ddof=1), mu = log10(value) - z * sigma.
    """
    sigma = spread * np.sqrt(16 / 15)
    mu = np.log10(percentile_value) - z * sigma
    return 10.0 ** np.r_[np.full(8, mu - spread), np.full(8, mu + spread)]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("water, param", list(ANNEX_I))
def test_every_limit_at_and_just_above(water, param, backend):
    excellent, good, sufficient = ANNEX_I[(water, param)]
    # With spread 0.3, P90 = 0.77 x P95: just above the good limit is still sufficient on P90, and
    # at the sufficient limit P95 is above the good limit, for every water type.
    cases = [
        (_samples_at(excellent, 1.65), "excellent"),
        (_samples_at(excellent + 0.01, 1.65), "good"),
        (_samples_at(good, 1.65), "good"),
        (_samples_at(good + 0.01, 1.65), "sufficient"),
        (_samples_at(sufficient, 1.282), "sufficient"),
        (_samples_at(sufficient + 0.01, 1.282), "poor"),
    ]
    sites = np.stack([c[0] for c in cases])
    clean = np.tile(CLEAN, (len(cases), 1))
    ent, eco = (sites, clean) if param == "enterococci" else (clean, sites)
    r = bathing_water_class(ent, eco, water, backend=backend)
    assert r.classification.tolist() == [c[1] for c in cases]
    p95 = r.enterococci_p95 if param == "enterococci" else r.e_coli_p95
    assert p95[0] == pytest.approx(excellent, rel=1e-12) and p95[2] == pytest.approx(good, rel=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_constant_samples_exactly_at_a_limit_stay_in_the_class(backend):
    # sigma = 0, so P95 = 10^log10(200) = 200 up to rounding: still "good" for coastal enterococci.
    r = bathing_water_class(np.full(16, 200.0), CLEAN, "coastal", backend=backend)
    assert r.classification == "good"


@pytest.mark.parametrize("backend", BACKENDS)
def test_sample_count_rule(backend):
    r = bathing_water_class(CLEAN[:15], CLEAN[:15], "coastal", backend=backend)
    assert r.classification == "insufficient samples" and r.n_samples == 15 and r.code == 0
    assert r.enterococci_p95 == pytest.approx(15.0)  # the percentiles are still given
    assert bathing_water_class(CLEAN[:12], CLEAN[:12], "coastal", min_samples=12,
                               backend=backend).classification == "excellent"
    assert bathing_water_class(CLEAN[:11], CLEAN[:11], "coastal", min_samples=12,
                               backend=backend).classification == "insufficient samples"
    assert bathing_water_class(CLEAN[:8], CLEAN[:8], "coastal", min_samples=8,
                               backend=backend).classification == "excellent"
    # A missing E. coli value: that sample counts for enterococci only; n_samples is the smaller count.
    eco = CLEAN.copy()
    eco[3] = NAN
    r = bathing_water_class(CLEAN, eco, "coastal", backend=backend)
    assert r.n_samples == 15 and r.classification == "insufficient samples"
    one = bathing_water_class(CLEAN[:1], CLEAN[:1], "coastal", min_samples=8, backend=backend)
    assert np.isnan(one.enterococci_p95)


@pytest.mark.parametrize("backend", BACKENDS)
def test_zero_counts_take_the_detection_limit(backend):
    # Annex II (i): log10 of 0 is replaced by log10 of the detection limit; 16 zeros -> P95 = 15.
    r = bathing_water_class(np.zeros(16), np.zeros(16), "coastal", backend=backend)
    assert r.enterococci_p95 == pytest.approx(15.0, rel=1e-12) and r.classification == "excellent"
    r = bathing_water_class(np.zeros(16), np.zeros(16), "coastal", backend=backend, detection_limit=1.0)
    assert r.e_coli_p90 == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_only_the_last_four_seasons(backend):
    # Seasons 2019..2024, 4 samples a season. 2019 and 2020 had a sewage problem (5000 cfu/100 ml);
    # the assessment of 2024 uses 2021-2024 only: 16 samples of 15 -> excellent.
    season = np.repeat(np.arange(2019, 2025), 4)
    ent = np.where(season <= 2020, 5000.0, 15.0)
    r = bathing_water_class(ent, ent, "coastal", season=season, backend=backend)
    assert r.classification == "excellent" and r.n_samples == 16
    # Without seasons, all 24 samples count: poor.
    assert bathing_water_class(ent, ent, "coastal", backend=backend).classification == "poor"
    # The assessment of 2022 uses 2019-2022: half the samples at 5000 -> poor.
    r = bathing_water_class(ent, ent, "coastal", season=season, last_season=2022, backend=backend)
    assert r.classification == "poor" and r.n_samples == 16
    # 2-D with NaN padding and one season row per site.
    ent2 = np.stack([ent, np.r_[ent[:20], np.full(4, NAN)]])
    season2 = np.stack([season, np.r_[season[:20], np.full(4, NAN)]]).astype(float)
    r = bathing_water_class(ent2, ent2, "coastal", season=season2, backend=backend)
    # Site 1 has no 2024 sample: its window 2021-2024 holds 2021-2023, 12 samples.
    assert r.n_samples.tolist() == [16, 12]
    assert r.classification.tolist() == ["excellent", "insufficient samples"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_many_sites_with_their_own_water_type(backend):
    rng = np.random.default_rng(2)
    ent = 10 ** rng.normal(1.8, 0.4, (5, 20))
    eco = 10 ** rng.normal(2.2, 0.4, (5, 20))
    ent[1, 16:] = NAN
    eco[2, 10:] = NAN
    types = ["coastal", "inland", "transitional", "lake", "mer"]
    r = bathing_water_class(ent, eco, types, backend=backend)
    assert r.classification.shape == (5,)
    for i, water in enumerate(types):
        one = bathing_water_class(ent[i], eco[i], water, backend="numpy")  # one site, NaN-padded
        assert r.enterococci_p95[i] == pytest.approx(float(one.enterococci_p95), rel=1e-12)
        assert r.classification[i] == one.classification


# --------------------------------------------------------------------------- backends


@st.composite
def _sites(draw):
    sites = draw(st.integers(1, 6))
    n = draw(st.integers(1, 30))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    ent = np.round(10 ** rng.normal(draw(st.floats(0.5, 3.0)), draw(st.floats(0.0, 1.0)), (sites, n)))
    eco = np.round(10 ** rng.normal(draw(st.floats(0.5, 3.0)), draw(st.floats(0.0, 1.0)), (sites, n)))
    for x in (ent, eco):
        x[rng.random((sites, n)) < draw(st.floats(0.0, 0.5))] = NAN
        x[0, 0] = 15.0
    water = [draw(st.sampled_from(["coastal", "transitional", "inland"])) for _ in range(sites)]
    return ent, eco, water, draw(st.sampled_from([16, 12, 8]))


@settings(max_examples=40, deadline=None)
@given(_sites())
def test_numba_equals_numpy_and_invariants(case):
    ent, eco, water, min_samples = case
    ref = bathing_water_class(ent, eco, water, min_samples=min_samples, backend="numpy")
    for threshold in (_parallel.PARALLEL_MIN_WORK, 0):  # one thread, then all of them
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(_parallel, "PARALLEL_MIN_WORK", threshold)
            got = bathing_water_class(ent, eco, water, min_samples=min_samples, backend="numba")
        for field in ("enterococci_p95", "enterococci_p90", "e_coli_p95", "e_coli_p90"):
            np.testing.assert_allclose(getattr(got, field), getattr(ref, field), rtol=TOLERANCE["numba"])
        np.testing.assert_array_equal(got.classification, ref.classification)
        np.testing.assert_array_equal(got.n_samples, ref.n_samples)
    ok = ~np.isnan(ref.enterococci_p95)
    assert (ref.enterococci_p95[ok] >= ref.enterococci_p90[ok]).all()
    counts = np.minimum((~np.isnan(ent)).sum(axis=1), (~np.isnan(eco)).sum(axis=1))
    np.testing.assert_array_equal(ref.n_samples, counts)
    np.testing.assert_array_equal(ref.classification == "insufficient samples", counts < min_samples)
    assert set(ref.classification.tolist()) <= set(CLASSES)


def test_real_dataset_against_a_direct_computation():
    from occidata.datasets import bathing_water as dataset

    samples = dataset.generate("demo", seed=1)
    table = bathing_water_class_table(samples, backend="numba")
    assert len(table) == samples["site_id"].nunique()
    ref = bathing_water_class_table(samples, backend="numpy")
    np.testing.assert_allclose(table["e_coli_p95"], ref["e_coli_p95"], rtol=TOLERANCE["numba"])
    assert table["classification"].equals(ref["classification"]) and table["n_samples"].equals(ref["n_samples"])
    last = samples["season"].max()
    for site_id in table.index[:5]:
        rows = samples[(samples["site_id"] == site_id) & (samples["season"] > last - 4)]
        logs = np.log10(rows["e_coli"].to_numpy(dtype=float))
        p95 = 10 ** (logs.mean() + 1.65 * logs.std(ddof=1))
        assert table.loc[site_id, "e_coli_p95"] == pytest.approx(p95, rel=1e-12)
        assert table.loc[site_id, "n_samples"] == len(rows)
    assert set(table["classification"]) <= set(CLASSES)
    fewer = bathing_water_class_table(samples, exclude_status=("confirmation",), backend="numpy")
    assert (fewer["n_samples"] <= table["n_samples"]).all()


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"water_type": "sea"}, r"water_type='sea' is not known; use one of 'coastal', 'transitional', 'inland'"),
        ({"water_type": ["coastal"] * 3}, r"water_type: expected one string or one per site"),
        ({"enterococci": np.r_[CLEAN[:15], -1.0]}, r"enterococci: 1 negative"),
        ({"e_coli": CLEAN[:10]}, r"shapes differ: enterococci \(16,\), e_coli \(10,\)"),
        ({"enterococci": []}, r"enterococci: is empty"),
        ({"e_coli": np.full(16, NAN)}, r"e_coli: every value is NaN"),
        ({"enterococci": 5.0}, r"enterococci: expected samples on the last axis"),
        ({"min_samples": 10}, r"min_samples=10 is not allowed; use one of 16, 12, 8"),
        ({"min_samples": True}, r"min_samples=True is not allowed"),
        ({"season": np.arange(5)}, r"season: expected shape \(16,\)"),
        ({"season": np.r_[np.full(15, 2024.0), NAN]}, r"season: NaN for a sample that has a value"),
        ({"detection_limit": 0}, r"detection_limit=0: expected a positive number"),
        ({"backend": "gpu"}, r"backend='gpu' is not one of"),
    ],
)
def test_bad_input_names_the_argument(kwargs, match):
    args = {"enterococci": CLEAN, "e_coli": CLEAN, "water_type": "coastal"}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        bathing_water_class(**args)


def test_french_and_dataset_water_types():
    for water in ("côtière", "Mer", "transition", "eau douce", "river", "lake", " Coastal "):
        assert bathing_water_class(CLEAN, CLEAN, water, backend="numpy").classification == "excellent"


def test_table_bad_input():
    import pandas as pd

    with pytest.raises(ValueError, match=r"samples: missing column\(s\) e_coli"):
        bathing_water_class_table(pd.DataFrame({"site_id": ["a"], "water_type": ["coastal"], "season": [2024],
                                                "enterococci": [15.0]}))


def test_cupy_without_gpu_says_how_to_install(monkeypatch):
    monkeypatch.setattr(_xp, "_cupy_or_reason", lambda: (None, "CuPy is not installed"))
    with pytest.raises(GPUUnavailableError, match=r"occidata\[gpu\]"):
        bathing_water_class(CLEAN, CLEAN, "coastal", backend="cupy")


@pytest.mark.gpu
def test_cupy_matches_numpy():
    cupy = pytest.importorskip("cupy")
    if not _xp.gpu_usable():
        pytest.skip("no usable GPU")
    rng = np.random.default_rng(4)
    ent = np.round(10 ** rng.normal(1.8, 0.6, (50, 40)))
    eco = np.round(10 ** rng.normal(2.2, 0.6, (50, 40)))
    ent[rng.random(ent.shape) < 0.2] = np.nan
    season = np.tile(np.repeat(np.arange(2017, 2025), 5), (50, 1)).astype(float)
    ref = bathing_water_class(ent, eco, "coastal", season=season, backend="numpy")
    got = bathing_water_class(cupy.asarray(ent), cupy.asarray(eco), "coastal", season=cupy.asarray(season),
                              backend="cupy")
    np.testing.assert_allclose(cupy.asnumpy(got.enterococci_p95), ref.enterococci_p95, rtol=TOLERANCE["cupy"])
    np.testing.assert_array_equal(got.classification, ref.classification)
