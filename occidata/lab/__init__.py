"""The lab as a researcher's home: a Jupyter Server extension every lab server of the platform
loads (enabled by ``occidata/lab/jupyter-config``, which the spawner puts on ``JUPYTER_CONFIG_PATH``).

At its start, a lab server
- copies the curated notebooks into the home at the first start (:mod:`.curated`, nbgitpuller);
- offers only the kernels of its profile (``OCCIDATA_KERNELS``): no GPU kernel on a CPU server,
  no plain ``python3`` kernel beside ours;
- opens its terminals with the platform's environment first on the PATH (a login shell would
  reset it from /etc/profile), so ``occidata`` and ``python`` are found;
- writes, for this server alone, the launcher items and JupyterLab's default settings: French,
  the « Occitanie Data » menu, and what the server got in the top bar (:mod:`.shortcuts`,
  :mod:`.resources`).

Settings and launcher files are made when the extension is *linked*, before any extension is
loaded: JupyterLab reads its default settings once, when it is loaded.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import yaml
from traitlets.config import Config

from .curated import FOLDER, README, first_copy, update_available, update_url
from .resources import server_resources
from .shortcuts import lab_settings, launcher_items, service_links

CONFIG_DIR = Path(__file__).resolve().parent / "jupyter-config"
TERMINAL_RC = Path(__file__).resolve().parent / "terminal.rc"


def _jupyter_server_extension_points():
    return [{"module": "occidata.lab"}]


def _listed(name: str) -> list[str]:
    return [part for part in os.environ.get(name, "").split(",") if part]


def _open_first(path: str) -> None:
    """Make the lab's first page show ``path`` rendered, beside the file browser in its folder:
    JupyterLab's default workspace, which the lab restores when it opens (the server's default
    URL is JupyterHub's to set)."""
    from jupyterlab.commands import get_workspaces_dir
    from jupyterlab_server.workspaces_handler import WorkspacesManager

    widget = f"markdownviewer-widget:{path}"
    workspace = {
        "data": {
            "layout-restorer:data": {"main": {"dock": {"type": "tab-area", "currentIndex": 0, "widgets": [widget]},
                                              "current": widget},
                                     "left": {"collapsed": False, "visible": True, "current": "filebrowser"}},
            widget: {"data": {"path": path, "factory": "Markdown Preview"}},
            "file-browser-filebrowser:cwd": {"path": str(Path(path).parent)},
        },
        "metadata": {"id": "default"},
    }
    WorkspacesManager(get_workspaces_dir()).save("default", json.dumps(workspace))


def _link_jupyter_server_extension(serverapp) -> None:
    log = serverapp.log
    kernels = _listed("OCCIDATA_KERNELS")
    settings = {}
    if kernels:
        settings["KernelSpecManager"] = {"allowed_kernelspecs": set(kernels)}
        settings["MappingKernelManager"] = {"default_kernel_name": kernels[0]}
    if Path("/bin/bash").exists():
        # An interactive, non-login bash that reads /etc/profile then puts the platform first.
        settings["ServerApp"] = {"terminado_settings": {
            **serverapp.terminado_settings, "shell_command": ["/bin/bash", "--rcfile", str(TERMINAL_RC), "-i"]}}
    os.environ.setdefault("OCCIDATA_ENV_BIN", str(Path(sys.executable).parent))
    serverapp.update_config(Config(settings))

    home = Path(serverapp.root_dir).expanduser()
    repository = os.environ.get("OCCIDATA_CURATED_REPO")
    readme = update = None
    newer = False
    if repository:
        try:
            if first_copy(repository, home):
                log.info("occidata: curated notebooks copied into %s", home)
                _open_first(f"{FOLDER}/{README}")
        except Exception as error:  # a lab without the copy is still a lab: say it, start anyway
            log.error("occidata: the curated notebooks could not be copied from %s: %s", repository, error)
        readme = home / FOLDER / README
        readme = readme if readme.exists() else None
        update = update_url(os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/"), repository)
        newer = update_available(repository, home)

    links = service_links(os.environ.get("JUPYTERHUB_BASE_URL", "/"), _listed("OCCIDATA_LAB_SERVICES"))
    runtime = Path(serverapp.runtime_dir)
    runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
    generated = Path(tempfile.mkdtemp(prefix="occidata-lab-", dir=runtime))
    (generated / "jp_app_launcher_occidata.yaml").write_text(
        yaml.safe_dump(launcher_items(links, readme, update, newer), allow_unicode=True), encoding="utf-8")
    (generated / "labconfig").mkdir()
    resources_line = server_resources().summary_fr()
    (generated / "labconfig" / "default_setting_overrides.json").write_text(
        json.dumps(lab_settings(links, resources_line, update), ensure_ascii=False), encoding="utf-8")
    os.environ["JUPYTER_APP_LAUNCHER_PATH"] = str(generated)
    os.environ["JUPYTER_CONFIG_PATH"] = os.pathsep.join(filter(None, [str(generated),
                                                                       os.environ.get("JUPYTER_CONFIG_PATH")]))
    log.info("occidata: %s; kernels %s", resources_line, ", ".join(kernels) or "all")


def _load_jupyter_server_extension(serverapp) -> None:
    """Everything is done at link time (see the module's docstring)."""
