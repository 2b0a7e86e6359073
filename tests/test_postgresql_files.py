"""Files and DuckDB to and from the real PostgreSQL: every edge value (int64 and
decimal(38,10) limits, -0.0, '' vs NULL, CJK and emoji, far dates, micros, zones, zero
bytes) survives Parquet -> PostgreSQL -> Parquet and PostgreSQL -> DuckDB, by checksum."""

from __future__ import annotations

import duckdb
import pyarrow.parquet as pq
import pytest

from jupyter_offline_pipeline.connectors import DataSource

DDL = ('(id bigint PRIMARY KEY, i64 bigint, "dec" numeric(38,10), f64 double precision, s text, '
       "flag boolean, d date, ts timestamp(6), tz timestamptz, bin bytea)")


@pytest.mark.postgres
@pytest.mark.parametrize("channels", [1, 3])
def test_parquet_postgresql_round_trip_keeps_every_value(pg_db, run_sync, tmp_path, edge_table, checksums, channels):
    pq.write_table(edge_table, tmp_path / "in.parquet")
    table = pg_db.make_table(DDL)
    lookup = {"files": DataSource("files", "parquet", {"path": str(tmp_path)}), "pg": pg_db.datasource,
              "duck": DataSource("duck", "duckdb", {"path": str(tmp_path / "w.duckdb")})}
    loaded = run_sync(("parquet", {"datasource": "files", "path": "in.parquet"}),
                      ("postgresql", {"datasource": "pg", "table": table}), lookup, channels=channels)
    assert loaded.status == "success" and loaded.records_written == edge_table.num_rows, loaded.error

    pg_read = {"datasource": "pg", "table": [table], "splitPk": "id"}
    unloaded = run_sync(("postgresql", pg_read), ("parquet", {"datasource": "files", "path": "out.parquet"}),
                        lookup, channels=channels)
    assert unloaded.status == "success", unloaded.error
    back = pq.read_table(tmp_path / "out.parquet").sort_by("id").cast(edge_table.schema)
    assert checksums(back) == checksums(edge_table)

    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        conn.execute('create table t (id bigint primary key, i64 bigint, "dec" decimal(38,10), f64 double, '
                     "s varchar, flag boolean, d date, ts timestamp, tz timestamptz, bin blob)")
    copied = run_sync(("postgresql", pg_read), ("duckdb", {"datasource": "duck", "table": "t"}),
                      lookup, channels=channels)
    assert copied.status == "success", copied.error
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        in_duck = conn.sql("select * from t order by id").to_arrow_table().cast(edge_table.schema)
    assert checksums(in_duck) == checksums(edge_table)
