"""Data for the public dashboards: public catalogue entries only, whoever runs the kernel.

A dashboard is seen by anyone, so it reads with the ``public`` level alone, ignoring any
``OCCIDATA_ACCESS_LEVELS`` the kernel may have, and it refuses a non-public entry before any
of its data is read.
"""

from __future__ import annotations

import pandas as pd

from .. import catalog

__all__ = ["NotPublicError", "load_public", "latest_day", "entry_access", "Lazy", "demonstration", "mark_demo",
           "is_demo", "DEMO_ATTR"]

#: The key of ``DataFrame.attrs`` saying that a dashboard's table holds demonstration data.
DEMO_ATTR = "occidata_demo"


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


def demonstration(*names: str, day=None) -> bool:
    """Whether the data of any of the catalogue entries ``names`` are demonstration data: generated
    by occidata when the data were built (``origin`` synthetic, or mixed away from the real
    period when ``day`` is outside it), with no provider's file ingested since.

    A record that cannot be read says nothing: the entry is not called demonstration data.
    """
    from ..config import load_config
    from ..datasets.stored import stored_record

    data_dir = load_config()["data_dir"]
    for name in names:
        try:
            record = stored_record(data_dir, name)
        except (OSError, ValueError):
            continue
        if record and not record.get("ingests") and not _real_on(record, day):
            return True
    return False


def _real_on(record: dict, day) -> bool:
    """Whether a build record's rows are the provider's: all of them (``real``), or those of the
    day shown when the entry mixes a real period with synthetic values."""
    origin = record.get("origin", "synthetic")
    if origin != "mixed" or day is None:
        return origin == "real"
    shown = pd.Timestamp(day).strftime("%Y-%m-%d")
    return any(source.get("period") and source["period"][0] <= shown <= source["period"][1]
               for source in record.get("sources", []))


def mark_demo(frame: pd.DataFrame, demo: bool) -> pd.DataFrame:
    """``frame``, its ``attrs`` saying whether it holds demonstration data (see :func:`is_demo`)."""
    frame.attrs[DEMO_ATTR] = bool(demo)
    return frame


def is_demo(frame: pd.DataFrame) -> bool:
    """What :func:`mark_demo` said of ``frame`` (False when nothing was said)."""
    return bool(frame.attrs.get(DEMO_ATTR, False))


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
