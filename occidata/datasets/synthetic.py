"""Building blocks of the synthetic generators: size plans, persistent day-to-day noise, episodes.

The entries that have real data (``REAL``) are built from a generator wherever the provider's
exports are absent; these helpers keep those generators short and alike.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.signal import lfilter


def size_plan(sizes: dict, size: str, name: str) -> dict:
    """``sizes[size]``; an unknown size is a ``ValueError`` naming the entry and the sizes it has."""
    if size not in sizes:
        raise ValueError(f"unknown size {size!r} for {name}; choose one of {', '.join(sizes)}")
    return sizes[size]


def ar1(rng: np.random.Generator, shape: int | tuple[int, ...], phi: float) -> np.ndarray:
    """Unit-variance AR(1) series along axis 0 (time): weather, and what follows it, persists.

    Stationary from the first step (the first value is drawn at full variance)."""
    shocks = rng.standard_normal(shape)
    shocks[1:] *= np.sqrt(1 - phi**2)
    return lfilter([1.0], [1.0, -phi], shocks, axis=0)


def summer_episodes(days: pd.DatetimeIndex, rng: np.random.Generator, per_summer: tuple[int, int],
                    length: tuple[int, int], window: tuple[str, str] = ("06-15", "08-20")) -> np.ndarray:
    """A 0..1 profile over ``days``: heat-wave-like episodes, ``per_summer`` (min, max) a year,
    each ``length`` (min, max) days long, starting between the ``window`` dates (``MM-DD``).

    Each episode rises and falls smoothly (a half sine) and peaks at 1; where two overlap the
    larger value holds. Years whose window is not in ``days`` get none."""
    profile = np.zeros(len(days))
    position = np.arange(len(days))
    first = days[0]
    for year in sorted(set(days.year)):
        opens, closes = (pd.Timestamp(f"{year}-{day}", tz=days.tz) for day in window)
        lo, hi = (opens - first).days, (closes - first).days
        lo, hi = max(lo, 0), min(hi, len(days) - 1)
        if hi < lo:
            continue
        for _ in range(rng.integers(per_summer[0], per_summer[1] + 1)):
            start, span = rng.integers(lo, hi + 1), rng.integers(length[0], length[1] + 1)
            inside = (position >= start) & (position < start + span)
            shape = np.sqrt(np.clip(np.sin(np.pi * (position - start + 0.5) / span), 0, 1))
            profile = np.where(inside, np.maximum(profile, shape), profile)
    return profile
