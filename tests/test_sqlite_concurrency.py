"""SQLite under concurrency: several processes running jobs on one shared file, and a
reader meeting another process's write lock.

The engine must open a data file through one SQLite library only (two copies of SQLite
in one process break POSIX locking: lost commits, "database is locked" at once, SIGBUS),
and every connection must wait for a lock (busy timeout) instead of failing at once.

This process never has a file open through both libraries at once: the shared file is
made and counted with ``sqlite3`` before the workers start and after they have exited
(the jobs run in the workers), and the lock tests' files are opened here through ADBC
only (as the engine does) while ``sqlite3`` holds the lock in another process.
"""

from __future__ import annotations

import multiprocessing
import queue
import subprocess
import sys
import textwrap
import time
from contextlib import closing

import adbc_driver_sqlite.dbapi as adbc_sqlite
import pytest

from jupyter_offline_pipeline.connectors import DataSource
from jupyter_offline_pipeline.engine import Job, run_job

WORKERS = 6
RUNS = 25
ROWS = 10


def _script(target: str, reader: dict | None = None) -> dict:
    return {
        "steps": [
            {"stepType": "sqlite", "category": "reader", "name": "R",
             "parameter": {"datasource": "src", "table": ["src"], "column": ["*"], **(reader or {})}},
            {"stepType": "sqlite", "category": "writer", "name": "W",
             "parameter": {"datasource": "dst", "table": target, "column": ["*"]}},
        ],
        "setting": {"errorLimit": {"record": 0}},
    }


def _worker(path: str, target: str, runs: int, ready, go, results) -> None:
    """Runs in a spawned process: ``runs`` jobs copying ``src`` into ``target``."""
    lookup = {"src": DataSource("src", "sqlite", {"path": path}),
              "dst": DataSource("dst", "sqlite", {"path": path})}
    ready.put(target)
    go.wait(60)
    outcomes = []
    for _ in range(runs):
        summary = run_job(Job(_script(target), lookup.__getitem__))
        outcomes.append((summary.status, summary.records_written, summary.error))
    results.put((target, outcomes))


def _create_shared_file(path) -> None:
    import sqlite3  # only here, before any job of this test runs (see the module docstring)

    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA journal_mode = WAL").fetchone()[0] == "wal"
        conn.execute("create table src (id integer primary key, name text, amount real)")
        conn.executemany("insert into src values (?, ?, ?)",
                         [(i, f"name {i}", i * 0.5) for i in range(1, ROWS + 1)])
        for w in range(WORKERS):
            conn.execute(f"create table t{w} (id integer, name text, amount real)")
        conn.commit()


def _count_rows(path) -> dict[str, int]:
    import sqlite3  # only after every worker process has exited

    with closing(sqlite3.connect(path)) as conn:
        return {f"t{w}": conn.execute(f"select count(*) from t{w}").fetchone()[0] for w in range(WORKERS)}


@pytest.mark.timeout(180)
def test_processes_writing_one_shared_wal_file_lose_nothing(tmp_path):
    path = str(tmp_path / "shared.db")
    _create_shared_file(path)
    ctx = multiprocessing.get_context("spawn")
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    processes = [ctx.Process(target=_worker, args=(path, f"t{w}", RUNS, ready, go, results))
                 for w in range(WORKERS)]
    for p in processes:
        p.start()
    try:
        for _ in processes:  # all imported and waiting: then they start together
            ready.get(timeout=120)
        go.set()
        outcomes: dict[str, list] = {}
        deadline = time.monotonic() + 150
        while len(outcomes) < WORKERS:
            try:
                target, runs = results.get(timeout=1)
                outcomes[target] = runs
            except queue.Empty:
                dead = [p.exitcode for p in processes if p.exitcode not in (None, 0)]
                assert not dead, f"a worker process died (exit codes {dead}; -7 is SIGBUS)"
                assert time.monotonic() < deadline, "the workers did not finish in time"
    finally:
        for p in processes:
            p.join(10)
            if p.is_alive():
                p.kill()
                p.join()
    assert [p.exitcode for p in processes] == [0] * WORKERS
    failed = {t: [o for o in runs if o[0] != "success" or o[1] != ROWS] for t, runs in outcomes.items()}
    failed = {t: runs for t, runs in failed.items() if runs}
    expected = {f"t{w}": ROWS * RUNS for w in range(WORKERS)}
    counts = _count_rows(path)
    assert not failed and counts == expected, (
        f"runs that did not write {ROWS} records: {failed}; rows in the tables: {counts}, expected {expected}")


LOCK_HOLDER = textwrap.dedent("""
    import sqlite3, sys, time
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")
    conn.execute("insert into src values (99, 'late', 1.0)")
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
    conn.execute("COMMIT")
    conn.close()
""")


@pytest.fixture
def locked_source(tmp_path):
    """A rollback-journal file (in WAL mode a writer never blocks readers) and a way to
    hold its exclusive lock from another process for a while."""
    path = str(tmp_path / "source.db")
    with closing(adbc_sqlite.connect(path)) as conn, closing(conn.cursor()) as cursor:
        cursor.execute("PRAGMA journal_mode = DELETE")
        cursor.fetchall()
        cursor.execute("create table src (id integer primary key, name text, amount real)")
        cursor.execute("insert into src values " + ", ".join(f"({i}, 'name {i}', {i * 0.5})"
                                                             for i in range(1, ROWS + 1)))
        conn.commit()

    def hold(seconds: float) -> subprocess.Popen:
        holder = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, path, str(seconds)],
                                  stdout=subprocess.PIPE, text=True)
        assert holder.stdout.readline().strip() == "locked"
        holders.append(holder)
        return holder

    holders: list[subprocess.Popen] = []
    yield path, hold
    for holder in holders:
        holder.communicate(timeout=30)
        assert holder.returncode == 0


def _rows(path: str, sql: str) -> list[tuple]:
    with closing(adbc_sqlite.connect(path)) as conn, closing(conn.cursor()) as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("reader", [{}, {"splitPk": "id"}], ids=["plain", "splitPk"])
def test_a_job_waits_for_another_process_holding_the_lock(tmp_path, locked_source, reader):
    """Every connection of the run (column types, split bounds, reading) waits."""
    path, hold = locked_source
    target = str(tmp_path / "target.db")
    with closing(adbc_sqlite.connect(target)) as conn, closing(conn.cursor()) as cursor:
        cursor.execute("create table t (id integer, name text, amount real)")
        conn.commit()
    lookup = {"src": DataSource("src", "sqlite", {"path": path}),
              "dst": DataSource("dst", "sqlite", {"path": target})}
    hold(1.0)
    start = time.monotonic()
    summary = run_job(Job({**_script("t", reader), "setting": {"speed": {"concurrent": 2}}},
                          lookup.__getitem__))
    assert summary.status == "success", summary.error
    assert time.monotonic() - start > 0.5  # it waited for the lock...
    assert summary.records_written == ROWS + 1  # ...and read what the holder committed
    assert _rows(target, "select count(*), max(id) from t") == [(ROWS + 1, 99)]


@pytest.mark.timeout(60)
def test_the_fast_reader_itself_waits_for_the_lock(locked_source):
    """The metadata queries before it would absorb the wait: take the lock between them
    and the ADBC read, as another process may."""
    import pyarrow as pa

    from jupyter_offline_pipeline.connectors.sqlite import SQLiteReader

    path, hold = locked_source
    reader = SQLiteReader({"table": ["src"]}, DataSource("src", "sqlite", {"path": path}))
    hold(1.0)
    batches = list(reader._stream_adbc("SELECT id FROM src", ["id"], [pa.int64()]))
    assert sum(b.num_rows for b in batches) == ROWS + 1
