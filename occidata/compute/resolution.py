"""Comparing statistics with legal limits: round to the data's resolution, keep the law's operator.

The rule
--------
Measured data have a stated resolution: ATMO Occitanie and Météo-France publish one decimal
(0.1 µg/m³, 0.1 °C). A statistic computed from them (a daily mean, an MDA8, an annual mean,
a 3-day IBMn/IBMx) is **rounded to that resolution, half away from zero**, before it is
compared with a limit value or a band edge; the comparison then uses the operator of the
legal text, unchanged:

- EU limit and target values (:func:`~occidata.compute.exceedances`): ``value > limit``.
  Directive 2008/50/EC and Directive (EU) 2024/2881 count the values above the limit: a
  daily PM10 mean of 50.0 µg/m³ is not an exceedance, 50.1 is; an MDA8 of 120.0 is not.
- ATMO index (:func:`~occidata.compute.atmo_index`): band ``1 + #{edges < value}``. Arrêté
  du 10 juillet 2020, annexe I: each class's upper limit belongs to it (a daily PM10 mean
  of 50.0 is still "Dégradé", 50.1 is "Mauvais").
- EAQI (:func:`~occidata.compute.eaqi`): the same, the EEA's upper limits being inclusive.
- Heat-wave criterion (:func:`~occidata.compute.heatwave_alerts`): ``IBM >= threshold``.
  Système d'alerte canicule et santé: IBMn and IBMx "atteignent ou dépassent" the
  department's thresholds (a 3-day mean of 21.0 reaches 21).

The resolution is ``10**-decimals``; every function above takes ``decimals=1`` (keyword) for
data published with another number of decimals (``decimals=0`` for whole µg/m³). The
statistic handed back with the verdict (``Exceedance.values``, ``HeatwaveAlerts.ibmn`` /
``ibmx``) is the rounded one, so what you read is what was compared. The plain statistics
(:func:`~occidata.compute.daily_mean`, :func:`~occidata.compute.mda8`, rolling means) are
not rounded: round them with :func:`to_resolution` before comparing them with a limit
yourself.

Why round at all: a mean of one-decimal values that is exactly 50.0 comes out of floating
point as 49.99999999999999, 50.0 or 50.00000000000001 depending on the order of the
additions, which differs between NumPy (pairwise sums), the Numba kernels (running sums)
and CuPy (parallel reductions). Compared with ``> 50`` as it is, sixty such days of one
station gave 0 or 1 exceedance day on NumPy and 14 to 16 on Numba. Rounded to the resolution, all give 50.0.

Why half away from zero (and not half to even): it is the rounding a researcher does by
hand and that spreadsheets' ROUND() do, so a mean of exactly 50.05 is 50.1 here as on
paper; for concentrations (never negative) it is "half up", the cautious side for a
health limit (a tie counts as over 50, never as under it). Bias, the reason for half-even,
does not matter: rounded values are only compared, never summed again.

How it is made identical on every backend
-----------------------------------------
``x`` is rounded as ``copysign(floor(|x|·10^d + 0.5 + ε) / 10^d, x) + 0`` with
``ε = 1e-10 · max(|x|·10^d, 1)``, in that order of operations, in :func:`to_resolution_array`
(NumPy and CuPy arrays) and :func:`to_resolution_scalar` (inside the Numba kernels). Each
step is one correctly rounded IEEE operation, the same on the three backends (none is fused
into a multiply-add: Numba compiles without fastmath, CuPy runs each step as its own kernel).

The tolerance ε is what makes a mean that should be exactly on a half (49.95 computed as
49.949999999999996) round up everywhere, and it is safe: the mean of ``N`` values on the
resolution grid, in grid units, is ``S/N`` for an integer ``S``, so it is either exactly on
a half or at least ``1/(2N)`` away from one (1/48 for a daily mean, 1/16 for an 8-hour
mean, 1/6 for a 3-day mean, 5.7e-5 for an annual mean of 8784 hours). Float error in those
sums is below 1e-12 relative, a hundred times smaller than ε; and ε stays below ``1/(2N)``
as long as ``|x|·10^d < 5e9/N`` (annual means below 57 000 µg/m³ at one decimal, daily
means below 20 million). A value already on the grid (an hourly measurement, a daily
maximum) rounds to itself. Data that are *not* on the grid (two decimals passed with
``decimals=1``) are rounded like any statistic; only a value within ε of a half could then
round differently on two backends, which has a probability below 1e-10 per value.

After rounding, ``n / 10^d`` is the double nearest to the decimal (50.1 == float("50.1")),
so comparing it with a limit written in decimals (50, 120, 21.0) is exact.

Not covered, on purpose: the bathing-water classes (:mod:`occidata.compute.bathing_water`)
compare a log-normal percentile ``10^(μ + 1.65σ)`` of bacterial counts, never a decimal of
the data, with their own relative slack (``LIMIT_RTOL``); HWMId (:mod:`occidata.compute.hwmid`)
compares temperatures with percentile thresholds, not legal limits.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from occidata.compute._xp import array_module

__all__ = ["DEFAULT_DECIMALS", "HALF_TOLERANCE", "check_decimals", "resolution_scale",
           "to_resolution", "to_resolution_array", "to_resolution_scalar"]

#: Decimals of the providers' data (ATMO Occitanie, Météo-France): a resolution of 0.1.
DEFAULT_DECIMALS = 1
#: ε relative to ``|x|·10^d`` (at least 1): see the module docstring for why it is safe.
HALF_TOLERANCE = 1e-10
#: Decimals accepted: beyond 3 the data would not be measurements, and ε would stop being safe.
_MAX_DECIMALS = 3


def check_decimals(decimals: Any) -> int:
    """``decimals`` as an int in 0..3, or a ValueError naming the parameter."""
    if isinstance(decimals, bool) or not isinstance(decimals, (int, np.integer)) \
            or not 0 <= decimals <= _MAX_DECIMALS:
        raise ValueError(
            f"decimals={decimals!r} : attendu un entier de 0 à {_MAX_DECIMALS}, le nombre de "
            "décimales des données mesurées (1 pour ATMO et Météo-France, soit 0,1)"
        )
    return int(decimals)


def resolution_scale(decimals: Any) -> float:
    """``10**decimals`` as an exact float, after :func:`check_decimals`."""
    return float(10 ** check_decimals(decimals))


def to_resolution(x: Any, decimals: int = DEFAULT_DECIMALS) -> Any:
    """Round ``x`` to ``decimals`` decimals, half away from zero, robust to float noise.

    Parameters
    ----------
    x : array_like (NumPy or CuPy)
        Statistics of measured data; NaN and infinities are kept.
    decimals : int, default 1
        Decimals of the data (0 to 3): the resolution is ``10**-decimals``.

    Returns
    -------
    ndarray
        float64, of ``x``'s array type; each value is the double nearest to its decimal.

    Examples
    --------
    >>> to_resolution([49.949999999999996, 20.999999999999996, 50.04, -0.05, float("nan")])
    array([50. , 21. , 50. , -0.1,  nan])
    """
    scale = resolution_scale(decimals)
    xp = array_module(x)
    x = xp.asarray(x, dtype=xp.float64)
    return to_resolution_array(xp, x, scale)


def to_resolution_array(xp: Any, x: Any, scale: float) -> Any:
    """The rule on a float64 array of module ``xp`` (NumPy or CuPy), in the array kernels.

    ``scale`` is :func:`resolution_scale`; the operations are those of
    :func:`to_resolution_scalar`, in the same order.
    """
    y = xp.abs(x) * scale
    n = xp.floor(y + (0.5 + HALF_TOLERANCE * xp.maximum(y, 1.0)))
    return xp.copysign(n / scale, x) + 0.0  # + 0.0: -0.0 (from -0.04) becomes 0.0


# error_model="numpy": no zero-division check (scale > 0), so that the kernels' loops vectorise.
@numba.njit(cache=True, inline="always", error_model="numpy")
def to_resolution_scalar(x: float, scale: float) -> float:
    """The rule on one float inside a Numba kernel; ``scale`` is :func:`resolution_scale`."""
    y = abs(x) * scale
    n = np.floor(y + (0.5 + HALF_TOLERANCE * max(y, 1.0)))
    return math.copysign(n / scale, x) + 0.0
