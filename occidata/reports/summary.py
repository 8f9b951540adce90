"""A notebook's key results, machine-readable: summary.json beside the executed notebook.

Curated notebooks end with ``record_summary({...})``. The report runner points
``OCCIDATA_REPORT_SUMMARY`` at the run's archive folder; run by hand, the file lands in the
working directory. Reports and dashboards read these files instead of re-running analyses.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from occidata import catalog
from occidata.atomic import write_atomic
from occidata.reports.archive import FILE_MODE
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


def summary_path(path: str | os.PathLike | None = None) -> Path:
    """Where the summary goes: ``path``, else ``$OCCIDATA_REPORT_SUMMARY``, else ./summary.json."""
    return Path(path or os.environ.get(SUMMARY_ENV) or "summary.json")


class WrittenSummary(type(Path())):
    """The path of a written summary.json, shown in a notebook as a short note: curated notebooks
    end with ``record_summary(...)``, and its output must not print the platform's folders on a
    report's page."""

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(f"Résumé enregistré ({self.name})")


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
        The file written.
    """
    if not isinstance(results, dict):
        raise TypeError(f"record_summary: results must be a dict, not {type(results).__name__}")
    target = summary_path(path)
    document = {
        "results": _plain(results),
        "datasets": datasets_read(),
        "denied": _plain(getattr(catalog, "datasets_denied", list)()),
        "written_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, json.dumps(document, indent=1, ensure_ascii=False, allow_nan=False) + "\n", mode=FILE_MODE)
    return WrittenSummary(target)
