"""Table schemas: columns with dtypes, units and allowed values, and row-level validation.

Validation never drops a row silently: each row is either kept or quarantined with the
reason, and the source row number (1-based, header = row 1) travels with it so a person
can find it in the provider's file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

SOURCE_ROW = "source_row"
REASON = "reason"


class SchemaError(ValueError):
    """A whole file does not fit the schema (missing columns...); the message names the file."""


@dataclass(frozen=True)
class Column:
    """One column: its dtype, unit and the values a row may hold there."""

    name: str
    dtype: str  # "string", "float64", "int64", "bool", "datetime"
    description: str = ""
    unit: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    allowed: tuple | None = None
    nullable: bool = False


@dataclass(frozen=True)
class TableSchema:
    """An ordered set of columns for one dataset table."""

    name: str
    columns: tuple[Column, ...]
    description: str = ""

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.name} has no column {name!r}")

    def validate(self, frame: pd.DataFrame, source: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Split ``frame`` into (kept, quarantined) rows; quarantined rows carry a ``reason``.

        ``frame`` holds the schema's columns as they came from ``source`` (text or typed),
        plus optionally ``source_row``. Kept rows come back typed, in schema column order.
        """
        missing = [name for name in self.names if name not in frame.columns]
        if missing:
            raise SchemaError(f"{source}: missing column(s) {', '.join(missing)} for {self.name}")
        frame = frame.reset_index(drop=True)
        if SOURCE_ROW not in frame.columns:
            frame[SOURCE_ROW] = np.arange(2, len(frame) + 2)
        reasons = pd.Series("", index=frame.index, dtype=object)
        typed = {}
        for column in self.columns:
            values, problems = _check_column(frame[column.name], column)
            typed[column.name] = values
            reasons = reasons.str.cat(problems, sep="; ").str.strip("; ")
        result = pd.DataFrame(typed)
        bad = reasons != ""
        kept = result[~bad].reset_index(drop=True)
        quarantined = frame[bad].astype(object).assign(**{REASON: reasons[bad]}).reset_index(drop=True)
        return kept, quarantined


def _check_column(raw: pd.Series, column: Column) -> tuple[pd.Series, pd.Series]:
    """Coerce ``raw`` to the column's dtype; return (values, reason or "" per row)."""
    problems = pd.Series("", index=raw.index, dtype=object)
    missing = raw.isna() | (raw.astype("string").str.strip() == "")

    def flag(mask: pd.Series, text: str, show_value: bool = True) -> None:
        mask = mask.fillna(False).astype(bool) & (problems == "")
        if mask.any():
            shown = raw[mask].map(lambda v: f" ({v!r})") if show_value else ""
            problems[mask] = f"{column.name}: {text}" + shown

    if column.dtype == "float64":
        values = pd.to_numeric(raw.where(~missing), errors="coerce").astype("float64")
        flag(values.isna() & ~missing, "not a number")
    elif column.dtype == "int64":
        numbers = pd.to_numeric(raw.where(~missing), errors="coerce")
        flag((numbers.isna() | (numbers % 1 != 0)) & ~missing, "not a whole number")
        values = numbers.where(numbers % 1 == 0).astype("Int64")
    elif column.dtype == "datetime":
        values = pd.to_datetime(raw.where(~missing), errors="coerce", utc=True, format="ISO8601")
        flag(values.isna() & ~missing, "not an ISO 8601 date")
    elif column.dtype == "bool":
        values = raw.map(_to_bool).astype("boolean")
        flag(values.isna() & ~missing, "not true/false")
    else:
        values = raw.astype("string").str.strip()

    if not column.nullable:
        flag(missing, "missing value", show_value=False)
    present = ~values.isna()
    unit = f" {column.unit}" if column.unit else ""
    if column.minimum is not None:
        flag(present & (values < column.minimum), f"below {column.minimum}{unit}")
    if column.maximum is not None:
        flag(present & (values > column.maximum), f"above {column.maximum}{unit}")
    if column.allowed is not None:
        flag(present & ~values.isin(column.allowed), f"not one of {', '.join(map(str, column.allowed))}")
    return values, problems


def _to_bool(value):
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("t", "true", "1", "yes", "oui", "o"):
        return True
    if text in ("f", "false", "0", "no", "non", "n"):
        return False
    return pd.NA


def read_provider_csv(path, columns, what: str, sep: str | None = None) -> pd.DataFrame:
    """Read a provider's CSV export as text, checking it has ``columns``.

    ``sep=None`` picks ";" or "," from the header line. A byte-order mark and spaces around
    header names are ignored; every cell stays text so validation sees what the provider wrote.

    Raises
    ------
    SchemaError
        When the file is missing, unreadable as CSV, or lacks some of ``columns``; the message
        names the file and ``what`` it should have been.
    """
    from pathlib import Path

    path = Path(path)
    try:
        if sep is None:
            with open(path, encoding="utf-8-sig") as handle:
                header = handle.readline()
            sep = ";" if header.count(";") > header.count(",") else ","
        raw = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except FileNotFoundError:
        raise SchemaError(f"{path}: no such file") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise SchemaError(f"{path}: not a readable {what} ({error})") from None
    raw.columns = [str(c).strip() for c in raw.columns]
    missing = [c for c in columns if c not in raw.columns]
    if missing:
        raise SchemaError(
            f"{path}: not {what}, missing column(s) {', '.join(missing)} (found: {', '.join(raw.columns[:8])})"
        )
    return raw
