"""The one rule of the four dashboards: current, not current (stale) or demonstration data."""

from __future__ import annotations

import re

import pandas as pd

from occidata.dashboards import freshness
from occidata.dashboards.freshness import CURRENT, DEMO, STALE, STALE_AFTER_DAYS, banner, data_state


def test_current_up_to_the_threshold_then_stale():
    now = pd.Timestamp("2026-12-05")
    assert STALE_AFTER_DAYS == 2
    assert data_state("2026-12-05", demo=False, now=now) == CURRENT
    assert data_state(now - pd.Timedelta(days=STALE_AFTER_DAYS), demo=False, now=now) == CURRENT
    assert data_state(now - pd.Timedelta(days=STALE_AFTER_DAYS + 1), demo=False, now=now) == STALE
    assert data_state("2024-03-16", demo=False, now=now) == STALE
    # A time of day or a time zone does not move the day.
    assert data_state(pd.Timestamp("2026-12-03 23:30", tz="Europe/Paris"), demo=False, now=now) == CURRENT


def test_demonstration_data_are_always_said_so():
    now = pd.Timestamp("2024-03-16")
    assert data_state("2024-03-16", demo=True, now=now) == DEMO
    assert data_state("2020-01-01", demo=True, now=now) == DEMO


def text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def test_banner_says_what_and_the_date_in_the_page_language():
    now = pd.Timestamp("2026-12-05")
    demo = banner("2024-03-16", demo=True, now=now)
    assert text(demo) == "Données de démonstration — dernières mesures du 16 mars 2024"
    assert 'role="status"' in demo
    stale = banner("2024-03-16", demo=False, now=now)
    assert "ne sont pas à jour" in stale and "16 mars 2024" in stale
    assert "Data not up to date" in banner("2024-03-16", demo=False, now=now, lang="en")
    assert text(banner("2024-03-16", demo=True, lang="en")) == "Demonstration data — latest measurements of 16 March 2024"
    assert banner("2026-12-04", demo=False, now=now) == ""


def test_today_is_a_day_in_france():
    today = freshness.today()
    assert today == today.normalize() and today.tzinfo is None
