"""How fast does a researcher get a working kernel, alone and in a burst of 20?

Starts a real hub + proxy (occidata.platform.LocalHub) on loopback with a throw-away state
directory, then measures in one run:

- hub start: process start until the API answers through the proxy;
- one user: login form + token + spawn + kernel start + first execute (median of 3);
- N users at once under JupyterHub's concurrent_spawn_limit (429 answers are retried):
  burst efficiency = wall time / (single time x N / concurrency); 1.0 is as good as the
  limit allows, larger is slower. Failures are counted, not hidden.

    .venv/bin/python bench/hub_spawn.py [--users 20] [--concurrency 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from occidata.hub.client import HubClientError, HubSession
from occidata.platform import LocalHub

PASSWORD = "banc-d-essai-occitanie"
SINGLE_RUNS = 3


def first_execute(url: str, name: str, retry_for: float = 300) -> float:
    """Login + spawn + kernel + first execute for one already signed-up user; seconds taken."""
    started = time.perf_counter()
    session = HubSession(url, timeout=120)
    if not session.login(name, PASSWORD):
        raise HubClientError(f"login refused for {name}")
    session.request_token(note="bench")
    deadline = time.monotonic() + retry_for
    while True:
        try:
            session.start_server(timeout=240)
            break
        except HubClientError as error:
            if "429" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    kernel = session.start_kernel()
    if session.execute(kernel["id"], "import occidata; print(occidata.current_backend())", timeout=120).strip() != "cpu":
        raise HubClientError(f"unexpected backend for {name}")
    return time.perf_counter() - started


def stop_all(url: str, names: list[str]) -> None:
    for name in names:
        session = HubSession(url, timeout=120)
        if session.login(name, PASSWORD):
            session.request_token(note="bench cleanup")
            try:
                session.stop_server(timeout=120)
            except HubClientError as error:
                print(f"  cleanup: {error}", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=5, help="JupyterHub concurrent_spawn_limit")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="occidata-bench-") as tmp:
        local = LocalHub(
            Path(tmp) / "state",
            settings={
                "AUTH__OPEN_SIGNUP": "true",
                "HUB__CONCURRENT_SPAWN_LIMIT": str(args.concurrency),
                "HUB__LOG_LEVEL": "WARN",
                "CULLER__ENABLED": "false",
            },
        )
        print("Starting the hub ...", flush=True)
        local.start()
        try:
            url = local.url
            singles = [f"alone-{i}" for i in range(SINGLE_RUNS)]
            burst_names = [f"bench-{i:02d}" for i in range(1, args.users + 1)]
            names = singles + burst_names
            for name in names:
                HubSession(url).signup(name, PASSWORD)

            print(f"One user at a time, {SINGLE_RUNS} times: login + spawn + first execute ...", flush=True)
            single_times = []
            for name in singles:
                single_times.append(first_execute(url, name))
                stop_all(url, [name])
            single = statistics.median(single_times)

            print(f"{args.users} users at once (spawn limit {args.concurrency}) ...", flush=True)
            times, failures = [], []
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=args.users) as pool:
                futures = {pool.submit(first_execute, url, name): name for name in burst_names}
                for done, future in enumerate(as_completed(futures), 1):
                    try:
                        times.append(future.result())
                        status = f"{times[-1]:.1f} s"
                    except Exception as error:  # a failure is a result here
                        failures.append(f"{futures[future]}: {error}")
                        status = "FAILED"
                    print(f"  [{done:2d}/{args.users}] {futures[future]} {status}", flush=True)
            wall = time.perf_counter() - started
        finally:
            print("Stopping the hub and its servers ...", flush=True)
            local.stop()

    ideal = single * args.users / args.concurrency
    print("\nhub_spawn results")
    print(f"  hub start (process to API through proxy): {local.start_seconds:6.2f} s")
    print(f"  one user, login -> first execute:          {single:6.2f} s  (median of {', '.join(f'{t:.1f}' for t in single_times)})")
    print(f"  {args.users} users at once, wall time:            {wall:6.2f} s")
    if times:
        print(f"    per user: median {statistics.median(times):.1f} s, max {max(times):.1f} s")
    print(f"  burst efficiency = wall / (single x {args.users} / {args.concurrency}) = "
          f"{wall:.1f} / {ideal:.1f} = {wall / ideal:.2f}  (1.00 = as fast as the limit allows)")
    print(f"  failures: {len(failures)} of {args.users}")
    for failure in failures:
        print(f"    {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
