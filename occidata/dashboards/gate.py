"""The publication gate: what a notebook must pass before citizens see it (GDPR, issue 7).

:func:`check_publication` runs a notebook with papermill with **public access only**
(``OCCIDATA_ACCESS_LEVELS`` empty, no hub token, no data service URL; optionally as another
system user, ``run_as``, so that the kernel cannot read protected files either) and refuses it
when:

1. it read non-public data, or tried to: every ``occidata.catalog.load`` is noted cell by
   cell (reads, and loads refused with PermissionError, even when the notebook catches the
   error), as well as the run's summary.json;
2. a table in its outputs shows a count under ``k`` (see :func:`scan_outputs` for which
   columns are counts);
3. its execution failed.

:func:`publish_notebook` runs the gate, records the steward's approval in the audit log and
installs the notebook, without outputs, in the dashboards' folder. The snapshot service applies
:func:`check_snapshot` (the same output checks, on an archived run) before serving a snapshot.

Cells are numbered from 1 in the order of the notebook as written (markdown cells included),
the cells the gate or papermill add not counted. Tables are numbered from 1 within a cell's
outputs, rows from 1 within a table's body.

**Which columns are counts.** A column is a count when its header, lower-cased, without
accents, ``_`` and ``-`` read as spaces and a trailing ``(…)`` left out,

- is one of: n, nb, count, counts, effectif, effectifs, nombre, number, admissions, cas,
  cases, patients; or
- starts with: "nombre de", "nombre d'", "nb ", "n ", "number of", "count of", "effectif(s) "
  (e.g. ``n_admissions``, "Nombre de séjours"); or
- ends with: " count", " counts", " n" (e.g. ``admissions_count``);

unless the header speaks of a rate or a share: it holds "%" or "°" (n°: an identifier), or
one of the words taux, rate, part, share, pourcentage, percent, proportion, moyenne, mean,
average, median, mediane, ratio, pour, per. A notebook may name more count columns in its
metadata, ``{"occidata": {"count_columns": ["séjours", …]}}``; it can add columns, never
exempt one (the gate is not switched off by the notebook it judges).

A count cell is refused when it reads as a whole number from 1 to ``k - 1`` ("3", "3.0",
"3,000000"); blanks, "<11", "—", "NaN", "<NA>" and any other text pass, and so does 0 (a zero
names nobody).

**Refusals in the audit log.** An approval is recorded as ``publication`` with
``outcome: "approved"`` and ``by`` (the steward, pseudonymised). A refused publication is
recorded too, as ``publication`` with ``outcome: "refused"``, the reasons, and no ``by``: the
steward asked, nobody approved.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import html as html_lib
import json
import logging
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Iterable

from ..atomic import write_atomic
from ..config import load_config
from ..state import StatePaths
from . import APPS_DIR

log = logging.getLogger("occidata.dashboards.gate")

DEFAULT_K = 11
GATE_TAG = "occidata-gate"  # cells the gate adds to its copy of the notebook
PAPERMILL_TAGS = {"injected-parameters", "papermill-error-cell-tag"}  # cells papermill adds
READS_FILE = "gate-reads.json"  # written by the gate's cell beside summary.json
VERDICT_FILE = "gate.json"  # the verdict on an archived snapshot, for people
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
# Variables that would give a kernel more than public access.
PRIVILEGED_ENV = ("JUPYTERHUB_API_TOKEN", "JPY_API_TOKEN", "OCCIDATA_DATA_SERVICE_URL", "JUPYTERHUB_CLIENT_ID",
                  "JUPYTERHUB_OAUTH_CALLBACK_URL", "JUPYTERHUB_OAUTH_SCOPES", "JUPYTERHUB_OAUTH_ACCESS_SCOPES",
                  "JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES")

COUNT_WORDS = {"n", "nb", "count", "counts", "effectif", "effectifs", "nombre", "number", "admissions", "cas",
               "cases", "patients"}
COUNT_PREFIXES = ("nombre de ", "nombre d'", "nombre d ", "nb ", "n ", "number of ", "count of ", "effectif ",
                  "effectifs ")
COUNT_SUFFIXES = (" count", " counts", " n")
NOT_COUNT_WORDS = {"taux", "rate", "part", "share", "pourcentage", "percent", "proportion", "moyenne", "mean",
                   "average", "median", "mediane", "ratio", "pour", "per"}
SPACES = re.compile(r"[\s\u00a0\u202f\u2009']+")
GROUPED = re.compile(r"^\d{1,3}(?:[\s\u00a0\u202f\u2009.,']\d{3})+$")
WHOLE = re.compile(r"^\+?(\d+)(?:[.,]0+)?$")


class GateError(ValueError):
    """A notebook the gate cannot judge (missing, not a notebook, bad name or parameters): a user mistake."""


@dataclass
class GateResult:
    """The gate's verdict on one notebook.

    ``reasons``: why it is refused, each naming what and where (empty: it passes).
    ``run``: the archived run (:class:`occidata.reports.archive.RunRecord`) of the public execution;
    ``executed``: its executed notebook. ``reads``/``denied``: catalogue loads noted during the run.
    ``findings``: the small counts found, as dicts (cell, table, column, row, value).
    """

    notebook: Path
    k: int
    reasons: list[str] = field(default_factory=list)
    run: Any = None
    executed: Path | None = None
    reads: list[dict] = field(default_factory=list)
    denied: list[dict] = field(default_factory=list)
    findings: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.reasons


# --- which columns hold counts, and which values are small --------------------------------------


def _plain_text(label: Any) -> str:
    text = unicodedata.normalize("NFKD", str(label)).encode("ascii", "ignore").decode("ascii")
    text = text.lower().replace("_", " ").replace("-", " ").replace("’", "'")
    return re.sub(r"\s+", " ", text).strip()


def is_count_column(label: Any, extra: Iterable[str] = ()) -> bool:
    """Whether a column headed ``label`` holds counts (the rule is in the module's docstring)."""
    text = _plain_text(label)
    if not text:
        return False
    if text in {_plain_text(name) for name in extra}:
        return True
    if "%" in str(label) or "°" in str(label) or set(re.findall(r"[a-z]+", text)) & NOT_COUNT_WORDS:
        return False
    bare = re.sub(r"\s*\([^)]*\)\s*$", "", text).strip()
    return (bare in COUNT_WORDS or bare.startswith(COUNT_PREFIXES) or bare.endswith(COUNT_SUFFIXES))


def small_count(value: Any, k: int) -> int | None:
    """The count ``value`` shows when it is a whole number from 1 to k - 1, else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        if value != value or not float(value).is_integer():  # NaN, or not whole
            return None
        number = int(value)
    else:
        text = html_lib.unescape(str(value)).strip()
        if GROUPED.match(text):
            number = int(re.sub(r"\D", "", text))
        else:
            match = WHOLE.match(SPACES.sub("", text))
            if not match:
                return None
            number = int(match.group(1))
    return number if 1 <= number < k else None


# --- tables in outputs ----------------------------------------------------------------------------


class _TableParser(HTMLParser):
    """Every <table> of an HTML text: header labels (by position) and body rows of cell texts."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: list[dict] = []
        self._stack: list[dict] = []
        self._cell: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._stack.append({"head": [], "body": [], "section": None, "row": None})
        elif not self._stack:
            return
        table = self._stack[-1]
        if tag in ("thead", "tbody", "tfoot"):
            table["section"] = tag
        elif tag == "tr":
            table["row"] = []
        elif tag in ("td", "th") and table["row"] is not None:
            try:
                span = max(1, min(int(attrs.get("colspan") or 1), 1000))
            except ValueError:
                span = 1
            self._cell = {"tag": tag, "text": "", "span": span}

    def handle_endtag(self, tag):
        if not self._stack:
            return
        table = self._stack[-1]
        if tag in ("td", "th") and self._cell is not None and table["row"] is not None:
            text = self._cell["text"].strip()
            table["row"].extend([text] + [""] * (self._cell["span"] - 1))
            table["row_tags"] = table.get("row_tags", []) + [self._cell["tag"]]
            self._cell = None
        elif tag == "tr" and table["row"] is not None:
            row, tags = table["row"], table.pop("row_tags", [])
            in_head = table["section"] == "thead" or (
                table["section"] is None and not table["body"] and tags and all(t == "th" for t in tags))
            (table["head"] if in_head else table["body"]).append(row)
            table["row"] = None
        elif tag in ("thead", "tbody", "tfoot"):
            table["section"] = None
        elif tag == "table":
            done = self._stack.pop()
            self.tables.append(_labelled(done["head"], done["body"]))

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data


def _labelled(head: list[list[str]], body: list[list[str]]) -> dict:
    """Header labels by column: the last non-empty label of the header rows at each position
    (pandas puts the index name on a second header row, MultiIndex columns on several)."""
    width = max([len(r) for r in head + body] or [0])
    labels = [""] * width
    for row in head:
        for i, text in enumerate(row):
            if text:
                labels[i] = text
    return {"columns": labels, "rows": body}


def html_tables(text: str) -> list[dict]:
    """The tables of an HTML text, in document order of their end, as {columns, rows}."""
    parser = _TableParser()
    parser.feed(text)
    parser.close()
    return parser.tables


def _resource_table(data: Any) -> dict | None:
    """A table from ``application/vnd.dataresource+json`` (pandas' table schema output)."""
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            return None
    if not isinstance(data, dict):
        return None
    fields = [f.get("name") for f in (data.get("schema") or {}).get("fields", []) if isinstance(f, dict)]
    rows = data.get("data") or []
    if not fields and rows and isinstance(rows[0], dict):
        fields = list(rows[0])
    return {"columns": [str(f) for f in fields],
            "rows": [[r.get(f) for f in fields] if isinstance(r, dict) else list(r) for r in rows]}


def scan_tables(tables: Iterable[dict], k: int, extra: Iterable[str] = (), where: str = "") -> list[dict]:
    """Small counts in ``tables`` ({columns, rows}, numbered from 1): one finding per cell."""
    extra = list(extra)
    findings = []
    for number, table in enumerate(tables, start=1):
        for position, label in enumerate(table["columns"]):
            if not is_count_column(label, extra):
                continue
            for row_number, row in enumerate(table["rows"], start=1):
                value = small_count(row[position], k) if position < len(row) else None
                if value is not None:
                    findings.append({"where": where, "table": number, "column": label, "row": row_number,
                                     "value": value})
    return findings


def _finding_text(finding: dict, k: int) -> str:
    where = f"{finding['where']}, " if finding.get("where") else ""
    return (f"{where}table {finding['table']}, column {finding['column']!r}, row {finding['row']}: "
            f"count {finding['value']} is under {k}")


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def original_cells(notebook: dict) -> list[tuple[int, dict]]:
    """(number, cell) of the notebook's own cells, numbered from 1; cells that papermill or the
    gate added are left out."""
    own = [c for c in notebook.get("cells", [])
           if not (({GATE_TAG} | PAPERMILL_TAGS) & set(c.get("metadata", {}).get("tags", [])))]
    return list(enumerate(own, start=1))


def count_columns_of(notebook: dict) -> list[str]:
    """Extra count columns named in the notebook's metadata ``occidata.count_columns``."""
    named = (notebook.get("metadata", {}).get("occidata") or {}).get("count_columns") or []
    return [str(n) for n in named] if isinstance(named, (list, tuple)) else [str(named)]


def scan_outputs(notebook: dict, k: int = DEFAULT_K, extra: Iterable[str] = ()) -> list[dict]:
    """Small counts shown by the tables of the notebook's outputs (HTML tables, pandas' data
    resources), each with its cell, table, column and row."""
    extra = list(extra) + count_columns_of(notebook)
    findings = []
    for number, cell in original_cells(notebook):
        tables = []
        for output in cell.get("outputs", []) or []:
            data = output.get("data") or {}
            if "application/vnd.dataresource+json" in data:
                found = _resource_table(data["application/vnd.dataresource+json"])
                tables.extend([found] if found else [])
            elif "text/html" in data:
                tables.extend(html_tables(_source({"source": data["text/html"]})))
        findings.extend(scan_tables(tables, k, extra, where=f"cell {number}"))
    return findings


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
            level = access if access in ("partner", "restricted") else "non-public"
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


def _public_user(cfg: dict, run_as: str | None) -> str | None:
    """``run_as``, else in server mode as root ``server.public_user``, else None (this process's user)."""
    server = cfg.get("server")
    if not run_as and cfg.get("mode") == "server" and isinstance(server, dict) and os.geteuid() == 0:
        run_as = server.get("public_user")
    if run_as:
        try:
            pwd.getpwnam(run_as)
        except KeyError:
            raise GateError(f"no system user {run_as!r} to run the gate as; in server mode `occidata up` "
                            "creates server.public_user") from None
    return run_as or None


def _execute(copy: Path, parameters: dict, archive: Path, cfg: dict, run_as: str | None, timeout: float | None):
    """Run the gate's copy with public access, in this process or as ``run_as``; the RunRecord."""
    from ..reports.archive import read_run
    from ..reports.parameters import ParameterError
    from ..reports.runner import ReportError, run_report

    env = public_environment(cfg)
    if not run_as:
        with _swapped_environment(env):
            try:
                return run_report(copy, parameters, timeout=timeout, archive_dir=archive)
            except (ParameterError, ReportError) as error:
                raise GateError(str(error)) from None
    user = pwd.getpwnam(run_as)
    for path in (archive.parent, archive, copy.parent, copy):
        os.chown(path, user.pw_uid, user.pw_gid)
    env.update(HOME=str(archive), USER=run_as, LOGNAME=run_as, JUPYTER_RUNTIME_DIR=str(archive / ".runtime"),
               IPYTHONDIR=str(archive / ".ipython"))
    from ..hub.isolation import server_python

    python = server_python(cfg) if cfg.get("mode") == "server" else sys.executable
    if cfg.get("mode") == "server":
        from ..hub.isolation import server_python_environment

        env.update(server_python_environment())
    command = [python, "-m", "occidata.dashboards.gate", "--execute", str(copy), "--archive", str(archive),
               "--parameters", json.dumps(parameters)] + (["--timeout", str(timeout)] if timeout else [])
    try:
        done = subprocess.run(command, user=user.pw_uid, group=user.pw_gid, extra_groups=[], env=env,
                              cwd=str(archive), capture_output=True, text=True)
    except OSError as error:  # e.g. a Python that the user may not run
        raise GateError(f"cannot run the gate as {run_as}: {error} (server mode needs a Python every user "
                        "can read)") from None
    if done.returncode == 2:
        raise GateError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "the gate's run failed")
    if done.returncode != 0:
        raise RuntimeError(f"the gate's run as {run_as} failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")
    return read_run(json.loads(done.stdout.strip().splitlines()[-1])["folder"])


def check_publication(notebook, *, k: int = DEFAULT_K, cfg: dict | None = None, run_as: str | None = None,
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
    run_as
        A system user to run the execution as (server mode), so that the kernel cannot read
        protected files directly; default ``cfg["server"]["public_user"]`` when that key exists
        and this process is root, else this process's user.
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
    result = GateResult(notebook=path, k=k)
    user = _public_user(cfg, run_as)
    if user:  # a folder of its own that the user may write: under <state>/public in server mode
        public = Path(cfg["state_dir"]) / "public"
        work = Path(tempfile.mkdtemp(prefix="occidata-gate-", dir=public if public.is_dir() else None))
    else:
        work = Path(cfg["state_dir"]) / "publication-gate"
    staging = Path(tempfile.mkdtemp(prefix="gate-", dir=work if user else None))
    try:
        import nbformat

        copy = staging / path.name
        nbformat.write(_gate_copy(original), str(copy))
        parameters = _gate_parameters(copy)
        archive = work / "runs"
        archive.mkdir(parents=True, exist_ok=True)
        say(f"running {path.name} with public access only" + (f" as {user}" if user else "")
            + (" (snapshot mode)" if parameters else "") + "…")
        record = _execute(copy, parameters, archive, cfg, user, timeout)
    finally:
        if not user:
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

    say(f"checking the tables of its outputs for counts under {k}…")
    result.findings = scan_outputs(executed, k, count_columns_of(original))
    result.reasons.extend(_finding_text(f, k) for f in result.findings)

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
                     replace: bool = False, run_as: str | None = None, progress=None) -> Path:
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
    result = check_publication(path, k=k, cfg=cfg, run_as=run_as, progress=say)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    log_path = audit_log_of(cfg)
    run_id = result.run.run_id if result.run is not None else None
    if not result.ok:
        record_event(log_path, "publication", who=approved_by, what=slug, outcome="refused",
                     notebook_sha256=digest, k=k, run=run_id, reasons=result.reasons)
        raise PublicationRefused(result)
    say(f"approved by {approved_by}: recording the publication in the audit log…")
    record_event(log_path, "publication", who=approved_by, by=approved_by, what=slug, outcome="approved",
                 notebook_sha256=digest, k=k, run=run_id)
    install_notebook(without_outputs(original), target, replace=replace)
    say(f"installed {target}")
    return target


# --- snapshots --------------------------------------------------------------------------------------


_VERDICTS: dict[tuple[str, int], list[str]] = {}


def check_snapshot(record, k: int = DEFAULT_K) -> list[str]:
    """Why an archived snapshot run must not be served (empty: it may be): non-public reads
    in its summary, small counts in its outputs (the executed notebook, else its HTML).

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
    if executed is not None:
        findings = scan_outputs(executed, k)
    else:
        try:
            page = record.html_path.read_text(encoding="utf-8")
        except OSError:
            page = ""
        findings = scan_tables(html_tables(page), k, where="page")
    reasons += [_finding_text(f, k) for f in findings]
    _VERDICTS[key] = reasons
    with contextlib.suppress(OSError):
        write_atomic(folder / VERDICT_FILE, json.dumps({"k": k, "ok": not reasons, "reasons": reasons},
                                                       indent=1, ensure_ascii=False) + "\n")
    return reasons


# --- the child process of run_as ----------------------------------------------------------------------


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
