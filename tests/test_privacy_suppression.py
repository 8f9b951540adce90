"""Small-cell suppression: primary and secondary suppression, published margins, health-data tables."""

from __future__ import annotations

import doctest
import itertools
import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from occidata.datasets import health_admissions as ha
import occidata.privacy
from occidata.privacy import aggregation, disclosure, publish, suppression
from occidata.privacy.aggregation import safe_table, weekly_counts
from occidata.privacy.suppression import margins, suppress_small_cells

# Derandomised in CI (the same examples every run, as in tests/compute/conftest.py), random locally.
_CI = os.environ.get("CI", "").lower() == "true"
PROPERTY = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow],
    **({"derandomize": True, "database": None} if _CI else {}),
)
TOTAL = "<total>"  # stands for a dimension summed over, in the oracle below


# --- an independent oracle of the line rule, from the published cells and margins only ---

def extended_hidden(table: pd.DataFrame, count: str, dims: list[str], k: int) -> dict[tuple, bool]:
    """Cell or margin key (``TOTAL`` for summed dimensions) -> hidden, from the two public outputs."""
    cells = suppress_small_cells(table, count=count, k=k, by=dims)
    hidden = {tuple(row[dims]): row["suppressed"] is not None for _, row in cells.iterrows()}
    for _, row in margins(table, count=count, dims=dims, k=k).iterrows():
        summed = set(row["total_over"].split("+"))
        key = tuple(TOTAL if dim in summed else row[dim] for dim in dims)
        hidden[key] = row["suppressed"] is not None
    return hidden


def lines(table: pd.DataFrame, dims: list[str]):
    """Every line of the extended table: (axis, the entries of one group along it, its total)."""
    levels = [sorted(table[dim].unique()) for dim in dims]
    for axis in range(len(dims)):
        others = [levels[i] + [TOTAL] for i in range(len(dims)) if i != axis]
        for fixed in itertools.product(*others):
            def key(level, fixed=fixed):
                rest = list(fixed)
                return tuple(rest.pop(0) if i != axis else level for i in range(len(dims)))
            yield axis, [key(level) for level in levels[axis]], key(TOTAL)


def check_published(table: pd.DataFrame, count: str, dims: list[str], k: int) -> None:
    """The three properties every suppressed table must have, checked without the module's internals."""
    result = suppress_small_cells(table, count=count, k=k, by=dims)
    published = result[result["suppressed"].isna()]
    # (1) nothing under k is shown, except zeros
    shown = published[count].astype("int64")
    assert ((shown == 0) | (shown >= k)).all()
    # (3) what is shown is what was counted; what is hidden is NA
    original = table.loc[published.index, count].astype("int64")
    assert (shown == original).all()
    assert result.loc[result["suppressed"].notna(), count].isna().all()
    assert set(result["suppressed"].dropna()) <= {"primary", "secondary"}
    primary = (table[count] > 0) & (table[count] < k)
    assert (result.loc[primary, "suppressed"] == "primary").all()
    # totals that are shown are the true sums and not small
    totals = margins(table, count=count, dims=dims, k=k)
    for _, row in totals[totals["suppressed"].isna()].iterrows():
        summed = set(row["total_over"].split("+"))
        mask = np.ones(len(table), dtype=bool)
        for dim in dims:
            if dim not in summed:
                mask &= (table[dim] == row[dim]).to_numpy()
        assert row[count] == table.loc[mask, count].sum()
        assert row[count] == 0 or row[count] >= k
    # (2) in every group along every dimension, a shown total sits beside 0 or >= 2 hidden cells,
    # and a hidden total with its cells makes 0 or >= 2 hidden entries as well
    hidden = extended_hidden(table, count, dims, k)
    for axis, entries, total in lines(table, dims):
        in_group = sum(hidden.get(entry, False) for entry in entries)
        if not hidden[total]:
            assert in_group != 1, f"one hidden entry along {dims[axis]} beside the published total {total}"
        else:
            assert in_group >= 1, f"hidden total {total} alone in its line"


counts = st.one_of(st.just(0), st.integers(1, 12), st.integers(13, 200))


@st.composite
def tables(draw, ndim: int):
    sizes = [draw(st.integers(1, 6)) for _ in range(ndim)]
    dims = [f"d{i}" for i in range(ndim)]
    cells = list(itertools.product(*[[f"{dim}-{j}" for j in range(n)] for dim, n in zip(dims, sizes)]))
    # Some combinations may be absent from a long table (they count as zeros).
    keep = draw(st.lists(st.booleans(), min_size=len(cells), max_size=len(cells)))
    chosen = [cell for cell, kept in zip(cells, keep) if kept] or cells[:1]
    values = draw(st.lists(counts, min_size=len(chosen), max_size=len(chosen)))
    frame = pd.DataFrame(chosen, columns=dims)
    frame["n"] = values
    return frame.sample(frac=1, random_state=draw(st.integers(0, 9))), dims


@PROPERTY
@given(tables(1), st.integers(2, 15))
def test_property_one_dimension(case, k):
    table, dims = case
    check_published(table, "n", dims, k)


@PROPERTY
@given(tables(2), st.integers(2, 15))
def test_property_two_dimensions(case, k):
    table, dims = case
    check_published(table, "n", dims, k)


@PROPERTY
@given(tables(3), st.integers(2, 15))
def test_property_three_dimensions(case, k):
    table, dims = case
    check_published(table, "n", dims, k)


# --- behaviour ---

def test_primary_hides_one_to_k_minus_one_and_shows_zeros():
    table = pd.DataFrame({"age": ["a", "b", "c", "d", "e"], "n": [0, 1, 10, 11, 400]})
    result = suppress_small_cells(table, k=11, totals=False)
    assert result["n"].dtype == "Int64"
    assert result["n"].tolist()[0] == 0 and result["n"].tolist()[3:] == [11, 400]
    assert result["n"].isna().tolist() == [False, True, True, False, False]
    assert result["suppressed"].tolist() == [None, "primary", "primary", None, None]


def test_a_lone_small_cell_gets_the_smallest_non_zero_complement():
    table = pd.DataFrame({"age": ["0-14", "15-64", "65-74", "75+"], "n": [4, 0, 30, 52]})
    result = suppress_small_cells(table, k=11)
    assert result["suppressed"].tolist() == ["primary", None, "secondary", None]
    assert result["n"].tolist()[1] == 0 and result["n"].tolist()[3] == 52
    total = margins(table, k=11)
    assert total["n"].tolist() == [86] and total["suppressed"].tolist() == [None]


def test_two_small_cells_protect_each_other():
    table = pd.DataFrame({"age": ["a", "b", "c"], "n": [4, 5, 52]})
    assert suppress_small_cells(table)["suppressed"].tolist() == ["primary", "primary", None]


def test_two_dimensions_hide_a_rectangle():
    table = pd.DataFrame({
        "department": ["Aude"] * 3 + ["Gard"] * 3 + ["Lot"] * 3,
        "age_band": ["0-14", "15-64", "75+"] * 3,
        "n": [3, 20, 30, 40, 50, 60, 70, 0, 12],
    })
    result = suppress_small_cells(table)
    hidden = result.loc[result["suppressed"].notna(), ["department", "age_band"]].apply(tuple, axis=1).tolist()
    assert hidden == [("Aude", "0-14"), ("Aude", "15-64"), ("Gard", "0-14"), ("Gard", "15-64")]
    assert result["suppressed"].tolist()[:2] == ["primary", "secondary"]
    # Every total can be published: none is small, and each sees two hidden cells or none.
    assert margins(table)["suppressed"].isna().all()
    check_published(table, "n", ["department", "age_band"], 11)


def test_a_small_total_is_hidden_and_its_line_protected():
    # Lot has a single admission in the week: its row total (1) is small, hidden as primary;
    # the row of totals then needs a second hidden total, and that row a hidden cell.
    table = pd.DataFrame({
        "department": ["Aude"] * 2 + ["Gard"] * 2 + ["Lot"] * 2,
        "cause": ["heat", "respiratory"] * 3,
        "n": [15, 40, 25, 60, 0, 1],
    })
    result = suppress_small_cells(table)
    totals = margins(table).set_index("total_over")
    by_department = totals.loc["cause"].set_index("department")
    assert by_department.loc["Lot", "suppressed"] == "primary"
    assert by_department["suppressed"].notna().sum() == 2
    assert result.loc[5, "suppressed"] == "primary"
    check_published(table, "n", ["department", "cause"], 11)


def test_margins_name_the_summed_dimensions():
    table = pd.DataFrame({"a": ["x", "x", "y", "y"], "b": ["u", "v", "u", "v"], "n": [20, 30, 40, 50]})
    totals = margins(table)
    assert totals["total_over"].tolist() == ["a", "a", "b", "b", "a+b"]
    assert totals["n"].tolist() == [60, 80, 50, 90, 140]
    assert totals["a"].isna().tolist() == [True, True, False, False, True]
    assert list(totals.columns) == ["a", "b", "n", "suppressed", "total_over"]


def test_result_is_a_new_frame_in_the_input_order_without_other_columns():
    table = pd.DataFrame({"age": ["c", "a", "b"], "n": [52, 4, 30], "rate": [0.5, 0.04, 0.3]},
                         index=[10, 20, 30])
    before = table.copy()
    result = suppress_small_cells(table, by="age")
    pd.testing.assert_frame_equal(table, before)
    assert list(result.index) == [10, 20, 30]
    assert list(result.columns) == ["age", "n", "suppressed"]  # the rate would give the count away
    assert result["suppressed"].tolist() == [None, "primary", "secondary"]


def test_result_does_not_depend_on_row_order():
    table = pd.DataFrame({"a": list("xxyyzz"), "b": list("uvuvuv"), "n": [3, 20, 14, 33, 12, 12]})
    forward = suppress_small_cells(table)
    backward = suppress_small_cells(table.iloc[::-1]).loc[forward.index]
    pd.testing.assert_frame_equal(forward, backward)


def test_float_counts_that_are_integers_are_accepted():
    table = pd.DataFrame({"a": ["x", "y", "z"], "n": [2.0, 30.0, 40.0]})
    assert suppress_small_cells(table)["suppressed"].tolist() == ["primary", "secondary", None]


def test_empty_table():
    table = pd.DataFrame({"a": pd.Series([], dtype=object), "n": pd.Series([], dtype="int64")})
    result = suppress_small_cells(table)
    assert len(result) == 0 and list(result.columns) == ["a", "n", "suppressed"]


@pytest.mark.parametrize(("counts", "message"), [
    ([1, -2, 30], r"count column 'n' has negative values"),
    ([1, 2.5, 30], r"count column 'n' has values that are not integers"),
    ([1, None, 30], r"count column 'n' has missing values"),
    (["1", "many", "30"], r"count column 'n' holds values that are not numbers"),
    ([True, False, True], r"count column 'n' holds booleans"),
])
def test_bad_counts_are_refused_naming_the_column(counts, message):
    table = pd.DataFrame({"a": ["x", "y", "z"], "n": counts})
    with pytest.raises(ValueError, match=message):
        suppress_small_cells(table)
    with pytest.raises(ValueError, match=message):
        margins(table)


def test_missing_columns_are_named():
    table = pd.DataFrame({"a": ["x"], "admissions": [3]})
    with pytest.raises(ValueError, match=r"count column 'n' is missing"):
        suppress_small_cells(table)
    with pytest.raises(ValueError, match=r"dimension column 'age_band' is missing"):
        suppress_small_cells(table, count="admissions", by=["a", "age_band"])


@pytest.mark.parametrize("k", [1, 0, -3, 2.5, True, "11"])
def test_k_below_two_or_not_an_integer_is_refused(k):
    table = pd.DataFrame({"a": ["x"], "n": [3]})
    with pytest.raises(ValueError, match=r"k, the smallest count that may be published, must be an integer"):
        suppress_small_cells(table, k=k)


def test_repeated_cells_and_already_suppressed_tables_are_refused():
    repeated = pd.DataFrame({"a": ["x", "x"], "n": [3, 40]})
    with pytest.raises(ValueError, match=r"appears more than once; aggregate the 'n' counts first"):
        suppress_small_cells(repeated)
    done = suppress_small_cells(pd.DataFrame({"a": ["x", "y"], "n": [3, 40]}))
    with pytest.raises(ValueError, match=r"already has a 'suppressed' column"):
        suppress_small_cells(done)


# --- the health data ---

@pytest.fixture(scope="module")
def admissions():
    return ha.generate("tiny", seed=3)


def test_weekly_counts_sum_over_the_other_dimensions(admissions):
    weekly = weekly_counts(admissions, ["department", "age_band"])
    assert list(weekly.columns) == ["week_start", "department", "age_band", "admissions"]
    assert weekly["admissions"].dtype == "Int64"
    assert weekly["admissions"].sum() == admissions["admissions"].sum()
    assert not weekly.duplicated(["week_start", "department", "age_band"]).any()
    one = weekly.iloc[0]
    expected = admissions.loc[(admissions["week_start"] == one["week_start"])
                              & (admissions["department"] == one["department"])
                              & (admissions["age_band"] == one["age_band"]), "admissions"].sum()
    assert one["admissions"] == expected
    overall = weekly_counts(admissions, "cause", week=None)
    assert overall["admissions"].sum() == admissions["admissions"].sum() and len(overall) == 2


def test_safe_table_of_the_health_data_shows_no_small_cell(admissions):
    table = safe_table(admissions, ["commune", "cause"])
    assert list(table.columns) == ["week_start", "commune", "cause", "admissions", "suppressed"]
    shown = table["admissions"].dropna().astype("int64")
    assert ((shown == 0) | (shown >= ha.SMALL_CELL_THRESHOLD)).all()
    assert not ha.small_cells(table.dropna(subset=["admissions"])).any()
    assert (table["suppressed"] == "primary").any() and (table["suppressed"] == "secondary").any()
    # The same table as suppress_small_cells on the weekly counts, and it passes the line rule.
    weekly = weekly_counts(admissions, ["commune", "cause"])
    pd.testing.assert_frame_equal(table, suppress_small_cells(weekly, count="admissions"))
    check_published(weekly, "admissions", ["week_start", "commune", "cause"], ha.SMALL_CELL_THRESHOLD)


def test_safe_table_names_missing_columns(admissions):
    with pytest.raises(ValueError, match=r"column 'week' is missing"):
        safe_table(admissions, "commune", week="week")
    with pytest.raises(ValueError, match=r"count column 'n' is missing"):
        safe_table(admissions, "commune", count="n")


def test_the_readme_s_name_is_the_function_and_k_comes_from_the_one_home():
    assert occidata.privacy.suppress_small_cells is suppress_small_cells
    table = pd.DataFrame({"age": ["a", "b", "c"], "n": [disclosure.K - 1, disclosure.K, 0]})
    assert suppress_small_cells(table, totals=False)["suppressed"].tolist() == ["primary", None, None]


@pytest.mark.parametrize("module", [suppression, aggregation, publish])
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_two_dimensions_leave_no_hidden_count_computable_from_several_totals():
    # The line rule alone left (a4, b2) = 8 as a bridge: rows a2 + a4 minus columns b3 + b4 gave it.
    import scipy.optimize as scipy_optimize  # a core dependency (kriging): never skipped
    values = np.array([[5, 30, 120, 15, 60], [30, 30, 5, 60, 0], [15, 30, 60, 8, 5],
                       [2, 5, 8, 30, 120], [0, 120, 8, 5, 30]])
    table = pd.DataFrame([(f"a{i}", f"b{j}", values[i, j]) for i in range(5) for j in range(5)],
                         columns=["a", "b", "n"])
    result, totals = suppress_small_cells(table), margins(table)
    hidden = np.flatnonzero(result["suppressed"].notna().to_numpy())
    equations, right = [], []
    for _, row in totals[totals["suppressed"].isna()].iterrows():
        inside = np.ones(len(table), dtype=bool)
        for dim in ("a", "b"):
            if dim not in row["total_over"].split("+"):
                inside &= (table[dim] == row[dim]).to_numpy()
        equations.append(inside[hidden].astype(float))
        right.append(row["n"] - table.loc[inside, "n"].to_numpy()[~np.isin(np.flatnonzero(inside), hidden)].sum())
    for position in range(len(hidden)):
        objective = np.zeros(len(hidden))
        objective[position] = 1
        low = scipy_optimize.linprog(objective, A_eq=equations, b_eq=right, bounds=(0, None))
        high = scipy_optimize.linprog(-objective, A_eq=equations, b_eq=right, bounds=(0, None))
        assert low.status == 0 and high.status in (0, 3)
        assert high.status == 3 or -high.fun - low.fun > 0.5, f"cell {table.iloc[hidden[position]].tolist()} is pinned"


def test_the_readme_s_spellings_work_in_a_fresh_interpreter():
    # The README's `occidata.privacy.suppress_small_cells(...)` and the `from` import, before anything
    # else has loaded occidata.privacy.suppression; tab completion lists the name too.
    import subprocess
    import sys

    code = (
        "import occidata.privacy\n"
        "assert 'suppress_small_cells' in dir(occidata.privacy)\n"
        "from occidata.privacy import suppress_small_cells\n"
        "assert occidata.privacy.suppress_small_cells is suppress_small_cells\n"
        "import pandas as pd\n"
        "out = occidata.privacy.suppress_small_cells(pd.DataFrame({'age': ['a', 'b'], 'n': [3, 40]}), totals=False)\n"
        "print(out['suppressed'].tolist())\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['primary', None]"
