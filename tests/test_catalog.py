"""The Intake catalogue: every entry loads through occidata.catalog and plain intake; access and audit."""

from __future__ import annotations

import subprocess
import sys

import intake
import pandas as pd
import pytest
import xarray as xr

from occidata import catalog
from occidata.catalog.spec import CATALOG_PATH, render_catalog
from occidata.datasets import get_dataset, names
from occidata.datasets.build import build_all, read_manifest
from occidata.privacy.audit import read_audit, verify_audit
from occidata.privacy.pseudonyms import load_or_create_key, pseudonymise


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    """A state directory with every dataset built at tiny size; server mode so restricted data can be served."""
    state = tmp_path_factory.mktemp("catalog-state")
    with pytest.MonkeyPatch.context() as patch:
        for key in [k for k in __import__("os").environ if k.startswith("OCCIDATA_")]:
            patch.delenv(key)
        patch.setenv("OCCIDATA_STATE_DIR", str(state))
        patch.setenv("OCCIDATA_DATA_DIR", str(state / "data"))
        patch.setenv("OCCIDATA_MODE", "server")
        build_all("tiny", state / "data", progress=lambda line: None)
        yield state


def test_checked_in_catalogue_is_generated_from_the_dataset_modules():
    assert CATALOG_PATH.read_text(encoding="utf-8") == render_catalog(), (
        "catalog/catalog.yaml is stale: run `occidata catalog generate` and commit it"
    )


def test_every_entry_carries_the_metadata_people_need():
    plain = intake.from_yaml_file(str(CATALOG_PATH))
    assert sorted(plain) == sorted(names())  # list(cat) shows every entry (aliases are set)
    for name in names():
        meta = plain[name].metadata
        for key in ("title_fr", "title_en", "description", "producer", "licence", "access", "personal_data",
                    "update_frequency", "spatial_coverage", "temporal_coverage", "version", "variables"):
            assert meta.get(key) not in (None, ""), f"{name} lacks {key}"
        assert meta["access"] in ("public", "partner", "restricted")
        if meta["personal_data"]:
            assert meta.get("legal_basis"), f"{name} holds personal data without a legal basis"


@pytest.mark.parametrize("name", names())
def test_entry_loads_through_occidata_and_plain_intake(platform, name, monkeypatch):
    levels = {"partner", f"restricted:{name}"}
    # A table is read for one year: its entry's default year (2019 for the departmental
    # temperatures, the build year for synthetic entries), the same through both doors.
    year = catalog.show(name)["default_year"] if get_dataset(name).KIND == "table" else None
    ours = catalog.load(name, levels=levels, **({"year": year} if year else {}))
    # Outside a lab (no data service URL), plain intake reads non-public entries directly, with
    # the caller's levels.
    monkeypatch.setenv("OCCIDATA_ACCESS_LEVELS", ",".join(sorted(levels)))
    plain = intake.from_yaml_file(str(CATALOG_PATH))
    theirs = (plain(year=year) if year else plain)[name].read()
    module = get_dataset(name)
    if module.KIND == "table":
        everything = catalog.load(name, levels=levels)
        assert len(everything) == read_manifest(platform / "data")[name]["rows"]
        in_year = everything[everything[module.SCHEMA.time_column].dt.year == year]
        assert isinstance(ours, pd.DataFrame) and len(ours) == len(in_year) > 0
        assert set(module.SCHEMA.names) <= set(ours.columns)
        pd.testing.assert_frame_equal(ours.sort_index(axis=1), theirs.sort_index(axis=1), check_categorical=False)
    else:
        assert isinstance(ours, xr.Dataset)
        assert ours.chunks, "grids come back dask-backed"
        xr.testing.assert_identical(ours.load(), theirs.load())


def test_plain_intake_without_occidata_data_dir_reads_the_platform_s_data_dir(platform, tmp_path, monkeypatch):
    # Outside a lab nobody sets OCCIDATA_DATA_DIR: the data directory is the configuration's,
    # here <state_dir>/data with the state directory from OCCIDATA_STATE_DIR.
    monkeypatch.delenv("OCCIDATA_DATA_DIR")
    plain = intake.from_yaml_file(str(CATALOG_PATH))
    xr.testing.assert_identical(plain.weather_daily.read().load(), catalog.load("weather_daily").load())
    assert len(plain(year=2024).bathing_water.read()) == read_manifest(platform / "data")["bathing_water"]["rows"]
    # A site config's data_dir is followed too; a dataset missing there names that folder (never "None").
    site = tmp_path / "config.yaml"
    site.write_text(f"data_dir: {tmp_path / 'ailleurs'}\n", encoding="utf-8")
    monkeypatch.setenv("OCCIDATA_CONFIG", str(site))
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "ailleurs" / "weather_daily")):
        intake.from_yaml_file(str(CATALOG_PATH)).weather_daily.read()


def test_year_parameter_goes_to_the_catalogue(platform):
    aq = catalog.load("air_quality_hourly", year=2024)
    assert set(aq["time_start"].dt.year) == {2024}
    with pytest.raises(catalog.CatalogError, match="no data for year 1999; built years: 2020, 2024"):
        catalog.load("air_quality_hourly", year=1999)
    with pytest.raises(catalog.CatalogError, match="unknown parameter\\(s\\) month; allowed: columns, department, end, start, year"):
        catalog.load("air_quality_hourly", month=1)


def test_department_parameter_filters_and_names_the_choices(platform):
    traffic = catalog.load("traffic_counts")
    department = traffic["department"].iloc[0]
    only = catalog.load("traffic_counts", department=department)
    assert len(only) and set(only["department"]) == {department}
    with pytest.raises(catalog.CatalogError, match="no department 'Bretagne'; departments in this entry: "):
        catalog.load("traffic_counts", department="Bretagne")
    with pytest.raises(catalog.CatalogError, match="unknown parameter\\(s\\) department; this entry takes none"):
        catalog.load("weather_daily", department=department)


def test_damaged_zarr_grid_fails_its_checksum(platform, tmp_path, monkeypatch):
    import shutil

    copy = tmp_path / "data"
    shutil.copytree(platform / "data", copy)
    monkeypatch.setenv("OCCIDATA_DATA_DIR", str(copy))
    chunk = next(p for p in (copy / "weather_daily").rglob("*") if p.is_file() and "tmax" in str(p) and p.name != "zarr.json")
    chunk.write_bytes(b"\x00" * 16)
    with pytest.raises(catalog.CatalogError, match="checksum mismatch for .*weather_daily.zarr"):
        catalog.load("weather_daily")


def test_search_by_text_and_metadata(platform):
    assert "air_quality_hourly" in catalog.search("no2")
    assert "bathing_water" in catalog.search("baignade")
    public = catalog.search(access="public")
    assert "air_quality_hourly" in public and "health_admissions" not in public
    assert catalog.search("", access="restricted") == ["health_admissions"]


@pytest.mark.parametrize("query", ["qualité air", "qualite", "Qualité de l'air", "QUALITE AIR", "ozone",
                                   "dioxyde d'azote", "particules fines", "pm2.5", "PM25", "air quality"])
def test_search_finds_as_people_type_accents_case_words_and_common_names(platform, query):
    """Before, 'qualité air', 'qualite' and 'ozone' found nothing: the search looked for the text
    as one piece, accents included, and knew O3 only as O3."""
    assert "air_quality_hourly" in catalog.search(query)


def test_search_needs_every_word_and_the_cli_searches_the_same_way(platform):
    assert catalog.search("ozone baignade") == []
    assert catalog.search("qualite eaux baignade") == ["bathing_water"]
    result = subprocess.run([sys.executable, "-m", "occidata.cli", "catalog", "search", "qualité air"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "air_quality_hourly" in result.stdout, result.stdout + result.stderr


def test_partner_data_needs_the_partner_level_and_is_audited(platform):
    with pytest.raises(PermissionError, match="« building_meters » : cette entrée demande le niveau d'accès « partner »"):
        catalog.load("building_meters", levels=set())
    catalog.load("building_meters", levels={"partner"}, user="chercheuse")
    last = read_audit(platform / "logs" / "audit.jsonl")[-1]
    who = pseudonymise("chercheuse", load_or_create_key(platform))  # never the clear name
    assert (last["who"], last["what"], last["access"]) == (who, "building_meters", "partner")
    assert last["when"] and last["event"] == "read"
    assert "chercheuse" not in (platform / "logs" / "audit.jsonl").read_text()
    assert verify_audit(platform / "logs" / "audit.jsonl") == []


def test_restricted_data_needs_its_own_grant(platform):
    with pytest.raises(PermissionError, match="demande le niveau d'accès « restricted:health_admissions »"):
        catalog.load("health_admissions", levels={"partner", "restricted:other"})


def test_public_reads_are_not_audited(platform):
    before = len(read_audit(platform / "logs" / "audit.jsonl"))
    catalog.load("air_quality_hourly", year=2024)
    assert len(read_audit(platform / "logs" / "audit.jsonl")) == before


def test_demo_mode_never_serves_restricted_data(platform, monkeypatch):
    monkeypatch.setenv("OCCIDATA_MODE", "demo")
    with pytest.raises(PermissionError, match="une plateforme en mode démo ne sert aucune donnée restreinte"):
        catalog.load("health_admissions", levels={"restricted:health_admissions"})


def test_cli_load_without_the_level_prints_the_french_refusal_on_one_line(platform):
    """`occidata catalog load` as a researcher types it: no traceback, one line that says the level,
    who grants it (the configured stewards, the admin, the contact) and the entry's catalogue page."""
    import os

    env = {**os.environ, "OCCIDATA_ACCESS_LEVELS": "", "OCCIDATA_DATA_SERVICE__STEWARDS": '["intendante"]',
           "OCCIDATA_AUTH__ADMIN": "chef", "OCCIDATA_DATA_SERVICE__CONTACT": "donnees@exemple.fr",
           "OCCIDATA_HUB__PUBLIC_URL": "https://lab.exemple.fr", "OCCIDATA_HUB__BASE_URL": "/occitanie/"}
    command = [sys.executable, "-m", "occidata.cli", "catalog", "load", "building_meters", "--year", "2024"]
    refused = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1, refused.stderr
    assert lines[0].startswith("occidata: Accès refusé à « building_meters » : cette entrée demande le niveau "
                               "d'accès « partner »"), lines[0]
    assert "les intendants des données de la plateforme (intendante, chef) y répondent (adresse : donnees@exemple.fr)" \
        in lines[0]
    assert lines[0].endswith("https://lab.exemple.fr/occitanie/services/catalogue/building_meters")
    allowed = subprocess.run(command + ["--rows", "3"], env={**env, "OCCIDATA_ACCESS_LEVELS": "partner"},
                             capture_output=True, text=True, timeout=120)
    assert allowed.returncode == 0 and allowed.stdout.startswith("building_meters: "), allowed.stderr


def test_changed_file_fails_its_checksum(platform, tmp_path, monkeypatch):
    import shutil

    copy = tmp_path / "data"
    shutil.copytree(platform / "data", copy)
    monkeypatch.setenv("OCCIDATA_DATA_DIR", str(copy))
    part = copy / "air_quality_hourly" / "year=2024" / "part-0.parquet"
    part.write_bytes(part.read_bytes()[:-10] + b"corrupted!")
    with pytest.raises(catalog.CatalogError, match="checksum mismatch for .*part-0.parquet"):
        catalog.load("air_quality_hourly", year=2024)


def test_unbuilt_data_says_how_to_build_it(tmp_path, monkeypatch):
    monkeypatch.setenv("OCCIDATA_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("OCCIDATA_DATA_DIR", raising=False)
    with pytest.raises(catalog.CatalogError, match="occidata data build"):
        catalog.load("air_quality_hourly")


def test_unknown_entry_lists_the_known_ones(platform):
    with pytest.raises(catalog.CatalogError, match="no dataset named 'air_quality' .*air_quality_hourly"):
        catalog.load("air_quality")
