"""NativeAuthenticator's pages, fixed for JupyterHub 6, safer and in French.

- ``CompatLoginHandler``: the 1.3.0 login handler times logins with ``self.statsd``, which
  JupyterHub 5 removed, so every login fails; a no-op ``statsd`` is the whole fix.
- ``ApprovalHandler`` and ``DiscardHandler``: 1.3.0 approves and deletes accounts on a GET,
  so any page could make a logged-in admin's browser approve an account (CSRF). Here they
  answer POST only, which JupyterHub checks for its ``_xsrf`` token.
- Login, signup (:mod:`occidata.hub.signup`) and change-password messages are in French.
- ``AuthorizationAreaHandler`` shows who asked (e-mail, affiliation), when, and who approved;
  ``ApprovalHandler`` records the approver (:mod:`occidata.hub.account_requests`) and refuses
  an admin's withdrawal of their own approval, which would lock them out.
- Every failed login is audited (``login_failed``, the name typed, pseudonymised), and so is the
  failure that makes NativeAuthenticator lock the account (``login_locked``; ``auth.allowed_failed_logins``
  failures in a row lock it for ``auth.seconds_before_next_try``). A locked account's attempts stay
  ``login_failed`` with ``reason: locked``; NativeAuthenticator counts failures of existing accounts
  only, so an unknown name is recorded but never locked.
"""

from __future__ import annotations

from nativeauthenticator import handlers as native
from nativeauthenticator.orm import UserInfo
from tornado import web

from ..privacy.audit import record_event
from . import account_requests
from .signup import FrenchSignUpHandler, password_rule


class _NoStats:
    """Stands in for the statsd client JupyterHub no longer has."""

    def timer(self, *args, **kwargs):
        return self

    def start(self):
        return self

    def stop(self, *args, **kwargs):
        return None

    def incr(self, *args, **kwargs):
        return None


def translate_login_error(error: str | None, username: str | None) -> str | None:
    if error == "Invalid username or password.":
        return "Identifiant ou mot de passe incorrect."
    if error and error.endswith("has not been authorized by an administrator yet."):
        return f"Le compte {username} n'a pas encore été validé par un administrateur."
    return error


def is_locked(authenticator, name: str) -> bool:
    """Whether NativeAuthenticator refuses ``name`` for now after too many failed logins."""
    return bool(authenticator.allowed_failed_logins) and authenticator.is_blocked(name)


def record_login_failure(authenticator, name: str, locked_before: bool) -> None:
    """Audit a failed login of ``name`` (as typed, normalised; pseudonymised in the log) and, when
    this failure made NativeAuthenticator lock the account, the lockout."""
    log_path = getattr(authenticator, "audit_log", "")
    if not log_path:
        return
    how = type(authenticator).__name__
    try:
        record_event(log_path, "login_failed", who=name, how=how, reason="locked" if locked_before else "refused")
        if not locked_before and is_locked(authenticator, name):
            record_event(log_path, "login_locked", who=name, how=how,
                         attempts=authenticator.allowed_failed_logins,
                         seconds=authenticator.seconds_before_next_try)
    except Exception:  # noqa: BLE001 - the login failed anyway; say loudly that it went unrecorded
        authenticator.log.exception("could not record the failed login of %r in the audit log", name)


class CompatLoginHandler(native.LoginHandler):
    """NativeAuthenticator's login handler, runnable on JupyterHub >= 5, with French errors;
    failed logins and lockouts are audited."""

    statsd = _NoStats()

    async def login_user(self, data=None):
        typed = (data or {}).get("username")
        name = self.authenticator.normalize_username(typed) if isinstance(typed, str) else None
        locked_before = name is not None and is_locked(self.authenticator, name)
        user = await super().login_user(data)
        if user is None and name is not None:
            record_login_failure(self.authenticator, name, locked_before)
        return user

    def _render(self, login_error=None, username=None):
        return super()._render(login_error=translate_login_error(login_error, username), username=username)


def _requests_file(handler) -> str:
    return getattr(handler.authenticator, "account_requests_file", "")


class AuthorizationAreaHandler(native.AuthorizationAreaHandler):
    """GET /hub/authorize: every account with who asked, from where and when, and who approved it."""

    @native.admin_users_scope
    async def get(self):
        path = _requests_file(self)
        records = account_requests.load(path) if path else {}
        accounts = sorted(self.db.query(UserInfo).all(),
                          key=lambda a: (a.is_authorized, records.get(a.username, {}).get("requested_at", ""), a.username))
        html = await self.render_template(
            "authorization-area.html",
            ask_email=self.authenticator.ask_email_on_signup,
            users=accounts,
            requests=records,
            me=self.current_user.name,
        )
        self.finish(html)


class ApprovalHandler(native.LocalBase):
    """POST /hub/authorize/<name>: approve, or withdraw approval of, an account (never one's own)."""

    async def get(self, slug):
        raise web.HTTPError(405, "Approving an account needs the form's POST (with its _xsrf token).")

    @native.admin_users_scope
    async def post(self, slug):
        account = UserInfo.find(self.db, slug)
        if account is None:
            raise web.HTTPError(404, f"Aucune demande de compte au nom de « {slug} ».")
        me = self.current_user.name
        if account.is_authorized and account.username == me:
            # An admin who withdrew their own approval could no longer log in, nor undo it.
            raise web.HTTPError(403, "Vous ne pouvez pas retirer votre propre validation : "
                                     "un autre administrateur peut le faire si nécessaire.")
        account = UserInfo.change_authorization(self.db, slug)
        path = _requests_file(self)
        if path:
            account_requests.record_decision(path, account.username, account.is_authorized, by=me)
        self.redirect(self.hub.base_url + "authorize#" + slug)


class DiscardHandler(native.DiscardHandler):
    """POST /hub/discard/<name>: delete an account request that was never approved."""

    async def get(self, user_name):
        raise web.HTTPError(405, "Discarding an account needs the form's POST (with its _xsrf token).")

    # NativeAuthenticator's GET, as a POST; it deletes through the authenticator's delete_user,
    # which forgets the request's record too.
    post = native.DiscardHandler.get


# NativeAuthenticator's change-password messages, in French.
_PASSWORD_MESSAGES = {
    "Your current password was incorrect. Please try again.": "Le mot de passe actuel est incorrect. Réessayez.",
    "Your new password didn't match the confirmation. Please try again.":
        "Le nouveau mot de passe et sa confirmation ne correspondent pas. Réessayez.",
    "Your password has been changed successfully!": "Le mot de passe a été changé.",
    "The new password didn't match the confirmation. Please try again.":
        "Le nouveau mot de passe et sa confirmation ne correspondent pas. Réessayez.",
}


class _FrenchPasswordPages:
    """Renders NativeAuthenticator's change-password pages with French results and the password rule."""

    def render_template(self, name, sync=False, **ns):
        message = ns.get("result_message")
        if message:
            if message in _PASSWORD_MESSAGES:
                ns["result_message"] = _PASSWORD_MESSAGES[message]
            elif message.startswith("Something went wrong"):
                ns["result_message"] = ("Le mot de passe n'a pas été changé : il faut "
                                        + password_rule(self.authenticator) + ".")
            elif message.startswith("The password for ") and "has been changed successfully" in message:
                ns["result_message"] = f"Le mot de passe de {ns.get('user_name', '')} a été changé."
        ns["password_rule"] = password_rule(self.authenticator)
        return super().render_template(name, sync=sync, **ns)


class ChangePasswordHandler(_FrenchPasswordPages, native.ChangePasswordHandler):
    """GET and POST /hub/change-password, with French results."""


class ChangePasswordAdminHandler(_FrenchPasswordPages, native.ChangePasswordAdminHandler):
    """GET and POST /hub/change-password/<name> (admins), with French results."""


REPLACEMENTS = {
    native.LoginHandler: CompatLoginHandler,
    native.SignUpHandler: FrenchSignUpHandler,
    native.AuthorizationAreaHandler: AuthorizationAreaHandler,
    native.ToggleAuthorizationHandler: ApprovalHandler,
    native.DiscardHandler: DiscardHandler,
    native.ChangePasswordHandler: ChangePasswordHandler,
    native.ChangePasswordAdminHandler: ChangePasswordAdminHandler,
}
