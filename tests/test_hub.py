"""The platform end to end: a real hub, proxy, single-user servers and kernels on loopback."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO_ROOT, RunningHub, start_hub
from occidata.cli import secure_data
from occidata.datasets.build import build_all
from occidata.hub.client import HubSession

pytestmark = [pytest.mark.hub]

PASSWORD = "vigne-garonne-2026"


def test_admin_creates_user_with_rest_api(hub):
    admin = hub.session()
    assert admin.login(hub.admin_name, hub.admin_password)
    admin.request_token(note="test admin")
    created = admin.api("POST", "users/chercheur-api")
    assert created.status_code == 201, created.text
    names = {u["name"] for u in admin.api("GET", "users").json()}
    assert {"chercheur-api", hub.admin_name} <= names


def test_service_token_manages_groups(hub):
    service = hub.service()
    assert service.api("POST", "users/partenaire-1").status_code == 201
    # The level groups exist from the start (declared by the platform); others can be made.
    assert service.api("GET", "groups/partner").status_code == 200
    assert service.api("POST", "groups/projet-vignes").status_code == 201
    added = service.api("POST", "groups/projet-vignes/users", json={"users": ["partenaire-1"]})
    assert added.status_code == 200, added.text
    assert service.api("GET", "groups/projet-vignes").json()["users"] == ["partenaire-1"]


def test_service_token_has_only_its_scopes(hub):
    service = hub.service()
    # The test service may manage users but was not given the right to shut the hub down.
    assert service.api("POST", "shutdown").status_code == 403


def test_signup_waits_for_approval_then_user_runs_code(hub):
    person = hub.session()
    signup = person.signup("chercheuse", PASSWORD)
    assert signup.status_code == 200
    assert not person.login("chercheuse", PASSWORD), "an unapproved account must not log in"

    admin = hub.session()
    assert admin.login(hub.admin_name, hub.admin_password)
    # A link (GET) must not approve: only the authorize page's form (POST with _xsrf) does.
    assert admin.http.get(admin.url("hub/authorize/chercheuse"), timeout=30).status_code == 405
    assert not person.login("chercheuse", PASSWORD)
    approval = admin.toggle_approval("chercheuse")
    assert approval.status_code == 200
    assert 'id="authorize-chercheuse">Retirer la validation' in approval.text

    assert person.login("chercheuse", PASSWORD)
    person.request_token(note="test")
    # Hub groups grant data access levels, which the lab server receives at spawn.
    service = hub.service()
    service.api("POST", "groups/partner")  # may exist already: another test made it
    assert service.api("POST", "groups/partner/users", json={"users": ["chercheuse"]}).status_code == 200
    server = person.start_server()
    assert server["ready"]
    try:
        kernel = person.start_kernel()
        assert kernel["name"] == "occidata-cpu", "the CPU profile makes the occidata-cpu kernel the default"
        out = person.execute(kernel["id"], "import occidata, os; print(occidata.current_backend(), os.environ['HOME'], "
                                           "os.geteuid())")
        backend, home, uid = out.split()
        assert backend == "cpu"
        if os.geteuid() == 0:  # demo mode started by root: the lab runs as an account of its own, never root
            assert home.endswith(f"/homes/{hub.local.cfg['server']['user_prefix']}chercheuse") and int(uid) != 0
        else:
            assert home.endswith("/homes/chercheuse")
        # The researcher's two lines: the lab server knows where the platform's data are.
        build_all("tiny", hub.local.cfg["data_dir"], only=["air_quality_hourly"], progress=lambda line: None)
        secure_data(hub.local.cfg)  # as `occidata data build` does after writing
        rows = person.execute(
            kernel["id"],
            "from occidata import catalog\nprint(len(catalog.load('air_quality_hourly', year=2024)))",
        )
        assert int(rows) > 1000
        levels = person.execute(kernel["id"], "from occidata import catalog; print(sorted(catalog.caller_levels()))")
        assert levels.strip() == "['partner', 'public']"
    finally:
        person.stop_server()
    assert person.api("GET", "users/chercheuse").json()["servers"] == {}


def test_unapproved_signup_is_told_to_wait(hub):
    person = hub.session()
    person.signup("en-attente", PASSWORD)
    xsrf = person.form_xsrf("hub/login")
    page = person.http.post(
        person.url("hub/login"), data={"_xsrf": xsrf, "username": "en-attente", "password": PASSWORD}, timeout=30
    )
    assert "Le compte en-attente n&#39;a pas encore été validé par un administrateur." in page.text


def test_signup_answers_in_french(hub):
    person = hub.session()
    assert "un administrateur doit valider votre compte" in person.signup("nouvelle", PASSWORD).text
    assert "déjà utilisé" in person.signup("nouvelle", PASSWORD).text
    assert "au moins 10 caractères" in person.signup("trop-court", "abc").text


def test_approval_without_xsrf_is_refused(hub):
    hub.session().signup("sans-jeton", PASSWORD)
    admin = hub.session()
    assert admin.login(hub.admin_name, hub.admin_password)
    forged = admin.http.post(admin.url("hub/authorize/sans-jeton"), data={}, timeout=30)
    assert forged.status_code == 403
    assert not hub.session().login("sans-jeton", PASSWORD)


def test_wrong_password_is_refused(hub):
    assert not hub.session().login(hub.admin_name, "not-the-password")
    assert not hub.session().login("nobody-here", PASSWORD)


def test_gpu_profile_is_refused_on_a_cpu_hub(hub):
    service = hub.service()
    service.api("POST", "users/veut-un-gpu")
    service.username = "veut-un-gpu"
    response = service.api("POST", "users/veut-un-gpu/server", json={"profile": "gpu"})
    assert response.status_code == 400
    assert "gpu" in response.json()["message"]


def test_secret_files_are_private(hub):
    state = hub.local.state
    for path in (state.cookie_secret, state.proxy_token, state.initial_admin_password, state.database):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(state.secrets.stat().st_mode) == 0o700


def test_idle_culler_runs_as_a_service(hub):
    services = hub.service().api("GET", "services").json()
    assert services["idle-culler"]["pid"] > 0
    assert "--timeout=3600" in services["idle-culler"]["command"]


def test_restart_keeps_users_groups_and_accounts(tmp_path):
    local, token = start_hub(tmp_path)
    try:
        first = RunningHub(local, token)
        service = first.service()
        assert service.api("POST", "users/reste-la").status_code == 201
        assert service.api("POST", "groups/restricted:sante", json={"users": ["reste-la"]}).status_code == 201
        HubSession(first.url).signup("revient", PASSWORD)
    finally:
        local.stop()
    local.start()
    try:
        service = first.service()
        assert service.api("GET", "users/reste-la").status_code == 200
        assert service.api("GET", "groups/restricted:sante").json()["users"] == ["reste-la"]
        # The first admin is not re-created: its generated password still works.
        assert HubSession(local.url).login(first.admin_name, first.admin_password)
    finally:
        local.stop()


def test_idle_server_is_culled(tmp_path):
    local, token = start_hub(tmp_path, CULLER__TIMEOUT="3", CULLER__EVERY="2")
    try:
        user = RunningHub(local, token).service()
        user.api("POST", "users/inactive")
        user.username = "inactive"
        user.start_server()
        deadline = time.monotonic() + 60
        while user.api("GET", "users/inactive").json()["servers"] and time.monotonic() < deadline:
            time.sleep(1)
        assert user.api("GET", "users/inactive").json()["servers"] == {}, "the idle culler should stop the server"
    finally:
        local.stop()


@pytest.mark.parametrize(
    "content, expected",
    [
        ("hub:\n  prot: 8000\n", "unknown key 'hub.prot' (did you mean 'hub.port'?)"),
        ("hub:\n  port: [8000\n", "cannot parse"),
    ],
)
def test_bad_site_config_stops_the_hub_with_a_clear_error(tmp_path, content, expected):
    site = tmp_path / "config.yaml"
    site.write_text(content)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCCIDATA_")}
    env.update(OCCIDATA_CONFIG=str(site), OCCIDATA_STATE_DIR=str(tmp_path / "state"))
    result = subprocess.run(
        [sys.executable, "-m", "jupyterhub", "-f", str(REPO_ROOT / "jupyterhub_config.py")],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert expected in result.stderr
    assert str(site) in result.stderr
    assert "Traceback" not in result.stderr


def service_processes(state_dir, workers: bool = False) -> dict[str, list[int]]:
    """Processes of this platform's services, by service name: the services themselves, or with
    ``workers`` their children too (the reports' pool workers)."""
    from occidata.processes import platform_processes

    found: dict[str, list[int]] = {}
    pids = set(platform_processes(state_dir, services_only=True))
    for pid in pids:
        try:
            parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if parent in pids and not workers:
            continue
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        name = next(e.split(b"=", 1)[1].decode() for e in environ if e.startswith(b"JUPYTERHUB_SERVICE_NAME="))
        found.setdefault(name, []).append(pid)
    return found


def test_a_hub_killed_then_restarted_leaves_one_copy_of_each_service(tmp_path):
    """kill -9 of the hub orphans its services (each with its token, still serving on its port);
    the next start stops them before starting its own."""
    import signal

    local, _token = start_hub(tmp_path)
    state = local.state_dir
    try:
        deadline = time.monotonic() + 60
        while {"data", "reports"} - set(service_processes(state)) and time.monotonic() < deadline:
            time.sleep(0.5)
        before = service_processes(state)
        assert {"data", "reports", "idle-culler"} <= set(before)
        os.kill(local.process.pid, signal.SIGKILL)
        local.process.wait()
        assert set(service_processes(state)) == set(before), "the services outlive a killed hub"
        local.start()
        deadline = time.monotonic() + 60
        while {"data", "reports"} - set(service_processes(state)) and time.monotonic() < deadline:
            time.sleep(0.5)
        after = service_processes(state)
        old = {pid for pids in service_processes(state, workers=True).values() for pid in pids} & \
            {pid for pids in before.values() for pid in pids}
        assert not old, "an old service still runs"
        assert {name: len(pids) for name, pids in after.items() if name in before} == \
            {name: 1 for name in before}
    finally:
        local.stop()
    deadline = time.monotonic() + 30
    while service_processes(state) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert service_processes(state, workers=True) == {}


def test_occidata_down_after_a_crash_leaves_nothing_behind(tmp_path, tiny_data_dir):
    """kill -9 of the hub, `occidata up` again: one copy of each service; kill -9 again, then
    `occidata down`: not one process of the platform is left (services, their workers and kernels,
    the researcher's server, the proxy). Before, the services and the server stayed behind."""
    import signal

    from occidata.platform import platform_footprint
    from occidata.processes import platform_processes

    local, _token = start_hub(tmp_path, DATA_DIR=str(tiny_data_dir), DASHBOARDS__ENABLED="true",
                              DASHBOARDS__POOL_SIZE="1")
    hub = RunningHub(local, _token)
    state = local.state_dir
    try:
        admin = hub.service()
        admin.username = hub.admin_name
        admin.start_server()
        deadline = time.monotonic() + 90
        while {"data", "reports", "dashboards"} - set(service_processes(state)) and time.monotonic() < deadline:
            time.sleep(0.5)
        os.kill(local.process.pid, signal.SIGKILL)
        local.process.wait()
        crashed = platform_footprint(local.cfg)
        local.start()  # `occidata up` after the crash
        deadline = time.monotonic() + 90
        while {"data", "reports", "dashboards"} - set(service_processes(state)) and time.monotonic() < deadline:
            time.sleep(0.5)
        restarted = platform_footprint(local.cfg)
        copies = {name: len(pids) for name, pids in service_processes(state).items()}
        assert copies == {name: 1 for name in copies} and {"data", "reports", "dashboards"} <= set(copies), copies
        os.kill(local.process.pid, signal.SIGKILL)  # a second crash, and this time `occidata down` at once
        local.process.wait()
        down = subprocess.run([sys.executable, "-m", "occidata.cli", "down"], env=local.env, capture_output=True,
                              text=True, timeout=300)
        assert down.returncode == 0, down.stderr
        assert "Stopped" in down.stdout
        left = platform_processes(state)
        assert left == [], f"left after occidata down: {[Path(f'/proc/{p}/cmdline').read_bytes()[:80] for p in left]}"
        assert platform_footprint(local.cfg) == (0, 0)
        print(f"\ncrash cycle: after the crash {crashed[0]} processes, {crashed[1] / 2**20:.0f} MiB; "
              f"restarted {restarted[0]} processes, {restarted[1] / 2**20:.0f} MiB; after down 0")
    finally:
        local.stop()


def test_each_service_holds_its_lock_as_its_own_account(hub):
    """A second copy of a service waits on this lock; in demo mode as root the services run as
    their own accounts, which must be able to take it (a lock under run/, root's alone, was not)."""
    import fcntl

    locks = Path(hub.local.cfg["state_dir"]) / "locks"
    for name in ("data", "reports", "catalogue"):
        deadline = time.monotonic() + 60
        while True:
            with open(locks / f"{name}.lock") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    break  # held by the running service
                fcntl.flock(handle, fcntl.LOCK_UN)
            assert time.monotonic() < deadline, f"the {name} service holds no lock"
            time.sleep(0.5)
        assert stat.S_IMODE((locks / f"{name}.lock").stat().st_mode) == 0o600
