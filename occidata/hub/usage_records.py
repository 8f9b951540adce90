"""The hub's own journal of lab servers, for ``occidata usage``: one JSON line per start and stop in
``<state_dir>/logs/usage.jsonl`` (:attr:`occidata.state.StatePaths.usage_log`, 0600: the hub's
account only; in server and slurm mode root's, 0640 to the data service's group, which counts it in
the stewards' view of use: :mod:`occidata.hub.isolation`)::

    {"event": "start", "time": "2024-05-02T08:00:00+00:00", "user": "marie", "server": "",
     "profile": "gpu", "cores": 4, "gpus": 1, "job_id": ""}
    {"event": "stop",  "time": "2024-05-02T11:30:00+00:00", "user": "marie", "server": "",
     "profile": "gpu", "cores": 4, "gpus": 1, "job_id": "1234"}

``cores`` and ``gpus`` are written when the spawner knows them (null otherwise): the Slurm request
of the profile (``--cpus-per-task``, ``--gres=gpu:N``), else ``Spawner.cpu_limit`` and the devices
the profile hands the lab (``CUDA_VISIBLE_DEVICES``). ``job_id`` is the lab's Slurm job (slurm
mode; known at the stop), which lets Slurm's records borrow the GPU count Slurm itself did not keep.

:func:`install_usage_records` chains JupyterHub's ``Spawner.pre_spawn_hook`` (it runs just before
``Spawner.start``; a start that fails is stopped, so it gets its stop) and ``post_stop_hook`` (run on
every stop: asked for, culled, died, or found dead when the hub restarts). Hooks set on ``c`` before
it are kept and run first (start) or last (stop).
"""

from __future__ import annotations

import inspect
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ..atomic import append_line
from ..state import StatePaths
from ..usage import Skipped, UsageRecord

START, STOP = "start", "stop"
_GRES_GPU = re.compile(r"^--gres=(?:.*,)?gpu(?::[^:,=]+)?:(\d+)")
_CPUS = re.compile(r"^--cpus-per-task=(\d+)$")

log = logging.getLogger(__name__)


def _number(options: list[str], pattern: re.Pattern) -> int | None:
    for option in options:
        match = pattern.match(str(option))
        if match:
            return int(match.group(1))
    return None


def spawner_resources(spawner) -> dict:
    """What a lab server was given, as far as its spawner knows: profile, cores, GPUs, Slurm job."""
    options = list(getattr(spawner, "sbatch_options", None) or [])
    environment = dict(spawner.environment or {})
    cores = _number(options, _CPUS)
    if cores is None and spawner.cpu_limit:
        cores = spawner.cpu_limit
    gpus = _number(options, _GRES_GPU)
    if gpus is None and options:
        gpus = 0  # a Slurm request without --gres has no GPU
    if gpus is None and "CUDA_VISIBLE_DEVICES" in environment:
        devices = str(environment["CUDA_VISIBLE_DEVICES"]).strip()
        gpus = len([d for d in devices.split(",") if d.strip()]) if devices else 0
    profile = environment.get("OCCIDATA_PROFILE") or (spawner.user_options or {}).get("profile") or ""
    return {"profile": profile, "cores": cores, "gpus": gpus, "job_id": str(getattr(spawner, "job_id", "") or "")}


def usage_entry(event: str, spawner, now: datetime | None = None) -> dict:
    """The journal's line for ``event`` (start or stop) of ``spawner``'s server."""
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return {"event": event, "time": moment.isoformat(timespec="seconds"), "user": spawner.user.name,
            "server": spawner.name or "", **spawner_resources(spawner)}


def append_usage_entry(path: str | Path, entry: dict) -> None:
    """Append one entry to the journal (created 0600), whole, under the file's lock."""
    append_line(path, json.dumps(entry, ensure_ascii=False, sort_keys=True), mode=0o600)


def _record(path: Path, event: str, spawner) -> None:
    try:
        append_usage_entry(path, usage_entry(event, spawner))
    except Exception:  # a full disk must not keep a researcher from their lab; the hub log says it
        log.exception("occidata usage: could not record the %s of %s's server %r in %s", event,
                      spawner.user.name, spawner.name, path)


def install_usage_records(c, cfg: dict) -> None:
    """Record each lab server's start and stop in the journal, keeping the hooks already set on ``c``."""
    path = StatePaths(Path(cfg["state_dir"])).usage_log
    before_start = c.Spawner.pre_spawn_hook if "pre_spawn_hook" in c.Spawner else None
    after_stop = c.Spawner.post_stop_hook if "post_stop_hook" in c.Spawner else None

    async def record_start(spawner) -> None:
        if before_start is not None:
            result = before_start(spawner)
            if inspect.isawaitable(result):
                await result
        _record(path, START, spawner)  # after the earlier hook: a start it refuses is no start

    async def record_stop(spawner) -> None:
        _record(path, STOP, spawner)
        if after_stop is not None:
            result = after_stop(spawner)
            if inspect.isawaitable(result):
                await result

    c.Spawner.pre_spawn_hook = record_start
    c.Spawner.post_stop_hook = record_stop


# --- reading ----------------------------------------------------------------------------------


@dataclass
class ServerLog:
    """The journal read back: one record per run of a server, the lines that are not entries,
    and what the report must say of runs whose start or stop is missing."""

    records: list[UsageRecord] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _entry(text: str) -> dict:
    try:
        entry = json.loads(text)
    except ValueError:
        raise ValueError("pas un objet JSON / not a JSON object") from None
    if not isinstance(entry, dict):
        raise ValueError("pas un objet JSON / not a JSON object")
    if entry.get("event") not in (START, STOP):
        raise ValueError(f"event {entry.get('event')!r} : ni start ni stop")
    if not isinstance(entry.get("user"), str) or not entry["user"]:
        raise ValueError("user manquant / no user")
    try:
        moment = datetime.fromisoformat(str(entry.get("time")))
    except ValueError:
        raise ValueError(f"time {entry.get('time')!r} : pas une date ISO 8601") from None
    if moment.tzinfo is None:
        raise ValueError(f"time {entry['time']!r} : sans fuseau horaire")
    for key in ("cores", "gpus"):
        value = entry.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
            raise ValueError(f"{key} {value!r} : pas un nombre positif")
    return {**entry, "time": moment, "server": str(entry.get("server") or "")}


def read_usage_log(path: str | Path) -> tuple[ServerLog, list[Skipped]]:
    """Pair each server's starts and stops (by user and server name, in the journal's order).

    A server started and not stopped is running: it counts up to now. A start followed by another
    start of the same server (the hub died without seeing the stop) counts up to that next start,
    and the report says so; a stop without its start (the journal began while it ran) is not
    counted, and the report says so too. A line that is not an entry is skipped, with its number.
    """
    path = Path(path)
    result, skipped = ServerLog(), []
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return result, skipped
    except PermissionError:
        from ..usage import UsageError

        raise UsageError(f"{path}: permission denied (the hub's journal of servers is readable by the hub's "
                         "account only: run occidata usage as that account, root in server mode)") from None
    running: dict[tuple[str, str], dict] = {}
    interrupted = unmatched = 0

    def close(started: dict, end: datetime | None, stopped: dict | None, state: str) -> None:
        def known(key):
            return started.get(key) if started.get(key) is not None else (stopped or {}).get(key)

        result.records.append(UsageRecord(
            user=started["user"], start=started["time"], end=end, cores=known("cores"), gpus=known("gpus"),
            what=started["server"], state=state, job_id=str((stopped or {}).get("job_id") or started.get("job_id")
                                                            or "")))

    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            entry = _entry(text)
        except ValueError as error:
            skipped.append(Skipped(str(path), number, str(error)))
            continue
        key = (entry["user"], entry["server"])
        if entry["event"] == START:
            if key in running:
                interrupted += 1
                close(running[key], entry["time"], None, "interrupted")
            running[key] = entry
        elif key in running:
            close(running.pop(key), entry["time"], entry, "stopped")
        else:
            unmatched += 1
    for started in running.values():
        close(started, None, None, "running")
    if interrupted:
        result.notes.append(f"{interrupted} serveur(s) sans arrêt enregistré avant leur démarrage suivant : "
                            "comptés jusqu'à celui-ci")
    if unmatched:
        result.notes.append(f"{unmatched} arrêt(s) sans démarrage enregistré : non comptés")
    return result, skipped
