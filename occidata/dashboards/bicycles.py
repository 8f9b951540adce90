"""The bicycle view of the « Trafic et air » page: Montpellier Méditerranée Métropole's counters.

The catalogue entry ``bicycle_counts`` holds the bicycles counted each local day by the
Métropole's Eco-Counter counters (one row per counter, lane and day). Here:

- a day's count per counter is the sum of its lanes that day; a day the counter sent no count
  (null count quarantined at build, counter out of order, not yet installed) stays missing
  (NaN, shown « — »), never zero;
- a week (Monday to Sunday) has a total only when all its seven days were counted: a week with
  a missing day would read as a drop in cycling. Its mean per counted day is always given;
- the weeks overlapping the 2020 lockdowns (:data:`LOCKDOWNS`) are marked, so that the dips of
  spring 2020 read as what they are;
- the exports give each counter's serial and location, no name: a counter is named by its
  serial and where it stands from the centre of Montpellier (:func:`counter_label`).

``load()`` reads the data (public entry only), ``day_table``/``week_table`` are the values the
page shows (pure), ``map_section``/``chart_section`` their HTML; :mod:`occidata.dashboards.traffic`
puts them in the page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from ..datasets import calendar, geography
from . import geo
from .data import demonstration, load_public
from .render import escape, format_date, format_value, html_table, notice, svg_line_chart, svg_map
from .wording import count

__all__ = ["BicycleData", "prepare", "load", "day_table", "week_table", "counter_label", "default_day",
           "default_counter", "map_section", "chart_section", "notes", "ENTRY", "LOCKDOWNS", "COUNT_CLASSES"]

ENTRY = "bicycle_counts"
#: The national lockdowns of 2020 (first and last day), during which cycling fell.
LOCKDOWNS = tuple((pd.Timestamp(first), pd.Timestamp(last)) for _label, first, last in calendar.LOCKDOWNS)
WEEK_DAYS = 7
#: The map opens on the latest day on which the most counters counted, among this many last days.
DEFAULT_DAY_WINDOW = 28
#: Map colours by the day's count (lower bound, colour), light to dark; the count is also written.
COUNT_CLASSES = ((0, "#c6dbef"), (250, "#6baed6"), (750, "#2171b5"), (1500, "#08306b"))
NO_COUNT_COLOUR = "#ffffff"
CENTRE_COLOUR = "#000000"
CENTRE_KM = 0.3  # closer than this to the centre of Montpellier: "au centre"

_DIRECTIONS = {
    "fr": ("au nord", "au nord-est", "à l'est", "au sud-est", "au sud", "au sud-ouest", "à l'ouest", "au nord-ouest"),
    "en": ("north", "north-east", "east", "south-east", "south", "south-west", "west", "north-west"),
}

TEXT = {
    "fr": {
        "label": "Compteur {id} ({where})",
        "where": "{km} km {direction} du centre de Montpellier",
        "at_centre": "centre de Montpellier",
        "centre": "Centre de Montpellier (repère)",
        "centre_text": "Centre",
        "map_h2": "Carte des compteurs vélo de la Métropole",
        "map_title": "Vélos comptés le {day} par compteur, Montpellier Méditerranée Métropole",
        "map_desc": "Carte de Montpellier et de ses environs : {n} compteurs vélo, chacun avec le nombre de vélos "
                    "comptés ce jour écrit à côté (« — » : pas de comptage ce jour) et un point noir pour le centre "
                    "de Montpellier ; les mêmes valeurs sont dans le tableau qui suit.",
        "map_key": "Sur la carte : le nombre de vélos comptés ce jour est écrit à côté de chaque compteur ; la couleur "
                   "du point fonce avec ce nombre ({classes}) ; un point blanc marqué « — » est un compteur sans "
                   "comptage ce jour ; le point noir est le centre de Montpellier.",
        "class": "{low} et plus",
        "point_label": "{label} : {value}",
        "bicycle": ("vélo", "vélos"), "no_count": "pas de comptage ce jour",
        "day_caption": "Vélos comptés le {day} par compteur",
        "col_counter": "Compteur", "col_count": "Vélos comptés ce jour", "col_period": "Période de comptage",
        "col_lon": "Longitude", "col_lat": "Latitude",
        "period": "du {first} au {last}",
        "chart_h2": "{label} : vélos comptés semaine par semaine",
        "chart_title": "Vélos comptés par semaine, compteur {id}",
        "chart_desc": "Total des vélos comptés chaque semaine (lundi à dimanche) ; une semaine où un jour manque n'a "
                      "pas de total (trou dans la courbe) ; les valeurs sont dans le tableau qui suit.",
        "chart_y": "Vélos par semaine", "chart_series": "Vélos par semaine — {id}",
        "week_caption": "{label} : vélos comptés semaine par semaine",
        "col_week": "Semaine du", "col_total": "Vélos dans la semaine", "col_days": "Jours comptés",
        "col_mean": "Moyenne par jour compté", "col_lockdown": "Confinement", "yes": "oui", "no": "",
        "lockdowns": "Confinements de 2020 : du 17 mars au 10 mai, puis du 30 octobre au 15 décembre ; les semaines "
                     "concernées sont marquées « oui » dans le tableau.",
        "missing": "Un jour sans comptage (panne, relevé vide mis de côté à l'import, compteur pas encore posé) "
                   "reste vide (« — ») : il n'est jamais compté comme zéro, et une semaine n'a de total que si ses "
                   "sept jours ont été comptés.",
        "names": "Les exports de la Métropole ne donnent pas le nom des compteurs : chacun est désigné par son "
                 "numéro de série Eco-Counter et sa position par rapport au centre de Montpellier "
                 "(coordonnées dans le tableau).",
    },
    "en": {
        "label": "Counter {id} ({where})",
        "where": "{km} km {direction} of Montpellier centre",
        "at_centre": "Montpellier centre",
        "centre": "Montpellier centre (landmark)",
        "centre_text": "Centre",
        "map_h2": "Map of the Métropole's bicycle counters",
        "map_title": "Bicycles counted on {day} per counter, Montpellier Méditerranée Métropole",
        "map_desc": "Map of Montpellier and its surroundings: {n} bicycle counters, each with the bicycles counted "
                    "that day written beside it (\"—\": no count that day) and a black dot for Montpellier centre; "
                    "the same values are in the table below.",
        "map_key": "On the map: the bicycles counted that day are written beside each counter; the dot darkens with "
                   "that number ({classes}); a white dot marked \"—\" is a counter with no count that day; the "
                   "black dot is Montpellier centre.",
        "class": "{low} and more",
        "point_label": "{label}: {value}",
        "bicycle": ("bicycle", "bicycles"), "no_count": "no count that day",
        "day_caption": "Bicycles counted on {day} per counter",
        "col_counter": "Counter", "col_count": "Bicycles counted that day", "col_period": "Counting period",
        "col_lon": "Longitude", "col_lat": "Latitude",
        "period": "{first} to {last}",
        "chart_h2": "{label}: bicycles counted week by week",
        "chart_title": "Bicycles counted per week, counter {id}",
        "chart_desc": "Bicycles counted each week (Monday to Sunday); a week with a missing day has no total (a gap "
                      "in the line); the values are in the table below.",
        "chart_y": "Bicycles per week", "chart_series": "Bicycles per week — {id}",
        "week_caption": "{label}: bicycles counted week by week",
        "col_week": "Week of", "col_total": "Bicycles in the week", "col_days": "Days counted",
        "col_mean": "Mean per counted day", "col_lockdown": "Lockdown", "yes": "yes", "no": "",
        "lockdowns": "Lockdowns of 2020: 17 March to 10 May, then 30 October to 15 December; the weeks concerned "
                     "are marked \"yes\" in the table.",
        "missing": "A day without a count (out of order, empty record set aside at import, counter not yet "
                   "installed) stays empty (\"—\"): it never counts as zero, and a week has a total only when its "
                   "seven days were counted.",
        "names": "The Métropole's exports do not name the counters: each is designated by its Eco-Counter serial "
                 "number and its position from Montpellier centre (coordinates in the table).",
    },
}


# --------------------------------------------------------------------------- data


@dataclass
class BicycleData:
    """What the bicycle view needs, computed once per kernel.

    counters : one row per counter (index ``counter_id``, sorted): ``longitude``, ``latitude`` (the
        location most of its records give), ``first`` and ``last`` (its first and last day counted).
    days : every local day from the first count to the last (naive midnight).
    counts : bicycles counted, shape (counters, days); NaN where the counter sent no count.
    """

    counters: pd.DataFrame
    days: pd.DatetimeIndex
    counts: np.ndarray
    demo: bool = False  # demonstration data (see occidata.dashboards.data.demonstration)
    tiles_url: str | None = None

    def latest_day(self) -> pd.Timestamp:
        """The last day with a count."""
        return self.counted_days()[-1]

    def counted_days(self) -> pd.DatetimeIndex:
        """The days on which at least one counter counted, oldest first."""
        return self.days[np.isfinite(self.counts).any(axis=0)]


def _local_days(dates: pd.Series) -> pd.Series:
    """The table's ``date`` (the local day at 00:00, stored as UTC) as naive midnights."""
    stamps = pd.to_datetime(dates)
    if stamps.dt.tz is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return stamps.dt.normalize()


def prepare(rows: pd.DataFrame, demo: bool = False, tiles_url: str | None = None) -> BicycleData:
    """:class:`BicycleData` from rows of ``bicycle_counts`` (a counter's lanes summed per day)."""
    rows = rows.assign(day=_local_days(rows["date"]), count=pd.to_numeric(rows["count"], errors="coerce"))
    rows = rows[rows["count"].notna()]
    if rows.empty:
        raise ValueError(f"{ENTRY} holds no count")
    per_day = rows.groupby(["counter_id", "day"])["count"].sum().unstack("day")
    days = pd.date_range(rows["day"].min(), rows["day"].max(), freq="D")
    per_day = per_day.reindex(columns=days).sort_index()
    # A counter moved by a rounding in some records: the location most of its records give.
    places = (rows.groupby(["counter_id", "longitude", "latitude"]).size().rename("n").reset_index()
              .sort_values(["counter_id", "n"], ascending=[True, False]).drop_duplicates("counter_id")
              .set_index("counter_id")[["longitude", "latitude"]])
    spans = rows.groupby("counter_id")["day"].agg(first="min", last="max")
    counters = places.join(spans).reindex(per_day.index)
    counters.index = counters.index.astype(str)
    return BicycleData(counters=counters, days=days, counts=per_day.to_numpy(dtype="float64"),
                       demo=demo, tiles_url=tiles_url)


def load() -> BicycleData:
    """Read ``bicycle_counts`` (public level only), every year of it."""
    # Every year, not the catalogue's default one (2020): the page shows the growth of cycling.
    rows = load_public(ENTRY, start="1900-01-01")
    return prepare(rows, demo=demonstration(ENTRY), tiles_url=geo.tiles_url())


@lru_cache(maxsize=1)
def _centre() -> tuple[float, float]:
    """Montpellier's point in the geography reference (longitude, latitude)."""
    communes = geography.communes()
    row = communes[communes["insee_code"] == "34172"].iloc[0]
    return float(row["lon"]), float(row["lat"])


def counter_label(data: BicycleData, counter: str, lang: str = "fr") -> str:
    """« Compteur X2H19070220 (1,7 km à l'est du centre de Montpellier) »: the exports name no counter."""
    t = TEXT[lang]
    lon, lat = data.counters.loc[counter, ["longitude", "latitude"]]
    cx, cy = geography.wgs84_to_lambert93(np.array([_centre()[0], lon]), np.array([_centre()[1], lat]))
    dx, dy = float(cx[1] - cx[0]), float(cy[1] - cy[0])
    km = math.hypot(dx, dy) / 1000.0
    if km < CENTRE_KM:
        where = t["at_centre"]
    else:
        bearing = math.degrees(math.atan2(dx, dy)) % 360  # 0 = north, clockwise
        direction = _DIRECTIONS[lang][int((bearing + 22.5) // 45) % 8]
        distance = f"{km:.1f}".replace(".", ",") if lang == "fr" else f"{km:.1f}"
        where = t["where"].format(km=distance, direction=direction)
    return t["label"].format(id=counter, where=where)


def _day(data: BicycleData, day) -> int:
    """The column of local ``day`` in ``data.counts``."""
    stamp = pd.Timestamp(day)
    stamp = (stamp.tz_convert("Europe/Paris").tz_localize(None) if stamp.tzinfo is not None else stamp).normalize()
    position = data.days.get_indexer([stamp])[0]
    if position < 0:
        raise ValueError(f"bicycle_day={stamp:%Y-%m-%d} is outside the counts "
                         f"({data.days[0]:%Y-%m-%d} .. {data.days[-1]:%Y-%m-%d})")
    return int(position)


def _check_counter(data: BicycleData, counter: str) -> None:
    if counter not in data.counters.index:
        raise ValueError(f"bicycle_counter={counter!r} is not one of the counters: {', '.join(data.counters.index)}")


def default_day(data: BicycleData) -> pd.Timestamp:
    """The latest day on which the most counters counted, among the last :data:`DEFAULT_DAY_WINDOW`
    days with a count (the very last day often lacks the counters that send later)."""
    counted = np.isfinite(data.counts).sum(axis=0)
    recent = np.flatnonzero(counted)[-DEFAULT_DAY_WINDOW:]
    best = max(recent, key=lambda i: (counted[i], i))
    return data.days[int(best)]


def default_counter(data: BicycleData) -> str:
    """The counter counting the longest (the only one counting in spring 2020, in the real data)."""
    spans = data.counters.assign(n=np.isfinite(data.counts).sum(axis=1))
    return str(spans.sort_values(["first", "n"], ascending=[True, False]).index[0])


def period_text(data: BicycleData, counter: str, lang: str = "fr") -> str:
    """« du 01/01/2020 au 06/11/2024 »: a counter's first and last day counted."""
    first, last = data.counters.loc[counter, ["first", "last"]]
    return TEXT[lang]["period"].format(first=format_date(first, lang), last=format_date(last, lang))


def day_table(data: BicycleData, day, lang: str = "fr") -> pd.DataFrame:
    """One row per counter for local ``day``: ``counter_id``, ``label``, ``count`` (NaN without a
    count that day), ``period``, ``longitude``, ``latitude``; the most bicycles first, the counters
    without a count last."""
    column = data.counts[:, _day(data, day)]
    frame = pd.DataFrame({
        "counter_id": data.counters.index,
        "label": [counter_label(data, c, lang) for c in data.counters.index],
        "count": column,
        "period": [period_text(data, c, lang) for c in data.counters.index],
        "longitude": data.counters["longitude"].round(5).to_numpy(),
        "latitude": data.counters["latitude"].round(5).to_numpy(),
    })
    order = np.lexsort((frame["counter_id"].to_numpy(), -np.nan_to_num(column, nan=-1.0)))
    return frame.iloc[order].reset_index(drop=True)


def _lockdown(weeks: pd.DatetimeIndex) -> np.ndarray:
    """Whether each week (Monday) overlaps one of :data:`LOCKDOWNS`."""
    ends = weeks + pd.Timedelta(days=WEEK_DAYS - 1)
    return np.array([any(w <= last and e >= first for first, last in LOCKDOWNS) for w, e in zip(weeks, ends)],
                    dtype=bool)


def week_table(data: BicycleData, counter: str, lang: str = "fr") -> pd.DataFrame:
    """The weeks (Monday to Sunday) of ``counter``'s counting period: ``week`` (its Monday),
    ``days`` (days counted), ``total`` (bicycles in the week; NaN unless all seven days were
    counted), ``mean`` (per counted day, rounded; NaN without any) and ``lockdown`` (text)."""
    _check_counter(data, counter)
    t = TEXT[lang]
    first, last = data.counters.loc[counter, ["first", "last"]]
    daily = pd.Series(data.counts[data.counters.index.get_loc(counter)], index=data.days).loc[first:last]
    monday = daily.index - pd.to_timedelta(daily.index.day_of_week, unit="D")
    grouped = daily.groupby(monday)
    weeks = pd.date_range(monday.min(), monday.max(), freq="7D")
    days = grouped.count().reindex(weeks, fill_value=0).astype(int)
    sums = grouped.sum(min_count=1).reindex(weeks)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.round(sums.to_numpy() / days.to_numpy())
    return pd.DataFrame({
        "week": weeks,
        "total": np.where(days.to_numpy() == WEEK_DAYS, sums.to_numpy(), np.nan),
        "days": days.to_numpy(),
        "mean": np.where(days.to_numpy() > 0, mean, np.nan),
        "lockdown": np.where(_lockdown(weeks), t["yes"], t["no"]),
    })


# --------------------------------------------------------------------------- HTML


def _colour(value: float) -> str:
    if not np.isfinite(value):
        return NO_COUNT_COLOUR
    return [colour for low, colour in COUNT_CLASSES if value >= low][-1]


def _classes_text(lang: str) -> str:
    lows = [low for low, _ in COUNT_CLASSES[1:]]
    return ", ".join(TEXT[lang]["class"].format(low=low) for low in lows)


def map_section(data: BicycleData, table: pd.DataFrame, day, lang: str = "fr") -> str:
    """The map of the counters for ``day`` (``table``: :func:`day_table`), and the same values in a table."""
    t = TEXT[lang]
    day_text = format_date(day, lang)
    values = [format_value(v) for v in table["count"]]
    points = pd.DataFrame({
        "lon": table["longitude"], "lat": table["latitude"],
        "colour": [_colour(v) for v in table["count"]],
        "text": values,
        "label": [t["point_label"].format(label=label, value=count(text, *t["bicycle"], lang) if np.isfinite(v)
                                          else t["no_count"])
                  for label, text, v in zip(table["label"], values, table["count"])],
    })
    lon, lat = _centre()
    centre = pd.DataFrame({"lon": [lon], "lat": [lat], "colour": [CENTRE_COLOUR], "text": [t["centre_text"]],
                           "label": [t["centre"]]})
    # The landmark first, so that its name is written whatever the counters' texts around it.
    svg = svg_map(pd.concat([centre, points], ignore_index=True), shapes=[], tiles_url=data.tiles_url,
                  title=t["map_title"].format(day=day_text), description=t["map_desc"].format(n=len(table)))
    columns = {"label": t["col_counter"], "count": t["col_count"], "period": t["col_period"],
               "longitude": t["col_lon"], "latitude": t["col_lat"]}
    return (f"<h2>{escape(t['map_h2'])}</h2>{svg}"
            f"<p>{escape(t['map_key'].format(classes=_classes_text(lang)))}</p>"
            + html_table(table, caption=t["day_caption"].format(day=day_text), columns=columns, lang=lang))


def chart_section(data: BicycleData, counter: str, lang: str = "fr") -> str:
    """The weekly totals of ``counter`` as a line chart, and the same values in a table."""
    _check_counter(data, counter)
    t = TEXT[lang]
    label = counter_label(data, counter, lang)
    weeks = week_table(data, counter, lang)
    chart = svg_line_chart([{"label": t["chart_series"].format(id=counter), "x": weeks["week"], "y": weeks["total"]}],
                           title=t["chart_title"].format(id=counter), description=t["chart_desc"],
                           y_label=t["chart_y"])
    columns = {"week": t["col_week"], "total": t["col_total"], "days": t["col_days"], "mean": t["col_mean"],
               "lockdown": t["col_lockdown"]}
    return (f"<h2>{escape(t['chart_h2'].format(label=label))}</h2>{chart}"
            f"<p>{escape(t['lockdowns'])}</p>"
            + html_table(weeks, caption=t["week_caption"].format(label=label), columns=columns, lang=lang))


def notes(lang: str = "fr") -> str:
    """What the reader must know: missing days are not zeros, and how the counters are named."""
    t = TEXT[lang]
    return notice(t["missing"], "info") + f"<p>{escape(t['names'])}</p>"
