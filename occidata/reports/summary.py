"""A notebook's key results, machine-readable: summary.json in the run's folder, or the user's own.

Curated notebooks end with ``record_summary({...})``. The report runner points
``OCCIDATA_REPORT_SUMMARY`` at the run's archive folder. Run by hand (in a lab, where the
kernel's working directory is the notebook's folder, often shared or read-only), the file goes to
the user's own ``$XDG_STATE_HOME/occidata/summaries/<notebook>/summary.json``, never beside the
notebook, and the cell's output says where. Reports and dashboards read these files instead of
re-running analyses.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from occidata import catalog
from occidata.atomic import write_atomic
from occidata.config import default_state_dir
from occidata.reports.archive import FILE_MODE, SUMMARY_FILE
from occidata.catalog import datasets_read

SUMMARY_ENV = "OCCIDATA_REPORT_SUMMARY"


def _plain(value: Any) -> Any:
    """JSON-safe: NumPy scalars and arrays, pandas timestamps, NaN (as null), paths, sets."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (dt.date, dt.datetime)) or hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return value


# Set by Jupyter Server for the kernels it starts: the notebook's path.
SESSION_ENV = "JPY_SESSION_NAME"


def hand_run_path(environ=None) -> Path:
    """Where a notebook run by hand keeps its summary: the user's own
    ``$XDG_STATE_HOME/occidata/summaries/<notebook>/summary.json`` (``<notebook>`` is the stem
    of the lab's notebook, else ``notebook``)."""
    environ = os.environ if environ is None else environ
    stem = Path(environ.get(SESSION_ENV) or "").stem
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("._") or "notebook"
    return Path(default_state_dir()) / "summaries" / name / SUMMARY_FILE


def summary_path(path: str | os.PathLike | None = None) -> Path:
    """Where the summary goes: ``path``, else ``$OCCIDATA_REPORT_SUMMARY`` (the platform's runs:
    the run's own folder), else :func:`hand_run_path` — never the working directory."""
    return Path(path or os.environ.get(SUMMARY_ENV) or hand_run_path())


class WrittenSummary(type(Path())):
    """The path of a written summary.json, shown in a notebook as a short note: curated notebooks
    end with ``record_summary(...)``, and its output must not print the platform's folders on a
    report's page."""

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(f"Résumé enregistré ({self.name})")


class HandRunSummary(WrittenSummary):
    """The path of a summary written by a notebook run by hand: the user's own file, shown whole
    so that they find it."""

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(f"Résumé enregistré dans {self}")


def record_summary(results: dict, path: str | os.PathLike | None = None) -> Path:
    """Write ``results`` (plus the datasets this process read, and those it was refused) as
    summary.json, atomically: ``datasets`` and ``denied`` (name, access, reason) are what the
    publication gate checks.

    Parameters
    ----------
    results
        Key results: numbers, strings, lists, dicts; NumPy and pandas values are converted,
        NaN becomes null.
    path
        Override the destination (see :func:`summary_path`).

    Returns
    -------
    pathlib.Path
        The file written; shown as its name for the platform's runs, whole for a run by hand.
    """
    if not isinstance(results, dict):
        raise TypeError(f"record_summary: results must be a dict, not {type(results).__name__}")
    by_hand = not (path or os.environ.get(SUMMARY_ENV))
    target = summary_path(path)
    document = {
        "results": _plain(results),
        "datasets": datasets_read(),
        "denied": _plain(getattr(catalog, "datasets_denied", list)()),
        "written_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    text = json.dumps(document, indent=1, ensure_ascii=False, allow_nan=False) + "\n"
    if not by_hand:
        write_atomic(target, text, mode=FILE_MODE)
        return WrittenSummary(target)
    try:
        write_atomic(target, text, mode=FILE_MODE)
    except OSError:  # no writable home (a service account, a read-only home): a private temporary folder
        target = Path(tempfile.mkdtemp(prefix=f"occidata-{target.parent.name}-")) / SUMMARY_FILE
        write_atomic(target, text, mode=FILE_MODE)
    return HandRunSummary(target)
