"""Which real provider exports an entry is built from, and reading them for the build.

A dataset module that has real data declares ``REAL`` (a :class:`RealSource`): the provider, the
licence and the attribution it requires, the files under ``sources.real_data_dir`` (glob patterns,
newest export first) and the reader (a key of its ``READERS``). The build (:mod:`.build`) then
stores the real rows when those files are there and the synthetic generator's rows when they are
not, and records which (``origin``: ``real``, ``synthetic`` or ``mixed``) with the provenance of
every file. ``role`` says how real rows meet synthetic ones:

- ``"whole"``: the real exports are the entry (synthetic only where they are absent);
- ``"period"``: they add a real period beside the synthetic series (the entry is then ``mixed``),
  say ATMO's hourly export of the March 2020 episode beside synthetic hourly values of 2024.

Every row of every file is kept or set aside with its file, line and reason: rows the schema
refuses, repeats of a measurement already read (duplicates, counted), and revised values (an
older export's figure for a measurement a newer export gives otherwise: the newest is kept).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import pandas as pd

from . import revisions
from .row_checks import validate_with_lines
from .schema import REASON, SOURCE_ROW
from .sourcefile import open_source

SOURCE_FILE = "source_file"
WHOLE, PERIOD = "whole", "period"
REAL, SYNTHETIC, MIXED = "real", "synthetic", "mixed"


_LICENCE_OUVERTE = ("https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
                    "Licence Ouverte : réutilisation libre, en citant la source ({attribution}) et la date de mise à jour.")
# What each licence of the real exports asks of a reuser (the pages' note), and where it is written.
LICENCES = {
    "Licence Ouverte 2.0": _LICENCE_OUVERTE,
    "Licence Ouverte": _LICENCE_OUVERTE,
    "ODbL 1.0": ("https://opendatacommons.org/licenses/odbl/1-0/",
                 "ODbL : citer « {attribution} » ; toute base de données dérivée diffusée doit l'être sous ODbL "
                 "(partage à l'identique)."),
    "ECA&D: free use with acknowledgement": ("https://www.ecad.eu/dailydata/",
                                             "ECA&D : usage libre, en citant « {attribution} »."),
}


@dataclass(frozen=True)
class RealSource:
    """Where an entry's real data come from (see the module docstring)."""

    provider: str
    licence: str
    attribution: str
    patterns: tuple[str, ...]  # under sources.real_data_dir, newest export first
    fmt: str  # the reader: a key of the module's READERS
    role: str = WHOLE

    def __post_init__(self):
        if self.licence not in LICENCES:
            raise ValueError(f"{self.provider}: licence {self.licence!r} unknown; known: {', '.join(LICENCES)}")

    @property
    def licence_url(self) -> str:
        """Where the licence is written."""
        return LICENCES[self.licence][0]

    @property
    def note_fr(self) -> str:
        """What the licence asks of whoever reuses the data, for the pages (French)."""
        return LICENCES[self.licence][1].format(attribution=self.attribution)

    def files(self, real_data_dir: str | Path | None) -> list[Path]:
        """The exports present under ``real_data_dir``, in reading order ([] when none or no folder)."""
        if real_data_dir is None or not Path(real_data_dir).is_dir():
            return []
        found: list[Path] = []
        for pattern in self.patterns:
            found += [path for path in sorted(Path(real_data_dir).glob(pattern), reverse=True)
                      if path.is_file() and path not in found]
        return found

    def describe(self) -> dict:
        """The catalogue's words for this source (same for every build)."""
        return {"provider": self.provider, "licence": self.licence, "attribution": self.attribution,
                "files": list(self.patterns), "format": self.fmt,
                "role": "the whole entry" if self.role == WHOLE else "a real period beside synthetic values",
                **({"licence_url": self.licence_url} if self.licence_url else {}),
                **({"note_fr": self.note_fr} if self.note_fr else {})}


@dataclass
class RealLoad:
    """What the real exports gave: the rows kept, those set aside, and each file's provenance."""

    rows: pd.DataFrame
    quarantined: pd.DataFrame
    files: list[dict] = field(default_factory=list)


def real_source(module: ModuleType) -> RealSource | None:
    """The module's ``REAL``, if it has real data."""
    return getattr(module, "REAL", None)


def load_real(module: ModuleType, real_data_dir: str | Path | None) -> RealLoad | None:
    """Read, validate and merge ``module``'s real exports under ``real_data_dir``; ``None`` when
    it has none there. Files are read in ``REAL.patterns`` order, so where exports overlap the
    first (newest) one's figure is kept and the others are set aside as revised, with both values."""
    source = real_source(module)
    paths = source.files(real_data_dir) if source else []
    if not paths:
        return None
    reader = module.READERS[source.fmt]
    schema = module.SCHEMA
    table: pd.DataFrame | None = None
    set_aside: list[pd.DataFrame] = []
    files = []
    for path in paths:
        checked = open_source(path)
        raw = reader(path, encoding=checked.encoding)
        kept, quarantined, kept_lines = validate_with_lines(schema, raw, str(path))
        if getattr(schema, "key", ()):
            status = revisions.overlap(kept, table, schema, where_stored="in an export read before (kept)")
        else:
            status = pd.DataFrame({"status": revisions.NEW, "reason": ""}, index=kept.index)
        fresh = kept[(status["status"] == revisions.NEW).to_numpy()]
        revised = (status["status"] == revisions.REVISED).to_numpy()
        if revised.any():
            extra = kept[revised].astype(object).assign(**{SOURCE_ROW: kept_lines[revised],
                                                           REASON: status["reason"][revised].to_numpy()})
            quarantined = pd.concat([quarantined, extra], ignore_index=True)
        set_aside.append(quarantined.assign(**{SOURCE_FILE: path.name}))
        table = fresh if table is None else pd.concat([table, fresh], ignore_index=True)
        times = fresh[schema.time_column] if schema.time_column and len(fresh) else None
        files.append({
            "period": [f"{times.min():%Y-%m-%d}", f"{times.max():%Y-%m-%d}"] if times is not None else None,
            "provider": source.provider, "name": path.name, "path": str(path), "size": checked.size,
            "sha256": checked.sha256, "encoding": checked.encoding, "format": source.fmt,
            "rows": {"read": len(raw), "kept": len(fresh),
                     "duplicates": int((status["status"] == revisions.DUPLICATE).sum()),
                     "revised": int(revised.sum()), "quarantined": len(quarantined)},
        })
    quarantine = pd.concat(set_aside, ignore_index=True) if set_aside else pd.DataFrame()
    return RealLoad(table.reset_index(drop=True), quarantine, files)

