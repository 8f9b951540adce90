"""How fast do citizens get a public dashboard, live or as a snapshot, and what does a visitor cost?

Builds the data once (``--size tiny|demo``), then starts real hubs + proxies
(occidata.platform.LocalHub) one after the other, each with the dashboards service
(/services/dashboards/) on ``voila_apps/``, and measures in one run, every request through
the hub's proxy:

1. first render of each dashboard, without preheating (hub A, ``dashboards.pool_size`` 0) and
   with it (hub B, pool_size 1, once ``status`` shows every pool filled *and* the service's
   processes are idle: ``preheated`` counts kernels started, not notebooks run), and the
   ratio cold / preheated (median of ``--rounds`` visits per dashboard);
2. ``--visitors`` (20) visitors at once, spread over the dashboards, on hub B (max_kernels
   ``--burst-cap``, high enough that none should get the snapshot): p50/p95 time to a usable
   page, live pages and busy snapshots counted; then the same burst on hub C with the default
   cap (max_kernels 12): how many got the snapshot fallback, and its latency;
3. memory of the visitor kernels right after the burst on hub B, while they are alive:
   PSS (psutil ``memory_full_info().pss``) of the service's ``ipykernel_launcher`` children,
   mean and max in MiB;
4. snapshot serving: p50/p95 of ``--snapshot-requests`` (200) sequential GETs of
   ``snapshots/<slug>/`` (on hub A), against the live pages' first render (ratio).

"Usable page" is what a browser needs before the visitor sees the dashboard: the GET of
``voila/render/<slug>.ipynb`` until the whole body is in (Voilà runs the notebook before it
ends the page; the body must carry the notebook's title and no cell error), then, as Voilà's
page does, the widgets' state asked of the visitor's kernel over its websocket
(``jupyter.widget.control`` / ``request_states``), which must hold the dashboard
(``od-dashboard``) and no error notice. Both times are printed; failures are counted, not
hidden. Visitor kernels are cleared between measurements by starting a fresh hub; scheduled
snapshots are moved out of the run (``snapshot_cron`` once a year) and the first snapshots,
rendered once on hub A, are shared by the later hubs (one archive directory). Other work on
the machine skews every figure: the 1-minute load average is printed at each step.

    .venv/bin/python bench/dashboards.py [--size tiny|demo] [--visitors 20] [--quick]
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
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
from _platform import percentile

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


def widget_states(base: str, kernel_id: str, cookies: dict, timeout: float = 120) -> str:
    """The widgets' state of a visitor's kernel, as Voilà's page asks for it: every string in it
    (the Output widget's HTML among them), joined."""
    session = uuid.uuid4().hex
    url = base.replace("http://", "ws://", 1) + f"api/kernels/{kernel_id}/channels?session_id={session}"
    ws = websocket.create_connection(url, timeout=timeout, cookie="; ".join(f"{k}={v}" for k, v in cookies.items()))
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
                return "\n".join(_strings(content.get("data", {})))
            if message.get("msg_type") == "comm_close" and content.get("comm_id") == comm_id:
                raise RuntimeError("the kernel closed the widget control comm")
        raise TimeoutError("no widget state from the kernel")
    finally:
        ws.close()


def visit(base: str, slug: str, title: str | None, timeout: float = 300) -> Visit:
    """One visitor: the live page through the proxy, then its widgets; a Visit whatever happens."""
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
            content = body
            if DASHBOARD_MARK not in body:  # the dashboard lives in widgets: ask the kernel, as the page does
                if not kernel_id:
                    return Visit(slug, "failed", page_s, error="no kernel id in the page")
                content = widget_states(base, kernel_id, session.cookies.get_dict(), timeout=timeout)
            usable_s = time.perf_counter() - started
            if DASHBOARD_MARK not in content:
                return Visit(slug, "failed", page_s, usable_s, kernel_id, error="no dashboard in the page or widgets")
            if ERROR_NOTICE in content:
                return Visit(slug, "failed", page_s, usable_s, kernel_id, error="the dashboard shows its error notice")
            return Visit(slug, "live", page_s, usable_s, kernel_id)
    except Exception as error:  # a failure is a result here
        return Visit(slug, "failed", time.perf_counter() - started, error=f"{type(error).__name__}: {error}")


def burst(base: str, slugs: list[str], titles: dict, visitors: int) -> tuple[list[Visit], float]:
    """``visitors`` visits released at once, spread over the dashboards; the visits and the wall time."""
    gate = threading.Barrier(visitors)

    def one(index: int) -> Visit:
        gate.wait()
        slug = slugs[index % len(slugs)]
        return visit(base, slug, titles.get(slug))

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
            if ready and snapshots:
                ready = all(status["snapshots"].values())
            if ready and preheated is not None:
                ready = status["preheated"] >= preheated
            cpu = self._busy_cpu()
            quiet = quiet + 1 if ready and cpu < 0.15 else 0
            if quiet >= 2:
                return time.monotonic() - started
            if time.monotonic() - last_print > 15:
                last_print = time.monotonic()
                shown = {k: status[k] for k in ("live", "preheated", "visitors")} if status else "no answer"
                done = sum(status["snapshots"].values()) if status else 0
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


def snapshot_latency(base: str, slugs: list[str], requests_n: int) -> tuple[list[float], int]:
    times, failures = [], 0
    for index in range(requests_n):
        slug = slugs[index % len(slugs)]
        started = time.perf_counter()
        try:
            response = requests.get(f"{base}snapshots/{slug}/", timeout=60)
            _ = response.content
            elapsed = time.perf_counter() - started
            if response.status_code == 200 and "X-Occidata-Snapshot" in response.headers:
                times.append(elapsed)
            else:
                failures += 1
        except requests.RequestException:
            failures += 1
    return times, failures


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=["tiny", "demo"], default="demo", help="data built for the run (default demo)")
    parser.add_argument("--data-dir", help="use this already built data directory instead of building one")
    parser.add_argument("--apps-dir", default=str(REPO_ROOT / "voila_apps"), help="the dashboards' notebooks")
    parser.add_argument("--visitors", type=int, default=20)
    parser.add_argument("--burst-cap", type=int, default=40,
                        help="max_kernels of hub B: room for the burst, the earlier visits and the pool refills")
    parser.add_argument("--cap", type=int, default=12, help="max_kernels of hub C (the default cap)")
    parser.add_argument("--rounds", type=int, default=2, help="first renders per dashboard, cold and preheated")
    parser.add_argument("--snapshot-requests", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the state directories (logs) and print where")
    parser.add_argument("--quick", action="store_true",
                        help="a smaller run: 6 visitors, cap 3, 1 round, 40 snapshot requests")
    args = parser.parse_args()
    if args.quick:
        args.visitors, args.cap, args.rounds, args.snapshot_requests = 6, 3, 1, 40

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
    root = Path(tmp)
    failures: list[str] = []
    notes: list[str] = []
    results: dict = {}
    bench_started = time.perf_counter()
    try:
        data_dir = Path(args.data_dir) if args.data_dir else root / "data"
        if not args.data_dir:
            from occidata.datasets.build import build_all

            print(f"0. building the {args.size} data in {data_dir} ...", flush=True)
            started = time.perf_counter()
            build_all(args.size, data_dir, progress=lambda line: print(f"   {line}", flush=True))
            print(f"   data built in {time.perf_counter() - started:.1f} s", flush=True)
        common = {
            "DATA_DIR": str(data_dir),
            "DASHBOARDS__APPS_DIR": str(apps_dir),
            "DASHBOARDS__SNAPSHOT_CRON": NEVER,
            "DASHBOARDS__CULL_IDLE_TIMEOUT": "3600",  # kernels stay for the memory figure; fresh hubs clear them
            "REPORTS__ENABLED": "false",
            "REPORTS__ARCHIVE_DIR": str(root / "archive"),  # the first snapshots, shared by the three hubs
            "CULLER__ENABLED": "false",
            "HUB__LOG_LEVEL": "WARN",
        }

        # --- hub A: no preheating ---
        print(f"1a. hub A, no preheating (pool_size 0, max_kernels {args.burst_cap}): first snapshots, then "
              f"{args.rounds} cold first render(s) per dashboard", flush=True)
        hub = DashboardsHub("A", root, {**common, "DASHBOARDS__POOL_SIZE": "0",
                                        "DASHBOARDS__MAX_KERNELS": str(args.burst_cap)})
        hub.start()
        try:
            waited = hub.wait_settled(snapshots=True)
            status = hub.status() or {}
            slugs = status.get("dashboards") or [n.stem for n in notebooks]
            print(f"   dashboards {', '.join(slugs)}; first snapshots rendered and service idle after "
                  f"{waited:.0f} s; snapshots {status.get('snapshots')}", flush=True)
            cold = first_renders(hub, slugs, titles, args.rounds, preheated=False)
            failures += [f"cold {v.slug}: {v.kind}: {v.error}" for vs in cold.values() for v in vs if v.kind != "live"]

            print(f"4. snapshot serving: {args.snapshot_requests} sequential GETs of snapshots/<slug>/ on hub A", flush=True)
            hub.wait_settled()
            snap_times, snap_failures = snapshot_latency(hub.base, slugs, args.snapshot_requests)
            print(f"   p50 {percentile(snap_times, 50) * 1000:.1f} ms, p95 {percentile(snap_times, 95) * 1000:.1f} ms, "
                  f"{snap_failures} not a snapshot/failed  ({load()})", flush=True)
            if snap_failures:
                failures.append(f"snapshots: {snap_failures} of {args.snapshot_requests} GETs not a snapshot")
        finally:
            hub.stop()
            notes += summarise_log(hub)

        # --- hub B: preheating, burst with room for all ---
        print(f"1b. hub B, preheating (pool_size 1, max_kernels {args.burst_cap}): {args.rounds} preheated first "
              f"render(s) per dashboard, each once the pools are filled and the service idle", flush=True)
        hub = DashboardsHub("B", root, {**common, "DASHBOARDS__POOL_SIZE": "1",
                                        "DASHBOARDS__MAX_KERNELS": str(args.burst_cap)})
        hub.start()
        try:
            waited = hub.wait_settled(preheated=len(slugs), snapshots=True)
            print(f"   pools filled and service idle after {waited:.0f} s", flush=True)
            warm = first_renders(hub, slugs, titles, args.rounds, preheated=True)
            failures += [f"preheated {v.slug}: {v.kind}: {v.error}" for vs in warm.values() for v in vs if v.kind != "live"]

            print(f"2a. {args.visitors} visitors at once on hub B (max_kernels {args.burst_cap}, pools refilled)", flush=True)
            hub.wait_settled(preheated=len(slugs))
            before = hub.status() or {}
            print(f"   before: {before.get('visitors')} visitor kernels, {before.get('preheated')} preheated ({load()})",
                  flush=True)
            visits_b, wall_b = burst(hub.base, slugs, titles, args.visitors)
            print_visits("burst", visits_b, wall_b)
            failures += [f"burst B {v.slug}: {v.kind}: {v.error}" for v in visits_b if v.kind in ("failed", "preparing")]

            print("3. memory of the kernels right after the burst", flush=True)
            mem = memory(hub, {v.kernel_id for v in visits_b if v.kernel_id})
            if mem["visitors"]:
                print(f"   {len(mem['visitors'])} burst visitors' kernels: PSS mean {statistics.mean(mem['visitors']):.0f} MiB, "
                      f"max {max(mem['visitors']):.0f} MiB, total {sum(mem['visitors']):.0f} MiB", flush=True)
            if mem["others"]:
                print(f"   {len(mem['others'])} other kernels (earlier visits, pools): PSS mean "
                      f"{statistics.mean(mem['others']):.0f} MiB", flush=True)
            print(f"   the service process itself: PSS {mem['service']:.0f} MiB", flush=True)
            after = hub.status() or {}
            print(f"   status after: {json.dumps({k: after.get(k) for k in ('live', 'preheated', 'visitors', 'served_snapshots_busy')})}",
                  flush=True)
        finally:
            hub.stop()
            notes += summarise_log(hub)

        # --- hub C: the default cap ---
        print(f"2b. {args.visitors} visitors at once on hub C: preheating and the cap at {args.cap} "
              f"(above it, the snapshot with a note)", flush=True)
        hub = DashboardsHub("C", root, {**common, "DASHBOARDS__POOL_SIZE": "1", "DASHBOARDS__MAX_KERNELS": str(args.cap)})
        hub.start()
        try:
            hub.wait_settled(preheated=len(slugs), snapshots=True)
            visits_c, wall_c = burst(hub.base, slugs, titles, args.visitors)
            print_visits("burst", visits_c, wall_c)
            failures += [f"burst C {v.slug}: {v.kind}: {v.error}" for v in visits_c if v.kind in ("failed", "preparing")]
            after = hub.status() or {}
            print(f"   status after: {after.get('visitors')} visitor kernels (cap {after.get('max_kernels')}), "
                  f"served_snapshots_busy {after.get('served_snapshots_busy')}", flush=True)
            if after.get("visitors") is not None and after["visitors"] > args.cap:
                failures.append(f"hub C: {after['visitors']} visitor kernels above the cap {args.cap}")
        finally:
            hub.stop()
            notes += summarise_log(hub)

        results = {"slugs": slugs, "cold": cold, "warm": warm, "snap": snap_times, "b": (visits_b, wall_b),
                   "c": (visits_c, wall_c), "mem": mem}
    finally:
        if args.keep:
            print(f"state directories and logs kept in {root}", flush=True)
        else:
            import shutil

            shutil.rmtree(root, ignore_errors=True)

    total = time.perf_counter() - bench_started
    if results:
        print_summary(args, results, total)
    print("\nhub logs")
    for note in notes:
        print(f"  {note}")
    print(f"\nfailures: {len(failures)}")
    for failure in failures:
        print(f"  {failure}")
    return 1 if failures else 0


def print_summary(args, r: dict, total: float) -> None:
    print(f"\ndashboards results ({args.size if not args.data_dir else args.data_dir} data, {os.cpu_count()} CPUs, "
          f"{total:.0f} s in all)")
    print("  1. first render, usable page (median of {} visit(s); page = GET body only)".format(args.rounds))
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
    visits_b, wall_b = r["b"]
    live_b = [v.usable_s for v in visits_b if v.kind == "live"]
    kinds_b = Counter(v.kind for v in visits_b)
    print(f"  2. {args.visitors} visitors at once, max_kernels {args.burst_cap}: usable page p50 "
          f"{percentile(live_b, 50):.2f} s, p95 {percentile(live_b, 95):.2f} s (wall {wall_b:.1f} s); "
          f"{kinds_b['live']} live, {kinds_b['busy-snapshot']} busy snapshot, "
          f"{kinds_b['failed'] + kinds_b['preparing']} failed")
    visits_c, wall_c = r["c"]
    live_c = [v.usable_s for v in visits_c if v.kind == "live"]
    busy_c = [v.page_s for v in visits_c if v.kind == "busy-snapshot"]
    kinds_c = Counter(v.kind for v in visits_c)
    print(f"     {args.visitors} visitors at once, max_kernels {args.cap}: {kinds_c['live']} live (p50 "
          f"{percentile(live_c, 50):.2f} s, p95 {percentile(live_c, 95):.2f} s), {kinds_c['busy-snapshot']} got the "
          f"snapshot (p50 {percentile(busy_c, 50) * 1000:.0f} ms, p95 {percentile(busy_c, 95) * 1000:.0f} ms), "
          f"{kinds_c['failed'] + kinds_c['preparing']} failed")
    mem = r["mem"]
    if mem["visitors"]:
        print(f"  3. PSS per visitor kernel: mean {statistics.mean(mem['visitors']):.0f} MiB, max "
              f"{max(mem['visitors']):.0f} MiB ({len(mem['visitors'])} kernels); service {mem['service']:.0f} MiB")
    else:
        print("  3. PSS per visitor kernel: no visitor kernel found")
    snap = r["snap"]
    p50, p95 = percentile(snap, 50), percentile(snap, 95)
    live_cold = [v.usable_s for vs in r["cold"].values() for v in vs if v.kind == "live"]
    live_warm = [v.usable_s for vs in r["warm"].values() for v in vs if v.kind == "live"]
    print(f"  4. snapshot, {len(snap)} sequential GETs: p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms")
    print(f"     live first render, cold:      p50 {percentile(live_cold, 50):.2f} s, p95 {percentile(live_cold, 95):.2f} s"
          f"  -> {percentile(live_cold, 50) / p50:.0f}x the snapshot's p50")
    print(f"     live first render, preheated: p50 {percentile(live_warm, 50):.2f} s, p95 {percentile(live_warm, 95):.2f} s"
          f"  -> {percentile(live_warm, 50) / p50:.0f}x the snapshot's p50")


if __name__ == "__main__":
    sys.exit(main())
