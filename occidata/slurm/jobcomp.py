"""Slurm's job completion records as text (``JobCompType=jobcomp/filetxt``, ``JobCompLoc=<file>``),
read for ``occidata usage``. slurmctld appends one line per job when it ends (Slurm 22.05)::

    JobId=1900000 UserId=jupyter-marie(1001) GroupId=jupyter-marie(1001) Name=sleep JobState=COMPLETED
    Partition=cpu TimeLimit=UNLIMITED StartTime=2026-12-05T20:07:59 EndTime=2026-12-05T20:08:01
    NodeList=node1 NodeCnt=1 ProcCnt=2 WorkDir=/home/jupyter-marie ReservationName= Tres=cpu=2,mem=100M,node=1,
    billing=2 Account= QOS= WcKey= Cluster=unknown SubmitTime=... EligibleTime=... DerivedExitCode=0:0 ExitCode=0:0

(one line in the file). What it holds, checked on the test cluster:

- the times are slurmctld's local time, without a zone: read here as this machine's local time
  (``occidata usage`` runs on the head node, beside slurmctld);
- ``ProcCnt`` is the cores allocated (0 when the job never got a node), ``Tres`` what was asked,
  limited to the TRES Slurm tracks;
- there is no GPU count: ``Tres`` has ``gres/gpu=N`` only when ``AccountingStorageTRES=gres/gpu``,
  which slurmctld refuses to start with unless slurmdbd runs (« slurmdbd is required to run with
  TRES gres/gpu »). Such a site's ``gres/gpu`` is read; elsewhere the GPU count stays unknown here
  (:func:`occidata.usage.with_hub_gpus` takes the labs' from the hub's own records).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

from ..usage import Skipped, UsageError, UsageRecord
from .commands import run_slurm

# A field starts where a space is followed by Key=; values may hold spaces (a job's Name, its WorkDir).
_FIELD = re.compile(r"(?:^| )([A-Za-z][A-Za-z0-9]*)=")
_ACCOUNT = re.compile(r"^(.*)\((\d+)\)$")
_REQUIRED = ("JobId", "UserId", "JobState", "StartTime", "EndTime")


def jobcomp_location(cfg: dict) -> Path:
    """The text file Slurm writes its job completion records to, from ``scontrol show config``
    (with the site's slurm.conf); :class:`UsageError` when Slurm writes none as text."""
    shown = run_slurm(cfg, ["scontrol", "show", "config"]).stdout
    settings = {}
    for line in shown.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            settings[key.strip()] = value.strip()
    kind, location = settings.get("JobCompType", ""), settings.get("JobCompLoc", "")
    if kind != "jobcomp/filetxt" or not location or location == "(null)":
        raise UsageError(f"Slurm writes no job completion records as text here (JobCompType = {kind or '?'}, "
                         f"JobCompLoc = {location or '?'}): set JobCompType=jobcomp/filetxt and JobCompLoc=<file> "
                         "in slurm.conf, or pass --jobcomp FILE")
    return Path(location)


def parse_fields(line: str) -> dict[str, str]:
    """One record as ``{key: value}``."""
    marks = list(_FIELD.finditer(line))
    return {mark.group(1): line[mark.end():marks[i + 1].start() if i + 1 < len(marks) else len(line)].strip()
            for i, mark in enumerate(marks)}


def _time(fields: dict, key: str) -> datetime | None:
    value = fields[key]
    if value in ("Unknown", "None", ""):
        return None
    try:
        # slurmctld's local time, without a zone (see the module's docstring): this machine's.
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S").astimezone().astimezone(timezone.utc)
    except ValueError:
        raise ValueError(f"{key}={value!r} n'est pas une date AAAA-MM-JJTHH:MM:SS") from None


def _count(text: str, key: str) -> int:
    if not text.isdigit():
        raise ValueError(f"{key}={text!r} n'est pas un entier")
    return int(text)


def tres_counts(tres: str) -> dict[str, int]:
    """``cpu=2,mem=100M,node=1,gres/gpu=1`` → the whole-number counts ({"cpu": 2, "node": 1, "gres/gpu": 1})."""
    counts = {}
    for item in filter(None, tres.split(",")):
        name, _, value = item.partition("=")
        if value.isdigit():
            counts[name] = int(value)
    return counts


def _gpus(tres: dict[str, int]) -> int | None:
    if "gres/gpu" in tres:
        return tres["gres/gpu"]
    typed = [count for name, count in tres.items() if name.startswith("gres/gpu:")]
    return sum(typed) if typed else None


def parse_record(line: str, user_prefix: str) -> UsageRecord:
    """One job completion line as a :class:`UsageRecord`; ``ValueError`` saying what is wrong.

    The system account ``<user_prefix><name>`` is hub user ``<name>``; other accounts (the report
    service's, an operator's) are reported as themselves.
    """
    fields = parse_fields(line)
    missing = [key for key in _REQUIRED if key not in fields]
    if missing:
        raise ValueError(f"champ(s) {', '.join(missing)} absent(s) : pas un enregistrement jobcomp/filetxt")
    account = _ACCOUNT.match(fields["UserId"])
    if not account or not account.group(1):
        raise ValueError(f"UserId={fields['UserId']!r} n'est pas compte(uid)")
    name = account.group(1)
    user = name[len(user_prefix):] if user_prefix and name.startswith(user_prefix) and name != user_prefix else name
    start, end = _time(fields, "StartTime"), _time(fields, "EndTime")
    if end is None:
        raise ValueError(f"EndTime={fields['EndTime']!r} : un enregistrement de fin de tâche a une fin")
    nodes = _count(fields.get("NodeCnt", "1"), "NodeCnt")
    allocated = _count(fields.get("ProcCnt", "0"), "ProcCnt")
    tres = tres_counts(fields.get("Tres", ""))
    cores = allocated or tres.get("cpu")
    ran = start is not None and nodes > 0
    if start is None or start > end:
        start = end
    if ran and not cores:
        raise ValueError("ni ProcCnt ni Tres cpu= : nombre de cœurs inconnu")
    return UsageRecord(user=user, start=start, end=end, cores=cores, gpus=_gpus(tres), what=fields["JobId"],
                       state=fields["JobState"], ran=ran)


def read_jobcomp(path: str | Path, user_prefix: str) -> tuple[list[UsageRecord], list[Skipped]]:
    """Every record of the file, and the lines that are none (file, line number, why)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file (Slurm's job completion records, JobCompLoc)") from None
    except PermissionError:
        raise UsageError(f"{path}: permission denied (Slurm's job completion records)") from None
    records, skipped = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(parse_record(line, user_prefix))
        except ValueError as error:
            skipped.append(Skipped(str(path), number, str(error)))
    return records, skipped
