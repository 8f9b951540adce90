"""occidata.state: the state directory, private secrets, atomic writes, generated passwords."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from occidata.state import StatePaths, ensure_secret, generate_password, write_atomic

ALPHABET = set("abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789")


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_ensure_secret_creates_a_private_file_once(tmp_path):
    path = tmp_path / "proxy-token"
    first = ensure_secret(path)
    assert path.is_file()
    assert mode_of(path) == 0o600
    assert first == path.read_text().strip()
    assert len(first) == 64  # 32 bytes as hex
    int(first, 16)
    assert ensure_secret(path) == first


def test_ensure_secret_keeps_an_existing_secret(tmp_path):
    path = tmp_path / "token"
    path.write_text("kept-value\n")
    assert ensure_secret(path) == "kept-value"


def test_ensure_secret_differs_between_files(tmp_path):
    assert ensure_secret(tmp_path / "a") != ensure_secret(tmp_path / "b")


def test_ensure_secret_length(tmp_path):
    assert len(ensure_secret(tmp_path / "short", nbytes=8)) == 16


def test_write_atomic_writes_with_mode_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "file.txt"
    write_atomic(path, "one\n", mode=0o600)
    assert path.read_text() == "one\n"
    assert mode_of(path) == 0o600
    write_atomic(path, "two\n", mode=0o640)
    assert path.read_text() == "two\n"
    assert mode_of(path) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


def test_write_atomic_default_mode(tmp_path):
    path = tmp_path / "public.txt"
    write_atomic(path, "x")
    assert mode_of(path) == 0o644


def test_write_atomic_failure_leaves_no_temp_file_and_keeps_old_content(tmp_path):
    path = tmp_path / "file.txt"
    path.write_text("old")
    with pytest.raises(TypeError):
        write_atomic(path, b"not text")  # type: ignore[arg-type]
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


def test_prepare_creates_the_layout_with_private_secrets(tmp_path):
    state = StatePaths(tmp_path / "state").prepare()
    for directory in (state.root, state.logs, state.run, state.homes, state.secrets):
        assert directory.is_dir(), directory
    assert mode_of(state.secrets) == 0o700


def test_prepare_tightens_an_existing_secrets_dir(tmp_path):
    state = StatePaths(tmp_path / "state")
    state.secrets.mkdir(parents=True, mode=0o755)
    state.secrets.chmod(0o755)
    state.prepare()
    assert mode_of(state.secrets) == 0o700


def test_prepare_is_idempotent(tmp_path):
    state = StatePaths(tmp_path / "state")
    assert state.prepare().prepare() == state


def test_state_paths_layout(tmp_path):
    state = StatePaths(tmp_path)
    assert state.database == tmp_path / "jupyterhub.sqlite"
    assert state.cookie_secret == tmp_path / "secrets" / "cookie-secret"
    assert state.proxy_token == tmp_path / "secrets" / "proxy-token"
    assert state.initial_admin_password == tmp_path / "secrets" / "initial-admin-password"
    assert state.hub_log == tmp_path / "logs" / "jupyterhub.log"
    assert state.hub_pid == tmp_path / "run" / "jupyterhub.pid"
    assert state.proxy_pid == tmp_path / "run" / "jupyterhub-proxy.pid"


def test_generate_password_length_and_alphabet():
    password = generate_password()
    assert len(password) == 20
    assert set(password) <= ALPHABET
    assert len(generate_password(32)) == 32


def test_generate_password_has_no_look_alikes_and_varies():
    passwords = {generate_password() for _ in range(50)}
    assert len(passwords) == 50
    used = set("".join(passwords))
    assert used <= ALPHABET
    assert not used & set("0O1lIio")
