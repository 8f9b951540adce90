"""The lab as a home, without a hub: the curated notebooks' publication, copy and update (real
git, real nbgitpuller), what a lab is told of the platform, and what it says of its server."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from occidata.datasets import get_dataset, names
from occidata.hub.profiles import read_profiles, profile_environment
from occidata.hub.spawner import lab_environment
from occidata.lab.curated import (FOLDER, README, curated_files, curated_repository, first_copy, git_environment,
                                  publish_curated, update_available)
from occidata.lab.resources import server_resources
from occidata.lab.shortcuts import launcher_items, lab_settings, service_links

REPO = Path(__file__).resolve().parent.parent
ENTRIES = {name: get_dataset(name).METADATA for name in names()}


def pull(repository: Path, home: Path) -> None:
    """What nbgitpuller's « git-pull » page does for the lab's update link."""
    from nbgitpuller.pull import GitPuller

    for _ in GitPuller(str(repository), str(home / FOLDER), branch="main", depth=0).pull():
        pass


@pytest.fixture
def notebooks(tmp_path) -> Path:
    copy = tmp_path / "notebooks"
    shutil.copytree(REPO / "notebooks", copy)
    return copy


def test_the_curated_set_is_the_notebooks_without_the_tests_parameters():
    files = [path.as_posix() for path in curated_files(REPO / "notebooks")]
    assert "air_quality/daily_report.ipynb" in files and len(files) == 7
    assert not any(path.startswith("params/") for path in files)


def test_first_copy_is_the_researchers_own_with_a_readme_of_data_and_levels(tmp_path, notebooks):
    state, home = tmp_path / "state", tmp_path / "home"
    home.mkdir()
    assert publish_curated(notebooks, state, ENTRIES)
    assert publish_curated(notebooks, state, ENTRIES) is None  # unchanged: no new version offered
    target = first_copy(curated_repository(state), home)
    assert target == home / FOLDER
    assert (target / "air_quality" / "daily_report.ipynb").read_bytes() == \
        (notebooks / "air_quality" / "daily_report.ipynb").read_bytes()
    readme = (target / README).read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if "buildings/leaks_and_waste.ipynb" in line)
    assert "`building_meters`" in row and "partenaire" in row
    row = next(line for line in readme.splitlines() if "climate/heatwave_watch.ipynb" in line)
    assert "`weather_daily`" in row and "aucun (données publiques)" in row
    assert "## English" in readme and "Access level needed" in readme
    assert first_copy(curated_repository(state), home) is None  # never copied over again


def test_an_update_is_offered_then_merged_keeping_the_researchers_edits(tmp_path, notebooks):
    state, home = tmp_path / "state", tmp_path / "home"
    home.mkdir()
    publish_curated(notebooks, state, ENTRIES)
    repository = curated_repository(state)
    first_copy(repository, home)
    mine = home / FOLDER / "air_quality" / "daily_report.ipynb"
    edited = json.loads(mine.read_text(encoding="utf-8"))
    edited["cells"].append({"cell_type": "markdown", "metadata": {}, "source": ["Mes notes à moi"]})
    mine.write_text(json.dumps(edited, ensure_ascii=False), encoding="utf-8")
    assert not update_available(repository, home)

    # The platform ships a changed notebook and a new one.
    theirs = notebooks / "traffic" / "mobility_patterns.ipynb"
    changed = json.loads(theirs.read_text(encoding="utf-8"))
    changed["cells"].append({"cell_type": "markdown", "metadata": {}, "source": ["Nouveauté de la plateforme"]})
    theirs.write_text(json.dumps(changed, ensure_ascii=False), encoding="utf-8")
    shutil.copy(theirs, notebooks / "traffic" / "new_analysis.ipynb")
    assert publish_curated(notebooks, state, ENTRIES)
    assert update_available(repository, home)
    assert "Nouveauté" not in (home / FOLDER / "traffic" / "mobility_patterns.ipynb").read_text()  # offered, not forced

    pull(repository, home)
    assert "Mes notes à moi" in mine.read_text(encoding="utf-8")
    assert "Nouveauté de la plateforme" in (home / FOLDER / "traffic" / "mobility_patterns.ipynb").read_text()
    assert (home / FOLDER / "traffic" / "new_analysis.ipynb").exists()
    assert not update_available(repository, home)


def test_the_platforms_repository_opens_to_other_accounts_through_its_git_configuration(tmp_path, notebooks):
    state = tmp_path / "state"
    publish_curated(notebooks, state, ENTRIES)
    env = git_environment(curated_repository(state))
    config = Path(env["GIT_CONFIG_SYSTEM"]).read_text()
    assert f"directory = {curated_repository(state)}" in config and "path = /etc/gitconfig" in config
    listed = subprocess.run(["git", "ls-remote", str(curated_repository(state))], capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", **env})
    assert "refs/heads/main" in listed.stdout, listed.stderr


def test_a_cpu_profile_offers_its_kernel_and_a_gpu_profile_both():
    profiles = {p.slug: p for p in read_profiles(REPO / "hub" / "profiles.yaml")}
    assert profile_environment(profiles["cpu"], "0")["OCCIDATA_KERNELS"] == "occidata-cpu"
    assert profile_environment(profiles["gpu"], "0")["OCCIDATA_KERNELS"] == "occidata-gpu,occidata-cpu"


def test_a_profile_with_a_bad_kernels_list_is_refused_naming_it(tmp_path):
    from occidata.config import ConfigError

    bad = tmp_path / "profiles.yaml"
    bad.write_text("profiles:\n  - {slug: cpu, display_name: CPU, kernel: occidata-cpu, kernels: occidata-cpu}\n")
    with pytest.raises(ConfigError, match=r"profiles\[0\], kernels"):
        read_profiles(bad)


def test_the_lab_is_told_the_platforms_commands_catalogue_and_pages():
    cfg = {"state_dir": "/srv/state", "catalogue_pages": {"enabled": True}, "dashboards": {"enabled": False},
           "reports": {"enabled": True}}
    env = lab_environment(cfg, Path("/opt/occidata/.venv/bin"))
    assert env["PATH"].split(":")[0] == "/opt/occidata/.venv/bin"
    assert Path(env["OCCIDATA_CATALOG"]) == REPO / "catalog" / "catalog.yaml"
    assert env["OCCIDATA_LAB_SERVICES"] == "catalogue,reports"
    assert (Path(env["JUPYTER_CONFIG_PATH"]) / "jupyter_server_config.d" / "occidata.json").is_file()


def test_launcher_items_and_menu_lead_to_the_enabled_pages_under_the_base_url():
    links = service_links("/lab/", ["catalogue", "reports"])
    items = launcher_items(links, Path("/home/x/README.md"), "/lab/user/x/git-pull?repo=r", update_available=True)
    urls = {item["title"]: item["source"] for item in items}
    assert urls["Catalogue des données"] == "/lab/services/catalogue/"
    assert urls["Rapports"] == "/lab/services/reports/"
    assert "Tableaux de bord publics" not in urls
    assert "Mettre à jour les notebooks (nouvelle version)" in urls
    settings = lab_settings(links, "Serveur CPU · 2 cœurs", "/lab/user/x/git-pull?repo=r")
    assert settings["@jupyterlab/translation-extension:plugin"] == {"locale": "fr_FR"}
    menu = settings["@jupyterlab/mainmenu-extension:plugin"]["menus"][0]
    assert [item["args"]["url"] for item in menu["items"]][:2] == ["/lab/services/catalogue/", "/lab/services/reports/"]


def test_the_server_says_its_limits_and_that_a_cpu_server_has_no_gpu():
    line = server_resources({"OCCIDATA_PROFILE": "cpu", "CPU_LIMIT": "2", "MEM_LIMIT": str(8 * 10**9),
                             "CUDA_VISIBLE_DEVICES": ""}).summary_fr()
    assert line == "Serveur CPU · 2 cœurs · 8 Go de mémoire · sans GPU"
    assert "1 cœur ·" in server_resources({"CPU_LIMIT": "1", "MEM_LIMIT": "1500000000",
                                            "CUDA_VISIBLE_DEVICES": ""}).summary_fr()
