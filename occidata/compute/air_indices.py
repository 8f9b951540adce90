"""Air quality indices: the European Air Quality Index (2025) and the French ATMO index (2021).

Both indices classify each pollutant's concentration into six bands by upper
limits (inclusive) and take the worst band over the pollutants. One band
kernel serves both; the limits are data (``data/eaqi_2025.yaml`` and
``data/atmo_2021.yaml``).

Band numbers: 1 (good / bon) to 6 (extremely poor / extrêmement mauvais);
**0 means "no data"** (every pollutant missing at that point). The worst
pollutant is an index into the result's ``pollutants`` tuple, -1 where there
is no data; on a tie the first pollutant in ``pollutants`` order is named.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from importlib import resources
from typing import Any, NamedTuple

import numba
import numpy as np
import yaml

from occidata.compute._parallel import serial_if_small
from occidata.compute._xp import array_module, require_cupy, run_backend, to_host
from occidata.compute.checks import as_float_array, check_non_negative, check_same_shape
from occidata.pollutants import find_pollutant, pollutant_name
from occidata.compute.resolution import (
    DEFAULT_DECIMALS,
    resolution_scale,
    to_resolution_array,
    to_resolution_scalar,
)

__all__ = [
    "IndexResult",
    "atmo_index",
    "atmo_index_daily",
    "atmo_index_xr",
    "bands",
    "eaqi",
    "eaqi_xr",
    "index_scheme",
    "label",
]

#: Canonical pollutant order of both indices (the order of ``IndexResult.pollutants``).
POLLUTANTS = ("PM2.5", "PM10", "NO2", "O3", "SO2")
_SCHEME_FILES = {"eaqi": "eaqi_2025.yaml", "atmo": "atmo_2021.yaml"}


class IndexResult(NamedTuple):
    """An air quality index at every point.

    index : int8 array, the overall band 1..6 (0 = no data).
    worst : int8 array, index into ``pollutants`` of the pollutant that sets the band
        (-1 = no data; on a tie the first in ``pollutants`` order).
    sub_indices : dict pollutant -> int8 array, each pollutant's band (0 = missing value).
    pollutants : tuple of the pollutant names given, in canonical order.
    """

    index: Any
    worst: Any
    sub_indices: dict
    pollutants: tuple


# --------------------------------------------------------------------------- rule data


@functools.cache
def index_scheme(name: str) -> dict:
    """The band limits, labels and source of index ``name`` ("eaqi" or "atmo"), from YAML.

    Returns a dict with ``limits`` (pollutant -> tuple of 5 upper limits, µg/m³,
    inclusive), ``labels`` (lang -> 6 labels), ``no_data`` (lang -> label of
    band 0), ``source`` (the legal or official text) and, for ATMO,
    ``statistic`` (pollutant -> "mean" or "max", the daily aggregate).
    """
    if name not in _SCHEME_FILES:
        raise ValueError(f"scheme={name!r} is not known; use one of {', '.join(map(repr, _SCHEME_FILES))}")
    text = resources.files("occidata.compute").joinpath("data", _SCHEME_FILES[name]).read_text("utf-8")
    raw = yaml.safe_load(text)
    limits = {p: tuple(float(v) for v in raw["pollutants"][p]) for p in POLLUTANTS}
    for p, lim in limits.items():
        if len(lim) != 5 or list(lim) != sorted(lim):
            raise ValueError(f"{_SCHEME_FILES[name]}: limits of {p} must be 5 increasing values")
    return {
        "name": raw["name"],
        "title": raw["title"],
        "source": " ".join(raw["source"].split()),
        "unit": raw["unit"],
        "limits": limits,
        "labels": {lang: tuple(v) for lang, v in raw["labels"].items()},
        "no_data": dict(raw["no_data"]),
        "statistic": dict(raw.get("statistic", {})),
    }


def _limits_array(scheme: dict, pollutants: tuple[str, ...]) -> np.ndarray:
    return np.array([scheme["limits"][p] for p in pollutants], dtype=np.float64)


# --------------------------------------------------------------------------- band kernel
# values: a tuple of P flat float64 arrays of one length N; limits: (P, K) ascending.
# Band of a value = 1 + number of limits strictly below it (limits inclusive); NaN -> 0.
# The value is first rounded to the data's resolution (occidata.compute.resolution; scale =
# 10**decimals), on every backend, so that a mean of exactly 50.0 is never 50.00000000000001.


def _bands_xp(xp, values, limits, scale):
    limits = xp.asarray(limits)
    n = values[0].shape[0]
    sub = xp.empty((len(values), n), dtype=xp.int8)
    for p, v in enumerate(values):
        band = xp.searchsorted(limits[p], to_resolution_array(xp, v, scale), side="left") + 1
        sub[p] = xp.where(xp.isnan(v), 0, band)
    overall = sub.max(axis=0)
    worst = xp.where(overall == 0, -1, sub.argmax(axis=0)).astype(xp.int8)
    return sub, overall, worst


def _bands_numpy(*values, limits, scale):
    return _bands_xp(np, values, limits, scale)


def _bands_cupy(*values, limits, scale):
    return _bands_xp(require_cupy(), values, limits, scale)


_BLOCK = 4096  # points per task: the block's values stay in cache across pollutants


@numba.njit(cache=True, error_model="numpy")
def _bands_block(values, limits, scale, sub, overall, worst, start, stop):
    """Bands of points start..stop; branch-free in the inner loop so that it vectorises."""
    for i in range(start, stop):
        overall[i] = 0
        worst[i] = -1
    for p in range(len(values)):
        v = values[p]
        row = sub[p]
        lim = limits[p]
        for i in range(start, stop):
            x = to_resolution_scalar(v[i], scale)
            b = 1
            for k in range(lim.shape[0]):  # limits ascending: counting those below is the band - 1
                b += x > lim[k]
            if np.isnan(x):
                b = 0
            row[i] = b
            if b > overall[i]:  # strict: on a tie the first pollutant stays
                overall[i] = b
                worst[i] = p


@numba.njit(parallel=True, cache=True)
def _bands_parallel(values, limits, scale, sub, overall, worst):
    n = sub.shape[1]
    for j in numba.prange((n + _BLOCK - 1) // _BLOCK):
        _bands_block(values, limits, scale, sub, overall, worst, j * _BLOCK, min(n, (j + 1) * _BLOCK))



def _bands_numba(*values, limits, scale):
    n = values[0].shape[0]
    sub = np.empty((len(values), n), dtype=np.int8)
    overall = np.empty(n, dtype=np.int8)
    worst = np.empty(n, dtype=np.int8)
    with serial_if_small(n * len(values)):
        _bands_parallel(tuple(np.ascontiguousarray(v) for v in values), np.ascontiguousarray(limits),
                        scale, sub, overall, worst)
    return sub, overall, worst


_BANDS = {"numpy": _bands_numpy, "numba": _bands_numba, "cupy": _bands_cupy}


def bands(values: Any, limits: Any, backend: str = "auto", *,
          decimals: int = DEFAULT_DECIMALS) -> tuple[Any, Any, Any]:
    """Classify values into bands by inclusive upper limits; the worst band over rows.

    The kernel behind :func:`eaqi` and :func:`atmo_index_daily`, for any
    banded index.

    Parameters
    ----------
    values : array_like, shape (P, ...)
        One row per quantity (pollutant); NaN = missing.
    limits : array_like, shape (P, K)
        Ascending upper limits of bands 1..K of each row; a value above the
        last is band K + 1.
    backend : {"auto", "numpy", "numba", "cupy"}
    decimals : int, default 1
        Decimals of the data: each value is rounded to this resolution, half
        away from zero, before it is classified
        (:mod:`occidata.compute.resolution`).

    Returns
    -------
    sub : int8 array, shape (P, ...)
        Band of each value, ``1 + (number of limits < rounded value)``; 0 for NaN.
    overall : int8 array, shape (...)
        Largest band over the rows (0 where every row is NaN).
    worst : int8 array, shape (...)
        Row holding that band, the first one on a tie; -1 where all are NaN.
    """
    x = as_float_array("values", values)
    lim = np.asarray(to_host(limits), dtype=np.float64)
    if x.ndim < 1:
        raise ValueError("values: expected one row per quantity, got a scalar")
    if lim.ndim != 2 or lim.shape[0] != x.shape[0]:
        raise ValueError(f"limits: expected shape ({x.shape[0]}, K) for values of shape {tuple(x.shape)}, "
                         f"got {lim.shape}")
    if np.any(np.diff(lim, axis=1) < 0):
        raise ValueError("limits: each row must be ascending")
    scale = resolution_scale(decimals)
    rest = x.shape[1:]
    flat = tuple(x[p].reshape(-1) for p in range(x.shape[0]))
    sub, overall, worst = run_backend(_BANDS, backend, flat, limits=lim, scale=scale)
    return sub.reshape((x.shape[0],) + rest), overall.reshape(rest), worst.reshape(rest)


# --------------------------------------------------------------------------- validation


def _named_pollutants(argument: str, data: Any, strict: bool) -> dict[str, Any]:
    """``{canonical name: key}`` of the keys (a Dataset's variables) that name a pollutant, in any
    spelling :func:`occidata.pollutants.pollutant_name` accepts; other keys are an error when
    ``strict``, else left out. A pollutant given twice (``"pm25"`` and ``"PM2.5"``) is an error."""
    found: dict[str, Any] = {}
    for key in getattr(data, "data_vars", data):
        name = pollutant_name(key, POLLUTANTS, argument) if strict else find_pollutant(key)
        if name is None:
            continue
        if name in found:
            raise ValueError(f"{argument} : {name} est donné deux fois ({found[name]!r} et {key!r})")
        found[name] = key
    return found


def _check_mapping(argument: str, data: Any, *, per_day: int | None = None,
                   all_nan_ok: bool = False) -> tuple[tuple[str, ...], list]:
    """Pollutant names (canonical order) and float64 arrays of one shape, or ValueError naming ``argument``."""
    if not isinstance(data, Mapping) or not data:
        raise ValueError(f"{argument}: expected a non-empty mapping pollutant -> array "
                         f"(pollutants {', '.join(POLLUTANTS)})")
    given = _named_pollutants(argument, data, strict=True)  # canonical name -> the caller's key
    names = tuple(p for p in POLLUTANTS if p in given)
    arrays = [as_float_array(f"{argument}[{given[p]!r}]", data[given[p]]) for p in names]
    check_same_shape(**{f"{argument}[{given[p]!r}]": a for p, a in zip(names, arrays)})
    for p, a in zip(names, arrays):
        check_non_negative(f"{argument}[{given[p]!r}]", a)
    if per_day is not None:
        shape = arrays[0].shape
        if len(shape) == 0 or shape[-1] % per_day:
            raise ValueError(f"{argument}: the last axis has {shape[-1] if shape else 0} hours, not a whole "
                             f"number of days (a multiple of {per_day}); index 0 must be 00:00-01:00 of a day")
    if not all_nan_ok and not any(bool(to_host(array_module(a).isfinite(a).any())) for a in arrays):
        raise ValueError(f"{argument}: every value of every pollutant is NaN; there is nothing to compute")
    return names, arrays


def _classify(scheme_name: str, names: tuple[str, ...], arrays: list, backend: str,
              decimals: int) -> IndexResult:
    scheme = index_scheme(scheme_name)
    shape = arrays[0].shape
    flat = tuple(a.reshape(-1) for a in arrays)
    sub, overall, worst = run_backend(_BANDS, backend, flat, limits=_limits_array(scheme, names),
                                      scale=resolution_scale(decimals))
    return IndexResult(
        index=overall.reshape(shape),
        worst=worst.reshape(shape),
        sub_indices={p: sub[i].reshape(shape) for i, p in enumerate(names)},
        pollutants=names,
    )


# --------------------------------------------------------------------------- EAQI


def eaqi(concentrations: Mapping[str, Any], backend: str = "auto", *,
         decimals: int = DEFAULT_DECIMALS) -> IndexResult:
    """European Air Quality Index (EEA, bands revised in 2025) at every point.

    Parameters
    ----------
    concentrations : mapping pollutant -> array_like
        Concentrations in µg/m³, arrays of one shape (any shape: stations x
        hours, a grid, ...). Pollutants among "PM2.5", "PM10", "NO2", "O3",
        "SO2", also as commonly written ("pm25", "pm2_5", "no2"...); any
        subset. NaN = missing value.
    backend : {"auto", "numpy", "numba", "cupy"}
    decimals : int, default 1
        Decimals of the data: each concentration is rounded to this
        resolution, half away from zero, before it is compared with the band
        limits (:mod:`occidata.compute.resolution`).

    Returns
    -------
    IndexResult
        ``index`` (int8, 1 good .. 6 extremely poor, 0 no data), ``worst``
        (int8 index into ``pollutants``, -1 no data), ``sub_indices``
        (pollutant -> int8 band, 0 where its value is NaN) and
        ``pollutants`` (the names given, in the order above).

    Raises
    ------
    ValueError
        An unknown pollutant (the message lists the known ones), arrays of
        different shapes, an empty array, a negative concentration, or every
        value NaN; the message names ``concentrations[<pollutant>]``.

    Notes
    -----
    Band upper limits (µg/m³, inclusive): PM2.5 5/15/50/90/140, PM10
    15/45/120/195/270, NO2 10/25/60/100/150, O3 60/100/120/160/180, SO2
    20/40/125/190/275; above the last limit is band 6. The overall index is
    the worst sub-index. A NaN concentration leaves that pollutant out at that
    point; where all are NaN the index is 0, "no data". The function
    classifies the concentrations it is given: average them as the EEA does
    (hourly values for NO2, O3, SO2; the EEA's averaging for PM) beforehand.
    Limits are read from ``data/eaqi_2025.yaml``. A value is compared once
    rounded to ``decimals``: 10.04 is 10.0 (band 1 for NO2), 10.05 is 10.1.

    Examples
    --------
    >>> r = eaqi({"NO2": [10.0, 10.1], "O3": [60.0, float("nan")]}, backend="numpy")
    >>> r.index.tolist(), [r.pollutants[i] for i in r.worst]
    ([1, 2], ['NO2', 'NO2'])
    """
    return _eaqi(concentrations, backend, decimals=decimals)


def _eaqi(concentrations, backend, all_nan_ok=False, decimals=DEFAULT_DECIMALS):
    resolution_scale(decimals)  # a bad `decimals` is named before the data are checked
    names, arrays = _check_mapping("concentrations", concentrations, all_nan_ok=all_nan_ok)
    return _classify("eaqi", names, arrays, backend, decimals)


# --------------------------------------------------------------------------- ATMO


def atmo_index_daily(daily: Mapping[str, Any], backend: str = "auto", *,
                     decimals: int = DEFAULT_DECIMALS) -> IndexResult:
    """French ATMO index (2021) from daily aggregates already computed.

    Parameters
    ----------
    daily : mapping pollutant -> array_like
        For each day, the daily mean (PM10, PM2.5) or the daily maximum of
        hourly values (NO2, O3, SO2), in µg/m³; arrays of one shape. Any
        subset of the five pollutants; NaN = missing.
    backend : {"auto", "numpy", "numba", "cupy"}
    decimals : int, default 1
        Decimals of the data (ATMO publishes one): each daily aggregate is
        rounded to this resolution, half away from zero, before it is
        compared with the class limits (:mod:`occidata.compute.resolution`).

    Returns
    -------
    IndexResult
        As :func:`eaqi`: ``index`` 1 Bon .. 6 Extrêmement mauvais, 0 no data.

    Raises
    ------
    ValueError
        As :func:`eaqi`, naming ``daily[<pollutant>]``.

    Notes
    -----
    Arrêté du 10 juillet 2020 relatif à l'indice de la qualité de l'air
    ambiant, annexe I. Class upper limits (µg/m³, inclusive): PM2.5
    10/20/25/50/75, PM10 20/40/50/100/150, NO2 40/90/120/230/340, O3
    50/100/130/240/380, SO2 100/200/350/500/750; the index is the worst
    sub-index. Limits are read from ``data/atmo_2021.yaml``. The limits are
    compared with the aggregate rounded to ``decimals``: a PM10 mean of 50.0
    (even computed as 50.00000000000001) is "Dégradé", 50.05 rounds to 50.1
    and is "Mauvais".
    """
    return _atmo_daily(daily, backend, decimals=decimals)


def _atmo_daily(daily, backend, all_nan_ok=False, decimals=DEFAULT_DECIMALS):
    resolution_scale(decimals)  # a bad `decimals` is named before the data are checked
    names, arrays = _check_mapping("daily", daily, all_nan_ok=all_nan_ok)
    return _classify("atmo", names, arrays, backend, decimals)


def atmo_index(hourly: Mapping[str, Any], min_coverage: float = 0.75, backend: str = "auto", *,
               decimals: int = DEFAULT_DECIMALS) -> IndexResult:
    """French ATMO index (2021), daily, from hourly concentrations.

    Parameters
    ----------
    hourly : mapping pollutant -> array_like, shape (..., 24 * n_days)
        Hourly concentrations in µg/m³ on the last axis, index 0 the hour
        00:00-01:00 of day 0; arrays of one shape; any subset of "PM2.5",
        "PM10", "NO2", "O3", "SO2". NaN = missing hour.
    min_coverage : float, default 0.75
        Valid hours a day needs for its aggregate (18 of 24 by default);
        a day below it is missing for that pollutant.
    backend : {"auto", "numpy", "numba", "cupy"}
    decimals : int, default 1
        Decimals of the data: the daily aggregates are rounded to this
        resolution before they are classified (see :func:`atmo_index_daily`).

    Returns
    -------
    IndexResult
        Arrays of shape (..., n_days); see :func:`atmo_index_daily`.

    Raises
    ------
    ValueError
        An unknown pollutant, shapes that differ, an empty array, a negative
        value, a last axis that is not a multiple of 24, or every value NaN.

    Notes
    -----
    Arrêté du 10 juillet 2020, annexe I: the daily maximum of hourly values
    for SO2, NO2 and O3, the daily mean for PM10 and PM2.5 (computed by
    :func:`occidata.compute.air_limits.daily_max` / ``daily_mean`` with the
    coverage rule), then :func:`atmo_index_daily`.
    """
    return _atmo(hourly, min_coverage, backend, decimals=decimals)


def _atmo(hourly, min_coverage, backend, all_nan_ok=False, decimals=DEFAULT_DECIMALS):
    from occidata.compute.air_limits import daily_max, daily_mean

    resolution_scale(decimals)  # a bad `decimals` is named before the data are checked
    names, arrays = _check_mapping("hourly", hourly, per_day=24, all_nan_ok=all_nan_ok)
    statistic = index_scheme("atmo")["statistic"]
    daily = {}
    for p, a in zip(names, arrays):
        if not bool(to_host(array_module(a).isfinite(a).any())):
            # A pollutant with no value at all is simply absent (daily_* refuses all-NaN input).
            daily[p] = array_module(a).full(a.shape[:-1] + (a.shape[-1] // 24,), np.nan)
            continue
        aggregate = daily_max if statistic[p] == "max" else daily_mean
        daily[p] = aggregate(a, min_coverage=min_coverage, backend=backend)
    return _atmo_daily(daily, backend, all_nan_ok=True, decimals=decimals)


# --------------------------------------------------------------------------- labels


def label(index: Any, lang: str = "fr", scheme: str = "eaqi") -> Any:
    """The words of band numbers: ``label(2) -> "Moyen"``, ``label(2, "en") -> "Fair"``.

    Parameters
    ----------
    index : int or array_like of int
        Band numbers 0..6 (0 = no data), e.g. ``IndexResult.index``.
    lang : {"fr", "en"}
    scheme : {"eaqi", "atmo"}
        Whose wording: the EEA's (English; French as the ATMO qualifiers,
        see ``data/eaqi_2025.yaml``) or the arrêté's (French; English ours).

    Returns
    -------
    str or ndarray of str (NumPy, also for CuPy input).
    """
    info = index_scheme(scheme)
    if lang not in info["labels"]:
        raise ValueError(f"lang={lang!r} is not known; use one of {', '.join(map(repr, info['labels']))}")
    words = np.array((info["no_data"][lang],) + info["labels"][lang], dtype=object)
    idx = np.asarray(to_host(index))
    if idx.dtype.kind not in "iu" or idx.size and (idx.min() < 0 or idx.max() > 6):
        raise ValueError(f"index: expected band numbers 0..6, got {idx!r}")
    if idx.ndim == 0:
        return str(words[int(idx)])
    return words[idx].astype(str)


# --------------------------------------------------------------------------- xarray


def _xr_outputs(result: IndexResult):
    return (result.index, result.worst) + tuple(result.sub_indices[p] for p in result.pollutants)


def _to_dataset(outputs, names, scheme_name):
    import xarray as xr

    index, worst, *subs = outputs
    ds = xr.Dataset({"index": index, "worst": worst, **{f"{p}_index": s for p, s in zip(names, subs)}})
    ds.attrs.update(scheme=scheme_name, pollutants=list(names), source=index_scheme(scheme_name)["source"],
                    no_data="index 0 = no data; worst -1 = no data")
    return ds


def eaqi_xr(concentrations: Any, backend: str = "auto", *, decimals: int = DEFAULT_DECIMALS):
    """:func:`eaqi` on xarray data, lazily on dask chunks.

    Parameters
    ----------
    concentrations : xarray.Dataset or mapping pollutant -> xarray.DataArray
        Variables named by pollutant ("PM2.5", "PM10", ...); other variables
        of a Dataset are ignored. Any chunking.
    backend : {"auto", "numpy", "numba", "cupy"}
    decimals : int, default 1
        As :func:`eaqi`.

    Returns
    -------
    xarray.Dataset
        ``index``, ``worst`` and ``<pollutant>_index`` (int8), lazy when the
        input is dask-backed (computed chunk by chunk on ``.compute()``).
    """
    import xarray as xr

    resolution_scale(decimals)  # named now, not when the chunks are computed
    given = _named_pollutants("concentrations", concentrations, strict=False)
    names = tuple(p for p in POLLUTANTS if p in given)
    if not names:
        raise ValueError(f"concentrations: no variable named like a pollutant ({', '.join(POLLUTANTS)})")
    arrays = xr.broadcast(*(concentrations[given[p]] for p in names))
    arrays = xr.unify_chunks(*arrays) if any(a.chunks is not None for a in arrays) else arrays

    def block(*blocks):
        # A block may be all NaN (a chunk of sea): it gets "no data", not an error.
        return _xr_outputs(_eaqi(dict(zip(names, blocks)), backend, all_nan_ok=True, decimals=decimals))

    outputs = xr.apply_ufunc(block, *arrays, dask="parallelized", output_core_dims=[()] * (2 + len(names)),
                             output_dtypes=[np.int8] * (2 + len(names)))
    return _to_dataset(outputs, names, "eaqi")


def atmo_index_xr(hourly: Any, dim: str = "time", min_coverage: float = 0.75, backend: str = "auto", *,
                  decimals: int = DEFAULT_DECIMALS):
    """:func:`atmo_index` on xarray data, lazily on dask chunks.

    Parameters
    ----------
    hourly : xarray.Dataset or mapping pollutant -> xarray.DataArray
        Hourly concentrations along ``dim`` (a whole number of days starting
        at 00:00); chunks along ``dim`` are merged into one.
    dim : str, default "time"
    min_coverage : float, default 0.75
    backend : {"auto", "numpy", "numba", "cupy"}
    decimals : int, default 1
        As :func:`atmo_index`.

    Returns
    -------
    xarray.Dataset
        ``index``, ``worst`` and ``<pollutant>_index`` with dimension
        ``"day"`` in place of ``dim`` (coordinate: the first hour of each day
        when ``dim`` has one).
    """
    import xarray as xr

    resolution_scale(decimals)  # named now, not when the chunks are computed
    given = _named_pollutants("hourly", hourly, strict=False)
    names = tuple(p for p in POLLUTANTS if p in given)
    if not names:
        raise ValueError(f"hourly: no variable named like a pollutant ({', '.join(POLLUTANTS)})")
    arrays = xr.broadcast(*(hourly[given[p]] for p in names))
    n = arrays[0].sizes[dim]
    if n % 24:
        raise ValueError(f"hourly: {dim!r} has {n} hours, not a whole number of days (a multiple of 24)")
    if any(a.chunks is not None for a in arrays):
        arrays = xr.unify_chunks(*(a.chunk({dim: -1}) for a in arrays))

    def block(*blocks):
        return _xr_outputs(_atmo(dict(zip(names, blocks)), min_coverage, backend, all_nan_ok=True,
                                 decimals=decimals))

    outputs = xr.apply_ufunc(
        block, *arrays, dask="parallelized",
        input_core_dims=[[dim]] * len(names), output_core_dims=[["day"]] * (2 + len(names)),
        output_dtypes=[np.int8] * (2 + len(names)),
        dask_gufunc_kwargs={"output_sizes": {"day": n // 24}},
    )
    ds = _to_dataset(outputs, names, "atmo")
    if dim in arrays[0].coords:
        ds = ds.assign_coords(day=arrays[0][dim].values[::24])
    return ds
