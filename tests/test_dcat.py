"""The catalogue published as DCAT-AP 2.1.1 in JSON-LD (issue 19): what open-data portals harvest.

On the tiny build with the real provider exports (``tiny_data_dir``): the export is JSON-LD that
rdflib reads and that conforms to our SHACL shapes, holds every public entry and nothing of the
others, says where real entries come from (files and SHA-256) and their periods; the shapes catch
a broken graph and name the dataset; the catalogue pages serve it over HTTP without a login; the
CLI checks it."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import os
import subprocess
import sys
import threading

import pyshacl
import pytest
import rdflib
import requests

from occidata.catalog.dcat import DcatError, dcat_catalog
from occidata.catalog.dcat_check import ERROR, SHAPES_PATH, check_dcat
from occidata.config import load_config
from occidata.datasets import get_dataset, names
from occidata.datasets.sources import real_data_dir

DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")
DCT = rdflib.Namespace("http://purl.org/dc/terms/")
FOAF = rdflib.Namespace("http://xmlns.com/foaf/0.1/")
ODBL = "https://opendatacommons.org/licenses/odbl/1-0/"
PREFIX = "/services/catalogue/"

PUBLIC = [name for name in names() if get_dataset(name).METADATA["access"] == "public"]
NOT_PUBLIC = [name for name in names() if get_dataset(name).METADATA["access"] != "public"]


@pytest.fixture(scope="module")
def platform(tiny_data_dir, tmp_path_factory):
    """The platform's configuration pointed at the tiny build (real exports where present)."""
    with pytest.MonkeyPatch.context() as patch:
        for key in [k for k in os.environ if k.startswith("OCCIDATA_")]:
            patch.delenv(key)
        patch.setenv("OCCIDATA_STATE_DIR", str(tmp_path_factory.mktemp("dcat-state")))
        patch.setenv("OCCIDATA_DATA_DIR", str(tiny_data_dir))
        yield load_config()


@pytest.fixture(scope="module")
def document(platform) -> dict:
    return dcat_catalog(platform)


def graph_of(document: dict):
    return rdflib.Graph().parse(data=json.dumps(document), format="json-ld")


def dataset_node(graph, name: str):
    found = [node for node in graph.subjects(DCT.identifier, rdflib.Literal(name))
             if (node, rdflib.RDF.type, DCAT.Dataset) in graph]
    assert len(found) == 1, f"{name}: {len(found)} datasets"
    return found[0]


def test_the_export_is_dcat_ap_of_every_public_entry_and_of_nothing_else(document):
    assert {"agri_sensors", "building_meters", "health_admissions"} <= set(NOT_PUBLIC)
    graph = graph_of(document)
    shapes = rdflib.Graph().parse(SHAPES_PATH, format="turtle")
    conforms, _, text = pyshacl.validate(graph, shacl_graph=shapes, inference="none", allow_warnings=True)
    assert conforms, text
    assert not [f.line() for f in check_dcat(document) if f.severity == ERROR]

    catalogue = next(graph.subjects(rdflib.RDF.type, DCAT.Catalog))
    in_catalogue = {str(graph.value(node, DCT.identifier)) for node in graph.objects(catalogue, DCAT.dataset)}
    assert in_catalogue == set(PUBLIC)
    for name in PUBLIC:
        node = dataset_node(graph, name)
        titles = {title.language: str(title) for title in graph.objects(node, DCT.title)}
        assert titles == {"fr": get_dataset(name).METADATA["title_fr"], "en": get_dataset(name).METADATA["title_en"]}
        assert list(graph.objects(node, DCAT.theme)), name
        distribution = graph.value(node, DCAT.distribution)
        assert str(graph.value(distribution, DCAT.accessURL)).endswith(f"{PREFIX}{name}")
        assert graph.value(distribution, DCT.license) is not None
    # Not the name, nor a title, nor a word of the description of a partner or restricted entry.
    text = json.dumps(document, ensure_ascii=False)
    for name in NOT_PUBLIC:
        meta = get_dataset(name).METADATA
        for secret in (name, meta["title_fr"], meta["title_en"], meta["description"][:60]):
            assert secret not in text, (name, secret)


def test_the_shapes_name_the_dataset_of_an_untagged_title_and_of_a_distribution_without_licence(document):
    broken = copy.deepcopy(document)
    bicycles = next(d for d in broken["dcat:dataset"] if d["dct:identifier"] == "bicycle_counts")
    bicycles["dct:title"] = ["Comptages vélo"]  # no language
    synop = next(d for d in broken["dcat:dataset"] if d["dct:identifier"] == "synop_3hourly")
    del synop["dcat:distribution"][0]["dct:license"]

    errors = [f for f in check_dcat(broken) if f.severity == ERROR]
    by_dataset = {(f.subject, f.path) for f in errors}
    assert ("bicycle_counts", "dct:title") in by_dataset
    assert ("synop_3hourly", "dct:license") in by_dataset
    assert {f.subject for f in errors} == {"bicycle_counts", "synop_3hourly"}
    lines = [f.line() for f in errors]
    assert any("jeu bicycle_counts" in line and "(@fr)" in line for line in lines), lines
    assert any("jeu synop_3hourly" in line and "licence (dct:license)" in line for line in lines), lines
    shapes = rdflib.Graph().parse(SHAPES_PATH, format="turtle")
    assert not pyshacl.validate(graph_of(broken), shacl_graph=shapes, allow_warnings=True)[0]


def test_real_entries_give_their_period_provider_files_and_licence(document):
    graph = graph_of(document)
    heat = dataset_node(graph, "temperature_departments_daily")
    periods = [(graph.value(period, DCAT.startDate), graph.value(period, DCAT.endDate))
               for period in graph.objects(heat, DCT.temporal)]
    day = rdflib.XSD.date
    assert periods == [(rdflib.Literal("2018-01-01", datatype=day), rdflib.Literal("2020-12-31", datatype=day))]

    export = real_data_dir() / "meteo" / "temperature-quotidienne-departementale.csv"
    digest = hashlib.sha256(export.read_bytes()).hexdigest()
    said = {label.language: str(label) for label in graph.objects(graph.value(heat, DCT.provenance), rdflib.RDFS.label)}
    assert said["fr"].startswith("Données réelles") and said["en"].startswith("Real data")
    assert export.name in said["fr"] and digest in said["fr"] and digest in said["en"]
    assert str(graph.value(graph.value(heat, DCT.publisher), FOAF.name)) == get_dataset(
        "temperature_departments_daily").REAL.provider

    bicycles = dataset_node(graph, "bicycle_counts")
    assert str(graph.value(graph.value(bicycles, DCAT.distribution), DCT.license)) == ODBL

    # A synthetic entry says so, and the lab publishes it.
    traffic = dataset_node(graph, "traffic_counts")
    statement = graph.value(traffic, DCT.provenance)
    label = {said.language: str(said) for said in graph.objects(statement, rdflib.RDFS.label)}
    assert label["fr"].startswith("Données synthétiques")
    assert str(graph.value(graph.value(traffic, DCT.publisher), FOAF.name)) == "Occitanie Data Lab"


def test_a_licence_with_no_known_address_is_refused_with_the_entry_named(platform):
    from occidata.catalog import show

    meta = {**show("traffic_counts"), "licence": "Licence maison"}
    with pytest.raises(DcatError, match=r"traffic_counts .*« Licence maison »"):
        dcat_catalog(platform, entries={"traffic_counts": meta})


@pytest.fixture(scope="module")
def pages(platform):
    """The catalogue pages' tornado app on a random loopback port, without a hub (nobody logs in)."""
    from jupyterhub.services.auth import HubOAuth
    from tornado.httpserver import HTTPServer
    from tornado.netutil import bind_sockets

    from occidata.catalog.pages_service import make_app

    auth = HubOAuth(api_token="unused", api_url="http://127.0.0.1:9/hub/api/", oauth_client_id="service-catalogue",
                    base_url=PREFIX)
    loop = asyncio.new_event_loop()
    ready, held = threading.Event(), {}

    def serve():
        asyncio.set_event_loop(loop)
        sockets = bind_sockets(0, "127.0.0.1")
        held["server"] = HTTPServer(make_app(platform, hub_auth=auth))
        held["server"].add_sockets(sockets)
        held["url"] = f"http://127.0.0.1:{sockets[0].getsockname()[1]}{PREFIX}"
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(30), "the catalogue pages did not start"
    yield held["url"]
    loop.call_soon_threadsafe(held["server"].stop)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def test_portals_harvest_the_same_graph_over_http_without_logging_in(pages, platform, document):
    from rdflib.compare import isomorphic

    from occidata.hub import csp

    response = requests.get(pages + "dcat.jsonld", timeout=60)
    assert response.status_code == 200
    assert response.headers["Content-Type"].split(";")[0] == "application/ld+json"
    page = requests.get(pages, timeout=60)
    assert response.headers[csp.HEADER] == page.headers[csp.HEADER]
    assert not csp.allows_untrusted_script(response.headers[csp.HEADER])
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    served = rdflib.Graph().parse(data=response.text, format="json-ld")
    assert isomorphic(served, graph_of(document))
    for name in NOT_PUBLIC:
        assert name not in response.text and get_dataset(name).METADATA["title_fr"] not in response.text


def test_the_cli_writes_the_export_and_checks_it_against_the_shapes(platform, tmp_path):
    run = [sys.executable, "-m", "occidata.cli", "catalog", "dcat"]
    checked = subprocess.run(run + ["--check"], capture_output=True, text=True, timeout=300)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Catalogue DCAT-AP 2.1.1 conforme" in checked.stdout
    assert "erreur :" not in checked.stdout

    target = tmp_path / "catalogue.jsonld"
    written = subprocess.run(run + ["--output", str(target)], capture_output=True, text=True, timeout=300)
    assert written.returncode == 0, written.stderr
    saved = json.loads(target.read_text(encoding="utf-8"))
    assert sorted(d["dct:identifier"] for d in saved["dcat:dataset"]) == sorted(PUBLIC)
    assert [p.name for p in tmp_path.iterdir()] == ["catalogue.jsonld"]  # no temporary file left
