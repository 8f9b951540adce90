"""The catalogue's public entries as DCAT-AP 2.1.1 in JSON-LD, for data.gouv.fr and data.europa.eu to harvest.

``dcat_catalog(cfg)`` gives one ``dcat:Catalog`` with one ``dcat:Dataset`` per **public** entry:
partner and restricted entries are left out before anything of theirs is read (not even their
titles). Each dataset carries its titles and descriptions in French and English, its keywords,
publisher (the provider for entries built from real exports, the lab for synthetic or mixed
ones), licence (an IRI, or :class:`DcatError`), update frequency, EU data themes, temporal and
spatial coverage, a contact point, one distribution (the entry's catalogue page) and a
``dct:ProvenanceStatement`` that says whether this platform built it from real exports (naming
each provider file and its SHA-256), generated it, or mixed both.

Served at ``/services/catalogue/dcat.jsonld`` (:mod:`.pages_service`) and written by
``occidata catalog dcat``; :mod:`.dcat_check` validates it against ``dcat_ap_shapes.ttl``.
The controlled vocabularies are the EU's (data theme, frequency, file type, planned availability,
access right) and ADMS's publisher types; the tables mapping our metadata onto them live here.
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from ..addresses import CATALOGUE_PREFIX, catalogue_page, public_url
from ..config import load_config
from ..datasets.real_sources import MIXED, REAL
from ..datasets.stored import stored_record
from .places import is_public
from .tables import CatalogError, built_years

DCAT_AP_VERSION = "2.1.1"
DCAT_PATH = "dcat.jsonld"  # under the catalogue pages' prefix
AUTHORITY = "http://publications.europa.eu/resource/authority/"
PUBLISHER_TYPE = "http://purl.org/adms/publishertype/"

CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dcatap": "http://data.europa.eu/r5r/",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "gsp": "http://www.opengis.net/ont/geosparql#",
}

ETALAB_2 = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"
ODBL_1 = "https://opendatacommons.org/licenses/odbl/1-0/"  # as the dataset modules give it
# Licence texts (lower case, single spaces) of entries without a licence_url, and their IRI.
LICENCES = {
    "licence ouverte": ETALAB_2,
    "licence ouverte 2.0": ETALAB_2,
    "etalab 2.0": ETALAB_2,
    "odbl": ODBL_1,
    "odbl 1.0": ODBL_1,
}

# EU data themes from the entries' tags (lower case): a tag may give several, most give none.
THEMES = {
    "ENVI": ("air", "pollution", "water", "bathing", "baignade", "weather", "climate", "temperature",
             "heat wave", "canicule", "coast"),
    "TRAN": ("mobility", "traffic", "roads", "bicycle", "cycling", "vélo"),
    "HEAL": ("health",),
    "AGRI": ("agriculture", "viticulture"),
    "ENER": ("energy", "electricity"),
    "REGI": ("montpellier", "département"),
}

# EU frequencies from the start of ``update_frequency`` (lower case); first match wins.
FREQUENCIES = (
    ("every three hours", "TRIHOURLY"),
    ("hourly", "HOURLY"),
    ("daily", "DAILY"),
    ("weekly", "WEEKLY"),
    ("monthly", "MONTHLY"),
    ("quarterly", "QUARTERLY"),
    ("annual", "ANNUAL"),
    ("yearly", "ANNUAL"),
    ("none", "NEVER"),
)
UNKNOWN_FREQUENCY = "UNKNOWN"

# ADMS publisher types, from the start of a real source's provider name.
PUBLISHER_TYPES = (
    ("Météo-France", "NationalAuthority"),
    ("ECA&D", "Academia-ScientificOrganisation"),
    ("ATMO Occitanie", "NonProfitOrganisation"),  # the region's approved air-quality association
    ("Montpellier Méditerranée Métropole", "LocalAuthority"),
    ("Ville de Montpellier", "LocalAuthority"),
)
LAB_TYPE = "NonProfitOrganisation"

# Where the entries are: metropolitan France for the one national table, else Occitanie (NUTS 1
# region FRJ), with the region's extent rounded outward from IGN Admin Express's outline.
FRANCE = {"@id": AUTHORITY + "country/FRA", "@type": "dct:Location"}
OCCITANIE = {"@id": "http://data.europa.eu/nuts/code/FRJ", "@type": "dct:Location",
             "dcat:bbox": {"@value": "POLYGON((-0.33 42.33, 4.85 42.33, 4.85 45.05, -0.33 45.05, -0.33 42.33))",
                           "@type": "gsp:wktLiteral"}}

FORMATS = {
    "table": {"@id": AUTHORITY + "file-type/PARQUET", "@type": "dct:MediaTypeOrExtent"},
    # The EU file-type list has no Zarr: named, not given an IRI that does not exist.
    "grid": {"@type": "dct:MediaTypeOrExtent", "rdfs:label": "Zarr"},
}


class DcatError(CatalogError):
    """An entry that cannot be published as DCAT-AP (e.g. a licence with no known IRI)."""


def _lang(fr: str, en: str) -> list[dict]:
    return [{"@value": fr, "@language": "fr"}, {"@value": en, "@language": "en"}]


def _plain(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", str(text)).lower().split())


def licence_iri(name: str, meta: dict) -> str:
    """The licence IRI of entry ``name``: its real source's ``licence_url``, else its own, else
    the IRI of its licence text (:data:`LICENCES`); :class:`DcatError` when there is none."""
    source = meta.get("real_source") or {}
    for url in (source.get("licence_url"), meta.get("licence_url")):
        if url:
            return url
    found = LICENCES.get(_plain(meta.get("licence", "")))
    if found is None:
        raise DcatError(f"{name} : la licence « {meta.get('licence', '')} » n'a pas d'adresse (IRI) connue ; "
                        "donnez licence_url dans les métadonnées du jeu ou ajoutez-la à LICENCES "
                        "(occidata/catalog/dcat.py)")
    return found


def theme_codes(tags) -> list[str]:
    """The EU data themes of an entry's tags (:data:`THEMES`), sorted."""
    have = {_plain(tag) for tag in tags or ()}
    return sorted(code for code, words in THEMES.items() if have & set(words))


def frequency_code(text: str | None) -> str:
    """The EU frequency of an entry's ``update_frequency`` (``UNKNOWN`` when no rule matches)."""
    said = _plain(text or "")
    return next((code for start, code in FREQUENCIES if said.startswith(start)), UNKNOWN_FREQUENCY)


def _agent(name: str, kind: str | None, iri: str | None = None) -> dict:
    agent = {"@type": "foaf:Agent", "foaf:name": name}
    if iri:
        agent["@id"] = iri
    if kind:
        agent["dct:type"] = {"@id": PUBLISHER_TYPE + kind, "@type": "skos:Concept"}
    return agent


def _provider(provider: str) -> dict:
    kind = next((kind for start, kind in PUBLISHER_TYPES if provider.startswith(start)), None)
    return _agent(provider, kind)


def _date(text: str) -> dict:
    return {"@value": text, "@type": "xsd:date"}


def _grid_period(name: str, data_dir: Path) -> tuple[str, str] | None:
    """First and last day of a public grid (its time coordinate only)."""
    import pandas as pd
    import xarray as xr

    store = data_dir / name / f"{name}.zarr"
    try:
        with xr.open_zarr(store) as grid:
            times = pd.DatetimeIndex(grid["time"].values)
    except (OSError, ValueError, KeyError):  # not built (or not readable): no period rather than no catalogue
        return None
    return (f"{times.min():%Y-%m-%d}", f"{times.max():%Y-%m-%d}") if len(times) else None


def _merged(periods: list[tuple[str, str]]) -> list[tuple[str, str]]:
    merged: list[tuple[str, str]] = []
    for start, end in sorted(periods):
        if merged and date.fromisoformat(start) <= date.fromisoformat(merged[-1][1]) + timedelta(days=1):
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def periods_of(name: str, meta: dict, record: dict, data_dir: Path) -> list[tuple[str, str]]:
    """The periods (first day, last day) entry ``name`` covers as built here: the provider files'
    periods for real rows, the whole calendar years of the stored files for synthetic ones (the
    years no real period touches, for a mixed entry), a grid's time axis; overlapping periods
    merged; ``[]`` when not built."""
    if meta.get("kind") == "grid":
        period = _grid_period(name, data_dir)
        return [period] if period else []
    origin = record.get("origin")
    real = [tuple(source["period"]) for source in record.get("sources", [])
            if origin in (REAL, MIXED) and source.get("period")]
    periods = list(real)
    if origin != REAL or not real:
        touched = {year for start, end in real for year in range(int(start[:4]), int(end[:4]) + 1)}
        periods += [(f"{year}-01-01", f"{year}-12-31") for year in built_years(record) if year not in touched]
    return _merged(periods)


def _files_text(sources: list[dict], fr: bool) -> str:
    parts = []
    for source in sources:
        period = source.get("period")
        when = (f", {period[0]} → {period[1]}" if period else "")
        parts.append(f"{source['name']} (SHA-256 {source['sha256']}{when})")
    return " ; ".join(parts) if fr else "; ".join(parts)


def provenance(meta: dict, record: dict, lab: str) -> dict:
    """The ``dct:ProvenanceStatement`` of an entry as built here, in French and English."""
    origin = record.get("origin")
    sources = record.get("sources") or []
    providers = ", ".join(sorted({source["provider"] for source in sources})) or \
        (meta.get("real_source") or {}).get("provider", "")
    if not record:
        fr = "Pas encore construit sur cette plateforme."
        en = "Not built on this platform yet."
        if meta.get("origin_rule"):
            en += f" Origin: {meta['origin_rule']}."
    elif origin == REAL:
        fr = f"Données réelles de {providers}, lues dans les fichiers : {_files_text(sources, True)}."
        en = f"Real data from {providers}, read from the files: {_files_text(sources, False)}."
    elif origin == MIXED:
        fr = (f"Données mixtes : valeurs synthétiques générées par {lab} (occidata), et la période réelle "
              f"de {providers} lue dans les fichiers : {_files_text(sources, True)}.")
        en = (f"Mixed data: synthetic values generated by {lab} (occidata), and the real period of "
              f"{providers} read from the files: {_files_text(sources, False)}.")
    else:
        fr = (f"Données synthétiques générées par {lab} (occidata), à la forme de celles du producteur ; "
              "aucune donnée réelle.")
        en = f"Synthetic data generated by {lab} (occidata), shaped like the producer's; no real data."
        if meta.get("real_source"):
            fr += f" Les exports de {providers} n'étaient pas là lors de la construction."
            en += f" {providers}'s exports were not there when it was built."
    return {"@type": "dct:ProvenanceStatement", "rdfs:label": _lang(fr, en),
            "dct:description": origin or "not built"}


def _distribution(meta: dict, page: str, licence: str) -> dict:
    table = meta.get("kind") == "table"
    fr = ("Tables Parquet par année, à lire avec occidata.catalog.load ou Intake (code sur la page)" if table
          else "Grille Zarr, à lire avec occidata.catalog.load ou Intake (code sur la page)")
    en = ("Parquet tables by year, read with occidata.catalog.load or Intake (code on the page)" if table
          else "Zarr grid, read with occidata.catalog.load or Intake (code on the page)")
    return {"@id": f"{page}#distribution", "@type": "dcat:Distribution",
            "dct:title": _lang(f"Page du catalogue : {meta['title_fr']}", f"Catalogue page: {meta['title_en']}"),
            "dct:description": _lang(fr, en),
            "dcat:accessURL": {"@id": page},
            "dct:format": dict(FORMATS["table" if table else "grid"]),
            "dct:license": {"@id": licence, "@type": "dct:LicenseDocument"},
            "dcatap:availability": {"@id": AUTHORITY + "planned-availability/AVAILABLE", "@type": "skos:Concept"}}


def _contact(cfg: dict) -> dict:
    contact = {"@type": "vcard:Kind", "vcard:fn": cfg["lab_name"]}
    if cfg["data_service"].get("contact"):
        contact["vcard:hasEmail"] = {"@id": f"mailto:{cfg['data_service']['contact']}"}
    return contact


def dcat_dataset(name: str, meta: dict, cfg: dict, base: str) -> dict:
    """The ``dcat:Dataset`` of public entry ``name`` (``meta`` as :func:`occidata.catalog.show` gives it)."""
    data_dir = Path(cfg["data_dir"])
    try:
        record = stored_record(data_dir, name) or {}
    except (OSError, ValueError):
        record = {}
    page = catalogue_page(name, base)
    licence = licence_iri(name, meta)
    lab = _agent(cfg["lab_name"], LAB_TYPE, base + "#lab")
    source = meta.get("real_source")
    publisher = _provider(source["provider"]) if source and record.get("origin") == REAL else lab
    descriptions = ([{"@value": meta["description_fr"], "@language": "fr"}] if meta.get("description_fr") else []) \
        + [{"@value": meta["description"], "@language": "en"}]
    dataset = {
        "@id": f"{page}#dataset", "@type": "dcat:Dataset",
        "dct:identifier": name,
        "dct:title": _lang(meta["title_fr"], meta["title_en"]),
        "dct:description": descriptions,
        "dcat:keyword": list(meta.get("tags", [])),
        "dct:publisher": publisher,
        "dcat:contactPoint": _contact(cfg),
        "dcat:landingPage": {"@id": page, "@type": "foaf:Document"},
        "dcat:theme": [{"@id": f"{AUTHORITY}data-theme/{code}", "@type": "skos:Concept"}
                       for code in theme_codes(meta.get("tags"))],
        "dct:accrualPeriodicity": {"@id": f"{AUTHORITY}frequency/{frequency_code(meta.get('update_frequency'))}",
                                   "@type": "dct:Frequency"},
        "dct:spatial": dict(FRANCE if _plain(meta.get("spatial_coverage", "")).startswith("metropolitan france")
                            else OCCITANIE),
        "dct:accessRights": {"@id": AUTHORITY + "access-right/PUBLIC", "@type": "dct:RightsStatement"},
        "dct:provenance": provenance(meta, record, cfg["lab_name"]),
        "dcat:distribution": [_distribution(meta, page, licence)],
    }
    periods = periods_of(name, meta, record, data_dir)
    if periods:
        dataset["dct:temporal"] = [{"@type": "dct:PeriodOfTime", "dcat:startDate": _date(start),
                                    "dcat:endDate": _date(end)} for start, end in periods]
    if record.get("built_at"):
        dataset["dct:modified"] = {"@value": record["built_at"], "@type": "xsd:dateTime"}
    return dataset


def public_entries(cfg: dict | None = None) -> dict[str, dict]:
    """``name -> metadata`` (as :func:`occidata.catalog.show` gives it) of every public entry only."""
    from . import open_catalog, show

    catalog = open_catalog(cfg=cfg)
    return {name: show(name, catalog) for name in sorted(catalog) if is_public(name, catalog[name].metadata)}


def dcat_catalog(cfg: dict | None = None, base_url: str | None = None, entries: dict[str, dict] | None = None) -> dict:
    """The JSON-LD of the ``dcat:Catalog`` of the public entries (DCAT-AP :data:`DCAT_AP_VERSION`).

    ``base_url``: the hub's public address with its base_url (default :func:`occidata.addresses.public_url`);
    ``entries``: ``name -> metadata`` as :func:`occidata.catalog.show` gives it (default: the
    catalogue's); non-public ones are dropped here whatever is given. Raises :class:`DcatError`
    for an entry whose licence has no IRI.
    """
    cfg = cfg or load_config()
    base = (base_url or public_url(cfg)).rstrip("/") + "/"
    entries = public_entries(cfg) if entries is None else entries
    datasets = [dcat_dataset(name, meta, cfg, base) for name, meta in sorted(entries.items()) if is_public(name, meta)]
    built = sorted(d["dct:modified"]["@value"] for d in datasets if "dct:modified" in d)
    home = base + CATALOGUE_PREFIX
    lab = cfg["lab_name"]
    catalog = {
        "@context": CONTEXT,
        "@id": f"{home}{DCAT_PATH}", "@type": "dcat:Catalog",
        "dct:title": _lang(f"{lab} : catalogue des données publiques", f"{lab}: catalogue of public data"),
        "dct:description": _lang(
            f"Les jeux de données publics de {lab}, réels ou synthétiques (chaque jeu dit lequel et de quels "
            "fichiers du producteur il vient), lisibles dans le laboratoire avec occidata ou Intake.",
            f"The public datasets of {lab}, real or synthetic (each says which, and from which of the "
            "producer's files), readable in the lab with occidata or Intake."),
        "dct:publisher": _agent(lab, LAB_TYPE, base + "#lab"),
        "foaf:homepage": {"@id": home, "@type": "foaf:Document"},
        "dct:language": [{"@id": AUTHORITY + "language/FRA", "@type": "dct:LinguisticSystem"},
                         {"@id": AUTHORITY + "language/ENG", "@type": "dct:LinguisticSystem"}],
        "dct:license": {"@id": ETALAB_2, "@type": "dct:LicenseDocument"},  # of the metadata
        "dcat:themeTaxonomy": {"@id": AUTHORITY + "data-theme", "@type": "skos:ConceptScheme"},
        "dct:modified": {"@value": built[-1] if built else datetime.now(timezone.utc).isoformat(timespec="seconds"),
                         "@type": "xsd:dateTime"},
        "dcat:dataset": datasets,
    }
    if built:
        catalog["dct:issued"] = {"@value": built[0], "@type": "xsd:dateTime"}
    return catalog


__all__ = ["DCAT_AP_VERSION", "DcatError", "dcat_catalog", "dcat_dataset", "frequency_code", "licence_iri",
           "periods_of", "provenance", "public_entries", "theme_codes"]
