"""geography: the reference places the datasets share (departments, communes, boundaries).

- ``departments``: the 13 departments of Occitanie with their prefecture and its coordinates.
- ``communes``: the communes the datasets use, with INSEE code, department and coordinates.
- ``load_boundaries``: department shapes (GeoJSON) from a configured local file or URL,
  validated and cached; ``None`` when none can be had, so callers fall back to
  ``department_points`` (one point per prefecture).
- ``point_in_department`` / ``departments_at``: which department a point lies in, by ray
  casting over the shapes (numpy only, no GIS library).
- ``REGION_OUTLINE``: a coarse outline of the region, for when no shapes are available.

This module is reference data, not a generated dataset: it has no ``SIZES`` nor ``generate``.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

from ..atomic import replace_file
from .schema import SchemaError

NAME = "geography"
KIND = "reference"
METADATA = {
    "title_fr": "Référentiel géographique de l'Occitanie (départements, préfectures, communes)",
    "title_en": "Occitanie reference geography (departments, prefectures, communes)",
    "description": (
        "The 13 departments of Occitanie with their prefecture, the communes used by the lab's "
        "datasets (INSEE codes, WGS84 coordinates), and the department boundaries read from a "
        "configured GeoJSON file or URL."
    ),
    "producer": "IGN Admin Express COG 2018 via france-geojson; INSEE",
    "licence": "Licence Ouverte / Etalab",
    "access": "public",
    "personal_data": False,
    "update_frequency": "yearly",
    "spatial_coverage": "Occitanie (13 departments)",
    "temporal_coverage": "Code officiel géographique 2018",
    "tags": ["geography", "departments", "communes", "boundaries", "INSEE"],
}

BOUNDARIES_FILE = "departements-occitanie.geojson"
URL_TIMEOUT_S = 5.0

# code, name, prefecture, prefecture INSEE code, prefecture longitude, latitude (town hall, WGS84)
_DEPARTMENTS = (
    ("09", "Ariège", "Foix", "09122", 1.6053, 42.9653),
    ("11", "Aude", "Carcassonne", "11069", 2.3522, 43.2130),
    ("12", "Aveyron", "Rodez", "12202", 2.5750, 44.3506),
    ("30", "Gard", "Nîmes", "30189", 4.3601, 43.8367),
    ("31", "Haute-Garonne", "Toulouse", "31555", 1.4442, 43.6047),
    ("32", "Gers", "Auch", "32013", 0.5857, 43.6465),
    ("34", "Hérault", "Montpellier", "34172", 3.8767, 43.6108),
    ("46", "Lot", "Cahors", "46042", 1.4406, 44.4475),
    ("48", "Lozère", "Mende", "48095", 3.4994, 44.5181),
    ("65", "Hautes-Pyrénées", "Tarbes", "65440", 0.0781, 43.2328),
    ("66", "Pyrénées-Orientales", "Perpignan", "66136", 2.8948, 42.6986),
    ("81", "Tarn", "Albi", "81004", 2.1486, 43.9289),
    ("82", "Tarn-et-Garonne", "Montauban", "82121", 1.3550, 44.0176),
)
DEPARTMENT_CODES = tuple(row[0] for row in _DEPARTMENTS)
# The article each department's name takes in French (« l'Hérault », « le Gard », « les Hautes-Pyrénées »).
_ARTICLES = {"09": "l'", "11": "l'", "12": "l'", "30": "le", "31": "la", "32": "le", "34": "l'", "46": "le",
             "48": "la", "65": "les", "66": "les", "81": "le", "82": "le"}

# Communes other than the prefectures: INSEE code, name, longitude, latitude (town hall).
_OTHER_COMMUNES = (
    ("09225", "Pamiers", 1.6108, 43.1164),
    ("11145", "Fleury", 3.1364, 43.2308),
    ("11170", "Gruissan", 3.0867, 43.1086),
    ("11202", "Leucate", 3.0303, 42.9106),
    ("11206", "Limoux", 2.2178, 43.0547),
    ("11262", "Narbonne", 3.0036, 43.1843),
    ("11266", "Port-la-Nouvelle", 3.0442, 43.0197),
    ("12145", "Millau", 3.0783, 44.0986),
    ("12300", "Villefranche-de-Rouergue", 2.0344, 44.3517),
    ("30003", "Aigues-Mortes", 4.1917, 43.5667),
    ("30007", "Alès", 4.0811, 44.1250),
    ("30028", "Bagnols-sur-Cèze", 4.6197, 44.1622),
    ("30032", "Beaucaire", 4.6442, 43.8083),
    ("30133", "Le Grau-du-Roi", 4.1358, 43.5372),
    ("31069", "Blagnac", 1.3903, 43.6364),
    ("31149", "Colomiers", 1.3367, 43.6111),
    ("31395", "Muret", 1.3267, 43.4614),
    ("31483", "Saint-Gaudens", 0.7233, 43.1083),
    ("32107", "Condom", 0.3736, 43.9581),
    ("34003", "Agde", 3.4750, 43.3108),
    ("34023", "Balaruc-les-Bains", 3.6775, 43.4417),
    ("34032", "Béziers", 3.2150, 43.3442),
    ("34108", "Frontignan", 3.7558, 43.4486),
    ("34129", "Lattes", 3.9036, 43.5678),
    ("34142", "Lodève", 3.3194, 43.7317),
    ("34145", "Lunel", 4.1361, 43.6753),
    ("34150", "Marseillan", 3.5283, 43.3567),
    ("34154", "Mauguio", 3.9672, 43.6164),
    ("34192", "Palavas-les-Flots", 3.9336, 43.5281),
    ("34209", "Portiragnes", 3.3353, 43.3036),
    ("34299", "Sérignan", 3.2775, 43.2811),
    ("34301", "Sète", 3.6958, 43.4028),
    ("34324", "Valras-Plage", 3.2906, 43.2483),
    ("34332", "Vias", 3.4167, 43.3117),
    ("34337", "Villeneuve-lès-Maguelone", 3.8606, 43.5331),
    ("34344", "La Grande-Motte", 4.0850, 43.5614),
    ("46102", "Figeac", 2.0317, 44.6086),
    ("48092", "Marvejols", 3.2906, 44.5533),
    ("65059", "Bagnères-de-Bigorre", 0.1492, 43.0653),
    ("65286", "Lourdes", -0.0458, 43.0947),
    ("66008", "Argelès-sur-Mer", 3.0233, 42.5461),
    ("66017", "Le Barcarès", 3.0353, 42.7883),
    ("66037", "Canet-en-Roussillon", 3.0067, 42.7061),
    ("66053", "Collioure", 3.0836, 42.5253),
    ("66124", "Font-Romeu-Odeillo-Via", 2.0428, 42.5061),
    ("66148", "Port-Vendres", 3.1053, 42.5175),
    ("66171", "Saint-Cyprien", 3.0067, 42.6186),
    ("66182", "Sainte-Marie-la-Mer", 3.0150, 42.7272),
    ("66212", "Torreilles", 3.0289, 42.7561),
    ("81065", "Castres", 2.2400, 43.6061),
    ("82033", "Castelsarrasin", 1.1075, 44.0400),
    # The communes of ATMO Occitanie's stations, whose exports write names in capitals without
    # accents ("MEZE"): the official names are these (town halls to about 0.01°).
    ("09261", "Saint-Girons", 1.1464, 42.9847),
    ("30061", "La Calmette", 4.2650, 43.9236),
    ("30278", "Saint-Laurent-des-Arbres", 4.7008, 44.0547),
    ("30294", "Saint-Privat-des-Vieux", 4.1303, 44.1436),
    ("30315", "Saze", 4.6806, 43.9433),
    ("30336", "Vallabrègues", 4.6272, 43.8558),
    ("31060", "Bélesta-en-Lauragais", 1.8228, 43.4408),
    ("31066", "Bessières", 1.6050, 43.7981),
    ("31344", "Miramont-de-Comminges", 0.7456, 43.0858),
    ("31381", "Montgiscard", 1.5678, 43.4581),
    ("32139", "Gaudonville", 0.8447, 43.8844),
    ("32317", "Peyrusse-Vieille", 0.1811, 43.6294),
    ("34084", "Corneilhan", 3.1917, 43.3986),
    ("34107", "Fraisse-sur-Agout", 2.7994, 43.6044),
    ("34146", "Lunel-Viel", 4.0922, 43.6781),
    ("34157", "Mèze", 3.6053, 43.4256),
    ("34255", "Saint-Gély-du-Fesc", 3.8053, 43.6931),
    ("46029", "Biars-sur-Cère", 1.8528, 44.9275),
    ("65025", "Argelès-Gazost", -0.0989, 43.0036),
    ("66172", "Saint-Estève", 2.8436, 42.7133),
)

# The region's outline simplified to ~0.06° (Douglas-Peucker on the IGN outline): good enough to
# tell land in Occitanie from the sea and the neighbouring regions on a coarse grid, not more.
REGION_OUTLINE = (
    (1.79, 42.57), (1.55, 42.66), (1.44, 42.60), (1.36, 42.72), (0.71, 42.86), (0.68, 42.69),
    (-0.02, 42.68), (-0.33, 42.92), (0.03, 43.35), (-0.10, 43.58), (-0.28, 43.62), (-0.19, 43.74),
    (-0.24, 43.90), (-0.04, 43.98), (0.06, 43.90), (0.13, 44.00), (0.59, 44.08), (0.68, 44.03),
    (0.89, 44.14), (0.90, 44.38), (1.06, 44.38), (0.98, 44.54), (1.32, 44.74), (1.44, 44.88),
    (1.41, 45.01), (1.63, 45.03), (1.80, 44.92), (2.06, 44.98), (2.21, 44.62), (2.48, 44.65),
    (2.74, 44.94), (2.98, 44.64), (3.10, 44.89), (3.37, 44.98), (3.48, 44.81), (3.63, 44.88),
    (3.88, 44.74), (4.05, 44.32), (4.26, 44.26), (4.51, 44.34), (4.84, 44.01), (4.64, 43.87),
    (4.63, 43.69), (4.49, 43.70), (4.46, 43.59), (4.23, 43.46), (4.00, 43.55), (3.17, 43.16),
    (3.05, 42.99), (3.02, 42.70), (3.17, 42.44), (2.95, 42.48), (2.53, 42.33), (2.26, 42.44),
    (2.02, 42.35), (1.73, 42.49), (1.79, 42.57),
)


def departments() -> pd.DataFrame:
    """The 13 departments of Occitanie and their prefecture.

    Returns
    -------
    pandas.DataFrame
        Columns ``code`` ("09"...), ``name``, ``prefecture``, ``prefecture_insee``,
        ``prefecture_lon`` and ``prefecture_lat`` (WGS84 degrees), ``article`` (the French
        article of the name: "le", "la", "l'" or "les"), sorted by code.
    """
    frame = pd.DataFrame(
        _DEPARTMENTS,
        columns=["code", "name", "prefecture", "prefecture_insee", "prefecture_lon", "prefecture_lat"],
    )
    frame["article"] = frame["code"].map(_ARTICLES)
    for column in ("code", "name", "prefecture", "prefecture_insee", "article"):
        frame[column] = frame[column].astype("string")
    return frame


def communes() -> pd.DataFrame:
    """The communes the lab's datasets use: the 13 prefectures and the other towns they name.

    Returns
    -------
    pandas.DataFrame
        Columns ``insee_code``, ``name``, ``department`` (code), ``lon`` and ``lat`` (WGS84
        degrees, town hall), one row per commune, sorted by INSEE code.
    """
    prefectures = [(insee, name, lon, lat) for _, _, name, insee, lon, lat in _DEPARTMENTS]
    frame = pd.DataFrame(prefectures + list(_OTHER_COMMUNES), columns=["insee_code", "name", "lon", "lat"])
    frame.insert(2, "department", frame["insee_code"].str[:2])
    frame = frame.sort_values("insee_code").reset_index(drop=True)
    for column in ("insee_code", "name", "department"):
        frame[column] = frame[column].astype("string")
    return frame


# Words written in lower case inside a French place name ("Saint-Laurent-des-Arbres", "Biars-sur-Cère").
_PARTICLES = {"de", "des", "du", "la", "le", "les", "sur", "sous", "en", "et", "lès", "lez", "aux", "au", "d", "l"}


def _written(name: str) -> str:
    """A provider's upper-case name in a place name's usual case: "SAINT-LAURENT-DES-ARBRES" ->
    "Saint-Laurent-des-Arbres". Accents a provider left out cannot be put back here."""
    if not name.isupper():
        return name
    out, first = [], True
    for part in re.split(r"([\s'-]+)", name.lower()):
        if not part or re.fullmatch(r"[\s'-]+", part):
            out.append(part)
            continue
        out.append(part if (part in _PARTICLES and not first) else part[:1].upper() + part[1:])
        first = False
    return "".join(out)


def place_names(insee_code, commune) -> tuple[str, str | None]:
    """The official names of a commune and of its department, from the commune's INSEE code.

    Providers such as ATMO Occitanie write names in capitals without accents ("NIMES", "HERAULT"):
    the department's name is always the reference's (None outside Occitanie); the commune's is the
    reference's when :func:`communes` holds it, else ``commune`` in its usual case.
    """
    code = str(insee_code).strip().zfill(5)
    names = dict(zip(communes()["insee_code"], communes()["name"]))
    by_code = dict(zip(departments()["code"], departments()["name"]))
    return names.get(code) or _written(str(commune).strip()), by_code.get(code[:2])


def department_points() -> dict:
    """The departments as GeoJSON points at their prefecture, for when no boundaries are available.

    Returns
    -------
    dict
        A GeoJSON FeatureCollection of 13 Point features with properties ``code``, ``nom``
        and ``prefecture``.
    """
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"code": code, "nom": name, "prefecture": prefecture},
        }
        for code, name, prefecture, _, lon, lat in _DEPARTMENTS
    ]
    return {"type": "FeatureCollection", "features": features}


def load_boundaries(source: str | Path | None, cache_dir: str | Path) -> dict | None:
    """The department boundaries, from ``source`` or from the cache under ``cache_dir``.

    Parameters
    ----------
    source
        A local GeoJSON file or an ``http(s)://`` URL holding a FeatureCollection of the 13
        departments (properties ``code`` and ``nom``), or ``None`` to use the cache.
    cache_dir
        Where the last good boundaries are kept, as ``departements-occitanie.geojson``.

    Returns
    -------
    dict or None
        The FeatureCollection; ``None`` when the URL cannot be reached, or when there is no
        source and no cache (callers then use ``department_points``).

    Raises
    ------
    SchemaError
        When the file is missing, or the file, URL or cache holds something other than the
        13 departments (the message names it). Nothing is cached then.
    """
    cache = Path(cache_dir) / BOUNDARIES_FILE
    if source is None:
        if not cache.exists():
            return None
        return _parse(cache.read_bytes(), str(cache))
    source = str(source)
    if source.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(source, timeout=URL_TIMEOUT_S) as response:
                content = response.read()
        except (urllib.error.URLError, OSError, ValueError):
            return None  # offline or unreachable: the caller degrades to prefecture points
    else:
        try:
            content = Path(source).read_bytes()
        except FileNotFoundError:
            raise SchemaError(f"{source}: no such file") from None
        except OSError as error:
            raise SchemaError(f"{source}: cannot be read ({error})") from None
    boundaries = _parse(content, source)
    replace_file(cache, lambda tmp: Path(tmp).write_bytes(content))
    return boundaries


def _parse(content: bytes, source: str) -> dict:
    """Decode and check a department FeatureCollection; SchemaError naming ``source`` otherwise."""
    try:
        data = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SchemaError(f"{source}: not GeoJSON ({error})") from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise SchemaError(f"{source}: not a GeoJSON FeatureCollection")
    features = data.get("features")
    if not isinstance(features, list) or len(features) != len(DEPARTMENT_CODES):
        count = len(features) if isinstance(features, list) else 0
        raise SchemaError(f"{source}: expected the {len(DEPARTMENT_CODES)} departments of Occitanie, found {count} features")
    codes = []
    for feature in features:
        feature = feature if isinstance(feature, dict) else {}
        properties = feature.get("properties") or {}
        geometry = feature.get("geometry") or {}
        if geometry.get("type") not in ("Polygon", "MultiPolygon") or "nom" not in properties:
            raise SchemaError(f"{source}: every feature needs a Polygon or MultiPolygon and properties code, nom")
        codes.append(str(properties.get("code")))
    if sorted(codes) != sorted(DEPARTMENT_CODES):
        unexpected = sorted(set(codes) - set(DEPARTMENT_CODES))
        missing = sorted(set(DEPARTMENT_CODES) - set(codes))
        raise SchemaError(
            f"{source}: department codes do not match Occitanie's "
            f"(missing: {', '.join(missing) or 'none'}; unexpected: {', '.join(unexpected) or 'none'})"
        )
    return data


def _rings(geometry: dict) -> list[np.ndarray]:
    """Every ring (outer and holes) of a Polygon or MultiPolygon, as (n, 2) arrays."""
    polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    return [np.asarray(ring, dtype=float)[:, :2] for polygon in polygons for ring in polygon]


def inside_rings(lon, lat, rings: list[np.ndarray]) -> np.ndarray:
    """Whether each point lies inside ``rings`` by the even-odd rule (ray casting).

    Holes and the parts of a MultiPolygon need no special case: a point in a hole crosses
    two rings, a point in one part crosses one.

    Parameters
    ----------
    lon, lat
        Coordinates of the points (arrays of the same shape, or scalars).
    rings
        Closed or open rings as (n, 2) arrays of (lon, lat).

    Returns
    -------
    numpy.ndarray
        Booleans, in the shape of ``lon``.
    """
    lon, lat = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    px, py = lon.ravel(), lat.ravel()
    crossings = np.zeros(px.shape, dtype=bool)
    for ring in rings:
        (xmin, ymin), (xmax, ymax) = ring.min(axis=0), ring.max(axis=0)
        near = np.flatnonzero((px >= xmin) & (px <= xmax) & (py >= ymin) & (py <= ymax))
        if near.size == 0:
            continue
        x1, y1 = ring[:, 0], ring[:, 1]
        x2, y2 = np.roll(x1, -1), np.roll(y1, -1)
        qx, qy = px[near, None], py[near, None]
        # An edge crosses the ray going east from the point when it straddles its latitude
        # (half-open, so a vertex on the ray counts once) and meets it east of the point.
        straddles = (y1 > qy) != (y2 > qy)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_at = x1 + (qy - y1) * (x2 - x1) / (y2 - y1)
        odd = np.count_nonzero(straddles & (qx < x_at), axis=1) % 2 == 1
        crossings[near] ^= odd
    return crossings.reshape(lon.shape)


def departments_at(lon, lat, boundaries: dict) -> np.ndarray:
    """The department code at each point, ``""`` outside every department.

    Parameters
    ----------
    lon, lat
        WGS84 coordinates (arrays of the same shape, or scalars).
    boundaries
        A department FeatureCollection, as from ``load_boundaries``.

    Returns
    -------
    numpy.ndarray
        Codes as strings (``"31"``...), in the shape of ``lon``; on a shared border the
        first department in the collection wins.
    """
    lon, lat = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    codes = np.full(lon.shape, "", dtype="<U3")
    for feature in boundaries["features"]:
        inside = inside_rings(lon, lat, _rings(feature["geometry"])) & (codes == "")
        codes[inside] = str(feature["properties"]["code"])
    return codes


def point_in_department(lon: float, lat: float, boundaries: dict) -> str | None:
    """The code of the department holding the point, or ``None`` outside Occitanie.

    Parameters
    ----------
    lon, lat
        WGS84 degrees.
    boundaries
        A department FeatureCollection, as from ``load_boundaries``.

    Returns
    -------
    str or None
        ``"31"`` for Toulouse, ``None`` at sea or in another region.
    """
    code = str(departments_at(lon, lat, boundaries).item())
    return code or None


def nearest_prefecture_departments(lon, lat) -> np.ndarray:
    """Department codes by nearest prefecture, ``""`` outside ``REGION_OUTLINE``.

    The fallback for ``departments_at`` when no boundaries could be loaded: right near the
    prefectures, approximate along department borders.

    Parameters
    ----------
    lon, lat
        WGS84 coordinates (arrays of the same shape, or scalars).

    Returns
    -------
    numpy.ndarray
        Codes as strings, in the shape of ``lon``.
    """
    lon, lat = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    table = departments()
    # Distances on a local plane: a degree of longitude is cos(lat) of a degree of latitude.
    dx = (lon[..., None] - table["prefecture_lon"].to_numpy()) * np.cos(np.radians(43.6))
    dy = lat[..., None] - table["prefecture_lat"].to_numpy()
    nearest = np.argmin(dx**2 + dy**2, axis=-1)
    codes = np.asarray(DEPARTMENT_CODES, dtype="<U3")[nearest]
    outline = [np.asarray(REGION_OUTLINE, dtype=float)]
    return np.where(inside_rings(lon, lat, outline), codes, "")


# Lambert-93 (EPSG:2154): Lambert conformal conic, two standard parallels, on the GRS80 ellipsoid.
_A = 6378137.0
_F = 1 / 298.257222101
_E = np.sqrt(2 * _F - _F**2)
_LAT1, _LAT2, _LAT0, _LON0 = np.radians([49.0, 44.0, 46.5, 3.0])
_X0, _Y0 = 700000.0, 6600000.0


def _m(phi):
    return np.cos(phi) / np.sqrt(1 - (_E * np.sin(phi)) ** 2)


def _t(phi):
    esin = _E * np.sin(phi)
    return np.tan(np.pi / 4 - phi / 2) / ((1 - esin) / (1 + esin)) ** (_E / 2)


_N = (np.log(_m(_LAT1)) - np.log(_m(_LAT2))) / (np.log(_t(_LAT1)) - np.log(_t(_LAT2)))
_AF = _A * _m(_LAT1) / (_N * _t(_LAT1) ** _N)
_RHO0 = _AF * _t(_LAT0) ** _N


def wgs84_to_lambert93(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Project WGS84 (RGF93) degrees to Lambert-93 metres (EPSG:2154).

    Parameters
    ----------
    lon, lat
        Degrees east and north (arrays or scalars).

    Returns
    -------
    tuple of numpy.ndarray
        Easting ``x`` and northing ``y`` in metres.
    """
    phi, lam = np.radians(lat), np.radians(lon)
    rho = _AF * _t(phi) ** _N
    theta = _N * (lam - _LON0)
    return _X0 + rho * np.sin(theta), _Y0 + _RHO0 - rho * np.cos(theta)


def lambert93_to_wgs84(x, y) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of ``wgs84_to_lambert93``: Lambert-93 metres to WGS84 degrees.

    The latitude comes from the usual fixed-point iteration on the isometric latitude
    (Snyder 1987, eq. 7-9), which converges to well under a millimetre in a few steps.

    Parameters
    ----------
    x, y
        Easting and northing in metres (arrays or scalars).

    Returns
    -------
    tuple of numpy.ndarray
        Longitude and latitude in degrees.
    """
    dx = np.asarray(x, dtype=float) - _X0
    dy = _RHO0 - (np.asarray(y, dtype=float) - _Y0)
    rho = np.hypot(dx, dy)
    theta = np.arctan2(dx, dy)
    t = (rho / _AF) ** (1 / _N)
    phi = np.pi / 2 - 2 * np.arctan(t)
    for _ in range(8):
        esin = _E * np.sin(phi)
        phi = np.pi / 2 - 2 * np.arctan(t * ((1 - esin) / (1 + esin)) ** (_E / 2))
    return np.degrees(theta / _N + _LON0), np.degrees(phi)
