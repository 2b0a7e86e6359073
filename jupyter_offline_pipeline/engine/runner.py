"""Run one resolved script: split, channels, throttle, dirty records, error limit, stats.

The flow is DataX's: the reader's job-level split makes read tasks; ``speed.concurrent``
channels take them from a queue; each channel streams batches from its task into its own
write task. The writer's ``prepare`` (truncate, preSql) runs before any channel and its
``finish`` (postSql) only after every channel succeeded, so a failed run never applies
postSql and a rerun with a preSql delete gives the same table as one clean run.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa

from ..connectors import ConnectorError, DataSource, get_connector
from ..connectors.base import DirtyRecord, first_line, Reader, ReadTask, Writer, WriteTask
from .memory import tune_malloc
from .stats import Counters, RunSummary, Totals
from .throttle import Throttle

log = logging.getLogger(__name__)

MAX_DIRTY_SAMPLES = 20
PREFETCH_BATCHES = 1  # read ahead while the previous batch is written; bounds memory


class RunFailed(Exception):
    """The run stopped: the error limit was passed, a connector failed, or it was cancelled."""


@dataclass
class ErrorLimit:
    record: int | None = 0
    percentage: float | None = None

    @classmethod
    def from_setting(cls, setting: dict[str, Any]) -> ErrorLimit:
        limit = setting.get("errorLimit") or {}
        record = limit.get("record")
        percentage = limit.get("percentage")
        if record is None and percentage is None:
            return cls(record=0)  # nothing said: no dirty record is acceptable
        return cls(record=None if record is None else int(record), percentage=percentage)

    def check(self, totals: Totals, final: bool) -> None:
        if self.record is not None and totals.dirty_records > self.record:
            raise RunFailed(
                f"{totals.dirty_records} dirty records exceed errorLimit.record = {self.record}"
            )
        if final and self.record is None and self.percentage is not None and totals.records_read:
            ratio = totals.dirty_records / totals.records_read
            if ratio > self.percentage:
                raise RunFailed(
                    f"dirty records are {ratio:.2%} of those read, over "
                    f"errorLimit.percentage = {self.percentage}"
                )


ProgressCallback = Callable[[Totals], None]


class Job:
    """A canonical, resolved script bound to its connectors and data sources."""

    def __init__(self, script: dict[str, Any], datasources: Callable[[str], DataSource]):
        self.script = script
        steps = {s["category"]: s for s in script["steps"]}
        self.reader_step, self.writer_step = steps["reader"], steps["writer"]
        setting = script.get("setting") or {}
        speed = setting.get("speed") or {}
        self.channels = max(1, int(speed.get("concurrent") or 1))
        self.throttle = Throttle(speed.get("mbps") if speed.get("throttle") else None)
        self.error_limit = ErrorLimit.from_setting(setting)
        self.batch_size = (self.writer_step.get("parameter") or {}).get("batchSize")
        self.reader: Reader = _plugin(self.reader_step, "reader", datasources)
        self.writer: Writer = _plugin(self.writer_step, "writer", datasources)


def run_job(
    job: Job,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> RunSummary:
    tune_malloc()
    start = datetime.now()
    counters = Counters(job.channels)
    dirty_samples: list[dict] = []
    error: str | None = None
    try:
        tasks = job.reader.split(job.channels)
        job.writer.prepare()
        _ChannelPool(job, counters, dirty_samples, progress, cancel).run(tasks)
        job.error_limit.check(counters.totals, final=True)
        _check_counts(counters.totals)
        job.writer.finish()
    except (RunFailed, ConnectorError) as failure:
        error = str(failure)
    except Exception as failure:  # noqa: BLE001 - a driver's error, reported not raised
        log.debug("run failed", exc_info=True)
        error = f"{type(failure).__name__}: {first_line(failure)}"
    if error:
        _quietly(job.writer.abort)
    t = counters.totals
    return RunSummary(
        status="failed" if error else "success",
        start=start,
        end=datetime.now(),
        records_read=t.records_read,
        records_written=t.records_written,
        dirty_records=t.dirty_records,
        bytes=t.bytes,
        channels=counters.channels,
        error=error,
        dirty_samples=dirty_samples,
    )


class _ChannelPool:
    """``channels`` threads draining one queue of read tasks; the first failure stops all."""

    def __init__(self, job, counters, dirty_samples, progress, cancel):
        self.job = job
        self.counters = counters
        self.dirty_samples = dirty_samples
        self.progress = progress
        self.stop = cancel or threading.Event()
        self.tasks: queue.SimpleQueue[ReadTask] = queue.SimpleQueue()
        self._schema_lock = threading.Lock()
        self._target_schema: pa.Schema | None = None

    def run(self, tasks: list[ReadTask]) -> None:
        for task in tasks:
            self.tasks.put(task)
        channels = min(self.job.channels, max(1, len(tasks)))
        with ThreadPoolExecutor(channels, thread_name_prefix="channel") as pool:
            futures = [pool.submit(self._channel, i) for i in range(channels)]
            errors = [f.exception() for f in futures]
        failure = next((e for e in errors if e is not None and not isinstance(e, _Stopped)), None)
        if failure is not None:
            raise failure
        if self.stop.is_set():
            raise RunFailed("the run was cancelled")

    def _channel(self, channel: int) -> None:
        writer: WriteTask | None = None
        try:
            while not self.stop.is_set():
                try:
                    task = self.tasks.get_nowait()
                except queue.Empty:
                    return
                for batch in _prefetch(task.read(), PREFETCH_BATCHES, self.stop):
                    writer = writer or self.job.writer.open_task(self._target(batch.schema))
                    for chunk in _chunks(batch, self.job.batch_size):
                        self._move(channel, chunk, writer)
                self.counters.task_done(channel)
        except BaseException:
            self.stop.set()
            raise
        finally:
            if writer is not None:
                _quietly(writer.close)

    def _move(self, channel: int, batch: pa.RecordBatch, writer: WriteTask) -> None:
        if self.stop.is_set():
            raise _Stopped()
        nbytes = batch.nbytes
        self.job.throttle.consume(nbytes)
        self.counters.add(channel, read=batch.num_rows, nbytes=nbytes)
        result = writer.write(batch)
        self._log_dirty(result.dirty)
        totals = self.counters.add(channel, written=result.written, dirty=len(result.dirty))
        if self.progress:
            self.progress(totals)
        self.job.error_limit.check(totals, final=False)

    def _target(self, source: pa.Schema) -> pa.Schema:
        """Asked of the writer once, by the first channel with data."""
        with self._schema_lock:
            if self._target_schema is None:
                target = self.job.writer.target_schema(source)
                if len(target) != len(source):
                    raise RunFailed(
                        f"the reader gives {len(source)} columns "
                        f"({', '.join(source.names)}), the writer takes {len(target)} "
                        f"({', '.join(target.names)})"
                    )
                self._target_schema = target
            return self._target_schema

    def _log_dirty(self, dirty: list[DirtyRecord]) -> None:
        for record in dirty:
            log.warning("dirty record %s: %s", _short_repr(record.record), record.reason)
            if len(self.dirty_samples) < MAX_DIRTY_SAMPLES:
                self.dirty_samples.append({"record": _jsonable(record.record), "reason": record.reason})


class _Stopped(Exception):
    """A channel noticed another one failed (or a cancel) and stopped early."""


def _prefetch(batches: Iterator[pa.RecordBatch], depth: int, stop: threading.Event) -> Iterator[pa.RecordBatch]:
    """Read ahead in a thread so reading and writing overlap (drivers release the GIL).

    Both sides poll ``stop`` so that neither waits forever on the other once a channel
    has failed or the run was cancelled.
    """
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    done = object()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def pump() -> None:
        try:
            for batch in batches:
                if not put(batch):
                    return
            put(done)
        except BaseException as error:  # noqa: BLE001 - handed to the consuming thread
            put(error)

    threading.Thread(target=pump, name="prefetch", daemon=True).start()
    while True:
        try:
            item = buffer.get(timeout=0.1)
        except queue.Empty:
            if stop.is_set():
                raise _Stopped() from None
            continue
        if item is done:
            return
        if isinstance(item, BaseException):
            raise item
        if item.num_rows:
            yield item


def _chunks(batch: pa.RecordBatch, size: int | None) -> Iterator[pa.RecordBatch]:
    if not size or batch.num_rows <= size:
        yield batch
        return
    for offset in range(0, batch.num_rows, size):
        yield batch.slice(offset, size)


def _plugin(step: dict[str, Any], category: str, datasources: Callable[[str], DataSource]):
    connector = get_connector(step["stepType"])
    cls = connector.reader if category == "reader" else connector.writer
    if cls is None:
        raise ConnectorError(f"step type {step['stepType']!r} has no {category}")
    parameter = step.get("parameter") or {}
    name = parameter.get("datasource")
    return cls(parameter, datasources(name) if name else None)


def _check_counts(t: Totals) -> None:
    """Never report success for rows that went missing between reader and writer."""
    if t.records_read != t.records_written + t.dirty_records:
        raise RunFailed(
            f"{t.records_read} records read but {t.records_written} written "
            f"and {t.dirty_records} dirty"
        )


def _quietly(action: Callable[[], Any]) -> None:
    try:
        action()
    except Exception:  # noqa: BLE001 - cleanup must not hide the run's own error
        log.debug("cleanup failed", exc_info=True)


def _jsonable(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v if isinstance(v, (int, float, str, bool, type(None))) else str(v) for k, v in record.items()}


def _short_repr(record: dict[str, Any], limit: int = 300) -> str:
    text = repr(_jsonable(record))
    return text if len(text) <= limit else text[:limit] + "..."
