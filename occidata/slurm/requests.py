"""A profile's Slurm request, declared once in ``hub/profiles.yaml``::

    slurm:
      partition: gpu
      cpus: 4
      memory: 16G          # per job (sbatch --mem); K, M, G or T
      gpus: 1              # sbatch --gres=gpu:1: the job's own device(s)
      time: "4:00:00"      # wall time by default ([D-]H:MM:SS or minutes)
      max_time: "12:00:00" # the most a researcher may choose on the spawn page
      max_workers: 4       # Dask workers occidata.cluster() may start as jobs (1 core each)

Slurm enforces what the request says (cgroups for memory and cores, the time limit, the GPU devices);
the hub only decides what a researcher may ask (:func:`chosen_time`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

_KEYS = {"partition", "cpus", "memory", "gpus", "time", "max_time", "max_workers"}

#: The lab's environment variable holding its Dask workers' limits (:func:`workers_limits`, JSON).
WORKERS_ENV = "OCCIDATA_DASK_WORKERS"
_MEMORY = re.compile(r"^(\d+)\s*([KMGT]?)i?B?$", re.IGNORECASE)
_TIME = re.compile(r"^(?:(\d+)-)?(\d+):(\d{2})(?::(\d{2}))?$")
_UNIT_MIB = {"K": 1 / 1024, "M": 1, "": 1, "G": 1024, "T": 1024 * 1024}


class RequestError(ValueError):
    """A Slurm request that cannot be made; the message names the key."""


def memory_mib(text) -> int:
    """``"16G"`` → 16384: Slurm's ``--mem`` sizes (K, M, G, T; M when no unit) in MiB."""
    match = _MEMORY.match(str(text).strip())
    if not match or int(match.group(1)) == 0:
        raise RequestError(f"memory: {text!r} is not a size like 8G or 512M")
    return max(1, round(int(match.group(1)) * _UNIT_MIB[match.group(2).upper()]))


def minutes(text) -> int:
    """Slurm's wall times (``"4:00:00"``, ``"1-12:00:00"``, ``"90"`` minutes) in minutes."""
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    else:
        text = str(text).strip()
        match = _TIME.match(text)
        if text.isdigit():
            value = int(text)
        elif match:
            days, first, second, third = match.groups()
            # H:MM:SS, or MM:SS when only two parts (Slurm's own reading).
            hours, mins = (int(first), int(second)) if third is not None else (0, int(first))
            value = int(days or 0) * 1440 + hours * 60 + mins
        else:
            raise RequestError(f"time: {text!r} is not a wall time like 4:00:00, 1-00:00:00 or 90 (minutes)")
    if value < 1:
        raise RequestError(f"time: {text!r} must be at least one minute")
    return value


def slurm_time(total_minutes: int) -> str:
    """Minutes as Slurm's ``D-HH:MM:00`` (``--time``)."""
    days, rest = divmod(total_minutes, 1440)
    return f"{days}-{rest // 60:02d}:{rest % 60:02d}:00"


def french_duration(total_minutes: int) -> str:
    """« 4 h », « 1 h 30 », « 1 j 2 h » for the spawn page."""
    days, rest = divmod(total_minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} j"] if days else []
    if hours or not (days or mins):
        parts.append(f"{hours} h")
    if mins:
        parts.append(f"{mins:02d}" if hours else f"{mins} min")
    return " ".join(parts)


@dataclass(frozen=True)
class SlurmRequest:
    """What one lab of a profile asks Slurm for."""

    partition: str
    cpus: int = 1
    memory_mib: int = 2048
    gpus: int = 0
    time_minutes: int = 480
    max_time_minutes: int = 480
    max_workers: int = 4

    def sbatch_options(self, time_minutes: int | None = None) -> list[str]:
        """The sbatch options of a job of this request (the wall time chosen, else the default)."""
        options = [f"--partition={self.partition}", f"--cpus-per-task={self.cpus}", f"--mem={self.memory_mib}M",
                   f"--time={slurm_time(time_minutes or self.time_minutes)}"]
        if self.gpus:
            options.append(f"--gres=gpu:{self.gpus}")
        return options

    def summary_fr(self) -> str:
        """« 4 cœurs · 16 Go · 1 GPU · 4 h (jusqu'à 12 h) »."""
        cores = f"{self.cpus} cœur" + ("s" if self.cpus > 1 else "")
        memory = (f"{self.memory_mib} Mo" if self.memory_mib < 1024 else
                  f"{self.memory_mib / 1024:.1f}".rstrip("0").rstrip(".").replace(".", ",") + " Go")
        parts = [cores, memory]
        if self.gpus:
            parts.append(f"{self.gpus} GPU")
        duration = french_duration(self.time_minutes)
        if self.max_time_minutes > self.time_minutes:
            duration += f" (jusqu'à {french_duration(self.max_time_minutes)})"
        parts.append(duration)
        return " · ".join(parts)


def read_request(entry, where: str) -> SlurmRequest:
    """A profile's ``slurm`` mapping as a :class:`SlurmRequest`; errors name ``where`` and the key."""
    if not isinstance(entry, dict):
        raise RequestError(f"{where}, slurm: a mapping with partition, cpus, memory, gpus, time, max_time")
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise RequestError(f"{where}, slurm: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(_KEYS))}")
    if not entry.get("partition"):
        raise RequestError(f"{where}, slurm: missing partition")
    try:
        cpus, gpus, workers = (int(entry.get(key, default))
                               for key, default in (("cpus", 1), ("gpus", 0), ("max_workers", 4)))
        memory = memory_mib(entry.get("memory", "2G"))
        time = minutes(entry.get("time", "8:00:00"))
        max_time = minutes(entry.get("max_time", entry.get("time", "8:00:00")))
    except RequestError as error:
        raise RequestError(f"{where}, slurm.{error}") from None
    except (TypeError, ValueError):
        raise RequestError(f"{where}, slurm: cpus, gpus and max_workers are whole numbers") from None
    if cpus < 1 or gpus < 0 or workers < 0:
        raise RequestError(f"{where}, slurm: cpus must be at least 1, gpus and max_workers at least 0")
    if max_time < time:
        raise RequestError(f"{where}, slurm.max_time ({entry.get('max_time')}) is shorter than time ({entry.get('time')})")
    return SlurmRequest(str(entry["partition"]), cpus, memory, gpus, time, max_time, workers)


def chosen_time(request: SlurmRequest, asked) -> int:
    """The wall time (minutes) a researcher chose on the spawn page or through the REST API
    (``hours``), within the profile's maximum; nothing asked: the profile's default."""
    if asked in (None, "", []):
        return request.time_minutes
    if isinstance(asked, list):
        asked = asked[0]
    try:
        hours = float(str(asked).replace(",", "."))
    except ValueError:
        raise RequestError(f"durée : « {asked} » n'est pas un nombre d'heures") from None
    wanted = round(hours * 60)
    if wanted < 1 or wanted > request.max_time_minutes:
        raise RequestError(f"durée : {str(asked).replace('.', ',')} h dépasse ce que permet cet environnement "
                           f"(au plus {french_duration(request.max_time_minutes)})" if wanted >= 1 else
                           f"durée : « {asked} » doit être d'au moins une minute")
    return wanted


def workers_limits(request: SlurmRequest, time_minutes: int) -> dict:
    """What ``occidata.cluster()`` may ask Slurm for from a lab of ``request`` (stored as JSON in the
    lab's :data:`WORKERS_ENV`): at most ``max_workers`` jobs of one core, each with the memory of one
    of the lab's cores, in the lab's partition, no GPU, for no longer than the lab's own wall time."""
    return {"partition": request.partition, "max_workers": request.max_workers, "cores": 1,
            "memory_mib": max(256, request.memory_mib // request.cpus), "time_minutes": time_minutes}


def read_workers_limits(environ) -> dict:
    """What the hub lets this lab's Slurm workers have (``OCCIDATA_DASK_WORKERS``, JSON written by
    :func:`workers_limits`); missing or malformed: one line naming the key."""
    raw = environ.get(WORKERS_ENV, "").strip()
    if not raw:
        raise ValueError(f"occidata.cluster() : {WORKERS_ENV} n'est pas défini ; en mode slurm, le hub le donne à "
                         f"chaque lab (les limites des workers de son profil) : lancez ce code depuis un lab du hub / "
                         f"{WORKERS_ENV} is not set; in slurm mode the hub sets it in every lab (its profile's "
                         f"worker limits): run this from a lab of the hub")
    try:
        limits = json.loads(raw)
    except ValueError as error:
        raise ValueError(f"occidata.cluster() : {WORKERS_ENV} n'est pas du JSON valide ({error}) / "
                         f"{WORKERS_ENV} is not valid JSON ({error})") from None
    if not isinstance(limits, dict):
        limits = {}
    if not isinstance(limits.get("partition"), str) or not limits["partition"].strip():
        raise ValueError(f"occidata.cluster() : {WORKERS_ENV}, clé « partition » : un nom de partition Slurm est "
                         f"attendu / key 'partition': a Slurm partition name is expected")
    for key, least in (("max_workers", 0), ("cores", 1), ("memory_mib", 1), ("time_minutes", 1)):
        value = limits.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"occidata.cluster() : {WORKERS_ENV}, clé « {key} » : un nombre entier ≥ {least} est "
                             f"attendu, pas {value!r} / key '{key}': a whole number >= {least} is expected")
    return limits
