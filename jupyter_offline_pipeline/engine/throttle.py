"""A byte-rate cap shared by every channel of a run (``speed.throttle`` + ``speed.mbps``)."""

from __future__ import annotations

import threading
import time


class Throttle:
    """Token bucket: each batch takes its bytes; a channel that runs ahead sleeps."""

    def __init__(self, mbps: float | None):
        self.rate = mbps * 1024 * 1024 if mbps else None
        self._lock = threading.Lock()
        self._allowed_at = time.monotonic()

    def consume(self, nbytes: int) -> None:
        if not self.rate:
            return
        with self._lock:
            now = time.monotonic()
            start = max(self._allowed_at, now)
            self._allowed_at = start + nbytes / self.rate
            wait = start - now
        if wait > 0:
            time.sleep(wait)
