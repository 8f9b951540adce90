"""Data access levels from hub groups, handed to each lab server at spawn.

Groups named ``partner`` and ``restricted:<dataset>`` grant those levels; the server gets
them as ``OCCIDATA_ACCESS_LEVELS``, which ``occidata.catalog`` reads. In demo mode this is
the only gate (restricted data is not served there at all); server mode adds file
permissions and the data service on top.
"""

from __future__ import annotations


def access_levels(group_names) -> list[str]:
    """The access levels the given hub group names grant, sorted."""
    return sorted(name for name in set(group_names) if name == "partner" or name.startswith("restricted:"))


def set_access_levels(spawner) -> None:
    """pre_spawn_hook: put the user's current levels in the server's environment."""
    levels = access_levels(group.name for group in spawner.user.groups)
    spawner.environment = {**spawner.environment, "OCCIDATA_ACCESS_LEVELS": ",".join(levels)}


def update_access(c) -> None:
    c.Spawner.pre_spawn_hook = set_access_levels
