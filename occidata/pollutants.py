"""Pollutant names: the one rule that turns a researcher's spelling into the platform's.

The platform writes the regulated pollutants as ATMO Occitanie and the EU directives do:
``PM10``, ``PM2.5``, ``NO2``, ``O3``, ``SO2``. People also write ``pm25``, ``pm2.5``, ``pm2_5``,
``PM2,5`` (the French decimal comma), ``no2``, ``NO₂``...; every function that takes a pollutant
name (:mod:`occidata.compute.air_limits`, :mod:`occidata.compute.air_indices`, the notebooks'
``pollutant`` parameter) asks :func:`pollutant_name` here, so they accept the same spellings.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["COMMON_NAMES", "POLLUTANTS", "pollutant_name", "find_pollutant"]

#: The canonical spellings.
POLLUTANTS = ("PM10", "PM2.5", "NO2", "O3", "SO2")

#: What people call them, in French and English (the catalogue's search finds an entry by these).
COMMON_NAMES = {
    "PM10": ("particules", "particules fines", "particulate matter", "particles"),
    "PM2.5": ("particules", "particules fines", "fine particles", "particulate matter"),
    "NO2": ("dioxyde d'azote", "nitrogen dioxide", "azote"),
    "O3": ("ozone",),
    "SO2": ("dioxyde de soufre", "sulphur dioxide", "sulfur dioxide", "soufre"),
}

_SUBSCRIPTS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")
_SEPARATORS = str.maketrans("", "", " ._,-")


def _key(name: str) -> str:
    return name.translate(_SUBSCRIPTS).translate(_SEPARATORS).casefold()


_BY_KEY = {_key(name): name for name in POLLUTANTS}


def find_pollutant(name: object) -> str | None:
    """The canonical spelling of ``name`` ("pm2_5" -> "PM2.5"), or None when it names no pollutant."""
    return _BY_KEY.get(_key(name)) if isinstance(name, str) else None


def pollutant_name(name: object, accepted: Iterable[str] = POLLUTANTS, where: str = "pollutant") -> str:
    """The canonical spelling of a pollutant name, or a ValueError in French listing the accepted ones.

    Parameters
    ----------
    name
        A pollutant as a person writes it: ``"pm25"``, ``"PM2.5"``, ``"pm2_5"``, ``"no2"``...
        (case, spaces, ``.``, ``_``, ``,``, ``-`` and subscript digits do not matter).
    accepted
        The canonical names the caller handles (all of :data:`POLLUTANTS` by default).
    where
        What the message names: the parameter, or the key of a mapping.

    Examples
    --------
    >>> pollutant_name("pm2_5"), pollutant_name("no2"), pollutant_name("PM 10")
    ('PM2.5', 'NO2', 'PM10')
    """
    accepted = tuple(accepted)
    found = find_pollutant(name)
    if found is None or found not in accepted:
        raise ValueError(
            f"{where} : polluant inconnu {name!r} ; polluants acceptés : {', '.join(accepted)} "
            "(la casse et les séparateurs ne comptent pas : pm25, pm2.5, pm2_5 et PM2.5 sont le même)"
        )
    return found
