"""How long from « Se connecter » to a researcher's first curated notebook run?

Starts a real hub + proxy (occidata.platform.LocalHub) on loopback with a throw-away state
directory and freshly built data (``--size``, default demo, what `make up` builds), signs up
and approves ``--runs`` (3) new researchers, then, for each on a quiet machine, in Debian's
chromium (requests outside 127.0.0.1 blocked), measures from the click on « Se connecter »:

- the lab open on the curated notebooks' README (login, server start, curated copy, lab load);
- the first curated notebook (air_quality/daily_report) open and its first cell run (kernel
  start included).

The same steps as tests/test_browser_lab.py (tests/lab_steps.py). Prints the median and each run.

    .venv/bin/python bench/first_hour.py [--runs 3] [--size demo]
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from lab_steps import log_in, run_first_code_cell, wait_for_first_lab  # noqa: E402
from occidata.hub.client import HubSession  # noqa: E402
from occidata.platform import LocalHub  # noqa: E402
from _platform import remove_accounts  # noqa: E402

PASSWORD = "premiere-heure-banc-essai"
NOTEBOOK = "notebooks-occidata/air_quality/daily_report.ipynb"
CHROMIUM = "/usr/bin/chromium"


def one_researcher(browser, url: str, name: str) -> tuple[float, float]:
    """Seconds from the click on « Se connecter » to the lab, and to the first cell run."""
    context = browser.new_context(locale="fr-FR", viewport={"width": 1400, "height": 900})
    context.route("**/*", lambda route: route.continue_() if urlparse(route.request.url).hostname == "127.0.0.1"
                  else route.abort())
    page = context.new_page()
    try:
        started = time.perf_counter()
        log_in(page, url, name, PASSWORD)
        wait_for_first_lab(page, name)
        lab = time.perf_counter() - started
        run_first_code_cell(page, url, name, NOTEBOOK)
        return lab, time.perf_counter() - started
    finally:
        context.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--size", default="demo", choices=["tiny", "demo", "full"])
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from occidata.datasets.build import build_all

    with tempfile.TemporaryDirectory(prefix="occidata-bench-first-hour-") as tmp:
        os.chmod(tmp, 0o755)  # as root, labs run as the researchers' accounts, which must walk here
        data_dir = Path(tmp) / "data"
        print(f"Building the {args.size} data ...", flush=True)
        build_all(args.size, data_dir)
        if os.geteuid() == 0:
            from occidata.hub.isolation import secure_data_dir

            secure_data_dir(data_dir, "root")
        tag = f"fh{secrets.token_hex(2)}"
        accounts = {"SERVER__USER_PREFIX": f"{tag}-", "SERVER__SERVICE_USER": f"{tag}d",
                    "SERVER__PUBLIC_USER": f"{tag}p", "SERVER__REPORTS_USER": f"{tag}r", "SERVER__GATE_PREFIX": f"{tag}g-"}
        local = LocalHub(Path(tmp) / "state", settings={
            "DATA_DIR": str(data_dir), "HUB__LOG_LEVEL": "WARN", "CULLER__ENABLED": "false",
            "DASHBOARDS__ENABLED": "false", **accounts})
        print("Starting the hub ...", flush=True)
        local.start()
        runs = []
        try:
            admin = HubSession(local.url)
            name, password = local.state.initial_admin_password.read_text().split("\n")[:2]
            if not admin.login(name, password):
                raise SystemExit("the admin's login was refused")
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                for index in range(args.runs):
                    researcher = f"chercheuse{index}"
                    if HubSession(local.url).signup(researcher, PASSWORD).status_code != 200:
                        raise SystemExit(f"the signup of {researcher} was refused")
                    admin.toggle_approval(researcher)
                    time.sleep(5)  # a quiet machine: the previous researcher's kernel settles
                    runs.append(one_researcher(browser, local.url, researcher))
                    print(f"  {researcher}: lab {runs[-1][0]:.1f} s, first cell run {runs[-1][1]:.1f} s", flush=True)
                browser.close()
        finally:
            print("Stopping the hub ...", flush=True)
            local.stop()
            if os.geteuid() == 0:
                remove_accounts(tag)

    print(f"\nfirst_hour results ({args.size} data, {args.runs} new researchers, one at a time, chromium)")
    print(f"  « Se connecter » -> lab open on the curated README:        median {statistics.median(r[0] for r in runs):5.1f} s")
    print(f"  « Se connecter » -> {NOTEBOOK.split('/', 1)[1]} first cell run: median {statistics.median(r[1] for r in runs):5.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
