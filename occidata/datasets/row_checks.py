"""Checks across the columns of a row, and rows that contradict each other, on top of a table schema.

:class:`CheckedSchema` is a :class:`~occidata.datasets.schema.TableSchema` whose ``validate``
first types and checks each column as the plain schema does, then applies its
:class:`RowCheck` rules to the rows that passed (``tmin`` above ``tmax``, a temperature in
kelvin that disagrees with the one in °C...), then quarantines the rows that share their
``key`` (same day and département, say) but not their values: the file contradicts itself and
nobody can tell which row is right. Identical repeats are left in: they are duplicates, which
:func:`occidata.datasets.duplicates.duplicate_rows` recognises and the ingest does not store twice.

Every quarantined row keeps the provider's text, its ``source_row`` and the reasons, as with
the plain schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from .schema import REASON, SOURCE_ROW, TableSchema

_POSITION = "__position__"  # where a row stood in the reader's frame, to find its provider text again


@dataclass(frozen=True)
class RowCheck:
    """A rule across columns.

    ``test(typed, raw)`` gets the rows that passed the column checks, typed (schema columns) and
    as the reader gave them (same order, every column of the reader, including the provider's
    values kept beside the converted ones), and returns per row the reason it breaks the rule,
    or ``""``.
    """

    name: str
    test: Callable[[pd.DataFrame, pd.DataFrame], pd.Series]


@dataclass(frozen=True)
class CheckedSchema(TableSchema):
    """A table schema with rules across columns (``checks``), a row identity (``key``) and the
    columns that say whether two rows of one key agree (``measure``; default all but the key)."""

    checks: tuple[RowCheck, ...] = ()
    key: tuple[str, ...] = ()
    measure: tuple[str, ...] = ()

    def validate(self, frame: pd.DataFrame, source: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Split ``frame`` into (kept, quarantined) as :meth:`TableSchema.validate` does, then set
        aside the kept rows that break a ``check`` or contradict another row with the same ``key``."""
        frame = frame.reset_index(drop=True)
        if SOURCE_ROW not in frame.columns:
            frame[SOURCE_ROW] = np.arange(2, len(frame) + 2)
        frame[_POSITION] = np.arange(len(frame))
        kept, quarantined = super().validate(frame, source)
        passed = frame[~frame[_POSITION].isin(quarantined[_POSITION])].reset_index(drop=True)
        reasons = pd.Series("", index=kept.index, dtype=object)
        for check in self.checks:
            found = pd.Series(check.test(kept, passed), index=kept.index).fillna("").astype(str)
            reasons = reasons.str.cat(found, sep="; ").str.strip("; ")
        if self.key:
            # Among the rows that pass every check: a valid row is not set aside for a broken one.
            sound = (reasons == "").to_numpy()
            conflicts = self._conflicts(kept[sound], passed.loc[sound, SOURCE_ROW])
            reasons[sound] = conflicts.to_numpy()
        bad = (reasons != "").to_numpy()
        if bad.any():
            more = passed[bad].astype(object).assign(**{REASON: reasons[bad].to_numpy()})
            quarantined = pd.concat([quarantined, more], ignore_index=True)
            quarantined = quarantined.sort_values(_POSITION, kind="stable").reset_index(drop=True)
        return kept[~bad].reset_index(drop=True), quarantined.drop(columns=_POSITION)

    def _conflicts(self, kept: pd.DataFrame, lines: pd.Series) -> pd.Series:
        """Per row, a reason when another row has the same key but other values, else ""."""
        reasons = pd.Series("", index=kept.index, dtype=object)
        key = list(self.key)
        if kept.empty:
            return reasons
        distinct = kept.drop_duplicates(subset=self.names)
        clashing = distinct[distinct.duplicated(subset=key, keep=False)][key].drop_duplicates()
        if clashing.empty:
            return reasons
        rows = kept[key].assign(**{SOURCE_ROW: lines.to_numpy()}).reset_index()
        rows = rows.merge(clashing, on=key, how="inner")
        for _, group in rows.groupby(key, dropna=False, sort=False):
            for index, line in zip(group["index"], group[SOURCE_ROW]):
                others = ", ".join(str(other) for other in group[SOURCE_ROW] if other != line)
                reasons[index] = f"{', '.join(key)}: same as line(s) {others} with other values"
        return reasons


def provider_numbers(text: pd.Series, scale: float = 1.0, offset: float = 0.0, digits: int | None = None) -> pd.Series:
    """A provider's numbers converted to the schema's unit (``value * scale + offset``, rounded to
    ``digits``); what is not a number is left as the provider wrote it, so that validation
    quarantines it with that text, and empty cells stay empty."""
    stripped = text.astype("string").str.strip()
    numbers = pd.to_numeric(stripped, errors="coerce") * scale + offset
    if digits is not None:
        numbers = numbers.round(digits)
    return numbers.astype(object).where(numbers.notna(), stripped.astype(object)).fillna("")


_LINE_POSITION = "__line_position__"


def validate_with_lines(schema, raw: pd.DataFrame, source: str) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """``schema.validate(raw, source)`` plus the provider line (``source_row``) of each kept row,
    which validation drops: it keeps rows in file order, so they are the reader's rows less
    those set aside."""
    raw = raw.reset_index(drop=True)
    if SOURCE_ROW not in raw.columns:
        raw = raw.assign(**{SOURCE_ROW: np.arange(2, len(raw) + 2)})
    kept, quarantined = schema.validate(raw.assign(**{_LINE_POSITION: np.arange(len(raw))}), source)
    lines = raw[SOURCE_ROW].drop(index=quarantined[_LINE_POSITION].astype(int)).to_numpy()
    return kept, quarantined.drop(columns=_LINE_POSITION), lines
