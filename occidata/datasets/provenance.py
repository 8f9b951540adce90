"""The provenance of ingested files: ``<data_dir>/<dataset>/_ingests.json``.

One record per ingest, never removed: its id (1, 2, ... per dataset, never reused), the source
file (name, full path, size, SHA-256, encoding, reader format), when and by which OS user, the
rows read, kept, duplicates and quarantined, the stored files with their SHA-256, the quarantine
report, and a status: ``active``, ``replaced`` (by a later ingest of a file of the same name run
with ``--replace``) or ``undone`` (``occidata data undo-ingest``), with who and when.

The file is rewritten whole (temporary file, then rename) while holding a lock on the dataset
folder, so two ingests at once keep both records. Its leading "_" keeps it out of table scans.
"""

from __future__ import annotations

import fcntl
import json
import os
import pwd
import shutil
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from ..atomic import write_atomic

INGESTS = "_ingests.json"
LOCK = ".ingests.lock"
ACTIVE, REPLACED, UNDONE = "active", "replaced", "undone"


class ProvenanceError(ValueError):
    """An ingest record that cannot be read or changed; the message (French) says which and why."""


def now() -> str:
    """The time of an event as recorded: UTC, ISO 8601, to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def current_user() -> str:
    """The OS account running this process, as the provenance records it."""
    uid = os.geteuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def read_ingests(folder: str | os.PathLike) -> list[dict]:
    """Every ingest record of the dataset stored in ``folder``, oldest first ([] if none)."""
    path = Path(folder) / INGESTS
    try:
        return json.loads(path.read_text(encoding="utf-8"))["ingests"]
    except FileNotFoundError:
        return []
    except (ValueError, KeyError, TypeError) as error:
        raise ProvenanceError(f"{path} : registre des ingestions illisible ({type(error).__name__}) ; "
                              "il ne doit pas être modifié à la main") from None


def write_ingests(folder: str | os.PathLike, records: list[dict]) -> None:
    """Replace the records of ``folder``'s dataset, atomically (call it under :func:`locked`)."""
    folder = Path(folder)
    text = json.dumps({"dataset": folder.name, "ingests": records}, indent=1, ensure_ascii=False) + "\n"
    write_atomic(folder / INGESTS, text, mode=0o600)


@contextmanager
def locked(folder: str | os.PathLike):
    """Hold the dataset folder's ingest lock (other ingests and undos of it wait)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def active_files(records: list[dict]) -> dict[str, str]:
    """``{path relative to the dataset folder: sha256}`` of the files of the active ingests."""
    return {relative: digest for record in records if record["status"] == ACTIVE
            for relative, digest in record["files"].items()}


def next_id(records: list[dict]) -> int:
    """The id of the next ingest: one more than any before, undone or not."""
    return max((record["id"] for record in records), default=0) + 1


def find_ingest(records: list[dict], dataset: str, ingest_id: str | int) -> dict:
    """The record with id ``ingest_id`` (a number, as ``occidata data ingests`` lists it)."""
    try:
        wanted = int(str(ingest_id).strip())
    except ValueError:
        raise ProvenanceError(f"{dataset} : identifiant d'ingestion {str(ingest_id)!r} invalide, un nombre est "
                              f"attendu (voir occidata data ingests {dataset})") from None
    for record in records:
        if record["id"] == wanted:
            return record
    known = ", ".join(str(record["id"]) for record in records) or "aucune"
    raise ProvenanceError(f"{dataset} : pas d'ingestion n° {wanted} (ingestions : {known})")


def remove_stored(data_dir: Path, dataset: str, record: dict) -> None:
    """Delete the files an ingest stored (its rows and its quarantine report)."""
    for relative in record["files"]:
        (data_dir / dataset / relative).unlink(missing_ok=True)
    if record.get("quarantine"):
        (data_dir / record["quarantine"]).unlink(missing_ok=True)


def undo_ingest(data_dir: str | os.PathLike, dataset: str, ingest_id: str | int, by: str | None = None) -> dict:
    """Remove exactly the rows ingest ``ingest_id`` stored, and record the undo; return its record.

    Raises
    ------
    ProvenanceError
        For an unknown id, or an ingest already undone or replaced (the message says by what).
    """
    data_dir = Path(data_dir)
    folder = data_dir / dataset
    with locked(folder):
        records = read_ingests(folder)
        record = find_ingest(records, dataset, ingest_id)
        if record["status"] == UNDONE:
            raise ProvenanceError(f"{dataset} : l'ingestion n° {record['id']} a déjà été annulée "
                                  f"({record['undone_at']}, par {record['undone_by']})")
        if record["status"] == REPLACED:
            raise ProvenanceError(f"{dataset} : l'ingestion n° {record['id']} a été remplacée par la n° "
                                  f"{record['replaced_by']} ; c'est celle-ci qu'il faut annuler")
        record.update(status=UNDONE, undone_at=now(), undone_by=by or current_user())
        write_ingests(folder, records)
        remove_stored(data_dir, dataset, record)
    return record


def carry_ingests(old: Path, new: Path) -> None:
    """Put the ingested files of dataset folder ``old`` (and their record) into ``new``, which a
    build is about to swap in, so that rebuilding a dataset never drops what was ingested."""
    records = read_ingests(old)
    if not records:
        return
    for relative in [INGESTS, *active_files(records)]:
        source, target = old / relative, new / relative
        if not source.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, target)  # the old folder is deleted after the swap; the link keeps the data
        except OSError:
            shutil.copy2(source, target)
