"""What the platform benchmarks share: percentiles, and removing the system accounts a run made."""

from __future__ import annotations


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), linear between closest ranks; nan for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def remove_accounts(tag: str) -> None:
    """Delete the system accounts a run made as root (their names start with ``tag``)."""
    import pwd

    from occidata.hub.system_users import remove_system_user

    for account in pwd.getpwall():
        if account.pw_name.startswith(tag):
            remove_system_user(account.pw_name)
