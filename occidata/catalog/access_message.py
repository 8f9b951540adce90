"""The refusal a researcher reads when an entry needs a level they do not hold, in French.

One text for every door: ``occidata.catalog.load`` read directly, the data service's 403 (and so
``catalog.load`` and plain Intake inside a lab, which pass its message on), and the ``occidata``
command. It says which entry, which level it needs and what that level opens (asked of
:mod:`occidata.levels`), who grants it (the platform's data stewards, and the contact address if
one is configured) and where the entry's catalogue page is. One line, no traceback needed.
"""

from __future__ import annotations

import os
from typing import Mapping, Sequence

from ..addresses import access_request_page, catalogue_page, public_url
from ..levels import describe_level, required_level, steward_names

# Why the entry is refused.
MISSING = "missing"  # the caller does not hold the level
NOT_GRANTED = "not_granted"  # hub group membership the data trust did not grant
DEMO = "demo"  # restricted entries are never served in demo mode
ENDED = "ended"  # the caller's right reached the end date of its request
REASONS = (MISSING, NOT_GRANTED, DEMO, ENDED)


def refusal_message(name: str, level: str, *, stewards: Sequence[str], contact: str | None, page: str,
                    reason: str = MISSING, request_page: str | None = None) -> str:
    """The French refusal of entry ``name``, which needs ``level``, on one line.

    ``stewards`` grant the level (at least one name), ``contact`` is the address to write to (or
    None), ``page`` the entry's catalogue page, ``request_page`` where to ask for the level (or
    None); ``reason`` is one of :data:`REASONS`.
    """
    if reason not in REASONS:
        raise ValueError(f"reason must be one of {', '.join(REASONS)}, not {reason!r}")
    if not stewards:
        raise ValueError("at least one steward must be named (auth.admin always is)")
    wanted = f"le niveau d'accès « {level} » ({describe_level(level)})"
    if reason == DEMO:
        return (f"Accès refusé à « {name} » : cette entrée demande {wanted}, et une plateforme en mode démo ne "
                "sert aucune donnée restreinte, à personne. Elle se lit sur une plateforme en mode serveur, "
                f"une fois le niveau accordé. Fiche de l'entrée : {page}")
    if reason == ENDED:
        why = f"votre accès à {wanted} a pris fin à la date de fin de votre demande."
    elif reason == NOT_GRANTED:
        why = (f"vous êtes membre du groupe du hub « {level} », mais cette appartenance n'a pas été accordée par "
               f"la fiducie de données : elle ne donne pas {wanted}.")
    else:
        why = f"cette entrée demande {wanted}, que vous n'avez pas."
    if request_page:
        ask = (f"Demandez-le ici, avec la finalité, le projet et une date de fin : {request_page} — "
               + ("les intendants des données de la plateforme (" if len(stewards) > 1
                  else "l'intendant des données de la plateforme (") + ", ".join(stewards) + (") y répondent" if len(stewards) > 1 else ") y répond"))
    else:
        ask = ("Demandez-le aux intendants des données de la plateforme : " if len(stewards) > 1
               else "Demandez-le à l'intendant des données de la plateforme : ") + ", ".join(stewards)
    ask += f" (adresse : {contact})." if contact else "."
    return f"Accès refusé à « {name} » : {why} {ask} Fiche de l'entrée : {page}"


def access_refusal(name: str, access: str, cfg: dict, reason: str = MISSING,
                   environ: Mapping[str, str] | None = None) -> str:
    """:func:`refusal_message` for entry ``name`` (catalogue ``access``) with this platform's stewards,
    contact and public address (``$OCCIDATA_PUBLIC_URL`` inside a lab or the data service)."""
    environ = os.environ if environ is None else environ
    base = public_url(cfg, environ)
    # Requests are taken by the data service, which only a server-mode platform serves levels from.
    ask_at = access_request_page(name, base) if reason != DEMO and cfg["data_service"]["enabled"] else None
    return refusal_message(name, required_level(name, access), stewards=steward_names(cfg),
                           contact=cfg["data_service"]["contact"], page=catalogue_page(name, base),
                           reason=reason, request_page=ask_at)
