"""One BLAS thread around rnnlab's own loops, without an environment variable.

numpy's OpenBLAS starts a thread per core for every matrix product. The products in a
recurrent network's time loop are small (a batch of 32 times a 32 x 96 matrix), so the
threads bring nothing and, on a machine whose cores are busy, wait for each other:
an LSTM training step measured 28 ms with the default threads against 18 ms with one
on a loaded two-core machine. threadpoolctl limits the BLAS pool for the duration of a
call and restores it afterwards, so user code outside rnnlab keeps its own setting.

See the *Performance* page.
"""

from contextlib import contextmanager
from functools import wraps

import numpy  # noqa: F401 - loads numpy's BLAS, which the controller must find
from threadpoolctl import ThreadpoolController

__all__ = ["blas_threads", "one_blas_thread"]

#: Threads the decorated loops use; ``None`` leaves the BLAS default (the benchmark compares both).
BLAS_THREADS = 1
_controller = ThreadpoolController()             # finds the loaded BLAS libraries (~1 ms), once


@contextmanager
def blas_threads(n):
    """Run the body with ``n`` BLAS threads (``None``: the library's default), then restore."""
    if n is None:
        yield
        return
    with _controller.limit(limits=n, user_api="blas"):
        yield


def one_blas_thread(fn):
    """Decorator: run ``fn`` with ``BLAS_THREADS`` BLAS threads (about 8 µs per call)."""
    @wraps(fn)
    def wrapper(*args, **kwargs):
        with blas_threads(BLAS_THREADS):
            return fn(*args, **kwargs)
    return wrapper
