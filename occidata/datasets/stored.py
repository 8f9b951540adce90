"""What a table holds on disk: the files of its build, plus those of its active ingests.

The one answer that catalogue reads (which files to check and scan) and ingests (which rows
are already there) share. Files neither lists (left by an interrupted write, or by an ingest
undone or replaced) are never read.
"""

from __future__ import annotations

import os
from pathlib import Path

from .build import read_manifest
from .provenance import ACTIVE, active_files, read_ingests


def stored_files(build: dict | None, ingests: list[dict]) -> dict[str, str]:
    """``{path relative to the dataset folder: sha256}`` of a build record and ingest records."""
    return {**(build or {}).get("files", {}), **active_files(ingests)}


def stored_record(data_dir: str | os.PathLike, name: str) -> dict | None:
    """The build manifest's record of ``name`` with the files of its active ingests added.

    ``None`` when the dataset was neither built nor ingested. For a dataset only ingested, the
    record has no build fields (``built_at``, ``size``...), only ``files`` and ``ingests``.
    """
    build = read_manifest(data_dir).get(name)
    ingests = read_ingests(Path(data_dir) / name)
    active = [record["id"] for record in ingests if record["status"] == ACTIVE]
    if not active:
        return build
    return {**(build or {"kind": "table"}), "files": stored_files(build, ingests), "ingests": active}
