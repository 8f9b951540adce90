"""A notebook's parameters: read from its ``parameters`` cell, checked before anything runs.

The first code cell of a curated notebook is tagged ``parameters`` (papermill's convention).
Each parameter sits on its own line with a literal default and a comment giving its meaning
and, where it applies, the allowed values, in exactly one of these forms::

    pollutant = "NO2"  # pollutant of the map; one of: NO2, PM10, O3
    hour = 14  # hour of the map, local time; range: 0..23
    date = "2024-03-16"  # day of the report; format: YYYY-MM-DD
    department = None  # department code or None for the region

The declared type is the type of the default (str, int, float, bool or None). Values from
the command line are strings and are coerced to that type (``"14"`` -> 14); a parameter
whose default is None takes a string, or ``none``/``null`` for None. When every allowed value
is a pollutant, a value is first spelled as the platform does (``pm10`` -> ``PM10``,
:func:`occidata.pollutants.find_pollutant`).
"""

from __future__ import annotations

import ast
import datetime as dt
import difflib
import io
import json
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from occidata.pollutants import find_pollutant

TYPES = {str: "str", int: "int", float: "float", bool: "bool", type(None): "none"}
NONE_WORDS = {"none", "null"}
TRUE_WORDS = {"true", "yes", "1", "on"}
FALSE_WORDS = {"false", "no", "0", "off"}
DATE_TOKENS = {"YYYY": "%Y", "MM": "%m", "DD": "%d", "HH": "%H"}


class ParameterError(ValueError):
    """A parameter a person got wrong; the message names the notebook, the parameter and what is allowed."""


@dataclass(frozen=True)
class Parameter:
    """One line of a ``parameters`` cell."""

    name: str
    default: Any
    type: str  # "str" | "int" | "float" | "bool" | "none"
    help: str = ""
    choices: tuple | None = None
    range: tuple | None = None  # (low, high), either may be None for an open end
    format: str | None = None
    line: int = 0

    def allowed(self) -> str:
        """What this parameter accepts, in words (used in error messages)."""
        if self.choices is not None:
            text = "one of " + ", ".join(str(c) for c in self.choices)
        elif self.range is not None:
            low, high = ("" if b is None else b for b in self.range)
            text = f"{'an integer' if self.type == 'int' else 'a number'} in {low}..{high}"
        elif self.format is not None:
            text = f"a date formatted {self.format}"
        else:
            text = {"str": "a string", "int": "an integer", "float": "a number", "bool": "true or false",
                    "none": "a string or none"}[self.type]
        if self.type == "none" and "none" not in text:
            text += " or none"
        return text


def _notebook(path: Path) -> dict:
    """The notebook's JSON; a missing or unreadable file is a ParameterError naming it."""
    if not path.is_file():
        raise ParameterError(f"{path}: no such notebook")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ParameterError(f"{path}: not a readable notebook ({error})") from None


def parameters_cell(notebook_path: str | Path) -> str:
    """The source of the code cell tagged ``parameters``; an error naming the file when there is none."""
    path = Path(notebook_path)
    for cell in _notebook(path).get("cells", []):
        tags = cell.get("metadata", {}).get("tags", [])
        if cell.get("cell_type") == "code" and "parameters" in tags:
            source = cell.get("source", "")
            return "".join(source) if isinstance(source, list) else source
    raise ParameterError(f"{path}: no code cell tagged 'parameters', so its parameters cannot be checked")


def _comments(source: str) -> dict[int, str]:
    """Line number -> comment text (without '#'), found with tokenize so '#' inside strings is ignored."""
    comments = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            comments[token.start[0]] = token.string.lstrip("#").strip()
    return comments


def _number(text: str, kind: str, where: str):
    text = text.strip()
    if not text:
        return None
    try:
        return int(text) if kind == "int" else float(text)
    except ValueError:
        raise ParameterError(f"{where}: bad bound {text!r} in 'range:'") from None


def _parse_comment(comment: str, kind: str, where: str) -> dict:
    """Split 'meaning; one of: A, B' (or range:, format:) into help, choices, range, format."""
    parts = [part.strip() for part in comment.split(";")]
    found: dict[str, Any] = {"help": parts[0] if parts else ""}
    for part in parts[1:]:
        key, _, value = part.partition(":")
        key = key.strip().lower()
        if key == "one of":
            found["choices"] = tuple(_coerce_literal(v.strip(), kind, where) for v in value.split(","))
        elif key == "range":
            low, sep, high = value.partition("..")
            if not sep:
                raise ParameterError(f"{where}: 'range:' must be written low..high, not {value.strip()!r}")
            found["range"] = (_number(low, kind, where), _number(high, kind, where))
        elif key == "format":
            found["format"] = value.strip()
        else:
            found["help"] += "; " + part
    return found


def _coerce_literal(text: str, kind: str, where: str):
    """An allowed value written in a comment, as the parameter's type."""
    if kind in ("int", "float"):
        return _number(text, kind, where)
    if kind == "none" and text.lower() in NONE_WORDS:
        return None
    return text


def read_parameters(notebook_path: str | Path) -> dict[str, Parameter]:
    """The parameters declared in the notebook's ``parameters`` cell, in order, by name.

    Raises
    ------
    ParameterError
        When the notebook has no such cell, the cell is not valid Python, or a line is not
        ``name = literal  # comment``.
    """
    path = Path(notebook_path)
    source = parameters_cell(path)
    try:
        tree = ast.parse(source)
        comments = _comments(source)
    except (SyntaxError, tokenize.TokenError) as error:
        raise ParameterError(f"{path}: the parameters cell is not valid Python ({error})") from None
    declared = {}
    for node in tree.body:
        where = f"{path}, parameters cell line {node.lineno}"
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            raise ParameterError(f"{where}: expected 'name = literal  # comment'")
        name = node.targets[0].id
        try:
            default = ast.literal_eval(node.value)
        except ValueError:
            raise ParameterError(f"{where}: the default of {name!r} must be a literal") from None
        if type(default) not in TYPES:
            raise ParameterError(f"{where}: {name!r} must default to a str, int, float, bool or None")
        kind = TYPES[type(default)]
        details = _parse_comment(comments.get(node.lineno, ""), kind, where)
        declared[name] = Parameter(name=name, default=default, type=kind, line=node.lineno, **details)
    return declared


def _coerce(value: Any, param: Parameter, where: str):
    """``value`` (a CLI string, or already typed from YAML) as the parameter's declared type."""
    wrong = ParameterError(f"{where}: {value!r} is not {param.allowed()}")
    text = value.strip() if isinstance(value, str) else None
    if param.type == "none":
        if value is None or (text is not None and text.lower() in NONE_WORDS):
            return None
        return value if text is None else text
    if param.type == "str":
        if text is None:
            raise wrong
        return text
    if param.type == "bool":
        if isinstance(value, bool):
            return value
        if text is not None and text.lower() in TRUE_WORDS | FALSE_WORDS:
            return text.lower() in TRUE_WORDS
        raise wrong
    if isinstance(value, bool):
        raise wrong
    if param.type == "int":
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if text is not None and re.fullmatch(r"[+-]?\d+", text):
            return int(text)
        raise wrong
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(text)
    except (TypeError, ValueError):
        raise wrong from None


def _check_date(value: str, fmt: str, where: str) -> None:
    pattern = fmt
    for token, directive in DATE_TOKENS.items():
        pattern = pattern.replace(token, directive)
    try:
        parsed = dt.datetime.strptime(value, pattern)
    except ValueError:
        raise ParameterError(f"{where}: {value!r} is not a valid date formatted {fmt}") from None
    if parsed.strftime(pattern) != value:  # strptime accepts "2024-3-1"; the format does not
        raise ParameterError(f"{where}: {value!r} is not a valid date formatted {fmt}")


def check_value(param: Parameter, value: Any, notebook: str | Path) -> Any:
    """One value coerced to ``param``'s type and checked against its allowed values, range, format."""
    where = f"{Path(notebook).name}: parameter {param.name!r}"
    coerced = _coerce(value, param, where)
    if coerced is None:
        return None
    if param.choices is not None and all(find_pollutant(c) == c for c in param.choices):
        coerced = find_pollutant(coerced) or coerced  # "pm10" is PM10: the platform's one spelling rule
    if param.choices is not None and coerced not in param.choices:
        raise ParameterError(f"{where}: {coerced!r} is not {param.allowed()}")
    if param.range is not None:
        low, high = param.range
        if (low is not None and coerced < low) or (high is not None and coerced > high):
            raise ParameterError(f"{where}: {coerced!r} is out of range; expected {param.allowed()}")
    if param.format is not None:
        _check_date(str(coerced), param.format, where)
    return coerced


def check_parameters(notebook_path: str | Path, given: dict | None) -> dict:
    """``given`` checked against the notebook's parameters cell and coerced to the declared types.

    Returns the coerced values of ``given`` only (the defaults stay in the notebook).

    Raises
    ------
    ParameterError
        For a notebook without a parameters cell, an unknown name (with a "did you mean"),
        a value of the wrong type, outside the allowed values or range, or a bad date.
    """
    declared = read_parameters(notebook_path)
    name = Path(notebook_path).name
    checked = {}
    for key, value in (given or {}).items():
        if key not in declared:
            close = difflib.get_close_matches(key, list(declared), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            known = ", ".join(declared) or "none"
            raise ParameterError(f"{name}: unknown parameter {key!r}{hint} (parameters: {known})")
        checked[key] = check_value(declared[key], value, notebook_path)
    return checked


def effective_parameters(notebook_path: str | Path, checked: dict) -> dict:
    """The defaults of the parameters cell overridden by ``checked``: what the run really used."""
    return {name: checked.get(name, param.default) for name, param in read_parameters(notebook_path).items()}
