"""The pure HTML/SVG helpers of the dashboards (no kernel, no data)."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import numpy as np
import pandas as pd
import pytest

from occidata.dashboards import render

SQUARE = [{"name": "Carré", "rings": [np.array([[0.0, 42.5], [4.5, 42.5], [4.5, 45.0], [0.0, 45.0], [0.0, 42.5]])],
           "fill": None, "text": "Occitanie"}]
POINTS = pd.DataFrame({"lon": [1.44, 3.88, np.nan], "lat": [43.6, 43.61, 44.0],
                       "label": ["Toulouse : Bon", "Montpellier <b>", "nulle part"],
                       "colour": ["#50F0E6", "#F0E641", "#DDDDDD"], "text": ["1", "3", "?"]})


def test_escape():
    assert render.escape('<a href="x">&</a>') == "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
    assert render.escape(None) == ""
    assert render.escape(3) == "3"


def test_map_is_an_accessible_svg_without_tiles():
    svg = render.svg_map(POINTS, shapes=SQUARE, title="Carte <test>", description="Deux stations")
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert 'role="img"' in svg and re.search(r'viewBox="0 0 640 \d+"', svg) and "width:100%" in svg
    ids = re.search(r'aria-labelledby="([^"]+)"', svg).group(1).split()
    for ident in ids:
        assert f'id="{ident}"' in svg
    assert "<title" in svg and "Carte &lt;test&gt;" in svg and "<desc" in svg
    assert "<image" not in svg and "http" not in svg.replace("http://www.w3.org/2000/svg", "")
    # Points with a position are drawn with their label and text; the one without is left out.
    assert svg.count('class="od-point"') == 2
    assert "Toulouse : Bon" in svg and "Montpellier &lt;b&gt;" in svg and "nulle part" not in svg
    assert svg.count('class="od-shape"') == 1 and ">Occitanie</text>" in svg


def test_map_points_inside_the_frame():
    svg = render.svg_map(POINTS, shapes=SQUARE, title="t", description="d", width=500)
    width, height = map(float, re.search(r'viewBox="0 0 (\d+) (\d+)"', svg).groups())
    assert width == 500
    for cx, cy in re.findall(r'class="od-point" cx="([\d.]+)" cy="([\d.]+)"', svg):
        assert 0 < float(cx) < width and 0 < float(cy) < height
    # Toulouse (west) is left of Montpellier (east).
    xs = [float(x) for x, _ in re.findall(r'class="od-point" cx="([\d.]+)" cy="([\d.]+)"', svg)]
    assert xs[0] < xs[1]


def test_map_tiles_come_from_the_configured_host_only():
    url = "http://127.0.0.1:8080/{z}/{x}/{y}.png"
    svg = render.svg_map(POINTS, shapes=SQUARE, title="t", description="d", tiles_url=url)
    hrefs = re.findall(r'<image href="([^"]+)"', svg)
    assert 0 < len(hrefs) <= render.MAX_TILES
    assert {urlparse(h).netloc for h in hrefs} == {"127.0.0.1:8080"}
    assert all(re.fullmatch(r"http://127\.0\.0\.1:8080/\d+/\d+/\d+\.png", h) for h in hrefs)
    # Tiles are drawn under the shapes and points, which still show.
    assert svg.index("<image") < svg.index('class="od-shape"') < svg.index('class="od-point"')


def test_map_tiles_cover_the_view():
    url = "http://tiles.local/{z}/{x}/{y}.png"
    svg = render.svg_map(None, shapes=SQUARE, title="t", description="d", tiles_url=url)
    width, height = map(float, re.search(r'viewBox="0 0 (\d+) (\d+)"', svg).groups())
    tiles = [tuple(map(float, m)) for m in
             re.findall(r'<image href="[^"]+" x="(-?[\d.]+)" y="(-?[\d.]+)" width="([\d.]+)" height="([\d.]+)"', svg)]
    assert min(x for x, *_ in tiles) <= 0 and min(y for _, y, *_ in tiles) <= 0
    assert max(x + w for x, _, w, _ in tiles) >= width - 1 and max(y + h for _, y, _, h in tiles) >= height - 1


def test_map_without_shapes_fits_the_points():
    svg = render.svg_map(POINTS.dropna(), shapes=[], title="t", description="d")
    assert svg.count('class="od-point"') == 2


def test_line_chart_axes_legend_gaps_and_thresholds():
    x = pd.date_range("2024-01-06", periods=48, freq="h")
    y = np.linspace(10, 60, 48)
    y[10] = np.nan
    svg = render.svg_line_chart([{"label": "NO₂ Toulouse", "x": x, "y": y},
                                 {"label": "O₃", "x": x, "y": np.full(48, 30.0)}],
                                title="48 heures", description="Valeurs horaires", y_label="µg/m³",
                                thresholds=[{"value": 50, "label": "Seuil"}])
    assert 'role="img"' in svg and "<title" in svg and "Valeurs horaires" in svg and "viewBox" in svg
    assert "NO₂ Toulouse</text>" in svg and "O₃</text>" in svg and "Seuil (50)</text>" in svg
    assert "µg/m³</text>" in svg
    # Tick labels: hours of the two days, and round values.
    assert re.search(r">06/01 \d\dh</text>", svg) and re.search(r">07/01 \d\dh</text>", svg)
    assert ">0</text>" in svg and ">60</text>" in svg
    # The NaN breaks the first line in two.
    first = re.search(r'<g class="od-series"><title>NO₂ Toulouse</title><path d="([^"]+)"', svg).group(1)
    assert first.count("M") == 2
    assert svg.count('class="od-threshold"') == 1


def test_line_chart_timezone_aware_and_empty():
    x = pd.date_range("2024-01-06", periods=3, freq="D", tz="UTC")
    svg = render.svg_line_chart([{"label": "a", "x": x, "y": [1.0, 2.0, 3.0]}], title="t", description="d",
                                y_label="u")
    assert re.search(r">0[678]/01( \d\dh)?</text>", svg)
    empty = render.svg_line_chart([], title="t", description="d", y_label="u")
    assert 'role="img"' in empty and render.MISSING in empty


def test_html_table():
    frame = pd.DataFrame({"name": ["Toulouse <1>", "Albi"], "value": [12.345, np.nan], "n": [3, 4],
                          "when": [pd.Timestamp("2024-01-07"), pd.Timestamp("2024-01-07 14:00")]})
    html = render.html_table(frame, caption="Légende", columns={"name": "Ville", "value": "Valeur",
                                                                 "n": "Nombre", "when": "Date"})
    assert html.startswith('<div class="od-table-wrap"><table><caption>Légende</caption>')
    assert html.count('<th scope="col">') == 4 and html.count('<th scope="row">') == 2
    assert "<th scope=\"row\">Toulouse &lt;1&gt;</th><td>12.3</td><td>3</td><td>07/01/2024</td>" in html
    assert "<td>—</td>" in html and "07/01/2024 14:00" in html
    short = render.html_table(frame, caption="c", columns={"name": "Ville"}, max_rows=1)
    assert "Albi" not in short and "1 ligne de plus non affichée." in short
    assert "1 more row not shown." in render.html_table(frame, caption="c", columns={"name": "Ville"}, max_rows=1,
                                                        lang="en")
    longer = pd.concat([frame] * 2, ignore_index=True)
    assert "3 lignes de plus non affichées." in render.html_table(longer, caption="c", columns={"name": "Ville"},
                                                                  max_rows=1)
    assert "3 more rows not shown." in render.html_table(longer, caption="c", columns={"name": "Ville"}, max_rows=1,
                                                         lang="en")
    with pytest.raises(KeyError):
        render.html_table(frame, caption="c", columns={"absent": "x"})


@pytest.mark.parametrize("value, text", [(3.0, "3"), (0.25, "0.25"), (8.1, "8.1"), (12.34, "12.3"),
                                         (1234.5, "1234"), (np.nan, "—"), (None, "—"), (7, "7"), ("x", "x")])
def test_format_value(value, text):
    assert render.format_value(value) == text


@pytest.mark.parametrize("colour", ["#50F0E6", "#50CCAA", "#F0E641", "#FF5050", "#960032", "#872181",
                                    "#DDDDDD", "#777777", "#0b5cad", "#fff", "#000"])
def test_badge_text_contrast(colour):
    html = render.badge("Bon <1>", colour)
    fg = re.search(r"color:(#[0-9a-f]{6})", html).group(1)
    assert render.contrast_ratio(fg, colour) >= 4.5
    assert "Bon &lt;1&gt;" in html


def test_notice_kinds():
    assert 'role="alert"' in render.notice("x", "error") and 'role="status"' in render.notice("x")
    assert "od-notice-warning" in render.notice("x", "warning")
    with pytest.raises(ValueError):
        render.notice("x", "fatal")


def test_page_french_and_english():
    fr = render.page("<p>corps</p>", lang="fr", title="Qualité de l'air", updated=pd.Timestamp("2024-01-07"),
                     note="Données <démo>")
    assert fr.count("<h1>") == 1 and fr.count("<style>") == 1
    assert 'class="od-dashboard" lang="fr"' in fr and "Qualité de l&#x27;air" in fr
    assert "Dernières données : <strong>07/01/2024</strong>" in fr and "Données &lt;démo&gt;" in fr
    assert fr.index("</h1>") < fr.index("<p>corps</p>")
    en = render.page("<p>body</p>", lang="en", title="Air quality", updated=pd.Timestamp("2024-01-07"))
    assert 'lang="en"' in en and "Latest data: <strong>2024-01-07</strong>" in en
    assert "@media (max-width:480px)" in en and "overflow-x:auto" in en
    with pytest.raises(ValueError):
        render.page("", lang="de", title="x")


# --------------------------------------------------------------------------- geo


def test_department_shapes_from_the_boundaries_file(tiny_env, tmp_path, monkeypatch):
    from occidata.config import load_config
    from occidata.dashboards import geo

    shapes = geo.department_shapes()
    assert len(shapes) in (1, 13)
    if len(shapes) == 13:  # the shared boundaries are there: simplified, named, sorted by code
        assert [s["code"] for s in shapes] == sorted(s["code"] for s in shapes)
        assert all(s["name"] and all(len(r) >= 4 for r in s["rings"]) for s in shapes)
    cfg = load_config()
    cfg["sources"]["boundaries"] = str(tmp_path / "missing.geojson")
    cfg["state_dir"] = str(tmp_path / "other-state")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # this account's cache: none there
    cfg["data_dir"] = str(tmp_path / "data")
    fallback = geo.department_shapes(cfg)
    assert len(fallback) == 1 and fallback[0]["name"] == "Occitanie"
    svg = render.svg_map(None, shapes=fallback, title="t", description="d")
    assert svg.count('class="od-shape"') == 1


def test_simplify_ring_keeps_the_ends():
    from occidata.dashboards import geo

    ring = np.column_stack([np.linspace(0, 1, 1001), np.zeros(1001)])
    simple = geo.simplify_ring(ring, 0.1)
    assert len(simple) < 20 and (simple[0] == ring[0]).all() and (simple[-1] == ring[-1]).all()


def test_tiles_url_from_the_configuration(tiny_env, monkeypatch):
    from occidata.dashboards import geo

    assert geo.tiles_url() is None
    assert geo.tiles_url({"dashboards": {"tiles_url": "http://127.0.0.1:8080/{z}/{x}/{y}.png"}}).startswith("http://127.0.0.1")
    assert geo.tiles_url({}) is None


def test_long_labels_that_would_overlap_are_left_to_the_table_but_class_letters_never_are():
    crowded = pd.DataFrame({"lon": [1.44, 1.4401, 1.4402], "lat": [43.60, 43.6001, 43.6002],
                            "label": ["A", "B", "C"], "colour": ["#50F0E6"] * 3})
    roads = render.svg_map(crowded.assign(text=["A620", "A61", "A62"]), shapes=SQUARE, title="t", description="d")
    assert len(re.findall(r'class="od-point-text"', roads)) == 1
    assert roads.count("<title>") == 1 + 3  # the map's title, and every point keeps its tooltip
    letters = render.svg_map(crowded.assign(text=["E", "B", "S"]), shapes=SQUARE, title="t", description="d")
    assert sorted(re.findall(r'class="od-point-text"[^>]*>([^<]*)<', letters)) == ["B", "E", "S"]


def test_page_puts_title_banner_date_and_headline_first_and_splits_there():
    html = render.page("<p>corps</p>", lang="fr", title="Chaleur", updated=pd.Timestamp("2024-03-16"),
                       banner='<div class="od-banner">bandeau</div>', headline='<div class="od-headline">chiffre</div>')
    assert html.index("<h1>") < html.index("bandeau") < html.index("Dernières données") < html.index("chiffre") \
        < html.index("<p>corps</p>")
    top, rest = render.split_top(html)
    for part in (top, rest):
        assert part.count("<style>") == 1 and 'lang="fr"' in part
    assert "<h1>Chaleur</h1>" in top and "bandeau" in top and "chiffre" in top and "corps" not in top
    assert "corps" in rest and "<h1>" not in rest and "chiffre" not in rest
    assert render.split_top("<p>pas une page</p>") == ("", "<p>pas une page</p>")
