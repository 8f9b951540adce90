"""Run a notebook as a report: check its parameters, execute it with papermill, archive the run.

:func:`run_report` refuses bad parameters before any kernel starts, then executes the
notebook in ``<archive>/<name>/<run-id>.partial/`` (the kernel's working directory, with
``OCCIDATA_REPORT_SUMMARY`` pointing at its summary.json), renders HTML without code and
writes run.json, and finally renames the folder to ``<run-id>/``: a reader sees a whole run
or none. A failed run keeps its partial executed notebook and the traceback and is marked
``failed``; it is returned, not raised.

The kernel inherits this process's environment, which is changed for the run and restored
afterwards: run reports concurrently in separate processes, not threads.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import secrets
import shutil
import time
import traceback
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

from occidata.atomic import write_atomic
from occidata.reports.archive import (
    FILE_MODE,
    HTML_FILE,
    NOTEBOOK_FILE,
    PARTIAL_SUFFIX,
    RECORD_FILE,
    SUMMARY_FILE,
    RunRecord,
    default_archive_dir,
)
from occidata.reports.parameters import ParameterError, check_parameters, effective_parameters
from occidata.reports.summary import SUMMARY_ENV

DEFAULT_KERNEL = "occidata-cpu"
KERNELS = ("occidata-cpu", "occidata-gpu")
VERSIONED = ("occidata", "papermill", "nbconvert", "ipykernel", "numpy", "pandas", "numba", "xarray")
OFFLINE_TEMPLATES = Path(__file__).resolve().parent / "nbconvert"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class ReportError(ValueError):
    """A report that cannot be started (e.g. an unknown kernel); nothing was run."""


def new_run_id(now: dt.datetime | None = None) -> str:
    """A sortable run id: UTC time to the millisecond, then 6 random hex digits."""
    now = now or dt.datetime.now(dt.timezone.utc)
    return now.strftime("%Y%m%dT%H%M%S") + f".{now.microsecond // 1000:03d}Z-{secrets.token_hex(3)}"


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def notebook_kernel(notebook_path: str | Path) -> str:
    """The kernel named in the notebook's kernelspec metadata, else occidata-cpu."""
    try:
        meta = json.loads(Path(notebook_path).read_text(encoding="utf-8")).get("metadata", {})
    except (OSError, ValueError):
        return DEFAULT_KERNEL
    return meta.get("kernelspec", {}).get("name") or DEFAULT_KERNEL


def check_kernel(kernel: str) -> None:
    """Raise ReportError when no kernelspec ``kernel`` is installed (named, with those that are)."""
    from jupyter_client.kernelspec import KernelSpecManager

    installed = KernelSpecManager().find_kernel_specs()
    if kernel not in installed:
        raise ReportError(f"no kernel {kernel!r} installed (installed: {', '.join(sorted(installed))}); "
                          "run `occidata kernels install`")


def versions() -> dict[str, str]:
    """Versions of Python and the packages a report's results depend on."""
    found = {"python": platform.python_version()}
    for package in VERSIONED:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


@contextmanager
def _environment(**values: str):
    """Set environment variables (inherited by the kernel) for the block, then restore them."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def _error(exc: BaseException) -> dict:
    """name, message and plain-text traceback of a failure (the kernel's own for a cell error)."""
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        lines = [ANSI.sub("", line) for line in exc.traceback]
        return {"name": exc.ename, "message": exc.evalue, "traceback": "\n".join(lines),
                "cell": exc.exec_count}
    return {"name": type(exc).__name__, "message": str(exc),
            "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))}


def _execute(notebook: Path, output: Path, parameters: dict, kernel: str, timeout: float | None, cwd: Path) -> None:
    """papermill, with the summary path in the kernel's environment."""
    import papermill

    with _environment(**{SUMMARY_ENV: str(cwd / SUMMARY_FILE)}):
        papermill.execute_notebook(
            str(notebook), str(output), parameters=parameters, kernel_name=kernel,
            execution_timeout=timeout, cwd=str(cwd), progress_bar=False,
        )


def render_html(executed: Path, target: Path, language: str = "fr") -> None:
    """The executed notebook as HTML without code cells or prompts, written atomically.

    The template loads nothing from outside the host and adds no script of its own (see
    nbconvert/offline/index.html.j2): the page needs none, and is served under a policy that runs
    none (:func:`occidata.hub.csp.archive_policy`), so a ``<script>`` an output carries stays inert.
    nbconvert's ``sanitize_html`` is not used: its allow-list drops the SVG, table headers and
    captions and ``style`` attributes that the dashboards' snapshots are drawn with.
    """
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
                            extra_template_basedirs=[str(OFFLINE_TEMPLATES)], template_name="offline",
                            language_code=language)
    body, _ = exporter.from_notebook_node(nbformat.read(str(executed), as_version=4))
    write_atomic(target, body, mode=FILE_MODE)


def _datasets(summary: Path) -> list:
    """The datasets the notebook read, from its summary.json (empty when it wrote none)."""
    try:
        return json.loads(summary.read_text(encoding="utf-8")).get("datasets", [])
    except (OSError, ValueError):
        return []


def _finish(partial: Path, record: RunRecord, final: Path) -> None:
    """Render HTML, write run.json, and rename the partial folder into place."""
    executed = partial / NOTEBOOK_FILE
    if executed.is_file():
        try:
            render_html(executed, partial / HTML_FILE)
        except Exception as exc:  # a failed rendering must not lose the run
            if record.error is None:
                record.status, record.error = "failed", _error(exc)
    record.datasets = _datasets(partial / SUMMARY_FILE)
    record.folder = str(final)
    write_atomic(partial / RECORD_FILE, json.dumps(record.to_dict(), indent=1, ensure_ascii=False, default=str) + "\n",
                 mode=FILE_MODE)
    os.rename(partial, final)


def run_report(notebook, parameters: dict | None = None, *, kernel: str | None = None, timeout: float | None = 600,
               archive_dir=None, run_id: str | None = None) -> RunRecord:
    """Check ``parameters``, execute ``notebook`` with papermill and archive the run.

    Parameters
    ----------
    notebook
        Path of the .ipynb; its stem names the report.
    parameters
        Values by name (CLI strings or typed values), checked and coerced against the
        notebook's parameters cell.
    kernel
        ``occidata-cpu`` or ``occidata-gpu``; default: the notebook's kernelspec, else occidata-cpu.
    timeout
        Seconds allowed per cell (papermill's ``execution_timeout``); None for no limit.
    archive_dir
        The archive root (default ``<state_dir>/reports``); the run goes to ``<archive>/<name>/<run-id>/``.
    run_id
        Imposed id (e.g. by the scheduler, to avoid duplicates); default :func:`new_run_id`.

    Returns
    -------
    RunRecord
        Status ``ok`` or ``failed`` (with ``error``); a failed notebook does not raise.

    Raises
    ------
    ParameterError, ReportError
        Before anything runs or is written: bad parameters, missing notebook, unknown kernel,
        or a run id already in the archive.
    """
    notebook = Path(notebook).resolve()
    checked = check_parameters(notebook, parameters or {})
    kernel = kernel or notebook_kernel(notebook)
    check_kernel(kernel)
    name = notebook.stem
    run_id = run_id or new_run_id()
    report_dir = Path(archive_dir) if archive_dir is not None else default_archive_dir()
    final = report_dir / name / run_id
    partial = final.with_name(run_id + PARTIAL_SUFFIX)
    if final.exists() or partial.exists():
        raise ReportError(f"report {name}: run {run_id} already exists in {report_dir}")
    partial.mkdir(parents=True)

    started = dt.datetime.now(dt.timezone.utc)
    clock = time.perf_counter()
    record = RunRecord(name=name, run_id=run_id, notebook=str(notebook),
                       parameters=effective_parameters(notebook, checked), kernel=kernel,
                       started=_iso(started), versions=versions())
    try:
        _execute(notebook, partial / NOTEBOOK_FILE, checked, kernel, timeout, partial)
    except Exception as exc:
        record.status, record.error = "failed", _error(exc)
    except BaseException:  # interrupted: leave nothing half-written behind
        shutil.rmtree(partial, ignore_errors=True)
        raise
    record.finished = _iso(dt.datetime.now(dt.timezone.utc))
    record.duration_s = round(time.perf_counter() - clock, 3)
    try:
        _finish(partial, record, final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return record


__all__ = ["KERNELS", "ParameterError", "ReportError", "RunRecord", "new_run_id", "run_report", "render_html"]
