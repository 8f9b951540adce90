"""The static explorer: every view a dashboard's static controls can show, rendered ahead.

Citizens first get a pre-rendered page, never a kernel. A dashboard declares the controls its
static page offers (:class:`Choice`: pollutant, day, season, commune...) and which of their
combinations are rendered (:class:`StaticViews`); its snapshot run renders each of them as a
sanctioned output the publication gate checks like the default view, marked in the output's
metadata (:data:`METADATA`) with the values it shows. The dashboards service then serves each view at
the dashboard's address with the values in the query (``?pollutant=NO2&day=2024-03-16``), and a
small script of the host (``static/explorer.js``) switches views in the browser without a kernel;
without script, the form's button asks the same address.

This module is the kernel's side (what to render, the form above each view) and the rule both
sides share (:func:`view_key`); :mod:`occidata.dashboards.static_pages` is the service's.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .render import TOP_END, escape

__all__ = ["Option", "Choice", "StaticViews", "view_key", "form_html", "with_form", "day_choice", "METADATA",
           "STATIC_DAYS"]

#: How many of the latest days a day control offers on the static page (the live page: all).
STATIC_DAYS = 7
#: The key of a view output's metadata: ``{"values": {name: key}, "default": bool, "alternative": bool}``.
METADATA = "occidata"
FORM_CLASS = "od-explore"

_WORDS = {
    "fr": {"legend": "Choisir ce qui est affiché", "apply": "Afficher"},
    "en": {"legend": "Choose what is shown", "apply": "Show"},
}


@dataclass(frozen=True)
class Option:
    """One value of a control: ``key`` in the page's address, ``text`` for people, ``value`` for ``view()``."""

    key: str
    text: str
    value: Any


@dataclass(frozen=True)
class Choice:
    """A control of the static page: ``name`` is the ``view()`` keyword and the address's parameter."""

    name: str
    label: str
    options: tuple[Option, ...]
    default: str  # the key of the option the page opens with

    def __post_init__(self):
        keys = [o.key for o in self.options]
        if self.default not in keys:
            raise ValueError(f"choice {self.name}: default {self.default!r} is not one of its options")
        if len(set(keys)) != len(keys):
            raise ValueError(f"choice {self.name}: two options share a key")

    def option(self, key: str) -> Option:
        return next(o for o in self.options if o.key == key)


@dataclass(frozen=True)
class StaticViews:
    """The controls of a dashboard's static page and the combinations rendered ahead.

    ``combinations``: dicts ``name -> option key``; None renders every combination.
    ``fixed``: ``view()`` keywords the static page does not offer, the same for every view.
    """

    choices: tuple[Choice, ...]
    combinations: tuple[Mapping[str, str], ...] | None = None
    fixed: Mapping[str, Any] = field(default_factory=dict)

    @property
    def default(self) -> dict[str, str]:
        return {c.name: c.default for c in self.choices}

    def keys(self) -> list[dict[str, str]]:
        """Every combination to render, the default first, each once."""
        if self.combinations is None:
            every = [dict(zip([c.name for c in self.choices], combo))
                     for combo in itertools.product(*[[o.key for o in c.options] for c in self.choices])]
        else:
            every = [dict(combo) for combo in self.combinations]
        seen, ordered = set(), []
        for combo in [self.default] + every:
            key = view_key(combo)
            if key not in seen:
                seen.add(key)
                ordered.append(combo)
        return ordered

    def values(self, combo: Mapping[str, str]) -> dict[str, Any]:
        """The ``view()`` keywords of a combination."""
        values = dict(self.fixed)
        for choice in self.choices:
            values[choice.name] = choice.option(combo[choice.name]).value
        return values


def view_key(values: Mapping[str, str]) -> str:
    """The one spelling of a combination, for both sides: its pairs sorted by name."""
    return "&".join(f"{name}={values[name]}" for name in sorted(values))


def day_choice(name: str, label: str, days: Sequence, lang: str, default=None, count: int = STATIC_DAYS) -> Choice:
    """A day control offering the latest ``count`` of ``days`` (latest first), keys ``YYYY-MM-DD``."""
    latest = sorted({pd.Timestamp(d).normalize() for d in days}, reverse=True)[:count]
    if not latest:
        raise ValueError(f"{name}: no day to offer")
    fmt = "%d/%m/%Y" if lang == "fr" else "%Y-%m-%d"
    options = tuple(Option(d.strftime("%Y-%m-%d"), d.strftime(fmt), d) for d in latest)
    default = latest[0] if default is None else pd.Timestamp(default).normalize()
    return Choice(name, label, options, default.strftime("%Y-%m-%d"))


def form_html(choices: Iterable[Choice], selected: Mapping[str, str], lang: str) -> str:
    """The static page's controls: one labelled ``<select>`` per choice and a button that asks the
    same address with the values chosen (``explorer.js`` switches views at once and hides it)."""
    words = _WORDS[lang]
    fields = []
    for choice in choices:
        ident = f"od-{choice.name}"
        options = "".join(f'<option value="{escape(o.key)}"{" selected" if o.key == selected.get(choice.name) else ""}>'
                          f"{escape(o.text)}</option>" for o in choice.options)
        fields.append(f'<label for="{ident}">{escape(choice.label)}</label> '
                      f'<select id="{ident}" name="{escape(choice.name)}">{options}</select>')
    return (f'<form class="{FORM_CLASS}" method="get" action="" aria-label="{escape(words["legend"])}">'
            + "".join(f'<span class="od-field">{f}</span>' for f in fields)
            + f'<button type="submit" class="od-apply">{escape(words["apply"])}</button></form>')


def with_form(page_html: str, form: str) -> str:
    """``page_html`` (from :func:`occidata.dashboards.render.page`) with ``form`` right below its
    top (title, banner, date, headline), where the live page has its controls."""
    if TOP_END not in page_html:  # a notice instead of a page: no control to offer
        return page_html
    return page_html.replace(TOP_END, TOP_END + form, 1)
