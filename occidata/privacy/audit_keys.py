"""The audit log's keys: a root key only the verifier reads, and the writer's one-way ratchet.

Forward-secure logging as Schneier and Kelsey describe it ("Secure audit logs to support
computer forensics", 1999), with HMAC-SHA256:

- ``key_1 = HMAC-SHA256(root, "occidata audit key 1")`` and ``key_{i+1} = SHA-256("occidata audit
  ratchet" || key_i)``: from ``key_i`` anyone computes every later key, nobody an earlier one.
- The record with ``seq`` *i* carries ``mac = HMAC-SHA256(key_i, canonical JSON of the record
  without its mac)`` (:mod:`occidata.privacy.audit` writes and checks it).
- The **root key** ``<state_dir>/secrets/audit-root.key`` (JSON ``{"key", "keyed_from"}``, 0600)
  is read by the verifier only: in server mode it belongs to root, in a directory the service
  account can cross but not list or write. ``keyed_from`` is the first seq that carries a MAC
  (1 for a new log, the next seq for a log written before keyed records existed).
- The **key state** ``<log>.keys/current`` (JSON ``{"seq", "key"}``, 0600, the log's owner)
  holds the key of the next record and nothing older. The writer replaces it atomically after
  each record, under the log's lock.

Only the writer's current key is ever on the writer's disk; old keys are overwritten, not
erased (a copy may linger in free disk blocks or in memory until reused).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..state import StatePaths
from .pseudonyms import create_secret_file, read_secret_file

ROOT_KEY_FILE = "audit-root.key"
KEY_BYTES = 32
_FIRST = b"occidata audit key 1"
_RATCHET = b"occidata audit ratchet"


class AuditError(Exception):
    """An audit log operation that cannot be done; the message says why and what to do."""


def first_key(root: bytes) -> bytes:
    """``key_1``, the key of the record with seq 1, from the root key."""
    return hmac.new(root, _FIRST, hashlib.sha256).digest()


def next_key(key: bytes) -> bytes:
    """``key_{i+1}`` from ``key_i`` (one-way)."""
    return hashlib.sha256(_RATCHET + key).digest()


def advance(key: bytes, steps: int) -> bytes:
    """The key ``steps`` records after ``key``."""
    for _ in range(steps):
        key = next_key(key)
    return key


def mac_of(text: str, key: bytes) -> str:
    """HMAC-SHA256 (hex) of ``text`` (UTF-8) under ``key``."""
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class RootKey:
    """The verifier's root key and the first seq it keys."""

    key: bytes
    keyed_from: int

    def key_at(self, seq: int) -> bytes:
        """``key_seq`` (seq >= 1)."""
        return advance(first_key(self.key), seq - 1)


@dataclass(frozen=True)
class KeyState:
    """The writer's key state: the seq of the next record and its key."""

    seq: int
    key: bytes


def root_key_path(state_dir: str | os.PathLike) -> Path:
    """Where the audit root key of a state directory lives."""
    return StatePaths(Path(state_dir)).secrets / ROOT_KEY_FILE


def key_state_path(log_path: str | os.PathLike) -> Path:
    """Where the writer's key state of a log lives: ``<log>.keys/current``."""
    log_path = Path(log_path)
    return log_path.with_name(log_path.name + ".keys") / "current"


def read_root_key(state_dir: str | os.PathLike) -> RootKey | None:
    """The root key, or None when there is none yet; AuditError when it cannot be read or is malformed."""
    path = root_key_path(state_dir)
    try:
        data = read_secret_file(path, "the audit root key", 4096)
    except FileNotFoundError:
        return None
    except PermissionError as error:
        raise AuditError(f"the audit root key {path} cannot be read by this account ({error}); only the "
                         "verifier reads it: run `occidata audit verify` as root") from None
    except (ValueError, OSError) as error:
        raise AuditError(f"the audit root key {path} is unusable: {error}") from None
    try:
        content = json.loads(data)
        key, keyed_from = bytes.fromhex(content["key"]), content["keyed_from"]
    except (ValueError, TypeError, KeyError):
        raise AuditError(f"the audit root key {path} is not JSON with a hex 'key' and an integer 'keyed_from'") from None
    if len(key) != KEY_BYTES or isinstance(keyed_from, bool) or not isinstance(keyed_from, int) or keyed_from < 1:
        raise AuditError(f"the audit root key {path} must hold a {KEY_BYTES}-byte key and keyed_from >= 1")
    return RootKey(key, keyed_from)


def create_root_key(state_dir: str | os.PathLike, keyed_from: int) -> RootKey:
    """Make the root key (0600, this account's), unless one exists; return the one in place."""
    path = root_key_path(state_dir)
    content = {"key": secrets.token_bytes(KEY_BYTES).hex(), "keyed_from": keyed_from}
    create_secret_file(path, (json.dumps(content) + "\n").encode("ascii"))
    root = read_root_key(state_dir)
    assert root is not None
    return root


def read_key_state(log_path: str | os.PathLike) -> KeyState | None:
    """The writer's key state, or None when there is none; AuditError when it is malformed."""
    path = key_state_path(log_path)
    try:
        data = read_secret_file(path, "the audit key state", 4096)
    except FileNotFoundError:
        return None
    except (PermissionError, ValueError, OSError) as error:
        raise AuditError(f"the audit key state {path} is unusable: {error}") from None
    try:
        content = json.loads(data)
        seq, key = content["seq"], bytes.fromhex(content["key"])
    except (ValueError, TypeError, KeyError):
        raise AuditError(f"the audit key state {path} is not JSON with an integer 'seq' and a hex 'key'") from None
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1 or len(key) != KEY_BYTES:
        raise AuditError(f"the audit key state {path} must hold seq >= 1 and a {KEY_BYTES}-byte key")
    return KeyState(seq, key)


def write_key_state(log_path: str | os.PathLike, state: KeyState, owner: tuple[int, int] | None = None) -> None:
    """Replace the key state atomically (temporary file, fsync, rename, fsync of the folder).

    ``owner`` (uid, gid) is given to the file and its folder when this process is root, so
    that the hub (root) writing a record leaves the key state to the log's owner.
    """
    path = key_state_path(log_path)
    folder = path.parent
    if not folder.is_dir():
        folder.mkdir(mode=0o700, exist_ok=True)
        if owner is not None and os.geteuid() == 0:
            os.chown(folder, *owner)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".current.", suffix=".tmp")  # 0600
    try:
        if owner is not None and os.geteuid() == 0:
            os.fchown(fd, *owner)
        os.write(fd, (json.dumps({"seq": state.seq, "key": state.key.hex()}) + "\n").encode("ascii"))
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(tmp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        Path(tmp).unlink(missing_ok=True)
        raise
    folder_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(folder_fd)
    finally:
        os.close(folder_fd)
