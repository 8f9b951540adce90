"""The examples in occidata.compute's docstrings run and print what they show."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import occidata.compute

MODULES = ["occidata.compute"] + [
    f"occidata.compute.{m.name}" for m in pkgutil.iter_modules(occidata.compute.__path__)
    if m.name != "_cuda_idw"  # imports numba.cuda; tested under the simulator elsewhere
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} failed"
