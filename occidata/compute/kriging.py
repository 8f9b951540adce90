"""Ordinary kriging of station series onto a grid, with kriging variances, many time steps at once.

Variogram models and their parameters (PyKrige's conventions, so that results
compare with ``pykrige.ok.OrdinaryKriging`` given the same parameters):

- ``"linear"``: ``gamma(h) = nugget + slope * h`` (no sill, no range).
- ``"exponential"``: ``gamma(h) = nugget + (sill - nugget) * (1 - exp(-h / (range_ / 3)))``.
  ``range_`` is the **practical range**, where the model reaches 95 % of the partial
  sill (PyKrige's exponential model; some texts use ``exp(-h / a)`` with ``a = range_ / 3``).
- ``"spherical"``: ``gamma(h) = nugget + (sill - nugget) * (1.5 h/range_ - 0.5 (h/range_)**3)``
  for ``h <= range_``, ``sill`` beyond.

``sill`` is the **total sill** (nugget + partial sill), as PyKrige's
``variogram_parameters={"sill": ..., "range": ..., "nugget": ...}``. The nugget is
a discontinuity at the origin: ``gamma(0) = 0`` exactly (distance ``== 0.0``), so
the kriging matrix has zeros on its diagonal and a grid point exactly on a station
takes the station's value, with variance 0, whatever the nugget (PyKrige's
``exact_values=True``; PyKrige treats distances up to 1e-10 as zero).

Kriging system, per time step (PyKrige's form): for the ``m`` stations that
reported at that step, ``A = [[Gamma, 1], [1^T, 0]]`` with ``Gamma_ij =
gamma(d_ij)``; for a point with ``b = [gamma(d_i), 1]``, ``[lambda, mu] = A^-1 b``;
prediction ``sum(lambda_i z_i)``, kriging variance ``sum(lambda_i gamma(d_i)) + mu``.
``A^-1`` is computed once per set of reporting stations (steps with the same
stations missing share it) and applied to every grid point.

Implementations
---------------
- NumPy (the reference; PyKrige's "vectorized" backend does the same): per set of
  reporting stations, ``B`` (points x (m+1)) and ``X = B @ A^-1.T``; predictions are
  ``Z @ X[:, :m].T`` for all its steps.
- Numba: ``prange`` over blocks of 64 grid points; per block ``b`` and
  ``x = A^-1 b`` (stations x points, O(m^2) per point), the variances and the
  predictions of the steps, every inner loop along the block's points
  (vectorised); no points x stations matrix for the whole grid.
- CuPy: the NumPy code with ``xp = cupy`` (matrix products on cuBLAS).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numba
import numpy as np

from occidata.compute._xp import array_module, require_cupy, run_backend, to_host
from occidata.compute.checks import as_float_array, check_choice, check_not_all_nan, check_positive_int
from occidata.compute.interpolation import check_grid, check_station_values, check_stations

__all__ = [
    "KrigingResult", "VARIOGRAMS", "VariogramModel", "fit_variogram",
    "ordinary_kriging", "ordinary_kriging_xr",
]

VARIOGRAMS = ("linear", "exponential", "spherical")
_MODEL_CODE = {"linear": 0, "exponential": 1, "spherical": 2}
#: Grid points per block of the Numba kernel.
_BLOCK = 64


class KrigingResult(NamedTuple):
    """Kriging predictions and kriging variances, both shaped ``(n_times, *grid.shape)``."""

    prediction: Any
    variance: Any


class VariogramModel(NamedTuple):
    """A variogram model in PyKrige's conventions (see the module docstring).

    ``sill`` is the total sill (nugget + partial sill) and ``range_`` the practical
    range (exponential) or the range (spherical); both None for ``"linear"``, which
    has ``slope`` instead.
    """

    model: str
    sill: float | None
    range_: float | None
    nugget: float
    slope: float | None = None

    def gamma(self, h: Any) -> Any:
        """Semivariance at distances ``h`` (NumPy or CuPy array); ``gamma(0) = 0``."""
        xp = array_module(h)
        h = xp.asarray(h, dtype=xp.float64)
        if self.model == "linear":
            g = self.nugget + self.slope * h
        elif self.model == "exponential":
            g = self.nugget + (self.sill - self.nugget) * (1.0 - xp.exp(-h / (self.range_ / 3.0)))
        else:
            r = h / self.range_
            g = self.nugget + (self.sill - self.nugget) * xp.where(r < 1.0, 1.5 * r - 0.5 * (r * r * r), 1.0)
        return xp.where(h == 0.0, 0.0, g)

    def pykrige_parameters(self) -> dict:
        """The same model as PyKrige's ``variogram_parameters`` dict."""
        if self.model == "linear":
            return {"slope": self.slope, "nugget": self.nugget}
        return {"sill": self.sill, "range": self.range_, "nugget": self.nugget}


# --------------------------------------------------------------------------- checks and fitting


def _number(name: str, value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}={value!r}: expected a number") from None
    if not math.isfinite(v):
        raise ValueError(f"{name}={value!r}: expected a finite number")
    return v


def _check_model(model: VariogramModel) -> VariogramModel:
    name = check_choice("variogram", model.model, VARIOGRAMS)
    nugget = _number("nugget", model.nugget)
    if nugget < 0:
        raise ValueError(f"nugget={nugget!r}: expected a semivariance >= 0")
    if name == "linear":
        if model.sill is not None or model.range_ is not None:
            raise ValueError("sill, range_: not parameters of the linear variogram; give slope (and nugget)")
        slope = _number("slope", model.slope)
        if not slope > 0:
            raise ValueError(f"slope={slope!r}: expected a number > 0")
        return VariogramModel(name, None, None, nugget, slope)
    if model.slope is not None:
        raise ValueError(f"slope: only for the linear variogram; the {name} one takes sill and range_")
    sill = _number("sill", model.sill)
    range_ = _number("range_", model.range_)
    if not sill > 0:
        raise ValueError(f"sill={sill!r}: expected the total sill > 0")
    if nugget > sill:
        raise ValueError(f"nugget={nugget!r}: larger than sill={sill!r} (sill is nugget + partial sill)")
    if not range_ > 0:
        raise ValueError(f"range_={range_!r}: expected a distance > 0")
    return VariogramModel(name, sill, range_, nugget, None)


def _check_distinct(sx: np.ndarray, sy: np.ndarray) -> None:
    """Two stations at one place make the kriging matrix singular."""
    xy = np.stack([sx, sy], axis=1)
    _, first, counts = np.unique(xy, axis=0, return_index=True, return_counts=True)
    if (counts > 1).any():
        k = int(first[np.argmax(counts > 1)])
        same = np.nonzero((sx == sx[k]) & (sy == sy[k]))[0]
        raise ValueError(
            f"station_x, station_y: stations {same.tolist()} share the location ({sx[k]:g}, {sy[k]:g}); "
            "kriging needs distinct locations (average their values into one station)"
        )


def _pykrige_function(model: str):
    """Variogram functions in PyKrige's parameter order, for the fit."""
    if model == "linear":
        return lambda p, h: p[1] + p[0] * h
    if model == "exponential":
        return lambda p, h: p[0] * (1.0 - np.exp(-h / (p[1] / 3.0))) + p[2]
    return lambda p, h: np.where(
        h <= p[1], p[0] * (1.5 * h / p[1] - 0.5 * h ** 3 / p[1] ** 3) + p[2], p[0] + p[2]
    )


def fit_variogram(
    station_x: Any,
    station_y: Any,
    values: Any,
    variogram: str = "spherical",
    nlags: int = 6,
) -> VariogramModel:
    """Fit a variogram model to the empirical variogram, the way PyKrige does by default.

    Parameters
    ----------
    station_x, station_y : array_like, shape (n_stations,)
        Station coordinates.
    values : array_like, shape (n_times, n_stations) or (n_stations,)
        Station values (NaN = missing); the empirical variogram pools every time step.
    variogram : {"linear", "exponential", "spherical"}
        Model to fit.
    nlags : int, default 6
        Number of equal-width distance bins (PyKrige's default).

    Returns
    -------
    VariogramModel

    Raises
    ------
    ValueError
        Naming the argument, for bad input or when the values do not vary.
    ImportError
        Without SciPy (the fit uses ``scipy.optimize.least_squares``).

    Notes
    -----
    PyKrige 1.7's automatic fit (``weight=False``): semivariances ``0.5 (z_i - z_j)**2``
    of every station pair that reported at a step, grouped into ``nlags`` equal-width
    bins between the smallest and largest pair distance, averaged per bin (lag = mean
    distance); then ``least_squares`` with the ``soft_l1`` loss, PyKrige's starting
    point and bounds, on (partial sill, range, nugget) or (slope, nugget). With one
    time step and no NaN the parameters are PyKrige's.
    """
    try:
        from scipy.optimize import least_squares
    except ImportError as err:
        raise ImportError(
            f"fitting a variogram needs SciPy ({err}): `pip install scipy`, "
            "or give the variogram parameters (sill, range_, nugget or slope)"
        ) from None

    sx, sy = (to_host(a) for a in check_stations(station_x, station_y))
    vals, _ = check_station_values(to_host(values), sx.shape[0])
    model = check_choice("variogram", variogram, VARIOGRAMS)
    nlags = check_positive_int("nlags", nlags)
    i, j = np.triu_indices(sx.shape[0], k=1)     # scipy's pdist order
    d = np.hypot(sx[i] - sx[j], sy[i] - sy[j])
    g = 0.5 * (vals[:, i] - vals[:, j]) ** 2      # (time, pair), NaN where a station is missing
    ok = np.isfinite(g)
    n_ok = ok.sum(axis=0)                         # steps at which each pair reported
    if not n_ok.any():
        raise ValueError("values: no time step has two reporting stations; nothing to fit a variogram to")
    g_sum = np.where(ok, g, 0.0).sum(axis=0)
    d_used = d[n_ok > 0]
    dmin, dmax = d_used.min(), d_used.max()
    width = (dmax - dmin) / nlags
    edges = [dmin + n * width for n in range(nlags)] + [dmax + 0.001]
    lags, semivariance = [], []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (d >= lo) & (d < hi) & (n_ok > 0)
        if sel.any():
            lags.append((d[sel] * n_ok[sel]).sum() / n_ok[sel].sum())
            semivariance.append(g_sum[sel].sum() / n_ok[sel].sum())
    lags, semivariance = np.array(lags), np.array(semivariance)
    if not semivariance.max() > 0:
        raise ValueError("values: do not vary between stations; give the variogram parameters instead")
    if model == "linear":
        span = lags.max() - lags.min()
        x0 = [(semivariance.max() - semivariance.min()) / span if span > 0 else 0.0, semivariance.min()]
        bounds = ([0.0, 0.0], [np.inf, semivariance.max()])
    else:
        x0 = [semivariance.max() - semivariance.min(), 0.25 * lags.max(), semivariance.min()]
        bounds = ([0.0, 0.0, 0.0], [10.0 * semivariance.max(), lags.max(), semivariance.max()])
    f = _pykrige_function(model)
    fit = least_squares(lambda p: f(p, lags) - semivariance, x0, bounds=bounds, loss="soft_l1")
    p = [float(v) for v in fit.x]
    if model == "linear":
        return VariogramModel("linear", None, None, p[1], p[0])
    return VariogramModel(model, p[0] + p[2], p[1], p[2], None)


def _resolve_model(variogram, sill, range_, nugget, slope, sx, sy, vals) -> VariogramModel:
    if isinstance(variogram, VariogramModel):
        if any(v is not None for v in (sill, range_, nugget, slope)):
            raise ValueError("variogram: a VariogramModel already holds sill, range_, nugget and slope")
        return _check_model(variogram)
    name = check_choice("variogram", variogram, VARIOGRAMS)
    if all(v is None for v in (sill, range_, nugget, slope)):
        return _check_model(fit_variogram(sx, sy, vals, name))
    if name == "linear":
        if slope is None:
            raise ValueError("slope: the linear variogram needs slope= (or no parameters at all, to fit them)")
    else:
        for arg, value in (("sill", sill), ("range_", range_)):
            if value is None:
                raise ValueError(
                    f"{arg}: the {name} variogram needs sill= and range_= (or no parameters at all, to fit them)"
                )
    return _check_model(VariogramModel(name, sill, range_, 0.0 if nugget is None else nugget, slope))


def _systems(sx: np.ndarray, sy: np.ndarray, valid: np.ndarray, model: VariogramModel) -> list:
    """(steps, stations, A^-1) per set of reporting stations; steps with none are left out."""
    patterns, inverse = np.unique(valid, axis=0, return_inverse=True)
    groups = []
    for k, pattern in enumerate(patterns):
        idx = np.nonzero(pattern)[0]
        if idx.size == 0:
            continue
        m = idx.size
        a = np.zeros((m + 1, m + 1))
        a[:m, :m] = model.gamma(np.hypot(sx[idx, None] - sx[idx], sy[idx, None] - sy[idx]))
        a[m, :m] = 1.0
        a[:m, m] = 1.0
        groups.append((np.nonzero(inverse.reshape(-1) == k)[0], idx, np.linalg.inv(a)))
    return groups


# --------------------------------------------------------------------------- NumPy / CuPy


def _ok_array(xp, sx, sy, z, gx, gy, *, groups, model):
    n_t, n_p = z.shape[0], gx.shape[0]
    pred = xp.full((n_t, n_p), xp.nan)
    var = xp.full((n_t, n_p), xp.nan)
    for times, idx, ainv in groups:
        times, idx, ainv = xp.asarray(times), xp.asarray(idx), xp.asarray(ainv)
        m = idx.shape[0]
        dx = gx[:, None] - sx[idx][None, :]
        dy = gy[:, None] - sy[idx][None, :]
        b = xp.concatenate([model.gamma(xp.sqrt(dx * dx + dy * dy)), xp.ones((n_p, 1))], axis=1)
        x = b @ ainv.T                                       # row p: A^-1 b_p
        pred[times] = z[times][:, idx] @ x[:, :m].T
        var[times] = (x * b).sum(axis=1)[None, :]
    return KrigingResult(pred, var)


def _ok_numpy(sx, sy, z, gx, gy, *, groups, model):
    return _ok_array(np, sx, sy, z, gx, gy, groups=groups, model=model)


def _ok_cupy(sx, sy, z, gx, gy, *, groups, model):
    return _ok_array(require_cupy(), sx, sy, z, gx, gy, groups=groups, model=model)


# --------------------------------------------------------------------------- Numba


@numba.njit(cache=True, inline="always")
def _gamma_scalar(code, h, sill, range_, nugget, slope):
    if h == 0.0:
        return 0.0
    if code == 0:
        return nugget + slope * h
    if code == 1:
        return nugget + (sill - nugget) * (1.0 - math.exp(-h / (range_ / 3.0)))
    r = h / range_
    if r < 1.0:
        return nugget + (sill - nugget) * (1.5 * r - 0.5 * (r * r * r))
    return nugget + (sill - nugget)


@numba.njit(parallel=True, cache=True, error_model="numpy")
def _ok_kernel(sx, sy, z, times, ainv, gx, gy, code, sill, range_, nugget, slope, pred, var):
    m = sx.shape[0]
    n_p = gx.shape[0]
    n_blocks = (n_p + _BLOCK - 1) // _BLOCK
    for blk in numba.prange(n_blocks):
        p0 = blk * _BLOCK
        nb = min(_BLOCK, n_p - p0)
        # Right-hand sides and solutions of the block's points, (m + 1) x points: every inner
        # loop runs along the points (contiguous, vectorised).
        b = np.zeros((m + 1, _BLOCK))
        x = np.zeros((m + 1, _BLOCK))
        for i in range(m):
            for j in range(nb):
                dx = gx[p0 + j] - sx[i]
                dy = gy[p0 + j] - sy[i]
                b[i, j] = _gamma_scalar(code, math.sqrt(dx * dx + dy * dy), sill, range_, nugget, slope)
        b[m, :] = 1.0
        for r in range(m + 1):
            for c in range(m + 1):
                a = ainv[r, c]
                for j in range(_BLOCK):
                    x[r, j] += a * b[c, j]
        v = np.zeros(_BLOCK)
        for r in range(m + 1):
            for j in range(_BLOCK):
                v[j] += x[r, j] * b[r, j]
        acc = np.empty(_BLOCK)
        for k in range(times.shape[0]):
            acc[:] = 0.0
            for i in range(m):
                zi = z[k, i]
                for j in range(_BLOCK):
                    acc[j] += x[i, j] * zi
            t = times[k]
            for j in range(nb):
                pred[t, p0 + j] = acc[j]
                var[t, p0 + j] = v[j]


def _ok_numba(sx, sy, z, gx, gy, *, groups, model):
    n_t, n_p = z.shape[0], gx.shape[0]
    pred = np.full((n_t, n_p), np.nan)
    var = np.full((n_t, n_p), np.nan)
    code = _MODEL_CODE[model.model]
    params = tuple(0.0 if v is None else float(v) for v in (model.sill, model.range_, model.nugget, model.slope))
    gx, gy = np.ascontiguousarray(gx), np.ascontiguousarray(gy)
    for times, idx, ainv in groups:
        _ok_kernel(np.ascontiguousarray(sx[idx]), np.ascontiguousarray(sy[idx]),
                   np.ascontiguousarray(z[np.ix_(times, idx)]), times.astype(np.int64),
                   np.ascontiguousarray(ainv), gx, gy, code, *params, pred, var)
    return KrigingResult(pred, var)


_OK_IMPLS = {"numpy": _ok_numpy, "numba": _ok_numba, "cupy": _ok_cupy}


# --------------------------------------------------------------------------- public API


def _kriging_checked(sx, sy, vals2d, gx, gy, model, backend) -> KrigingResult:
    groups = _systems(to_host(sx), to_host(sy), np.isfinite(to_host(vals2d)), model)
    flat = run_backend(_OK_IMPLS, backend, (sx, sy, vals2d, gx.reshape(-1), gy.reshape(-1)),
                       groups=groups, model=model)
    shape = (vals2d.shape[0],) + tuple(gx.shape)
    return KrigingResult(flat.prediction.reshape(shape), flat.variance.reshape(shape))


def ordinary_kriging(
    station_x: Any,
    station_y: Any,
    values: Any,
    grid_x: Any,
    grid_y: Any,
    variogram: str | VariogramModel = "spherical",
    sill: float | None = None,
    range_: float | None = None,
    nugget: float | None = None,
    slope: float | None = None,
    backend: str = "auto",
) -> KrigingResult:
    """Ordinary kriging of station values onto grid points, with kriging variances.

    Parameters
    ----------
    station_x, station_y : array_like, shape (n_stations,)
        Station coordinates (projected, e.g. Lambert-93 metres; finite and distinct).
    values : array_like, shape (n_times, n_stations) or (n_stations,)
        Station values, **stations on the last axis**; NaN = missing: each step is
        kriged from the stations that reported at it. Infinite values are refused.
    grid_x, grid_y : array_like, any one shape
        Coordinates of the grid points (e.g. from ``numpy.meshgrid``).
    variogram : {"linear", "exponential", "spherical"} or VariogramModel
        The variogram model (see the module docstring for the formulas).
    sill : float, optional
        Total sill (nugget + partial sill), exponential and spherical models.
    range_ : float, optional
        Range (spherical) or practical range (exponential: 95 % of the partial sill).
    nugget : float, optional
        Nugget (default 0 when the other parameters are given).
    slope : float, optional
        Slope of the linear model.
    backend : {"auto", "numpy", "numba", "cupy"}
        "auto": CuPy when a GPU is usable, else Numba. NumPy is the reference.

    Returns
    -------
    KrigingResult
        ``prediction`` and ``variance`` (kriging variance, in squared units of the
        values), each ``(n_times, *grid_x.shape)`` (``grid_x.shape`` for 1-D values);
        NaN at steps where no station reported.

    Raises
    ------
    ValueError
        Naming the argument: empty input, mismatched shapes, values all NaN, two
        stations at one location, an unknown variogram, a missing or out-of-range
        parameter (sill <= 0, nugget < 0 or > sill, range_ <= 0, slope <= 0).
    occidata.compute.GPUUnavailableError
        ``backend="cupy"`` without a usable GPU.

    Notes
    -----
    With none of ``sill``, ``range_``, ``nugget``, ``slope`` given, the parameters
    are fitted with :func:`fit_variogram` (PyKrige's default fit, pooled over the
    time steps; needs SciPy). PyKrige's conventions throughout (module docstring):
    ``OrdinaryKriging(x, y, z, variogram_model=..., variogram_parameters=
    model.pykrige_parameters())`` gives the same predictions and variances. The
    variances do not depend on the values, only on the stations reporting at a step.
    Other backends agree with NumPy within :data:`occidata.compute._xp.TOLERANCE`
    relative to the largest ``|value|`` (predictions) and to the sill (variances).
    """
    sx, sy = check_stations(station_x, station_y)
    _check_distinct(to_host(sx), to_host(sy))
    vals, one_d = check_station_values(values, sx.shape[0])
    gx, gy = check_grid(grid_x, grid_y)
    model = _resolve_model(variogram, sill, range_, nugget, slope, sx, sy, vals)
    out = _kriging_checked(sx, sy, vals, gx, gy, model, backend)
    return KrigingResult(out.prediction[0], out.variance[0]) if one_d else out


def ordinary_kriging_xr(
    values: Any,
    x: Any,
    y: Any,
    variogram: str | VariogramModel = "spherical",
    sill: float | None = None,
    range_: float | None = None,
    nugget: float | None = None,
    slope: float | None = None,
    backend: str = "auto",
    station_dim: str = "station",
    station_x: str = "x",
    station_y: str = "y",
) -> Any:
    """:func:`ordinary_kriging` on an xarray DataArray of station series, lazily on dask chunks.

    Parameters
    ----------
    values : xarray.DataArray
        Station values with a ``station_dim`` dimension (other dimensions, e.g.
        ``time``, are kept and may be dask-chunked) and station coordinates
        ``station_x`` / ``station_y`` along it.
    x, y : array_like, 1-D
        Grid axes; the grid is their outer product.
    variogram, sill, range_, nugget, slope, backend
        As in :func:`ordinary_kriging`.
    station_dim, station_x, station_y : str
        Names of the station dimension and of its coordinates.

    Returns
    -------
    xarray.Dataset
        ``prediction`` and ``variance``, dimensions ``(<other dims>, "y", "x")``;
        dask-backed (lazy) when ``values`` is.

    Notes
    -----
    Without variogram parameters the model is fitted once, eagerly, on all the
    station values (loaded into memory: station series are small); give the
    parameters to keep everything lazy. Chunks with no reporting station give NaN.
    """
    import xarray as xr

    if not isinstance(values, xr.DataArray):
        raise ValueError("values: expected an xarray.DataArray with a station dimension")
    if station_dim not in values.dims:
        raise ValueError(f"values: has no dimension {station_dim!r} (dims {values.dims})")
    for name in (station_x, station_y):
        if name not in values.coords:
            raise ValueError(f"values: has no station coordinate {name!r}")
    sx, sy = check_stations(np.asarray(values[station_x]), np.asarray(values[station_y]))
    _check_distinct(sx, sy)
    gx_axis = as_float_array("x", np.asarray(x), ndim=1)
    gy_axis = as_float_array("y", np.asarray(y), ndim=1)
    gx, gy = check_grid(*np.meshgrid(gx_axis, gy_axis))
    n_s = sx.shape[0]
    data = values.drop_vars([station_x, station_y]).transpose(..., station_dim)
    if all(v is None for v in (sill, range_, nugget, slope)) and not isinstance(variogram, VariogramModel):
        host = np.asarray(data.values, dtype=np.float64).reshape(-1, n_s)
        check_not_all_nan("values", host)
        model = _check_model(fit_variogram(sx, sy, host, check_choice("variogram", variogram, VARIOGRAMS)))
    else:
        model = _resolve_model(variogram, sill, range_, nugget, slope, sx, sy, None)

    def chunk(block: Any) -> tuple[Any, Any]:
        lead = block.shape[:-1]
        vals, _ = check_station_values(block.reshape(-1, n_s), n_s, all_nan_ok=True)
        out = _kriging_checked(sx, sy, vals, gx, gy, model, backend)
        return out.prediction.reshape(lead + gx.shape), out.variance.reshape(lead + gx.shape)

    if data.chunks is not None:
        data = data.chunk({station_dim: -1})
    sizes = {"y": gy_axis.shape[0], "x": gx_axis.shape[0]}
    prediction, variance = xr.apply_ufunc(
        chunk, data,
        input_core_dims=[[station_dim]],
        output_core_dims=[["y", "x"], ["y", "x"]],
        dask="parallelized",
        output_dtypes=[np.float64, np.float64],
        dask_gufunc_kwargs={"output_sizes": sizes},
    )
    coords = {"y": np.asarray(gy_axis), "x": np.asarray(gx_axis)}
    return xr.Dataset({"prediction": prediction, "variance": variance}).assign_coords(coords)
