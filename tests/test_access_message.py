"""The refusal a researcher reads for a missing level: French, one line, the level, who grants it, the page.

The message itself is pure logic (tested here on its own); the doors that show it (a lab kernel
through the data service, the data service's 403, a direct load, the command line) are tested in
tests/test_server_mode.py, tests/test_rights.py, tests/test_data_service.py and tests/test_catalog.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from traitlets.config import Config

from occidata.addresses import catalogue_page, public_url
from occidata.catalog.access_message import DEMO, NOT_GRANTED, access_refusal, refusal_message
from occidata.config import ConfigError, load_config
from occidata.hub import apply
from occidata.levels import describe_level, steward_names

REPO = Path(__file__).resolve().parent.parent
PAGE = "https://lab.exemple.fr/services/catalogue/agri_sensors"


def test_partner_refusal_names_entry_level_stewards_contact_and_page_in_french_on_one_line():
    text = refusal_message("agri_sensors", "partner", stewards=["intendante", "gardien", "admin"],
                           contact="donnees@exemple.fr", page=PAGE)
    assert text == ("Accès refusé à « agri_sensors » : cette entrée demande le niveau d'accès « partner » "
                    f"({describe_level('partner')}), que vous n'avez pas. Demandez-le aux intendants des données "
                    "de la plateforme : intendante, gardien, admin (adresse : donnees@exemple.fr). "
                    f"Fiche de l'entrée : {PAGE}")
    assert "\n" not in text and "steward" not in text


def test_restricted_refusal_says_two_stewards_grant_it_and_one_steward_is_named_alone():
    text = refusal_message("health_admissions", "restricted:health_admissions", stewards=["admin"], contact=None,
                           page="http://127.0.0.1:8000/services/catalogue/health_admissions")
    assert "« restricted:health_admissions » (données personnelles de « health_admissions »" in text
    assert "deux intendants des données différents" in text
    assert "Demandez-le à l'intendant des données de la plateforme : admin." in text
    assert "adresse" not in text  # no contact configured: no empty address


def test_a_membership_the_trust_did_not_grant_and_demo_mode_say_why():
    ungranted = refusal_message("agri_sensors", "partner", stewards=["admin"], contact=None, page=PAGE,
                                reason=NOT_GRANTED)
    assert "vous êtes membre du groupe du hub « partner », mais cette appartenance n'a pas été accordée" in ungranted
    assert ungranted.endswith(PAGE) and "admin" in ungranted
    demo = refusal_message("health_admissions", "restricted:health_admissions", stewards=["admin"], contact=None,
                           page=PAGE, reason=DEMO)
    assert "mode démo ne sert aucune donnée restreinte" in demo and demo.endswith(PAGE)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="reason must be one of missing, not_granted, demo, ended, not 'other'"):
        refusal_message("x", "partner", stewards=["admin"], contact=None, page=PAGE, reason="other")
    with pytest.raises(ValueError, match="at least one steward"):
        refusal_message("x", "partner", stewards=[], contact=None, page=PAGE)
    with pytest.raises(ValueError, match="unknown access level 'secret'"):
        describe_level("secret")


def test_the_platform_s_stewards_contact_and_public_address_come_from_the_configuration(tmp_path):
    cfg = load_config({"OCCIDATA_STATE_DIR": str(tmp_path), "OCCIDATA_DATA_SERVICE__STEWARDS": '["intendante", "chef"]',
                       "OCCIDATA_AUTH__ADMIN": "chef", "OCCIDATA_DATA_SERVICE__CONTACT": "donnees@exemple.fr",
                       "OCCIDATA_HUB__PUBLIC_URL": "https://lab.exemple.fr", "OCCIDATA_HUB__BASE_URL": "/occitanie/"})
    assert steward_names(cfg) == ["intendante", "chef"]  # the admin once
    assert public_url(cfg, {}) == "https://lab.exemple.fr/occitanie/"
    text = access_refusal("agri_sensors", "partner", cfg, environ={})
    assert "intendante, chef) y répondent (adresse : donnees@exemple.fr)" in text
    # Where to ask, on the platform's public address: the data service's request form for the entry.
    assert "Demandez-le ici, avec la finalité, le projet et une date de fin : " \
           "https://lab.exemple.fr/occitanie/services/data/requests/new?dataset=agri_sensors" in text
    assert text.endswith("https://lab.exemple.fr/occitanie/services/catalogue/agri_sensors")
    # Inside a lab or the data service, the address the hub gave wins.
    lab = access_refusal("agri_sensors", "partner", cfg, environ={"OCCIDATA_PUBLIC_URL": "http://10.0.0.5:8000/"})
    assert lab.endswith("http://10.0.0.5:8000/services/catalogue/agri_sensors")


def test_public_address_defaults_to_the_hub_s_own_and_pages_are_quoted(tmp_path):
    cfg = load_config({"OCCIDATA_STATE_DIR": str(tmp_path), "OCCIDATA_HUB__IP": "0.0.0.0", "OCCIDATA_HUB__PORT": "8123"})
    assert public_url(cfg, {}) == "http://127.0.0.1:8123/"
    assert catalogue_page("a b", "http://h/") == "http://h/services/catalogue/a%20b"


@pytest.mark.parametrize(("variable", "value", "key"), [
    ("OCCIDATA_DATA_SERVICE__CONTACT", "pas une adresse", "data_service.contact"),
    ("OCCIDATA_HUB__PUBLIC_URL", "lab.exemple.fr", "hub.public_url"),
    ("OCCIDATA_HUB__PUBLIC_URL", "https://lab.exemple.fr/hub/", "hub.public_url"),  # base_url holds the path
])
def test_bad_contact_or_public_address_is_refused_naming_the_key(tmp_path, variable, value, key):
    with pytest.raises(ConfigError, match=rf"environment variable {variable}:\s+bad value for '{re.escape(key)}'"):
        load_config({"OCCIDATA_STATE_DIR": str(tmp_path), variable: value})


def test_labs_and_the_data_service_get_the_public_address_and_the_service_the_stewards(tmp_path):
    env = {"OCCIDATA_STATE_DIR": str(tmp_path / "state"), "OCCIDATA_HUB__PUBLIC_URL": "https://lab.exemple.fr",
           "OCCIDATA_AUTH__ADMIN": "chef", "OCCIDATA_DATA_SERVICE__STEWARDS": '["intendante"]',
           "OCCIDATA_DATA_SERVICE__CONTACT": "donnees@exemple.fr"}
    c = Config()
    apply(c, load_config(env), root=REPO)
    assert c.Spawner.environment["OCCIDATA_PUBLIC_URL"] == "https://lab.exemple.fr/"
    service = next(s for s in c.JupyterHub.services if s["name"] == "data")["environment"]
    assert service["OCCIDATA_PUBLIC_URL"] == "https://lab.exemple.fr/"
    # What the data service's own load_config() rebuilds from its environment.
    seen = load_config({key: value for key, value in service.items() if key.startswith("OCCIDATA_")})
    assert steward_names(seen) == ["intendante", "chef"] and seen["data_service"]["contact"] == "donnees@exemple.fr"
    # A lab's variable is not taken for a configuration key.
    assert load_config({"OCCIDATA_STATE_DIR": str(tmp_path), "OCCIDATA_PUBLIC_URL": "http://x:1/"})["hub"]["public_url"] is None
