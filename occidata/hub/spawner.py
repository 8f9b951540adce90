"""Spawner per mode, with the CPU/GPU profiles and the per-user environment."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tornado import web

from ..addresses import PUBLIC_URL_ENV, public_url
from ..catalog.spec import CATALOG_PATH
from ..config import ConfigError
from ..lab import CONFIG_DIR as LAB_CONFIG_DIR
from ..lab.curated import curated_repository, git_environment
from ..modes import ModeUnavailable, mode_of
from ..state import StatePaths
from .lab_accounts import lab_home_root
from .profiles import (
    available_profiles,
    gpu_available,
    profile_environment,
    read_profiles,
    render_options_form,
    unavailable_profile,
    resolve_profile,
)

# Labs as system accounts of their own, whatever the mode (occidata.modes).
SYSTEM_USER_SPAWNER = "occidata.hub.system_users.SystemUserSpawner"


def profiles_path(cfg: dict, root: Path) -> Path:
    return Path(cfg["spawner"]["profiles_file"] or root / "hub" / "profiles.yaml")


def lab_environment(cfg: dict, env_bin: Path) -> dict:
    """What a lab needs to be a home (occidata.lab): its extension, the curated notebooks'
    repository, the catalogue file for plain Intake, the platform's pages to link to, and the
    environment's commands (``occidata``, ``python``) first on the PATH."""
    repository = curated_repository(cfg["state_dir"])
    services = [name for name, on in (("catalogue", cfg.get("catalogue_pages", {}).get("enabled", False)),
                                      ("dashboards", cfg["dashboards"]["enabled"]),
                                      ("reports", cfg["reports"]["enabled"])) if on]
    return {
        "JUPYTER_CONFIG_PATH": str(LAB_CONFIG_DIR),
        "OCCIDATA_CURATED_REPO": str(repository),
        **git_environment(repository),
        "OCCIDATA_CATALOG": str(CATALOG_PATH),
        "OCCIDATA_LAB_SERVICES": ",".join(services),
        "OCCIDATA_ENV_BIN": str(env_bin),
        "PATH": os.pathsep.join([str(env_bin), "/usr/local/bin", "/usr/bin", "/bin"]),
    }


def update_spawner(c, cfg: dict, root: Path) -> None:
    """Set the spawner of the configured mode and attach the profiles."""
    mode = mode_of(cfg)
    try:
        mode.check_available()
    except ModeUnavailable as unavailable:
        raise ConfigError(str(unavailable)) from None
    spawner = cfg["spawner"]
    state = StatePaths(Path(cfg["state_dir"]))
    system_users = mode.labs_as_system_users()
    c.JupyterHub.spawner_class = SYSTEM_USER_SPAWNER if system_users else mode.spawner
    c.JupyterHub.concurrent_spawn_limit = cfg["hub"]["concurrent_spawn_limit"]
    c.SimpleLocalProcessSpawner.home_dir_template = str(state.homes / "{username}")
    c.SystemUserSpawner.user_prefix = cfg["server"]["user_prefix"]
    c.SystemUserSpawner.home_root = lab_home_root(cfg)
    # The hub may run without its virtual environment on PATH: start the servers from it.
    c.Spawner.cmd = [str(Path(sys.executable).parent / "jupyterhub-singleuser")]
    if system_users:
        # Researchers' accounts run a Python they can read (see occidata.hub.isolation).
        from .isolation import server_python, server_python_environment

        c.Spawner.cmd = [server_python(cfg), "-m", "jupyterhub.singleuser"]
    # The lab's catalogue (occidata.catalog and plain intake) finds the data through these.
    c.Spawner.environment = {"OCCIDATA_DATA_DIR": cfg["data_dir"], "OCCIDATA_STATE_DIR": cfg["state_dir"],
                             "OCCIDATA_MODE": mode.name, PUBLIC_URL_ENV: public_url(cfg, {})}
    if system_users:
        c.Spawner.environment = {**c.Spawner.environment, **server_python_environment()}
    c.Spawner.environment = {**c.Spawner.environment, **lab_environment(cfg, Path(c.Spawner.cmd[0]).parent)}
    c.Spawner.default_url = spawner["default_url"]
    c.Spawner.start_timeout = cfg["hub"]["start_timeout"]
    c.Spawner.http_timeout = cfg["hub"]["start_timeout"]
    if spawner["cpu_limit"] is not None:
        c.Spawner.cpu_limit = spawner["cpu_limit"]
    if spawner["mem_limit"] is not None:
        c.Spawner.mem_limit = spawner["mem_limit"]
    # No lab ever runs as root: started by root, every mode runs labs as system accounts.
    c.Spawner.args = []

    profiles = available_profiles(
        read_profiles(profiles_path(cfg, root)), gpu_available(cfg["gpu"]["enabled"])
    )
    devices = cfg["gpu"]["devices"]
    def options_form(spawner_instance) -> str:
        # The choice of the last start is remembered (user_options); when its profile is gone,
        # the form shows, so the researcher can choose again instead of meeting a refusal.
        return render_options_form(profiles, unavailable_profile(profiles, spawner_instance.user_options))

    c.Spawner.options_form = options_form
    c.Spawner.options_from_form = "simple"
    profile_keys = {key for p in profiles for key in p.env}

    def apply_profile(spawner_instance, user_options: dict) -> None:
        # user_options may come straight from the REST API: resolve_profile refuses
        # any slug this hub does not offer, so a CPU-only hub never hands out a GPU.
        try:
            profile = resolve_profile(profiles, user_options)
        except ValueError as exc:
            raise web.HTTPError(400, str(exc)) from None
        # Drop what another profile set at an earlier start of this same Spawner object.
        kept = {k: v for k, v in spawner_instance.environment.items() if k not in profile_keys}
        spawner_instance.environment = {**kept, **profile_environment(profile, devices)}
        # JupyterHub keeps the Spawner object across stop/start of a server, so args still
        # hold the previous start's kernel flag; Jupyter Server refuses a repeated flag.
        kernel_flag = "--MappingKernelManager.default_kernel_name="
        spawner_instance.args = [
            *(arg for arg in spawner_instance.args if not arg.startswith(kernel_flag)),
            f"{kernel_flag}{profile.kernel}",
        ]
        spawner_instance.log.info("Spawning %s with profile %s", spawner_instance.user.name, profile.slug)

    c.Spawner.apply_user_options = apply_profile
