"""The period a report covers when the data stop before the one asked for (occidata.reports.period)."""

from __future__ import annotations

import pandas as pd
import pytest

from occidata.reports.period import PeriodError, reported_day, reported_year

DEMO_DAYS = pd.date_range("2024-01-01", "2024-03-30", freq="D")


def test_a_day_after_the_data_reports_the_last_day_measured_and_says_so():
    period = reported_day("2026-12-04", DEMO_DAYS)
    assert period.reported == pd.Timestamp("2024-03-30") and period.stale and period.delay == 979
    assert period.notice() == ("Pas encore de mesures pour le 04/12/2026 : rapport du dernier jour mesuré, "
                               "le 30/03/2024 (979 jours de retard).")
    assert period.summary() == {"requested": "2026-12-04", "reported": "2024-03-30", "delay_days": 979,
                                "stale": True}


def test_a_day_within_the_data_is_reported_as_asked():
    period = reported_day(pd.Timestamp("2024-01-05"), reversed(DEMO_DAYS))  # any order
    assert period.reported == pd.Timestamp("2024-01-05") and not period.stale and period.notice() is None
    assert period.summary()["delay_days"] == 0


def test_a_day_before_the_data_is_a_french_error_naming_the_parameter():
    with pytest.raises(PeriodError, match=r"^date=2019-06-01 : avant le premier jour mesuré ; les données vont "
                                          r"du 01/01/2024 au 30/03/2024$"):
        reported_day("2019-06-01", DEMO_DAYS)
    with pytest.raises(PeriodError, match=r"^date : aucun jour mesuré dans les données$"):
        reported_day("2024-01-05", [])


@pytest.mark.parametrize("kind, text", [
    ("year", "Pas encore de mesures pour l'année 2025 : bilan de la dernière année mesurée, 2024 (1 an de retard)."),
    ("summer", "Pas encore de mesures pour l'été 2025 : veille du dernier été mesuré, 2024 (1 an de retard)."),
    ("season", "Pas encore de mesures pour la saison 2025 : classement de la dernière saison mesurée, 2024 "
               "(1 an de retard)."),
])
def test_a_year_after_the_data_reports_the_last_year_measured(kind, text):
    period = reported_year(2025, [2020, 2024], kind=kind)
    assert period.reported == 2024 and period.notice() == text
    assert period.summary() == {"requested": 2025, "reported": 2024, "delay_years": 1, "stale": True}
    assert reported_year(2027, [2024], kind=kind).notice().endswith("(3 ans de retard).")


def test_a_year_before_the_data_is_a_french_error():
    assert reported_year("2020", [2020, 2024]).reported == 2020
    with pytest.raises(PeriodError, match=r"^summer=2010 : avant la première année mesurée ; années dans les "
                                          r"données : 2020, 2024$"):
        reported_year(2010, [2024, 2020], parameter="summer", kind="summer")
