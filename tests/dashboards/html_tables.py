"""Read back what a dashboard page shows: its tables (by caption) and its map points."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pandas as pd


class _Tables(HTMLParser):
    """Every <table> of a page as {caption: [row, ...]}, each row a list of cell texts."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._caption = self._rows = self._cell = None
        self._in_caption = False

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._caption, self._rows = "", []
        elif tag == "caption":
            self._in_caption = True
        elif tag == "tr" and self._rows is not None:
            self._rows.append([])
        elif tag in ("td", "th") and self._rows is not None:
            self._cell = ""

    def handle_endtag(self, tag):
        if tag == "caption":
            self._in_caption = False
        elif tag in ("td", "th") and self._cell is not None:
            self._rows[-1].append(self._cell.strip())
            self._cell = None
        elif tag == "table":
            self.tables[self._caption.strip()] = self._rows
            self._rows = None

    def handle_data(self, text):
        if self._in_caption:
            self._caption += text
        elif self._cell is not None:
            self._cell += text


def tables(html: str) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def table(html: str, caption_start: str) -> pd.DataFrame:
    """The table whose caption starts with ``caption_start``, header row as columns."""
    found = [rows for caption, rows in tables(html).items() if caption.startswith(caption_start)]
    assert len(found) == 1, f"no single table {caption_start!r} in {list(tables(html))}"
    rows = found[0]
    return pd.DataFrame(rows[1:], columns=rows[0])


def point_titles(html: str) -> list[str]:
    return re.findall(r'<circle class="od-point"[^>]*><title>([^<]*)</title>', html)
