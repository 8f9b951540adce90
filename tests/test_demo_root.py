"""Demo mode started by root (`sudo make up` on a fresh machine): no lab, and no kernel of the
dashboards or the reports, ever runs as root.

A researcher's own kernel, the door a hostile researcher has, tries to read what is root's:
the hub's cookie secret and proxy token, its database and log, the audit log, partner data
files, and any hub token in another process's environment. Each must fail. Demo builds write
no restricted dataset at all, and the publication gate says when its verdict is only advisory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import RunningHub, require_root, start_hub
from occidata.hub.isolation import secure_data_dir

OCCIDATA = str(Path(sys.executable).parent / "occidata")

require_root("demo-as-root tests")

PROBE = r'''
import glob, json, os
targets = json.loads(%(targets)r)
seen = {}
for what, path in targets.items():
    try:
        with open(path, "rb") as handle:
            handle.read(1)
        seen[what] = "read"
    except OSError as error:
        seen[what] = type(error).__name__
own = os.environ.get("JUPYTERHUB_API_TOKEN")
tokens = []
for environ in glob.glob("/proc/[0-9]*/environ"):
    try:
        data = open(environ, "rb").read().split(b"\0")
    except OSError:
        continue
    for item in data:
        if item.startswith((b"JUPYTERHUB_API_TOKEN=", b"JPY_API_TOKEN=", b"CONFIGPROXY_AUTH_TOKEN=")):
            value = item.split(b"=", 1)[1].decode()
            if value and value != own:
                tokens.append(environ)
print(json.dumps({"uid": os.geteuid(), "seen": seen, "foreign_tokens": sorted(set(tokens))}))
'''


@pytest.fixture(scope="module")
def demo_hub(tmp_path_factory, tiny_data_dir):
    base = tmp_path_factory.mktemp("demo-root")
    data = base / "data"
    shutil.copytree(tiny_data_dir, data)
    secure_data_dir(data, "root")
    local, token = start_hub(base, DATA_DIR=str(data), DASHBOARDS__ENABLED="true", DASHBOARDS__POOL_SIZE="0")
    try:
        yield RunningHub(local, token)
    finally:
        local.stop()


def test_a_researchers_kernel_reaches_nothing_of_roots(demo_hub):
    state = demo_hub.local.state
    data = Path(demo_hub.local.cfg["data_dir"])
    partner_file = next(p for p in (data / "building_meters").rglob("*") if p.is_file())
    targets = {"cookie secret": state.cookie_secret, "proxy token": state.proxy_token,
               "hub database": state.database, "hub log": state.hub_log,
               "audit log": state.logs / "audit.jsonl", "partner data": partner_file}
    for path in targets.values():
        assert Path(path).exists(), path  # each target is really there to be read
    service = demo_hub.service()
    assert service.api("POST", "users/curieuse").status_code == 201
    service.username = "curieuse"
    assert service.start_server()["ready"]
    try:
        kernel = service.start_kernel()
        out = service.execute(kernel["id"], PROBE % {"targets": json.dumps({k: str(v) for k, v in targets.items()})},
                              timeout=120)
    finally:
        service.stop_server()
    found = json.loads(out.strip().splitlines()[-1])
    assert found["uid"] != 0
    assert found["seen"] == {what: "PermissionError" for what in targets}, found["seen"]
    assert found["foreign_tokens"] == []
    import pwd

    assert pwd.getpwuid(found["uid"]).pw_name == demo_hub.local.cfg["server"]["user_prefix"] + "curieuse"


def test_demo_builds_write_no_restricted_dataset(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCCIDATA_")}
    env.update(OCCIDATA_STATE_DIR=str(tmp_path / "state"), OCCIDATA_MODE="demo")
    built = subprocess.run([OCCIDATA, "data", "build", "--size", "tiny"], env=env, capture_output=True, text=True,
                           timeout=300)
    assert built.returncode == 0, built.stderr
    data = tmp_path / "state" / "data"
    assert (data / "air_quality_hourly").is_dir() and (data / "building_meters").is_dir()
    assert not (data / "health_admissions").exists()
    assert (data / "building_meters").stat().st_mode & 0o077 == 0  # partner data closed to other accounts
    asked = subprocess.run([OCCIDATA, "data", "build", "--size", "tiny", "--only", "health_admissions"], env=env,
                           capture_output=True, text=True, timeout=300)
    assert asked.returncode == 2 and "never written in demo mode" in asked.stderr
    assert not (data / "health_admissions").exists()


def test_dashboards_and_reports_run_as_their_own_accounts_not_root(demo_hub):
    """The report scheduler and the public dashboards, with their kernels, run as unprivileged
    accounts that own their archives; the data service stays root's, as owner of the data."""
    from conftest import service_owners

    services = {s["name"]: s for s in demo_hub.service().api("GET", "services").json().values()}
    server = demo_hub.local.cfg["server"]
    reports_user = server["reports_user"]
    assert service_owners(services["reports"]["url"].rstrip("/")) == {reports_user}
    assert service_owners(services["dashboards"]["url"].rstrip("/")) == {server["public_user"]}
    archive = Path(demo_hub.local.cfg["state_dir"]) / "reports"
    import pwd

    assert pwd.getpwuid(archive.stat().st_uid).pw_name == reports_user and archive.stat().st_mode & 0o077 == 0
