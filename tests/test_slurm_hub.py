"""Slurm mode end to end (issue 17): a real hub in slurm mode, a real Slurm (munged, slurmctld, slurmd
on loopback ports, tests/slurm_cluster.py), real system accounts. Each lab is a Slurm job of the
researcher's account; Slurm enforces its memory, its GPUs and its wait in the queue; the hub tells the
researcher, in French, why a lab waits or ended. Root and Slurm are required (CI runs as root): without
them these tests fail, never skip."""

from __future__ import annotations

import html
import json
import os
import pwd
import secrets
import time
from pathlib import Path

import pytest

from conftest import open_visit, require_root, server_mode_hub
from lab_steps import log_in
from playwright.sync_api import expect
from occidata.hub.client import HubClientError
from occidata.platform import LocalHub
from slurm_cluster import hub_settings, running_slurm

PASSWORD = "garrigue-causse-2026"
LAB_MEMORY_MB = 1024
SMALL_MEMORY_MB = 40  # less than a Jupyter server needs: Slurm's cgroup kills it while it starts
# Hub group gpu is this Unix group, the only one the gpu partition allows (occidata.slurm.groups).
GROUP_PREFIX = f"og{secrets.token_hex(2)}-"

require_root("slurm-mode tests")

pytestmark = [pytest.mark.hub, pytest.mark.slow]

PROFILES = f"""
profiles:
  - slug: cpu
    display_name: "CPU — analyses courantes"
    description: "NumPy, xarray et Numba."
    kernel: occidata-cpu
    slurm: {{partition: cpu, cpus: 1, memory: {LAB_MEMORY_MB}M, time: "1:00:00", max_time: "2:00:00"}}
  - slug: gpu
    display_name: "GPU — calcul accéléré"
    description: "CuPy et numba.cuda."
    kernel: occidata-cpu
    gpu: true
    groups: [gpu]
    slurm: {{partition: gpu, cpus: 1, memory: {LAB_MEMORY_MB}M, gpus: 1, time: "1:00:00", max_time: "2:00:00"}}
  - slug: petit
    display_name: "Petit — essai"
    description: "Très peu de mémoire."
    kernel: occidata-cpu
    slurm: {{partition: cpu, cpus: 1, memory: {SMALL_MEMORY_MB}M, time: "0:30:00"}}
"""


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    yield from running_slurm(tmp_path_factory.mktemp("slurm"), gpu_allow_groups=f"{GROUP_PREFIX}gpu")


@pytest.fixture(scope="module")
def platform(slurm, tiny_data_dir, tmp_path_factory):
    profiles = tmp_path_factory.mktemp("profiles") / "profiles.yaml"
    profiles.write_text(PROFILES)
    os.chmod(profiles.parent, 0o755)
    with server_mode_hub(tiny_data_dir, "slurm", **hub_settings(slurm, profiles),
                         SLURM__GROUP_PREFIX=GROUP_PREFIX) as made:
        yield made


def researcher(platform, name: str, groups: tuple[str, ...] = ()):
    """A researcher who signed up, was approved, logged in and holds a token; in ``groups``."""
    hub = platform.hub
    person = hub.session()
    assert person.signup(name, PASSWORD).status_code == 200
    admin = hub.session()
    assert admin.login(hub.admin_name, hub.admin_password)
    assert admin.toggle_approval(name).status_code == 200
    assert person.login(name, PASSWORD)
    person.request_token(note="test")
    service = hub.service()
    for group in groups:
        service.api("POST", f"groups/{group}")
        assert service.api("POST", f"groups/{group}/users", json={"users": [name]}).status_code == 200
    return person


def account(platform, name: str) -> str:
    return f"{platform.names['prefix']}{name}"


def jobs_of(slurm, user: str) -> list[dict]:
    """The user's jobs in Slurm's queue: id, state, name, reason."""
    out = slurm.run(["squeue", "-h", "-u", user, "-o", "%i|%T|%j|%r|%b"]).stdout
    return [dict(zip(("id", "state", "name", "reason", "tres"), line.split("|"))) for line in out.splitlines() if line]


def progress_messages(person, until: str, timeout: float = 90) -> list[str]:
    """The French messages of the waiting page's event stream, until one contains ``until``
    (or the stream ends)."""
    url = person.url(f"hub/api/users/{person.username}/server/progress")
    messages = []
    deadline = time.monotonic() + timeout
    with person.http.get(url, headers={"Authorization": f"token {person.token}"}, stream=True,
                         timeout=timeout) as stream:
        for line in stream.iter_lines(decode_unicode=True):
            if line and line.startswith("data:"):
                event = json.loads(line[5:])
                messages.append(event.get("message", ""))
                if until in messages[-1] or event.get("failed") or event.get("ready"):
                    break
            if time.monotonic() > deadline:
                break
    return messages


def wait_for(predicate, timeout: float = 60, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {timeout:.0f} s")


def test_a_lab_is_a_slurm_job_of_the_researchers_account_and_stopping_cancels_it(platform, slurm):
    marie = researcher(platform, "marie")
    page = html.unescape(marie.http.get(marie.url("hub/spawn")).text)
    # The spawn page says what each profile gives and, from sinfo/squeue, that it can start now.
    assert "1 cœur · 1 Go · 1 h (jusqu'à 2 h) — Peut démarrer tout de suite." in page
    assert f"1 cœur · {SMALL_MEMORY_MB} Mo · 30 min — Peut démarrer tout de suite." in page
    assert 'name="hours"' in page
    assert 'id="profile-gpu" value="gpu" disabled' in page and "Réservé aux groupes : gpu." in page
    marie.start_server({"profile": "cpu", "hours": "1.5"}, timeout=180)
    jobs = jobs_of(slurm, account(platform, "marie"))
    assert len(jobs) == 1 and jobs[0]["state"] == "RUNNING" and jobs[0]["name"] == "occidata-lab", jobs
    limits = slurm.run(["scontrol", "show", "job", "-o", jobs[0]["id"]]).stdout
    assert "TimeLimit=01:30:00" in limits and "MinMemoryNode=1G" in limits, limits
    kernel = marie.start_kernel()["id"]
    printed = marie.execute(kernel, "import os, getpass\nprint(getpass.getuser(), os.environ['SLURM_JOB_ID'])")
    assert printed.split() == [account(platform, "marie"), jobs[0]["id"]]
    marie.stop_server(timeout=90)
    assert wait_for(lambda: not jobs_of(slurm, account(platform, "marie")), 60, "the lab's job cancelled")


def test_the_partner_data_stay_closed_to_a_lab_without_the_group(platform):
    paul = researcher(platform, "paul")
    paul.start_server({"profile": "cpu"}, timeout=180)
    try:
        kernel = paul.start_kernel()["id"]
        partner = Path(platform.cfg["data_dir"]) / "agri_sensors"
        printed = paul.execute(kernel, (
            f"import os\ntry:\n    os.listdir({str(partner)!r})\n    print('read')\n"
            "except PermissionError:\n    print('PermissionError')"))
        assert printed.strip() == "PermissionError"
    finally:
        paul.stop_server(timeout=90)


DASK_IN_THE_LAB = """
import json, os, subprocess
import numpy as np
import occidata
from occidata import catalog
from occidata.compute import heatwave_alerts_xr

def through_the_data_service():
    from occidata import catalog
    try:
        catalog.load('agri_sensors', year=2024)
        return 'read'
    except PermissionError as error:
        return 'refused: ' + str(error)

with occidata.cluster(n_workers=2) as cluster, cluster.get_client() as client:
    client.wait_for_workers(2, timeout=120)
    owners = subprocess.run(['squeue', '-h', '-n', 'occidata-dask', '-o', '%u'], capture_output=True,
                            text=True).stdout.split()
    weather = catalog.load('weather_daily')
    weather = weather.assign(tmin=weather['tmin'] + 15, tmax=weather['tmax'] + 15)
    in_memory = heatwave_alerts_xr(weather.load(), backend='numpy')
    on_workers = client.compute(heatwave_alerts_xr(weather.chunk({'y': 3, 'x': 4}), backend='numpy')).result()
    same = all(np.array_equal(on_workers[n].values, in_memory[n].values, equal_nan=True)
               for n in ('alert', 'ibmx', 'alert_days'))
    alerts = int(in_memory['alert'].values.sum())
    worker_read = client.submit(through_the_data_service, pure=False).result()
print(json.dumps({'owners': owners, 'same': same, 'alerts': alerts, 'worker_read': worker_read}))
"""


def test_a_labs_dask_workers_are_its_own_slurm_jobs_and_read_no_more_than_the_lab(platform, slurm):
    noe = researcher(platform, "noe")
    noe.start_server({"profile": "cpu"}, timeout=180)
    try:
        kernel = noe.start_kernel()["id"]
        result = json.loads(noe.execute(kernel, DASK_IN_THE_LAB, timeout=300).strip().splitlines()[-1])
        assert result["owners"] == [account(platform, "noe")] * 2, result
        assert result["same"] and result["alerts"] > 0, result
        # The worker asks the data service with the lab's own token: refused, as the lab is.
        assert result["worker_read"].startswith("refused: Accès refusé à « agri_sensors »"), result
        assert "« partner »" in result["worker_read"]
        # Closing the cluster cancels its workers (scancel takes a moment) and leaves the lab's job alone.
        assert wait_for(lambda: [job["name"] for job in jobs_of(slurm, account(platform, "noe"))] == ["occidata-lab"],
                        60, "the workers' jobs gone, the lab's kept")
    finally:
        noe.stop_server(timeout=90)


def test_a_group_without_gpus_is_refused_the_gpu_profile_also_through_the_rest_api(platform, slurm):
    luc = researcher(platform, "luc")
    refused = luc.api("POST", f"users/{luc.username}/server", json={"profile": "gpu"})
    assert refused.status_code == 403, refused.text
    assert "réservé aux groupes gpu" in refused.json()["message"]
    # Nor may the lab submit a GPU job itself: Slurm refuses it, not the hub's form.
    luc.start_server({"profile": "cpu"}, timeout=180)
    try:
        kernel = luc.start_kernel()["id"]
        printed = luc.execute(kernel, (
            "import subprocess\n"
            "done = subprocess.run(['sbatch', '-p', 'gpu', '--gres=gpu:1', '--mem=50M', '--wrap', 'true'],\n"
            "                      capture_output=True, text=True)\n"
            "print(done.returncode, done.stderr.strip())"))
        assert printed.startswith("1 ") and "User's group not permitted to use this partition" in printed, printed
    finally:
        luc.stop_server(timeout=90)
    too_long = luc.api("POST", f"users/{luc.username}/server", json={"profile": "cpu", "hours": "5"})
    assert too_long.status_code == 400 and "au plus 2 h" in too_long.json()["message"], too_long.text
    assert wait_for(lambda: not jobs_of(slurm, account(platform, "luc")), 60, "no job of luc left")


def test_two_gpu_labs_get_their_own_device_and_a_third_waits_in_the_queue_until_one_stops(platform, slurm):
    people = [researcher(platform, name, groups=("gpu",)) for name in ("ana", "bea", "cloe")]
    try:
        devices = []
        for person in people[:2]:
            person.start_server({"profile": "gpu"}, timeout=180)
            kernel = person.start_kernel()["id"]
            devices.append(person.execute(kernel, "import os; print(os.environ['CUDA_VISIBLE_DEVICES'])").strip())
        assert sorted(devices) == ["0", "1"]
        third = people[2]
        assert third.api("POST", f"users/{third.username}/server", json={"profile": "gpu"}).status_code == 202
        messages = progress_messages(third, until="en attente dans la file")
        assert any("en attente dans la file dans la partition gpu : 1re sur 1" in m and "(Resources)" in m
                   for m in messages), messages
        page = third.http.get(third.url("hub/spawn")).text  # another look at the spawn page while it waits
        people[0].stop_server(timeout=90)
        ready = wait_for(lambda: third.api("GET", f"users/{third.username}").json()["servers"].get("", {}).get("ready"),
                         120, "the waiting lab started once a GPU was free")
        assert ready and page
        assert [job["tres"] for job in jobs_of(slurm, account(platform, "cloe"))] == ["gres:gpu:1"]
    finally:
        for person in people:
            try:
                person.stop_server(timeout=90)
            except HubClientError:
                pass


def test_the_waiting_page_shows_the_queue_and_cancelling_withdraws_the_job(platform, slurm, browser):
    # Both GPUs taken by other jobs: the researcher's GPU lab waits. In chromium, as a researcher:
    # the spawn page, « Démarrer », the waiting page with Slurm's reason, « Arrêter le serveur ».
    busy = [slurm.run(["sbatch", "--parsable", "-p", "gpu", "--gres=gpu:1", "--mem=50M", "--wrap", "sleep 600"]
                      ).stdout.strip() for _ in range(2)]
    context, visit = open_visit(browser)
    try:
        researcher(platform, "gil", groups=("gpu",))
        page = visit.page
        log_in(page, platform.hub.url, "gil", PASSWORD)
        page.goto(platform.hub.url + "hub/spawn")
        gpu_note = page.locator("#profile-gpu-note")
        expect(gpu_note).to_contain_text("Tous les GPU de la partition gpu sont occupés")
        page.check("#profile-gpu")
        page.get_by_role("button", name="Démarrer").click()
        message = page.locator("#progress-message")
        expect(message).to_contain_text("en attente dans la file dans la partition gpu : 1re sur 1", timeout=60_000)
        expect(message).to_contain_text("les ressources demandées sont toutes occupées (Resources)")
        [waiting] = jobs_of(slurm, account(platform, "gil"))
        assert waiting["state"] == "PENDING"
        page.click("#stop-server-btn")
        assert wait_for(lambda: not jobs_of(slurm, account(platform, "gil")), 60, "the waiting job withdrawn")
        visit.assert_clean()
    finally:
        context.close()
        slurm.run(["scancel", *busy], check=False)


def test_a_lab_over_its_memory_is_killed_by_slurm_and_the_researcher_is_told_why(platform, slurm):
    eve = researcher(platform, "eve")
    started = eve.api("POST", f"users/{eve.username}/server", json={"profile": "petit"})
    # A job killed within the hub's first seconds ends the request itself; a later one, the waiting page.
    if started.status_code == 503:
        messages = [started.json()["message"]]
    else:
        assert started.status_code == 202, started.text
        messages = progress_messages(eve, until="mémoire dépassée", timeout=120)
    assert any(f"mémoire dépassée (limite : {SMALL_MEMORY_MB} Mo)" in m for m in messages), messages
    # The hub stays healthy: the same researcher starts a profile with enough memory.
    eve.start_server({"profile": "cpu"}, timeout=180)
    eve.stop_server(timeout=90)


def test_a_lab_slurm_ends_at_its_wall_time_leaves_the_reason_on_the_home_page(platform, slurm):
    tim = researcher(platform, "tim")
    tim.start_server({"profile": "cpu", "hours": "0.02"}, timeout=180)  # 1.2 min: Slurm's minute
    [job] = jobs_of(slurm, account(platform, "tim"))
    assert "TimeLimit=00:01:00" in slurm.run(["scontrol", "show", "job", "-o", job["id"]]).stdout
    # Slurm ends the job at its time limit; the hub's next poll finds the lab gone.
    wait_for(lambda: not tim.api("GET", f"users/{tim.username}").json()["servers"], 240, "the lab gone at its wall time")
    home = html.unescape(tim.http.get(tim.url("hub/home")).text)
    assert "Votre serveur s'est arrêté : durée maximale atteinte (limite : 1 min)" in home
    assert f"tâche Slurm {job['id']}" in home
    # A new start forgets it.
    tim.start_server({"profile": "cpu"}, timeout=180)
    assert "durée maximale atteinte" not in tim.http.get(tim.url("hub/home")).text
    tim.stop_server(timeout=90)


def test_a_hub_restart_with_labs_running_loses_none_of_them(platform, slurm):
    zoe = researcher(platform, "zoe")
    zoe.start_server({"profile": "cpu"}, timeout=180)
    job = jobs_of(slurm, account(platform, "zoe"))[0]["id"]
    kernel = zoe.start_kernel()["id"]
    zoe.execute(kernel, "kept = 42")
    local: LocalHub = platform.hub.local
    local.stop()
    assert [j["id"] for j in jobs_of(slurm, account(platform, "zoe"))] == [job]  # the job kept running
    local.start()
    server = zoe.api("GET", f"users/{zoe.username}").json()["servers"][""]
    assert server["ready"]
    # The very kernel of before the restart: the lab itself was never stopped.
    assert zoe.execute(kernel, "print(kept)").strip() == "42"
    zoe.stop_server(timeout=90)
    assert wait_for(lambda: not jobs_of(slurm, account(platform, "zoe")), 60, "the lab's job cancelled")


def test_a_link_planted_in_the_home_makes_root_create_nothing_elsewhere(platform):
    mia = researcher(platform, "mia")
    owner = pwd.getpwnam(account(platform, "mia"))
    elsewhere = platform.base / "root-only"
    elsewhere.mkdir(mode=0o755)
    planted = Path(owner.pw_dir) / ".cache"
    planted.symlink_to(elsewhere)
    os.lchown(planted, owner.pw_uid, owner.pw_gid)
    started = mia.api("POST", f"users/{mia.username}/server", json={"profile": "cpu"})
    assert started.status_code == 503 and "journaux de votre serveur" in started.json()["message"], started.text
    assert list(elsewhere.iterdir()) == []


def test_the_lab_port_api_takes_a_port_and_nothing_else(platform):
    """batchspawner's own handler let a lab's token set any attribute of its spawner, its commands
    (run by the hub as root) included; ours takes a port, only from a lab being started."""
    ida = researcher(platform, "ida")
    ida.start_server({"profile": "cpu"}, timeout=180)
    try:
        kernel = ida.start_kernel()["id"]
        printed = ida.execute(kernel, (
            "import os, requests\n"
            "url = os.environ['JUPYTERHUB_API_URL'] + '/batchspawner'\n"
            "headers = {'Authorization': 'token ' + os.environ['JUPYTERHUB_API_TOKEN']}\n"
            "for body in ({'batch_cancel_cmd': 'touch /tmp/pwned-by-lab; scancel {job_id}'}, {'port': 1}):\n"
            "    print(requests.post(url, json=body, headers=headers).status_code)"))
        assert printed.split() == ["403", "403"], printed
    finally:
        ida.stop_server(timeout=90)
    assert not Path("/tmp/pwned-by-lab").exists()
