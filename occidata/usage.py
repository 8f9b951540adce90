"""``occidata usage``: CPU-hours, GPU-hours and jobs (or servers) per user and per hub group over a
period, from the records the platform's mode has.

- slurm mode (or ``--jobcomp FILE``): Slurm's job completion records (``JobCompType=jobcomp/filetxt``,
  read by :mod:`occidata.slurm.jobcomp`), every job of every account: labs, Dask workers, the
  report service's. A job is counted once it has ended (Slurm writes its record then).
- demo and server mode: the hub's own journal of lab servers (:mod:`occidata.hub.usage_records`);
  a server still running counts up to now.

Hours are clipped to the period: ``--since`` 00:00 to the day after ``--until`` 00:00, Europe/Paris
(default: the current month). CPU-hours are cores × hours, GPU-hours GPUs × hours. A record that
cannot be read is never dropped in silence: it is reported as skipped, with its file and line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

ZONE = ZoneInfo("Europe/Paris")
NO_GROUP = "(sans groupe)"


class UsageError(ValueError):
    """Usage records or a period that cannot be read; the message names the file or the parameter."""


@dataclass(frozen=True)
class UsageRecord:
    """One Slurm job, or one run of a lab server (from its start to its stop)."""

    user: str  # the hub user (a system account outside the platform's prefix: the account itself)
    start: datetime  # aware
    end: datetime | None  # None: still running, counted up to now
    cores: float | None  # None: not known (then no CPU-hours)
    gpus: int | None  # None: not known (counted as none)
    what: str  # Slurm's job id, or the hub server's name ("" for the default server)
    state: str = ""  # Slurm's JobState, or "running" / "stopped"
    job_id: str = ""  # the Slurm job of a hub server (slurm mode)
    ran: bool = True  # False: a Slurm job cancelled before it was given a node

    def hours(self, begin: datetime, finish: datetime, now: datetime) -> float:
        """Hours of this record within [begin, finish)."""
        end = self.end or now
        seconds = (min(end, finish) - max(self.start, begin)).total_seconds()
        return max(0.0, seconds) / 3600


@dataclass(frozen=True)
class Skipped:
    """A line that is not a usage record, and why."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}, ligne {self.line} : {self.reason}"


@dataclass
class Totals:
    hours: float = 0.0
    cpu_hours: float = 0.0
    gpu_hours: float = 0.0
    count: int = 0
    without_cores: int = 0  # records with hours but no known cores (no CPU-hours for them)

    def add(self, record: UsageRecord, hours: float) -> None:
        self.hours += hours
        self.count += 1
        if record.cores is None:
            self.without_cores += 1
        else:
            self.cpu_hours += record.cores * hours
        self.gpu_hours += (record.gpus or 0) * hours

    def as_dict(self, count_name: str) -> dict:
        return {"hours": round(self.hours, 6), "cpu_hours": round(self.cpu_hours, 6),
                "gpu_hours": round(self.gpu_hours, 6), count_name: self.count}


@dataclass
class Source:
    """Where the records came from, as the report's header says it."""

    kind: str  # "slurm" or "hub"
    file: Path
    notes: list[str] = field(default_factory=list)

    @property
    def line(self) -> str:
        if self.kind == "slurm":
            return f"source : enregistrements de fin de tâche de Slurm ({self.file})"
        return f"source : journal des serveurs du hub ({self.file})"

    @property
    def count_name(self) -> str:
        return "jobs" if self.kind == "slurm" else "servers"


@dataclass
class Report:
    since: date
    until: date
    source: Source
    users: dict[str, Totals]
    groups: dict[str, Totals]
    members: dict[str, list[str]]
    total: Totals
    skipped: list[Skipped]
    notes: list[str]


# --- the period -----------------------------------------------------------------------------


def period(since: date | None, until: date | None, today: date | None = None) -> tuple[date, date]:
    """The days of the report, both included: by default the current month (Europe/Paris)."""
    today = today or datetime.now(ZONE).date()
    first = today.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    since, until = since or (first if until is None else until.replace(day=1)), until or last
    if until < since:
        raise UsageError(f"--until {until} est avant --since {since} / --until is before --since")
    return since, until


def bounds(since: date, until: date) -> tuple[datetime, datetime]:
    """[since 00:00, the day after until 00:00) in Europe/Paris, as aware datetimes."""
    return (datetime.combine(since, time(), ZONE),
            datetime.combine(until + timedelta(days=1), time(), ZONE))


# --- the report -----------------------------------------------------------------------------


def summarize(records: list[UsageRecord], groups: dict[str, list[str]], since: date, until: date,
              source: Source, skipped: list[Skipped] | None = None, now: datetime | None = None) -> Report:
    """Totals per user and per hub group of the records that ran within the period.

    ``groups`` maps a user to their hub groups (their groups *now*, not at the time of each job): a
    user in two groups counts in both, a user in none under ``(sans groupe)``. The total counts each
    record once. A record that overlaps the period counts as one job (or server) and for its hours
    within the period; a Slurm job that never got a node does not count.
    """
    now = now or datetime.now(timezone.utc)
    begin, finish = bounds(since, until)
    users: dict[str, Totals] = {}
    by_group: dict[str, Totals] = {}
    members: dict[str, set[str]] = {}
    total = Totals()
    for record in records:
        if not record.ran or record.start >= finish or (record.end or now) <= begin:
            continue
        hours = record.hours(begin, finish, now)
        users.setdefault(record.user, Totals()).add(record, hours)
        total.add(record, hours)
        for group in groups.get(record.user) or [NO_GROUP]:
            by_group.setdefault(group, Totals()).add(record, hours)
            members.setdefault(group, set()).add(record.user)
    notes = list(source.notes)
    without = total.without_cores
    if without:
        notes.append(f"{without} enregistrement(s) sans nombre de cœurs connu : leurs heures comptent, "
                     "pas leurs heures CPU")
    return Report(since, until, source, dict(sorted(users.items())), dict(sorted(by_group.items())),
                  {group: sorted(names) for group, names in members.items()}, total, list(skipped or []), notes)


def render_json(report: Report) -> str:
    """The report for machines: one JSON document."""
    count = report.source.count_name
    return json.dumps({
        "since": report.since.isoformat(), "until": report.until.isoformat(), "timezone": str(ZONE),
        "source": {"kind": report.source.kind, "file": str(report.source.file)},
        "users": [{"user": name, **totals.as_dict(count)} for name, totals in report.users.items()],
        "groups": [{"group": name, "members": report.members[name], **totals.as_dict(count)}
                   for name, totals in report.groups.items()],
        "total": report.total.as_dict(count),
        "skipped": [{"file": s.file, "line": s.line, "reason": s.reason} for s in report.skipped],
        "notes": report.notes,
    }, ensure_ascii=False, indent=1)


def _table(heading: str, rows: list[tuple[str, Totals]], count_label: str) -> list[str]:
    header = (heading, "heures", "heures CPU", "heures GPU", count_label)
    cells = [header] + [(name, f"{t.hours:.2f}", f"{t.cpu_hours:.2f}", f"{t.gpu_hours:.2f}", str(t.count))
                        for name, t in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return ["  ".join(cell.ljust(widths[0]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row))
            for row in cells]


def render_table(report: Report) -> str:
    """The report as the operator reads it: a header, a table per user, one per group, the total."""
    count_label = "tâches" if report.source.kind == "slurm" else "serveurs"
    lines = [f"Consommation du {report.since} au {report.until} inclus (jours d'Europe/Paris)",
             report.source.line]
    lines += [f"note : {note}" for note in report.notes]
    if report.skipped:
        lines.append(f"lignes ignorées : {len(report.skipped)} (détail sur la sortie d'erreur)")
    if not report.users:
        lines.append("\naucune consommation enregistrée sur cette période")
        return "\n".join(lines)
    lines += ["", "Par utilisateur"]
    lines += _table("utilisateur", [*report.users.items(), ("(total)", report.total)], count_label)
    lines += ["", "Par groupe du hub (groupes actuels ; un membre de deux groupes compte dans les deux)"]
    lines += _table("groupe", list(report.groups.items()), count_label)
    return "\n".join(lines)


# --- where the records are ------------------------------------------------------------------


def hub_groups(database: Path) -> dict[str, list[str]] | None:
    """Each hub user's groups now, read from the hub's database through JupyterHub's ORM, read-only
    (None when the hub never ran: no database). The report needs the same rights as the usage
    journal beside it (the state directory's owner), and no token nor a running hub."""
    if not database.exists():
        return None
    from jupyterhub import orm
    from sqlalchemy import create_engine
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.orm import Session
    from urllib.parse import quote

    engine = create_engine(f"sqlite:///file:{quote(str(database))}?mode=ro&uri=true")
    try:
        with Session(engine) as session:
            groups: dict[str, list[str]] = {}
            for group in session.query(orm.Group).order_by(orm.Group.name):
                for user in group.users:
                    groups.setdefault(user.name, []).append(group.name)
            return groups
    except SQLAlchemyError as error:
        raise UsageError(f"cannot read the hub's groups from {database}: {error.__class__.__name__}: "
                         f"{str(error).splitlines()[0]}") from None
    finally:
        engine.dispose()


def usage_report(cfg: dict, since: date | None = None, until: date | None = None,
                 jobcomp: str | Path | None = None, now: datetime | None = None,
                 groups: dict[str, list[str]] | None = None) -> Report:
    """The report of this platform over the period: Slurm's records in a mode whose labs are Slurm
    jobs or when ``jobcomp`` names a file, else the hub's journal of servers. Each user's hub
    groups are ``groups`` when given (the data service asks the hub's API: it cannot read the
    hub's database), else read from the hub's database."""
    from .hub.usage_records import read_usage_log
    from .modes import mode_of
    from .state import StatePaths

    since, until = period(since, until)
    state = StatePaths(Path(cfg["state_dir"]))
    servers, skipped = read_usage_log(state.usage_log)
    if jobcomp is not None or mode_of(cfg).batch:
        from .slurm.commands import SlurmCommandError
        from .slurm.jobcomp import jobcomp_location, read_jobcomp

        try:
            path = Path(jobcomp) if jobcomp is not None else jobcomp_location(cfg)
        except SlurmCommandError as error:
            said = " / ".join(line.strip() for line in str(error).splitlines() if line.strip())
            raise UsageError(f"cannot find Slurm's job completion records ({said}); or pass --jobcomp FILE") from None
        jobs, bad = read_jobcomp(path, cfg["server"]["user_prefix"])
        records, source = with_hub_gpus(jobs, servers.records), Source("slurm", path)
        unknown = sum(1 for r in records if r.ran and r.gpus is None)
        source.notes.append("GPU : le champ Tres de Slurm (gres/gpu, suivi seulement avec slurmdbd et "
                            "AccountingStorageTRES=gres/gpu), sinon le journal des serveurs du hub par numéro de "
                            f"tâche ; {unknown} tâche(s) sans l'un ni l'autre, comptée(s) sans GPU")
        source.notes.append("les tâches en cours ne comptent pas encore : Slurm les enregistre à leur fin")
        skipped = bad + skipped
    else:
        records, source = servers.records, Source("hub", state.usage_log)
        source.notes.extend(servers.notes)
    if groups is None:
        groups = hub_groups(state.database)
    if groups is None:
        source.notes.append(f"pas de base du hub ({state.database}) : groupes inconnus")
    return summarize(records, groups or {}, since, until, source, skipped, now)


def with_hub_gpus(jobs: list[UsageRecord], servers: list[UsageRecord]) -> list[UsageRecord]:
    """Slurm's jobs, each GPU count Slurm did not record taken from the hub's record of the lab
    server that ran as that job (its profile's ``--gres=gpu:N``)."""
    from dataclasses import replace

    known = {server.job_id: server.gpus for server in servers if server.job_id and server.gpus is not None}
    return [replace(job, gpus=known[job.what]) if job.gpus is None and job.what in known else job
            for job in jobs]
