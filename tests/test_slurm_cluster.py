"""The real Slurm the slurm-mode tests will run on (issue 17, groundwork): what it must enforce,
checked on the daemons themselves before any of occidata's code relies on it. A job runs as the
account that submitted it, two GPU jobs get different devices and a third waits with Slurm's
reason, a job over its memory is killed by Slurm (not by luck), and each job leaves a completion
record with what it was given. Without root or Slurm they fail: `make test` as root installs Slurm."""

from __future__ import annotations

import os
import secrets
import subprocess
import time

import pytest

from slurm_cluster import running_slurm

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    yield from running_slurm(tmp_path_factory.mktemp("slurm"))


@pytest.fixture(scope="module")
def account():
    """A system account of its own (random name, removed at the end), as a researcher's."""
    name = f"oslt{secrets.token_hex(3)}"
    subprocess.run(["useradd", "--no-create-home", "--shell", "/bin/bash", name], check=True)
    try:
        yield name
    finally:
        subprocess.run(["userdel", name], check=False)


def test_a_job_runs_as_the_account_that_submitted_it(slurm, account):
    done = slurm.run(["srun", "--mem=100M", "id", "-un"], user=account)
    assert done.stdout.strip() == account


def test_gpu_jobs_get_their_own_device_and_a_third_waits_with_slurms_reason(slurm, account):
    ids = [slurm.run(["sbatch", "--parsable", "-p", "gpu", "--gres=gpu:1", "--mem=100M", "--wrap",
                      "echo $CUDA_VISIBLE_DEVICES; sleep 30"], user=account).stdout.strip() for _ in range(3)]
    try:
        deadline = time.monotonic() + 60
        while True:
            states = dict(line.split(None, 1) for line in slurm.run(
                ["squeue", "-h", "-j", ",".join(ids), "-o", "%i %T %r"]).stdout.splitlines())
            running = [i for i in ids if states.get(i, "").startswith("RUNNING")]
            if len(running) == 2:
                break
            assert time.monotonic() < deadline, states
            time.sleep(0.5)
        [waiting] = [i for i in ids if i not in running]
        assert states[waiting].split() == ["PENDING", "Resources"]
        devices = set()
        for job in running:
            deadline = time.monotonic() + 30
            while True:
                text = slurm.run(["scontrol", "show", "job", job]).stdout
                stdout = text.split("StdOut=", 1)[1].split()[0]
                if os.path.exists(stdout) and open(stdout).read().strip():
                    devices.add(open(stdout).read().strip())
                    break
                assert time.monotonic() < deadline, f"no output of job {job}"
                time.sleep(0.5)
        assert devices == {"0", "1"}, devices
    finally:
        slurm.run(["scancel", *ids], check=False)


def test_a_job_over_its_memory_is_killed_by_slurm_and_recorded_so(slurm, account):
    done = slurm.run(["srun", "--mem=60M", "python3", "-c", "x = bytearray(400 * 1024 * 1024); print('kept')"],
                     user=account, check=False)
    assert done.returncode != 0 and "kept" not in done.stdout
    assert "Out Of Memory" in done.stderr or "oom-kill" in done.stderr, done.stderr
    deadline = time.monotonic() + 30
    while True:
        records = slurm.jobcomp.read_text() if slurm.jobcomp.exists() else ""
        killed = [line for line in records.splitlines() if "JobState=OUT_OF_MEMORY" in line and account in line]
        if killed:
            break
        assert time.monotonic() < deadline, records[-2000:]
        time.sleep(0.5)
    # The completion record says who, what was given (cores, memory) and why it ended: usage reads it.
    assert "Tres=cpu=1,mem=60M" in killed[-1] and f"UserId={account}(" in killed[-1]
