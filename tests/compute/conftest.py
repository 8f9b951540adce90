"""Hypothesis settings for the compute tests.

In CI (``CI=true``) the examples are derandomised: the same inputs every run, so a red CI
is a real regression and never the luck of the draw. Locally they stay random, which is
how new counter-examples are found (hypothesis prints the seed to reproduce one).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", derandomize=True, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI", "").lower() == "true" else "dev")
