"""Pseudonyms: keyed hashes that are stable under one key, and the key kept private in the state directory."""

from __future__ import annotations

import doctest
import hashlib
import os
import re
import stat
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest

from occidata.privacy import pseudonyms
from occidata.privacy.pseudonyms import key_path, load_or_create_key, pseudonymise, pseudonymise_column

KEY = b"k" * 32
OTHER_KEY = b"o" * 32


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_key_is_created_private_then_reused(tmp_path):
    key = load_or_create_key(tmp_path)
    path = tmp_path / "secrets" / "pseudonym.key"
    assert key_path(tmp_path) == path
    assert isinstance(key, bytes) and len(key) == 32
    assert path.read_bytes() == key
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    assert load_or_create_key(tmp_path) == key
    assert load_or_create_key(str(tmp_path)) == key
    assert os.listdir(path.parent) == ["pseudonym.key"]  # no temporary file left behind
    assert load_or_create_key(tmp_path / "elsewhere") != key


def test_concurrent_first_uses_agree_on_one_key(tmp_path):
    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(lambda _: load_or_create_key(tmp_path), range(16)))
    assert len(set(keys)) == 1
    assert os.listdir(tmp_path / "secrets") == ["pseudonym.key"]


def test_an_existing_secrets_directory_is_used_as_it_is(tmp_path):
    (tmp_path / "secrets").mkdir(mode=0o700)
    (tmp_path / "secrets" / "cookie-secret").write_text("x")
    key = load_or_create_key(tmp_path)
    assert sorted(os.listdir(tmp_path / "secrets")) == ["cookie-secret", "pseudonym.key"] and len(key) == 32


@pytest.mark.parametrize("loose", [0o644, 0o640, 0o604, 0o620])
def test_a_key_open_to_group_or_others_is_refused(tmp_path, loose):
    load_or_create_key(tmp_path)
    path = key_path(tmp_path)
    os.chmod(path, loose)
    with pytest.raises(PermissionError, match=re.escape(str(path)) + rf".*mode 0{loose:o}"):
        load_or_create_key(tmp_path)


@pytest.mark.parametrize("size", [0, 16, 31, 33, 64])
def test_a_key_of_the_wrong_length_is_refused(tmp_path, size):
    path = key_path(tmp_path)
    path.parent.mkdir(mode=0o700)
    path.write_bytes(b"x" * size)
    os.chmod(path, 0o600)
    with pytest.raises(ValueError, match=re.escape(str(path)) + rf" holds {size} bytes, not 32"):
        load_or_create_key(tmp_path)


def test_a_key_that_is_a_link_or_a_directory_is_refused(tmp_path):
    real = tmp_path / "real.key"
    real.write_bytes(b"x" * 32)
    os.chmod(real, 0o600)
    path = key_path(tmp_path / "state")
    path.parent.mkdir(parents=True, mode=0o700)
    path.symlink_to(real)
    with pytest.raises(ValueError, match=re.escape(str(path)) + " is a symbolic link"):
        load_or_create_key(tmp_path / "state")
    directory = key_path(tmp_path / "other")
    directory.mkdir(parents=True, mode=0o700)
    with pytest.raises((ValueError, IsADirectoryError), match=re.escape(str(directory))):
        load_or_create_key(tmp_path / "other")


def test_pseudonyms_are_stable_keyed_and_hide_the_input():
    first = pseudonymise("alice", KEY)
    assert re.fullmatch(r"p-[0-9a-f]{16}", first)
    assert pseudonymise("alice", KEY) == first
    assert pseudonymise("alice", OTHER_KEY) != first
    assert pseudonymise("bob", KEY) != first
    assert "alice" not in first
    assert pseudonymise(42, KEY) == pseudonymise("42", KEY)
    assert pseudonymise(b"alice", KEY) == first
    # Not a plain hash of the identifier: without the key, hashing candidates finds nothing.
    assert first[2:] != hashlib.sha256(b"alice").hexdigest()[:16]


def test_pseudonyms_with_the_stored_key(tmp_path):
    key = load_or_create_key(tmp_path)
    assert pseudonymise("alice", key) == pseudonymise("alice", load_or_create_key(tmp_path))
    assert pseudonymise("alice", key) != pseudonymise("alice", load_or_create_key(tmp_path / "other"))


@pytest.mark.parametrize(("key", "error", "message"), [
    ("a text key", TypeError, "key is bytes, not str"),
    (b"short", ValueError, "at least 16 bytes, not 5"),
])
def test_bad_keys_are_refused(key, error, message):
    with pytest.raises(error, match=message):
        pseudonymise("alice", key)
    with pytest.raises(error, match=message):
        pseudonymise_column(pd.DataFrame({"who": ["alice"]}), "who", key)


def test_missing_identifier_has_no_pseudonym():
    with pytest.raises(ValueError, match="missing identifier"):
        pseudonymise(None, KEY)
    with pytest.raises(ValueError, match="missing identifier"):
        pseudonymise(float("nan"), KEY)


def test_pseudonymise_column_replaces_only_that_column():
    frame = pd.DataFrame({"who": ["alice", "bob", None, "alice"], "reads": [1, 2, 3, 4]}, index=[5, 6, 7, 8])
    before = frame.copy()
    result = pseudonymise_column(frame, "who", KEY)
    pd.testing.assert_frame_equal(frame, before)
    assert list(result.index) == [5, 6, 7, 8] and result["reads"].tolist() == [1, 2, 3, 4]
    assert result["who"].dtype == "string"
    assert result["who"].tolist()[:2] == [pseudonymise("alice", KEY), pseudonymise("bob", KEY)]
    assert result["who"].isna().tolist() == [False, False, True, False]
    assert result.loc[5, "who"] == result.loc[8, "who"]
    assert not set(result["who"].dropna()) & {"alice", "bob"}
    with pytest.raises(ValueError, match="column 'user' to pseudonymise is not in the table"):
        pseudonymise_column(frame, "user", KEY)


def test_docstring_examples():
    assert doctest.testmod(pseudonyms).failed == 0
