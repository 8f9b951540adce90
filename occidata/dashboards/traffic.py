"""Dashboard "trafic-air": traffic on the main roads beside NO2 at the nearest stations.

Each counter is paired with the nearest station measuring nitrogen dioxide (NO2) during the period of
the counts (any NO2 station when none does), by distance in Lambert-93, as the curated notebook
``traffic/mobility_patterns`` does. Unusual counts are
flagged by :func:`occidata.compute.traffic_anomalies` (robust z-score at 3.5) against the same
hour of the week when the data span four weeks or more, else against the same hour of the day.
Hours are local (Europe/Paris). "Today" is the latest day of the traffic counts.

The page has a second view (``topic="bicycles"``): the real daily counts of Montpellier
Méditerranée Métropole's bicycle counters (:mod:`occidata.dashboards.bicycles`). The road view
stays the one the page opens with, and the only one of its static page; the bicycle view is live.
Each view ends with the sources and licences of the entries it shows.

``load()`` reads the data (public entries only), ``view(data, ...)`` returns the page's HTML
(pure, tested without a kernel), ``show()`` puts the controls and the page in a notebook.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import compute
from ..datasets import geography
from . import BY_SLUG, bicycles, explorer, geo, layout
from .credits import credits
from .data import Lazy, demonstration, latest_day, load_public
from .freshness import banner
from .render import escape, html_table, notice, page, svg_line_chart, svg_map
from .wording import count

__all__ = ["TrafficData", "prepare", "load", "view", "show", "controls", "defaults", "counter_table",
           "hourly_table", "bicycle_data", "SLUG", "MAIN_ROADS", "ROAD", "BICYCLES", "ROAD_ENTRIES"]

SLUG = "trafic-air"
ROAD, BICYCLES = "road", "bicycles"  # the page's two views (``topic``); the page opens with the road one
ROAD_ENTRIES = ("traffic_counts", "air_quality_hourly")  # the catalogue entries the road view shows
TZ = "Europe/Paris"
MAIN_ROADS = ("motorway", "trunk", "ring_road")  # road types listed first, as "grands axes"
THRESHOLD = 3.5  # robust z-score from which a count is unusual (Iglewicz and Hoaglin)
WEEKLY_REFERENCE_DAYS = 28  # from four weeks of data, compare with the same hour of the week
COUNTER_COLOUR = "#0b5cad"
STATION_COLOUR = "#6a3d9a"

ROAD_TYPES = {
    "fr": {"motorway": "Autoroute", "trunk": "Route nationale", "ring_road": "Périphérique / rocade",
           "urban": "Voie urbaine"},
    "en": {"motorway": "Motorway", "trunk": "Trunk road", "ring_road": "Ring road", "urban": "Urban street"},
}

TEXT = {
    "fr": {
        "topic": "Afficher", "topic_road": "Voitures et NO₂ (grands axes)",
        "topic_bicycles": "Vélos à Montpellier (compteurs réels)",
        "bicycle_counter": "Compteur vélo", "bicycle_day": "Jour (vélos)",
        "bicycle_summary": "{bicycles} vélos comptés le {day}",
        "bicycle_where": "par {counters} de Montpellier Méditerranée Métropole ; {missing}.",
        "bicycle_counter_word": ("compteur", "compteurs"),
        "bicycle_missing": ("compteur sans comptage ce jour", "compteurs sans comptage ce jour"),
        "counter": "Point de comptage", "day": "Jour",
        "summary": "{vehicles} véhicules comptés le {day}",
        "summary_where": "sur {points} ; {unusual}.",
        "point": ("point de comptage", "points de comptage"),
        "unusual": ("heure inhabituelle repérée", "heures inhabituelles repérées"),
        "map_h2": "Carte des points de comptage et des stations de NO₂",
        "map_title": "Points de comptage et stations de mesure du NO₂, {day}",
        "map_desc": "Carte de l'Occitanie : {n} points de comptage (texte : la route) et {m} stations de "
                    "mesure du dioxyde d'azote (texte : « NO₂ » et la moyenne du jour) ; les mêmes valeurs "
                    "sont dans le tableau qui suit.",
        "map_key": "Sur la carte : les points bleus sont les points de comptage (nom de la route écrit à côté), "
                   "les points violets les stations de mesure du NO₂ (« NO₂ » et la moyenne du jour écrits à côté).",
        "counter_caption": "Trafic du {day} par point de comptage, et NO₂ à la station la plus proche",
        "station_caption": "Stations de mesure du NO₂, moyenne du {day}",
        "col_counter": "Point de comptage", "col_road": "Route", "col_type": "Type de route",
        "col_commune": "Commune", "col_vehicles": "Véhicules dans la journée", "col_speed": "Vitesse moyenne (km/h)",
        "col_heavy": "Poids lourds (%)", "col_unusual": "Heures inhabituelles",
        "col_station": "Station NO₂ la plus proche", "col_distance": "Distance (km)",
        "col_no2": "NO₂ moyen du jour (µg/m³)", "col_time": "Heure", "col_vehicles_h": "Véhicules par heure",
        "col_no2_h": "NO₂ (µg/m³)", "col_is_unusual": "Inhabituel", "col_name": "Station",
        "yes": "oui", "no": "non",
        "detail_h2": "{counter} : trafic et NO₂ heure par heure",
        "traffic_title": "Véhicules par heure, {counter}, {day}",
        "traffic_desc": "Nombre de véhicules comptés chaque heure ; les valeurs sont dans le tableau qui suit.",
        "no2_title": "Dioxyde d'azote à {station} ({distance} km), {day}",
        "no2_desc": "Concentration horaire de NO₂ en µg/m³ ; les valeurs sont dans le tableau qui suit.",
        "no2_limit": "Valeur limite horaire de l'UE",
        "hour_caption": "{counter} et NO₂ à {station}, heure par heure, {day}",
        "vehicles_label": "Véhicules", "no2_label": "NO₂",
        "no_no2": "Pas de mesure de NO₂ ce jour à {station}.",
        "reference_week": "Une heure est dite inhabituelle quand son trafic s'écarte fortement de celui des "
                          "mêmes heures de la semaine (score robuste ≥ 3,5).",
        "reference_day": "Une heure est dite inhabituelle quand son trafic s'écarte fortement de celui de la "
                         "même heure les autres jours (score robuste ≥ 3,5 ; moins de quatre semaines de données).",
        "caveat": "Le trafic n'est qu'une des sources de NO₂ (chauffage, industrie, météo) et la station la plus "
                  "proche peut être à plusieurs kilomètres : la comparaison donne une tendance, pas une mesure "
                  "de la pollution due à la route.",
        "source": "Sources : comptages routiers et ATMO Occitanie. Heures locales.",
        "source_demo": "Sources : comptages routiers et ATMO Occitanie pour les points de comptage et les stations ; "
                       "valeurs de démonstration générées par occidata. Heures locales.",
    },
    "en": {
        "topic": "Show", "topic_road": "Cars and NO₂ (main roads)",
        "topic_bicycles": "Bicycles in Montpellier (real counters)",
        "bicycle_counter": "Bicycle counter", "bicycle_day": "Day (bicycles)",
        "bicycle_summary": "{bicycles} bicycles counted on {day}",
        "bicycle_where": "at {counters} of Montpellier Méditerranée Métropole; {missing}.",
        "bicycle_counter_word": ("counter", "counters"),
        "bicycle_missing": ("counter without a count that day", "counters without a count that day"),
        "counter": "Counting point", "day": "Day",
        "summary": "{vehicles} vehicles counted on {day}",
        "summary_where": "at {points}; {unusual}.",
        "point": ("counting point", "counting points"),
        "unusual": ("unusual hour found", "unusual hours found"),
        "map_h2": "Map of the counting points and NO₂ stations",
        "map_title": "Counting points and NO₂ monitoring stations, {day}",
        "map_desc": "Map of Occitanie: {n} counting points (text: the road) and {m} nitrogen dioxide "
                    "monitoring stations (text: \"NO₂\" and the day's mean); the same values are in the table below.",
        "map_key": "On the map: blue dots are counting points (road name written beside), purple dots are NO₂ "
                   "stations (\"NO₂\" and the day's mean written beside).",
        "counter_caption": "Traffic on {day} per counting point, and NO₂ at the nearest station",
        "station_caption": "NO₂ monitoring stations, mean of {day}",
        "col_counter": "Counting point", "col_road": "Road", "col_type": "Road type",
        "col_commune": "Commune", "col_vehicles": "Vehicles in the day", "col_speed": "Mean speed (km/h)",
        "col_heavy": "Heavy vehicles (%)", "col_unusual": "Unusual hours",
        "col_station": "Nearest NO₂ station", "col_distance": "Distance (km)",
        "col_no2": "Day's mean NO₂ (µg/m³)", "col_time": "Time", "col_vehicles_h": "Vehicles per hour",
        "col_no2_h": "NO₂ (µg/m³)", "col_is_unusual": "Unusual", "col_name": "Station",
        "yes": "yes", "no": "no",
        "detail_h2": "{counter}: traffic and NO₂ hour by hour",
        "traffic_title": "Vehicles per hour, {counter}, {day}",
        "traffic_desc": "Vehicles counted each hour; the values are in the table below.",
        "no2_title": "Nitrogen dioxide at {station} ({distance} km), {day}",
        "no2_desc": "Hourly NO₂ concentration in µg/m³; the values are in the table below.",
        "no2_limit": "EU hourly limit value",
        "hour_caption": "{counter} and NO₂ at {station}, hour by hour, {day}",
        "vehicles_label": "Vehicles", "no2_label": "NO₂",
        "no_no2": "No NO₂ measurement on this day at {station}.",
        "reference_week": "An hour is unusual when its traffic is far from that of the same hours of the week "
                          "(robust score ≥ 3.5).",
        "reference_day": "An hour is unusual when its traffic is far from that of the same hour on the other days "
                         "(robust score ≥ 3.5; less than four weeks of data).",
        "caveat": "Traffic is only one source of NO₂ (heating, industry, weather) and the nearest station may be "
                  "several kilometres away: the comparison shows a tendency, not the pollution due to the road.",
        "source": "Sources: road counters and ATMO Occitanie. Local times.",
        "source_demo": "Sources: road counters and ATMO Occitanie for the counting points and stations; "
                       "demonstration values generated by occidata. Local times.",
    },
}


# --------------------------------------------------------------------------- data


@dataclass
class TrafficData:
    """What the page needs, computed once per kernel.

    counters : one row per counter (index ``counter_id``): ``counter_name``, ``road``, ``road_type``,
        ``commune``, ``direction``, ``longitude``, ``latitude``, ``nearest_station``, ``distance_km``.
    steps : hourly UTC times; ``local`` the same in Europe/Paris; ``vehicles``, ``speed``,
        ``heavy`` : arrays (counters, steps); ``unusual`` : the anomaly flags, same shape.
    stations : NO2 stations (index ``station_code``): ``station_name``, ``longitude``, ``latitude``.
    no2 : hourly NO2, index ``steps``, one column per station (NaN where none).
    weekly : True when unusual counts are judged against the same hour of the week.
    """

    counters: pd.DataFrame
    steps: pd.DatetimeIndex
    local: pd.DatetimeIndex
    vehicles: np.ndarray
    speed: np.ndarray
    heavy: np.ndarray
    unusual: np.ndarray
    stations: pd.DataFrame
    no2: pd.DataFrame
    weekly: bool
    shapes: list = field(default_factory=list)
    tiles_url: str | None = None
    demo: bool = False  # demonstration data (see occidata.dashboards.data.demonstration)
    bicycle_source: Callable[[], bicycles.BicycleData] | None = None  # the bicycle view's data, read at first need

    def days(self) -> list[pd.Timestamp]:
        """The local days with counts, oldest first (naive midnight)."""
        return sorted({d.tz_localize(None) for d in self.local.normalize()})

    def latest_day(self) -> pd.Timestamp:
        """"Today": the latest local day of the counts."""
        frame = pd.DataFrame({"time": self.local})
        return latest_day(frame, "time").tz_localize(None)


def _order_counters(counters: pd.DataFrame) -> pd.DataFrame:
    """Main roads first (motorways, trunk roads, ring roads), then the others, by name."""
    rank = counters["road_type"].map({t: i for i, t in enumerate(MAIN_ROADS)}).fillna(len(MAIN_ROADS))
    return counters.assign(_rank=rank).sort_values(["_rank", "counter_name", "counter_id"]).drop(columns="_rank")


def _pivot(traffic: pd.DataFrame, column: str, counters, steps) -> np.ndarray:
    table = traffic.pivot_table(index="counter_id", columns="time_start", values=column, aggfunc="mean")
    return table.reindex(index=counters.index, columns=steps).to_numpy(dtype="float64")


def anomaly_labels(local: pd.DatetimeIndex) -> tuple[np.ndarray, bool]:
    """The reference labels of each step: hour of the week with four weeks of data or more,
    else hour of the day; and whether they are weekly."""
    weekly = (local[-1] - local[0]) >= pd.Timedelta(days=WEEKLY_REFERENCE_DAYS)
    labels = local.day_of_week * 24 + local.hour if weekly else local.hour
    return np.asarray(labels, dtype=np.int64), bool(weekly)


def _nearest_stations(counters: pd.DataFrame, stations: pd.DataFrame) -> pd.DataFrame:
    cx, cy = geography.wgs84_to_lambert93(counters["longitude"].to_numpy(), counters["latitude"].to_numpy())
    sx, sy = geography.wgs84_to_lambert93(stations["longitude"].to_numpy(), stations["latitude"].to_numpy())
    distance_km = np.hypot(cx[:, None] - sx[None, :], cy[:, None] - sy[None, :]) / 1000.0
    nearest = distance_km.argmin(axis=1)
    return counters.assign(nearest_station=stations.index[nearest].to_numpy(),
                           distance_km=distance_km[np.arange(len(counters)), nearest])


def prepare(traffic: pd.DataFrame, air: pd.DataFrame, shapes: list | None = None,
            tiles_url: str | None = None, demo: bool = False) -> TrafficData:
    """:class:`TrafficData` from rows of ``traffic_counts`` and ``air_quality_hourly``."""
    if traffic.empty:
        raise ValueError("traffic_counts holds no count")
    counters = _order_counters(traffic.drop_duplicates("counter_id").set_index("counter_id")[
        ["counter_name", "road", "road_type", "commune", "direction", "longitude", "latitude"]])
    steps = pd.date_range(traffic["time_start"].min(), traffic["time_start"].max(), freq="h")
    vehicles = _pivot(traffic, "vehicles", counters, steps)
    local = steps.tz_convert(TZ)
    labels, weekly = anomaly_labels(local)
    result = compute.traffic_anomalies(vehicles, labels, threshold=THRESHOLD)
    no2 = air[(air["pollutant"] == "NO2") & (air["metric"] == "hourly")]
    if no2.empty:
        raise ValueError("air_quality_hourly holds no hourly NO2 value")
    stations = no2.drop_duplicates("station_code").set_index("station_code")[
        ["station_name", "longitude", "latitude"]].sort_index()
    hourly = no2.pivot_table(index="time_start", columns="station_code", values="value", aggfunc="mean")
    # Stations of other years (an older export ingested beside) must not take a counter from one measuring then.
    measuring = hourly.reindex(index=steps).notna().any()
    candidates = stations[stations.index.isin(measuring.index[measuring])] if measuring.any() else stations
    return TrafficData(
        counters=_nearest_stations(counters, candidates), steps=steps, local=local, vehicles=vehicles,
        speed=_pivot(traffic, "mean_speed_kmh", counters, steps), heavy=_pivot(traffic, "heavy_share", counters, steps),
        unusual=np.asarray(result.flagged, dtype=bool), stations=stations,
        no2=hourly.reindex(index=steps, columns=stations.index), weekly=weekly,
        shapes=list(shapes or []), tiles_url=tiles_url, demo=demo)


def load(**params) -> TrafficData:
    """Read ``traffic_counts`` and ``air_quality_hourly`` (public level only; ``params`` as for the
    catalogue, e.g. ``year=2024``) and pair each counter with its nearest NO2 station."""
    traffic = load_public("traffic_counts", **params)
    air = load_public("air_quality_hourly", **params)
    data = prepare(traffic, air, geo.department_shapes(), geo.tiles_url(), demo=demonstration(*ROAD_ENTRIES))
    data.bicycle_source = Lazy(bicycles.load)  # read when the bicycle view is first asked for
    return data


def bicycle_data(data: TrafficData) -> bicycles.BicycleData:
    """The bicycle view's data (read at first need, then kept)."""
    if data.bicycle_source is None:
        raise ValueError(f"no {bicycles.ENTRY} data with these traffic data")
    return data.bicycle_source()


# --------------------------------------------------------------------------- tables


def _day_mask(data: TrafficData, day) -> np.ndarray:
    day = pd.Timestamp(day).normalize()
    day = day.tz_localize(None) if day.tzinfo is not None else day
    mask = np.asarray(data.local.normalize().tz_localize(None) == day)
    if not mask.any():
        days = data.days()
        raise ValueError(f"day={day:%Y-%m-%d} has no count ({days[0]:%Y-%m-%d} .. {days[-1]:%Y-%m-%d})")
    return mask


def _nanmean(values: np.ndarray, axis=None):
    with np.errstate(all="ignore"):
        valid = np.isfinite(values).sum(axis=axis)
        total = np.nansum(values, axis=axis)
        return np.where(valid > 0, total / np.maximum(valid, 1), np.nan)


def station_no2(data: TrafficData, day) -> pd.Series:
    """Each NO2 station's mean over the hours of local ``day`` (NaN without a value)."""
    mask = _day_mask(data, day)
    return pd.Series(_nanmean(data.no2.to_numpy()[mask], axis=0), index=data.stations.index)


def counter_table(data: TrafficData, day, lang: str = "fr") -> pd.DataFrame:
    """One row per counter for local ``day``: name, road, type, commune, ``vehicles`` (sum of the
    hours counted), ``speed`` (mean), ``heavy_pct``, ``unusual`` (hours flagged),
    ``station_name``, ``distance_km`` and ``no2`` (the station's mean that day)."""
    mask = _day_mask(data, day)
    no2 = station_no2(data, day)
    counted = np.isfinite(data.vehicles[:, mask])
    frame = data.counters.reset_index()[["counter_id", "counter_name", "road", "road_type", "commune",
                                         "longitude", "latitude", "nearest_station", "distance_km"]].copy()
    frame["type"] = frame["road_type"].map(ROAD_TYPES[lang]).fillna(frame["road_type"])
    frame["vehicles"] = np.where(counted.any(axis=1), np.nansum(data.vehicles[:, mask], axis=1), np.nan)
    frame["speed"] = np.round(_nanmean(data.speed[:, mask], axis=1), 1)
    frame["heavy_pct"] = np.round(100 * _nanmean(data.heavy[:, mask], axis=1), 1)
    frame["unusual"] = data.unusual[:, mask].sum(axis=1)
    frame["station_name"] = data.stations.loc[frame["nearest_station"], "station_name"].to_numpy()
    frame["distance_km"] = frame["distance_km"].round(1)
    frame["no2"] = no2.reindex(frame["nearest_station"]).round(1).to_numpy()
    return frame


def hourly_table(data: TrafficData, counter: str, day, lang: str = "fr") -> pd.DataFrame:
    """The hours of local ``day`` at ``counter``: ``time`` (local), ``vehicles``, ``speed``,
    ``unusual`` (text), ``no2`` at the counter's nearest station."""
    t = TEXT[lang]
    mask = _day_mask(data, day)
    row = data.counters.index.get_loc(counter)
    station = data.counters.loc[counter, "nearest_station"]
    return pd.DataFrame({
        "time": data.local[mask].tz_localize(None),
        "vehicles": data.vehicles[row, mask],
        "speed": np.round(data.speed[row, mask], 1),
        "unusual": np.where(data.unusual[row, mask], t["yes"], t["no"]),
        "no2": np.round(data.no2[station].to_numpy()[mask], 1),
    })


# --------------------------------------------------------------------------- view


def _day_text(day, lang: str) -> str:
    return pd.Timestamp(day).strftime("%d/%m/%Y" if lang == "fr" else "%Y-%m-%d")


def _number(value, lang: str) -> str:
    text = f"{int(round(value)):,}"
    return text.replace(",", "\u202f") if lang == "fr" else text


def _map_section(data: TrafficData, table: pd.DataFrame, day, lang: str) -> str:
    t = TEXT[lang]
    day_text = _day_text(day, lang)
    no2 = station_no2(data, day)
    colon = " :" if lang == "fr" else ":"
    counters = pd.DataFrame({
        "lon": table["longitude"], "lat": table["latitude"], "colour": COUNTER_COLOUR, "text": table["road"],
        "label": [f"{n}{colon} {'—' if pd.isna(v) else _number(v, lang)} {'véhicules' if lang == 'fr' else 'vehicles'}"
                  for n, v in zip(table["counter_name"], table["vehicles"])],
    })
    stations = data.stations.reset_index()
    station_values = no2.reindex(stations["station_code"]).round(1).to_numpy()
    points_st = pd.DataFrame({
        "lon": stations["longitude"], "lat": stations["latitude"], "colour": STATION_COLOUR,
        "text": ["NO₂ " + ("—" if np.isnan(v) else f"{v:.0f}") for v in station_values],
        "label": [f"{n}{colon} NO₂ {'—' if np.isnan(v) else f'{v:.1f}'} µg/m³"
                  for n, v in zip(stations["station_name"], station_values)],
    })
    svg = svg_map(pd.concat([counters, points_st], ignore_index=True), shapes=data.shapes,
                  title=t["map_title"].format(day=day_text),
                  description=t["map_desc"].format(n=len(counters), m=len(points_st)), tiles_url=data.tiles_url)
    # The key figures right after the name, so that they stay on a phone's screen.
    columns = {"counter_name": t["col_counter"], "vehicles": t["col_vehicles"], "unusual": t["col_unusual"],
               "road": t["col_road"], "type": t["col_type"], "commune": t["col_commune"], "speed": t["col_speed"],
               "heavy_pct": t["col_heavy"], "station_name": t["col_station"],
               "distance_km": t["col_distance"], "no2": t["col_no2"]}
    station_frame = pd.DataFrame({"name": stations["station_name"], "no2": station_values})
    return (f"<h2>{escape(t['map_h2'])}</h2>{svg}<p>{escape(t['map_key'])}</p>"
            + html_table(table, caption=t["counter_caption"].format(day=day_text), columns=columns, lang=lang)
            + html_table(station_frame, caption=t["station_caption"].format(day=day_text),
                         columns={"name": t["col_name"], "no2": t["col_no2"]}, lang=lang))


def _detail_section(data: TrafficData, counter: str, day, lang: str) -> str:
    t = TEXT[lang]
    day_text = _day_text(day, lang)
    info = data.counters.loc[counter]
    name = f"{info['counter_name']} ({info['direction']})"
    station = data.stations.loc[info["nearest_station"], "station_name"]
    hours = hourly_table(data, counter, day, lang)
    traffic_svg = svg_line_chart(
        [{"label": t["vehicles_label"], "x": hours["time"], "y": hours["vehicles"]}],
        title=t["traffic_title"].format(counter=name, day=day_text), description=t["traffic_desc"],
        y_label=t["col_vehicles_h"])
    limit = next(lim.value for lim in compute.limit_values("2008/50/EC")["NO2"] if lim.averaging == "hour")
    if np.isfinite(hours["no2"].to_numpy(dtype=float)).any():
        no2_part = svg_line_chart(
            [{"label": f"{t['no2_label']} — {station}", "x": hours["time"], "y": hours["no2"]}],
            title=t["no2_title"].format(station=station, distance=f"{info['distance_km']:.1f}", day=day_text),
            description=t["no2_desc"], y_label="µg/m³",
            thresholds=[{"value": limit, "label": t["no2_limit"]}])
    else:
        no2_part = notice(t["no_no2"].format(station=station), "warning")
    table = html_table(hours, caption=t["hour_caption"].format(counter=name, station=station, day=day_text),
                       columns={"time": t["col_time"], "vehicles": t["col_vehicles_h"], "speed": t["col_speed"],
                                "unusual": t["col_is_unusual"], "no2": t["col_no2_h"]}, lang=lang)
    return (f"<h2>{escape(t['detail_h2'].format(counter=name))}</h2>"
            f'<div class="od-grid"><div>{traffic_svg}</div><div>{no2_part}</div></div>{table}')


def default_counter(data: TrafficData) -> str:
    """The main-road counter closest to an NO2 station (any counter when none is on a main road)."""
    main = data.counters[data.counters["road_type"].isin(MAIN_ROADS)]
    pool = main if len(main) else data.counters
    return str(pool["distance_km"].idxmin())


def _headline(table: pd.DataFrame, day, lang: str) -> str:
    """The key figure first: the vehicles counted on ``day``, at how many points, and the unusual hours."""
    t = TEXT[lang]
    figure = t["summary"].format(vehicles=_number(np.nansum(table["vehicles"]), lang), day=_day_text(day, lang))
    where = t["summary_where"].format(points=count(int(table["vehicles"].notna().sum()), *t["point"], lang),
                                      unusual=count(int(table["unusual"].sum()), *t["unusual"], lang))
    return (f'<div class="od-headline"><p><span class="od-figure">{escape(figure)}</span> '
            f"{escape(where)}</p></div>")


def _bicycle_headline(table: pd.DataFrame, day, lang: str) -> str:
    """The key figure of the bicycle view: the bicycles counted on ``day``, by how many counters,
    and how many sent no count (left out of the sum, never read as zero)."""
    t = TEXT[lang]
    counted = table["count"].notna()
    figure = t["bicycle_summary"].format(bicycles=_number(table["count"].sum(), lang), day=_day_text(day, lang))
    where = t["bicycle_where"].format(counters=count(int(counted.sum()), *t["bicycle_counter_word"], lang),
                                      missing=count(int((~counted).sum()), *t["bicycle_missing"], lang))
    return (f'<div class="od-headline"><p><span class="od-figure">{escape(figure)}</span> '
            f"{escape(where)}</p></div>")


def _bicycle_view(data: TrafficData, *, lang: str, counter: str | None, day, today) -> str:
    bikes = bicycle_data(data)
    day = bicycles.default_day(bikes) if day is None else pd.Timestamp(day)
    counter = bicycles.default_counter(bikes) if counter is None else counter
    table = bicycles.day_table(bikes, day, lang)
    body = "".join([
        bicycles.map_section(bikes, table, day, lang),
        bicycles.chart_section(bikes, counter, lang),
        bicycles.notes(lang),
        credits([bicycles.ENTRY], lang),
    ])
    title = BY_SLUG[SLUG].title_fr if lang == "fr" else BY_SLUG[SLUG].title_en
    return page(body, lang=lang, title=title, updated=pd.Timestamp(day),
                banner=banner(bikes.latest_day(), demo=bikes.demo, lang=lang, now=today),
                headline=_bicycle_headline(table, day, lang))


def view(data: TrafficData, *, lang: str = "fr", topic: str = ROAD, counter: str | None = None, day=None,
         bicycle_counter: str | None = None, bicycle_day=None, today=None) -> str:
    """The page's HTML. ``topic`` "road" (:data:`ROAD`): traffic and NO2 for local ``day`` (default:
    the latest) and ``counter`` (default: :func:`default_counter`); "bicycles" (:data:`BICYCLES`):
    Montpellier's bicycle counters on ``bicycle_day`` (default: :func:`bicycles.default_day`) and the
    weekly counts of ``bicycle_counter`` (default: :func:`bicycles.default_counter`). ``today``: the
    date the banner compares the data with (default: today in France)."""
    if topic == BICYCLES:
        return _bicycle_view(data, lang=lang, counter=bicycle_counter, day=bicycle_day, today=today)
    if topic != ROAD:
        raise ValueError(f"topic={topic!r}; use {ROAD} or {BICYCLES}")
    t = TEXT[lang]
    day = data.latest_day() if day is None else pd.Timestamp(day)
    counter = default_counter(data) if counter is None else counter
    if counter not in data.counters.index:
        raise ValueError(f"counter={counter!r} is not in the data")
    table = counter_table(data, day, lang)
    body = "".join([
        _map_section(data, table, day, lang),
        _detail_section(data, counter, day, lang),
        f"<p>{escape(t['reference_week' if data.weekly else 'reference_day'])}</p>",
        notice(t["caveat"], "info"),
        f'<p class="od-source">{escape(t["source_demo" if data.demo else "source"])}</p>',
        credits(ROAD_ENTRIES, lang),
    ])
    title = BY_SLUG[SLUG].title_fr if lang == "fr" else BY_SLUG[SLUG].title_en
    return page(body, lang=lang, title=title, updated=pd.Timestamp(day),
                banner=banner(data.latest_day(), demo=data.demo, lang=lang, now=today),
                headline=_headline(table, day, lang))


# --------------------------------------------------------------------------- notebook


#: The controls of each view: only those of the view shown are displayed.
VIEW_CONTROLS = {ROAD: ("counter", "day"), BICYCLES: ("bicycle_counter", "bicycle_day")}


def _follow_topic(built: dict) -> None:
    """Display only the controls of the view chosen, now and at every change of ``topic``."""
    topic = built["topic"]

    def apply(_change=None) -> None:
        for owner, names in VIEW_CONTROLS.items():
            for name in names:
                if name in built:
                    built[name].layout.display = None if topic.value == owner else "none"

    topic.observe(apply, names="value")
    apply()


def controls(data: TrafficData, lang: str = "fr") -> dict:
    """The page's controls, labelled in ``lang``: the view (road traffic or bicycles), then the
    counting point and the day of the road view, or the bicycle counter and the day of the bicycle
    view (only the chosen view's are displayed). Without bicycle data (not built, unreadable), the
    bicycle view's controls are left out and that view says its data are unavailable."""
    import ipywidgets as widgets

    t = TEXT[lang]
    options = [(f"{row.counter_name} ({row.direction})", cid) for cid, row in data.counters.iterrows()]
    days = data.days()
    built = {
        "topic": widgets.Dropdown(options=[(t["topic_road"], ROAD), (t["topic_bicycles"], BICYCLES)], value=ROAD,
                                  description=t["topic"]),
        "counter": widgets.Dropdown(options=options, value=default_counter(data), description=t["counter"]),
        "day": widgets.Dropdown(options=[(_day_text(d, lang), d) for d in reversed(days)],
                                value=data.latest_day(), description=t["day"]),
    }
    try:
        bikes = bicycle_data(data)
    except Exception as error:  # noqa: BLE001 - the road view stays usable; the bicycle view shows the notice
        print(f"occidata.dashboards[{SLUG}]: no bicycle controls: {type(error).__name__}: {error}", file=sys.stderr)
    else:
        built["bicycle_counter"] = widgets.Dropdown(
            options=[(bicycles.counter_label(bikes, c, lang), c) for c in bikes.counters.index],
            value=bicycles.default_counter(bikes), description=t["bicycle_counter"])
        built["bicycle_day"] = widgets.Dropdown(
            options=[(_day_text(d, lang), d) for d in reversed(bikes.counted_days())],
            value=bicycles.default_day(bikes), description=t["bicycle_day"])
    _follow_topic(built)
    return built


def defaults(data: TrafficData) -> dict:
    """The values the page opens with (and the snapshot shows): the road view. The bicycle view's
    controls open on that view's own defaults, read only when it is shown."""
    return {"topic": ROAD, "counter": default_counter(data), "day": data.latest_day()}


def static_views(data: TrafficData, lang: str = "fr") -> explorer.StaticViews:
    """The static page's control: the last days of the road view; the detail shows the default
    counting point. The bicycle view is offered by the live page only."""
    day = explorer.day_choice("day", TEXT[lang]["day"], data.days(), lang, default=data.latest_day())
    return explorer.StaticViews((day,), fixed={"topic": ROAD, "counter": None})


def show(lang: str = "fr", snapshot: bool = False) -> None:
    """Display the dashboard in a notebook (Voilà): live widgets, or a static snapshot."""
    layout.show_with_data(SLUG, load, view, controls, defaults, lang=lang, snapshot=snapshot, static=static_views)
