"""Backends and array namespaces: which implementation runs, and on which device.

Every analysis has one public function and a small table of implementations
``{"numpy": ..., "numba": ..., "cupy": ...}`` (the pattern of xarray-spatial's
``ArrayTypeFunctionMapping``). :func:`run_backend` picks the implementation,
moves the arrays to the device it needs and gives the results back in the
caller's array type: NumPy in, NumPy out; CuPy in, CuPy out.

The NumPy implementation is the reference. The others agree with it within
:data:`TOLERANCE` (relative, float64); the tests hold them to it.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from occidata.backend import backend_choice

BACKENDS = ("auto", "numpy", "numba", "cupy")

#: Relative tolerance of each backend against the NumPy reference (float64).
#: Numba and CuPy sum in other orders than NumPy (parallel reductions, fused
#: multiply-add on the GPU), so results differ in the last digits only.
TOLERANCE = {"numpy": 0.0, "numba": 1e-9, "cupy": 1e-7}

INSTALL_HINT = (
    "install the GPU extra with `pip install 'occidata[gpu]'` (cupy-cuda12x) on a machine "
    "with an NVIDIA driver, and pick the GPU profile or the occidata-gpu kernel; "
    "or use backend='numba' to compute on the CPU"
)


class GPUUnavailableError(RuntimeError):
    """backend='cupy' was asked for but no usable GPU (or no CuPy) is there."""


@functools.cache
def _cupy_or_reason() -> tuple[Any, str]:
    """Import CuPy and touch a device; return (cupy, "") or (None, why not)."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) == "":
        return None, "CUDA_VISIBLE_DEVICES is empty (a CPU server)"
    try:
        import cupy
    except ImportError as err:
        return None, f"CuPy is not installed ({err})"
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return None, "CuPy sees no CUDA device"
        # A real allocation and kernel: a driver that lists devices can still fail here.
        float((cupy.arange(4, dtype=cupy.float64) * 2).sum())
    except Exception as err:  # CUDA errors have many classes; any of them means "not usable"
        return None, f"the GPU is not usable ({type(err).__name__}: {err})"
    return cupy, ""


def gpu_usable() -> bool:
    """Whether CuPy is installed and a CUDA device answers (cached for the process)."""
    return _cupy_or_reason()[0] is not None


def require_cupy():
    """The cupy module, or :class:`GPUUnavailableError` with the reason and the install hint."""
    cupy, reason = _cupy_or_reason()
    if cupy is None:
        raise GPUUnavailableError(f"backend='cupy' cannot run: {reason}; {INSTALL_HINT}")
    return cupy


def is_cupy_array(x: Any) -> bool:
    """True for a cupy.ndarray, without importing CuPy."""
    return type(x).__module__.split(".")[0] == "cupy"


def array_module(*arrays: Any):
    """numpy, or cupy when any of ``arrays`` lives on the GPU (xarray's get_array_namespace rule)."""
    if any(is_cupy_array(a) for a in arrays):
        return require_cupy()
    return np


def resolve_backend(backend: str, *arrays: Any) -> str:
    """The concrete backend for ``backend``.

    "auto" is cupy for CuPy input (the data is on the GPU already); else numba when the kernel
    says ``OCCIDATA_BACKEND=cpu`` (:mod:`occidata.backend`), even where CuPy works; else cupy
    when a GPU is usable, numba otherwise. A backend named explicitly is taken as it is.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend={backend!r} is not one of {', '.join(map(repr, BACKENDS))}")
    if backend == "auto":
        if any(is_cupy_array(a) for a in arrays):
            return "cupy"
        if backend_choice() == "cpu":
            return "numba"
        return "cupy" if gpu_usable() else "numba"
    if backend == "cupy":
        require_cupy()
    return backend


def to_host(x: Any) -> Any:
    """A NumPy array from a NumPy or CuPy array (anything else is passed through)."""
    return x.get() if is_cupy_array(x) else x


def _to_backend(x: Any, backend: str) -> Any:
    if isinstance(x, np.ndarray) or is_cupy_array(x):
        if backend == "cupy":
            return require_cupy().asarray(x)
        return to_host(x)
    return x


def _convert(result: Any, on_gpu: bool) -> Any:
    """Give results back in the caller's array type, through tuples, lists and dicts."""
    if isinstance(result, tuple) and hasattr(result, "_fields"):  # namedtuple
        return type(result)(*(_convert(r, on_gpu) for r in result))
    if isinstance(result, (tuple, list)):
        return type(result)(_convert(r, on_gpu) for r in result)
    if isinstance(result, dict):
        return {k: _convert(v, on_gpu) for k, v in result.items()}
    if on_gpu and isinstance(result, np.ndarray):
        return require_cupy().asarray(result)
    if not on_gpu:
        return to_host(result)
    return result


def run_backend(
    impls: Mapping[str, Callable[..., Any]],
    backend: str,
    arrays: tuple[Any, ...],
    **kwargs: Any,
) -> Any:
    """Call ``impls[<resolved backend>](*arrays, **kwargs)`` on the right device.

    Arrays are moved to the GPU for "cupy" and to the host otherwise; the
    result comes back in the type of the inputs (CuPy if any input was CuPy).
    """
    name = resolve_backend(backend, *arrays)
    on_gpu = any(is_cupy_array(a) for a in arrays)
    moved = tuple(_to_backend(a, name) for a in arrays)
    return _convert(impls[name](*moved, **kwargs), on_gpu)
