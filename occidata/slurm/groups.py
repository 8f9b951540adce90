"""The hub groups that gate profiles (a profile's ``groups``, e.g. ``[gpu]``), mirrored as Unix groups
of the researchers' accounts, so that Slurm itself enforces them: the site's partitions name those
Unix groups in ``AllowGroups`` (``deploy/slurm/slurm.conf.example``), and a job submitted by hand from a
lab's terminal meets the same refusal as the spawn form. Hub group ``gpu`` is Unix group
``<slurm.group_prefix>gpu`` (default ``occgrp-gpu``).

The hub brings an account's Unix groups in line with its hub groups at each start of its lab, then
asks slurmctld to read group memberships again (``scontrol reconfigure``) when one changed.
"""

from __future__ import annotations

import grp
import pwd
import subprocess

from ..hub.system_users import SYSTEM_NAME


class GroupError(RuntimeError):
    """A Unix group the platform may not manage; the message says which and why."""


def unix_group(prefix: str, hub_group: str) -> str:
    """The Unix group mirroring hub group ``hub_group``."""
    return f"{prefix}{hub_group}"


def check_group_names(prefix: str, hub_groups) -> list[str]:
    """Problems with mirroring ``hub_groups`` under ``prefix`` (names useradd would refuse)."""
    return [f"hub group {name!r} cannot be a Unix group {unix_group(prefix, name)!r}: lowercase letters, digits, "
            "'-' or '_', at most 32 characters" for name in hub_groups if not SYSTEM_NAME.match(unix_group(prefix, name))]


def _ensure_group(name: str) -> grp.struct_group:
    try:
        group = grp.getgrnam(name)
    except KeyError:
        done = subprocess.run(["groupadd", name], capture_output=True, text=True)
        if done.returncode != 0 and done.returncode != 9:  # 9: made meanwhile by a start beside this one
            raise GroupError(f"groupadd {name} failed ({done.returncode}): {done.stderr.strip()}") from None
        group = grp.getgrnam(name)
    # Never a group that is some account's own (a service's, say): membership would give its files.
    owners = [account.pw_name for account in pwd.getpwall() if account.pw_gid == group.gr_gid]
    if owners:
        raise GroupError(f"the Unix group {name!r} is the primary group of {', '.join(owners)}: the platform will not "
                         "put researchers in it; change slurm.group_prefix")
    return group


def sync_account_groups(account: str, prefix: str, gating: list[str], member_of: list[str]) -> bool:
    """Put ``account`` in the Unix group of each gating hub group it is a member of, and out of the
    others; True when a membership changed (slurmctld must then read them again)."""
    changed = False
    for hub_group in gating:
        name = unix_group(prefix, hub_group)
        group = _ensure_group(name)
        want, has = hub_group in member_of, account in group.gr_mem
        if want != has:
            done = subprocess.run(["gpasswd", "--add" if want else "--delete", account, name], capture_output=True,
                                  text=True)
            if done.returncode != 0:
                raise GroupError(f"gpasswd {account} {name} failed ({done.returncode}): {done.stderr.strip()}")
            changed = True
    return changed
