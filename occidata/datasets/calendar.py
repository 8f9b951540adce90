"""French school holidays, zone C (académies de Toulouse and Montpellier), and public holidays.

The one copy of the calendar that the generators share:

- ``SCHOOL_HOLIDAYS``: the official zone C holiday periods of the 2022-2023 to 2025-2026 school
  years, including the Ascension bridges, as ``(first day off, day classes resume)``.
- ``SCHOOL_CALENDAR_RANGE``: the days that table speaks for; ``school_calendar_covers`` and
  ``require_school_calendar`` test dates against it.
- ``school_holiday_days`` / ``is_school_holiday``: the holiday days, and whether dates are among
  them (an error outside the covered range: the table cannot tell).
- ``easter`` / ``public_holidays`` / ``is_public_holiday``: French public holidays (jours
  fériés), computed for any year.
- ``LOCKDOWNS``: the national lockdowns of 2020, ``(French label, first day, last day)``, days
  included (décrets 2020-260 and 2020-1310): the pages, notebooks and generators that mark or
  simulate them ask here.

Dates are calendar days: timezone-aware inputs are read at their own wall-clock date.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

LOCKDOWNS = (("1er confinement", "2020-03-17", "2020-05-10"),
             ("2e confinement", "2020-10-30", "2020-12-14"))

# Zone C: first day off, day classes resume (so each period is [first, resume)).
SCHOOL_HOLIDAYS = (
    ("2022-10-22", "2022-11-07"), ("2022-12-17", "2023-01-03"), ("2023-02-18", "2023-03-06"),
    ("2023-04-22", "2023-05-09"), ("2023-05-18", "2023-05-22"), ("2023-07-08", "2023-09-04"),
    ("2023-10-21", "2023-11-06"), ("2023-12-23", "2024-01-08"), ("2024-02-10", "2024-02-26"),
    ("2024-04-06", "2024-04-22"), ("2024-05-09", "2024-05-13"), ("2024-07-06", "2024-09-02"),
    ("2024-10-19", "2024-11-04"), ("2024-12-21", "2025-01-06"), ("2025-02-15", "2025-03-03"),
    ("2025-04-12", "2025-04-28"), ("2025-05-29", "2025-06-02"), ("2025-07-05", "2025-09-01"),
    ("2025-10-18", "2025-11-03"), ("2025-12-20", "2026-01-05"), ("2026-02-21", "2026-03-09"),
    ("2026-04-18", "2026-05-04"), ("2026-05-14", "2026-05-18"),
)
# [first, end) of the days the table is known for: from the first period it lists to the
# start of the 2026 summer holidays, which it does not list.
SCHOOL_CALENDAR_RANGE = (np.datetime64("2022-10-22", "D"), np.datetime64("2026-07-04", "D"))

_FIXED_PUBLIC_HOLIDAYS = ((1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25))
# Easter Monday, Ascension Thursday and Whit Monday, in days after Easter Sunday.
_EASTER_OFFSETS = (1, 39, 50)


def days(dates) -> np.ndarray:
    """Calendar days of ``dates``.

    Parameters
    ----------
    dates
        A date or an array-like of dates (strings, ``datetime.date``, ``Timestamp``,
        DatetimeIndex, Series); timezone-aware ones count at their own wall-clock date.

    Returns
    -------
    numpy.ndarray
        ``datetime64[D]`` values, one per date.
    """
    if np.ndim(dates) == 0:
        dates = [dates]
    index = pd.DatetimeIndex(pd.to_datetime(dates))
    if index.tz is not None:
        index = index.tz_localize(None)
    return index.to_numpy().astype("datetime64[D]")


def school_calendar_covers(dates) -> np.ndarray:
    """Whether each date lies in ``SCHOOL_CALENDAR_RANGE``, where the school table is known.

    Parameters
    ----------
    dates
        A date or an array-like of dates (see ``days``).

    Returns
    -------
    numpy.ndarray
        One boolean per date, true where ``is_school_holiday`` can answer.
    """
    day = days(dates)
    return (day >= SCHOOL_CALENDAR_RANGE[0]) & (day < SCHOOL_CALENDAR_RANGE[1])


def require_school_calendar(dates, what: str = "zone C school") -> None:
    """Raise unless every date lies in ``SCHOOL_CALENDAR_RANGE``.

    Parameters
    ----------
    dates
        A date or an array-like of dates (see ``days``).
    what
        What the calendar is for, as the error message names it.

    Raises
    ------
    ValueError
        ``no {what} calendar for {first day outside}: holidays are known from ... to ...
        (excluded)``.
    """
    day = days(dates)
    outside = ~school_calendar_covers(day)
    if outside.any():
        first, end = SCHOOL_CALENDAR_RANGE
        raise ValueError(
            f"no {what} calendar for {day[outside][0]}: holidays are known from {first} to {end} (excluded)"
        )


def school_holiday_days() -> np.ndarray:
    """Every day off of ``SCHOOL_HOLIDAYS``, in order.

    Returns
    -------
    numpy.ndarray
        ``datetime64[D]`` days, from the first day off to the eve of each return.
    """
    return np.concatenate([
        np.arange(np.datetime64(first), np.datetime64(resume), dtype="datetime64[D]")
        for first, resume in SCHOOL_HOLIDAYS
    ])


def is_school_holiday(dates) -> np.ndarray:
    """Whether each date is a zone C school holiday (weekends within a period count).

    Parameters
    ----------
    dates
        A date or an array-like of dates (see ``days``).

    Returns
    -------
    numpy.ndarray
        One boolean per date, true on the days off of ``SCHOOL_HOLIDAYS``.

    Raises
    ------
    ValueError
        For a date outside ``SCHOOL_CALENDAR_RANGE`` (see ``require_school_calendar``).
    """
    day = days(dates)
    require_school_calendar(day)
    return np.isin(day, school_holiday_days())


def easter(year: int) -> dt.date:
    """Easter Sunday of ``year``.

    Parameters
    ----------
    year
        Gregorian year.

    Returns
    -------
    datetime.date
        Easter Sunday (anonymous Gregorian computus).
    """
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 19 * el) // 433
    month = (h + el - 7 * m + 90) // 25
    return dt.date(year, month, (h + el - 7 * m + 33 * month + 19) % 32)


def public_holidays(years) -> set[dt.date]:
    """French public holidays (jours fériés) of the given years.

    Parameters
    ----------
    years
        Iterable of years.

    Returns
    -------
    set of datetime.date
        The eleven holidays of each year: eight fixed days, Easter Monday, Ascension and Whit
        Monday.
    """
    holidays = set()
    for year in years:
        holidays.update(dt.date(year, month, day) for month, day in _FIXED_PUBLIC_HOLIDAYS)
        sunday = easter(year)
        holidays.update(sunday + dt.timedelta(days=offset) for offset in _EASTER_OFFSETS)
    return holidays


def is_public_holiday(dates) -> np.ndarray:
    """Whether each date is a French public holiday.

    Parameters
    ----------
    dates
        A date or an array-like of dates (see ``days``).

    Returns
    -------
    numpy.ndarray
        One boolean per date, true on the days ``public_holidays`` gives for its year.
    """
    day = days(dates)
    if len(day) == 0:
        return np.zeros(0, dtype=bool)
    years = day.astype("datetime64[Y]").astype(int) + 1970
    holidays = np.array(sorted(public_holidays(range(years.min(), years.max() + 1))), dtype="datetime64[D]")
    return np.isin(day, holidays)
