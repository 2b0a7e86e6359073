"""Keep a run's memory flat, whatever the table size.

Two glibc defaults make a long run's peak grow with the data rather than with the batch
size: every new thread gets its own malloc arena (drivers spawn threads of their own, and
each arena caches what it freed), and the threshold above which a block is mmap'ed (and
so handed back to the system when freed) rises after every large free, until batch-sized
buffers land in the heap and fragment it. Fixing both keeps the peak flat (measured in
benchmarks/: without them, 4 channels of PostgreSQL grew 367 MB -> 476 MB from 1M to 3M
rows)."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

M_MMAP_THRESHOLD = -3  # from glibc's malloc.h
M_ARENA_MAX = -8
MMAP_THRESHOLD = 128 * 1024  # glibc's own starting value, now kept fixed


@functools.cache
def tune_malloc(arenas: int = 2) -> bool:
    """Best effort, once per process; False where the C library is not glibc."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(M_ARENA_MAX, arenas) and libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    except (OSError, AttributeError):
        return False
