"""Dashboard "qualite-air": the ATMO index per station and commune, the last 48 hours, health advice.

The ATMO index (arrêté du 10 juillet 2020) is computed by :func:`occidata.compute.atmo_index`
for every station and every whole day of the data, days counted in UTC+1 as the curated
notebook ``air_quality/daily_report`` does. "Today" is the latest day for which at least one
station has an index.

Two periods are offered: the recent days (the default), and ATMO Occitanie's real hourly values
of 14–17 March 2020, the start of the first lockdown (the real part of the mixed entry
``air_quality_hourly``). Each page ends with its sources and licence
(:func:`occidata.dashboards.credits.credits`).

``load()`` reads the data (public entries only), ``view(data, ...)`` turns it into the page's
HTML (pure, tested without a kernel), ``show()`` puts the controls and the page in a notebook.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import compute
from . import BY_SLUG, explorer, geo, layout
from ..datasets import geography
from .credits import credits
from .data import demonstration, load_public
from .freshness import banner
from .periods import Periods
from .render import badge, escape, html_table, notice, page, svg_line_chart, svg_map
from .wording import count

__all__ = ["AirData", "load", "by_period", "view", "show", "controls", "period_of_day", "ATMO_COLOURS",
           "HEALTH_ADVICE", "PERIODS", "SLUG"]

SLUG = "qualite-air"
DATASET = "air_quality_hourly"
#: The periods offered: the recent days, or ATMO Occitanie's real hourly export of March 2020.
RECENT, EPISODE = "recent", "2020-03"
PERIODS = (RECENT, EPISODE)
DEFAULT_PERIOD = RECENT
#: The real episode's hours (UTC, end excluded): the export runs 14 March 2020 10:00 → 17 March 09:00.
EPISODE_START, EPISODE_END = pd.Timestamp("2020-03-14", tz="UTC"), pd.Timestamp("2020-03-18", tz="UTC")
TZ = "Etc/GMT-1"  # UTC+1 all year, as the daily report: an ATMO day runs 00:00-24:00 UTC+1
OVERALL = "ATMO"  # the pollutant selector's value for the overall index
CHART_HOURS = 48

# The ATMO palette (0 = no data); every colour is shown with its class name in text.
ATMO_COLOURS = ("#DDDDDD", "#50F0E6", "#50CCAA", "#F0E641", "#FF5050", "#960032", "#872181")

POLLUTANT_NAMES = {
    "fr": {"NO2": "Dioxyde d'azote (NO₂)", "O3": "Ozone (O₃)", "PM10": "Particules PM10",
           "PM2.5": "Particules fines PM2,5", "SO2": "Dioxyde de soufre (SO₂)"},
    "en": {"NO2": "Nitrogen dioxide (NO₂)", "O3": "Ozone (O₃)", "PM10": "Particulate matter PM10",
           "PM2.5": "Fine particulate matter PM2.5", "SO2": "Sulphur dioxide (SO₂)"},
}

# Health advice per ATMO class 1..6, adapted from the recommendations published with the index
# (ATMO France, ministère chargé de la santé); index 0 is "no data".
HEALTH_ADVICE = {
    "fr": (
        "Pas d'indice ce jour pour cette station : pas assez de mesures.",
        "Qualité de l'air bonne : profitez de vos activités habituelles en plein air.",
        "Qualité de l'air moyenne : pas de changement nécessaire ; les personnes sensibles "
        "peuvent ressentir une gêne légère.",
        "Personnes sensibles ou vulnérables : réduisez les activités physiques intenses en plein air. "
        "Pour les autres, pas de changement, sauf en cas de gêne.",
        "Personnes sensibles ou vulnérables : évitez les activités physiques intenses en plein air. "
        "Tout le monde : réduisez-les. En cas de gêne respiratoire ou cardiaque, consultez un médecin "
        "ou un pharmacien.",
        "Personnes sensibles ou vulnérables : évitez les activités physiques en plein air et limitez "
        "les sorties. Tout le monde : évitez les activités physiques intenses en plein air.",
        "Tout le monde : évitez les activités physiques en plein air. Personnes sensibles ou "
        "vulnérables : restez à l'intérieur autant que possible. Suivez les consignes des autorités.",
    ),
    "en": (
        "No index today at this station: not enough measurements.",
        "Good air quality: enjoy your usual outdoor activities.",
        "Average air quality: no change needed; sensitive people may feel slight discomfort.",
        "Sensitive or vulnerable people: reduce intense outdoor physical activity. "
        "Others: no change, unless you feel discomfort.",
        "Sensitive or vulnerable people: avoid intense outdoor physical activity. "
        "Everyone: reduce it. If you have breathing or heart trouble, see a doctor or a pharmacist.",
        "Sensitive or vulnerable people: avoid outdoor physical activity and limit going out. "
        "Everyone: avoid intense outdoor physical activity.",
        "Everyone: avoid outdoor physical activity. Sensitive or vulnerable people: stay indoors as "
        "much as possible. Follow the authorities' instructions.",
    ),
}

TEXT = {
    "fr": {
        "updated_day": "Indice du {day}",
        "overall": "Indice ATMO (tous polluants)",
        "pollutant": "Polluant",
        "day": "Jour",
        "station": "Station (courbe)",
        "map_h2": "Carte des stations",
        "map_title": "Indice ATMO par station, {day}",
        "map_sub_title": "Sous-indice {pollutant} par station, {day}",
        "map_desc": "Carte de l'Occitanie : {n} stations colorées selon leur classe ; "
                    "les mêmes valeurs sont dans le tableau qui suit.",
        "station_caption": "{what}",
        "commune_h2": "Par commune",
        "commune_caption": "Indice le plus élevé parmi les stations de chaque commune, {day}",
        "col_station": "Station", "col_commune": "Commune", "col_department": "Département",
        "col_index": "Classe (1 à 6)", "col_label": "Qualificatif", "col_responsible": "Polluant responsable",
        "col_stations": "Stations", "col_time": "Heure (UTC+1)",
        "chart_h2": "Les 48 dernières heures",
        "chart_title": "{what} à {station}, 48 heures jusqu'au {day}",
        "chart_desc": "Concentrations horaires en µg/m³ ; les valeurs sont dans le tableau qui suit.",
        "chart_caption": "Concentrations horaires (µg/m³) à {station}",
        "threshold": "Seuil de la classe « Mauvais » ({stat} journalier)",
        "stat_max": "maximum", "stat_mean": "moyenne",
        "advice_h2": "Conseils de santé",
        "advice_intro": "Ce que chaque classe de l'indice ATMO veut dire pour vos activités :",
        "worst": "Indice le plus élevé le {day} :",
        "worst_where": "à {stations}.",
        "counts": "{stations} avec un indice ce jour :",
        "station_word": ("station", "stations"),
        "no_index": "Aucune station n'a d'indice ce jour.",
        "source": "Source : ATMO Occitanie. Indice ATMO calculé selon l'arrêté du 10 juillet 2020 ; "
                  "heures en UTC+1.",
        "source_demo": "Source : ATMO Occitanie pour les stations ; valeurs de démonstration générées par "
                       "occidata. "
                       "Indice ATMO calculé selon l'arrêté du 10 juillet 2020 ; heures en UTC+1.",
        "all_stations": "toutes",
        "period": "Période",
        "period_recent": "Derniers jours",
        "period_episode": "Épisode réel de mars 2020 (ATMO Occitanie)",
        "episode_note": "Archives : du 14 au 17 mars 2020, début du premier confinement, mesures horaires réelles "
                        "d'ATMO Occitanie. Une heure sans mesure reste vide ; un jour incomplet (le 14 et le "
                        "17) n'a pas d'indice.",
    },
    "en": {
        "updated_day": "Index of {day}",
        "overall": "ATMO index (all pollutants)",
        "pollutant": "Pollutant",
        "day": "Day",
        "station": "Station (chart)",
        "map_h2": "Map of the stations",
        "map_title": "ATMO index per station, {day}",
        "map_sub_title": "{pollutant} sub-index per station, {day}",
        "map_desc": "Map of Occitanie: {n} stations coloured by their class; "
                    "the same values are in the table below.",
        "station_caption": "{what}",
        "commune_h2": "By commune",
        "commune_caption": "Highest index among each commune's stations, {day}",
        "col_station": "Station", "col_commune": "Commune", "col_department": "Department",
        "col_index": "Class (1 to 6)", "col_label": "Category", "col_responsible": "Responsible pollutant",
        "col_stations": "Stations", "col_time": "Time (UTC+1)",
        "chart_h2": "The last 48 hours",
        "chart_title": "{what} at {station}, 48 hours up to {day}",
        "chart_desc": "Hourly concentrations in µg/m³; the values are in the table below.",
        "chart_caption": "Hourly concentrations (µg/m³) at {station}",
        "threshold": "Threshold of the class \"Poor\" (daily {stat})",
        "stat_max": "maximum", "stat_mean": "mean",
        "advice_h2": "Health advice",
        "advice_intro": "What each class of the ATMO index means for your activities:",
        "worst": "Highest index on {day}:",
        "worst_where": "at {stations}.",
        "counts": "{stations} with an index on this day:",
        "station_word": ("station", "stations"),
        "no_index": "No station has an index on this day.",
        "source": "Source: ATMO Occitanie. ATMO index computed as set by the French arrêté of 10 July 2020; "
                  "times in UTC+1.",
        "source_demo": "Source: ATMO Occitanie for the stations; demonstration values generated by occidata. "
                       "ATMO index computed as set by the French arrêté of 10 July 2020; times in UTC+1.",
        "all_stations": "all",
        "period": "Period",
        "period_recent": "Last days",
        "period_episode": "Real episode of March 2020 (ATMO Occitanie)",
        "episode_note": "Archives: 14 to 17 March 2020, the start of the first lockdown, real hourly measurements "
                        "of ATMO Occitanie. An hour without a measurement stays empty; an incomplete day (the "
                        "14th and the 17th) has no index.",
    },
}


# --------------------------------------------------------------------------- data


@dataclass
class AirData:
    """What the page needs, computed once per kernel.

    stations : one row per station (index ``station_code``): ``station_name``, ``commune``,
        ``department``, ``insee_code``, ``longitude``, ``latitude``.
    hours : naive UTC+1 hours covering whole days; ``values`` : pollutant -> (stations, hours).
    days : the days of ``hours``; ``atmo`` : the ATMO index, arrays (stations, days).
    """

    stations: pd.DataFrame
    hours: pd.DatetimeIndex
    values: dict
    days: pd.DatetimeIndex
    atmo: compute.IndexResult
    shapes: list = field(default_factory=list)
    tiles_url: str | None = None
    demo: bool = False  # demonstration data (see occidata.dashboards.data.demonstration)
    period: str = RECENT  # one of PERIODS

    @property
    def pollutants(self) -> tuple:
        """The pollutants measured, in the index's order."""
        return tuple(self.atmo.pollutants)

    def days_with_index(self) -> list[pd.Timestamp]:
        """Days on which at least one station has an index, oldest first."""
        has = (np.asarray(self.atmo.index) > 0).any(axis=0)
        return [d for d, ok in zip(self.days, has) if ok]

    def latest_day(self) -> pd.Timestamp:
        """"Today": the latest day with an index at some station."""
        days = self.days_with_index()
        if not days:
            raise ValueError("no day of the air quality data has an ATMO index")
        return days[-1]


def prepare(raw: pd.DataFrame, shapes: list | None = None, tiles_url: str | None = None,
            demo: bool = False, period: str = RECENT) -> AirData:
    """:class:`AirData` from rows of ``air_quality_hourly`` (hourly µg/m³ values of the index's
    pollutants are kept: ATMO's exports also hold H2S, NO and NOx, which the index does not use,
    and a station measuring only those has no index, so it is left out).

    Communes and departments are named as the geography reference writes them (ATMO writes
    "NIMES", "HERAULT"): :func:`occidata.datasets.geography.place_names`.
    """
    hourly = raw[(raw["metric"] == "hourly") & (raw["unit"] == "µg/m³")
                 & raw["pollutant"].isin(compute.air_indices.POLLUTANTS)].copy()
    if hourly.empty:
        raise ValueError("no hourly values in µg/m³ of the index's pollutants in air_quality_hourly")
    hourly["time"] = hourly["time_start"].dt.tz_convert(TZ).dt.tz_localize(None)
    stations = (hourly.drop_duplicates("station_code").set_index("station_code")
                [["station_name", "commune", "department", "insee_code", "longitude", "latitude"]].sort_index())
    named = [geography.place_names(code, commune) for code, commune in zip(stations["insee_code"], stations["commune"])]
    stations["commune"] = [commune for commune, _ in named]
    stations["department"] = [dept or str(given) for (_, dept), given in zip(named, stations["department"])]
    first, last = hourly["time"].min().normalize(), hourly["time"].max().normalize()
    hours = pd.date_range(first, last + pd.Timedelta(hours=23), freq="h")
    table = hourly.pivot_table(index=["pollutant", "station_code"], columns="time", values="value",
                               aggfunc="mean", observed=True)
    present = set(table.index.get_level_values(0))
    values = {p: table.loc[p].reindex(index=stations.index, columns=hours).to_numpy(dtype="float64")
              for p in compute.air_indices.POLLUTANTS if p in present}
    atmo = compute.atmo_index(values)
    days = pd.date_range(first, last, freq="D")
    return AirData(stations, hours, values, days, atmo, list(shapes or []), tiles_url, demo, period)


def period_key(period) -> str:
    """``period`` checked: "recent" or "2020-03" (ATMO's real episode). Raises ValueError (in
    French, for the researcher who asked) for a period the page does not offer."""
    key = str(period).strip()
    if key not in PERIODS:
        raise ValueError(f"période {period!r} inconnue pour la page Qualité de l'air : choisir {', '.join(PERIODS)}")
    return key


def period_of_day(day) -> str:
    """The period showing ``day`` (a day in UTC+1, as the page counts them): the real episode
    for 14–17 March 2020, else the recent days."""
    day = pd.Timestamp(day).normalize()
    if day.tzinfo is not None:
        day = day.tz_localize(None)
    first = EPISODE_START.tz_convert(TZ).tz_localize(None).normalize()
    last = (EPISODE_END - pd.Timedelta(hours=1)).tz_convert(TZ).tz_localize(None).normalize()
    return EPISODE if first <= day <= last else RECENT


def load(period: str = DEFAULT_PERIOD, **params) -> AirData:
    """Read ``air_quality_hourly`` (public level only; ``params`` as for the catalogue, e.g.
    ``year=2024``) and compute the ATMO index of every station and day of ``period``: "recent"
    (every hour outside the real episode) or "2020-03" (ATMO Occitanie's real hourly values of
    14–17 March 2020).

    Raises :class:`occidata.dashboards.data.NotPublicError` for a non-public entry, ValueError for
    an unknown period or one without data (the real episode when the build had no ATMO export).
    """
    period = period_key(period)
    if period == EPISODE:
        raw = load_public(DATASET, start=EPISODE_START, end=EPISODE_END, **params)
        if raw.empty:
            raise ValueError(f"{DATASET} n'a aucune mesure du 14 au 17 mars 2020 : l'export horaire réel "
                             "d'ATMO Occitanie n'a pas été intégré à ces données")
    else:
        raw = load_public(DATASET, **params)
        raw = raw[(raw["time_start"] < EPISODE_START) | (raw["time_start"] >= EPISODE_END)]
    data = prepare(raw, geo.department_shapes(), geo.tiles_url(), period=period)
    data.demo = demonstration(DATASET, day=data.days[-1])
    return data


def by_period(opening: str = DEFAULT_PERIOD) -> Periods:
    """Every period of the page, each loaded through :func:`load` at first need; the page opens on
    ``opening``."""
    return Periods(lambda key: load(period=key), PERIODS, period_key(opening))


# --------------------------------------------------------------------------- view


def _day_column(data: AirData, day) -> int:
    day = pd.Timestamp(day).normalize()
    if day.tzinfo is not None:
        day = day.tz_localize(None)
    matches = np.nonzero(data.days == day)[0]
    if not len(matches):
        raise ValueError(f"day={day:%Y-%m-%d} is not in the data ({data.days[0]:%Y-%m-%d} .. {data.days[-1]:%Y-%m-%d})")
    return int(matches[0])


def station_table(data: AirData, day, pollutant: str = OVERALL, lang: str = "fr") -> pd.DataFrame:
    """One row per station: ``station_code``, ``station_name``, ``commune``, ``department``,
    ``longitude``, ``latitude``, ``index`` (0..6, the overall index or ``pollutant``'s sub-index),
    ``label``, ``responsible`` (the pollutant setting the overall index), ``colour``."""
    col = _day_column(data, day)
    if pollutant == OVERALL:
        index = np.asarray(data.atmo.index)[:, col].astype(int)
    elif pollutant in data.pollutants:
        index = np.asarray(data.atmo.sub_indices[pollutant])[:, col].astype(int)
    else:
        raise ValueError(f"pollutant={pollutant!r}; use {OVERALL} or one of {', '.join(data.pollutants)}")
    worst = np.asarray(data.atmo.worst)[:, col]
    frame = data.stations.reset_index()[["station_code", "station_name", "commune", "department",
                                         "longitude", "latitude"]].copy()
    frame["index"] = index
    frame["label"] = compute.label(index, lang, scheme="atmo")
    frame["responsible"] = [data.pollutants[w] if w >= 0 else None for w in worst]
    frame["colour"] = [ATMO_COLOURS[i] for i in index]
    return frame


def commune_table(stations: pd.DataFrame, lang: str = "fr") -> pd.DataFrame:
    """The highest index among each commune's stations (``station_table`` rows in)."""
    grouped = (stations.groupby(["commune", "department"], sort=True)
               .agg(index=("index", "max"), stations=("station_name", lambda s: ", ".join(sorted(s))))
               .reset_index())
    grouped["index"] = grouped["index"].astype(int)
    grouped["label"] = compute.label(grouped["index"].to_numpy(), lang, scheme="atmo")
    return grouped


def _map_section(data: AirData, table: pd.DataFrame, what: str, day_text: str, lang: str) -> str:
    t = TEXT[lang]
    points = pd.DataFrame({
        "lon": table["longitude"], "lat": table["latitude"], "colour": table["colour"],
        "label": [f"{n} ({c}) : {lab} ({i})" if lang == "fr" else f"{n} ({c}): {lab} ({i})"
                  for n, c, lab, i in zip(table["station_name"], table["commune"], table["label"], table["index"])],
        "text": [str(i) if i > 0 else "–" for i in table["index"]],
    })
    svg = svg_map(points, shapes=data.shapes, title=what, description=t["map_desc"].format(n=len(table)),
                  tiles_url=data.tiles_url)
    # The class right after the name, so that it stays on a phone's screen.
    columns = {"station_name": t["col_station"], "label": t["col_label"], "index": t["col_index"],
               "commune": t["col_commune"], "department": t["col_department"]}
    if "responsible" in table and table["responsible"].notna().any():
        columns["responsible"] = t["col_responsible"]
    caption = t["station_caption"].format(what=what)
    return (f"<h2>{escape(t['map_h2'])}</h2>{svg}{_legend(lang)}"
            + html_table(table, caption=caption, columns=columns, lang=lang))


def _legend(lang: str) -> str:
    labels = compute.label(np.arange(7), lang, scheme="atmo")
    items = "".join(f"<li>{badge(f'{i} — {labels[i]}' if i else labels[i], ATMO_COLOURS[i])}</li>"
                    for i in list(range(1, 7)) + [0])
    return f'<ul class="od-legend" style="list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.3rem">{items}</ul>'


def _headline(table: pd.DataFrame, day_text: str, lang: str) -> str:
    """What matters first: the day's worst class with its stations and advice, and how many
    stations are in each class."""
    t = TEXT[lang]
    with_index = table[table["index"] > 0]
    if with_index.empty:
        return notice(t["no_index"], "warning")
    worst = int(with_index["index"].max())
    label = compute.label(worst, lang, scheme="atmo")
    names = ", ".join(with_index.loc[with_index["index"] == worst, "station_name"])
    one, many = t["station_word"]
    labels = compute.label(np.arange(7), lang, scheme="atmo")
    per_class = "".join(f"<li>{badge(f'{i} — {labels[i]}', ATMO_COLOURS[i])} {escape(count(n, one, many, lang))}</li>"
                        for i, n in with_index["index"].value_counts().sort_index(ascending=False).items())
    return (f'<div class="od-headline"><p>{escape(t["worst"].format(day=day_text))} '
            f'<span class="od-figure">{badge(f"{worst} — {label}", ATMO_COLOURS[worst])}</span> '
            f'{escape(t["worst_where"].format(stations=names))}</p>'
            f'<p>{escape(t["counts"].format(stations=count(len(with_index), one, many, lang)))}</p>'
            f'<ul class="od-legend" style="list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.3rem">'
            f"{per_class}</ul><p>{escape(HEALTH_ADVICE[lang][worst])}</p></div>")


def _chart_section(data: AirData, day, station: str, pollutant: str, lang: str) -> str:
    t = TEXT[lang]
    end = pd.Timestamp(day).normalize() + pd.Timedelta(days=1)
    window = (data.hours >= end - pd.Timedelta(hours=CHART_HOURS)) & (data.hours < end)
    row = data.stations.index.get_loc(station)
    name = data.stations.loc[station, "station_name"]
    shown = data.pollutants if pollutant == OVERALL else (pollutant,)
    series = [{"label": POLLUTANT_NAMES[lang][p], "x": data.hours[window], "y": data.values[p][row, window]}
              for p in shown if np.isfinite(data.values[p][row, window]).any()]
    thresholds = []
    if pollutant != OVERALL:
        scheme = compute.air_indices.index_scheme("atmo")
        stat = t["stat_max"] if scheme["statistic"][pollutant] == "max" else t["stat_mean"]
        thresholds = [{"value": scheme["limits"][pollutant][2], "label": t["threshold"].format(stat=stat)}]
    what = t["overall"] if pollutant == OVERALL else POLLUTANT_NAMES[lang][pollutant]
    day_text = _day_text(day, lang)
    svg = svg_line_chart(series, title=t["chart_title"].format(what=what, station=name, day=day_text),
                         description=t["chart_desc"], y_label="µg/m³", thresholds=thresholds)
    frame = pd.DataFrame({"time": data.hours[window]})
    columns = {"time": t["col_time"]}
    for s in series:
        frame[s["label"]] = np.round(np.asarray(s["y"], dtype=float), 1)
        columns[s["label"]] = s["label"]
    table = html_table(frame, caption=t["chart_caption"].format(station=name), columns=columns, lang=lang)
    return f"<h2>{escape(t['chart_h2'])}</h2>{svg}{table}"


def _advice_section(lang: str) -> str:
    t = TEXT[lang]
    labels = compute.label(np.arange(7), lang, scheme="atmo")
    items = "".join(f"<li>{badge(f'{i} — {labels[i]}', ATMO_COLOURS[i])} {escape(HEALTH_ADVICE[lang][i])}</li>"
                    for i in range(1, 7))
    return (f"<h2>{escape(t['advice_h2'])}</h2><p>{escape(t['advice_intro'])}</p>"
            f'<ul class="od-advice" style="padding-left:1rem">{items}</ul>')


def _day_text(day, lang: str) -> str:
    return pd.Timestamp(day).strftime("%d/%m/%Y" if lang == "fr" else "%Y-%m-%d")


def default_station(data: AirData, day) -> str:
    """The station with the highest overall index on ``day`` (first by code on a tie)."""
    col = _day_column(data, day)
    index = np.asarray(data.atmo.index)[:, col]
    return str(data.stations.index[int(np.argmax(index))])


def _data_of(data: "AirData | Periods", period, day) -> AirData:
    """The data a view shows: ``data`` itself, or the period asked of :class:`Periods` (None: the
    period holding ``day``, else the opening one)."""
    if isinstance(data, Periods):
        if period is None:
            period = data.opening if day is None else period_of_day(day)
        return data(period_key(period))
    if period is not None and period_key(period) != data.period:
        raise ValueError(f"period={period!r}: these data are of the period {data.period!r}")
    return data


def view(data: "AirData | Periods", *, lang: str = "fr", period: str | None = None, pollutant: str = OVERALL,
         day=None, station: str | None = None, today=None) -> str:
    """The page's HTML for ``day`` (default: the latest day with an index).

    data : what :func:`load` returns, or every period (:func:`by_period`). period : with
        :func:`by_period`'s periods, "recent" or "2020-03" (None: the period holding ``day``, else
        the opening one); with one period's data, None or its own period.

    today : the date the banner compares the data with (default: today in France).

    pollutant : ``"ATMO"`` for the overall index, or one pollutant for its sub-index on the map and
        its concentrations on the chart. station : the station of the 48-hour chart (default: the
        one with the highest index that day).
    """
    t = TEXT[lang]
    data = _data_of(data, period, day)
    day = data.latest_day() if day is None else pd.Timestamp(day)
    station = default_station(data, day) if station is None else station
    if station not in data.stations.index:
        raise ValueError(f"station={station!r} is not in the data")
    table = station_table(data, day, pollutant, lang)
    commune = commune_table(table, lang)
    day_text = _day_text(day, lang)
    if pollutant == OVERALL:
        what = t["map_title"].format(day=day_text)
    else:
        what = t["map_sub_title"].format(pollutant=POLLUTANT_NAMES[lang][pollutant], day=day_text)
        table = table.assign(responsible=None)
    body = "".join([
        _map_section(data, table, what, day_text, lang),
        f"<h2>{escape(t['commune_h2'])}</h2>",
        html_table(commune, caption=t["commune_caption"].format(day=day_text),
                   columns={"commune": t["col_commune"], "label": t["col_label"], "index": t["col_index"],
                            "department": t["col_department"], "stations": t["col_stations"]},
                   lang=lang),
        _chart_section(data, day, station, pollutant, lang),
        _advice_section(lang),
        f'<p class="od-source">{escape(t["source_demo" if data.demo else "source"])}</p>',
        credits([DATASET], lang),
    ])
    title = BY_SLUG[SLUG].title_fr if lang == "fr" else BY_SLUG[SLUG].title_en
    return page(body, lang=lang, title=title, updated=pd.Timestamp(day),
                banner=banner(data.latest_day(), demo=data.demo, lang=lang, now=today),
                note=t["episode_note"] if data.period == EPISODE else None,
                headline=_headline(station_table(data, day, OVERALL, lang), day_text, lang))


def _live_view(data: Periods, *, period: str | None = None, pollutant: str = OVERALL, day=None,
               station: str | None = None, **options) -> str:
    """:func:`view` for the live page: while the period changes, its controls pass through values of
    the previous period (a day, a station, a pollutant it does not have), which give way to the new
    period's defaults."""
    if period is not None:
        shown = data(period_key(period))
        if day is not None and pd.Timestamp(day) not in shown.days_with_index():
            day, station = None, None
        if station is not None and station not in shown.stations.index:
            station = None
        if pollutant != OVERALL and pollutant not in shown.pollutants:
            pollutant = OVERALL
    return view(data, period=period, pollutant=pollutant, day=day, station=station, **options)


# --------------------------------------------------------------------------- notebook


def _as_periods(data: "AirData | Periods") -> Periods:
    return data if isinstance(data, Periods) else Periods.of(data, data.period)


def _period_name(key: str, lang: str) -> str:
    return TEXT[lang]["period_recent" if key == RECENT else "period_episode"]


def _pollutant_options(data: AirData, lang: str) -> list[tuple[str, str]]:
    return [(TEXT[lang]["overall"], OVERALL)] + [(POLLUTANT_NAMES[lang][p], p) for p in data.pollutants]


def _day_options(data: AirData, lang: str) -> list[tuple[str, pd.Timestamp]]:
    return [(_day_text(d, lang), d) for d in reversed(data.days_with_index())]


def _station_options(data: AirData) -> list[tuple[str, str]]:
    return [(f"{row.station_name} ({row.commune})", code) for code, row in data.stations.iterrows()]


def controls(data: "AirData | Periods", lang: str = "fr") -> dict:
    """The page's controls, labelled in ``lang``: the period (when several can be read: recent
    days, the real episode of March 2020), pollutant, day and the chart's station; choosing a
    period offers its days and stations and selects its latest day."""
    import ipywidgets as widgets

    t = TEXT[lang]
    periods = _as_periods(data)
    data = periods()
    latest = data.latest_day()
    pollutant = widgets.Dropdown(options=_pollutant_options(data, lang), value=OVERALL, description=t["pollutant"])
    day = widgets.Dropdown(options=_day_options(data, lang), value=latest, description=t["day"])
    station = widgets.Dropdown(options=_station_options(data), value=default_station(data, latest),
                               description=t["station"])
    chosen = {"pollutant": pollutant, "day": day, "station": station}
    offered = periods.available()
    if len(offered) == 1:
        return chosen
    period = widgets.Dropdown(options=[(_period_name(key, lang), key) for key in offered],
                              value=periods.opening, description=t["period"])

    def offer(change) -> None:
        try:
            shown = periods(change["new"])
            latest = shown.latest_day()
        except Exception:  # noqa: BLE001 - the page, redrawn for this period, shows the notice
            return
        kept = pollutant.value if pollutant.value in shown.pollutants else OVERALL
        pollutant.options = _pollutant_options(shown, lang)
        pollutant.value = kept
        day.options = _day_options(shown, lang)
        day.value = latest
        station.options = _station_options(shown)
        station.value = default_station(shown, latest)

    period.observe(offer, names="value")
    return {"period": period, **chosen}


def defaults(data: "AirData | Periods") -> dict:
    """The values the page opens with (and the snapshot shows)."""
    periods = _as_periods(data)
    shown = periods()
    latest = shown.latest_day()
    values = {"pollutant": OVERALL, "day": latest, "station": default_station(shown, latest)}
    return values if len(periods.available()) == 1 else {"period": periods.opening, **values}


def static_views(data: "AirData | Periods", lang: str = "fr") -> explorer.StaticViews:
    """The static page's controls: the pollutant (those every period measures) and a day (every
    combination), the days being the last days of the recent period and those of the real episode
    (each day says its period: :func:`period_of_day`); the chart shows the day's station with the
    highest index. A period that cannot be read is left out (:meth:`Periods.available`)."""
    t = TEXT[lang]
    periods = _as_periods(data)
    shown, days = [], []
    for key in periods.available():
        one = periods(key)
        shown.append(one)
        days += one.days_with_index()[-explorer.STATIC_DAYS:]
    # Every combination is rendered: the pollutants that every period measures.
    names = [(t["overall"], OVERALL)] + [(POLLUTANT_NAMES[lang][p], p) for p in periods().pollutants
                                         if all(p in one.pollutants for one in shown)]
    pollutant = explorer.Choice("pollutant", t["pollutant"],
                                tuple(explorer.Option(code, name, code) for name, code in names), OVERALL)
    day = explorer.day_choice("day", t["day"], days, lang, default=periods().latest_day(), count=len(days))
    return explorer.StaticViews((pollutant, day), fixed={"station": None})


def show(lang: str = "fr", snapshot: bool = False, period: str = DEFAULT_PERIOD) -> None:
    """Display the dashboard in a notebook (Voilà): live widgets, or a static snapshot.

    ``period``: the period the page opens with ("recent", or "2020-03": ATMO's real episode); the
    page offers both, each read at first need."""
    opening = period_key(period)
    layout.show_with_data(SLUG, lambda: by_period(opening), _live_view, controls, defaults, lang=lang,
                          snapshot=snapshot, static=static_views)
