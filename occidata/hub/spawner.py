"""Spawner per mode, with the CPU/GPU profiles and the per-user environment."""

from __future__ import annotations

import asyncio
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
    c.JupyterHub.spawner_class = mode.spawner if mode.batch else SYSTEM_USER_SPAWNER if system_users else mode.spawner
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
    if mode.batch:
        update_slurm_spawner(c, cfg)
    c.Spawner.http_timeout = cfg["hub"]["start_timeout"]
    if spawner["cpu_limit"] is not None:
        c.Spawner.cpu_limit = spawner["cpu_limit"]
    if spawner["mem_limit"] is not None:
        c.Spawner.mem_limit = spawner["mem_limit"]
    # No lab ever runs as root: started by root, every mode runs labs as system accounts.
    c.Spawner.args = []

    # In slurm mode the GPUs are on the compute nodes: a profile's request says what it needs.
    profiles = available_profiles(
        read_profiles(profiles_path(cfg, root)), mode.batch or gpu_available(cfg["gpu"]["enabled"])
    )
    if mode.batch:
        check_slurm_requests(profiles, profiles_path(cfg, root))
        mirror_profile_groups(c, cfg, profiles, profiles_path(cfg, root))
    devices = cfg["gpu"]["devices"]
    async def options_form(spawner_instance) -> str:
        # The choice of the last start is remembered (user_options); when its profile is gone,
        # the form shows, so the researcher can choose again instead of meeting a refusal.
        groups = user_groups(spawner_instance)
        refused = {p.slug: f"Réservé aux groupes : {', '.join(p.groups)}." for p in profiles if not p.allows(groups)}
        notes = {}
        if mode.batch:
            from ..slurm.queue import partition_status

            # sinfo/squeue in a thread: a slow slurmctld must not stall the hub for everyone.
            for p in profiles:
                if p.slug not in refused:
                    status = await asyncio.to_thread(partition_status, cfg, p.slurm.partition, p.slurm.cpus,
                                                     p.slurm.gpus)
                    notes[p.slug] = f"{p.slurm.summary_fr()} — {status}"
        return render_options_form(profiles, unavailable_profile(profiles, spawner_instance.user_options),
                                   notes=notes, refused=refused, wall_time=mode.batch)

    c.Spawner.options_form = options_form
    c.Spawner.options_from_form = "simple"
    profile_keys = {key for p in profiles for key in p.env} | {"CUDA_VISIBLE_DEVICES"}

    def apply_profile(spawner_instance, user_options: dict) -> None:
        # user_options may come straight from the REST API: resolve_profile refuses
        # any slug this hub does not offer, so a CPU-only hub never hands out a GPU.
        try:
            profile = resolve_profile(profiles, user_options)
        except ValueError as exc:
            raise web.HTTPError(400, str(exc)) from None
        if not profile.allows(user_groups(spawner_instance)):
            raise web.HTTPError(403, f"l'environnement « {profile.slug} » est réservé aux groupes "
                                     f"{', '.join(profile.groups)} ; demandez à un administrateur de vous y ajouter")
        # Drop what another profile set at an earlier start of this same Spawner object.
        kept = {k: v for k, v in spawner_instance.environment.items() if k not in profile_keys}
        environment = profile_environment(profile, devices)
        if mode.batch:
            environment = {**environment, **slurm_start(spawner_instance, profile, user_options)}
            # Slurm gives the job its own GPUs (--gres) and says which in CUDA_VISIBLE_DEVICES.
            environment.pop("CUDA_VISIBLE_DEVICES", None)
        spawner_instance.environment = {**kept, **environment}
        # JupyterHub keeps the Spawner object across stop/start of a server, so args still
        # hold the previous start's kernel flag; Jupyter Server refuses a repeated flag.
        kernel_flag = "--MappingKernelManager.default_kernel_name="
        spawner_instance.args = [
            *(arg for arg in spawner_instance.args if not arg.startswith(kernel_flag)),
            f"{kernel_flag}{profile.kernel}",
        ]
        spawner_instance.log.info("Spawning %s with profile %s", spawner_instance.user.name, profile.slug)

    c.Spawner.apply_user_options = apply_profile


def user_groups(spawner_instance) -> list[str]:
    """The hub groups of the user a spawner starts a server for (none for a spawner without a user)."""
    return [group.name for group in getattr(getattr(spawner_instance, "user", None), "groups", [])]


def check_slurm_requests(profiles, path: Path) -> None:
    """Slurm mode needs every profile to say what its job asks Slurm for."""
    missing = [p.slug for p in profiles if p.slurm is None]
    if missing:
        raise ConfigError(f"{path}: mode slurm needs a 'slurm' request (partition, cpus, memory, time) in "
                          f"profile(s) {', '.join(missing)}; see deploy/slurm/README.md")


def mirror_profile_groups(c, cfg: dict, profiles, path: Path) -> None:
    """The hub groups that gate profiles become Unix groups the partitions' AllowGroups name
    (occidata.slurm.groups); refuse names Unix cannot have and a prefix that meets the accounts'."""
    from ..slurm.groups import check_group_names

    prefix, server = cfg["slurm"]["group_prefix"], cfg["server"]
    gating = sorted({group for p in profiles for group in p.groups})
    problems = check_group_names(prefix, gating)
    for key, value in server.items():
        if isinstance(value, str) and (key.endswith("_prefix") or key.endswith("_user")) and (
                value.startswith(prefix) or (key.endswith("_prefix") and prefix.startswith(value))):
            problems.append(f"slurm.group_prefix {prefix!r} meets server.{key} ({value!r}): a researcher's group could "
                            "be an account's own; choose prefixes that do not start one another")
    if problems:
        raise ConfigError(f"{path}: " + "; ".join(problems))
    c.OccidataSlurmSpawner.group_prefix = prefix
    c.OccidataSlurmSpawner.gating_groups = gating


def slurm_start(spawner_instance, profile, user_options: dict) -> dict:
    """Set this start's Slurm request on the spawner (from the profile and the wall time the
    researcher chose, within its maximum) and return the lab's variables that go with it."""
    import json

    from ..slurm.requests import WORKERS_ENV, RequestError, chosen_time, workers_limits

    try:
        minutes = chosen_time(profile.slurm, (user_options or {}).get("hours"))
    except RequestError as error:
        raise web.HTTPError(400, str(error)) from None
    spawner_instance.sbatch_options = profile.slurm.sbatch_options(minutes)
    spawner_instance.partition = profile.slurm.partition
    return {WORKERS_ENV: json.dumps(workers_limits(profile.slurm, minutes))}


def update_slurm_spawner(c, cfg: dict) -> None:
    """Slurm mode: the lab is a job of the researcher's account (occidata.hub.slurm_spawner)."""
    from . import slurm_spawner  # noqa: F401  (puts the lab port handler in place of batchspawner's)
    from .isolation import server_python

    slurm, server = cfg["slurm"], cfg["server"]
    bin_dir = Path(server_python(cfg)).parent
    for script in ("jupyterhub-singleuser", "batchspawner-singleuser"):
        if not (bin_dir / script).is_file():
            raise ConfigError(f"mode slurm: {bin_dir / script} is missing; server.python must be the Python of "
                              "an environment with occidata installed (pip install -e .), on every node")
    c.OccidataSlurmSpawner.user_prefix = server["user_prefix"]
    c.OccidataSlurmSpawner.home_root = server["home_dir"]
    c.OccidataSlurmSpawner.lab_ip = slurm["lab_ip"]
    c.OccidataSlurmSpawner.slurm_conf = slurm["conf"] or ""
    c.OccidataSlurmSpawner.startup_poll_interval = float(slurm["poll_interval"])
    c.OccidataSlurmSpawner.batchspawner_singleuser_cmd = str(bin_dir / "batchspawner-singleuser")
    c.Spawner.cmd = [str(bin_dir / "jupyterhub-singleuser")]
    # A lab may wait in Slurm's queue: the hub gives up (and cancels the job) only after this.
    c.Spawner.start_timeout = cfg["hub"]["start_timeout"] + slurm["pending_timeout"]
    c.JupyterHub.hub_connect_ip = slurm["connect_host"]
    # Labs are Slurm jobs: they outlive a hub restart, which finds them again through their job ids.
    c.JupyterHub.cleanup_servers = False
