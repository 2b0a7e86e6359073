"""Shared fixtures: edge-value tables, the real databases, the Jupyter server and its REST client."""

import json
# --- files and DuckDB connectors: the edge-value table and a pipeline runner ----------

import zlib  # noqa: E402
from datetime import date, datetime, timezone  # noqa: E402
from decimal import Decimal  # noqa: E402

import pyarrow as pa  # noqa: E402
import pytest  # noqa: E402

from jupyter_offline_pipeline.connectors import DataSource  # noqa: E402
from jupyter_offline_pipeline.engine.runner import Job, run_job  # noqa: E402

EDGE_SCHEMA = pa.schema([
    ("id", pa.int64()), ("i64", pa.int64()), ("dec", pa.decimal128(38, 10)), ("f64", pa.float64()),
    ("s", pa.string()), ("flag", pa.bool_()), ("d", pa.date32()), ("ts", pa.timestamp("us")),
    ("tz", pa.timestamp("us", tz="UTC")), ("bin", pa.binary()),
])
_UTC = timezone.utc
_EDGE_ROWS = [
    (0, -2**63, Decimal("-9999999999999999999999999999.9999999999"), -1e300, "", True,
     date(1900, 1, 1), datetime(1900, 1, 1, 0, 0, 0, 1), datetime(1900, 1, 1, 0, 0, 0, 1, _UTC), b"\x00\x00"),
    (1, 2**63 - 1, Decimal("9999999999999999999999999999.9999999999"), 1e300, None, False,
     date(1969, 12, 31), datetime(1969, 12, 31, 23, 59, 59, 999999),
     datetime(1969, 12, 31, 23, 59, 59, 999999, _UTC), b""),
    (2, None, None, None, "中文 😀 emoji", None, None, None, None, None),
    (3, 0, Decimal("0E-10"), -0.0, 'quote " comma , tab \t line\nbreak', True,
     date(9999, 12, 31), datetime(9999, 12, 31, 23, 59, 59, 999999),
     datetime(2038, 1, 19, 3, 14, 7, 123456, _UTC), b"\xff\x00\xfe"),
    (4, -1, Decimal("0.0000000001"), 0.1, "NULL", False, date(1970, 1, 1),
     datetime(2020, 2, 29, 12, 34, 56, 789012), datetime(1960, 6, 1, 0, 0, tzinfo=_UTC), b"x"),
    (5, 1, Decimal("-1.5"), 1 / 3, " padded ", True, date(2000, 2, 29),
     datetime(1970, 1, 1), datetime(1970, 1, 1, tzinfo=_UTC), b"\x00"),
]


def edge_rows(extra: int = 0) -> pa.Table:
    """Edge values (NULLs, '' vs NULL, int64 and decimal(38,10) limits, old and far dates,
    micros, zero bytes, CJK and emoji) and ``extra`` ordinary rows after them."""
    rows = _EDGE_ROWS + [
        (i, i * 7919, Decimal(i) / 8, i / 4, f"行 {i}", i % 2 == 0, date(2024, 1, 1 + i % 28),
         datetime(2024, 1, 1, 0, 0, i % 60, i), datetime(2024, 1, 1, 0, i % 60, tzinfo=_UTC), bytes([i % 256]))
        for i in range(len(_EDGE_ROWS), len(_EDGE_ROWS) + extra)
    ]
    return pa.Table.from_pylist([dict(zip(EDGE_SCHEMA.names, r)) for r in rows], schema=EDGE_SCHEMA)


@pytest.fixture
def edge_table() -> pa.Table:
    return edge_rows(extra=500)


def _canonical(value) -> str:
    return value.isoformat() if isinstance(value, (date, datetime)) else repr(value)


def _table_checksums(table: pa.Table) -> dict[str, tuple[int, int, int]]:
    return {
        name: (len(column), column.null_count,
               sum(zlib.crc32(_canonical(v).encode()) for v in column.to_pylist()))
        for name, column in zip(table.column_names, table.columns)
    }


@pytest.fixture
def checksums():
    """``checksums(table)``: per column, rows, NULLs and an order-insensitive sum of the
    values' CRCs."""
    return _table_checksums


_DATASOURCES = {"csv": "files", "parquet": "files", "jsonl": "files", "duckdb": "duck", "sqlite": "lite"}


@pytest.fixture
def pipeline(tmp_path):
    """``run(reader_type, reader_params, writer_type, writer_params, channels=, errors=)``
    through the engine, over data sources in tmp_path: ``files`` (the folder),
    ``duck`` (duck.duckdb) and ``lite`` (lite.db), picked by step type."""
    sources = {
        "files": DataSource("files", "csv", {"path": str(tmp_path)}),
        "duck": DataSource("duck", "duckdb", {"path": str(tmp_path / "duck.duckdb")}),
        "lite": DataSource("lite", "sqlite", {"path": str(tmp_path / "lite.db")}),
    }

    def step(kind: str, category: str, parameter: dict) -> dict:
        return {"stepType": kind, "category": category, "name": category,
                "parameter": {"datasource": _DATASOURCES[kind], **parameter}}

    def run(reader_type, reader, writer_type, writer, *, channels=1, errors=0):
        script = {
            "steps": [step(reader_type, "reader", reader), step(writer_type, "writer", writer)],
            "setting": {"errorLimit": {"record": errors}, "speed": {"concurrent": channels}},
        }
        return run_job(Job(script, sources.__getitem__))

    return run


# --- PostgreSQL and MariaDB: the real servers, and tables that drop themselves ---------

import os  # noqa: E402
import uuid  # noqa: E402

import psycopg  # noqa: E402
import pymysql  # noqa: E402

PG_PARAMS = {"host": "127.0.0.1", "port": 5432, "user": "root", "database": "test"}
MARIADB_PARAMS = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": "", "database": "test"}


class Database:
    """A live server for one test: ``table()`` names a fresh table, dropped at teardown, so
    tests can run alongside each other (and other suites) on the same database."""

    def __init__(self, datasource: DataSource, conn, quote: str):
        self.datasource = datasource
        self.conn = conn
        self.quote = quote
        self.tables: list[str] = []

    def table(self, prefix: str = "t") -> str:
        name = f"test_{prefix}_{uuid.uuid4().hex[:10]}"
        self.tables.append(name)
        return name

    def make_table(self, ddl: str, rows=(), prefix: str = "t") -> str:
        """Create a uniquely named table (dropped after the test) and fill it."""
        name = self.table(prefix)
        self.execute(f"CREATE TABLE {name} {ddl}")
        if rows:
            marks = ", ".join(["%s"] * len(rows[0]))
            with self.conn.cursor() as cursor:
                cursor.executemany(f"INSERT INTO {name} VALUES ({marks})", rows)
        return name

    def sync(self, run_sync):
        """``sync(reader_parameter, writer_parameter)``: a job from this database to itself."""
        kind, name = self.datasource.type, self.datasource.name

        def run(reader, writer, **kw):
            return run_sync((kind, {"datasource": name, **reader}),
                            (kind, {"datasource": name, **writer}), {name: self.datasource}, **kw)

        return run

    def execute(self, sql: str, params=None) -> None:
        with self.conn.cursor() as cursor:
            cursor.execute(sql, params)

    def rows(self, sql: str, params=None) -> list[tuple]:
        with self.conn.cursor() as cursor:
            cursor.execute(sql, params)
            return [tuple(row) for row in cursor.fetchall()]

    def drop_tables(self) -> None:
        for name in reversed(self.tables):
            self.execute(f"DROP TABLE IF EXISTS {self.quote}{name}{self.quote}")
        self.conn.close()


def _connect_or_skip(server: str, connect):
    """A connection, or the test fails (with CI=true) or is skipped when the server is down."""
    try:
        return connect()
    except (psycopg.OperationalError, pymysql.err.OperationalError) as error:
        message = f"{server} is unreachable: {error}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def pg_db():
    conn = _connect_or_skip("PostgreSQL", lambda: psycopg.connect(
        host=PG_PARAMS["host"], port=PG_PARAMS["port"], user=PG_PARAMS["user"],
        dbname=PG_PARAMS["database"], autocommit=True, connect_timeout=5))
    db = Database(DataSource("pg", "postgresql", dict(PG_PARAMS)), conn, '"')
    yield db
    db.drop_tables()


@pytest.fixture
def mariadb_db():
    conn = _connect_or_skip("MariaDB", lambda: pymysql.connect(
        **MARIADB_PARAMS, charset="utf8mb4", autocommit=True,
        connect_timeout=5, init_command="SET time_zone = '+00:00'"))
    db = Database(DataSource("my", "mysql", dict(MARIADB_PARAMS)), conn, "`")
    yield db
    db.drop_tables()


@pytest.fixture
def run_sync():
    """``run_sync(reader_step, writer_step, lookup, channels=, errors=)``: one job through the
    engine; a step is ``(step type, parameter)``, data sources come from ``lookup``."""

    def run(reader, writer, lookup, *, channels=1, errors=0):
        steps = [
            {"stepType": kind, "category": category, "name": category, "parameter": parameter}
            for category, (kind, parameter) in (("reader", reader), ("writer", writer))
        ]
        script = {"steps": steps,
                  "setting": {"errorLimit": {"record": errors}, "speed": {"concurrent": channels}}}
        return run_job(Job(script, lookup.__getitem__))

    return run


# --- the Jupyter server extension: pytest-jupyter's server, acting users by header -------

from jupyter_server.auth import IdentityProvider  # noqa: E402
from jupyter_server.auth import User as JupyterUser  # noqa: E402

pytest_plugins = ("pytest_jupyter.jupyter_server",)

TEST_USER_HEADER = "X-Pipeline-Test-User"
TEST_ENCRYPTION_KEY = "aWbrMRY3uEqsjM5ygpSS1Tbtq6iuhGxFGtPtbNJaQ38="  # a fixed Fernet key


class HeaderIdentityProvider(IdentityProvider):
    """Token-authenticated requests act as the user named in a header (``alice`` by
    default), so one test can play several users; without the token there is no user."""

    async def get_user(self, handler):
        if await super()._get_user(handler) is None:
            return None
        return JupyterUser(handler.request.headers.get(TEST_USER_HEADER, "alice"))


@pytest.fixture
def jp_server_config(tmp_path):
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_offline_pipeline": True, "jupyter_server_terminals": False},
            "allow_root": True,
            "allow_unauthenticated_access": False,
            "identity_provider_class": HeaderIdentityProvider,
        },
        "OfflinePipelineApp": {
            "db_url": f"sqlite:///{tmp_path / 'pipeline.db'}",
            "encryption_key": TEST_ENCRYPTION_KEY,
            "admin_users": {"root-admin"},
            "run_scheduler": False,  # the scheduler's own tests turn it on
        },
    }


class Api:
    """JSON calls to the REST API as a user (the test identity provider reads the header);
    keeps every response body so a test can search them all for secrets."""

    def __init__(self, fetch):
        self.fetch = fetch
        self.bodies: list[bytes] = []

    async def __call__(self, method, path, body=None, user="alice", params=None, raw=None):
        sent = raw if raw is not None else json.dumps(body if body is not None else {})
        kwargs = {"body": sent} if method in ("POST", "PUT", "PATCH") else {}
        response = await self.fetch(*f"pipeline/api{path}".split("/"), method=method, params=params,
                                    headers={TEST_USER_HEADER: user}, raise_error=False, **kwargs)
        self.bodies.append(response.body or b"")
        return response.code, json.loads(response.body) if response.body else None
