"""bathing_water: the EEA monitoring-table reader on files in the provider's layout, and the generator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from occidata.datasets import bathing_water as bw
from occidata.datasets import get_dataset
from occidata.datasets import ingest as ingest_module
from occidata.datasets.schema import SchemaError

EEA_HEADER = (
    "UID,countryCode,bathingWaterIdentifier,season,sampleDate,intestinalEnterococciValue,escherichiaColiValue,"
    "sampleStatus,intestinalEnterococciStatus,escherichiaColiStatus,remarks,metadata_observationStatus"
)
CORNICHE = "FR034301001"  # Sète - Plage de la Corniche
SALAGOU = "FR034079001"  # Lac du Salagou - Plage de Clermont
GOOD_ROWS = [
    # below the limit, written "<15" for E. coli and flagged by the status for enterococci
    f"101,FR,{CORNICHE},2023,2023-06-12,15,<15,,limitOfDetectionValue,,,A",
    f"102,FR,{CORNICHE},2023,2023-06-26 00:00:00,46,230,,,,,A",
    # a confirmed exceptional result, and one above the upper range, during a pollution event
    f"103,FR,{SALAGOU},2023,2023-07-10,>20000,25000,shortTermPollutionSample,,confirmedValue,orage,A",
    # E. coli not analysed: the 0 is a placeholder, the enterococci result stands
    f"104,FR,{SALAGOU},2023,2023-07-24,30,0,,,missingValue,,A",
]
BAD_ROWS = [
    ("105,FR,FR099999001,2023,2023-06-12,15,20,,,,,A", "site_id: not one of FR030133001"),
    (f"106,FR,{CORNICHE},2023,2023-07-10,15,abc,,,,,A", "e_coli: not a number ('abc')"),
    (f"107,FR,{CORNICHE},2023,2023-07-24,15,-5,,,,,A", "e_coli: below 0.0 cfu/100ml ('-5')"),
    (f"108,FR,{CORNICHE},2023,31/06/2023,15,20,,,,,A", "sample_date: not an ISO 8601 date ('31/06/2023')"),
    (f"109,FR,{CORNICHE},2023,2023-08-07,15,20,,,estimatedValue,,A", "e_coli_flag: not one of , <, > ('estimatedValue')"),
    (f"110,FR,{CORNICHE},2023,2023-08-21,15,>20000,,,limitOfDetectionValue,,A",
     "e_coli_flag: not one of , <, > ('> but status limitOfDetectionValue')"),
    (f"111,FR,{CORNICHE},2023,2023-09-04,15,20,weirdSample,,,,A", "sample_status: not one of routine"),
    (f"112,FR,{CORNICHE},2023,2023-09-11,15,45,,,missingValue,,A",
     "e_coli_flag: not one of , <, > ('45 but status missingValue')"),
]


def write_eea(path, rows, sep=",", bom=False):
    lines = [EEA_HEADER, *rows]
    path.write_text("\n".join(line.replace(",", sep) for line in lines) + "\n", encoding="utf-8-sig" if bom else "utf-8")
    return path


def test_eea_table_ingests_with_places_flags_and_statuses(tmp_path):
    source = write_eea(tmp_path / "BW_MonitoringResult_FR.csv", GOOD_ROWS)
    kept, quarantined = bw.SCHEMA.validate(bw.READERS["eea-csv"](source), str(source))
    assert len(quarantined) == 0 and len(kept) == 4
    assert list(kept.columns) == bw.SCHEMA.names
    first = kept.iloc[0]
    assert (first["name"], first["commune"], first["insee_code"], first["department"], first["water_type"]) == (
        "Sète - Plage de la Corniche", "Sète", "34301", "Hérault", "coastal")
    # Below the detection limit: kept, at the limit, flagged, however the provider wrote it.
    assert (first["e_coli"], first["e_coli_flag"]) == (15.0, "<")
    assert (first["enterococci"], first["enterococci_flag"]) == (15.0, "<")
    assert first["sample_date"] == pd.Timestamp("2023-06-12", tz="UTC") and first["season"] == 2023
    second = kept.iloc[1]
    assert (second["e_coli"], second["e_coli_flag"], second["enterococci"], second["sample_status"]) == (230.0, "", 46.0, "routine")
    assert second["sample_date"] == pd.Timestamp("2023-06-26", tz="UTC")
    storm = kept.iloc[2]
    assert (storm["e_coli"], storm["e_coli_flag"]) == (25000.0, "")
    assert (storm["enterococci"], storm["enterococci_flag"]) == (20000.0, ">")
    assert (storm["water_type"], storm["sample_status"]) == ("lake", "short_term_pollution")
    not_analysed = kept.iloc[3]
    assert np.isnan(not_analysed["e_coli"]) and not_analysed["e_coli_flag"] == ""
    assert not_analysed["enterococci"] == 30.0


def test_semicolons_and_byte_order_mark_read_the_same(tmp_path):
    plain = bw.read_eea_csv(write_eea(tmp_path / "plain.csv", GOOD_ROWS))
    excel = bw.read_eea_csv(write_eea(tmp_path / "excel.csv", GOOD_ROWS, sep=";", bom=True))
    pd.testing.assert_frame_equal(plain, excel)


def test_bad_rows_are_quarantined_with_line_and_reason(tmp_path, monkeypatch):
    # Only this dataset's readers: the other dataset modules are not needed for this ingest.
    monkeypatch.setattr(ingest_module, "ingestable", lambda: {bw.NAME: bw.READERS})
    rows = GOOD_ROWS[:2] + [row for row, _ in BAD_ROWS] + GOOD_ROWS[2:]
    source = write_eea(tmp_path / "export.csv", rows)
    summary = ingest_module.ingest(bw.NAME, source, tmp_path / "data")
    assert (summary.read, summary.kept, summary.quarantined) == (12, 4, 8)
    report = pd.read_csv(summary.quarantine, dtype=str, keep_default_na=False)
    assert list(report["source_row"].astype(int)) == list(range(4, 12))
    for reason, (_, expected) in zip(report["reason"], BAD_ROWS):
        assert reason.startswith(expected), (reason, expected)
    unknown = report.iloc[0]
    assert unknown["site_id"] == "FR099999001" and unknown["commune"] == "" and "('FR099999001')" in unknown["reason"]
    assert len(pd.read_parquet(*summary.tables)) == 4


def test_wrong_columns_name_the_file(tmp_path):
    source = tmp_path / "ars_resultats.csv"
    source.write_text("Nom du site;Date du prélèvement;Escherichia coli (UFC/100ml)\nSète - Corniche;2023-06-12;<15\n")
    with pytest.raises(SchemaError, match=r"ars_resultats\.csv : pas une table de surveillance des eaux de baignade "
                                          r"de l'AEE, colonne\(s\) manquante\(s\) bathingWaterIdentifier, season, "
                                          r"sampleDate"):
        bw.read_eea_csv(source)
    with pytest.raises(SchemaError, match=r"nope\.csv : fichier introuvable"):
        bw.read_eea_csv(tmp_path / "nope.csv")


def test_sites_are_real_places_with_eea_style_identifiers():
    sites = bw.SITES
    assert sites["site_id"].is_unique
    assert sites["site_id"].str.fullmatch(r"FR0\d{8}").all()
    assert (sites["site_id"].str[3:5] == sites["insee_code"].str[:2]).all()
    coastal = sites[sites["water_type"] == "coastal"]
    assert set(coastal["department"]) == {"Gard", "Hérault", "Aude", "Pyrénées-Orientales"}
    assert {"Le Grau-du-Roi", "Palavas-les-Flots", "Sète", "Agde", "Valras-Plage", "Gruissan", "Narbonne", "Leucate",
            "Canet-en-Roussillon", "Argelès-sur-Mer"} <= set(coastal["commune"])
    assert {"lake", "river", "transitional"} <= set(sites["water_type"])
    assert sites["name"].str.contains("Lac de Saint-Ferréol|Lac de la Ganguise|Lac du Salagou|Gorges du Tarn").sum() >= 4
    # Coastal sites sit on the shore, south and east of the inland ones' latitude band.
    assert coastal["latitude"].max() < 43.6 and coastal["longitude"].min() > 3.0


def test_unknown_size_is_refused():
    with pytest.raises(ValueError, match=r"unknown size 'huge'.*tiny, demo, full"):
        bw.generate("huge")


def test_catalogue_entry():
    assert (bw.NAME, bw.KIND) == ("bathing_water", "table")
    assert get_dataset(bw.NAME) is bw
    assert bw.METADATA["licence"] == "Licence Ouverte 2.0" and bw.METADATA["access"] == "public"
    assert bw.METADATA["personal_data"] is False
    assert {"title_fr", "title_en", "description", "producer", "update_frequency", "spatial_coverage",
            "temporal_coverage", "tags"} <= set(bw.METADATA)


@pytest.fixture(scope="module")
def demo():
    return bw.generate("demo", seed=3)


def test_generator_is_deterministic_and_valid():
    first = bw.generate("tiny", seed=1)
    pd.testing.assert_frame_equal(first, bw.generate("tiny", seed=1))
    assert not first.equals(bw.generate("tiny", seed=2))
    kept, quarantined = bw.SCHEMA.validate(first, "generated")
    assert len(quarantined) == 0 and len(kept) == len(first)
    pd.testing.assert_frame_equal(kept, first)  # generated dtypes are those of ingested data
    # Every size ends with the catalogue's build year; tiny is that one season.
    assert set(first["season"]) == {2024} and set(first["sample_date"].dt.year) == {2024}
    assert set(bw.generate("tiny", year=2019)["season"]) == {2019}
    assert bw.generate("demo")["season"].max() == 2024


def test_seasonal_sampling_about_every_two_weeks(demo):
    assert demo["season"].nunique() == 8 and set(demo["site_id"]) == set(bw.SITES["site_id"])
    routine = demo[demo["sample_status"] == "routine"]
    day_of_year = routine["sample_date"].dt.day_of_year - pd.to_datetime(routine["season"].astype(str) + "-01-01").dt.day_of_year
    assert routine["sample_date"].dt.month.between(6, 9).all()
    assert ((routine["sample_date"].dt.month < 9) | (routine["sample_date"].dt.day <= 15)).all()
    assert (routine["sample_date"].dt.year == routine["season"]).all()
    assert day_of_year.min() >= 151  # nothing before the 1st of June (day 152 in leap years)
    gaps = routine.sort_values("sample_date").groupby(["site_id", "season"])["sample_date"].diff().dt.days.dropna()
    assert 12 <= gaps.median() <= 16 and gaps.min() >= 9
    per_season = routine.groupby(["site_id", "season"]).size()
    assert per_season.between(6, 10).all()


def test_low_counts_are_kept_at_the_detection_limit_with_a_flag(demo):
    below = demo[demo["e_coli_flag"] == "<"]
    assert len(below) > 0.2 * len(demo)
    assert (below["e_coli"] == bw.DETECTION_LIMIT).all()
    assert (demo.loc[demo["e_coli_flag"] == "", "e_coli"] >= bw.DETECTION_LIMIT).all()
    assert (demo["enterococci_flag"] == "<").mean() > (demo["e_coli_flag"] == "<").mean()
    coastal = demo[demo["water_type"] == "coastal"]
    assert (coastal["e_coli_flag"] == "<").mean() > 0.4  # open sea: mostly below detection


def test_rivers_and_lakes_run_higher_than_the_open_coast(demo):
    median = demo.groupby("water_type")["e_coli"].median()
    assert median["river"] > 4 * median["coastal"]
    assert median["lake"] > 2 * median["coastal"]
    geometric = np.exp(np.log(demo["e_coli"]).groupby(demo["water_type"]).mean())
    assert geometric["river"] > geometric["lake"] > geometric["coastal"]


def test_storm_spikes_hit_nearby_sites_together_and_are_confirmed(demo):
    routine = demo[demo["sample_status"] == "routine"]
    high = routine["e_coli"] >= 500
    assert 0.005 < high.mean() < 0.1, "spikes are short and rare"
    # Beaches of one commune are sampled the same day: after a storm they are high together.
    rounds = routine.assign(high=high).groupby(["commune", "sample_date"])["high"].agg(["sum", "size"])
    rounds = rounds[rounds["size"] >= 2]
    also_high = (rounds["sum"] * (rounds["sum"] - 1)).sum() / (rounds["sum"] * (rounds["size"] - 1)).sum()
    assert also_high > 5 * high.mean()
    # Spikes do not last: the same site two weeks later is usually back to normal.
    ordered = routine.sort_values(["site_id", "sample_date"])
    next_high = ordered.groupby("site_id")["e_coli"].shift(-1)[ordered["e_coli"] >= 500] >= 500
    assert next_high.mean() < 0.3
    # A result over the alert level is followed three days later by a confirmation sample.
    confirmation = demo[demo["sample_status"] == "confirmation"]
    assert len(confirmation) > 0
    alerts = routine[(routine["e_coli"] > 1000) & (routine["water_type"] == "coastal")]
    followed = alerts.assign(sample_date=alerts["sample_date"] + pd.Timedelta(days=3))[["site_id", "sample_date"]]
    assert len(followed.merge(confirmation, on=["site_id", "sample_date"])) == len(followed) > 0


def test_full_size_is_weekly_over_many_seasons_with_results_above_range():
    full = bw.generate("full")
    assert full["season"].nunique() == 25 and len(full) > 20000
    routine = full[full["sample_status"] == "routine"]
    gaps = routine.groupby(["site_id", "season"])["sample_date"].diff().dt.days.dropna()
    assert 6 <= gaps.median() <= 8
    for indicator in ("e_coli", "enterococci"):
        above = full[full[f"{indicator}_flag"] == ">"]
        assert (above[indicator] == bw.UPPER_LIMIT).all()
        assert full[indicator].max() == bw.UPPER_LIMIT
    assert (full["e_coli_flag"] == ">").any()
