"""Backend choice and dispatch: pure logic, no GPU needed."""

from __future__ import annotations

import subprocess
import sys
from typing import NamedTuple

import numpy as np
import pytest

from occidata.compute import _xp
from occidata.compute._xp import GPUUnavailableError, resolve_backend, run_backend
from occidata.compute.checks import (
    as_float_array,
    check_choice,
    check_non_negative,
    check_not_all_nan,
    check_positive_int,
    check_same_shape,
)


class Pair(NamedTuple):
    total: np.ndarray
    label: str


def _impls(calls):
    def make(name):
        def impl(a, b, scale=1.0):
            calls.append(name)
            return Pair(total=(a + b) * scale, label=name)
        return impl
    return {name: make(name) for name in ("numpy", "numba", "cupy")}


def test_auto_is_numba_without_a_gpu():
    if _xp.gpu_usable():
        pytest.skip("this machine has a usable GPU: auto means cupy here")
    assert resolve_backend("auto") == "numba"


def test_unknown_backend_names_the_choices():
    with pytest.raises(ValueError, match="backend='gpu' is not one of 'auto', 'numpy', 'numba', 'cupy'"):
        resolve_backend("gpu")


def test_cupy_without_gpu_says_how_to_install(monkeypatch):
    monkeypatch.setattr(_xp, "_cupy_or_reason", lambda: (None, "CuPy is not installed"))
    with pytest.raises(GPUUnavailableError, match=r"occidata\[gpu\].*backend='numba'"):
        resolve_backend("cupy")


def test_cpu_server_never_uses_the_gpu(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    _xp._cupy_or_reason.cache_clear()
    try:
        assert not _xp.gpu_usable()
        assert resolve_backend("auto") == "numba"
    finally:
        _xp._cupy_or_reason.cache_clear()


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_dispatch_calls_the_backend_and_keeps_numpy_results(backend):
    calls = []
    out = run_backend(_impls(calls), backend, (np.ones(3), np.arange(3.0)), scale=2.0)
    assert calls == [backend]
    assert isinstance(out, Pair) and out.label == backend
    np.testing.assert_array_equal(out.total, [2.0, 4.0, 6.0])
    assert isinstance(out.total, np.ndarray)


def test_importing_occidata_compute_never_imports_cupy():
    code = (
        "import sys; import occidata.compute, occidata.compute._xp; "
        "print('cupy' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_checks_name_the_argument():
    with pytest.raises(ValueError, match="values: is empty"):
        as_float_array("values", [])
    with pytest.raises(ValueError, match="grid_x: expected a 2-D array"):
        as_float_array("grid_x", [1.0, 2.0], ndim=2)
    with pytest.raises(ValueError, match="hourly: not an array of numbers"):
        as_float_array("hourly", ["a", "b"])
    with pytest.raises(ValueError, match=r"tmin \(3,\), tmax \(4,\)"):
        check_same_shape(tmin=np.zeros(3), tmax=np.zeros(4))
    with pytest.raises(ValueError, match="flow: every value is NaN"):
        check_not_all_nan("flow", np.full(4, np.nan))
    with pytest.raises(ValueError, match=r"no2: 2 negative value\(s\) \(first -1\)"):
        check_non_negative("no2", np.array([1.0, -1.0, np.nan, -3.0]))
    with pytest.raises(ValueError, match="water_type='lake' is not known; use one of 'coastal'"):
        check_choice("water_type", "lake", ["coastal", "inland"])
    with pytest.raises(ValueError, match="window=0: expected an integer >= 1"):
        check_positive_int("window", 0)
    check_non_negative("no2", np.array([0.0, np.nan, 3.0]))  # zeros and missing values are fine


# --- OCCIDATA_BACKEND decides "auto" (the kernelspecs set it) ------------------------------------


@pytest.fixture
def cupy_importable(monkeypatch):
    """CuPy "installed" with one device that answers, faked at the import level (no GPU in CI)."""
    import types

    fake = types.ModuleType("cupy")
    fake.float64 = np.float64
    fake.arange = np.arange
    fake.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=lambda: 1))
    monkeypatch.setitem(sys.modules, "cupy", fake)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    _xp._cupy_or_reason.cache_clear()
    assert _xp.gpu_usable()
    yield fake
    _xp._cupy_or_reason.cache_clear()


def test_the_cpu_kernel_never_takes_the_gpu_even_where_cupy_works(cupy_importable, monkeypatch):
    monkeypatch.setenv("OCCIDATA_BACKEND", "cpu")
    assert resolve_backend("auto") == "numba"
    calls = []
    run_backend(_impls(calls), "auto", (np.ones(2), np.ones(2)))
    assert calls == ["numba"]


@pytest.mark.parametrize("setting", ["gpu", None, " "])
def test_the_gpu_kernel_and_no_setting_take_a_usable_gpu(cupy_importable, monkeypatch, setting):
    if setting is None:
        monkeypatch.delenv("OCCIDATA_BACKEND", raising=False)
    else:
        monkeypatch.setenv("OCCIDATA_BACKEND", setting)
    assert resolve_backend("auto") == "cupy"


def test_a_backend_named_in_the_call_wins_over_the_kernel(cupy_importable, monkeypatch):
    monkeypatch.setenv("OCCIDATA_BACKEND", "cpu")
    assert resolve_backend("cupy") == "cupy"
    monkeypatch.setenv("OCCIDATA_BACKEND", "gpu")
    assert resolve_backend("numpy") == "numpy"


def test_an_unknown_occidata_backend_is_named_not_guessed(monkeypatch):
    monkeypatch.setenv("OCCIDATA_BACKEND", "tpu")
    with pytest.raises(ValueError, match="OCCIDATA_BACKEND='tpu' is not a backend"):
        resolve_backend("auto")
