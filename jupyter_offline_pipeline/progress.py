"""A tqdm bar on stderr fed by the engine's progress callback (records and speed)."""

from __future__ import annotations

import sys
import threading

from tqdm import tqdm

from .engine.stats import Totals


class ProgressBar:
    def __init__(self, enabled: bool = True):
        self.enabled = enabled and sys.stderr is not None
        self._lock = threading.Lock()
        self._bar: tqdm | None = None

    def __enter__(self) -> ProgressBar:
        if self.enabled:
            self._bar = tqdm(unit=" rec", unit_scale=True, file=sys.stderr, dynamic_ncols=True,
                             desc="records", mininterval=0.5)
        return self

    def update(self, totals: Totals) -> None:
        """Called from every channel thread after each batch."""
        if self._bar is None:
            return
        with self._lock:
            self._bar.update(totals.records_read - self._bar.n)
            self._bar.set_postfix_str(
                f"written={totals.records_written:,} dirty={totals.dirty_records:,}", refresh=False)

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.close()
