"""Readers of Montpellier's real traffic exports: every record kept, repeated or quarantined with
its line and reason; the providers' quirks handled; bad files get one French line.

Uses the real exports in place (../shared/data/real/montpellier beside the checkout): the
Eco-Counter bicycle counters (NGSI JSON) and the City's vehicle-count campaigns (cp1252 CSV).
Quirks the real files lack are crafted in the test's temporary folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from occidata import datasets
from occidata.datasets import bicycle_counts as bc
from occidata.datasets import vehicle_count_campaigns as vc
from occidata.datasets.duplicates import duplicate_rows
from occidata.datasets.ingest import ingest
from occidata.datasets.schema import SchemaError

REAL = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "real"
ECOCOMPT = REAL / "montpellier" / "ecocompt"
COMPTAGE = REAL / "montpellier" / "VilleMTP_MTP_Comptage.csv"


@pytest.fixture(scope="module", autouse=True)
def real_files():
    for path in (ECOCOMPT, COMPTAGE):
        if not path.exists():
            pytest.fail(f"the real export is expected at {path} (../shared/data beside the checkout)")


def eco(counter_file: str) -> Path:
    return ECOCOMPT / f"MMM_EcoCompt_{counter_file}.json"


def counted(raw: pd.DataFrame, schema) -> tuple[int, int, int, int, pd.DataFrame]:
    """(rows read, kept, quarantined, repeats) as an ingest counts them, and the quarantined rows."""
    kept, quarantined = schema.validate(raw, "test")
    repeats = int(duplicate_rows(kept, schema, []).sum())
    return len(raw), len(kept) - repeats, len(quarantined), repeats, quarantined


def reason_kinds(quarantined: pd.DataFrame) -> dict[str, int]:
    """How many quarantined rows have each kind of reason (its text before any value)."""
    return quarantined["reason"].str.replace(r" \(.*| line\(s\) .*", "", regex=True).value_counts().to_dict()


# --- Eco-Counter bicycle counts -------------------------------------------------------------

# file -> (records read, kept, quarantined, repeats), counted by hand from the files (see the
# module's docstring for what each quirk becomes).
PER_FILE = {
    "ED223110495_archive": (252, 252, 0, 0),
    "X2H19070220_2020": (351, 350, 1, 0),
    "X2H19070220_archive": (1420, 1401, 11, 8),
    "X2H20042633_archive": (1423, 1388, 31, 4),
    "X2H20063162_archive": (1366, 1330, 32, 4),
    "X2H20104132_archive": (1481, 1348, 130, 3),
    "X2H21070341_archive": (1037, 1004, 30, 3),
    "X2H21111120_archive": (1025, 1004, 18, 3),
    "X2H22043029_archive": (899, 870, 27, 2),
    "X2H22104765_archive": (713, 689, 23, 1),
    "X2H22104771_archive": (710, 663, 46, 1),
    "XTH19101158_archive": (1424, 1332, 88, 4),
    "XTH21015106_archive": (1059, 954, 102, 3),
    "XTH24072390_archive": (189, 95, 0, 94),
}


@pytest.fixture(scope="module")
def counters():
    kept, quarantined, repeats = bc.load_real(ECOCOMPT)
    return SimpleNamespace(read=len(kept) + len(quarantined) + repeats, kept=kept, quarantined=quarantined,
                           repeats=repeats)


@pytest.mark.parametrize("counter_file", PER_FILE)
def test_each_eco_counter_export_is_counted_record_by_record(counter_file):
    read, kept, quarantined, repeats, rows = counted(bc.read_ecocompt_json(eco(counter_file)), bc.SCHEMA)
    assert (read, kept, quarantined, repeats) == PER_FILE[counter_file]
    assert read == kept + quarantined + repeats
    assert rows["reason"].str.len().gt(0).all()


def test_the_folder_reads_13_counters_with_every_record_accounted_for(counters):
    assert (len(counters.kept), len(counters.quarantined), counters.repeats) == (12680, 539, 130)
    assert counters.read == sum(len(json.loads(path.read_text())) for path in ECOCOMPT.glob("*.json")) == 13349
    assert reason_kinds(counters.quarantined) == {
        "count: missing value": 459,
        "longitude: missing value; latitude: missing value": 43,  # the placeholders
        "counter_id, lane_id, date: same as": 36,
        "date: dateObserved is not one local day 'start/end'": 1,
    }
    kept = counters.kept
    assert kept["counter_id"].nunique() == 13
    assert not kept.duplicated(["counter_id", "lane_id", "date"]).any()
    assert kept["date"].min() == pd.Timestamp("2020-01-01", tz="UTC")
    assert kept["date"].max() == pd.Timestamp("2024-11-07", tz="UTC")
    # Quarantined rows say in which file and on which line their record begins.
    assert set(counters.quarantined["source_file"]) <= {path.name for path in ECOCOMPT.glob("*.json")}
    assert counters.quarantined[["source_row", "source_record", "record_id"]].notna().all().all()
    # What is kept is clean: validating it again keeps every row (as a build from it requires).
    again, quarantined = bc.SCHEMA.validate(kept, "kept")
    assert len(again) == len(kept) and len(quarantined) == 0


def test_a_count_checked_by_hand_against_the_file(counters):
    # grep -n MMM_EcoCompt_X2H19070220_202003170000 MMM_EcoCompt_X2H19070220_2020.json, line 77:
    # {"intensity":577,"laneId":121403593,"dateObserved":"2020-03-17T00:00:00/2020-03-18T00:00:00",
    #  "location":{"coordinates":[3.896939992904663,43.60969924926758],...}
    day = counters.kept[(counters.kept["counter_id"] == "X2H19070220")
                        & (counters.kept["date"] == pd.Timestamp("2020-03-17", tz="UTC"))]
    assert len(day) == 1
    row = day.iloc[0]
    assert (row["count"], row["lane_id"]) == (577, "121403593")
    assert (row["longitude"], row["latitude"]) == (3.896939992904663, 43.60969924926758)
    raw = bc.read_ecocompt_json(eco("X2H19070220_2020"))
    record = raw[raw["record_id"] == "MMM_EcoCompt_X2H19070220_202003170000"].iloc[0]
    assert (record["source_row"], record["source_record"]) == (77, 77)


def test_a_malformed_intensity_key_is_read_as_intensity_at_its_own_line():
    # Line 882 of the archive: {",intensity":1196,...,"dateObserved":"2022-12-16T00:00:00/2022-12-17T00:00:00"};
    # the file has blank lines between records, so the record (the 728th) and the line differ.
    raw = bc.read_ecocompt_json(eco("X2H19070220_archive"))
    record = raw[raw["record_id"] == "MMM_EcoCompt_X2H19070220_202212160000"].iloc[0]
    assert (record["count"], record["source_row"], record["source_record"]) == ("1196", 882, 728)
    kept, _ = bc.SCHEMA.validate(raw, "archive")
    day = kept[kept["date"] == pd.Timestamp("2022-12-16", tz="UTC")]
    assert day["count"].tolist() == [1196]


def test_placeholder_records_are_quarantined_and_lane_1_with_coordinates_is_kept(counters):
    quarantined = counters.quarantined
    placeholders = quarantined[quarantined["reason"] == "longitude: missing value; latitude: missing value"]
    assert placeholders.groupby("source_file").size().to_dict() == {
        "MMM_EcoCompt_X2H21070341_archive.json": 19,
        "MMM_EcoCompt_X2H22104765_archive.json": 4,
        "MMM_EcoCompt_XTH21015106_archive.json": 20,
    }
    first = placeholders[placeholders["source_file"] == "MMM_EcoCompt_X2H21070341_archive.json"].iloc[0]
    # Line 2: {"intensity":389,"laneId":1,"dateObserved":"2021-12-17T00:00:00/...","location":{"coordinates":[null,null],...
    assert (first["source_row"], first["count"], first["lane_id"]) == (2, "389", "1")
    assert placeholders["lane_id"].eq("1").all()
    # X2H20104132's first five months are lane 1 with the counter's coordinates: real counts, kept.
    early = counters.kept[(counters.kept["counter_id"] == "X2H20104132") & (counters.kept["lane_id"] == "1")]
    assert len(early) == 162 and early["date"].max() == pd.Timestamp("2021-04-22", tz="UTC")


def test_the_same_counter_lane_and_day_twice(counters):
    quarantined, kept = counters.quarantined, counters.kept
    # Lines 398 and 418 of X2H20063162: 1324 then 3 bicycles on 2021-12-10: which is right is unknown.
    pair = quarantined[(quarantined["source_file"] == "MMM_EcoCompt_X2H20063162_archive.json")
                       & quarantined["source_row"].isin([398, 418])]
    assert pair["count"].tolist() == ["1324", "3"]
    assert pair["reason"].tolist() == ["counter_id, lane_id, date: same as line(s) 418 with other values",
                                       "counter_id, lane_id, date: same as line(s) 398 with other values"]
    x2h = kept[kept["counter_id"] == "X2H20063162"]
    assert pd.Timestamp("2021-12-10", tz="UTC") not in set(x2h["date"])
    # Lines 399 and 419: 793, then null for 2021-12-11: the null goes, the count stays.
    assert x2h.loc[x2h["date"] == pd.Timestamp("2021-12-11", tz="UTC"), "count"].tolist() == [793]
    null = quarantined[(quarantined["source_file"] == "MMM_EcoCompt_X2H20063162_archive.json")
                       & (quarantined["source_row"] == 419)]
    assert null["reason"].tolist() == ["count: missing value"]


def test_a_day_interval_ending_where_it_starts_is_quarantined_with_its_value(counters):
    # Line 299 of the 2020 file, the night the clocks went back: "2020-10-25T00:00:00/2020-10-25T00:00:00".
    row = counters.quarantined[counters.quarantined["source_file"] == "MMM_EcoCompt_X2H19070220_2020.json"]
    assert row["source_row"].tolist() == [299]
    assert row["reason"].tolist() == [
        "date: dateObserved is not one local day 'start/end' ('2020-10-25T00:00:00/2020-10-25T00:00:00')"]


def test_repeated_records_are_stored_once_by_the_ingest(tmp_path, monkeypatch):
    monkeypatch.setitem(datasets.MODULES, bc.NAME, bc.__name__)
    summary = ingest(bc.NAME, eco("XTH24072390_archive"), tmp_path / "data", by="test")
    assert (summary.read, summary.kept, summary.duplicates, summary.quarantined) == (189, 95, 94, 0)
    again = ingest(bc.NAME, eco("X2H20063162_archive"), tmp_path / "data", by="test")
    assert (again.read, again.kept, again.duplicates, again.quarantined) == (1366, 1330, 4, 32)
    report = pd.read_csv(again.quarantine, dtype=str)
    assert {"source_row", "source_record", "record_id", "reason"} <= set(report.columns)
    stored = pd.concat(pd.read_parquet(table) for table in again.tables)
    assert len(stored) == 1330 and set(stored["date"].dt.year) == {2020, 2021, 2022, 2023, 2024}


def records_file(path: Path, records: list, indent: int | None = None) -> Path:
    path.write_text(json.dumps(records, indent=indent), encoding="utf-8")
    return path


def record(**changes) -> dict:
    base = {"intensity": 120, "laneId": 42, "dateObserved": "2023-05-02T00:00:00/2023-05-03T00:00:00",
            "location": {"coordinates": [3.87, 43.61], "type": "Point"}, "id": "MMM_EcoCompt_X2HTEST0001_202305020000",
            "type": "TrafficFlowObserved", "vehicleType": "bicycle", "reversedLane": False}
    base.update(changes)
    return {key: value for key, value in base.items() if value is not ...}


CRAFTED = {
    "malformed key disagreeing": ({",intensity": 7}, "count: intensity given twice with different values (120, 7)"),
    "key missing in one record": ({"intensity": ...}, "count: missing value"),
    "null intensity": ({"intensity": None}, "count: missing value"),
    "count not whole": ({"intensity": 12.5}, "count: not a whole number ('12.5')"),
    "count as text": ({"intensity": "beaucoup"}, "count: not a whole number ('beaucoup')"),
    "negative count": ({"intensity": -4}, "count: below 0 bicycle/day ('-4')"),
    "two-day interval": ({"dateObserved": "2023-05-02T00:00:00/2023-05-04T00:00:00"},
                         "date: dateObserved is not one local day 'start/end' "
                         "('2023-05-02T00:00:00/2023-05-04T00:00:00')"),
    "not midnight": ({"dateObserved": "2023-05-02T06:00:00/2023-05-03T06:00:00"},
                     "date: not an ISO 8601 date ('2023-05-02T06:00:00/2023-05-03T06:00:00')"),
    "an instant, not a day": ({"dateObserved": "2023-05-02T14:00:00"},
                              "date: dateObserved is not one local day 'start/end' ('2023-05-02T14:00:00')"),
    "swapped coordinates": ({"location": {"coordinates": [43.61, 3.87], "type": "Point"}},
                            "longitude: above 4.5 degree_east ('43.61'); latitude: below 43.2 degree_north ('3.87')"),
    "null coordinates, real lane": ({"location": {"coordinates": [None, None], "type": "Point"}},
                                    "longitude: missing value; latitude: missing value"),
    "location not a point": ({"location": "Comédie"}, "longitude: missing value; latitude: missing value"),
    "not an Eco-Counter id": ({"id": "urn:ngsi:42"}, "counter_id: id is not an Eco-Counter record id ('urn:ngsi:42')"),
    "not a bicycle": ({"vehicleType": "car"}, "vehicleType: 'car', not bicycle"),
}


@pytest.mark.parametrize("case", CRAFTED)
def test_each_record_quirk_is_quarantined_with_its_reason(tmp_path, case):
    changes, reason = CRAFTED[case]
    good = record(id="MMM_EcoCompt_X2HTEST0001_202305010000", dateObserved="2023-05-01T00:00:00/2023-05-02T00:00:00")
    path = records_file(tmp_path / "eco.json", [good, record(**changes)])
    kept, quarantined = bc.SCHEMA.validate(bc.read_ecocompt_json(path), str(path))
    assert len(kept) == 1 and kept["date"].tolist() == [pd.Timestamp("2023-05-01", tz="UTC")]
    assert len(quarantined) == 1 and quarantined["source_record"].tolist() == [2]
    assert quarantined["reason"].iloc[0].startswith(reason), quarantined["reason"].iloc[0]


def test_a_record_that_is_not_an_object_is_quarantined_not_fatal(tmp_path):
    path = records_file(tmp_path / "eco.json", [record(), [1, 2], record(intensity=5, dateObserved=
                        "2023-05-03T00:00:00/2023-05-04T00:00:00", id="MMM_EcoCompt_X2HTEST0001_202305030000")])
    kept, quarantined = bc.SCHEMA.validate(bc.read_ecocompt_json(path), str(path))
    assert kept["count"].tolist() == [120, 5]
    assert quarantined["reason"].tolist() == [
        "counter_id: missing value; lane_id: missing value; date: missing value; count: missing value; "
        "longitude: missing value; latitude: missing value"]


def test_lines_of_records_written_over_several_lines_and_a_byte_order_mark(tmp_path):
    path = tmp_path / "pretty.json"
    text = json.dumps([record(), record(intensity=None)], indent=2)
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    raw = bc.read_ecocompt_json(path)
    assert raw["source_record"].tolist() == [1, 2]
    second = 1 + text.splitlines().index("  {", 2)  # the line on which the second record begins
    assert raw["source_row"].tolist() == [2, second]
    _, quarantined = bc.SCHEMA.validate(raw, str(path))
    assert quarantined["source_row"].tolist() == [second]


def bad_json(folder: Path) -> dict[str, tuple[Path, str]]:
    """Case -> (file, a fragment the French message must hold)."""
    def write(name: str, text: str) -> Path:
        path = folder / name
        path.write_text(text, encoding="utf-8")
        return path

    good = json.dumps(record())
    return {
        "not JSON": (write("comptages.csv", "intensity;laneId\nSECRET;2\n"),
                     "comptages.csv, ligne 1, colonne 1 : JSON illisible (valeur attendue)"),
        "broken record": (write("casse.json", f"[{good},\n{{\"intensity\": SECRET}}]"),
                          "casse.json, ligne 2, colonne 15 : JSON illisible (valeur attendue)"),
        "never closed": (write("coupe.json", f"[{good},\n{good}"), "coupe.json, ligne 2"),
        "an object": (write("objet.json", '{"SECRET": [1]}'), "objet.json : pas un export Eco-Counter"),
        "empty list": (write("vide.json", "[ ]\n"), "vide.json : liste vide, aucun enregistrement"),
        "key in no record": (write("sans.json", json.dumps([record(intensity=...), record(intensity=...)])),
                             "sans.json : pas un export Eco-Counter (liste JSON d'enregistrements NGSI "
                             "TrafficFlowObserved), clé(s) absente(s) de tous les 2 enregistrement(s) : intensity"),
        "other JSON": (write("autre.json", json.dumps([{"SECRET": 1}])), "clé(s) absente(s) de tous les 1 "
                       "enregistrement(s) : id, intensity, dateObserved, location, laneId"),
        "a folder": (folder, "c'est un dossier, pas un fichier"),
        "missing": (folder / "absent.json", "absent.json : fichier introuvable"),
        "the CSV export": (COMPTAGE, "VilleMTP_MTP_Comptage.csv, ligne 1, colonne 18 : JSON illisible (contenu en trop)"),
    }


@pytest.mark.parametrize("case", ["not JSON", "broken record", "never closed", "an object", "empty list",
                                  "key in no record", "other JSON", "a folder", "missing", "the CSV export"])
def test_a_bad_json_file_gets_one_french_line_naming_it(tmp_path, case):
    path, fragment = bad_json(tmp_path)[case]
    with pytest.raises(SchemaError) as error:
        bc.read_ecocompt_json(path)
    message = str(error.value)
    assert fragment in message and "\n" not in message and "SECRET" not in message, message


def test_the_folder_reader_refuses_a_missing_or_empty_folder(tmp_path):
    with pytest.raises(SchemaError, match="absent : dossier introuvable"):
        bc.read_ecocompt_folder(tmp_path / "absent")
    with pytest.raises(SchemaError, match=r"aucun export Eco-Counter \(MMM_EcoCompt_\*\.json\) dans ce dossier"):
        bc.read_ecocompt_folder(tmp_path)
    with pytest.raises(SchemaError, match="pas un dossier"):
        bc.read_ecocompt_folder(COMPTAGE)


# --- City of Montpellier vehicle-count campaigns --------------------------------------------

@pytest.fixture(scope="module")
def campaigns():
    kept, quarantined, repeats = vc.load_real(COMPTAGE)
    return SimpleNamespace(read=len(kept) + len(quarantined) + repeats, kept=kept, quarantined=quarantined,
                           repeats=repeats)


def test_the_campaigns_file_is_counted_row_by_row(campaigns):
    assert (campaigns.read, len(campaigns.kept), len(campaigns.quarantined), campaigns.repeats) == (3314, 3232, 16, 66)
    assert campaigns.read == len(COMPTAGE.read_bytes().splitlines()) - 1  # every line but the header
    quarantined = campaigns.quarantined
    assert reason_kinds(quarantined) == {
        "peak_evening, daily_mean: evening peak hour above the daily mean": 5,
        "peak_morning, daily_mean: morning peak hour above the daily mean": 8,  # 4 with the evening too
        "section_id, count_ref, date_start, direction: same as": 2,
        "date_start, date_end: the campaign ends before it starts": 1,
    }
    assert quarantined["source_row"].tolist() == [50, 326, 336, 362, 440, 445, 569, 597, 1046, 1048, 1297, 1359,
                                                  1382, 2003, 2712, 2863]
    # Line 2863: 2239,...,25/03/11,11/03/82,... (the end year mistyped)
    assert quarantined["reason"].iloc[-1] == ("date_start, date_end: the campaign ends before it starts "
                                              "(date_start=2011-03-25, date_end=1982-03-11)")
    assert quarantined.loc[6, "reason"] == ("peak_morning, daily_mean: morning peak hour above the daily mean "
                                            "(peak_morning=19699, daily_mean=18669)")
    assert quarantined.loc[6, "source_object_id"] == "563"
    kept = campaigns.kept
    assert kept["date_start"].min() == pd.Timestamp("1996-01-16", tz="UTC")
    assert kept["date_start"].max() == pd.Timestamp("2013-10-14", tz="UTC")
    assert not kept.duplicated(list(vc.SCHEMA.key)).any()
    again, quarantined = vc.SCHEMA.validate(kept, "kept")
    assert len(again) == len(kept) and len(quarantined) == 0


def test_a_campaign_checked_by_hand_against_the_file(campaigns):
    # Line 1000 (cp1252): 2351,753TR4882,Rue des Chasseurs,50,227_002_01,18/03/11,24/03/11,Toulouse-Lavérune,
    #                     407,485,3837,#N/A,3,2011,Pneumatique,4882
    row = campaigns.kept[(campaigns.kept["count_ref"] == "227_002_01")
                         & (campaigns.kept["date_start"] == pd.Timestamp("2011-03-18", tz="UTC"))]
    assert len(row) == 1
    row = row.iloc[0]
    assert (row["street"], row["direction"], row["section_id"]) == ("Rue des Chasseurs", "Toulouse-Lavérune", "753TR4882")
    assert (row["daily_mean"], row["peak_morning"], row["peak_evening"], row["speed_limit_kmh"]) == (3837, 407, 485, 50)
    assert row["date_end"] == pd.Timestamp("2011-03-24", tz="UTC")
    assert row["counter_type"] == "pneumatic" and row["comment"] == ""  # #N/A: no comment
    assert (row["campaign_month"], row["campaign_year"], row["gis_section_id"]) == (3, 2011, "4882")


def test_9999_means_no_value_in_the_speed_limit_and_peak_hours(campaigns):
    kept = campaigns.kept
    # Line 786: ...,Strasbourg-Denis,9999,9999,3990,Compteur défectueux,...
    defective = kept[(kept["count_ref"] == "1473_006_01") & (kept["direction"] == "Strasbourg-Denis")].iloc[0]
    assert pd.isna(defective["peak_morning"]) and pd.isna(defective["peak_evening"])
    assert defective["daily_mean"] == 3990 and defective["comment"] == "Compteur défectueux"
    regulation = kept[kept["counter_type"] == "regulation"]
    assert len(regulation) == 257 and regulation["speed_limit_kmh"].isna().all()
    assert kept.loc[kept["counter_type"] != "regulation", "speed_limit_kmh"].notna().all()


def test_rows_differing_only_by_objectid_are_one_campaign_stored_once(tmp_path, monkeypatch):
    monkeypatch.setitem(datasets.MODULES, vc.NAME, vc.__name__)
    summary = ingest(vc.NAME, COMPTAGE, tmp_path / "data", by="test")
    assert (summary.read, summary.kept, summary.duplicates, summary.quarantined) == (3314, 3232, 66, 16)
    assert summary.encoding == "cp1252"
    report = pd.read_csv(summary.quarantine, dtype=str)
    assert report["source_row"].tolist()[:2] == ["50", "326"]
    assert {"source_object_id", "reason"} <= set(report.columns)
    years = {int(table.parent.name.split("=")[1]) for table in summary.tables}
    assert min(years) == 1996 and max(years) == 2013


HEADER = ('"OBJECTID,N,10,0","IDENT,C,254","NOM,C,254","VLEGALE,N,19,8","REF,C,254","DDEBUT,D","DFIN,D",'
          '"SENS,C,254","PHJM,N,19,8","PHJS,N,19,8","TJM,N,19,8","COMMENTAIR,C,254","MOIS,N,19,8","ANNEE,N,19,8",'
          '"TYPECOMPTA,C,50","IDENTSIG,N,19,10"')
PLAIN_HEADER = ",".join(vc.PROVIDER_COLUMNS)
ROW = "1,12TR34,Rue de l'Aiguillerie,50,R_1,{start},{end},Foch-Comédie,{am},120,{tjm},#N/A,3,2011,Magnétique,34"


def comptage(path: Path, rows: list[dict], header: str = HEADER, sep: str = ",", encoding: str = "cp1252") -> Path:
    values = [ROW.format(**{"start": "18/03/11", "end": "24/03/11", "am": "100", "tjm": "1500", **row}) for row in rows]
    lines = [header, *values] if sep == "," else [PLAIN_HEADER.replace(",", sep), *(v.replace(",", sep) for v in values)]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


CRAFTED_CSV = {
    "#N/A daily mean": ({"tjm": "#N/A"}, "daily_mean: missing value"),
    "day that does not exist": ({"start": "31/02/11"}, "date_start: not an ISO 8601 date ('31/02/11')"),
    "four-digit year": ({"end": "24/03/2011"}, "date_end: not an ISO 8601 date ('24/03/2011')"),
    "text count": ({"am": "beaucoup"}, "peak_morning: not a whole number ('beaucoup')"),
}


@pytest.mark.parametrize("case", CRAFTED_CSV)
def test_each_campaign_quirk_is_quarantined_with_its_reason(tmp_path, case):
    changes, reason = CRAFTED_CSV[case]
    path = comptage(tmp_path / "comptage.csv", [{}, changes])
    kept, quarantined = vc.SCHEMA.validate(vc.read_comptage_csv(path), str(path))
    assert len(kept) == 1
    assert quarantined["source_row"].tolist() == [3]
    assert quarantined["reason"].tolist() == [reason]


def test_two_digit_years_and_plain_or_dbase_headers(tmp_path):
    rows = [{"start": "29/12/99", "end": "04/01/00"}, {"start": "01/02/05", "end": "07/02/05"}]
    for header in (HEADER, PLAIN_HEADER):
        path = comptage(tmp_path / "comptage.csv", rows, header=header)
        kept, quarantined = vc.SCHEMA.validate(vc.read_comptage_csv(path), str(path))
        assert len(quarantined) == 0
        assert kept["date_start"].dt.year.tolist() == [1999, 2005]
        assert kept["date_end"].dt.year.tolist() == [2000, 2005]
        assert kept["direction"].tolist() == ["Foch-Comédie"] * 2  # cp1252 detected


def test_a_bad_campaigns_file_gets_one_french_line_naming_it(tmp_path):
    cases = {
        "semicolons": (comptage(tmp_path / "pointvirgule.csv", [{}], sep=";"),
                       "pointvirgule.csv : pas un export des comptages routiers de la Ville de Montpellier "
                       "(VilleMTP_MTP_Comptage), colonne(s) manquante(s) OBJECTID, IDENT"),
        "the JSON export": (eco("XTH24072390_archive"), "colonne(s) manquante(s) OBJECTID, IDENT"),
        "a folder": (tmp_path, "c'est un dossier, pas un fichier"),
        "missing": (tmp_path / "absent.csv", "absent.csv : fichier introuvable"),
    }
    for case, (path, fragment) in cases.items():
        with pytest.raises(SchemaError) as error:
            vc.read_comptage_csv(path)
        message = str(error.value)
        assert fragment in message and "\n" not in message, (case, message)
    with pytest.raises(SchemaError, match=r"VilleMTP_MTP_Comptage.csv, ligne \d+, colonne \d+ : octet illisible en utf-8"):
        vc.read_comptage_csv(COMPTAGE, encoding="utf-8")
