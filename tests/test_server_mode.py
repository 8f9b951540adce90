"""Server mode end to end, as root: real system users, file modes, the data service and the audit log.

One hub in server mode for the module. Accounts get a random prefix and are deleted at the end,
so the machine's /etc/passwd is left as it was.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO_ROOT, RunningHub, require_root, server_mode_hub, service_owners
from occidata.hub.isolation import server_python, server_python_environment
from occidata.levels import describe_level
from occidata.privacy.audit import read_audit, verify_audit
from occidata.privacy.pseudonyms import load_or_create_key, pseudonymise

PASSWORD = "garrigue-causse-2026"
RESEARCHER = "chercheur"
STEWARD_NOTE = "steward token"
CONTACT = "intendance@donnees.exemple.fr"

require_root()

pytestmark = [pytest.mark.hub]


class Server:
    """The module's server-mode hub and the names it was given."""

    def __init__(self, hub: RunningHub, base: Path, prefix: str, service_user: str, public_user: str):
        self.hub, self.base, self.prefix = hub, base, prefix
        self.service_user, self.public_user = service_user, public_user
        self.cfg = hub.local.cfg
        self.data_dir = Path(self.cfg["data_dir"])
        self.audit_log = Path(self.cfg["state_dir"]) / "logs" / "audit.jsonl"

    def pseudonym(self, name: str) -> str:
        return pseudonymise(name, load_or_create_key(self.cfg["state_dir"]))

    def run_as(self, user: str, code: str, env: dict | None = None) -> subprocess.CompletedProcess:
        """Run Python ``code`` as system user ``user`` with the platform's variables."""
        environment = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "OCCIDATA_DATA_DIR": str(self.data_dir),
                       "OCCIDATA_STATE_DIR": self.cfg["state_dir"], "OCCIDATA_MODE": "server",
                       **server_python_environment(), **(env or {})}
        return subprocess.run([server_python(self.cfg), "-c", code], user=user, group=pwd.getpwnam(user).pw_gid,
                              env=environment, capture_output=True, text=True, cwd="/", timeout=120)


@pytest.fixture(scope="module")
def server(tiny_data_dir):
    with server_mode_hub(tiny_data_dir, "server", DATA_SERVICE__CONTACT=CONTACT) as made:
        names = made.names
        yield Server(made.hub, made.base, names["prefix"], names["service"], names["public"])


@pytest.fixture(scope="module")
def researcher(server):
    """A researcher who signed up, was approved by the admin and logged in."""
    person = server.hub.session()
    assert person.signup(RESEARCHER, PASSWORD).status_code == 200
    admin = server.hub.session()
    assert admin.login(server.hub.admin_name, server.hub.admin_password)
    assert admin.toggle_approval(RESEARCHER).status_code == 200
    assert person.login(RESEARCHER, PASSWORD)
    person.request_token(note="test")
    return person


@pytest.fixture(scope="module")
def steward_token(server):
    """The first admin's token: admins are stewards."""
    admin = server.hub.session()
    assert admin.login(server.hub.admin_name, server.hub.admin_password)
    return admin.request_token(note=STEWARD_NOTE)


@pytest.fixture(scope="module")
def kernel(researcher):
    """A kernel in the researcher's lab server, which runs as their system user."""
    assert researcher.start_server(timeout=180)["ready"]
    try:
        yield researcher.start_kernel()["id"]
    finally:
        researcher.stop_server()


def try_load(call: str) -> str:
    """Kernel code printing ``len(<call>)``, or ``refused: <message>`` on a PermissionError."""
    return ("from occidata import catalog\n"
            f"try:\n    print(len({call}))\n"
            "except PermissionError as e:\n    print('refused:', e)")


def access(server, steward_token, *args) -> subprocess.CompletedProcess:
    """`occidata access ...` as a steward would run it."""
    env = {**os.environ, "JUPYTERHUB_API_TOKEN": steward_token,
           "OCCIDATA_DATA_SERVICE_URL": f"{server.hub.url}services/data/"}
    return subprocess.run([str(Path(sys.executable).parent / "occidata"), "access", *args],
                          env=env, capture_output=True, text=True, timeout=60)


def test_data_dir_is_split_by_access_level(server):
    owner = pwd.getpwnam(server.service_user).pw_uid
    public_file = next((server.data_dir / "air_quality_hourly").rglob("*.parquet"))
    partner_dir = server.data_dir / "agri_sensors"
    restricted_file = next((server.data_dir / "health_admissions").rglob("*.parquet"))
    assert public_file.stat().st_uid == owner and stat.S_IMODE(public_file.stat().st_mode) == 0o644
    assert partner_dir.stat().st_uid == owner and stat.S_IMODE(partner_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(restricted_file.stat().st_mode) == 0o600
    assert server.audit_log.stat().st_uid == owner and stat.S_IMODE(server.audit_log.stat().st_mode) == 0o600
    key = Path(server.cfg["state_dir"]) / "secrets" / "pseudonym.key"
    assert key.stat().st_uid == owner and stat.S_IMODE(key.stat().st_mode) == 0o600


def test_first_login_makes_the_system_user_and_is_audited(server, researcher):
    account = pwd.getpwnam(server.prefix + RESEARCHER)
    assert account.pw_dir == str(server.base / "home" / (server.prefix + RESEARCHER))
    assert stat.S_IMODE(os.stat(account.pw_dir).st_mode) == 0o700
    logins = [r for r in read_audit(server.audit_log) if r["event"] == "login"]
    assert server.pseudonym(RESEARCHER) in {r["who"] for r in logins}
    assert RESEARCHER not in server.audit_log.read_text()


def test_lab_server_runs_as_the_researchers_system_user(server, researcher, kernel):
    out = researcher.execute(kernel, "import os, pwd; print(pwd.getpwuid(os.getuid()).pw_name)")
    assert out.strip() == server.prefix + RESEARCHER


def test_the_lab_is_a_home_with_the_curated_notebooks_its_commands_and_only_its_kernels(server, researcher, kernel):
    home = Path(server.cfg["server"]["home_dir"]) / f"{server.prefix}{RESEARCHER}"
    copy = home / "notebooks-occidata"
    # The researcher's own copy (nbgitpuller's clone of the platform's repository, which root owns).
    assert pwd.getpwuid((copy / "README.md").stat().st_uid).pw_name == f"{server.prefix}{RESEARCHER}"
    assert (copy / "air_quality" / "daily_report.ipynb").is_file()
    specs = researcher.server_api("GET", "kernelspecs").json()
    assert specs["default"] == "occidata-cpu" and sorted(specs["kernelspecs"]) == ["occidata-cpu"]
    printed = researcher.execute(kernel, (
        "import os, intake, subprocess\n"
        "cat = intake.from_yaml_file(os.environ['OCCIDATA_CATALOG'])\n"
        "print('rows', len(cat(year=2024).air_quality_hourly.read()) > 0)"))
    assert "rows True" in printed
    # The platform's copy every lab clones from is root's: a researcher cannot plant a change in
    # the other researchers' next update.
    repository = Path(server.cfg["state_dir"]) / "lab" / "curated.git"
    printed = researcher.execute(kernel, (
        f"import subprocess\ntry:\n    open({str(repository / 'refs' / 'heads' / 'main')!r}, 'a')\n"
        "except PermissionError:\n    print('refused')\n"
        "git = ['git', '-C', 'notebooks-occidata', '-c', 'user.name=x', '-c', 'user.email=x@example.org']\n"
        "subprocess.run([*git, 'commit', '--allow-empty', '-m', 'planted'], check=True, capture_output=True)\n"
        f"print(subprocess.run([*git, 'push', {str(repository)!r}, 'HEAD:main'], capture_output=True).returncode != 0)"))
    assert "refused" in printed and "True" in printed, printed
    printed = researcher.run_in_terminal("occidata catalog search ozone; echo FIN-$((2+2))", until="FIN-4", timeout=120)
    assert "air_quality_hourly" in printed and "command not found" not in printed, printed


def test_without_the_group_files_and_service_both_refuse(server, researcher, kernel):
    direct = researcher.execute(
        kernel,
        "import glob, os\n"
        f"try:\n    os.listdir({str(server.data_dir / 'agri_sensors')!r})\n    print('read')\n"
        "except PermissionError as e:\n    print('PermissionError')",
    )
    assert direct.strip() == "PermissionError"
    through_service = researcher.execute(kernel, try_load("catalog.load('agri_sensors', year=2024)")).strip()
    # French, on one line: the level, who grants it (the admin, and the contact address), the entry's page.
    page = f"{server.hub.url}services/catalogue/agri_sensors"
    assert through_service == (
        "refused: Accès refusé à « agri_sensors » : cette entrée demande le niveau d'accès « partner » "
        f"({describe_level('partner')}), que vous n'avez pas. Demandez-le ici, avec la finalité, le projet et une "
        f"date de fin : {server.hub.url}services/data/requests/new?dataset=agri_sensors — l'intendant des données "
        f"de la plateforme ({server.hub.admin_name}) y répond (adresse : {CONTACT}). Fiche de l'entrée : {page}"), \
        through_service
    # The researcher's own token straight at the service: a 403 with the same message and the link.
    response = researcher.http.get(f"{server.hub.url}services/data/api/tables/agri_sensors",
                                   headers={"Authorization": f"token {researcher.token}"}, timeout=30)
    assert response.status_code == 403 and response.json()["level_needed"] == "partner"
    assert response.json()["error"] == through_service.removeprefix("refused: ")
    assert response.json()["catalogue_page"] == page


def test_grant_read_audit_then_revoke(server, researcher, kernel, steward_token):
    granted = access(server, steward_token, "grant", RESEARCHER, "partner")
    assert granted.returncode == 0, granted.stderr
    read = researcher.execute(
        kernel,
        "from occidata import catalog\n"
        "table = catalog.load('agri_sensors', year=2024)\n"
        "print(len(table), sorted(table.columns)[:2])",
    )
    assert int(read.split()[0]) > 0
    # Plain Intake on the catalogue file behaves the same inside the kernel.
    plain = researcher.execute(
        kernel,
        f"import intake\ncat = intake.from_yaml_file({str(REPO_ROOT / 'catalog' / 'catalog.yaml')!r})\n"
        "print(len(cat['agri_sensors'].read()))",
    )
    assert int(plain) > 0
    records = read_audit(server.audit_log)
    me = server.pseudonym(RESEARCHER)
    assert any(r["event"] == "read" and r["who"] == me and r.get("what") == "agri_sensors" for r in records)
    assert any(r["event"] == "grant" and r["who"] == me and r.get("what") == "partner" for r in records)

    revoked = access(server, steward_token, "revoke", RESEARCHER, "partner")
    assert revoked.returncode == 0, revoked.stderr
    again = researcher.execute(kernel, try_load("catalog.load('agri_sensors', year=2024)"))
    assert again.startswith("refused:"), "a revoke must hold from the next request on"
    assert any(r["event"] == "revoke" and r["who"] == me for r in read_audit(server.audit_log))
    assert verify_audit(server.audit_log) == []


def test_restricted_needs_its_own_group(server, researcher, kernel, steward_token):
    load = try_load("catalog.load('health_admissions')")
    refused = researcher.execute(kernel, load)
    assert refused.startswith("refused:") and "restricted:health_admissions" in refused
    # One steward's grant of a restricted level only asks for it (tests/test_rights.py has the second).
    assert access(server, steward_token, "grant", RESEARCHER, "restricted:health_admissions").returncode == 0
    try:
        assert researcher.execute(kernel, load).startswith("refused:")
    finally:
        access(server, steward_token, "revoke", RESEARCHER, "restricted:health_admissions")


def test_researcher_cannot_grant_themselves(server, researcher):
    attempt = access(server, researcher.token, "grant", RESEARCHER, "partner")
    assert attempt.returncode == 1 and "403" in attempt.stderr


def test_public_account_reads_public_data_only(server):
    """The account of the public dashboards and the gate: public files yes, the rest no, no token."""
    code = ("from occidata import catalog\n"
            "print(len(catalog.load('air_quality_hourly', year=2024)))\n"
            "import os\n"
            f"try:\n    os.listdir({str(server.data_dir / 'health_admissions')!r}); print('leak')\n"
            "except PermissionError:\n    print('closed')\n"
            "try:\n    catalog.load('building_meters', year=2024, levels={'partner'}); print('leak')\n"
            "except PermissionError:\n    print('closed')\n")
    result = server.run_as(server.public_user, code, env={"OCCIDATA_ACCESS_LEVELS": ""})
    assert result.returncode == 0, result.stderr
    rows, files, partner = result.stdout.split()
    assert int(rows) > 0 and files == "closed" and partner == "closed"


def test_services_run_as_their_accounts(server):
    services = {s["name"]: s for s in server.hub.service().api("GET", "services").json().values()}
    assert "data" in services
    # The data service's process (the one of this hub: found by the URL the hub gave it) belongs
    # to the service account, not root.
    assert service_owners(services["data"]["url"].rstrip("/")) == {server.service_user}


def test_audit_verify_finds_an_edited_line(server, tmp_path):
    copy = tmp_path / "audit.jsonl"
    shutil.copy(server.audit_log, copy)
    lines = copy.read_text().splitlines()
    record = json.loads(lines[0])
    record["what"] = "someone-else"
    lines[0] = json.dumps(record)
    copy.write_text("\n".join(lines) + "\n")
    result = subprocess.run([str(Path(sys.executable).parent / "occidata"), "audit", "verify", "--log", str(copy)],
                            capture_output=True, text=True, env={**os.environ, "OCCIDATA_STATE_DIR": server.cfg["state_dir"]})
    assert result.returncode == 1 and "line 1" in result.stderr


def test_gate_runs_in_a_throwaway_account_and_refuses_a_direct_file_read(server, tmp_path):
    """A notebook going around the catalogue to the restricted files is refused by the gate,
    whose kernel runs as a throwaway account (the files are closed to it), removed afterwards."""
    import nbformat

    from occidata.dashboards.gate import check_publication

    notebook = server.base / "contournement.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(
        "import pandas as pd\n"
        f"pd.read_parquet({str(server.data_dir / 'health_admissions')!r}).head()"))
    nbformat.write(nb, str(notebook))
    os.chmod(notebook, 0o644)
    result = check_publication(notebook, cfg=server.cfg)
    assert not result.ok and not result.advisory
    assert any("PermissionError" in reason for reason in result.reasons), result.reasons
    assert not [a.pw_name for a in pwd.getpwall() if a.pw_name.startswith(server.cfg["server"]["gate_prefix"])]


def test_stewards_query_the_audit_log_from_a_lab_account(server, researcher, steward_token):
    """The log is closed to researchers' accounts: `occidata audit query` asks the data service,
    which answers stewards only, with pseudonyms."""
    account = server.prefix + RESEARCHER
    env = {"OCCIDATA_DATA_SERVICE_URL": f"{server.hub.url}services/data/", "HOME": "/tmp"}

    def query(token: str) -> subprocess.CompletedProcess:
        return server.run_as(account, "import sys; from occidata.cli import main; "
                                      "sys.exit(main(['audit', 'query', '--event', 'login', '--json']))",
                             env={**env, "JUPYTERHUB_API_TOKEN": token})

    as_steward = query(steward_token)
    assert as_steward.returncode == 0, as_steward.stderr
    records = [json.loads(line) for line in as_steward.stdout.splitlines()]
    assert records and all(r["event"] == "login" for r in records)
    assert server.pseudonym(RESEARCHER) in {r["who"] for r in records}
    assert RESEARCHER not in as_steward.stdout
    as_researcher = query(researcher.token)
    assert as_researcher.returncode == 2 and "403" in as_researcher.stderr
