"""The Météo-France and ECA&D weather readers on the providers' real exports, quirks and all.

The real files are read in place under ``../shared/data/real/meteo`` (the default of
``sources.real_data_dir``); a missing folder fails the tests. Files for quirks the real exports
lack are made from their lines in the test's temporary folder. Values said "by hand" were read in
the files with grep (line numbers are the files' own).
"""

from __future__ import annotations

import pandas as pd
import pytest

from occidata import datasets
from occidata.datasets import synop as sy
from occidata.datasets import temperature_departments as td
from occidata.datasets import temperature_station as ts
from occidata.datasets.duplicates import duplicate_rows
from occidata.datasets.ingest import ingest
from occidata.datasets.schema import SOURCE_ROW, SchemaError
from occidata.datasets.sources import SHARED_DATA

METEO = SHARED_DATA / "real" / "meteo"
DEPARTMENTS = METEO / "temperature-quotidienne-departementale.csv"
STATION = METEO / "eca_tg_montpellier_aeroport.txt"
SYNOP = METEO / "donnees-synop-essentielles-omm_07643_2020-09.csv"


def real(path):
    if not path.exists():
        pytest.fail(f"the real export is expected at {path} (../shared/data beside the checkout)")
    return path


def counts(module, reader, path):
    """(rows read, kept, quarantined, duplicates among the kept), the raw rows, kept and quarantined."""
    raw = reader(path)
    kept, quarantined = module.SCHEMA.validate(raw, str(path))
    duplicates = int(duplicate_rows(kept, module.SCHEMA, []).sum())
    return (len(raw), len(kept), len(quarantined), duplicates), raw, kept, quarantined


def reasons(quarantined) -> dict:
    return dict(zip(quarantined[SOURCE_ROW].astype(int), quarantined["reason"]))


@pytest.fixture(scope="module")
def departments():
    return counts(td, td.read_odre_csv, real(DEPARTMENTS))


@pytest.fixture(scope="module")
def station():
    return counts(ts, ts.read_eca_tg, real(STATION))


@pytest.fixture(scope="module")
def synop():
    return counts(sy, sy.read_synop_csv, real(SYNOP))


# --- Daily temperatures per département (Météo-France via ODRÉ) ---------------------------------

def test_departments_real_file_keeps_all_96_and_sets_aside_the_inverted_day(departments):
    (read, kept_n, quarantined_n, duplicates), raw, kept, quarantined = departments
    assert (read, kept_n, quarantined_n, duplicates) == (105216, 105215, 1, 0)
    # Line 10994: 2018-08-09;07;Ardèche;22.5;20.97;21.74 (TN above TX).
    assert reasons(quarantined) == {10994: "tmin above tmax (22.5 > 20.97 °C)"}
    assert quarantined["department_name"].iloc[0] == "Ardèche"
    assert kept["department_code"].nunique() == 96
    days = kept.groupby("department_code").size()
    assert days.drop("07").eq(1096).all() and days["07"] == 1095
    assert kept["date"].min() == pd.Timestamp("2018-01-01", tz="UTC")
    assert kept["date"].max() == pd.Timestamp("2020-12-31", tz="UTC")


def test_herault_tx_on_2019_06_28_is_the_files_value(departments):
    # grep -n '^2019-06-28;34;' -> 57526:2019-06-28;34;Hérault;22.67;41.17;31.92
    _, raw, kept, _ = departments
    day = kept[(kept["department_code"] == "34") & (kept["date"] == pd.Timestamp("2019-06-28", tz="UTC"))]
    assert len(day) == 1
    row = day.iloc[0]
    assert (row["tmax"], row["tmin"], row["tmean"]) == (41.17, 22.67, 31.92)
    assert row["department_name"] == "Hérault" and bool(row["occitanie"])
    line = raw[(raw["department_code"] == "34") & (raw["date"] == "2019-06-28")][SOURCE_ROW]
    assert list(line) == [57526]


def test_department_codes_stay_text_and_occitanie_is_flagged(departments):
    _, raw, kept, _ = departments
    assert {"09", "2A", "2B", "01"} <= set(kept["department_code"])
    assert kept["department_code"].str.len().eq(2).all()
    # The provider's rows are in no order; nothing in the reader relies on one.
    assert not pd.to_datetime(raw["date"]).is_monotonic_increasing
    occitanie = td.occitanie_only(kept)
    assert sorted(occitanie["department_code"].unique()) == sorted(
        ["09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82"])
    assert len(occitanie) == 13 * 1096 == int(kept["occitanie"].sum())


def test_department_rows_impossible_or_contradicting_are_quarantined_with_their_line(tmp_path):
    source = tmp_path / "temperature-quotidienne-departementale.csv"
    source.write_text("\n".join([
        "date_obs;code_insee_departement;departement;tmin;tmax;tmoy",
        "2019-06-28;34;Hérault;22.67;41.17;31.92",  # 2 kept
        "2019-06-28;9;Ariège;15.0;30.0;22.5",  # 3 kept, code 09 (a spreadsheet dropped the zero)
        "2019-06-28;30;Gard;25.0;20.0;22.5",  # 4 TN above TX
        "2019-06-28;31;Haute-Garonne;20.0;65.0;40.0",  # 5 out of range
        "2019-06-28;32;Gers;10.0;20.0;25.0",  # 6 mean outside min..max
        "2019-06-28;20;Corse;10.0;20.0;15.0",  # 7 no département 20
        "2019-06-28;34;Hérault;22.67;41.17;31.92",  # 8 the same as line 2: a duplicate
        "2019-06-28;11;Aude;18.0;35.0;26.5",  # 9 same day and département as 10, other values
        "2019-06-28;11;Aude;18.0;36.0;27.0",  # 10
        "2019-06-28;12;Aveyron;;30.0;20.0",  # 11 TN missing
        "2019-06-31;46;Lot;10;20;15",  # 12 no such day
        "2019-06-28;2A;Corse-du-Sud;20,5;30.5;25.5",  # 13 kept, decimal comma
        "2019-06-28;30;Gard;18.0;33.0;25.5",  # 14 kept: line 4, same day and département, is the broken one
    ]) + "\n", encoding="utf-8")
    (read, kept_n, quarantined_n, duplicates), _, kept, quarantined = counts(td, td.read_odre_csv, source)
    assert (read, kept_n, quarantined_n, duplicates) == (13, 5, 8, 1)
    found = reasons(quarantined)
    code = found.pop(7)
    assert code.startswith("department_code: not one of 01, 02,") and code.endswith(", 95 ('20')")
    assert found == {
        4: "tmin above tmax (25.0 > 20.0 °C)",
        5: "tmax: above 50.0 °C ('65.0')",
        6: "tmean outside tmin..tmax (25.0 °C)",
        9: "date, department_code: same as line(s) 10 with other values",
        10: "date, department_code: same as line(s) 9 with other values",
        11: "tmin: missing value",
        12: "date: not an ISO 8601 date ('2019-06-31')",
    }
    assert list(kept["department_code"]) == ["34", "09", "34", "2A", "30"]
    assert kept["tmin"].iloc[3] == 20.5
    # Quarantined rows keep the provider's text.
    assert quarantined.set_index(SOURCE_ROW).loc[4, "department_name"] == "Gard"


# --- Long daily mean temperature series of a station (ECA&D) -------------------------------------

def test_station_real_series_keeps_every_day_and_its_missing_ones(station):
    (read, kept_n, quarantined_n, duplicates), raw, kept, quarantined = station
    assert (read, kept_n, quarantined_n, duplicates) == (27453, 27453, 0, 0)
    # Every calendar day from 1946-01-01 to 2021-02-28, none twice: a series on a regular axis.
    assert kept["date"].tolist() == list(pd.date_range("1946-01-01", "2021-02-28", tz="UTC"))
    assert set(kept["station_id"]) == {"2207"} and set(kept["station_name"]) == {"MONTPELLIER-AEROPORT"}
    # The two -9999 days (lines 442 and 27175) stay, empty and said missing.
    missing = kept[kept["tg"].isna()]
    assert missing["date"].dt.strftime("%Y-%m-%d").tolist() == ["1947-02-26", "2020-05-06"]
    assert set(missing["quality"]) == {"missing"}
    assert kept["quality"].value_counts().to_dict() == {"valid": 27451, "missing": 2}
    assert list(raw.loc[raw["TG"] == "-9999", SOURCE_ROW]) == [442, 27175]
    assert raw[SOURCE_ROW].iloc[0] == 21  # after the 20-line header


def test_station_source_id_changes_where_the_blend_switches_source(station):
    _, _, kept, _ = station
    by_source = kept.groupby("source_id")["date"].agg(["min", "max", "size"])
    assert by_source.loc["107225", "max"] == pd.Timestamp("2019-12-31", tz="UTC")
    assert by_source.loc["907643", "min"] == pd.Timestamp("2020-01-01", tz="UTC")
    assert by_source["size"].to_dict() == {"107225": 27028, "907643": 425}


def test_station_tg_on_2019_06_28_is_the_files_value_in_celsius(station):
    # grep -n '20190628' -> 26862:107225,20190628,  324,    0
    _, raw, kept, _ = station
    day = kept[kept["date"] == pd.Timestamp("2019-06-28", tz="UTC")].iloc[0]
    assert day["tg"] == 32.4 and day["quality"] == "valid" and day["source_id"] == "107225"
    assert list(raw.loc[raw["date"] == "2019-06-28", SOURCE_ROW]) == [26862]
    assert kept["tg"].iloc[0] == 3.9  # 1946-01-01, "39" in 0.1 °C


def test_station_crlf_file_reads_as_its_lf_copy(station, tmp_path):
    data = STATION.read_bytes()
    assert b"\r\n" in data
    _, raw, kept, _ = station
    assert not raw["Q_TG"].str.contains("\r").any() and not raw["station_name"].str.contains("\r").any()
    copy = tmp_path / "lf.txt"
    copy.write_bytes(data.replace(b"\r\n", b"\n"))
    pd.testing.assert_frame_equal(ts.SCHEMA.validate(ts.read_eca_tg(copy), "lf")[0], kept)


def eca_header() -> list[str]:
    """The real file's 20 header lines, the column line last."""
    return real(STATION).read_text(encoding="ascii").splitlines()[:20]


def eca_file(path, rows, header=None):
    path.write_text("\r\n".join([*(header or eca_header()), *rows]) + "\r\n", encoding="ascii")
    return path


def test_station_codes_and_values_that_disagree_are_quarantined(tmp_path):
    source = eca_file(tmp_path / "TG_STAID002207.txt", [
        "107225,19460101,   39,    0",  # 21 kept
        "107225,19460102,-9999,    0",  # 22 missing code said valid
        "107225,19460103,  120,    9",  # 23 a value said missing
        "107225,19460104,   52,    1",  # 24 kept, suspect
        "107225,19460105,   17,    5",  # 25 no such quality code
        "107225,19461305,   17,    0",  # 26 no such day
        "107225,19460106,-9999,    9",  # 27 kept, missing
        "107225,19460101,   39,    0",  # 28 the same as line 21: a duplicate
        "107225,19460107,   31,    0",  # 29 same day as 30, other source
        "907643,19460107,   31,    0",  # 30
        "107225,19460108,  600,    0",  # 31 60 °C
    ])
    (read, kept_n, quarantined_n, duplicates), _, kept, quarantined = counts(ts, ts.read_eca_tg, source)
    assert (read, kept_n, quarantined_n, duplicates) == (11, 4, 7, 1)
    assert reasons(quarantined) == {
        22: "tg: missing-value code -9999 but Q_TG 0 (valid)",
        23: "tg: a value (120) but Q_TG 9 (missing)",
        25: "quality: not one of valid, suspect, missing ('5')",
        26: "date: not an ISO 8601 date ('1946-13-05')",
        29: "station_id, date: same as line(s) 30 with other values",
        30: "station_id, date: same as line(s) 29 with other values",
        31: "tg: above 50.0 °C (60.0)",
    }
    assert kept["quality"].tolist() == ["valid", "suspect", "missing", "valid"]
    assert kept["tg"].iloc[1] == 5.2 and pd.isna(kept["tg"].iloc[2])


def test_station_bad_files_get_one_french_line(tmp_path):
    header = eca_header()
    tx = eca_file(tmp_path / "TX.txt", ["107225,19460101,  139,    0"], [*header[:-1], " SOUID,    DATE,   TX, Q_TX"])
    with pytest.raises(SchemaError, match=r"TX\.txt, ligne 20 : pas une série ECA&D de température moyenne \(TG\), "
                                          r"colonne\(s\) manquante\(s\) TG, Q_TG"):
        ts.read_eca_tg(tx)
    semicolons = eca_file(tmp_path / "semi.txt", ["107225;19460101;39;0"], [*header[:-1], "SOUID;DATE;TG;Q_TG"])
    with pytest.raises(SchemaError, match=r"semi\.txt, ligne 20 : .*manquante\(s\) SOUID, DATE, TG, Q_TG "
                                          r"\(l'en-tête a 1 colonne\(s\), séparateur « , »\)"):
        ts.read_eca_tg(semicolons)
    headless = eca_file(tmp_path / "headless.txt", ["107225,19460101,   39,    0"], ["just text"])
    with pytest.raises(SchemaError, match=r"headless\.txt : pas une série ECA&D, ligne d'en-tête "
                                          r"« SOUID,DATE,TG,Q_TG » introuvable"):
        ts.read_eca_tg(headless)
    extra = eca_file(tmp_path / "extra.txt", ["107225,19460101,   39,    0", "107225,19460102,   39,    0,  1"])
    with pytest.raises(SchemaError, match=r"extra\.txt, ligne 22 : 5 champs au lieu des 4 de l'en-tête"):
        ts.read_eca_tg(extra)
    nameless = eca_file(tmp_path / "nameless.txt", ["107225,19460101,   39,    0"], header[-1:])
    with pytest.raises(SchemaError, match=r"nameless\.txt : pas une série ECA&D, l'en-tête ne nomme pas la station"):
        ts.read_eca_tg(nameless)


# --- Three-hourly SYNOP observations (Météo-France) -----------------------------------------------

def test_synop_real_file_reads_in_utc_with_traces_flagged(synop):
    (read, kept_n, quarantined_n, duplicates), raw, kept, _ = synop
    assert (read, kept_n, quarantined_n, duplicates) == (246, 246, 0, 0)
    # The BOM did not stick to the first header: the WMO number is read, as text.
    assert set(kept["station_id"]) == {"07643"} and set(kept["department_code"]) == {"34"}
    times = kept["time"].sort_values()
    assert times.iloc[0] == pd.Timestamp("2020-09-08 00:00", tz="UTC")  # 2020-09-08T02:00:00+02:00
    assert times.iloc[-1] == pd.Timestamp("2020-10-08 21:00", tz="UTC")
    assert times.diff().dropna().value_counts().to_dict() == {pd.Timedelta(hours=3): 243, pd.Timedelta(hours=6): 2}
    # -0.1 is a trace: 0 mm, flagged; 11 over 3 h and 17 over 24 h in the file.
    assert int(kept["rain_3h_trace"].sum()) == (raw["rain_3h_trace"] == "t").sum() == 11
    assert int(kept["rain_24h_trace"].sum()) == 17
    assert kept.loc[kept["rain_3h_trace"].fillna(False).astype(bool), "rain_3h"].eq(0.0).all()
    assert (kept["rain_3h"].dropna() >= 0).all()


def test_synop_temperature_at_one_time_in_kelvin_and_celsius(synop):
    # line 234: 07643;2020-09-19T14:00:00+02:00;101380;...;299.05 (Température);...;85 (Humidité);...
    #           0.4 (3 h);...;0.8 (24 h);...;25.900000000000034 (Température (°C))
    _, raw, kept, _ = synop
    row = kept[kept["time"] == pd.Timestamp("2020-09-19 12:00", tz="UTC")].iloc[0]
    assert row["temperature"] == 25.9 and 299.05 - 273.15 == pytest.approx(row["temperature"])
    assert (row["humidity"], row["sea_level_pressure"], row["rain_3h"], row["rain_24h"]) == (85.0, 1013.8, 0.4, 0.8)
    assert not row["rain_3h_trace"]
    line = raw[raw["time"] == "2020-09-19T14:00:00+02:00"]
    assert list(line[SOURCE_ROW]) == [234] and list(line["temperature_k"]) == ["299.05"]
    # line 30: 2020-09-28T05:00:00+02:00 with -0.1 over 3 hours
    trace = kept[kept["time"] == pd.Timestamp("2020-09-28 03:00", tz="UTC")].iloc[0]
    assert trace["rain_3h"] == 0.0 and bool(trace["rain_3h_trace"])


def synop_lines():
    header, *rows = real(SYNOP).read_text(encoding="utf-8-sig").splitlines()
    return header.split(";"), [row.split(";") for row in rows]


def test_synop_kelvin_disagreeing_no_offset_and_negative_rain_are_quarantined(tmp_path):
    columns, rows = synop_lines()
    at = {name: columns.index(name) for name in ("Date", "Température", "Température (°C)", "Humidité",
                                                   "Précipitations dans les 3 dernières heures")}
    made = [list(row) for row in rows[:8]]
    made[1][at["Température"]] = "300.0"  # line 3: the kelvin says 26.85 °C
    made[2][at["Date"]] = made[2][at["Date"]][:19]  # line 4: local time without its offset
    made[3][at["Précipitations dans les 3 dernières heures"]] = "-0.1"  # line 5 kept, a trace
    made[4][at["Précipitations dans les 3 dernières heures"]] = "-2.0"  # line 6: not a trace
    made[5][at["Température (°C)"]] = ""  # line 7 kept: °C from the kelvin
    made[6][at["Humidité"]] = "120"  # line 8
    made.append(list(made[0]))  # line 10, the same as line 2: a duplicate
    source = tmp_path / "synop.csv"
    source.write_text("\n".join(";".join(row) for row in [columns, *made]) + "\n", encoding="utf-8-sig")
    (read, kept_n, quarantined_n, duplicates), _, kept, quarantined = counts(sy, sy.read_synop_csv, source)
    assert (read, kept_n, quarantined_n, duplicates) == (9, 5, 4, 1)
    celsius = rows[1][at["Température (°C)"]]
    assert reasons(quarantined) == {
        3: f"temperature: 300.0 K is 26.85 °C, not {round(float(celsius), 2)} °C",
        4: f"time: no UTC offset ({rows[2][at['Date']][:19]}), the local time cannot be placed",
        6: "rain_3h: below 0.0 mm (-2.0)",
        8: "humidity: above 100.0 % ('120')",
    }
    by_time = kept.set_index("time")
    trace = by_time.loc[pd.Timestamp(rows[3][at["Date"]]).tz_convert("UTC")]
    assert trace["rain_3h"] == 0.0 and bool(trace["rain_3h_trace"])
    derived = by_time.loc[pd.Timestamp(rows[5][at["Date"]]).tz_convert("UTC")]
    assert derived["temperature"] == round(float(rows[5][at["Température"]]) - 273.15, 2)


def test_synop_missing_column_or_wrong_separator_names_the_file_and_column(tmp_path):
    columns, rows = synop_lines()
    drop = columns.index("Température (°C)")
    without = tmp_path / "sans_celsius.csv"
    without.write_text("\n".join(";".join(r[:drop] + r[drop + 1:]) for r in [columns, rows[0]]) + "\n",
                       encoding="utf-8-sig")
    with pytest.raises(SchemaError, match=r"sans_celsius\.csv : pas un export SYNOP de Météo-France .*"
                                          r"colonne\(s\) manquante\(s\) Température \(°C\) \(l'en-tête a 81"):
        sy.read_synop_csv(without)
    commas = tmp_path / "virgules.csv"
    commas.write_text("\n".join(",".join(r) for r in [columns, rows[0]]) + "\n", encoding="utf-8-sig")
    with pytest.raises(SchemaError, match=r"virgules\.csv : pas un export SYNOP .*manquante\(s\) ID OMM station, "
                                          r"Date, .*séparateur « ; »"):
        sy.read_synop_csv(commas)


# --- All three ------------------------------------------------------------------------------------

READERS = [(td, td.read_odre_csv), (ts, ts.read_eca_tg), (sy, sy.read_synop_csv)]


@pytest.mark.parametrize("module, reader", READERS, ids=lambda m: getattr(m, "NAME", ""))
def test_not_a_file_gets_one_french_line(module, reader, tmp_path):
    folder = tmp_path / "export.csv"
    folder.mkdir()
    with pytest.raises(SchemaError, match=r"export\.csv : c'est un dossier, pas un fichier"):
        reader(folder)
    with pytest.raises(SchemaError, match=r"absent\.csv : fichier introuvable"):
        reader(tmp_path / "absent.csv")
    empty = tmp_path / "vide.csv"
    empty.write_bytes(b"")
    with pytest.raises(SchemaError, match=r"vide\.csv : fichier vide"):
        reader(empty)


def test_departments_wrong_separator_and_missing_column(tmp_path):
    commas = tmp_path / "virgules.csv"
    commas.write_text("date_obs,code_insee_departement,departement,tmin,tmax,tmoy\n"
                      "2019-06-28,34,Hérault,22.67,41.17,31.92\n")
    with pytest.raises(SchemaError, match=r"virgules\.csv : pas un export Météo-France des températures "
                                          r"quotidiennes départementales, colonne\(s\) manquante\(s\) date_obs, "
                                          r".*séparateur « ; »"):
        td.read_odre_csv(commas)
    no_mean = tmp_path / "sans_tmoy.csv"
    no_mean.write_text("date_obs;code_insee_departement;departement;tmin;tmax\n2019-06-28;34;Hérault;22.67;41.17\n")
    with pytest.raises(SchemaError, match=r"sans_tmoy\.csv : .*colonne\(s\) manquante\(s\) tmoy \(l'en-tête a 5"):
        td.read_odre_csv(no_mean)


@pytest.mark.parametrize("module, path, first", [
    (td, DEPARTMENTS, (105216, 105215, 1, 0)),
    (ts, STATION, (27453, 27453, 0, 0)),
    (sy, SYNOP, (246, 246, 0, 0)),
], ids=["departments", "station", "synop"])
def test_ingest_takes_each_real_file_and_recognises_a_second_ingest_as_duplicates(module, path, first, tmp_path,
                                                                                  monkeypatch):
    # The catalogue does not list these datasets yet: registered for this test only, so that the
    # ingest the platform runs (file checks, validation, storage, duplicates) reads the real file.
    monkeypatch.setitem(datasets.MODULES, module.NAME, module.__name__)
    summary = ingest(module.NAME, real(path), tmp_path / "data")
    assert (summary.read, summary.kept, summary.quarantined, summary.duplicates) == first
    stored = pd.concat(map(pd.read_parquet, summary.tables), ignore_index=True)
    assert len(stored) == first[1] and list(stored.columns) == module.SCHEMA.names
    again = ingest(module.NAME, path, tmp_path / "data")
    assert (again.kept, again.duplicates, again.quarantined) == (0, first[1], first[2])
    if first[2]:
        assert pd.read_csv(summary.quarantine)["reason"].tolist() == ["tmin above tmax (22.5 > 20.97 °C)"]
