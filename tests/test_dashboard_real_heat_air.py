"""« Chaleur » and « Qualité de l'air » on real data (issue 18): a real past summer of Météo-France's
departmental temperatures, ATMO Occitanie's real hourly values of 14–17 March 2020, no
demonstration banner on them, and every page ending with its sources and licences.

Built from the tiny data, whose real entries hold the providers' whole files (../shared/data/real).
"""

from __future__ import annotations

import csv
import html as html_lib
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dashboards.html_tables import table
from occidata import catalog
from occidata.compute import to_resolution
from occidata.dashboards import air, geo, heat, layout
from occidata.dashboards.render import split_top

ATMO_72H = Path("/work/shared/data/real/atmo/Mesure_72h_Region_Occitanie_Polluants_Principaux_2020-03-14.csv")
DEMO = "Données de démonstration"
CREDITS = "Sources et licences"


@pytest.fixture(scope="module")
def env(tiny_data_dir):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OCCIDATA_DATA_DIR", str(tiny_data_dir))
        mp.setenv("OCCIDATA_STATE_DIR", str(tiny_data_dir.parent / "state-real-heat-air"))
        mp.delenv("OCCIDATA_ACCESS_LEVELS", raising=False)
        mp.delenv("OCCIDATA_DASHBOARDS__TILES_URL", raising=False)
        yield tiny_data_dir


@pytest.fixture(scope="module")
def summers(env):
    return {year: heat.load(period=year) for year in ("2018", "2019", "2020")}


@pytest.fixture(scope="module")
def episode(env):
    return air.load(period="2020-03")


def text(html: str) -> str:
    """What a reader sees (tags and style removed, entities decoded, spaces collapsed)."""
    seen = re.sub(r"<[^>]+>", " ", re.sub(r"<style>.*?</style>", "", html, flags=re.S))
    return re.sub(r"\s+", " ", html_lib.unescape(seen))


def top_of(html: str) -> str:
    """The top of the page (title, banner, data date, note, headline), as read."""
    top, _rest = split_top(html)
    assert top, "not a dashboard page"
    return text(top)


def shape_levels(html: str) -> dict[str, str]:
    """Department -> level, from the map's shapes (their <title> « Nom : Niveau »)."""
    titles = re.findall(r'<path class="od-shape"[^>]*><title>([^<]*)</title>', html)
    return dict(html_lib.unescape(t).split(" : ", 1) for t in titles)


def credits_of(html: str) -> str:
    start = html.index('<section class="od-credits"')
    return html[start:html.index("</section>", start)]


# --------------------------------------------------------------------------- heat: real summers


def test_summer_2019_shows_heraults_record_41_17_and_its_heat_wave(summers):
    alerts = summers["2019"].set_index(["day", "code"])
    record = alerts.loc[(pd.Timestamp("2019-06-28"), "34")]
    assert record["tmax"] == pytest.approx(41.17)
    # 28 June: IBMx (33.27 + 34.37 + 41.17) / 3 = 36.27 reaches Hérault's 35 °C, IBMn 20.96 not yet 22 °C;
    # the next day both indicators are at the thresholds: the heat-wave level. Means to the data's 0.01 °C.
    assert record["ibmx"] == pytest.approx(36.27, abs=1e-9)
    assert record["ibmn"] == pytest.approx(20.96, abs=1e-9)
    assert record["level"] == "near"
    assert alerts.loc[(pd.Timestamp("2019-06-29"), "34"), "level"] == "alert"

    page = heat.view(summers["2019"], day="2019-06-28", department="34")
    series = table(page, "Indicateurs de l'Hérault").set_index("Jour")
    assert series.loc["28/06/2019", "Maximale (°C)"] == "41.17"  # as Météo-France publishes it
    assert series.loc["28/06/2019", "IBMx (°C)"] == "36.27"  # the mean, to the data's resolution
    assert series.loc["28/06/2019", "Niveau"] == "Un seuil atteint"
    assert "IBMn et IBMx de l'Hérault, du 1er juin 2019 au 28 juin 2019" in html_lib.unescape(page)

    after = heat.view(summers["2019"], day="2019-06-29", department="34")
    shown = table(after, "Niveau et indicateurs par département").set_index("Département")
    assert shown.loc["Hérault", "Niveau"] == "Seuils de canicule atteints"
    assert "Hérault" in text(after).split("Aux seuils :", 1)[1].split(".", 1)[0]


@pytest.mark.parametrize("year, day, at", [
    ("2018", "2018-08-05", {"Aude", "Hérault", "Pyrénées-Orientales", "Tarn", "Tarn-et-Garonne"}),
    ("2019", "2019-07-24", {"Gers", "Haute-Garonne", "Lot", "Tarn", "Tarn-et-Garonne"}),
    ("2020", "2020-08-10", {"Haute-Garonne", "Lot", "Tarn", "Tarn-et-Garonne"}),
])
def test_each_real_summer_opens_on_its_heat_wave(summers, year, day, at):
    alerts = summers[year]
    assert heat.period_of(alerts) == year
    assert alerts["day"].min() == pd.Timestamp(f"{year}-06-01") and alerts["day"].max() == pd.Timestamp(f"{year}-09-15")
    assert set(alerts["level"]) <= {"below", "near", "alert"}  # 30 and 31 May read: every day has its 3-day means
    assert heat.default_day(alerts) == pd.Timestamp(day)  # the day with the most départements at the thresholds
    page = heat.view(alerts)
    shown = table(page, "Niveau et indicateurs par département")
    assert set(shown.loc[shown["Niveau"] == "Seuils de canicule atteints", "Département"]) == at
    figure = f"{len(at)} départements sur 13 aux seuils de canicule le {heat.format_day(pd.Timestamp(day), 'fr')}."
    assert figure in text(page)


def test_summer_indicators_are_the_3_day_means_of_the_real_table(env, summers):
    rows = catalog.load("temperature_departments_daily", year=2020)
    gard = rows[rows["department_code"] == "30"].sort_values("date")
    days = pd.DatetimeIndex(gard["date"]).tz_convert(None)
    tmax = pd.Series(gard["tmax"].to_numpy(), index=days).rolling(3).mean()
    tmin = pd.Series(gard["tmin"].to_numpy(), index=days).rolling(3).mean()
    shown = summers["2020"][summers["2020"]["code"] == "30"].set_index("day")
    # Rounded to the published resolution (0.01 °C) before the thresholds: occidata.compute.resolution.
    np.testing.assert_allclose(shown["ibmx"], to_resolution(tmax.reindex(shown.index).to_numpy(), 2), rtol=1e-12)
    np.testing.assert_allclose(shown["ibmn"], to_resolution(tmin.reindex(shown.index).to_numpy(), 2), rtol=1e-12)


def test_real_summer_map_and_table_hold_the_same_levels(summers):
    page = heat.view(summers["2018"], day="2018-08-04", shapes=geo.department_shapes())
    shown = table(page, "Niveau et indicateurs par département")
    levels = dict(zip(shown["Département"], shown["Niveau"]))
    assert len(levels) == 13 and shape_levels(page) == levels
    assert levels["Hérault"] == "Seuils de canicule atteints"


def test_real_summer_has_no_demo_banner_says_its_period_and_credits_meteo_france(summers):
    page = heat.view(summers["2019"], today="2026-01-01")
    top = top_of(page)
    assert DEMO not in text(page)
    assert "Archives : été 2019, du 1er juin 2019 au 15 septembre 2019" in top
    credits = credits_of(page)
    assert CREDITS in credits and 'data-entry="temperature_departments_daily"' in credits
    assert 'data-origin="real"' in credits and "données réelles" in credits
    assert "Météo-France" in credits and "Licence Ouverte 2.0" in credits
    assert "Source : catalogue Occidata, jeu « temperature_departments_daily »" in text(page)
    assert "moyenne de ses stations" in text(page) and "mailles de 8 km" not in text(page)
    assert page.rstrip().endswith("</section></div>")  # the sources end the page


def test_default_heat_page_is_the_grid_demo_with_its_credits(env):
    page = heat.view(heat.load())
    assert DEMO in top_of(page)
    credits = credits_of(page)
    assert 'data-entry="weather_daily"' in credits and "données synthétiques de démonstration" in credits
    assert "Archives" not in text(page)


def test_heat_periods_all_in_one_page(env):
    periods = heat.by_period()
    assert periods.opening == "recent"
    assert "Niveau par département le 13 août 2023" in heat.view(periods)  # the grid's latest day
    summer = heat.view(periods, period=2019, day="2019-06-29")
    assert "Niveau par département le 29 juin 2019" in summer
    assert heat.view(periods, day="2019-06-29") == summer  # the day says its period (the static page)
    with pytest.raises(ValueError, match="période '2017' inconnue pour la page Chaleur"):
        heat.load(period="2017")
    with pytest.raises(ValueError, match="day=2023-08-13 is not in the data of the period '2019'"):
        heat.view(periods, period="2019", day="2023-08-13")


def test_heat_static_page_offers_the_real_heat_waves(env):
    views = heat.static_views(heat.by_period(), "fr")
    keys = [o.key for o in views.choices[0].options]
    assert views.default == {"day": "2023-08-13"}
    assert {"2018-08-05", "2019-07-24", "2019-06-29", "2020-08-10"} <= set(keys)
    combo = {"day": "2019-06-29"}
    page = heat.view(heat.by_period(), shapes=[], **views.values(combo))
    assert "Niveau par département le 29 juin 2019" in page and DEMO not in page
    assert 'data-entry="temperature_departments_daily"' in page


def test_heat_live_page_switches_to_a_real_summer(env, monkeypatch):
    shown = []
    monkeypatch.setattr(layout, "display", lambda obj: shown.append(obj))
    heat.show()
    live = shown[0].dashboard
    assert list(live.controls) == ["period", "day", "department"]
    assert live.controls["period"].description == "Période"
    assert dict(live.controls["period"].options)["Été 2019 (Météo-France)"] == "2019"
    pages = []
    original = live.refresh
    monkeypatch.setattr(live, "refresh", lambda: pages.append(original()) or pages[-1])
    live.controls["period"].value = "2019"
    assert pages and not any("Données indisponibles" in p for p in pages)  # no error while the controls follow
    assert live.controls["day"].value == pd.Timestamp("2019-07-24")
    assert min(v for _, v in live.controls["day"].options) == pd.Timestamp("2019-06-01")
    live.controls["day"].value = pd.Timestamp("2019-06-28")
    live.controls["department"].value = "34"
    body = live.output.outputs[0]["data"]["text/html"]
    assert "41.17" in body and CREDITS in body and "Météo-France" in body
    assert DEMO not in live.top.outputs[0]["data"]["text/html"]
    live.language.value = "en"  # the other language keeps the summer and the day
    assert live.controls["period"].value == "2019" and live.controls["day"].value == pd.Timestamp("2019-06-28")
    assert "Sources and licences" in live.output.outputs[0]["data"]["text/html"]


# --------------------------------------------------------------------------- air: March 2020


def file_value(station: str, pollutant: str, start_utc: str) -> str:
    """The value ATMO's export gives, read straight from the provider's file."""
    with ATMO_72H.open(encoding="utf-8-sig", newline="") as handle:
        found = [row["valeur"] for row in csv.DictReader(handle) if row["code_station"] == station
                 and row["nom_poll"] == pollutant and row["date_debut"] == start_utc]
    assert len(found) == 1, found
    return found[0]


def test_episode_shows_atmos_real_hourly_no2(episode):
    # Toulouse-Périphérique Trafic, NO2, 14 March 2020 23:00 UTC = 15 March 00:00 UTC+1: 94.4 µg/m³ in the
    # file (checked by hand), 08:00 UTC = 09:00 UTC+1: 19.9 µg/m³.
    assert file_value("FR50048", "NO2", "2020-03-14T23:00:00.000Z") == "94.4"
    assert file_value("FR50048", "NO2", "2020-03-15T08:00:00.000Z") == "19.9"
    page = air.view(episode, pollutant="NO2", day="2020-03-16", station="FR50048")
    caption = "Concentrations horaires (µg/m³) à Toulouse-Périphérique Trafic"
    hours = table(page, caption).set_index("Heure (UTC+1)")
    assert list(hours.columns) == ["Dioxyde d'azote (NO₂)"] and len(hours) == 48
    assert hours.loc["15/03/2020", "Dioxyde d'azote (NO₂)"] == "94.4"
    assert hours.loc["15/03/2020 09:00", "Dioxyde d'azote (NO₂)"] == "19.9"
    # An hour the export does not have stays empty: Montpellier - Pompignane, 15 March 04:00 UTC.
    gap = table(air.view(episode, pollutant="NO2", day="2020-03-16", station="FR50203"),
                "Concentrations horaires (µg/m³) à Montpellier - Pompignane Trafic").set_index("Heure (UTC+1)")
    assert gap.loc["15/03/2020 05:00", "Dioxyde d'azote (NO₂)"] == "—"
    assert gap.loc["15/03/2020 04:00", "Dioxyde d'azote (NO₂)"] == "18.1"
    assert file_value("FR50203", "NO2", "2020-03-15T03:00:00.000Z") == "18.1"


def test_episode_keeps_the_index_pollutants_and_its_stations(episode):
    assert episode.period == "2020-03" and not episode.demo
    assert set(episode.values) == {"NO2", "O3", "PM10", "PM2.5", "SO2"}  # not H2S, NO, NOx
    with ATMO_72H.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["nom_poll"] for r in rows} >= {"H2S", "NO", "NOX as NO2"}
    assert {r["unite"] for r in rows} == {"ug.m-3"}  # the page's µg/m³
    measuring = {r["code_station"] for r in rows if r["nom_poll"] in {"NO2", "O3", "PM10", "PM2.5", "SO2"}
                 and r["valeur"] != ""}
    assert set(episode.stations.index) == measuring
    # Whole ATMO days (UTC+1) only have an index: 15 and 16 March.
    assert episode.days_with_index() == [pd.Timestamp("2020-03-15"), pd.Timestamp("2020-03-16")]
    assert episode.latest_day() == pd.Timestamp("2020-03-16")


def test_episode_map_and_table_carry_the_same_classes(episode):
    page = air.view(episode, day="2020-03-15")
    titles = sorted(html_lib.unescape(t) for t in
                    re.findall(r'class="od-point"[^>]*><title>(.*?)</title>', page))
    stations = air.station_table(episode, "2020-03-15")
    expected = sorted(f"{r.station_name} ({r.commune}) : {r.label} ({r.index})" for r in stations.itertuples())
    assert titles == expected and len(titles) == len(episode.stations)


def test_episode_has_no_demo_banner_and_credits_atmo_under_odbl(episode):
    page = air.view(episode, today="2026-01-01")
    assert DEMO not in text(page)
    assert "Archives : du 14 au 17 mars 2020, début du premier confinement" in top_of(page)
    credits = credits_of(page)
    assert CREDITS in credits and "© ATMO Occitanie" in html_lib.unescape(credits)
    assert "ODbL 1.0" in credits and "partage à l&#x27;identique" in credits
    assert "données réelles du 14 mars 2020 au 17 mars 2020" in credits
    assert "valeurs de démonstration" not in text(page)


def test_default_air_page_is_the_recent_demo_with_its_credits(env):
    data = air.load()
    assert data.period == "recent" and data.days[0] > pd.Timestamp("2020-03-31")  # the episode is not mixed in
    page = air.view(data)
    assert DEMO in top_of(page) and CREDITS in credits_of(page)
    assert "valeurs de démonstration générées par occidata" in text(page)
    with pytest.raises(ValueError, match="période 'mars' inconnue pour la page Qualité de l'air"):
        air.load(period="mars")


def test_air_periods_in_one_page_and_on_the_static_page(env):
    periods = air.by_period()
    assert "Indice ATMO par station, 16/03/2020" in air.view(periods, period="2020-03")
    assert air.view(periods, day="2020-03-15") == air.view(periods, period="2020-03", day="2020-03-15")
    views = air.static_views(periods, "fr")
    days = {o.key for o in views.choices[1].options}
    assert {"2020-03-15", "2020-03-16"} <= days and views.default["day"] == "2024-01-07"
    page = air.view(periods, **views.values({"pollutant": "NO2", "day": "2020-03-16"}))
    assert "Sous-indice Dioxyde d'azote (NO₂) par station, 16/03/2020" in html_lib.unescape(page)
    assert DEMO not in page


def test_air_live_page_switches_to_the_real_episode(env, monkeypatch):
    shown = []
    monkeypatch.setattr(layout, "display", lambda obj: shown.append(obj))
    air.show()
    live = shown[0].dashboard
    assert list(live.controls) == ["period", "pollutant", "day", "station"]
    pages = []
    original = live.refresh
    monkeypatch.setattr(live, "refresh", lambda: pages.append(original()) or pages[-1])
    live.controls["period"].value = "2020-03"
    assert pages and not any("Données indisponibles" in p for p in pages)
    assert live.controls["day"].value == pd.Timestamp("2020-03-16")
    assert len(live.controls["station"].options) == 42
    live.controls["pollutant"].value = "NO2"
    live.controls["day"].value = pd.Timestamp("2020-03-16")
    live.controls["station"].value = "FR50048"
    body = live.output.outputs[0]["data"]["text/html"]
    assert "<td>94.4</td>" in body and "© ATMO Occitanie" in html_lib.unescape(body)
    assert DEMO not in live.top.outputs[0]["data"]["text/html"]


# --------------------------------------------------------------------------- a build without the real files


@pytest.fixture(scope="module")
def without_real_files(tiny_data_dir, tmp_path_factory):
    """The tiny data with the two entries built from their generators alone (no provider's export)."""
    import shutil

    from occidata.datasets.build import build_all

    base = tmp_path_factory.mktemp("no-real-heat-air")
    data_dir = base / "data"
    shutil.copytree(tiny_data_dir, data_dir, symlinks=True)
    build_all("tiny", data_dir, only=["air_quality_hourly", "temperature_departments_daily"],
              real_data_dir=base / "no-real-exports", progress=lambda line: None)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OCCIDATA_DATA_DIR", str(data_dir))
        mp.setenv("OCCIDATA_STATE_DIR", str(base / "state"))
        mp.delenv("OCCIDATA_ACCESS_LEVELS", raising=False)
        mp.delenv("OCCIDATA_DASHBOARDS__TILES_URL", raising=False)
        yield data_dir


def test_without_atmos_export_the_episode_is_not_offered_and_nothing_goes_to_stderr(without_real_files, capsys):
    periods = air.by_period()
    with pytest.raises(ValueError, match="aucune mesure du 14 au 17 mars 2020"):
        air.load(period="2020-03")
    assert periods.available() == ("recent",)
    assert "period" not in air.controls(periods, "fr")
    views = air.static_views(periods, "fr")
    assert all(not o.key.startswith("2020") for o in views.choices[1].options)
    # Anything on stderr would make the publication gate refuse the whole snapshot.
    assert capsys.readouterr().err == ""


def test_a_synthetic_summer_is_called_demonstration_data(without_real_files):
    periods = heat.by_period()
    assert periods.available() == ("recent", "2019")  # the generator makes June-August 2019 only
    page = heat.view(periods, period="2019")
    assert DEMO in top_of(page)
    credits = credits_of(page)
    assert 'data-entry="temperature_departments_daily"' in credits and 'data-origin="synthetic"' in credits
