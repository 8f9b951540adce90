"""A researcher's first steps in the lab, in chromium: shared by the browser tests and
bench/first_hour.py, so that what is measured is what is tested."""

from __future__ import annotations

import os
import re
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeout

LAB_TIMEOUT_MS = 180_000
ARTIFACTS = Path(os.environ.get("OCCIDATA_TEST_ARTIFACTS", Path(__file__).resolve().parent.parent / "test-artifacts")) / "lab"
README_HEADING = "Notebooks de la plateforme Occitanie Data"


def log_in(page, hub_url: str, name: str, password: str) -> None:
    """Fill in and send the French login form (« Se connecter »)."""
    page.goto(hub_url + "hub/login")
    page.fill("#username_input", name)
    page.fill("#password_input", password)
    page.click("#login_submit")


def wait_for_first_lab(page, name: str) -> None:
    """Until the lab a first login starts is open on the curated notebooks' README, rendered."""
    page.wait_for_url(re.compile(rf".*/user/{re.escape(name)}/lab.*"), timeout=LAB_TIMEOUT_MS)
    page.locator(".jp-RenderedMarkdown h1", has_text=README_HEADING).wait_for(timeout=LAB_TIMEOUT_MS)


def run_first_code_cell(page, hub_url: str, name: str, notebook: str) -> str:
    """Open ``notebook`` (a path in the home) and run its first code cell; return its output."""
    page.goto(f"{hub_url}user/{name}/lab/tree/{notebook}")
    cell = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell").first
    cell.wait_for(timeout=LAB_TIMEOUT_MS)
    return _run(page, cell)


def open_launcher(page):
    """Open a launcher tab (the « + » of the main area), as a researcher does; return it."""
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-addButton").first.click()
    launcher = page.locator(".jp-Launcher:not(.lm-mod-hidden)").last
    launcher.wait_for(timeout=LAB_TIMEOUT_MS)
    return launcher


def run_in_new_notebook(page, kernel_title: str, code: str) -> str:
    """Start a notebook from a new launcher's ``kernel_title`` tile, type ``code`` in its first
    cell and run it; return the cell's output text."""
    launcher = open_launcher(page)
    launcher.locator(".jp-Launcher-section").first.locator(".jp-LauncherCard", has_text=kernel_title).click()
    cell = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell").first
    cell.wait_for(timeout=LAB_TIMEOUT_MS)
    cell.locator(".cm-content").click()
    page.keyboard.insert_text(code)
    return _run(page, cell)


def _run(page, cell) -> str:
    prompt = cell.locator(".jp-InputPrompt")
    # A cell run before the notebook's kernel is connected is dropped by JupyterLab without a
    # word (its prompt stays « [ ] »): run it again, as a person would, until it is taken.
    # Ctrl+Enter runs the cell in place: a retry finds the same cell where it was.
    for _attempt in range(40):
        # When the page is opened on a notebook before the kernels are listed, JupyterLab asks
        # which kernel to start, with the notebook's own preselected: take it, as a person would.
        dialog = page.locator(".jp-Dialog .jp-mod-accept")
        if dialog.count():
            dialog.first.click()
        try:
            cell.locator(".jp-InputArea-editor").click(timeout=5_000)
        except PlaywrightTimeout:
            continue  # a dialog came up meanwhile
        page.keyboard.press("Control+Enter")
        try:
            prompt.filter(has_text=re.compile(r"\[(\d+|\*)\]")).wait_for(timeout=1_500)
            break
        except PlaywrightTimeout:
            continue
    try:
        prompt.filter(has_text=re.compile(r"\[\d+\]")).wait_for(timeout=LAB_TIMEOUT_MS)
    except PlaywrightTimeout:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "cell-not-run.png"))
        raise
    return cell.locator(".jp-OutputArea").inner_text()
