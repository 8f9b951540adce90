"""occidata.hub.profiles: the CPU/GPU profiles file, the spawn form, and the spawner hook."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from tornado import web
from traitlets.config import Config

import occidata.hub
from occidata.hub.client import HubSession
from occidata.config import ConfigError, load_config
from occidata.hub.profiles import (
    Profile,
    available_profiles,
    default_profile,
    profile_environment,
    read_profiles,
    render_options_form,
    resolve_profile,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
PROFILES_FILE = REPO_ROOT / "hub" / "profiles.yaml"
KERNEL_FLAG = "--MappingKernelManager.default_kernel_name="

CPU = Profile(slug="cpu", display_name="CPU", description="Processeurs", kernel="occidata-cpu")
GPU = Profile(slug="gpu", display_name="GPU", description="Carte <NVIDIA>", kernel="occidata-gpu", gpu=True)


def write_profiles(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "profiles.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# --- the repository's profiles file -------------------------------------------------------


def test_repository_profiles_are_cpu_and_gpu():
    profiles = read_profiles(PROFILES_FILE)
    assert [p.slug for p in profiles] == ["cpu", "gpu"]
    cpu, gpu = profiles
    assert (cpu.kernel, cpu.gpu) == ("occidata-cpu", False)
    assert (gpu.kernel, gpu.gpu) == ("occidata-gpu", True)


def test_repository_profile_kernels_exist():
    for profile in read_profiles(PROFILES_FILE):
        assert (REPO_ROOT / "kernels" / profile.kernel).is_dir(), profile.kernel


# --- choosing profiles --------------------------------------------------------------------


def test_available_profiles_drop_gpu_without_a_gpu():
    assert available_profiles([CPU, GPU], has_gpu=False) == [CPU]
    assert available_profiles([CPU, GPU], has_gpu=True) == [CPU, GPU]


def test_available_profiles_refuse_a_gpu_only_list_without_a_gpu():
    with pytest.raises(ConfigError, match="CPU profile"):
        available_profiles([GPU], has_gpu=False)


def test_default_profile_prefers_gpu_where_offered():
    assert default_profile([CPU, GPU]) is GPU
    assert default_profile([CPU]) is CPU


def test_default_profile_honours_the_default_flag():
    marked = Profile(slug="big", display_name="Big", description="", kernel="k", default=True)
    assert default_profile([CPU, GPU, marked]) is marked


# --- the spawn form -----------------------------------------------------------------------


def test_no_form_with_a_single_profile():
    assert render_options_form([CPU]) == ""


def test_form_with_two_profiles_has_radios_and_a_french_legend():
    form = render_options_form([CPU, GPU])
    assert "<legend>Environnement de calcul</legend>" in form
    assert form.count('type="radio" name="profile"') == 2
    assert 'value="cpu"' in form
    assert 'value="gpu" checked' in form  # the GPU is the default where offered
    assert 'value="cpu" checked' not in form


def test_form_escapes_profile_text():
    form = render_options_form([CPU, GPU])
    assert "Carte &lt;NVIDIA&gt;" in form
    assert "<NVIDIA>" not in form


# --- resolving a spawn request ------------------------------------------------------------


def test_resolve_profile_by_slug_and_default():
    assert resolve_profile([CPU, GPU], {"profile": "cpu"}) is CPU
    assert resolve_profile([CPU, GPU], {}) is GPU
    assert resolve_profile([CPU], None) is CPU


def test_resolve_profile_refuses_an_unknown_slug():
    with pytest.raises(ValueError, match="'tpu'"):
        resolve_profile([CPU, GPU], {"profile": "tpu"})


def test_resolve_profile_refuses_gpu_on_a_cpu_only_hub():
    with pytest.raises(ValueError) as info:
        resolve_profile([CPU], {"profile": "gpu"})
    message = str(info.value)
    assert "'gpu'" in message
    assert "proposés : cpu" in message


# --- the server environment ---------------------------------------------------------------


def test_gpu_profile_environment():
    env = profile_environment(GPU, "0,1")
    assert env["CUDA_VISIBLE_DEVICES"] == "0,1"
    assert env["OCCIDATA_DEFAULT_KERNEL"] == "occidata-gpu"
    assert env["OCCIDATA_PROFILE"] == "gpu"


def test_cpu_profile_hides_the_gpus():
    env = profile_environment(CPU, "0")
    assert env["CUDA_VISIBLE_DEVICES"] == ""
    assert env["OCCIDATA_DEFAULT_KERNEL"] == "occidata-cpu"


def test_profile_env_is_added():
    profile = Profile(slug="p", display_name="P", description="", kernel="k", env={"OMP_NUM_THREADS": "4"})
    assert profile_environment(profile, "0")["OMP_NUM_THREADS"] == "4"


# --- bad profiles files -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "profiles:\n  - {slug: cpu, display_name: CPU, kernel: k, colour: red}\n",
            r"profiles\[0\]: unknown key\(s\) colour",
        ),
        (
            "profiles:\n  - {slug: cpu, display_name: CPU, kernel: k}\n  - {slug: gpu, display_name: GPU}\n",
            r"profiles\[1\]: missing kernel",
        ),
        ("profiles:\n  - just-a-name\n", r"profiles\[0\]: each profile is a mapping"),
        (
            "profiles:\n"
            "  - {slug: a, display_name: A, kernel: k}\n"
            "  - {slug: a, display_name: B, kernel: k}\n",
            "slugs must be unique",
        ),
        ("profiles:\n  slug: cpu\n", "non-empty 'profiles' list"),
        ("- {slug: cpu, display_name: CPU, kernel: k}\n", "non-empty 'profiles' list"),
        ("profiles: []\n", "non-empty 'profiles' list"),
        ("", "non-empty 'profiles' list"),
        ("profiles: [\n", "cannot parse"),
    ],
)
def test_bad_profiles_file_names_the_file_and_the_problem(tmp_path, text, expected):
    path = write_profiles(tmp_path, text)
    with pytest.raises(ConfigError, match=expected) as info:
        read_profiles(path)
    assert str(path) in str(info.value)


def test_missing_profiles_file(tmp_path):
    missing = tmp_path / "none.yaml"
    with pytest.raises(ConfigError, match="spawner.profiles_file") as info:
        read_profiles(missing)
    assert str(missing) in str(info.value)


def test_bad_profiles_file_stops_apply(tmp_path):
    path = write_profiles(tmp_path, "profiles:\n  - {slug: cpu}\n")
    cfg = load_config(
        {"OCCIDATA_STATE_DIR": str(tmp_path / "state"), "OCCIDATA_SPAWNER__PROFILES_FILE": str(path)}
    )
    with pytest.raises(ConfigError, match=r"profiles\[0\]: missing display_name, kernel"):
        occidata.hub.apply(Config(), cfg, root=REPO_ROOT)


# --- the spawner hook set by apply() ------------------------------------------------------


def configured(tmp_path: Path, gpu: str) -> Config:
    cfg = load_config(
        {
            "OCCIDATA_STATE_DIR": str(tmp_path / "state"),
            "OCCIDATA_GPU__ENABLED": gpu,
            "OCCIDATA_GPU__DEVICES": "0",
        }
    )
    c = Config()
    occidata.hub.apply(c, cfg, root=REPO_ROOT)
    return c


def fake_spawner(args=None) -> SimpleNamespace:
    return SimpleNamespace(
        environment={"KEEP": "me"},
        args=list(args or []),
        user=SimpleNamespace(name="x"),
        log=logging.getLogger("test"),
    )


def kernel_flags(args: list[str]) -> list[str]:
    return [arg for arg in args if arg.startswith(KERNEL_FLAG)]


def test_gpu_hub_offers_a_form_and_applies_the_gpu_profile(tmp_path):
    c = configured(tmp_path, "true")
    assert 'value="gpu"' in asyncio.run(c.Spawner.options_form(SimpleNamespace(user_options={})))
    assert c.Spawner.options_from_form == "simple"
    hook = c.Spawner.apply_user_options
    assert callable(hook)

    spawner = fake_spawner(["--allow-root"])
    hook(spawner, {"profile": "gpu"})
    assert spawner.environment["CUDA_VISIBLE_DEVICES"] == "0"
    assert spawner.environment["OCCIDATA_DEFAULT_KERNEL"] == "occidata-gpu"
    assert spawner.environment["KEEP"] == "me"
    assert spawner.args == ["--allow-root", f"{KERNEL_FLAG}occidata-gpu"]


def test_gpu_hub_defaults_to_gpu_and_can_run_cpu(tmp_path):
    hook = configured(tmp_path, "true").Spawner.apply_user_options
    default = fake_spawner()
    hook(default, {})
    assert default.environment["CUDA_VISIBLE_DEVICES"] == "0"

    cpu = fake_spawner()
    hook(cpu, {"profile": "cpu"})
    assert cpu.environment["CUDA_VISIBLE_DEVICES"] == ""
    assert kernel_flags(cpu.args) == [f"{KERNEL_FLAG}occidata-cpu"]


def test_cpu_hub_has_no_form_and_refuses_gpu_with_400(tmp_path):
    c = configured(tmp_path, "false")
    assert asyncio.run(c.Spawner.options_form(SimpleNamespace(user_options={}))) == ""
    assert asyncio.run(c.Spawner.options_form(SimpleNamespace(user_options={"profile": "cpu"}))) == ""
    # The last server's profile is gone: the form shows, with the one left and why.
    form = asyncio.run(c.Spawner.options_form(SimpleNamespace(user_options={"profile": "gpu"})))
    assert 'id="profile-gone"' in form and "« gpu »" in form and 'value="cpu"' in form
    hook = c.Spawner.apply_user_options

    spawner = fake_spawner()
    with pytest.raises(web.HTTPError) as info:
        hook(spawner, {"profile": "gpu"})
    assert info.value.status_code == 400
    assert "gpu" in info.value.log_message
    assert "CUDA_VISIBLE_DEVICES" not in spawner.environment

    hook(spawner, {})
    assert spawner.environment["CUDA_VISIBLE_DEVICES"] == ""
    assert kernel_flags(spawner.args) == [f"{KERNEL_FLAG}occidata-cpu"]


def test_restarting_a_server_keeps_one_kernel_flag(tmp_path):
    """JupyterHub reuses the Spawner object when a stopped server starts again, and Jupyter
    Server refuses a repeated --MappingKernelManager.default_kernel_name."""
    hook = configured(tmp_path, "true").Spawner.apply_user_options
    spawner = fake_spawner(["--allow-root"])
    hook(spawner, {"profile": "cpu"})
    hook(spawner, {"profile": "gpu"})
    hook(spawner, {"profile": "gpu"})
    assert spawner.args == ["--allow-root", f"{KERNEL_FLAG}occidata-gpu"]
    assert spawner.environment["CUDA_VISIBLE_DEVICES"] == "0"


def test_hook_on_a_real_spawner_across_restarts(tmp_path):
    from jupyterhub.spawner import SimpleLocalProcessSpawner

    c = configured(tmp_path, "true")
    spawner = SimpleLocalProcessSpawner(config=c, user=SimpleNamespace(name="x", url="/user/x/"))
    asyncio.run(spawner._run_apply_user_options({"profile": "cpu"}))
    asyncio.run(spawner._run_apply_user_options({"profile": "gpu"}))
    assert kernel_flags(spawner.get_args()) == [f"{KERNEL_FLAG}occidata-gpu"]
    assert spawner.environment["CUDA_VISIBLE_DEVICES"] == "0"


@pytest.mark.hub
def test_a_researcher_whose_profile_is_gone_chooses_again_instead_of_being_locked_out(tmp_path):
    """Their last server ran on the GPU; the GPU is gone. Before, every start answered an English
    400 page whose link led back to it, and with one profile left there was no form at all."""
    from conftest import RunningHub, start_hub

    from occidata.platform import LocalHub

    local, token = start_hub(tmp_path, GPU__ENABLED="true", GPU__DEVICES="0")
    hub = RunningHub(local, token)
    try:
        admin = hub.service()
        admin.username = hub.admin_name
        admin.start_server({"profile": "gpu"})
        admin.stop_server()
    finally:
        local.stop()
    # The same hub, its database and its researcher, on a machine without its GPU.
    again = LocalHub(local.state_dir, settings={**local.settings, "GPU__ENABLED": "false"})
    again.start()
    try:
        researcher = HubSession(again.url)
        assert researcher.login(hub.admin_name, hub.admin_password)
        page = researcher.http.get(again.url + "hub/spawn", timeout=60)
        assert page.status_code == 200, page.text[:300]
        assert 'id="profile-gone"' in page.text and "n'est plus proposé" in page.text
        xsrf = researcher.http.cookies.get("_xsrf", "")
        started = researcher.http.post(again.url + "hub/spawn", data={"profile": "cpu", "_xsrf": xsrf}, timeout=120)
        assert started.status_code == 200, started.text[:300]
        server = HubSession(again.url)
        server.token, server.username = token, hub.admin_name
        deadline = time.monotonic() + 120
        while not server.api("GET", f"users/{hub.admin_name}").json()["servers"].get("", {}).get("ready"):
            assert time.monotonic() < deadline, "the server did not start on the profile left"
            time.sleep(0.5)
        server.stop_server()
    finally:
        again.stop()
