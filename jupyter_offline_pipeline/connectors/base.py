"""The plugin contract: a connector is a Reader and a Writer over Arrow record batches.

DataX's shape: a job-level split (``Reader.split`` makes one ``ReadTask`` per range, the
engine hands them to channels) and a task-level loop (a channel pulls batches from its
``ReadTask`` and pushes them through its own ``WriteTask``). The engine knows nothing of
any database; a connector knows nothing of channels, throttling or error limits.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pyarrow as pa

from .arrowcast import CastError, cast_batch


class ConnectorError(Exception):
    """A clear, user-facing failure of a data source (unreachable, auth, missing table)."""


@dataclass(frozen=True)
class DataSource:
    """A resolved connection: what a connector needs to reach the data, secrets included.

    ``params`` holds the type's connection fields (host, port, database, user, password,
    path, ...). It is built by the catalog and never logged or returned by an API.
    """

    name: str
    type: str
    params: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.params.get(key, default)

    def __repr__(self) -> str:  # never show secrets in tracebacks or logs
        return f"DataSource(name={self.name!r}, type={self.type!r})"


@dataclass(frozen=True)
class DirtyRecord:
    """A record the writer could not write, with the reason (conversion or constraint)."""

    record: dict[str, Any]
    reason: str


@dataclass
class WriteResult:
    written: int = 0
    dirty: list[DirtyRecord] = field(default_factory=list)


class ReadTask(abc.ABC):
    """One unit of the job-level split (a key range, a table, a file)."""

    description: str = ""

    @abc.abstractmethod
    def read(self) -> Iterator[pa.RecordBatch]:
        """Yield record batches of bounded size; memory must not grow with the data."""


class Reader(abc.ABC):
    def __init__(self, parameter: dict[str, Any], datasource: DataSource | None):
        self.parameter = parameter
        self.datasource = datasource

    @abc.abstractmethod
    def split(self, channels: int) -> list[ReadTask]:
        """Cut the read into tasks; a reader that cannot split returns one."""

    def column_count(self) -> int | None:
        """How many columns each record has, when known before reading (schema checks)."""
        columns = self.parameter.get("column") or []
        return None if columns in ([], ["*"]) else len(columns)


class WriteTask(abc.ABC):
    """One channel's writer. ``write`` commits a batch, or isolates its dirty records.

    Subclasses implement ``write_batch`` (all or nothing) and ``rollback``; the row-by-row
    fallback, the casting to the target's types and the dirty-record reasons live here so
    every connector behaves the same.
    """

    def __init__(self, target_schema: pa.Schema):
        self.target_schema = target_schema

    @abc.abstractmethod
    def write_batch(self, batch: pa.RecordBatch) -> None:
        """Write and commit the whole batch, or raise and write nothing."""

    def rollback(self) -> None:
        """Undo whatever a failed ``write_batch`` left open."""

    def close(self) -> None:
        """Release the channel's connection."""

    def write(self, batch: pa.RecordBatch) -> WriteResult:
        """Write a batch; when it fails, bisect it to isolate the bad records.

        Halving costs about (dirty records x log2(batch size)) extra writes instead of one
        write per row, and each half is still all or nothing.
        """
        result = WriteResult()
        self._write_or_split(batch, result)
        return result

    def _write_or_split(self, batch: pa.RecordBatch, result: WriteResult) -> None:
        try:
            self.write_batch(cast_batch(batch, self.target_schema))
            result.written += batch.num_rows
            return
        except CastError as error:
            reason = str(error)
        except Exception as error:  # noqa: BLE001 - the database's reason is the message
            reason = first_line(error)
        self.rollback()
        if batch.num_rows == 1:
            result.dirty.append(DirtyRecord(batch.to_pylist()[0], reason))
            return
        half = batch.num_rows // 2
        self._write_or_split(batch.slice(0, half), result)
        self._write_or_split(batch.slice(half), result)


class Writer(abc.ABC):
    def __init__(self, parameter: dict[str, Any], datasource: DataSource | None):
        self.parameter = parameter
        self.datasource = datasource

    @abc.abstractmethod
    def target_schema(self, source: pa.Schema) -> pa.Schema:
        """The names and Arrow types the target takes, given the reader's schema.

        A table writer answers from the table's own columns; a file writer may simply
        take the source's types under its own column names.
        """

    def prepare(self) -> None:
        """Before any channel writes: truncate, ``preSql``."""

    @abc.abstractmethod
    def open_task(self, target_schema: pa.Schema) -> WriteTask:
        """A writer for one channel."""

    def finish(self) -> None:
        """After every channel succeeded: ``postSql``, in one transaction."""

    def abort(self) -> None:
        """After a failed run: drop what ``prepare`` staged (temporary files...)."""


class Connector:
    """Registers a step type: its Reader, its Writer, and the data source operations."""

    step_type: ClassVar[str]
    family: ClassVar[str] = "relational"  # or "file"
    reader: ClassVar[type[Reader] | None] = None
    writer: ClassVar[type[Writer] | None] = None

    def test_connection(self, datasource: DataSource) -> str:
        """Connect and answer a short description (server version), or raise ConnectorError."""
        raise ConnectorError(f"{self.step_type} cannot test connections")

    def list_tables(self, datasource: DataSource) -> list[str]:
        return []

    def list_columns(self, datasource: DataSource, table: str) -> list[tuple[str, str]]:
        """(name, database type) of each column of a table, in order."""
        return []


def first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]
