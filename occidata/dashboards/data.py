"""Data for the public dashboards: public catalogue entries only, whoever runs the kernel.

A dashboard is seen by anyone, so it reads with the ``public`` level alone, ignoring any
``OCCIDATA_ACCESS_LEVELS`` the kernel may have, and it refuses a non-public entry before any
of its data is read.
"""

from __future__ import annotations

import pandas as pd

from .. import catalog

__all__ = ["NotPublicError", "load_public", "latest_day", "entry_access", "Lazy"]


class NotPublicError(PermissionError):
    """A dashboard asked for a catalogue entry that is not public; nothing was read."""

    def __init__(self, name: str):
        self.name = name
        super().__init__(f"{name} is not a public dataset; public dashboards may only show public data")


def entry_access(name: str) -> str:
    """The access level in entry ``name``'s metadata ("public", "partner" or "restricted")."""
    return catalog.show(name).get("access", "restricted")


def load_public(name: str, **params):
    """``occidata.catalog.load(name, **params)`` with the public level only.

    Raises
    ------
    NotPublicError
        When the entry is not public (checked from its metadata, before any data is read).
    occidata.catalog.CatalogError
        For an unknown entry or parameter, or data not built.
    """
    if entry_access(name) != "public":
        raise NotPublicError(name)
    return catalog.load(name, levels=set(), **params)


def latest_day(frame: pd.DataFrame, column: str) -> pd.Timestamp:
    """The last calendar day present in ``frame[column]`` (midnight, time zone kept).

    Raises ValueError when the column holds no date.
    """
    stamps = pd.to_datetime(frame[column]).dropna()
    if stamps.empty:
        raise ValueError(f"no date in column {column!r}")
    return stamps.max().normalize()


class Lazy:
    """A loader called at first use and remembered once it succeeds: ``data = Lazy(load); data()``.

    Dashboards load through it so that a loading error happens inside ``render`` (where the layout
    turns it into a notice) and is tried again at the next change rather than remembered.
    """

    def __init__(self, loader):
        self.loader, self.value, self.loaded = loader, None, False

    def __call__(self):
        if not self.loaded:
            self.value, self.loaded = self.loader(), True
        return self.value
