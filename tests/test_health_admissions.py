"""health_admissions: restricted weekly counts, their shapes, and the small cells the suppression gate will hide."""

from __future__ import annotations

import pandas as pd
import pytest

from occidata.datasets import get_dataset
from occidata.datasets import health_admissions as ha


@pytest.fixture(scope="module")
def demo():
    return ha.generate("demo", seed=5)


def test_catalogue_entry_is_restricted_personal_data():
    assert (ha.NAME, ha.KIND) == ("health_admissions", "table")
    assert get_dataset(ha.NAME) is ha
    meta = ha.METADATA
    assert (meta["access"], meta["licence"], meta["personal_data"]) == ("restricted", "restricted", True)
    assert meta["legal_basis"].startswith("GDPR art. 9(2)(i)") and "PMSI" in meta["legal_basis"]
    assert meta["small_cell_threshold"] == 11 == ha.SMALL_CELL_THRESHOLD
    assert "under 11" in meta["suppression"]
    assert not hasattr(ha, "READERS")  # no real provider feed


def test_unknown_size_is_refused():
    with pytest.raises(ValueError, match=r"unknown size 'medium'.*tiny, demo, full"):
        ha.generate("medium")


def test_generator_is_deterministic_and_valid():
    first = ha.generate("tiny", seed=1)
    pd.testing.assert_frame_equal(first, ha.generate("tiny", seed=1))
    assert not first.equals(ha.generate("tiny", seed=2))
    kept, quarantined = ha.SCHEMA.validate(first, "generated")
    assert len(quarantined) == 0 and len(kept) == len(first)
    pd.testing.assert_frame_equal(kept, first)  # generated dtypes are those of stored data
    assert set(first["week_start"].dt.year) == {2024} and first["week_start"].nunique() == 53
    assert set(ha.generate("tiny", year=2019)["week_start"].dt.year) == {2019}


def test_every_monday_commune_age_band_and_cause_has_one_row(demo):
    assert (demo["week_start"].dt.day_of_week == 0).all()
    assert str(demo["week_start"].dt.tz) == "UTC" and (demo["week_start"].dt.hour == 0).all()
    weeks = demo["week_start"].drop_duplicates().sort_values()
    assert (weeks.diff().dropna() == pd.Timedelta(days=7)).all()
    # Three calendar years ending with the catalogue's build year, each week in the year it starts.
    assert (weeks.iloc[0], weeks.iloc[-1]) == (pd.Timestamp("2022-01-03", tz="UTC"), pd.Timestamp("2024-12-30", tz="UTC"))
    assert not demo.duplicated(["week_start", "insee_code", "age_band", "cause"]).any()
    assert len(demo) == len(weeks) * demo["insee_code"].nunique() * len(ha.AGE_BANDS) * len(ha.CAUSES)
    assert set(demo["department"]) == set(ha.DEPARTMENTS.values())
    assert demo.loc[demo["commune"] == "Toulouse", "insee_code"].unique().tolist() == ["31555"]


def test_respiratory_admissions_peak_in_winter_children_first(demo):
    respiratory = demo[demo["cause"] == "respiratory"]
    weekly = respiratory.groupby("week_start")["admissions"].sum()
    by_month = weekly.groupby(weekly.index.month).mean()
    assert by_month[[12, 1, 2]].mean() > 2 * by_month[[6, 7, 8]].mean()
    # Each winter has an epidemic peak between November and March.
    winter_of = weekly.index.year + (weekly.index.month >= 7)
    peaks = weekly.groupby(winter_of).idxmax()
    assert all(peak.month in (11, 12, 1, 2, 3) for peak in peaks.iloc[1:])
    # Bronchiolitis fills children's wards weeks before influenza reaches the elderly, every winter.
    by_age = respiratory.groupby(["week_start", "age_band"])["admissions"].sum().unstack()
    winter = by_age.index.year + (by_age.index.month >= 7)
    first, last = by_age.index.year.min(), by_age.index.year.max()
    for season in range(first + 1, last + 1):  # the winters seen from November to March
        peaks = by_age[winter == season].idxmax()
        assert peaks["75+"] - peaks["0-14"] >= pd.Timedelta(weeks=3), (season, peaks)


def test_heat_admissions_come_with_summer_heat_waves_among_the_oldest(demo):
    heat = demo[demo["cause"] == "heat"]
    weekly = heat.groupby("week_start")["admissions"].sum()
    summer = weekly[weekly.index.month.isin([6, 7, 8])]
    assert summer.sum() > 0.8 * weekly.sum()
    # Heat waves: a few weeks far above an ordinary summer week, every year.
    for year, weeks in summer.groupby(summer.index.year):
        assert weeks.max() > 3 * weeks.median(), year
    wave_weeks = summer[summer > 3 * summer.median()].index
    in_waves = heat[heat["week_start"].isin(wave_weeks)]
    by_age = in_waves.groupby("age_band")["admissions"].sum()
    assert by_age["75+"] > 0.6 * by_age.sum()
    residents_share = 0.16  # the 75+ are at most one resident in six
    assert by_age["75+"] / by_age.sum() > 3 * residents_share


def test_counts_scale_with_population(demo):
    population = ha.COMMUNES.set_index("commune")["population"]
    totals = demo[demo["cause"] == "respiratory"].groupby("commune")["admissions"].sum()
    assert totals["Toulouse"] > totals["Montpellier"] > totals["Narbonne"] > totals["Mende"] > totals["Saint-Cirq-Lapopie"]
    per_capita = totals / population[totals.index]
    assert per_capita["Toulouse"] == pytest.approx(per_capita["Montpellier"], rel=0.15)
    towns = per_capita[population[per_capita.index] > 30000]
    assert towns.max() < 1.3 * towns.min()
    toulouse_elderly = demo[(demo["commune"] == "Toulouse") & (demo["cause"] == "respiratory") & (demo["age_band"] == "75+")]
    assert toulouse_elderly["admissions"].median() >= 30


def test_small_communes_are_mostly_small_cells(demo):
    flagged = ha.small_cells(demo)
    assert flagged.sum() > 5000, "the suppression gate must have plenty to do"
    population = demo["commune"].map(ha.COMMUNES.set_index("commune")["population"])
    small_communes = demo[(population < 10000) & (demo["admissions"] > 0)]
    assert ha.small_cells(small_communes).mean() > 0.95
    big_city = demo[(demo["commune"] == "Toulouse") & (demo["cause"] == "respiratory")]
    assert ha.small_cells(big_city).mean() < 0.2
    # Small cells are not zeros: a zero names nobody.
    assert (demo.loc[flagged, "admissions"] > 0).all() and (demo["admissions"] == 0).any()
    assert demo.loc[flagged, "admissions"].max() == 10


def test_small_cells_marks_counts_from_one_to_under_the_threshold():
    frame = pd.DataFrame({"admissions": [0, 1, 10, 11, 25, 3]}, index=[10, 11, 12, 13, 14, 15])
    flagged = ha.small_cells(frame)
    assert flagged.dtype == bool and flagged.index.equals(frame.index)
    assert flagged.tolist() == [False, True, True, False, False, True]
    assert ha.small_cells(frame, threshold=5).tolist() == [False, True, False, False, False, True]
    assert frame["admissions"].tolist() == [0, 1, 10, 11, 25, 3]  # the input is untouched


def test_small_cells_on_validated_counts_with_a_missing_value():
    frame = pd.DataFrame({"admissions": pd.array([4, None, 12], dtype="Int64")})
    assert ha.small_cells(frame).tolist() == [True, False, False]
    with pytest.raises(ValueError, match="at least 1"):
        ha.small_cells(frame, threshold=0)
    with pytest.raises(KeyError, match="admissions"):
        ha.small_cells(pd.DataFrame({"count": [3]}))


def test_full_size_is_benchmark_sized():
    full = ha.generate("full")
    assert len(full) > 150000 and full["week_start"].dt.year.nunique() >= 10
    assert full["commune"].nunique() == len(ha.COMMUNES) and (full["admissions"] >= 0).all()
