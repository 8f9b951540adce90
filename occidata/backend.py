"""Which compute backend this kernel runs: ``cpu`` (NumPy/Numba) or ``gpu`` (CuPy).

The kernelspecs in kernels/ set ``OCCIDATA_BACKEND``; without it the backend is ``cpu``.
``occidata.compute``'s ``backend="auto"`` obeys it: ``cpu`` never uses the GPU, even where CuPy
works (the CPU kernel on a GPU server); ``gpu``, or no variable at all, uses the GPU when one
is usable (:func:`occidata.compute.gpu_usable`).
"""

from __future__ import annotations

import os

BACKENDS = ("cpu", "gpu")


def current_backend() -> str:
    """The backend named by ``OCCIDATA_BACKEND``; an unknown name is an error, not a guess."""
    return backend_choice() or "cpu"


def backend_choice() -> str | None:
    """The backend ``OCCIDATA_BACKEND`` names, or None when it is unset or blank (no choice made)."""
    name = os.environ.get("OCCIDATA_BACKEND", "").strip().lower()
    if name and name not in BACKENDS:
        raise ValueError(
            f"OCCIDATA_BACKEND={name!r} is not a backend; use one of {', '.join(BACKENDS)}"
        )
    return name or None
