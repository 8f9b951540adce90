"""Privacy: what keeps partner and personal data where they belong.

- ``audit``: the append-only audit log (reads, grants, revokes, publications, logins, failed
  logins and lockouts, the hub's group/role/admin changes), people pseudonymised, hash-chained
  and keyed with forward-secure MACs (``audit_keys``: a root key only the verifier reads, a
  one-way ratchet for the writer); ``occidata audit verify|query|prune``.
- ``pseudonyms``: keyed pseudonyms (HMAC-SHA256) with the key kept under the state directory.
- ``disclosure``: the threshold ``K`` (11), what a count is, and the publication gate's
  fail-closed judge of a notebook's outputs.
- ``suppression``: small-cell suppression (counts under k) with secondary suppression, so
  that published totals cannot give a hidden count away.
- ``publish``: the one sanctioned way to show tables to the public (``show_counts``,
  ``publishable``), which the judge re-checks.
- ``aggregation``: weekly counts and safe tables for the restricted health data.

``suppress_small_cells``, ``margins``, ``show_counts``, ``publishable`` and ``K`` are importable
from here; they are loaded at first use, so that importing ``occidata.privacy.audit`` does not
load pandas.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "K": "disclosure",
    "judge_notebook": "disclosure",
    "suppress_small_cells": "suppression",
    "margins": "suppression",
    "show_counts": "publish",
    "publishable": "publish",
    "Publishable": "publish",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    # Tab completion (``occidata.privacy.<TAB>``) shows the names loaded at first use too.
    return sorted(set(globals()) | set(_EXPORTS))
