"""What every relational connector must do alike, run on the real PostgreSQL and MariaDB:
preSql / truncate / postSql around the channels, splitPk splits, the generated query."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["pg_db", "mariadb_db"])
def db(request):
    return request.getfixturevalue(request.param)


@pytest.fixture
def sync(db, run_sync):
    return db.sync(run_sync)


def test_truncate_presql_postsql(db, sync):
    src = db.make_table("(id int, v text)", [(2, "a"), (3, "b")])
    dst = db.make_table("(id int PRIMARY KEY, v text)", [(1, "old")])
    summary = sync({"table": [src], "column": ["*"]}, {
        "table": dst, "column": ["*"], "truncate": True,
        "preSql": ["INSERT INTO @table VALUES (100, 'pre')"],
        "postSql": ["UPDATE @table SET v = 'post' WHERE id = 100", "INSERT INTO @table VALUES (101, 'x')"],
    })
    assert summary.status == "success", summary.error
    assert db.rows(f"SELECT * FROM {dst} ORDER BY id") == [(2, "a"), (3, "b"), (100, "post"), (101, "x")]


def test_failing_postsql_applies_none_of_its_statements(db, sync):
    """DML in postSql is one transaction (DDL would commit itself on MySQL: its rule)."""
    src = db.make_table("(id int, v text)", [(1, "a")])
    dst = db.make_table("(id int, v text)")
    summary = sync({"table": [src], "column": ["*"]}, {
        "table": dst, "column": ["*"],
        "postSql": ["INSERT INTO @table VALUES (200, 'post')", "INSERT INTO no_such_table VALUES (1)"],
    })
    assert summary.status == "failed" and "no_such_table" in summary.error
    assert db.rows(f"SELECT * FROM {dst}") == [(1, "a")]


def test_split_pk_one_and_four_channels_give_the_same_rows(db, sync):
    rows = [(i, None if i % 97 == 0 else i * 3 - 500, f"r{i}") for i in range(1, 3001)]
    src = db.make_table("(id int, k bigint, v text)", rows)
    results = []
    for channels in (1, 4):
        dst = db.make_table("(id int, k bigint, v text)")
        summary = sync({"table": [src], "column": ["*"], "splitPk": "k", "fetchSize": 500},
                       {"table": dst, "column": ["*"]}, channels=channels)
        assert summary.status == "success" and summary.records_written == 3000, summary.error
        results.append(db.rows(f"SELECT * FROM {dst} ORDER BY id"))
    assert results[0] == results[1] == rows
