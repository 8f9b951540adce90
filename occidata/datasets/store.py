"""Writing dataset files: Parquet tables and quarantine reports, atomically, with checksums."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from ..atomic import replace_file


def sha256_of(path: str | Path) -> str:
    """The SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_parquet(frame: pd.DataFrame, path: str | Path) -> str:
    """Write ``frame`` to ``path`` (temporary file, then rename); return the file's SHA-256."""
    path = Path(path)
    replace_file(path, lambda tmp: frame.to_parquet(tmp, index=False))
    return sha256_of(path)


def write_quarantine(frame: pd.DataFrame, path: str | Path) -> None:
    """Write quarantined rows, with their source row and reason, as CSV (atomically)."""
    path = Path(path)
    replace_file(path, lambda tmp: frame.to_csv(tmp, index=False))
