"""SQLite: the standard library driver, one transaction per batch.

SQLite is typed by declaration only, so the declared column types decide the Arrow types
(``arrow_type``); values that do not fit are caught by the safe cast and become dirty
records on the write side. Decimals are exact only within SQLite's 15 significant digits
(NUMERIC affinity stores REAL); declare a column TEXT to keep more.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import adbc_driver_manager as adbc_manager
import adbc_driver_sqlite.dbapi as adbc_sqlite
import pyarrow as pa

from .arrowcast import CastError, cast_array
from .base import Connector, ConnectorError, DataSource, WriteTask
from .sql import Dialect, SqlReader, SqlWriter, datasource_required

_DECIMAL = re.compile(r"(?:DECIMAL|NUMERIC)\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)", re.I)


def arrow_type(declared: str) -> pa.DataType:
    """SQLite's affinity rules, refined by the common type names people declare."""
    t = (declared or "").upper()
    if match := _DECIMAL.search(t):
        return pa.decimal128(int(match[1]), int(match[2] or 0))
    if "BOOL" in t:
        return pa.bool_()
    if "INT" in t:
        return pa.int64()
    if "TIMESTAMPTZ" in t or "WITH TIME ZONE" in t:
        return pa.timestamp("us", tz="UTC")
    if "DATETIME" in t or "TIMESTAMP" in t:
        return pa.timestamp("us")
    if "DATE" in t:
        return pa.date32()
    if any(word in t for word in ("CHAR", "CLOB", "TEXT")):
        return pa.string()
    if "BLOB" in t or not t:
        return pa.binary()
    if any(word in t for word in ("REAL", "FLOA", "DOUB", "NUMERIC", "DECIMAL")):
        return pa.float64()
    return pa.string()


def connect(datasource: DataSource) -> sqlite3.Connection:
    return sqlite3.connect(_path(datasource), timeout=30, check_same_thread=False)


def _path(datasource: DataSource) -> str:
    path = datasource.get("path") or datasource.get("database")
    if not path:
        raise ConnectorError(f"data source {datasource.name!r} has no path")
    if not Path(path).parent.exists():
        raise ConnectorError(f"the folder of {path!r} does not exist")
    return path


def table_columns(conn: sqlite3.Connection, table: str) -> list[tuple[str, str]]:
    rows = conn.execute(f"PRAGMA table_info({SQLiteDialect.quote_table(table)})").fetchall()
    if not rows:
        raise ConnectorError(f"table {table!r} does not exist")
    return [(name, declared) for _, name, declared, *_ in rows]


class SQLiteDialect(Dialect):
    quote_char = '"'


class SQLiteReader(SqlReader):
    """Two paths. The fast one reads through ADBC, in C. ADBC guesses each column's type
    from the first rows it sees, so the query starts with a typed sentinel row (dropped)
    that fixes the types even when the first real rows are NULL; a later value of another
    storage class (SQLite's typing allows it) makes ADBC stop with a type mismatch, never
    convert silently, and the rest of the task is then read by the standard library
    driver, value by value, from the row where the fast path stopped (the same query
    gives the same order on an unchanged database). A result column without a declared
    type (an expression, a querySql) takes the slow path from the start."""

    dialect = SQLiteDialect
    ROWS_FETCH_SIZE = 16384  # the slow path makes Python tuples: keep its batches small

    def connect(self) -> sqlite3.Connection:
        return connect(datasource_required(self.datasource, "sqlite"))

    def stream(self, sql: str) -> Iterator[pa.RecordBatch]:
        with closing(self.connect()) as conn:
            names = [d[0] for d in conn.execute(f"SELECT * FROM ({sql}) LIMIT 0").description]
            declared = self._declared_types(conn)
        types = [declared.get(n.lower()) for n in names]
        done = 0
        if None not in types and len(set(names)) == len(names):
            try:
                for batch in self._stream_adbc(sql, names, types):
                    yield batch
                    done += batch.num_rows
                return
            except (adbc_manager.Error, OSError) as error:  # OSError: raised through the Arrow stream
                if "Type mismatch" not in str(error):
                    raise
        yield from self._stream_rows(sql, types, offset=done)

    def _stream_adbc(self, sql: str, names: list[str], types: list[pa.DataType]) -> Iterator[pa.RecordBatch]:
        quoted = [SQLiteDialect.quote(n) for n in names]
        sentinel = ", ".join(f"{_SENTINELS[_storage_class(t)]} AS {q}" for t, q in zip(types, quoted))
        typed = f"SELECT {sentinel} UNION ALL SELECT {', '.join(quoted)} FROM ({sql})"
        with closing(adbc_sqlite.connect(self._path)) as conn, closing(conn.cursor()) as cursor:
            cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(self.fetch_size)})
            cursor.execute(typed)
            for i, batch in enumerate(cursor.fetch_record_batch()):
                batch = batch.slice(1) if i == 0 else batch
                arrays = [cast_array(column, t) for column, t in zip(batch.columns, types)]
                yield pa.RecordBatch.from_arrays(arrays, names=names)

    def _stream_rows(self, sql: str, types: list[pa.DataType | None], offset: int = 0) -> Iterator[pa.RecordBatch]:
        with closing(self.connect()) as conn:
            cursor = conn.execute(f"SELECT * FROM ({sql}) LIMIT -1 OFFSET {offset}" if offset else sql)
            names = [d[0] for d in cursor.description]
            size = int(self.parameter.get("fetchSize") or self.ROWS_FETCH_SIZE)
            while rows := cursor.fetchmany(size):
                arrays = [_to_arrow(values, t) for values, t in zip(zip(*rows), types)]
                yield pa.RecordBatch.from_arrays(arrays, names=names)

    @property
    def _path(self) -> str:
        return _path(datasource_required(self.datasource, "sqlite"))

    def _declared_types(self, conn: sqlite3.Connection) -> dict[str, pa.DataType]:
        """A result column named like a table column takes its declared type."""
        if self.parameter.get("querySql"):
            return {}
        types = {}
        for table in self.parameter.get("table") or []:
            for name, declared in table_columns(conn, table):
                types.setdefault(name.lower(), arrow_type(declared))
        return types


# a literal of the storage class each Arrow type is read as: it fixes ADBC's guess
_SENTINELS = {"integer": "0", "real": "0.0", "text": "''", "blob": "X''"}


def _storage_class(t: pa.DataType) -> str:
    if pa.types.is_integer(t) or pa.types.is_boolean(t):
        return "integer"
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "real"  # NUMERIC affinity keeps decimals as REAL or INTEGER (read as REAL)
    if pa.types.is_binary(t):
        return "blob"
    return "text"  # text, and dates and times, which SQLite's date functions keep as text


def _to_arrow(values: tuple, declared: pa.DataType | None) -> pa.Array:
    try:
        raw = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed storage classes in one column
        raw = pa.array([None if v is None else str(v) for v in values], pa.string())
    if declared is None or raw.type == declared:
        return raw
    if pa.types.is_null(raw.type):
        return pa.nulls(len(raw), declared)
    try:
        return cast_array(raw, declared)
    except CastError:
        return raw  # keep what is stored; the writer's cast decides whether it is dirty


# SQLite takes one writer at a time: channels queue on a lock instead of on SQLite's
# busy handler, which sleeps in steps and wastes the wait
_file_locks: dict[str, threading.Lock] = {}


class SQLiteWriteTask(WriteTask):
    """Binds whole Arrow batches through ADBC: the row loop runs in C, not in Python."""

    def __init__(self, writer: SQLiteWriter, target_schema: pa.Schema):
        super().__init__(target_schema)
        self.file_lock = _file_locks.setdefault(writer.path, threading.Lock())
        self.conn = adbc_sqlite.connect(writer.path)
        self.cursor = self.conn.cursor()
        self.cursor.execute("PRAGMA busy_timeout = 30000")
        self.sql = writer.insert_sql(target_schema.names)

    def write_batch(self, batch: pa.RecordBatch) -> None:
        batch = _storable(batch)
        with self.file_lock:
            self.cursor.executemany(self.sql, batch)
            self.conn.commit()

    def rollback(self) -> None:
        self.conn.rollback()

    def close(self) -> None:
        self.cursor.close()
        self.conn.close()


def _storable(batch: pa.RecordBatch) -> pa.RecordBatch:
    """SQLite keeps int, float, text and blob: dates, timestamps and decimals go as text
    (the form SQLite's date functions read), booleans as 0/1."""
    arrays = []
    for array in batch.columns:
        t = array.type
        if pa.types.is_temporal(t) or pa.types.is_decimal(t):
            array = cast_array(array, pa.string())
        elif pa.types.is_boolean(t):
            array = cast_array(array, pa.int64())
        arrays.append(array)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


_VERBS = {"insert": "INSERT", "replace": "INSERT OR REPLACE", "ignore": "INSERT OR IGNORE", "update": "INSERT"}


class SQLiteWriter(SqlWriter):
    dialect = SQLiteDialect

    def connect(self) -> sqlite3.Connection:
        return connect(datasource_required(self.datasource, "sqlite"))

    @property
    def path(self) -> str:
        return _path(datasource_required(self.datasource, "sqlite"))

    def table_schema(self) -> pa.Schema:
        with closing(self.connect()) as conn:
            columns = table_columns(conn, self.table)
        return pa.schema([(name, arrow_type(declared)) for name, declared in columns])

    def open_task(self, target_schema: pa.Schema) -> WriteTask:
        return SQLiteWriteTask(self, target_schema)

    def insert_sql(self, columns: list[str]) -> str:
        mode = self.parameter.get("writeMode") or "insert"
        quoted = [self.dialect.quote(c) for c in columns]
        sql = (
            f"{_VERBS[mode]} INTO {self.dialect.quote_table(self.table)} "
            f"({', '.join(quoted)}) VALUES ({', '.join('?' * len(columns))})"
        )
        if mode == "update":  # an upsert on whichever key conflicts
            sql += " ON CONFLICT DO UPDATE SET " + ", ".join(f"{q} = excluded.{q}" for q in quoted)
        return sql


class SQLiteConnector(Connector):
    step_type = "sqlite"
    reader = SQLiteReader
    writer = SQLiteWriter

    def test_connection(self, datasource: DataSource) -> str:
        try:
            with closing(connect(datasource)) as conn:
                version = conn.execute("select sqlite_version()").fetchone()[0]
        except sqlite3.Error as error:
            raise ConnectorError(f"cannot open {datasource.get('path')!r}: {error}") from None
        return f"SQLite {version}"

    def list_tables(self, datasource: DataSource) -> list[str]:
        with closing(connect(datasource)) as conn:
            rows = conn.execute(
                "select name from sqlite_master where type in ('table', 'view') "
                "and name not like 'sqlite_%' order by name"
            ).fetchall()
        return [name for (name,) in rows]

    def list_columns(self, datasource: DataSource, table: str) -> list[tuple[str, str]]:
        with closing(connect(datasource)) as conn:
            return table_columns(conn, table)
