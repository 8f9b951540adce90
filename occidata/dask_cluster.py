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
résultats. En mode slurm (à venir), le même appel donnera des workers qui sont des tâches Slurm du
chercheur. ``occidata.cluster(n_workers=1, memory_limit="2 GiB")`` demande moins.

Les workers ont les droits du lab, jamais plus : ce sont des processus du compte du lab, lancés
avec son environnement (niveaux d'accès ``OCCIDATA_ACCESS_LEVELS``, service de données
``OCCIDATA_DATA_SERVICE_URL`` et jeton ``JUPYTERHUB_API_TOKEN``). Comme le noyau, ils lisent les
données publiques directement et les autres par le service de données. Ils n'écoutent que sur
127.0.0.1, en TLS avec un certificat fait pour ce seul cluster : les autres comptes de la machine
ne peuvent pas leur faire exécuter de code. Pas de tableau de bord Dask ni de page HTTP.
"""

from __future__ import annotations

import os

__all__ = ["cluster", "LOCAL_OPTIONS"]

#: What a researcher may choose for a LocalCluster; addresses, ports and security are the platform's.
LOCAL_OPTIONS = ("n_workers", "threads_per_worker", "memory_limit", "processes")

# The workers together get this share of the lab's memory: the notebook's kernel, which gathers
# the results, and the scheduler live in the same limit.
WORKERS_MEMORY_SHARE = 0.75

_MISSING = ("occidata.cluster() a besoin de Dask distributed : pip install distributed / "
            "occidata.cluster() needs Dask distributed: pip install distributed")


def cluster(**overrides):
    """A Dask cluster for this lab: ``with occidata.cluster() as c, c.get_client() as client: ...``.

    In demo and server mode, a ``distributed.LocalCluster`` within the lab's own limits (see the
    module's note): workers are processes of the lab's account with its environment, listening on
    127.0.0.1 only, over TLS with credentials made for this cluster alone.

    Parameters
    ----------
    **overrides
        Less than the defaults, never more than the lab has: ``n_workers`` (default: the lab's
        CPUs), ``threads_per_worker`` (1), ``memory_limit`` per worker (bytes or "2 GiB"; default:
        three quarters of the lab's memory shared between the workers), ``processes`` (True).

    Raises
    ------
    ValueError
        An unknown option, or one beyond the lab's CPUs or memory; the message names it.
    ImportError
        Dask distributed is not installed (``pip install distributed``).
    occidata.modes.ModeUnavailable
        The platform's mode cannot give Dask workers in this release (slurm, kubernetes).
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


def _local_cluster(overrides: dict):
    """A LocalCluster sized by the lab's CPUs and memory (:func:`occidata.lab.resources.lab_limits`)."""
    unknown = sorted(set(overrides) - set(LOCAL_OPTIONS))
    if unknown:
        raise ValueError(f"occidata.cluster({', '.join(unknown)}=...) : option inconnue, les options sont "
                         f"{', '.join(LOCAL_OPTIONS)} / unknown option, the options are {', '.join(LOCAL_OPTIONS)}")
    try:
        import dask
        from dask.utils import format_bytes, parse_bytes
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
        try:
            per_worker = parse_bytes(overrides["memory_limit"])
        except (TypeError, ValueError):
            raise ValueError(f"occidata.cluster(memory_limit={overrides['memory_limit']!r}) : une taille comme "
                             f"\"2 GiB\" est attendue / a size like \"2 GiB\" is expected") from None
        if per_worker < 1 or per_worker * workers > memory:
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


# How each Mode.dask_workers makes its cluster; slurm mode adds "slurm" (dask-jobqueue) here.
_MAKERS = {"local": _local_cluster}
