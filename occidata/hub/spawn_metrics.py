"""Lab spawns counted by the hub: ``occidata_spawns_total`` and ``occidata_spawn_duration_seconds``
(:mod:`occidata.metrics`), per profile, served by JupyterHub at ``/hub/metrics``.

:func:`install_spawn_metrics` chains ``Spawner.pre_spawn_hook`` (it runs once the profile is
applied, just before ``Spawner.start``; a hook already set on ``c`` is kept and runs after the clock
starts). From there a task follows the spawn through the spawner's public ``pending`` and ``ready``:
when ``pending`` is no longer ``"spawn"``, the spawn is over — ``ok`` if the server is ready (started,
answering and routed by the proxy), else ``failed`` (the spawner, the hook or the proxy failed, or
the start timed out). A spawn refused before its start (a profile the user may not take) is not
counted here; JupyterHub's own ``jupyterhub_server_spawn_duration_seconds`` counts it.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time

from ..metrics import hub_spawn_metrics
from .usage_records import spawner_resources

log = logging.getLogger(__name__)

POLL_SECONDS = 0.25
_watching: set = set()  # the tasks following a spawn (asyncio keeps only weak references to tasks)


def spawn_profile(spawner) -> str:
    """The profile a spawn starts (``OCCIDATA_PROFILE``, set when the profile was applied)."""
    return spawner_resources(spawner)["profile"] or "default"


async def follow_spawn(spawner, profile: str, started: float, limit: float) -> str:
    """Wait for the spawn of ``spawner`` to end (at most ``limit`` seconds), count it and return its status."""
    counter, duration = hub_spawn_metrics()
    while spawner.pending == "spawn" and time.monotonic() - started < limit:
        await asyncio.sleep(POLL_SECONDS)
    status = "ok" if spawner.ready else "failed"
    counter.labels(profile=profile, status=status).inc()
    if status == "ok":
        duration.labels(profile=profile).observe(time.monotonic() - started)
    return status


def install_spawn_metrics(c) -> None:
    """Count every spawn and time the successful ones, keeping the ``pre_spawn_hook`` already set on ``c``."""
    hub_spawn_metrics()  # registered at the hub's start: /hub/metrics shows them before the first spawn
    before_start = c.Spawner.pre_spawn_hook if "pre_spawn_hook" in c.Spawner else None

    async def time_spawn(spawner) -> None:
        started = time.monotonic()
        # JupyterHub gives up after start_timeout, then http_timeout; a spawn still pending after both is failed.
        limit = float(spawner.start_timeout or 0) + float(spawner.http_timeout or 0) + 60
        task = asyncio.ensure_future(follow_spawn(spawner, spawn_profile(spawner), started, limit))
        _watching.add(task)
        task.add_done_callback(_watching.discard)
        if before_start is not None:
            result = before_start(spawner)
            if inspect.isawaitable(result):
                await result

    c.Spawner.pre_spawn_hook = time_spawn
