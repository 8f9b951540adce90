"""Which compute backend this kernel runs: ``cpu`` (NumPy/Numba) or ``gpu`` (CuPy).

The kernelspecs in kernels/ set ``OCCIDATA_BACKEND``; without it the backend is ``cpu``.
"""

from __future__ import annotations

import os

BACKENDS = ("cpu", "gpu")


def current_backend() -> str:
    """The backend named by ``OCCIDATA_BACKEND``; an unknown name is an error, not a guess."""
    name = os.environ.get("OCCIDATA_BACKEND", "cpu").strip().lower() or "cpu"
    if name not in BACKENDS:
        raise ValueError(
            f"OCCIDATA_BACKEND={name!r} is not a backend; use one of {', '.join(BACKENDS)}"
        )
    return name
