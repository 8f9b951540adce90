"""occidata.current_backend(): the compute backend a kernel runs, from OCCIDATA_BACKEND."""

from __future__ import annotations

import pytest

import occidata


def test_default_backend_is_cpu(monkeypatch):
    monkeypatch.delenv("OCCIDATA_BACKEND", raising=False)
    assert occidata.current_backend() == "cpu"


def test_empty_backend_is_cpu(monkeypatch):
    monkeypatch.setenv("OCCIDATA_BACKEND", "  ")
    assert occidata.current_backend() == "cpu"


@pytest.mark.parametrize(
    "value, expected", [("GPU", "gpu"), (" gpu ", "gpu"), ("cpu", "cpu"), ("Cpu", "cpu")]
)
def test_backend_name_is_case_insensitive(monkeypatch, value, expected):
    monkeypatch.setenv("OCCIDATA_BACKEND", value)
    assert occidata.current_backend() == expected


def test_unknown_backend_is_an_error(monkeypatch):
    monkeypatch.setenv("OCCIDATA_BACKEND", "tpu")
    with pytest.raises(ValueError) as info:
        occidata.current_backend()
    message = str(info.value)
    assert "OCCIDATA_BACKEND" in message
    assert "tpu" in message
    assert "cpu, gpu" in message
