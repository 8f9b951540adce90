"""Each mode is declared once (occidata.modes) and the rest of the package asks it, never its name
(issue 17, first part)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from occidata import modes
from occidata.config import ConfigError, load_config
from occidata.modes import MODES, ModeUnavailable, mode_of

PACKAGE = Path(modes.__file__).resolve().parent
# A mode named in a comparison: cfg["mode"] == "server", mode in ("demo", ...), mode != 'demo'...
NAME_TEST = re.compile(r"""(?:\[["']mode["']\]|\.get\(["']mode["']\)|\bmode)\s*(?:==|!=|\bin\b|\bnot in\b)\s*[("'\[]""")


def test_no_module_tests_the_name_of_a_mode():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "modes.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if NAME_TEST.search(line.split("#", 1)[0]):
                offenders.append(f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}")
    assert offenders == [], "ask occidata.modes.mode_of(cfg) instead:\n" + "\n".join(offenders)


def test_the_configuration_accepts_exactly_the_declared_modes():
    for name in MODES:
        assert mode_of(load_config({"OCCIDATA_MODE": name})).name == name
    with pytest.raises(ConfigError, match="mode"):
        load_config({"OCCIDATA_MODE": "cloud"})


def test_what_each_runnable_mode_keeps_apart():
    demo, server = MODES["demo"], MODES["server"]
    assert not demo.serves_restricted and server.serves_restricted
    assert server.own_accounts and server.labs_as_system_users() and server.shared_state()
    # Demo mode keeps researchers apart only when started as root (a lab never runs as root).
    assert demo.labs_as_system_users() == (os.geteuid() == 0)
    cfg = load_config({"OCCIDATA_MODE": "server"})
    assert server.data_owner(cfg) == cfg["server"]["service_user"]


def test_a_mode_declared_but_not_runnable_says_what_to_do():
    with pytest.raises(ModeUnavailable) as info:
        MODES["kubernetes"].check_available()
    message = str(info.value)
    assert "mode 'kubernetes' is not available yet" in message and "'demo', 'server' and 'slurm' modes" in message
    assert "deploy/README.md" in message
    MODES["slurm"].check_available()


def test_slurm_mode_runs_labs_as_jobs_of_the_researchers_accounts():
    slurm = MODES["slurm"]
    assert slurm.batch and slurm.own_accounts and slurm.dask_workers == "slurm"
    assert slurm.spawner == "occidata.hub.slurm_spawner.OccidataSlurmSpawner"
    cfg = load_config({"OCCIDATA_MODE": "slurm", "OCCIDATA_SLURM__CONNECT_HOST": "10.0.0.1"})
    [line] = slurm.startup_lines(cfg, "http://10.0.0.1:8000/")
    assert "Slurm job of system user" in line and "labs reach the hub at 10.0.0.1" in line


def test_the_start_up_message_is_the_modes_own():
    cfg = load_config({"OCCIDATA_MODE": "server"})
    [line] = MODES["server"].startup_lines(cfg, "http://127.0.0.1:8000/")
    assert f"system user {cfg['server']['user_prefix']}<name>" in line
    assert "http://127.0.0.1:8000/services/data/" in line
    demo = MODES["demo"].startup_lines(load_config({"OCCIDATA_MODE": "demo"}), "http://127.0.0.1:8000/")
    assert demo[0].startswith("  Demo mode: ") and "Restricted (personal) datasets are never built nor served" in demo[0]
