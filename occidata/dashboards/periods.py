"""Pages that offer several periods of their data: the recent days, or a real past period.

A page such as « Chaleur » shows either the recent days of its demonstration data or a real
summer; « Qualité de l'air » the recent days or ATMO's real episode of March 2020. Each period
is its own data (its own catalogue read, its own computation), loaded only when a visitor asks
for it: :class:`Periods` keeps one :class:`occidata.dashboards.data.Lazy` per period.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

from .data import Lazy

__all__ = ["Periods"]


class Periods:
    """The data of each period a page offers, each loaded at first need and kept once loaded.

    ``load(key)`` returns one period's data; ``keys`` are the periods offered, in the order the
    page lists them; ``opening`` is the one the page opens with. ``periods(key)`` gives a period's
    data (``periods()``: the opening one's).
    """

    def __init__(self, load: Callable[[str], object], keys: Sequence[str], opening: str):
        self.keys = tuple(keys)
        if opening not in self.keys:
            raise ValueError(f"period {opening!r} is not one of {', '.join(self.keys)}")
        self.opening = opening
        self._loaders = {key: Lazy(partial(load, key)) for key in self.keys}
        self.failures: dict[str, Exception] = {}

    @classmethod
    def of(cls, data: object, key: str) -> "Periods":
        """One period only, whose data are already loaded."""
        return cls(lambda _key: data, (key,), key)

    def __call__(self, key: str | None = None):
        key = self.opening if key is None else key
        if key not in self._loaders:
            raise ValueError(f"period {key!r} is not one of {', '.join(self.keys)}")
        return self._loaders[key]()

    def available(self) -> tuple[str, ...]:
        """The periods whose data can be read, in order; the opening one always (its failure is the
        page's notice). Another period that fails to load (a build without the provider's export)
        is left out, its error kept in ``failures``: not printed, since a snapshot's output on
        stderr makes the publication gate refuse the whole page."""
        keys = []
        for key in self.keys:
            if key != self.opening:
                try:
                    self(key)
                except Exception as error:  # noqa: BLE001 - any failure: the period is not offered
                    self.failures[key] = error
                    continue
            keys.append(key)
        return tuple(keys)
