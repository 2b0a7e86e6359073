"""The MySQL connector on the real MariaDB: every type both ways, write modes, dirty records
from LOAD DATA's warnings, preSql/postSql, splits, query shapes and introspection."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pyarrow as pa
import pytest

from jupyter_offline_pipeline.connectors import ConnectorError, DataSource, get_connector
from jupyter_offline_pipeline.connectors.mysql import MySQLReader, MySQLWriter

pytestmark = pytest.mark.mariadb

TYPES_DDL = """(
    id int PRIMARY KEY, flag boolean, ti tinyint, tu tinyint unsigned, si smallint,
    mi mediumint, i int, iu int unsigned, b bigint, bu bigint unsigned, d38 decimal(38,10),
    d10 decimal(10,2), d65 decimal(65,30), f float, db double, c char(3), v varchar(20),
    tx text, day date, dt datetime(6), ts timestamp(6) NULL, bl blob, vb varbinary(10),
    j json, e enum('a','b'), st set('x','y'), y year
) CHARACTER SET utf8mb4"""

# the writer's types: from information_schema (unsigned: the next wider type)
TABLE_ARROW = {
    "id": pa.int32(), "flag": pa.bool_(), "ti": pa.int8(), "tu": pa.int16(), "si": pa.int16(),
    "mi": pa.int32(), "i": pa.int32(), "iu": pa.int64(), "b": pa.int64(), "bu": pa.uint64(),
    "d38": pa.decimal128(38, 10), "d10": pa.decimal128(10, 2), "d65": pa.decimal256(65, 30),
    "f": pa.float32(), "db": pa.float64(), "c": pa.string(), "v": pa.string(), "tx": pa.string(),
    "day": pa.date32(), "dt": pa.timestamp("us"), "ts": pa.timestamp("us", tz="UTC"),
    "bl": pa.binary(), "vb": pa.binary(), "j": pa.string(), "e": pa.string(), "st": pa.string(),
    "y": pa.int16(),
}
# the reader's: connectorx's own unsigned and large binary types are exact too
READ_ARROW = {**TABLE_ARROW, "tu": pa.uint8(), "iu": pa.uint32(),
              "bl": pa.large_binary(), "vb": pa.large_binary()}

UTC = timezone.utc
TYPE_ROWS = [
    (1, False, -128, 0, -32768, -8388608, -2147483648, 0, -9223372036854775808, 0,
     Decimal("-9999999999999999999999999999.9999999999"), Decimal("-99999999.99"),
     Decimal("-12345678901234567890123456789012345.123456789012345678901234567890"),
     -3.4e38, -1.7976931348623157e308, "", "", "", date(1, 1, 1), datetime(1000, 1, 1, 0, 0, 0, 1),
     datetime(1970, 1, 1, 0, 0, 1), b"", b"", "[]", "a", "", 1901),
    (2, True, 127, 255, 32767, 8388607, 2147483647, 4294967295, 9223372036854775807,
     18446744073709551615, Decimal("9999999999999999999999999999.9999999999"), Decimal("0.01"),
     Decimal("0.000000000000000000000000000001"), 1.5, 5e-324, "é中😀", "naïve 🚀",
     "中文 😀 éàü", date(9999, 12, 31), datetime(9999, 12, 31, 23, 59, 59, 999999),
     datetime(2038, 1, 19, 3, 14, 7, 123456), b"\x00\x01\x00\xff", b"\x00", '{"k": "中文"}', "b", "x,y", 2155),
    (3,) + (None,) * 26,
    (4, True, 0, 1, 0, 0, 0, 1, 0, 1, Decimal("0.0001"), Decimal("-0.50"), Decimal("0"), 0.0, 0.1,
     "a\tb", "NULL", 'quote " comma , tab \t line\nbreak \\ backslash \\N', date(1969, 12, 31),
     datetime(1969, 12, 31, 23, 59, 59, 999999), datetime(2000, 2, 29, 12, 0, 0, 5),
     b"\\N,\"\n", b"\t", "null", "a", "y", 2024),
]


@pytest.fixture
def sync(mariadb_db, run_sync):
    return mariadb_db.sync(run_sync)


def read_all(db, **parameter) -> pa.Table:
    reader = MySQLReader(parameter, db.datasource)
    return pa.Table.from_batches([batch for task in reader.split(1) for batch in task.read()])


def test_reader_maps_every_type(mariadb_db):
    src = mariadb_db.make_table(TYPES_DDL, TYPE_ROWS)
    table = read_all(mariadb_db, table=[src], column=["*"])
    assert {f.name: f.type for f in table.schema} == READ_ARROW
    rows = {r["id"]: r for r in table.to_pylist()}
    assert rows[2]["d38"] == Decimal("9999999999999999999999999999.9999999999")  # beyond rust_decimal
    assert rows[2]["d65"] == Decimal("0.000000000000000000000000000001")
    assert rows[2]["bu"] == 18446744073709551615 and rows[1]["b"] == -9223372036854775808
    assert rows[1]["tx"] == "" and rows[3]["tx"] is None and rows[4]["v"] == "NULL"
    assert rows[2]["ts"] == datetime(2038, 1, 19, 3, 14, 7, 123456, UTC)  # stored as UTC
    assert rows[2]["flag"] is True and rows[2]["bl"] == b"\x00\x01\x00\xff"


def test_writer_schema_comes_from_information_schema(mariadb_db):
    dst = mariadb_db.make_table(TYPES_DDL)
    schema = MySQLWriter({"table": dst, "column": ["*"]}, mariadb_db.datasource).table_schema()
    assert {f.name: f.type for f in schema} == TABLE_ARROW


@pytest.mark.parametrize("mode", ["insert", "update"])
def test_every_type_round_trips(mariadb_db, sync, mode):
    """LOAD DATA straight in (insert) and through the staging table (update)."""
    src = mariadb_db.make_table(TYPES_DDL, TYPE_ROWS)
    dst = mariadb_db.make_table(TYPES_DDL)
    summary = sync({"table": [src], "column": ["*"]}, {"table": dst, "column": ["*"], "writeMode": mode})
    assert summary.status == "success", summary.error
    assert summary.records_written == len(TYPE_ROWS)
    select = "SELECT * FROM {} ORDER BY id"
    assert mariadb_db.rows(select.format(dst)) == mariadb_db.rows(select.format(src))


KEYED = "(id int PRIMARY KEY, v varchar(10)) CHARACTER SET utf8mb4"


@pytest.mark.parametrize("mode, kept_old", [
    ("insert", {1, 2, 3}), ("replace", {1}), ("update", {1}), ("ignore", {1, 2, 3}),
])
def test_write_modes_on_a_key(mariadb_db, sync, mode, kept_old):
    src = mariadb_db.make_table(KEYED, [(i, "new") for i in range(2, 6)])
    dst = mariadb_db.make_table(KEYED, [(i, "old") for i in range(1, 4)])
    summary = sync({"table": [src], "column": ["*"]},
                   {"table": dst, "column": ["id", "v"], "writeMode": mode}, errors=10)
    assert summary.status == "success", summary.error
    assert {i for i, v in mariadb_db.rows(f"SELECT id, v FROM {dst}") if v == "old"} == kept_old
    assert mariadb_db.rows(f"SELECT count(*) FROM {dst}") == [(5,)]
    if mode == "insert":  # LOAD DATA LOCAL only warns: the warning makes them dirty
        assert summary.dirty_records == 2 and summary.records_written == 2
        assert all("Duplicate entry" in d["reason"] for d in summary.dirty_samples)
    else:
        assert summary.dirty_records == 0


@pytest.mark.parametrize("mode", ["insert", "ignore", "update"])
def test_truncated_or_null_values_are_dirty_not_lost(mariadb_db, sync, mode):
    src = mariadb_db.make_table("(id int, v text)", [(1, "ok"), (2, "too long"), (3, None), (4, "ok")])
    dst = mariadb_db.make_table("(id int PRIMARY KEY, v varchar(3) NOT NULL)")
    summary = sync({"table": [src], "column": ["*"]},
                   {"table": dst, "column": ["*"], "writeMode": mode}, errors=2)
    assert (summary.status, summary.records_written, summary.dirty_records) == ("success", 2, 2)
    assert mariadb_db.rows(f"SELECT * FROM {dst} ORDER BY id") == [(1, "ok"), (4, "ok")]
    reasons = " ".join(d["reason"] for d in summary.dirty_samples)
    assert "'v'" in reasons  # the server's words, naming the column


def test_upsert_needs_a_key(mariadb_db, sync):
    src = mariadb_db.make_table("(id int, v text)", [(1, "a")])
    dst = mariadb_db.make_table("(id int, v text)")
    summary = sync({"table": [src], "column": ["*"]},
                   {"table": dst, "column": ["*"], "writeMode": "update",
                    "preSql": ["INSERT INTO @table VALUES (99, 'pre')"]})
    assert summary.status == "failed" and "primary key or unique index" in summary.error
    assert mariadb_db.rows(f"SELECT * FROM {dst}") == []


def test_where_union_querysql_and_expressions(mariadb_db, sync):
    a = mariadb_db.make_table("(id int, v text)", [(i, f"a{i}") for i in range(1, 11)])
    b = mariadb_db.make_table("(id int, v text)", [(i, f"b{i}") for i in range(11, 16)])
    dst = mariadb_db.make_table("(id int, v text, n bigint, z text, amount decimal(10,2))")
    read = {"table": [a, b], "column": ["id", "v", "id * 10", "null", "id / 4"], "where": "id % 2 = 0"}
    assert sync(read, {"table": dst, "column": ["*"]}).status == "success"
    assert mariadb_db.rows(f"SELECT * FROM {dst} ORDER BY id") == [
        (i, f"{'a' if i <= 10 else 'b'}{i}", i * 10, None, Decimal(i) / 4) for i in range(2, 16, 2)]

    dst = mariadb_db.make_table("(id int, v text, n bigint, z text)")
    query = f"SELECT id, CONCAT(v, '!'), 7, 'const' FROM {a} WHERE id <= 2;"
    summary = sync({"querySql": query, "table": ["ignored"]}, {"table": dst, "column": ["*"]})
    assert summary.status == "success", summary.error
    assert mariadb_db.rows(f"SELECT * FROM {dst} ORDER BY id") == [
        (1, "a1!", 7, "const"), (2, "a2!", 7, "const")]


def test_a_type_connectorx_lacks_fails_the_run_cleanly(mariadb_db, sync):
    src = mariadb_db.make_table("(id int, g point)")
    mariadb_db.execute(f"INSERT INTO {src} VALUES (1, POINT(1, 2))")
    summary = sync({"table": [src], "column": ["*"]}, {"table": src, "column": ["*"]})
    assert summary.status == "failed" and "GEOMETRY" in summary.error


def test_introspection(mariadb_db):
    connector = get_connector("mysql")
    table = mariadb_db.make_table("(id bigint PRIMARY KEY, amount decimal(18,4), flag boolean)")
    assert connector.test_connection(mariadb_db.datasource).startswith(("MariaDB 1", "MySQL"))
    url = DataSource("u", "mysql", {"url": "mysql://root:@127.0.0.1:3306/test"})
    assert connector.test_connection(url) == connector.test_connection(mariadb_db.datasource)
    assert table in connector.list_tables(mariadb_db.datasource)
    assert connector.list_columns(mariadb_db.datasource, table) == [
        ("id", "bigint(20)"), ("amount", "decimal(18,4)"), ("flag", "tinyint(1)")]
    with pytest.raises(ConnectorError, match="does not exist"):
        connector.list_columns(mariadb_db.datasource, "no_such_table")


@pytest.mark.parametrize("params, message", [
    ({"port": 1}, "Can't connect"),
    ({"database": "no_such_database"}, "Unknown database 'no_such_database'"),
    ({"user": "no_such_user"}, "Access denied for user 'no_such_user'"),
])
def test_connection_failures_are_clear(mariadb_db, params, message):
    datasource = DataSource("bad", "mysql", {**mariadb_db.datasource.params, **params})
    with pytest.raises(ConnectorError, match=message):
        get_connector("mysql").test_connection(datasource)
