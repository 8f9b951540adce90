"""`occidata up` / `occidata down` as an operator runs them, in demo mode."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from occidata.platform import REPO_ROOT, free_port

pytestmark = [pytest.mark.hub]

OCCIDATA = str(Path(sys.executable).parent / "occidata")


def test_demo_start_says_restricted_data_is_not_served(tmp_path, tiny_data_dir):
    shutil.copytree(tiny_data_dir, tmp_path / "data")
    os.chmod(tmp_path, 0o755)  # as root, the labs' accounts walk to their homes under it
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCCIDATA_")}
    env.update(OCCIDATA_STATE_DIR=str(tmp_path / "state"), OCCIDATA_DATA_DIR=str(tmp_path / "data"),
               OCCIDATA_HUB__PORT=str(port), OCCIDATA_HUB__HUB_PORT=str(free_port()),
               OCCIDATA_HUB__PROXY_API_PORT=str(free_port()), OCCIDATA_DASHBOARDS__ENABLED="false",
               OCCIDATA_REPORTS__ENABLED="false", OCCIDATA_GPU__ENABLED="false")
    up = subprocess.run([OCCIDATA, "up"], env=env, capture_output=True, text=True, timeout=300)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        assert "Demo mode" in up.stdout and "datasets are never built nor served in demo mode" in up.stdout
        # It says plainly what researchers share.
        assert ("cannot read the hub's secrets" if os.geteuid() == 0 else "researchers share everything") in up.stdout
        # The first admin's password is shown once, then its file is gone.
        assert "password:" in up.stdout
        assert not (tmp_path / "state" / "secrets" / "initial-admin-password").exists()
        # The data service is up behind the proxy and refuses anonymous callers.
        anonymous = requests.get(f"http://127.0.0.1:{port}/services/data/api/entries", timeout=30,
                                 allow_redirects=False)
        assert anonymous.status_code in (302, 403)
    finally:
        down = subprocess.run([OCCIDATA, "down"], env=env, capture_output=True, text=True, timeout=180)
    assert down.returncode == 0 and "Stopped" in down.stdout


def platform_env(tmp_path: Path, data_dir: Path, name: str, **settings: str) -> dict:
    """The environment of a platform of its own under ``tmp_path/name``: only what an operator
    would set for a second platform (its state directory and its public port)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCCIDATA_")}
    env.update(OCCIDATA_STATE_DIR=str(tmp_path / name / "state"), OCCIDATA_DATA_DIR=str(data_dir),
               OCCIDATA_DASHBOARDS__ENABLED="false", OCCIDATA_REPORTS__ENABLED="false",
               OCCIDATA_GPU__ENABLED="false", **settings)
    return env


def test_a_second_platform_on_the_same_machine_starts_beside_the_first_and_stops_alone(tmp_path, tiny_data_dir):
    """Two platforms, each with its own state directory and public port and nothing else set:
    their internal ports no longer collide (before: both took 8081 and 8001, the second reached
    the first one's proxy and died with a 403 traceback, leaving its proxy running). The stop
    command the second prints stops the second only; a port already taken is a one-line error
    and leaves nothing running."""
    from occidata.processes import platform_processes

    shutil.copytree(tiny_data_dir, tmp_path / "data")
    os.chmod(tmp_path, 0o755)
    first = platform_env(tmp_path, tmp_path / "data", "first", OCCIDATA_HUB__PORT=str(free_port()))
    second = platform_env(tmp_path, tmp_path / "data", "second", OCCIDATA_HUB__PORT=str(free_port()))
    started = []
    try:
        for env in (first, second):
            (Path(env["OCCIDATA_STATE_DIR"]).parent).mkdir(mode=0o755, exist_ok=True)
            up = subprocess.run([OCCIDATA, "up"], env=env, capture_output=True, text=True, timeout=300)
            assert up.returncode == 0, up.stdout + up.stderr
            started.append(env)
        stop_line = next(line for line in up.stdout.splitlines() if "Stop:" in line)
        assert stop_line.rstrip().endswith("make down")
        assert f"OCCIDATA_STATE_DIR={second['OCCIDATA_STATE_DIR']}" in stop_line
        # As the operator would: pasted in the repository, from a shell without the settings.
        down = subprocess.run(stop_line.split("Stop:", 1)[1].strip(), shell=True, cwd=REPO_ROOT,
                              env={k: v for k, v in os.environ.items() if not k.startswith("OCCIDATA_")},
                              capture_output=True, text=True, timeout=300)
        assert down.returncode == 0 and "Stopped" in down.stdout, down.stdout + down.stderr
        started.remove(second)
        url = f"http://127.0.0.1:{first['OCCIDATA_HUB__PORT']}/hub/api/"
        assert requests.get(url, timeout=30).status_code == 200  # the first one still serves

        taken = platform_env(tmp_path, tmp_path / "data", "third", OCCIDATA_HUB__PORT=first["OCCIDATA_HUB__PORT"])
        Path(taken["OCCIDATA_STATE_DIR"]).parent.mkdir(mode=0o755)
        refused = subprocess.run([OCCIDATA, "up"], env=taken, capture_output=True, text=True, timeout=300)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert f"port {first['OCCIDATA_HUB__PORT']} (hub.port) is already in use" in refused.stderr
        assert "Traceback" not in refused.stderr
        state = Path(taken["OCCIDATA_STATE_DIR"])
        assert platform_processes(state) == [] and not (state / "run" / "jupyterhub-proxy.pid").exists()
    finally:
        for env in started:
            subprocess.run([OCCIDATA, "down"], env=env, capture_output=True, timeout=300)
