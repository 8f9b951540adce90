"""When the Numba kernels run on one thread instead of all of them.

Starting a parallel region costs more than it saves below a millisecond or two of work,
and on a busy machine one descheduled worker thread holds the whole call back by a
scheduler time slice. Small inputs therefore run the same ``parallel=True`` kernel on one
thread (one compiled kernel, not a serial twin).
"""

from __future__ import annotations

import contextlib

import numba

#: Elements of work (as each caller counts it) below which the kernels run on one thread.
PARALLEL_MIN_WORK = 1 << 20


@contextlib.contextmanager
def serial_if_small(work: int):
    """Run the Numba kernels called inside on one thread when ``work`` is below the threshold."""
    if work >= PARALLEL_MIN_WORK:
        yield
        return
    before = numba.get_num_threads()
    numba.set_num_threads(1)  # thread-local: other threads (dask workers) keep theirs
    try:
        yield
    finally:
        numba.set_num_threads(before)
