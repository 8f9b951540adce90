"""The sanctioned way to show tables to the public: HTML with the declaration of its tables.

A notebook meant for publication shows its tables through :func:`show_counts` (counts,
suppressed with :func:`~occidata.privacy.suppression.suppress_small_cells`) or
:func:`publishable` (any HTML whose tables it declares). Both give a :class:`Publishable`,
displayed as ``text/html`` plus the payload :data:`~occidata.privacy.disclosure.MIME` that
the publication gate's judge (:func:`occidata.privacy.disclosure.judge_notebook`) re-checks.
Every other output is refused by the gate.

Code that builds a page from several tables (the public dashboards) declares them as it writes
them: :func:`declare_table` inside ``with declaring() as tables:``.

>>> import pandas as pd
>>> counts = pd.DataFrame({"age": ["0-14", "15-64", "65+"], "n": [4, 30, 52]})
>>> shown = show_counts(counts, k=11)
>>> shown.tables[0]["rows"]
[['0-14', 's'], ['15-64', 's'], ['65+', '52']]
"""

from __future__ import annotations

import contextlib
import html as html_lib
import math
from contextvars import ContextVar
from typing import Any, Iterable, Mapping

from .disclosure import K, MIME, PAYLOAD_VERSION, sanctioned_problems

SECRET = "s"  # what a suppressed cell reads (secret statistique)
PLAIN = "Tableau publiable (occidata.privacy)"  # the text/plain form: no digit, nothing to check
SECRET_NOTE = {
    "fr": "« s » : secret statistique (compte trop petit pour être publié, ou masqué pour qu'aucun total "
          "ne le révèle).",
    "en": "“s”: statistical secret (a count too small to publish, or hidden so that no total gives one away).",
}

_DECLARED: ContextVar[list | None] = ContextVar("occidata_declared_tables", default=None)


def cell_text(value: Any) -> str:
    """A cell's text as :func:`show_counts` writes it: missing -> ``"s"``, whole floats without
    decimals, dates as ``YYYY-MM-DD`` (with the time when not midnight)."""
    if value is None:
        return SECRET
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return SECRET
        if isinstance(value, pd.Timestamp):
            return value.strftime("%Y-%m-%d" if (value.hour, value.minute, value.second) == (0, 0, 0)
                                  else "%Y-%m-%d %H:%M")
    except ImportError:  # pragma: no cover - pandas is a core dependency
        pass
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) or type(value).__name__.startswith("float"):
        number = float(value)
        if math.isnan(number):
            return SECRET
        return str(int(number)) if number.is_integer() and abs(number) < 1e15 else f"{number:g}"
    if type(value).__name__.startswith(("int", "uint")):
        return str(int(value))
    return str(value)


def declare_table(columns: Iterable, rows: Iterable[Iterable], *, caption: str | None = None,
                  count_columns: Iterable = (), counts: bool = False) -> dict:
    """The declaration of a table shown as HTML: header labels and cell texts exactly as written.

    Inside :func:`declaring`, the table is also collected. ``count_columns``: labels of the
    columns that count people; ``counts``: the table is a table of counts even without one.
    """
    table = {"caption": None if caption is None else str(caption), "columns": [str(c) for c in columns],
             "rows": [[None if v is None else str(v) for v in row] for row in rows],
             "count_columns": [str(c) for c in count_columns], "counts": bool(counts)}
    collected = _DECLARED.get()
    if collected is not None:
        collected.append(table)
    return table


@contextlib.contextmanager
def declaring():
    """Collect the tables declared (:func:`declare_table`) in the block, in the order written."""
    tables: list[dict] = []
    token = _DECLARED.set(tables)
    try:
        yield tables
    finally:
        _DECLARED.reset(token)


class Publishable:
    """HTML and the declaration of its tables; shown in a notebook as a sanctioned output.

    ``data`` is the HTML (as :class:`IPython.display.HTML`'s), ``tables`` the declared tables.
    """

    def __init__(self, html: str, tables: list[dict]):
        self.data = html
        self.tables = tables

    @property
    def payload(self) -> dict:
        return {"version": PAYLOAD_VERSION, "k": K, "tables": self.tables}

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {"text/html": self.data, "text/plain": PLAIN, MIME: self.payload}

    def problems(self, k: int = K) -> list[str]:
        """What the publication gate would refuse in this output (empty: nothing)."""
        return sanctioned_problems(self._repr_mimebundle_(), k)


def _frame_table(frame) -> dict:
    return declare_table([str(c) for c in frame.columns],
                         [[cell_text(v) for v in row] for row in frame.itertuples(index=False, name=None)])


def publishable(html: str, tables: Iterable = (), count_columns: Iterable = (), *, check: bool = True) -> Publishable:
    """``html`` shown with the declaration of its tables, for the publication gate.

    Parameters
    ----------
    html
        The HTML shown; its ``<table>`` elements must be exactly ``tables``, in order.
    tables
        One declaration per table: a dict from :func:`declare_table`, or a pandas DataFrame
        whose cells read as :func:`cell_text` writes them (show it with ``index=False``).
    count_columns
        Labels of columns that count people, in every table (the header rule finds others).
    check
        Raise at once when the gate would refuse the output (the default).

    Raises
    ------
    ValueError
        With ``check``, when the HTML's tables are not the declared ones or show a count
        under k, naming the table, column and row.
    """
    declared = []
    for table in tables:
        table = dict(table) if isinstance(table, Mapping) else _frame_table(table)
        table["count_columns"] = list(dict.fromkeys(list(table.get("count_columns", [])) + list(map(str, count_columns))))
        declared.append(table)
    shown = Publishable(str(html), declared)
    problems = shown.problems() if check else []
    if problems:
        raise ValueError("the publication gate would refuse this output: " + "; ".join(problems))
    return shown


def table_html(table: dict, note: str | None = None) -> str:
    """A declared table as accessible HTML (first column as row headers), with an optional note."""
    caption = f"<caption>{html_lib.escape(table['caption'])}</caption>" if table.get("caption") else ""
    head = "".join(f'<th scope="col">{html_lib.escape(c)}</th>' for c in table["columns"])
    rows = []
    for row in table["rows"]:
        cells = [f'<th scope="row">{html_lib.escape(row[0] or "")}</th>'] if row else []
        cells += [f"<td>{html_lib.escape(v or '')}</td>" for v in row[1:]]
        rows.append(f"<tr>{''.join(cells)}</tr>")
    after = f'<p class="od-note">{html_lib.escape(note)}</p>' if note else ""
    return (f'<div class="od-table-wrap"><table>{caption}<thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>{after}</div>")


def show_counts(table, count: str = "n", k: int = K, *, by=None, totals: bool = True, caption: str | None = None,
                columns: Mapping | None = None, lang: str = "fr") -> Publishable:
    """A table of counts, suppressed, as a sanctioned output: the way to publish counts.

    ``table`` is suppressed with :func:`~occidata.privacy.suppression.suppress_small_cells`
    (``count``, ``k``, ``by``, ``totals``), unless it is already its result (it has the
    ``suppressed`` column). Suppressed cells read "s", explained under the table; the
    ``suppressed`` column is not shown. ``columns`` renames columns (column -> label) and
    chooses them, in that order; ``lang`` (fr, en) is the language of the note.

    Raises
    ------
    ValueError
        As ``suppress_small_cells``; or when a column of ``columns`` is missing; or when the
        result would still be refused (a count under k in another column).
    """
    from .suppression import REASON_COLUMN, suppress_small_cells

    if lang not in SECRET_NOTE:
        raise ValueError(f"lang={lang!r}; use fr or en")
    safe = table if REASON_COLUMN in table.columns else suppress_small_cells(table, count=count, k=k, by=by,
                                                                             totals=totals)
    shown = safe.drop(columns=[REASON_COLUMN], errors="ignore")
    labels = dict(columns) if columns is not None else {c: str(c) for c in shown.columns}
    missing = [c for c in labels if c not in shown.columns]
    if missing:
        raise ValueError(f"show_counts: no column {missing[0]!r} in the table; columns: "
                         f"{', '.join(map(str, shown.columns))}")
    declared = declare_table(labels.values(), [[cell_text(v) for v in row] for row in
                                               shown[list(labels)].itertuples(index=False, name=None)],
                             caption=caption, count_columns=[labels[count]] if count in labels else [],
                             counts=True)
    return publishable(table_html(declared, SECRET_NOTE[lang]), [declared])
