"""What does reading non-public data through the data service cost, against reading the files?

Starts a real hub + proxy + data service (occidata.platform.LocalHub) on loopback with a
throw-away state and data directory, then measures in one run, best of ``--runs``:

- a ~100 MB partner table (building_meters, demo rows repeated with new building ids):
  direct ``pyarrow.parquet.read_table(...).to_pandas()`` against ``GET api/tables/<name>``
  (zstd-compressed Arrow stream, through the proxy and the service, access check and audit
  included), then
  the same with a row + column filter on both sides;
- a grid subset (weather_daily, three variables over 92 days): ``xarray.open_zarr(path)`` against Zarr
  over HTTP (``api/zarr/<name>/``), both ``.sel(time=...).load()``.

Prints MB/s of data delivered (Arrow / xarray bytes in memory) and the ratio of throughputs
service / direct (1.0: no cost; 0.5: half the throughput).

    .venv/bin/python bench/data_service.py [--mb 100] [--runs 3]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
from pathlib import Path

import fsspec
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import requests
import xarray as xr

from catalog import best_of  # bench/catalog.py: this script runs from bench/ as the others do
from occidata.atomic import write_atomic
from occidata.datasets import get_dataset
from occidata.datasets.build import MANIFEST, build_all, read_manifest, store_table
from occidata.hub.client import HubSession
from occidata.platform import LocalHub

TABLE = "building_meters"
GRID = "weather_daily"


def grow_table(data_dir: Path, megabytes: int) -> int:
    """Repeat the demo table with new building ids until its Parquet files hold ``megabytes``."""
    base = pq.read_table(data_dir / TABLE).to_pandas()
    base = base.drop(columns=[c for c in base.columns if c == "year"])
    per_copy = sum(f.stat().st_size for f in (data_dir / TABLE).rglob("*.parquet"))
    copies = max(1, round(megabytes * 1e6 / per_copy))
    frames = []
    for copy in range(copies):
        frame = base.copy()
        frame["building_id"] = frame["building_id"].astype(str) + f"-{copy:03d}"
        frames.append(frame)
    grown = pd.concat(frames, ignore_index=True)
    time_column = next(c.name for c in get_dataset(TABLE).SCHEMA.columns if c.dtype == "datetime")
    files = store_table(grown, data_dir / TABLE, time_column)
    manifest = read_manifest(data_dir)
    manifest[TABLE] = {**manifest[TABLE], "files": files, "rows": len(grown), "size": f"bench-{megabytes}MB"}
    write_atomic(data_dir / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return len(grown)


def fetch_arrow(url: str, token: str, params: dict) -> pd.DataFrame:
    response = requests.get(url, params={"format": "arrow", **params}, headers={"Authorization": f"token {token}"},
                            timeout=600)
    response.raise_for_status()
    return pa.ipc.open_stream(io.BytesIO(response.content)).read_all().to_pandas()


def line(label: str, megabytes: float, direct: float, service: float) -> None:
    print(f"  {label:<38} direct {megabytes / direct:8.1f} MB/s ({direct:6.3f} s)   "
          f"service {megabytes / service:8.1f} MB/s ({service:6.3f} s)   ratio {direct / service:5.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=100, help="size of the partner table's Parquet files")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="occidata-bench-data-") as tmp:
        data_dir = Path(tmp) / "data"
        print(f"Building demo {TABLE} and {GRID} in {data_dir} ...", flush=True)
        build_all("demo", data_dir, only=[TABLE, GRID], progress=lambda text: print(" ", text, flush=True))
        rows = grow_table(data_dir, args.mb)
        parquet_mb = sum(f.stat().st_size for f in (data_dir / TABLE).rglob("*.parquet")) / 1e6
        print(f"  {TABLE}: {rows} rows, {parquet_mb:.0f} MB of Parquet on disk", flush=True)

        print("Starting a hub with its data service ...", flush=True)
        local = LocalHub(Path(tmp) / "state", settings={
            "DATA_DIR": str(data_dir), "HUB__LOG_LEVEL": "WARN", "CULLER__ENABLED": "false",
            "REPORTS__ENABLED": "false", "DASHBOARDS__ENABLED": "false"})
        with local:
            name, password = local.state.initial_admin_password.read_text().split("\n")[:2]
            admin = HubSession(local.url, timeout=120)
            admin.login(name, password)
            token = admin.request_token(note="bench")
            admin.api("POST", "groups/partner/users", json={"users": [name]}).raise_for_status()
            service = f"{local.url}services/data/api/"

            print(f"Reading (best of {args.runs}) ...", flush=True)
            table_mb = pq.read_table(data_dir / TABLE).nbytes / 1e6  # what is delivered, in memory
            direct_t, direct = best_of(args.runs, lambda: pq.read_table(data_dir / TABLE).to_pandas())
            served_t, served = best_of(args.runs, lambda: fetch_arrow(service + f"tables/{TABLE}", token, {}))
            if len(served) != len(direct):
                print(f"  MISMATCH: service gave {len(served)} rows, files hold {len(direct)}", file=sys.stderr)
                return 1
            line(f"{TABLE} whole ({table_mb:.0f} MB in memory)", table_mb, direct_t, served_t)

            department = str(direct["department"].iloc[0])
            columns = ["building_id", "time_start", "electricity_kwh"]
            direct_f_t, direct_f = best_of(args.runs, lambda: pq.read_table(
                data_dir / TABLE, columns=columns, filters=[("department", "==", department)]).to_pandas())
            served_f_t, served_f = best_of(args.runs, lambda: fetch_arrow(
                service + f"tables/{TABLE}", token, {"department": department, "columns": ",".join(columns)}))
            filtered_mb = pq.read_table(data_dir / TABLE, columns=columns,
                                        filters=[("department", "==", department)]).nbytes / 1e6
            line(f"{TABLE} 1 dept, 3 columns ({filtered_mb:.0f} MB)", filtered_mb, direct_f_t, served_f_t)
            if len(served_f) != len(direct_f):
                print(f"  MISMATCH on the filtered read: {len(served_f)} vs {len(direct_f)} rows", file=sys.stderr)
                return 1

            store = data_dir / GRID / f"{GRID}.zarr"
            times = xr.open_zarr(store)["time"].values
            days = slice(times[len(times) // 2 - 46], times[len(times) // 2 + 45])  # 92 days mid-series
            variables = ["tmax", "tmin", "pr"]
            direct_g_t, direct_g = best_of(args.runs, lambda: xr.open_zarr(store)[variables].sel(time=days).load())
            mapper = lambda: fsspec.get_mapper(service + f"zarr/{GRID}/",  # noqa: E731
                                               client_kwargs={"headers": {"Authorization": f"token {token}"}})
            served_g_t, served_g = best_of(args.runs, lambda: xr.open_zarr(mapper())[variables].sel(time=days).load())
            grid_mb = direct_g.nbytes / 1e6
            if not direct_g.equals(served_g):
                print("  MISMATCH on the grid subset", file=sys.stderr)
                return 1
            line(f"{GRID} 3 variables, 92 days ({grid_mb:.1f} MB)", grid_mb, direct_g_t, served_g_t)
    return 0


if __name__ == "__main__":
    sys.exit(main())
