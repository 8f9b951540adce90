"""Atomic writes: a file or a directory is replaced whole, or not at all.

Readers see the old version or the new one, never half of one; a failed write leaves no
temporary file behind and the old version untouched.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Callable


def replace_file(path: str | os.PathLike, write: Callable[[str], None], mode: int | None = None) -> None:
    """Call ``write(tmp)`` on a temporary sibling of ``path``, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: str | os.PathLike, data: str, mode: int = 0o644) -> None:
    """Write the text ``data`` to ``path`` atomically, with file mode ``mode``."""
    if not isinstance(data, str):
        raise TypeError(f"write_atomic writes text, not {type(data).__name__}")

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(data)

    replace_file(path, write, mode=mode)


def swap_in_directory(staging: str | os.PathLike, target: str | os.PathLike) -> None:
    """Replace the directory ``target`` by the fully written ``staging`` directory.

    If the last rename fails, the old ``target`` is put back.
    """
    staging, target = Path(staging), Path(target)
    old = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.old")
    if target.exists():
        os.replace(target, old)
    try:
        os.replace(staging, target)
    except BaseException:
        if old.exists():
            os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def append_line(path: str | os.PathLike, line: str, mode: int = 0o600) -> None:
    """Append the text ``line`` (one line, without its newline) to ``path``, created with file mode
    ``mode``, under an exclusive ``flock`` and on an ``O_APPEND`` descriptor, then fsync: two
    processes appending at once never interleave, and a line never continues one torn by a crash."""
    if "\n" in line or "\r" in line:
        raise ValueError("append_line writes one line: the text holds a line break")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, mode)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        data = line + "\n"
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            data = "\n" + data  # never glue a line onto a torn one
        os.write(fd, data.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)  # closing releases the lock
