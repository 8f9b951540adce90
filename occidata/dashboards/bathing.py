"""Dashboard « Eaux de baignade »: bathing sites, their Directive class and latest samples.

What citizens see (French by default, English through the page's switch):

- a map of the bathing sites, each coloured by its class under Directive 2006/7/EC and marked
  with a letter, beside a table holding the same sites, classes and latest sample values;
- a season selector: the class of season *S* is assessed on the seasons *S-3 .. S* (Annex II
  percentiles, Annex I limits, computed by :func:`occidata.compute.bathing_water_class_table`),
  the latest samples are those of season *S*;
- a search by commune (accents and case ignored).

The data functions (:func:`seasons`, :func:`assess_sites`, :func:`latest_samples`,
:func:`match_communes`) and :func:`view` are pure: they take the sample table of the catalogue
entry ``bathing_water`` and return frames or HTML, so they are tested without a kernel.
:func:`show` wires them to widgets through :func:`occidata.dashboards.layout.show_dashboard`.
"""

from __future__ import annotations

import unicodedata
from typing import Any

import numpy as np
import pandas as pd

from occidata import compute
from occidata.compute.bathing_water import CLASSES
from occidata.dashboards import data as dash_data
from occidata.dashboards import explorer, geo, layout, render
from occidata.dashboards.credits import credits
from occidata.dashboards.freshness import banner
from occidata.dashboards.wording import count, long_date, plural

__all__ = ["CLASS_COLOURS", "CLASS_NAMES", "SLUG", "SNAPSHOT_VALUES", "assess_sites", "class_counts", "controls",
           "latest_samples", "load", "match_communes", "seasons", "show", "view"]

SLUG = "baignade"
DATASET = "bathing_water"
#: Samples needed for a class: 16 by Article 4(2) of the Directive (12 or 8 where its Annex IV
#: allows fewer); fewer gives "insufficient samples".
MIN_SAMPLES = 16
#: Latest samples listed under the map when no commune is searched.
LATEST_COUNT = 10

#: Colour of each class (the EEA's bathing-water map colours, darkened for contrast).
CLASS_COLOURS = {
    "excellent": "#1565c0",
    "good": "#2e7d32",
    "sufficient": "#f9a825",
    "poor": "#c62828",
    "insufficient samples": "#757575",
}

CLASS_NAMES = {
    "fr": {"excellent": "Excellente", "good": "Bonne", "sufficient": "Suffisante", "poor": "Insuffisante",
           "insufficient samples": "Prélèvements insuffisants"},
    "en": {"excellent": "Excellent", "good": "Good", "sufficient": "Sufficient", "poor": "Poor",
           "insufficient samples": "Insufficient samples"},
}
#: The letter drawn beside each site on the map, so that the class is not told by colour only.
CLASS_LETTERS = {
    "fr": {"excellent": "E", "good": "B", "sufficient": "S", "poor": "I", "insufficient samples": "?"},
    "en": {"excellent": "E", "good": "G", "sufficient": "S", "poor": "P", "insufficient samples": "?"},
}
WATER_TYPES = {
    "fr": {"coastal": "mer", "transitional": "lagune", "lake": "lac", "river": "rivière", "inland": "eau douce"},
    "en": {"coastal": "sea", "transitional": "lagoon", "lake": "lake", "river": "river", "inland": "inland water"},
}
STATUSES = {
    "fr": {"routine": "contrôle", "pre_season": "avant saison", "short_term_pollution": "pollution de courte durée",
           "replacement": "remplacement", "confirmation": "confirmation", "missing_sample": "non prélevé"},
    "en": {"routine": "routine", "pre_season": "pre-season", "short_term_pollution": "short-term pollution",
           "replacement": "replacement", "confirmation": "confirmation", "missing_sample": "not taken"},
}

TEXT = {
    "fr": {
        "season": "Saison",
        "commune": "Commune",
        "commune_placeholder": "Toutes les communes",
        "intro": ("Le classement d'un site suit la directive européenne 2006/7/CE : il est calculé sur les "
                  "prélèvements des quatre dernières saisons ({first}–{last}), à partir des bactéries "
                  "E. coli et entérocoques intestinaux. Il faut au moins {min_samples} prélèvements pour "
                  "classer un site. Les derniers prélèvements sont ceux de la saison {last}."),
        "map_title": "Carte des sites de baignade, saison {season}",
        "map_desc": ("{sites} sur la carte des départements, chacun avec une couleur et "
                     "une lettre selon son classement ; le tableau qui suit donne les mêmes informations."),
        "site": ("site de baignade placé", "sites de baignade placés"),
        "sites": ("site", "sites"),
        "alert": "{sites} sur {total} en qualité « Insuffisante »",
        "no_alert": "Aucun site sur {total} en qualité « Insuffisante »",
        "alert_where": "Baignade déconseillée ou interdite : {names}.",
        "per_class": "Classement {first}–{last} :",
        "legend": "Légende des classes",
        "sites_caption": "Classement des sites de baignade, évaluation {first}–{last}",
        "latest_caption": "Derniers prélèvements, saison {season}",
        "latest_caption_commune": "Prélèvements de la saison {season} : {communes}",
        "counts_caption": "Nombre de sites par classe, évaluation {first}–{last}",
        "col_site": "Site", "col_commune": "Commune", "col_department": "Département", "col_water": "Eau",
        "col_class": "Classement", "col_letter": "Repère", "col_n": "Prélèvements (4 saisons)",
        "col_date": "Dernier prélèvement", "col_date_sample": "Date", "col_ecoli": "E. coli (UFC/100 ml)",
        "col_entero": "Entérocoques (UFC/100 ml)", "col_status": "Type", "col_count": "Sites",
        "no_match": "Aucune commune ne correspond à « {query} ». Communes avec un site : {communes}.",
        "no_season": "Aucun prélèvement pour la saison {season}.",
        "few_samples": ("{sites} sur {total} {verb} pas encore assez de prélèvements ({min_samples} sur "
                        "quatre saisons) pour être {classed} : {their} classement est "
                        "« Prélèvements insuffisants »."),
        "few_words": (("n'a", "classé", "son"), ("n'ont", "classés", "leur")),
        "units": ("UFC/100 ml : unités formant colonie dans 100 ml d'eau. « <15 » : sous le seuil de "
                  "détection du laboratoire."),
        "source": "Source : catalogue Occidata, jeu « bathing_water » (données publiques).",
    },
    "en": {
        "season": "Season",
        "commune": "Commune",
        "commune_placeholder": "All communes",
        "intro": ("A site's class follows the European Directive 2006/7/EC: it is computed from the samples "
                  "of the last four seasons ({first}–{last}), from E. coli and intestinal enterococci "
                  "bacteria. At least {min_samples} samples are needed to classify a site. The latest "
                  "samples are those of the {last} season."),
        "map_title": "Map of the bathing sites, {season} season",
        "map_desc": ("{sites} placed on the map of the departments, each with a colour and a letter "
                     "for its class; the table below gives the same information."),
        "site": ("bathing site", "bathing sites"),
        "sites": ("site", "sites"),
        "alert": "{sites} of {total} in \u201cPoor\u201d quality",
        "no_alert": "No site of {total} in \u201cPoor\u201d quality",
        "alert_where": "Bathing advised against or forbidden: {names}.",
        "per_class": "Classes {first}–{last}:",
        "legend": "Class legend",
        "sites_caption": "Class of the bathing sites, assessment {first}–{last}",
        "latest_caption": "Latest samples, {season} season",
        "latest_caption_commune": "Samples of the {season} season: {communes}",
        "counts_caption": "Sites per class, assessment {first}–{last}",
        "col_site": "Site", "col_commune": "Commune", "col_department": "Department", "col_water": "Water",
        "col_class": "Class", "col_letter": "Mark", "col_n": "Samples (4 seasons)",
        "col_date": "Latest sample", "col_date_sample": "Date", "col_ecoli": "E. coli (cfu/100 ml)",
        "col_entero": "Enterococci (cfu/100 ml)", "col_status": "Kind", "col_count": "Sites",
        "no_match": "No commune matches “{query}”. Communes with a site: {communes}.",
        "no_season": "No sample for the {season} season.",
        "few_samples": ("{sites} of {total} {verb} not yet have enough samples ({min_samples} over four "
                        "seasons) to be {classed}: {their} class is “Insufficient samples”."),
        "few_words": (("does", "classified", "its"), ("do", "classified", "their")),
        "units": ("cfu/100 ml: colony-forming units in 100 ml of water. “<15”: below the laboratory's "
                  "detection limit."),
        "source": "Source: Occidata catalogue, dataset “bathing_water” (public data).",
    },
}


# --------------------------------------------------------------------------- data (pure)


def load(**options: Any) -> pd.DataFrame:
    """The public sample table ``bathing_water`` (every season), through the public-only loader.

    ``options`` are catalogue parameters (``year=2024``, ``department="Hérault"``).
    Raises :class:`occidata.dashboards.data.NotPublicError` if the entry is not public.
    The table says whether it holds demonstration data (:func:`occidata.dashboards.data.is_demo`).
    """
    return dash_data.mark_demo(dash_data.load_public(DATASET, **options), dash_data.demonstration(DATASET))


def seasons(samples: pd.DataFrame) -> list[int]:
    """The bathing seasons present in ``samples``, oldest first."""
    return sorted(int(s) for s in samples["season"].dropna().unique())


def _fold(text: Any) -> str:
    """``text`` without accents, case-folded, spaces trimmed: for searching names."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


def match_communes(samples: pd.DataFrame, query: str | None) -> list[str]:
    """The communes of ``samples`` whose name contains ``query`` (accents and case ignored).

    An empty or None query matches every commune. The result is sorted by name.
    """
    names = sorted({str(c) for c in samples["commune"].dropna().unique()}, key=_fold)
    wanted = _fold(query or "")
    if not wanted:
        return names
    exact = [n for n in names if _fold(n) == wanted]
    return exact or [n for n in names if wanted in _fold(n)]


def _window(samples: pd.DataFrame, season: int) -> pd.DataFrame:
    """The samples of the assessment ending with ``season``: seasons ``season-3 .. season``."""
    span = compute.bathing_water.rules()["seasons"]
    in_window = (samples["season"] > season - span) & (samples["season"] <= season)
    return samples[in_window.fillna(False).to_numpy(dtype=bool)]


def _latest_per_site(samples: pd.DataFrame) -> pd.DataFrame:
    """The most recent sample with a value of each site (index ``site_id``)."""
    valued = samples[samples["e_coli"].notna() | samples["enterococci"].notna()]
    ordered = valued.sort_values(["site_id", "sample_date"], kind="stable")
    last = ordered.groupby("site_id", sort=True).tail(1).set_index("site_id")
    return last[["sample_date", "e_coli", "e_coli_flag", "enterococci", "enterococci_flag"]].rename(
        columns=lambda c: f"last_{c}" if c != "sample_date" else "last_date")


def assess_sites(samples: pd.DataFrame, season: int, min_samples: int = MIN_SAMPLES) -> pd.DataFrame:
    """Class of each bathing site for the assessment ending with ``season``.

    Parameters
    ----------
    samples
        The ``bathing_water`` table (one row per sample).
    season
        The last season of the assessment; the four seasons ``season-3 .. season`` are used.
    min_samples
        Samples needed for a class (16, 12 or 8; see :func:`occidata.compute.bathing_water_class`).

    Returns
    -------
    pandas.DataFrame
        One row per site sampled in the assessment window (index ``site_id``, sorted): ``name``,
        ``commune``, ``department``, ``water_type``, ``longitude``, ``latitude``, ``classification``
        (one of :data:`occidata.compute.bathing_water.CLASSES`), ``n_samples``, ``enterococci_p95``,
        ``e_coli_p95``, ``enterococci_p90``, ``e_coli_p90`` and the site's latest sample of season
        ``season``: ``last_date``, ``last_e_coli``, ``last_e_coli_flag``, ``last_enterococci``,
        ``last_enterococci_flag`` (NaN / NaT when it was not sampled that season). Empty when no
        sample falls in the window.
    """
    window = _window(samples, int(season))
    columns = ["name", "commune", "department", "water_type", "longitude", "latitude", "classification",
               "n_samples", "enterococci_p95", "e_coli_p95", "enterococci_p90", "e_coli_p90", "last_date",
               "last_e_coli", "last_e_coli_flag", "last_enterococci", "last_enterococci_flag"]
    if window.empty or window[["e_coli", "enterococci"]].isna().all().any():
        return pd.DataFrame(columns=columns, index=pd.Index([], name="site_id"))
    classes = compute.bathing_water_class_table(window, min_samples=min_samples, last_season=int(season))
    sites = window.groupby("site_id", sort=True).agg(
        name=("name", "first"), commune=("commune", "first"), department=("department", "first"),
        longitude=("longitude", "first"), latitude=("latitude", "first"))
    table = sites.join(classes[["water_type", "classification", "n_samples", "enterococci_p95", "e_coli_p95",
                                "enterococci_p90", "e_coli_p90"]])
    table = table.join(_latest_per_site(window[window["season"] == int(season)]))
    for column in columns:
        if column not in table:
            table[column] = np.nan
    return table[columns]


def latest_samples(samples: pd.DataFrame, season: int, communes: list[str] | None = None,
                   count: int | None = LATEST_COUNT) -> pd.DataFrame:
    """The samples of ``season``, most recent first, for ``communes`` (all when None).

    At most ``count`` rows (every row when None). Columns: ``sample_date``, ``name``, ``commune``,
    ``e_coli``, ``e_coli_flag``, ``enterococci``, ``enterococci_flag``, ``sample_status``.
    """
    chosen = samples[(samples["season"] == int(season)).fillna(False).to_numpy(dtype=bool)]
    if communes is not None:
        chosen = chosen[chosen["commune"].isin(communes)]
    chosen = chosen.sort_values(["sample_date", "name"], ascending=[False, True], kind="stable")
    columns = ["sample_date", "name", "commune", "e_coli", "e_coli_flag", "enterococci", "enterococci_flag",
               "sample_status"]
    chosen = chosen[columns].reset_index(drop=True)
    return chosen if count is None else chosen.head(count)


def class_counts(sites: pd.DataFrame) -> pd.Series:
    """Number of sites per class, in the order of :data:`CLASSES` (zeros kept)."""
    return sites["classification"].value_counts().reindex(list(CLASSES), fill_value=0).astype(int)


# --------------------------------------------------------------------------- formatting


def format_date(day: Any, lang: str) -> str:
    """A day as citizens read it: « 14 août 2024 » or "14 August 2024"; "—" when missing."""
    if day is None or pd.isna(day):
        return "—"
    return long_date(day, lang)


def format_count(value: Any, flag: Any = None) -> str:
    """A bacteria count as text, with its censoring flag: « <15 », « 240 », « — » when missing."""
    if value is None or pd.isna(value):
        return "—"
    prefix = str(flag) if isinstance(flag, str) and flag in ("<", ">") else ""
    return f"{prefix}{float(value):.0f}"


def class_name(classification: str, lang: str) -> str:
    """The class's name for citizens in ``lang``."""
    return CLASS_NAMES[lang][classification]


def _lang(lang: str) -> str:
    if lang not in TEXT:
        raise ValueError(f"lang={lang!r} is not known; use one of {', '.join(TEXT)}")
    return lang


# --------------------------------------------------------------------------- view (pure)


def _map_points(sites: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The sites as points for :func:`render.svg_map`: the label names the site and its class."""
    names = [class_name(c, lang) for c in sites["classification"]]
    return pd.DataFrame({
        "lon": sites["longitude"].to_numpy(dtype=float),
        "lat": sites["latitude"].to_numpy(dtype=float),
        "label": [f"{n} ({commune}) : {c}" if lang == "fr" else f"{n} ({commune}): {c}"
                  for n, commune, c in zip(sites["name"], sites["commune"], names)],
        "colour": [CLASS_COLOURS[c] for c in sites["classification"]],
        "text": [CLASS_LETTERS[lang][c] for c in sites["classification"]],
    })


def _legend(lang: str) -> str:
    """The classes as badges with their letter: colour is never the only cue."""
    items = "".join(
        f"<li>{render.badge(f'{CLASS_LETTERS[lang][c]} — {class_name(c, lang)}', CLASS_COLOURS[c])}</li>"
        for c in ("excellent", "good", "sufficient", "poor", "insufficient samples"))
    title = render.escape(TEXT[lang]["legend"])
    return (f'<div class="od-legend"><p><strong>{title}</strong></p>'
            f'<ul style="list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.4em">{items}</ul></div>')


def _sites_table(sites: pd.DataFrame, lang: str, first: int, last: int) -> str:
    t = TEXT[lang]
    frame = pd.DataFrame({
        "name": sites["name"].astype(str).to_numpy(),
        "commune": sites["commune"].astype(str).to_numpy(),
        "water": [WATER_TYPES[lang].get(str(w), str(w)) for w in sites["water_type"]],
        "letter": [CLASS_LETTERS[lang][c] for c in sites["classification"]],
        "classification": [class_name(c, lang) for c in sites["classification"]],
        "n_samples": [str(int(n)) for n in sites["n_samples"]],
        "last_date": [format_date(d, lang) for d in sites["last_date"]],
        "e_coli": [format_count(v, f) for v, f in zip(sites["last_e_coli"], sites["last_e_coli_flag"])],
        "enterococci": [format_count(v, f) for v, f in
                        zip(sites["last_enterococci"], sites["last_enterococci_flag"])],
    })
    # The class right after the name, so that it stays on a phone's screen.
    columns = {"name": t["col_site"], "classification": t["col_class"], "letter": t["col_letter"],
               "commune": t["col_commune"], "water": t["col_water"], "n_samples": t["col_n"],
               "last_date": t["col_date"], "e_coli": t["col_ecoli"], "enterococci": t["col_entero"]}
    return render.html_table(frame, caption=t["sites_caption"].format(first=first, last=last), columns=columns)


def _counts_table(sites: pd.DataFrame, lang: str, first: int, last: int) -> str:
    t = TEXT[lang]
    counts = class_counts(sites)
    frame = pd.DataFrame({"classification": [class_name(c, lang) for c in counts.index],
                          "count": [str(int(v)) for v in counts.to_numpy()]})
    return render.html_table(frame, caption=t["counts_caption"].format(first=first, last=last),
                             columns={"classification": t["col_class"], "count": t["col_count"]})


def _samples_table(rows: pd.DataFrame, lang: str, caption: str) -> str:
    t = TEXT[lang]
    frame = pd.DataFrame({
        "date": [format_date(d, lang) for d in rows["sample_date"]],
        "name": rows["name"].astype(str).to_numpy(),
        "commune": rows["commune"].astype(str).to_numpy(),
        "e_coli": [format_count(v, f) for v, f in zip(rows["e_coli"], rows["e_coli_flag"])],
        "enterococci": [format_count(v, f) for v, f in zip(rows["enterococci"], rows["enterococci_flag"])],
        "status": [STATUSES[lang].get(str(s), str(s)) for s in rows["sample_status"]],
    })
    columns = {"date": t["col_date_sample"], "name": t["col_site"], "commune": t["col_commune"],
               "e_coli": t["col_ecoli"], "enterococci": t["col_entero"], "status": t["col_status"]}
    return render.html_table(frame, caption=caption, columns=columns)


def _paragraph(text: str) -> str:
    return f"<p>{render.escape(text)}</p>"


def _headline(sites: pd.DataFrame, lang: str, first: int, last: int) -> str:
    """What matters first: the sites in alert (class « Insuffisante »: bathing advised against or
    forbidden) among those shown, then the number of sites of each class."""
    t = TEXT[lang]
    one, many = t["sites"]
    alert = sites[sites["classification"] == "poor"]
    total = len(sites)
    if len(alert):
        figure = t["alert"].format(sites=count(len(alert), one, many, lang), total=total)
    else:
        figure = t["no_alert"].format(total=total)
    parts = [f'<p><span class="od-figure">{render.escape(figure)}</span></p>']
    if len(alert):
        names = ", ".join(f"{n} ({c})" for n, c in zip(alert["name"], alert["commune"]))
        parts.append(f"<p>{render.escape(t['alert_where'].format(names=names))}</p>")
    counts = class_counts(sites)
    items = "".join(
        f"<li>{render.badge(f'{CLASS_LETTERS[lang][c]} — {class_name(c, lang)}', CLASS_COLOURS[c])} "
        f"{render.escape(count(int(n), one, many, lang))}</li>" for c, n in counts.items() if n)
    parts.append(f"<p>{render.escape(t['per_class'].format(first=first, last=last))}</p>"
                 f'<ul style="list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.4em">{items}</ul>')
    return f'<div class="od-headline">{"".join(parts)}</div>'


def view(samples: pd.DataFrame, *, lang: str = "fr", season: int | None = None, commune: str | None = None,
         min_samples: int = MIN_SAMPLES, shapes: list[dict] | None = None, tiles_url: str | None = None,
         today: Any = None) -> str:
    """The whole page for a season and a commune search, as HTML (see :func:`render.page`).

    Parameters
    ----------
    samples
        The ``bathing_water`` table (what :func:`load` returns).
    lang
        "fr" or "en".
    season
        The last season of the assessment (None: the latest season of the data).
    commune
        A commune name or part of one (accents and case ignored); empty or None for every site.
    min_samples
        Samples needed for a class (16 by the Directive; 12 or 8 where Annex IV allows).
    shapes, tiles_url
        The map's department shapes (None: :func:`geo.department_shapes`) and optional local tile
        server (None: no tiles requested).
    today
        The date the banner compares the data with (None: today in France).
    """
    lang = _lang(lang)
    t = TEXT[lang]
    registry = _title(lang)
    updated = dash_data.latest_day(samples, "sample_date")
    top = {"updated": updated, "banner": banner(updated, demo=dash_data.is_demo(samples), lang=lang, now=today)}
    known = seasons(samples)
    season = known[-1] if season is None else int(season)
    first = season - compute.bathing_water.rules()["seasons"] + 1
    parts = [_paragraph(t["intro"].format(first=first, last=season, min_samples=min_samples))]
    sites = assess_sites(samples, season, min_samples=min_samples)
    if sites.empty:
        parts.append(render.notice(t["no_season"].format(season=season), "warning"))
        return render.page("".join(parts), lang=lang, title=registry, **top)
    chosen = match_communes(sites.reset_index(), commune)
    if not chosen:
        names = ", ".join(match_communes(sites.reset_index(), None))
        parts.append(render.notice(t["no_match"].format(query=commune, communes=names), "warning"))
        return render.page("".join(parts), lang=lang, title=registry, **top)
    searched = bool(_fold(commune or ""))
    shown = sites[sites["commune"].isin(chosen)]
    parts += _site_sections(samples, shown, lang=lang, season=season, min_samples=min_samples,
                            communes=chosen if searched else None, shapes=shapes, tiles_url=tiles_url)
    parts.append(credits([DATASET], lang))  # where the figures come from, last on the page
    return render.page("".join(parts), lang=lang, title=registry, headline=_headline(shown, lang, first, season),
                       **top)


def _site_sections(samples: pd.DataFrame, shown: pd.DataFrame, *, lang: str, season: int, min_samples: int,
                   communes: list[str] | None, shapes: list[dict] | None, tiles_url: str | None) -> list[str]:
    """The page's body for the sites ``shown``: notice, map, legend, tables, notes."""
    t = TEXT[lang]
    first = season - compute.bathing_water.rules()["seasons"] + 1
    parts = []
    unclassified = int((shown["classification"] == "insufficient samples").sum())
    if unclassified:
        one, many = t["sites"]
        verb, classed, their = plural(unclassified, *t["few_words"], lang=lang)
        parts.append(render.notice(t["few_samples"].format(
            sites=count(unclassified, one, many, lang), total=len(shown), min_samples=min_samples, verb=verb,
            classed=classed, their=their), "info"))
    shapes = geo.department_shapes() if shapes is None else shapes
    parts.append(render.svg_map(_map_points(shown, lang), shapes=shapes,
                                title=t["map_title"].format(season=season),
                                description=t["map_desc"].format(sites=count(len(shown), *t["site"], lang)),
                                tiles_url=tiles_url))
    parts += [_legend(lang), _sites_table(shown, lang, first, season), _counts_table(shown, lang, first, season)]
    rows = latest_samples(samples, season, communes=communes, count=LATEST_COUNT if communes is None else None)
    caption = (t["latest_caption"].format(season=season) if communes is None
               else t["latest_caption_commune"].format(season=season, communes=", ".join(communes)))
    parts += [_samples_table(rows, lang, caption), _paragraph(t["units"]), _paragraph(t["source"])]
    return parts


def _title(lang: str) -> str:
    """The page title from the dashboards' registry, in ``lang``."""
    from occidata.dashboards import BY_SLUG

    entry = BY_SLUG[SLUG]
    return entry.title_fr if lang == "fr" else entry.title_en


# --------------------------------------------------------------------------- widgets

#: The snapshot's selection, given to the layout so that no widget is created for it: None
#: picks the same defaults as the live controls' initial values (see :func:`view`).
SNAPSHOT_VALUES = {"season": None, "commune": ""}


def controls(samples_source, lang: str = "fr") -> dict:
    """The page's controls in ``lang``: season (latest first) and commune search.

    ``samples_source`` is a function returning the sample table (called here so that a data
    error reaches :func:`layout.show_dashboard`'s notice, not a traceback).
    """
    import ipywidgets as widgets

    t = TEXT[_lang(lang)]
    samples = samples_source()
    known = seasons(samples)
    season = widgets.Dropdown(options=[(str(s), s) for s in reversed(known)], value=known[-1],
                              description=t["season"])
    commune = widgets.Combobox(options=match_communes(samples, None), value="", ensure_option=False,
                               placeholder=t["commune_placeholder"], description=t["commune"],
                               continuous_update=False)
    return {"season": season, "commune": commune}


def static_views(samples: pd.DataFrame, lang: str = "fr") -> explorer.StaticViews:
    """The static page's controls: the season and the commune. Rendered ahead: every season for
    all communes, and every commune for the latest season (the live page crosses the two)."""
    t = TEXT[_lang(lang)]
    known = [str(s) for s in reversed(seasons(samples))]
    if not known:
        raise ValueError("no bathing season in the data")
    season = explorer.Choice("season", t["season"], tuple(explorer.Option(s, s, int(s)) for s in known), known[0])
    communes = [explorer.Option("", t["commune_placeholder"], "")] + [
        explorer.Option(name, name, name) for name in match_communes(samples, None)]
    commune = explorer.Choice("commune", t["commune"], tuple(communes), "")
    combinations = tuple({"season": s, "commune": ""} for s in known) + tuple(
        {"season": known[0], "commune": c.key} for c in communes[1:])
    return explorer.StaticViews((season, commune), combinations)


def show(lang: str = "fr", snapshot: bool = False) -> None:
    """Display the dashboard in a notebook (Voilà): live controls and page, or the static snapshot.

    Data are read once, on first need, through :func:`load` (public entries only); the map's
    shapes and optional tile server come from the configuration (:mod:`occidata.dashboards.geo`).
    Returns None, so that the notebook cell that calls it shows the page once and nothing else.
    """
    layout.show_with_map(SLUG, load, view, controls, SNAPSHOT_VALUES, lang=lang, snapshot=snapshot,
                         static=static_views)
