"""Dashboard « Chaleur »: the heat-wave level of each department for recent days, thresholds explained.

What citizens see (French by default, English through the page's switch):

- a map of the departments coloured by their level on the chosen day, beside a table with the
  same levels and the indicators behind them;
- the levels of the last days, department by department (a table);
- the indicators IBMn and IBMx of one department day by day, as a chart with its thresholds and
  a table with the same values;
- the departmental thresholds, explained.

The level is computed with Météo-France's heat-wave criterion (:func:`occidata.compute.heatwave_alerts`):
IBMn and IBMx are the 3-day means of the daily minimum and maximum temperature; the heat-wave
thresholds are reached when both indicators reach the department's thresholds. The data are
observations only, no forecast, and the page says so: it is not Météo-France's official vigilance.

Two kinds of period are offered (:data:`PERIODS`): the recent days of the ``weather_daily`` grid
(the default; temperatures averaged over each department's cells), or a real past summer, 2018,
2019 or 2020 (1 June – 15 September), from Météo-France's departmental temperatures
``temperature_departments_daily``; a summer opens on its worst heat-wave day (:func:`default_day`).
The page ends with the sources and licence of the entry shown (:func:`occidata.dashboards.credits.credits`).

The data functions (:func:`department_temperatures`, :func:`table_temperatures`,
:func:`department_alerts`, :func:`default_day`, :func:`default_department`, :func:`recent_days`)
and :func:`view` are pure and tested without a kernel; :func:`show` wires them to widgets through
:func:`occidata.dashboards.layout.show_with_map`.
"""

from __future__ import annotations

import unicodedata
import warnings
from typing import Any

import numpy as np
import pandas as pd

from occidata import compute
from occidata.compute._xp import to_host
from occidata.dashboards import data as dash_data
from occidata.dashboards import explorer, geo, layout, render
from occidata.dashboards.credits import credits
from occidata.dashboards.freshness import banner
from occidata.dashboards.periods import Periods
from occidata.dashboards.wording import count, long_date, of_place

__all__ = ["LEVELS", "LEVEL_COLOURS", "LEVEL_NAMES", "PERIODS", "SLUG", "SNAPSHOT_VALUES", "by_period", "controls",
           "default_day", "default_department", "department_alerts", "department_temperatures", "load", "on_day",
           "period_key", "period_of", "period_of_day", "recent_days", "show", "summer_days",
           "table_temperatures", "view"]

SLUG = "chaleur"
DATASET = "weather_daily"
#: Météo-France's real daily temperatures by département: the past summers.
REAL_DATASET = "temperature_departments_daily"
#: The periods offered: the grid's recent days, or a real summer of ``REAL_DATASET``.
RECENT = "recent"
SUMMERS = (2018, 2019, 2020)
PERIODS = (RECENT,) + tuple(str(year) for year in SUMMERS)
DEFAULT_PERIOD = RECENT
#: A summer as Météo-France's heat-wave watch (veille saisonnière) runs: 1 June to 15 September.
SUMMER_FIRST, SUMMER_LAST = (6, 1), (9, 15)
#: The temperatures' resolution, to which IBMn/IBMx are rounded and the temperatures shown: the
#: grid's cell means to 0.1 °C, Météo-France's departmental values as published (0.01 °C,
#: Hérault's 41.17 °C of 28 June 2019).
DECIMALS = {DATASET: 1, REAL_DATASET: 2}
#: The key of ``DataFrame.attrs`` saying which period the alerts are of.
PERIOD_ATTR = "occidata_period"
#: Days in the running means IBMn / IBMx (Météo-France's criterion).
WINDOW = 3
#: Days offered by the day selector (the most recent ones).
RECENT_DAYS = 30
#: Days shown in the table of the last days.
TABLE_DAYS = 7

#: The levels, from the least to the most serious.
LEVELS = ("missing", "below", "near", "alert")
LEVEL_COLOURS = {"missing": "#d9d9d9", "below": "#b7e1b0", "near": "#ffe44d", "alert": "#f57c00"}
LEVEL_NAMES = {
    "fr": {"missing": "Données insuffisantes", "below": "Sous les seuils", "near": "Un seuil atteint",
           "alert": "Seuils de canicule atteints"},
    "en": {"missing": "Not enough data", "below": "Below the thresholds", "near": "One threshold reached",
           "alert": "Heat-wave thresholds reached"},
}
#: Short names written on the map, so that the level is never told by colour only.
LEVEL_SHORT = {
    "fr": {"missing": "?", "below": "Sous seuils", "near": "1 seuil", "alert": "Canicule"},
    "en": {"missing": "?", "below": "Below", "near": "1 threshold", "alert": "Heat wave"},
}

TEXT = {
    "fr": {
        "day": "Jour",
        "department": "Département",
        "intro": ("Le niveau de chaque département est calculé avec le critère canicule de Météo-France : "
                  "l'indicateur IBMn est la moyenne des températures minimales des 3 derniers jours, "
                  "l'indicateur IBMx celle des températures maximales. Quand les deux atteignent les seuils "
                  "du département, les seuils de canicule sont atteints."),
        "no_forecast": ("Ces données sont des observations : elles ne contiennent aucune prévision, les jours "
                        "à venir ne sont donc pas affichés. Ce niveau calculé n'est pas la vigilance officielle : "
                        "pour les prévisions et la vigilance canicule, consultez Météo-France "
                        "(vigilance.meteofrance.fr)."),
        "day_heading": "Niveau par département le {day}",
        "summary": "{departments} sur {total} aux seuils de canicule le {day}.",
        "department_word": ("département", "départements"),
        "none": "Aucun département",
        "where": "Aux seuils : {names}.",
        "per_level": "Niveaux le {day} :",
        "map_title": "Carte du niveau de chaleur par département, {day}",
        "map_desc": ("Les {total} départements d'Occitanie colorés selon leur niveau le {day}, avec le niveau "
                     "écrit sur chacun ; le tableau qui suit donne les mêmes niveaux et les indicateurs."),
        "legend": "Légende des niveaux",
        "day_caption": "Niveau et indicateurs par département, {day}",
        "recent_heading": "Les derniers jours",
        "recent_caption": "Niveau par département, du {first} au {last}",
        "series_heading": "{name} : indicateurs jour par jour",
        "chart_title": "IBMn et IBMx {of_name}, du {first} au {last}",
        "chart_desc": ("Courbes des indicateurs IBMn et IBMx {of_name} jour par jour, avec les seuils du "
                       "département ({tmin} °C et {tmax} °C) ; le tableau qui suit donne les mêmes valeurs."),
        "series_caption": "Indicateurs {of_name}, jour par jour (°C)",
        "y_label": "Température (°C)",
        "ibmn": "IBMn (moy. 3 j des minimales)",
        "ibmx": "IBMx (moy. 3 j des maximales)",
        "threshold_n": "Seuil IBMn",
        "threshold_x": "Seuil IBMx",
        "thresholds_heading": "Les seuils expliqués",
        "thresholds_text": ("Chaque département a deux seuils, fixés par Météo-France et Santé publique France "
                            "d'après les températures qui ont eu un effet sur la santé par le passé : un pour "
                            "IBMn (la nuit ne rafraîchit plus) et un pour IBMx (les journées sont très chaudes). "
                            "« Un seuil atteint » signale qu'un seul des deux indicateurs est au seuil ; "
                            "« Seuils de canicule atteints » qu'ils le sont tous les deux."),
        "cells_grid": ("Chaque indicateur est ici la moyenne des mailles de 8 km du département ; les 2 premiers "
                       "jours des données n'ont pas encore de moyenne sur 3 jours (« Données insuffisantes »)."),
        "cells_real": ("Les températures minimales et maximales sont ici celles que Météo-France publie pour "
                       "chaque département (moyenne de ses stations), au centième de degré."),
        "thresholds_caption": "Seuils canicule des départements d'Occitanie (°C)",
        "unverified": ("« À confirmer » : une seule source publique a été trouvée pour ces seuils ; vérifiez-les "
                       "auprès de Météo-France."),
        "col_department": "Département", "col_level": "Niveau", "col_ibmn": "IBMn (°C)",
        "col_tmin_threshold": "Seuil IBMn (°C)", "col_ibmx": "IBMx (°C)", "col_tmax_threshold": "Seuil IBMx (°C)",
        "col_day": "Jour", "col_tmin": "Minimale (°C)", "col_tmax": "Maximale (°C)", "col_code": "Code",
        "col_source": "Seuils", "verified": "vérifiés", "to_confirm": "à confirmer",
        "source": "Source : catalogue Occidata, jeu « {name} » (données publiques).",
        "period": "Période",
        "period_recent": "Derniers jours",
        "period_summer": "Été {year} (Météo-France)",
        "archive": ("Archives : été {year}, du {first} au {last} (période de veille canicule), températures "
                    "réelles de Météo-France par département. Le niveau est recalculé ici avec le critère "
                    "canicule : ce n'est pas la vigilance émise à l'époque."),
    },
    "en": {
        "day": "Day",
        "department": "Department",
        "intro": ("Each department's level is computed with Météo-France's heat-wave criterion: the IBMn "
                  "indicator is the mean of the minimum temperatures of the last 3 days, the IBMx indicator "
                  "that of the maximum temperatures. When both reach the department's thresholds, the "
                  "heat-wave thresholds are reached."),
        "no_forecast": ("These data are observations: they hold no forecast, so the coming days are not shown. "
                        "This computed level is not the official warning: for forecasts and the heat-wave "
                        "warning, see Météo-France (vigilance.meteofrance.fr)."),
        "day_heading": "Level by department on {day}",
        "summary": "{departments} of {total} at the heat-wave thresholds on {day}.",
        "department_word": ("department", "departments"),
        "none": "No department",
        "where": "At the thresholds: {names}.",
        "per_level": "Levels on {day}:",
        "map_title": "Map of the heat level by department, {day}",
        "map_desc": ("The {total} departments of Occitanie coloured by their level on {day}, with the level "
                     "written on each; the table below gives the same levels and the indicators."),
        "legend": "Level legend",
        "day_caption": "Level and indicators by department, {day}",
        "recent_heading": "The last days",
        "recent_caption": "Level by department, {first} to {last}",
        "series_heading": "{name}: indicators day by day",
        "chart_title": "IBMn and IBMx in {name}, {first} to {last}",
        "chart_desc": ("Lines of the IBMn and IBMx indicators {of_name} day by day, with the department's "
                       "thresholds ({tmin} °C and {tmax} °C); the table below gives the same values."),
        "series_caption": "Indicators {of_name}, day by day (°C)",
        "y_label": "Temperature (°C)",
        "ibmn": "IBMn (3-day mean of minima)",
        "ibmx": "IBMx (3-day mean of maxima)",
        "threshold_n": "IBMn threshold",
        "threshold_x": "IBMx threshold",
        "thresholds_heading": "The thresholds explained",
        "thresholds_text": ("Each department has two thresholds, set by Météo-France and Santé publique France "
                            "from the temperatures that affected health in the past: one for IBMn (nights no "
                            "longer cool down) and one for IBMx (days are very hot). “One threshold reached” "
                            "means that only one of the two indicators is at its threshold; “Heat-wave "
                            "thresholds reached” that both are."),
        "cells_grid": ("Each indicator is here the mean of the department's 8 km cells; the first 2 days of the "
                       "data have no 3-day mean yet (“Not enough data”)."),
        "cells_real": ("The minimum and maximum temperatures are here those Météo-France publishes for each "
                       "department (mean of its stations), to a hundredth of a degree."),
        "thresholds_caption": "Heat-wave thresholds of the departments of Occitanie (°C)",
        "unverified": ("“To be confirmed”: only one public source was found for these thresholds; check them "
                       "with Météo-France."),
        "col_department": "Department", "col_level": "Level", "col_ibmn": "IBMn (°C)",
        "col_tmin_threshold": "IBMn threshold (°C)", "col_ibmx": "IBMx (°C)",
        "col_tmax_threshold": "IBMx threshold (°C)", "col_day": "Day", "col_tmin": "Minimum (°C)",
        "col_tmax": "Maximum (°C)", "col_code": "Code", "col_source": "Thresholds", "verified": "verified",
        "to_confirm": "to be confirmed",
        "source": "Source: Occidata catalogue, dataset “{name}” (public data).",
        "period": "Period",
        "period_recent": "Last days",
        "period_summer": "Summer {year} (Météo-France)",
        "archive": ("Archives: summer {year}, {first} to {last} (heat-wave watch period), real temperatures "
                    "of Météo-France by department. The level is computed again here with the heat-wave "
                    "criterion: it is not the warning issued at the time."),
    },
}


# --------------------------------------------------------------------------- data (pure)


def period_key(period: Any) -> str:
    """The key of ``period`` ("recent", or a summer's year as text: "2019"); ``2019`` is accepted.

    Raises ValueError (in French, for the researcher who asked) for a period the page does not offer.
    """
    key = str(period).strip()
    if key not in PERIODS:
        raise ValueError(f"période {period!r} inconnue pour la page Chaleur : choisir {', '.join(PERIODS)}")
    return key


def summer_days(year: int | str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The first and last day of the summer ``year`` shown (1 June and 15 September)."""
    year = int(year)
    return pd.Timestamp(year, *SUMMER_FIRST), pd.Timestamp(year, *SUMMER_LAST)


def period_of_day(day: Any) -> str:
    """The period showing ``day``: the real summer holding it, else the recent days."""
    day = pd.Timestamp(day).normalize()
    for year in SUMMERS:
        first, last = summer_days(year)
        if first <= day <= last:
            return str(year)
    return RECENT


def period_of(alerts: pd.DataFrame) -> str:
    """The period ``alerts`` are of (what :func:`load` noted; alerts built otherwise: "recent")."""
    return str(alerts.attrs.get(PERIOD_ATTR, RECENT))


def _dataset(period: str) -> str:
    return DATASET if period == RECENT else REAL_DATASET


def load(period: Any = DEFAULT_PERIOD, last_days: int | None = RECENT_DAYS + WINDOW - 1,
         **options: Any) -> pd.DataFrame:
    """The department alerts of a period: the recent days of the public grid ``weather_daily``, or
    a real summer ("2018", "2019", "2020") of Météo-France's ``temperature_departments_daily``.

    ``last_days``: the grid's last days used (None: all of them); enough for the day selector
    and the 3-day window; a summer runs from 1 June to 15 September, its first days with a full
    window. ``options`` are catalogue parameters. Raises
    :class:`occidata.dashboards.data.NotPublicError` if the entry is not public, ValueError for an
    unknown period or a summer without data. The alerts say whether they come from demonstration
    data (:func:`occidata.dashboards.data.is_demo`) and their period (:func:`period_of`).
    """
    period = period_key(period)
    if period == RECENT:
        grid = dash_data.load_public(DATASET, **options)
        alerts = department_alerts(department_temperatures(grid, last_days=last_days))
    else:
        first, last = summer_days(period)
        rows = dash_data.load_public(REAL_DATASET, start=first - pd.Timedelta(days=WINDOW - 1),
                                     end=last + pd.Timedelta(days=1), **options)
        temperatures = table_temperatures(rows)
        if temperatures["tmax"].empty:
            raise ValueError(f"{REAL_DATASET} n'a aucune température d'Occitanie du {first:%Y-%m-%d} "
                             f"au {last:%Y-%m-%d} : été {period} indisponible")
        alerts = department_alerts(temperatures, decimals=DECIMALS[REAL_DATASET])
        alerts = alerts[alerts["day"] >= first].reset_index(drop=True)
    alerts.attrs[PERIOD_ATTR] = period
    return dash_data.mark_demo(alerts, dash_data.demonstration(_dataset(period)))


def by_period(opening: Any = DEFAULT_PERIOD) -> Periods:
    """Every period of the page, each loaded through :func:`load` at first need; the page opens on
    ``opening``."""
    return Periods(lambda key: load(period=key), PERIODS, period_key(opening))


def table_temperatures(rows: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Rows of ``temperature_departments_daily`` as :func:`department_temperatures` gives the grid's:
    ``{"tmin": frame, "tmax": frame}``, indexed by day (every calendar day from the first to the
    last, NaN where a département has no value), one column per département of Occitanie with
    heat-wave thresholds, in code order; °C as Météo-France publishes them."""
    codes = sorted(compute.heatwave_thresholds())
    rows = rows[rows["department_code"].astype(str).isin(codes)]
    days = pd.DatetimeIndex(rows["date"])
    if days.tz is not None:  # UTC midnight of the French calendar day
        days = days.tz_convert(None)
    rows = rows.assign(day=days.normalize(), department_code=rows["department_code"].astype(str))
    present = [c for c in codes if c in set(rows["department_code"])]
    every_day = pd.date_range(rows["day"].min(), rows["day"].max(), freq="D") if len(rows) else pd.DatetimeIndex([])
    out = {}
    for name in ("tmin", "tmax"):
        frame = rows.pivot_table(index="day", columns="department_code", values=name, aggfunc="mean", dropna=False)
        frame = frame.reindex(index=every_day, columns=present).astype("float64")
        frame.columns.name = frame.index.name = None
        out[name] = frame
    return out


def department_temperatures(grid: Any, last_days: int | None = None) -> dict[str, pd.DataFrame]:
    """Daily mean of ``tmin`` and ``tmax`` over each department's cells of the grid.

    Parameters
    ----------
    grid
        The ``weather_daily`` Dataset (``tmin``, ``tmax`` over (time, y, x), ``department`` codes).
    last_days
        Keep only the grid's last ``last_days`` days (None: every day).

    Returns
    -------
    dict
        ``{"tmin": frame, "tmax": frame}``, each indexed by day (every calendar day from the first
        to the last, NaN where the grid has no day), one column per department code ("09"...) that
        has cells in the grid, in code order; float64 °C, the mean ignoring missing cells.
    """
    if last_days is not None:
        grid = grid.isel(time=slice(-int(last_days), None))
    mask = np.asarray(grid["department"].values)
    days = pd.DatetimeIndex(pd.to_datetime(grid["time"].values)).normalize()
    thresholds = compute.heatwave_thresholds()
    codes = [code for code in sorted(thresholds) if (mask == int(code)).any()]
    out = {}
    for name in ("tmin", "tmax"):
        values = np.asarray(grid[name].values, dtype=np.float64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=RuntimeWarning)  # a day with every cell missing
            columns = {code: np.nanmean(values[:, mask == int(code)], axis=1) for code in codes}
        frame = pd.DataFrame(columns, index=days)
        frame = frame[~frame.index.duplicated(keep="last")].sort_index()
        out[name] = frame.asfreq("D") if len(frame) else frame
    return out


def _level_codes(ibmn: np.ndarray, ibmx: np.ndarray, thn: np.ndarray, thx: np.ndarray,
                 alert: np.ndarray) -> np.ndarray:
    """The level (one of :data:`LEVELS`) of each value; ``alert`` is the criterion's result."""
    missing = np.isnan(ibmn) | np.isnan(ibmx)
    reached = (ibmn >= thn).astype(int) + (ibmx >= thx).astype(int)
    level = np.where(reached >= 1, "near", "below").astype(object)
    level[np.asarray(alert, dtype=bool)] = "alert"
    level[missing] = "missing"
    return level


def department_alerts(temperatures: dict[str, pd.DataFrame], window: int = WINDOW,
                      decimals: int = DECIMALS[DATASET]) -> pd.DataFrame:
    """The heat-wave criterion on each department's mean temperatures, day by day.

    Parameters
    ----------
    temperatures
        What :func:`department_temperatures` returns.
    window
        Days in the running means (3, Météo-France's criterion).
    decimals
        The temperatures' resolution: IBMn and IBMx are rounded to it before they are compared
        (:mod:`occidata.compute.resolution`); :data:`DECIMALS` of the source.

    Returns
    -------
    pandas.DataFrame
        One row per (day, department), sorted by day then code: ``day``, ``code``, ``name``,
        ``tmin``, ``tmax`` (department means), ``ibmn``, ``ibmx`` (:func:`occidata.compute.heatwave_alerts`),
        ``tmin_threshold``, ``tmax_threshold``, ``verified`` (two sources agree on the thresholds),
        ``alert`` (both indicators at or above their thresholds) and ``level`` (one of :data:`LEVELS`:
        "missing" without a full window, "below", "near" when one indicator reaches its threshold,
        "alert").

    Raises
    ------
    ValueError
        From :func:`occidata.compute.heatwave_alerts`: fewer days than ``window``, all values missing.
    """
    tmin, tmax = temperatures["tmin"], temperatures["tmax"]
    codes = list(tmin.columns)
    table = compute.heatwave_thresholds()
    thn = np.array([table[c]["tmin"] for c in codes])
    thx = np.array([table[c]["tmax"] for c in codes])
    result = compute.heatwave_alerts(tmin.to_numpy(), tmax.to_numpy(), thn, thx, window=window, backend="auto",
                                     decimals=decimals)
    ibmn, ibmx, alert = (np.asarray(to_host(a)) for a in (result.ibmn, result.ibmx, result.alert))
    days, ncodes = tmin.shape
    level = _level_codes(ibmn, ibmx, thn[None, :], thx[None, :], alert)
    return pd.DataFrame({
        "day": np.repeat(tmin.index.to_numpy(), ncodes),
        "code": np.tile(codes, days),
        "name": np.tile([table[c]["name"] for c in codes], days),
        "tmin": tmin.to_numpy().ravel(),
        "tmax": tmax.to_numpy().ravel(),
        "ibmn": ibmn.ravel(),
        "ibmx": ibmx.ravel(),
        "tmin_threshold": np.tile(thn, days),
        "tmax_threshold": np.tile(thx, days),
        "verified": np.tile([bool(table[c].get("verified", False)) for c in codes], days),
        "alert": alert.ravel().astype(bool),
        "level": level.ravel(),
    })


def recent_days(alerts: pd.DataFrame, count: int = RECENT_DAYS) -> list[pd.Timestamp]:
    """The last ``count`` days of ``alerts``, the most recent first."""
    days = sorted(pd.DatetimeIndex(alerts["day"]).unique())
    return list(reversed(days[-count:]))


def on_day(alerts: pd.DataFrame, day: Any) -> pd.DataFrame:
    """The rows of ``day`` (one per department, in code order)."""
    return alerts[alerts["day"] == pd.Timestamp(day)].sort_values("code").reset_index(drop=True)


def default_department(alerts: pd.DataFrame, day: Any = None) -> str:
    """The department to chart first: the one whose IBMx is closest to (or furthest above) its
    threshold on ``day`` (the latest day when None), among those at the most serious level."""
    day = recent_days(alerts, 1)[0] if day is None else pd.Timestamp(day)
    rows = on_day(alerts, day)
    if rows.empty:
        return str(alerts["code"].iloc[0])
    rank = rows["level"].map({lv: i for i, lv in enumerate(LEVELS)})
    margin = (rows["ibmx"] - rows["tmax_threshold"]).fillna(-np.inf)
    order = pd.DataFrame({"rank": rank, "margin": margin, "code": rows["code"]})
    best = order.sort_values(["rank", "margin", "code"], ascending=[False, False, True]).iloc[0]
    return str(best["code"])


def default_day(alerts: pd.DataFrame) -> pd.Timestamp:
    """The day the page opens on: the latest day of the recent days; in a past summer, its day
    with the most départements at the heat-wave thresholds (then at one threshold, then with the
    highest IBMx above its threshold; the earliest of equal days), so that it opens on a heat wave."""
    if period_of(alerts) == RECENT:
        return recent_days(alerts, 1)[0]
    per_day = (alerts.assign(at=alerts["level"] == "alert", near=alerts["level"] == "near",
                             margin=(alerts["ibmx"] - alerts["tmax_threshold"]).fillna(-np.inf))
               .groupby("day").agg(at=("at", "sum"), near=("near", "sum"), margin=("margin", "max")))
    return pd.Timestamp(per_day.sort_values(["at", "near", "margin"], ascending=False, kind="stable").index[0])


def _offered_days(alerts: pd.DataFrame) -> list[pd.Timestamp]:
    """The days the live day selector offers, the most recent first: the last :data:`RECENT_DAYS`
    of the recent days, every day of a past summer."""
    return recent_days(alerts, RECENT_DAYS if period_of(alerts) == RECENT else len(alerts))


# --------------------------------------------------------------------------- formatting


def format_day(day: Any, lang: str) -> str:
    """A day as citizens read it: « 13 août 2023 » or "13 August 2023"."""
    return long_date(day, lang)


def format_temperature(value: Any, decimals: int = 1) -> str:
    """A temperature with ``decimals`` decimals ("23.4"), "—" when missing."""
    if value is None or pd.isna(value):
        return "—"
    return f"{float(value):.{decimals}f}"


def level_name(level: str, lang: str) -> str:
    """The level's name for citizens in ``lang``."""
    return LEVEL_NAMES[lang][level]


def _lang(lang: str) -> str:
    if lang not in TEXT:
        raise ValueError(f"lang={lang!r} is not known; use one of {', '.join(TEXT)}")
    return lang


def _title(lang: str) -> str:
    from occidata.dashboards import BY_SLUG

    entry = BY_SLUG[SLUG]
    return entry.title_fr if lang == "fr" else entry.title_en


def _fold(text: Any) -> str:
    decomposed = unicodedata.normalize("NFKD", str(text))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().replace("-", " ").strip()


# --------------------------------------------------------------------------- view (pure)


def _map_shapes(rows: pd.DataFrame, shapes: list[dict], lang: str) -> tuple[list[dict], pd.DataFrame]:
    """Department shapes filled by level; departments without a shape become prefecture points."""
    from occidata.datasets import geography

    by_name = {_fold(r.name): r for r in rows.itertuples()}
    by_code = {str(r.code): r for r in rows.itertuples()}
    filled, matched = [], set()
    for shape in shapes:
        row = by_code.get(str(shape.get("code", ""))) or by_name.get(_fold(shape.get("name", "")))
        if row is None:
            filled.append(dict(shape))
            continue
        matched.add(row.code)
        filled.append({**shape, "name": f"{row.name} : {level_name(row.level, lang)}" if lang == "fr"
                       else f"{row.name}: {level_name(row.level, lang)}",
                       "fill": LEVEL_COLOURS[row.level], "text": LEVEL_SHORT[lang][row.level]})
    prefectures = geography.departments().set_index("code")
    rest = rows[~rows["code"].isin(matched)]
    points = pd.DataFrame({
        "lon": [float(prefectures.loc[c, "prefecture_lon"]) for c in rest["code"]],
        "lat": [float(prefectures.loc[c, "prefecture_lat"]) for c in rest["code"]],
        "label": [f"{n} : {level_name(lv, lang)}" if lang == "fr" else f"{n}: {level_name(lv, lang)}"
                  for n, lv in zip(rest["name"], rest["level"])],
        "colour": [LEVEL_COLOURS[lv] for lv in rest["level"]],
        "text": [LEVEL_SHORT[lang][lv] for lv in rest["level"]],
    })
    return filled, points


def _legend(lang: str) -> str:
    """The levels as badges with their short map text: colour is never the only cue."""
    items = "".join(
        f"<li>{render.badge(f'{LEVEL_SHORT[lang][lv]} — {level_name(lv, lang)}', LEVEL_COLOURS[lv])}</li>"
        for lv in reversed(LEVELS))
    return (f'<div class="od-legend"><p><strong>{render.escape(TEXT[lang]["legend"])}</strong></p>'
            f'<ul style="list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.4em">{items}</ul></div>')


def _decimals(alerts: pd.DataFrame) -> int:
    """The resolution of the temperatures behind ``alerts`` (:data:`DECIMALS`)."""
    return DECIMALS[_dataset(period_of(alerts))]


def _day_table(rows: pd.DataFrame, lang: str, day_text: str, decimals: int) -> str:
    t = TEXT[lang]
    frame = pd.DataFrame({
        "name": rows["name"].astype(str).to_numpy(),
        "level": [level_name(lv, lang) for lv in rows["level"]],
        "ibmn": [format_temperature(v, decimals) for v in rows["ibmn"]],
        "tmin_threshold": [format_temperature(v) for v in rows["tmin_threshold"]],
        "ibmx": [format_temperature(v, decimals) for v in rows["ibmx"]],
        "tmax_threshold": [format_temperature(v) for v in rows["tmax_threshold"]],
    })
    columns = {"name": t["col_department"], "level": t["col_level"], "ibmn": t["col_ibmn"],
               "tmin_threshold": t["col_tmin_threshold"], "ibmx": t["col_ibmx"],
               "tmax_threshold": t["col_tmax_threshold"]}
    return render.html_table(frame, caption=t["day_caption"].format(day=day_text), columns=columns)


def _recent_table(alerts: pd.DataFrame, day: pd.Timestamp, lang: str) -> str:
    """Departments down, the last :data:`TABLE_DAYS` days up to ``day`` across, levels in words."""
    t = TEXT[lang]
    days = [d for d in sorted(pd.DatetimeIndex(alerts["day"]).unique()) if d <= day][-TABLE_DAYS:]
    chosen = alerts[alerts["day"].isin(days)]
    wide = chosen.pivot(index="code", columns="day", values="level").reindex(columns=days)
    names = chosen.drop_duplicates("code").set_index("code")["name"]
    frame = pd.DataFrame({"name": [names[c] for c in wide.index]})
    columns = {"name": t["col_department"]}
    for i, d in enumerate(days):
        key = f"d{i}"
        frame[key] = [level_name(lv, lang) if isinstance(lv, str) else "—" for lv in wide[d]]
        columns[key] = render.format_date(d, lang)
    caption = t["recent_caption"].format(first=format_day(days[0], lang), last=format_day(days[-1], lang))
    return render.html_table(frame, caption=caption, columns=columns)


def _series(alerts: pd.DataFrame, code: str, day: pd.Timestamp, lang: str) -> str:
    """Chart and table of one department's indicators over the recent days up to ``day``, to the
    resolution of their source (:data:`DECIMALS`)."""
    t = TEXT[lang]
    decimals = _decimals(alerts)
    rows = alerts[(alerts["code"] == code) & (alerts["day"] <= day)].sort_values("day").tail(RECENT_DAYS)
    name = str(rows["name"].iloc[0])
    thn, thx = float(rows["tmin_threshold"].iloc[0]), float(rows["tmax_threshold"].iloc[0])
    days = list(pd.DatetimeIndex(rows["day"]))
    first, last = format_day(days[0], lang), format_day(days[-1], lang)
    chart = render.svg_line_chart(
        [{"label": t["ibmx"], "x": days, "y": rows["ibmx"].to_numpy(dtype=float)},
         {"label": t["ibmn"], "x": days, "y": rows["ibmn"].to_numpy(dtype=float)}],
        title=t["chart_title"].format(name=name, of_name=of_place(name, lang), first=first, last=last),
        description=t["chart_desc"].format(of_name=of_place(name, lang), tmin=format_temperature(thn),
                                           tmax=format_temperature(thx)),
        y_label=t["y_label"],
        thresholds=[{"value": thx, "label": t["threshold_x"]}, {"value": thn, "label": t["threshold_n"]}])
    frame = pd.DataFrame({
        "day": [render.format_date(d, lang) for d in reversed(days)],
        "level": [level_name(lv, lang) for lv in rows["level"].iloc[::-1]],
        "tmin": [format_temperature(v, decimals) for v in rows["tmin"].iloc[::-1]],
        "ibmn": [format_temperature(v, decimals) for v in rows["ibmn"].iloc[::-1]],
        "tmax": [format_temperature(v, decimals) for v in rows["tmax"].iloc[::-1]],
        "ibmx": [format_temperature(v, decimals) for v in rows["ibmx"].iloc[::-1]],
    })
    columns = {"day": t["col_day"], "level": t["col_level"], "tmin": t["col_tmin"], "ibmn": t["col_ibmn"],
               "tmax": t["col_tmax"], "ibmx": t["col_ibmx"]}
    table = render.html_table(frame, caption=t["series_caption"].format(of_name=of_place(name, lang)), columns=columns)
    heading = f"<h2>{render.escape(t['series_heading'].format(name=name))}</h2>"
    return heading + chart + table


def _thresholds(alerts: pd.DataFrame, lang: str) -> str:
    """The thresholds of the departments, explained."""
    t = TEXT[lang]
    rows = alerts.drop_duplicates("code").sort_values("code")
    frame = pd.DataFrame({
        "name": rows["name"].astype(str).to_numpy(),
        "code": rows["code"].astype(str).to_numpy(),
        "tmin_threshold": [format_temperature(v) for v in rows["tmin_threshold"]],
        "tmax_threshold": [format_temperature(v) for v in rows["tmax_threshold"]],
        "source": [t["verified"] if v else t["to_confirm"] for v in rows["verified"]],
    })
    columns = {"name": t["col_department"], "code": t["col_code"], "tmin_threshold": t["col_tmin_threshold"],
               "tmax_threshold": t["col_tmax_threshold"], "source": t["col_source"]}
    cells = t["cells_grid" if period_of(alerts) == RECENT else "cells_real"]
    parts = [f"<h2>{render.escape(t['thresholds_heading'])}</h2>",
             f"<p>{render.escape(t['thresholds_text'])} {render.escape(cells)}</p>",
             render.html_table(frame, caption=t["thresholds_caption"], columns=columns)]
    if not rows["verified"].all():
        parts.append(f"<p>{render.escape(t['unverified'])}</p>")
    return "".join(parts)


def _headline(rows: pd.DataFrame, lang: str, day_text: str) -> str:
    """What matters first: how many departments are at the heat-wave thresholds on the day (and
    which), then the number of departments at each level."""
    t = TEXT[lang]
    one, many = t["department_word"]
    at = rows[rows["level"] == "alert"]
    departments = count(len(at), one, many, lang) if len(at) else t["none"]
    figure = t["summary"].format(departments=departments, total=len(rows), day=day_text)
    parts = [f'<p><span class="od-figure">{render.escape(figure)}</span></p>']
    if len(at):
        parts.append(f"<p>{render.escape(t['where'].format(names=', '.join(at['name'])))}</p>")
    levels = rows["level"].value_counts()
    items = "".join(
        f"<li>{render.badge(f'{LEVEL_SHORT[lang][lv]} — {level_name(lv, lang)}', LEVEL_COLOURS[lv])} "
        f"{render.escape(count(int(levels[lv]), one, many, lang))}</li>" for lv in reversed(LEVELS) if lv in levels)
    parts.append(f"<p>{render.escape(t['per_level'].format(day=day_text))}</p>"
                 f'<ul style="list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.4em">{items}</ul>')
    return f'<div class="od-headline">{"".join(parts)}</div>'


def _alerts_of(data: pd.DataFrame | Periods, period: Any, day: Any) -> pd.DataFrame:
    """The alerts a view shows: ``data`` itself, or the period asked of :class:`Periods` (None: the
    period holding ``day``, else the opening one)."""
    if isinstance(data, Periods):
        if period is None:
            period = data.opening if day is None else period_of_day(day)
        return data(period_key(period))
    if period is not None and period_key(period) != period_of(data):
        raise ValueError(f"period={period!r}: these alerts are of the period {period_of(data)!r}")
    return data


def _period_name(period: str, lang: str) -> str:
    t = TEXT[lang]
    return t["period_recent"] if period == RECENT else t["period_summer"].format(year=period)


def _archive_note(period: str, lang: str) -> str | None:
    """What the top of the page says of a past summer (None for the recent days)."""
    if period == RECENT:
        return None
    first, last = summer_days(period)
    return TEXT[lang]["archive"].format(year=period, first=format_day(first, lang), last=format_day(last, lang))


def view(alerts: pd.DataFrame | Periods, *, lang: str = "fr", period: Any = None, day: Any = None,
         department: str | None = None, shapes: list[dict] | None = None, tiles_url: str | None = None,
         today: Any = None) -> str:
    """The whole page for a period, a day and a department, as HTML (see :func:`render.page`).

    Parameters
    ----------
    alerts
        What :func:`load` (or :func:`department_alerts`) returns, or every period
        (:func:`by_period`).
    lang
        "fr" or "en".
    period
        With :func:`by_period`'s periods: "recent" or a summer ("2019"); None: the period holding
        ``day``, else the opening one. With alerts: None or their own period.
    day
        The day whose levels are mapped (None: :func:`default_day`).
    department
        The code ("31") of the department charted day by day (None: :func:`default_department`).
    shapes, tiles_url
        The map's department shapes (None: :func:`geo.department_shapes`) and optional local tile
        server (None: no tiles requested).
    today
        The date the banner compares the data with (None: today in France).

    Raises
    ------
    ValueError
        For a period the page does not offer, or a day outside the period's data.
    """
    lang = _lang(lang)
    alerts = _alerts_of(alerts, period, day)
    t = TEXT[lang]
    period = period_of(alerts)
    dataset = _dataset(period)
    latest = dash_data.latest_day(alerts, "day")
    day = default_day(alerts) if day is None else pd.Timestamp(day)
    rows = on_day(alerts, day)
    if rows.empty:
        first = pd.Timestamp(alerts["day"].min())
        raise ValueError(f"day={day:%Y-%m-%d} is not in the data of the period {period!r} "
                         f"({first:%Y-%m-%d} .. {latest:%Y-%m-%d})")
    department = default_department(alerts, day) if department is None else str(department)
    day_text = format_day(day, lang)
    shapes = geo.department_shapes() if shapes is None else shapes
    filled, points = _map_shapes(rows, shapes, lang)
    parts = [
        f"<p>{render.escape(t['intro'])}</p>",
        render.notice(t["no_forecast"], "info"),
        f"<h2>{render.escape(t['day_heading'].format(day=day_text))}</h2>",
        render.svg_map(points, shapes=filled, title=t["map_title"].format(day=day_text),
                       description=t["map_desc"].format(total=len(rows), day=day_text), tiles_url=tiles_url),
        _legend(lang),
        _day_table(rows, lang, day_text, _decimals(alerts)),
        f"<h2>{render.escape(t['recent_heading'])}</h2>",
        _recent_table(alerts, day, lang),
        _series(alerts, department, day, lang),
        _thresholds(alerts, lang),
        f"<p>{render.escape(t['source'].format(name=dataset))}</p>",
        credits([dataset], lang),
    ]
    return render.page("".join(parts), lang=lang, title=_title(lang), updated=latest,
                       banner=banner(latest, demo=dash_data.is_demo(alerts), lang=lang, now=today),
                       note=_archive_note(period, lang), headline=_headline(rows, lang, day_text))


def _live_view(data: Periods, *, period: Any = None, day: Any = None, department: str | None = None,
               **options: Any) -> str:
    """:func:`view` for the live page: while the period changes, its controls pass through a day of
    the previous period, which then gives way to the new period's :func:`default_day`."""
    if period is not None and day is not None:
        alerts = data(period_key(period))
        if on_day(alerts, day).empty:
            day, department = None, None
    return view(data, period=period, day=day, department=department, **options)


# --------------------------------------------------------------------------- widgets

#: The snapshot's selection, given to the layout so that no widget is created for it: None
#: picks the same defaults as the live controls' initial values (see :func:`view`).
SNAPSHOT_VALUES = {"period": DEFAULT_PERIOD, "day": None, "department": None}


def _as_periods(data: pd.DataFrame | Periods) -> Periods:
    return data if isinstance(data, Periods) else Periods.of(data, period_of(data))


def controls(alerts_source, lang: str = "fr") -> dict:
    """The page's controls in ``lang``: the period (when several can be read: recent days, real
    summers), the day (latest first) and the department; choosing a period offers its days and
    selects its :func:`default_day`.

    ``alerts_source`` is a function returning the alerts or every period (:func:`by_period`),
    called here so that a data error reaches :func:`layout.show_dashboard`'s notice, not a traceback.
    """
    import ipywidgets as widgets

    t = TEXT[_lang(lang)]
    periods = _as_periods(alerts_source())
    alerts = periods()
    opening = default_day(alerts)
    day = widgets.Dropdown(options=[(format_day(d, lang), d) for d in _offered_days(alerts)], value=opening,
                           description=t["day"])
    names = alerts.drop_duplicates("code").sort_values("name")
    department = widgets.Dropdown(options=[(str(n), str(c)) for n, c in zip(names["name"], names["code"])],
                                  value=default_department(alerts, opening), description=t["department"])
    offered = periods.available()
    if len(offered) == 1:
        return {"day": day, "department": department}
    period = widgets.Dropdown(options=[(_period_name(key, lang), key) for key in offered],
                              value=periods.opening, description=t["period"])

    def offer_days(change) -> None:
        try:
            chosen = periods(change["new"])
        except Exception:  # noqa: BLE001 - the page, redrawn for this period, shows the notice
            return
        shown = default_day(chosen)
        day.options = [(format_day(d, lang), d) for d in _offered_days(chosen)]
        day.value = shown
        department.value = default_department(chosen, shown)

    period.observe(offer_days, names="value")
    return {"period": period, "day": day, "department": department}


def _static_days(periods: Periods) -> list[pd.Timestamp]:
    """The days the static page offers, the most recent first: the last
    :data:`explorer.STATIC_DAYS` days of the recent period, and in each real summer that can be
    read its :func:`default_day` and the days at the heat-wave thresholds closest to it (as many
    at most)."""
    days: set[pd.Timestamp] = set()
    for key in periods.available():
        alerts = periods(key)
        if key == RECENT:
            days.update(recent_days(alerts, explorer.STATIC_DAYS))
            continue
        peak = default_day(alerts)
        at = sorted(pd.DatetimeIndex(alerts.loc[alerts["level"] == "alert", "day"]).unique(),
                    key=lambda d: (abs(d - peak), d))
        days.update([peak, *[d for d in at if d != peak][:explorer.STATIC_DAYS - 1]])
    return sorted(days, reverse=True)


def static_views(alerts: pd.DataFrame | Periods, lang: str = "fr") -> explorer.StaticViews:
    """The static page's control: a day, among the last days and the real summers' heat-wave days
    (each day says its period: :func:`period_of_day`); the page opens on the opening period's
    :func:`default_day`, and the chart shows each day's default department."""
    periods = _as_periods(alerts)
    days = _static_days(periods)
    choice = explorer.day_choice("day", TEXT[_lang(lang)]["day"], days, lang, default=default_day(periods()),
                                 count=len(days))
    return explorer.StaticViews((choice,), fixed={"department": None})


def show(lang: str = "fr", snapshot: bool = False, period: Any = DEFAULT_PERIOD) -> None:
    """Display the dashboard in a notebook (Voilà): live controls and page, or the static snapshot.

    ``period``: the period the page opens with ("recent", or a real summer: "2018", "2019",
    "2020"); the page offers all of them. Data are read at first need, one period at a time,
    through :func:`load` (public entries only); the map's shapes and optional tile server come
    from the configuration (:mod:`occidata.dashboards.geo`). Returns None, so that the notebook
    cell that calls it shows the page once and nothing else.
    """
    opening = period_key(period)
    layout.show_with_map(SLUG, lambda: by_period(opening), _live_view, controls,
                         {**SNAPSHOT_VALUES, "period": opening}, lang=lang, snapshot=snapshot,
                         static=static_views)
