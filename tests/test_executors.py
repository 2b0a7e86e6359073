"""Runs of instances: ``execute_instance`` on SQLite data sources (over a SQLite and the real
PostgreSQL store) from the claimed row to the recorded outcome, its log, resolved script and
statistics; failures with and without reruns, script errors, revoked permissions, guarded
records; and the worker pool: reused workers, kills, crashes, and workers that die with
their parent."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from jupyter_offline_pipeline.crypto import SecretBox
from jupyter_offline_pipeline.scheduler.executors import Finished, WorkerPool, execute_instance
from jupyter_offline_pipeline.scheduler.instances import claim, create_due, transition
from jupyter_offline_pipeline.service import DataSourceService
from jupyter_offline_pipeline.service.users import User
from jupyter_offline_pipeline.store import Store
from jupyter_offline_pipeline.store.models import (
    FolderRow, InstanceEventRow, InstanceRow, ProjectRow, TaskRow, VersionRow, utcnow)

from conftest import TEST_ENCRYPTION_KEY

ALICE = User("alice")
SCHEDULER = "scheduler-1"
# 2026-01-02 00:00 in Shanghai, business date 2026-01-01; in UTC still 2026-01-01 (business date 2025-12-31)
SCHEDULED = datetime(2026, 1, 1, 16, 0, tzinfo=timezone.utc)
BIZDATE, OTHER_DAY = "20260101", "20251231"
ROWS = 150  # of the business date in the source table, and 40 of the day before
# about half a million generated rows a second, for as long as a test lets it run
ENDLESS = ("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 1000000000) "
           "SELECT x, x * 0.5, '${bizdate}' FROM n")


def script(reader: dict | None = None, writer: dict | None = None, source="source", target="target",
           target_type="sqlite") -> str:
    reader = reader or {"table": ["orders"], "column": ["id", "amount", "d"], "where": "d = '${bizdate}'"}
    writer = {"table": "ods_orders", "column": ["id", "amount", "d"], **(writer or {})}
    return json.dumps({"type": "job", "version": "2.0", "steps": [
        {"stepType": "sqlite", "category": "reader", "name": "Reader", "parameter": {"datasource": source, **reader}},
        {"stepType": target_type, "category": "writer", "name": "Writer",
         "parameter": {"datasource": target, **writer}},
    ]}, indent=2)


def schedule(parameters: dict[str, str] | None = None, reruns: int = 0, interval: int = 7) -> dict:
    return {"schedule": {"timezone": "Asia/Shanghai", "cycle": {"type": "day", "time": "00:00"}},
            "parameters": [{"name": k, "value": v} for k, v in (parameters or {}).items()],
            "run": {"rerun_on_failure": {"count": reruns, "interval_minutes": interval}}}


class World:
    """A store with a project, two SQLite data sources of alice's (``source``: orders of
    two days; ``target``: an empty ods_orders) and helpers to make and run instances."""

    def __init__(self, db_url: str, folder: Path):
        self.store = Store(db_url)
        self.secrets = SecretBox(TEST_ENCRYPTION_KEY)
        self.datasources = DataSourceService(self.store, self.secrets)
        self.logs = folder / "logs"
        self.source, self.target = folder / "source.db", folder / "target.db"
        with sqlite3.connect(self.source) as conn:
            conn.execute("create table orders (id integer, amount real, d text)")
            conn.executemany("insert into orders values (?, ?, ?)",
                             [(i, i * 1.5, BIZDATE if i <= ROWS else OTHER_DAY) for i in range(1, ROWS + 41)])
        with sqlite3.connect(self.target) as conn:
            conn.execute("create table ods_orders (id integer, amount real, d text)")
        self.datasources.add(ALICE, "source", "sqlite", {"path": str(self.source)})
        self.datasources.add(ALICE, "target", "sqlite", {"path": str(self.target)})
        with self.store.session() as session:
            project = ProjectRow(name="dw", owner="alice")
            session.add(project)
            session.flush()
            self.folder = FolderRow(project_id=project.id, name="Offline Pipeline")
            session.add(self.folder)
        self.project_id = project.id

    def instance(self, text: str | None = None, config: dict | None = None, owner: str = "alice",
                 attempts: int = 1, params: dict | None = None, scheduled: datetime = SCHEDULED) -> int:
        """A new task with one published version, and its instance claimed by SCHEDULER."""
        with self.store.session() as session:
            task = TaskRow(project_id=self.project_id, folder_id=self.folder.id, name=f"load_{uuid.uuid4().hex[:6]}",
                           schedule_type="recurring", source_type="sqlite", source_datasource="source",
                           target_type="sqlite", target_datasource="target", owner=owner)
            session.add(task)
            session.flush()
            version = VersionRow(task_id=task.id, number=1, script=text or script(), schedule=config or schedule(),
                                 remarks="v1", author=owner, published_at=utcnow())
            session.add(version)
        create_due(self.store, [{"task_id": task.id, "version_id": version.id, "kind": "recurring",
                                 "state": "waiting_resources", "business_date": date(2026, 1, 1),
                                 "scheduled_time": scheduled, "max_attempts": attempts, "params": params or {}}])
        [claimed] = claim(self.store, SCHEDULER, 1)
        return claimed.id

    def run(self, instance_id: int) -> InstanceRow:
        execute_instance(self.store, self.secrets, instance_id, SCHEDULER, self.logs)
        return self.row(instance_id)

    def row(self, instance_id: int) -> InstanceRow:
        with self.store.session() as session:
            return session.get(InstanceRow, instance_id)

    def log(self, instance_id: int) -> str:
        path = self.row(instance_id).log_path
        return Path(path).read_text() if path else ""

    def settle(self, instance_id: int, to_state: str, reason: str = "by the test") -> None:
        with self.store.session() as session:
            transition(session, session.get(InstanceRow, instance_id), to_state, reason)

    def target_rows(self) -> list[tuple]:
        with sqlite3.connect(self.target) as conn:
            return conn.execute("select id, amount, d from ods_orders order by id").fetchall()


@pytest.fixture
def pg_url(pg_db):
    name = f"pipeline_executors_test_{uuid.uuid4().hex[:12]}"
    pg_db.execute(f"CREATE DATABASE {name}")
    yield f"postgresql://root@127.0.0.1:5432/{name}"
    pg_db.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture
def world(tmp_path):
    world = World(f"sqlite:///{tmp_path / 'store.db'}", tmp_path)
    yield world
    world.store.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_world(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    world = World(url, tmp_path)
    yield world
    world.store.dispose()


def wait_for(condition, timeout: float = 30, what: str = "the condition"):
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
    return result


# --- one run ------------------------------------------------------------------------------


def test_a_run_copies_its_business_dates_rows_and_records_stats_log_and_resolved_script(any_world):
    config = schedule({"day": "${bizdate}", "max_id": "1000000"})
    text = script({"table": ["orders"], "column": ["id", "amount", "d"], "where": "d = '${day}' and id <= ${max_id}"})
    instance_id = any_world.instance(text, config, params={"max_id": "100"})  # a run-time value wins
    row = any_world.run(instance_id)

    assert (row.state, row.error, row.attempt) == ("success", None, 1)
    assert row.stats["records_read"] == row.stats["records_written"] == 100 and row.stats["dirty_records"] == 0
    assert row.stats["status"] == "success" and len(row.stats["channels"]) == 1
    assert any_world.target_rows() == [(i, i * 1.5, BIZDATE) for i in range(1, 101)]
    assert f"\"where\": \"d = '{BIZDATE}' and id <= 100\"" in row.resolved_script  # Shanghai's date, not UTC's
    assert row.pid == os.getpid() and row.claimed_by == SCHEDULER

    log_path = Path(row.log_path)
    assert log_path.is_absolute() and log_path == any_world.logs.resolve() / str(row.task_id) / f"{instance_id}.log"
    log = log_path.read_text()
    for expected in (f"==== instance {instance_id} of task", "version 1), attempt 1 of 1",
                     "business date 2026-01-01, scheduled 2026-01-02 00:00:00 Asia/Shanghai (2026-01-01 16:00:00 UTC)",
                     "recurring instance triggered by scheduler", "resolved script:", f"d = '{BIZDATE}' and id <= 100",
                     "summary:", "Records read        : 100", "Status              : SUCCESS", "channel 0: 100 read",
                     "recorded: success"):
        assert expected in log
    with any_world.store.session() as session:
        events = session.scalars(select(InstanceEventRow.to_state).where(InstanceEventRow.instance_id == instance_id)
                                 .order_by(InstanceEventRow.id)).all()
    assert events == ["waiting_resources", "running", "success"]


def test_a_failed_run_waits_for_its_rerun_then_fails_for_good(any_world):
    instance_id = any_world.instance(script(writer={"table": "no_such_table"}), schedule(reruns=1, interval=7),
                                     attempts=2)
    before = utcnow()
    row = any_world.run(instance_id)
    assert (row.state, row.attempt) == ("waiting_time", 2)
    assert before + timedelta(minutes=7) <= row.run_after <= utcnow() + timedelta(minutes=7)
    assert "no_such_table" in row.error and row.stats["status"] == "failed"
    assert row.claimed_by is None  # free to be claimed again

    any_world.settle(instance_id, "waiting_resources", "its time came")
    assert [i.id for i in claim(any_world.store, SCHEDULER, 1)] == [instance_id]
    row = any_world.run(instance_id)
    assert (row.state, row.attempt) == ("failed", 2) and "no_such_table" in row.error
    log = any_world.log(instance_id)
    assert log.count("==== instance") == 2 and "attempt 1 of 2" in log and "attempt 2 of 2" in log
    assert "recorded: waiting_time, attempt 2 runs after" in log and log.rstrip().endswith("recorded: failed")
    assert "Status              : FAILED" in log and any_world.target_rows() == []


def test_a_script_error_fails_the_run_with_each_diagnostic_in_the_log(world):
    text = script({"table": ["orders"], "column": ["id", "amount", "d"], "where": "d = '${nobody_defined_me}'"})
    row = world.run(world.instance(text))
    assert row.state == "failed" and row.error.startswith("the script cannot run:")
    assert "nobody_defined_me" in row.error and row.resolved_script is None and row.stats is None
    log = world.log(row.id)
    assert "the script cannot run:\n  " in log and "nobody_defined_me" in log and "recorded: failed" in log


def test_a_revoked_write_permission_fails_the_run_with_a_clear_message(world):
    world.datasources.grant(ALICE, "source", "bob", "read")
    for permission in ("read", "write"):
        world.datasources.grant(ALICE, "target", "bob", permission)
    world.datasources.revoke(ALICE, "target", "bob", "write")  # after bob's task was submitted
    row = world.run(world.instance(owner="bob"))
    assert row.state == "failed"
    assert row.error == ("as the task owner 'bob': you need the write permission on data source 'target'; "
                         "request it from its owner 'alice'")
    assert row.error in world.log(row.id) and world.target_rows() == []


def test_an_unexpected_error_fails_the_run_with_its_message_and_the_traceback_in_the_log(world):
    # the last hours of year 9999 in UTC are past it in Shanghai: no date can show them
    row = world.run(world.instance(scheduled=datetime(9999, 12, 31, 20, tzinfo=timezone.utc)))
    assert (row.state, row.error) == ("failed", "OverflowError: date value out of range")
    log = world.log(row.id)
    assert "unexpected error:\nTraceback (most recent call last):" in log and "recorded: failed" in log
    assert "Traceback" not in row.error


def test_an_unexpected_error_before_the_log_is_open_still_fails_the_run(world):
    world.logs.write_text("a file where the log folder should be")
    row = world.run(world.instance())
    assert row.state == "failed" and row.error.startswith("NotADirectoryError: ") and row.log_path is None


def test_an_instance_settled_before_its_worker_got_to_it_is_not_run(world):
    instance_id = world.instance()
    world.settle(instance_id, "killed", "killed by alice")
    row = world.run(instance_id)
    assert row.state == "killed" and row.log_path is None and row.stats is None and world.target_rows() == []


def test_a_run_killed_in_the_store_stops_and_is_not_recorded_as_its_outcome(any_world):
    instance_id = any_world.instance(script({"querySql": ENDLESS}))
    runner = threading.Thread(target=any_world.run, args=(instance_id,))
    runner.start()
    wait_for(lambda: "run started" in any_world.log(instance_id), what="the run to start")
    any_world.settle(instance_id, "killed", "killed by alice")  # as another host's operation would
    runner.join(15)
    assert not runner.is_alive(), "the run did not notice it was killed"
    row = any_world.row(instance_id)
    assert (row.state, row.stats, row.error) == ("killed", None, None)
    log = any_world.log(instance_id)
    assert "no longer running for this scheduler: cancelling the run" in log
    assert "the run was cancelled" in log and log.rstrip().endswith(
        f"not recorded: the instance is killed now, no longer running for {SCHEDULER}")


# --- the pool -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pooled(tmp_path_factory):
    """One world and a pool of 2 workers for the pool's tests (spawning costs seconds)."""
    folder = tmp_path_factory.mktemp("pool")
    world = World(f"sqlite:///{folder / 'store.db'}", folder)
    pool = WorkerPool(2, db_url=world.store.db_url, encryption_key=TEST_ENCRYPTION_KEY, scheduler_id=SCHEDULER,
                      log_dir=world.logs)
    yield world, pool
    pool.shutdown()
    world.store.dispose()


def finish(pool: WorkerPool, count: int = 1, timeout: float = 30) -> list[Finished]:
    ended: list[Finished] = []
    wait_for(lambda: ended.extend(pool.finished()) or len(ended) >= count, timeout, "runs to end")
    return ended


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie does not: it is dead, waiting to be reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def test_the_pool_runs_instances_in_its_long_lived_workers(pooled):
    world, pool = pooled
    first, second, third = world.instance(), world.instance(), world.instance()
    assert pool.free_slots() == 2
    pid = pool.start(first)
    assert pool.running() == {first: pid} and pool.free_slots() == 1
    assert finish(pool) == [Finished(first, pid, crashed=False, killed=False, exitcode=None)]
    assert world.row(first).state == "success" and world.row(first).pid == pid
    workers = {pid, pool.start(second)}
    assert pool.start(third) in workers  # no process is started for a run
    assert {f.instance_id for f in finish(pool, 2)} == {second, third}
    assert [world.row(i).state for i in (second, third)] == ["success", "success"] and pool.free_slots() == 2


def test_kill_stops_a_run_midway_and_replaces_its_worker(pooled):
    world, pool = pooled
    doomed, other = world.instance(script({"querySql": ENDLESS})), world.instance(script({"querySql": ENDLESS}))
    pid, other_pid = pool.start(doomed), pool.start(other)
    assert pool.free_slots() == 0
    with pytest.raises(RuntimeError, match="no free worker"):
        pool.start(world.instance())
    wait_for(lambda: "progress: " in world.log(doomed), what="a progress line")  # midway
    pool.kill(doomed)
    assert pool.running() == {other: other_pid} and pool.free_slots() == 1  # its replacement
    assert finish(pool) == [Finished(doomed, pid, crashed=False, killed=True, exitcode=-signal.SIGKILL)]
    assert not alive(pid) and world.row(doomed).state == "running"  # the scheduler settles it
    pool.kill(other)
    finish(pool)
    assert pool.running() == {} and pool.free_slots() == 2


def test_a_worker_that_dies_by_itself_is_reported_as_crashed_and_replaced(pooled):
    world, pool = pooled
    instance_id = world.instance(script({"querySql": ENDLESS}))
    pid = pool.start(instance_id)
    wait_for(lambda: "run started" in world.log(instance_id), what="the run to start")
    os.kill(pid, signal.SIGKILL)  # as the OOM killer does (a segfault could leave a core file behind)
    assert finish(pool) == [Finished(instance_id, pid, crashed=True, killed=False, exitcode=-signal.SIGKILL)]
    assert pool.free_slots() == 2 and not alive(pid)
    after = [world.instance(), world.instance()]
    assert pid not in [pool.start(i) for i in after]
    finish(pool, 2)
    assert [world.row(i).state for i in after] == ["success", "success"]  # the replacement works


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_die_when_their_scheduler_is_killed_midway(world):
    program = textwrap.dedent("""
        import sys, time
        from jupyter_offline_pipeline.scheduler.executors import WorkerPool
        url, key, scheduler_id, logs, *instances = sys.argv[1:]
        pool = WorkerPool(2, db_url=url, encryption_key=key, scheduler_id=scheduler_id, log_dir=logs)
        print(*[pool.start(int(i)) for i in instances], flush=True)
        time.sleep(60)
    """)
    busy = [world.instance(script({"querySql": ENDLESS})) for _ in range(2)]
    scheduler = subprocess.Popen([sys.executable, "-c", program, world.store.db_url, TEST_ENCRYPTION_KEY, SCHEDULER,
                                  str(world.logs), *map(str, busy)], stdout=subprocess.PIPE, text=True)
    try:
        workers = [int(pid) for pid in scheduler.stdout.readline().split()]
        assert len(workers) == 2
        # killed while they run (an idle worker would also end on its pipe's EOF)
        wait_for(lambda: all("run started" in world.log(i) for i in busy), 30, "both runs to start")
    finally:
        scheduler.kill()
        scheduler.wait()
    wait_for(lambda: not any(alive(pid) for pid in workers), timeout=5, what="the workers to die")
