"""French as it is written on the public pages: plurals by the count, « de » before a place, dates."""

from __future__ import annotations

import pandas as pd
import pytest

from occidata.dashboards.wording import count, long_date, of_place, plural


def test_french_plural_follows_the_count():
    assert count(0, "département") == "0 département"
    assert count(1, "département") == "1 département"
    assert count(3, "département") == "3 départements"
    assert count(2, "heure inhabituelle", "heures inhabituelles") == "2 heures inhabituelles"
    assert plural(1, ("n'a", "classé"), ("n'ont", "classés")) == ("n'a", "classé")
    assert plural(12, ("n'a", "classé"), ("n'ont", "classés")) == ("n'ont", "classés")


def test_english_plural_follows_the_count():
    assert count(1, "department", lang="en") == "1 department"
    assert count(0, "department", lang="en") == "0 departments"
    assert count(3, "site", lang="en") == "3 sites"


@pytest.mark.parametrize("name, expected", [
    ("Aude", "de l'Aude"), ("Gard", "du Gard"), ("Lozère", "de la Lozère"), ("Hérault", "de l'Hérault"),
    ("Hautes-Pyrénées", "des Hautes-Pyrénées"), ("Pyrénées-Orientales", "des Pyrénées-Orientales"),
    ("Haute-Garonne", "de la Haute-Garonne"), ("Tarn-et-Garonne", "du Tarn-et-Garonne"), ("Ariège", "de l'Ariège"),
    ("Agde", "d'Agde"), ("Sète", "de Sète"),
])
def test_of_place_elides_and_contracts(name, expected):
    assert of_place(name) == expected


def test_long_date_and_language_check():
    assert long_date(pd.Timestamp("2024-03-16")) == "16 mars 2024"
    assert long_date("2024-08-01") == "1er août 2024"
    assert long_date("2024-08-01", "en") == "1 August 2024"
    assert of_place("Gard", "en") == "of Gard"
    with pytest.raises(ValueError, match="lang='de'"):
        count(2, "Stadt", lang="de")
