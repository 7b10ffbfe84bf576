"""Compiled loops on every core: ``run(fn, n, *args)`` calls a nogil numba function on one
block of ``range(n)`` per core, on threads, and adds up what the calls return."""

from __future__ import annotations

import contextlib
import functools
import os
from concurrent.futures import ThreadPoolExecutor

__all__ = ["worker_threads", "limit_threads", "run"]


def _cores() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else os.cpu_count() or 1)


_LIMIT = {"threads": None}


def worker_threads() -> int:
    """Threads ``run`` uses: one per core this process may use, or fewer inside
    :func:`limit_threads`."""
    limit = _LIMIT["threads"]
    return min(limit, _cores()) if limit else _cores()


@contextlib.contextmanager
def limit_threads(n: int):
    """``run`` on at most ``n`` threads inside the ``with`` block."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"threads must be an integer >= 1, not {n!r}")
    before, _LIMIT["threads"] = _LIMIT["threads"], n
    try:
        yield
    finally:
        _LIMIT["threads"] = before


@functools.lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(_cores(), thread_name_prefix="fpforge-kernel")


def run(fn, n: int, *args) -> int:
    """The sum of ``fn(*args, lo, hi)`` over one block [lo, hi) of [0, n) per thread
    (``fn`` must release the GIL: ``njit(nogil=True)``)."""
    parts = min(worker_threads(), n)
    if parts <= 1:
        return fn(*args, 0, n)
    bounds = [n * p // parts for p in range(parts + 1)]
    futures = [_pool().submit(fn, *args, lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:])]
    return sum(f.result() for f in futures)
