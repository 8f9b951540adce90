"""Identical rows: which rows of a validated table are already stored, or repeated in it.

Two rows are identical when every schema column holds the same typed value (missing equals
missing). Rows are compared by a 128-bit fingerprint of those values (two independent 64-bit
hashes), so stored rows are never compared one by one; a false match would need a hash
collision on both halves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from .schema import TableSchema

# Both sides are cast to these before hashing, so that a file written by another pandas or
# with another time unit gives the same fingerprints.
_CANONICAL = {"string": "string", "float64": "float64", "int64": "Int64", "bool": "boolean",
              "datetime": "datetime64[ns, UTC]"}
_KEYS = ("occidata-rows-01", "occidata-rows-02")  # hash keys: 16 bytes each


def fingerprints(frame: pd.DataFrame, schema: TableSchema) -> pd.MultiIndex:
    """One fingerprint per row of ``frame`` (a table of ``schema``'s columns), in row order."""
    canonical = pd.DataFrame({column.name: frame[column.name].astype(_CANONICAL[column.dtype])
                              for column in schema.columns})
    halves = [pd.util.hash_pandas_object(canonical, index=False, hash_key=key).to_numpy() for key in _KEYS]
    return pd.MultiIndex.from_arrays(halves)


def stored_fingerprints(files: Iterable[Path], schema: TableSchema) -> pd.MultiIndex:
    """The fingerprints of every row of the Parquet ``files``."""
    parts = [fingerprints(pd.read_parquet(path, columns=schema.names), schema) for path in files]
    if not parts:
        return pd.MultiIndex.from_arrays([np.array([], dtype="uint64")] * 2)
    return parts[0].append(parts[1:]) if len(parts) > 1 else parts[0]


def duplicate_rows(frame: pd.DataFrame, schema: TableSchema, stored: Iterable[Path]) -> np.ndarray:
    """A boolean mask of the rows of ``frame`` already in the ``stored`` files, or repeating an
    earlier row of ``frame`` (the first of identical rows is kept)."""
    own = fingerprints(frame, schema)
    repeated = own.duplicated(keep="first")
    known = stored_fingerprints(stored, schema)
    already = own.isin(known) if len(known) else np.zeros(len(own), dtype=bool)
    return np.asarray(repeated | already, dtype=bool)
