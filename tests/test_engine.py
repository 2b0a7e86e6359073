"""The engine on real SQLite files: channels, dirty records, error limits, pre/postSql
consistency, cancellation and throttling."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from jupyter_offline_pipeline.connectors import DataSource
from jupyter_offline_pipeline.engine import Job, run_job
from jupyter_offline_pipeline.engine.throttle import Throttle

ROWS = 5000


@pytest.fixture
def dbs(tmp_path):
    source, target = tmp_path / "source.db", tmp_path / "target.db"
    with sqlite3.connect(source) as conn:
        conn.execute("create table t (id integer primary key, name text, amount decimal(12,2))")
        conn.executemany(
            "insert into t values (?, ?, ?)",
            [(i, None if i % 1000 == 0 else f"name {i} 名前", i * 0.25) for i in range(1, ROWS + 1)],
        )
    with sqlite3.connect(target) as conn:
        conn.execute(
            "create table t (id integer primary key, name text not null, amount decimal(12,2))"
        )
        conn.execute("create table audit (n integer)")
    lookup = {
        "src": DataSource("src", "sqlite", {"path": str(source)}),
        "dst": DataSource("dst", "sqlite", {"path": str(target)}),
    }
    return lookup, target


def script(reader=None, writer=None, setting=None):
    return {
        "steps": [
            {"stepType": "sqlite", "category": "reader", "name": "R",
             "parameter": {"datasource": "src", "table": ["t"], "column": ["*"], **(reader or {})}},
            {"stepType": "sqlite", "category": "writer", "name": "W",
             "parameter": {"datasource": "dst", "table": "t", "column": ["*"], **(writer or {})}},
        ],
        "setting": {"errorLimit": {"record": 100}} if setting is None else setting,
    }


def rows(path, sql="select id, name, amount from t order by id"):
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


def run(lookup, **kw):
    return run_job(Job(script(**kw), lookup.__getitem__))


@pytest.mark.parametrize("channels", [1, 4])
def test_channels_copy_every_row_once(dbs, channels):
    lookup, target = dbs
    summary = run(lookup, reader={"splitPk": "id"},
                  setting={"speed": {"concurrent": channels}, "errorLimit": {"record": 10}})
    assert summary.status == "success", summary.error
    assert summary.records_read == ROWS
    assert summary.records_written == ROWS - 5  # five NULL names violate NOT NULL
    assert summary.dirty_records == 5
    assert len([c for c in summary.channels if c.records_read]) == channels
    copied = rows(target)
    assert [r[0] for r in copied] == [i for i in range(1, ROWS + 1) if i % 1000]
    assert sum(r[2] for r in copied) == sum(i * 0.25 for i in range(1, ROWS + 1) if i % 1000)


def test_dirty_records_carry_their_reason_and_the_rest_is_written(dbs):
    lookup, target = dbs
    summary = run(lookup, setting={"errorLimit": {"record": 5}})
    assert summary.status == "success"
    assert summary.dirty_records == 5
    assert {s["record"]["id"] for s in summary.dirty_samples} == {1000, 2000, 3000, 4000, 5000}
    assert all("NOT NULL" in s["reason"] for s in summary.dirty_samples)
    assert len(rows(target)) == ROWS - 5


def test_error_limit_record_fails_the_run_and_skips_post_sql(dbs):
    lookup, target = dbs
    summary = run(lookup, writer={"postSql": ["insert into audit values (1)"]},
                  setting={"errorLimit": {"record": 4}})
    assert summary.status == "failed"
    assert "errorLimit.record = 4" in summary.error
    assert rows(target, "select * from audit") == []


def test_no_error_limit_means_no_dirty_record_is_accepted(dbs):
    lookup, _ = dbs
    summary = run(lookup, setting={})
    assert summary.status == "failed"
    assert "errorLimit.record = 0" in summary.error


@pytest.mark.parametrize("percentage, status", [(0.002, "success"), (0.0005, "failed")])
def test_error_limit_percentage(dbs, percentage, status):
    lookup, _ = dbs
    summary = run(lookup, setting={"errorLimit": {"percentage": percentage}})
    assert summary.status == status  # 5 of 5000 is 0.1 %
    if status == "failed":
        assert "errorLimit.percentage" in summary.error


def test_failing_post_sql_is_never_half_applied(dbs):
    lookup, target = dbs
    summary = run(lookup, reader={"where": "name is not null"},
                  writer={"postSql": ["insert into audit values (1)", "insert into nowhere values (1)"]})
    assert summary.status == "failed"
    assert "nowhere" in summary.error
    assert rows(target, "select * from audit") == []


def test_rerun_with_pre_sql_delete_gives_the_same_table(dbs):
    lookup, target = dbs
    kw = dict(reader={"where": "name is not null"}, writer={"preSql": ["delete from @table"]})
    assert run(lookup, **kw).status == "success"
    once = rows(target)
    assert run(lookup, **kw).status == "success"
    assert rows(target) == once
    assert len(once) == ROWS - 5


def test_insert_conflicts_are_dirty_and_replace_overwrites(dbs):
    lookup, target = dbs
    kw = dict(reader={"where": "name is not null"})
    assert run(lookup, **kw).status == "success"
    again = run(lookup, **kw, setting={"errorLimit": {"record": ROWS}})
    assert again.dirty_records == ROWS - 5
    assert "UNIQUE" in again.dirty_samples[0]["reason"]
    replaced = run(lookup, reader={"where": "name is not null", "column": ["id", "'x'", "amount"]},
                   writer={"writeMode": "replace"})
    assert replaced.status == "success"
    assert {r[1] for r in rows(target)} == {"x"}


def test_column_count_mismatch_is_a_clear_error(dbs):
    lookup, _ = dbs
    summary = run(lookup, reader={"column": ["id", "name"]})
    assert summary.status == "failed"
    assert "reader gives 2 columns" in summary.error and "writer takes 3" in summary.error


def test_a_database_error_is_reported_not_raised(dbs):
    lookup, _ = dbs
    summary = run(lookup, reader={"where": "no_such_column = 1"})
    assert summary.status == "failed"
    assert "no_such_column" in summary.error


def test_cancel_stops_the_run(dbs):
    lookup, target = dbs
    cancel = threading.Event()
    cancel.set()
    summary = run_job(Job(script(), lookup.__getitem__), cancel=cancel)
    assert summary.status == "failed"
    assert "cancelled" in summary.error
    assert rows(target) == []


def test_throttle_spaces_batches_by_their_bytes():
    clock = FakeClock()
    throttle = Throttle(mbps=1, clock=clock.now, sleep=clock.sleep)
    for _ in range(4):
        throttle.consume(512 * 1024)
    assert clock.slept == pytest.approx(1.5)  # the first half MB passes at once


def test_no_throttle_never_sleeps():
    clock = FakeClock()
    throttle = Throttle(mbps=None, clock=clock.now, sleep=clock.sleep)
    throttle.consume(10**9)
    assert clock.slept == 0


class FakeClock:
    def __init__(self):
        self.t = 0.0
        self.slept = 0.0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept += seconds
        self.t += seconds


def test_batch_size_bounds_what_is_written_before_the_limit_stops_the_run(dbs):
    lookup, target = dbs
    summary = run(lookup, writer={"batchSize": 100}, setting={"errorLimit": {"record": 0}})
    assert summary.status == "failed"
    assert summary.records_written == 999  # rows 1..999; the run stops at id 1000
    assert len(rows(target)) == 999


@pytest.mark.timeout(60)
@pytest.mark.parametrize("attempt", range(5))
def test_a_failing_channel_stops_the_others_without_hanging(dbs, attempt):
    lookup, _ = dbs
    summary = run(lookup, reader={"splitPk": "id", "fetchSize": 50}, writer={"batchSize": 10},
                  setting={"speed": {"concurrent": 4}, "errorLimit": {"record": 0}})
    assert summary.status == "failed"
    assert "errorLimit.record = 0" in summary.error


def test_sqlite_mixed_storage_classes_in_the_first_batch_lose_no_digit(tmp_path):
    """ADBC widens a column whose first batch mixes storage classes (an integer column
    with a real: all doubles; a real column with a text: numbers as '1.500000e+00'): the
    reader must read such a task value by value instead."""
    source, target = tmp_path / "s.db", tmp_path / "t.db"
    big = 2**53 + 1  # a double cannot hold it
    with sqlite3.connect(source) as conn:
        conn.execute("create table t (id integer, n integer, r real)")
        conn.executemany("insert into t values (?, ?, ?)", [(1, big, 1.5), (2, 2.5, 2.25), (3, 7, "x")])
    with sqlite3.connect(target) as conn:
        conn.execute("create table t (id integer, n text, r text)")
    lookup = {"src": DataSource("src", "sqlite", {"path": str(source)}),
              "dst": DataSource("dst", "sqlite", {"path": str(target)})}
    summary = run(lookup, setting={"errorLimit": {"record": 5}})
    assert summary.status == "success", summary.error
    with sqlite3.connect(target) as conn:
        stored = conn.execute("select id, n, r from t order by id").fetchall()
    assert stored[0][1] == str(big) and stored[0][2] == "1.5" and stored[2][2] == "x", stored


def test_sqlite_values_of_another_storage_class_are_read_exactly(tmp_path):
    """SQLite lets a text sit in an INTEGER column: the fast reader must not turn it into
    0; the rows from there on are read value by value, and the writer's cast makes the
    odd one a dirty record."""
    source, target = tmp_path / "s.db", tmp_path / "t.db"
    with sqlite3.connect(source) as conn:
        conn.execute("create table t (id integer, n integer, d date)")
        conn.executemany("insert into t values (?, ?, ?)",
                         [(i, None if i < 3000 else i, "2026-01-01") for i in range(5000)])
        conn.execute("update t set n = 'not a number' where id = 4321")
    with sqlite3.connect(target) as conn:
        conn.execute("create table t (id integer, n integer, d date)")
    lookup = {"src": DataSource("src", "sqlite", {"path": str(source)}),
              "dst": DataSource("dst", "sqlite", {"path": str(target)})}
    summary = run(lookup, reader={"fetchSize": 1000}, setting={"errorLimit": {"record": 1}})
    assert summary.status == "success", summary.error
    assert (summary.records_written, summary.dirty_records) == (4999, 1)
    assert summary.dirty_samples[0]["record"]["n"] == "not a number"
    with sqlite3.connect(target) as conn:
        assert conn.execute("select count(*), sum(n), count(n), min(d) from t").fetchone() == (
            4999, sum(range(3000, 5000)) - 4321, 1999, "2026-01-01")
