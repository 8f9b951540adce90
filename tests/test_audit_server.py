"""The audit log in server mode, attacked by the account that owns it (root, real accounts).

The data service's account (``server.service_user``) writes the log and its key state; only
root reads the root key. Each attack below is made AS that account, on the live log, then
`occidata audit verify` (root) must name it; the log is put back after each. One server-mode
hub for the module, with random account names removed at the end.
"""

from __future__ import annotations

import os
import pwd
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import RunningHub, require_root, server_mode_hub
from occidata.hub.isolation import server_python, server_python_environment
from occidata.privacy.audit import read_audit, verify_audit
from occidata.privacy.audit_keys import key_state_path, root_key_path

require_root()

pytestmark = [pytest.mark.hub]

# Code run as the service account: the attacker's tools, with nothing but the file's contents.
ATTACKS = {
    "rechain": """
import json, hashlib
log = {log!r}
records = [json.loads(line) for line in open(log).read().splitlines()]
records[1]["what"] = "quelqu-un-d-autre"
prev = records[0]["hash"]
for record in records[1:]:
    record["prev"] = prev
    body = {{k: v for k, v in record.items() if k not in ("hash", "mac")}}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    record["hash"] = prev = hashlib.sha256(text.encode()).hexdigest()
open(log, "w").write("".join(json.dumps(r) + "\\n" for r in records))
""",
    "cut": """
log = {log!r}
lines = open(log).read().splitlines()
open(log, "w").write("".join(line + "\\n" for line in lines[:-2]))
""",
    "cut_and_remove_key_state": """
import os
log = {log!r}
lines = open(log).read().splitlines()
open(log, "w").write("".join(line + "\\n" for line in lines[:-2]))
os.unlink({key_state!r})
""",
    "older_key_state": """
import os
from occidata.privacy.audit import record_event
older = open({key_state!r}, "rb").read()
for i in range(3):
    record_event({log!r}, "read", who="x", what="agri_sensors", access="partner")
open({key_state!r}, "wb").write(older)
""",
}


class AuditServer:
    def __init__(self, hub: RunningHub, service_user: str):
        self.hub, self.service_user = hub, service_user
        self.state_dir = Path(hub.local.cfg["state_dir"])
        self.log = self.state_dir / "logs" / "audit.jsonl"
        self.key_state = key_state_path(self.log)
        self.root_key = root_key_path(self.state_dir)

    def run_as_service(self, code: str) -> subprocess.CompletedProcess:
        cfg = self.hub.local.cfg
        env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "OCCIDATA_STATE_DIR": str(self.state_dir),
               "OCCIDATA_DATA_DIR": cfg["data_dir"], "OCCIDATA_MODE": "server", **server_python_environment()}
        return subprocess.run([server_python(cfg), "-c", code], user=self.service_user,
                              group=pwd.getpwnam(self.service_user).pw_gid, env=env, capture_output=True,
                              text=True, cwd="/", timeout=120)

    def verify(self) -> subprocess.CompletedProcess:
        """`occidata audit verify` as root, as an operator runs it."""
        return subprocess.run([str(Path(sys.executable).parent / "occidata"), "audit", "verify"],
                              env={**os.environ, "OCCIDATA_STATE_DIR": str(self.state_dir)},
                              capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def server(tiny_data_dir):
    with server_mode_hub(tiny_data_dir, "audit") as made:
        yield AuditServer(made.hub, made.names["service"])


@pytest.fixture
def records(server):
    """A log with records from the hub (root) and from the service account; put back after the test."""
    admin = server.hub.session()
    assert admin.login(server.hub.admin_name, server.hub.admin_password)  # the hub (root) appends
    written = server.run_as_service(
        "from occidata.privacy.audit import record_event\n"
        f"for i in range(4):\n    record_event({str(server.log)!r}, 'read', who='chercheuse', what='agri_sensors', "
        "access='partner', parameters={'i': i})\n")
    assert written.returncode == 0, written.stderr
    assert server.hub.service().api("POST", "users/audite").status_code in (201, 409)  # the hub again
    assert verify_audit(server.log) == []
    log, key_state = server.log.read_bytes(), server.key_state.read_bytes()
    yield read_audit(server.log)
    # Put back in place, as root: the files keep their owner.
    server.log.write_bytes(log)
    server.key_state.write_bytes(key_state)
    os.chown(server.key_state, pwd.getpwnam(server.service_user).pw_uid, pwd.getpwnam(server.service_user).pw_gid)
    os.chmod(server.key_state, 0o600)
    assert verify_audit(server.log) == []


def test_the_service_account_writes_the_log_but_cannot_read_the_root_key(server, records):
    service = pwd.getpwnam(server.service_user)
    for path, uid, mode in ((server.log, service.pw_uid, 0o600), (server.key_state, service.pw_uid, 0o600),
                            (server.key_state.parent, service.pw_uid, 0o700), (server.root_key, 0, 0o600)):
        info = path.stat()
        assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (uid, mode), path
    secrets_dir = server.root_key.parent.stat()
    assert (secrets_dir.st_uid, secrets_dir.st_gid, stat.S_IMODE(secrets_dir.st_mode)) == (0, service.pw_gid, 0o710)
    attempt = server.run_as_service(
        f"import os\nfor step in (lambda: open({str(server.root_key)!r}, 'rb').read(),\n"
        f"             lambda: os.unlink({str(server.root_key)!r}),\n"
        f"             lambda: open({str(server.root_key.parent / 'forged.key')!r}, 'w')):\n"
        "    try:\n        step(); print('open')\n    except PermissionError:\n        print('closed')\n")
    assert attempt.returncode == 0, attempt.stderr
    assert attempt.stdout.split() == ["closed", "closed", "closed"]
    assert all("mac" in record for record in records)


@pytest.mark.parametrize("attack, expected", [
    ("rechain", "line 2: MAC does not match"),
    ("cut", "are missing (log cut?)"),
    ("cut_and_remove_key_state", "is missing: the log may have been cut"),
    ("older_key_state", "an older copy put back?"),
])
def test_attacks_by_the_service_account_are_found(server, records, attack, expected):
    done = server.run_as_service(ATTACKS[attack].format(log=str(server.log), key_state=str(server.key_state)))
    assert done.returncode == 0, done.stderr
    result = server.verify()
    assert result.returncode == 1, result.stdout
    assert expected in result.stderr and "Traceback" not in result.stderr
