"""air_quality_means: ATMO Occitanie's monthly and annual exports, older and newer, read in place.

Uses the real exports (../shared/data/real beside the checkout); crafted files, made from their
rows, are written to the test's temporary folder only.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from occidata import datasets
from occidata.datasets import air_quality as aq
from occidata.datasets import air_quality_means as means
from occidata.datasets.duplicates import fingerprints
from occidata.datasets.ingest import ingest
from occidata.datasets.real_sources import SOURCE_FILE, load_real
from occidata.datasets.schema import SchemaError

REAL = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "real"
OLD_MONTHLY = REAL / "atmo_occitanie_mesures_mensuelles.csv"
OLD_ANNUAL = REAL / "atmo_occitanie_mesures_annuelles.csv"
NEW_MONTHLY = REAL / "atmo" / "Mesure_mensuelle_Region_Occitanie_Polluants_Principaux_2022-2023.csv"
NEW_ANNUAL = REAL / "atmo" / "Mesure_annuelle_Region_Occitanie_Polluants_Principaux_2018-2023.csv"
HOURLY = REAL / "atmo" / "Mesure_72h_Region_Occitanie_Polluants_Principaux_2020-03-14.csv"
EXPORTS = (OLD_MONTHLY, OLD_ANNUAL, NEW_MONTHLY, NEW_ANNUAL)


@pytest.fixture(scope="module")
def read():
    """Each real export: (reader's rows, kept, quarantined)."""
    for path in (*EXPORTS, HOURLY):
        if not path.exists():
            pytest.fail(f"the real ATMO export is expected at {path} (../shared/data beside the checkout)")
    out = {}
    for path in EXPORTS:
        raw = means.read_atmo_means(path)
        out[path] = (raw, *means.SCHEMA.validate(raw, str(path)))
    return out


def provider_rows(path: Path) -> list[dict]:
    """The export as the csv module reads it, independently of the reader."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("path, counts", [
    (OLD_MONTHLY, (1621, 1621, 0, 0)),
    (OLD_ANNUAL, (259, 259, 0, 0)),
    (NEW_MONTHLY, (2781, 2477, 304, 0)),
    (NEW_ANNUAL, (924, 673, 251, 0)),
], ids=["monthly-2018", "annual-2017-2018", "monthly-2022-2023", "annual-2018-2023"])
def test_each_real_export_is_read_kept_or_quarantined(read, path, counts):
    raw, kept, quarantined = read[path]
    duplicates = (means.overlap(kept)["status"] != means.NEW).sum()
    assert (len(raw), len(kept), len(quarantined), duplicates) == counts
    provider = provider_rows(path)
    assert len(provider) == len(raw)
    # The quarantined rows are exactly the provider's rows with an empty value, all marked invalid.
    empty = [line for line, row in enumerate(provider, 2) if not row["valeur"].strip()]
    assert sorted(quarantined["source_row"].astype(int)) == empty
    assert set(quarantined["reason"]) <= {"value: missing value"}
    assert {provider[line - 2]["statut_valid"] for line in empty} <= {"f"}
    # Nothing else is lost: the kept values add up to the provider's.
    assert kept["value"].sum() == pytest.approx(sum(float(row["valeur"]) for row in provider if row["valeur"].strip()))


def test_both_date_formats_give_the_first_day_of_the_period(read):
    old = read[OLD_MONTHLY][1]  # 2018-08-01T01:00:00.000Z -> 2018-09-01T00:00:00.000Z
    new = read[NEW_MONTHLY][1]  # 2022/08/01 00:00:00+00 -> 2022/08/31 23:59:00+00
    for kept in (old, new, read[OLD_ANNUAL][1], read[NEW_ANNUAL][1]):
        start = kept["period_start"]
        assert str(start.dt.tz) == "UTC" and (start == start.dt.normalize()).all() and (start.dt.day == 1).all()
    assert set(old["period"]) == set(new["period"]) == {"month"}
    assert sorted(old["period_start"].dt.month.unique()) == list(range(2, 13))
    months = pd.date_range("2022-08-01", "2023-11-01", freq="MS", tz="UTC")
    assert sorted(new["period_start"].unique()) == list(months)
    annual = read[NEW_ANNUAL][1]
    assert set(annual["period"]) == {"year"} and (annual["period_start"].dt.month == 1).all()
    assert sorted(annual["period_start"].dt.year.unique()) == list(range(2018, 2024))


def test_a_value_checked_by_hand_against_the_files(read):
    # NEW_MONTHLY line 1934 (grep -n FR50048 ... | grep ,NO2, | grep 2023/01/01):
    # ...,31555,Toulouse-Périphérique Trafic,FR50048,...,NO2,8,49.3,ug.m-3,mensuelle,2023/01/01 00:00:00+00,...,t,...
    kept = read[NEW_MONTHLY][1]
    row = kept[(kept["station_code"] == "FR50048") & (kept["pollutant"] == "NO2")
               & (kept["period_start"] == pd.Timestamp("2023-01-01", tz="UTC"))]
    assert len(row) == 1
    assert row.iloc[0][["station_name", "commune", "insee_code", "value", "unit", "validated"]].tolist() == [
        "Toulouse-Périphérique Trafic", "TOULOUSE", "31555", 49.3, "µg/m³", True]
    line = read[NEW_MONTHLY][0].set_index("source_row").loc[1934]
    assert (line["station_code"], line["pollutant"], line["value"]) == ("FR50048", "NO2", "49.3")


def test_nox_and_nox_as_no2_are_one_pollutant(read):
    # The newer exports say "NOX", the older "NOX as NO2"; both carry EU code 9, and "NOX" is
    # NO2 + 46/30 NO (nitrogen oxides expressed as NO2): one quantity, one label.
    assert {row["nom_poll"] for row in provider_rows(NEW_ANNUAL)} >= {"NOX"}
    assert "NOX" not in {row["nom_poll"] for row in provider_rows(OLD_ANNUAL)}
    for path in EXPORTS:
        kept = read[path][1]
        nox = kept[kept["pollutant"] == means.NOX]
        assert len(nox) > 0 and set(nox["eu_pollutant_code"]) == {9}
        assert "NOX" not in set(kept["pollutant"])
    kept = read[NEW_MONTHLY][1]
    wide = kept.pivot_table(index=["station_code", "period_start"], columns="pollutant", values="value")
    wide = wide.dropna(subset=[means.NOX, "NO2", "NO"])
    assert len(wide) > 300
    assert (wide[means.NOX] - (wide["NO2"] + 46 / 30 * wide["NO"])).abs().median() < 0.2
    # NO stays its own pollutant.
    assert set(kept.loc[kept["pollutant"] == "NO", "eu_pollutant_code"]) == {38}


def test_trailing_spaces_bom_and_validation_flags(read):
    raw_names = {row["nom_station"] for row in provider_rows(NEW_MONTHLY)}
    assert any(name != name.rstrip() for name in raw_names)  # the quirk is in the file
    for path in EXPORTS:
        raw, kept, _ = read[path]
        assert raw.columns[0] == "station_code"
        assert (kept["station_name"] == kept["station_name"].str.strip()).all()
    # Values ATMO has not validated ("f") are kept and flagged, not dropped.
    old = read[OLD_MONTHLY][1]
    assert (~old["validated"]).sum() == sum(row["statut_valid"] == "f" for row in provider_rows(OLD_MONTHLY)) == 11
    assert set(old.loc[old["pollutant"] == "CO", "unit"]) == {"mg/m³"}


def test_2018_is_in_both_annual_exports_and_recognised(read):
    old, new = read[OLD_ANNUAL][1], read[NEW_ANNUAL][1]
    status = means.overlap(new, stored=old)
    assert status["status"].value_counts().to_dict() == {"new": 576, "duplicate": 90, "revised": 7}
    overlapping = new[status["status"] != means.NEW]
    assert set(overlapping["period_start"].dt.year) == {2018}
    albi = status.loc[(new["station_code"] == "FR50026") & (new["pollutant"] == means.NOX)
                      & (new["period_start"].dt.year == 2018), "reason"].item()
    assert albi == ("value revised for FR50026 NOX as NO2 year 2018-01-01: value 19.7, unit µg/m³, validated True "
                    "stored, value 20, unit µg/m³, validated True here")
    assert (status.loc[status["status"] != means.REVISED, "reason"] == "").all()
    # Whole-row identity would miss most of them: exports rename and move stations.
    same_rows = fingerprints(new, means.SCHEMA).isin(fingerprints(old, means.SCHEMA)).sum()
    assert same_rows < 90
    # The monthly exports do not overlap; a file ingested twice is all duplicates.
    assert (means.overlap(read[NEW_MONTHLY][1], stored=read[OLD_MONTHLY][1])["status"] == means.NEW).all()
    assert (means.overlap(old, stored=old)["status"] == means.DUPLICATE).all()


def test_the_build_holds_each_measurement_once_newest_export_first(tmp_path):
    loaded = load_real(means, REAL)  # what the build stores when the exports are there
    table = loaded.rows
    assert len(table) == 1621 + 259 + 2477 + 673 - 90 - 7
    assert not table.duplicated(list(means.KEY)).any()
    kept, quarantined = means.SCHEMA.validate(table, "built")  # as the build validates it
    assert len(kept) == len(table) and len(quarantined) == 0
    albi = table[(table["station_code"] == "FR50026") & (table["pollutant"] == means.NOX) & (table["period"] == "year")]
    assert albi.set_index(albi["period_start"].dt.year)["value"].loc[[2017, 2018, 2019]].tolist() == [22.3, 20.0, 20.0]
    # The older export's other figures are set aside, with both values, not lost.
    aside = loaded.quarantined
    revised = aside[aside["reason"].str.startswith("value revised")]
    assert len(revised) == 7 and set(revised[SOURCE_FILE]) == {OLD_ANNUAL.name}
    old_albi = revised[(revised["station_code"] == "FR50026") & (revised["pollutant"] == means.NOX)]
    assert old_albi["reason"].item() == (
        "value revised for FR50026 NOX as NO2 year 2018-01-01: value 20, unit µg/m³, validated True in an export "
        "read before (kept), value 19.7, unit µg/m³, validated True here")
    rows = {file["name"]: file["rows"] for file in loaded.files}
    assert rows[OLD_ANNUAL.name] == {"read": 259, "kept": 259 - 90 - 7, "duplicates": 90, "revised": 7,
                                     "quarantined": 7}
    assert rows[NEW_ANNUAL.name]["quarantined"] == 251 and rows[NEW_MONTHLY.name]["quarantined"] == 304
    assert load_real(means, tmp_path) is None  # no export there: the build generates instead


def test_the_platform_ingest_takes_the_newer_monthly_export(tmp_path, monkeypatch):
    # The catalogue does not list the entry yet: registered for this test only, so that the ingest
    # the platform runs (file checks, validation, storage by year, quarantine) reads the real file.
    monkeypatch.setitem(datasets.MODULES, means.NAME, means.__name__)
    summary = ingest(means.NAME, NEW_MONTHLY, tmp_path / "data")
    assert (summary.read, summary.kept, summary.quarantined, summary.duplicates) == (2781, 2477, 304, 0)
    assert sorted(table.parent.name for table in summary.tables) == ["year=2022", "year=2023"]
    stored = pd.concat(map(pd.read_parquet, summary.tables), ignore_index=True)
    assert list(stored.columns) == means.SCHEMA.names and len(stored) == 2477
    report = pd.read_csv(summary.quarantine)
    assert len(report) == 304 and set(report["reason"]) == {"value: missing value"}
    again = ingest(means.NAME, NEW_MONTHLY, tmp_path / "data")
    assert (again.kept, again.duplicates, again.quarantined) == (0, 2477, 304)


def crafted(tmp_path: Path, changes: list[dict], name: str = "export.csv") -> Path:
    """A small export: the newer monthly export's header and first row, once per change applied."""
    header, first = NEW_MONTHLY.read_text(encoding="utf-8-sig").splitlines()[:2]
    columns = header.split(",")
    lines = [header]
    for change in changes:
        cells = first.split(",")
        for column, value in change.items():
            cells[columns.index(column)] = value
        lines.append(",".join(cells))
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    return path


def test_crafted_rows_each_quarantined_with_line_and_reason(tmp_path):
    october = {"date_debut": "2022/10/01 00:00:00+00", "date_fin": "2022/10/31 23:59:00+00"}
    path = crafted(tmp_path, [
        {},  # line 2: as the provider wrote it (FR50004 PM10 2022-08, 16.3)
        {"date_debut": "2018-08-01T01:00:00.000Z", "date_fin": "2018-09-01T00:00:00.000Z", "nom_poll": "NOX as NO2"},
        {"nom_poll": "NOX", "nom_station": "Toulouse-Jacquier Urbain   "},
        {"valeur": "", "statut_valid": "f"},
        {"date_debut": "2022/08/15 00:00:00+00", "date_fin": "2022/09/14 23:59:00+00"},
        {"date_debut": "2022/09/01 00:00:00+00"},  # ends on 2022/08/31
        {"date_debut": "01/08/2022"},
        {"metrique": "horaire"},
        {"nom_poll": "C6H6"},
        {**october, "valeur": '"12,5"'},
        {"metrique": "annuelle", "date_debut": "2022/01/01 00:00:00+00", "date_fin": "2022/12/31 23:59:00+00"},
        {},  # line 13: line 2 again, word for word: a repeat, kept for the duplicate count
        {**october, "nom_poll": "O3", "valeur": "40"},
        {**october, "nom_poll": "O3", "valeur": "41"},  # line 15: same measurement as line 14, another value
    ])
    raw = means.read_atmo_means(path)
    kept, quarantined = means.SCHEMA.validate(raw, str(path))
    assert len(kept) + len(quarantined) == len(raw) == 14
    reasons = dict(zip(quarantined["source_row"].astype(int), quarantined["reason"]))
    conflict = "station_code, pollutant, period, period_start: same as line(s) {} with other values"
    assert reasons == {
        5: "value: missing value",
        6: "period_start: not the first day of a month ('2022-08-15')",
        7: "period_end: does not close the month starting 2022-09-01 ('2022-08-31T23:59:00Z')",
        8: "period_start: not an ISO 8601 date ('01/08/2022')",
        9: "period: not one of month, year ('hourly')",
        10: "pollutant: not one of NO2, NO, NOX as NO2, O3, PM10, PM2.5, SO2, H2S, CO ('C6H6')",
        14: conflict.format(15),
        15: conflict.format(14),
    }
    assert kept["period_start"].dt.strftime("%Y-%m-%d").tolist() == [
        "2022-08-01", "2018-08-01", "2022-08-01", "2022-10-01", "2022-01-01", "2022-08-01"]
    assert kept["pollutant"].tolist() == ["PM10", means.NOX, means.NOX, "PM10", "PM10", "PM10"]
    assert kept["station_name"].iloc[2] == "Toulouse-Jacquier Urbain"
    assert kept["value"].iloc[3] == 12.5
    assert kept["period"].tolist() == ["month"] * 4 + ["year", "month"]
    assert means.overlap(kept)["status"].tolist() == ["new"] * 5 + ["duplicate"]


def test_bad_files_get_one_french_line(tmp_path):
    with pytest.raises(SchemaError, match=r"nope\.csv : fichier introuvable"):
        means.read_atmo_means(tmp_path / "nope.csv")
    meteo = REAL / "meteo" / "temperature-quotidienne-departementale.csv"
    with pytest.raises(SchemaError, match=r"temperature-quotidienne-departementale\.csv : pas un export ATMO "
                                          r"Occitanie, colonne\(s\) manquante\(s\) X, Y"):
        means.read_atmo_means(meteo)
    with pytest.raises(SchemaError) as hourly:
        means.read_atmo_means(HOURLY)
    assert str(hourly.value) == (f"{HOURLY} : pas un export de moyennes mensuelles ou annuelles ATMO Occitanie "
                                 "(métrique horaire) ; un export horaire s'ingère dans air_quality_hourly")


def test_the_hourly_reader_takes_every_quirk_of_the_72h_export():
    raw = aq.read_atmo_csv(HOURLY)
    kept, quarantined = aq.SCHEMA.validate(raw, str(HOURLY))
    assert (len(raw), len(kept), len(quarantined)) == (9627, 9452, 175)
    # The only rows it sets aside are the analysers' small negative hourly values (NO, SO2, H2S).
    assert quarantined["reason"].str.startswith("value: below 0.0").all()
    assert set(quarantined["pollutant"]) == {"NO", "SO2", "H2S"}
    assert pd.to_numeric(quarantined["value"]).min() == -1.2
    assert kept["station_code"].nunique() == 42 and raw.columns[0] == "station_code"
    assert (kept["station_name"] == kept["station_name"].str.strip()).all()
    assert kept["time_start"].min() == pd.Timestamp("2020-03-14 10:00", tz="UTC")
    assert kept["time_end"].max() == pd.Timestamp("2020-03-17 09:00", tz="UTC")
    assert set(kept["metric"]) == {"hourly"} and kept["validated"].all()
    assert "NOX as NO2" in set(kept["pollutant"])


def test_metadata_says_what_it_is_in_french_and_english_with_the_licence():
    meta = means.METADATA
    assert meta["title_fr"].startswith("Qualité de l'air") and meta["title_en"].startswith("Air quality")
    assert "NOX as NO2" in meta["description_fr"] and "NOX as NO2" in meta["description"]
    assert (meta["licence"], meta["attribution"], meta["access"]) == ("ODbL 1.0", "© ATMO Occitanie", "public")
    assert "ATMO Occitanie" in meta["producer"] and "synthetic" not in meta["producer"].lower()
    assert means.SCHEMA.time_column == "period_start"  # the year partitions the ingest and the catalogue use


def test_ingesting_a_newer_export_sets_revised_values_aside_and_keeps_the_stored_ones(tmp_path):
    """The 2018 annual means are in both annual exports; 7 of them were revised by ATMO since."""
    data_dir = tmp_path / "data"
    first = ingest(means.NAME, OLD_ANNUAL, data_dir)
    second = ingest(means.NAME, NEW_ANNUAL, data_dir)
    assert (first.kept, first.revised) == (259, 0)
    assert (second.read, second.duplicates, second.revised) == (924, 90, 7)
    assert second.kept == 924 - 251 - 90 - 7 and second.quarantined == 251 + 7
    assert "revised 7" in str(second)
    report = pd.read_csv(second.quarantine)
    revised = report[report["reason"].str.startswith("value revised")]
    assert len(revised) == 7
    albi = revised[(revised["station_code"] == "FR50026") & (revised["pollutant"] == means.NOX)]
    assert albi["reason"].item().endswith("value 19.7, unit µg/m³, validated True already stored, "
                                          "value 20, unit µg/m³, validated True here")
    # The line given is the provider's own line of that revised row.
    line = int(albi["source_row"].item())
    row = provider_rows(NEW_ANNUAL)[line - 2]
    assert (row["code_station"], row["valeur"]) == ("FR50026", "20")
    # What was stored first is still what a reader gets.
    stored = pd.concat(pd.read_parquet(path) for path in (data_dir / means.NAME).rglob("*.parquet"))
    held = stored[(stored["station_code"] == "FR50026") & (stored["pollutant"] == means.NOX)
                  & (stored["period_start"].dt.year == 2018) & (stored["period"] == "year")]
    assert held["value"].tolist() == [19.7]
