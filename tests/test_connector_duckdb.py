"""DuckDB through the engine: round trips with every file format and with SQLite, write
modes on a primary key, preSql / postSql in one transaction, type mapping and the data
source operations."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from contextlib import closing

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from jupyter_offline_pipeline.connectors import ConnectorError, DataSource, get_connector
from jupyter_offline_pipeline.connectors.files import type_name

EDGE_DDL = """create table {} (id bigint primary key, i64 bigint, dec decimal(38,10),
    f64 double, s varchar, flag boolean, d date, ts timestamp, tz timestamptz, bin blob)"""


def sql(tmp_path, statement: str, **views: pa.Table) -> None:
    with closing(duckdb.connect(str(tmp_path / "duck.duckdb"))) as con:
        for name, table in views.items():
            con.register(name, table)
        con.execute(statement)


def fetch(tmp_path, table: str) -> pa.Table:
    with closing(duckdb.connect(str(tmp_path / "duck.duckdb"))) as con:
        return con.sql(f"select * from {table} order by id").to_arrow_table()


def load_edges(tmp_path, edge_table: pa.Table) -> None:
    sql(tmp_path, EDGE_DDL.format("src") + "; insert into src select * from edges", edges=edge_table)
    sql(tmp_path, EDGE_DDL.format("dst"))


def ok(summary, rows: int) -> None:
    assert summary.status == "success", summary.error
    assert (summary.records_read, summary.records_written, summary.dirty_records) == (rows, rows, 0)


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_round_trip_through_files(tmp_path, pipeline, edge_table, checksums, fmt):
    load_edges(tmp_path, edge_table)
    rows = len(edge_table)
    reader = {"table": ["src"], "splitPk": "id", "fetchSize": 100}
    ok(pipeline("duckdb", reader, fmt, {"path": f"out.{fmt}"}, channels=2), rows)
    column = [{"name": f.name, "type": type_name(f.type)} for f in edge_table.schema]
    ok(pipeline(fmt, {"path": f"out.{fmt}", "column": column}, "duckdb", {"table": "dst"}, channels=2), rows)
    assert checksums(fetch(tmp_path, "dst")) == checksums(fetch(tmp_path, "src"))


def test_parquet_keeps_duckdb_types(tmp_path, pipeline, edge_table):
    load_edges(tmp_path, edge_table)
    ok(pipeline("duckdb", {"table": ["src"]}, "parquet", {"path": "out.parquet"}), len(edge_table))
    assert pq.read_schema(tmp_path / "out.parquet").types == edge_table.schema.types


def test_untyped_csv_is_cast_to_the_table_types(tmp_path, pipeline, edge_table, checksums):
    load_edges(tmp_path, edge_table)
    names = edge_table.schema.names[:-1]  # bytes need the type: untyped, base64 stays text
    ok(pipeline("duckdb", {"table": ["src"], "column": names}, "csv", {"path": "out.csv"}), len(edge_table))
    ok(pipeline("csv", {"path": "out.csv"}, "duckdb", {"table": "dst", "column": names}), len(edge_table))
    assert checksums(fetch(tmp_path, "dst").drop(["bin"])) == checksums(fetch(tmp_path, "src").drop(["bin"]))


def test_round_trip_through_sqlite(tmp_path, pipeline, edge_table, checksums):
    f64 = edge_table["f64"]  # SQLite stores -0.0 as 0
    load_edges(tmp_path, edge_table.set_column(3, "f64", pc.if_else(pc.equal(f64, 0), 0.0, f64)))
    with sqlite3.connect(tmp_path / "lite.db") as lite:  # decimal(38,10) is kept exactly as TEXT
        lite.execute(
            "create table t (id integer primary key, i64 integer, dec text, f64 real, s text, "
            "flag boolean, d date, ts timestamp, tz timestamptz, bin blob)"
        )
    rows = len(edge_table)
    ok(pipeline("duckdb", {"table": ["src"]}, "sqlite", {"table": "t"}, channels=2), rows)
    ok(pipeline("sqlite", {"table": ["t"], "splitPk": "id"}, "duckdb", {"table": "dst"}, channels=2), rows)
    assert checksums(fetch(tmp_path, "dst")) == checksums(fetch(tmp_path, "src"))


@pytest.mark.parametrize(
    "mode, expected, dirty",
    [
        ("insert", {1: "old", 2: "old", 3: "new", 4: "new"}, 2),  # the key 2, the second 3
        ("ignore", {1: "old", 2: "old", 3: "new", 4: "new"}, 0),
        ("replace", {1: "old", 2: "new", 3: "newer", 4: "new"}, 0),  # the last row of a key wins
        ("update", {1: "old", 2: "new", 3: "newer", 4: "new"}, 0),
    ],
)
def test_write_modes_on_a_primary_key(tmp_path, pipeline, mode, expected, dirty):
    sql(tmp_path, "create table k (id bigint primary key, v varchar); insert into k values (1, 'old'), (2, 'old')")
    pq.write_table(pa.table({"id": [2, 3, 3, 4], "v": ["new", "new", "newer", "new"]}), tmp_path / "in.parquet")
    summary = pipeline("parquet", {"path": "in.parquet"}, "duckdb", {"table": "k", "writeMode": mode}, errors=5)
    assert summary.status == "success", summary.error
    assert (summary.records_written, summary.dirty_records) == (4 - dirty, dirty)
    if dirty:
        assert "Duplicate key" in summary.dirty_samples[0]["reason"]
    assert dict(zip(*fetch(tmp_path, "k").to_pydict().values())) == expected


def test_bad_rows_of_a_large_batch_are_found(tmp_path, pipeline):
    sql(tmp_path, "create table k (id bigint primary key, v varchar); insert into k values (7, 'old'), (19999, 'old')")
    pq.write_table(pa.table({"id": range(20000), "v": ["new"] * 20000}), tmp_path / "in.parquet")
    summary = pipeline("parquet", {"path": "in.parquet"}, "duckdb", {"table": "k"}, errors=2)
    assert (summary.status, summary.records_written, summary.dirty_records) == ("success", 19998, 2)
    assert sorted(d["record"]["id"] for d in summary.dirty_samples) == [7, 19999]


def test_conflicts_over_the_error_limit_fail_the_run(tmp_path, pipeline):
    sql(tmp_path, "create table k (id bigint primary key); insert into k values (1), (2)")
    pq.write_table(pa.table({"id": [1, 2, 3]}), tmp_path / "in.parquet")
    summary = pipeline("parquet", {"path": "in.parquet"}, "duckdb", {"table": "k"}, errors=1)
    assert summary.status == "failed" and "errorLimit" in summary.error


def test_pre_and_post_sql_are_one_transaction(tmp_path, pipeline, edge_table):
    load_edges(tmp_path, edge_table)
    sql(tmp_path, "create table log (step varchar); insert into dst select * from src where id < 3")
    writer = {
        "table": "dst",
        "truncate": True,
        "preSql": ["insert into log values ('pre')"],
        "postSql": ["insert into log values ('post')", "insert into missing values (1)"],
    }
    summary = pipeline("duckdb", {"table": ["src"], "splitPk": "id"}, "duckdb", writer, channels=2)
    assert summary.status == "failed" and "missing" in summary.error
    with closing(duckdb.connect(str(tmp_path / "duck.duckdb"))) as con:
        assert con.sql("select step from log").fetchall() == [("pre",)]  # postSql rolled back whole
        assert con.sql("select count(*) from dst").fetchall() == [(len(edge_table),)]  # truncated first


def test_types_without_an_arrow_twin_travel_as_text(tmp_path, pipeline):
    sql(tmp_path, "create table odd (id integer, u uuid, l integer[], h hugeint, t time, ns timestamp_ns, r real)")
    (tmp_path / "in.csv").write_text(
        "id,u,l,h,t,ns,r\n"
        '1,6f1c2a64-0d3b-4c43-9c55-1b0d1cf3c9b1,"[1, 2]",12345678901234567890123456789,'
        "12:34:56.123456,2024-01-01 00:00:00.123456789,1.5\n"
    )
    ok(pipeline("csv", {"path": "in.csv"}, "duckdb", {"table": "odd"}), 1)
    with closing(duckdb.connect(str(tmp_path / "duck.duckdb"))) as con:
        rows = con.sql("select u::varchar, l, h::varchar, t::varchar, ns::varchar, r from odd").fetchall()
    assert rows[0] == (
        "6f1c2a64-0d3b-4c43-9c55-1b0d1cf3c9b1", [1, 2], "12345678901234567890123456789",
        "12:34:56.123456", "2024-01-01 00:00:00.123456789", 1.5,
    )
    source = DataSource("d", "duckdb", {"path": str(tmp_path / "duck.duckdb")})
    schema = get_connector("duckdb").writer({"table": "odd"}, source).table_schema()
    assert schema.types == [
        pa.int32(), pa.string(), pa.string(), pa.decimal128(38, 0), pa.string(), pa.timestamp("ns"), pa.float32(),
    ]


def test_data_source_operations(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with closing(duckdb.connect("rel.duckdb")) as con:
        con.execute("create table a (x decimal(18,2), y timestamptz); create schema s; create table s.t (z varchar)")
    connector = get_connector("duckdb")
    relative = DataSource("r", "duckdb", {"url": "duckdb:///rel.duckdb"})
    absolute = DataSource("a", "duckdb", {"url": f"duckdb:///{tmp_path / 'rel.duckdb'}"})
    assert connector.test_connection(relative) == f"DuckDB {duckdb.__duckdb_version__}"
    assert connector.list_tables(absolute) == ["a", "s.t"]
    assert connector.list_columns(relative, "a") == [("x", "DECIMAL(18,2)"), ("y", "TIMESTAMP WITH TIME ZONE")]
    with pytest.raises(ConnectorError, match="does not exist"):
        connector.list_columns(relative, "nope")
    with pytest.raises(ConnectorError, match="folder"):
        connector.test_connection(DataSource("x", "duckdb", {"path": str(tmp_path / "no" / "x.duckdb")}))
    # every connection is closed: another process may now open the file for writing
    probe = "import duckdb; duckdb.connect('rel.duckdb').execute('insert into s.t values (1)')"
    subprocess.run([sys.executable, "-c", probe], check=True, cwd=tmp_path)
