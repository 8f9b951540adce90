"""Heat waves: Météo-France's departmental canicule criterion and Russo's HWMId.

- :func:`heatwave_alerts`: the biometeorological indicators IBMn / IBMx (running means of
  the daily minimum and maximum temperature over ``window`` days, 3 for Météo-France) and the
  days on which both reach the department's thresholds, with per-point counts of alert days and
  of episodes. :func:`department_thresholds` turns a grid of department codes into the two
  threshold grids (the thresholds are data: ``data/heatwave_thresholds.yaml``);
  :func:`heatwave_alerts_xr` runs it on a gridded dataset chunk by chunk.
- The Heat Wave Magnitude Index daily of Russo et al. (2015) is in :mod:`occidata.compute.hwmid`.

Daily values lie on axis 0 (time), consecutive days, any trailing spatial shape ((time,
station) or (time, y, x)). Temperatures in °C, float64 throughout; NaN is a missing value.
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from typing import Any, NamedTuple

import numba
import numpy as np
import yaml

from occidata.compute._xp import array_module, is_cupy_array, require_cupy, run_backend, to_host
from occidata.compute.checks import (
    as_float_array,
    check_not_all_nan,
    check_positive_int,
    check_same_shape,
)
from occidata.compute.resolution import (
    DEFAULT_DECIMALS,
    resolution_scale,
    to_resolution_array,
    to_resolution_scalar,
)

__all__ = [
    "HeatwaveAlerts",
    "department_thresholds",
    "heatwave_alerts",
    "heatwave_alerts_xr",
    "heatwave_thresholds",
]

# Points handled together by one Numba task (HWMId kernels, heat-wave alerts): the kernels
# walk time in the outer loop and the points of a block in the inner one, so that a (time,
# point) array is read row by row (C order) instead of one strided column per point.
_BLOCK = 64
_HEAT_BLOCK = 256


# --------------------------------------------------------------------------- thresholds (data)


@functools.cache
def _threshold_table() -> dict[str, Any]:
    text = resources.files("occidata.compute").joinpath("data/heatwave_thresholds.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def heatwave_thresholds() -> dict[str, dict[str, Any]]:
    """Météo-France's heat-wave thresholds of the 13 departments of Occitanie.

    Returns
    -------
    dict
        ``{"09": {"name": "Ariège", "tmin": 19.0, "tmax": 34.0, "verified": True, ...}, ...}``
        keyed by department code: IBMn threshold ``tmin`` and IBMx threshold ``tmax`` in °C,
        and whether two independent sources agree on them (``verified``). The sources are in
        ``data/heatwave_thresholds.yaml``.
    """
    table = _threshold_table()["departments"]
    return {
        code: {**entry, "tmin": float(entry["tmin"]), "tmax": float(entry["tmax"])}
        for code, entry in table.items()
    }


def department_thresholds(department_mask: Any, unknown: str = "raise") -> tuple[Any, Any]:
    """The IBMn and IBMx threshold grids of a grid of department codes.

    Parameters
    ----------
    department_mask
        Department codes, 0 outside any department: integers (9 for Ariège, 31 for
        Haute-Garonne...: the ``department`` variable of ``occidata.datasets.weather``) or the
        INSEE codes as France writes them (``"09"``, ``"31"``, ``"2A"``; ``"0"`` or ``""``
        outside). A NumPy or CuPy array (integers), a list or a scalar, or an xarray DataArray.
    unknown
        What a non-zero code missing from the table means: ``"raise"`` (a ValueError) or
        ``"nan"`` (no threshold, so no alert there; for a grid wider than Occitanie).

    Returns
    -------
    tuple
        ``(tmin_threshold, tmax_threshold)`` in °C, float64, of the mask's shape (DataArrays
        with the mask's coordinates when it is one); NaN where the code is 0 (or unknown with
        ``unknown="nan"``).

    Raises
    ------
    ValueError
        ``department_mask`` holds a code that is not in the table (with ``unknown="raise"``),
        text that is not an INSEE department code, or numbers that are not integers;
        ``unknown`` is not "raise" or "nan".

    Examples
    --------
    >>> department_thresholds(["09", "34", "0"])[1].tolist()
    [34.0, 35.0, nan]
    """
    if unknown not in ("raise", "nan"):
        raise ValueError(f"unknown={unknown!r} is not known; use one of 'raise', 'nan'")
    try:
        import xarray as xr
    except ImportError:  # pragma: no cover - xarray is a dependency
        xr = None
    if xr is not None and isinstance(department_mask, xr.DataArray):
        if department_mask.chunks is not None:
            # Dask-backed: look up block by block, lazily (a bad code is reported on compute).
            grids = [
                xr.apply_ufunc(lambda m, i=i: department_thresholds(m, unknown)[i], department_mask,
                               dask="parallelized", output_dtypes=[np.float64])
                for i in (0, 1)
            ]
        else:
            values = department_thresholds(department_mask.values, unknown)
            grids = [department_mask.copy(data=v) for v in values]
        return (
            grids[0].rename("tmin_threshold").assign_attrs(units="degC"),
            grids[1].rename("tmax_threshold").assign_attrs(units="degC"),
        )
    if not is_cupy_array(department_mask):
        text = np.asarray(department_mask)
        if text.dtype.kind in "USO":
            return _text_thresholds(text, unknown)
    xp = array_module(department_mask)
    codes = xp.asarray(department_mask)
    if codes.dtype.kind == "f":
        finite = codes[xp.isfinite(codes)]
        if bool(to_host((finite != xp.round(finite)).any())):
            raise ValueError("department_mask: department codes must be integers (0 outside)")
        codes = xp.where(xp.isfinite(codes), codes, 0)
    elif codes.dtype.kind not in "iu":
        raise ValueError(f"department_mask: expected integer department codes, got dtype {codes.dtype}")
    codes = codes.astype(np.int64)
    if bool(to_host((codes < 0).any())):
        raise ValueError("department_mask: negative department code (0 marks outside any department)")
    table = heatwave_thresholds()
    known = {int(code): entry for code, entry in table.items()}
    present = {int(c) for c in np.unique(to_host(codes))} - {0}
    missing = sorted(present - set(known))
    if missing and unknown == "raise":
        raise _no_thresholds([f"{code:02d}" for code in missing], table)
    lookup_size = max([*known, *present, 0]) + 1
    tmin_lut = np.full(lookup_size, np.nan)
    tmax_lut = np.full(lookup_size, np.nan)
    for code, entry in known.items():
        tmin_lut[code], tmax_lut[code] = entry["tmin"], entry["tmax"]
    return xp.asarray(tmin_lut)[codes], xp.asarray(tmax_lut)[codes]


def _no_thresholds(missing: list[str], table: dict) -> ValueError:
    return ValueError(
        f"department_mask : pas de seuils de canicule pour le(s) département(s) {', '.join(missing)} ; "
        f"la table couvre {', '.join(sorted(table))} (0 = hors département) ; passez unknown='nan' pour "
        "les laisser sans alerte"
    )


def _insee_key(value: Any) -> str | None:
    """The table's key of one INSEE department code ("9" -> "09", "2a" -> "2A"); None outside."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)  # 9.0 in an object column is the code 9
    text = str(value).strip().upper()
    if re.fullmatch(r"\d{1,3}", text):
        return f"{int(text):02d}" if int(text) else None
    if text in ("", "2A", "2B"):
        return text or None
    raise ValueError(
        f"department_mask : {str(value)!r} n'est pas un code de département INSEE (par exemple '09', '2A', '34', "
        "ou '0' hors département)"
    )


def _text_thresholds(codes: np.ndarray, unknown: str) -> tuple[np.ndarray, np.ndarray]:
    """:func:`department_thresholds` of codes written as text (NumPy only: CuPy has no strings)."""
    import pandas as pd

    table = heatwave_thresholds()
    # factorize, not np.unique: an object array may mix str, int and None, which do not sort.
    inverse, uniques = pd.factorize(codes.reshape(-1), use_na_sentinel=True)
    keys = [_insee_key(u) for u in uniques] + [None]  # index -1 (None, NaN): outside
    missing = sorted({k for k in keys if k is not None and k not in table})
    if missing and unknown == "raise":
        raise _no_thresholds(missing, table)
    tmin = np.array([table[k]["tmin"] if k in table else np.nan for k in keys], dtype=np.float64)
    tmax = np.array([table[k]["tmax"] if k in table else np.nan for k in keys], dtype=np.float64)
    return tmin[inverse].reshape(codes.shape), tmax[inverse].reshape(codes.shape)


# --------------------------------------------------------------------------- heatwave_alerts


class HeatwaveAlerts(NamedTuple):
    """Result of :func:`heatwave_alerts`.

    ``alert``, ``ibmn`` and ``ibmx`` have the input's shape (time, ...); ``alert_days`` and
    ``episodes`` the spatial shape (...).
    """

    alert: Any       # bool: IBMn >= tmin threshold and IBMx >= tmax threshold
    ibmn: Any        # running mean of Tmin over the window ending that day, rounded to the data's
                     # resolution (NaN before the window is full)
    ibmx: Any        # running mean of Tmax, likewise
    alert_days: Any  # float64: number of alert days per point (NaN: no threshold or no full window)
    episodes: Any    # float64: number of runs of consecutive alert days per point (NaN likewise)


def _spatial_threshold(name: str, value: Any, spatial: tuple[int, ...]) -> Any:
    """``value`` as float64 broadcast to the spatial shape, flattened to (points,)."""
    th = as_float_array(name, value)
    xp = array_module(th)
    try:
        return xp.ascontiguousarray(xp.broadcast_to(th, spatial)).reshape(-1)
    except ValueError:
        raise ValueError(
            f"{name}: shape {tuple(th.shape)} does not broadcast to the spatial shape {spatial} "
            "(the temperatures' shape without the time axis)"
        ) from None


def heatwave_alerts(
    tmin: Any,
    tmax: Any,
    tmin_threshold: Any,
    tmax_threshold: Any,
    window: int = 3,
    backend: str = "auto",
    *,
    decimals: int = DEFAULT_DECIMALS,
) -> HeatwaveAlerts:
    """Météo-France's departmental heat-wave (canicule) criterion on daily temperatures.

    IBMn and IBMx are the ``window``-day running means of the daily minimum and maximum
    temperature, rounded to the data's resolution (``decimals``); a day is an alert day when
    IBMn >= ``tmin_threshold`` **and** IBMx >= ``tmax_threshold`` (thresholds reached or
    exceeded).

    Parameters
    ----------
    tmin, tmax
        Daily minimum and maximum temperature (°C), time on axis 0, consecutive days, any
        trailing spatial shape, the same shape for both. ``tmin > tmax`` on a day is not
        checked (it is not an error here).
    tmin_threshold, tmax_threshold
        The department's IBMn and IBMx thresholds (°C): a scalar or an array broadcastable to
        the spatial shape (see :func:`department_thresholds`). NaN = no department there: no
        alert.
    window
        Days in the running mean; 3 for Météo-France.
    backend
        "auto", "numpy", "numba" or "cupy".
    decimals
        Decimals of the temperatures (Météo-France publishes one): IBMn and IBMx are rounded
        to this resolution, half away from zero, before they are compared with the thresholds
        (:mod:`occidata.compute.resolution`).

    Returns
    -------
    HeatwaveAlerts
        ``alert`` (bool), ``ibmn``, ``ibmx`` (time, ...; rounded, the values compared) and per
        point ``alert_days`` and ``episodes`` (the number of runs of consecutive alert days).

    Raises
    ------
    ValueError
        Empty or all-NaN temperatures, ``tmin`` and ``tmax`` of different shapes, a threshold
        that does not broadcast to the spatial shape, ``window`` not a positive integer or
        longer than the series, ``decimals`` not an integer from 0 to 3.

    Notes
    -----
    **Trailing window.** The running mean is assigned to the last day of its window: IBM on
    day d is the mean of days d-window+1 .. d, and the first ``window - 1`` days have NaN
    indicators and no alert. This is the observation view (a heat wave is declared once its
    days have been measured). Météo-France's vigilance for day d uses the *forecast* mean of
    days d, d+1, d+2: that is this result shifted back by ``window - 1`` days
    (``alert[d + window - 1]``).

    **NaN rule.** A window with a missing day has NaN indicators and is not an alert day, so
    a missing day ends an episode. ``alert_days`` and ``episodes`` are NaN at points without
    a threshold (NaN) or without a single complete window; they are counts elsewhere.

    **Arithmetic.** Every backend sums a window's days in the same order (oldest first),
    divides by ``window`` and rounds to the resolution; the window is recomputed for each day
    rather than updated as a running sum, which costs ``window`` additions a day. The rounding
    is what makes a mean exactly at a threshold an alert: (19.2 + 20.9 + 22.9) / 3 is
    20.999999999999996 in floating point, 21.0 once rounded, and reaches 21.

    Source: Système d'alerte canicule et santé (InVS, now Santé publique France, with
    Météo-France, 2004-): IBMn/IBMx, 3-day means against departmental thresholds.

    Examples
    --------
    >>> import numpy as np
    >>> r = heatwave_alerts(np.array([20., 21, 22, 23, 18]), np.array([34., 36, 38, 37, 30]),
    ...                     21.0, 36.0, backend="numpy")
    >>> r.alert.tolist(), float(r.episodes)
    ([False, False, True, True, False], 1.0)
    """
    window = check_positive_int("window", window)
    scale = resolution_scale(decimals)
    tn = as_float_array("tmin", tmin)
    tx = as_float_array("tmax", tmax)
    check_same_shape(tmin=tn, tmax=tx)
    if tn.ndim == 0:
        raise ValueError("tmin: expected daily values on axis 0, got a scalar")
    if window > tn.shape[0]:
        raise ValueError(f"window={window}: longer than the {tn.shape[0]} days of tmin/tmax")
    check_not_all_nan("tmin", tn)
    check_not_all_nan("tmax", tx)
    spatial = tuple(tn.shape[1:])
    thn = _spatial_threshold("tmin_threshold", tmin_threshold, spatial)
    thx = _spatial_threshold("tmax_threshold", tmax_threshold, spatial)
    days = tn.shape[0]
    result = run_backend(
        {"numpy": _heatwave_numpy, "numba": _heatwave_numba, "cupy": _heatwave_cupy},
        backend,
        (tn.reshape(days, -1), tx.reshape(days, -1), thn, thx),
        window=window, scale=scale,
    )
    return HeatwaveAlerts(
        alert=result.alert.reshape(tn.shape),
        ibmn=result.ibmn.reshape(tn.shape),
        ibmx=result.ibmx.reshape(tn.shape),
        alert_days=result.alert_days.reshape(spatial),
        episodes=result.episodes.reshape(spatial),
    )


def _window_mean(x: Any, window: int, xp: Any) -> Any:
    """Trailing ``window``-day mean along axis 0, summed oldest first (NaN before it is full)."""
    days = x.shape[0]
    out = xp.full(x.shape, xp.nan)
    total = x[: days - window + 1].copy()
    for k in range(1, window):
        total = total + x[k : days - window + 1 + k]
    out[window - 1 :] = total / window
    return out


def _heatwave_array(tmin, tmax, thn, thx, window, scale, xp):
    """The reference on (time, points) arrays, as array code for NumPy and CuPy alike."""
    ibmn = to_resolution_array(xp, _window_mean(tmin, window, xp), scale)
    ibmx = to_resolution_array(xp, _window_mean(tmax, window, xp), scale)
    alert = (ibmn >= thn) & (ibmx >= thx)  # "atteignent ou dépassent"
    previous = xp.zeros_like(alert)
    previous[1:] = alert[:-1]
    alert_days = alert.sum(axis=0).astype(xp.float64)
    episodes = (alert & ~previous).sum(axis=0).astype(xp.float64)
    complete = (~xp.isnan(ibmn) & ~xp.isnan(ibmx)).any(axis=0)
    defined = complete & ~xp.isnan(thn) & ~xp.isnan(thx)
    alert_days = xp.where(defined, alert_days, xp.nan)
    episodes = xp.where(defined, episodes, xp.nan)
    return HeatwaveAlerts(alert, ibmn, ibmx, alert_days, episodes)


def _heatwave_numpy(tmin, tmax, thn, thx, *, window, scale):
    return _heatwave_array(tmin, tmax, thn, thx, window, scale, np)


def _heatwave_cupy(tmin, tmax, thn, thx, *, window, scale):
    return _heatwave_array(tmin, tmax, thn, thx, window, scale, require_cupy())


@numba.njit(cache=True)
def _heatwave_columns(tmin, tmax, thn, thx, window, scale, alert, ibmn, ibmx, alert_days, episodes,
                      p0, p1):
    """The sequential pass over the points p0:p1: time outer, points inner.

    Rows are taken as ``x[t, p0:p1]``, which Numba knows to be contiguous (a column block
    ``x[:, p0:p1]`` is not, and its loops would not vectorise).
    """
    days = tmin.shape[0]
    width = p1 - p0
    thn = thn[p0:p1]
    thx = thx[p0:p1]
    previous = np.zeros(width)  # 1.0 where the day before was an alert day
    count = np.zeros(width)
    runs = np.zeros(width)
    complete = np.zeros(width)
    for t in range(min(window - 1, days)):
        ibmn[t, p0:p1] = np.nan
        ibmx[t, p0:p1] = np.nan
        alert[t, p0:p1] = False
    for t in range(window - 1, days):
        first = t - window + 1
        mean_n = ibmn[t, p0:p1]
        mean_x = ibmx[t, p0:p1]
        hot_row = alert[t, p0:p1]
        # Same order as _window_mean: oldest day first, then divide; the points innermost,
        # branch-free, so that the loops vectorise.
        row_n = tmin[first, p0:p1]
        row_x = tmax[first, p0:p1]
        for j in range(width):
            mean_n[j] = row_n[j]
            mean_x[j] = row_x[j]
        for k in range(1, window):
            row_n = tmin[first + k, p0:p1]
            row_x = tmax[first + k, p0:p1]
            for j in range(width):
                mean_n[j] += row_n[j]
                mean_x[j] += row_x[j]
        for j in range(width):
            mn = to_resolution_scalar(mean_n[j] / window, scale)
            mx = to_resolution_scalar(mean_x[j] / window, scale)
            mean_n[j] = mn
            mean_x[j] = mx
            hot = (mn >= thn[j]) & (mx >= thx[j])
            hot_row[j] = hot
            now = np.float64(hot)
            count[j] += now
            runs[j] += now * (1.0 - previous[j])
            previous[j] = now
            complete[j] = max(complete[j], np.float64((mn == mn) & (mx == mx)))
    for j in range(width):
        defined = complete[j] == 1.0 and thn[j] == thn[j] and thx[j] == thx[j]
        alert_days[p0 + j] = count[j] if defined else np.nan
        episodes[p0 + j] = runs[j] if defined else np.nan


@numba.njit(parallel=True, cache=True)
def _heatwave_kernel(tmin, tmax, thn, thx, window, scale, alert, ibmn, ibmx, alert_days, episodes):
    points = tmin.shape[1]
    blocks = (points + _HEAT_BLOCK - 1) // _HEAT_BLOCK
    for block in numba.prange(blocks):
        _heatwave_columns(tmin, tmax, thn, thx, window, scale, alert, ibmn, ibmx, alert_days,
                          episodes, block * _HEAT_BLOCK, min(points, (block + 1) * _HEAT_BLOCK))


def _heatwave_numba(tmin, tmax, thn, thx, *, window, scale):
    tmin = np.ascontiguousarray(tmin)
    tmax = np.ascontiguousarray(tmax)
    days, points = tmin.shape
    alert = np.empty((days, points), dtype=np.bool_)
    ibmn = np.empty((days, points))
    ibmx = np.empty((days, points))
    alert_days = np.empty(points)
    episodes = np.empty(points)
    _heatwave_kernel(tmin, tmax, np.ascontiguousarray(thn), np.ascontiguousarray(thx), window,
                     scale, alert, ibmn, ibmx, alert_days, episodes)
    return HeatwaveAlerts(alert, ibmn, ibmx, alert_days, episodes)


def heatwave_alerts_xr(
    ds_or_tmin: Any,
    tmax: Any = None,
    department_mask: Any = None,
    window: int = 3,
    time_dim: str = "time",
    unknown: str = "raise",
    backend: str = "auto",
    *,
    decimals: int = DEFAULT_DECIMALS,
):
    """:func:`heatwave_alerts` on gridded xarray data with the department mask, chunk by chunk.

    Parameters
    ----------
    ds_or_tmin
        A Dataset with ``tmin``, ``tmax`` and ``department`` (the layout of
        ``occidata.datasets.weather``), or the ``tmin`` DataArray.
    tmax, department_mask
        The ``tmax`` DataArray and the department codes (DataArray over the spatial dims,
        0 outside) when ``ds_or_tmin`` is a DataArray; taken from the Dataset otherwise.
    window
        Days in the running mean (3).
    time_dim
        The time dimension (the core dimension; the others are computed independently).
    unknown
        See :func:`department_thresholds`.
    backend, decimals
        See :func:`heatwave_alerts`.

    Returns
    -------
    xarray.Dataset
        ``alert``, ``ibmn``, ``ibmx`` over the input's dims and ``alert_days``, ``episodes``
        over the spatial dims. Lazy (dask) when the input is chunked: chunk over space, time is
        gathered into one chunk per block; nothing is computed until ``.compute()``.

    Raises
    ------
    ValueError
        A Dataset without ``tmin``/``tmax``/``department``, or a missing ``tmax`` or
        ``department_mask`` argument; and the errors of :func:`heatwave_alerts`, raised when
        the chunks are computed for a dask input.
    """
    import xarray as xr

    if isinstance(ds_or_tmin, xr.Dataset):
        missing = [name for name in ("tmin", "tmax", "department") if name not in ds_or_tmin]
        if missing:
            raise ValueError(f"ds_or_tmin: the Dataset lacks {', '.join(missing)}")
        tmin_da = ds_or_tmin["tmin"]
        tmax_da = ds_or_tmin["tmax"] if tmax is None else tmax
        mask = ds_or_tmin["department"] if department_mask is None else department_mask
    else:
        if tmax is None:
            raise ValueError("tmax: required when ds_or_tmin is a DataArray")
        if department_mask is None:
            raise ValueError("department_mask: required when ds_or_tmin is a DataArray")
        tmin_da, tmax_da, mask = ds_or_tmin, tmax, department_mask
    for name, da in (("tmin", tmin_da), ("tmax", tmax_da)):
        if time_dim not in da.dims:
            raise ValueError(f"{name}: has no {time_dim!r} dimension (dims {da.dims})")
    if not isinstance(mask, xr.DataArray):
        spatial_dims = [d for d in tmin_da.dims if d != time_dim]
        mask = xr.DataArray(np.asarray(mask), dims=spatial_dims)
    thn, thx = department_thresholds(mask, unknown)
    window = check_positive_int("window", window)
    resolution_scale(decimals)  # named now, not when the chunks are computed
    tmin_da, tmax_da = (_single_chunk(da, time_dim) for da in (tmin_da, tmax_da))
    if tmin_da.chunks is not None:
        spatial_chunks = {d: c for d, c in tmin_da.chunksizes.items() if d != time_dim and d in thn.dims}
        thn, thx = thn.chunk(spatial_chunks), thx.chunk(spatial_chunks)

    def block(tn, tx, n_threshold, x_threshold):
        tn, tx = np.moveaxis(tn, -1, 0), np.moveaxis(tx, -1, 0)
        spatial = tn.shape[1:]
        if not (np.isfinite(tn).any() and np.isfinite(tx).any()):
            # A chunk wholly outside the region: nothing to compute, and no error either.
            nan_series = np.full(spatial + tn.shape[:1], np.nan)
            return (np.zeros(nan_series.shape, dtype=bool), nan_series, nan_series.copy(),
                    np.full(spatial, np.nan), np.full(spatial, np.nan))
        r = heatwave_alerts(tn, tx, np.broadcast_to(n_threshold, spatial),
                            np.broadcast_to(x_threshold, spatial), window, backend, decimals=decimals)
        return (np.moveaxis(r.alert, 0, -1), np.moveaxis(r.ibmn, 0, -1),
                np.moveaxis(r.ibmx, 0, -1), r.alert_days, r.episodes)

    alert, ibmn, ibmx, alert_days, episodes = xr.apply_ufunc(
        block, tmin_da, tmax_da, thn, thx,
        input_core_dims=[[time_dim], [time_dim], [], []],
        output_core_dims=[[time_dim], [time_dim], [time_dim], [], []],
        dask="parallelized",
        output_dtypes=[bool, np.float64, np.float64, np.float64, np.float64],
    )
    dims = tmin_da.dims
    rounded = f"rounded to {10.0 ** -decimals:g}"
    out = xr.Dataset({
        "alert": alert.transpose(*dims).assign_attrs(
            long_name=f"heat-wave alert: {window}-day means of Tmin and Tmax at or above the department's thresholds"),
        "ibmn": ibmn.transpose(*dims).assign_attrs(
            units="degC", long_name=f"IBMn: {window}-day trailing mean of Tmin, {rounded}"),
        "ibmx": ibmx.transpose(*dims).assign_attrs(
            units="degC", long_name=f"IBMx: {window}-day trailing mean of Tmax, {rounded}"),
        "alert_days": alert_days.assign_attrs(long_name="number of alert days"),
        "episodes": episodes.assign_attrs(long_name="number of runs of consecutive alert days"),
    })
    return out.assign_coords(tmin_threshold=thn.reset_coords(drop=True), tmax_threshold=thx.reset_coords(drop=True))


def _single_chunk(da: Any, dim: str) -> Any:
    """``da`` with ``dim`` in one chunk when it is dask-backed (a core dim cannot be split)."""
    if da.chunks is not None:
        return da.chunk({dim: -1})
    return da
