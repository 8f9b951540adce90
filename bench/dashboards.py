"""How fast do citizens get a public dashboard, static or live, and what does a visitor cost?

Builds the data once (``--size tiny|demo``, default demo), then starts real hubs + proxies
(occidata.platform.LocalHub) one after the other, each with the dashboards service
(/services/dashboards/) on ``voila_apps/``, and measures in one run, every request through
the hub's proxy:

1. static pages (hub A), the dashboards' public addresses ``<slug>/`` served from memory:
   a. one visitor at a time: p50/p95 of ``--sequential`` (100) GETs, gzip accepted;
   b. crowds of ``--crowd`` (20,100,500) HTTP clients released at once (tornado's
      AsyncHTTPClient on asyncio, one connection each), spread evenly over the four addresses,
      ``Accept-Encoding: gzip``: p50/p95 until the whole body is in (it must be gzipped and hold
      the headline, ``od-headline``), failures counted by kind, and the machine's listen queue
      overflows meanwhile (``TcpExt ListenOverflows``: a connection dropped there is retried by
      its client a second later); then the largest crowd again (second round: the service's
      page cache and the proxy warm), and once more as a browser's revisit (``If-None-Match``:
      304 expected);
   c. ``--browsers`` (20) real chromium contexts at once (Debian's /usr/bin/chromium through
      Playwright, phone-sized, every request not to 127.0.0.1 blocked): time until
      ``.od-headline`` is visible, the browser's first-contentful-paint, and the websockets the
      pages opened (must be 0), blocked requests and console errors;
   d. the size of each static page (default view, raw and gzip, as sent) and of one view alone
      (``part=view``, what the page's script fetches when a control changes), against today's
      snapshot: the ``report.html`` of the same snapshot run (served uncompressed; its gzip is
      computed here for comparison);
2. live first render of each dashboard, without preheating (hub A, ``dashboards.pool_size`` 0)
   and with it (hub B, pool_size 1, once ``status`` shows every pool filled *and* the service's
   processes are idle: ``preheated`` counts kernels started, not notebooks run), and the ratio
   cold / preheated (median of ``--rounds`` visits per dashboard);
3. ``--visitors`` (20) live visitors at once, spread over the dashboards, on hub B (max_kernels
   ``--burst-cap``, high enough that none should get the snapshot): p50/p95 time to a usable
   page; each visitor keeps its kernel's websocket open, as an open page does;
4. the memory those 20 visitors hold: PSS (psutil ``memory_full_info().pss``) of the service's
   ``ipykernel_launcher`` children while their pages are open, then 10 s and 20 s after they all
   close them at once (websockets closed), with ``status`` (``visitors``, ``in_use``,
   ``released``) and when the last of their kernels went away (``dashboards.release_after``);
5. the same burst on hub C with the default cap (max_kernels ``--cap``, 12): how many got the
   snapshot fallback, and its latency (skipped with ``--no-cap``).

"Usable page" of a live dashboard is what a browser needs before the visitor sees it: the GET
of ``voila/render/<slug>.ipynb`` until the whole body is in (Voilà runs the notebook before it
ends the page; the body must carry the notebook's title and no cell error), then, as Voilà's
page does, the widgets' state asked of the visitor's kernel over its websocket
(``jupyter.widget.control`` / ``request_states``), which must hold the dashboard
(``od-dashboard``) and no error notice. Both times are printed; failures are counted, not
hidden. Visitor kernels are cleared between measurements by starting a fresh hub; scheduled
snapshots are moved out of the run (``snapshot_cron`` once a year) and the first snapshots
(French and English), rendered once on hub A before anything is measured, are given to the
later hubs (one archive directory; as root, where the service runs as this run's own public
account with an archive of its own, a copy with its ledger). The HTTP clients and the browsers run on the same machine
as the platform, so their own CPU is in every figure; other work on the machine skews them too:
the 1-minute load average is printed at each step. A summary table with every figure ends the
output.

    .venv/bin/python bench/dashboards.py [--size tiny|demo] [--crowd 20,100,500] [--browsers 20]
        [--visitors 20] [--rounds 2] [--no-cap] [--quick] [--keep]
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import secrets
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psutil
import requests
import websocket  # websocket-client, a dependency of jupyter_server

from occidata.platform import REPO_ROOT, LocalHub
from _platform import percentile, remove_accounts
from _static_pages import HEADLINE, Crowd, browser_crowd, etags_of, http_crowd, page_sizes

PREFIX = "services/dashboards/"
MIB = 1024 * 1024
KERNEL_ID = re.compile(r'"kernelId":\s*"([0-9a-f-]{36})"')
CELL_ERROR = "There was an error when executing cell"
DASHBOARD_MARK = 'class="od-dashboard"'  # the dashboard's own element (its stylesheet names the class too)
ERROR_NOTICE = 'class="od-notice od-notice-error"'
BUSY_MARK = "od-busy"
NEVER = "0 4 1 1 *"  # scheduled snapshots: once a year, out of the run


# --- small helpers ------------------------------------------------------------------------------


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def fmt(seconds: float) -> str:
    return "   -   " if seconds != seconds else f"{seconds:7.3f}"  # nan: no value


# --- one visit ----------------------------------------------------------------------------------


@dataclass
class Visit:
    slug: str
    kind: str  # live | busy-snapshot | preparing | failed
    page_s: float = float("nan")  # GET until the whole body is in
    usable_s: float = float("nan")  # page + the widgets' state from the kernel
    kernel_id: str | None = None
    error: str | None = None
    socket: object = None  # the kernel's websocket, kept open by a visitor who keeps the page (hold)


def _message(msg_type: str, content: dict, session: str, metadata: dict | None = None) -> str:
    header = {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "username": "bench", "session": session,
              "date": "", "version": "5.3"}
    return json.dumps({"header": header, "parent_header": {}, "metadata": metadata or {}, "content": content,
                       "channel": "shell", "buffers": []})


def _decode(frame) -> dict:
    """A kernel message from the websocket: JSON text, or the binary form (offsets, JSON, buffers)."""
    if isinstance(frame, bytes):
        count = int.from_bytes(frame[:4], "big")
        offsets = [int.from_bytes(frame[4 + 4 * i:8 + 4 * i], "big") for i in range(count)]
        end = offsets[1] if count > 1 else len(frame)
        frame = frame[offsets[0]:end].decode("utf-8")
    return json.loads(frame)


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    return [s for item in value for s in _strings(item)] if isinstance(value, list) else []


def widget_states(base: str, kernel_id: str, cookies: dict, timeout: float = 120, hold: bool = False):
    """The widgets' state of a visitor's kernel, as Voilà's page asks for it: every string in it
    (the Output widget's HTML among them), joined; and the websocket, left open with ``hold``
    (else None)."""
    session = uuid.uuid4().hex
    url = base.replace("http://", "ws://", 1) + f"api/kernels/{kernel_id}/channels?session_id={session}"
    ws = websocket.create_connection(url, timeout=timeout, cookie="; ".join(f"{k}={v}" for k, v in cookies.items()))
    kept = False
    try:
        comm_id = uuid.uuid4().hex
        ws.send(_message("comm_open", {"comm_id": comm_id, "target_name": "jupyter.widget.control", "data": {}},
                         session, metadata={"version": "1.0.0"}))
        ws.send(_message("comm_msg", {"comm_id": comm_id, "data": {"method": "request_states"}}, session))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = _decode(ws.recv())
            content = message.get("content", {})
            if message.get("msg_type") == "comm_msg" and content.get("comm_id") == comm_id:
                kept = hold
                return "\n".join(_strings(content.get("data", {}))), (ws if hold else None)
            if message.get("msg_type") == "comm_close" and content.get("comm_id") == comm_id:
                raise RuntimeError("the kernel closed the widget control comm")
        raise TimeoutError("no widget state from the kernel")
    finally:
        if not kept:
            ws.close()


def visit(base: str, slug: str, title: str | None, timeout: float = 300, hold: bool = False) -> Visit:
    """One visitor: the live page through the proxy, then its widgets; a Visit whatever happens.
    With ``hold``, the visitor keeps the page open: its kernel's websocket stays open (``socket``)."""
    started = time.perf_counter()
    try:
        with requests.Session() as session:
            response = session.get(f"{base}voila/render/{slug}.ipynb", timeout=timeout)
            body = response.text  # the whole body is in
            page_s = time.perf_counter() - started
            if response.status_code != 200:
                return Visit(slug, "failed", page_s, error=f"HTTP {response.status_code}")
            if "X-Occidata-Snapshot" in response.headers:
                kind = "busy-snapshot" if BUSY_MARK in body else "failed"
                return Visit(slug, kind, page_s, page_s, error=None if kind != "failed" else "snapshot without note")
            if "Retry-After" in response.headers:
                return Visit(slug, "preparing", page_s, error="busy, snapshot still being prepared")
            if CELL_ERROR in body:
                return Visit(slug, "failed", page_s, error="a cell failed")
            if title and not any(f"<title>{t}</title>" in body for t in (title, html.escape(title), html.escape(title, False))):
                return Visit(slug, "failed", page_s, error=f"title {title!r} not in the page")
            match = KERNEL_ID.search(body)
            kernel_id = match.group(1) if match else None
            content, socket = body, None
            if DASHBOARD_MARK not in body or hold:  # the dashboard lives in widgets: ask the kernel, as the page does
                if not kernel_id:
                    return Visit(slug, "failed", page_s, error="no kernel id in the page")
                states, socket = widget_states(base, kernel_id, session.cookies.get_dict(), timeout=timeout, hold=hold)
                content = body + states
            usable_s = time.perf_counter() - started
            if DASHBOARD_MARK not in content:
                failed = Visit(slug, "failed", page_s, usable_s, kernel_id, error="no dashboard in the page or widgets")
            elif ERROR_NOTICE in content:
                failed = Visit(slug, "failed", page_s, usable_s, kernel_id, error="the dashboard shows its error notice")
            else:
                return Visit(slug, "live", page_s, usable_s, kernel_id, socket=socket)
            if socket is not None:
                socket.close()
            return failed
    except Exception as error:  # a failure is a result here
        return Visit(slug, "failed", time.perf_counter() - started, error=f"{type(error).__name__}: {error}")


def burst(base: str, slugs: list[str], titles: dict, visitors: int, hold: bool = False) -> tuple[list[Visit], float]:
    """``visitors`` visits released at once, spread over the dashboards; the visits and the wall time.
    With ``hold``, every visitor keeps its page open (see :func:`visit`)."""
    gate = threading.Barrier(visitors)

    def one(index: int) -> Visit:
        gate.wait()
        slug = slugs[index % len(slugs)]
        return visit(base, slug, titles.get(slug), hold=hold)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=visitors) as pool:
        visits = list(pool.map(one, range(visitors)))
    return visits, time.perf_counter() - started


def print_visits(label: str, visits: list[Visit], wall: float) -> None:
    kinds = Counter(v.kind for v in visits)
    live = [v.usable_s for v in visits if v.kind == "live"]
    busy = [v.page_s for v in visits if v.kind == "busy-snapshot"]
    print(f"   {label}: {len(visits)} visitors in {wall:.1f} s wall: " +
          ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())), flush=True)
    if live:
        print(f"     live, usable page: p50 {percentile(live, 50):.2f} s, p95 {percentile(live, 95):.2f} s, "
              f"max {max(live):.2f} s", flush=True)
        print("     each, sorted (s): " + " ".join(f"{t:.1f}" for t in sorted(live)), flush=True)
    if busy:
        print(f"     busy snapshot:     p50 {percentile(busy, 50):.3f} s, p95 {percentile(busy, 95):.3f} s", flush=True)
    for failure in [v for v in visits if v.kind in ("failed", "preparing")][:5]:
        print(f"     {failure.slug}: {failure.kind}: {failure.error}", flush=True)


# --- hubs ---------------------------------------------------------------------------------------


class DashboardsHub:
    """A LocalHub with the dashboards service, and what the bench needs to look at it."""

    def __init__(self, label: str, root: Path, settings: dict):
        self.label = label
        self.local = LocalHub(root / f"state-{label}", settings=settings)
        self.restarts = 0
        self._service_pid: int | None = None

    @property
    def base(self) -> str:
        return self.local.url.rstrip("/") + "/" + PREFIX

    def start(self) -> "DashboardsHub":
        print(f"   starting hub {self.label} ...", flush=True)
        self.local.start()
        print(f"   hub {self.label} answers after {self.local.start_seconds:.1f} s", flush=True)
        return self

    def stop(self) -> None:
        print(f"   stopping hub {self.label} ...", flush=True)
        self.local.stop()

    @property
    def snapshot_archive(self) -> Path:
        """Where this hub's dashboards service keeps its snapshots: ``reports.archive_dir``, or,
        where it runs as the public account (as root), that account's own archive (see
        occidata.hub.services.dashboards_service)."""
        from occidata.hub.isolation import public_dir
        from occidata.hub.lab_accounts import labs_as_system_users
        from occidata.reports.schedule import archive_path

        cfg = self.local.cfg
        return public_dir(cfg) / "snapshots" if labs_as_system_users(cfg) else archive_path(cfg)

    def seed_snapshots(self, earlier: "DashboardsHub") -> None:
        """Give this hub, before it starts, the snapshots an earlier hub rendered (with their
        ledger), so that it renders none itself while the bench measures."""
        import shutil

        source, target = earlier.snapshot_archive, self.snapshot_archive
        if source.resolve() != target.resolve():  # as root: one archive per state directory
            shutil.copytree(source, target, dirs_exist_ok=True)  # the hub gives it to its account at start

    def status(self) -> dict | None:
        try:
            response = requests.get(self.base + "status", timeout=10)
            return response.json() if response.status_code == 200 else None
        except (requests.RequestException, ValueError):
            return None

    def service(self) -> psutil.Process | None:
        """The dashboards service process (a restart by the hub is counted)."""
        if not self.local.process:
            return None
        try:
            hub = psutil.Process(self.local.process.pid)
            for child in hub.children(recursive=False):
                if "occidata.dashboards.service" in " ".join(child.cmdline()):
                    if self._service_pid not in (None, child.pid):
                        self.restarts += 1
                    self._service_pid = child.pid
                    return child
        except psutil.Error:
            pass
        return None

    def kernels(self) -> list[psutil.Process]:
        service = self.service()
        if service is None:
            return []
        found = []
        for child in service.children(recursive=False):
            try:
                if "ipykernel_launcher" in " ".join(child.cmdline()):
                    found.append(child)
            except psutil.Error:
                pass
        return found

    def _busy_cpu(self, window: float = 1.0) -> float:
        """CPU seconds per second used by the service and everything under it, over ``window``."""
        def sample() -> dict:
            service = self.service()
            if service is None:
                return {}
            times = {}
            for proc in [service, *service.children(recursive=True)]:
                try:
                    cpu = proc.cpu_times()
                    times[proc.pid] = cpu.user + cpu.system + cpu.children_user + cpu.children_system
                except psutil.Error:
                    pass
            return times

        before = sample()
        time.sleep(window)
        after = sample()
        new = [pid for pid in after if pid not in before]
        used = sum(after[pid] - before[pid] for pid in after if pid in before) + sum(after[pid] for pid in new)
        return used / window

    def wait_settled(self, preheated: int | None = None, snapshots: bool = False, timeout: float = 300) -> float:
        """Until status answers (every snapshot rendered / every pool filled, when asked) and the
        service's processes have been idle two seconds running; the seconds waited."""
        started = time.monotonic()
        quiet, last_print = 0, started
        while time.monotonic() - started < timeout:
            status = self.status()
            ready = status is not None and status.get("admitting") == 0
            if ready and snapshots:  # French and English: a rendering left running would skew every figure
                ready = all(status["snapshots"].values()) and all((status.get("snapshots_en") or {}).values())
            if ready and preheated is not None:
                ready = status["preheated"] >= preheated
            cpu = self._busy_cpu()
            quiet = quiet + 1 if ready and cpu < 0.15 else 0
            if quiet >= 2:
                return time.monotonic() - started
            if time.monotonic() - last_print > 15:
                last_print = time.monotonic()
                shown = {k: status[k] for k in ("live", "preheated", "visitors")} if status else "no answer"
                done = sum(status["snapshots"].values()) + sum((status.get("snapshots_en") or {}).values()) \
                    if status else 0
                print(f"     ... waiting {time.monotonic() - started:.0f} s: {shown}, snapshots {done}, "
                      f"service cpu {cpu:.2f}, {load()}", flush=True)
        print(f"   WARNING: hub {self.label} not settled after {timeout:.0f} s; measuring anyway", flush=True)
        return time.monotonic() - started

    def log_problems(self) -> list[str]:
        """Error lines of the hub's log (with its services and kernels), minus the start-up polling."""
        try:
            lines = self.local.state.hub_log.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return ["(no hub log)"]
        problems = []
        for line in lines:
            if "404 GET /hub/api/" in line:
                continue  # our own polling while the hub starts
            if "Received signal SIGTERM" in line:
                problems.append("-- the bench stops the hub; below: at shutdown")
                continue
            if "Failed to get custom error page" in line:
                continue  # the proxy asking the hub, not up yet, while we poll it at start
            if any(mark in line for mark in ("[E ", " ERROR ", "Traceback", "error", "Error", "CRITICAL",
                                             "occidata.dashboards[", "Handle signal")):
                problems.append(line)
        return problems


def summarise_log(hub: DashboardsHub) -> list[str]:
    """A few lines on the hub's log: error lines while the bench ran, then at shutdown."""
    problems = hub.log_problems()
    marker = "-- the bench stops the hub; below: at shutdown"
    cut = problems.index(marker) if marker in problems else len(problems)
    running, shutdown = problems[:cut], problems[cut + 1:]
    exits = sum("Service dashboards exited" in line for line in running)

    def grouped(lines: list[str]) -> Counter:
        return Counter(re.sub(r"^\S+ \S+ |^\[\w \S+ \S+ |\d{4}-\d\d-\d\dT\S+ |\b[0-9a-f-]{32,36}\b|:\d{4,5}\b|"
                              r"\x1b\[\d+m|\[\d+m", "", line)[:150] for line in lines)

    notes = [f"hub {hub.label}: {len(running)} error line(s) while measuring, {len(shutdown)} at shutdown; "
             f"service exited {exits} time(s) (restarts seen: {hub.restarts}); {hub.local.state.hub_log}"]
    notes += [f"   {n} x {text.strip()}" for text, n in grouped(running).most_common(8)]
    notes += [f"   at shutdown: {n} x {text.strip()}" for text, n in grouped(shutdown).most_common(2)]
    return notes


# --- the run ------------------------------------------------------------------------------------


def first_renders(hub: DashboardsHub, slugs: list[str], titles: dict, rounds: int, preheated: bool) -> dict:
    """Median first render per dashboard (each visit on its own, the service idle before it)."""
    per_slug: dict[str, list[Visit]] = {slug: [] for slug in slugs}
    for round_ in range(rounds):
        for slug in slugs:
            if preheated:
                hub.wait_settled(preheated=len(slugs))
            result = visit(hub.base, slug, titles.get(slug))
            per_slug[slug].append(result)
            shown = f"page {result.page_s:.2f} s, usable {result.usable_s:.2f} s" if result.kind == "live" else \
                f"{result.kind.upper()}: {result.error}"
            print(f"   [{round_ + 1}/{rounds}] {slug:<12} {shown}  ({load()})", flush=True)
    return per_slug


def median_usable(visits: list[Visit]) -> float:
    ok = [v.usable_s for v in visits if v.kind == "live"]
    return statistics.median(ok) if ok else float("nan")


def sequential_latency(addresses: list[str], requests_n: int) -> tuple[list[float], int]:
    """One visitor at a time: ``requests_n`` GETs over ``addresses`` (gzip accepted), each timed
    until its body is in, which must hold the headline; the times and how many failed."""
    times, failures = [], 0
    for index in range(requests_n):
        started = time.perf_counter()
        try:
            response = requests.get(addresses[index % len(addresses)], headers={"Accept-Encoding": "gzip"}, timeout=60)
            body = response.text  # decoded: the whole body is in
            elapsed = time.perf_counter() - started
            if response.status_code == 200 and HEADLINE in body and response.headers.get("Content-Encoding") == "gzip":
                times.append(elapsed)
            else:
                failures += 1
        except requests.RequestException:
            failures += 1
    return times, failures


def print_crowd(crowd: Crowd) -> None:
    print(f"   {crowd.label}: p50 {percentile(crowd.times, 50) * 1000:.0f} ms, p95 "
          f"{percentile(crowd.times, 95) * 1000:.0f} ms, max {max(crowd.times, default=float('nan')) * 1000:.0f} ms "
          f"(wall {crowd.wall:.1f} s); {len(crowd.times)} ok, {crowd.failed} failed; listen queue overflows "
          f"{crowd.extra.get('overflows')}  (load {crowd.load:.1f})", flush=True)
    for what, n in crowd.failures.most_common(5):
        print(f"     {n} x {what}", flush=True)


def wait_no_visitors(hub: DashboardsHub, timeout: float = 90) -> dict:
    """Until no visitor kernel is left (earlier visits' kernels are released once their page is
    closed); the last status."""
    deadline = time.monotonic() + timeout
    status = hub.status() or {}
    while time.monotonic() < deadline and status.get("visitors", 0) > 0:
        time.sleep(1)
        status = hub.status() or {}
    return status


def pss_line(mem: dict) -> str:
    total = sum(mem["visitors"])
    return (f"{len(mem['visitors'])} visitor kernels, PSS total {total:.0f} MiB"
            + (f" (mean {statistics.mean(mem['visitors']):.0f}, max {max(mem['visitors']):.0f})" if mem["visitors"] else "")
            + f"; {len(mem['others'])} other kernels (pools) {sum(mem['others']):.0f} MiB; service {mem['service']:.0f} MiB")


def after_close(hub: DashboardsHub, visits: list[Visit], marks: tuple[float, ...] = (10, 20),
                longest: float = 70) -> dict:
    """Close every held page at once, then the memory and status at each of ``marks`` seconds,
    and when the last of their kernels went away (up to ``longest`` s)."""
    ids = {v.kernel_id for v in visits if v.kernel_id}
    for v in visits:
        if v.socket is not None:
            try:
                v.socket.close()
            except Exception:  # noqa: BLE001 - already dropped: closed all the same
                pass
    closed = time.monotonic()
    taken: dict = {}
    gone_after = None
    while True:
        elapsed = time.monotonic() - closed
        left = {kid for kid in ids for kernel in hub.kernels() if kid in " ".join(_cmdline(kernel))}
        if not left and gone_after is None:
            gone_after = elapsed
        for mark in marks:
            if mark not in taken and elapsed >= mark:
                status = hub.status() or {}
                taken[mark] = {"mem": memory(hub, ids),
                               "status": {k: status.get(k) for k in ("visitors", "in_use", "released", "preheated")}}
                print(f"   {mark:.0f} s after closing: {pss_line(taken[mark]['mem'])}; status "
                      f"{json.dumps(taken[mark]['status'])}  ({load()})", flush=True)
        if len(taken) == len(marks) and (gone_after is not None or elapsed >= longest):
            break
        time.sleep(0.5)
    print("   the closed pages' kernels: " + (f"all gone {gone_after:.1f} s after closing" if gone_after is not None
                                               else f"still there {longest:.0f} s after closing"), flush=True)
    return {"marks": taken, "gone_after": gone_after}


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.Error:
        return []


def memory(hub: DashboardsHub, visitor_ids: set[str]) -> dict:
    """PSS of the service's kernels (MiB); visitors' kernels are those whose id a visitor was given."""
    visitors, others = [], []
    for kernel in hub.kernels():
        try:
            cmdline = " ".join(kernel.cmdline())
            pss = kernel.memory_full_info().pss / MIB
        except psutil.Error:
            continue
        (visitors if any(kid in cmdline for kid in visitor_ids) else others).append(pss)
    service = hub.service()
    service_pss = service.memory_full_info().pss / MIB if service else float("nan")
    return {"visitors": visitors, "others": others, "service": service_pss}


def crowd_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        sizes = []
    if not sizes or any(n < 1 for n in sizes):
        raise argparse.ArgumentTypeError(f"--crowd {text!r}: positive whole numbers separated by commas, e.g. 20,100,500")
    return sizes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=["tiny", "demo"], default="demo", help="data built for the run (default demo)")
    parser.add_argument("--data-dir", help="use this already built data directory instead of building one")
    parser.add_argument("--apps-dir", default=str(REPO_ROOT / "voila_apps"), help="the dashboards' notebooks")
    parser.add_argument("--crowd", type=crowd_sizes, default=[20, 100, 500],
                        help="HTTP clients at once on the static pages, one crowd per number (default 20,100,500)")
    parser.add_argument("--browsers", type=int, default=20, help="chromium contexts at once on the static pages (0: none)")
    parser.add_argument("--sequential", type=int, default=100, help="GETs of the static pages one at a time")
    parser.add_argument("--visitors", type=int, default=20, help="live visitors at once")
    parser.add_argument("--burst-cap", type=int, default=40,
                        help="max_kernels of hubs A and B: room for the burst, the earlier visits and the pool refills")
    parser.add_argument("--cap", type=int, default=12, help="max_kernels of hub C (the default cap)")
    parser.add_argument("--no-cap", action="store_true", help="skip hub C (the cap's snapshot fallback)")
    parser.add_argument("--rounds", type=int, default=2, help="live first renders per dashboard, cold and preheated")
    parser.add_argument("--keep", action="store_true", help="keep the state directories (logs) and print where")
    parser.add_argument("--quick", action="store_true",
                        help="a smaller run: crowds 20,100, 5 browsers, 6 live visitors, cap 3, 1 round, 40 sequential GETs")
    args = parser.parse_args()
    if args.quick:
        args.crowd, args.browsers, args.visitors, args.cap, args.rounds, args.sequential = [20, 100], 5, 6, 3, 1, 40

    apps_dir = Path(args.apps_dir).resolve()
    notebooks = sorted(apps_dir.glob("*.ipynb"))
    if not notebooks:
        print(f"no dashboards in {apps_dir}", file=sys.stderr)
        return 2
    titles = {}
    for notebook in notebooks:
        try:
            titles[notebook.stem] = json.loads(notebook.read_text(encoding="utf-8"))["metadata"].get("title")
        except (OSError, ValueError, KeyError):
            titles[notebook.stem] = None

    tmp = tempfile.mkdtemp(prefix="occidata-bench-dashboards-")
    os.chmod(tmp, 0o755)  # as root, the dashboards and their kernels run as the public account, which must walk here
    root = Path(tmp)
    # As root, the services run as system accounts: this run's own, removed at the end.
    tag = f"db{secrets.token_hex(2)}"
    failures: list[str] = []
    notes: list[str] = []
    r: dict = {}
    bench_started = time.perf_counter()
    try:
        data_dir = Path(args.data_dir) if args.data_dir else root / "data"
        if not args.data_dir:
            from occidata.datasets.build import build_all

            print(f"0. building the {args.size} data in {data_dir} ...  ({load()})", flush=True)
            started = time.perf_counter()
            build_all(args.size, data_dir, progress=lambda line: print(f"   {line}", flush=True))
            print(f"   data built in {time.perf_counter() - started:.1f} s", flush=True)
        common = {
            "DATA_DIR": str(data_dir),
            "DASHBOARDS__APPS_DIR": str(apps_dir),
            "DASHBOARDS__SNAPSHOT_CRON": NEVER,
            "REPORTS__ENABLED": "false",
            "REPORTS__ARCHIVE_DIR": str(root / "archive"),  # the first snapshots, shared by the three hubs
            "CULLER__ENABLED": "false",
            "HUB__LOG_LEVEL": "WARN",
            "SERVER__USER_PREFIX": f"{tag}-", "SERVER__SERVICE_USER": f"{tag}d", "SERVER__PUBLIC_USER": f"{tag}p",
            "SERVER__REPORTS_USER": f"{tag}r", "SERVER__GATE_PREFIX": f"{tag}g-",
        }

        # --- hub A: the static pages, then live first renders without preheating ---
        print(f"hub A, no preheating (pool_size 0, max_kernels {args.burst_cap}): first snapshots, static pages, "
              f"then {args.rounds} cold first render(s) per dashboard", flush=True)
        hub = DashboardsHub("A", root, {**common, "DASHBOARDS__POOL_SIZE": "0",
                                        "DASHBOARDS__MAX_KERNELS": str(args.burst_cap)})
        hub.start()
        try:
            waited = hub.wait_settled(snapshots=True, timeout=900)
            status = hub.status() or {}
            slugs = status.get("dashboards") or [n.stem for n in notebooks]
            r["slugs"], r["snapshots_waited"] = slugs, waited
            print(f"   dashboards {', '.join(slugs)}; first snapshots (fr, en) rendered and service idle after "
                  f"{waited:.0f} s; fr {status.get('snapshots')}, en {status.get('snapshots_en')}  ({load()})", flush=True)
            addresses = [f"{hub.base}{slug}/" for slug in slugs]

            print(f"1a. static pages, one visitor at a time: {args.sequential} GETs of <slug>/, gzip accepted", flush=True)
            r["sequential"], seq_failures = sequential_latency(addresses, args.sequential)
            print(f"   p50 {percentile(r['sequential'], 50) * 1000:.1f} ms, p95 {percentile(r['sequential'], 95) * 1000:.1f} ms, "
                  f"{seq_failures} failed  ({load()})", flush=True)
            if seq_failures:
                failures.append(f"static pages, sequential: {seq_failures} of {args.sequential} GETs failed")

            print(f"1b. static pages, crowds of HTTP clients at once ({', '.join(map(str, args.crowd))}), over the "
                  f"{len(addresses)} addresses, gzip accepted", flush=True)
            r["crowds"] = []
            for n in args.crowd:
                hub.wait_settled()
                r["crowds"].append(http_crowd(addresses, n, f"{n} clients"))
                print_crowd(r["crowds"][-1])
            largest = max(args.crowd)
            hub.wait_settled()
            r["crowds"].append(http_crowd(addresses, largest, f"{largest} clients, second round"))
            print_crowd(r["crowds"][-1])
            hub.wait_settled()
            r["crowds"].append(http_crowd(addresses, largest, f"{largest} revisits (If-None-Match: 304)",
                                          etags=etags_of(addresses)))
            print_crowd(r["crowds"][-1])
            failures += [f"static crowd '{c.label}': {n} x {what}" for c in r["crowds"] for what, n in c.failures.items()]

            if args.browsers:
                print(f"1c. static pages, {args.browsers} chromium contexts at once (phone-sized, loopback only)", flush=True)
                hub.wait_settled()
                r["browsers"] = crowd = browser_crowd(addresses, args.browsers, f"{args.browsers} browsers")
                fcp = crowd.extra["fcp"]
                print(f"   headline visible: p50 {percentile(crowd.times, 50) * 1000:.0f} ms, p95 "
                      f"{percentile(crowd.times, 95) * 1000:.0f} ms; first-contentful-paint: p50 "
                      f"{percentile(fcp, 50) * 1000:.0f} ms, p95 {percentile(fcp, 95) * 1000:.0f} ms ({len(fcp)} pages); "
                      f"{crowd.failed} failed; websockets opened {crowd.extra['websockets']}, blocked requests "
                      f"{crowd.extra['blocked']}, console errors {len(crowd.extra['errors'])}  (load {crowd.load:.1f})",
                      flush=True)
                for what, n in crowd.failures.most_common(5):
                    print(f"     {n} x {what}", flush=True)
                for error in crowd.extra["errors"][:3]:
                    print(f"     console: {error[:150]}", flush=True)
                failures += [f"browsers: {n} x {what}" for what, n in crowd.failures.items()]
                if crowd.extra["websockets"]:
                    failures.append(f"browsers: {crowd.extra['websockets']} websocket(s) opened by static pages")

            print("1d. sizes of the static pages and of today's snapshot (report.html of the same run)", flush=True)
            r["sizes"] = [page_sizes(hub.base, slug, hub.snapshot_archive) for slug in slugs]
            print_sizes(r["sizes"])

            print(f"2a. live first render, cold: {args.rounds} visit(s) per dashboard  ({load()})", flush=True)
            hub.wait_settled()
            r["cold"] = first_renders(hub, slugs, titles, args.rounds, preheated=False)
            failures += [f"cold {v.slug}: {v.kind}: {v.error}" for vs in r["cold"].values() for v in vs if v.kind != "live"]
        finally:
            hub.stop()
            notes += summarise_log(hub)

        # --- hub B: preheating, a burst with room for all, and what the visitors' kernels hold ---
        print(f"hub B, preheating (pool_size 1, max_kernels {args.burst_cap})", flush=True)
        first = hub
        hub = DashboardsHub("B", root, {**common, "DASHBOARDS__POOL_SIZE": "1",
                                        "DASHBOARDS__MAX_KERNELS": str(args.burst_cap)})
        hub.seed_snapshots(first)
        hub.start()
        try:
            waited = hub.wait_settled(preheated=len(slugs), snapshots=True)
            print(f"2b. live first render, preheated: {args.rounds} visit(s) per dashboard, each once the pools are "
                  f"filled and the service idle (pools filled after {waited:.0f} s)", flush=True)
            r["warm"] = first_renders(hub, slugs, titles, args.rounds, preheated=True)
            failures += [f"preheated {v.slug}: {v.kind}: {v.error}" for vs in r["warm"].values() for v in vs if v.kind != "live"]

            print(f"3. {args.visitors} live visitors at once on hub B, each keeping its page open", flush=True)
            wait_no_visitors(hub)
            hub.wait_settled(preheated=len(slugs))
            before = hub.status() or {}
            print(f"   before: {before.get('visitors')} visitor kernels, {before.get('preheated')} preheated ({load()})",
                  flush=True)
            visits_b, wall_b = burst(hub.base, slugs, titles, args.visitors, hold=True)
            r["b"] = (visits_b, wall_b, os.getloadavg()[0])
            print_visits("burst", visits_b, wall_b)
            failures += [f"burst B {v.slug}: {v.kind}: {v.error}" for v in visits_b if v.kind in ("failed", "preparing")]

            print("4. memory of the visitors' kernels, pages open, then after they all close them", flush=True)
            ids = {v.kernel_id for v in visits_b if v.kernel_id}
            open_status = hub.status() or {}
            r["mem_open"] = memory(hub, ids)
            r["status_open"] = {k: open_status.get(k) for k in ("visitors", "in_use", "released", "preheated")}
            print(f"   pages open: {pss_line(r['mem_open'])}; status {json.dumps(r['status_open'])}  ({load()})", flush=True)
            r["closed"] = after_close(hub, visits_b)
        finally:
            hub.stop()
            notes += summarise_log(hub)

        # --- hub C: the default cap ---
        if not args.no_cap:
            print(f"5. {args.visitors} live visitors at once on hub C: preheating and the cap at {args.cap} "
                  f"(above it, the snapshot with a note)", flush=True)
            hub = DashboardsHub("C", root, {**common, "DASHBOARDS__POOL_SIZE": "1", "DASHBOARDS__MAX_KERNELS": str(args.cap)})
            hub.seed_snapshots(first)
            hub.start()
            try:
                hub.wait_settled(preheated=len(slugs), snapshots=True)
                visits_c, wall_c = burst(hub.base, slugs, titles, args.visitors)
                r["c"] = (visits_c, wall_c, os.getloadavg()[0])
                print_visits("burst", visits_c, wall_c)
                failures += [f"burst C {v.slug}: {v.kind}: {v.error}" for v in visits_c if v.kind in ("failed", "preparing")]
                after = hub.status() or {}
                print(f"   status after: {after.get('visitors')} visitor kernels, {after.get('in_use')} in use "
                      f"(cap {after.get('max_kernels')}), served_snapshots_busy {after.get('served_snapshots_busy')}",
                      flush=True)
                if after.get("in_use") is not None and after["in_use"] > args.cap:
                    failures.append(f"hub C: {after['in_use']} visitor kernels in use above the cap {args.cap}")
            finally:
                hub.stop()
                notes += summarise_log(hub)
        r["done"] = True
    finally:
        if os.geteuid() == 0:
            remove_accounts(tag)
        if args.keep:
            print(f"state directories and logs kept in {root}", flush=True)
        else:
            import shutil

            shutil.rmtree(root, ignore_errors=True)

    total = time.perf_counter() - bench_started
    if r.get("done"):
        print_summary(args, r, total)
    print("\nhub logs")
    for note in notes:
        print(f"  {note}")
    print(f"\nfailures: {len(failures)}")
    for failure in failures:
        print(f"  {failure}")
    return 1 if failures else 0


def kib(n: int) -> str:
    return f"{n / 1024:8.1f}"


def print_sizes(sizes: list) -> None:
    """Bytes (KiB) of each static page against the report.html of its run, with ratios."""
    print(f"     {'dashboard':<12} {'page':>8} {'page gz':>8} {'view':>8} {'view gz':>8} {'report':>8} {'rep. gz':>8}"
          f"   {'page/rep':>8} {'page gz/rep':>11} {'gz/gz':>6} {'view gz/rep':>11}   (KiB; report served uncompressed)")
    for z in sizes:
        print(f"     {z.slug:<12} {kib(z.page)} {kib(z.page_gz)} {kib(z.fragment)} {kib(z.fragment_gz)} {kib(z.report)} "
              f"{kib(z.report_gz)}   {z.page / z.report:8.2f} {z.page_gz / z.report:11.3f} {z.page_gz / z.report_gz:6.2f} "
              f"{z.fragment_gz / z.report:11.3f}", flush=True)


def print_summary(args, r: dict, total: float) -> None:
    print(f"\ndashboards results ({args.size if not args.data_dir else args.data_dir} data, {os.cpu_count()} CPUs, "
          f"{total:.0f} s in all; 1-minute load average now {os.getloadavg()[0]:.1f})")
    print("  1. static pages <slug>/ (from memory, gzip), through the proxy; time until the whole body is in")
    print(f"     {'who':<44} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'ok':>5} {'failed':>6} {'wall s':>7} {'load':>5}"
          f" {'overflows':>9}")
    seq = r["sequential"]
    print(f"     {'1 visitor at a time, ' + str(args.sequential) + ' GETs':<44} {percentile(seq, 50) * 1000:8.1f} "
          f"{percentile(seq, 95) * 1000:8.1f} {max(seq, default=float('nan')) * 1000:8.1f} {len(seq):5d} "
          f"{args.sequential - len(seq):6d}")
    for c in r["crowds"]:
        print(f"     {c.label + ' at once':<44} {percentile(c.times, 50) * 1000:8.0f} {percentile(c.times, 95) * 1000:8.0f} "
              f"{max(c.times, default=float('nan')) * 1000:8.0f} {len(c.times):5d} {c.failed:6d} {c.wall:7.1f} {c.load:5.1f}"
              f" {c.extra.get('overflows')!s:>9}")
    if "browsers" in r:
        c = r["browsers"]
        fcp = c.extra["fcp"]
        print(f"     {c.label + ': headline visible':<44} {percentile(c.times, 50) * 1000:8.0f} "
              f"{percentile(c.times, 95) * 1000:8.0f} {max(c.times, default=float('nan')) * 1000:8.0f} {len(c.times):5d} "
              f"{c.failed:6d} {c.wall:7.1f} {c.load:5.1f}")
        print(f"     {c.label + ': first-contentful-paint':<44} {percentile(fcp, 50) * 1000:8.0f} "
              f"{percentile(fcp, 95) * 1000:8.0f} {max(fcp, default=float('nan')) * 1000:8.0f} {len(fcp):5d}")
        print(f"     websockets opened by the static pages: {c.extra['websockets']}; requests blocked (not 127.0.0.1): "
              f"{c.extra['blocked']}; console errors: {len(c.extra['errors'])}")
    print("  1d. sizes, default view (page) and one view alone (view, part=view), against report.html of the same run")
    print_sizes(r["sizes"])
    print("  2. live first render, usable page (median of {} visit(s); page = GET body only)".format(args.rounds))
    print(f"     {'dashboard':<12} {'cold s':>8} {'preheated s':>12} {'cold/pre':>9}   {'cold page':>9} {'pre page':>9}")
    colds, warms = [], []
    for slug in r["slugs"]:
        cold, warm = median_usable(r["cold"][slug]), median_usable(r["warm"][slug])
        cold_page = statistics.median([v.page_s for v in r["cold"][slug]])
        warm_page = statistics.median([v.page_s for v in r["warm"][slug]])
        colds.append(cold)
        warms.append(warm)
        ratio = cold / warm if warm == warm and warm > 0 else float("nan")
        print(f"     {slug:<12} {cold:8.2f} {warm:12.2f} {ratio:8.1f}x   {cold_page:9.2f} {warm_page:9.2f}")
    cold_all = statistics.median([c for c in colds if c == c] or [float("nan")])
    warm_all = statistics.median([w for w in warms if w == w] or [float("nan")])
    print(f"     {'median':<12} {cold_all:8.2f} {warm_all:12.2f} {cold_all / warm_all:8.1f}x")
    static_p50 = percentile(r["sequential"], 50)
    print(f"     one visitor at a time, p50: static page {static_p50 * 1000:.1f} ms; live first render (median) cold "
          f"{cold_all / static_p50:.0f}x, preheated {warm_all / static_p50:.0f}x that")
    visits_b, wall_b, load_b = r["b"]
    live_b = [v.usable_s for v in visits_b if v.kind == "live"]
    kinds_b = Counter(v.kind for v in visits_b)
    print(f"  3. {args.visitors} live visitors at once, max_kernels {args.burst_cap}: usable page p50 "
          f"{percentile(live_b, 50):.2f} s, p95 {percentile(live_b, 95):.2f} s (wall {wall_b:.1f} s, load {load_b:.1f}); "
          f"{kinds_b['live']} live, {kinds_b['busy-snapshot']} busy snapshot, "
          f"{kinds_b['failed'] + kinds_b['preparing']} failed")
    if r["crowds"] and live_b:
        same = next((c for c in r["crowds"] if c.visitors == args.visitors), None)
        if same and same.times:
            print(f"     against {same.label} at once on the static pages: p50 {percentile(live_b, 50) / percentile(same.times, 50):.0f}x, "
                  f"p95 {percentile(live_b, 95) / percentile(same.times, 95):.0f}x")
    print(f"  4. memory of those {args.visitors} visitors' kernels (PSS):")
    print(f"     pages open:          {pss_line(r['mem_open'])}; status {json.dumps(r['status_open'])}")
    for mark, taken in r["closed"]["marks"].items():
        print(f"     {mark:.0f} s after closing: {pss_line(taken['mem'])}; status {json.dumps(taken['status'])}")
    gone = r["closed"]["gone_after"]
    print("     the closed pages' kernels: " + (f"all gone {gone:.1f} s after closing" if gone is not None else "still there"))
    if "c" in r:
        visits_c, wall_c, load_c = r["c"]
        live_c = [v.usable_s for v in visits_c if v.kind == "live"]
        busy_c = [v.page_s for v in visits_c if v.kind == "busy-snapshot"]
        kinds_c = Counter(v.kind for v in visits_c)
        print(f"  5. {args.visitors} live visitors at once, max_kernels {args.cap}: {kinds_c['live']} live (p50 "
              f"{percentile(live_c, 50):.2f} s, p95 {percentile(live_c, 95):.2f} s), {kinds_c['busy-snapshot']} got the "
              f"snapshot (p50 {percentile(busy_c, 50) * 1000:.0f} ms, p95 {percentile(busy_c, 95) * 1000:.0f} ms), "
              f"{kinds_c['failed'] + kinds_c['preparing']} failed (wall {wall_c:.1f} s, load {load_c:.1f})")


if __name__ == "__main__":
    sys.exit(main())
