"""Static pages follow their data (issue 16): a steward ingests a provider's export, and the
dashboard's public address shows the new data without waiting for the snapshot schedule; the
landing page shows each dashboard's headline figure from its latest snapshot."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time

import pytest
import requests

import pandas as pd

from conftest import REPO_ROOT, start_dashboards_hub, wait_for_dashboards
from occidata.datasets.build import build_all
from occidata.datasets.sources import real_data_dir

pytestmark = [pytest.mark.hub, pytest.mark.slow]

PREFIX = "services/dashboards/"
HOURLY_EXPORT = "Mesure_72h_Region_Occitanie_Polluants_Principaux_2020-03-14.csv"
REAL_STATION = "St Laurent des Arbres"  # a station of the real export, not of the built data
NEVER = "0 4 1 1 *"  # the schedule out of the way: only a data change can render again


@pytest.fixture(scope="module")
def air_hub(tmp_path_factory, tiny_data_dir):
    tmp = tmp_path_factory.mktemp("fresh-hub")
    data_dir = tmp / "data"
    shutil.copytree(tiny_data_dir, data_dir, symlinks=True)
    # The build now holds ATMO's real March 2020 hours; here the data are built without them, so
    # that it is the steward's ingest of that export that brings them.
    build_all("tiny", data_dir, only=["air_quality_hourly"], real_data_dir=tmp / "no-real-exports",
              progress=lambda line: None)
    assert REAL_STATION not in set(pd.read_parquet(data_dir / "air_quality_hourly")["station_name"])
    local, _token, count = start_dashboards_hub(tmp, data_dir, apps=["qualite-air"], DASHBOARDS__POOL_SIZE="0",
                                                DASHBOARDS__SNAPSHOT_CRON=NEVER)
    try:
        wait_for_dashboards(local.url, count, 0)
        yield local, data_dir, tmp
    finally:
        local.stop()


def page(hub) -> requests.Response:
    response = requests.get(hub.url + PREFIX + "qualite-air/", timeout=60)
    assert response.status_code == 200
    return response


def test_the_landing_page_shows_the_headline_of_the_latest_snapshot(air_hub):
    hub, _data_dir, _tmp = air_hub
    landing = requests.get(hub.url + PREFIX, timeout=60).text
    card = landing.split('id="tableau-qualite-air"', 1)[1].split("Ces pages n'utilisent", 1)[0]
    served = page(hub).text
    headline = re.search(r'<div class="od-headline">.*?</div>', served, re.S).group(0)
    assert headline in card, "the card shows the figure the static page opens with"
    assert "Indice le plus élevé le" in card and 'class="od-figure"' in card
    assert f'href="/{PREFIX}qualite-air/"' in card and f'href="/{PREFIX}voila/render/qualite-air.ipynb"' in card


def test_an_ingest_renders_the_static_page_again_without_waiting_for_the_schedule(air_hub):
    hub, data_dir, tmp = air_hub
    before = page(hub)
    assert REAL_STATION not in before.text
    env = {**os.environ, "OCCIDATA_DATA_DIR": str(data_dir), "OCCIDATA_STATE_DIR": str(tmp / "ingest-state")}
    done = subprocess.run([sys.executable, "-m", "occidata.cli", "data", "ingest", "air_quality_hourly",
                           str(real_data_dir() / "atmo" / HOURLY_EXPORT)], capture_output=True, text=True,
                          env=env, cwd=REPO_ROOT, timeout=600)
    assert done.returncode == 0, done.stderr
    deadline = time.monotonic() + 400
    while True:
        after = page(hub)
        if after.headers["X-Occidata-Snapshot"] != before.headers["X-Occidata-Snapshot"]:
            break
        assert time.monotonic() < deadline, "the static page was not rendered again after the ingest"
        time.sleep(3)
    # The ingested hours are ATMO's real episode of March 2020: the new snapshot offers its days.
    episode = requests.get(hub.url + PREFIX + "qualite-air/?day=2020-03-16", timeout=60)
    assert "day=2020-03-16" in episode.headers["X-Occidata-View"], episode.headers
    assert REAL_STATION in episode.text, "the new snapshot shows the ingested stations"
    assert after.headers["X-Occidata-Snapshot"].endswith("instantane-qualite-air")
