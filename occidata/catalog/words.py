"""Finding catalogue entries by words, as people type them: accents, case and word order do not
matter, and a pollutant is found by its common name ("ozone" finds the entries about O3)."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from occidata.pollutants import COMMON_NAMES, find_pollutant

_WORD = re.compile(r"[a-z0-9]+")


def normalise(text: str) -> str:
    """``text`` without accents, in lower case: "Qualité" -> "qualite"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def words(text: str) -> list[str]:
    """The words of ``text``, normalised; "PM2.5" stays one word ("pm25")."""
    return _WORD.findall(re.sub(r"(?<=\d)[.,](?=\d)", "", normalise(text)))


def searchable_text(name: str, meta: dict[str, Any]) -> str:
    """Everything an entry is found by: its name, titles, description, producer, tags, its
    variables and their descriptions, and the common names of the pollutants it mentions."""
    variables = meta.get("variables") or {}
    parts = [name, meta.get("title_fr", ""), meta.get("title_en", ""), meta.get("description", ""),
             meta.get("producer", ""), " ".join(map(str, meta.get("tags", [])))]
    parts += [f"{variable} {(info or {}).get('description') or ''}" for variable, info in variables.items()]
    text = " ".join(map(str, parts))
    mentioned = {find_pollutant(token) for token in re.findall(r"[A-Za-z0-9.,₀-₉]+", text)} - {None}
    return " ".join([text, *(" ".join(COMMON_NAMES[p]) for p in sorted(mentioned))])


def matches(query: str, name: str, meta: dict[str, Any]) -> bool:
    """Whether every word of ``query`` begins a word of the entry (``"qualite air"``,
    ``"Qualité de l'air"`` and ``"ozone"`` all find the hourly air quality)."""
    wanted = words(query)
    if not wanted:
        return True
    have = words(searchable_text(name, meta))
    return all(any(word.startswith(w) for word in have) for w in wanted)
