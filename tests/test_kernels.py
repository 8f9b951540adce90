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
