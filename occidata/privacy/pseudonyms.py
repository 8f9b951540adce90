"""Pseudonyms: keyed hashes of identifiers, and the key that lives in the state directory.

A pseudonym is ``"p-"`` followed by the first 16 hexadecimal digits of the HMAC-SHA256 of
the identifier under a secret key. The same identifier gets the same pseudonym under one
key, so tables and audit records can still be joined; without the key, nobody can go back
from a pseudonym to the identifier by hashing candidates. Pseudonymised data are still
personal data under the GDPR: the key holder can re-identify.

The key is 32 random bytes at ``<state_dir>/secrets/pseudonym.key`` (file 0600, directory
0700), created at first use and reused afterwards. Losing it breaks every join with earlier
pseudonyms; changing it is how links to earlier pseudonyms are cut on purpose.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from ..state import StatePaths

if TYPE_CHECKING:
    import pandas as pd

PREFIX = "p-"
DIGITS = 16
KEY_BYTES = 32
KEY_FILE = "pseudonym.key"


def pseudonymise(value: object, key: bytes) -> str:
    """The pseudonym of one identifier.

    Parameters
    ----------
    value : str, int or bytes
        The identifier. Anything but bytes is hashed as ``str(value)`` in UTF-8, so ``42``
        and ``"42"`` share a pseudonym.
    key : bytes
        The secret key, at least 16 bytes (see ``load_or_create_key``).

    Returns
    -------
    str
        ``"p-"`` and 16 lowercase hexadecimal digits.

    Raises
    ------
    TypeError
        When ``key`` is not bytes.
    ValueError
        When ``key`` is shorter than 16 bytes, or ``value`` is missing.

    Examples
    --------
    >>> pseudonymise("alice", b"k" * 32)
    'p-6664a42048c6d6d7'
    """
    _check_key(key)
    if _is_missing(value):
        raise ValueError("a missing identifier has no pseudonym")
    data = value if isinstance(value, bytes) else str(value).encode("utf-8")
    return PREFIX + hmac.new(key, data, hashlib.sha256).hexdigest()[:DIGITS]


def _is_missing(value: object) -> bool:
    # pandas is looked at only when loaded: a missing value of its own cannot exist otherwise,
    # and the audit log (which pseudonymises every record) stays free of it.
    if value is None or (isinstance(value, float) and value != value):
        return True
    pd = sys.modules.get("pandas")
    return (pd is not None and not isinstance(value, (str, bytes)) and bool(pd.api.types.is_scalar(value))
            and bool(pd.isna(value)))


def pseudonymise_column(frame: pd.DataFrame, column: str, key: bytes) -> pd.DataFrame:
    """A copy of ``frame`` whose ``column`` holds pseudonyms instead of identifiers.

    Parameters
    ----------
    frame : pandas.DataFrame
        Any table.
    column : str
        The column of identifiers. Missing values stay missing.
    key : bytes
        The secret key.

    Returns
    -------
    pandas.DataFrame
        A new frame, same index and columns; ``column`` has the ``string`` dtype.

    Raises
    ------
    ValueError
        When ``column`` is not in ``frame``.
    TypeError, ValueError
        For a bad key, as ``pseudonymise``.
    """
    _check_key(key)
    if column not in frame.columns:
        raise ValueError(f"column {column!r} to pseudonymise is not in the table")
    values = frame[column]
    known = values.dropna().unique()
    mapping = {value: pseudonymise(value, key) for value in known}
    result = frame.copy()
    result[column] = values.map(mapping).astype("string")
    return result


def key_path(state_dir: str | os.PathLike) -> Path:
    """Where the pseudonymisation key of a state directory lives."""
    return StatePaths(Path(state_dir)).secrets / KEY_FILE


def load_or_create_key(state_dir: str | os.PathLike) -> bytes:
    """The pseudonymisation key of a state directory, created at first use.

    Parameters
    ----------
    state_dir : str or path-like
        The platform's state directory.

    Returns
    -------
    bytes
        The 32-byte key stored at ``<state_dir>/secrets/pseudonym.key``.

    Raises
    ------
    PermissionError
        When the key file can be read or written by its group or by others.
    ValueError
        When the key file is not a regular file or does not hold exactly 32 bytes.

    Notes
    -----
    The key is written to a temporary 0600 file in the same directory, then linked to its
    name, which fails if another process created it first: concurrent first uses agree on
    one key, and nobody ever reads half a key.
    """
    path = key_path(state_dir)
    if not os.path.lexists(path):
        create_secret_file(path, secrets.token_bytes(KEY_BYTES))
    key = read_secret_file(path, "pseudonymisation key", 4096)
    if len(key) != KEY_BYTES:
        raise ValueError(f"pseudonymisation key {path} holds {len(key)} bytes, not {KEY_BYTES}")
    return key


def _check_key(key: bytes) -> None:
    if not isinstance(key, (bytes, bytearray)):
        raise TypeError(f"a pseudonymisation key is bytes, not {type(key).__name__}")
    if len(key) < 16:
        raise ValueError(f"a pseudonymisation key needs at least 16 bytes, not {len(key)}")


def create_secret_file(path: str | os.PathLike, data: bytes) -> bool:
    """Write ``data`` to a new 0600 file at ``path`` unless one is there; True if this call made it.

    The data goes to a temporary 0600 file in the same directory (made 0700 if missing), then is
    linked to its name, which fails if another process created it first: concurrent first uses
    agree on one content, and nobody ever reads half a secret.
    """
    path = Path(path)
    directory = path.parent
    if not directory.is_dir():
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(directory, 0o700)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False  # another process created it first: use theirs
        return True
    finally:
        Path(tmp).unlink(missing_ok=True)


def read_secret_file(path: str | os.PathLike, what: str, max_bytes: int) -> bytes:
    """The content of the secret file ``path``, refused unless it is a regular file closed to
    its group and others (0600), read whole.

    Raises
    ------
    FileNotFoundError
        When there is no such file.
    PermissionError
        When this account may not read it, or its group or others may.
    ValueError
        When it is a symbolic link, not a regular file, or longer than ``max_bytes``.
    """
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        if os.path.islink(path):
            raise ValueError(f"{what} {path} is a symbolic link; it must be a regular file") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"{what} {path} is not a regular file")
        if info.st_mode & 0o077:
            raise PermissionError(
                f"{what} {path} is open to its group or others (mode "
                f"{stat.S_IMODE(info.st_mode):04o}); refusing it: chmod 600 it if nobody else can have read it, "
                "else replace it")
        if info.st_size > max_bytes:
            raise ValueError(f"{what} {path} holds {info.st_size} bytes, more than {max_bytes}")
        data = os.read(fd, max_bytes + 1)
    finally:
        os.close(fd)
    if len(data) > max_bytes:  # grew while being read
        raise ValueError(f"{what} {path} holds more than {max_bytes} bytes")
    return data
