"""Report schedules (a YAML file) and the scheduler that runs them, at most once per fire time.

The schedules file (default ``hub/report_schedules.yaml``)::

    schedules:
      - name: qualite-air-quotidienne        # [a-z0-9_-], unique; names the schedule
        notebook: notebooks/air_quality/daily_report.ipynb   # relative to the repository
        cron: "0 6 * * *"                   # 5-field cron, evaluated by cronsim
        timezone: Europe/Paris              # default Europe/Paris (DST handled by cronsim)
        parameters: {date: "{yesterday}"}   # placeholders resolved at the fire time
        season: [6, 7, 8, 9]                # optional: months (1..12) when it fires
        kernel: occidata-cpu                # optional: default the notebook's kernelspec
        timeout: 600                        # optional: seconds per cell (reports.timeout)
        retries: 2                          # optional: attempts after a failure (reports.retries)

Placeholders in string parameters, taken from the fire time in the schedule's time zone:
``{today}`` and ``{yesterday}`` (``YYYY-MM-DD``), ``{year}`` and ``{last_year}`` (a value that
is exactly ``"{year}"`` becomes the integer). ``{{`` and ``}}`` write literal braces.

The scheduler keeps ``<state_dir>/reports/scheduler.json`` (written atomically): per
schedule, the last fire time handled and the fate of its recent fire times. A fire time is
recorded (``running``) *before* its run starts, so a restarted scheduler never starts it
again; one found ``running`` at start was cut short and is marked ``interrupted`` (and
notified), not re-run. A schedule seen for the first time starts from now (no back-fill).
Fire times missed while the scheduler was down are caught up according to ``catch_up``:
``latest`` (default: only the most recent one, once), ``all``, or ``none``.

One scheduler at a time per state directory: it holds ``<state_dir>/reports/scheduler.lock``
(an exclusive ``flock``) from its start to its shutdown, and a second one is refused
(:class:`SchedulerBusy`), so that two never fire the same runs nor rewrite each other's state.
A run found ``running`` at start whose archive folder is complete (its worker finished while the
scheduler was down) is recorded once with the run's own status, never also as interrupted.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import smtplib
import string
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from cronsim import CronSim, CronSimError

from occidata.atomic import write_atomic

log = logging.getLogger("occidata.reports.schedule")

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_TIMEZONE = "Europe/Paris"
CATCH_UP = ("latest", "all", "none")
PLACEHOLDERS = ("today", "yesterday", "year", "last_year")
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
KEYS = {"name", "notebook", "cron", "timezone", "parameters", "season", "kernel", "timeout", "retries"}
KEPT_FIRES = 20  # fire times remembered per schedule in scheduler.json


class SchedulerBusy(RuntimeError):
    """Another scheduler runs for this state directory; the message names its process."""


class ScheduleError(ValueError):
    """A schedules file that cannot be used; the message names the file, the schedule and the key."""


@dataclass(frozen=True)
class Schedule:
    """One report on a cron schedule."""

    name: str
    notebook: str
    cron: str
    timezone: str = DEFAULT_TIMEZONE
    parameters: dict = field(default_factory=dict)
    season: tuple[int, ...] | None = None
    kernel: str | None = None
    timeout: int = 600
    retries: int = 2

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def in_season(self, moment: dt.datetime) -> bool:
        return self.season is None or moment.astimezone(self.tz).month in self.season

    def fire_times(self, after: dt.datetime, until: dt.datetime, limit: int = 10_000) -> list[dt.datetime]:
        """Fire times ``t`` with ``after < t <= until``, in season, oldest first (aware, local time)."""
        times = []
        for moment in CronSim(self.cron, after.astimezone(self.tz)):
            if moment > until or len(times) >= limit:
                break
            if moment > after and self.in_season(moment):
                times.append(moment)
        return times

    def next_fire(self, after: dt.datetime) -> dt.datetime | None:
        """The first fire time after ``after`` (within about two years), or None."""
        horizon = after + dt.timedelta(days=800)
        for moment in CronSim(self.cron, after.astimezone(self.tz)):
            if moment > horizon:
                return None
            if self.in_season(moment):
                return moment
        return None

    def latest_fire(self, at: dt.datetime) -> dt.datetime | None:
        """The last fire time at or before ``at`` (within about two years), or None."""
        horizon = at - dt.timedelta(days=800)
        start = at.astimezone(self.tz) + dt.timedelta(seconds=1)
        for moment in CronSim(self.cron, start, reverse=True):
            if moment < horizon:
                return None
            if moment <= at and self.in_season(moment):
                return moment
        return None

    def resolve_parameters(self, fire_time: dt.datetime) -> dict:
        """The parameters with their placeholders filled from ``fire_time`` (schedule's time zone)."""
        day = fire_time.astimezone(self.tz).date()
        values = {
            "today": day.isoformat(),
            "yesterday": (day - dt.timedelta(days=1)).isoformat(),
            "year": day.year,
            "last_year": day.year - 1,
        }
        resolved = {}
        for key, value in self.parameters.items():
            if isinstance(value, str):
                whole = re.fullmatch(r"\{(\w+)\}", value)
                value = values[whole.group(1)] if whole else value.format_map(values)
            resolved[key] = value
        return resolved

    def run_id(self, fire_time: dt.datetime, attempt: int = 1) -> str:
        """A run id that sorts in time and is the same for the same fire time (one run per fire)."""
        utc = fire_time.astimezone(dt.timezone.utc)
        suffix = f"-{attempt}" if attempt > 1 else ""
        return f"{utc:%Y%m%dT%H%M%S}.000Z-{self.name}{suffix}"

    def notebook_path(self, root: Path | None = None) -> Path:
        path = Path(self.notebook)
        return path if path.is_absolute() else Path(root or REPO_ROOT) / path


# --- reading and checking the file ----------------------------------------------------------


def _fail(source: str, where: str, message: str) -> None:
    raise ScheduleError(f"{source}: {where}: {message}")


def _check_placeholders(source: str, where: str, key: str, value: str) -> None:
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(value) if f is not None]
    except ValueError as exc:
        _fail(source, where, f"parameter '{key}': {exc} (write {{{{ and }}}} for literal braces)")
    for name in fields:
        if name not in PLACEHOLDERS:
            _fail(source, where, f"parameter '{key}': unknown placeholder '{{{name}}}'; "
                                 f"known: {', '.join('{' + p + '}' for p in PLACEHOLDERS)}")


def parse_schedule(item: Any, source: str, index: int, defaults: dict | None = None) -> Schedule:
    """One schedule from its mapping; ``defaults`` may give ``timeout`` and ``retries``."""
    defaults = defaults or {}
    where = f"schedule #{index + 1}"
    if not isinstance(item, dict):
        _fail(source, where, f"must be a mapping of keys, not {type(item).__name__}")
    name = item.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        _fail(source, where, f"key 'name': {name!r} must be lower-case letters, digits, '-' or '_'")
    where = f"schedule '{name}'"
    unknown = sorted(set(item) - KEYS)
    if unknown:
        _fail(source, where, f"unknown key '{unknown[0]}'; known keys: {', '.join(sorted(KEYS))}")
    for key in ("notebook", "cron"):
        if not isinstance(item.get(key), str) or not item[key].strip():
            _fail(source, where, f"key '{key}' is required (a string)")
    if not item["notebook"].endswith(".ipynb"):
        _fail(source, where, f"key 'notebook': {item['notebook']!r} is not a .ipynb file")
    timezone = item.get("timezone", DEFAULT_TIMEZONE)
    try:
        tz = ZoneInfo(str(timezone))
    except (ZoneInfoNotFoundError, ValueError):
        _fail(source, where, f"key 'timezone': unknown time zone {timezone!r} (e.g. Europe/Paris)")
    try:
        CronSim(item["cron"], dt.datetime.now(tz))
    except CronSimError as exc:
        _fail(source, where, f"key 'cron': {item['cron']!r} is not a cron expression ({exc})")
    parameters = item.get("parameters") or {}
    if not isinstance(parameters, dict) or not all(isinstance(k, str) for k in parameters):
        _fail(source, where, "key 'parameters' must be a mapping of parameter names to values")
    for key, value in parameters.items():
        if isinstance(value, str):
            _check_placeholders(source, where, key, value)
    season = item.get("season")
    if season is not None:
        if (not isinstance(season, list) or not season
                or not all(isinstance(m, int) and not isinstance(m, bool) and 1 <= m <= 12 for m in season)):
            _fail(source, where, f"key 'season': {season!r} must be a list of months 1..12, e.g. [6, 7, 8, 9]")
        season = tuple(sorted(set(season)))
    kernel = item.get("kernel")
    if kernel is not None and not isinstance(kernel, str):
        _fail(source, where, "key 'kernel' must be a kernel name such as occidata-cpu")
    numbers = {}
    for key, minimum, default in (("timeout", 1, defaults.get("timeout", 600)),
                                  ("retries", 0, defaults.get("retries", 2))):
        value = item.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            _fail(source, where, f"key '{key}': {value!r} must be an integer >= {minimum}")
        numbers[key] = value
    return Schedule(name=name, notebook=item["notebook"], cron=item["cron"], timezone=str(timezone),
                    parameters=dict(parameters), season=season, kernel=kernel, **numbers)


def parse_schedules(data: Any, source: str = "<schedules>", defaults: dict | None = None) -> list[Schedule]:
    """Schedules from a parsed YAML document: ``{schedules: [...]}`` or a bare list."""
    if data is None:
        return []
    if isinstance(data, dict):
        extra = sorted(set(data) - {"schedules"})
        if extra:
            raise ScheduleError(f"{source}: unknown top-level key '{extra[0]}'; the file holds 'schedules:'")
        data = data.get("schedules") or []
    if not isinstance(data, list):
        raise ScheduleError(f"{source}: 'schedules' must be a list of schedules, not {type(data).__name__}")
    schedules = [parse_schedule(item, source, i, defaults) for i, item in enumerate(data)]
    seen = set()
    for schedule in schedules:
        if schedule.name in seen:
            raise ScheduleError(f"{source}: schedule '{schedule.name}': key 'name': used twice")
        seen.add(schedule.name)
    return schedules


def read_schedules(path: str | Path, defaults: dict | None = None) -> list[Schedule]:
    """Read and check a schedules file; raise :class:`ScheduleError` naming what is wrong."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScheduleError(f"{path}: the schedules file does not exist (reports.schedules_file)") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ScheduleError(f"{path}: cannot parse{where}: {getattr(exc, 'problem', None) or exc}") from None
    return parse_schedules(data, str(path), defaults)


def schedules_path(cfg: dict) -> Path:
    return Path(cfg["reports"]["schedules_file"] or REPO_ROOT / "hub" / "report_schedules.yaml")


# --- notifications ------------------------------------------------------------------------------


def smtp_hook(smtp: dict) -> Callable[[dict], None] | None:
    """An e-mail hook sending each failure to ``smtp['to']``; None when no SMTP host is configured."""
    if not smtp.get("host") or not smtp.get("to"):
        return None

    def send(event: dict) -> None:
        message = EmailMessage()
        message["Subject"] = f"[Occitanie Data Lab] Échec du rapport {event.get('schedule')} / report failed"
        message["From"] = smtp.get("from") or "occidata-reports@localhost"
        message["To"] = ", ".join(smtp["to"])
        message.set_content(json.dumps(event, indent=1, ensure_ascii=False))
        with smtplib.SMTP(smtp["host"], smtp.get("port") or 25, timeout=30) as client:
            if smtp.get("starttls"):
                client.starttls()
            if smtp.get("username"):
                client.login(smtp["username"], smtp.get("password") or "")
            client.send_message(message)

    return send


# --- the scheduler ------------------------------------------------------------------------------


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Scheduler:
    """Fires due schedules into a pool of ``concurrency`` workers, remembering what it fired.

    ``run`` is a :func:`occidata.reports.runner.run_report`-like callable, called as
    ``run(notebook, parameters, kernel=, timeout=, archive_dir=, run_id=)`` and returning a
    record with ``status`` (``"ok"`` or ``"failed"``), ``error`` and ``folder``. A ValueError
    it raises (bad parameters, unknown kernel) fails the fire at once; any other failure is
    retried ``schedule.retries`` times after ``backoff * 2**k`` seconds (30, 60, 120 by default).
    ``clock`` and ``sleep`` are injectable for tests.
    """

    def __init__(self, schedules: list[Schedule], state_dir: str | Path, run: Callable | None = None, *,
                 archive_dir: str | Path | None = None, concurrency: int = 2, catch_up: str = "latest",
                 backoff: float = 30.0, grace: float = 300.0, notify: Callable[[dict], None] | None = None,
                 notebooks_root: str | Path | None = None, clock: Callable[[], dt.datetime] = _utcnow,
                 sleep: Callable[[float], None] = time.sleep):
        if catch_up not in CATCH_UP:
            raise ValueError(f"catch_up must be one of {', '.join(CATCH_UP)}, not {catch_up!r}")
        if concurrency < 1:
            raise ValueError("concurrency must be >= 1")
        self.schedules = {s.name: s for s in schedules}
        self.folder = Path(state_dir) / "reports"
        self.state_path = self.folder / "scheduler.json"
        self.notifications_path = self.folder / "notifications.jsonl"
        self.archive_dir = Path(archive_dir) if archive_dir is not None else self.folder
        self._run = run
        self.concurrency = concurrency
        self.catch_up = catch_up
        self.backoff = backoff
        self.grace = dt.timedelta(seconds=grace)
        self.notify = notify
        self.notebooks_root = Path(notebooks_root) if notebooks_root else REPO_ROOT
        self.clock = clock
        self.sleep = sleep
        self._lock = threading.RLock()
        self._owner = self._hold_owner_lock()
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="report")
        self.futures: list[Future] = []
        self.state = self._read_state()
        self._recover()

    def _hold_owner_lock(self):
        from occidata.processes import try_lock

        self.folder.mkdir(parents=True, exist_ok=True)
        handle, holder = try_lock(self.folder / "scheduler.lock")
        if handle is None:
            raise SchedulerBusy(f"another report scheduler (pid {holder}) runs for {self.folder}: "
                                "stop it first (occidata down)")
        return handle

    # state ------------------------------------------------------------------------------------

    def _read_state(self) -> dict:
        try:
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"version": 1, "schedules": {}}
        except ValueError as exc:
            raise ValueError(f"{self.state_path} is not valid JSON ({exc}); move it away to start afresh") from None
        state.setdefault("schedules", {})
        return state

    def _save(self) -> None:
        with self._lock:
            write_atomic(self.state_path, json.dumps(self.state, indent=1, sort_keys=True) + "\n", mode=0o600)

    def _entry(self, name: str) -> dict:
        return self.state["schedules"].setdefault(name, {"last_fire": None, "fires": {}})

    def _set_fire(self, name: str, fire: str, **values) -> None:
        with self._lock:
            fires = self._entry(name)["fires"]
            fires.setdefault(fire, {}).update(values, updated=_iso(self.clock()))
            for old in sorted(fires)[:-KEPT_FIRES]:
                del fires[old]
            self._save()

    def _finished_run(self, run_id: str | None):
        """The archived record of ``run_id`` if its worker finished it (a complete run folder)."""
        from occidata.reports.archive import RECORD_FILE, read_run

        if not run_id:
            return None
        for record_file in self.archive_dir.glob(f"*/{run_id}/{RECORD_FILE}"):
            try:
                return read_run(record_file.parent)
            except (OSError, ValueError, KeyError, TypeError):
                return None
        return None

    def _recover(self) -> None:
        """Fire times left ``running`` by a scheduler that stopped: recorded once with their run's
        status where the run finished, else marked interrupted (a failure), once."""
        from occidata.reports.ledger import ledger_entry

        interrupted, changed = [], False
        for name, entry in self.state["schedules"].items():
            for fire, info in entry.get("fires", {}).items():
                if info.get("status") != "running":
                    continue
                changed = True
                finished = self._finished_run(info.get("run_id"))
                if finished is not None:
                    info.update(status="ok" if finished.ok else "failed", folder=str(finished.folder),
                                updated=_iso(self.clock()))
                    if name in self.schedules and ledger_entry(self.archive_dir, finished) is None:
                        self._record(finished, self.schedules[name])
                    continue
                info.update(status="interrupted", updated=_iso(self.clock()))
                interrupted.append((name, fire, info))
        if changed:
            self._save()
        for name, fire, info in interrupted:
            self._notify({"event": "report_interrupted", "schedule": name, "fire_time": fire,
                          "attempts": info.get("attempts", 0), "run_id": info.get("run_id"),
                          "error": "the scheduler stopped during this run; it is not run again"})

    # what is due ------------------------------------------------------------------------------

    def due(self, now: dt.datetime | None = None) -> list[tuple[Schedule, dt.datetime]]:
        """The (schedule, fire time) pairs to run now, per ``catch_up``; changes nothing."""
        now = now or self.clock()
        due = []
        for schedule in self.schedules.values():
            last = self.state["schedules"].get(schedule.name, {}).get("last_fire")
            if last is None:
                continue  # first sight: starts from now (see baseline)
            times = schedule.fire_times(dt.datetime.fromisoformat(last), now)
            if not times:
                continue
            if self.catch_up == "latest":
                times = times[-1:]
            elif self.catch_up == "none":
                times = [t for t in times[-1:] if now - t <= self.grace]
            due.extend((schedule, t) for t in times)
        return sorted(due, key=lambda pair: pair[1])

    def _baseline(self, now: dt.datetime) -> None:
        changed = False
        for schedule in self.schedules.values():
            entry = self._entry(schedule.name)
            if entry.get("last_fire") is None:
                entry["last_fire"] = _iso(now.astimezone(schedule.tz))
                changed = True
        if changed:
            self._save()

    def pending(self, now: dt.datetime | None = None) -> list[tuple[Schedule, dt.datetime]]:
        """What :meth:`tick` would skip: fire times passed over by ``catch_up`` (for the log)."""
        now = now or self.clock()
        skipped = []
        chosen = {(schedule.name, fire) for schedule, fire in self.due(now)}
        for schedule in self.schedules.values():
            last = self.state["schedules"].get(schedule.name, {}).get("last_fire")
            if last:
                skipped += [(schedule, t) for t in schedule.fire_times(dt.datetime.fromisoformat(last), now)
                            if (schedule.name, t) not in chosen]
        return skipped

    def tick(self, now: dt.datetime | None = None) -> list[Future]:
        """Claim every due fire time (recorded before it runs) and hand it to the pool."""
        now = now or self.clock()
        with self._lock:
            self._baseline(now)
            for schedule, fire in self.pending(now):
                log.info("report %s: fire time %s missed while down, skipped (catch_up=%s)",
                         schedule.name, _iso(fire), self.catch_up)
            due = self.due(now)
            latest: dict[str, dt.datetime] = {}
            for schedule in self.schedules.values():
                last = self.state["schedules"][schedule.name]["last_fire"]
                passed = schedule.fire_times(dt.datetime.fromisoformat(last), now)
                if passed:
                    latest[schedule.name] = passed[-1]
            for name, fire in latest.items():
                self._entry(name)["last_fire"] = _iso(fire)
            for schedule, fire in due:
                self._entry(schedule.name)["fires"][_iso(fire)] = {
                    "status": "running", "attempts": 0, "claimed": _iso(now), "run_id": schedule.run_id(fire)}
            if latest:
                self._save()
            submitted = [self._pool.submit(self._execute, schedule, fire) for schedule, fire in due]
            self.futures = [f for f in self.futures if not f.done()] + submitted
        return submitted

    # running ----------------------------------------------------------------------------------

    def _runner(self) -> Callable:
        if self._run is None:
            from occidata.reports.runner import run_report

            self._run = run_report
        return self._run

    def _execute(self, schedule: Schedule, fire: dt.datetime) -> dict:
        fire_key = _iso(fire)
        parameters = schedule.resolve_parameters(fire)
        error, record, attempt = None, None, 0
        for attempt in range(1, schedule.retries + 2):
            run_id = schedule.run_id(fire, attempt)
            self._set_fire(schedule.name, fire_key, attempts=attempt, run_id=run_id)
            permanent = False
            try:
                record = self._runner()(schedule.notebook_path(self.notebooks_root), parameters,
                                        kernel=schedule.kernel, timeout=schedule.timeout,
                                        archive_dir=self.archive_dir, run_id=run_id)
                status = getattr(record, "status", None)
                error = None if status == "ok" else (getattr(record, "error", None) or f"status {status!r}")
            except ValueError as exc:  # refused before running: retrying cannot help
                error, permanent = f"{type(exc).__name__}: {exc}", True
            except Exception as exc:  # noqa: BLE001 - a report's failure must not stop the scheduler
                error = f"{type(exc).__name__}: {exc}"
            self._record(record, schedule)
            if error is None:
                self._set_fire(schedule.name, fire_key, status="ok", folder=str(getattr(record, "folder", "")))
                log.info("report %s: fire %s ok (attempt %d, run %s)", schedule.name, fire_key, attempt, run_id)
                return self.state["schedules"][schedule.name]["fires"][fire_key]
            log.warning("report %s: fire %s attempt %d failed: %s", schedule.name, fire_key, attempt,
                        _short(error))
            if permanent or attempt > schedule.retries:
                break
            self.sleep(self.backoff * 2 ** (attempt - 1))
        folder = str(getattr(record, "folder", "") or "")
        self._set_fire(schedule.name, fire_key, status="failed", error=_short(error), folder=folder)
        self._notify({"event": "report_failed", "schedule": schedule.name, "notebook": schedule.notebook,
                      "fire_time": fire_key, "attempts": attempt, "run_id": schedule.run_id(fire, attempt),
                      "parameters": parameters, "folder": folder, "error": _short(error)})
        return self.state["schedules"][schedule.name]["fires"][fire_key]

    def _record(self, record, schedule: Schedule) -> None:
        """Note the run in the archive's ledger: only runs noted there may reach a public page."""
        from occidata.reports.archive import RunRecord
        from occidata.reports.ledger import record_run

        if isinstance(record, RunRecord) and record.folder:
            try:
                record_run(self.archive_dir, record, trigger="schedule",
                           notebook=schedule.notebook_path(self.notebooks_root))
            except OSError as exc:
                log.error("report %s: run %s not noted in the ledger: %s", schedule.name, record.run_id, exc)

    def _notify(self, event: dict) -> None:
        event = {"time": _iso(self.clock()), **event}
        line = json.dumps(event, ensure_ascii=False, default=str)
        with self._lock:
            self.notifications_path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.notifications_path, "a", encoding="utf-8") as handle:
                handle.write(line + "\n")
        if self.notify is not None:
            try:
                self.notify(event)
            except Exception as exc:  # noqa: BLE001 - a mail server down must not stop the scheduler
                log.error("report notification hook failed: %s", exc)

    def notifications(self, limit: int = 20) -> list[dict]:
        """The latest notifications, newest first."""
        try:
            lines = self.notifications_path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        events = []
        for line in reversed(lines[-limit:]):
            try:
                events.append(json.loads(line))
            except ValueError:
                continue
        return events

    def wait(self, timeout: float | None = None) -> None:
        """Wait for every submitted run (tests, shutdown)."""
        for future in list(self.futures):
            future.result(timeout=timeout)

    def shutdown(self, wait: bool = True) -> None:
        """Stop the pool (waiting for its runs, or cancelling those not started) and let another
        scheduler start."""
        self._pool.shutdown(wait=wait, cancel_futures=not wait)
        if not self._owner.closed:
            self._owner.close()


def _short(error: Any, limit: int = 2000) -> str:
    if isinstance(error, dict):
        text = f"{error.get('name', 'Error')}: {error.get('message', '')}"
    else:
        text = str(error)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def scheduler_from_config(cfg: dict, run: Callable | None = None, **overrides) -> Scheduler:
    """The scheduler the reports service runs, from the platform configuration."""
    reports = cfg["reports"]
    schedules = read_schedules(schedules_path(cfg), defaults={"timeout": reports["timeout"],
                                                              "retries": reports["retries"]})
    options = dict(archive_dir=archive_path(cfg), concurrency=reports["concurrency"],
                   catch_up=reports["catch_up"], backoff=reports["backoff"],
                   grace=max(300, 2 * reports["check_every"]), notify=smtp_hook(reports["smtp"]))
    options.update(overrides)
    return Scheduler(schedules, cfg["state_dir"], run, **options)


def archive_path(cfg: dict) -> Path:
    return Path(cfg["reports"]["archive_dir"] or Path(cfg["state_dir"]) / "reports")
