"""French-first hub pages: our templates first, and the variables they use."""

from __future__ import annotations

from pathlib import Path


def update_templates(c, cfg: dict, root: Path) -> None:
    c.JupyterHub.template_paths = [str(root / "hub" / "templates")]
    c.JupyterHub.template_vars = {
        "lab_name": cfg["lab_name"],
        "dashboards_url": cfg["hub"]["dashboards_url"],
        "native_auth": cfg["auth"]["type"] == "native",
    }
