"""The bicycle view of the « Trafic et air » page (issue 18): Montpellier Méditerranée Métropole's
real Eco-Counter counts, built into the session's tiny data from the real exports in place
(../shared/data/real/montpellier/ecocompt), checked against those JSON files read here directly.

A figure checked by hand, the 2020 lockdown in the weekly totals, the map and chart tables
agreeing, missing days never read as zeros, credits on the pages, no demonstration banner on
real data, and the controls of the live page."""

from __future__ import annotations

import html as html_lib
import json
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dashboards.html_tables import point_titles, table
from occidata.dashboards import bathing, bicycles, data as dash_data, layout, traffic
from occidata.datasets.sources import real_data_dir

ECOCOMPT = "montpellier/ecocompt"
# Checked by hand in MMM_EcoCompt_X2H19070220_2020.json, line 92: {"intensity":228, ...,
# "dateObserved":"2020-04-01T00:00:00/2020-04-02T00:00:00", ..., "id":"MMM_EcoCompt_X2H19070220_202004010000"}
HAND_CHECKED = {"counter": "X2H19070220", "day": "2020-04-01", "count": 228,
                "file": "MMM_EcoCompt_X2H19070220_2020.json", "id": "MMM_EcoCompt_X2H19070220_202004010000"}
# Mondays of the weeks wholly inside the first lockdown (17 March - 10 May 2020), and the same weeks of 2021.
SPRING_2020 = pd.date_range("2020-03-23", "2020-05-04", freq="7D")
SPRING_2021 = pd.date_range("2021-03-22", "2021-05-03", freq="7D")


def folder() -> Path:
    path = real_data_dir() / ECOCOMPT
    if not path.is_dir():
        pytest.fail(f"the real Eco-Counter exports are expected at {path} (../shared/data beside the checkout)")
    return path


def intensity(record: dict):
    """A record's count, as the provider wrote it (some exports spell the key ",intensity")."""
    return record["intensity"] if "intensity" in record else record.get(",intensity")


def raw_days(counter: str) -> dict[str, set]:
    """Every count the provider's files give for ``counter``, per day: {"2020-04-01": {228}, ...}."""
    days: dict[str, set] = defaultdict(set)
    for path in sorted(folder().glob(f"MMM_EcoCompt_{counter}_*.json")):
        for record in json.loads(path.read_text(encoding="utf-8")):
            days[record["dateObserved"][:10]].add(intensity(record))
    return days


def text(html: str) -> str:
    """What a reader sees (tags and style removed, entities decoded, spaces collapsed)."""
    bare = re.sub(r"<[^>]+>", " ", re.sub(r"<style>.*?</style>", "", html, flags=re.S))
    return re.sub(r"\s+", " ", html_lib.unescape(bare))


def row_of(frame: pd.DataFrame, counter: str) -> pd.Series:
    found = frame[frame.iloc[:, 0].str.startswith(f"Compteur {counter} ")]
    assert len(found) == 1, (counter, frame.iloc[:, 0].tolist())
    return found.iloc[0]


@pytest.fixture(scope="module")
def env(tiny_data_dir, tmp_path_factory):
    folder()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OCCIDATA_DATA_DIR", str(tiny_data_dir))
        mp.setenv("OCCIDATA_STATE_DIR", str(tmp_path_factory.mktemp("state")))
        mp.delenv("OCCIDATA_ACCESS_LEVELS", raising=False)
        mp.delenv("OCCIDATA_DASHBOARDS__TILES_URL", raising=False)
        yield tiny_data_dir


@pytest.fixture(scope="module")
def loaded(env):
    return traffic.load()


@pytest.fixture(scope="module")
def bikes(loaded):
    return traffic.bicycle_data(loaded)


def bicycle_page(loaded, lang: str = "fr", **values) -> str:
    return traffic.view(loaded, lang=lang, topic="bicycles", **values)


# --------------------------------------------------------------------------- the figures


def test_a_count_checked_by_hand_in_the_real_file_is_on_the_page(loaded):
    records = json.loads((folder() / HAND_CHECKED["file"]).read_text(encoding="utf-8"))
    record = next(r for r in records if r["id"] == HAND_CHECKED["id"])
    assert intensity(record) == HAND_CHECKED["count"]
    assert record["dateObserved"].startswith(HAND_CHECKED["day"] + "T")
    # No other record of any file says otherwise for that day (it would have been set aside).
    assert raw_days(HAND_CHECKED["counter"])[HAND_CHECKED["day"]] == {HAND_CHECKED["count"]}

    html = bicycle_page(loaded, bicycle_day=HAND_CHECKED["day"])
    day = pd.Timestamp(HAND_CHECKED["day"]).strftime("%d/%m/%Y")
    row = row_of(table(html, f"Vélos comptés le {day} par compteur"), HAND_CHECKED["counter"])
    assert row["Vélos comptés ce jour"] == str(HAND_CHECKED["count"])
    assert any(t.startswith(f"Compteur {HAND_CHECKED['counter']} ") and t.endswith(f" : {HAND_CHECKED['count']} vélos")
               for t in map(html_lib.unescape, point_titles(html)))
    # Spring 2020: the only counter installed, so the day's figure is its count.
    assert f"{HAND_CHECKED['count']} vélos comptés le {day} par 1 compteur de Montpellier Méditerranée Métropole" \
        in text(html)


def test_the_2020_lockdown_shows_in_the_weekly_totals(loaded, bikes):
    counter = bicycles.default_counter(bikes)
    assert counter == HAND_CHECKED["counter"]  # the one counter counting in spring 2020
    weeks = bicycles.week_table(bikes, counter).set_index("week")
    spring_2020, spring_2021 = weeks.loc[SPRING_2020], weeks.loc[SPRING_2021]
    assert (spring_2020["days"] == 7).all() and (spring_2021["days"] == 7).all()
    assert spring_2020["total"].sum() < 0.4 * spring_2021["total"].sum(), (spring_2020["total"], spring_2021["total"])
    assert (spring_2020["lockdown"] == "oui").all() and (spring_2021["lockdown"] == "").all()
    # The totals are the provider's daily counts added up, week by week.
    raw = raw_days(counter)
    for monday, total in spring_2020["total"].items():
        days = [(monday + pd.Timedelta(days=i)).strftime("%Y-%m-%d") for i in range(7)]
        assert total == sum(next(iter(raw[d])) for d in days), monday
    # The page's chart table says the same, and the chart's time axis reads in years.
    html = bicycle_page(loaded)
    svg = re.search(r'<svg class="od-chart".*?</svg>', html, flags=re.S).group(0)
    axis = re.search(r'<g class="od-axes".*?</g>', svg, flags=re.S).group(0)
    assert re.findall(r'text-anchor="middle">([^<]*)</text>', axis) == ["2020", "2021", "2022", "2023", "2024"]
    chart = table(html, f"Compteur {counter} ")
    shown = dict(zip(chart["Semaine du"], chart["Vélos dans la semaine"]))
    for monday, total in spring_2020["total"].items():
        assert shown[monday.strftime("%d/%m/%Y")] == str(int(total))
    assert "Confinements de 2020 : du 17 mars au 10 mai, puis du 30 octobre au 15 décembre" in text(
        bicycle_page(loaded))


def test_the_map_table_and_the_chart_table_hold_the_same_values(loaded, bikes):
    counter = bicycles.default_counter(bikes)
    monday = pd.Timestamp("2021-04-12")
    daily = []
    for i in range(7):
        day = monday + pd.Timedelta(days=i)
        html = bicycle_page(loaded, bicycle_day=day)
        shown = table(html, f"Vélos comptés le {day:%d/%m/%Y} par compteur")
        daily.append(int(row_of(shown, counter)["Vélos comptés ce jour"]))
        # The map draws each row of its table: the same count written beside the point and in its title.
        titles = [html_lib.unescape(t) for t in point_titles(html)][1:]  # the first point: Montpellier's centre
        assert len(titles) == len(shown) == len(bikes.counters)
        for title, (_, row) in zip(titles, shown.iterrows()):
            value = row["Vélos comptés ce jour"]
            assert title.startswith(row["Compteur"] + " : ")
            assert title.endswith(" : pas de comptage ce jour" if value == "—" else f" : {value} vélos")
        texts = re.findall(r'class="od-point-text"[^>]*>([^<]*)</text>', html)
        assert set(texts) - {"Centre"} <= set(shown["Vélos comptés ce jour"])
    chart = table(html, f"Compteur {counter} ")
    week = chart[chart["Semaine du"] == f"{monday:%d/%m/%Y}"].iloc[0]
    assert week["Jours comptés"] == "7" and week["Vélos dans la semaine"] == str(sum(daily))
    assert week["Moyenne par jour compté"] == str(int(np.round(sum(daily) / 7)))


def test_missing_days_are_not_zeros(loaded, bikes):
    counter = HAND_CHECKED["counter"]
    raw = raw_days(counter)
    # A day in the counter's period whose only records have a null count (quarantined at build).
    empty = sorted(day for day, counts in raw.items() if counts == {None})
    assert empty, "the real exports hold null counts for this counter"
    day = pd.Timestamp(empty[0])
    html = bicycle_page(loaded, bicycle_day=day)
    row = row_of(table(html, f"Vélos comptés le {day:%d/%m/%Y} par compteur"), counter)
    assert row["Vélos comptés ce jour"] == "—"
    title = next(html_lib.unescape(t) for t in point_titles(html) if t.startswith(f"Compteur {counter} "))
    assert title.endswith(" : pas de comptage ce jour")
    assert np.isnan(bikes.counts[bikes.counters.index.get_loc(counter), bikes.days.get_loc(day)])
    # Its week has no total (it would read as a drop), and its mean is over the days counted.
    monday = day - pd.Timedelta(days=day.day_of_week)
    week = bicycles.week_table(bikes, counter).set_index("week").loc[monday]
    counted = [next(iter(raw[d])) for d in pd.date_range(monday, periods=7).strftime("%Y-%m-%d")
               if len(raw.get(d, ())) == 1 and None not in raw[d]]
    assert counted, "a week with days counted around the missing one"
    assert np.isnan(week["total"]) and week["days"] == len(counted) < 7
    assert week["mean"] == np.round(sum(counted) / len(counted))
    chart = table(html, f"Compteur {counter} ")
    shown = chart[chart["Semaine du"] == f"{monday:%d/%m/%Y}"].iloc[0]
    assert shown["Vélos dans la semaine"] == "—" and shown["Jours comptés"] == str(len(counted))
    # The headline adds up the counters that counted, and says how many did not.
    table_day = bicycles.day_table(bikes, day)
    missing = int(table_day["count"].isna().sum())
    assert re.search(rf"; {missing} compteurs? sans comptage ce jour\.", text(html))


def test_lanes_are_added_and_a_gap_stays_a_gap():
    """Pure logic on a few rows: two lanes the same day, a day with no record, a week cut short."""
    rows = pd.DataFrame({
        "counter_id": ["A"] * 9,
        "lane_id": ["1", "2"] + ["1"] * 7,
        "date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-02", "2024-01-03", "2024-01-05", "2024-01-06",
                                "2024-01-07", "2024-01-08", "2024-01-09"]).tz_localize("UTC"),
        "count": pd.array([10, 5, 0, 20, 30, 40, 50, 60, 70], dtype="Int64"),
        "longitude": [3.87] * 9, "latitude": [43.61] * 9,
    })
    data = bicycles.prepare(rows)
    assert list(data.counts[0][[0, 1, 2, 4]]) == [15, 0, 20, 30]  # two lanes added; a real zero stays zero
    assert np.isnan(data.counts[0][3])  # 4 January: no record, not zero
    weeks = bicycles.week_table(data, "A")
    assert list(weeks["week"]) == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-08")]
    assert np.isnan(weeks["total"]).all()  # a day missing, then a week of two days
    assert list(weeks["days"]) == [6, 2] and list(weeks["mean"]) == [round(155 / 6), 65]


# --------------------------------------------------------------------------- the page


def test_real_data_have_no_demonstration_banner_and_end_with_their_credits(loaded):
    html = bicycle_page(loaded, today="2025-01-15")
    seen = text(html)
    assert "Données de démonstration" not in seen and "od-banner-demo" not in html
    assert "Données qui ne sont pas à jour — dernières mesures du 7 novembre 2024" in seen  # the exports end there
    credits = html[html.index('<section class="od-credits"'):]
    assert html.rstrip().endswith("</section></div>") and credits.count("<li") == 1
    assert 'data-entry="bicycle_counts" data-origin="real"' in credits
    said = text(credits)
    assert "Sources et licences" in said and "données réelles" in said and "Montpellier Méditerranée Métropole" in said
    assert "« © Montpellier Méditerranée Métropole »" in said and "ODbL 1.0" in said
    assert "partage à l'identique" in said
    english = text(bicycle_page(loaded, lang="en", today="2025-01-15"))
    assert "Demonstration data" not in english and "“© Montpellier Méditerranée Métropole”" in english
    assert "bicycles counted on" in english and "vélos" not in english


def test_the_road_view_stays_the_default_and_credits_its_entries(loaded):
    html = traffic.view(loaded)
    assert html == traffic.view(loaded, topic="road") and "véhicules comptés le" in html
    assert "Données de démonstration" in text(html)  # generated road counts
    credits = html[html.index('<section class="od-credits"'):]
    assert 'data-entry="traffic_counts" data-origin="synthetic"' in credits
    assert 'data-entry="air_quality_hourly" data-origin="mixed"' in credits
    assert traffic.defaults(loaded)["topic"] == "road"
    views = traffic.static_views(loaded)
    assert all(views.values(combo)["topic"] == "road" for combo in views.keys())


def test_the_bathing_page_ends_with_its_credits(env):
    html = bathing.view(bathing.load(), shapes=[])
    credits = html[html.index('<section class="od-credits"'):]
    assert html.rstrip().endswith("</section></div>")
    assert 'data-entry="bathing_water" data-origin="synthetic"' in credits
    assert "données synthétiques de démonstration" in text(credits)


def test_bad_choices_are_named(loaded, bikes):
    with pytest.raises(ValueError, match=r"topic='velo'; use road or bicycles"):
        traffic.view(loaded, topic="velo")
    with pytest.raises(ValueError, match=r"bicycle_counter='X0' is not one of the counters: .*X2H19070220"):
        bicycle_page(loaded, bicycle_counter="X0")
    with pytest.raises(ValueError, match=r"bicycle_day=2019-01-01 is outside the counts \(2020-01-01 \.\. 2024-11-07\)"):
        bicycle_page(loaded, bicycle_day="2019-01-01")


def test_a_counter_is_labelled_by_its_serial_and_its_place(bikes):
    labels = [bicycles.counter_label(bikes, c) for c in bikes.counters.index]
    assert len(set(labels)) == len(labels) == 13
    assert bicycles.counter_label(bikes, "X2H19070220") == \
        "Compteur X2H19070220 (1,6 km à l'est du centre de Montpellier)"
    assert bicycles.counter_label(bikes, "X2H19070220", "en") == "Counter X2H19070220 (1.6 km east of Montpellier centre)"


def test_a_bicycle_entry_that_is_not_public_shows_only_the_notice(env, monkeypatch):
    monkeypatch.setattr(dash_data, "entry_access", lambda name: "restricted" if name == "bicycle_counts" else "public")
    data = traffic.load()
    html = layout.render_safely(traffic.SLUG, lambda lang="fr", **values: traffic.view(data, lang=lang, **values),
                                "fr", {"topic": "bicycles"})
    assert "Ces données ne sont pas publiques" in html and "X2H19070220" not in html
    controls = traffic.controls(data, "fr")  # the road view stays usable
    assert set(controls) == {"topic", "counter", "day"}
    assert "véhicules comptés le" in traffic.view(data)


# --------------------------------------------------------------------------- the live controls


def test_the_controls_switch_views_and_show_only_the_chosen_views(loaded, bikes):
    for lang, labels in (("fr", ("Afficher", "Compteur vélo", "Jour (vélos)")),
                         ("en", ("Show", "Bicycle counter", "Day (bicycles)"))):
        controls = traffic.controls(loaded, lang)
        assert [controls[n].description for n in ("topic", "bicycle_counter", "bicycle_day")] == list(labels)
        assert controls["topic"].value == "road"
        assert controls["bicycle_counter"].value == bicycles.default_counter(bikes)
        assert controls["bicycle_day"].value == bicycles.default_day(bikes) == pd.Timestamp("2024-11-05")
        shown = lambda: {n for n, c in controls.items() if c.layout.display != "none"}  # noqa: E731
        assert shown() == {"topic", "counter", "day"}
        controls["topic"].value = "bicycles"
        assert shown() == {"topic", "bicycle_counter", "bicycle_day"}
        values = {name: control.value for name, control in controls.items()}
        assert traffic.view(loaded, lang=lang, **values) == bicycle_page(loaded, lang=lang)
    hand = pd.Timestamp(HAND_CHECKED["day"])
    assert hand in [value for _, value in controls["bicycle_day"].options]


def test_the_live_page_redraws_the_bicycle_view(loaded):
    box = layout.build_dashboard(traffic.SLUG, lambda lang: traffic.controls(loaded, lang),
                                 lambda lang="fr", **values: traffic.view(loaded, lang=lang, **values))
    live = box.dashboard
    live.controls["topic"].value = "bicycles"
    live.controls["bicycle_day"].value = pd.Timestamp(HAND_CHECKED["day"])
    body = live.output.outputs[0]["data"]["text/html"]
    row = row_of(table(body, "Vélos comptés le 01/04/2020 par compteur"), HAND_CHECKED["counter"])
    assert row["Vélos comptés ce jour"] == str(HAND_CHECKED["count"])
    assert "Données de démonstration" not in live.top.outputs[0]["data"]["text/html"]
    live.language.value = "en"  # the choices survive the switch of language
    assert live.controls["topic"].value == "bicycles"
    assert "Bicycles counted on 2020-04-01 per counter" in live.output.outputs[0]["data"]["text/html"]

