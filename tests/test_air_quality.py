"""air_quality_hourly: the ATMO reader on the provider's real exports, and the generator."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from occidata.datasets import air_quality as aq
from occidata.datasets.ingest import ingest
from occidata.datasets.schema import SchemaError

REAL = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "real"
MONTHLY = REAL / "atmo_occitanie_mesures_mensuelles.csv"
ANNUAL = REAL / "atmo_occitanie_mesures_annuelles.csv"


@pytest.fixture(scope="module")
def monthly():
    if not MONTHLY.exists():
        pytest.fail(f"the real ATMO export is expected at {MONTHLY} (../shared/data beside the checkout)")
    kept, quarantined = aq.SCHEMA.validate(aq.read_atmo_csv(MONTHLY), str(MONTHLY))
    return kept, quarantined


def test_real_monthly_export_loses_nothing(monthly):
    kept, quarantined = monthly
    provider = pd.read_csv(MONTHLY, encoding="utf-8-sig", dtype=str)
    assert len(kept) + len(quarantined) == len(provider) == 1621
    assert len(quarantined) == 0
    # Pollutants outside the five of the indices are kept, with the provider's names.
    assert {"NO", "NOX as NO2", "H2S", "CO"} <= set(kept["pollutant"])
    assert set(kept.loc[kept["pollutant"] == "CO", "unit"]) == {"mg/m³"}
    # Unvalidated values are kept and flagged, not dropped.
    assert (~kept["validated"]).sum() == (provider["statut_valid"] == "f").sum() == 11
    assert kept["value"].sum() == pytest.approx(pd.to_numeric(provider["valeur"]).sum())


def test_bom_and_trailing_spaces_are_cleaned(monthly):
    kept, _ = monthly
    assert kept.columns[0] == "station_code"  # the BOM did not stick to the first header
    assert (kept["station_name"] == kept["station_name"].str.strip()).all()
    assert kept["time_start"].dt.tz is not None
    assert set(kept["typology"]) == {"urban", "suburban", "rural"}
    assert "Rurale proche Zone Urbaine" in set(kept["typology_detail"])


def test_real_annual_export_ingests(tmp_path):
    summary = ingest(aq.NAME, ANNUAL, tmp_path)
    assert (summary.read, summary.kept, summary.quarantined) == (259, 259, 0)
    stored = pd.concat(map(pd.read_parquet, summary.tables))
    assert len(stored) == 259 and stored["metric"].eq("annual").all()
    assert summary.quarantine is None


def test_bad_rows_are_quarantined_with_line_and_reason(tmp_path):
    lines = MONTHLY.read_text(encoding="utf-8-sig").splitlines()
    header, rows = lines[0], lines[1:6]
    columns = header.split(",")
    broken = rows[1].split(",")
    broken[columns.index("valeur")] = "n/a"
    negative = rows[2].split(",")
    negative[columns.index("valeur")] = "-4"
    bad_date = rows[3].split(",")
    bad_date[columns.index("date_debut")] = "31/02/2018"
    source = tmp_path / "export.csv"
    source.write_text("\n".join([header, rows[0], ",".join(broken), ",".join(negative), ",".join(bad_date), rows[4]]) + "\n")

    summary = ingest(aq.NAME, source, tmp_path / "data")
    assert (summary.read, summary.kept, summary.quarantined) == (5, 2, 3)
    report = pd.read_csv(summary.quarantine)
    assert list(report["source_row"]) == [3, 4, 5]
    assert report["reason"].iloc[0] == "value: not a number ('n/a')"
    assert report["reason"].iloc[1].startswith("value: below 0.0")
    assert report["reason"].iloc[2].startswith("time_start: not an ISO 8601 date")
    assert len(pd.read_parquet(*summary.tables)) == 2


def test_wrong_columns_name_the_file_and_write_nothing(tmp_path):
    source = tmp_path / "geodair.csv"
    source.write_text("Date de début;code site;Polluant;valeur\n2024-01-01;FR50004;NO2;12\n")
    with pytest.raises(SchemaError, match=r"geodair\.csv : pas un export ATMO Occitanie, colonne\(s\) manquante\(s\) X, Y"):
        ingest(aq.NAME, source, tmp_path / "data")
    assert not (tmp_path / "data").exists()


def test_cli_ingest_prints_a_summary_and_errors_cleanly(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCCIDATA_")}
    env["OCCIDATA_STATE_DIR"] = str(tmp_path)
    ok = subprocess.run([sys.executable, "-m", "occidata.cli", "data", "ingest", aq.NAME, str(ANNUAL)],
                        env=env, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert "read 259, kept 259, quarantined 0" in ok.stdout
    missing = subprocess.run([sys.executable, "-m", "occidata.cli", "data", "ingest", aq.NAME, str(tmp_path / "nope.csv")],
                             env=env, capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2
    assert "nope.csv : fichier introuvable" in missing.stderr and "Traceback" not in missing.stderr


def test_stations_come_from_the_real_network(monthly):
    stations = aq.stations_from(monthly[0])
    assert len(stations) == 47
    assert stations["station_code"].is_unique
    toulouse_traffic = stations[stations["station_code"] == "FR50048"].iloc[0]
    assert toulouse_traffic["influence"] == "traffic"
    assert "NO2" in toulouse_traffic["pollutants"]


def test_generator_is_deterministic_valid_and_shaped_like_the_real_data(monthly):
    stations = aq.stations_from(monthly[0])
    first = aq.generate_hourly(stations, "2024-01-01", days=366, seed=7)
    again = aq.generate_hourly(stations, "2024-01-01", days=366, seed=7)
    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(aq.generate_hourly(stations, "2024-01-01", days=366, seed=8))

    kept, quarantined = aq.SCHEMA.validate(first, "generated")
    assert len(quarantined) == 0 and len(kept) == len(first)
    assert set(first["station_code"]) == set(stations["station_code"])
    # Missing hours exist, as in real feeds.
    assert len(first) < sum(len(p) for p in stations["pollutants"]) * 366 * 24

    month = first["time_start"].dt.month
    mean = first.assign(month=month).groupby(["pollutant", "month"])["value"].mean()
    assert mean["O3", 7] > 1.5 * mean["O3", 1], "summer ozone"
    assert mean["NO2", 1] > 1.3 * mean["NO2", 7], "winter NO2"
    by_influence = first[first["pollutant"] == "NO2"].groupby("influence")["value"].mean()
    assert by_influence["traffic"] > 2 * by_influence["background"], "NO2 peaks at traffic stations"
    local_hour = first["time_start"].dt.tz_convert("Europe/Paris").dt.hour
    traffic_no2 = first[(first["pollutant"] == "NO2") & (first["influence"] == "traffic")]
    hourly = traffic_no2.groupby(local_hour[traffic_no2.index])["value"].mean()
    assert hourly[8] > 1.5 * hourly[3], "morning rush hour"


GEODAIR_HEADER = (
    '"Date de début";"Date de fin";"Organisme";"code zas";"Zas";"code site";"nom site";"type d\'implantation";'
    '"Polluant";"type d\'influence";"valeur";"valeur brute";"unité de mesure";"taux de saisie";"validité"'
)


def test_geodair_e2_export_ingests_with_places_from_the_station_table(tmp_path, monkeypatch):
    monkeypatch.setenv("OCCIDATA_SOURCES__REAL_DATA_DIR", str(REAL))
    rows = [
        '2024/01/15 07:00:00;2024/01/15 08:00:00;ATMO OCCITANIE;FR76ZAR01;ZAR TOULOUSE;FR50048;Toulouse-Périphérique Trafic;Urbaine;NO2;Trafic;61,2;61,24;µg-m3;100;1',
        '2024/01/15 08:00:00;2024/01/15 09:00:00;ATMO OCCITANIE;FR76ZAR01;ZAR TOULOUSE;FR50048;Toulouse-Périphérique Trafic;Urbaine;NO2;Trafic;;;µg-m3;0;-1',
        '2024/01/15 07:00:00;2024/01/15 08:00:00;ATMO OCCITANIE;FR76ZAR01;ZAR TOULOUSE;FR99999;Station inconnue;Urbaine;O3;Fond;40;40;µg-m3;100;1',
    ]
    source = tmp_path / "FR_E2_2024-01-15.csv"
    source.write_text(GEODAIR_HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    summary = ingest(aq.NAME, source, tmp_path / "data", fmt="geodair-csv")
    assert (summary.read, summary.kept, summary.quarantined) == (3, 1, 2)
    kept = pd.read_parquet(*summary.tables).iloc[0]
    assert (kept["station_code"], kept["commune"], kept["influence"], kept["value"]) == ("FR50048", "TOULOUSE", "traffic", 61.2)
    assert kept["time_start"] == pd.Timestamp("2024-01-15 07:00", tz="UTC")
    reasons = pd.read_csv(summary.quarantine)["reason"].tolist()
    assert reasons[0] == "value: missing value"
    assert reasons[1].startswith("commune: missing value")  # unknown station: kept in quarantine, not lost


def test_geodair_reader_refuses_an_atmo_file(tmp_path):
    with pytest.raises(SchemaError, match="pas un export Géod'air E2, colonne"):
        aq.read_geodair_csv(MONTHLY, stations=aq.stations_from(aq.SCHEMA.validate(aq.read_atmo_csv(MONTHLY), "x")[0]))
