"""The platform's own Prometheus metrics: every name, type, label and meaning is defined here.

Each process exposes its own: the data, reports and dashboards services serve their registry at
``<prefix>metrics`` (:class:`occidata.hub.service_app.MetricsHandler`), the hub registers its
spawn metrics in prometheus_client's default registry, which JupyterHub serves at
``/hub/metrics`` beside its own ``jupyterhub_*`` metrics. Every endpoint asks for a token whose
scopes include ``read:metrics``, as JupyterHub does (the hub service ``prometheus`` holds one).

Counters count from the process's start: a restarted service starts again at 0, which
Prometheus's ``rate()`` and ``increase()`` treat as a reset. The history of reads and denials is
the audit log (``occidata audit query``), not these counters.

README.md ("Métriques / Metrics") documents them; :data:`METRICS` is what it must list.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

METRICS_SCOPE = "read:metrics"  # the JupyterHub scope of /hub/metrics, asked by ours too

# name (as Prometheus shows it), type, labels, meaning — the reference the README documents.
METRICS = (
    ("occidata_dataset_reads_total", "counter", ("dataset", "level"),
     "non-public reads served by the data service (audited 'read' events); level: partner or restricted"),
    ("occidata_access_denials_total", "counter", ("dataset", "level"),
     "reads refused by the data service (audited 'access_denied' events); level: the entry's access"),
    ("occidata_report_runs_total", "counter", ("report", "status"),
     "scheduled report runs (each attempt) by the reports service; status: ok or failed"),
    ("occidata_dashboard_kernels", "gauge", ("kind",),
     "live kernels of the public dashboards; kind: visitors or preheated"),
    ("occidata_snapshots_served_total", "counter", ("dashboard", "reason"),
     "saved pages of a dashboard served; reason: busy (the live page was full) or static (its static address)"),
    ("occidata_spawns_total", "counter", ("profile", "status"),
     "lab servers started by the hub; status: ok (ready and routed) or failed"),
    ("occidata_spawn_duration_seconds", "histogram", ("profile",),
     "seconds from the spawner's start (pre_spawn_hook) to the lab being ready, successful spawns only"),
)
SPAWN_BUCKETS = (1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600, float("inf"))


def _help(name: str) -> str:
    return next(meaning for full, _kind, _labels, meaning in METRICS if full == name)


def _counter(name: str, labels: tuple, registry) -> Counter:
    # prometheus_client adds the _total suffix itself.
    return Counter(name.removesuffix("_total"), _help(name), labels, registry=registry)


# --- data service -------------------------------------------------------------------------------


@dataclass
class DataServiceMetrics:
    """The data service's registry: reads and denials, per dataset and level."""

    registry: CollectorRegistry
    reads: Counter
    denials: Counter

    def audited(self, event: str, dataset: str | None, level: str | None) -> None:
        """Count an audit event the service recorded, if it is a read or a denial."""
        counter = {"read": self.reads, "access_denied": self.denials}.get(event)
        if counter is not None:
            counter.labels(dataset=dataset or "", level=level or "").inc()


def data_service_metrics() -> DataServiceMetrics:
    """A fresh registry for one data service application."""
    registry = CollectorRegistry()
    return DataServiceMetrics(registry, _counter("occidata_dataset_reads_total", ("dataset", "level"), registry),
                              _counter("occidata_access_denials_total", ("dataset", "level"), registry))


# --- reports service ----------------------------------------------------------------------------


@dataclass
class ReportMetrics:
    """The reports service's registry: runs per report and status."""

    registry: CollectorRegistry
    runs: Counter


def report_metrics() -> ReportMetrics:
    """A fresh registry for one reports service."""
    registry = CollectorRegistry()
    return ReportMetrics(registry, _counter("occidata_report_runs_total", ("report", "status"), registry))


def counted_runs(run: Callable, metrics: ReportMetrics) -> Callable:
    """``run`` (a :func:`occidata.reports.runner.run_report`-like callable) counting each run it makes:
    ``ok`` when it returns a record whose status is ok, ``failed`` when it returns another or raises."""

    def counted(notebook, parameters, **options):
        report = Path(str(notebook)).stem
        try:
            record = run(notebook, parameters, **options)
        except Exception:
            metrics.runs.labels(report=report, status="failed").inc()
            raise
        status = "ok" if getattr(record, "status", None) == "ok" else "failed"
        metrics.runs.labels(report=getattr(record, "name", None) or report, status=status).inc()
        return record

    return counted


# --- dashboards service -------------------------------------------------------------------------


class DashboardKernels:
    """A collector: the dashboards' live kernels as the service counts them at each scrape."""

    def __init__(self, counts: Callable[[], dict | None]):
        self.counts = counts

    def collect(self):
        counts = self.counts()
        if not counts:
            return  # Voilà not started yet: no value rather than a false zero
        family = GaugeMetricFamily("occidata_dashboard_kernels", _help("occidata_dashboard_kernels"), labels=["kind"])
        for kind in ("visitors", "preheated"):
            family.add_metric([kind], counts[kind])
        yield family


@dataclass
class DashboardMetrics:
    """The dashboards service's registry: kernels (read at each scrape) and snapshots served."""

    registry: CollectorRegistry
    snapshots: Counter

    def served(self, dashboard: str, busy: bool) -> None:
        """Count a saved page of ``dashboard`` served (``busy``: instead of the full live page)."""
        self.snapshots.labels(dashboard=dashboard, reason="busy" if busy else "static").inc()


def dashboard_metrics(kernel_counts: Callable[[], dict | None]) -> DashboardMetrics:
    """A fresh registry for one dashboards service; ``kernel_counts`` gives ``visitors`` and ``preheated``."""
    registry = CollectorRegistry()
    registry.register(DashboardKernels(kernel_counts))
    return DashboardMetrics(registry,
                            _counter("occidata_snapshots_served_total", ("dashboard", "reason"), registry))


# --- the hub ------------------------------------------------------------------------------------

# Made once per process, unregistered: hub_spawn_metrics() puts them in the registry /hub/metrics serves.
SPAWNS = _counter("occidata_spawns_total", ("profile", "status"), None)
SPAWN_DURATION = Histogram("occidata_spawn_duration_seconds", _help("occidata_spawn_duration_seconds"), ("profile",),
                           buckets=SPAWN_BUCKETS, registry=None)
_in_hub_registry: list = []


def hub_spawn_metrics() -> tuple[Counter, Histogram]:
    """The spawn counter and histogram, registered (once per process) in the registry JupyterHub
    serves at ``/hub/metrics`` (prometheus_client's default one)."""
    if not _in_hub_registry:
        REGISTRY.register(SPAWNS)
        REGISTRY.register(SPAWN_DURATION)
        _in_hub_registry.append(True)
    return SPAWNS, SPAWN_DURATION
