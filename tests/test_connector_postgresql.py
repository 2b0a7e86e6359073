"""The PostgreSQL connector on the real server: every type both ways, write modes, dirty
records, preSql/postSql, splits, query shapes, schemas and introspection."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from decimal import Decimal

import pyarrow as pa
import pytest

from jupyter_offline_pipeline.connectors import ConnectorError, DataSource, get_connector
from jupyter_offline_pipeline.connectors.postgresql import PostgreSQLReader, PostgreSQLWriter

pytestmark = pytest.mark.postgres

TYPES_DDL = """(
    id int PRIMARY KEY, s smallint, i int, b bigint, n38 numeric(38,10), n10 numeric(10,2),
    n50 numeric(50,5), nany numeric, r real, d double precision, t text, v varchar(20),
    c char(3), flag boolean, day date, ts timestamp(6), tstz timestamptz, bin bytea,
    j json, jb jsonb, u uuid)"""

# what the reader gives and the writer takes for each column of TYPES_DDL
ARROW = {
    "id": pa.int32(), "s": pa.int16(), "i": pa.int32(), "b": pa.int64(),
    "n38": pa.decimal128(38, 10), "n10": pa.decimal128(10, 2), "n50": pa.decimal256(50, 5),
    "nany": pa.string(), "r": pa.float32(), "d": pa.float64(), "t": pa.string(),
    "v": pa.string(), "c": pa.string(), "flag": pa.bool_(), "day": pa.date32(),
    "ts": pa.timestamp("us"), "tstz": pa.timestamp("us", tz="UTC"), "bin": pa.binary(),
    "j": pa.string(), "jb": pa.string(), "u": pa.string(),
}

UTC = timezone.utc
UUID = uuid.UUID("12345678-1234-5678-1234-567812345678")
TYPE_ROWS = [
    (1, -32768, -2147483648, -9223372036854775808, Decimal("-9999999999999999999999999999.9999999999"),
     Decimal("-99999999.99"), Decimal("-123456789012345678901234567890123456789012345.12345"),
     Decimal("-3.14159265358979323846264338327950288419716939937510"), -3.4e38, -1.7976931348623157e308,
     "", "", "", False, date(1, 1, 1), datetime(1, 1, 1, 0, 0, 0, 1),
     datetime(1900, 1, 1, 0, 0, 0, 1, UTC), b"", "[]", "{}", UUID),
    (2, 32767, 2147483647, 9223372036854775807, Decimal("9999999999999999999999999999.9999999999"),
     Decimal("0.01"), Decimal("0.00001"), Decimal("1E-30"), 1.5, 5e-324,
     "中文 😀 éàü", "naïve 🚀", "é中😀", True, date(9999, 12, 31), datetime(9999, 12, 31, 23, 59, 59, 999999),
     datetime(2038, 1, 19, 3, 14, 7, 123456, UTC), b"\x00\x01\x00\xff", '{"k": "中文"}',
     '{"a": [1, null]}', UUID),
    (3,) + (None,) * 20,
    (4, 0, 0, 0, Decimal("0.0001"), Decimal("-0.50"), Decimal("0"), Decimal("0"), 0.0, 0.1,
     'quote " comma , tab \t line\nbreak \\ backslash', "NULL", "a", True, date(1969, 12, 31),
     datetime(1969, 12, 31, 23, 59, 59, 999999), datetime(1969, 12, 31, 23, 59, 59, 999999, UTC),
     b"\x00", "null", "1", UUID),
]


@pytest.fixture
def sync(pg_db, run_sync):
    return pg_db.sync(run_sync)


def read_all(db, **parameter) -> pa.Table:
    reader = PostgreSQLReader(parameter, db.datasource)
    batches = [batch for task in reader.split(1) for batch in task.read()]
    return pa.Table.from_batches(batches)


def test_reader_maps_every_type(pg_db):
    src = pg_db.make_table(TYPES_DDL, TYPE_ROWS)
    table = read_all(pg_db, table=[src], column=["*"])
    assert {f.name: f.type for f in table.schema} == ARROW
    rows = {r["id"]: r for r in table.to_pylist()}
    assert rows[2]["n38"] == Decimal("9999999999999999999999999999.9999999999")
    assert rows[1]["n50"] == Decimal("-123456789012345678901234567890123456789012345.12345")
    assert rows[1]["nany"] == "-3.14159265358979323846264338327950288419716939937510"
    assert rows[4]["n38"] == Decimal("0.0001")
    assert rows[1]["t"] == "" and rows[3]["t"] is None  # an empty string is not NULL
    assert rows[2]["tstz"] == datetime(2038, 1, 19, 3, 14, 7, 123456, UTC)
    assert rows[2]["bin"] == b"\x00\x01\x00\xff"
    assert rows[2]["u"] == str(UUID) and rows[2]["jb"] == '{"a": [1, null]}'


def test_writer_schema_comes_from_the_catalog(pg_db):
    dst = pg_db.make_table(TYPES_DDL)
    schema = PostgreSQLWriter({"table": dst, "column": ["*"]}, pg_db.datasource).table_schema()
    assert {f.name: f.type for f in schema} == ARROW


@pytest.mark.parametrize("mode", ["insert", "update"])
def test_every_type_round_trips(pg_db, sync, mode):
    """COPY straight in (insert) and through the staging table (update) keep every value."""
    src = pg_db.make_table(TYPES_DDL, TYPE_ROWS)
    dst = pg_db.make_table(TYPES_DDL)
    summary = sync({"table": [src], "column": ["*"]}, {"table": dst, "column": ["*"], "writeMode": mode})
    assert summary.status == "success", summary.error
    assert summary.records_written == len(TYPE_ROWS)
    assert pg_db.rows(f"SELECT * FROM {dst} ORDER BY id") == pg_db.rows(f"SELECT * FROM {src} ORDER BY id")


KEYED = "(id int PRIMARY KEY, v text, j jsonb)"


@pytest.mark.parametrize("mode, kept_old", [
    ("insert", {1, 2, 3}), ("replace", {1}), ("update", {1}), ("ignore", {1, 2, 3}),
])
def test_write_modes_on_a_key(pg_db, sync, mode, kept_old):
    src = pg_db.make_table(KEYED, [(i, "new", '{"n": 1}') for i in range(2, 6)])
    dst = pg_db.make_table(KEYED, [(i, "old", None) for i in range(1, 4)])
    summary = sync({"table": [src], "column": ["*"]},
                   {"table": dst, "column": ["id", "v", "j"], "writeMode": mode}, errors=10)
    assert summary.status == "success", summary.error
    assert {i for i, v in pg_db.rows(f"SELECT id, v FROM {dst}") if v == "old"} == kept_old
    assert pg_db.rows(f"SELECT count(*) FROM {dst}") == [(5,)]
    if mode == "insert":  # the conflicting rows are dirty, with the server's reason
        assert summary.dirty_records == 2 and summary.records_written == 2
        assert all("duplicate key value" in d["reason"] for d in summary.dirty_samples)
    else:
        assert summary.dirty_records == 0


def test_dirty_records_carry_the_reason_and_the_rest_is_written(pg_db, sync):
    src = pg_db.make_table("(id int, v text)", [(1, "ok"), (2, "too long"), (3, None), (4, "ok")])
    dst = pg_db.make_table("(id int PRIMARY KEY, v varchar(3) NOT NULL)")
    summary = sync({"table": [src], "column": ["*"]}, {"table": dst, "column": ["*"]}, errors=2)
    assert (summary.status, summary.records_written, summary.dirty_records) == ("success", 2, 2)
    reasons = sorted(d["reason"] for d in summary.dirty_samples)
    assert "too long" in reasons[1] and "null value" in reasons[0]
    failed = sync({"table": [src], "column": ["*"]}, {"table": dst, "column": ["*"], "truncate": True})
    assert failed.status == "failed" and "exceed" in failed.error


def test_upsert_needs_a_key(pg_db, sync):
    src = pg_db.make_table("(id int, v text)", [(1, "a")])
    dst = pg_db.make_table("(id int, v text)")
    summary = sync({"table": [src], "column": ["*"]},
                   {"table": dst, "column": ["*"], "writeMode": "update",
                    "preSql": ["INSERT INTO @table VALUES (99, 'pre')"]})
    assert summary.status == "failed" and "primary key or unique constraint" in summary.error
    assert pg_db.rows(f"SELECT * FROM {dst}") == []  # failed before preSql


def test_where_union_querysql_and_expressions(pg_db, sync):
    a = pg_db.make_table("(id int, v text)", [(i, f"a{i}") for i in range(1, 11)])
    b = pg_db.make_table("(id int, v text)", [(i, f"b{i}") for i in range(11, 16)])
    dst = pg_db.make_table("(id int, v text, n bigint, z text)")
    read = {"table": [a, b], "column": ["id", "v", "id * 10", "null"], "where": "id % 2 = 0"}
    assert sync(read, {"table": dst, "column": ["*"]}).status == "success"
    assert pg_db.rows(f"SELECT * FROM {dst} ORDER BY id") == [
        (i, f"{'a' if i <= 10 else 'b'}{i}", i * 10, None) for i in range(2, 16, 2)]

    dst = pg_db.make_table("(id int, v text, n bigint, z text)")
    query = f"SELECT id, v || '!', 7, 'const' FROM {a} WHERE id <= 2;"
    summary = sync({"querySql": query, "table": ["ignored"]}, {"table": dst, "column": ["*"]})
    assert summary.status == "success", summary.error
    assert pg_db.rows(f"SELECT * FROM {dst} ORDER BY id") == [(1, "a1!", 7, "const"), (2, "a2!", 7, "const")]


def test_schema_qualified_tables(pg_db, sync):
    schema = f"Sch {uuid.uuid4().hex[:8]}"  # a space and capitals: every name is quoted
    pg_db.execute(f'CREATE SCHEMA "{schema}"')
    try:
        pg_db.execute(f'CREATE TABLE "{schema}"."Src" (id int PRIMARY KEY, "Mixed Case" text)')
        pg_db.execute(f'CREATE TABLE "{schema}"."Dst" (id int PRIMARY KEY, "Mixed Case" text)')
        pg_db.execute(f'INSERT INTO "{schema}"."Src" VALUES (1, \'x\'), (2, NULL)')
        for mode in ("insert", "update"):
            # a reader column is SQL when it is not a plain name; the writer's are names
            summary = sync({"table": [f"{schema}.Src"], "column": ["id", '"Mixed Case"']},
                           {"table": f"{schema}.Dst", "column": ["id", "Mixed Case"], "writeMode": mode},
                           errors=2)
            assert summary.status == "success", summary.error
        assert pg_db.rows(f'SELECT * FROM "{schema}"."Dst" ORDER BY id') == [(1, "x"), (2, None)]
        assert f"{schema}.Dst" in get_connector("postgresql").list_tables(pg_db.datasource)
    finally:
        pg_db.execute(f'DROP SCHEMA "{schema}" CASCADE')


def test_introspection(pg_db):
    connector = get_connector("postgresql")
    table = pg_db.make_table("(id bigint PRIMARY KEY, amount numeric(18,4), note varchar(20))")
    assert connector.test_connection(pg_db.datasource).startswith("PostgreSQL 1")
    url = DataSource("u", "postgresql", {"url": "postgresql://root@127.0.0.1:5432/test"})
    assert connector.test_connection(url).startswith("PostgreSQL")
    assert table in connector.list_tables(pg_db.datasource)
    assert connector.list_columns(pg_db.datasource, table) == [
        ("id", "bigint"), ("amount", "numeric(18,4)"), ("note", "character varying(20)")]
    with pytest.raises(ConnectorError, match="does not exist"):
        connector.list_columns(pg_db.datasource, "no_such_table")


@pytest.mark.parametrize("params, message", [
    ({"port": 1}, "Connection refused"),
    ({"database": "no_such_database"}, 'database "no_such_database" does not exist'),
    ({"user": "no_such_role"}, 'role "no_such_role" does not exist'),
])
def test_connection_failures_are_clear(pg_db, params, message):
    datasource = DataSource("bad", "postgresql", {**pg_db.datasource.params, **params})
    with pytest.raises(ConnectorError, match=message):
        get_connector("postgresql").test_connection(datasource)
