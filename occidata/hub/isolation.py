"""Server mode's file layout: who may read what on disk, set before the hub starts.

- The data directory belongs to the service account (``server.service_user``, which runs the
  data service). Public datasets are world-readable; partner and restricted datasets are
  readable by that account only (directories 0700, files 0600), so a researcher's kernel,
  running as their own system user, gets a PermissionError reading them and must go through
  the data service, which checks hub groups and audits.
- The audit log and the pseudonymisation key belong to the service account, mode 0600; the
  secrets directory lets that account through (0710, its group) to its key and nothing else.
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
import sysconfig
from pathlib import Path

from ..atomic import write_atomic
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

    ``server.python`` if set; else this Python when every user can read it; else
    ``<state>/python``, a virtual environment of ``server.base_python`` (made by
    :func:`ensure_server_python`) that imports this environment's packages: a Python built
    under root's home (pyenv) cannot be read by the researchers' accounts.
    """
    if cfg["server"]["python"]:
        return cfg["server"]["python"]
    if _python_is_readable():
        return sys.executable
    return str(Path(cfg["state_dir"]) / "python" / "bin" / "python")


def server_python_environment() -> dict:
    """What a process of :func:`server_python` needs to find this environment's kernelspecs
    (``occidata kernels install`` puts them under this ``sys.prefix``)."""
    return {"JUPYTER_PATH": str(Path(sys.prefix) / "share" / "jupyter")}


def ensure_server_python(cfg: dict) -> str:
    """Make the Python of :func:`server_python` if it is ours to make; check others can run it."""
    python = server_python(cfg)
    env_dir = Path(cfg["state_dir"]) / "python"
    if python == str(env_dir / "bin" / "python"):
        base = cfg["server"]["base_python"]
        version = subprocess.run([base, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                 capture_output=True, text=True) if Path(base).exists() else None
        ours = "%d.%d" % sys.version_info[:2]
        if version is None or version.returncode != 0 or version.stdout.strip() != ours:
            raise ConfigError(
                f"server mode: this Python ({sys.executable}) is not readable by other users and "
                f"server.base_python ({base}) is not a Python {ours}; set server.python to a Python {ours} "
                "with the platform installed that every user can read, or install python3 (Debian) "
                "and make the environment with it"
            )
        if not (env_dir / "bin" / "python").exists():
            subprocess.run([base, "-m", "venv", "--without-pip", str(env_dir)], check=True)
        site_packages = Path(sysconfig.get_paths()["purelib"])
        target = env_dir / "lib" / f"python{ours}" / "site-packages" / "occidata-platform.pth"
        write_atomic(target, f"import site; site.addsitedir({str(site_packages)!r})\n", mode=0o644)
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
    public = ensure_service_account(server["public_user"])
    state = StatePaths(Path(cfg["state_dir"])).prepare()
    os.chmod(state.root, 0o755)
    Path(server["home_dir"]).mkdir(parents=True, exist_ok=True)
    secure_data_dir(cfg["data_dir"], server["service_user"])
    ensure_server_python(cfg)

    # Audit log and pseudonym key: the service account writes them; root (the hub) too.
    _own(state.logs, 0, service.pw_gid, 0o750)
    audit_log = state.logs / "audit.jsonl"
    audit_log.touch(mode=0o600, exist_ok=True)
    _own(audit_log, service.pw_uid, service.pw_gid, 0o600)
    from ..privacy.pseudonyms import load_or_create_key

    load_or_create_key(state.root)
    _own(state.secrets, 0, service.pw_gid, 0o710)
    _own(state.secrets / "pseudonym.key", service.pw_uid, service.pw_gid, 0o600)

    # The public account's own corner: a home for Jupyter's runtime files, and its snapshots.
    public_root = public_dir(cfg)
    for directory in (public_root, public_root / "home", public_root / "snapshots"):
        directory.mkdir(parents=True, exist_ok=True)
        _own(directory, public.pw_uid, public.pw_gid, 0o755)
    os.chmod(public_root / "home", 0o700)


def public_dir(cfg: dict) -> Path:
    """Where the public account keeps its home and the dashboards' snapshots in server mode."""
    return Path(cfg["state_dir"]) / "public"
