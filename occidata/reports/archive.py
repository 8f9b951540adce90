"""The report archive: ``<archive>/<name>/<run-id>/`` holding one run each.

A run folder holds the executed notebook (:data:`NOTEBOOK_FILE`), its HTML rendering
without code (:data:`HTML_FILE`), the notebook's ``summary.json`` and the run record
``run.json`` (:class:`RunRecord`). A run is written into ``<run-id>.partial/`` and renamed
to ``<run-id>/`` only when complete, so readers never see half a run; run ids sort in time
order (UTC timestamp first).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from occidata.config import load_config

NOTEBOOK_FILE = "notebook.ipynb"
HTML_FILE = "report.html"
SUMMARY_FILE = "summary.json"
RECORD_FILE = "run.json"
PARTIAL_SUFFIX = ".partial"
# Archived files are their service account's alone (the folders are 0700 too): a researcher's
# kernel must not read a partner report from disk.
FILE_MODE = 0o600


@dataclass
class RunRecord:
    """One report run, as stored in ``run.json``.

    ``status`` is ``"ok"`` or ``"failed"``; ``error`` is None or a dict with ``name``,
    ``message`` and ``traceback`` (plain text). ``started``/``finished`` are ISO 8601 UTC.
    ``datasets`` are the datasets the notebook read (from summary.json), with checksums.
    """

    name: str
    run_id: str
    notebook: str
    parameters: dict = field(default_factory=dict)
    kernel: str = "occidata-cpu"
    status: str = "ok"
    started: str = ""
    finished: str = ""
    duration_s: float = 0.0
    error: dict | None = None
    versions: dict = field(default_factory=dict)
    datasets: list = field(default_factory=list)
    folder: str = ""

    @property
    def ok(self) -> bool:
        """Whether the run succeeded."""
        return self.status == "ok"

    @property
    def notebook_path(self) -> Path:
        """The executed notebook in the run folder."""
        return Path(self.folder) / NOTEBOOK_FILE

    @property
    def html_path(self) -> Path:
        """The HTML rendering (no code) in the run folder."""
        return Path(self.folder) / HTML_FILE

    @property
    def summary_path(self) -> Path:
        """The notebook's summary.json in the run folder (may be missing after a failure)."""
        return Path(self.folder) / SUMMARY_FILE

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "RunRecord":
        """A record from :meth:`to_dict`'s output; unknown keys are ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def default_archive_dir() -> Path:
    """``<state_dir>/reports`` from the platform configuration."""
    return Path(load_config()["state_dir"]) / "reports"


def read_run(folder: str | Path) -> RunRecord:
    """The record of the run in ``folder``; ``folder`` is set to where it is now."""
    folder = Path(folder)
    record = RunRecord.from_dict(json.loads((folder / RECORD_FILE).read_text(encoding="utf-8")))
    record.folder = str(folder)
    return record


def _run_folders(report_dir: Path):
    """Complete run folders of one report: no ``.partial``, no hidden, with a run.json."""
    if not report_dir.is_dir():
        return []
    return [p for p in report_dir.iterdir()
            if p.is_dir() and not p.name.startswith(".") and not p.name.endswith(PARTIAL_SUFFIX)
            and (p / RECORD_FILE).is_file()]


def list_runs(archive_dir: str | Path | None = None, name: str | None = None) -> list[RunRecord]:
    """Every complete run in the archive (or of report ``name``), newest first.

    Runs still being written (``*.partial``) and folders whose run.json cannot be read are skipped.
    """
    root = Path(archive_dir) if archive_dir is not None else default_archive_dir()
    if name is not None:
        reports = [root / name]
    elif root.is_dir():
        reports = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
    else:
        reports = []
    records = []
    for report_dir in reports:
        for folder in _run_folders(report_dir):
            try:
                records.append(read_run(folder))
            except (OSError, ValueError, TypeError):
                continue
    return sorted(records, key=lambda r: (r.started, r.run_id), reverse=True)


def latest_run(archive_dir: str | Path | None = None, name: str | None = None,
               status: str | None = None) -> RunRecord | None:
    """The newest run (of ``name``, with ``status`` if given), or None."""
    for record in list_runs(archive_dir, name):
        if status is None or record.status == status:
            return record
    return None
