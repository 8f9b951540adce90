"""What Slurm says of a job, read from its commands and told in French: a pending job's place in
the queue and Slurm's reason, and why a job ended (out of memory, time limit, cancelled...)."""

from __future__ import annotations

from dataclasses import dataclass

# Slurm's pending reasons a researcher meets most (squeue's %r), in plain French.
PENDING_REASONS = {
    "Resources": "les ressources demandées sont toutes occupées",
    "Priority": "des tâches plus prioritaires passent avant",
    "Dependency": "elle attend la fin d'une autre tâche",
    "ReqNodeNotAvail": "les nœuds demandés ne sont pas disponibles",
    "PartitionTimeLimit": "la durée demandée dépasse celle de la partition",
    "PartitionNodeLimit": "la demande dépasse la taille de la partition",
    "PartitionDown": "la partition est arrêtée",
    "PartitionInactive": "la partition est inactive",
    "JobHeldUser": "vous l'avez suspendue",
    "JobHeldAdmin": "un administrateur l'a suspendue",
    "BeginTime": "son heure de début n'est pas encore venue",
    "QOSMaxWallDurationPerJobLimit": "la durée demandée dépasse la limite de votre qualité de service",
    "QOSMaxJobsPerUserLimit": "vous avez déjà le nombre maximal de tâches en cours",
    "AssocMaxJobsLimit": "vous avez déjà le nombre maximal de tâches en cours",
    "None": "elle vient d'être soumise",
}

ENDED = {
    "OUT_OF_MEMORY": "mémoire dépassée",
    "TIMEOUT": "durée maximale atteinte",
    "CANCELLED": "tâche annulée",
    "FAILED": "la tâche s'est terminée en erreur",
    "NODE_FAIL": "le nœud de calcul est tombé en panne",
    "BOOT_FAIL": "le nœud de calcul n'a pas pu démarrer",
    "PREEMPTED": "la tâche a été préemptée par une tâche prioritaire",
    "DEADLINE": "l'échéance de la tâche est passée",
    "COMPLETED": "la tâche s'est terminée",
}


def pending_reason_fr(reason: str) -> str:
    """Slurm's reason in French, Slurm's own word kept in parentheses for the operator."""
    reason = reason.strip().strip("()") or "None"
    return f"{PENDING_REASONS.get(reason, 'raison donnée par Slurm')} ({reason})"


def queue_position(job_id: str, squeue_lines: str) -> tuple[int, int] | None:
    """``(position, total)`` of ``job_id`` among the pending jobs squeue listed (one id per line, in
    the order Slurm will start them), or None when it is not pending."""
    ids = [line.split("|")[0].strip() for line in squeue_lines.splitlines() if line.strip()]
    return (ids.index(job_id) + 1, len(ids)) if job_id in ids else None


def parse_scontrol(text: str) -> dict[str, str]:
    """``scontrol show job -o`` (one line of Key=Value) as a dict."""
    fields = {}
    for part in text.split():
        key, sep, value = part.partition("=")
        if sep:
            fields[key] = value
    return fields


@dataclass(frozen=True)
class JobEnd:
    """How a job ended, as Slurm recorded it."""

    job_id: str
    state: str
    reason: str = ""
    exit_code: str = ""
    memory: str = ""  # the limit, e.g. 64M
    time_limit: str = ""  # e.g. 00:05:00

    def french(self) -> str:
        """One French sentence for the spawn page: what happened, with the limit that was hit."""
        state = self.state.split()[0] if self.state else "UNKNOWN"
        what = ENDED.get(state, f"la tâche a pris fin ({state})")
        if state == "OUT_OF_MEMORY":
            what += f" (limite : {_french_size(self.memory)})" if self.memory else ""
            advice = " Choisissez un environnement avec plus de mémoire, ou chargez moins de données à la fois."
        elif state == "TIMEOUT":
            what += f" (limite : {_french_time(self.time_limit)})" if self.time_limit else ""
            advice = " Demandez une durée plus longue au prochain démarrage."
        elif state in ("FAILED", "COMPLETED"):
            what += f" (code de sortie {self.exit_code})" if self.exit_code else ""
            advice = " Le journal de la tâche est dans votre dossier personnel (.cache/occidata/)."
        else:
            advice = ""
        return f"Votre serveur s'est arrêté : {what} — tâche Slurm {self.job_id}.{advice}"


def _french_time(limit: str) -> str:
    from .requests import RequestError, french_duration, minutes

    try:
        return french_duration(minutes(limit))
    except RequestError:
        return limit


def _french_size(memory: str) -> str:
    units = {"K": "Ko", "M": "Mo", "G": "Go", "T": "To"}
    memory = memory.strip()
    if memory and memory[-1].upper() in units:
        return f"{memory[:-1]} {units[memory[-1].upper()]}"
    return f"{memory} Mo" if memory.isdigit() else memory


def job_end(job_id: str, scontrol_line: str) -> JobEnd:
    """A :class:`JobEnd` from ``scontrol show job -o <id>`` (empty when Slurm forgot the job)."""
    fields = parse_scontrol(scontrol_line)
    memory = fields.get("MinMemoryNode") or fields.get("MinMemoryCPU", "")
    return JobEnd(job_id, fields.get("JobState", "UNKNOWN"), fields.get("Reason", ""), fields.get("ExitCode", ""),
                  memory, fields.get("TimeLimit", ""))


def _gres_gpus(text: str) -> int:
    """GPUs in a Slurm gres/tres string: ``gpu:2``, ``gres:gpu:1``, ``gres/gpu=1``, ``gpu:a100:4(S:0)``."""
    total = 0
    for part in text.replace("gres/gpu=", "gpu:").split(","):
        fields = part.split("(")[0].split(":")
        if "gpu" in fields and fields[-1].isdigit():
            total += int(fields[-1])
    return total


def partition_status(cfg: dict, partition: str, cpus: int, gpus: int) -> str:
    """One French line for the spawn page, live from ``sinfo`` and ``squeue``: whether a lab of
    ``cpus`` cores and ``gpus`` GPUs can start now in ``partition``, or how many jobs wait there."""
    from .commands import SlurmCommandError, run_slurm

    try:
        nodes = run_slurm(cfg, ["sinfo", "-h", "-N", "-p", partition, "-o", "%C|%G"], timeout=10).stdout
        running = run_slurm(cfg, ["squeue", "-h", "-t", "RUNNING", "-p", partition, "-o", "%b"], timeout=10).stdout
        waiting = run_slurm(cfg, ["squeue", "-h", "-t", "PENDING", "-p", partition, "-o", "%i"], timeout=10).stdout
    except SlurmCommandError:
        return "État de la file Slurm indisponible pour le moment."
    idle_cpus = total_gpus = 0
    for line in nodes.splitlines():
        counts, _, gres = line.partition("|")
        parts = counts.split("/")  # allocated/idle/other/total
        idle_cpus = max(idle_cpus, int(parts[1]) if len(parts) == 4 and parts[1].isdigit() else 0)
        total_gpus += _gres_gpus(gres)
    free_gpus = total_gpus - sum(_gres_gpus(line) for line in running.splitlines())
    pending = len([line for line in waiting.splitlines() if line.strip()])
    if pending:
        return f"{pending} demande{'s' if pending > 1 else ''} en attente dans la partition {partition}."
    if idle_cpus >= cpus and free_gpus >= gpus:
        return "Peut démarrer tout de suite."
    busy = "GPU" if free_gpus < gpus else "cœurs"
    return f"Tous les {busy} de la partition {partition} sont occupés : votre demande attendra son tour."
