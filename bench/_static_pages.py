"""What bench/dashboards.py measures of the dashboards' static pages: a crowd of HTTP clients, a
crowd of real browsers, and the pages' sizes against the report's HTML (today's snapshot).

Every visitor is released at once; a failure is a result (counted by its kind), never hidden.
"""

from __future__ import annotations

import asyncio
import gzip
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import requests

HEADLINE = 'class="od-headline"'
CHROMIUM = Path("/usr/bin/chromium")  # Debian's, as tests/conftest.py's `browser`


@dataclass
class Crowd:
    """What a crowd of visitors got: the times of those that got the page, and what the others got."""

    label: str
    visitors: int
    times: list[float] = field(default_factory=list)  # seconds, visitors who got what they asked for
    failures: Counter = field(default_factory=Counter)  # what went wrong -> how many
    wall: float = 0.0
    load: float = float("nan")  # 1-minute load average right after the crowd
    extra: dict = field(default_factory=dict)

    @property
    def failed(self) -> int:
        return sum(self.failures.values())


# --- HTTP clients -------------------------------------------------------------------------------


async def _http_crowd(urls: list[str], etags: dict[str, str] | None, timeout: float) -> Crowd:
    from tornado.httpclient import AsyncHTTPClient

    # A client of our own, as wide as the crowd: none waits in the client's queue.
    client = AsyncHTTPClient(force_instance=True, max_clients=len(urls))
    crowd = Crowd("", len(urls))
    statuses: Counter = Counter()

    async def one(url: str) -> None:
        headers = {"Accept-Encoding": "gzip"}
        if etags is not None:
            headers["If-None-Match"] = etags[url]
        started = time.perf_counter()
        try:
            response = await client.fetch(url, headers=headers, decompress_response=False, raise_error=False,
                                          connect_timeout=timeout, request_timeout=timeout)
        except Exception as error:  # noqa: BLE001 - a failure is a result here
            crowd.failures[type(error).__name__] += 1
            return
        elapsed = time.perf_counter() - started  # the whole body is in
        statuses[response.code] += 1
        if response.code == 599:  # tornado's own: timeout or connection error
            crowd.failures[f"599 {response.error}"[:80]] += 1
        elif etags is not None:
            if response.code == 304:
                crowd.times.append(elapsed)
            else:
                crowd.failures[f"HTTP {response.code} instead of 304"] += 1
        elif response.code != 200:
            crowd.failures[f"HTTP {response.code}"] += 1
        elif response.headers.get("Content-Encoding") != "gzip":
            crowd.failures["not gzipped"] += 1
        elif HEADLINE not in gzip.decompress(response.body).decode("utf-8", "replace"):
            crowd.failures["no headline in the body"] += 1
        else:
            crowd.times.append(elapsed)

    started = time.perf_counter()
    try:
        await asyncio.gather(*(one(url) for url in urls))
    finally:
        client.close()
    crowd.wall = time.perf_counter() - started
    crowd.extra["statuses"] = dict(statuses)
    return crowd


def listen_overflows() -> int | None:
    """The kernel's count of connections dropped because a listening socket's queue was full
    (``TcpExt ListenOverflows``, for the whole machine), or None where it cannot be read. A
    dropped connection is retried by its client after a second: it shows in the latencies."""
    try:
        header, values = [line.split() for line in Path("/proc/net/netstat").read_text().splitlines()
                          if line.startswith("TcpExt:")][:2]
        return int(values[header.index("ListenOverflows")])
    except (OSError, ValueError):
        return None


def http_crowd(addresses: list[str], visitors: int, label: str, etags: dict[str, str] | None = None,
               timeout: float = 120) -> Crowd:
    """``visitors`` HTTP clients at once, spread evenly over ``addresses``, each a GET with
    ``Accept-Encoding: gzip`` timed until its whole body is in (which must be gzipped and hold the
    headline); with ``etags`` (address -> ETag), a revisit with ``If-None-Match`` (304 expected).
    ``extra["overflows"]``: listen queue overflows on the machine meanwhile (None: unknown)."""
    import os

    urls = [addresses[index % len(addresses)] for index in range(visitors)]
    before = listen_overflows()
    crowd = asyncio.run(_http_crowd(urls, etags, timeout))
    after = listen_overflows()
    crowd.extra["overflows"] = after - before if before is not None and after is not None else None
    crowd.label = label
    crowd.load = os.getloadavg()[0]
    return crowd


def etags_of(addresses: list[str]) -> dict[str, str]:
    """The ETag each address answers with now (gzip asked, as the crowd asks)."""
    return {url: requests.get(url, headers={"Accept-Encoding": "gzip"}, timeout=60).headers.get("Etag", "")
            for url in addresses}


# --- real browsers ------------------------------------------------------------------------------


PAINT = """() => {
  const fcp = performance.getEntriesByType('paint').find(e => e.name === 'first-contentful-paint');
  return fcp ? fcp.startTime / 1000 : null;
}"""


async def _browser_crowd(urls: list[str], timeout: float, linger: float) -> Crowd:
    from playwright.async_api import async_playwright

    crowd = Crowd("", len(urls))
    fcps, sockets, blocked, errors = [], [], [], []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            pages = []
            for url in urls:  # every context made before any visit starts
                context = await browser.new_context(locale="fr-FR", viewport={"width": 390, "height": 844})

                async def loopback_only(route):
                    if urlparse(route.request.url).hostname == "127.0.0.1":
                        await route.continue_()
                    else:
                        blocked.append(route.request.url)
                        await route.abort()

                await context.route("**/*", loopback_only)
                page = await context.new_page()
                page.on("websocket", lambda socket: sockets.append(socket.url))
                page.on("pageerror", lambda error: errors.append(str(error)))
                page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
                pages.append((context, page, url))

            async def one(page, url: str) -> None:
                started = time.perf_counter()
                try:
                    response = await page.goto(url, wait_until="commit", timeout=timeout * 1000)
                    if response is None or response.status != 200:
                        crowd.failures[f"HTTP {response.status if response else '?'}"] += 1
                        return
                    await page.locator(".od-headline").first.wait_for(state="visible", timeout=timeout * 1000)
                    crowd.times.append(time.perf_counter() - started)
                    await page.wait_for_load_state("load", timeout=timeout * 1000)
                    fcp = await page.evaluate(PAINT)
                    if fcp is not None:
                        fcps.append(fcp)
                except Exception as error:  # noqa: BLE001 - a failure is a result here
                    crowd.failures[f"{type(error).__name__}: {str(error).splitlines()[0][:80]}"] += 1

            started = time.perf_counter()
            await asyncio.gather(*(one(page, url) for _context, page, url in pages))
            crowd.wall = time.perf_counter() - started
            await asyncio.sleep(linger)  # a websocket the page's script would open late is counted too
            for context, _page, _url in pages:
                await context.close()
        finally:
            await browser.close()
    crowd.extra.update(fcp=fcps, websockets=len(sockets), blocked=len(blocked), errors=errors)
    return crowd


def browser_crowd(addresses: list[str], visitors: int, label: str, timeout: float = 120, linger: float = 3) -> Crowd:
    """``visitors`` chromium contexts (phone-sized, every request not to 127.0.0.1 blocked) opening
    ``addresses`` spread evenly, all at once: seconds until ``.od-headline`` is visible, the
    browser's first-contentful-paint, and the websockets, blocked requests and console errors seen."""
    import os

    urls = [addresses[index % len(addresses)] for index in range(visitors)]
    crowd = asyncio.run(_browser_crowd(urls, timeout, linger))
    crowd.label = label
    crowd.load = os.getloadavg()[0]
    return crowd


# --- sizes --------------------------------------------------------------------------------------


@dataclass
class Sizes:
    """Bytes of one dashboard's static page and of its run's report.html (today's snapshot)."""

    slug: str
    run_id: str
    page: int
    page_gz: int
    fragment: int
    fragment_gz: int
    report: int
    report_gz: int  # computed here (gzip level 6): the service sends report.html uncompressed


def _wire(url: str, encoding: str) -> tuple[bytes, dict]:
    """The body as sent (not decoded) for ``Accept-Encoding: encoding``, and the headers."""
    response = requests.get(url, headers={"Accept-Encoding": encoding}, stream=True, timeout=60)
    response.raise_for_status()
    body = response.raw.read(decode_content=False)
    if encoding == "gzip" and response.headers.get("Content-Encoding") != "gzip":
        raise RuntimeError(f"{url}: not gzipped although gzip was accepted")
    return body, response.headers


def page_sizes(base: str, slug: str, archive_dir: Path) -> Sizes:
    """The sizes of ``<base><slug>/`` (default view), of its view alone (``part=view``, what the
    page's script fetches) and of the report.html of the snapshot run it was read from."""
    from occidata.reports.archive import list_runs

    page, headers = _wire(f"{base}{slug}/", "identity")
    page_gz, _ = _wire(f"{base}{slug}/", "gzip")
    run_id, view = headers["X-Occidata-Snapshot"], headers.get("X-Occidata-View", "")
    fragment_url = f"{base}{slug}/?" + (view + "&" if view else "") + "part=view"
    fragment, _ = _wire(fragment_url, "identity")
    fragment_gz, _ = _wire(fragment_url, "gzip")
    record = next(r for r in list_runs(archive_dir, slug) if r.run_id == run_id)
    report = record.html_path.read_bytes()
    return Sizes(slug, run_id, len(page), len(page_gz), len(fragment), len(fragment_gz), len(report),
                 len(gzip.compress(report, compresslevel=6, mtime=0)))
