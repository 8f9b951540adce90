"""A data steward's view of use: who holds which level until when, reads per month, and server and
GPU hours per hub group.

Pure functions of what the data service holds: its grants (:mod:`occidata.catalog.grants`), the
audit log's records (:func:`occidata.privacy.audit.read_audit`), the usage report of the platform's
mode (:func:`occidata.usage.usage_report`) and the hub's user names. :func:`build_view` makes one
JSON-able dict; the data service sends it (``api/use``) or shows it as a French page
(:func:`render_page`, served by :mod:`occidata.catalog.use_service`), and ``occidata access use``
prints it (:func:`render_text`).

Readers are shown by their audit pseudonym. A steward who asks for names gets them by
pseudonymising the hub's user names with the audit log's key (:func:`names_by_pseudonym`): a
pseudonym no current user has (a deleted account) stays a pseudonym. The data service records the
asking itself (``names_shown``, one event per dataset whose readers were named: :func:`names_shown_events`).

Months are Europe/Paris months, as the usage report's days are.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Iterable, Mapping

from ..levels import required_level
from ..privacy.pseudonyms import pseudonymise
from ..usage import ZONE, Report
from .grants import grant_end, has_ended

DEFAULT_MONTHS = 12  # the current month and the eleven before
MAX_MONTHS = 120
NO_END = "sans fin"
NO_ENTRY = "(aucune entrée du catalogue)"
TEMPLATES = Path(__file__).resolve().parent / "templates"
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class UseError(ValueError):
    """A parameter of the view that cannot be read; ``parameter`` names it."""

    def __init__(self, message: str, parameter: str):
        super().__init__(message)
        self.parameter = parameter


# --- the period -----------------------------------------------------------------------------


def parse_month(text: str | None, parameter: str) -> date | None:
    """The first day of month ``text`` (``YYYY-MM``); None when empty. ``parameter`` names it in errors."""
    if text is None or not str(text).strip():
        return None
    match = _MONTH.match(str(text).strip())
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1:
        raise UseError(f"{parameter} : « {text} » n'est pas un mois AAAA-MM (par exemple 2026-03) "
                       f"/ {parameter}: {text!r} is not a month YYYY-MM", parameter)
    return date(int(match.group(1)), int(match.group(2)), 1)


def add_months(month: date, count: int) -> date:
    """The first day of the month ``count`` months after (before, if negative) ``month``'s."""
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def months_of(month_from: date | None, month_to: date | None, today: date | None = None) -> list[str]:
    """The months of the view, ``YYYY-MM``, oldest first: from ``month_from`` to ``month_to``
    included; by default the current month (Europe/Paris) and the eleven before it."""
    today = today or datetime.now(ZONE).date()
    if month_to is None:
        current = today.replace(day=1)
        month_to = max(current, month_from) if month_from else current
    month_from = month_from or add_months(month_to, 1 - DEFAULT_MONTHS)
    if month_to < month_from:
        raise UseError(f"month_to : {month_to:%Y-%m} est avant month_from {month_from:%Y-%m} "
                       "/ month_to is before month_from", "month_to")
    span = (month_to.year - month_from.year) * 12 + month_to.month - month_from.month + 1
    if span > MAX_MONTHS:
        raise UseError(f"month_from : {span} mois demandés, au plus {MAX_MONTHS} "
                       f"/ month_from: {span} months asked for, at most {MAX_MONTHS}", "month_from")
    return [f"{add_months(month_from, i):%Y-%m}" for i in range(span)]


def last_day(month: str) -> date:
    """The last day of month ``YYYY-MM``."""
    first = date(int(month[:4]), int(month[5:7]), 1)
    return date.fromordinal(add_months(first, 1).toordinal() - 1)


def month_of(when: object) -> str | None:
    """The Europe/Paris month (``YYYY-MM``) of an audit record's ``when``; None when it is no date."""
    try:
        moment = datetime.fromisoformat(str(when))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return f"{moment.astimezone(ZONE):%Y-%m}"


# --- the three parts ------------------------------------------------------------------------


def holdings(granted: Mapping[str, Mapping[str, dict]], entries: Mapping[str, Mapping],
             now: datetime | None = None) -> list[dict]:
    """Per non-public dataset, who holds its level, granted by whom, since and until when.

    ``granted`` is the grants file's level -> user -> ``{by, when, until?}``; ``until`` is None for
    a grant without end. ``ended`` says a grant is past its end (the service revokes it soon).
    A level granted that no catalogue entry needs any more is listed with ``dataset`` None.
    """
    rows, used = [], set()
    for name, meta in sorted(entries.items()):
        if meta["access"] == "public":
            continue
        level = required_level(name, meta["access"])
        used.add(level)
        rows += [_holding(name, level, user, grant, now) for user, grant in sorted(granted.get(level, {}).items())]
    for level in sorted(set(granted) - used):
        rows += [_holding(None, level, user, grant, now) for user, grant in sorted(granted[level].items())]
    return rows


def _holding(dataset: str | None, level: str, user: str, grant: dict, now: datetime | None) -> dict:
    try:
        ended = has_ended(grant, now)
        end = grant_end(grant)
    except (TypeError, ValueError):
        raise ValueError(f"grants file, granted › {level} › {user}: until {grant.get('until')!r} "
                         "is not an ISO date") from None
    return {"dataset": dataset, "level": level, "user": user, "by": list(grant.get("by") or []),
            "since": grant.get("when"), "until": end.isoformat() if end else None, "ended": ended}


def names_by_pseudonym(user_names: Iterable[str], key: bytes) -> dict[str, str]:
    """Pseudonym -> name for every name of ``user_names``, under the audit log's pseudonym key."""
    return {pseudonymise(name, key): name for name in user_names}


def reads_by_month(records: Iterable[Mapping], months: list[str],
                   names: Mapping[str, str] | None = None) -> dict:
    """Audited reads per dataset and month, and per reader (a pseudonym; with ``name`` when
    ``names`` is given: the reader's hub name, None for a pseudonym no current user has).

    Only ``read`` events count; a record whose ``when`` is no date is counted in ``unreadable``.
    """
    wanted = set(months)
    counts: dict[str, dict[str, int]] = {}
    readers: dict[tuple[str, str, str], int] = {}
    unreadable = 0
    for record in records:
        if record.get("event") != "read":
            continue
        month = month_of(record.get("when"))
        if month is None:
            unreadable += 1
            continue
        if month not in wanted:
            continue
        dataset, who = str(record.get("what") or "?"), str(record.get("who") or "?")
        per_month = counts.setdefault(dataset, dict.fromkeys(months, 0))
        per_month[month] += 1
        readers[(dataset, month, who)] = readers.get((dataset, month, who), 0) + 1
    datasets = [{"dataset": dataset, "by_month": per_month, "total": sum(per_month.values()),
                 "readers": len({who for (d, _m, who) in readers if d == dataset})}
                for dataset, per_month in sorted(counts.items())]
    rows = []
    for (dataset, month, who), count in sorted(readers.items()):
        row = {"dataset": dataset, "month": month, "pseudonym": who, "reads": count}
        if names is not None:
            row["name"] = names.get(who)
        rows.append(row)
    by_month = {month: sum(d["by_month"][month] for d in datasets) for month in months}
    return {"datasets": datasets, "by_month": by_month, "total": sum(by_month.values()), "readers": rows,
            "unreadable": unreadable}


def hours_by_group(report: Report) -> dict:
    """Server hours (hours of lab servers, or of Slurm jobs), GPU hours and CPU hours per hub
    group of a usage report; ``members`` is how many of the group's members ran something."""
    return {"error": None, "since": report.since.isoformat(), "until": report.until.isoformat(),
            "kind": report.source.kind, "source": report.source.line, "count_name": report.source.count_name,
            "groups": [{"group": group, "members": len(report.members.get(group, [])), **totals.as_dict("count")}
                       for group, totals in report.groups.items()],
            "total": report.total.as_dict("count"), "notes": list(report.notes),
            "skipped": [str(skipped) for skipped in report.skipped]}


def hours_unavailable(reason: str) -> dict:
    """The hours part when the usage records cannot be read: why, and no figure."""
    return {"error": reason, "groups": [], "total": None, "notes": [], "skipped": []}


def build_view(*, entries: Mapping[str, Mapping], granted: Mapping[str, Mapping[str, dict]],
               records: Iterable[Mapping], months: list[str], hours: dict,
               names: Mapping[str, str] | None = None, now: datetime | None = None) -> dict:
    """The steward's view: ``holdings``, ``reads`` (per month), ``hours`` (per hub group).

    ``names`` (pseudonym -> hub name) only when the steward asked for names: ``names_shown`` says so.
    """
    return {"period": {"month_from": months[0], "month_to": months[-1], "months": months, "timezone": str(ZONE)},
            "names_shown": names is not None,
            "holdings": holdings(granted, entries, now),
            "reads": reads_by_month(records, months, names),
            "hours": hours}


def names_shown_events(view: dict) -> list[dict]:
    """The fields of the ``names_shown`` audit events a view with names calls for: one per dataset
    whose readers it names (``shown``: their pseudonyms), or one without dataset when it names nobody."""
    if not view["names_shown"]:
        return []
    period = {"month_from": view["period"]["month_from"], "month_to": view["period"]["month_to"]}
    shown: dict[str, set[str]] = {}
    for row in view["reads"]["readers"]:
        if row.get("name") is not None:
            shown.setdefault(row["dataset"], set()).add(row["pseudonym"])
    if not shown:
        return [{"what": None, "shown": [], **period}]
    return [{"what": dataset, "shown": sorted(people), **period} for dataset, people in sorted(shown.items())]


# --- rendering ------------------------------------------------------------------------------


def reader_label(row: Mapping) -> str:
    """How a reader is shown: their name when the steward asked for names and it is known, else
    their pseudonym."""
    if "name" not in row:
        return row["pseudonym"]
    return row["name"] if row["name"] is not None else f"{row['pseudonym']} (inconnu du hub)"


def moment_label(text: str | None) -> str:
    """An ISO moment as the steward reads it, ``2026-06-30 00:00 UTC``; other text as it is."""
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return str(text or "")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return f"{moment.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC"


def until_label(row: Mapping) -> str:
    """A grant's end as the steward reads it: the moment, ``sans fin``, and ``échue`` when past."""
    if row["until"] is None:
        return NO_END
    return moment_label(row["until"]) + (" (échue)" if row["ended"] else "")


def _hours(value: float) -> str:
    return f"{value:.2f}"


def chart_bars(by_month: Mapping[str, int]) -> list[dict]:
    """The bars of the reads per month: each month's value and its width in percent of the largest."""
    largest = max(by_month.values(), default=0)
    return [{"month": month, "value": value, "width": round(100 * value / largest, 1) if largest else 0.0}
            for month, value in by_month.items()]


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in [header, *rows]]


def render_text(view: dict) -> str:
    """The view as ``occidata access use`` prints it: three tables, French headings."""
    period = view["period"]
    lines = [f"Usage du {period['month_from']} au {period['month_to']} (mois d'{period['timezone']})", "",
             "Qui détient quel niveau"]
    held = view["holdings"]
    if held:
        lines += _table(("jeu de données", "niveau", "personne", "accordé par", "depuis", "jusqu'au"),
                        [(row["dataset"] or NO_ENTRY, row["level"], row["user"], ", ".join(row["by"]),
                          moment_label(row["since"]), until_label(row)) for row in held])
    else:
        lines.append("aucun niveau accordé")
    reads = view["reads"]
    lines += ["", "Lectures par mois" + (" (noms montrés, demande auditée)" if view["names_shown"]
                                         else " (lecteurs en pseudonymes)")]
    if reads["datasets"]:
        months = period["months"]
        lines += _table(("jeu de données", *months, "total"),
                        [(d["dataset"], *(str(d["by_month"][m]) for m in months), str(d["total"]))
                         for d in reads["datasets"]]
                        + [("(total)", *(str(reads["by_month"][m]) for m in months), str(reads["total"]))])
        lines += ["", "Lecteurs"]
        lines += _table(("jeu de données", "mois", "lecteur", "lectures"),
                        [(r["dataset"], r["month"], reader_label(r), str(r["reads"])) for r in reads["readers"]])
    else:
        lines.append("aucune lecture auditée sur cette période")
    if reads["unreadable"]:
        lines.append(f"note : {reads['unreadable']} lecture(s) sans date lisible, non comptée(s)")
    hours = view["hours"]
    lines += ["", "Heures de serveur et de GPU par groupe"]
    if hours["error"]:
        lines.append(f"indisponible : {hours['error']}")
    else:
        lines.append(hours["source"])
        lines += [f"note : {note}" for note in hours["notes"]]
        if hours["skipped"]:
            lines.append(f"lignes ignorées : {len(hours['skipped'])} ({'; '.join(hours['skipped'][:3])})")
        count = "tâches" if hours["count_name"] == "jobs" else "serveurs"
        if hours["groups"]:
            lines += _table(("groupe", "membres", "heures de serveur", "heures GPU", "heures CPU", count),
                            [(g["group"], str(g["members"]), _hours(g["hours"]), _hours(g["gpu_hours"]),
                              _hours(g["cpu_hours"]), str(g["count"])) for g in hours["groups"]]
                            + [("(total)", "", _hours(hours["total"]["hours"]), _hours(hours["total"]["gpu_hours"]),
                                _hours(hours["total"]["cpu_hours"]), str(hours["total"]["count"]))])
        else:
            lines.append("aucune consommation enregistrée sur cette période")
    return "\n".join(lines)


def render_page(view: dict | None, *, lab_name: str, action: str, user: str, error: str | None = None,
                month_from: str = "", month_to: str = "") -> str:
    """The view as a French page with no script (``action``: the page's own path, for its form);
    with ``error`` (and no view) the page says what was wrong."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.globals.update(reader_label=reader_label, until_label=until_label, moment_label=moment_label,
                       hours=_hours, NO_ENTRY=NO_ENTRY)
    return env.get_template("use.html").render(
        view=view, lab_name=lab_name, action=action, user=user, error=error,
        month_from=month_from or (view["period"]["month_from"] if view else ""),
        month_to=month_to or (view["period"]["month_to"] if view else ""),
        bars=chart_bars(view["reads"]["by_month"]) if view else [])
