"""The privacy rules of publication (issue 13), without a kernel: k, what a count is, the
fail-closed judge of a notebook's outputs and the sanctioned path (show_counts, publishable).
tests/test_publication_gate.py puts each disguise through the real gate."""

from __future__ import annotations

import inspect
import json

import nbformat
import pandas as pd
import pytest

import occidata.privacy as privacy
from occidata.dashboards import gate, render
from occidata.privacy import aggregation, disclosure, publish, suppression
from occidata.privacy.disclosure import MIME, judge_notebook, sanctioned_problems

TABLE_3 = ("<table><thead><tr><th>commune</th><th>n</th></tr></thead>"
           "<tbody><tr><td>Foix</td><td>3</td></tr><tr><td>Pamiers</td><td>25</td></tr></tbody></table>")


def notebook(*cells) -> dict:
    """A notebook dict of ``cells``: ("md", text), ("raw", text), or a list of outputs of a code cell
    (with optional tags as ("code", outputs, tags))."""
    nb = nbformat.v4.new_notebook()
    for cell in cells:
        if isinstance(cell, tuple) and cell[0] == "md":
            nb.cells.append(nbformat.v4.new_markdown_cell(cell[1]))
        elif isinstance(cell, tuple) and cell[0] == "raw":
            nb.cells.append(nbformat.v4.new_raw_cell(cell[1]))
        elif isinstance(cell, tuple):
            nb.cells.append(nbformat.v4.new_code_cell("x", outputs=cell[1], metadata={"tags": cell[2]}))
        else:
            nb.cells.append(nbformat.v4.new_code_cell("x", outputs=cell))
    return json.loads(nbformat.writes(nb))


def shown(data: dict, kind: str = "display_data") -> dict:
    extra = {"execution_count": 1} if kind == "execute_result" else {}
    return nbformat.v4.new_output(kind, data=data, **extra)


def bundle(html: str, tables: list, plain: str = "Tableau") -> dict:
    return {"text/html": html, "text/plain": plain, MIME: {"version": 1, "k": 11, "tables": tables}}


# --- one home for k and for what a count is ---------------------------------------------------------


def test_k_lives_in_disclosure_and_every_default_asks_it():
    assert disclosure.K == 11 and privacy.K is disclosure.K and gate.DEFAULT_K == disclosure.K
    for function in (suppression.suppress_small_cells, suppression.margins, aggregation.safe_table,
                     publish.show_counts, judge_notebook, disclosure.small_count):
        assert inspect.signature(function).parameters["k"].default is disclosure.K, function.__name__
    assert privacy.suppress_small_cells is suppression.suppress_small_cells
    assert privacy.show_counts is publish.show_counts and privacy.publishable is publish.publishable


@pytest.mark.parametrize("label, expected", [
    ("n", True), ("N", True), ("count", True), ("Effectif", True), ("Nombre de séjours", True),
    ("nombre d'admissions", True), ("n_admissions", True), ("admissions_count", True), ("patients", True),
    ("Cas", True), ("admissions (semaine)", True),
    ("taux d'admissions", False), ("admissions (%)", False), ("N° de station", False), ("département", False),
    ("part des patients", False), ("cas pour 100 000", False), ("moyenne", False), ("", False),
])
def test_count_columns_are_named_by_their_header(label, expected):
    assert disclosure.is_count_column(label) is expected


def test_metadata_may_add_count_columns_but_never_exempt_one():
    assert disclosure.is_count_column("séjours", extra=["Séjours"])
    assert disclosure.is_count_column("n", extra=[])


@pytest.mark.parametrize("value, expected", [
    ("3", 3), ("3.0", 3), ("3,000000", 3), (3, 3), (10.0, 10), ("11", None), ("0", None), ("", None),
    ("<11", None), ("—", None), ("NaN", None), ("<NA>", None), ("2.5", None), (float("nan"), None),
    ("1 234", None), ("3 000", None), ("s", None), (True, None),
])
def test_small_counts_are_whole_numbers_from_1_to_k_minus_1(value, expected):
    assert disclosure.small_count(value, 11) == expected


@pytest.mark.parametrize("value, problem", [
    ("3", "count 3 is under 11"), (3, "count 3 is under 11"), ("10.0", "count 10 is under 11"),
    ("2.5", "'2.5' is not a count"), ("-1", "'-1' is not a count"), ("3 (s)", "'3 (s)' is not a count"),
    ("<5", "'<5' narrows a hidden count below 11"),
    ("0", None), ("11", None), ("1 234", None), ("<11", None), ("s", None), ("—", None), ("<NA>", None),
    ("", None), (None, None),
])
def test_a_count_cell_is_zero_k_or_more_or_suppressed(value, problem):
    assert disclosure.count_cell_problem(value, 11) == problem


# --- everything but a checked table is refused, naming cell, output and kind ----------------------------


@pytest.mark.parametrize("output, kind", [
    (nbformat.v4.new_output("stream", name="stdout", text="Foix : 3\n"), "stdout"),
    (nbformat.v4.new_output("stream", name="stderr", text="UserWarning: 3 patients\n"), "stderr"),
    (shown({"text/plain": "3"}, "execute_result"), "text"),
    (shown({"application/json": {"Foix": 3}, "text/plain": "<JSON>"}), "json"),
    (shown({"application/vnd.dataresource+json": {"data": [{"n": 3}]}, "text/plain": "x"}), "json"),
    (shown({"text/markdown": "**3** patients", "text/plain": "x"}), "markdown"),
    (shown({"text/latex": "$3$", "text/plain": "x"}), "latex"),
    (shown({"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}), "image"),
    (shown({"image/svg+xml": "<svg><text>3</text></svg>", "text/plain": "x"}), "image"),
    (shown({"text/html": "<p>Foix : 3</p>", "text/plain": "x"}), "html"),
    (shown({"application/vnd.jupyter.widget-view+json": {"model_id": "a"}, "text/plain": "x"}), "widget"),
    (nbformat.v4.new_output("error", ename="E", evalue="3", traceback=["3"]), "error"),
])
def test_each_kind_of_output_that_is_not_a_checked_table_is_refused(output, kind):
    [finding] = judge_notebook(notebook(("md", "# Titre"), [output]))
    assert (finding.cell, finding.output, finding.kind) == (2, 1, kind)
    assert finding.text.startswith("cell 2, output 1: ") and "not a checked table" in finding.text


def test_a_dataframe_shown_directly_is_refused_whatever_its_columns_or_shape():
    frame = pd.DataFrame({"commune": ["Foix", "Pamiers"], "valeur": [3, 25]})
    outputs = [[shown({"text/html": frame.to_html(), "text/plain": "x"}, "execute_result")],
               [shown({"text/html": frame.set_index("commune").T.to_html(), "text/plain": "x"}, "execute_result")],
               [shown({"text/html": frame.rename(columns={"valeur": "n"}).to_html(), "text/plain": "x"})]]
    findings = judge_notebook(notebook(*outputs))
    assert [(f.cell, f.kind) for f in findings] == [(1, "html"), (2, "html"), (3, "html")]
    assert "(table 1, column 'n', row 1: count 3 is under 11)" in findings[2].text  # says what it saw


def test_markdown_and_raw_cells_with_a_number_or_an_image_are_refused():
    nb = notebook(("md", "# Admissions à Foix"), ("md", "3 patients"), ("md", "![carte](carte.png)"),
                  ("raw", "trois"), ("md", ""))
    assert [(f.cell, f.output, f.kind) for f in judge_notebook(nb)] == [
        (2, None, "markdown cell"), (3, None, "markdown cell"), (4, None, "raw cell")]
    assert judge_notebook(nb)[0].text.startswith("cell 2: Markdown text holding a number")


def test_html_in_markdown_is_refused():
    """A browser runs a script or an event handler written in a Markdown cell: not checkable."""
    for source in ("<script>document.title='x'</script>", "<details open ontoggle=alert(1)>Voir</details>",
                   "Texte <b>gras</b>"):
        [finding] = judge_notebook(notebook(("md", source)))
        assert finding.kind == "markdown cell" and "HTML in Markdown" in finding.text


def test_markup_hidden_in_a_style_element_is_refused():
    """Inside <svg>, a browser parses <style>'s content as markup: an <img onerror> there runs."""
    page = "<svg><style><img src=x onerror=\"document.title='x'\"></style></svg>"
    bundle = publish.publishable(page, check=False)._repr_mimebundle_()
    assert any("markup inside <style>" in problem for problem in sanctioned_problems(bundle))


def test_blank_streams_and_empty_outputs_show_nothing_and_pass():
    nb = notebook([nbformat.v4.new_output("stream", name="stdout", text="\n"), shown({})])
    assert judge_notebook(nb) == []


def test_a_cell_tagged_like_papermill_is_not_numbered_but_still_judged():
    nb = notebook(("md", "# Titre"), ("code", [shown({"text/plain": "3"})], ["injected-parameters"]),
                  [shown({"text/plain": "4"})])
    first, second = judge_notebook(nb)
    assert first.text.startswith("the cell tagged 'injected-parameters' after cell 1, output 1: ")
    assert second.text.startswith("cell 2, output 1: ")


def test_the_judge_refuses_a_bad_k_and_what_is_not_a_notebook():
    with pytest.raises(ValueError, match="k, the smallest count"):
        judge_notebook(notebook(), k=1)
    with pytest.raises(ValueError, match="no list of cells"):
        judge_notebook({"cells": "x"})


# --- the sanctioned path, re-checked ----------------------------------------------------------------


def test_show_counts_suppresses_and_passes_the_judge():
    table = pd.DataFrame({"department": ["09", "09", "11", "11", "31", "31"], "sex": ["F", "M"] * 3,
                          "n": [25, 3, 14, 30, 40, 52]})
    result = privacy.show_counts(table, caption="Admissions")
    data = result._repr_mimebundle_()
    assert set(data) == {"text/html", "text/plain", MIME} and result.problems() == []
    [declared] = data[MIME]["tables"]
    assert declared["columns"] == ["department", "sex", "n"] and declared["count_columns"] == ["n"]
    assert [row[2] for row in declared["rows"]][:2] == ["s", "s"]  # 3 and its complement hidden
    assert "secret statistique" in result.data
    assert judge_notebook(notebook([shown(data, "execute_result")])) == []
    already = suppression.suppress_small_cells(table)  # its result is shown as it is
    assert privacy.show_counts(already, caption="Admissions").tables == result.tables


def test_show_counts_names_a_missing_column():
    with pytest.raises(ValueError, match="no column 'age'"):
        privacy.show_counts(pd.DataFrame({"a": ["x"], "n": [30]}), columns={"age": "Âge", "n": "n"})


def test_a_forged_bundle_declaring_a_count_of_3_is_refused():
    forged = bundle(TABLE_3, [{"columns": ["commune", "n"], "rows": [["Foix", "3"], ["Pamiers", "25"]],
                               "count_columns": []}])
    [finding] = judge_notebook(notebook([shown(forged)]))
    assert finding.kind == "disclosure"
    assert finding.text == "cell 1, output 1: table 1, column 'n', row 1: count 3 is under 11"


def test_a_forged_bundle_whose_html_is_not_its_declaration_is_refused():
    clean = [{"columns": ["commune", "n"], "rows": [["Foix", "s"], ["Pamiers", "25"]]}]
    assert sanctioned_problems(bundle(TABLE_3, clean)) == ["table 1: its HTML cells are not the declared rows"]
    assert sanctioned_problems(bundle(TABLE_3, [])) == ["its HTML shows 1 table(s) but declares 0"]
    renamed = [{"columns": ["commune", "valeur"], "rows": [["Foix", "3"], ["Pamiers", "25"]]}]
    assert sanctioned_problems(bundle(TABLE_3, renamed)) == [
        "table 1: its HTML headers are not the declared columns"]


def test_in_a_count_table_a_small_whole_number_in_another_column_is_refused_but_codes_pass():
    table = {"columns": ["département", "valeur", "n"], "rows": [["09", "3", "s"], ["31", "25", "40"]],
             "count_columns": ["n"]}
    html = publish.table_html(table)
    assert sanctioned_problems(bundle(html, [table])) == [
        "table 1, column 'valeur', row 1: '3' reads as a count under 11 in a table of counts (declare the "
        "column as a count, or give it as a label)"]
    table["rows"][0][1] = "mars"
    assert sanctioned_problems(bundle(publish.table_html(table), [table])) == []


@pytest.mark.parametrize("page, problem", [
    ("<p>Foix : <b>3</b> patients hospitalisés</p>", "its text says '3 patients' outside a checked table"),
    ("<p>n = 4</p>", "its text says 'n = 4' outside a checked table"),
    ('<p title="2 décès">Foix</p>', "its text says '2 deces' outside a checked table"),
    ("<img src='chiffres.png'>", "its page holds <img>, which the gate cannot read"),
    ("<svg><image href='data:image/png;base64,AAAA'/></svg>", "its page holds a data: address in href"),
    ("<script>document.write(3)</script>", "its page holds <script>, which the gate cannot read"),
    ("<style>p::after{content:'3 patients'}</style><p>x</p>", "its page holds CSS content"),
    ("<p onclick='alert(3)'>x</p>", "its page holds a script (onclick)"),
    ("<td>3 patients</td>", "its text says '3 patients' outside a checked table"),  # a cell of no table
])
def test_the_page_around_the_tables_may_not_show_counts_or_pictures(page, problem):
    assert any(p.startswith(problem) for p in sanctioned_problems(bundle(page, []))), sanctioned_problems(
        bundle(page, []))


def test_a_declared_table_needs_a_header_for_every_column():
    table = {"columns": ["", ""], "rows": [["n", "Foix"], ["3", "x"]]}
    page = "<table><tbody><tr><td>n</td><td>Foix</td></tr><tr><td>3</td><td>x</td></tr></tbody></table>"
    assert sanctioned_problems(bundle(page, [table])) == [
        "table 1: a column has no header, so nobody can tell whether it counts"]


def test_a_sanctioned_bundle_may_carry_nothing_the_judge_cannot_check():
    extra = {**bundle("<p>Foix</p>", []), "image/png": "iVBORw0KGgo="}
    assert sanctioned_problems(extra) == ["it also carries image/png, which the gate cannot check"]
    assert sanctioned_problems(bundle("<p>Foix</p>", [], plain="3 patients")) == [
        "its text/plain form holds a number"]
    assert sanctioned_problems({"text/html": "", MIME: "not json"})[0].startswith("its disclosure payload")


def test_publishable_checks_at_once_and_names_the_table():
    with pytest.raises(ValueError, match=r"table 1, column 'n', row 1: count 3 is under 11"):
        privacy.publishable(TABLE_3, [{"columns": ["commune", "n"], "rows": [["Foix", "3"], ["Pamiers", "25"]]}])
    frame = pd.DataFrame({"commune": ["Foix", "Pamiers"], "n": [0, 25]})
    ok = privacy.publishable(frame.to_html(index=False), [frame])
    assert ok.problems() == [] and ok.tables[0]["rows"] == [["Foix", "0"], ["Pamiers", "25"]]


def test_render_html_table_declares_what_it_writes():
    frame = pd.DataFrame({"commune": ["Foix"], "cas": [12.0]})
    with publish.declaring() as tables:
        html = render.html_table(frame, caption="Cas", columns={"commune": "Commune", "cas": "Nombre de cas"})
    assert tables == [{"caption": "Cas", "columns": ["Commune", "Nombre de cas"], "rows": [["Foix", "12"]],
                       "count_columns": [], "counts": False}]
    assert sanctioned_problems(bundle(html, tables)) == []
