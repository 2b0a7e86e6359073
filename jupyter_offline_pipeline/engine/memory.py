"""Keep a run's memory flat: glibc gives each new thread its own malloc arena, and the
drivers' reader threads (connectorx spawns its own) each keep freed batches cached in
theirs, so peak memory grows with every thread instead of with the batch size. Two
arenas are plenty for channel threads that mostly wait in C."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

M_ARENA_MAX = -8  # from glibc's malloc.h


@functools.cache
def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Best effort, once per process; False where the C library is not glibc."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        return bool(ctypes.CDLL(name).mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        return False
