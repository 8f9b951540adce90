"""The audit log: append-only JSON lines, people pseudonymised, hash-chained and keyed.

Every event is one line of ``<state_dir>/logs/audit.jsonl`` (mode 0600)::

    {"access":"partner","event":"read","hash":"…","mac":"…","parameters":{"year":2024},
     "prev":"…","seq":7,"what":"building_meters","when":"2024-05-01T09:30:00+00:00","who":"…"}

- ``seq`` counts 1, 2, …; ``prev`` is the ``hash`` of the line before (``"0" * 64`` for the
  first record of the chain); ``hash`` is the SHA-256 of the record without ``hash`` and
  ``mac``, written as canonical JSON (sorted keys, compact separators, UTF-8). Editing,
  removing or reordering lines breaks the chain at that line, which :func:`verify_audit`
  reports with its number.
- ``mac`` is an HMAC-SHA256 of the record (its hash included) under a key that changes at every
  record, one way (:mod:`occidata.privacy.audit_keys`): ``key_1`` comes from a root key that only
  the verifier reads (``<state_dir>/secrets/audit-root.key``; root's in server mode), and
  ``key_{i+1} = SHA-256(key_i)``. The writer keeps the next record's key only, in
  ``<log>.keys/current`` (0600, the log's owner), replaced atomically after each record under
  the log's lock. :func:`verify_audit` recomputes every key from the root key.
- ``who``, ``by`` and ``second_by`` are never clear names: they hold the keyed hash of
  :mod:`occidata.privacy.pseudonyms`, whose key lives in ``<state_dir>/secrets/``.
- Appending takes an exclusive ``flock`` on the log, reads the last record and writes the new
  line on an ``O_APPEND`` descriptor, so concurrent processes never fork the chain.
- :func:`prune_audit` drops records older than the retention, rewriting the log atomically; the
  last removed record's ``seq`` and ``hash`` go to ``<log>.anchor`` so the rest still verifies,
  and the pruning is itself a (keyed) event of the chain. The verifier computes the key of any
  seq from the root key, so the records kept after a pruning verify as before.

What this protects against. In server mode the log, its key state and the data service are the
service account's (``server.service_user``; the hub, as root, appends too); the root key and the
verifier (``occidata audit verify``, as root) are root's. Whoever holds the service account
(its owner, or an attacker who took over the data service) holds the *current* key only, and
cannot compute an earlier one. So for every record written before they got hold of it,
``verify_audit`` finds:

- an edited record, even with its hash and every following hash recomputed (a re-chained log):
  its MAC no longer matches, and they cannot make one;
- a dropped record, with or without the rest renumbered and re-chained;
- a record forged into the past;
- the last records cut off: the key state is ahead of the log's last record (or missing, if they
  removed it too);
- a key state replaced by an older copy (behind the log), or by anything else (it does not hold
  the key the root key gives for its seq).

What it does not protect against:

- records written after the account was taken: the attacker holds the current key and can
  write, change or withhold anything from then on; with a copy of the key state taken at some
  moment, they can cut the log back to that moment and put the copy back unnoticed;
- destruction: a removed log or key state is found, not brought back (keep copies elsewhere);
- root, which holds the root key; and **demo mode**, where one account writes the log and holds
  the root key: there the log is evidence against naive edits only;
- a process killed between writing a record and replacing the key state leaves the previous
  key on disk until the next record (verify notes it: the key state is one record behind);
- erasure: old keys are overwritten, not wiped from free disk blocks or from memory.

A log written before records were keyed has no ``mac``: :func:`check_audit` says so and checks
its hash chain only; the next write (server mode: the next ``occidata up``, as root) makes the
root key with ``keyed_from`` = the next seq, and every record from there on is keyed.
"""

from __future__ import annotations

import fcntl
import getpass
import hashlib
import json
import os
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

from ..atomic import replace_file, write_atomic
from .audit_keys import (
    AuditError,
    KeyState,
    RootKey,
    advance,
    create_root_key,
    first_key,
    key_state_path,
    mac_of,
    next_key,
    read_key_state,
    read_root_key,
    root_key_path,
    write_key_state,
)
from .pseudonyms import load_or_create_key, pseudonymise

GENESIS = "0" * 64
EVENTS = (
    "read", "grant", "grant_requested", "revoke", "publication", "login", "access_denied", "prune",
    # a steward had readers' names shown in the view of use (occidata.catalog.use_service)
    "names_shown",
    # access requests (occidata.catalog.access_requests, through the data service)
    "access_requested", "access_approved", "access_refused", "access_withdrawn", "expiry_notice",
    # recorded by the hub itself (occidata.hub.audit_hooks, occidata.hub.native_handlers)
    "group_change", "role_change", "admin_change", "login_failed", "login_locked",
)
PERSON_FIELDS = ("who", "by", "second_by")  # pseudonymised before they are written
MAX_KEY_WALK = 10_000_000  # records a log may have lost and still be checked key by key (a few seconds)
RESERVED_FIELDS = ("seq", "when", "event", "who", "prev", "hash", "mac")

__all__ = ["AuditCheck", "AuditError", "EVENTS", "GENESIS", "check_audit", "prepare_audit_keys", "prune_audit",
           "query_audit", "read_audit", "record_event", "record_hash", "record_mac", "record_read", "verify_audit"]


def current_user() -> str:
    """The person acting: the hub user inside a lab server, else the system user."""
    return os.environ.get("JUPYTERHUB_USER") or getpass.getuser()


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def _parse_when(text: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def canonical_json(record: dict) -> str:
    """The one text of ``record`` that its hash and MAC are computed on."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def record_hash(record: dict) -> str:
    """SHA-256 (hex) of the canonical JSON of ``record`` without its ``hash`` and ``mac`` fields."""
    body = {key: value for key, value in record.items() if key not in ("hash", "mac")}
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def record_mac(record: dict, key: bytes) -> str:
    """HMAC-SHA256 (hex) under ``key`` of the canonical JSON of ``record`` without ``mac``."""
    return mac_of(canonical_json({k: v for k, v in record.items() if k != "mac"}), key)


def _state_dir_of(log_path: Path, state_dir: str | os.PathLike | None) -> Path:
    # The log lives at <state_dir>/logs/audit.jsonl.
    return Path(state_dir) if state_dir is not None else log_path.parent.parent


def anchor_path(log_path: str | os.PathLike) -> Path:
    """Where :func:`prune_audit` keeps the seq and hash of the last removed record."""
    log_path = Path(log_path)
    return log_path.with_name(log_path.name + ".anchor")


def read_anchor(log_path: str | os.PathLike) -> dict | None:
    """The anchor left by the last pruning, or None; raises AuditError when it is unreadable."""
    path = anchor_path(log_path)
    if not path.exists():
        return None
    try:
        anchor = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as error:
        raise AuditError(f"the audit anchor {path} is unreadable: {error}") from None
    if not (isinstance(anchor, dict) and isinstance(anchor.get("seq"), int) and isinstance(anchor.get("hash"), str)):
        raise AuditError(f"the audit anchor {path} lacks an integer 'seq' and a 'hash'")
    return anchor


# ---------------------------------------------------------------------------------------------
# Writing


@contextmanager
def _locked_log(log_path: Path) -> Iterator[int]:
    """An O_APPEND descriptor of the log (created 0600) holding its exclusive lock.

    A pruning replaces the file by a rename; whoever was waiting for the lock on the old file
    notices that the path now names another file, and locks that one instead.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(log_path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                current = os.stat(log_path)
            except FileNotFoundError:
                current = None
            held = os.fstat(fd)
            if current is not None and (current.st_ino, current.st_dev) == (held.st_ino, held.st_dev):
                break
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # the log was replaced while we waited: lock the new one
    try:
        yield fd
    finally:
        os.close(fd)  # closing releases the lock


def _tail_lines(fd: int, block: int = 65536) -> list[str]:
    """The last lines of the file, enough to hold the last complete one (the first of them
    may be cut unless the file starts there)."""
    size = os.fstat(fd).st_size
    start = max(0, size - block)
    data = os.pread(fd, size - start, start)
    while start > 0 and data.count(b"\n") < 2:
        block *= 2
        start = max(0, size - block)
        data = os.pread(fd, size - start, start)
    lines = data.decode("utf-8", errors="replace").splitlines()
    return lines[1:] if start > 0 else lines


def _ends_with_newline(fd: int) -> bool:
    size = os.fstat(fd).st_size
    return size == 0 or os.pread(fd, 1, size - 1) == b"\n"


def _last_link(fd: int, log_path: Path) -> tuple[int, str]:
    """(seq, hash) the next record continues from: the last valid record, else the anchor."""
    for lines in (_tail_lines(fd), None):
        if lines is None:
            # The tail holds no valid record (a torn write?): look through the whole file.
            lines = os.pread(fd, os.fstat(fd).st_size, 0).decode("utf-8", errors="replace").splitlines()
        for line in reversed(lines):
            record = _parse_line(line)
            if record is not None:
                return record["seq"], record["hash"]
    anchor = read_anchor(log_path)
    return (anchor["seq"], anchor["hash"]) if anchor else (0, GENESIS)


def _parse_line(line: str) -> dict | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if isinstance(record, dict) and isinstance(record.get("seq"), int) and isinstance(record.get("hash"), str):
        return record
    return None


def _owner(fd: int) -> tuple[int, int]:
    info = os.fstat(fd)
    return info.st_uid, info.st_gid


def _start_keys(log_path: Path, state_dir: Path, last_seq: int, owner: tuple[int, int]) -> KeyState:
    """Make the root key (keyed from the next seq) and the first key state; the log's lock is held.

    Never done when a root key exists: a key state missing beside it is evidence (a cut log, a
    removed key state), and making a new one would erase it.
    """
    state_path = key_state_path(log_path)
    try:
        root = read_root_key(state_dir)
    except AuditError as error:
        raise AuditError(f"the audit key state {state_path} is missing and {error}") from None
    if root is not None:
        raise AuditError(
            f"the audit key state {state_path} is missing although the root key {root_key_path(state_dir)} "
            "exists: the log may have been cut or its key state removed, so nothing more is appended to it. "
            "Run `occidata audit verify` (as root in server mode); to start a new log, move the log, its "
            ".anchor and .keys and the root key aside (keep them as evidence), then start the platform again")
    try:
        root = create_root_key(state_dir, keyed_from=last_seq + 1)
    except PermissionError as error:
        raise AuditError(f"the audit log {log_path} has no keys yet and this account cannot make them ({error}); "
                         "start the platform once as root (`occidata up`) to make them") from None
    state = KeyState(root.keyed_from, root.key_at(root.keyed_from))
    write_key_state(log_path, state, owner)
    return state


def _next_link(fd: int, log_path: Path, state_dir: Path) -> tuple[int, str, bytes]:
    """(seq, prev, key) of the next record; the log's lock is held.

    The seq follows the last record, or the key state if that is further on (records were lost:
    the gap stays visible); a key state one record behind (a process killed between writing a
    record and replacing the key state) is carried forward.
    """
    last_seq, prev = _last_link(fd, log_path)
    state = read_key_state(log_path)
    if state is None:
        state = _start_keys(log_path, state_dir, last_seq, _owner(fd))
    seq = max(last_seq + 1, state.seq)
    return seq, prev, advance(state.key, seq - state.seq)


def prepare_audit_keys(log_path: str | os.PathLike, state_dir: str | os.PathLike | None = None,
                       owner: tuple[int, int] | None = None) -> str:
    """Start keyed records for ``log_path`` if they have not started; idempotent.

    Server mode runs it as root at every start, with ``owner`` the service account's (uid, gid):
    the root key is then root's, the key state the service account's. Returns ``"started"``,
    ``"ready"``, or ``"missing"`` when a root key exists without a key state (evidence of a cut
    log or a removed key state: nothing is made, appending will be refused, the caller says so).
    """
    log_path = Path(log_path)
    state_dir = _state_dir_of(log_path, state_dir)
    with _locked_log(log_path) as fd:
        owner = owner or _owner(fd)
        state = read_key_state(log_path)
        if state is None:
            if read_root_key(state_dir) is not None:
                return "missing"
            last_seq, _ = _last_link(fd, log_path)
            _start_keys(log_path, state_dir, last_seq, owner)
            return "started"
        if os.geteuid() == 0:
            path = key_state_path(log_path)
            for item in (path.parent, path):
                os.chown(item, *owner)
        return "ready"


def _build_record(event: str, who: str, fields: dict, key: bytes, seq: int, prev: str, now: datetime | None,
                  mac_key: bytes) -> dict:
    record: dict[str, Any] = {"seq": seq, "when": _iso(now or _utc_now()), "event": event,
                              "who": pseudonymise(who, key)}
    for name, value in fields.items():
        if name in PERSON_FIELDS and value is not None:
            value = pseudonymise(str(value), key)
        record[name] = value
    record["prev"] = prev
    # Round-trip through JSON so that what is hashed is exactly what a reader will parse back.
    record = json.loads(json.dumps(record, ensure_ascii=False, default=str))
    record["hash"] = record_hash(record)
    record["mac"] = record_mac(record, mac_key)
    return record


def _check_event(event: str, fields: dict) -> None:
    if event not in EVENTS:
        raise ValueError(f"unknown audit event {event!r}; known: {', '.join(EVENTS)}")
    clash = sorted(set(fields) & set(RESERVED_FIELDS))
    if clash:
        raise ValueError(f"audit fields {', '.join(clash)} are set by the log itself")


def record_event(log_path: str | os.PathLike, event: str, *, who: str | None,
                 state_dir: str | os.PathLike | None = None, now: datetime | None = None, **fields: Any) -> dict:
    """Append one event to the audit log and return the record as written.

    Parameters
    ----------
    log_path
        The log, normally ``<state_dir>/logs/audit.jsonl`` (created 0600).
    event
        One of :data:`EVENTS`.
    who
        The clear name of the person concerned (None: the current user); stored pseudonymised.
    state_dir
        Where the pseudonym key and the audit root key live (default: two levels above ``log_path``).
    now
        The event's time (default: now, UTC).
    **fields
        The event's own fields, e.g. ``what``, ``access``, ``parameters``, ``group``, ``by``
        (``by`` is pseudonymised too). Values must be JSON-able; others are written as text.

    Raises
    ------
    AuditError
        When the log cannot be keyed: its key state is missing beside an existing root key
        (a cut log?), or this account cannot make the first keys (server mode before
        ``occidata up``).
    """
    _check_event(event, fields)
    log_path = Path(log_path)
    state_dir = _state_dir_of(log_path, state_dir)
    key = load_or_create_key(state_dir)
    who = who or current_user()
    with _locked_log(log_path) as fd:
        seq, prev, mac_key = _next_link(fd, log_path, state_dir)
        record = _build_record(event, who, fields, key, seq, prev, now, mac_key)
        line = json.dumps(record, ensure_ascii=False) + "\n"
        if not _ends_with_newline(fd):
            line = "\n" + line  # never glue a record onto a torn line
        os.write(fd, line.encode("utf-8"))
        os.fsync(fd)
        write_key_state(log_path, KeyState(seq + 1, next_key(mac_key)), _owner(fd))
    return record


def record_read(log_path: str | os.PathLike, dataset: str, access: str, parameters: dict,
                user: str | None = None) -> dict:
    """Audit a read of a partner or restricted dataset by ``user`` (default: the current user)."""
    return record_event(log_path, "read", who=user or current_user(), what=dataset, access=access,
                        parameters=parameters)


# ---------------------------------------------------------------------------------------------
# Reading and checking


def read_audit(log_path: str | os.PathLike) -> list[dict]:
    """Every record of the audit log, oldest first (lines that are not records are skipped;
    :func:`verify_audit` reports them)."""
    path = Path(log_path)
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


@dataclass
class AuditCheck:
    """What :func:`check_audit` found: ``problems`` (each naming its line or file; empty when the
    log is intact), ``notes`` (facts worth knowing that are not damage), the number of records,
    and whether the log is keyed."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    records: int = 0
    keyed: bool = False


class _KeyWalk:
    """The key of any seq from the root key, ratcheting forward from the nearest known one."""

    STRIDE = 1024

    def __init__(self, root: RootKey):
        self.known = {1: first_key(root.key)}
        self.seq, self.key = 1, self.known[1]

    def at(self, seq: int) -> bytes:
        if seq < self.seq:
            self.seq = max(s for s in self.known if s <= seq)
            self.key = self.known[self.seq]
        while self.seq < seq:
            self.key, self.seq = next_key(self.key), self.seq + 1
            if self.seq % self.STRIDE == 0:
                self.known[self.seq] = self.key
        return self.key


def verify_audit(log_path: str | os.PathLike, state_dir: str | os.PathLike | None = None) -> list[str]:
    """Problems of the audit log, each naming its line or file; empty when intact.

    See :func:`check_audit`, which also returns notes (a log not keyed yet, a key state one
    record behind).
    """
    return check_audit(log_path, state_dir).problems


def check_audit(log_path: str | os.PathLike, state_dir: str | os.PathLike | None = None) -> AuditCheck:
    """Check the audit log's hash chain, its MACs and its key state; run by the verifier (root).

    Checks every line's hash against its content, its ``prev`` against the line before (or
    the start: ``"0" * 64``, or the anchor left by :func:`prune_audit`) and that ``seq``
    goes up by one. After a problem, checking goes on from the line as it stands, so one
    edited line is reported once rather than for the rest of the log. Then, with the root key
    of ``state_dir`` (default: two levels above the log): every record from ``keyed_from`` on
    must carry the MAC of its seq's key, and the writer's key state must hold the key of the
    seq right after the log's last record (ahead: records cut off; behind: an older copy put
    back; another key: replaced).
    """
    path = Path(log_path)
    state_dir = _state_dir_of(path, state_dir)
    check = AuditCheck()
    problems = check.problems
    try:
        anchor = read_anchor(path)
    except AuditError as error:
        problems.append(str(error))
        anchor = None
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines() if path.exists() else []
    if not path.exists() and anchor:
        problems.append(f"{path} is missing but an anchor says records up to seq {anchor['seq']} existed")
    try:
        root = read_root_key(state_dir)
    except AuditError as error:
        problems.append(str(error))
        root = None
        root_unreadable = True
    else:
        root_unreadable = False
    try:
        state = read_key_state(path)
    except AuditError as error:
        problems.append(str(error))
        state = None
        state_unreadable = True
    else:
        state_unreadable = False
    keys = _KeyWalk(root) if root else None
    start_seq = anchor["seq"] if anchor else 0
    # Keys are computed one hash at a time: a forged seq far ahead would make the walk endless.
    limit = max(start_seq, root.keyed_from - 1 if root else 0) + len(lines) + MAX_KEY_WALK
    reachable = min(limit, max(state.seq if state else 0, limit - MAX_KEY_WALK))

    seq_counts = Counter(r["seq"] for r in map(_parse_line, lines) if r is not None)
    prev_hash: str | None = anchor["hash"] if anchor else GENESIS
    prev_seq: int | None = anchor["seq"] if anchor else 0
    start = "the anchor" if anchor else "the start of the chain"
    last_prune: dict | None = None
    anchor_seen_in_log = False
    last_seq: int | None = None
    unkeyed = with_mac = 0
    for number, line in enumerate(lines, start=1):
        where = f"line {number - 1}" if number > 1 else start
        try:
            record = json.loads(line)
        except ValueError:
            problems.append(f"line {number}: not a JSON record" + (" (empty line)" if not line.strip() else ""))
            prev_hash = prev_seq = None
            continue
        if not isinstance(record, dict) or not isinstance(record.get("seq"), int) or "hash" not in record:
            problems.append(f"line {number}: not an audit record (no seq or hash)")
            prev_hash = prev_seq = None
            continue
        check.records += 1
        seq = record["seq"]
        last_seq = seq
        with_mac += "mac" in record
        hash_ok = record_hash(record) == record["hash"]
        if not hash_ok:
            problems.append(f"line {number}: hash does not match its content (edited?)")
        if root is not None and seq >= root.keyed_from:
            if "mac" not in record:
                problems.append(f"line {number}: seq {seq} carries no MAC, though records are keyed from "
                                f"seq {root.keyed_from} on (rewritten?)")
            elif seq > reachable or seq < 1:
                problems.append(f"line {number}: seq {seq} lies beyond any seq the writer reached (forged?)")
            elif hash_ok and record["mac"] != record_mac(record, keys.at(seq)):
                problems.append(f"line {number}: MAC does not match (rewritten with a fresh hash, or forged "
                                "without the key)")
        elif root is not None:
            unkeyed += 1
        if anchor and number == 1 and seq <= anchor["seq"]:
            # A pruning stopped between writing the anchor and replacing the log: the anchored
            # record must still be here, unchanged.
            anchor_seen_in_log = True
            prev_hash, prev_seq = record.get("prev"), seq - 1
        linked = True
        if prev_seq == 0 and seq != 1:
            linked = False
            problems.append(f"line {number}: seq {seq}, but the chain starts at 1 and there is no anchor (lines removed?)")
        elif prev_seq is not None and seq != prev_seq + 1:
            linked = False
            problems.append(f"line {number}: seq {seq} after {prev_seq} ({_seq_hint(seq, prev_seq, seq_counts)})")
        if linked and prev_hash is not None and record.get("prev") != prev_hash:
            problems.append(f"line {number}: prev does not match {where}")
        if anchor_seen_in_log and seq == anchor["seq"] and record["hash"] != anchor["hash"]:
            problems.append(f"line {number}: seq {seq} differs from the record the anchor names")
        if record.get("event") == "prune":
            last_prune = record
        prev_hash, prev_seq = record["hash"], seq
    if anchor and not anchor_seen_in_log:
        if last_prune is None:
            problems.append(f"{anchor_path(path).name}: no prune event in the log accounts for the anchor")
        elif (last_prune.get("through_seq"), last_prune.get("through_hash")) != (anchor["seq"], anchor["hash"]):
            problems.append(f"{anchor_path(path).name}: the anchor does not match the last prune event "
                            f"(seq {anchor['seq']} vs {last_prune.get('through_seq')})")

    if root is None:
        if root_unreadable:
            return check
        if with_mac or state is not None or state_unreadable:
            problems.append(f"the root key {root_key_path(state_dir)} is missing, yet the log is keyed: its MACs "
                            "cannot be checked (root key removed?)")
        elif check.records:
            check.notes.append(f"this log is not keyed (written before keyed records; no {root_key_path(state_dir)}): "
                               "only its hash chain was checked, which the log's owner could rewrite. Keyed records "
                               "start at the next write (server mode: at the next `occidata up`, as root)")
        return check
    check.keyed = True
    if unkeyed:
        check.notes.append(f"{unkeyed} record(s) before seq {root.keyed_from} were written before records were "
                           "keyed: only their hash chain was checked")
    end = max(last_seq if last_seq is not None else start_seq, root.keyed_from - 1)
    state_path = key_state_path(path)
    if state is None:
        if not state_unreadable:
            problems.append(f"the key state {state_path} is missing: the log may have been cut (its last "
                            f"record is seq {end}) and the key state removed")
    elif state.seq > limit:
        problems.append(f"the key state {state_path} is at seq {state.seq}, far beyond the log's last record "
                        f"(seq {end}): forged?")
    elif state.key != keys.at(state.seq):
        problems.append(f"the key state {state_path} does not hold the key of seq {state.seq}: replaced or forged")
    elif state.seq > end + 1:
        missing = f"seq {end + 1}" if state.seq == end + 2 else f"seq {end + 1} to {state.seq - 1}"
        problems.append(f"the log ends at seq {end} but its key state is at seq {state.seq}: records {missing} "
                        "are missing (log cut?)")
    elif state.seq == end:
        check.notes.append(f"the key state is one record behind the log (seq {state.seq}): a writer stopped between "
                           "writing a record and replacing its key; the next record carries it forward")
    elif state.seq < end:
        problems.append(f"the key state {state_path} is at seq {state.seq}, behind the log's last record (seq {end}): "
                        "an older copy put back?")
    return check


def _seq_hint(seq: int, prev_seq: int, seq_counts: Counter) -> str:
    """Why a seq may not follow the one before: a line removed, moved, or repeated."""
    if seq > prev_seq + 1:
        if seq - prev_seq > 1000 or any(s not in seq_counts for s in range(prev_seq + 1, seq)):
            return "line removed?"
        return "lines out of order?"
    return "line repeated?" if seq_counts[seq] > 1 else "lines out of order?"


def _day_bound(value: date | datetime | str | None, option: str, end: bool) -> datetime | None:
    """A datetime from a date, datetime or ISO text; a bare day covers the whole day."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{option}: not a date: {value!r} (expected YYYY-MM-DD)") from None
    if not isinstance(value, datetime):
        value = datetime.combine(value + timedelta(days=1) if end else value, time(0), tzinfo=timezone.utc)
        return value - timedelta(microseconds=1) if end else value
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def query_audit(log_path: str | os.PathLike, *, user: str | None = None, dataset: str | None = None,
                event: str | None = None, since: date | datetime | str | None = None,
                until: date | datetime | str | None = None, state_dir: str | os.PathLike | None = None) -> list[dict]:
    """Records matching every filter given, oldest first.

    ``user`` is a clear name: it matches records whose ``who`` or ``by`` is its pseudonym.
    ``since`` and ``until`` are inclusive; a bare date (``"2024-05-01"``) covers that whole day.
    """
    log_path = Path(log_path)
    if event is not None and event not in EVENTS:
        raise ValueError(f"unknown audit event {event!r}; known: {', '.join(EVENTS)}")
    start = _day_bound(since, "since", end=False)
    stop = _day_bound(until, "until", end=True)
    pseudonym = pseudonymise(user, load_or_create_key(_state_dir_of(log_path, state_dir))) if user else None
    found = []
    for record in read_audit(log_path):
        if pseudonym is not None and pseudonym not in (record.get("who"), record.get("by")):
            continue
        if dataset is not None and record.get("what") != dataset:
            continue
        if event is not None and record.get("event") != event:
            continue
        if start or stop:
            moment = _parse_when(record.get("when"))
            if moment is None or (start and moment < start) or (stop and moment > stop):
                continue
        found.append(record)
    return found


# ---------------------------------------------------------------------------------------------
# Retention


def prune_audit(log_path: str | os.PathLike, retention_days: int, now: datetime | None = None, *,
                who: str | None = None, state_dir: str | os.PathLike | None = None) -> dict:
    """Remove the records older than ``retention_days``, keeping the rest verifiable.

    Only the oldest run of records is removed (the chain must stay whole). Under the log's
    lock: the anchor (seq and hash of the last removed record) is written first, then the log
    is replaced atomically by the kept records plus a keyed ``prune`` event (the new file keeps
    the log's owner), then the key state moves on. A log that does not verify is not pruned
    (that would remove the evidence): AuditError. Needs the root key, as verifying does.

    Returns ``{"removed": n, "kept": m, "cutoff": iso, "anchor": {...} or None}``.
    """
    if isinstance(retention_days, bool) or not isinstance(retention_days, int) or retention_days < 1:
        raise ValueError(f"retention_days must be a whole number of days >= 1, not {retention_days!r}")
    log_path = Path(log_path)
    state_dir = _state_dir_of(log_path, state_dir)
    now = now or _utc_now()
    now = now if now.tzinfo else now.replace(tzinfo=timezone.utc)
    cutoff = now - timedelta(days=retention_days)
    result: dict[str, Any] = {"removed": 0, "kept": 0, "cutoff": _iso(cutoff), "anchor": None}
    if not log_path.exists():
        return result
    key = load_or_create_key(state_dir)
    with _locked_log(log_path) as fd:
        problems = verify_audit(log_path, state_dir)
        if problems:
            raise AuditError("the audit log does not verify, so it is not pruned:\n  " + "\n  ".join(problems))
        records = read_audit(log_path)
        old = 0
        for record in records:
            moment = _parse_when(record.get("when"))
            if moment is None or moment >= cutoff:
                break
            old += 1
        result["kept"] = len(records) - old
        if old == 0:
            return result
        last_removed, kept = records[old - 1], records[old:]
        previous = read_anchor(log_path)
        anchor = {"seq": last_removed["seq"], "hash": last_removed["hash"], "when": _iso(now),
                  "removed": old, "removed_total": old + (previous or {}).get("removed_total", 0),
                  "last_removed_when": last_removed["when"]}
        seq, prev, mac_key = _next_link(fd, log_path, state_dir)
        prune = _build_record(
            "prune", who or current_user(),
            {"removed": old, "retention_days": retention_days, "cutoff": _iso(cutoff),
             "through_seq": last_removed["seq"], "through_hash": last_removed["hash"]},
            key, seq, prev, now, mac_key)
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept + [prune])
        owner = _owner(fd)
        write_atomic(anchor_path(log_path), json.dumps(anchor, indent=1) + "\n", mode=0o600)

        def write(tmp: str) -> None:
            with open(tmp, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            if os.geteuid() == 0:
                os.chown(tmp, *owner)  # root prunes; the log stays its writer's

        replace_file(log_path, write, mode=0o600)
        write_key_state(log_path, KeyState(seq + 1, next_key(mac_key)), owner)
    result.update(removed=old, anchor=anchor, prune=prune)
    return result
