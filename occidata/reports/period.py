"""The period a report covers: the one asked for, or the last one measured when the data stop earlier.

A scheduled report asks for yesterday, this summer or last year, and the data (the demo data, a
provider's late export) may stop before. Rather than fail every morning, the report covers the
last period measured, says so at the top of its output in French, and records in its summary
(``period``) the period asked for, the one reported and the delay, so that a steward sees stale
data. A period before the first one measured stays an error (:class:`PeriodError`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import pandas as pd

# kind -> (the period asked for, the one reported instead, unit of the delay): French wording.
KINDS = {
    "day": ("le {}", "rapport du dernier jour mesuré, le {}", "jour"),
    "year": ("l'année {}", "bilan de la dernière année mesurée, {}", "an"),
    "summer": ("l'été {}", "veille du dernier été mesuré, {}", "an"),
    "season": ("la saison {}", "classement de la dernière saison mesurée, {}", "an"),
}


class PeriodError(ValueError):
    """A period the data cannot cover (before the first one measured, or no data at all); the
    message, in French, names the parameter and the periods measured."""


@dataclass(frozen=True)
class ReportedPeriod:
    """The period asked for (``requested``) and the one reported (``reported``): days as
    ``pandas.Timestamp``, years as ``int``; ``kind`` is a key of :data:`KINDS`."""

    requested: Any
    reported: Any
    kind: str = "day"

    @property
    def delay(self) -> int:
        """How far the reported period lies before the one asked for, in days or in years."""
        if self.kind == "day":
            return int((self.requested - self.reported).days)
        return int(self.requested) - int(self.reported)

    @property
    def stale(self) -> bool:
        """Whether the report covers an earlier period than the one asked for."""
        return self.delay > 0

    def _text(self, value) -> str:
        return f"{value:%d/%m/%Y}" if self.kind == "day" else str(value)

    def notice(self) -> str | None:
        """The French sentence put at the top of the report when it is stale, else None."""
        if not self.stale:
            return None
        asked, instead, unit = KINDS[self.kind]
        plural = "s" if self.delay > 1 else ""
        return (f"Pas encore de mesures pour {asked.format(self._text(self.requested))} : "
                f"{instead.format(self._text(self.reported))} ({self.delay} {unit}{plural} de retard).")

    def summary(self) -> dict:
        """What the summary records: ``requested``, ``reported``, ``delay_days`` (or
        ``delay_years``) and ``stale``."""
        plain = (lambda v: f"{v:%Y-%m-%d}") if self.kind == "day" else int
        unit = "delay_days" if self.kind == "day" else "delay_years"
        return {"requested": plain(self.requested), "reported": plain(self.reported), unit: self.delay,
                "stale": self.stale}

    def show(self) -> None:
        """Display the notice (bold, as Markdown, with a plain-text copy) when the report is stale."""
        text = self.notice()
        if text is None:
            return
        from IPython.display import display

        display({"text/markdown": f"**⚠ {text}**", "text/plain": f"⚠ {text}"}, raw=True)


def _bounds(measured: list, none: str, parameter: str):
    if not measured:
        raise PeriodError(f"{parameter} : {none} dans les données")
    return measured[0], measured[-1]


def reported_day(requested, days: Iterable, parameter: str = "date") -> ReportedPeriod:
    """The day a daily report covers: ``requested`` (a date or ``YYYY-MM-DD``), or the last of
    ``days`` (the days measured) when ``requested`` comes after it.

    Raises
    ------
    PeriodError
        ``requested`` comes before the first day measured, or no day is measured.
    """
    day = pd.Timestamp(requested).normalize()
    measured = sorted(pd.Timestamp(d).normalize() for d in days)
    first, last = _bounds(measured, "aucun jour mesuré", parameter)
    if day < first:
        raise PeriodError(f"{parameter}={day:%Y-%m-%d} : avant le premier jour mesuré ; les données vont du "
                          f"{first:%d/%m/%Y} au {last:%d/%m/%Y}")
    return ReportedPeriod(day, min(day, last), "day")


def reported_year(requested, years: Iterable, parameter: str = "year", kind: str = "year") -> ReportedPeriod:
    """The year a report covers: ``requested``, or the last of ``years`` (those measured) when
    ``requested`` comes after it; ``kind`` words the notice (``year``, ``summer``, ``season``).

    Raises
    ------
    PeriodError
        ``requested`` comes before the first year measured, or no year is measured.
    """
    if kind not in KINDS or kind == "day":
        raise ValueError(f"kind={kind!r}; use one of {', '.join(k for k in KINDS if k != 'day')}")
    year = int(requested)
    measured = sorted({int(y) for y in years})
    first, last = _bounds(measured, "aucune année mesurée", parameter)
    if year < first:
        raise PeriodError(f"{parameter}={year} : avant la première année mesurée ; années dans les données : "
                          f"{', '.join(map(str, measured))}")
    return ReportedPeriod(year, min(year, last), kind)
