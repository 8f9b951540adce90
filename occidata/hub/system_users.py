"""Server mode: one system user per hub user, created on first login, as The Littlest JupyterHub does.

Hub user ``marie`` runs her lab as system user ``jupyter-marie`` (prefix ``server.user_prefix``):
a prefix keeps hub names from ever meaning an existing account (``root``, ``occidata-data``).
Service accounts (``server.service_user``, ``server.public_user``) are system accounts with no
home and no login shell.
"""

from __future__ import annotations

import os
import pwd
import re
import subprocess
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner, set_user_setuid
from traitlets import Unicode

# useradd's own rule (Debian's NAME_REGEX), limited to 32 characters.
SYSTEM_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


class SystemUserError(RuntimeError):
    """A system account that cannot be made; the message says which and why."""


def system_username(hub_name: str, prefix: str) -> str:
    """The system account of hub user ``hub_name``; refuses names useradd would refuse."""
    name = f"{prefix}{hub_name}"
    if not SYSTEM_NAME.match(name):
        raise SystemUserError(
            f"hub user {hub_name!r} cannot have a system account: {name!r} must be lowercase letters, "
            "digits, '-' or '_', at most 32 characters (rename the hub user)"
        )
    return name


def user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def _useradd(arguments: list[str], name: str) -> None:
    result = subprocess.run(["useradd", *arguments, name], capture_output=True, text=True)
    # Two logins at once may race: the loser finds the account made by the winner.
    if result.returncode != 0 and not user_exists(name):
        raise SystemUserError(f"useradd {name} failed ({result.returncode}): {result.stderr.strip()}")


def login_uid_min(login_defs: str | os.PathLike = "/etc/login.defs") -> int:
    """``UID_MIN`` of login.defs (1000 when unset): accounts below it are system accounts."""
    try:
        for line in Path(login_defs).read_text().splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == "UID_MIN" and parts[1].isdigit():
                return int(parts[1])
    except OSError:
        pass
    return 1000


def check_platform_account(name: str, home_root: str | os.PathLike) -> None:
    """Refuse an existing account ``name`` that the platform did not make: a system account
    (uid under UID_MIN: root, daemons, the platform's own services) or a login account whose home
    is not ``<home_root>/<name>``. A researcher's lab must never run as such an account."""
    account = pwd.getpwnam(name)
    home = Path(home_root) / name
    if account.pw_uid < login_uid_min() or Path(account.pw_dir) != home:
        raise SystemUserError(
            f"the system account {name!r} already exists and was not made by the platform "
            f"(uid {account.pw_uid}, home {account.pw_dir}; the platform's have a uid from {login_uid_min()} "
            f"and the home {home}): no lab may run as it; rename the hub user or change server.user_prefix"
        )


def ensure_system_user(name: str, home_root: str | os.PathLike) -> Path:
    """Create the login account ``name`` with a private home under ``home_root``, once; an
    existing account of that name is used only if the platform made it (:func:`check_platform_account`)."""
    home = Path(home_root) / name
    if not user_exists(name):
        Path(home_root).mkdir(parents=True, exist_ok=True)
        _useradd(["--create-home", "--home-dir", str(home), "--shell", "/bin/bash", "--user-group"], name)
    check_platform_account(name, home_root)
    home = Path(pwd.getpwnam(name).pw_dir)
    if home.is_dir():
        os.chmod(home, 0o700)  # other researchers must not read each other's work
    return home


def ensure_service_account(name: str) -> pwd.struct_passwd:
    """Create the system account ``name`` (no home, no login shell), once."""
    if not user_exists(name):
        _useradd(["--system", "--no-create-home", "--home-dir", "/nonexistent",
                  "--shell", "/usr/sbin/nologin", "--user-group"], name)
    return pwd.getpwnam(name)


def remove_system_user(name: str) -> None:
    """Delete account ``name`` and its home (tests and `occidata` clean-ups)."""
    if user_exists(name):
        subprocess.run(["userdel", "--remove", name], capture_output=True, text=True)


class SystemUserSpawner(LocalProcessSpawner):
    """LocalProcessSpawner that runs hub user ``<name>`` as system user ``<prefix><name>``.

    The account is made at first login (see :func:`create_on_login`); a server started for a
    user made before server mode was switched on gets it here.
    """

    user_prefix = Unicode("jupyter-", config=True, help="Prefix of the system user of each hub user.")
    home_root = Unicode("/home", config=True, help="Where the system users' homes are created.")

    @property
    def system_user(self) -> str:
        return system_username(self.user.name, self.user_prefix)

    def make_preexec_fn(self, name):
        return set_user_setuid(self.system_user)

    def user_env(self, env):
        account = pwd.getpwnam(self.system_user)
        env["USER"] = account.pw_name
        env["HOME"] = account.pw_dir
        env["SHELL"] = account.pw_shell
        return env

    async def start(self):
        ensure_system_user(self.system_user, self.home_root)
        return await super().start()


def create_on_login(user_prefix: str, home_root: str):
    """An Authenticator.post_auth_hook part: make the system user at first login."""

    def create(hub_name: str) -> None:
        name = system_username(hub_name, user_prefix)
        try:
            ensure_system_user(name, home_root)
        except SystemUserError as error:
            raise SystemUserError(f"hub user {hub_name!r} would run as {name!r}: {error}") from None

    return create
