"""The demo is built from the real provider exports where they are present, synthetic elsewhere
(issue 18): every entry says which, with the provenance of each file; a machine without
../shared builds everything synthetic and says so.

Uses the real exports beside the checkout (``sources.real_data_dir``, ../shared/data/real).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import REPO_ROOT
from occidata.datasets import get_dataset, names
from occidata.datasets.build import build_all, origin_summary, read_manifest
from occidata.datasets.real_sources import MIXED, REAL, SYNTHETIC, real_source
from occidata.datasets.sources import real_data_dir

REAL_DIR = real_data_dir()
WITH_REAL = [name for name in names() if real_source(get_dataset(name))]
PUBLIC = [name for name in names() if get_dataset(name).METADATA["access"] == "public"]


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    if not REAL_DIR.is_dir():
        pytest.fail(f"the real exports are expected at {REAL_DIR} (../shared/data beside the checkout)")
    data_dir = tmp_path_factory.mktemp("real-build")
    said: list[str] = []
    manifest = build_all("tiny", data_dir, only=WITH_REAL, progress=said.append)
    return data_dir, manifest, said


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("synthetic-build")
    said: list[str] = []
    manifest = build_all("tiny", data_dir, only=PUBLIC, progress=said.append,
                         real_data_dir=data_dir.parent / "no-shared-here")
    return data_dir, manifest, said


def test_each_entry_with_real_exports_is_built_from_them_with_their_provenance(built):
    data_dir, manifest, said = built
    origins = {name: manifest[name]["origin"] for name in WITH_REAL}
    assert origins.pop("air_quality_hourly") == MIXED
    assert set(origins.values()) == {REAL}
    for name in WITH_REAL:
        record = manifest[name]
        for source in record["sources"]:
            path = Path(source["path"])
            assert path.is_relative_to(REAL_DIR) and source["sha256"] == sha256(path)
            assert source["size"] == path.stat().st_size and source["provider"] == real_source(get_dataset(name)).provider
            rows = source["rows"]
            assert rows["read"] == rows["kept"] + rows["duplicates"] + rows["quarantined"], (name, source["name"])
        assert record["rows_real"] == sum(source["rows"]["kept"] for source in record["sources"])
    assert any(line.startswith("Données réelles lues dans") for line in said)


def test_counts_of_the_real_build_are_those_of_the_files(built):
    _, manifest, _ = built
    def totals(name):
        rows = [source["rows"] for source in manifest[name]["sources"]]
        return tuple(sum(r[key] for r in rows) for key in ("read", "kept", "duplicates", "revised", "quarantined"))
    assert totals("temperature_departments_daily") == (105216, 105215, 0, 0, 1)
    assert totals("temperature_station_daily") == (27453, 27453, 0, 0, 0)
    assert totals("synop_3hourly") == (246, 246, 0, 0, 0)
    assert totals("bicycle_counts") == (13349, 12680, 130, 0, 539)
    assert totals("vehicle_count_campaigns") == (3314, 3232, 66, 0, 16)
    # Four ATMO exports overlap on 2018: the newest export's figure is kept, 7 older ones differ.
    assert totals("air_quality_means") == (5585, 4933, 90, 7, 562)  # the 7 revised are among those set aside
    hourly = manifest["air_quality_hourly"]
    assert totals("air_quality_hourly") == (9627, 9452, 0, 0, 175)
    assert hourly["sources"][0]["period"] == ["2020-03-14", "2020-03-17"]
    assert hourly["rows"] == hourly["rows_real"] + hourly["rows_synthetic"] and hourly["rows_synthetic"] > 0


def test_rows_set_aside_are_kept_with_file_line_and_reason(built):
    data_dir, manifest, _ = built
    record = manifest["temperature_departments_daily"]
    report = pd.read_csv(data_dir / record["quarantine"], dtype=str)
    assert len(report) == 1
    row = report.iloc[0]
    assert row["source_file"] == "temperature-quotidienne-departementale.csv"
    assert row["reason"].startswith("tmin above tmax")
    # The line named is the provider's line of that row.
    line = (REAL_DIR / "meteo" / row["source_file"]).read_text(encoding="utf-8-sig").splitlines()[int(row["source_row"]) - 1]
    assert row["tmin"] in line and row["tmax"] in line
    means = pd.read_csv(data_dir / manifest["air_quality_means"]["quarantine"], dtype=str)
    revised = means[means["reason"].str.startswith("value revised")]
    assert len(revised) == 7 and set(revised["source_file"]) == {"atmo_occitanie_mesures_annuelles.csv"}
    assert (means.loc[~means.index.isin(revised.index), "reason"] == "value: missing value").sum() == 555


def test_the_stored_values_are_the_providers(built):
    data_dir, _, _ = built
    temperatures = pd.read_parquet(data_dir / "temperature_departments_daily" / "year=2019")
    herault = temperatures[(temperatures["department_code"] == "34")
                           & (temperatures["date"] == pd.Timestamp("2019-06-28", tz="UTC"))]
    assert herault["tmax"].tolist() == [41.17]
    counts = pd.read_parquet(data_dir / "bicycle_counts")
    assert len(counts) == 12680 and counts["count"].notna().all()


def test_a_machine_without_shared_builds_everything_synthetic_and_says_so(synthetic):
    data_dir, manifest, said = synthetic
    assert said[0].startswith("Aucune donnée réelle dans") and "tous les jeux sont synthétiques" in said[0]
    assert {manifest[name]["origin"] for name in PUBLIC} == {SYNTHETIC}
    assert not any("sources" in manifest[name] for name in PUBLIC)
    for name in WITH_REAL:
        assert manifest[name]["rows"] > 0, name
    # Without ATMO's exports the hourly values are generated at built-in stations, not read from ../shared.
    from occidata.datasets.air_quality import BUILTIN_STATIONS
    stations = set(pd.read_parquet(data_dir / "air_quality_hourly")["station_code"])
    assert stations <= {station[0] for station in BUILTIN_STATIONS}
    assert any(line.startswith("Aucun dossier de données réelles")
               for line in origin_summary(manifest, data_dir.parent / "no-shared-here"))


def test_up_and_data_build_say_where_the_data_come_from(tmp_path):
    """`occidata data build` on a site whose sources.real_data_dir is empty: synthetic, said in French."""
    config = tmp_path / "config.yaml"
    config.write_text(f"sources:\n  real_data_dir: {tmp_path / 'vide'}\n", encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if not key.startswith("OCCIDATA_")}
    env.update(OCCIDATA_CONFIG=str(config), OCCIDATA_STATE_DIR=str(tmp_path / "state"),
               OCCIDATA_DATA_DIR=str(tmp_path / "data"))
    done = subprocess.run([sys.executable, "-m", "occidata.cli", "data", "build", "--size", "tiny",
                           "--only", "bicycle_counts", "--only", "temperature_departments_daily"],
                          capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=600)
    assert done.returncode == 0, done.stderr
    assert f"Aucune donnée réelle dans {tmp_path / 'vide'}" in done.stdout
    assert "synthétique" in done.stdout
    manifest = json.loads((tmp_path / "data" / "manifest.json").read_text())
    assert {record["origin"] for record in manifest.values()} == {SYNTHETIC}


def test_the_catalogue_says_which_each_entry_is(built, monkeypatch):
    from occidata import catalog

    data_dir, _, _ = built
    monkeypatch.setenv("OCCIDATA_DATA_DIR", str(data_dir))
    shown = catalog.show("temperature_departments_daily")
    assert shown["origin"] == REAL and shown["real_source"]["licence"] == "Licence Ouverte 2.0"
    assert shown["sources"][0]["name"] == "temperature-quotidienne-departementale.csv"
    assert catalog.show("air_quality_hourly")["origin"] == MIXED
    assert catalog.show("bathing_water").get("origin") != REAL  # not built here, and never real
    # The long station series is read by year like any table, back to 1946.
    assert catalog.load("temperature_station_daily", year=1947)["date"].dt.year.unique().tolist() == [1947]


def test_the_catalogue_page_shows_files_checksums_and_what_to_credit(built, monkeypatch):
    from occidata.catalog import show
    from occidata.catalog.pages import Reader, render_entry
    from occidata.catalog.pages_service import build_record
    from occidata.catalog.places import entry_places

    data_dir, _, _ = built
    monkeypatch.setenv("OCCIDATA_DATA_DIR", str(data_dir))
    meta = show("bicycle_counts")
    html = render_entry("bicycle_counts", meta, Reader(user=None, prefix="/services/catalogue/", base_url="/",
                                                       lang="fr", path="bicycle_counts", params=(), groups=()),
                        places=entry_places("bicycle_counts", meta, str(data_dir), []), shapes=[],
                        build=build_record("bicycle_counts", meta, str(data_dir)), stewards=[], lab_name="Lab")
    assert "données réelles" in html and "MMM_EcoCompt_X2H19070220_2020.json" in html
    assert sha256(REAL_DIR / "montpellier" / "ecocompt" / "MMM_EcoCompt_X2H19070220_2020.json")[:12] in html
    assert "© Montpellier Méditerranée Métropole" in html and "partage à l&#39;identique" in html.replace("&#x27;", "&#39;")
