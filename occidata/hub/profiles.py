"""Server profiles (CPU, GPU) from hub/profiles.yaml, offered on the spawn page.

The profiles work with any spawner through JupyterHub's hooks (``options_form``,
``options_from_form``, ``pre_spawn_hook``), so demo and server mode share them; the
kubernetes mode maps the same file onto KubeSpawner's ``profile_list``.
"""

from __future__ import annotations

import html
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..config import ConfigError

from ..slurm.requests import RequestError, SlurmRequest, read_request

_KEYS = {"slug", "display_name", "description", "kernel", "kernels", "gpu", "default", "env", "slurm", "groups"}


@dataclass(frozen=True)
class Profile:
    """One choice on the spawn page."""

    slug: str
    display_name: str
    description: str
    kernel: str
    gpu: bool = False
    default: bool = False
    env: dict = field(default_factory=dict)
    # Every kernel its lab offers, the default (``kernel``) first; others are hidden.
    kernels: tuple[str, ...] = ()
    # What a lab of this profile asks Slurm for (slurm mode; occidata.slurm.requests).
    slurm: SlurmRequest | None = None
    # The hub groups that may start it; empty: everyone (e.g. GPU profiles for group 'gpu' only).
    groups: tuple[str, ...] = ()

    def allows(self, user_groups) -> bool:
        """Whether a user of these hub groups may start a server of this profile."""
        return not self.groups or bool(set(self.groups) & set(user_groups))

    def offered_kernels(self) -> tuple[str, ...]:
        """The kernels a server of this profile offers, its default first."""
        return tuple(dict.fromkeys((self.kernel, *self.kernels)))


def read_profiles(path: str | Path) -> list[Profile]:
    """Parse and check a profiles file; errors name the file and the profile."""
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"profiles file {path} does not exist (spawner.profiles_file)") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"cannot parse profiles file {path}: {exc}") from None
    entries = document.get("profiles") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path} must have a non-empty 'profiles' list")
    profiles = []
    for index, entry in enumerate(entries):
        where = f"{path}, profiles[{index}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: each profile is a mapping")
        unknown = sorted(set(entry) - _KEYS)
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(_KEYS))}")
        missing = [key for key in ("slug", "display_name", "kernel") if not entry.get(key)]
        if missing:
            raise ConfigError(f"{where}: missing {', '.join(missing)}")
        kernels = entry.get("kernels") or []
        if not isinstance(kernels, list) or not all(isinstance(name, str) and name for name in kernels):
            raise ConfigError(f"{where}, kernels: a list of kernel names, e.g. [occidata-gpu, occidata-cpu]")
        groups = entry.get("groups") or []
        if not isinstance(groups, list) or not all(isinstance(name, str) and name for name in groups):
            raise ConfigError(f"{where}, groups: a list of hub group names, e.g. [gpu]")
        try:
            slurm = read_request(entry["slurm"], where) if entry.get("slurm") is not None else None
        except RequestError as error:
            raise ConfigError(str(error)) from None
        profiles.append(
            Profile(
                slug=str(entry["slug"]),
                display_name=str(entry["display_name"]),
                description=str(entry.get("description", "")),
                kernel=str(entry["kernel"]),
                gpu=bool(entry.get("gpu", False)),
                default=bool(entry.get("default", False)),
                env={str(k): str(v) for k, v in (entry.get("env") or {}).items()},
                kernels=tuple(kernels),
                slurm=slurm,
                groups=tuple(groups),
            )
        )
    slugs = [p.slug for p in profiles]
    if len(set(slugs)) != len(slugs):
        raise ConfigError(f"{path}: profile slugs must be unique, got {slugs}")
    return profiles


def detect_gpu() -> bool:
    """True when an NVIDIA GPU is visible on this machine."""
    if Path("/dev/nvidia0").exists():
        return True
    smi = shutil.which("nvidia-smi")
    if not smi:
        return False
    try:
        listing = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return listing.returncode == 0 and "GPU" in listing.stdout


def gpu_available(setting) -> bool:
    """Resolve the ``gpu.enabled`` setting (``auto``, true or false)."""
    return detect_gpu() if setting == "auto" else bool(setting)


def available_profiles(profiles: list[Profile], has_gpu: bool) -> list[Profile]:
    """The profiles this machine can serve: GPU ones only where a GPU is."""
    usable = [p for p in profiles if has_gpu or not p.gpu]
    if not usable:
        raise ConfigError("no profile can run here: add a CPU profile to the profiles file")
    return usable


def default_profile(profiles: list[Profile]) -> Profile:
    """The profile marked default, the GPU one where there is one, else the first."""
    marked = [p for p in profiles if p.default]
    gpu = [p for p in profiles if p.gpu]
    return (marked or gpu or profiles)[0]


def unavailable_profile(profiles: list[Profile], user_options: dict | None) -> str | None:
    """The slug ``user_options`` name when this hub no longer offers it (a GPU gone, a profile
    renamed), else None."""
    slug = (user_options or {}).get("profile")
    return slug if slug and slug not in {p.slug for p in profiles} else None


def render_options_form(profiles: list[Profile], gone: str | None = None, *, notes: dict | None = None,
                        refused: dict | None = None, wall_time: bool = False) -> str:
    """The spawn page's radio buttons; empty (no form) when there is nothing to choose, unless
    the profile of the last start (``gone``) is no longer offered: then the form says so and
    offers what is left, even a single profile (the remembered choice would be refused at
    every start, with no way to choose another).

    ``notes``: a French line per slug under its description (what a Slurm job gives, whether it
    can start now). ``refused``: slug -> why this researcher may not start it (shown, disabled).
    ``wall_time``: offer the « Durée » field (hours, within each profile's maximum).
    """
    notes, refused = notes or {}, refused or {}
    if len(profiles) < 2 and not gone and not wall_time:
        return ""
    allowed = [p for p in profiles if p.slug not in refused] or profiles
    chosen = default_profile(allowed)
    rows = []
    if gone:
        rows.append(f'<p class="alert alert-warning" id="profile-gone">L\'environnement de votre dernier serveur, '
                    f'« {html.escape(gone)} », n\'est plus proposé sur ce hub : choisissez-en un autre.</p>')
    for p in profiles:
        slug = html.escape(p.slug)
        checked = " checked" if p is chosen else ""
        disabled = " disabled" if p.slug in refused else ""
        extra = "".join(f'<br><span class="profile-note" id="profile-{slug}-{kind}">{html.escape(text)}</span>'
                        for kind, text in (("note", notes.get(p.slug)), ("refused", refused.get(p.slug))) if text)
        rows.append(
            f'<div class="form-check mb-2">'
            f'<input class="form-check-input" type="radio" name="profile" id="profile-{slug}" '
            f'value="{slug}"{checked}{disabled}>'
            f'<label class="form-check-label" for="profile-{slug}">'
            f"<strong>{html.escape(p.display_name)}</strong><br>"
            f'<span class="text-muted">{html.escape(p.description)}</span>{extra}</label></div>'
        )
    if wall_time:
        rows.append('<div class="mb-2"><label class="form-label" for="hours">Durée du serveur (heures ; vide : la '
                    'durée par défaut de l\'environnement)</label><input class="form-control" type="number" '
                    'id="hours" name="hours" min="0.25" step="0.25" inputmode="decimal"></div>')
    return '<fieldset><legend>Environnement de calcul</legend>' + "".join(rows) + "</fieldset>"


def resolve_profile(profiles: list[Profile], user_options: dict | None) -> Profile:
    """The profile a spawn asked for; unknown or unavailable slugs are refused."""
    slug = (user_options or {}).get("profile")
    if not slug:
        return default_profile(profiles)
    for p in profiles:
        if p.slug == slug:
            return p
    offered = ", ".join(p.slug for p in profiles)
    raise ValueError(f"l'environnement '{slug}' n'est pas proposé sur ce hub (proposés : {offered}) ; "
                     "choisissez-en un sur la page de démarrage")


def profile_environment(profile: Profile, gpu_devices: str) -> dict:
    """Environment variables a server of this profile starts with."""
    env = {"OCCIDATA_PROFILE": profile.slug, "OCCIDATA_DEFAULT_KERNEL": profile.kernel,
           "OCCIDATA_KERNELS": ",".join(profile.offered_kernels())}
    # CPU servers see no GPU, so a CPU session cannot hold a device others queue for.
    env["CUDA_VISIBLE_DEVICES"] = gpu_devices if profile.gpu else ""
    env.update(profile.env)
    return env
