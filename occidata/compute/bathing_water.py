"""Bathing water quality classes of Directive 2006/7/EC (percentile method on log10 counts).

For each bathing water, the intestinal enterococci and E. coli counts of the
assessment period (the last four bathing seasons) give, on log10 values,
μ (mean) and σ (sample standard deviation, ddof=1), then

- upper 95-percentile P95 = 10^(μ + 1.65 σ),
- upper 90-percentile P90 = 10^(μ + 1.282 σ)   (Annex II).

The class of each parameter (Annex I, limits inclusive):
excellent if P95 <= the excellent limit, else good if P95 <= the good limit,
else sufficient if P90 <= the sufficient limit, else poor. The worse of the
two parameters is the site's class. Fewer samples than required (16; 12 or 8
where the site's rules allow) gives "insufficient samples".

Limits are data: ``data/bathing_water_2006_7.yaml``.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any, NamedTuple

import numba
import numpy as np
import yaml

from occidata.compute._parallel import serial_if_small
from occidata.compute._xp import array_module, require_cupy, run_backend, to_host
from occidata.compute.checks import (
    as_float_array,
    check_non_negative,
    check_not_all_nan,
    check_same_shape,
)

__all__ = ["BathingWaterResult", "CLASSES", "bathing_water_class", "bathing_water_class_table", "rules"]

#: Class names by code: 0 insufficient samples, 1 excellent, 2 good, 3 sufficient, 4 poor.
CLASSES = ("insufficient samples", "excellent", "good", "sufficient", "poor")
WATER_TYPES = ("coastal", "transitional", "inland")
#: Relative slack on the limits: a percentile within 1e-12 of a limit counts as at the limit,
#: so that rounding in 10^(log10 ...) never moves a site that sits exactly on a limit.
LIMIT_RTOL = 1e-12
_PARAMETERS = ("enterococci", "e_coli")
_LEVELS = ("excellent", "good", "sufficient")


class BathingWaterResult(NamedTuple):
    """Per bathing water (shape = the input's leading axes; () for one 1-D site).

    enterococci_p95, enterococci_p90, e_coli_p95, e_coli_p90 : float64, cfu/100 ml
        Annex II percentiles (NaN with fewer than 2 values).
    classification : NumPy array of str, one of :data:`CLASSES`.
    code : int8, index into :data:`CLASSES` (0 insufficient samples .. 4 poor).
    n_samples : int64, samples used: the smaller of the two parameters' counts
        of non-NaN values in the assessment period.
    """

    enterococci_p95: Any
    enterococci_p90: Any
    e_coli_p95: Any
    e_coli_p90: Any
    classification: Any
    code: Any
    n_samples: Any


@functools.cache
def rules() -> dict:
    """Limits, percentile factors, seasons, allowed sample minimums and source, from YAML."""
    text = resources.files("occidata.compute").joinpath("data", "bathing_water_2006_7.yaml").read_text("utf-8")
    raw = yaml.safe_load(text)
    limits = {
        water: np.array([float(raw["limits"][water][param][level]) for param in _PARAMETERS for level in _LEVELS])
        for water in WATER_TYPES
    }
    return {
        "source": " ".join(raw["source"].split()),
        "z95": float(raw["percentile_z"]["p95"]),
        "z90": float(raw["percentile_z"]["p90"]),
        "seasons": int(raw["seasons"]),
        "min_samples_allowed": tuple(int(v) for v in raw["min_samples_allowed"]),
        # water type -> [ent excellent, ent good, ent sufficient, eco excellent, eco good, eco sufficient]
        "limits": limits,
        "aliases": {str(k).casefold(): v for k, v in raw["aliases"].items()},
    }


# --------------------------------------------------------------------------- kernels
# ent, eco: (S, N) float64, NaN = no sample; limits: (S, 6) as in rules()["limits"].


def _class_of(xp, p95, p90, lim, n, min_samples):
    """Class code (S,) of one parameter from its percentiles and its 3 limits (S, 3)."""
    slack = 1.0 + LIMIT_RTOL
    code = xp.where(p95 <= lim[:, 0] * slack, 1,
                    xp.where(p95 <= lim[:, 1] * slack, 2, xp.where(p90 <= lim[:, 2] * slack, 3, 4)))
    return xp.where(n >= min_samples, code, 0)


def _bw_xp(xp, ent, eco, limits, season, *, window, detection_limit, min_samples, z95, z90):
    if season.size:
        use = (season > window[0]) & (season <= window[1])
        ent = xp.where(use, ent, xp.nan)
        eco = xp.where(use, eco, xp.nan)
    out = []
    codes = []
    counts = []
    for k, x in enumerate((ent, eco)):
        valid = ~xp.isnan(x)
        n = valid.sum(axis=1)
        # Annex II (i): a zero count takes the log10 of the method's detection limit.
        lx = xp.log10(xp.where(x == 0, detection_limit, xp.where(valid, x, 1.0)))
        mean = xp.where(valid, lx, 0.0).sum(axis=1) / xp.maximum(n, 1)
        dev = xp.where(valid, lx - mean[:, None], 0.0)
        sd = xp.sqrt((dev * dev).sum(axis=1) / xp.maximum(n - 1, 1))
        enough = n >= 2
        p95 = xp.where(enough, 10.0 ** (mean + z95 * sd), xp.nan)
        p90 = xp.where(enough, 10.0 ** (mean + z90 * sd), xp.nan)
        out += [p95, p90]
        codes.append(_class_of(xp, p95, p90, limits[:, 3 * k:3 * k + 3], n, min_samples))
        counts.append(n)
    n = xp.minimum(counts[0], counts[1])
    code = xp.where(n >= min_samples, xp.maximum(codes[0], codes[1]), 0).astype(xp.int8)
    return (*out, code, n.astype(xp.int64))


def _bw_numpy(ent, eco, limits, season, **kw):
    return _bw_xp(np, ent, eco, limits, season, **kw)


def _bw_cupy(ent, eco, limits, season, **kw):
    return _bw_xp(require_cupy(), ent, eco, limits, season, **kw)


_INV_LN10 = 1.0 / np.log(10.0)


@numba.njit(cache=True, error_model="numpy")
def _percentiles_row(x, season, lo, hi, detection_limit, z95, z90):
    """(n, P95, P90) of one row in one pass: sums of log10 values shifted by the first one.

    The shift keeps the sum of squares free of cancellation (constant rows give sigma = 0
    exactly); log(v) / ln(10) vectorises where log10 does not and differs by an ulp at most.
    """
    n = 0
    shift = 0.0
    s1 = 0.0
    s2 = 0.0
    for j in range(x.shape[0]):
        v = x[j]
        if np.isnan(v):
            continue
        if season.shape[0] and not (season[j] > lo and season[j] <= hi):
            continue
        lv = np.log(detection_limit if v == 0.0 else v) * _INV_LN10
        if n == 0:
            shift = lv
        d = lv - shift
        s1 += d
        s2 += d * d
        n += 1
    if n < 2:
        return n, np.nan, np.nan
    mean = shift + s1 / n
    sd = np.sqrt(max(s2 - s1 * s1 / n, 0.0) / (n - 1))
    return n, 10.0 ** (mean + z95 * sd), 10.0 ** (mean + z90 * sd)


@numba.njit(cache=True)
def _class_row(p95, p90, exc, good, suff):
    slack = 1.0 + LIMIT_RTOL
    if p95 <= exc * slack:
        return 1
    if p95 <= good * slack:
        return 2
    if p90 <= suff * slack:
        return 3
    return 4


@numba.njit(cache=True)
def _bw_site(s, ent, eco, limits, season, step, lo, hi, detection_limit, min_samples, z95, z90, p, code, count):
    row = season[s * step]  # season is (sites, n), or (1, 0) with step 0 when every sample counts
    n1, a95, a90 = _percentiles_row(ent[s], row, lo, hi, detection_limit, z95, z90)
    n2, b95, b90 = _percentiles_row(eco[s], row, lo, hi, detection_limit, z95, z90)
    p[0, s] = a95
    p[1, s] = a90
    p[2, s] = b95
    p[3, s] = b90
    n = min(n1, n2)
    count[s] = n
    if n < min_samples:
        code[s] = 0
    else:
        c1 = _class_row(a95, a90, limits[s, 0], limits[s, 1], limits[s, 2])
        c2 = _class_row(b95, b90, limits[s, 3], limits[s, 4], limits[s, 5])
        code[s] = max(c1, c2)


@numba.njit(parallel=True, cache=True)
def _bw_parallel(ent, eco, limits, season, lo, hi, detection_limit, min_samples, z95, z90, p, code, count):
    step = 1 if season.shape[1] > 0 else 0
    for s in numba.prange(ent.shape[0]):
        _bw_site(s, ent, eco, limits, season, step, lo, hi, detection_limit, min_samples, z95, z90, p, code, count)



def _bw_numba(ent, eco, limits, season, *, window, detection_limit, min_samples, z95, z90):
    sites = ent.shape[0]
    p = np.empty((4, sites))
    code = np.empty(sites, dtype=np.int8)
    count = np.empty(sites, dtype=np.int64)
    season = np.ascontiguousarray(season.reshape(sites, -1) if season.size else np.empty((1, 0)))
    with serial_if_small(2 * ent.size):
        _bw_parallel(np.ascontiguousarray(ent), np.ascontiguousarray(eco), np.ascontiguousarray(limits), season,
                     float(window[0]), float(window[1]), float(detection_limit), int(min_samples),
                     z95, z90, p, code, count)
    return p[0], p[1], p[2], p[3], code, count


_BW = {"numpy": _bw_numpy, "numba": _bw_numba, "cupy": _bw_cupy}


# --------------------------------------------------------------------------- validation


def _water_limits(water_type: Any, sites_shape: tuple[int, ...]) -> np.ndarray:
    """(n_sites, 6) limits from one water type or one per site; ValueError naming water_type."""
    info = rules()
    allowed = WATER_TYPES + tuple(info["aliases"])

    def canonical(value: Any) -> str:
        key = str(value).strip().casefold() if isinstance(value, str) else None
        if key in WATER_TYPES:
            return key
        if key in info["aliases"]:
            return info["aliases"][key]
        raise ValueError(f"water_type={value!r} is not known; use one of {', '.join(map(repr, allowed))}")

    n_sites = int(np.prod(sites_shape)) if sites_shape else 1
    if isinstance(water_type, str):
        return np.tile(info["limits"][canonical(water_type)], (n_sites, 1))
    types = np.asarray(to_host(water_type), dtype=object)
    if types.shape != sites_shape:
        raise ValueError(f"water_type: expected one string or one per site (shape {sites_shape}), "
                         f"got shape {types.shape}")
    if not all(isinstance(v, str) for v in set(types.ravel().tolist())):
        bad = next(v for v in types.ravel().tolist() if not isinstance(v, str))
        canonical(bad)
    unique, inverse = np.unique(types.ravel().astype(str), return_inverse=True)
    table = np.stack([info["limits"][canonical(v)] for v in unique])
    return table[inverse.reshape(-1)]


def _season_window(xp, season: Any, shape: tuple[int, ...], ent, eco, last_season: Any, seasons: int):
    """``season`` as float64 of the counts' shape and the window (first - 1, last] of seasons to use."""
    s = as_float_array("season", season)
    if s.shape != shape:
        if s.ndim == 1 and s.shape[0] == shape[-1]:
            s = xp.broadcast_to(s, shape)
        else:
            raise ValueError(f"season: expected shape {shape} (one season per sample) or ({shape[-1]},), "
                             f"got {tuple(s.shape)}")
    missing = xp.isnan(s)
    if bool(to_host(xp.any(missing & ~(xp.isnan(ent) & xp.isnan(eco))))):
        raise ValueError("season: NaN for a sample that has a value; give each sample its season")
    if bool(to_host(missing.all())):
        raise ValueError("season: every value is NaN")
    last = float(to_host(xp.nanmax(s))) if last_season is None else float(last_season)
    return s, (last - seasons, last)


def bathing_water_class(enterococci: Any, e_coli: Any, water_type: Any, season: Any = None,
                        min_samples: int = 16, backend: str = "auto", *, last_season: Any = None,
                        detection_limit: float = 15.0) -> BathingWaterResult:
    """Bathing water quality class of Directive 2006/7/EC for one or many bathing waters.

    Parameters
    ----------
    enterococci, e_coli : array_like, shape (n_samples,) or (..., n_samples)
        Intestinal enterococci and E. coli in cfu/100 ml, one row per
        bathing water (NaN-padded to a common length); NaN = no value. A
        result reported below the detection limit ("<15") is given as the
        limit itself (15), as the EEA tables and
        :mod:`occidata.datasets.bathing_water` store it; a count of 0 is
        taken as ``detection_limit`` (Annex II (i)).
    water_type : str or array_like of str, shape (...)
        "coastal", "transitional" or "inland" (also "river", "lake",
        "eau douce" -> inland, "côtière", "mer" -> coastal, "transition"),
        one for all sites or one per site.
    season : array_like, optional
        The bathing season (year) of each sample, same shape as the counts
        (or one row shared by all sites). Only samples of the four seasons
        up to ``last_season`` are used. None: every sample is in the
        assessment period.
    min_samples : {16, 12, 8}
        Samples needed for a class; 16 by Article 4(2), 12 in the
        circumstances of Annex IV point 2 (short seasons, special
        geographical constraints), 8 where the site's rules allow it.
    backend : {"auto", "numpy", "numba", "cupy"}
    last_season : int, optional
        The last season of the assessment; None: the latest season in
        ``season`` over all sites (a site not sampled that year is assessed
        on what it has in the window).
    detection_limit : float, default 15
        The method's detection limit in cfu/100 ml, used for counts of 0
        (15 for the microplate methods ISO 9308-3 and ISO 7899-1).

    Returns
    -------
    BathingWaterResult
        P95 and P90 of each parameter, the class name and code and the
        number of samples, each of shape ``enterococci.shape[:-1]``
        (``classification`` is always a NumPy array of str).

    Raises
    ------
    ValueError
        Counts empty, all NaN, negative or of different shapes
        (``enterococci``/``e_coli``); an unknown ``water_type``;
        ``min_samples`` not 16, 12 or 8; a ``season`` of the wrong shape or
        missing for a sample; ``detection_limit`` not positive.

    Notes
    -----
    Annex II: μ and σ are the mean and the sample standard deviation
    (ddof=1) of the log10 counts; P95 = 10^(μ + 1.65σ), P90 =
    10^(μ + 1.282σ). Annex I limits (cfu/100 ml; excellent and good on P95,
    sufficient on P90), inclusive:

    ============================  ===========  ======  ==========
    water, parameter              excellent    good    sufficient
    ============================  ===========  ======  ==========
    inland, enterococci           200          400     330
    inland, E. coli               500          1000    900
    coastal/transitional, ent.    100          200     185
    coastal/transitional, E. coli 250          500     500
    ============================  ===========  ======  ==========

    The worse parameter decides. ``n_samples`` is the smaller count of the
    two parameters in the assessment period; below ``min_samples`` the class
    is "insufficient samples" (percentiles are still given from 2 values).
    Samples taken during short-term pollution may be disregarded (Article
    3): leave them out (or set them to NaN) before calling.
    """
    ent = as_float_array("enterococci", enterococci)
    eco = as_float_array("e_coli", e_coli)
    for name, x in (("enterococci", ent), ("e_coli", eco)):
        if x.ndim == 0:
            raise ValueError(f"{name}: expected samples on the last axis, got a scalar")
    check_same_shape(enterococci=ent, e_coli=eco)
    check_non_negative("enterococci", ent)
    check_non_negative("e_coli", eco)
    check_not_all_nan("enterococci", ent)
    check_not_all_nan("e_coli", eco)
    info = rules()
    if isinstance(min_samples, bool) or min_samples not in info["min_samples_allowed"]:
        raise ValueError(f"min_samples={min_samples!r} is not allowed; use one of "
                         f"{', '.join(map(str, info['min_samples_allowed']))} (Article 4(2), Annex IV)")
    if isinstance(detection_limit, bool) or not isinstance(detection_limit, (int, float, np.number)) \
            or not detection_limit > 0:
        raise ValueError(f"detection_limit={detection_limit!r}: expected a positive number (cfu/100 ml)")
    shape = ent.shape
    sites_shape = shape[:-1]
    limits = _water_limits(water_type, sites_shape)
    xp = array_module(ent, eco)
    if season is None:
        seasons, window = np.empty((1, 0)), (0.0, 0.0)
    else:
        seasons, window = _season_window(xp, season, shape, ent, eco, last_season, info["seasons"])
        seasons = seasons.reshape(-1, shape[-1])
    n = shape[-1]
    e95, e90, c95, c90, code, count = run_backend(
        _BW, backend, (ent.reshape(-1, n), eco.reshape(-1, n), limits, seasons), window=window,
        detection_limit=float(detection_limit), min_samples=int(min_samples), z95=info["z95"], z90=info["z90"])
    names = np.array(CLASSES)[to_host(code)].reshape(sites_shape)
    return BathingWaterResult(
        enterococci_p95=e95.reshape(sites_shape), enterococci_p90=e90.reshape(sites_shape),
        e_coli_p95=c95.reshape(sites_shape), e_coli_p90=c90.reshape(sites_shape),
        classification=names, code=code.reshape(sites_shape), n_samples=count.reshape(sites_shape),
    )


def bathing_water_class_table(samples: Any, min_samples: int = 16, last_season: Any = None,
                              exclude_status: tuple[str, ...] = (), backend: str = "auto",
                              detection_limit: float = 15.0):
    """:func:`bathing_water_class` for every site of a sample table (one row per sample).

    Parameters
    ----------
    samples : pandas.DataFrame
        Columns ``site_id``, ``water_type``, ``season``, ``enterococci``,
        ``e_coli`` (as in :mod:`occidata.datasets.bathing_water`); other
        columns are ignored, ``sample_status`` is used by ``exclude_status``.
    min_samples, last_season, backend, detection_limit
        As :func:`bathing_water_class`.
    exclude_status : tuple of str
        Values of ``sample_status`` to leave out, e.g.
        ``("short_term_pollution",)`` (Article 3 allows disregarding them).

    Returns
    -------
    pandas.DataFrame
        One row per site (index ``site_id``): ``water_type``, the four
        percentiles, ``classification``, ``n_samples``.
    """
    import pandas as pd

    needed = ("site_id", "water_type", "season", "enterococci", "e_coli")
    missing = [c for c in needed if c not in samples.columns]
    if missing:
        raise ValueError(f"samples: missing column(s) {', '.join(missing)}; needs {', '.join(needed)}")
    frame = samples
    if exclude_status:
        frame = frame[~frame["sample_status"].isin(exclude_status)]
    if frame.empty:
        raise ValueError("samples: no rows to assess")
    frame = frame.sort_values(["site_id", "season"], kind="stable")
    sites, row = np.unique(frame["site_id"].to_numpy(dtype=str), return_inverse=True)
    col = frame.groupby("site_id", sort=True).cumcount().to_numpy()
    width = int(col.max()) + 1
    grid = {}
    for name in ("enterococci", "e_coli", "season"):
        g = np.full((len(sites), width), np.nan)
        g[row, col] = frame[name].to_numpy(dtype=float, na_value=np.nan)
        grid[name] = g
    water = frame.groupby("site_id", sort=True)["water_type"].first().reindex(sites).to_numpy(dtype=object)
    result = bathing_water_class(grid["enterococci"], grid["e_coli"], water, season=grid["season"],
                                 min_samples=min_samples, backend=backend, last_season=last_season,
                                 detection_limit=detection_limit)
    return pd.DataFrame({
        "water_type": water,
        "enterococci_p95": to_host(result.enterococci_p95), "enterococci_p90": to_host(result.enterococci_p90),
        "e_coli_p95": to_host(result.e_coli_p95), "e_coli_p90": to_host(result.e_coli_p90),
        "classification": result.classification, "n_samples": to_host(result.n_samples),
    }, index=pd.Index(sites, name="site_id"))
