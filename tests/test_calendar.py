"""calendar: the shared French calendar (zone C school holidays, public holidays)."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from occidata.datasets import calendar


def test_zone_c_school_holidays():
    # Monday of the February 2024 holidays, a normal school Tuesday, the 2023 Ascension bridge
    # (kept from the 2022-2023 table) and the 2026 one.
    days = ["2024-02-12", "2024-02-06", "2023-05-19", "2026-05-15"]
    assert calendar.is_school_holiday(days).tolist() == [True, False, True, True]
    assert calendar.is_school_holiday(dt.date(2024, 2, 12)).tolist() == [True]
    # Timezone-aware times count at their own wall-clock date.
    aware = pd.DatetimeIndex(["2024-02-10 00:30"], tz="Europe/Paris")
    assert calendar.is_school_holiday(aware).tolist() == [True]


def test_school_holiday_days_are_the_periods():
    off = calendar.school_holiday_days()
    assert np.datetime64("2024-10-19") in off and np.datetime64("2024-11-04") not in off
    assert (np.diff(off).astype(int) > 0).all()


def test_public_holidays():
    assert calendar.easter(2024) == dt.date(2024, 3, 31)
    days = ["2024-07-14", "2024-04-01", "2024-04-02", "2025-05-29"]
    assert calendar.is_public_holiday(days).tolist() == [True, True, False, True]
    holidays = calendar.public_holidays([2024])
    assert {dt.date(2024, 7, 14), dt.date(2024, 4, 1)} <= holidays and len(holidays) == 11


def test_school_calendar_range():
    first, end = calendar.SCHOOL_CALENDAR_RANGE
    assert calendar.school_calendar_covers([first, end - 1, end]).tolist() == [True, True, False]
    with pytest.raises(ValueError, match="no zone C school calendar for 2027-02-02: holidays are known "
                                         "from 2022-10-22 to 2026-07-04"):
        calendar.is_school_holiday(["2024-02-12", "2027-02-02"])
    with pytest.raises(ValueError, match="no library calendar for 2022-10-21"):
        calendar.require_school_calendar("2022-10-21", "library")
