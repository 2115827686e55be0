"""Thread limits for numeric libraries during a simulation step.

The loops fit small models many times; on a few cores BLAS/OpenMP thread start-up costs more than it saves
(a 2-D mixture fit went from 148 to 12 ms per generation with one thread), and a fixed thread count keeps
floating-point results independent of the machine's core count.
"""

from __future__ import annotations

import functools
from typing import Any

from threadpoolctl import ThreadpoolController


@functools.cache
def _controller() -> ThreadpoolController:
    import sklearn.utils  # noqa: F401  (loads scikit-learn's OpenMP runtime, so the controller sees it too)

    return ThreadpoolController()


def one_blas_thread() -> Any:
    """Context manager: BLAS and OpenMP limited to one thread (the libraries are looked up once)."""
    return _controller().limit(limits=1)
