"""The signup form: who asks (name, e-mail, affiliation), the password rule said before it is
enforced, and a refused form given back as typed with the reason, in French.

NativeAuthenticator 1.3.0's handler checks the form in ``create_user`` and answers one vague
English message for a bad name, a short or common password or a malformed e-mail, and gives back
an empty form. Here each rule is checked first and named (:func:`form_problem`); the account is
then created by NativeAuthenticator itself, and the affiliation and time of the request recorded in
:mod:`occidata.hub.account_requests`. (NativeAuthenticator's reCAPTCHA, which calls Google, is not
offered: the platform never configures it.)
"""

from __future__ import annotations

import re

from nativeauthenticator import handlers as native
from tornado import web

from . import account_requests

# NativeAuthenticator's own rule for an e-mail (UserInfo.validate_email), to refuse it by name.
_EMAIL = re.compile(r"^[A-Za-z0-9\.\+_-]+@[A-Za-z0-9\._-]+\.[a-zA-Z]*$")
AFFILIATION_MAX = 200


def password_rule(authenticator) -> str:
    """The password rule as the signup and change-password forms say it, before anyone is refused."""
    rule = f"au moins {authenticator.minimum_password_length} caractères"
    if authenticator.check_common_password:
        rule += ", et pas un mot de passe courant (les listes de mots de passe divulgués sont refusées)"
    return rule


def password_problem(authenticator, password: str) -> str | None:
    """Why ``password`` is refused, in French, or None."""
    minimum = authenticator.minimum_password_length
    if len(password) < minimum:
        return (f"Mot de passe trop court : il faut au moins {minimum} caractères "
                f"(vous en avez saisi {len(password)}).")
    if authenticator.check_common_password and authenticator.is_password_common(password):
        return "Ce mot de passe fait partie des mots de passe les plus courants : choisissez-en un autre."
    return None


def form_problem(authenticator, typed: dict, password: str, confirmation: str) -> str | None:
    """The first reason, in French, why the signup form ``typed`` (username, email, affiliation)
    with this password is refused; None when NativeAuthenticator may create the account."""
    username = typed["username"]
    if not username:
        return "Choisissez un identifiant."
    name = authenticator.normalize_username(username)
    if not authenticator.validate_username(name):
        return (f"L'identifiant « {username} » n'est pas accepté : il ne doit contenir ni espace, "
                "ni virgule, ni barre oblique.")
    if authenticator.user_exists(name):
        return f"L'identifiant « {username} » est déjà utilisé. Choisissez-en un autre."
    if authenticator.ask_email_on_signup:
        if not typed["email"]:
            return "Indiquez votre courriel : l'administrateur s'en sert pour vous joindre."
        if not _EMAIL.match(typed["email"]):
            return f"Le courriel « {typed['email']} » n'est pas une adresse valide (exemple : prenom.nom@univ-tlse3.fr)."
    if not typed["affiliation"]:
        return ("Indiquez votre établissement ou laboratoire : l'administrateur en a besoin pour valider "
                "votre demande.")
    if len(typed["affiliation"]) > AFFILIATION_MAX:
        return f"L'établissement ou laboratoire tient en {AFFILIATION_MAX} caractères au plus."
    problem = password_problem(authenticator, password)
    if problem:
        return problem
    if password != confirmation:
        return "Les deux mots de passe ne correspondent pas. Réessayez."
    return None


class FrenchSignUpHandler(native.SignUpHandler):
    """GET and POST /hub/signup: the French form with e-mail, affiliation and the password rule;
    a refused form comes back as typed (never the password), with its reason."""

    async def _render(self, typed: dict, alert: str = "", message: str = "", user=None) -> None:
        html = await self.render_template(
            "signup.html",
            ask_email=self.authenticator.ask_email_on_signup,
            two_factor_auth=self.authenticator.allow_2fa,
            two_factor_auth_user=user.has_2fa if user else False,
            two_factor_auth_value=user.otp_secret if user else "",
            tos=self.authenticator.tos,
            password_rule=password_rule(self.authenticator),
            typed=typed,
            alert=alert,
            result_message=message,
        )
        self.finish(html)

    async def get(self):
        if not self.authenticator.enable_signup:
            raise web.HTTPError(404)
        await self._render({})

    async def post(self):
        if not self.authenticator.enable_signup:
            raise web.HTTPError(404)
        typed = {
            "username": self.get_body_argument("username", "", strip=True),
            "email": self.get_body_argument("email", "", strip=True),
            "affiliation": " ".join(self.get_body_argument("affiliation", "", strip=True).split()),
        }
        password = self.get_body_argument("signup_password", "", strip=False)
        confirmation = self.get_body_argument("signup_password_confirmation", "", strip=False)
        problem = form_problem(self.authenticator, typed, password, confirmation)
        if problem:
            await self._render(typed, "alert-danger", problem)
            return
        user = self.authenticator.create_user(
            typed["username"], password, email=typed["email"] or None,
            has_2fa=bool(self.get_body_argument("2fa", "", strip=False)),
        )
        if user is None:  # a rule of NativeAuthenticator's that form_problem does not know
            await self._render(typed, "alert-danger", "Le compte n'a pas pu être créé ; vérifiez chaque champ.")
            return
        path = getattr(self.authenticator, "account_requests_file", "")
        if path:
            account_requests.record_request(path, user.username, typed["affiliation"])
        alert, message = self.get_result_message(
            user, True, False, True, user.username in self.authenticator.admin_users)
        await self._render({}, alert, message, user)

    def get_result_message(self, user, assume_user_is_human, username_already_taken, confirmation_matches,
                           user_is_admin):
        alert, message = super().get_result_message(
            user, assume_user_is_human, username_already_taken, confirmation_matches, user_is_admin
        )
        if alert == "alert-success":
            message = "Votre compte est créé : vous pouvez maintenant vous connecter."
        elif user is not None and user.login_email_sent:
            message = "Demande enregistrée : consultez vos courriels pour valider votre accès."
        elif user is not None:
            message = "Demande transmise : un administrateur doit valider votre compte avant votre première connexion."
        return alert, message
