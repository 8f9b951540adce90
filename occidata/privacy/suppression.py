"""Small-cell suppression of count tables (secret statistique), with secondary suppression.

A table of counts in long form (one row per cell: dimension columns and a count column) is
published only after:

- **primary suppression**: every count ``c`` with ``0 < c < k`` is hidden. Zeros are
  published, as in French health statistics: a zero names nobody.
- **secondary suppression**: published totals must not give a hidden count away by
  subtraction. The table is extended with its margins (for ``d`` dimensions, every sum over
  any subset of them: row and column totals and the grand total of a 2-D table); a total is
  itself hidden when it is a small count. In every line of that extended table (the cells of
  one group along one dimension, together with the group's total), the number of hidden
  entries must be 0 or at least 2. A line with exactly one is completed with its smallest
  non-zero published entry, and the rule is applied again until nothing changes. In a
  2-D table, a hidden entry that the line rule leaves on no cycle of hidden entries (a
  bridge, computable from several totals at once) gets one more complement that closes one.

Combinations of the dimensions absent from the table count as zeros. The rule is the usual
line rule: it stops single subtractions, the attack against almost every published table,
and, in 1-D and 2-D tables, every linear combination of them; beyond two dimensions only
the line rule is applied (see ``suppress_small_cells``).
"""

from __future__ import annotations

from itertools import combinations
from typing import Iterable

import numpy as np
import pandas as pd

from .disclosure import K

REASON_COLUMN = "suppressed"
TOTAL_COLUMN = "total_over"
_NONE, _PRIMARY, _SECONDARY = 0, 1, 2
_REASONS = np.array([None, "primary", "secondary"], dtype=object)
# Above this many cells (margins included), a dense extended table would not fit comfortably.
_MAX_EXTENDED_CELLS = 50_000_000


def suppress_small_cells(table: pd.DataFrame, count: str = "n", k: int = K,
                         by: str | Iterable[str] | None = None, totals: bool = True) -> pd.DataFrame:
    """Hide the small counts of a table, and the counts that published totals would give away.

    Parameters
    ----------
    table : pandas.DataFrame
        Counts in long form: one row per cell, with the dimension columns and ``count``.
        Each combination of the dimensions appears at most once.
    count : str
        The column of counts: non-negative integers, no missing value.
    k : int
        The smallest count that may be published (default ``occidata.privacy.disclosure.K``,
        11): counts from 1 to ``k - 1`` are suppressed, zeros are published.
    by : str or list of str, optional
        The dimension columns. By default every column but ``count``. Other columns are
        left out of the result: they may be derived from the count (a rate, a share).
    totals : bool
        Whether totals of this table are, or may be, published (the default). Then the
        margins of every group along every dimension are protected by secondary
        suppression (see ``margins`` for the totals that may be published with the table).
        ``False`` applies primary suppression only: use it only when no total of these
        cells is published anywhere, since a reader can add up what is shown.

    Returns
    -------
    pandas.DataFrame
        A new frame, in the rows and index of ``table``, with the dimension columns,
        ``count`` as a nullable ``Int64`` column (``pd.NA`` where suppressed) and a
        ``suppressed`` column giving the reason: ``None`` (published), ``"primary"`` (a
        count from 1 to ``k - 1``) or ``"secondary"`` (hidden to protect another cell).

    Raises
    ------
    ValueError
        When ``count`` or a column of ``by`` is missing, when a count is missing,
        negative or not an integer, when ``k`` is not an integer of at least 2, when a
        combination of the dimensions appears twice, or when the table already has a
        ``suppressed`` column.

    Notes
    -----
    The complement cells are chosen greedily (the smallest non-zero count of each line
    that needs one), so the pattern is safe but not optimal. In 1-D and 2-D tables no
    hidden count can be computed exactly from the published cells and totals, even by
    combining several of them (bridges of the pattern are closed). With more dimensions
    only the line rule is guaranteed. Linked tables (the same counts published at two levels of
    a hierarchy, or in two separate tables) must be suppressed together, in one table.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"age": ["0-14", "15-64", "65+"], "n": [4, 30, 52]})
    >>> suppress_small_cells(table, k=11)
         age     n suppressed
    0   0-14  <NA>    primary
    1  15-64  <NA>  secondary
    2    65+    52       None
    """
    dims = _dimensions(table, count, by)
    values, cells, shape = _validated(table, count, dims, k)
    if totals and dims:
        reason = _extended_suppression(values, cells, shape, k)[1][tuple(cells.T)]
    else:
        reason = np.where((values > 0) & (values < k), _PRIMARY, _NONE)
    return _result(table, dims, count, values, reason)


def margins(table: pd.DataFrame, count: str = "n", dims: str | Iterable[str] | None = None,
            k: int = K) -> pd.DataFrame:
    """The totals that may be published beside ``suppress_small_cells(table, count, k, by=dims)``.

    Every sum over a non-empty subset of the dimensions is returned (for a 2-D table: the
    row totals, the column totals and the grand total), suppressed with the cells of the
    table: a total from 1 to ``k - 1`` is ``"primary"``, a total hidden to protect another
    entry is ``"secondary"``. Publishing these totals with the suppressed table gives no
    hidden entry away by a single subtraction.

    Parameters
    ----------
    table : pandas.DataFrame
        Counts in long form, as for ``suppress_small_cells``.
    count : str
        The column of counts.
    dims : str or list of str, optional
        The dimension columns; by default every column but ``count``.
    k : int
        The smallest count that may be published (default ``occidata.privacy.disclosure.K``).

    Returns
    -------
    pandas.DataFrame
        One row per total: the dimension columns (``pd.NA`` for the dimensions summed
        over), ``count`` (nullable ``Int64``, ``pd.NA`` where suppressed), ``suppressed``
        (the reason, or ``None``) and ``total_over`` (the dimensions summed over, joined by
        ``"+"``). Grouped by ``total_over``, from the totals over one dimension to the
        grand total.

    Raises
    ------
    ValueError
        As ``suppress_small_cells``.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"age": ["0-14", "15-64", "65+"], "n": [4, 30, 52]})
    >>> margins(table, k=11)
        age   n suppressed total_over
    0  <NA>  86       None        age
    """
    dims = _dimensions(table, count, dims)
    values, cells, shape = _validated(table, count, dims, k)
    extended, reasons = _extended_suppression(values, cells, shape, k)
    levels = [_factorize(table[dim])[1] for dim in dims]
    blocks, summed_over = [], []
    for size in range(1, len(dims) + 1):
        for summed in map(set, combinations(range(len(dims)), size)):
            axes = [[len(levels[i])] if i in summed else range(len(levels[i])) for i in range(len(dims))]
            block = np.array(np.meshgrid(*axes, indexing="ij")).reshape(len(dims), -1)
            blocks.append(block)
            summed_over += ["+".join(dims[i] for i in sorted(summed))] * block.shape[1]
    columns = [*dims, count, REASON_COLUMN, TOTAL_COLUMN]
    if not blocks:
        return pd.DataFrame(columns=columns)
    index = np.concatenate(blocks, axis=1)
    why = reasons[tuple(index)]
    published = pd.array(extended[tuple(index)], dtype="Int64")
    published[why != _NONE] = pd.NA
    result = pd.DataFrame({dim: pd.Series(np.append(levels[i], pd.NA)[index[i]], dtype="object")
                           for i, dim in enumerate(dims)})
    result[count] = published
    result[REASON_COLUMN] = pd.Series(_REASONS[why], dtype="object")
    result[TOTAL_COLUMN] = summed_over
    return result[columns]


def _dimensions(table: pd.DataFrame, count: str, by: str | Iterable[str] | None) -> list[str]:
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"a table of counts is a pandas DataFrame, not {type(table).__name__}")
    if count not in table.columns:
        raise ValueError(f"count column {count!r} is missing; columns: {', '.join(map(str, table.columns))}")
    if by is None:
        dims = [column for column in table.columns if column != count]
    else:
        dims = [by] if isinstance(by, str) else list(by)
    missing = [dim for dim in dims if dim not in table.columns]
    if missing:
        raise ValueError(f"dimension column {missing[0]!r} is missing from the table")
    if count in dims:
        raise ValueError(f"column {count!r} cannot be both the count and a dimension")
    if REASON_COLUMN in table.columns:
        raise ValueError(f"the table already has a {REASON_COLUMN!r} column: suppress the original counts, once")
    if len(set(dims)) != len(dims):
        raise ValueError(f"a dimension is named twice in {dims!r}")
    return dims


def _validated(table: pd.DataFrame, count: str, dims: list[str], k: int) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Counts as int64, each row's cell as level codes, and the shape of the full table."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2:
        raise ValueError(f"k, the smallest count that may be published, must be an integer of at least 2, not {k!r}")
    values = _counts(table[count], count)
    codes = [_factorize(table[dim])[0] for dim in dims]
    shape = tuple(int(c.max()) + 1 if len(c) else 0 for c in codes)
    cells = np.column_stack(codes) if codes else np.zeros((len(table), 0), dtype=np.int64)
    if dims and len(table):
        repeated = pd.DataFrame(cells).duplicated()
        if repeated.any():
            first = table.loc[repeated.to_numpy(), dims].iloc[0].to_dict()
            raise ValueError(f"the cell {first} appears more than once; aggregate the {count!r} counts first")
    elif not dims and len(table) > 1:
        raise ValueError(f"a table without dimension columns has one count, not {len(table)} in {count!r}")
    if np.prod([n + 1 for n in shape], dtype=float) > _MAX_EXTENDED_CELLS:
        raise ValueError(f"the dimensions {dims} have too many combinations for one table; split it")
    return values, cells, shape


def _counts(column: pd.Series, name: str) -> np.ndarray:
    if pd.api.types.is_bool_dtype(column.dtype):
        raise ValueError(f"count column {name!r} holds booleans, not counts")
    try:
        numbers = pd.to_numeric(column)
    except (TypeError, ValueError) as error:
        raise ValueError(f"count column {name!r} holds values that are not numbers: {error}") from None
    if numbers.isna().any():
        raise ValueError(f"count column {name!r} has missing values; a count must be known to be suppressed")
    numbers = numbers.astype("float64").to_numpy() if not pd.api.types.is_integer_dtype(numbers.dtype) else \
        numbers.to_numpy(dtype="int64")
    if (numbers < 0).any():
        raise ValueError(f"count column {name!r} has negative values, e.g. {numbers[numbers < 0][0]}")
    if numbers.dtype.kind == "f":
        if not np.isfinite(numbers).all() or (numbers != np.round(numbers)).any():
            bad = numbers[~np.isfinite(numbers) | (numbers != np.round(numbers))][0]
            raise ValueError(f"count column {name!r} has values that are not integers, e.g. {bad}")
        numbers = numbers.astype("int64")
    return numbers


def _factorize(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Level codes (sorted levels, so the result does not depend on row order) and the levels."""
    try:
        codes, levels = pd.factorize(column, sort=True, use_na_sentinel=False)
    except TypeError:  # levels of mixed types cannot be sorted
        codes, levels = pd.factorize(column, sort=False, use_na_sentinel=False)
    return codes.astype(np.int64), np.asarray(levels, dtype=object)


def _extended_suppression(values: np.ndarray, cells: np.ndarray, shape: tuple, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Suppress on the table extended with its margins (index ``n`` along an axis is its total).

    Returns the extended counts and the reason codes, both of shape ``(n_1 + 1, ..., n_d + 1)``.
    """
    extended = np.zeros(tuple(n + 1 for n in shape), dtype=np.int64)
    if values.size:
        extended[tuple(cells.T)] = values
    for axis, n in enumerate(shape):  # successive sums fill every margin of the hypercube
        total = [slice(None)] * len(shape)
        total[axis] = n
        inner = [slice(None)] * len(shape)
        inner[axis] = slice(0, n)
        extended[tuple(total)] = extended[tuple(inner)].sum(axis=axis)
    reasons = np.where((extended > 0) & (extended < k), _PRIMARY, _NONE)
    changed = True
    while changed:
        changed = False
        for axis in range(len(shape)):
            changed |= _complete_lines(extended, reasons, axis)
        if not changed and len(shape) == 2:
            changed = _close_a_bridge(extended, reasons)
    return extended, reasons


def _close_a_bridge(extended: np.ndarray, reasons: np.ndarray) -> bool:
    """In a 2-D table, hide one more entry so that a hidden entry that was a bridge lies on a cycle.

    Hidden entries are edges between their row and their column (margins included). An
    edge on no cycle (a bridge) is the sum of published totals on one side of it, even when
    every line holds two hidden entries; an edge on a cycle of positive entries can move
    up and down along it. Closes the first bridge found, with the smallest published entry
    joining a row on the column's side to a column on the row's side; returns whether it did.
    """
    rows, columns = extended.shape
    hidden = np.argwhere(reasons != _NONE)
    edges = [(int(i), rows + int(j)) for i, j in hidden]
    bridge = _first_bridge(rows + columns, edges)
    if bridge is None:
        return False
    row, column = bridge
    edges.remove(bridge)
    row_side = _reachable(rows + columns, edges, row)
    column_side = _reachable(rows + columns, edges, column)
    candidate_rows = [v for v in column_side if v < rows]
    candidate_columns = [v - rows for v in row_side if v >= rows]
    block = extended[np.ix_(candidate_rows, candidate_columns)].astype(float)
    # Prefer non-zero entries (a hidden zero cannot go down); totals only when nothing else is left.
    block[block == 0] = np.inf if (block > 0).any() else 0
    block += 0.5 * ((np.array(candidate_rows) == rows - 1)[:, None] | (np.array(candidate_columns) == columns - 1)[None, :])
    i, j = np.unravel_index(np.argmin(block), block.shape)
    reasons[candidate_rows[i], candidate_columns[j]] = _SECONDARY
    return True


def _first_bridge(vertices: int, edges: list[tuple[int, int]]) -> tuple[int, int] | None:
    """An edge on no cycle of the simple undirected graph, or None (iterative Tarjan)."""
    neighbours: list[list[tuple[int, int]]] = [[] for _ in range(vertices)]
    for number, (a, b) in enumerate(edges):
        neighbours[a].append((b, number))
        neighbours[b].append((a, number))
    order, low = [-1] * vertices, [0] * vertices
    counter = 0
    for root in range(vertices):
        if order[root] != -1 or not neighbours[root]:
            continue
        order[root] = low[root] = counter
        counter += 1
        stack = [(root, -1, iter(neighbours[root]))]
        while stack:
            vertex, via, pending = stack[-1]
            for other, number in pending:
                if number == via:
                    continue
                if order[other] == -1:
                    order[other] = low[other] = counter
                    counter += 1
                    stack.append((other, number, iter(neighbours[other])))
                    break
                low[vertex] = min(low[vertex], order[other])
            else:
                stack.pop()
                if stack:
                    parent = stack[-1][0]
                    low[parent] = min(low[parent], low[vertex])
                    if low[vertex] > order[parent]:
                        return edges[via]
    return None


def _reachable(vertices: int, edges: list[tuple[int, int]], start: int) -> list[int]:
    neighbours: list[list[int]] = [[] for _ in range(vertices)]
    for a, b in edges:
        neighbours[a].append(b)
        neighbours[b].append(a)
    seen, todo = {start}, [start]
    while todo:
        for other in neighbours[todo.pop()]:
            if other not in seen:
                seen.add(other)
                todo.append(other)
    return sorted(seen)


def _complete_lines(extended: np.ndarray, reasons: np.ndarray, axis: int) -> bool:
    """Along ``axis``, give every line with a single hidden entry its smallest non-zero published one."""
    hidden = reasons != _NONE
    lonely = hidden.sum(axis=axis, keepdims=True) == 1
    if not lonely.any():
        return False
    # Cost: the count itself; a total is a last resort (it ties with a cell only when it equals it).
    is_total = np.zeros(extended.shape[axis], dtype=float)
    is_total[-1] = 0.5
    shape = [1] * extended.ndim
    shape[axis] = -1
    cost = np.where(~hidden & (extended > 0), extended + is_total.reshape(shape), np.inf)
    choice = np.argmin(cost, axis=axis, keepdims=True)
    found = np.take_along_axis(cost, choice, axis=axis)
    # A line with one hidden entry always has a non-zero published one: its total or a cell.
    pick = lonely & np.isfinite(found)
    current = np.take_along_axis(reasons, choice, axis=axis)
    np.put_along_axis(reasons, choice, np.where(pick, _SECONDARY, current), axis=axis)
    return bool(pick.any())


def _result(table: pd.DataFrame, dims: list[str], count: str, values: np.ndarray, reason: np.ndarray) -> pd.DataFrame:
    result = table[dims].copy()
    published = pd.array(values, dtype="Int64")
    published[reason != _NONE] = pd.NA
    result[count] = published
    result[REASON_COLUMN] = pd.Series(_REASONS[reason], index=table.index, dtype="object")
    return result
