"""A byte-rate cap shared by every channel of a run (``speed.throttle`` + ``speed.mbps``)."""

from __future__ import annotations

import threading
import time


class Throttle:
    """Token bucket: each batch takes its bytes; a channel that runs ahead sleeps."""

    def __init__(self, mbps: float | None, clock=time.monotonic, sleep=time.sleep):
        self.rate = mbps * 1024 * 1024 if mbps else None
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._allowed_at = clock()

    def consume(self, nbytes: int) -> None:
        if not self.rate:
            return
        with self._lock:
            now = self._clock()
            start = max(self._allowed_at, now)
            self._allowed_at = start + nbytes / self.rate
            wait = start - now
        if wait > 0:
            self._sleep(wait)
