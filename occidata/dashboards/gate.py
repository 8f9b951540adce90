"""The publication gate: what a notebook must pass before citizens see it (GDPR, issue 7).

:func:`check_publication` runs a notebook with papermill with **public access only**
(``OCCIDATA_ACCESS_LEVELS`` empty, no hub token, no data service URL). Run as root (server
mode, or demo mode started as root), it runs the untrusted notebook in a **throwaway account**
made for that run (``server.gate_prefix``) and a private folder of its own under /tmp: the
account can read public data and write its own folder, nothing that is served, no archive, no
other gate run; afterwards it and its processes are removed, root copies what the run left
(regular files only) to ``<state>/gate/runs/`` and judges that copy. Not run as root, the notebook runs as the caller
and the verdict is advisory (:data:`ADVISORY`). The notebook is refused when:

1. it read non-public data, or tried to: every ``occidata.catalog.load`` is noted cell by
   cell (reads, and loads refused with PermissionError, even when the notebook catches the
   error), as well as the run's summary.json;
2. it shows anything the privacy rules cannot check, or a count under ``k``: its executed
   outputs are judged by :func:`occidata.privacy.disclosure.judge_notebook`, fail-closed (only
   tables shown through ``occidata.privacy.show_counts`` / ``publishable`` pass, and only when
   their counts are 0, suppressed or at least k; text, JSON, Markdown, figures, plain HTML and
   Markdown cells with numbers are refused);
3. its execution failed.

:func:`publish_notebook` runs the gate, records the steward's approval in the audit log and
installs the notebook, without outputs, in the dashboards' folder. The snapshot service applies
:func:`check_snapshot` (the same output checks, on an archived run) before serving a snapshot.

The privacy rules (the threshold k, what a count is, what may be shown) live in
:mod:`occidata.privacy.disclosure`; this module runs notebooks and records verdicts. Reasons
name the cell (numbered from 1 in the order of the notebook as written, Markdown cells
included, the cells the gate or papermill add not counted) and the output within it.

**Refusals in the audit log.** An approval is recorded as ``publication`` with
``outcome: "approved"`` and ``by`` (the steward, pseudonymised). A refused publication is
recorded too, as ``publication`` with ``outcome: "refused"``, the reasons, and no ``by``: the
steward asked, nobody approved.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import stat
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..atomic import write_atomic
from ..config import load_config
from ..levels import LEVELS
from ..modes import mode_of
from ..privacy.disclosure import GATE_TAG, K, count_columns_of, judge_notebook, original_cells
from ..state import StatePaths
from . import APPS_DIR

log = logging.getLogger("occidata.dashboards.gate")

DEFAULT_K = K  # occidata.privacy.disclosure.K: the threshold lives there
READS_FILE = "gate-reads.json"  # written by the gate's cell beside summary.json
VERDICT_FILE = "gate.json"  # the verdict on an archived snapshot, for people
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
# Variables that would give a kernel more than public access.
PRIVILEGED_ENV = ("JUPYTERHUB_API_TOKEN", "JPY_API_TOKEN", "OCCIDATA_DATA_SERVICE_URL", "JUPYTERHUB_CLIENT_ID",
                  "JUPYTERHUB_OAUTH_CALLBACK_URL", "JUPYTERHUB_OAUTH_SCOPES", "JUPYTERHUB_OAUTH_ACCESS_SCOPES",
                  "JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES")

class GateError(ValueError):
    """A notebook the gate cannot judge (missing, not a notebook, bad name or parameters): a user mistake."""


@dataclass
class GateResult:
    """The gate's verdict on one notebook.

    ``reasons``: why it is refused, each naming what and where (empty: it passes).
    ``run``: the archived run (:class:`occidata.reports.archive.RunRecord`) of the public execution;
    ``executed``: its executed notebook. ``reads``/``denied``: catalogue loads noted during the run.
    ``findings``: the outputs the privacy judge refused, as dicts (see
    :class:`occidata.privacy.disclosure.Finding`: cell, output, kind, problem, text).
    """

    notebook: Path
    k: int
    reasons: list[str] = field(default_factory=list)
    run: Any = None
    executed: Path | None = None
    reads: list[dict] = field(default_factory=list)
    denied: list[dict] = field(default_factory=list)
    findings: list[dict] = field(default_factory=list)
    advisory: bool = False

    @property
    def ok(self) -> bool:
        return not self.reasons


# --- reads of non-public data ------------------------------------------------------------------------

# The first cell of the gate's copy: notes every catalogue load (and load refused with
# PermissionError, even if the notebook catches it) with the execution count of its cell.
SETUP_CELL = '''\
# Added by the occidata publication gate: notes catalogue reads, cell by cell.
def _occidata_gate_setup():
    import json, os
    from pathlib import Path
    import occidata.catalog as catalog

    target = Path(os.environ.get("OCCIDATA_REPORT_SUMMARY") or "summary.json").resolve().with_name(%(file)r)
    original = catalog.load
    refused = []
    notes = {"reads": [], "denied": []}
    seen = {"reads": 0, "denied": 0, "other": 0}

    def load(name, *args, **kwargs):
        try:
            return original(name, *args, **kwargs)
        except PermissionError as error:
            try:
                access = catalog.show(name).get("access")
            except Exception:
                access = None
            refused.append({"name": name, "access": access, "reason": str(error)})
            raise

    load.__doc__, load.__wrapped__ = original.__doc__, original
    catalog.load = load

    def after(result=None):
        count = getattr(result, "execution_count", None)
        reads = catalog.datasets_read()
        other = getattr(catalog, "datasets_denied", lambda: [])()
        new = ([("reads", r) for r in reads[seen["reads"]:]] + [("denied", r) for r in refused[seen["denied"]:]]
               + [("denied", r) for r in other[seen["other"]:]])
        seen.update(reads=len(reads), denied=len(refused), other=len(other))
        for kind, item in new:
            note = {"name": item.get("name"), "access": item.get("access"), "execution_count": count}
            if kind == "denied":
                note["reason"] = item.get("reason")
            if note not in notes[kind]:
                notes[kind].append(note)
        if new:
            tmp = target.with_name(target.name + ".tmp")
            tmp.write_text(json.dumps(notes))
            os.replace(tmp, target)

    get_ipython().events.register("post_run_cell", after)


_occidata_gate_setup()
del _occidata_gate_setup
''' % {"file": READS_FILE}


def _exec_counts(notebook: dict) -> dict[int, int]:
    """Execution count -> cell number (as in :func:`original_cells`)."""
    return {c.get("execution_count"): n for n, c in original_cells(notebook)
            if c.get("cell_type") == "code" and c.get("execution_count") is not None}


def read_reasons(reads: list[dict], denied: list[dict], cells: dict[int, int] | None = None) -> list[str]:
    """One reason per non-public dataset read or tried, naming the cell when it is known."""
    cells = cells or {}
    reasons, said = [], set()
    for kind, items in (("read", reads), ("denied", denied)):
        for item in items:
            access = item.get("access")
            if kind == "read" and access == "public":
                continue
            cell = cells.get(item.get("execution_count"))
            key = (item.get("name"), cell)
            if key in said:
                continue
            said.add(key)
            level = access if access in LEVELS and access != "public" else "non-public"
            text = f"reads {level} data: {item.get('name')}" + (f" (cell {cell})" if cell else "")
            if kind == "denied":
                text += " — refused with public access" + (f": {item['reason']}" if item.get("reason") else "")
            reasons.append(text)
    return reasons


def _summary(folder: Path) -> dict:
    try:
        return json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


# --- running with public access only -----------------------------------------------------------------


def public_environment(cfg: dict, base: dict | None = None) -> dict:
    """The environment a gate's kernel gets: no access level, no hub token, no data service."""
    env = dict(os.environ if base is None else base)
    for name in PRIVILEGED_ENV:
        env.pop(name, None)
    env["OCCIDATA_ACCESS_LEVELS"] = ""
    env["OCCIDATA_DATA_DIR"] = str(cfg["data_dir"])
    env["OCCIDATA_STATE_DIR"] = str(cfg["state_dir"])
    return env


@contextlib.contextmanager
def _swapped_environment(env: dict):
    """This process's environment replaced by ``env`` for the block (the kernel inherits it)."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _read_notebook(path: Path) -> dict:
    if not path.is_file():
        raise GateError(f"{path}: no such notebook")
    if path.suffix != ".ipynb":
        raise GateError(f"{path}: not a notebook (expected a .ipynb file)")
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise GateError(f"{path}: not a readable notebook ({error})") from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise GateError(f"{path}: not a notebook (no list of cells)")
    return notebook


def _gate_copy(notebook: dict) -> dict:
    """The notebook with the gate's setup cell first (and an empty parameters cell if it has none)."""
    import nbformat

    node = nbformat.from_dict(json.loads(json.dumps(notebook)))
    setup = nbformat.v4.new_code_cell(SETUP_CELL, metadata={"tags": [GATE_TAG]})
    added = [setup]
    if not any("parameters" in c.get("metadata", {}).get("tags", []) for c in node.cells):
        added.append(nbformat.v4.new_code_cell("", metadata={"tags": ["parameters", GATE_TAG]}))
    if node.get("nbformat_minor", 0) < 5:  # cell ids came with nbformat 4.5
        for cell in added:
            cell.pop("id", None)
    node.cells = added + list(node.cells)
    return node


def _gate_parameters(copy: Path) -> dict:
    """Snapshot mode for dashboards (no widgets: their page is plain HTML in the outputs)."""
    from ..reports.parameters import ParameterError, read_parameters

    try:
        declared = read_parameters(copy)
    except ParameterError as error:
        raise GateError(str(error)) from None
    return {"snapshot": True} if "snapshot" in declared and declared["snapshot"].type == "bool" else {}


def isolated(cfg: dict) -> bool:
    """Whether the gate runs submitted notebooks in a throwaway account (it must be root to make
    one). Otherwise it runs them as the caller, and its verdict is advisory: the notebook could
    have read or written whatever the caller may."""
    return os.geteuid() == 0


ADVISORY = ("avis consultatif : la passerelle a exécuté le notebook sous votre propre compte (mode démo, "
            "sans root) ; il a pu lire ou écrire tout ce que vous pouvez / advisory verdict: the gate ran the "
            "notebook as you (demo mode, not root), so it could read or write whatever you can")


def gate_root(cfg: dict) -> Path:
    """``<state>/gate``: root's, where the judged copies of finished runs are kept (``runs/``, 0700)."""
    root = Path(cfg["state_dir"]) / "gate"
    (root / "runs").mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o711)
    os.chmod(root / "runs", 0o700)
    return root


def _check_reachable(cfg: dict) -> None:
    """A throwaway account must reach the public data and nothing else: say so plainly when not."""
    from ..hub.isolation import dataset_access, unreadable_by_others

    data_dir = Path(cfg["data_dir"])
    blocked = unreadable_by_others(data_dir)
    if blocked is not None:
        raise GateError(f"the data directory {data_dir} cannot be read by other accounts ({blocked} is "
                        "closed), so the gate's throwaway account could not read public data; put the data "
                        "where every account can read it (data_dir), as server mode does")
    opened = [name for name, access in dataset_access().items()
              if access != "public" and (data_dir / name).exists() and unreadable_by_others(data_dir / name) is None]
    if opened:
        raise GateError(f"non-public datasets are readable by every account in {data_dir} ({', '.join(opened)}): "
                        "the gate will not run an untrusted notebook beside them; `occidata up` closes them "
                        "(or `occidata data build`)")


def _account_environment(cfg: dict, work: Path, user: str) -> dict:
    """All a throwaway account's run gets: public data, its own folder, no secret, no token."""
    from ..hub.isolation import server_python_environment
    from ..hub.services import flat_env

    bin_dir = str(Path(sys.executable).parent)
    env = {"PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(work),
           "USER": user, "LOGNAME": user, "TMPDIR": str(work / "tmp"), "JUPYTER_RUNTIME_DIR": str(work / "runtime"),
           "IPYTHONDIR": str(work / "ipython"), "MPLCONFIGDIR": str(work / "matplotlib"),
           "NUMBA_CACHE_DIR": str(work / "numba"), "XDG_CACHE_HOME": str(work / "cache"),
           "OCCIDATA_MODE": str(cfg["mode"]), "OCCIDATA_LAB_NAME": str(cfg.get("lab_name", "")),
           **server_python_environment(), **flat_env("OCCIDATA_SOURCES", cfg.get("sources", {}))}
    return public_environment(cfg, env)


def _copy_out(folder: Path, target: Path) -> Path:
    """Copy a run folder the throwaway account wrote into ``target`` (root's), keeping regular
    files only: a link it planted must not make root read something else."""
    target.mkdir(mode=0o700)
    for root, dirs, files in os.walk(folder, followlinks=False):
        here = target / Path(root).relative_to(folder)
        for name in dirs:
            if not (Path(root) / name).is_symlink():
                (here / name).mkdir(mode=0o700)
        for name in files:
            source = Path(root) / name
            try:
                fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW)
            except OSError:
                continue  # a link, or gone
            with os.fdopen(fd, "rb") as handle:
                if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                    continue
                (here / name).write_bytes(handle.read())
    return target


def _execute_isolated(copy: Path, parameters: dict, cfg: dict, timeout: float | None):
    """Run the gate's copy in a throwaway account and folder; the RunRecord of root's copy of it."""
    from ..hub.accounts import kill_account_processes, run_as, throwaway_account
    from ..hub.isolation import server_python
    from ..reports.archive import list_runs

    _check_reachable(cfg)
    root = gate_root(cfg)
    with throwaway_account(cfg["server"]["gate_prefix"]) as account:
        # Under /tmp, not the state directory, which may lie in a home closed to other accounts.
        outer = Path(tempfile.mkdtemp(prefix="occidata-gate-"))
        os.chmod(outer, 0o711)
        work = outer / "run"
        try:
            work.mkdir()
            os.chown(work, account.pw_uid, account.pw_gid)
            os.chmod(work, 0o700)
            notebook = work / copy.name
            shutil.copyfile(copy, notebook)
            os.chown(notebook, account.pw_uid, account.pw_gid)
            python = server_python(cfg) if mode_of(cfg).own_accounts else sys.executable
            command = [python, "-m", "occidata.dashboards.gate", "--execute", str(notebook), "--archive",
                       str(work / "runs"), "--parameters", json.dumps(parameters)]
            command += ["--timeout", str(timeout)] if timeout else []
            try:
                done = run_as(account, command, env=_account_environment(cfg, work, account.pw_name), cwd=work)
            except OSError as error:  # e.g. a Python the account may not run
                raise GateError(f"cannot run the gate as a throwaway account: {error} (the platform's Python "
                                "must be readable by every account: see server.python)") from None
            if done.returncode == 2:
                lines = done.stderr.strip().splitlines()
                raise GateError(lines[-1] if lines else "the gate's run failed")
            if done.returncode != 0:
                raise RuntimeError(f"the gate's run failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")
            kill_account_processes(account.pw_uid)  # nothing may change the run while it is copied
            runs = list_runs(work / "runs", copy.stem)
            if not runs:
                raise RuntimeError(f"the gate's run left no record: {done.stderr.strip()[-2000:]}")
            kept = _copy_out(Path(runs[0].folder), root / "runs" / f"{runs[0].run_id}-{account.pw_name}")
        finally:
            shutil.rmtree(outer, ignore_errors=True)
    from ..reports.archive import read_run

    record = read_run(kept)
    record.folder = str(kept)
    return record


def _execute_here(copy: Path, parameters: dict, cfg: dict, timeout: float | None):
    """Run the gate's copy with public access in this account (advisory verdict)."""
    from ..reports.parameters import ParameterError
    from ..reports.runner import ReportError, run_report

    archive = Path(cfg["state_dir"]) / "publication-gate" / "runs"
    archive.mkdir(parents=True, exist_ok=True)
    with _swapped_environment(public_environment(cfg)):
        try:
            return run_report(copy, parameters, timeout=timeout, archive_dir=archive)
        except (ParameterError, ReportError) as error:
            raise GateError(str(error)) from None


def check_publication(notebook, *, k: int = DEFAULT_K, cfg: dict | None = None,
                      timeout: float | None = 600, progress=None) -> GateResult:
    """Run ``notebook`` with public access only and judge it (see the module's docstring).

    Parameters
    ----------
    notebook
        The .ipynb to publish.
    k
        The smallest count a table may show (11 for health data).
    cfg
        The platform configuration (default :func:`occidata.config.load_config`).
    timeout
        Seconds allowed per cell.
    progress
        A function called with a line of text at each step (the CLI prints them).

    Raises
    ------
    GateError
        When the notebook cannot be judged: missing, not a notebook, bad parameters cell,
        no such kernel. A notebook that fails to run is not an error: it is refused.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 2:
        raise GateError(f"k must be a whole number of at least 2, not {k!r}")
    say = progress or (lambda text: None)
    cfg = cfg or load_config()
    path = Path(notebook).resolve()
    original = _read_notebook(path)
    result = GateResult(notebook=path, k=k, advisory=not isolated(cfg))
    staging = Path(tempfile.mkdtemp(prefix="occidata-gate-"))
    try:
        import nbformat

        copy = staging / path.name
        nbformat.write(_gate_copy(original), str(copy))
        parameters = _gate_parameters(copy)
        say(f"running {path.name} with public access only"
            + (" in a throwaway account" if not result.advisory else " as you (advisory)")
            + (" (snapshot mode)" if parameters else "") + "…")
        if result.advisory:
            record = _execute_here(copy, parameters, cfg, timeout)
        else:
            record = _execute_isolated(copy, parameters, cfg, timeout)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    result.run = record
    result.executed = record.notebook_path
    try:
        executed = json.loads(record.notebook_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        executed = {"cells": []}
    cells = _exec_counts(executed)

    say("checking reads of non-public data…")
    folder = Path(record.folder)
    try:
        notes = json.loads((folder / READS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        notes = {}
    result.reads = list(notes.get("reads", [])) + [dict(d) for d in record.datasets
                                                   if d.get("access") != "public"]
    result.denied = list(notes.get("denied", [])) + list(_summary(folder).get("denied", []))
    result.reasons.extend(read_reasons(result.reads, result.denied, cells))

    say(f"checking its outputs: only checked tables, no count under {k}…")
    findings = judge_notebook(executed, k, count_columns_of(original))
    if not record.ok:  # the failure is the reason: not its traceback, nor papermill's note about it
        findings = [f for f in findings if f.kind != "error" and f.tag is None]
    result.findings = [f.as_dict() for f in findings]
    result.reasons.extend(f.text for f in findings)

    if not record.ok:
        error = record.error or {}
        cell = cells.get(error.get("cell"))
        result.reasons.append(f"execution failed{f' in cell {cell}' if cell else ''}: "
                              f"{error.get('name')}: {error.get('message')}")
    return result


# --- publishing -------------------------------------------------------------------------------------


def apps_dir_of(cfg: dict) -> Path:
    return Path(cfg["dashboards"]["apps_dir"] or APPS_DIR)


def audit_log_of(cfg: dict) -> Path:
    return StatePaths(Path(cfg["state_dir"])).logs / "audit.jsonl"


def without_outputs(notebook: dict) -> dict:
    """A copy of the notebook with no outputs, execution counts or papermill metadata."""
    clean = json.loads(json.dumps(notebook))
    for cell in clean.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
        cell.get("metadata", {}).pop("papermill", None)
        cell.get("metadata", {}).pop("execution", None)
    clean.get("metadata", {}).pop("papermill", None)
    return clean


def install_notebook(notebook: dict, target: Path, replace: bool = False) -> None:
    """Write ``notebook`` at ``target`` atomically; an existing file is kept unless ``replace``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        if replace:
            os.replace(tmp, target)
        else:
            try:
                os.link(tmp, target)  # fails if the target exists: no overwrite, even in a race
            except FileExistsError:
                raise GateError(f"{target} already exists; pass replace=True (--replace) to replace it") from None
    finally:
        Path(tmp).unlink(missing_ok=True)


class PublicationRefused(Exception):
    """The gate refused the notebook; ``result`` holds the reasons."""

    def __init__(self, result: GateResult):
        self.result = result
        super().__init__(f"{result.notebook.name} refused: " + "; ".join(result.reasons))


def publish_notebook(notebook, *, approved_by: str, k: int = DEFAULT_K, cfg: dict | None = None,
                     replace: bool = False, progress=None) -> Path:
    """Gate ``notebook``, record the approval, install it (without outputs) as a dashboard.

    The dashboard's slug is the notebook's name (lower-case letters, digits, dashes). Returns
    the installed path.

    Raises
    ------
    GateError
        A user mistake: missing file, not a notebook, a name that is not a slug, an app of that
        name already installed without ``replace``, no steward named.
    PublicationRefused
        The gate refused it: nothing installed; the refusal is in the audit log (outcome refused).
    """
    from ..privacy.audit import record_event

    say = progress or (lambda text: None)
    if not approved_by or not str(approved_by).strip():
        raise GateError("a publication needs the steward who approves it (--approved-by)")
    cfg = cfg or load_config()
    path = Path(notebook).resolve()
    original = _read_notebook(path)
    slug = path.stem
    if not SLUG.match(slug):
        raise GateError(f"{path.name}: a dashboard's name must be lower-case letters, digits and dashes "
                        "(e.g. comptages-velo.ipynb), since it is the page's address")
    target = apps_dir_of(cfg) / f"{slug}.ipynb"
    if target.exists() and not replace:
        raise GateError(f"a dashboard {slug!r} is already installed ({target}); pass --replace to replace it")
    result = check_publication(path, k=k, cfg=cfg, progress=say)
    if result.advisory:
        say(ADVISORY)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    log_path = audit_log_of(cfg)
    run_id = result.run.run_id if result.run is not None else None
    if not result.ok:
        record_event(log_path, "publication", who=approved_by, what=slug, outcome="refused",
                     notebook_sha256=digest, k=k, run=run_id, reasons=result.reasons)
        raise PublicationRefused(result)
    say(f"approved by {approved_by}: recording the publication in the audit log…")
    record_event(log_path, "publication", who=approved_by, by=approved_by, what=slug, outcome="approved",
                 notebook_sha256=digest, k=k, run=run_id, advisory=result.advisory)
    install_notebook(without_outputs(original), target, replace=replace)
    from ..approvals import approve

    approve(cfg["state_dir"], target, name=slug, kind="dashboard", by=approved_by)
    say(f"installed {target}")
    return target


# --- snapshots --------------------------------------------------------------------------------------


_VERDICTS: dict[tuple[str, int], list[str]] = {}


def check_snapshot(record, k: int = DEFAULT_K) -> list[str]:
    """Why an archived snapshot run must not be served (empty: it may be): non-public reads
    in its summary, and every output of its executed notebook that the privacy judge refuses
    (:func:`occidata.privacy.disclosure.judge_notebook`); a run without a readable executed
    notebook is refused.

    Verdicts are kept per run folder for the life of the process, and written to the run's
    ``gate.json`` for people (best effort).
    """
    key = (str(record.folder), k)
    if key in _VERDICTS:
        return _VERDICTS[key]
    folder = Path(record.folder)
    summary = _summary(folder)
    reads = [d for d in (record.datasets or summary.get("datasets", [])) if d.get("access") != "public"]
    reasons = read_reasons(reads, list(summary.get("denied", [])))
    try:
        executed = json.loads(record.notebook_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        executed = None
    if isinstance(executed, dict) and isinstance(executed.get("cells"), list):
        reasons += [f.text for f in judge_notebook(executed, k)]
    else:  # nothing to judge: never served (fail-closed)
        reasons.append(f"no executed notebook to judge in the run folder ({record.notebook_path.name} missing "
                       "or unreadable)")
    _VERDICTS[key] = reasons
    with contextlib.suppress(OSError):
        write_atomic(folder / VERDICT_FILE, json.dumps({"k": k, "ok": not reasons, "reasons": reasons},
                                                       indent=1, ensure_ascii=False) + "\n")
    return reasons


# --- the child process of a throwaway account ----------------------------------------------------------------------


def _child(argv: list[str] | None = None) -> int:
    """``python -m occidata.dashboards.gate --execute COPY --archive DIR``: one run, its folder as JSON."""
    from ..reports.parameters import ParameterError
    from ..reports.runner import ReportError, run_report

    parser = argparse.ArgumentParser(prog="occidata.dashboards.gate")
    parser.add_argument("--execute", required=True)
    parser.add_argument("--archive", required=True)
    parser.add_argument("--parameters", default="{}")
    parser.add_argument("--timeout", type=float, default=None)
    args = parser.parse_args(argv)
    try:
        record = run_report(args.execute, json.loads(args.parameters), timeout=args.timeout,
                            archive_dir=args.archive)
    except (ParameterError, ReportError) as error:
        print(error, file=sys.stderr)
        return 2
    print(json.dumps({"folder": record.folder}))
    return 0


if __name__ == "__main__":
    sys.exit(_child())
