"""What a notebook may show the public: the one home of k, of "what a count is", and the judge.

**k.** :data:`K` (11) is the smallest count of people that may be published. Suppression
(:func:`occidata.privacy.suppression.suppress_small_cells`), the publication gate and the
dashboards' snapshot check all take their default from here.

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
metadata, ``{"occidata": {"count_columns": ["séjours", …]}}``, and a sanctioned output may
declare more; either can add columns, never exempt one.

**The judge is fail-closed.** :func:`judge_notebook` refuses every output of an executed
notebook except a *sanctioned* one: a MIME bundle carrying :data:`MIME` (made by
:func:`occidata.privacy.publish.publishable` or :func:`~occidata.privacy.publish.show_counts`)
whose payload declares the tables its HTML shows. The payload is a claim, never trusted:

1. the tables of its ``text/html`` must be exactly the declared ones (same headers, same cell
   texts, same order): nothing undeclared rides along;
2. every cell of a count column (declared, named in the notebook's metadata, or recognised by
   the header rule) must be blank, a mark without digits ("s", "—", "<NA>"), "<m" with m >= k,
   0, or a whole number >= k; anything else ("3", "3.0", "2.5", "-1") is refused;
3. in a table that holds counts, a non-count column showing a whole number from 1 to k - 1
   ("3", "3.0"; "09" reads as a code) is refused too: give dimensions as labels;
4. the page around the tables may hold no picture (``<img>``, ``<canvas>``, ``data:`` URIs),
   no script, no CSS ``content``, and no small whole number beside a word that counts people
   ("3 patients", "n = 4"); its other bundle entries may only be a ``text/plain`` without digits.

So forging the marker gains nothing for counts over calling ``publishable`` oneself: what a
forged bundle shows is checked as if the platform had made it. What the gate cannot know is a
count under an innocent header ("valeur") in a table not declared as counts: that is the
author's declaration, which the steward approves. Charts and maps in a sanctioned page are meant to draw the values of
its declared tables (``occidata.dashboards.render``); the gate checks the tables, not the drawing.

Everything else is refused, one reason per output, naming the cell (the notebook's own cells
numbered from 1, Markdown included), the output (from 1 within the cell) and its kind: text on
stdout; text on **stderr too, warnings included** (a warning's text is whatever the code that
raised it wrote; silence warnings in a notebook meant for publication); text results, JSON,
Markdown, LaTeX, images and figures, HTML (a DataFrame displayed directly, transposed or with
renamed columns), widget views, error tracebacks; Markdown and raw cells holding a digit, an
image or an attachment. Cells the gate or papermill add are not numbered, but their outputs
are judged too (a notebook could tag its own cell like them).
"""

from __future__ import annotations

import html as html_lib
import json
import re
import unicodedata
from dataclasses import asdict, dataclass
from html.parser import HTMLParser
from typing import Any, Iterable

K = 11
MIME = "application/vnd.occidata.disclosure+json"
PAYLOAD_VERSION = 1
GATE_TAG = "occidata-gate"  # cells the gate adds to its copy of the notebook
PAPERMILL_TAGS = {"injected-parameters", "papermill-error-cell-tag"}  # cells papermill adds
ADVICE = ("show counts through occidata.privacy.show_counts (or occidata.privacy.publishable), "
          "whose tables the gate checks")

COUNT_WORDS = {"n", "nb", "count", "counts", "effectif", "effectifs", "nombre", "number", "admissions", "cas",
               "cases", "patients"}
COUNT_PREFIXES = ("nombre de ", "nombre d'", "nombre d ", "nb ", "n ", "number of ", "count of ", "effectif ",
                  "effectifs ")
COUNT_SUFFIXES = (" count", " counts", " n")
NOT_COUNT_WORDS = {"taux", "rate", "part", "share", "pourcentage", "percent", "proportion", "moyenne", "mean",
                   "average", "median", "mediane", "ratio", "pour", "per"}
# Words that count people, for the text around a sanctioned page's tables (accents removed).
PEOPLE_WORDS = ("patients?", "cas", "cases?", "admissions?", "sejours?", "stays?", "personnes?", "persons?",
                "people", "deces", "deaths?", "hospitalisations?", "hospitalizations?", "hospitalises?",
                "malades", "naissances?", "births?", "individus?", "individuals?", "residents?", "habitants?",
                "eleves?", "pupils?", "enfants?", "children", "victimes?", "victims?", "usagers?", "users?",
                "beneficiaires?", "allocataires?", "salaries?", "employes?", "employees?", "menages?",
                "households?", "foyers?", "femmes?", "hommes?", "women", "men", "effectifs?")
SPACES = re.compile(r"[\s\u00a0\u202f\u2009']+")
GROUPED = re.compile(r"^\d{1,3}(?:[\s\u00a0\u202f\u2009.,']\d{3})+$")
WHOLE = re.compile(r"^\+?(\d+)(?:[.,]0+)?$")
BELOW = re.compile(r"^[<≤]\s*=?\s*(\d+)$")
PLAIN_WHOLE = re.compile(r"^\+?([1-9]\d*)(?:[.,]0+)?$")  # no leading zero: "09" is a code
DIGIT = re.compile(r"\d")
_NUMBER = r"(?<![\d/.,:])(\d+)(?![\d/,:]|\.\d)"
_PEOPLE = "|".join(PEOPLE_WORDS)
PEOPLE_PHRASES = (
    re.compile(_NUMBER + r"\s+(?:[a-z']+\s+){0,2}?(?:" + _PEOPLE + r")\b"),
    re.compile(r"\b(?:n|nb|effectifs?|nombre(?: d[e']\s*[a-z]+)?|count|number(?: of [a-z]+)?)\s*[:=]\s*"
               + _NUMBER),
)
PICTURE_TAGS = {"img", "picture", "canvas", "object", "embed", "iframe", "video", "audio", "script", "frame",
                "applet", "math"}
# Tags inside a run of text: a phrase may cross them ("<b>3</b> patients"), not other tags.
INLINE_TAGS = {"a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "dfn", "em", "i", "kbd", "mark", "q", "s",
               "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var", "tspan", "font"}
SHOWN_ATTRIBUTES = {"title", "alt", "aria-label", "placeholder", "value", "label", "data-label"}
CELL_MIMES_OK = {"text/html", "text/plain", MIME}


# --- which columns hold counts, and which values may be shown ------------------------------------


def _plain_text(label: Any) -> str:
    text = unicodedata.normalize("NFKD", str(label)).encode("ascii", "ignore").decode("ascii")
    text = text.lower().replace("_", " ").replace("-", " ").replace("’", "'")
    return re.sub(r"\s+", " ", text).strip()


def is_count_column(label: Any, extra: Iterable[str] = ()) -> bool:
    """Whether a column headed ``label`` holds counts (the rule is in the module's docstring);
    ``extra`` names more count columns (compared without case, accents or ``_``)."""
    text = _plain_text(label)
    if not text:
        return False
    if text in {_plain_text(name) for name in extra}:
        return True
    if "%" in str(label) or "°" in str(label) or set(re.findall(r"[a-z]+", text)) & NOT_COUNT_WORDS:
        return False
    bare = re.sub(r"\s*\([^)]*\)\s*$", "", text).strip()
    return bare in COUNT_WORDS or bare.startswith(COUNT_PREFIXES) or bare.endswith(COUNT_SUFFIXES)


def _number_of(value: Any) -> tuple[str, float | None]:
    """("missing" | "number" | "text", the number or None) for a cell's value."""
    if value is None or isinstance(value, bool):
        return ("text", None) if isinstance(value, bool) else ("missing", None)
    if isinstance(value, (int, float)):
        return ("missing", None) if value != value else ("number", float(value))
    text = html_lib.unescape(str(value)).strip()
    if not text:
        return "missing", None
    if GROUPED.match(text):
        return "number", float(re.sub(r"\D", "", text))
    match = WHOLE.match(SPACES.sub("", text))
    return ("number", float(match.group(1))) if match else ("text", None)


def small_count(value: Any, k: int = K) -> int | None:
    """The count ``value`` shows when it is a whole number from 1 to k - 1 ("3", "3,0", 3.0), else None."""
    kind, number = _number_of(value)
    if kind != "number" or number is None or not float(number).is_integer():
        return None
    return int(number) if 1 <= number < k else None


def count_cell_problem(value: Any, k: int = K) -> str | None:
    """Why ``value`` may not stand in a count column (None when it may): the strict rule of
    the module's docstring, point 2."""
    kind, number = _number_of(value)
    if kind == "missing":
        return None
    if kind == "number":
        if not number.is_integer() or number < 0:  # inf is not whole either
            return f"{value!r} is not a count"
        return f"count {int(number)} is under {k}" if 1 <= number < k else None
    text = html_lib.unescape(str(value)).strip()
    if not DIGIT.search(text):
        return None  # a mark: "s", "—", "<NA>", "secret"
    below = BELOW.match(text)
    if below and int(below.group(1)) >= k:
        return None
    if below:
        return f"{text!r} narrows a hidden count below {k}"
    return f"{text!r} is not a count"


def small_label(value: Any, k: int = K) -> int | None:
    """A whole number from 1 to k - 1 written without a leading zero ("3", "3.0"): in a count
    table, such a value in a column that is not a count reads as a count."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return int(value) if value == value and float(value).is_integer() and 1 <= value < k else None
    match = PLAIN_WHOLE.match(html_lib.unescape(str(value)).strip())
    return int(match.group(1)) if match and int(match.group(1)) < k else None


def count_columns_of(notebook: dict) -> list[str]:
    """Extra count columns named in the notebook's metadata ``occidata.count_columns``."""
    named = (notebook.get("metadata", {}).get("occidata") or {}).get("count_columns") or []
    return [str(n) for n in named] if isinstance(named, (list, tuple)) else [str(named)]


# --- tables in HTML -------------------------------------------------------------------------------


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


def scan_tables(tables: Iterable[dict], k: int = K, extra: Iterable[str] = (), where: str = "") -> list[dict]:
    """Small counts in the count columns of ``tables`` ({columns, rows}, numbered from 1), by the
    header rule and ``extra``: one finding (where, table, column, row, value) per cell."""
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


class _PageText(HTMLParser):
    """What a page shows besides its table cells: runs of text (``text``, one per block; shown
    attributes are runs of their own), pictures, scripts and CSS content (``pictures``)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text: list[str] = [""]
        self.pictures: list[str] = []
        self._tables = 0
        self._cells = 0
        self._style = 0

    def handle_starttag(self, tag, attrs):
        if tag not in INLINE_TAGS:
            self.text.append("")
        if tag == "table":
            self._tables += 1
        if tag in ("td", "th") and self._tables:  # a cell outside a table is no table's: plain text
            self._cells += 1
        if tag == "style":
            self._style += 1
        if tag in PICTURE_TAGS:
            self.pictures.append(f"<{tag}>")
        for name, value in attrs:
            name, value = name.lower(), value or ""
            squeezed = re.sub(r"\s+", "", value).lower()
            if name.startswith("on") or squeezed.startswith("javascript:"):
                self.pictures.append(f"a script ({name})")
            elif "data:" in squeezed and name in ("src", "href", "xlink:href", "style", "srcset", "data", "poster"):
                self.pictures.append(f"a data: address in {name}")
            elif name == "style" and re.search(r"(?i)\bcontent\s*:", value):
                self.pictures.append("CSS content")
            elif name in SHOWN_ATTRIBUTES:
                self.text[-1:-1] = [value]

    def handle_endtag(self, tag):
        if tag not in INLINE_TAGS:
            self.text.append("")
        if tag == "table" and self._tables:
            self._tables -= 1
            self._cells = 0
        if tag in ("td", "th") and self._cells:
            self._cells -= 1
        if tag == "style" and self._style:
            self._style -= 1

    def handle_data(self, data):
        if self._style:
            if re.search(r"(?i)(\bcontent\s*:|url\s*\(\s*['\"]?\s*data:)", data):
                self.pictures.append("CSS content")
            if "<" in data:  # inside <svg>, a browser parses it as markup (an <img onerror=…>, say)
                self.pictures.append("markup inside <style>")
            return
        if not self._cells:
            self.text[-1] += data


def people_phrases(text: str, k: int = K) -> list[str]:
    """The phrases of ``text`` that put a whole number from 1 to k - 1 beside a word that counts
    people ("3 patients", "n = 4", "nombre de cas : 2")."""
    # Dashes and bullets stay as separators ("3 — Dégradé. Personnes…" is no phrase).
    plain = re.sub(r"[\u2010-\u2015\u2022\u00b7|]", " - ", str(text))
    plain = unicodedata.normalize("NFKD", plain).encode("ascii", "ignore").decode("ascii").lower()
    plain = re.sub(r"\s+", " ", plain.replace("_", " "))
    found = []
    for pattern in PEOPLE_PHRASES:
        for match in pattern.finditer(plain):
            if 1 <= int(match.group(1)) < k:
                found.append(match.group(0).strip())
    return found


# --- findings -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """Why one output (or one Markdown/raw cell) may not be published.

    ``cell``: the notebook's own cell number (None for a cell the gate or papermill added, then
    ``after`` is the number of the own cell before it); ``output``: from 1 within the cell (None
    for a Markdown or raw cell); ``kind``: what it is (stdout, stderr, text, json, markdown,
    latex, image, html, widget, error, markdown cell, raw cell, disclosure, other); ``problem``:
    the sentence; ``tag``: the tag of an added cell.
    """

    cell: int | None
    output: int | None
    kind: str
    problem: str
    after: int = 0
    tag: str | None = None

    @property
    def where(self) -> str:
        if self.cell is not None:
            place = f"cell {self.cell}"
        else:
            place = f"the cell tagged {self.tag!r} after cell {self.after}"
        return place + (f", output {self.output}" if self.output is not None else "")

    @property
    def text(self) -> str:
        """The reason, in one line: where, then what."""
        return f"{self.where}: {self.problem}"

    def as_dict(self) -> dict:
        return {**asdict(self), "text": self.text}


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _added_tag(cell: dict) -> str | None:
    tags = set((cell.get("metadata") or {}).get("tags") or [])
    found = ({GATE_TAG} | PAPERMILL_TAGS) & tags
    return sorted(found)[0] if found else None


def original_cells(notebook: dict) -> list[tuple[int, dict]]:
    """(number, cell) of the notebook's own cells, numbered from 1; cells that papermill or the
    gate added are left out."""
    own = [c for c in notebook.get("cells", []) if _added_tag(c) is None]
    return list(enumerate(own, start=1))


# --- judging outputs ------------------------------------------------------------------------------


def _payload(data: dict) -> Any:
    payload = data.get(MIME)
    if isinstance(payload, str):
        try:
            return json.loads(payload)
        except ValueError:
            return None
    return payload


def _text(value: Any) -> str:
    if isinstance(value, list):
        value = "".join(map(str, value))
    return "" if value is None else str(value)


def _norm(value: Any) -> str:
    return re.sub(r"\s+", " ", html_lib.unescape(_text(value))).strip()


def _declared_tables(payload: Any) -> tuple[list[dict] | None, str | None]:
    """The payload's tables, checked for shape, or (None, why not)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("tables"), list):
        return None, "its disclosure payload is not an object with a list of tables"
    tables = []
    for number, table in enumerate(payload["tables"], start=1):
        if not isinstance(table, dict):
            return None, f"declared table {number} is not an object"
        columns, rows = table.get("columns"), table.get("rows")
        counts = table.get("count_columns", [])
        if not isinstance(columns, list) or not isinstance(rows, list) or not isinstance(counts, list):
            return None, f"declared table {number} needs lists of columns, rows and count_columns"
        if any(not isinstance(row, list) or len(row) != len(columns) for row in rows):
            return None, f"declared table {number} has a row that is not a list of {len(columns)} cells"
        if any(not isinstance(cell, (str, int, float, type(None))) for row in rows for cell in row):
            return None, f"declared table {number} has a cell that is not text, a number or null"
        labels = [_norm(c) for c in columns]
        unknown = [c for c in counts if _norm(c) not in labels]
        if unknown:
            return None, f"declared table {number} names count column {unknown[0]!r}, which it does not have"
        tables.append({"columns": labels, "rows": rows, "count_columns": [_norm(c) for c in counts],
                       "counts": bool(table.get("counts")) or bool(counts)})
    return tables, None


def table_problems(table: dict, k: int = K, extra: Iterable[str] = ()) -> list[str]:
    """What a declared table ({columns, rows, count_columns, counts}) shows that it may not: the
    rules 2 and 3 of the module's docstring, each naming column and row (from 1)."""
    extra = list(extra) + list(table.get("count_columns", []))
    counting = [is_count_column(label, extra) for label in table["columns"]]
    is_count_table = bool(table.get("counts")) or any(counting)
    problems = []
    for row_number, row in enumerate(table["rows"], start=1):
        for position, (label, value) in enumerate(zip(table["columns"], row)):
            if counting[position]:
                problem = count_cell_problem(value, k)
            elif is_count_table and small_label(value, k) is not None:
                problem = (f"{_norm(value)!r} reads as a count under {k} in a table of counts "
                           "(declare the column as a count, or give it as a label)")
            else:
                continue
            if problem:
                problems.append(f"column {label!r}, row {row_number}: {problem}")
    for position, label in enumerate(table["columns"]):
        cells = [] if counting[position] else [row[position] for row in table["rows"]]
        for text in [label] + [c for c in cells if isinstance(c, str)]:
            for phrase in people_phrases(text, k):
                problems.append(f"column {label!r} says {phrase!r}")
    return problems


def sanctioned_problems(data: dict, k: int = K, extra: Iterable[str] = ()) -> list[str]:
    """Why a MIME bundle carrying :data:`MIME` may not be shown (empty: it may be)."""
    others = sorted(set(data) - CELL_MIMES_OK)
    if others:
        return [f"it also carries {', '.join(others)}, which the gate cannot check"]
    if DIGIT.search(_text(data.get("text/plain"))):
        return ["its text/plain form holds a number"]
    declared, why = _declared_tables(_payload(data))
    if declared is None:
        return [why]
    page = _text(data.get("text/html"))
    shown = html_tables(page)
    if len(shown) != len(declared):
        return [f"its HTML shows {len(shown)} table(s) but declares {len(declared)}"]
    problems = []
    for number, (seen, table) in enumerate(zip(shown, declared), start=1):
        if [_norm(c) for c in seen["columns"]] != table["columns"]:
            problems.append(f"table {number}: its HTML headers are not the declared columns")
            continue
        if not all(table["columns"]):
            problems.append(f"table {number}: a column has no header, so nobody can tell whether it counts")
            continue
        if [[_norm(c) for c in row] for row in seen["rows"]] != [[_norm(c) for c in row] for row in table["rows"]]:
            problems.append(f"table {number}: its HTML cells are not the declared rows")
            continue
        problems += [f"table {number}, {p}" for p in table_problems(table, k, extra)]
    text = _PageText()
    text.feed(page)
    text.close()
    problems += [f"its page holds {what}, which the gate cannot read" for what in dict.fromkeys(text.pictures)]
    phrases = [phrase for run in text.text for phrase in people_phrases(run, k)]
    problems += [f"its text says {phrase!r} outside a checked table" for phrase in dict.fromkeys(phrases)]
    return problems


def _kind(data: dict) -> tuple[str, str]:
    """(kind, description) of a bundle that is not sanctioned, by its richest entry."""
    mimes = set(data)
    if "application/vnd.jupyter.widget-view+json" in mimes:
        return "widget", "a widget view is not a checked table (the gate judges dashboards in snapshot mode)"
    if any(m.startswith("image/") for m in mimes) or "application/pdf" in mimes:
        shown = ", ".join(sorted(m for m in mimes if m.startswith("image/") or m == "application/pdf"))
        return "image", f"an image or figure ({shown}) is not a checked table"
    if "text/html" in mimes:
        return "html", "HTML output (such as a DataFrame shown directly) is not a checked table"
    if "text/markdown" in mimes:
        return "markdown", "Markdown output is not a checked table"
    if "application/json" in mimes or any(m.endswith("+json") for m in mimes):
        shown = ", ".join(sorted(m for m in mimes if m.endswith("json")))
        return "json", f"JSON output ({shown}) is not a checked table"
    if "text/latex" in mimes:
        return "latex", "LaTeX output is not a checked table"
    if mimes <= {"text/plain"}:
        return "text", "a text result is not a checked table"
    return "other", f"output of type {', '.join(sorted(mimes))} is not a checked table"


def _small_counts_seen(data: dict, k: int, extra: list[str]) -> str:
    """" (it shows column 'n', row 2: count 3)" for the first small counts of an HTML output."""
    findings = scan_tables(html_tables(_text(data.get("text/html"))), k, extra)
    if not findings:
        return ""
    said = "; ".join(f"table {f['table']}, column {f['column']!r}, row {f['row']}: count {f['value']} is under {k}"
                     for f in findings[:3])
    return f" ({said}{'; …' if len(findings) > 3 else ''})"


def judge_output(output: dict, k: int = K, extra: Iterable[str] = ()) -> tuple[str, str] | None:
    """(kind, problem) when ``output`` (an nbformat output) may not be published, else None."""
    extra = list(extra)
    kind = output.get("output_type")
    if kind == "stream":
        if not _text(output.get("text")).strip():
            return None
        if output.get("name") == "stdout":
            return "stdout", f"text printed on stdout is not a checked table; {ADVICE}"
        return "stderr", ("text on stderr (an error or a warning) is not a checked table; silence warnings in a "
                          f"notebook meant for publication, and {ADVICE}")
    if kind == "error":
        return "error", "an error traceback is not a checked table"
    if kind not in ("display_data", "execute_result", "update_display_data"):
        return "other", f"an output of type {kind!r} is not a checked table"
    data = output.get("data") or {}
    if not data:
        return None
    if MIME in data:
        problems = sanctioned_problems(data, k, extra)
        if not problems:
            return None
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        return "disclosure", shown
    what, problem = _kind(data)
    if what == "html":
        problem += _small_counts_seen(data, k, extra)
    return what, f"{problem}; {ADVICE}"


def _markdown_problem(cell: dict) -> str | None:
    source = _source(cell)
    if cell.get("attachments") or re.search(r"!\[|<\s*(img|svg|picture|iframe|object|embed)\b", source, re.I):
        return "an image in Markdown is not a checked table"
    if re.search(r"<\s*[a-zA-Z!/?]", source):
        return "HTML in Markdown (a tag, a script, an event handler) is not a checked table; write plain Markdown"
    if DIGIT.search(source):
        return ("Markdown text holding a number is not a checked table (a count could hide there); put numbers "
                "in a table shown through occidata.privacy.show_counts or publishable")
    return None


def judge_notebook(notebook: dict, k: int = K, extra: Iterable[str] = ()) -> list[Finding]:
    """Every output of the executed ``notebook`` that may not be published, fail-closed (see the
    module's docstring), with Markdown and raw cells holding a number. ``extra`` names more count
    columns (with the notebook's metadata ``occidata.count_columns``). Empty: it may be published.

    Raises ValueError when ``k`` is not a whole number of at least 2 or ``notebook`` has no list
    of cells.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 2:
        raise ValueError(f"k, the smallest count that may be published, must be a whole number of at least 2, "
                         f"not {k!r}")
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise ValueError("not a notebook: no list of cells")
    extra = list(extra) + count_columns_of(notebook)
    findings: list[Finding] = []
    number = 0
    for cell in notebook["cells"]:
        tag = _added_tag(cell)
        if tag is None:
            number += 1
        place = {"cell": number if tag is None else None, "after": number, "tag": tag}
        kind = cell.get("cell_type")
        if kind in ("markdown", "raw"):
            problem = _markdown_problem(cell) if kind == "markdown" else (
                "a raw cell is not a checked table" if _source(cell).strip() else None)
            if problem:
                findings.append(Finding(output=None, kind=f"{kind} cell", problem=problem, **place))
            continue
        for position, output in enumerate(cell.get("outputs") or [], start=1):
            judged = judge_output(output, k, extra)
            if judged:
                findings.append(Finding(output=position, kind=judged[0], problem=judged[1], **place))
    return findings
