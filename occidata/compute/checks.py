"""Input checks shared by the analyses: a ValueError that names the argument.

A researcher who passes the wrong thing should read which argument is wrong
and why, never a broadcasting error from deep inside a kernel.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from occidata.compute._xp import array_module, to_host


def as_float_array(name: str, x: Any, *, ndim: int | Iterable[int] | None = None) -> Any:
    """``x`` as a float64 NumPy/CuPy array; ValueError naming ``name`` if empty or of wrong rank."""
    xp = array_module(x)
    try:
        arr = xp.asarray(x, dtype=xp.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name}: not an array of numbers ({err})") from None
    if arr.size == 0:
        raise ValueError(f"{name}: is empty; give at least one value")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(f"{n}-D" for n in allowed)
            raise ValueError(f"{name}: expected a {want} array, got shape {tuple(arr.shape)}")
    return arr


def check_same_shape(**arrays: Any) -> None:
    """All arrays have one shape; otherwise name each argument with its shape."""
    shapes = {name: tuple(a.shape) for name, a in arrays.items()}
    if len(set(shapes.values())) > 1:
        listed = ", ".join(f"{name} {shape}" for name, shape in shapes.items())
        raise ValueError(f"shapes differ: {listed}; these arguments must have the same shape")


def check_length(name: str, x: Any, axis: int, expected: int, other: str) -> None:
    """``x.shape[axis] == expected``, else say which argument fixes the length."""
    if x.shape[axis] != expected:
        raise ValueError(
            f"{name}: has {x.shape[axis]} along axis {axis} but {other} has {expected}; "
            "they must match"
        )


def check_not_all_nan(name: str, x: Any) -> None:
    """ValueError when every value of ``x`` is NaN (nothing to compute from)."""
    if not bool(to_host(array_module(x).isfinite(x).any())):
        raise ValueError(f"{name}: every value is NaN or infinite; there is nothing to compute")


def check_non_negative(name: str, x: Any) -> None:
    """Concentrations, flows and counts cannot be negative (NaN is allowed: a missing value)."""
    negative = int(to_host(array_module(x).count_nonzero(x < 0)))
    if negative:
        first = float(to_host(x[x < 0].ravel()[0]))
        raise ValueError(
            f"{name}: {int(negative)} negative value(s) (first {first:g}); "
            "concentrations and counts cannot be negative: mark bad values as NaN"
        )


def check_choice(name: str, value: Any, allowed: Iterable[Any]) -> Any:
    """``value`` if it is one of ``allowed``, else a ValueError listing them."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not known; use one of {', '.join(map(repr, allowed))}")
    return value


def check_positive_int(name: str, value: Any, minimum: int = 1) -> int:
    """An integer parameter at least ``minimum`` (window lengths, counts)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name}={value!r}: expected an integer >= {minimum}")
    return int(value)
