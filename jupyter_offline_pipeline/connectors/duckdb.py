"""DuckDB: a local analytical database file, read and written through Arrow.

DuckDB lets one process write a file, and the connections of that process must share
one database instance. ``duckdb.connect(path)`` gives exactly that: DuckDB's instance
cache hands every connection to an open file the same instance, counts them, and closes
the file when the last one closes. So each channel connects on its own (in effect a
cursor of the shared instance; DuckDB 2's ``.cursor()`` is no different), and the file
is free for other processes as soon as the run ends.

Every connection works in UTC (``TimeZone`` is per session), so ``TIMESTAMPTZ`` comes
out as ``timestamp[us, tz=UTC]`` and a naive text value goes in as UTC."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import duckdb
import pyarrow as pa

from .arrowcast import cast_batch
from .base import Connector, ConnectorError, DataSource, WriteResult, WriteTask
from .sql import Dialect, SqlReader, SqlWriter, datasource_required

_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")
_TYPES = {
    "BOOLEAN": pa.bool_(),
    "TINYINT": pa.int8(),
    "SMALLINT": pa.int16(),
    "INTEGER": pa.int32(),
    "BIGINT": pa.int64(),
    "UTINYINT": pa.uint8(),
    "USMALLINT": pa.uint16(),
    "UINTEGER": pa.uint32(),
    "UBIGINT": pa.uint64(),
    "HUGEINT": pa.decimal128(38, 0),  # as DuckDB itself exports it to Arrow
    "FLOAT": pa.float32(),
    "DOUBLE": pa.float64(),
    "DATE": pa.date32(),
    "TIMESTAMP": pa.timestamp("us"),
    "TIMESTAMP_S": pa.timestamp("s"),
    "TIMESTAMP_MS": pa.timestamp("ms"),
    "TIMESTAMP_NS": pa.timestamp("ns"),
    "TIMESTAMP WITH TIME ZONE": pa.timestamp("us", tz="UTC"),
    "BLOB": pa.binary(),
    "VARCHAR": pa.string(),
}
_CONNECT_LOCK = threading.Lock()
_EMPTY = pa.table({"_": pa.array([], pa.int8())})
_VERBS = {
    "insert": "INSERT", "replace": "INSERT OR REPLACE", "ignore": "INSERT OR IGNORE", "update": "INSERT",
}


def arrow_type(declared: str) -> pa.DataType:
    """DuckDB's type names (as DESCRIBE gives them); anything else travels as text,
    which DuckDB casts back on insert (TIME, UUID, INTERVAL, ENUM, LIST, STRUCT...)."""
    if match := _DECIMAL.fullmatch(declared):
        return pa.decimal128(int(match[1]), int(match[2]))
    return _TYPES.get(declared, pa.string())


def database_path(datasource: DataSource) -> str:
    """``params["path"]``, or a ``duckdb:///relative.duckdb`` / ``duckdb:////abs.duckdb`` url."""
    path = datasource.get("path") or datasource.get("database")
    url = datasource.get("url") or ""
    if not path and url.startswith("duckdb:///"):
        path = url.removeprefix("duckdb:///").split("?")[0]
    if not path:
        raise ConnectorError(f"data source {datasource.name!r} has no path")
    if not Path(path).expanduser().parent.exists():
        raise ConnectorError(f"the folder of {path!r} does not exist")
    return str(Path(path).expanduser())


def connect(datasource: DataSource) -> duckdb.DuckDBPyConnection:
    path = database_path(datasource)
    try:
        with _CONNECT_LOCK:
            conn = duckdb.connect(path)
            # A database creates its Arrow scan function on its first ``register``, and two
            # first registers at once fail ("python_arrow_scan does not exist"): one register
            # here, one connection at a time, creates it before any channel needs it.
            conn.register("_warm_up", _EMPTY)
            conn.unregister("_warm_up")
    except duckdb.Error as error:
        raise ConnectorError(f"cannot open {path!r}: {error}") from None
    conn.execute("SET SESSION TimeZone = 'UTC'; SET SESSION enable_progress_bar = false")
    return conn


def table_columns(conn: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    try:
        rows = conn.execute(f"DESCRIBE {DuckDBDialect.quote_table(table)}").fetchall()
    except duckdb.CatalogException:
        raise ConnectorError(f"table {table!r} does not exist") from None
    return [(name, declared) for name, declared, *_ in rows]


class DuckDBDialect(Dialect):
    quote_char = '"'


class DuckDBReader(SqlReader):
    dialect = DuckDBDialect

    def connect(self) -> duckdb.DuckDBPyConnection:
        return connect(datasource_required(self.datasource, "duckdb"))

    def stream(self, sql: str) -> Iterator[pa.RecordBatch]:
        with closing(self.connect()) as conn:
            # a streaming result: DuckDB produces the rows as the batches are taken
            yield from conn.sql(sql).to_arrow_reader(self.fetch_size)


class DuckDBWriteTask(WriteTask):
    """One transaction per batch: the batch is registered as a view and inserted by one
    ``INSERT ... SELECT``, so DuckDB reads the Arrow memory directly."""

    def __init__(self, writer: DuckDBWriter, target_schema: pa.Schema):
        super().__init__(target_schema)
        self.conn = writer.connect()
        self.view = f"_batch_{id(self):x}"
        self.sql = writer.insert_sql(target_schema.names, self.view)
        # with duplicate keys inside one batch DuckDB keeps the first row and counts one;
        # replace / update must let the last one win, which the row-by-row retry does
        self.expect_all = writer.mode != "ignore"

    def write(self, batch: pa.RecordBatch) -> WriteResult:
        """A failing batch is halved until its bad rows stand alone, rather than retried
        row by row: a commit costs DuckDB milliseconds (the WAL is synced), so one bad row
        among 65536 takes some 32 commits instead of 65536."""
        if batch.num_rows <= 1:
            return super().write(batch)
        try:
            self.write_batch(cast_batch(batch, self.target_schema))
            return WriteResult(written=batch.num_rows)
        except Exception:  # noqa: BLE001 - the halves find the rows and their reasons
            half = batch.num_rows // 2
            first, second = self.write(batch.slice(0, half)), self.write(batch.slice(half))
            return WriteResult(first.written + second.written, first.dirty + second.dirty)

    def write_batch(self, batch: pa.RecordBatch) -> None:
        self.conn.register(self.view, batch)
        self.conn.begin()
        try:
            (count,) = self.conn.execute(self.sql).fetchone()
            if self.expect_all and count != batch.num_rows:
                raise ConnectorError(f"{batch.num_rows - count} rows repeat a key of the same batch")
            self.conn.commit()
        except Exception:
            self.conn.rollback()  # first: an aborted transaction refuses even the unregister
            raise
        finally:
            self.conn.unregister(self.view)

    def close(self) -> None:
        self.conn.close()


class DuckDBWriter(SqlWriter):
    dialect = DuckDBDialect

    @property
    def mode(self) -> str:
        mode = self.parameter.get("writeMode") or "insert"
        if mode not in _VERBS:
            raise ConnectorError(f"writeMode {mode!r}: use {', '.join(_VERBS)}")
        return mode

    def connect(self) -> duckdb.DuckDBPyConnection:
        return connect(datasource_required(self.datasource, "duckdb"))

    def prepare(self) -> None:
        self.mode  # an unknown writeMode fails before any row
        super().prepare()

    def table_schema(self) -> pa.Schema:
        with closing(self.connect()) as conn:
            columns = table_columns(conn, self.table)
        return pa.schema([(name, arrow_type(declared)) for name, declared in columns])

    def open_task(self, target_schema: pa.Schema) -> WriteTask:
        return DuckDBWriteTask(self, target_schema)

    def insert_sql(self, columns: list[str], view: str) -> str:
        mode = self.mode
        quoted = ", ".join(self.dialect.quote(c) for c in columns)
        sql = (
            f"{_VERBS[mode]} INTO {self.dialect.quote_table(self.table)} ({quoted}) "
            f"SELECT {quoted} FROM {self.dialect.quote(view)}"
        )
        if mode == "update":  # an upsert on whichever key conflicts
            sets = (f"{q} = excluded.{q}" for q in map(self.dialect.quote, columns))
            sql += " ON CONFLICT DO UPDATE SET " + ", ".join(sets)
        return sql

    def execute_in_transaction(self, statements: list[str]) -> None:
        """A DuckDB cursor is a connection of its own: BEGIN / COMMIT on the one that executes."""
        if not statements:
            return
        with closing(self.connect()) as conn:
            conn.begin()
            for statement in statements:
                try:
                    conn.execute(statement)
                except duckdb.Error as error:
                    conn.rollback()
                    raise ConnectorError(f"{statement!r} failed: {error}") from error
            conn.commit()


class DuckDBConnector(Connector):
    step_type = "duckdb"
    reader = DuckDBReader
    writer = DuckDBWriter

    def test_connection(self, datasource: DataSource) -> str:
        with closing(connect(datasource)) as conn:
            (version,) = conn.execute("SELECT version()").fetchone()
        return f"DuckDB {version.lstrip('v')}"

    def list_tables(self, datasource: DataSource) -> list[str]:
        with closing(connect(datasource)) as conn:
            rows = conn.execute(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_catalog = current_database() ORDER BY 1, 2"
            ).fetchall()
        return [name if schema == "main" else f"{schema}.{name}" for schema, name in rows]

    def list_columns(self, datasource: DataSource, table: str) -> list[tuple[str, str]]:
        with closing(connect(datasource)) as conn:
            return table_columns(conn, table)
