"""`occidata up` / `occidata down` as an operator runs them, in demo mode."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from occidata.platform import free_port

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
