"""NativeAuthenticator's pages, fixed for JupyterHub 6, safer and in French.

- ``CompatLoginHandler``: the 1.3.0 login handler times logins with ``self.statsd``, which
  JupyterHub 5 removed, so every login fails; a no-op ``statsd`` is the whole fix.
- ``ApprovalHandler`` and ``DiscardHandler``: 1.3.0 approves and deletes accounts on a GET,
  so any page could make a logged-in admin's browser approve an account (CSRF). Here they
  answer POST only, which JupyterHub checks for its ``_xsrf`` token.
- Login and signup messages are translated for the French-first pages.
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


class FrenchSignUpHandler(native.SignUpHandler):
    """The signup handler with its result messages in French."""

    def get_result_message(self, user, assume_user_is_human, username_already_taken, confirmation_matches, user_is_admin):
        alert, message = super().get_result_message(
            user, assume_user_is_human, username_already_taken, confirmation_matches, user_is_admin
        )
        if not assume_user_is_human:
            message = "La vérification anti-robot a échoué. Réessayez."
        elif username_already_taken:
            message = "Cet identifiant est déjà utilisé. Choisissez-en un autre."
        elif not confirmation_matches:
            message = "Les deux mots de passe ne correspondent pas. Réessayez."
        elif not user:
            message = (
                "Le compte n'a pas pu être créé : l'identifiant ne doit contenir ni espace, ni virgule, "
                "ni barre oblique, et le mot de passe doit compter au moins "
                f"{self.authenticator.minimum_password_length} caractères et ne pas être trop courant."
            )
        elif alert == "alert-success":
            message = "Votre compte est créé : vous pouvez maintenant vous connecter."
        elif user.login_email_sent:
            message = "Demande enregistrée : consultez vos courriels pour valider votre accès."
        else:
            message = "Demande transmise : un administrateur doit valider votre compte avant votre première connexion."
        return alert, message


class ApprovalHandler(native.LocalBase):
    """POST /hub/authorize/<name>: approve, or withdraw approval of, an account."""

    async def get(self, slug):
        raise web.HTTPError(405, "Approving an account needs the form's POST (with its _xsrf token).")

    @native.admin_users_scope
    async def post(self, slug):
        if UserInfo.find(self.db, slug) is None:
            raise web.HTTPError(404, f"No account named {slug!r} asked to sign up.")
        UserInfo.change_authorization(self.db, slug)
        self.redirect(self.hub.base_url + "authorize#" + slug)


class DiscardHandler(native.DiscardHandler):
    """POST /hub/discard/<name>: delete an account request that was never approved."""

    async def get(self, user_name):
        raise web.HTTPError(405, "Discarding an account needs the form's POST (with its _xsrf token).")

    post = native.DiscardHandler.get


REPLACEMENTS = {
    native.LoginHandler: CompatLoginHandler,
    native.SignUpHandler: FrenchSignUpHandler,
    native.ToggleAuthorizationHandler: ApprovalHandler,
    native.DiscardHandler: DiscardHandler,
}
