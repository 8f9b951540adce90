"""Server mode's file layout: who may read what on disk, set before the hub starts.

- The data directory belongs to the service account (``server.service_user``, which runs the
  data service). Public datasets are world-readable; partner and restricted datasets are
  readable by that account only (directories 0700, files 0600), so a researcher's kernel,
  running as their own system user, gets a PermissionError reading them and must go through
  the data service, which checks hub groups and audits.
- The audit log, its key state and the pseudonymisation key belong to the service account, mode
  0600; the secrets directory lets that account through (0710, its group) to its key and
  nothing else. The audit root key (``secrets/audit-root.key``) is root's, 0600: only the
  verifier reads it (see :mod:`occidata.privacy.audit`).
- The hub's journal of lab servers (``logs/usage.jsonl``) is root's, readable by the service
  account's group (0640): the stewards' view of use, served by the data service, counts its hours.
- ``<state>/public`` belongs to ``server.public_user``, which runs the public dashboards and
  the publication gate: it can read public data and write its snapshots, nothing more.

:func:`prepare_server` is idempotent: ``occidata up`` (and every hub start) runs it again, and
``occidata data build`` runs :func:`secure_data_dir` after writing new files.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from ..config import ConfigError
from ..state import StatePaths
from .system_users import ensure_service_account

# Directories of the data dir that are no catalogue entry but are public (department shapes).
PUBLIC_EXTRAS = {"geography"}


def dataset_access() -> dict[str, str]:
    """Access level of every dataset directory, from the dataset modules."""
    from ..datasets import get_dataset, names

    return {name: get_dataset(name).METADATA["access"] for name in names()}


def _set_tree(path: Path, uid: int, gid: int, dir_mode: int, file_mode: int) -> None:
    for root, dirs, files in os.walk(path):
        os.chown(root, uid, gid)
        os.chmod(root, dir_mode)
        for name in files:
            file = os.path.join(root, name)
            os.chown(file, uid, gid, follow_symlinks=False)
            if not os.path.islink(file):
                os.chmod(file, file_mode)


def secure_data_dir(data_dir: str | os.PathLike, service_user: str) -> dict[str, str]:
    """Give the data directory to ``service_user``: public entries world-readable, the rest private.

    Returns each top-level entry with the mode it got (``public`` or ``private``). Anything
    the catalogue does not know (and is not in :data:`PUBLIC_EXTRAS`) is made private.
    """
    account = ensure_service_account(service_user)
    uid, gid = account.pw_uid, account.pw_gid
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    os.chown(data_dir, uid, gid)
    os.chmod(data_dir, 0o755)
    access = dataset_access()
    result = {}
    for child in sorted(data_dir.iterdir()):
        public = access.get(child.name) == "public" or child.name in PUBLIC_EXTRAS or child.name == "manifest.json"
        if child.is_dir() and not child.is_symlink():
            _set_tree(child, uid, gid, 0o755 if public else 0o700, 0o644 if public else 0o600)
        elif child.is_file():
            os.chown(child, uid, gid)
            os.chmod(child, 0o644 if public else 0o600)
        result[child.name] = "public" if public else "private"
    return result


def unreadable_by_others(path: str | os.PathLike) -> Path | None:
    """The first directory on the way to ``path`` (or ``path`` itself) other users cannot use."""
    path = Path(path).absolute()
    for parent in reversed(path.parents):
        if not os.stat(parent).st_mode & stat.S_IXOTH:
            return parent
    mode = os.stat(path).st_mode
    needed = stat.S_IXOTH if path.is_dir() else stat.S_IROTH
    return None if mode & needed else path


def _python_is_readable() -> bool:
    interpreter = Path(sys.executable).resolve()
    stdlib = Path(os.__file__).resolve().parent
    return all(unreadable_by_others(path) is None for path in (interpreter, stdlib, Path(sys.prefix)))


def server_python(cfg: dict) -> str:
    """The Python that lab servers, kernels and services run in server mode.

    ``server.python`` if set, else this one. Either must be readable by every account and be
    one whole environment: an overlay of another build's packages breaks compiled modules.
    """
    return cfg["server"]["python"] or sys.executable


def server_python_environment() -> dict:
    """What a process of :func:`server_python` needs to find this environment's kernelspecs
    (``occidata kernels install`` puts them under this ``sys.prefix``)."""
    return {"JUPYTER_PATH": str(Path(sys.prefix) / "share" / "jupyter")}


def ensure_server_python(cfg: dict) -> str:
    """Check that every account can run :func:`server_python`; the message says how to fix it."""
    python = server_python(cfg)
    if not cfg["server"]["python"] and not _python_is_readable():
        raise ConfigError(
            f"server mode: this Python ({sys.executable}, environment {sys.prefix}) is not readable by "
            "other accounts (a Python under root's home, such as pyenv, is closed to them); make the "
            "environment from a Python every account can run: `rm -rf .venv && make up PYTHON=/usr/bin/python3` "
            "(the Makefile's default when Debian's python3-venv is installed), or set server.python"
        )
    blocked = unreadable_by_others(Path(python).resolve())
    if blocked is not None:
        raise ConfigError(f"server mode: the Python {python} is not readable by other users ({blocked} is closed)")
    return python


def check_readable(repo_root: Path) -> None:
    """Researchers' servers import this repository and the environment's packages: both must be readable."""
    for what, path in (("the Python environment", Path(sys.prefix)), ("the repository", repo_root)):
        blocked = unreadable_by_others(path)
        if blocked is not None:
            raise ConfigError(
                f"server mode: {what} at {path} is not readable by other users ({blocked} is closed); "
                "install the platform where every user can read it (e.g. /opt/occidata, as The Littlest "
                "JupyterHub does), or open that directory with chmod o+rx"
            )


def _own(path: Path, uid: int, gid: int, mode: int) -> None:
    os.chown(path, uid, gid)
    os.chmod(path, mode)


def prepare_server(cfg: dict, repo_root: Path) -> None:
    """Make the accounts and set the owners and modes server mode relies on (needs root)."""
    if os.geteuid() != 0:
        raise ConfigError(
            "server mode must be started as root (it creates one system user per hub user); "
            "run `sudo make up`, or use mode: demo on a single machine"
        )
    server = cfg["server"]
    check_readable(repo_root)
    service = ensure_service_account(server["service_user"])
    state = StatePaths(Path(cfg["state_dir"])).prepare()
    os.chmod(state.root, 0o755)
    Path(server["home_dir"]).mkdir(parents=True, exist_ok=True)
    secure_data_dir(cfg["data_dir"], server["service_user"])
    ensure_server_python(cfg)

    # Audit log, its key state and the pseudonym key: the service account writes them; root (the
    # hub) too. The audit root key is root's alone: the service account crosses secrets/ (0710)
    # to its pseudonym key but cannot read the root key, so it cannot remake past records' MACs.
    from ..privacy.audit import prepare_audit_keys
    from ..privacy.audit_keys import key_state_path, root_key_path
    from ..privacy.pseudonyms import load_or_create_key

    _own(state.logs, 0, service.pw_gid, 0o750)
    audit_log = state.logs / "audit.jsonl"
    audit_log.touch(mode=0o600, exist_ok=True)
    _own(audit_log, service.pw_uid, service.pw_gid, 0o600)
    load_or_create_key(state.root)
    if prepare_audit_keys(audit_log, state.root, owner=(service.pw_uid, service.pw_gid)) == "missing":
        raise ConfigError(
            f"the audit log's key state {key_state_path(audit_log)} is missing while its root key exists: the log "
            "may have been cut. Run `occidata audit verify` as root; to start a new log, move the log, its "
            f".anchor and .keys and {root_key_path(state.root)} aside (keep them as evidence)")
    _own(key_state_path(audit_log).parent, service.pw_uid, service.pw_gid, 0o700)
    _own(key_state_path(audit_log), service.pw_uid, service.pw_gid, 0o600)
    _own(state.secrets, 0, service.pw_gid, 0o710)
    _own(state.secrets / "pseudonym.key", service.pw_uid, service.pw_gid, 0o600)
    _own(root_key_path(state.root), 0, 0, 0o600)

    # The hub's journal of lab servers: root writes it; the data service's account reads it, for the
    # stewards' view of use (hours per hub group). Made here so that it never exists 0600 root's.
    state.usage_log.touch(mode=0o640, exist_ok=True)
    _own(state.usage_log, 0, service.pw_gid, 0o640)

    # The data service's grants: only its account writes them (a hub admin or a lab cannot).
    from ..catalog.grants import grants_path

    grants = grants_path(state.root)
    grants.parent.mkdir(exist_ok=True)
    _set_tree(grants.parent, service.pw_uid, service.pw_gid, 0o700, 0o600)

    prepare_public_side(cfg, state, [service])


def prepare_public_side(cfg: dict, state: StatePaths, others: list = ()) -> None:
    """The accounts of the public side and what they own (server mode, and demo mode as root):

    - every service account (``server.public_user``, ``server.reports_user`` and ``others``) gets
      a private home under ``<state>/accounts/`` (Jupyter's runtime files, Numba's cache): the hub
      sets HOME from the account's entry when it starts a service as that account;
    - archives belong to the account that serves them, closed to every other (0700/0600), and
      what an older release left world-readable is closed too; the dashboards' scheduler state
      (``<state>/dashboards``) is the public account's;
    - the publication gate's runs are root's; each run's folder belongs to its throwaway account.
    """
    server = cfg["server"]
    public = ensure_service_account(server["public_user"])
    reports = ensure_service_account(server["reports_user"])
    homes = accounts_dir(cfg)
    homes.mkdir(parents=True, exist_ok=True)
    _own(homes, 0, 0, 0o755)
    for account in (*others, public, reports):
        give_home(account, homes / account.pw_name)
    public_root = public_dir(cfg)
    (public_root / "snapshots").mkdir(parents=True, exist_ok=True)
    _set_tree(public_root, public.pw_uid, public.pw_gid, 0o700, 0o600)
    scheduler = state.root / "dashboards"
    scheduler.mkdir(exist_ok=True)
    _set_tree(scheduler, public.pw_uid, public.pw_gid, 0o700, 0o600)
    archive = reports_archive(cfg)
    archive.mkdir(parents=True, exist_ok=True)
    _set_tree(archive, reports.pw_uid, reports.pw_gid, 0o700, 0o600)
    gate = state.root / "gate"
    (gate / "runs").mkdir(parents=True, exist_ok=True)
    _own(gate, 0, 0, 0o711)
    _own(gate / "runs", 0, 0, 0o700)


def prepare_demo_as_root(cfg: dict) -> None:
    """Demo mode started by root: labs run as unprivileged accounts (see
    :mod:`occidata.hub.lab_accounts`), and so do the dashboards and the report scheduler with
    their kernels (:func:`prepare_public_side`), so what is root's must be closed to them: the
    logs (hub log, audit log), pid files and secrets stay root's alone; non-public data files
    too (the data service, root's in demo mode, serves them); the state directory itself and the
    homes' folder are open for them to walk."""
    state = StatePaths(Path(cfg["state_dir"])).prepare()
    os.chmod(state.root, 0o755)
    for private in (state.logs, state.run, state.secrets):
        _own(private, 0, 0, 0o700)
    _own(state.homes, 0, 0, 0o755)
    secure_data_dir(cfg["data_dir"], "root")
    prepare_public_side(cfg, state)
    blocked = unreadable_by_others(state.homes)
    if blocked is not None:
        raise ConfigError(f"demo mode as root: the labs' homes under {state.homes} cannot be reached by their "
                          f"accounts ({blocked} is closed); set state_dir to a folder other accounts can walk "
                          "(the default for root is /opt/occidata/state)")
    ensure_server_python(cfg)


USERMOD_IN_USE = 8  # usermod's exit status when the account has running processes


def give_home(account, home: Path) -> None:
    """Make ``home`` the account's private home directory (0700) and its entry's home."""
    home.mkdir(parents=True, exist_ok=True)
    _own(home, account.pw_uid, account.pw_gid, 0o700)
    if account.pw_dir == str(home):
        return
    moved = subprocess.run(["usermod", "--home", str(home), account.pw_name], capture_output=True, text=True)
    if moved.returncode == USERMOD_IN_USE and Path(account.pw_dir).is_dir():
        # Another platform on this machine runs services as the same account: its home stays
        # the one it has (Jupyter's runtime files there have names of their own).
        print(f"occidata: {account.pw_name} runs another platform's services; its home stays {account.pw_dir}",
              file=sys.stderr)
        return
    if moved.returncode != 0:
        raise ConfigError(f"cannot make {home} the home of {account.pw_name}: usermod said {moved.stderr.strip()}")


def accounts_dir(cfg: dict) -> Path:
    """``<state>/accounts``: the homes of the service accounts in server mode."""
    return Path(cfg["state_dir"]) / "accounts"


def reports_archive(cfg: dict) -> Path:
    """The report archive (``reports.archive_dir``, default ``<state>/reports``)."""
    return Path(cfg["reports"]["archive_dir"] or Path(cfg["state_dir"]) / "reports")


def public_dir(cfg: dict) -> Path:
    """Where the public account keeps the dashboards' snapshots in server mode."""
    return Path(cfg["state_dir"]) / "public"
