"""SQLite: ADBC's SQLite for every access to a data file, one transaction per batch.

Every connection the engine opens on a data file (column types, split bounds, reading,
writing, preSql / postSql, the data source operations) goes through
``adbc_driver_sqlite``, which bundles its own SQLite, and never through the standard
library's ``sqlite3`` (the system SQLite) as well: two copies of SQLite in one process do
not see each other's POSIX locks (one closing its file drops the other's locks, either may
take itself for the last connection and checkpoint or remove the WAL), which loses commits,
corrupts files and fails with "database is locked" when processes share a file (see
"multiple copies of SQLite linked into the same application" in sqlite.org/howtocorrupt.html).
Every connection waits up to ``BUSY_TIMEOUT_MS`` for another connection's lock.

SQLite is typed by declaration only, so the declared column types decide the Arrow types
(``arrow_type``); values that do not fit are caught by the safe cast and become dirty
records on the write side. Decimals are exact only within SQLite's 15 significant digits
(NUMERIC affinity stores REAL); declare a column TEXT to keep more.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from sqlite3 import complete_statement  # a pure function of a string: it opens no file

import adbc_driver_manager as adbc_manager
import adbc_driver_sqlite.dbapi as adbc_sqlite
import pyarrow as pa

from .arrowcast import CastError, cast_array
from .base import Connector, ConnectorError, DataSource, WriteTask, first_line
from .sql import Dialect, SqlReader, SqlWriter, datasource_required

BUSY_TIMEOUT_MS = 30000  # how long a connection waits for another one's lock

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


def connect(datasource: DataSource, *, autocommit: bool = False) -> adbc_sqlite.Connection:
    """An ADBC connection to the data source's file that waits for locks. Without
    autocommit, ADBC keeps a transaction open: ``commit()`` to keep what was written."""
    return _open(_path(datasource), autocommit=autocommit)


def _open(path: str, *, autocommit: bool = False) -> adbc_sqlite.Connection:
    try:
        conn = adbc_sqlite.connect(path, autocommit=autocommit)
    except adbc_manager.Error as error:
        raise ConnectorError(f"cannot open {path!r}: {_open_failure(path, error)}") from None
    try:
        with closing(conn.cursor()) as cursor:
            cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            cursor.fetchall()
    except BaseException:
        conn.close()
        raise
    return conn


@contextmanager
def _opened(datasource: DataSource) -> Iterator[adbc_sqlite.Connection]:
    """A connection for the data source operations, SQLite's failures as ConnectorError."""
    path = _path(datasource)
    try:
        with closing(_open(path, autocommit=True)) as conn:
            yield conn
    except adbc_manager.Error as error:
        raise ConnectorError(f"cannot open {path!r}: {_reason(error)}") from None


def _path(datasource: DataSource) -> str:
    path = datasource.get("path") or datasource.get("database")
    if not path:
        raise ConnectorError(f"data source {datasource.name!r} has no path")
    if not Path(path).parent.exists():
        raise ConnectorError(f"the folder of {path!r} does not exist")
    return path


# ADBC's status code, driver name and step before SQLite's own words: "IO: [SQLite] Failed
# to prepare query: no such table: x" (and the query on a second line)
_ADBC_PREFIX = re.compile(r"^(?:[A-Z_]+: )?(?:\[SQLite\] )?(?:[Ff]ailed to [a-z ]+?: )?")


def _reason(error: BaseException) -> str:
    """SQLite's own words for a failure, as the sqlite3 module gave them."""
    text = first_line(error)
    return _ADBC_PREFIX.sub("", text, count=1) or text


def _open_failure(path: str, error: BaseException) -> str:
    reason = _reason(error)
    if "failed to allocate memory" in reason:  # ADBC asks why of a handle SQLite never gave
        reason = "unable to open database file" + (" (it is a folder)" if os.path.isdir(path) else "")
    return reason


def table_columns(conn: adbc_sqlite.Connection, table: str) -> list[tuple[str, str]]:
    with closing(conn.cursor()) as cursor:
        # one batch for any table: ADBC guesses each result column's type from its first
        # batch, and ``dflt_value`` is NULL for most columns
        cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": "32768"})
        cursor.execute(f"PRAGMA table_info({SQLiteDialect.quote_table(table)})")
        rows = cursor.fetchall()
    if not rows:
        raise ConnectorError(f"table {table!r} does not exist")
    return [(name, declared) for _, name, declared, *_ in rows]


class SQLiteDialect(Dialect):
    quote_char = '"'


class SQLiteReader(SqlReader):
    """Two paths, both through ADBC. The fast one reads the columns as they are. ADBC
    guesses each column's type from its first batch, so the query starts with a typed
    sentinel row (dropped) that fixes the types even when the first real rows are NULL.
    Within that first batch a value of another storage class (SQLite's typing allows it)
    makes ADBC widen the column, to double or to string, losing digits: then the whole task
    is read by the slow path; in a later batch it makes ADBC stop with a type mismatch (an
    integer among reals is read as a real), and the rest of the task is then read by the
    slow path from the row where the fast path stopped (the same query gives the same
    order on an unchanged database). The slow path splits each column into one column per
    storage class, which ADBC reads without a mismatch, and puts the values back together
    as the row-by-row ``sqlite3`` module read them. A result column without a declared
    type (an expression, a querySql) takes the slow path from the start."""

    dialect = SQLiteDialect
    ROWS_FETCH_SIZE = 16384  # mixed storage classes make Python objects: keep these batches small

    def connect(self) -> adbc_sqlite.Connection:
        """For the split's MIN/MAX query (``SqlReader._min_max``)."""
        return connect(datasource_required(self.datasource, "sqlite"), autocommit=True)

    def stream(self, sql: str) -> Iterator[pa.RecordBatch]:
        with closing(self.connect()) as conn:
            with closing(conn.cursor()) as cursor:
                cursor.execute(f"SELECT * FROM ({sql}) LIMIT 0")
                names = [d[0] for d in cursor.description]
            declared = self._declared_types(conn)
        types = [declared.get(n.lower()) for n in names]
        done = 0
        if None not in types and len(set(names)) == len(names):
            try:
                for batch in self._stream_adbc(sql, names, types):
                    yield batch
                    done += batch.num_rows
                return
            except _Widened:  # nothing was yielded: the slow path reads it all
                pass
            except (adbc_manager.Error, OSError) as error:  # OSError: raised through the Arrow stream
                if "Type mismatch" not in str(error):
                    raise
        yield from self._stream_rows(sql, names, types, offset=done)

    def _stream_adbc(self, sql: str, names: list[str], types: list[pa.DataType]) -> Iterator[pa.RecordBatch]:
        quoted = [SQLiteDialect.quote(n) for n in names]
        sentinel = ", ".join(f"{_SENTINELS[_storage_class(t)]} AS {q}" for t, q in zip(types, quoted))
        typed = f"SELECT {sentinel} UNION ALL SELECT {', '.join(quoted)} FROM ({sql})"
        with closing(_open(self._path, autocommit=True)) as conn, closing(conn.cursor()) as cursor:
            cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(self.fetch_size)})
            cursor.execute(typed)
            for i, batch in enumerate(cursor.fetch_record_batch()):
                if i == 0 and any(c.type != _READ_AS[_storage_class(t)] for c, t in zip(batch.columns, types)):
                    raise _Widened  # ADBC widened a column to fit another storage class
                batch = batch.slice(1) if i == 0 else batch
                arrays = [cast_array(column, t) for column, t in zip(batch.columns, types)]
                yield pa.RecordBatch.from_arrays(arrays, names=names)

    def _stream_rows(
        self, sql: str, names: list[str], types: list[pa.DataType | None], offset: int = 0
    ) -> Iterator[pa.RecordBatch]:
        """The slow path: ``CASE typeof(c) WHEN 'integer' THEN c END`` and so on for each
        storage class, so every result column holds one storage class (or NULL), after a
        sentinel row fixing ADBC's guesses. The query's columns are renamed by position (a
        CTE's column list), so duplicate or odd names do not matter. Its LIMIT keeps it a
        subquery of its own (SQLite does not flatten a subquery with a LIMIT into a
        compound select): each value is computed once, not once per CASE."""
        width = len(_SENTINELS)
        columns = [f"_c{i}" for i in range(len(names))]
        sentinel = ", ".join(
            f"{literal} AS {c}_{kind}" for c in columns for kind, literal in _SENTINELS.items()
        )
        split = ", ".join(
            f"CASE typeof({c}) WHEN '{kind}' THEN {c} END" for c in columns for kind in _SENTINELS
        )
        query = (
            f"WITH _jop_rows({', '.join(columns)}) AS (SELECT * FROM ({sql}) LIMIT -1 OFFSET {offset}) "
            f"SELECT {sentinel} UNION ALL SELECT {split} FROM _jop_rows"
        )
        size = int(self.parameter.get("fetchSize") or self.ROWS_FETCH_SIZE)
        with closing(_open(self._path, autocommit=True)) as conn, closing(conn.cursor()) as cursor:
            cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(size)})
            cursor.execute(query)
            for i, batch in enumerate(cursor.fetch_record_batch()):
                batch = batch.slice(1) if i == 0 else batch
                if not batch.num_rows:
                    continue
                arrays = [
                    _typed(_joined(batch.columns[j * width:(j + 1) * width]), t) for j, t in enumerate(types)
                ]
                yield pa.RecordBatch.from_arrays(arrays, names=names)

    @property
    def _path(self) -> str:
        return _path(datasource_required(self.datasource, "sqlite"))

    def _declared_types(self, conn: adbc_sqlite.Connection) -> dict[str, pa.DataType]:
        """A result column named like a table column takes its declared type."""
        if self.parameter.get("querySql"):
            return {}
        types = {}
        for table in self.parameter.get("table") or []:
            for name, declared in table_columns(conn, table):
                types.setdefault(name.lower(), arrow_type(declared))
        return types


# a literal of each storage class: it fixes ADBC's guess of a column's type (the slow path
# relies on this order: integer, real, text, blob)
_SENTINELS = {"integer": "0", "real": "0.0", "text": "''", "blob": "X''"}
_READ_AS = {"integer": pa.int64(), "real": pa.float64(), "text": pa.string(), "blob": pa.binary()}  # ADBC's types


class _Widened(Exception):
    """The fast path's first batch mixed storage classes in a column: ADBC widened it (an
    integer to a double, a number to text) instead of refusing it, which loses digits."""


def _storage_class(t: pa.DataType) -> str:
    if pa.types.is_integer(t) or pa.types.is_boolean(t):
        return "integer"
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "real"  # NUMERIC affinity keeps decimals as REAL or INTEGER (read as REAL)
    if pa.types.is_binary(t):
        return "blob"
    return "text"  # text, and dates and times, which SQLite's date functions keep as text


def _joined(by_class: list[pa.Array]) -> pa.Array:
    """One column from its storage-class columns (a row has a value in one at most): the
    array ``_raw_array`` makes of the column's Python values (int, float, str, bytes or
    None, as the ``sqlite3`` module gives them), without making them when one storage
    class (or none) holds them all: int64, float64, string and binary are what
    ``pa.array`` makes of ints, floats, strs and bytes."""
    present = [a for a in by_class if a.null_count < len(a)]
    if not present:
        return pa.nulls(len(by_class[0]))
    if len(present) == 1:
        return present[0]
    values = [next((v for v in row if v is not None), None) for row in zip(*(a.to_pylist() for a in present))]
    return _raw_array(values)


def _raw_array(values: list | tuple) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed storage classes in one column
        return pa.array([None if v is None else str(v) for v in values], pa.string())


def _typed(raw: pa.Array, declared: pa.DataType | None) -> pa.Array:
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


def _file_lock(path: str) -> threading.Lock:
    return _file_locks.setdefault(os.path.realpath(path), threading.Lock())


class SQLiteWriteTask(WriteTask):
    """Binds whole Arrow batches through ADBC: the row loop runs in C, not in Python."""

    def __init__(self, writer: SQLiteWriter, target_schema: pa.Schema):
        super().__init__(target_schema)
        self.file_lock = _file_lock(writer.path)
        self.conn = _open(writer.path)  # not autocommit: each batch is one transaction
        self.cursor = self.conn.cursor()
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

    def connect(self) -> adbc_sqlite.Connection:
        return connect(datasource_required(self.datasource, "sqlite"))

    @property
    def path(self) -> str:
        return _path(datasource_required(self.datasource, "sqlite"))

    def table_schema(self) -> pa.Schema:
        with closing(connect(datasource_required(self.datasource, "sqlite"), autocommit=True)) as conn:
            columns = table_columns(conn, self.table)
        return pa.schema([(name, arrow_type(declared)) for name, declared in columns])

    def execute_in_transaction(self, statements: list[str]) -> None:
        """All or nothing, as in ``SqlWriter``, with the write lock taken first: BEGIN
        IMMEDIATE waits for it (busy timeout), where a deferred transaction that reads
        before it writes fails at once with "database is locked" if another connection
        wrote in between. ADBC runs the first statement of a string and silently ignores
        the rest: such a string is refused, as the ``sqlite3`` module refused it."""
        if not statements:
            return
        datasource = datasource_required(self.datasource, "sqlite")
        with _file_lock(self.path), closing(connect(datasource, autocommit=True)) as conn:
            with closing(conn.cursor()) as cursor:
                statement = "BEGIN IMMEDIATE"
                try:
                    cursor.execute(statement)
                    for statement in statements:
                        if _has_more_statements(statement):
                            raise ConnectorError("you can only execute one statement at a time")
                        cursor.execute(statement)
                    cursor.execute("COMMIT")
                except Exception as error:
                    try:
                        cursor.execute("ROLLBACK")
                    except adbc_manager.Error:
                        pass  # SQLite rolled back already (or never began)
                    raise ConnectorError(f"{statement!r} failed: {_reason(error)}") from error

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


def _has_more_statements(sql: str) -> bool:
    """Whether something other than blanks, comments and ';' follows the first statement."""
    for end, char in enumerate(sql):
        if char == ";" and complete_statement(sql[: end + 1]):
            rest = sql[end + 1:]
            while True:
                rest = rest.lstrip().lstrip(";").lstrip()
                if rest.startswith("--"):
                    rest = rest.partition("\n")[2]
                elif rest.startswith("/*"):
                    rest = rest.partition("*/")[2]
                else:
                    return bool(rest)
    return False


class SQLiteConnector(Connector):
    step_type = "sqlite"
    reader = SQLiteReader
    writer = SQLiteWriter

    def test_connection(self, datasource: DataSource) -> str:
        with _opened(datasource) as conn, closing(conn.cursor()) as cursor:
            cursor.execute("select sqlite_version()")
            version = cursor.fetchone()[0]
        return f"SQLite {version}"

    def list_tables(self, datasource: DataSource) -> list[str]:
        with _opened(datasource) as conn, closing(conn.cursor()) as cursor:
            cursor.execute(
                "select name from sqlite_master where type in ('table', 'view') "
                "and name not like 'sqlite_%' order by name"
            )
            rows = cursor.fetchall()
        return [name for (name,) in rows]

    def list_columns(self, datasource: DataSource, table: str) -> list[tuple[str, str]]:
        with _opened(datasource) as conn:
            return table_columns(conn, table)
