"""Dask workers for a lab: ``occidata.cluster()``, one call in every mode, so that a notebook is
written once (issue 17).

Dans un notebook ::

    import occidata
    from occidata import catalog, compute

    with occidata.cluster() as c, c.get_client() as client:
        meteo = catalog.load("weather_daily")                 # grille paresseuse (dask)
        alertes = compute.heatwave_alerts_xr(meteo).compute()  # calculée par les workers

En mode démo et en mode serveur, ``occidata.cluster()`` démarre un ``distributed.LocalCluster`` sur
la machine du lab, dans les limites du lab : au plus un worker par processeur qu'il peut utiliser,
un fil d'exécution par worker, et les trois quarts de sa mémoire (``MEM_LIMIT``, sinon celle de la
machine) partagés entre les workers ; le dernier quart reste au noyau du notebook, qui reçoit les
résultats. ``occidata.cluster(n_workers=1, memory_limit="2 GiB")`` demande moins.

En mode slurm, le même appel donne un ``dask_jobqueue.SLURMCluster`` : chaque worker est une tâche
Slurm du chercheur (nom ``occidata-dask``, visible dans ``squeue``), dans les limites que le hub
donne au lab dans ``OCCIDATA_DASK_WORKERS`` (partition, au plus ``max_workers`` workers, cœurs et
mémoire de chacun, durée au plus celle du lab). Deux workers par défaut ; ``n_workers``,
``memory_limit`` (par worker) et ``walltime`` demandent autre chose, sans dépasser ces limites. Les
workers arrivent quand Slurm lance leurs tâches (ils peuvent attendre dans la file) :
``client.wait_for_workers(2)`` les attend. Fermer le cluster annule leurs tâches ; si la tâche du
lab finit sans le fermer, ses workers perdent leur planificateur et s'arrêtent d'eux-mêmes, leurs
tâches avec eux. Le planificateur tourne dans le lab et écoute sur l'adresse de son nœud (celle
que Slurm connaît, ou ``OCCIDATA_DASK_HOST`` si le site en donne une) ; les identifiants TLS du
cluster sont dans ``~/.occidata/dask/`` (0700, sur le stockage partagé, où les workers les lisent),
ainsi que les journaux des tâches.

Les workers ont les droits du lab, jamais plus : ce sont des processus du compte du lab, lancés
avec son environnement (niveaux d'accès ``OCCIDATA_ACCESS_LEVELS``, service de données
``OCCIDATA_DATA_SERVICE_URL`` et jeton ``JUPYTERHUB_API_TOKEN``). Comme le noyau, ils lisent les
données publiques directement et les autres par le service de données. Ils communiquent en TLS
avec un certificat fait pour ce seul cluster : les autres comptes ne peuvent pas leur faire
exécuter de code. Ceux d'un ``LocalCluster`` n'écoutent que sur 127.0.0.1. Pas de tableau de bord
Dask ni de page HTTP.

The limits in ``OCCIDATA_DASK_WORKERS`` are checked here, in the researcher's own process, as a
courtesy and for a clear message: what binds is Slurm's (partition limits, associations, QOS).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

__all__ = ["cluster", "LOCAL_OPTIONS", "SLURM_OPTIONS", "HOST_ENV", "SLURM_JOB_NAME"]

#: What a researcher may choose for a LocalCluster; addresses, ports and security are the platform's.
LOCAL_OPTIONS = ("n_workers", "threads_per_worker", "memory_limit", "processes")
#: What a researcher may choose for Slurm workers, within the lab's limits; the partition, cores,
#: addresses and security are the platform's.
SLURM_OPTIONS = ("n_workers", "memory_limit", "walltime")
#: Slurm workers started when none are asked for (never more than the profile's max_workers): each
#: holds a core of the shared cluster for as long as the cluster is open.
DEFAULT_SLURM_WORKERS = 2
#: The Slurm job name of every worker (squeue shows it).
SLURM_JOB_NAME = "occidata-dask"
#: Where the scheduler of a lab's Slurm workers listens, when the site names it (optional; by
#: default, the address Slurm has for the lab's node).
HOST_ENV = "OCCIDATA_DASK_HOST"

# The workers together get this share of the lab's memory: the notebook's kernel, which gathers
# the results, and the scheduler live in the same limit.
WORKERS_MEMORY_SHARE = 0.75

_MISSING = ("occidata.cluster() a besoin de Dask distributed : pip install distributed / "
            "occidata.cluster() needs Dask distributed: pip install distributed")
_MISSING_JOBQUEUE = ("occidata.cluster() en mode slurm a besoin de dask-jobqueue : pip install dask-jobqueue / "
                     "occidata.cluster() in slurm mode needs dask-jobqueue: pip install dask-jobqueue")


def cluster(**overrides):
    """A Dask cluster for this lab: ``with occidata.cluster() as c, c.get_client() as client: ...``.

    In demo and server mode, a ``distributed.LocalCluster`` within the lab's own limits (see the
    module's note): workers are processes of the lab's account with its environment, listening on
    127.0.0.1 only, over TLS with credentials made for this cluster alone.

    In slurm mode, a ``dask_jobqueue.SLURMCluster`` whose workers are Slurm jobs of the lab's
    account with its environment, within the limits in ``OCCIDATA_DASK_WORKERS``; they join as
    Slurm starts them (``client.wait_for_workers(n)``), and closing the cluster cancels them.

    Parameters
    ----------
    **overrides
        Less than the defaults, never more than the lab has. Demo and server mode: ``n_workers``
        (default: the lab's CPUs), ``threads_per_worker`` (1), ``memory_limit`` per worker (bytes
        or "2 GiB"; default: three quarters of the lab's memory shared between the workers),
        ``processes`` (True). Slurm mode: ``n_workers`` (default 2, at most ``max_workers``),
        ``memory_limit`` per worker (default and most: the limits' ``memory_mib``), ``walltime``
        ("1:30:00" or minutes; default and most: the limits' ``time_minutes``).

    Raises
    ------
    ValueError
        An unknown option, or one beyond the lab's CPUs, memory or workers; in slurm mode, a
        missing or malformed ``OCCIDATA_DASK_WORKERS``; the message names it.
    RuntimeError
        Slurm mode: Slurm refuses the workers' jobs (``sbatch --test-only``, Slurm's words quoted).
    ImportError
        Dask distributed, or in slurm mode dask-jobqueue, is not installed.
    occidata.modes.ModeUnavailable
        The platform's mode cannot give Dask workers in this release (kubernetes).
    """
    from .config import load_config
    from .modes import ModeUnavailable, mode_of

    mode = mode_of(load_config())
    try:
        mode.check_available()
    except ModeUnavailable as error:
        raise ModeUnavailable(f"occidata.cluster(): {error}") from None
    make = _MAKERS.get(mode.dask_workers)
    if make is None:
        raise ModeUnavailable(f"occidata.cluster(): mode '{mode.name}' gives Dask workers through "
                              f"'{mode.dask_workers}', which this release does not have yet")
    return make(overrides)


def _whole(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"occidata.cluster({name}={value!r}) : un nombre entier ≥ 1 est attendu / "
                         f"a whole number >= 1 is expected")
    return value


def _known_options(overrides: dict, known: tuple) -> None:
    unknown = sorted(set(overrides) - set(known))
    if unknown:
        raise ValueError(f"occidata.cluster({', '.join(unknown)}=...) : option inconnue, les options sont "
                         f"{', '.join(known)} / unknown option, the options are {', '.join(known)}")


def _size(name: str, value) -> int:
    from dask.utils import parse_bytes

    try:
        size = parse_bytes(value)
    except (TypeError, ValueError):
        raise ValueError(f"occidata.cluster({name}={value!r}) : une taille comme \"2 GiB\" est attendue / "
                         f"a size like \"2 GiB\" is expected") from None
    if size < 1:
        raise ValueError(f"occidata.cluster({name}={value!r}) : une taille d'au moins un octet est attendue / "
                         f"a size of at least one byte is expected")
    return size


def _local_cluster(overrides: dict):
    """A LocalCluster sized by the lab's CPUs and memory (:func:`occidata.lab.resources.lab_limits`)."""
    _known_options(overrides, LOCAL_OPTIONS)
    try:
        import dask
        from dask.utils import format_bytes
        from distributed import LocalCluster
        from distributed.security import Security
    except ImportError:
        raise ImportError(_MISSING) from None
    from .lab.resources import lab_limits

    cores, memory = lab_limits()
    cpus = max(1, min(len(os.sched_getaffinity(0)), int(cores)))
    threads = _whole("threads_per_worker", overrides.get("threads_per_worker", 1))
    workers = _whole("n_workers", overrides.get("n_workers", max(1, cpus // threads)))
    if workers * threads > cpus:
        raise ValueError(f"occidata.cluster(n_workers={workers}, threads_per_worker={threads}) : ce lab a "
                         f"{cpus} processeur(s) / this lab has {cpus} CPU(s)")
    processes = overrides.get("processes", True)
    if not isinstance(processes, bool):
        raise ValueError(f"occidata.cluster(processes={processes!r}) : True ou False / True or False")
    if "memory_limit" in overrides:
        per_worker = _size("memory_limit", overrides["memory_limit"])
        if per_worker * workers > memory:
            raise ValueError(f"occidata.cluster(memory_limit={overrides['memory_limit']!r}) : {workers} worker(s) "
                             f"dépasseraient la mémoire du lab ({format_bytes(memory)}) / would exceed the lab's "
                             f"memory ({format_bytes(memory)})")
    else:
        per_worker = int(memory * WORKERS_MEMORY_SHARE) // workers
    # Worker processes inherit the lab's environment when they start (its access levels, the data
    # service's URL and the lab's token), so they read exactly what the lab reads. Numba would
    # start one thread per CPU in every worker process: each gets as many as it has Dask threads.
    spawned = {"env": {"NUMBA_NUM_THREADS": str(threads)}} if processes else {}
    # The scheduler and the workers always run an HTTP server (dashboard, task and log pages,
    # metrics), without TLS nor login, and 127.0.0.1 is every account's on a server: it serves
    # nothing, on a port of its own.
    with dask.config.set({"distributed.scheduler.http.routes": [], "distributed.worker.http.routes": []}):
        return LocalCluster(n_workers=workers, threads_per_worker=threads, processes=processes,
                            memory_limit=per_worker, host="127.0.0.1", dashboard_address=None,
                            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                            security=Security.temporary(), **spawned)


def _scheduler_host(cfg: dict) -> str:
    """Where the scheduler listens, so that workers on other nodes reach it: ``OCCIDATA_DASK_HOST``
    when the site sets one, else the address Slurm itself has for the lab's node (its NodeAddr)."""
    from .slurm.commands import SlurmCommandError, run_slurm

    host = os.environ.get(HOST_ENV, "").strip()
    if host:
        return host
    node = os.environ.get("SLURMD_NODENAME", "").strip()
    if not node:
        raise ValueError(f"occidata.cluster() : ce lab n'est pas une tâche Slurm (SLURMD_NODENAME n'est pas défini), "
                         f"l'adresse de son nœud est inconnue ; donnez-la dans {HOST_ENV} / this lab is not a Slurm "
                         f"job (SLURMD_NODENAME is not set): set {HOST_ENV} to the address its workers reach")
    try:
        # One line per partition the node is in, all with the same address.
        lines = run_slurm(cfg, ["sinfo", "-h", "-N", "-n", node, "-o", "%o"]).stdout.split()
    except SlurmCommandError as error:
        raise RuntimeError(f"occidata.cluster() : adresse du nœud {node} introuvable / cannot find node {node}'s "
                           f"address: {error}") from None
    if not lines:
        raise RuntimeError(f"occidata.cluster() : Slurm ne connaît pas le nœud {node} / "
                           f"Slurm does not know node {node}")
    return lines[0]


def _private_folder() -> Path:
    """The lab account's own folder (home, on storage every node mounts in slurm mode) for the
    cluster's TLS credentials, which its workers read from their nodes, and the workers' logs."""
    folder = Path.home() / ".occidata" / "dask"
    (folder / "logs").mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)
    return folder


def _check_submission(script: str) -> None:
    """``sbatch --test-only`` on the workers' job script: what Slurm refuses (partition, memory,
    wall time, QOS) is a clear error now, not workers that never come."""
    try:
        done = subprocess.run(["sbatch", "--test-only"], input=script, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise RuntimeError(f"occidata.cluster() : sbatch ne répond pas / sbatch does not answer: {error}") from None
    if done.returncode != 0:
        said = " ".join((done.stderr or done.stdout).split())
        raise RuntimeError(f"occidata.cluster() : Slurm refuse les tâches des workers / Slurm refuses the workers' "
                           f"jobs: {said}")


def _slurm_cluster(overrides: dict):
    """dask-jobqueue's ``SLURMCluster``: each worker is a Slurm job of the lab's own account, within
    the limits the hub gave this lab; the scheduler runs in the lab, on its node's address."""
    _known_options(overrides, SLURM_OPTIONS)
    try:
        import dask
        from dask.utils import format_bytes
        from dask_jobqueue import SLURMCluster
        from dask_jobqueue.slurm import SLURMJob
        from distributed.security import Security
    except ImportError:
        raise ImportError(_MISSING_JOBQUEUE) from None
    from .config import load_config
    from .slurm.requests import RequestError, minutes, read_workers_limits, slurm_time

    limits = read_workers_limits(os.environ)
    most = limits["max_workers"]
    if most == 0:
        raise ValueError("occidata.cluster() : le profil de ce lab ne donne pas de workers Dask (max_workers: 0) ; "
                         "choisissez un autre profil / this lab's profile gives no Dask workers (max_workers: 0)")
    workers = _whole("n_workers", overrides.get("n_workers", min(DEFAULT_SLURM_WORKERS, most)))
    if workers > most:
        raise ValueError(f"occidata.cluster(n_workers={workers}) : ce lab peut avoir au plus {most} worker(s) "
                         f"Slurm / this lab may have at most {most} Slurm worker(s)")
    memory = limits["memory_mib"] << 20
    if "memory_limit" in overrides:
        asked = _size("memory_limit", overrides["memory_limit"])
        if asked > memory or asked < 1 << 20:
            raise ValueError(f"occidata.cluster(memory_limit={overrides['memory_limit']!r}) : un worker Slurm de ce "
                             f"lab a de 1 MiB à {format_bytes(memory)} / a Slurm worker of this lab has 1 MiB to "
                             f"{format_bytes(memory)}")
        memory = asked
    mib = memory >> 20  # Slurm counts whole MiB: never round up past the limit
    wall = limits["time_minutes"]
    if "walltime" in overrides:
        try:
            asked = minutes(overrides["walltime"])
        except RequestError:
            raise ValueError(f"occidata.cluster(walltime={overrides['walltime']!r}) : une durée comme \"1:30:00\" "
                             f"ou 90 (minutes) est attendue / a wall time like \"1:30:00\" or 90 (minutes) is "
                             f"expected") from None
        if asked > wall:
            raise ValueError(f"occidata.cluster(walltime={overrides['walltime']!r}) : les workers de ce lab ont au "
                             f"plus {wall} min / this lab's workers have at most {wall} min")
        wall = asked
    host = _scheduler_host(load_config())
    folder = _private_folder()
    cores = limits["cores"]

    class ExportAllJob(SLURMJob):
        # sbatch's default hands the lab's environment to the job (its access levels, data
        # service and token, data dir), so that workers read exactly what the lab reads; a site's
        # SBATCH_EXPORT would override that default, not this option.
        submit_command = "sbatch --export=ALL"

    # The scheduler's HTTP server (dashboard, task and log pages, metrics) has neither TLS nor
    # login: it serves nothing, on 127.0.0.1; so do the workers' (their dask config comes from the
    # environment, hence the variable below).
    with dask.config.set({"distributed.scheduler.http.routes": []}):
        cluster = SLURMCluster(
            job_cls=ExportAllJob, queue=limits["partition"], cores=cores, processes=1, memory=f"{mib} MiB",
            job_cpu=cores, job_mem=f"{mib}M", walltime=slurm_time(wall), python=sys.executable,
            job_name=SLURM_JOB_NAME, job_extra_directives=[], job_directives_skip=[],
            log_directory=str(folder / "logs"),
            job_script_prologue=[
                "export DASK_DISTRIBUTED__WORKER__HTTP__ROUTES='[]'",
                f"export NUMBA_NUM_THREADS={cores}",
                # A worker asks Slurm for no GPU, whatever the lab's kernel uses.
                "export OCCIDATA_BACKEND=cpu",
            ],
            worker_extra_args=["--no-dashboard", "--dashboard-address", "127.0.0.1:0"],
            scheduler_options={"host": host, "dashboard": False, "dashboard_address": "127.0.0.1:0"},
            # Credentials made for this cluster alone: the workers read them from the account's
            # own folder (0700); whoever lacks them cannot connect, so cannot run code as the lab.
            security=Security.temporary(), shared_temp_directory=str(folder),
        )
    try:
        _check_submission(cluster.job_script())
        cluster.scale(workers)
    except BaseException:
        cluster.close()
        raise
    return cluster


# How each Mode.dask_workers makes its cluster.
_MAKERS = {"local": _local_cluster, "slurm": _slurm_cluster}
