"""What every relational connector shares: the generated query, the splitPk split,
identifier quoting, and the writer's preSql / truncate / postSql around the channels.

A dialect module subclasses ``SqlReader`` (``stream`` a query as batches) and
``SqlWriter`` (its ``WriteTask`` and the column types of a table), and nothing else.
"""

from __future__ import annotations

import abc
import re
from collections.abc import Iterator
from contextlib import closing
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

import pyarrow as pa

from .base import ConnectorError, DataSource, Reader, ReadTask, Writer

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
LITERALS = {"null", "true", "false"}  # constants spelled like names
DEFAULT_FETCH_SIZE = 65536
RANGES_PER_CHANNEL = 4  # more ranges than channels evens out skewed keys


class Dialect:
    """Quoting and the few statements whose syntax differs between databases."""

    quote_char: ClassVar[str] = '"'

    @classmethod
    def quote(cls, name: str) -> str:
        q = cls.quote_char
        return q + name.replace(q, q + q) + q

    @classmethod
    def quote_table(cls, table: str) -> str:
        """``schema.table`` is quoted part by part; a name is never pasted raw."""
        return ".".join(cls.quote(part) for part in table.split("."))

    @classmethod
    def column_sql(cls, column: str) -> str:
        """A plain name is quoted; ``*``, constants and expressions are SQL as written."""
        if IDENTIFIER.match(column) and column.lower() not in LITERALS:
            return cls.quote(column)
        return column

    @classmethod
    def truncate_sql(cls, table: str) -> str:
        return f"DELETE FROM {cls.quote_table(table)}"


class SqlReadTask(ReadTask):
    def __init__(self, reader: SqlReader, sql: str, description: str):
        self.reader = reader
        self.sql = sql
        self.description = description

    def read(self) -> Iterator[pa.RecordBatch]:
        return self.reader.stream(self.sql)


class SqlReader(Reader):
    dialect: ClassVar[type[Dialect]] = Dialect
    default_fetch_size: ClassVar[int] = DEFAULT_FETCH_SIZE

    @abc.abstractmethod
    def connect(self) -> Any:
        """A DB-API connection, for the split's MIN/MAX query."""

    @abc.abstractmethod
    def stream(self, sql: str) -> Iterator[pa.RecordBatch]:
        """Run one query and yield its rows as batches of ``fetch_size`` rows."""

    @property
    def fetch_size(self) -> int:
        return int(self.parameter.get("fetchSize") or self.default_fetch_size)

    def split(self, channels: int) -> list[ReadTask]:
        query_sql = self.parameter.get("querySql")
        if query_sql:
            # a trailing ';' is common in pasted SQL, and breaks a query nested in another
            queries = [q.strip().rstrip(";") for q in _as_list(query_sql)]
            return [SqlReadTask(self, q, f"querySql #{i + 1}") for i, q in enumerate(queries)]
        tasks: list[ReadTask] = []
        for table in _as_list(self.parameter.get("table")):
            tasks.extend(self._split_table(table, channels))
        return tasks

    def _split_table(self, table: str, channels: int) -> list[ReadTask]:
        split_pk = self.parameter.get("splitPk")
        where = self.parameter.get("where") or ""
        if not split_pk or channels <= 1:
            return [SqlReadTask(self, self.select_sql(table, [where]), table)]
        pk = self.dialect.quote(split_pk)
        bounds = self._min_max(table, pk, where)
        if bounds is None:  # empty table: one task still reads it, finding nothing
            return [SqlReadTask(self, self.select_sql(table, [where]), table)]
        tasks = [
            SqlReadTask(self, self.select_sql(table, [where, cond]), f"{table} {cond}")
            for cond in _range_conditions(pk, *bounds, channels * RANGES_PER_CHANNEL)
        ]
        null_cond = f"{pk} IS NULL"
        tasks.append(SqlReadTask(self, self.select_sql(table, [where, null_cond]), f"{table} {null_cond}"))
        return tasks

    def _min_max(self, table: str, pk: str, where: str) -> tuple[int, int] | None:
        sql = f"SELECT MIN({pk}), MAX({pk}) FROM {self.dialect.quote_table(table)}"
        if where:
            sql += f" WHERE ({where})"
        with closing(self.connect()) as conn, closing(conn.cursor()) as cursor:
            cursor.execute(sql)
            low, high = cursor.fetchone()
        if low is None:
            return None
        if not isinstance(low, int) or isinstance(low, bool):
            raise ConnectorError(f"splitPk {self.parameter['splitPk']!r} must be an integer column")
        return low, high

    def select_sql(self, table: str, conditions: list[str]) -> str:
        columns = self.parameter.get("column") or ["*"]
        select = ", ".join(self.dialect.column_sql(c) for c in columns)
        sql = f"SELECT {select} FROM {self.dialect.quote_table(table)}"
        conditions = [c for c in conditions if c]
        if conditions:
            sql += " WHERE " + " AND ".join(f"({c})" for c in conditions)
        return sql


class SqlWriter(Writer):
    dialect: ClassVar[type[Dialect]] = Dialect

    @abc.abstractmethod
    def connect(self) -> Any:
        """A DB-API connection (not autocommit) for preSql, truncate and postSql."""

    @abc.abstractmethod
    def table_schema(self) -> pa.Schema:
        """The target table's columns and their Arrow types, in table order."""

    @property
    def table(self) -> str:
        return self.parameter["table"]

    def target_schema(self, source: pa.Schema) -> pa.Schema:
        return self.write_schema()

    def write_schema(self) -> pa.Schema:
        """The table's columns this writer fills, in the order of ``column``."""
        table = self.table_schema()
        columns = self.parameter.get("column") or ["*"]
        if columns == ["*"]:
            return table
        by_name = {f.name.lower(): f for f in table}
        missing = [c for c in columns if c.lower() not in by_name]
        if missing:
            raise ConnectorError(
                f"table {self.table!r} has no column {', '.join(map(repr, missing))}"
            )
        return pa.schema([by_name[c.lower()] for c in columns])

    def prepare(self) -> None:
        statements = [self.dialect.truncate_sql(self.table)] if self.parameter.get("truncate") else []
        statements += self._with_table(self.parameter.get("preSql"))
        self.execute_in_transaction(statements)

    def finish(self) -> None:
        self.execute_in_transaction(self._with_table(self.parameter.get("postSql")))

    def execute_in_transaction(self, statements: list[str]) -> None:
        """All or nothing: a failed postSql is never half applied."""
        if not statements:
            return
        with closing(self.connect()) as conn:
            try:
                with closing(conn.cursor()) as cursor:
                    for statement in statements:
                        cursor.execute(statement)
                conn.commit()
            except Exception as error:
                conn.rollback()
                raise ConnectorError(f"{statement!r} failed: {error}") from error

    def _with_table(self, statements: Any) -> list[str]:
        quoted = self.dialect.quote_table(self.table)
        return [s.replace("@table", quoted) for s in _as_list(statements) if s.strip()]


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _range_conditions(pk: str, low: int, high: int, parts: int) -> list[str]:
    """Half-open ranges covering [low, high], at most ``parts`` of them."""
    span = high - low + 1
    parts = max(1, min(parts, span))
    step = -(-span // parts)  # ceiling division
    edges = list(range(low, high + 1, step)) + [high + 1]
    return [f"{pk} >= {a} AND {pk} < {b}" for a, b in zip(edges, edges[1:])]


def datasource_required(datasource: DataSource | None, step_type: str) -> DataSource:
    if datasource is None:
        raise ConnectorError(f"a {step_type} step needs a datasource")
    return datasource


def connection_params(datasource: DataSource, default_port: int) -> dict[str, Any]:
    """host, port, database, user and password, from the fields or a SQLAlchemy-style ``url``."""
    url = datasource.get("url")
    if url:
        parts = urlsplit(url)
        fields = {
            "host": parts.hostname,
            "port": parts.port,
            "database": unquote(parts.path.lstrip("/")) or None,
            "user": unquote(parts.username) if parts.username else None,
            "password": unquote(parts.password) if parts.password is not None else None,
        }
    else:
        fields = {key: datasource.get(key) for key in ("host", "port", "database", "user", "password")}
    return {**fields, "host": fields["host"] or "localhost", "port": int(fields["port"] or default_port)}
