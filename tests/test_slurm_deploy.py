"""deploy/slurm/'s examples (issue 17) are what occidata accepts and what Slurm would need: the site
config loads as `occidata up` loads it, the profiles read as the hub reads them, and the slurm.conf,
gres.conf and cgroup.conf excerpts give the profiles their partitions, GPUs and limits."""

from __future__ import annotations

import re
from pathlib import Path

from occidata.config import load_config
from occidata.hub.profiles import read_profiles
from occidata.platform import REPO_ROOT
from occidata.slurm.requests import minutes

DEPLOY = REPO_ROOT / "deploy" / "slurm"


def slurm_lines(path: Path) -> list[dict[str, str]]:
    """A Slurm configuration file as one dict per line (keys as written, comments dropped)."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        words = line.split("#", 1)[0].split()
        if words:
            lines.append(dict(word.split("=", 1) for word in words))
    return lines


def setting(lines: list[dict[str, str]], key: str) -> str | None:
    return next((line[key] for line in lines if key in line), None)


def test_the_site_config_example_loads_in_slurm_mode_with_everything_on_the_shared_storage():
    cfg = load_config({"OCCIDATA_CONFIG": str(DEPLOY / "config.yaml.example")})
    assert cfg["mode"] == "slurm"
    # Labs reach the hub where it listens.
    assert cfg["slurm"]["connect_host"] == cfg["hub"]["ip"] != "127.0.0.1"
    shared = Path(cfg["slurm"]["shared_dir"])
    for path in (cfg["data_dir"], cfg["state_dir"], cfg["server"]["home_dir"]):
        assert Path(path).is_relative_to(shared), path
    assert cfg["slurm"]["check_mount"] is True


def test_the_profiles_example_has_one_and_four_gpu_profiles_for_their_groups_only():
    profiles = {profile.slug: profile for profile in read_profiles(DEPLOY / "profiles.yaml.example")}
    assert profiles["cpu"].slurm.gpus == 0 and profiles["cpu"].allows([])
    assert profiles["gpu"].gpu and profiles["gpu"].slurm.gpus == 1
    assert profiles["gpu-4"].gpu and profiles["gpu-4"].slurm.gpus == 4
    assert not profiles["gpu"].allows(["partner"]) and profiles["gpu"].allows(["gpu"])
    assert not profiles["gpu-4"].allows(["gpu"]) and profiles["gpu-4"].allows(["gpu-large"])


def test_the_slurm_excerpts_give_the_profiles_their_partitions_gpus_and_limits():
    conf = slurm_lines(DEPLOY / "slurm.conf.example")
    partitions = {line["PartitionName"]: line for line in conf if "PartitionName" in line}
    [node] = [line for line in conf if "NodeName" in line]
    node_gpus = int(re.fullmatch(r"gpu:(\d+)", node["Gres"]).group(1))
    [gres] = slurm_lines(DEPLOY / "gres.conf.example")
    first, last = re.fullmatch(r"/dev/nvidia\[(\d+)-(\d+)\]", gres["File"]).groups()
    assert gres["NodeName"] == node["NodeName"] and int(last) - int(first) + 1 == node_gpus == 4
    for profile in read_profiles(DEPLOY / "profiles.yaml.example"):
        partition = partitions[profile.slurm.partition]
        assert profile.slurm.gpus <= node_gpus, profile.slug
        # Slurm's own wall holds the longest wall time a researcher may choose.
        assert minutes(partition["MaxTime"]) >= profile.slurm.max_time_minutes, profile.slug
        if profile.groups:
            # Each hub group that may start it is allowed on its partition as the Unix group the hub keeps.
            allowed = set(partition.get("AllowGroups", "").split(","))
            assert {f"occgrp-{group}" for group in profile.groups} <= allowed, profile.slug
    # Slurm enforces memory, cores and devices through cgroups, and writes a record of each job.
    assert setting(conf, "ProctrackType") == "proctrack/cgroup"
    assert "task/cgroup" in setting(conf, "TaskPlugin").split(",")
    assert setting(conf, "GresTypes") == "gpu" and setting(conf, "JobCompType") == "jobcomp/filetxt"
    cgroup = {key: value for line in slurm_lines(DEPLOY / "cgroup.conf.example") for key, value in line.items()}
    assert all(cgroup.get(key) == "yes" for key in ("ConstrainRAMSpace", "ConstrainCores", "ConstrainDevices"))
