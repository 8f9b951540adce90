"""geography: departments, communes and boundaries checked against the real IGN shapes."""

from __future__ import annotations

import functools
import http.server
import json
import socket
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from occidata.datasets import geography as geo
from occidata.datasets.schema import SchemaError

GEO = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "geo"
DEPARTMENTS_FILE = GEO / "departements-occitanie.geojson"
REAL = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "real"


@pytest.fixture(scope="module")
def boundaries():
    if not DEPARTMENTS_FILE.exists():
        pytest.fail(f"the IGN department shapes are expected at {DEPARTMENTS_FILE} (../shared/data beside the checkout)")
    return json.loads(DEPARTMENTS_FILE.read_text(encoding="utf-8"))


@pytest.fixture()
def served():
    """The shared geo folder over HTTP on a random loopback port; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(GEO))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_departments_are_the_thirteen_with_their_prefecture(boundaries):
    table = geo.departments()
    assert len(table) == 13 and table["code"].is_unique
    assert list(table["code"]) == ["09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82"]
    names = dict(zip(table["code"], table["name"]))
    assert names["31"] == "Haute-Garonne" and names["66"] == "Pyrénées-Orientales" and names["82"] == "Tarn-et-Garonne"
    # The shapes' own names agree with ours.
    assert {f["properties"]["code"]: f["properties"]["nom"] for f in boundaries["features"]} == names
    prefectures = dict(zip(table["prefecture"], table["prefecture_insee"]))
    assert prefectures["Toulouse"] == "31555" and prefectures["Montpellier"] == "34172" and prefectures["Foix"] == "09122"
    assert (table["prefecture_insee"].str[:2] == table["code"]).all()
    # Each prefecture lies in its department's real outline.
    found = geo.departments_at(table["prefecture_lon"].to_numpy(), table["prefecture_lat"].to_numpy(), boundaries)
    assert list(found) == list(table["code"])


def test_communes_lie_in_their_department(boundaries):
    table = geo.communes()
    assert table["insee_code"].is_unique and table["insee_code"].str.fullmatch(r"\d{5}").all()
    assert (table["department"] == table["insee_code"].str[:2]).all()
    codes = dict(zip(table["name"], table["insee_code"]))
    for name, code in [("Sète", "34301"), ("Béziers", "34032"), ("Narbonne", "11262"), ("Agde", "34003"),
                       ("Palavas-les-Flots", "34192"), ("Le Grau-du-Roi", "30133"), ("Gruissan", "11170"),
                       ("Leucate", "11202"), ("Canet-en-Roussillon", "66037"), ("Argelès-sur-Mer", "66008"),
                       ("Millau", "12145"), ("Castres", "81065"), ("Lourdes", "65286"), ("Figeac", "46102")]:
        assert codes[name] == code
    assert set(geo.departments()["prefecture_insee"]) <= set(table["insee_code"])
    assert table["lon"].between(-0.5, 5.0).all() and table["lat"].between(42.3, 45.1).all()
    found = geo.departments_at(table["lon"].to_numpy(), table["lat"].to_numpy(), boundaries)
    wrong = table[found != table["department"].to_numpy()]
    assert wrong.empty, f"communes outside their department: {wrong['name'].tolist()}"


def test_point_in_department_handles_polygons_multipolygons_and_outside(boundaries):
    assert geo.point_in_department(1.4442, 43.6047, boundaries) == "31"
    assert geo.point_in_department(3.8767, 43.6108, boundaries) == "34"  # Hérault is a MultiPolygon
    assert geo.point_in_department(0.0781, 43.2328, boundaries) == "65"  # so is Hautes-Pyrénées
    assert geo.point_in_department(2.3522, 48.8566, boundaries) is None  # Paris
    assert geo.point_in_department(4.0, 43.0, boundaries) is None  # at sea
    assert geo.point_in_department(-0.37, 43.30, boundaries) is None  # Pau, next door


def test_rings_follow_the_even_odd_rule_for_holes_and_parts():
    square = [[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]]
    hole = [[1, 1], [3, 1], [3, 3], [1, 3], [1, 1]]
    island = [[10, 10], [11, 10], [11, 11], [10, 10]]
    shapes = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "A", "nom": "a"},
         "geometry": {"type": "MultiPolygon", "coordinates": [[square, hole], [island]]}},
    ]}
    lon = np.array([0.5, 2.0, 3.5, 10.8, 10.2, 5.0])
    lat = np.array([0.5, 2.0, 2.0, 10.2, 10.8, 2.0])
    assert list(geo.departments_at(lon, lat, shapes)) == ["A", "", "A", "A", "", ""]


def test_department_points_stand_in_for_the_shapes():
    points = geo.department_points()
    assert points["type"] == "FeatureCollection" and len(points["features"]) == 13
    toulouse = next(f for f in points["features"] if f["properties"]["code"] == "31")
    assert toulouse["geometry"] == {"type": "Point", "coordinates": [1.4442, 43.6047]}
    assert toulouse["properties"]["nom"] == "Haute-Garonne" and toulouse["properties"]["prefecture"] == "Toulouse"


def test_load_from_a_path_caches_and_the_cache_serves_later(tmp_path, boundaries):
    cache = tmp_path / "cache"
    assert geo.load_boundaries(None, cache) is None  # nothing configured, nothing cached
    loaded = geo.load_boundaries(DEPARTMENTS_FILE, cache)
    assert loaded == boundaries
    cached = cache / "departements-occitanie.geojson"
    assert cached.read_bytes() == DEPARTMENTS_FILE.read_bytes()
    assert [p.name for p in cache.iterdir()] == [cached.name]  # no temporary file left
    assert geo.load_boundaries(None, cache) == boundaries


def test_load_from_a_url_and_degrade_when_offline(tmp_path, served, boundaries):
    cache = tmp_path / "cache"
    assert geo.load_boundaries(f"{served}/departements-occitanie.geojson", cache) == boundaries
    assert geo.load_boundaries(None, cache) == boundaries
    # A URL that cannot be reached gives None and leaves the cache as it was.
    assert geo.load_boundaries(f"{served}/missing.geojson", tmp_path / "other") is None
    assert not (tmp_path / "other").exists()
    closed = _closed_port_url()
    assert geo.load_boundaries(closed, cache) is None
    assert geo.load_boundaries(None, cache) == boundaries


def test_a_url_serving_the_wrong_shapes_is_refused(tmp_path, served):
    region = f"{served}/region-occitanie.geojson"  # a single Feature, not the departments
    with pytest.raises(SchemaError, match=r"region-occitanie\.geojson: not a GeoJSON FeatureCollection"):
        geo.load_boundaries(region, tmp_path)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d["features"].pop(), r"expected the 13 departments of Occitanie, found 12 features"),
        (lambda d: d["features"][0]["properties"].update(code="64"), r"missing: 09; unexpected: 64"),
        (lambda d: d["features"][2].update(geometry={"type": "Point", "coordinates": [2.5, 44.3]}), r"Polygon or MultiPolygon"),
    ],
)
def test_invalid_shapes_name_the_source_and_keep_the_old_cache(tmp_path, boundaries, edit, message):
    cache = tmp_path / "cache"
    geo.load_boundaries(DEPARTMENTS_FILE, cache)
    data = json.loads(json.dumps(boundaries))
    edit(data)
    bad = tmp_path / "bad.geojson"
    bad.write_text(json.dumps(data))
    with pytest.raises(SchemaError, match=rf"bad\.geojson: .*{message}"):
        geo.load_boundaries(bad, cache)
    assert geo.load_boundaries(None, cache) == boundaries


def test_missing_or_garbled_file_names_itself(tmp_path):
    with pytest.raises(SchemaError, match=r"nope\.geojson: no such file"):
        geo.load_boundaries(tmp_path / "nope.geojson", tmp_path / "cache")
    garbled = tmp_path / "garbled.geojson"
    garbled.write_text('{"type": "FeatureCollection", "features": [')
    with pytest.raises(SchemaError, match=r"garbled\.geojson: not GeoJSON"):
        geo.load_boundaries(garbled, tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


def test_lambert93_matches_the_providers_own_coordinates():
    """ATMO's export gives every station in WGS84 and in Lambert-93: the projection must agree."""
    stations = pd.read_csv(REAL / "atmo_occitanie_mesures_mensuelles.csv", encoding="utf-8-sig").drop_duplicates("code_station")
    x, y = geo.wgs84_to_lambert93(stations["X"].to_numpy(), stations["Y"].to_numpy())
    error_m = np.hypot(x - stations["x_l93"], y - stations["y_l93"])
    # WGS84 is given to 1e-5 degree (about a metre); one station's two positions disagree in the file itself.
    assert (error_m < 7).sum() == len(stations) - 1
    assert set(stations.loc[error_m >= 7, "code_station"]) == {"FR50048"}
    lon, lat = geo.lambert93_to_wgs84(stations["x_l93"].to_numpy(), stations["y_l93"].to_numpy())
    close = error_m < 7
    assert np.abs(lon - stations["X"])[close].max() < 1e-4 and np.abs(lat - stations["Y"])[close].max() < 1e-4
    assert geo.wgs84_to_lambert93(3.0, 46.5) == pytest.approx((700000.0, 6600000.0), abs=1e-6)
    grid_x, grid_y = np.meshgrid(np.arange(400e3, 900e3, 50e3), np.arange(6.1e6, 6.5e6, 50e3))
    back_x, back_y = geo.wgs84_to_lambert93(*geo.lambert93_to_wgs84(grid_x, grid_y))
    assert np.abs(back_x - grid_x).max() < 1e-3 and np.abs(back_y - grid_y).max() < 1e-3


def test_fallback_without_shapes_mostly_agrees_with_them(boundaries):
    table = geo.communes()
    fallback = geo.nearest_prefecture_departments(table["lon"].to_numpy(), table["lat"].to_numpy())
    assert (fallback == table["department"].to_numpy()).mean() > 0.75
    assert geo.nearest_prefecture_departments(2.35, 48.86).item() == ""  # Paris is outside the outline
    assert geo.nearest_prefecture_departments(4.0, 43.0).item() == ""  # and so is the sea


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/departements-occitanie.geojson"


def test_place_names_are_the_official_ones_whatever_the_provider_wrote():
    assert geo.place_names("30189", "NIMES") == ("Nîmes", "Gard")
    assert geo.place_names("34157", "MEZE") == ("Mèze", "Hérault")
    assert geo.place_names("9225", "PAMIERS") == ("Pamiers", "Ariège")  # ATMO drops the leading zero
    # A commune the reference does not hold keeps its name, in a place name's usual case.
    assert geo.place_names("31999", "SAINT-JEAN-DE-LA-FORET") == ("Saint-Jean-de-la-Foret", "Haute-Garonne")
    assert geo.place_names("75056", "Paris") == ("Paris", None)
    articles = dict(zip(geo.departments()["name"], geo.departments()["article"]))
    assert articles["Hérault"] == "l'" and articles["Gard"] == "le" and articles["Lozère"] == "la"
    assert articles["Pyrénées-Orientales"] == "les" and set(articles.values()) <= {"le", "la", "l'", "les"}
