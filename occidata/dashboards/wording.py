"""French (and English) as it is written on the public pages: plurals, « de » before a place, dates.

- :func:`plural` / :func:`count`: the singular or the plural according to the number, never « (s) »
  (French: singular for 0 and 1; English: singular for 1 only).
- :func:`of_place`: « de l'Aude », « du Gard », « de la Lozère », « des Pyrénées-Orientales »,
  « de Sète », « d'Agde »; the article of each department is the geography reference's.
- :func:`long_date`: « 16 mars 2024 » / "16 March 2024".
"""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

__all__ = ["plural", "count", "of_place", "long_date", "MONTHS"]

MONTHS = {
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
}
# Words starting with one of these take « d' » / « l' »; an h is mute in every place name of the region.
_VOWELS = tuple("AEIOUYÂÀÉÈÊÎÏÔÛHaeiouyâàéèêîïôûh")


def _check(lang: str) -> None:
    if lang not in MONTHS:
        raise ValueError(f"lang={lang!r}; use fr or en")


def plural(n, one, many=None, lang: str = "fr"):
    """``one`` or ``many`` (default: ``one`` + "s") as the number ``n`` asks in ``lang``; they may be
    tuples of words that agree together (« n'a … classé … son », « n'ont … classés … leur »).

    French takes the singular below 2 (« 0 département », « 1 département »), English for 1 only.
    """
    _check(lang)
    many = one + "s" if many is None else many
    value = abs(float(n))
    return one if (value < 2 if lang == "fr" else value == 1) else many


def count(n, one: str, many: str | None = None, lang: str = "fr") -> str:
    """The number and the word agreeing with it: « 1 département », « 3 départements »."""
    return f"{n} {plural(n, one, many, lang)}"


@lru_cache(maxsize=1)
def _articles() -> dict[str, str]:
    from ..datasets import geography

    table = geography.departments()
    return dict(zip(table["name"], table["article"]))


def of_place(name, lang: str = "fr") -> str:
    """« de » and ``name`` as French writes them: « du Gard », « de l'Hérault », « de la Lozère »,
    « des Hautes-Pyrénées » for a department (its article from the geography reference); « d'Agde »,
    « de Sète » for any other place. English: "of <name>"."""
    _check(lang)
    name = str(name)
    if lang == "en":
        return f"of {name}"
    article = _articles().get(name)
    if article == "le":
        return f"du {name}"
    if article == "les":
        return f"des {name}"
    if article == "la":
        return f"de la {name}"
    if article == "l'":
        return f"de l'{name}"
    return f"d'{name}" if name.startswith(_VOWELS) else f"de {name}"


def long_date(day, lang: str = "fr") -> str:
    """A day as citizens read it: « 16 mars 2024 » (« 1er mars 2024 ») or "16 March 2024"."""
    _check(lang)
    day = pd.Timestamp(day)
    number = "1er" if (day.day == 1 and lang == "fr") else str(day.day)
    return f"{number} {MONTHS[lang][day.month - 1]} {day.year}"
