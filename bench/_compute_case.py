"""What one benchmark case of bench/compute.py is: our function against the best plain way.

Each ``bench/compute_<area>.py`` exposes ``cases(size: str) -> list[Case]`` for size
"demo" or "full"; bench/compute.py times them all in one run and prints the ratios.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class Case:
    analysis: str                      # public function name, e.g. "idw"
    shape: str                         # what the input is, e.g. "47 stations x 744 h -> 120x120 grid"
    numba: Callable[[], Any]           # ours, backend="numba", inputs already built
    numpy_best: Callable[[], Any]      # the best vectorised NumPy a researcher would write
    xarray: Callable[[], Any] | None = None   # xarray's own rolling/groupby, where one exists
    cupy: Callable[[], Any] | None = None     # ours, backend="cupy", inputs already on the GPU;
                                              # must synchronise before returning
    sequential: bool = False           # rolling windows, MDA8, heat runs, night flow: aim >= 2x
    bytes_read: int | None = None      # bytes a reduction must read at least (GPU bandwidth)
