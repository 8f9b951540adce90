"""Row validation: typed kept rows, quarantined rows with every reason, nothing silently dropped."""

from __future__ import annotations

import pandas as pd
import pytest

from occidata.datasets.schema import Column, SchemaError, TableSchema

SCHEMA = TableSchema(
    name="demo",
    columns=(
        Column("site", "string"),
        Column("count", "int64", minimum=0),
        Column("level", "float64", unit="µg/m³", maximum=100.0),
        Column("kind", "string", allowed=("a", "b")),
        Column("when", "datetime"),
        Column("ok", "bool"),
        Column("note", "string", nullable=True),
    ),
)


def frame(**overrides):
    row = {"site": "S1", "count": "3", "level": "4.5", "kind": "a", "when": "2024-06-01T00:00:00Z", "ok": "t", "note": ""}
    row.update(overrides)
    return pd.DataFrame([row])


def test_good_row_is_kept_and_typed():
    kept, quarantined = SCHEMA.validate(frame(), "f.csv")
    assert len(kept) == 1 and len(quarantined) == 0
    assert kept["count"].iloc[0] == 3 and kept["level"].iloc[0] == 4.5
    assert kept["when"].iloc[0] == pd.Timestamp("2024-06-01", tz="UTC")
    assert bool(kept["ok"].iloc[0]) is True
    assert list(kept.columns) == SCHEMA.names


@pytest.mark.parametrize(
    "overrides, reason",
    [
        ({"site": " "}, "site: missing value"),
        ({"count": "2.5"}, "count: not a whole number ('2.5')"),
        ({"count": "-1"}, "count: below 0 ('-1')"),
        ({"level": "150"}, "level: above 100.0 µg/m³ ('150')"),
        ({"kind": "c"}, "kind: not one of a, b ('c')"),
        ({"when": "hier"}, "when: not an ISO 8601 date ('hier')"),
        ({"ok": "peut-être"}, "ok: not true/false ('peut-être')"),
    ],
)
def test_bad_value_is_quarantined_with_its_reason(overrides, reason):
    kept, quarantined = SCHEMA.validate(frame(**overrides), "f.csv")
    assert len(kept) == 0
    assert quarantined["reason"].tolist() == [reason]
    assert quarantined["source_row"].tolist() == [2]


def test_every_problem_of_a_row_is_reported():
    _, quarantined = SCHEMA.validate(frame(kind="z", level="x"), "f.csv")
    assert quarantined["reason"].iloc[0] == "level: not a number ('x'); kind: not one of a, b ('z')"


def test_missing_column_names_the_file():
    with pytest.raises(SchemaError, match=r"f\.csv: missing column\(s\) ok, note for demo"):
        SCHEMA.validate(frame().drop(columns=["ok", "note"]), "f.csv")
