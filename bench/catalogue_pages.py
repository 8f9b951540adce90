"""How fast do the catalogue pages answer through the hub's proxy?

Starts a real hub + proxy (occidata.platform.LocalHub) on loopback with a throw-away state
directory and freshly built data (``--size``, default tiny), only the catalogue pages and the
data service on, then measures in one run, as a visitor (no login):

- the first request of the list and of one entry (cold: catalogue parsed, map data read);
- p50/p95 of ``--requests`` (50) sequential GETs of the list page, of the list with a search
  (``?q=qualite air``), and of one entry page (``--entry``, air_quality_hourly: map of its stations);
- the same entry page for a logged-in user (the hub's OAuth cookie checked, then cached);
- as a reference in the same run, the hub's own ``/hub/api/`` through the same proxy: the
  ratio says what the pages add to the proxy's and tornado's own cost.

    .venv/bin/python bench/catalogue_pages.py [--requests 50] [--entry air_quality_hourly] [--size tiny]
"""

from __future__ import annotations

import argparse
import os
import secrets
import tempfile
import time
from pathlib import Path

import requests

from occidata.hub.client import HubSession
from occidata.platform import LocalHub
from _platform import percentile, remove_accounts

PREFIX = "services/catalogue/"


def timed(session: requests.Session, url: str, **params) -> float:
    started = time.perf_counter()
    response = session.get(url, params=params, timeout=60)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(f"GET {response.url} answered {response.status_code}: {response.text[:200]}")
    return elapsed


def series(session: requests.Session, url: str, count: int, **params) -> list[float]:
    return [timed(session, url, **params) for _ in range(count)]


def line(label: str, times: list[float], reference: float | None = None) -> str:
    p50, p95 = percentile(times, 50), percentile(times, 95)
    ratio = f"  ({p50 / reference:.1f}x the hub API's p50)" if reference else ""
    return f"  {label:<38} p50 {p50 * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms{ratio}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--entry", default="air_quality_hourly")
    parser.add_argument("--size", default="tiny", choices=["tiny", "demo", "full"])
    args = parser.parse_args()

    from occidata.datasets.build import build_all

    with tempfile.TemporaryDirectory(prefix="occidata-bench-catalogue-") as tmp:
        os.chmod(tmp, 0o755)  # as root, the pages run as the public account, which must walk here
        data_dir = Path(tmp) / "data"
        print(f"Building the {args.size} data ...", flush=True)
        build_all(args.size, data_dir)
        if os.geteuid() == 0:  # as `occidata up` leaves it: public data readable by all, the rest root's
            from occidata.hub.isolation import secure_data_dir

            secure_data_dir(data_dir, "root")
        # As root, labs and the pages run as system accounts: this run's own, removed at the end.
        tag = f"cb{secrets.token_hex(2)}"
        accounts = {"SERVER__USER_PREFIX": f"{tag}-", "SERVER__SERVICE_USER": f"{tag}d",
                    "SERVER__PUBLIC_USER": f"{tag}p", "SERVER__REPORTS_USER": f"{tag}r", "SERVER__GATE_PREFIX": f"{tag}g-"}
        local = LocalHub(Path(tmp) / "state", settings={
            "DATA_DIR": str(data_dir), "HUB__LOG_LEVEL": "WARN", "CULLER__ENABLED": "false",
            "REPORTS__ENABLED": "false", "DASHBOARDS__ENABLED": "false", **accounts})
        print("Starting the hub ...", flush=True)
        local.start()
        try:
            base = local.url
            listing, entry = base + PREFIX, base + PREFIX + args.entry
            visitor = requests.Session()
            deadline = time.monotonic() + 60
            while visitor.get(listing, timeout=30).status_code == 503 and time.monotonic() < deadline:
                time.sleep(0.2)  # the hub started the service; wait until it listens
            # The first request above parsed the catalogue; the first entry page reads its map's data.
            cold_entry = timed(visitor, entry)
            print(f"{args.requests} sequential GETs each ...", flush=True)
            hub_api = series(visitor, base + "hub/api/", args.requests)
            reference = percentile(hub_api, 50)
            results = [
                ("hub API /hub/api/ (reference)", hub_api, None),
                ("list", series(visitor, listing, args.requests), reference),
                ("list, search 'qualite air'", series(visitor, listing, args.requests, q="qualite air"), reference),
                (f"entry {args.entry}", series(visitor, entry, args.requests), reference),
            ]
            person = HubSession(base)
            name, password = local.state.initial_admin_password.read_text().split("\n")[:2]
            if not person.login(name, password):
                raise SystemExit("the admin's login was refused")
            person.http.get(listing + "login", params={"next": "/" + PREFIX}, timeout=60)  # OAuth, once
            results.append((f"entry {args.entry}, logged in", series(person.http, entry, args.requests), reference))
        finally:
            print("Stopping the hub ...", flush=True)
            local.stop()
            if os.geteuid() == 0:
                remove_accounts(tag)

    print(f"\ncatalogue_pages results ({args.size} data, {args.requests} sequential requests each, through the proxy)")
    print(f"  first entry page (map data read):      {cold_entry * 1000:7.1f} ms")
    for label, times, ref in results:
        print(line(label, times, ref))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
