"""Run statistics: per channel counters and the DataX-style summary."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from datetime import datetime


@dataclass
class ChannelStats:
    channel: int
    records_read: int = 0
    records_written: int = 0
    dirty_records: int = 0
    bytes: int = 0
    tasks: int = 0


@dataclass
class Totals:
    records_read: int = 0
    records_written: int = 0
    dirty_records: int = 0
    bytes: int = 0


class Counters:
    """Thread-safe totals that every channel adds to, and progress listeners read."""

    def __init__(self, channels: int):
        self._lock = threading.Lock()
        self.channels = [ChannelStats(i) for i in range(channels)]
        self.totals = Totals()

    def add(self, channel: int, *, read: int = 0, written: int = 0, dirty: int = 0, nbytes: int = 0) -> Totals:
        with self._lock:
            stats = self.channels[channel]
            stats.records_read += read
            stats.records_written += written
            stats.dirty_records += dirty
            stats.bytes += nbytes
            t = self.totals
            t.records_read += read
            t.records_written += written
            t.dirty_records += dirty
            t.bytes += nbytes
            return Totals(**asdict(t))

    def task_done(self, channel: int) -> None:
        with self._lock:
            self.channels[channel].tasks += 1


@dataclass
class RunSummary:
    status: str  # "success" or "failed"
    start: datetime
    end: datetime
    records_read: int
    records_written: int
    dirty_records: int
    bytes: int
    channels: list[ChannelStats] = field(default_factory=list)
    error: str | None = None
    dirty_samples: list[dict] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return max((self.end - self.start).total_seconds(), 1e-9)

    @property
    def records_per_second(self) -> float:
        return self.records_read / self.seconds

    @property
    def bytes_per_second(self) -> float:
        return self.bytes / self.seconds

    def to_dict(self) -> dict:
        data = {
            "status": self.status,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "seconds": round(self.seconds, 3),
            "records_read": self.records_read,
            "records_written": self.records_written,
            "dirty_records": self.dirty_records,
            "bytes": self.bytes,
            "records_per_second": round(self.records_per_second, 1),
            "bytes_per_second": round(self.bytes_per_second, 1),
            "channels": [asdict(c) for c in self.channels],
            "dirty_samples": self.dirty_samples,
        }
        if self.error:
            data["error"] = self.error
        return data

    def format(self) -> str:
        """The summary a DataX user expects at the end of a log."""
        rows = [
            ("Task start time", f"{self.start:%Y-%m-%d %H:%M:%S}"),
            ("Task end time", f"{self.end:%Y-%m-%d %H:%M:%S}"),
            ("Total duration", f"{self.seconds:.2f}s"),
            ("Average traffic", f"{_human_bytes(self.bytes_per_second)}/s"),
            ("Record write speed", f"{self.records_per_second:,.0f} rec/s"),
            ("Records read", f"{self.records_read:,}"),
            ("Records written", f"{self.records_written:,}"),
            ("Dirty records", f"{self.dirty_records:,}"),
            ("Status", self.status.upper()),
        ]
        if self.error:
            rows.append(("Error", self.error))
        lines = [f"{label:<20}: {value}" for label, value in rows]
        lines += [
            f"  channel {c.channel}: {c.records_read:,} read, {c.records_written:,} written, "
            f"{c.dirty_records:,} dirty, {_human_bytes(c.bytes)}, {c.tasks} split(s)"
            for c in self.channels
        ]
        return "\n".join(lines)


def _human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.2f} {unit}"
        n /= 1024
    return f"{n:.2f} GB"
