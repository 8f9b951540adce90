"""`occidata data ingest`: nothing ingested is lost, replaced or stored twice unless asked; every
ingest is recorded and can be listed and undone; bad files get one French line, no traceback.

Uses ATMO Occitanie's real exports in place (../shared/data/real beside the checkout); files made
from them (slices, another encoding) are written to the test's temporary folder only.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from occidata import catalog
from occidata.datasets import air_quality as aq
from occidata.datasets.build import build_all
from occidata.datasets.ingest import ingest
from occidata.datasets.provenance import current_user, read_ingests
from occidata.datasets.schema import SchemaError

REAL = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "real"
HOURLY = REAL / "atmo" / "Mesure_72h_Region_Occitanie_Polluants_Principaux_2020-03-14.csv"
ANNUAL = REAL / "atmo_occitanie_mesures_annuelles.csv"
METEO = REAL / "meteo" / "temperature-quotidienne-departementale.csv"
NAME = aq.NAME


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """A platform of its own (config from the environment only), with nothing built."""
    for real in (HOURLY, ANNUAL, METEO):
        if not real.exists():
            pytest.fail(f"the real export is expected at {real} (../shared/data beside the checkout)")
    for key in [k for k in os.environ if k.startswith("OCCIDATA_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("OCCIDATA_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("OCCIDATA_DATA_DIR", str(tmp_path / "state" / "data"))
    return tmp_path / "state" / "data"


def cli(*args: str) -> subprocess.CompletedProcess:
    """The real command, in a subprocess, with this test's environment."""
    return subprocess.run([sys.executable, "-m", "occidata.cli", *args], capture_output=True, text=True, timeout=180)


def export(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def lines_of(path: Path) -> tuple[str, list[str]]:
    header, *rows = path.read_text(encoding="utf-8-sig").splitlines()
    return header, rows


def valid_rows(path: Path) -> int:
    """How many rows of an ATMO export pass validation (read with the reader, in place)."""
    return len(aq.SCHEMA.validate(aq.read_atmo_csv(path), str(path))[0])


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_catalogue_returns_the_real_hourly_export_with_its_year(data_dir):
    summary = ingest(NAME, HOURLY, data_dir)
    assert (summary.read, summary.kept, summary.quarantined, summary.duplicates) == (9627, 9452, 175, 0)
    loaded = catalog.load(NAME)
    assert len(loaded) == 9452
    assert loaded["year"].notna().all() and set(loaded["year"]) == {2020}
    assert len(catalog.load(NAME, year=2020)) == 9452
    # The rows are the provider's: same values, same stations.
    reference = aq.SCHEMA.validate(aq.read_atmo_csv(HOURLY), str(HOURLY))[0]
    assert loaded["value"].sum() == pytest.approx(reference["value"].sum())
    assert set(loaded["station_code"]) == set(reference["station_code"])


def test_ingested_rows_sit_beside_built_ones_and_survive_a_rebuild(data_dir):
    build_all("tiny", data_dir, only=[NAME], progress=lambda line: None)
    built = len(catalog.load(NAME))
    ingest(NAME, ANNUAL, data_dir)  # 2017 and 2018, which the build has not
    assert len(catalog.load(NAME)) == built + 259
    by_year = catalog.load(NAME, year=2018)
    assert len(by_year) > 0 and set(by_year["year"]) == {2018} and by_year["metric"].eq("annual").all()
    build_all("tiny", data_dir, only=[NAME], progress=lambda line: None)
    assert len(catalog.load(NAME)) == built + 259
    assert len(catalog.load(NAME, year=2018)) == len(by_year)


def test_two_files_with_the_same_name_are_both_kept(data_dir, tmp_path):
    header, rows = lines_of(HOURLY)
    name = HOURLY.name
    tuesday = export(tmp_path / "mardi" / name, [header, *rows[:99]])
    wednesday = export(tmp_path / "mercredi" / name, [header, *rows[99:109]])
    first = ingest(NAME, tuesday, data_dir)
    second = ingest(NAME, wednesday, data_dir)
    # The same path, rewritten later with other rows, is a third file: kept as well.
    later = ingest(NAME, export(tuesday, [header, *rows[200:230]]), data_dir)
    assert first.kept == 99 - first.quarantined and second.kept == 10 - second.quarantined
    assert later.kept == valid_rows(tuesday) > 0
    assert len(catalog.load(NAME)) == first.kept + second.kept + later.kept
    tables = [*first.tables, *second.tables, *later.tables]
    assert len(set(tables)) == 3 and all(table.exists() for table in tables)
    records = read_ingests(data_dir / NAME)
    assert [r["status"] for r in records] == ["active"] * 3
    assert {r["source"]["name"] for r in records} == {name}
    assert len({r["source"]["sha256"] for r in records}) == 3


def test_reingest_counts_duplicates_and_stores_nothing_new(data_dir, tmp_path):
    ingest(NAME, ANNUAL, data_dir)
    again = cli("data", "ingest", NAME, str(ANNUAL))
    assert again.returncode == 0, again.stderr
    assert "read 259, kept 0, quarantined 0, duplicates 259" in again.stdout
    assert "stored: nothing new" in again.stdout
    assert len(catalog.load(NAME)) == 259
    # Repeated within a file, or partly stored already: each identical row is stored once.
    header, annual = lines_of(ANNUAL)
    _, hourly = lines_of(HOURLY)
    new_a, new_b = hourly[0], hourly[1]
    mixed = ingest(NAME, export(tmp_path / "melange.csv", [header, annual[5], new_a, new_a, new_b, new_a]), data_dir)
    assert (mixed.read, mixed.quarantined, mixed.duplicates, mixed.kept) == (5, 0, 3, 2)
    loaded = catalog.load(NAME)
    assert len(loaded) == 261
    assert not loaded.drop(columns="year").duplicated().any()


def test_replace_swaps_the_rows_of_that_source_file_only(data_dir, tmp_path):
    header, rows = lines_of(HOURLY)
    other = export(tmp_path / "autre.csv", [header, *rows[300:310]])
    v1 = export(tmp_path / "v1" / "export.csv", [header, *rows[0:20]])
    v2 = export(tmp_path / "v2" / "export.csv", [header, *rows[10:40]])
    for source in (other, v1):
        assert cli("data", "ingest", NAME, str(source)).returncode == 0
    replaced = cli("data", "ingest", NAME, str(v2), "--replace")
    assert replaced.returncode == 0, replaced.stderr
    assert "replaced earlier ingest(s) of export.csv: 2" in replaced.stdout
    # v1's rows are gone, v2's are all stored (the ten it shares with v1 are not duplicates now).
    assert len(catalog.load(NAME)) == valid_rows(other) + valid_rows(v2)
    records = read_ingests(data_dir / NAME)
    assert [(r["id"], r["status"]) for r in records] == [(1, "active"), (2, "replaced"), (3, "active")]
    assert records[1]["replaced_by"] == 3 and records[2]["replaces"] == [2]
    assert not any((data_dir / NAME / relative).exists() for relative in records[1]["files"])
    # Without --replace, a file of the same name adds its new rows and removes nothing.
    kept = cli("data", "ingest", NAME, str(v1))
    assert kept.returncode == 0 and "replaced" not in kept.stdout
    both = export(tmp_path / "v1-et-v2.csv", [header, *rows[0:40]])
    assert len(catalog.load(NAME)) == valid_rows(other) + valid_rows(both)
    assert read_ingests(data_dir / NAME)[-1]["status"] == "active"


def test_latin1_export_is_detected_or_read_as_named(data_dir, tmp_path):
    text = ANNUAL.read_text(encoding="utf-8-sig")
    latin = tmp_path / "export_latin1.csv"
    latin.write_bytes(text.encode("latin-1"))  # as a spreadsheet saves it on Windows
    summary = ingest(NAME, latin, data_dir)
    assert summary.encoding == "cp1252" and (summary.read, summary.kept) == (259, 259)
    stored = pd.concat(map(pd.read_parquet, summary.tables))
    reference = aq.SCHEMA.validate(aq.read_atmo_csv(ANNUAL), str(ANNUAL))[0]
    assert set(stored["station_name"]) == set(reference["station_name"])  # accents intact
    assert any("é" in name for name in stored["station_name"])
    named = cli("data", "ingest", NAME, str(latin), "--encoding", "latin-1")
    assert named.returncode == 0, named.stderr
    assert "encoding Latin-1 (ISO-8859-1) (iso8859-1)" in named.stdout and "duplicates 259" in named.stdout
    assert read_ingests(data_dir / NAME)[-1]["source"]["encoding"] == "iso8859-1"
    # The wrong encoding, named: the first byte it cannot read, by line and column.
    data = latin.read_bytes()
    offset = next(i for i, byte in enumerate(data) if byte >= 0x80)
    line = data.count(b"\n", 0, offset) + 1
    column = offset - data.rfind(b"\n", 0, offset)
    wrong = cli("data", "ingest", NAME, str(latin), "--encoding", "utf-8")
    assert wrong.returncode == 2
    assert wrong.stderr.strip() == (f"occidata: {latin}, ligne {line}, colonne {column} : octet illisible en utf-8 "
                                    "(option --encoding) ; essayez --encoding cp1252, ou laissez la détection choisir")


def bad_inputs(tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    """Case -> (arguments after the dataset, a fragment the French message must hold)."""
    header, rows = lines_of(ANNUAL)
    book = tmp_path / "mesures.xlsx"
    with zipfile.ZipFile(book, "w") as archive:
        archive.writestr("xl/worksheets/sheet1.xml", "<worksheet/>")
    ragged = export(tmp_path / "decale.csv", [header, rows[0], rows[1] + ",en trop", rows[2]])
    empty = tmp_path / "vide.csv"
    empty.write_bytes(b"")
    return {
        "folder": ([str(tmp_path)], "c'est un dossier, pas un fichier"),
        "missing": ([str(tmp_path / "absent.csv")], "absent.csv : fichier introuvable"),
        "long name": ([str(tmp_path / ("m" * 300 + ".csv"))], "nom de fichier trop long"),
        "empty": ([str(empty)], "vide.csv : fichier vide"),
        "binary": ([str(book)], "mesures.xlsx : fichier binaire"),
        "nul bytes": ([str(export(tmp_path / "nul.csv", ["a,b", "1,\x002"]))], "nul.csv, ligne 2, colonne 3 : octet nul"),
        "wrong format": ([str(METEO)], f"{METEO.name} : pas un export ATMO Occitanie, colonne(s) manquante(s) X, Y"),
        "header only": ([str(export(tmp_path / "entete.csv", [header]))], "entete.csv : aucune ligne de données"),
        "ragged line": ([str(ragged)], "decale.csv, ligne 3 : 21 champs au lieu des 20 de l'en-tête"),
        "strange": ([str(export(tmp_path / "etrange.csv", ["SECRET-DU-FOURNISSEUR;mot_de_passe=hunter2", "1;2"]))],
                    "etrange.csv : pas un export ATMO Occitanie"),
        "unknown encoding": ([str(ANNUAL), "--encoding", "klingon"], "encodage inconnu 'klingon'"),
        "unknown format": ([str(ANNUAL), "--format", "xlsx"], "pas de lecteur pour le format 'xlsx'"),
    }


CASES = ["folder", "missing", "long name", "empty", "binary", "nul bytes", "wrong format", "header only",
         "ragged line", "strange", "unknown encoding", "unknown format"]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_gets_one_french_line_naming_the_file(data_dir, tmp_path, case):
    (tmp_path / "in").mkdir()
    arguments, fragment = bad_inputs(tmp_path / "in")[case]
    result = cli("data", "ingest", NAME, *arguments)
    assert result.returncode == 2, result.stdout
    message = result.stderr.strip()
    assert "\n" not in message and "Traceback" not in result.stderr, result.stderr
    assert message.startswith("occidata: ") and fragment in message, message
    # The file's own content is never echoed back.
    for secret in ("SECRET", "hunter2", "date_obs", "worksheet", "en trop"):
        assert secret not in message
    assert not (data_dir / NAME).exists()  # nothing stored, nothing recorded


def test_ingests_are_listed_with_their_provenance_and_one_can_be_undone(data_dir):
    for source in (ANNUAL, HOURLY):
        assert cli("data", "ingest", NAME, str(source)).returncode == 0
    listing = cli("data", "ingests", NAME)
    assert listing.returncode == 0, listing.stderr
    first, second = listing.stdout.strip().splitlines()
    user = current_user()
    assert ANNUAL.name in first and sha256(ANNUAL)[:12] in first and user in first and "read 259, kept 259" in first
    assert HOURLY.name in second and sha256(HOURLY)[:12] in second and "read 9627, kept 9452" in second
    record = read_ingests(data_dir / NAME)[0]
    assert record["source"] | {"path": None} == {"name": ANNUAL.name, "path": None, "size": ANNUAL.stat().st_size,
                                                 "sha256": sha256(ANNUAL), "encoding": "utf-8",
                                                 "format": "atmo-csv"}
    assert record["by"] == user and record["ingested_at"]
    assert record["rows"] == {"read": 259, "kept": 259, "duplicates": 0, "revised": 0, "quarantined": 0}
    for relative, digest in record["files"].items():
        assert sha256(data_dir / NAME / relative) == digest

    undone = cli("data", "undo-ingest", NAME, "1")
    assert undone.returncode == 0, undone.stderr
    assert not any((data_dir / NAME / relative).exists() for relative in record["files"])
    loaded = catalog.load(NAME)
    assert len(loaded) == 9452 and set(loaded["year"]) == {2020}  # exactly ingest 2's rows remain
    after = cli("data", "ingests").stdout
    assert "undone" in after.splitlines()[0] and f"by {user}" in after.splitlines()[0]
    assert after.splitlines()[1].endswith("active")
    again = cli("data", "undo-ingest", NAME, "1")
    assert again.returncode == 2 and again.stderr.strip().startswith(
        f"occidata: {NAME} : l'ingestion n° 1 a déjà été annulée")


def test_a_failed_write_leaves_nothing_half_written(data_dir):
    (data_dir / "quarantine").parent.mkdir(parents=True)
    (data_dir / "quarantine").write_text("not a folder")  # the hourly export has rows to quarantine
    with pytest.raises(SchemaError, match=r"quarantine/air_quality_hourly/ingest-1-.* : écriture impossible .* "
                                          r"rien n'a été ingéré"):
        ingest(NAME, HOURLY, data_dir)
    assert not list((data_dir / NAME).rglob("*.parquet"))
    assert read_ingests(data_dir / NAME) == []
