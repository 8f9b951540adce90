"""Air quality against EU limits: daily means, MDA8 and exceedance counts.

Hourly concentrations (µg/m³) lie on the last axis of an array, any leading
axes being independent series (stations, grid cells). Index 0 is the hour
00:00-01:00 of day 0 and the length is a whole number of days (a multiple of
24). NaN marks a missing hour.

The aggregation rules are those of Directive 2008/50/EC (Annex VII for ozone,
Annex XI for the other pollutants), kept by Directive (EU) 2024/2881:

- a daily mean is valid with at least 75 % of the hours (18 of 24);
- an 8-hour running mean is valid with at least 6 of its 8 hours, and a day's
  maximum 8-hour mean (MDA8) with at least 18 of its 24 running means;
- a calendar-year mean is valid with at least 90 % of the hours.

The limit values themselves are data (``data/eu_air_limits.yaml``), read by
:func:`limit_values`.
"""

from __future__ import annotations

import functools
import math
from importlib import resources
from typing import Any, NamedTuple

import numba
import numpy as np
import yaml

from occidata.compute._xp import array_module, require_cupy, run_backend
from occidata.compute.checks import (
    as_float_array,
    check_choice,
    check_non_negative,
    check_not_all_nan,
)
from occidata.compute._parallel import serial_if_small
from occidata.pollutants import pollutant_name
from occidata.compute.resolution import DEFAULT_DECIMALS, check_decimals, to_resolution

__all__ = [
    "Exceedance",
    "Limit",
    "daily_max",
    "daily_mean",
    "daily_mean_xr",
    "daily_max_xr",
    "exceedances",
    "limit_values",
    "mda8",
    "mda8_xr",
    "POLLUTANTS",
]

HOURS_PER_DAY = 24
#: Pollutant names accepted by :func:`exceedances`.
POLLUTANTS = ("PM10", "PM2.5", "NO2", "O3", "SO2")


# --------------------------------------------------------------------------- validation


def _min_hours(min_coverage: Any) -> int:
    """Valid hours a day needs: ceil(min_coverage * 24), at least 1."""
    if isinstance(min_coverage, bool) or not isinstance(min_coverage, (int, float, np.number)):
        raise ValueError(f"min_coverage={min_coverage!r}: expected a fraction between 0 and 1")
    if not 0.0 <= float(min_coverage) <= 1.0:
        raise ValueError(f"min_coverage={min_coverage!r}: expected a fraction between 0 and 1")
    # round() first: 0.75 * 24 is exact, but e.g. 0.7 * 24 = 16.799999999999997.
    return max(1, math.ceil(round(float(min_coverage) * HOURS_PER_DAY, 9)))


def _check_hourly(hourly: Any, *, all_nan_ok: bool = False) -> Any:
    """``hourly`` as float64, whole days on the last axis, no negative concentration."""
    x = as_float_array("hourly", hourly)
    if x.ndim == 0:
        raise ValueError("hourly: expected hourly values on the last axis, got a scalar")
    n = x.shape[-1]
    if n % HOURS_PER_DAY:
        raise ValueError(
            f"hourly: the last axis has {n} hours, not a whole number of days "
            f"(a multiple of {HOURS_PER_DAY}); index 0 must be the hour 00:00-01:00 of a day"
        )
    check_non_negative("hourly", x)
    if not all_nan_ok:
        check_not_all_nan("hourly", x)
    return x


# --------------------------------------------------------------------------- daily mean / max


def _daily_xp(xp, x, need: int, how: str):
    days = x.reshape(x.shape[:-1] + (x.shape[-1] // HOURS_PER_DAY, HOURS_PER_DAY))
    valid = ~xp.isnan(days)
    count = valid.sum(axis=-1)
    if how == "mean":
        out = xp.where(valid, days, 0.0).sum(axis=-1) / xp.maximum(count, 1)
    else:
        out = xp.where(valid, days, -xp.inf).max(axis=-1)
    return xp.where(count >= need, out, xp.nan)


def _daily_numpy(x, *, need: int, how: str):
    return _daily_xp(np, x, need, how)


def _daily_cupy(x, *, need: int, how: str):
    return _daily_xp(require_cupy(), x, need, how)


@numba.njit(parallel=True, cache=True)
def _daily_kernel(x2, need, want_max):
    rows, n = x2.shape
    days = n // 24
    out = np.empty((rows, days))
    # One task per (series, day): enough parallelism for a single long series too.
    for k in numba.prange(rows * days):
        r = k // days
        d = k - r * days
        s = 0.0
        m = -np.inf
        c = 0
        for h in range(d * 24, d * 24 + 24):
            v = x2[r, h]
            if not np.isnan(v):
                c += 1
                s += v
                if v > m:
                    m = v
        if c < need:
            out[r, d] = np.nan
        elif want_max:
            out[r, d] = m
        else:
            out[r, d] = s / c
    return out


def _daily_numba(x, *, need: int, how: str):
    x2 = np.ascontiguousarray(x.reshape(-1, x.shape[-1]))
    with serial_if_small(x2.size):
        out = _daily_kernel(x2, need, how == "max")
    return out.reshape(x.shape[:-1] + (out.shape[-1],))


_DAILY = {"numpy": _daily_numpy, "numba": _daily_numba, "cupy": _daily_cupy}


def daily_mean(hourly: Any, min_coverage: float = 0.75, backend: str = "auto") -> Any:
    """Daily means of hourly values, with the 75 % data-coverage rule.

    Parameters
    ----------
    hourly : array_like, shape (..., 24 * n_days)
        Hourly concentrations on the last axis; index 0 is the hour
        00:00-01:00 of day 0. NaN marks a missing hour.
    min_coverage : float, default 0.75
        Fraction of the 24 hours that must be valid (non-NaN): a day needs
        ``ceil(min_coverage * 24)`` valid hours (18 by default), at least 1.
    backend : {"auto", "numpy", "numba", "cupy"}
        Implementation; see :mod:`occidata.compute._xp`.

    Returns
    -------
    ndarray, shape (..., n_days)
        Mean of the valid hours of each day; NaN where fewer than the needed
        hours are valid.

    Raises
    ------
    ValueError
        ``hourly`` empty, all NaN, with a negative value, or whose last axis
        is not a multiple of 24; ``min_coverage`` outside [0, 1].

    Notes
    -----
    Directive 2008/50/EC, Annex XI, Section A: a one-day value is valid with
    75 % of the hourly averages, i.e. at least 18 hour values.

    Examples
    --------
    >>> daily_mean([10.0] * 18 + [float("nan")] * 6, backend="numpy")
    array([10.])
    >>> daily_mean([10.0] * 17 + [float("nan")] * 7, backend="numpy")
    array([nan])
    """
    x = _check_hourly(hourly)
    need = _min_hours(min_coverage)
    return run_backend(_DAILY, backend, (x,), need=need, how="mean")


def daily_max(hourly: Any, min_coverage: float = 0.75, backend: str = "auto") -> Any:
    """Daily maxima of hourly values, with the 75 % data-coverage rule.

    Parameters
    ----------
    hourly : array_like, shape (..., 24 * n_days)
        Hourly concentrations on the last axis; index 0 is the hour
        00:00-01:00 of day 0. NaN marks a missing hour.
    min_coverage : float, default 0.75
        Fraction of the 24 hours that must be valid: ``ceil(min_coverage *
        24)`` valid hours (18 by default), at least 1.
    backend : {"auto", "numpy", "numba", "cupy"}
        Implementation.

    Returns
    -------
    ndarray, shape (..., n_days)
        Largest valid hourly value of each day; NaN where fewer than the
        needed hours are valid.

    Raises
    ------
    ValueError
        As :func:`daily_mean`.

    Notes
    -----
    The daily maximum of hourly values is the statistic of the French ATMO
    index for NO2, O3 and SO2 (arrêté du 10 juillet 2020); the same 75 %
    coverage as a daily mean applies by default.
    """
    x = _check_hourly(hourly)
    need = _min_hours(min_coverage)
    return run_backend(_DAILY, backend, (x,), need=need, how="max")


# --------------------------------------------------------------------------- MDA8

#: Hours in an 8-hour running mean, and how many must be valid (Annex VII, Section A).
_WINDOW_8H = 8
_MIN_HOURS_8H = 6
#: Valid 8-hour means a day needs for its maximum (18 of 24).
_MIN_MEANS_MDA8 = 18


def _mda8_xp(xp, x):
    rows, n = x.shape
    # Hours before the series count as missing: day 0's early windows are short.
    padded = xp.concatenate([xp.full((rows, _WINDOW_8H - 1), xp.nan), x], axis=1)
    valid = ~xp.isnan(padded)
    vals = xp.where(valid, padded, 0.0)
    s = vals[:, 0:n]
    c = valid[:, 0:n].astype(xp.int64)
    for k in range(1, _WINDOW_8H):
        s = s + vals[:, k : k + n]
        c = c + valid[:, k : k + n]
    # means8[:, j] is the mean of hours j-7 .. j, assigned to the hour ending at j+1.
    means8 = xp.where(c >= _MIN_HOURS_8H, s / xp.maximum(c, 1), xp.nan)
    days = means8.reshape(rows, n // HOURS_PER_DAY, HOURS_PER_DAY)
    ok = ~xp.isnan(days)
    best = xp.where(ok, days, -xp.inf).max(axis=-1)
    return xp.where(ok.sum(axis=-1) >= _MIN_MEANS_MDA8, best, xp.nan)


def _mda8_numpy(x):
    return _mda8_xp(np, x)


def _mda8_cupy(x):
    return _mda8_xp(require_cupy(), x)


@numba.njit(parallel=True, cache=True)
def _mda8_kernel(x, min_hours, min_means):
    rows, n = x.shape
    days = n // 24
    out = np.empty((rows, days))
    for task in numba.prange(rows * days):
        r = task // days
        d = task - r * days
        # Running sum over the 8-hour window: the 7 hours before the day first
        # (17:00-24:00 of day d-1; before the series they are missing).
        s = 0.0
        c = 0
        for h in range(max(0, d * 24 - 7), d * 24):
            v = x[r, h]
            if not np.isnan(v):
                s += v
                c += 1
        best = -np.inf
        nmeans = 0
        for j in range(d * 24, d * 24 + 24):
            v = x[r, j]
            if not np.isnan(v):
                s += v
                c += 1
            if j - 8 >= max(0, d * 24 - 7):  # the hour leaving the window, if it was in
                u = x[r, j - 8]
                if not np.isnan(u):
                    s -= u
                    c -= 1
            if c >= min_hours:
                m = s / c
                nmeans += 1
                if m > best:
                    best = m
        out[r, d] = best if nmeans >= min_means else np.nan
    return out


def _mda8_numba(x):
    x = np.ascontiguousarray(x)
    with serial_if_small(3 * x.size):
        return _mda8_kernel(x, _MIN_HOURS_8H, _MIN_MEANS_MDA8)


_MDA8 = {"numpy": _mda8_numpy, "numba": _mda8_numba, "cupy": _mda8_cupy}


def _mda8_checked(x, backend):
    flat = x.reshape(-1, x.shape[-1])
    out = run_backend(_MDA8, backend, (flat,))
    return out.reshape(x.shape[:-1] + (out.shape[-1],))


def mda8(hourly: Any, backend: str = "auto") -> Any:
    """Maximum daily 8-hour running mean (MDA8), the ozone statistic of the EU directives.

    Parameters
    ----------
    hourly : array_like, shape (..., 24 * n_days)
        Hourly concentrations on the last axis; index 0 is the hour
        00:00-01:00 of day 0. NaN marks a missing hour.
    backend : {"auto", "numpy", "numba", "cupy"}
        Implementation.

    Returns
    -------
    ndarray, shape (..., n_days)
        The largest valid 8-hour mean of each day; NaN where fewer than 18 of
        the day's 24 running means are valid.

    Raises
    ------
    ValueError
        ``hourly`` empty, all NaN, with a negative value, or whose last axis
        is not a multiple of 24.

    Notes
    -----
    Directive 2008/50/EC, Annex VII (kept by Directive (EU) 2024/2881):
    8-hour running means are computed from hourly data, updated each hour,
    and each is assigned to the day on which it ends, so day ``d`` has 24
    means ending at 01:00, 02:00, ..., 24:00: the first covers 17:00 of day
    ``d - 1`` to 01:00 of day ``d``, the last 16:00 to 24:00 of day ``d``.
    An 8-hour mean is valid with at least 6 of its 8 hours (75 %), and a
    day's maximum with at least 18 of its 24 means (75 %).

    Day 0 has no previous evening in the input: the hours before the series
    count as missing, so its means ending at 01:00 .. 05:00 (fewer than 6
    hours in the series) are invalid and the day needs all the other 19 to
    reach 18. Pass the previous evening's hours (and drop the first day of
    the result) where they exist.

    Examples
    --------
    >>> mda8([100.0] * 24, backend="numpy")
    array([100.])
    """
    x = _check_hourly(hourly)
    return _mda8_checked(x, backend)


# --------------------------------------------------------------------------- EU limits


class Limit(NamedTuple):
    """One air quality standard of a directive (a row of ``data/eu_air_limits.yaml``)."""

    pollutant: str
    averaging: str  # "hour", "day", "mda8" or "year"
    value: float  # µg/m³; an exceedance is a value strictly above it
    allowed: int  # exceedances allowed per calendar year
    kind: str  # "limit value" or "target value"
    source: str
    attained_by: str | None = None
    averaged_over_years: int = 1


class Exceedance(NamedTuple):
    """Exceedances of one limit, per series (the leading axes of the input)."""

    limit: Limit
    values: Any  # the statistic compared, rounded to the data's resolution: (..., n_hours),
                 # (..., n_days) or (...) for "year"
    count: Any  # (...) int64: values strictly above limit.value
    breached: Any  # (...) bool: count > limit.allowed


_AVERAGINGS = ("hour", "day", "mda8", "year")
#: Share of the hours of the calendar year a valid annual mean needs (Annex XI, Section A).
_MIN_COVERAGE_YEAR = 0.9


@functools.cache
def _limits_data() -> dict[str, dict[str, tuple[Limit, ...]]]:
    text = resources.files("occidata.compute").joinpath("data/eu_air_limits.yaml").read_text("utf-8")
    raw = yaml.safe_load(text)
    table: dict[str, dict[str, tuple[Limit, ...]]] = {}
    for name, directive in raw["directives"].items():
        per: dict[str, list[Limit]] = {p: [] for p in POLLUTANTS}
        for row in directive["limits"]:
            limit = Limit(
                pollutant=row["pollutant"],
                averaging=row["averaging"],
                value=float(row["value"]),
                allowed=int(row["allowed"]),
                kind=row["kind"],
                source=row["source"],
                attained_by=row.get("attained_by"),
                averaged_over_years=int(row.get("averaged_over_years", 1)),
            )
            if limit.pollutant not in per or limit.averaging not in _AVERAGINGS:
                raise ValueError(f"eu_air_limits.yaml: bad row {row!r} in {name}")
            per[limit.pollutant].append(limit)
        table[str(name)] = {p: tuple(rows) for p, rows in per.items()}
    return table


def limit_values(directive: str = "2008/50/EC") -> dict[str, tuple[Limit, ...]]:
    """The air quality standards of a directive, per pollutant.

    Parameters
    ----------
    directive : {"2008/50/EC", "2024/2881"}
        Directive 2008/50/EC, or Directive (EU) 2024/2881 with the limit
        values to be attained by 1 January 2030.

    Returns
    -------
    dict
        ``{pollutant: (Limit, ...)}`` for "PM10", "PM2.5", "NO2", "O3",
        "SO2" (a pollutant without a standard maps to an empty tuple).

    Raises
    ------
    ValueError
        Unknown ``directive``; the message lists the known ones.

    Notes
    -----
    The values are data, in ``occidata/compute/data/eu_air_limits.yaml``,
    each with its ``source`` (directive, annex, section).

    Examples
    --------
    >>> [(l.averaging, l.value, l.allowed) for l in limit_values("2008/50/EC")["PM10"]]
    [('day', 50.0, 35), ('year', 40.0, 0)]
    """
    table = _limits_data()
    check_choice("directive", directive, table)
    return dict(table[directive])


def _annual_mean(x):
    """Calendar-year mean with 90 % of the year's hours; hours not in ``x`` count as missing."""
    xp = array_module(x)
    n_days = x.shape[-1] // HOURS_PER_DAY
    hours_in_year = HOURS_PER_DAY * (366 if n_days == 366 else 365)
    valid = ~xp.isnan(x)
    count = valid.sum(axis=-1)
    mean = xp.where(valid, x, 0.0).sum(axis=-1) / xp.maximum(count, 1)
    return xp.where(count >= math.ceil(_MIN_COVERAGE_YEAR * hours_in_year), mean, xp.nan)


def exceedances(
    hourly: Any, pollutant: str, directive: str = "2008/50/EC", backend: str = "auto",
    *, decimals: int = DEFAULT_DECIMALS,
) -> dict[str, Exceedance]:
    """Count the exceedances of each EU standard of a pollutant over one calendar year.

    Parameters
    ----------
    hourly : array_like, shape (..., 24 * n_days)
        Hourly concentrations (µg/m³) of one calendar year on the last axis,
        from 00:00 on 1 January; index 0 is the hour 00:00-01:00 of day 0.
        At most 366 days; a shorter input is taken as the start of the year,
        the hours not given counting as missing. NaN marks a missing hour.
    pollutant : {"PM10", "PM2.5", "NO2", "O3", "SO2"}
        Also as commonly written: ``"pm25"``, ``"pm2_5"``, ``"no2"``...
        (:func:`occidata.pollutants.pollutant_name`).
    directive : {"2008/50/EC", "2024/2881"}
        See :func:`limit_values`.
    backend : {"auto", "numpy", "numba", "cupy"}
        Implementation of the daily means and MDA8.
    decimals : int, default 1
        Decimals of the measurements (ATMO publishes one): each statistic is
        rounded to this resolution, half away from zero, before it is
        compared with the limit (:mod:`occidata.compute.resolution`).

    Returns
    -------
    dict
        ``{averaging: Exceedance}`` with one entry per standard of the
        pollutant in the directive, keyed "hour", "day", "mda8" or "year".
        ``Exceedance.values`` is the statistic compared, rounded to
        ``decimals`` (the hourly values, the daily means, the MDA8 or the
        annual mean, NaN where not valid),
        ``count`` the number of valid values strictly above the limit per
        series (0 or 1 for "year"), ``breached`` whether ``count`` exceeds
        the number allowed.

    Raises
    ------
    ValueError
        ``hourly`` as in :func:`daily_mean` or longer than 366 days; unknown
        ``pollutant`` or ``directive`` (the message lists the known ones).

    Notes
    -----
    Directive 2008/50/EC, Annex XI, Section A (kept by Directive (EU)
    2024/2881): a daily mean needs 18 valid hours, a calendar-year mean 90 %
    of the hours of the year (7884 of 8760, 7906 of 8784: a year with fewer
    than 329 days of input is never valid). The MDA8 follows :func:`mda8`.
    An exceedance is a value strictly above the limit, once rounded to the
    data's resolution: a daily mean of 50.0 µg/m³ (even computed as
    50.00000000000001) is not an exceedance of the PM10 limit, 50.05 rounds
    to 50.1 and is one. Every backend gives the same counts.

    The ozone target values allow their number of days "averaged over three
    years" (``Limit.averaged_over_years``): the count here is one year's;
    average the counts of three years before comparing with ``allowed`` if
    you assess the target value itself.

    Examples
    --------
    >>> days = [60.0] * 24 * 36 + [10.0] * 24 * 329
    >>> r = exceedances(days, "PM10", backend="numpy")
    >>> int(r["day"].count), bool(r["day"].breached)
    (36, True)
    """
    pollutant = pollutant_name(pollutant, POLLUTANTS)
    limits = limit_values(directive)[pollutant]
    decimals = check_decimals(decimals)
    x = _check_hourly(hourly)
    if x.shape[-1] > 366 * HOURS_PER_DAY:
        raise ValueError(
            f"hourly: {x.shape[-1] // HOURS_PER_DAY} days; exceedances counts one calendar year "
            "(at most 366 days): split longer series by year"
        )
    xp = array_module(x)
    stats: dict[str, Any] = {}
    result: dict[str, Exceedance] = {}
    for limit in limits:
        avg = limit.averaging
        if avg not in stats:
            if avg == "hour":
                stats[avg] = x
            elif avg == "day":
                stats[avg] = run_backend(_DAILY, backend, (x,), need=18, how="mean")
            elif avg == "mda8":
                stats[avg] = _mda8_checked(x, backend)
            else:
                stats[avg] = _annual_mean(x)
            stats[avg] = to_resolution(stats[avg], decimals)
        values = stats[avg]
        # "> limit", as the directives count exceedances, on the rounded statistic.
        above = xp.where(xp.isnan(values), False, values > limit.value)
        count = above.astype(xp.int64) if avg == "year" else above.sum(axis=-1).astype(xp.int64)
        result[avg] = Exceedance(limit, values, count, count > limit.allowed)
    return result


# --------------------------------------------------------------------------- xarray


def _daily_block(x, *, how, need, backend):
    x = _check_hourly(x, all_nan_ok=True)
    if how == "mda8":
        return _mda8_checked(x, backend)
    return run_backend(_DAILY, backend, (x,), need=need, how=how)


def _daily_xr(da, dim, how, need, backend):
    import xarray as xr

    if not isinstance(da, xr.DataArray):
        raise ValueError(f"hourly: expected an xarray.DataArray, got {type(da).__name__}")
    if dim not in da.dims:
        raise ValueError(f"dim={dim!r} is not a dimension of hourly; its dimensions are {da.dims}")
    n = da.sizes[dim]
    if n % HOURS_PER_DAY:
        raise ValueError(
            f"hourly: {dim!r} has {n} hours, not a whole number of days (a multiple of 24)"
        )
    if da.chunks is not None:
        da = da.chunk({dim: -1})
    out = xr.apply_ufunc(
        _daily_block,
        da,
        input_core_dims=[[dim]],
        output_core_dims=[[dim]],
        exclude_dims={dim},
        dask="parallelized",
        output_dtypes=[np.float64],
        dask_gufunc_kwargs={"output_sizes": {dim: n // HOURS_PER_DAY}},
        kwargs={"how": how, "need": need, "backend": backend},
        keep_attrs=True,
    )
    if dim in da.coords:
        # Each day labelled by its first hour (00:00).
        out = out.assign_coords({dim: da[dim].values[::HOURS_PER_DAY]})
    return out.transpose(*da.dims)


def daily_mean_xr(
    hourly: Any, dim: str = "time", min_coverage: float = 0.75, backend: str = "auto"
) -> Any:
    """:func:`daily_mean` along ``dim`` of a DataArray, lazily on dask-backed data.

    Parameters
    ----------
    hourly : xarray.DataArray
        Hourly values, ``dim`` starting at 00:00 of a day; dask data is
        rechunked to one chunk along ``dim`` and computed chunk by chunk over
        the other dimensions.
    dim : str, default "time"
    min_coverage, backend
        As :func:`daily_mean`.

    Returns
    -------
    xarray.DataArray
        ``dim`` now counts days, labelled by the coordinate of each day's
        first hour; lazy if ``hourly`` is.
    """
    return _daily_xr(hourly, dim, "mean", _min_hours(min_coverage), backend)


def daily_max_xr(
    hourly: Any, dim: str = "time", min_coverage: float = 0.75, backend: str = "auto"
) -> Any:
    """:func:`daily_max` along ``dim`` of a DataArray; see :func:`daily_mean_xr`."""
    return _daily_xr(hourly, dim, "max", _min_hours(min_coverage), backend)


def mda8_xr(hourly: Any, dim: str = "time", backend: str = "auto") -> Any:
    """:func:`mda8` along ``dim`` of a DataArray; see :func:`daily_mean_xr`."""
    return _daily_xr(hourly, dim, "mda8", 0, backend)
