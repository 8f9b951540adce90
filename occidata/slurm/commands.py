"""Slurm's commands as the platform runs them: one home for the environment they need
(``slurm.conf`` of the site config → ``SLURM_CONF``) and for running them as an account."""

from __future__ import annotations

import os
import shutil
import subprocess

# root's command to run another account's command, keeping the environment (util-linux, in /usr/sbin,
# which a lab's PATH does not have).
RUNUSER = shutil.which("runuser", path="/usr/sbin:/sbin:/usr/bin:/bin") or "/usr/sbin/runuser"


class SlurmCommandError(RuntimeError):
    """A Slurm command that failed or could not run; the message has the command and Slurm's words."""


def slurm_environment(cfg: dict, base: dict | None = None) -> dict:
    """``base`` (default: this process's environment) with ``SLURM_CONF`` set when the site
    config names a slurm.conf (``slurm.conf``)."""
    environment = dict(os.environ if base is None else base)
    if cfg.get("slurm", {}).get("conf"):
        environment["SLURM_CONF"] = cfg["slurm"]["conf"]
    return environment


def as_account(command: list[str], account: str | None) -> list[str]:
    """``command`` run as system account ``account`` (root's ``runuser``, which keeps the
    environment), or as is when ``account`` is None."""
    return [RUNUSER, "-u", account, "--", *command] if account else list(command)


def run_slurm(cfg: dict, command: list[str], *, account: str | None = None, timeout: float = 30,
              check: bool = True) -> subprocess.CompletedProcess:
    """Run a Slurm command (``sinfo``, ``squeue``, ``sbatch`` ...) with the site's slurm.conf,
    as ``account`` if given. Raises :class:`SlurmCommandError` when it cannot run, or fails and
    ``check`` is true."""
    try:
        done = subprocess.run(as_account(command, account), capture_output=True, text=True, timeout=timeout,
                              env=slurm_environment(cfg))
    except FileNotFoundError:
        raise SlurmCommandError(f"{command[0]} is not installed on this machine (Debian: apt-get install "
                                "slurm-client)") from None
    except subprocess.TimeoutExpired:
        raise SlurmCommandError(f"{' '.join(command)} did not answer within {timeout:g} s (is slurmctld "
                                "running and reachable?)") from None
    if check and done.returncode != 0:
        raise SlurmCommandError(f"{' '.join(command)} failed ({done.returncode}): "
                                f"{(done.stderr or done.stdout).strip()}")
    return done
