"""How rows stand against rows already held: new, identical repeat, or a revised value.

A provider sends the same measurement again in a later export, sometimes with another value
(a revision). Two rows are the same measurement when they share the schema's ``key``; they
agree when the schema's ``measure`` columns agree (by default every column outside the key;
descriptive columns such as a station's name may differ between exports and still agree).
Used by the build (several real exports read one after another, newest first, so the newest
figure is kept) and by the ingest (a revised value is set aside with both figures, never
written over a stored one unless ``--replace`` is asked).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .duplicates import fingerprints
from .row_checks import CheckedSchema
from .schema import TableSchema

NEW, DUPLICATE, REVISED = "new", "duplicate", "revised"


def measure_columns(schema: CheckedSchema) -> tuple[str, ...]:
    """The columns whose values say whether two rows of one measurement agree."""
    return schema.measure or tuple(name for name in schema.names if name not in schema.key)


def overlap(frame: pd.DataFrame, stored: pd.DataFrame | None, schema: CheckedSchema,
            where_stored: str = "stored") -> pd.DataFrame:
    """Per row of ``frame`` (validated rows), against ``stored`` rows and the rows above it:
    ``status`` ``"new"`` (first of its key), ``"duplicate"`` (key held with the same measure) or
    ``"revised"`` (held with another measure), and ``reason`` (both figures, "" unless revised).
    ``where_stored`` names the stored rows in reasons (say, the file they came from)."""
    names = schema.names
    earlier = stored[names] if stored is not None else frame[names].iloc[:0]
    both = pd.concat([earlier, frame[names]], ignore_index=True)
    key_schema = TableSchema("key", tuple(schema.column(name) for name in schema.key))
    measure_schema = TableSchema("measure", tuple(schema.column(name) for name in measure_columns(schema)))
    codes, _ = pd.factorize(fingerprints(both, key_schema))
    first = pd.Series(np.arange(len(both))).groupby(codes).transform("min").to_numpy()
    measures = fingerprints(both, measure_schema)
    same = np.asarray(measures == measures[first], dtype=bool)
    mine = slice(len(earlier), len(both))
    status = np.where(first == np.arange(len(both)), NEW, np.where(same, DUPLICATE, REVISED))[mine]
    reasons = np.full(len(frame), "", dtype=object)
    for i in np.flatnonzero(status == REVISED):
        row, ref = both.iloc[len(earlier) + i], both.iloc[first[len(earlier) + i]]
        where = where_stored if first[len(earlier) + i] < len(earlier) else "earlier in this file"
        reasons[i] = (f"value revised for {_key(row, schema)}: {_measure(ref, schema)} {where}, "
                      f"{_measure(row, schema)} here")
    return pd.DataFrame({"status": status, "reason": reasons}, index=frame.index)


def _shown(value) -> str:
    if isinstance(value, pd.Timestamp):
        return f"{value:%Y-%m-%d}" if value == value.normalize() else value.isoformat()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _key(row: pd.Series, schema: CheckedSchema) -> str:
    return " ".join(_shown(row[name]) for name in schema.key)


def _measure(row: pd.Series, schema: CheckedSchema) -> str:
    return ", ".join(f"{name} {_shown(row[name])}" for name in measure_columns(schema))
