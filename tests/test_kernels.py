"""The occidata kernelspecs, installed by `make up`, start real kernels with their backend."""

from __future__ import annotations

import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import start_new_kernel

from occidata.kernels import install_kernels


@pytest.fixture(scope="module")
def kernel_names():
    return install_kernels()


@pytest.mark.parametrize("name, backend", [("occidata-cpu", "cpu"), ("occidata-gpu", "gpu")])
def test_kernel_reports_its_backend(kernel_names, name, backend):
    assert name in kernel_names
    spec = KernelSpecManager().get_kernel_spec(name)
    assert spec.env["OCCIDATA_BACKEND"] == backend
    manager, client = start_new_kernel(kernel_name=name)
    try:
        outputs = []
        reply = client.execute_interactive(
            "import occidata; print(occidata.current_backend())",
            output_hook=lambda msg: outputs.append(msg["content"].get("text", "")),
            timeout=60,
        )
        assert reply["content"]["status"] == "ok"
        assert "".join(outputs).strip() == backend
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


# In the kernel: CuPy "installed" with a device that answers (there is no GPU in CI), then what
# occidata.compute chooses for backend="auto" and a real computation with it.
FAKE_CUPY_THEN_CHOOSE = """
import os, sys, types
import numpy as np
fake = types.ModuleType("cupy")
fake.float64, fake.arange = np.float64, np.arange
fake.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=lambda: 1))
sys.modules["cupy"] = fake
os.environ.pop("CUDA_VISIBLE_DEVICES", None)
from occidata import compute
from occidata.compute import _xp
_xp._cupy_or_reason.cache_clear()
print(compute.gpu_usable(), compute.resolve_backend("auto"))
if compute.resolve_backend("auto") == "numba":
    print(compute.eaqi({"NO2": np.array([8.0, 30.0])}).index.tolist())
"""


@pytest.mark.parametrize("name, expected", [("occidata-cpu", ["True numba", "[1, 3]"]),
                                            ("occidata-gpu", ["True cupy"])])
def test_the_kernel_s_backend_decides_where_compute_runs(kernel_names, name, expected):
    manager, client = start_new_kernel(kernel_name=name)
    try:
        outputs = []
        reply = client.execute_interactive(
            FAKE_CUPY_THEN_CHOOSE,
            output_hook=lambda msg: outputs.append(msg["content"].get("text", "")),
            timeout=120,
        )
        assert reply["content"]["status"] == "ok", reply["content"]
        assert "".join(outputs).split("\n")[:len(expected)] == expected
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
