"""Shared fixtures: a real hub with its proxy on random loopback ports, for the whole session."""

from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest

from occidata.hub.client import HubSession
from occidata.platform import LocalHub

REPO_ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
# Screenshots the browser tests leave for people to look at (CI keeps this folder).
ARTIFACTS = Path(os.environ.get("OCCIDATA_TEST_ARTIFACTS", REPO_ROOT / "test-artifacts")) / "dashboards"

@pytest.fixture(scope="session", autouse=True)
def walkable_tmp(tmp_path_factory):
    """As root, pytest's temporary folders are closed to other accounts (0700); the platform runs
    code as other accounts (the gate's throwaway accounts, server mode), which must read the
    tests' data there as they would the platform's data directory."""
    if os.geteuid() == 0:
        base = tmp_path_factory.getbasetemp()
        for folder in (base.parent, base):
            os.chmod(folder, 0o755)


SERVICE_SNIPPET = """
c.JupyterHub.services.append({{"name": "test-admin", "api_token": "{token}"}})
c.JupyterHub.load_roles.append({{
    "name": "test-admin",
    "scopes": ["admin:users", "admin:groups", "admin:servers", "access:servers", "tokens", "list:services", "read:services"],
    "services": ["test-admin"],
}})
"""


def write_service_snippet(directory: Path) -> str:
    """A jupyterhub_config.d snippet declaring an admin service; returns its token."""
    token = secrets.token_hex(32)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "50-test-admin.py").write_text(SERVICE_SNIPPET.format(token=token))
    return token


class RunningHub:
    """What tests need of a live hub: its URL, the admin's password and a service token."""

    def __init__(self, local: LocalHub, service_token: str):
        self.local = local
        self.url = local.url
        self.service_token = service_token
        name, password = local.state.initial_admin_password.read_text().split("\n")[:2]
        self.admin_name, self.admin_password = name, password

    def service(self) -> HubSession:
        session = HubSession(self.url)
        session.token = self.service_token
        return session

    def session(self) -> HubSession:
        return HubSession(self.url)


# Run by root, hubs run labs as system accounts: this session's have their own prefix and are
# removed at the end (see lab_accounts_removed), so the machine's /etc/passwd is left as it was.
LAB_PREFIX = f"t{secrets.token_hex(2)}"
_hubs_started = [0]  # each hub its own prefix: an account another platform made is refused


@pytest.fixture(scope="session", autouse=True)
def lab_accounts_removed():
    yield
    if os.geteuid() == 0:
        import pwd

        from occidata.hub.system_users import remove_system_user

        for entry in pwd.getpwall():
            if entry.pw_name.startswith(LAB_PREFIX):
                remove_system_user(entry.pw_name)


def require_root(what: str = "server-mode tests") -> None:
    """Skip a module that needs root (real system accounts), except in CI, where it must run."""
    if os.geteuid() != 0:
        if os.environ.get("CI") == "true":
            raise RuntimeError(f"{what} need root: CI runs them as root")
        pytest.skip(f"{what} need root (they create system users); CI runs them as root", allow_module_level=True)


@dataclass
class ServerHub:
    """A server-mode hub of a test module: the hub, its folder and its accounts' names."""
    hub: "RunningHub"
    base: Path
    names: dict

    @property
    def cfg(self) -> dict:
        return self.hub.local.cfg


@contextmanager
def server_mode_hub(tiny_data_dir: Path, label: str, **settings):
    """A server-mode hub on a copy of the tiny data, in a folder every account can walk (pytest's
    are root's), with accounts of a random prefix: lab prefix, service, public, reports and
    gate accounts. Everything is removed at the end, so /etc/passwd is left as it was."""
    import grp
    import pwd
    import shutil
    import subprocess
    import tempfile

    from occidata.hub.system_users import remove_system_user

    base = Path(tempfile.mkdtemp(prefix=f"occidata-{label}-", dir="/tmp"))
    os.chmod(base, 0o755)
    tag = label[0] + secrets.token_hex(2)
    names = {"prefix": f"o{tag}-", "service": f"o{tag}d", "public": f"o{tag}p", "reports": f"o{tag}r",
             "gate": f"o{tag}g-"}
    shutil.copytree(tiny_data_dir, base / "data")
    local = None
    try:
        local, token = start_hub(base, **{
            "MODE": "server", "DATA_DIR": str(base / "data"), "SERVER__USER_PREFIX": names["prefix"],
            "SERVER__HOME_DIR": str(base / "home"), "SERVER__SERVICE_USER": names["service"],
            "SERVER__PUBLIC_USER": names["public"], "SERVER__REPORTS_USER": names["reports"],
            "SERVER__GATE_PREFIX": names["gate"], "CULLER__ENABLED": "false", "REPORTS__ENABLED": "false",
            "SLURM__GROUP_PREFIX": f"o{tag}y-", **settings})
        yield ServerHub(RunningHub(local, token), base, names)
    finally:
        if local is not None:
            local.stop()
        for account in pwd.getpwall():
            if account.pw_name.startswith((names["prefix"], names["gate"])):
                remove_system_user(account.pw_name)
        for key in ("service", "public", "reports"):
            remove_system_user(names[key])
        group_prefix = settings.get("SLURM__GROUP_PREFIX", f"o{tag}y-")
        for group in grp.getgrall():  # slurm mode's mirrors of hub groups (occidata.slurm.groups)
            if group.gr_name.startswith(group_prefix):
                subprocess.run(["groupdel", group.gr_name], capture_output=True)
        if not os.environ.get("KEEP_SERVER_TEST_DIR"):
            shutil.rmtree(base, ignore_errors=True)


def service_owners(service_url: str) -> set[str]:
    """The accounts of the processes the hub started for the service at ``service_url`` (found by
    the URL the hub gave it, so only this hub's)."""
    import pwd

    owners = set()
    for proc in Path("/proc").iterdir():
        try:
            environ = (proc / "environ").read_bytes().split(b"\0")
            uid = proc.stat().st_uid
        except (OSError, ValueError):
            continue
        if f"JUPYTERHUB_SERVICE_URL={service_url}".encode() in (e.rstrip(b"/") for e in environ):
            owners.add(pwd.getpwuid(uid).pw_name)
    return owners


def owned_like(path: Path, model: Path) -> None:
    """Give ``path`` (a file or a tree) the owner of ``model``: what a test writes as root into a service's
    archive, as that service's account would have written it."""
    info = os.stat(model)
    os.chown(path, info.st_uid, info.st_gid)
    for root, _dirs, files in os.walk(path):
        os.chown(root, info.st_uid, info.st_gid)
        for name in files:
            os.chown(os.path.join(root, name), info.st_uid, info.st_gid)


def start_hub(tmp: Path, **settings) -> tuple[LocalHub, str]:
    """A hub for tests; the public dashboards are off unless ``DASHBOARDS__ENABLED="true"``
    (their preheated kernels and first snapshots would load every other test)."""
    token = write_service_snippet(tmp / "config.d")
    _hubs_started[0] += 1
    tag = f"{LAB_PREFIX}{_hubs_started[0]}"
    settings = {"DASHBOARDS__ENABLED": "false", "SERVER__USER_PREFIX": f"{tag}-", "SERVER__SERVICE_USER": f"{tag}d",
                "SERVER__PUBLIC_USER": f"{tag}p", "SERVER__REPORTS_USER": f"{tag}r", "SERVER__GATE_PREFIX": f"{tag}g-",
                **settings}
    if os.geteuid() == 0:
        os.chmod(tmp, 0o755)  # the labs' accounts walk to their homes under <tmp>/state
    local = LocalHub(tmp / "state", settings={"HUB__CONFIG_D": str(tmp / "config.d"), **settings})
    local.start()
    return local, token


@pytest.fixture(scope="session")
def hub(tmp_path_factory):
    """One hub for the session, from the project's own jupyterhub_config.py."""
    local, token = start_hub(tmp_path_factory.mktemp("hub"))
    try:
        yield RunningHub(local, token)
    finally:
        local.stop()


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory) -> Path:
    """Every dataset built at size tiny, once per session (a few seconds)."""
    from occidata.datasets.build import build_all

    data_dir = tmp_path_factory.mktemp("tiny-data")
    build_all("tiny", data_dir)
    if os.geteuid() == 0:  # as `occidata up` leaves it: public data readable by all, the rest root's
        from occidata.hub.isolation import secure_data_dir

        secure_data_dir(data_dir, "root")
    return data_dir


# --- the public dashboards ----------------------------------------------------------------

PARTNER_DASHBOARD = "donnees-partenaires"
UNAPPROVED_DASHBOARD = "chaleur-modifiee"


def write_partner_dashboard(path: Path) -> None:
    """A dashboard that tries to show a partner entry: it must fail closed."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"name": "occidata-cpu", "display_name": "Occidata (CPU)", "language": "python"},
                   "title": "Compteurs des bâtiments (test)"}
    parameters = nbformat.v4.new_code_cell('lang = "fr"  # language of the page; one of: fr, en\n'
                                           'snapshot = False  # static rendering for the snapshot (no widgets)')
    parameters.metadata["tags"] = ["parameters"]
    # catalog.load itself, not the dashboards' load_public: the service's kernels hold no level.
    body = nbformat.v4.new_code_cell(
        "from occidata import catalog\n"
        "from occidata.dashboards import layout, render\n\n"
        "def view(lang='fr'):\n"
        "    meters = catalog.load('building_meters')\n"
        "    return render.page(render.html_table(meters.head(), caption='compteurs', columns={}), lang=lang,\n"
        "                       title='Compteurs')\n\n"
        f"layout.show_dashboard({PARTNER_DASHBOARD!r}, {{}}, view, lang=lang, snapshot=snapshot)\n")
    nb.cells = [parameters, body]
    nbformat.write(nb, str(path))


def dashboards_status(hub_url: str) -> dict:
    import requests

    return requests.get(hub_url + "services/dashboards/status", timeout=10).json()


def wait_for_dashboards(hub_url: str, count: int, pool_size: int, timeout: float = 300) -> dict:
    """Until the service answers with every pool filled and every first snapshot rendered."""
    import time

    import requests

    deadline = time.monotonic() + timeout
    status: dict = {}
    while time.monotonic() < deadline:
        try:
            status = dashboards_status(hub_url)
        except (requests.RequestException, ValueError):
            status = {}
        snapshots, refused = status.get("snapshots", {}), status.get("snapshots_refused", {})
        # Every first snapshot rendered: served, or kept back by the publication gate.
        if (status.get("preheated", -1) >= count * pool_size and len(snapshots) == count
                and all(served or refused.get(slug) for slug, served in snapshots.items())):
            return status
        time.sleep(1)
    raise AssertionError(f"dashboards not ready after {timeout:.0f} s: {status}")


def start_dashboards_hub(tmp: Path, data_dir: Path, apps: list[str] | None = None, partner: bool = False,
                         unapproved: bool = False,
                         **settings) -> tuple[LocalHub, str, int]:
    """A hub whose dashboards service serves ``apps`` (default: every voila_apps/ notebook)."""
    import shutil

    folder = tmp / "apps"
    folder.mkdir(parents=True)
    for notebook in sorted((REPO_ROOT / "voila_apps").glob("*.ipynb")):
        if apps is None or notebook.stem in apps:
            shutil.copy(notebook, folder / notebook.name)
    if partner:
        from occidata.approvals import approve

        write_partner_dashboard(folder / f"{PARTNER_DASHBOARD}.ipynb")
        # A steward approved it by mistake: the service must still keep partner data out.
        approve(tmp / "state", folder / f"{PARTNER_DASHBOARD}.ipynb", name=PARTNER_DASHBOARD, kind="dashboard",
                by="steward")
    count = len(list(folder.glob("*.ipynb")))
    if unapproved:  # a notebook nobody approved: never served, live or saved
        import json

        edited = json.loads((REPO_ROOT / "voila_apps" / "chaleur.ipynb").read_text())
        edited["metadata"]["title"] = "Chaleur (modifié, non approuvé)"
        (folder / f"{UNAPPROVED_DASHBOARD}.ipynb").write_text(json.dumps(edited))
    local, token = start_hub(tmp, DASHBOARDS__ENABLED="true", DATA_DIR=str(data_dir), REPORTS__ENABLED="false",
                             DASHBOARDS__APPS_DIR=str(folder), **settings)
    return local, token, count


@pytest.fixture(scope="session")
def dashboards_hub(tmp_path_factory, tiny_data_dir):
    """A hub serving every dashboard (and one that reaches for partner data) on the tiny data."""
    local, token, count = start_dashboards_hub(tmp_path_factory.mktemp("dashboards-hub"), tiny_data_dir, partner=True,
                                               unapproved=True, DASHBOARDS__POOL_SIZE="1",
                                               DASHBOARDS__MAX_KERNELS="30")
    try:
        wait_for_dashboards(local.url, count, 1)
        yield RunningHub(local, token)
    finally:
        local.stop()


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium driven by Playwright (never a downloaded browser), one per test module."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: run `make test` as root, or `apt-get install chromium`")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield browser
        browser.close()


@dataclass
class Visit:
    page: object
    blocked: list = field(default_factory=list)
    console_errors: list = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.blocked == [], f"requests outside the host: {self.blocked[:5]}"
        assert self.console_errors == [], f"errors in the browser console: {self.console_errors[:5]}"


def open_visit(browser, width: int = 1280, height: int = 900, **options) -> tuple[object, Visit]:
    """A browser context (``options``: Playwright's, e.g. is_mobile) whose page can reach 127.0.0.1 only."""
    context = browser.new_context(locale="fr-FR", viewport={"width": width, "height": height}, **options)
    page = context.new_page()
    visit = Visit(page)

    def loopback_only(route):
        if urlparse(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            visit.blocked.append(route.request.url)
            route.abort()

    context.route("**/*", loopback_only)
    page.on("console", lambda message: visit.console_errors.append(
        f"{message.text} ({message.location.get('url', '')})") if message.type == "error" else None)
    page.on("pageerror", lambda error: visit.console_errors.append(str(error)))
    return context, visit
