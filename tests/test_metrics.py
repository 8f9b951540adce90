"""The platform's Prometheus metrics, scraped by a real Prometheus (Debian's) from a real hub.

One hub for the module (demo mode, the data, reports and dashboards services on); Prometheus
started on a loopback port with the configuration `occidata metrics scrape-config` writes, scraping
every second with the ``prometheus`` service's token. A denied read, a granted read and a lab's
spawn must each move their counter as Prometheus sees it; tokens without ``read:metrics`` get 403.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml

from conftest import RunningHub, start_hub
from occidata.metrics import METRICS

PROMETHEUS = Path("/usr/bin/prometheus")
PASSWORD = "garrigue-causse-2026"
RESEARCHER = "chercheuse"
PARTNER_TABLE = "agri_sensors"
REPO_ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("data", "reports", "dashboards")

pytestmark = [pytest.mark.hub]


def wait_for(what: str, check, timeout: float = 90, every: float = 0.5):
    """``check()`` until it returns something true; its last value in the failure otherwise."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"{what}: not after {timeout:.0f} s (last: {value!r})")


class Prometheus:
    """Debian's Prometheus on a loopback port, with its own storage, stopped at the end."""

    def __init__(self, folder: Path, config: Path):
        from occidata.hub.network import free_port

        self.url = f"http://127.0.0.1:{free_port()}"
        self.log = folder / "prometheus.log"
        self.process = subprocess.Popen(
            [str(PROMETHEUS), f"--config.file={config}", f"--storage.tsdb.path={folder / 'tsdb'}",
             f"--web.listen-address={self.url.removeprefix('http://')}"],
            stdout=self.log.open("wb"), stderr=subprocess.STDOUT)

    def api(self, path: str, **params) -> dict:
        answer = requests.get(f"{self.url}/api/v1/{path}", params=params, timeout=10)
        answer.raise_for_status()
        return answer.json()["data"]

    def value(self, expression: str) -> float:
        """The value of ``sum(expression)`` now (0 when there is no such series yet)."""
        result = self.api("query", query=f"sum({expression})")["result"]
        return float(result[0]["value"][1]) if result else 0.0

    def targets(self) -> dict[str, str]:
        """Health of each scrape job's target (``up``, ``down``, ``unknown``), with its last error."""
        try:
            active = self.api("targets")["activeTargets"]
        except requests.RequestException:
            return {}
        return {t["labels"]["job"]: t["health"] + (f" ({t['lastError']})" if t.get("lastError") else "")
                for t in active}

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


class Platform:
    """The module's hub, its researcher (with their own token), its admin and Prometheus."""

    def __init__(self, hub: RunningHub, prometheus: Prometheus):
        self.hub, self.prometheus = hub, prometheus
        self.cfg = hub.local.cfg
        self.people: dict = {}

    @property
    def prometheus_token(self) -> str:
        return self.hub.local.state.prometheus_token.read_text().strip()

    def metrics_page(self, path: str, token: str | None) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.get(f"{self.hub.url}{path}", headers=headers, timeout=30)

    def table(self, name: str) -> requests.Response:
        token = self.people[RESEARCHER].token
        return requests.get(f"{self.hub.url}services/data/api/tables/{name}",
                            headers={"Authorization": f"token {token}"}, timeout=60)


@pytest.fixture(scope="module")
def platform(tmp_path_factory, tiny_data_dir):
    if not PROMETHEUS.exists():
        pytest.fail("Debian's prometheus is missing: run `make test` as root, or `apt-get install prometheus`")
    tmp = tmp_path_factory.mktemp("metrics")
    apps = tmp / "apps"  # the dashboards service runs, with no dashboard to render
    apps.mkdir()
    schedules = tmp / "schedules.yaml"  # the reports service runs, with nothing scheduled
    schedules.write_text("schedules: []\n")
    local, token = start_hub(tmp, DATA_DIR=str(tiny_data_dir), CULLER__ENABLED="false",
                             REPORTS__ENABLED="true", REPORTS__SCHEDULES_FILE=str(schedules),
                             DASHBOARDS__ENABLED="true", DASHBOARDS__APPS_DIR=str(apps), DASHBOARDS__POOL_SIZE="0")
    prometheus = None
    try:
        hub = RunningHub(local, token)
        # The configuration as an operator makes it: the command, against this hub's settings.
        config = tmp / "prometheus.yml"
        made = subprocess.run([str(Path(sys.executable).parent / "occidata"), "metrics", "scrape-config",
                               "--output", str(config), "--interval", "1"],
                              env=local.env, capture_output=True, text=True, timeout=60)
        assert made.returncode == 0, made.stderr
        prometheus = Prometheus(tmp, config)
        platform = Platform(hub, prometheus)
        admin = hub.session()
        assert admin.login(hub.admin_name, hub.admin_password)
        researcher = hub.session()
        assert researcher.signup(RESEARCHER, PASSWORD).status_code == 200
        assert admin.toggle_approval(RESEARCHER).status_code == 200
        assert researcher.login(RESEARCHER, PASSWORD)
        for person in (admin, researcher):
            person.request_token(note="metrics test")  # as /hub/token makes them: the user's own scopes
        platform.people = {RESEARCHER: researcher, hub.admin_name: admin}
        jobs = {"jupyterhub", *(f"occidata-{name}" for name in SERVICES)}
        try:
            wait_for("every target up in Prometheus",
                     lambda: (lambda health: set(health) == jobs and all(h == "up" for h in health.values())
                              and health)(prometheus.targets()), timeout=120)
        except AssertionError as error:
            raise AssertionError(f"{error}\n{prometheus.log_tail()}") from None
        yield platform
    finally:
        if prometheus is not None:
            prometheus.stop()
        local.stop()


def test_the_scrape_configuration_uses_the_prometheus_services_token_file(platform):
    config = yaml.safe_load((platform.hub.local.state.root.parent / "prometheus.yml").read_text())
    token_file = platform.hub.local.state.prometheus_token
    assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600, "a secret: the hub's account only"
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["jupyterhub"]["metrics_path"] == "/hub/metrics"
    assert {jobs[f"occidata-{name}"]["metrics_path"] for name in SERVICES} == {
        f"/services/{name}/metrics" for name in SERVICES}
    for job in jobs.values():
        assert job["authorization"] == {"type": "Bearer", "credentials_file": str(token_file)}
        assert job["static_configs"][0]["targets"] == [f"127.0.0.1:{platform.cfg['hub']['port']}"]
    # The hub knows that token as the service `prometheus`, allowed read:metrics and nothing else.
    whoami = requests.get(f"{platform.hub.url}hub/api/user", timeout=30,
                          headers={"Authorization": f"Bearer {platform.prometheus_token}"}).json()
    assert whoami["kind"] == "service" and whoami["name"] == "prometheus"
    assert "read:metrics" in whoami["scopes"]
    assert not any(s.startswith(("admin", "users", "access:")) for s in whoami["scopes"]), whoami["scopes"]


def test_metrics_need_a_token_with_read_metrics(platform):
    researcher = platform.people[RESEARCHER].token
    for path in ("hub/metrics", *(f"services/{name}/metrics" for name in SERVICES)):
        for token in (None, researcher):
            refused = platform.metrics_page(path, token)
            who = "a researcher's" if token else "no"
            assert refused.status_code == 403, f"{path} with {who} token: {refused.text[:200]}"
            assert "occidata_" not in refused.text
        served = platform.metrics_page(path, platform.prometheus_token)
        assert served.status_code == 200, f"{path}: {served.status_code} {served.text[:300]}"
        assert served.headers["Content-Type"].startswith("text/plain; version=")
    dashboards = platform.metrics_page("services/dashboards/metrics", platform.prometheus_token).text
    assert 'occidata_dashboard_kernels{kind="visitors"} 0.0' in dashboards
    assert 'occidata_dashboard_kernels{kind="preheated"} 0.0' in dashboards
    assert "# TYPE occidata_report_runs_total counter" in platform.metrics_page(
        "services/reports/metrics", platform.prometheus_token).text


def test_a_denied_read_then_a_granted_read_move_their_counters_in_prometheus(platform):
    prometheus = platform.prometheus
    denials = f'occidata_access_denials_total{{dataset="{PARTNER_TABLE}",level="partner"}}'
    reads = f'occidata_dataset_reads_total{{dataset="{PARTNER_TABLE}",level="partner"}}'
    denied_before, read_before = prometheus.value(denials), prometheus.value(reads)

    refused = platform.table(PARTNER_TABLE)
    assert refused.status_code == 403, refused.text[:300]
    wait_for("the denial counted in Prometheus", lambda: prometheus.value(denials) == denied_before + 1)

    admin = platform.people[platform.hub.admin_name]
    granted = requests.post(f"{platform.hub.url}services/data/api/access", timeout=30,
                            json={"action": "grant", "user": RESEARCHER, "level": "partner"},
                            headers={"Authorization": f"token {admin.token}"})
    assert granted.status_code == 200, granted.text[:300]
    served = platform.table(PARTNER_TABLE)
    assert served.status_code == 200, served.text[:300]
    wait_for("the read counted in Prometheus", lambda: prometheus.value(reads) == read_before + 1)
    assert prometheus.value(denials) == denied_before + 1, "a granted read is no denial"


def test_a_lab_spawn_is_counted_and_timed_at_hub_metrics(platform):
    prometheus = platform.prometheus
    spawned = 'occidata_spawns_total{status="ok"}'
    before = prometheus.value(spawned)
    researcher = platform.people[RESEARCHER]
    assert researcher.start_server(timeout=180)["ready"]
    try:
        wait_for("the spawn counted in Prometheus", lambda: prometheus.value(spawned) == before + 1)
        assert prometheus.value('occidata_spawn_duration_seconds_count{profile="cpu"}') >= 1
        assert prometheus.value('occidata_spawn_duration_seconds_sum{profile="cpu"}') > 0
        page = platform.metrics_page("hub/metrics", platform.prometheus_token).text
        # Beside JupyterHub's own metrics, in the registry it serves.
        assert 'occidata_spawns_total{profile="cpu",status="ok"}' in page and "jupyterhub_" in page
    finally:
        researcher.stop_server()


def test_a_spawn_that_ends_without_a_ready_server_is_counted_failed_and_not_timed():
    """What the hub's spawn follower decides from the spawner's public state (pure logic: a stand-in
    spawner holding only ``pending`` and ``ready``)."""
    import asyncio
    from types import SimpleNamespace

    from prometheus_client import REGISTRY

    from occidata.hub.spawn_metrics import follow_spawn

    profile = "test-failed-spawn"
    spawner = SimpleNamespace(pending="spawn", ready=False)

    async def spawn_fails():
        follower = asyncio.ensure_future(follow_spawn(spawner, profile, time.monotonic(), limit=60))
        await asyncio.sleep(0.6)
        assert not follower.done(), "counted while the spawn was still pending"
        spawner.pending = None  # JupyterHub stopped the server that failed to start
        return await follower

    assert asyncio.run(spawn_fails()) == "failed"
    assert REGISTRY.get_sample_value("occidata_spawns_total", {"profile": profile, "status": "failed"}) == 1
    assert REGISTRY.get_sample_value("occidata_spawn_duration_seconds_count", {"profile": profile}) is None


def test_a_failed_report_run_is_counted():
    """The reports service counts each run its scheduler makes (occidata.metrics.counted_runs), here
    a run refused by the real runner before any kernel starts."""
    from prometheus_client import generate_latest

    from occidata.metrics import counted_runs, report_metrics
    from occidata.reports.runner import run_report

    metrics = report_metrics()
    with pytest.raises(Exception):
        counted_runs(run_report, metrics)(REPO_ROOT / "notebooks" / "absent.ipynb", {})
    exposed = generate_latest(metrics.registry).decode()
    assert 'occidata_report_runs_total{report="absent",status="failed"} 1.0' in exposed


def test_the_scrape_configuration_follows_base_url_and_the_enabled_services(tmp_path):
    from occidata.config import load_config
    from occidata.hub.prometheus import scrape_config

    cfg = load_config({"OCCIDATA_STATE_DIR": str(tmp_path), "OCCIDATA_HUB__BASE_URL": "/lab/",
                       "OCCIDATA_HUB__IP": "10.1.2.3", "OCCIDATA_HUB__PORT": "8443",
                       "OCCIDATA_REPORTS__ENABLED": "false"})
    jobs = {job["job_name"]: job for job in scrape_config(cfg, "/etc/prometheus/occidata-token")["scrape_configs"]}
    assert {name: job["metrics_path"] for name, job in jobs.items()} == {
        "jupyterhub": "/lab/hub/metrics", "occidata-data": "/lab/services/data/metrics",
        "occidata-dashboards": "/lab/services/dashboards/metrics"}
    assert all(job["static_configs"][0]["targets"] == ["10.1.2.3:8443"] for job in jobs.values())
    assert all(job["authorization"]["credentials_file"] == "/etc/prometheus/occidata-token" for job in jobs.values())


def test_every_metric_is_documented_in_the_readme():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name for name, *_ in METRICS if f"`{name}`" not in readme]
    assert not missing, f"README.md (Métriques / Metrics) does not document: {', '.join(missing)}"
