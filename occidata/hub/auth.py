"""Authentication: NativeAuthenticator (signup + admin approval) or GenericOAuthenticator.

NativeAuthenticator 1.3.0 is the newest release; its login handler fails on JupyterHub 6
(``statsd`` was removed) and it approves accounts on a GET. ``OccidataNativeAuthenticator``
serves the fixed handlers of ``native_handlers`` instead; the rest is used as it is.
"""

from __future__ import annotations

from pathlib import Path

import bcrypt
from nativeauthenticator import NativeAuthenticator
from nativeauthenticator.orm import UserInfo
from traitlets import Unicode

from ..config import ConfigError
from ..atomic import write_atomic
from ..privacy.audit import record_event
from ..state import StatePaths, generate_password
from .lab_accounts import lab_home_root, labs_as_system_users
from .system_users import SystemUserError, create_on_login
from . import account_requests
from .native_handlers import REPLACEMENTS


class OccidataNativeAuthenticator(NativeAuthenticator):
    """NativeAuthenticator with the JupyterHub 6 login fix, audited failures and a generated first admin.

    At start, if the configured admin has no account yet, one is created and approved
    with a random password written (0600) to ``initial_admin_password_file``; ``occidata up``
    prints it once and removes the file.
    """

    initial_admin_password_file = Unicode(
        "", config=True, help="Where the first admin's generated password is written."
    )
    audit_log = Unicode(
        "", config=True, help="The audit log where the login page records failed logins and lockouts (empty: none)."
    )
    account_requests_file = Unicode(
        "", config=True,
        help="Where each signup's affiliation, time and approver are kept (occidata.hub.account_requests).",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ensure_admin_account()

    def get_handlers(self, app):
        return [
            (route, REPLACEMENTS.get(handler, handler))
            for route, handler in super().get_handlers(app)
        ]

    def delete_user(self, user):
        if self.account_requests_file:
            account_requests.forget(self.account_requests_file, user.name)
        return super().delete_user(user)

    def ensure_admin_account(self) -> None:
        for name in sorted(self.admin_users):
            if self.get_user(name) is not None:
                continue
            password = generate_password()
            hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt())
            self.db.add(UserInfo(username=name, password=hashed, is_authorized=True))
            self.db.commit()
            if self.initial_admin_password_file:
                path = Path(self.initial_admin_password_file)
                write_atomic(path, f"{name}\n{password}\n", mode=0o600)
                self.log.warning("First admin %r created; its password is in %s", name, path)
            else:
                self.log.warning("First admin %r created with password: %s", name, password)


def login_hook(cfg: dict):
    """Authenticator.post_auth_hook: audit each login; make the lab's system account where labs
    run as one (see :mod:`occidata.hub.lab_accounts`).

    The audit record names the user by pseudonym only. A failure to create the account
    refuses the login with the reason in the hub log, rather than letting a person in whose
    server cannot start.
    """
    audit_log = StatePaths(Path(cfg["state_dir"])).logs / "audit.jsonl"
    make_account = None
    if labs_as_system_users(cfg):
        make_account = create_on_login(cfg["server"]["user_prefix"], lab_home_root(cfg))

    def post_auth(authenticator, handler, authentication):
        if not authentication:
            return authentication
        name = authentication["name"]
        if make_account is not None:
            try:
                make_account(name)
            except SystemUserError as error:
                authenticator.log.error("Login of %s refused: %s", name, error)
                return None
        record_event(audit_log, "login", who=name, how=type(authenticator).__name__)
        return authentication

    return post_auth


def admins_land_on_home(handler) -> str:
    """JupyterHub.default_url: an admin who logs in (or opens the site's root) lands on the hub's
    home, with the administration at hand, rather than in a lab being started for them; anyone
    else gets JupyterHub's default (''): their own server, started if need be."""
    user = handler.current_user
    if user is not None and user.admin:
        return handler.hub.base_url + "home"
    return ""


def update_auth(c, cfg: dict) -> None:
    """Choose and configure the authenticator from ``cfg['auth']``."""
    auth = cfg["auth"]
    c.Authenticator.admin_users = {auth["admin"]}
    c.JupyterHub.default_url = admins_land_on_home
    c.Authenticator.post_auth_hook = login_hook(cfg)
    if auth["type"] == "native":
        _update_native(c, cfg)
    else:
        _update_generic_oauth(c, auth["oauth"])


def _update_native(c, cfg: dict) -> None:
    auth = cfg["auth"]
    c.JupyterHub.authenticator_class = OccidataNativeAuthenticator
    # NativeAuthenticator itself refuses accounts an admin has not approved.
    c.Authenticator.allow_all = True
    c.NativeAuthenticator.open_signup = auth["open_signup"]
    c.NativeAuthenticator.minimum_password_length = auth["minimum_password_length"]
    c.NativeAuthenticator.check_common_password = True
    # An admin decides from who asks: the signup form asks for an e-mail (and an affiliation,
    # kept by occidata.hub.account_requests).
    c.NativeAuthenticator.ask_email_on_signup = True
    c.NativeAuthenticator.allowed_failed_logins = auth["allowed_failed_logins"]
    c.NativeAuthenticator.seconds_before_next_try = auth["seconds_before_next_try"]
    state = StatePaths(Path(cfg["state_dir"]))
    c.OccidataNativeAuthenticator.initial_admin_password_file = str(state.initial_admin_password)
    c.OccidataNativeAuthenticator.audit_log = str(state.logs / "audit.jsonl")
    c.OccidataNativeAuthenticator.account_requests_file = str(state.account_requests)


_REQUIRED_OAUTH = ("client_id", "client_secret", "authorize_url", "token_url", "userdata_url", "callback_url")


def _update_generic_oauth(c, oauth: dict) -> None:
    missing = [key for key in _REQUIRED_OAUTH if not oauth.get(key)]
    if missing:
        raise ConfigError(
            "auth.type is 'generic-oauth' but these keys are not set: "
            + ", ".join(f"auth.oauth.{key}" for key in missing)
            + " (take them from your identity provider's OpenID Connect client)"
        )
    c.JupyterHub.authenticator_class = "generic-oauth"
    g = c.GenericOAuthenticator
    g.client_id = oauth["client_id"]
    g.client_secret = oauth["client_secret"]
    g.authorize_url = oauth["authorize_url"]
    g.token_url = oauth["token_url"]
    g.userdata_url = oauth["userdata_url"]
    g.oauth_callback_url = oauth["callback_url"]
    g.login_service = oauth["login_service"]
    g.username_claim = oauth["username_claim"]
    g.scope = list(oauth["scope"])
    if oauth["allowed_groups"] or oauth["admin_groups"]:
        g.manage_groups = True
        g.auth_state_groups_key = f"oauth_user.{oauth['groups_claim']}"
        g.allowed_groups = set(oauth["allowed_groups"])
        g.admin_groups = set(oauth["admin_groups"])
    else:
        # Without a group rule, anyone the identity provider knows may log in:
        # the trust's IdP is the gate, hub groups then grant data access levels.
        g.allow_all = True
