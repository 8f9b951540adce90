"""Every French template compiles against the JupyterHub templates it extends; page.html, the
frame of every hub page, is written whole (JupyterHub's holds inline scripts outside any block)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader

REPO_ROOT = Path(__file__).resolve().parent.parent
OURS = REPO_ROOT / "hub" / "templates"
JUPYTERHUB = Path(sys.prefix) / "share" / "jupyterhub" / "templates"


@pytest.fixture(scope="module")
def environment():
    # The same loader layout JupyterHub builds: our paths first, its own under "templates/".
    loader = ChoiceLoader([FileSystemLoader(str(OURS)), PrefixLoader({"templates": FileSystemLoader(str(JUPYTERHUB))}), FileSystemLoader(str(JUPYTERHUB))])
    return Environment(loader=loader)


@pytest.mark.parametrize("name", sorted(p.name for p in OURS.glob("*.html")))
def test_template_compiles_and_extends_a_hub_template(environment, name):
    template = environment.get_template(name)
    assert template is not None
    source = (OURS / name).read_text(encoding="utf-8")
    assert ("{% extends" in source) != (name == "page.html")


def test_the_frame_keeps_every_block_jupyterhub_pages_fill(environment):
    """JupyterHub's own pages (404, oauth, accept-share, logout) fill these blocks of the frame."""
    ours = environment.get_template("page.html")
    theirs = environment.get_template("templates/page.html")
    # "service": an item of JupyterHub's services menu, which our navigation replaces by its own links.
    assert set(theirs.blocks) - {"script", "service"} <= set(ours.blocks)
    assert "script" not in ours.blocks  # JupyterHub's pages put their inline scripts there: never rendered

