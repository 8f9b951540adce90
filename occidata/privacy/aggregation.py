"""Aggregates of the restricted health data, and the suppressed tables that may leave the trust.

The restricted ``health_admissions`` table counts admissions by week (``week_start``),
commune, age band and cause. Public pages and reports never read it directly: they get
``safe_table``, the weekly counts along the dimensions they show, with small cells and
the cells that totals would give away suppressed.
"""

from __future__ import annotations

from typing import Iterable

import pandas as pd

from .disclosure import K
from .suppression import suppress_small_cells

WEEK = "week_start"
COUNT = "admissions"


def weekly_counts(frame: pd.DataFrame, by: str | Iterable[str], count: str = COUNT,
                  week: str | None = WEEK) -> pd.DataFrame:
    """Sum the counts by week and ``by``, over every other dimension.

    Parameters
    ----------
    frame : pandas.DataFrame
        Counts in long form, such as ``health_admissions``.
    by : str or list of str
        The dimensions to keep besides the week, e.g. ``["department", "age_band"]``.
    count : str
        The column of counts (``"admissions"`` in the health data).
    week : str or None
        The week column (``"week_start"`` in the health data); ``None`` sums over time too.

    Returns
    -------
    pandas.DataFrame
        One row per week and combination of ``by`` found in ``frame``, sorted, with the
        summed counts as nullable ``Int64``.

    Raises
    ------
    ValueError
        When a column is missing, or a count is missing.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"week_start": ["2024-01-01"] * 3, "age_band": ["75+", "75+", "0-14"],
    ...                       "commune": ["Albi", "Foix", "Albi"], "admissions": [3, 9, 2]})
    >>> weekly_counts(frame, "age_band")
       week_start age_band  admissions
    0  2024-01-01     0-14           2
    1  2024-01-01      75+          12
    """
    keys = _keys(frame, by, week)
    if count not in frame.columns:
        raise ValueError(f"count column {count!r} is missing from the table")
    if count in keys:
        raise ValueError(f"column {count!r} cannot be both the count and a dimension")
    if frame[count].isna().any():
        raise ValueError(f"count column {count!r} has missing values; they cannot be summed into a count")
    if not keys:
        total = pd.array([frame[count].sum()], dtype="Int64")
        return pd.DataFrame({count: total})
    summed = frame.groupby(keys, observed=True, dropna=False, sort=True)[count].sum().reset_index()
    summed[count] = summed[count].astype("Int64")
    return summed


def safe_table(frame: pd.DataFrame, by: str | Iterable[str], count: str = COUNT, k: int = K,
               week: str | None = WEEK) -> pd.DataFrame:
    """Weekly counts along ``by``, ready to publish: ``weekly_counts`` then ``suppress_small_cells``.

    Parameters
    ----------
    frame : pandas.DataFrame
        Restricted counts in long form, such as ``health_admissions``.
    by : str or list of str
        The dimensions shown besides the week.
    count : str
        The column of counts.
    k : int
        The smallest count that may be published (default ``occidata.privacy.disclosure.K``, 11).
    week : str or None
        The week column; ``None`` for a table over the whole period.

    Returns
    -------
    pandas.DataFrame
        The week, ``by``, ``count`` (``Int64``, ``pd.NA`` where suppressed) and
        ``suppressed`` (the reason, or ``None``). Totals along every dimension, over the
        weeks included, may be published beside it (see ``suppression.margins``).

    Raises
    ------
    ValueError
        As ``weekly_counts`` and ``suppress_small_cells``.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"week_start": ["2024-01-01"] * 4, "age_band": ["75+", "75+", "0-14", "15-64"],
    ...                       "commune": ["Albi", "Foix", "Albi", "Albi"], "admissions": [3, 9, 2, 40]})
    >>> safe_table(frame, "age_band")
       week_start age_band  admissions suppressed
    0  2024-01-01     0-14        <NA>    primary
    1  2024-01-01    15-64          40       None
    2  2024-01-01      75+        <NA>  secondary
    """
    keys = _keys(frame, by, week)
    counts = weekly_counts(frame, by, count=count, week=week)
    return suppress_small_cells(counts, count=count, k=k, by=keys)


def _keys(frame: pd.DataFrame, by: str | Iterable[str], week: str | None) -> list[str]:
    dims = [by] if isinstance(by, str) else list(by)
    keys = ([week] if week is not None and week not in dims else []) + dims
    missing = [key for key in keys if key not in frame.columns]
    if missing:
        raise ValueError(f"column {missing[0]!r} is missing from the table")
    return keys
