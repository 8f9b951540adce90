"""Prometheus and the platform: the hub service it scrapes with, and where it scrapes.

The hub service ``prometheus`` has no URL and no command: it is an API token (made at the hub's
first start in ``<state_dir>/secrets/prometheus-token``, 0600) whose role holds ``read:metrics``
and nothing else. JupyterHub asks that scope at ``/hub/metrics``; the platform's services ask it
at their own ``<prefix>metrics`` (:class:`occidata.hub.service_app.MetricsHandler`).

:func:`scrape_config` is the Prometheus configuration (``occidata metrics scrape-config``): one job
for the hub and one for each enabled service that serves metrics, all through the hub's proxy on
its loopback (or configured) address, with that token as a Bearer credential read from a file.
"""

from __future__ import annotations

from pathlib import Path

from ..metrics import METRICS_SCOPE
from ..state import StatePaths, ensure_secret

SERVICE_NAME = "prometheus"
# The platform's services that serve <prefix>metrics, and the configuration section that enables each.
SCRAPED_SERVICES = {"data": "data_service", "reports": "reports", "dashboards": "dashboards"}


def prometheus_token(cfg: dict) -> str:
    """The ``prometheus`` service's token, made (0600, in the state's secrets) on first use."""
    state = StatePaths(Path(cfg["state_dir"]))
    state.secrets.mkdir(mode=0o700, parents=True, exist_ok=True)
    return ensure_secret(state.prometheus_token)


def prometheus_service(cfg: dict) -> tuple[dict, dict]:
    """The API-only hub service Prometheus scrapes with, and its role: ``read:metrics`` only."""
    service = {"name": SERVICE_NAME, "api_token": prometheus_token(cfg), "display": False}
    role = {"name": SERVICE_NAME, "description": "Prometheus: reads the hub's and the services' metrics",
            "scopes": [METRICS_SCOPE], "services": [SERVICE_NAME]}
    return service, role


def hub_address(cfg: dict) -> str:
    """``host:port`` where the hub's proxy listens, as seen from the hub's own machine."""
    hub = cfg["hub"]
    host = hub["ip"] if hub["ip"] not in ("", "0.0.0.0", "::") else "127.0.0.1"
    return f"[{host}]:{hub['port']}" if ":" in host else f"{host}:{hub['port']}"


def scrape_config(cfg: dict, token_file: str | Path | None = None, interval: int = 15) -> dict:
    """A Prometheus configuration scraping ``/hub/metrics`` and every enabled service's ``metrics``.

    ``token_file`` is where Prometheus reads the token (default: the state's secret file; a
    Prometheus running as another account needs a copy it may read). ``interval`` in seconds.
    """
    token_file = str(token_file or StatePaths(Path(cfg["state_dir"])).prometheus_token)
    base = "/" + cfg["hub"]["base_url"].strip("/")
    base = base.rstrip("/") + "/"
    jobs = [("jupyterhub", f"{base}hub/metrics")]
    jobs += [(f"occidata-{name}", f"{base}services/{name}/metrics")
             for name, section in SCRAPED_SERVICES.items() if cfg[section]["enabled"]]
    return {
        "global": {"scrape_interval": f"{interval}s", "evaluation_interval": f"{interval}s"},
        "scrape_configs": [{
            "job_name": job,
            "metrics_path": path,
            "scheme": "http",
            "authorization": {"type": "Bearer", "credentials_file": token_file},
            "static_configs": [{"targets": [hub_address(cfg)], "labels": {"platform": cfg["lab_name"]}}],
        } for job, path in jobs],
    }
