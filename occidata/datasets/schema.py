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

    @property
    def time_column(self) -> str | None:
        """The table's time column (its first datetime column), which stored files are partitioned by."""
        return next((column.name for column in self.columns if column.dtype == "datetime"), None)

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


def shown(path) -> str:
    """``path`` as an error message prints it: on one line, and shortened when very long."""
    text = "".join(char if char.isprintable() else repr(char)[1:-1] for char in str(path))
    return text if len(text) <= 255 else f"{text[:160]}…{text[-60:]} ({len(text)} caractères)"


def read_provider_csv(path, columns, what: str, sep: str | None = None, encoding: str | None = None) -> pd.DataFrame:
    """Read a provider's CSV export as text, checking it has ``columns``.

    ``sep=None`` picks ";" or "," from the header line. ``encoding`` defaults to UTF-8 with or
    without a byte-order mark (:func:`occidata.datasets.sourcefile.open_source` detects others).
    Spaces around header names are ignored; every cell stays text so validation sees what the
    provider wrote.

    Raises
    ------
    SchemaError
        When the file is missing, unreadable as CSV, or lacks some of ``columns``: one French line
        naming the file, the line where relevant, and ``what`` it should have been (never the
        file's content).
    """
    from pathlib import Path

    path = Path(path)
    name = shown(path)
    encoding = encoding or "utf-8-sig"
    try:
        if sep is None:
            with open(path, encoding=encoding) as handle:
                header = handle.readline()
            sep = ";" if header.count(";") > header.count(",") else ","
        raw = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, encoding=encoding)
    except FileNotFoundError:
        raise SchemaError(f"{name} : fichier introuvable") from None
    except pd.errors.EmptyDataError:
        raise SchemaError(f"{name} : fichier vide, pas {what}") from None
    except pd.errors.ParserError as error:
        raise SchemaError(f"{name}{_parser_problem(str(error), sep)} ; illisible comme {what}") from None
    except UnicodeDecodeError as error:
        raise SchemaError(f"{name} : octet illisible en {encoding} (position {error.start}) ; "
                          "précisez l'encodage (--encoding cp1252...)") from None
    raw.columns = [str(c).strip() for c in raw.columns]
    missing = [c for c in columns if c not in raw.columns]
    if missing:
        raise SchemaError(f"{name} : pas {what}, colonne(s) manquante(s) {', '.join(missing)} "
                          f"(l'en-tête a {len(raw.columns)} colonne(s), séparateur « {sep} »)")
    return raw


def _parser_problem(message: str, sep: str) -> str:
    """pandas' tokenizer error, in French and without the file's content."""
    import re

    fields = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if fields:
        expected, line, saw = fields.groups()
        return f", ligne {line} : {saw} champs au lieu des {expected} de l'en-tête (séparateur « {sep} »)"
    quote = re.search(r"inside string starting at row (\d+)", message)
    if quote:
        return f", ligne {int(quote.group(1)) + 1} : guillemet ouvert jamais refermé"
    return " : CSV mal formé"
