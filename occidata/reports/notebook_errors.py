"""A researcher's mistake in a curated notebook's parameters, shown as its French message alone.

A curated notebook checks its parameters and stops on a bad one with one line naming it and
what is allowed. Raised in a cell, a plain exception shows the Python stack above the message,
which tells the researcher nothing about their parameter; :class:`NotebookParameterError` asks
IPython (its ``_render_traceback_`` hook) to show the message alone. The run still fails:
papermill and the report runner see an error, with this message as its value.
"""

from __future__ import annotations

__all__ = ["NotebookParameterError"]


class NotebookParameterError(ValueError):
    """A bad notebook parameter; the message, in French, names it and says what is allowed.

    >>> NotebookParameterError("start='2019-13-01' : date invalide")._render_traceback_()
    ["⚠ Paramètre incorrect — start='2019-13-01' : date invalide"]
    """

    def _render_traceback_(self) -> list[str]:
        return [f"⚠ Paramètre incorrect — {self}"]
