"""System accounts of server mode: names, and the spawner's mapping (pure logic)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from occidata.hub.isolation import unreadable_by_others
from occidata.hub.system_users import SystemUserError, system_username


def test_hub_names_get_the_prefix():
    assert system_username("marie", "jupyter-") == "jupyter-marie"


@pytest.mark.parametrize("name", ["Marie", "a" * 40, "marie dupont", "../root"])
def test_names_useradd_would_refuse_are_named_in_the_error(name):
    with pytest.raises(SystemUserError) as info:
        system_username(name, "jupyter-")
    assert repr(name) in str(info.value)


def test_a_prefix_keeps_hub_names_from_meaning_root():
    assert system_username("root", "jupyter-") != "root"


def test_a_hub_user_named_into_an_existing_system_account_is_refused_at_account_creation(tmp_path):
    """A hub name that, with the prefix, is the name of an account the platform did not make
    (here ``daemon``, uid 1) is refused with the hub user and the account named; nothing is run as it."""
    from occidata.hub.system_users import create_on_login

    with pytest.raises(SystemUserError) as info:
        create_on_login("", str(tmp_path / "home"))("daemon")
    message = str(info.value)
    assert "hub user 'daemon' would run as 'daemon'" in message and "not made by the platform" in message
    assert not (tmp_path / "home").exists()


def test_a_closed_directory_on_the_way_is_found():
    # pytest's tmp_path lies under a private directory: start from an open one.
    base = Path(tempfile.mkdtemp(prefix="occidata-open-", dir="/tmp"))
    try:
        base.chmod(0o755)
        closed = base / "closed"
        (closed / "inside").mkdir(parents=True)
        closed.chmod(0o700)
        assert unreadable_by_others(closed / "inside") == closed
        closed.chmod(0o755)
        assert unreadable_by_others(closed / "inside") is None
        secret = closed / "inside" / "file"
        secret.write_text("x")
        secret.chmod(0o600)
        assert unreadable_by_others(secret) == secret
    finally:
        shutil.rmtree(base)
