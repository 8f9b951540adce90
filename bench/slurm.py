"""Slurm mode against server mode on this machine (issue 17), from one run:

- « Démarrer » to a usable kernel (login, spawn, kernel start, first execute), median of 3, in slurm
  mode (the lab is a Slurm job) and in server mode (a local process), and their ratio;
- 10 labs requested at once in slurm mode: p50/p95 to a usable kernel, failures;
- heat alerts over the full-size grid on 1, 2 and 4 Slurm Dask workers (bench/slurm_dask.py).

Needs root and Slurm (``make test`` installs it): a real munged/slurmctld/slurmd on loopback ports
(tests/slurm_cluster.py), real system accounts (random prefix, removed at the end).

    sudo .venv/bin/python bench/slurm.py [--burst 10] [--no-dask]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "bench")]

from occidata.hub.client import HubClientError  # noqa: E402

PASSWORD = "banc-d-essai-occitanie"
SINGLE_RUNS = 3
PROFILES = """
profiles:
  - slug: cpu
    display_name: "CPU"
    description: "banc d'essai"
    kernel: occidata-cpu
    slurm: {partition: cpu, cpus: 1, memory: 1G, time: "1:00:00"}
"""


def signed_up(hub, name: str):
    """A researcher signed up, approved by the admin, logged in, with a token."""
    person = hub.session()
    person.signup(name, PASSWORD)
    admin = hub.session()
    admin.login(hub.admin_name, hub.admin_password)
    admin.toggle_approval(name)
    if not person.login(name, PASSWORD):
        raise HubClientError(f"login refused for {name}")
    person.request_token(note="bench")
    person.timeout = 240
    return person


def to_usable_kernel(person) -> float:
    """Seconds from the start request to a first execute in a new kernel (then the lab stops)."""
    started = time.perf_counter()
    deadline = time.monotonic() + 600
    while True:
        try:
            person.start_server(timeout=480)
            break
        except HubClientError as error:
            if "429" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    kernel = person.start_kernel()
    if person.execute(kernel["id"], "print(6 * 7)", timeout=240).strip() != "42":
        raise HubClientError(f"unexpected output in {person.username}'s kernel")
    return time.perf_counter() - started


def singles(hub, label: str) -> list[float]:
    """:data:`SINGLE_RUNS` labs one after the other, after one not counted (caches warm in both modes)."""
    warm = signed_up(hub, f"{label}chauffe")
    to_usable_kernel(warm)
    warm.stop_server(timeout=120)
    times = []
    for index in range(SINGLE_RUNS):
        person = signed_up(hub, f"{label}seul{index}")
        times.append(to_usable_kernel(person))
        person.stop_server(timeout=120)
        print(f"  {label}: alone #{index + 1}: {times[-1]:.1f} s", flush=True)
    return times


def burst(hub, count: int) -> tuple[list[float], list[str], float]:
    people = [signed_up(hub, f"foule{index:02d}") for index in range(count)]
    times, failures = [], []
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=count) as pool:
        for person, future in [(p, pool.submit(to_usable_kernel, p)) for p in people]:
            try:
                times.append(future.result())
            except Exception as error:  # a failure is a result here
                failures.append(f"{person.username}: {error}")
    wall = time.perf_counter() - started
    for person in people:
        try:
            person.stop_server(timeout=180)
        except HubClientError:
            pass
    return times, failures, wall


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=10, help="labs requested at once in slurm mode")
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask workers' part")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench/slurm.py needs root (system accounts, Slurm's daemons): sudo .venv/bin/python bench/slurm.py")
        return 2
    from conftest import server_mode_hub
    from occidata.datasets.build import build_all
    from occidata.hub.isolation import secure_data_dir
    from slurm_cluster import SlurmCluster, hub_settings, missing

    if missing():
        print(f"Slurm is missing ({', '.join(missing())}): `make test` as root installs it")
        return 2
    with tempfile.TemporaryDirectory(prefix="occidata-bench-slurm-") as tmp:
        tmp = Path(tmp)
        os.chmod(tmp, 0o755)
        data = tmp / "data"
        build_all("tiny", data)
        secure_data_dir(data, "root")
        profiles = tmp / "profiles.yaml"
        profiles.write_text(PROFILES)
        cluster = SlurmCluster(tmp / "slurm").start()
        try:
            print("Server mode: one lab at a time ...", flush=True)
            with server_mode_hub(data, "bench", SPAWNER__PROFILES_FILE=str(profiles), HUB__LOG_LEVEL="WARN") as made:
                server_times = singles(made.hub, "s")
            print("Slurm mode: one lab at a time, then a crowd ...", flush=True)
            with server_mode_hub(data, "slurm", **hub_settings(cluster, profiles), HUB__LOG_LEVEL="WARN") as made:
                slurm_times = singles(made.hub, "j")
                crowd, failures, wall = burst(made.hub, args.burst)
        finally:
            cluster.stop()
    dask = None
    if not args.no_dask:
        from slurm_dask import measure_heat_alerts, report

        print("Dask: heat alerts over the full-size grid on 1, 2 and 4 Slurm workers ...", flush=True)
        dask = "\n".join(f"  {line}" for line in report(measure_heat_alerts()))

    server, slurm = statistics.median(server_times), statistics.median(slurm_times)
    print(f"\nslurm results ({os.cpu_count()} cores, one run; Slurm on this machine, labs on its loopback)")
    print(f"  « Démarrer » to a usable kernel, median of {SINGLE_RUNS}:")
    print(f"    server mode: {server:6.2f} s  ({', '.join(f'{t:.1f}' for t in server_times)})")
    print(f"    slurm mode:  {slurm:6.2f} s  ({', '.join(f'{t:.1f}' for t in slurm_times)})")
    print(f"    ratio slurm / server: {slurm / server:.2f}")
    print(f"  {args.burst} labs requested at once (slurm mode): wall {wall:.1f} s, failures {len(failures)}")
    if crowd:
        print(f"    to a usable kernel: p50 {percentile(crowd, 0.5):.1f} s, p95 {percentile(crowd, 0.95):.1f} s, "
              f"max {max(crowd):.1f} s")
    for failure in failures:
        print(f"    {failure}")
    if dask:
        print(dask)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
