"""Access levels: what they are, which hub group stands for each, and who may grant them.

This is where a level is *decided*; :mod:`occidata.catalog.service` (the data service) is where
it is *enforced*. Every other module (the hub's groups and roles, the catalogue, the spawner,
the reports and the publication gate) asks this module instead of spelling group names itself.

- Every catalogue entry carries ``access: public | partner | restricted`` (:data:`LEVELS`).
- ``public`` needs nothing; ``partner`` is the hub group ``partner``; a restricted entry is
  the hub group ``restricted:<dataset>``, one group per dataset (:func:`required_level`).
- A right is a hub group membership *and* a grant recorded by the data service in its own
  grants file (:mod:`occidata.catalog.grants`): a membership added through any other door (the
  hub's REST API, its admin page) grants nothing, and a removal from the group by any door
  ends the right at once.
- Rights are granted by data stewards only, through the data service, with a token that carries
  :data:`GRANT_SCOPE` (a steward's own login or API token, never a lab server's token); nobody
  grants a right to themselves, and a ``restricted:*`` level needs two different stewards
  (:func:`needs_second_steward`).
- Researchers ask for a level with a purpose, a project and an end date no further than
  :func:`max_request_days` (:mod:`occidata.catalog.access_requests`); the right ends on that date.
"""

from __future__ import annotations

from typing import Iterable, Mapping

LEVELS = ("public", "partner", "restricted")
PARTNER = "partner"
RESTRICTED_PREFIX = "restricted:"
# The hub scope (JupyterHub custom scope) a token needs to grant or revoke through the data
# service: the steward role has it; lab servers' tokens (Spawner.server_token_scopes) do not.
GRANT_SCOPE = "custom:occidata-grant"


def required_level(name: str, access: str) -> str:
    """The level entry ``name`` with catalogue access ``access`` needs: ``public``, ``partner``
    or ``restricted:<name>`` (which is also the hub group that grants it)."""
    if access not in LEVELS:
        raise ValueError(f"{name}: unknown access {access!r}; levels: {', '.join(LEVELS)}")
    return f"{RESTRICTED_PREFIX}{name}" if access == "restricted" else access


def is_level_group(group: str) -> bool:
    """Whether hub group ``group`` stands for a data level (``partner``, ``restricted:<d>``)."""
    return group == PARTNER or (group.startswith(RESTRICTED_PREFIX) and len(group) > len(RESTRICTED_PREFIX))


def levels_from_groups(groups: Iterable[str]) -> list[str]:
    """The level groups among hub group names, sorted (other groups grant no level)."""
    return sorted(group for group in set(groups) if is_level_group(group))


def level_groups(entries: Mapping[str, Mapping] | None = None) -> list[str]:
    """Every hub group that grants a level: ``partner``, then ``restricted:<d>`` for each restricted
    entry of ``entries`` (name -> metadata with ``access``; default: the dataset modules)."""
    if entries is None:
        from .datasets import get_dataset, names

        entries = {name: get_dataset(name).METADATA for name in names()}
    return [PARTNER] + sorted(required_level(name, meta["access"]) for name, meta in entries.items()
                              if meta["access"] == "restricted")


def needs_second_steward(level: str) -> bool:
    """Restricted levels (personal data) are granted by two different stewards, partner by one."""
    return level.startswith(RESTRICTED_PREFIX)


def max_request_days(level: str, cfg: dict) -> int:
    """The longest right a researcher may ask for ``level``, in days (``data_service.max_days_partner``
    and ``data_service.max_days_restricted``): every right the data trust gives ends."""
    if level == PARTNER:
        return cfg["data_service"]["max_days_partner"]
    if is_level_group(level):
        return cfg["data_service"]["max_days_restricted"]
    raise ValueError(f"no request is needed for level {level!r}; levels to ask for: {PARTNER}, {RESTRICTED_PREFIX}<dataset>")


def describe_level(level: str) -> str:
    """What ``level`` opens, in French, as a researcher reads it (``public``, ``partner``, ``restricted:<d>``)."""
    if level == "public":
        return "données ouvertes, sans demande"
    if level == PARTNER:
        return "données des partenaires de la fiducie, pour les chercheurs sous convention"
    if is_level_group(level):
        return (f"données personnelles de « {level[len(RESTRICTED_PREFIX):]} », accordées jeu par jeu "
                "par deux intendants des données différents")
    raise ValueError(f"unknown access level {level!r}; levels: public, {PARTNER}, {RESTRICTED_PREFIX}<dataset>")


def steward_names(cfg: dict) -> list[str]:
    """Who grants levels: the hub users of ``data_service.stewards``, then the configured admin
    ``auth.admin`` (other hub admins are not stewards unless listed), each once."""
    return list(dict.fromkeys([*cfg["data_service"]["stewards"], cfg["auth"]["admin"]]))
