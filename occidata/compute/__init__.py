"""occidata.compute: the analyses behind the notebooks, reports and dashboards.

Each analysis is one function taking ``backend="auto" | "numpy" | "numba" | "cupy"``:
"auto" is CuPy when a GPU is really usable (see :func:`gpu_usable`) and the kernel is not
the CPU one (``OCCIDATA_BACKEND=cpu``, :mod:`occidata.backend`), else Numba on the CPU.
The NumPy implementation is the reference; Numba and CuPy agree with it within
:data:`TOLERANCE`. Inputs may be NumPy or CuPy arrays and results come back in the same
type. The ``*_xr`` wrappers take xarray objects, dask-backed or not, and stay lazy
(``xr.apply_ufunc(dask="parallelized")``) so a notebook can run a whole grid chunk by chunk.

Bad input (mismatched shapes, empty or all-NaN data, negative concentrations, an unknown
pollutant or water type) raises ValueError naming the argument. Limits and band edges are
compared with statistics rounded to the data's resolution (:mod:`occidata.compute.resolution`),
so every backend gives the same counts and classes. Rule sets (index bands,
EU limit values, bathing-water limits, heatwave thresholds) are data under
``occidata/compute/data/``, each with its legal source.

>>> import numpy as np
>>> from occidata import compute
>>> compute.eaqi({"NO2": np.array([8.0, 30.0])}, backend="numpy").index
array([1, 3], dtype=int8)
"""

from occidata.compute._xp import TOLERANCE, GPUUnavailableError, gpu_usable, resolve_backend
from occidata.compute.air_indices import (
    IndexResult,
    atmo_index,
    atmo_index_daily,
    atmo_index_xr,
    eaqi,
    eaqi_xr,
    label,
)
from occidata.compute.air_limits import (
    Exceedance,
    Limit,
    daily_max,
    daily_max_xr,
    daily_mean,
    daily_mean_xr,
    exceedances,
    limit_values,
    mda8,
    mda8_xr,
)
from occidata.compute.bathing_water import (
    BathingWaterResult,
    bathing_water_class,
    bathing_water_class_table,
)
from occidata.compute.buildings import (
    AfterHours,
    Leaks,
    after_hours_load,
    after_hours_load_xr,
    detect_leaks,
    minimum_night_flow,
    minimum_night_flow_xr,
)
from occidata.compute.heat import (
    HeatwaveAlerts,
    department_thresholds,
    heatwave_alerts,
    heatwave_alerts_xr,
    heatwave_thresholds,
)
from occidata.compute.hwmid import HWMId, calendar_day, heat_waves, hwmid, hwmid_xr
from occidata.compute.resolution import to_resolution
from occidata.compute.interpolation import idw, idw_xr
from occidata.compute.kriging import (
    KrigingResult,
    VariogramModel,
    fit_variogram,
    ordinary_kriging,
    ordinary_kriging_xr,
)
from occidata.compute.rolling import (
    rolling_mean,
    rolling_mean_xr,
    rolling_percentile,
    rolling_percentile_xr,
)
from occidata.compute.traffic import TrafficAnomalies, traffic_anomalies, traffic_anomalies_xr

__all__ = [
    "TOLERANCE", "GPUUnavailableError", "gpu_usable", "resolve_backend", "to_resolution",
    "IndexResult", "atmo_index", "atmo_index_daily", "atmo_index_xr", "eaqi", "eaqi_xr", "label",
    "Exceedance", "Limit", "daily_max", "daily_max_xr", "daily_mean", "daily_mean_xr",
    "exceedances", "limit_values", "mda8", "mda8_xr",
    "BathingWaterResult", "bathing_water_class", "bathing_water_class_table",
    "AfterHours", "Leaks", "after_hours_load", "after_hours_load_xr", "detect_leaks",
    "minimum_night_flow", "minimum_night_flow_xr",
    "HeatwaveAlerts", "department_thresholds", "heatwave_alerts", "heatwave_alerts_xr",
    "heatwave_thresholds", "HWMId", "calendar_day", "heat_waves", "hwmid", "hwmid_xr",
    "idw", "idw_xr",
    "KrigingResult", "VariogramModel", "fit_variogram", "ordinary_kriging", "ordinary_kriging_xr",
    "rolling_mean", "rolling_mean_xr", "rolling_percentile", "rolling_percentile_xr",
    "TrafficAnomalies", "traffic_anomalies", "traffic_anomalies_xr",
]
