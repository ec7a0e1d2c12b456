"""How many threads BLAS and OpenMP use in a process (no NumPy here: it must be set before
NumPy loads)."""

from __future__ import annotations

import os

#: environment variables that set the thread pools of BLAS and OpenMP (read when NumPy loads)
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def one_thread_environment(environ=None) -> dict[str, str]:
    """A copy of ``environ`` (default ``os.environ``) in which a process started with it runs
    BLAS and OpenMP on one thread: for ranks that share the cores, and for small problems
    where a second BLAS thread only spins."""
    env = dict(os.environ if environ is None else environ)
    env.update({name: "1" for name in THREAD_VARIABLES})
    return env


def use_one_thread() -> None:
    """Give this process one BLAS and OpenMP thread. Only before NumPy is imported, and only
    while the process has a single thread (changing the environment is not thread-safe)."""
    os.environ.update(one_thread_environment({}))
