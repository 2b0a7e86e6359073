"""The scheduler with a controllable clock: every cycle type made into instances (month ends,
leap days, daylight saving), catch-up after downtime, and then real runs through worker
processes and the real engine against PostgreSQL: dependencies across tasks and on the
previous cycle, dry run, pause, reruns after failures, timeouts, kills and priorities."""

from __future__ import annotations

import json
import time
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from conftest import PG_PARAMS
from jupyter_offline_pipeline.crypto import SecretBox
from jupyter_offline_pipeline.scheduler.operations import OperationCenter
from jupyter_offline_pipeline.scheduler.planner import MISSED, Planner
from jupyter_offline_pipeline.scheduler.production import Production
from jupyter_offline_pipeline.scheduler.scheduler import Scheduler
from jupyter_offline_pipeline.service import DataSourceService
from jupyter_offline_pipeline.service.submit import SubmitService
from jupyter_offline_pipeline.service.users import User
from jupyter_offline_pipeline.store import Store
from jupyter_offline_pipeline.store.models import (
    FolderRow, InstanceEventRow, InstanceRow, ProjectRow, TaskRow, VersionRow, utcnow)

ALICE = User("alice")
UTC = timezone.utc


class Clock:
    """The scheduler's clock, moved by the test."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


class World:
    """A store with a basic project, data sources, production tasks and schedulers."""

    def __init__(self, tmp_path, clock: Clock):
        self.tmp_path, self.clock = tmp_path, clock
        self.store = Store(f"sqlite:///{tmp_path / 'store.db'}")
        self.secrets = SecretBox(Fernet.generate_key())
        self.datasources = DataSourceService(self.store, self.secrets)
        self.submit = SubmitService(self.store, self.datasources)
        self.schedulers: list[Scheduler] = []
        with self.store.session() as session:
            project = ProjectRow(name="p", mode="basic", owner="alice")
            session.add(project)
            session.flush()
            folder = FolderRow(project_id=project.id, name="Offline Pipeline")
            session.add(folder)
            session.flush()
            self.folder = folder.id

    def task(self, name: str, script: dict, schedule: dict, source: str, target: str,
             schedule_type: str = "recurring", published: datetime | None = None) -> int:
        """A task submitted (so published: a basic project) at ``published`` (default: now)."""
        types = {"lite": "sqlite", "pg": "postgresql"}
        with self.store.session() as session:
            row = TaskRow(project_id=1, folder_id=self.folder, name=name, schedule_type=schedule_type,
                          source_type=types[source], source_datasource=source, target_type=types[target],
                          target_datasource=target, script=json.dumps(script, indent=2),
                          schedule=schedule, owner="alice")
            session.add(row)
        result = self.submit.submit(ALICE, row.id, f"{name} v1", confirm_warnings=True)
        assert result.status == "published", [(c.name, c.status, c.messages, [d["message"] for d in c.diagnostics]) for c in result.checks]
        with self.store.session() as session:
            version = session.scalar(select(VersionRow).where(VersionRow.task_id == row.id))
            version.published_at = published or self.clock.now - timedelta(microseconds=1)
        return row.id

    def scheduler(self, **options) -> Scheduler:
        options = {"max_workers": 2, "clock": self.clock, "log_dir": self.tmp_path / "logs", **options}
        scheduler = Scheduler(self.store, self.secrets, **options)
        self.schedulers.append(scheduler)
        return scheduler

    def instances(self, task_id: int | None = None) -> list[InstanceRow]:
        with self.store.session() as session:
            query = select(InstanceRow).order_by(InstanceRow.scheduled_time, InstanceRow.id)
            if task_id is not None:
                query = query.where(InstanceRow.task_id == task_id)
            return list(session.scalars(query))

    def states(self, task_id: int) -> list[tuple[str, str]]:
        return [(str(i.business_date), i.state) for i in self.instances(task_id)]

    def reasons(self, instance_id: int) -> list[str]:
        with self.store.session() as session:
            return list(session.scalars(select(InstanceEventRow.reason).where(
                InstanceEventRow.instance_id == instance_id).order_by(InstanceEventRow.id)))

    def plan(self, planner: Planner | None = None) -> Planner:
        planner = planner or Planner()
        with self.store.session() as session:
            planner.plan(session, Production.load(session), self.clock.now)
        return planner

    def run_until(self, scheduler: Scheduler, done, timeout: float = 60) -> None:
        """Tick (the clock stands still) until ``done()``; worker runs take real time."""
        deadline = time.monotonic() + timeout
        scheduler.tick()
        while not done():
            assert time.monotonic() < deadline, f"not done after {timeout} s: {[(i.id, i.state) for i in self.instances()]}"
            time.sleep(0.1)
            scheduler.tick()

    def close(self) -> None:
        for scheduler in self.schedulers:
            scheduler.stop()
        self.store.dispose()


def make_world(tmp_path, start: datetime):
    return World(tmp_path, Clock(start))


@pytest.fixture
def lite_world(tmp_path):
    """For planning only: an SQLite source and target (the submit checks need real tables)."""
    import sqlite3

    with sqlite3.connect(tmp_path / "lite.db") as conn:
        conn.execute("create table orders (id integer, amount real, bizdate text)")
        conn.execute("create table ods (id integer, amount real, bizdate text)")
    worlds = []

    def make(start: datetime) -> World:
        world = make_world(tmp_path, start)
        world.datasources.add(ALICE, "lite", "sqlite", {"path": str(tmp_path / "lite.db")})
        worlds.append(world)
        return world

    yield make
    for world in worlds:
        world.close()


def copy_script(source: str, source_table: str, target: str, target_table: str, **reader) -> dict:
    """Copy one business date's rows; the preSql delete makes a rerun write them once."""
    columns = ["id", "amount", "bizdate"]
    reader = reader or {"table": [source_table], "column": columns, "where": "bizdate = '${bizdate}'"}
    step = {"lite": "sqlite", "pg": "postgresql"}
    return {"type": "job", "version": "2.0", "steps": [
        {"stepType": step[source], "category": "reader", "name": "Reader",
         "parameter": {"datasource": source, **reader}},
        {"stepType": step[target], "category": "writer", "name": "Writer",
         "parameter": {"datasource": target, "table": target_table, "column": columns,
                       "preSql": ["delete from @table where bizdate = '${bizdate}'"]}}]}


def schedule(cycle: dict | None = None, timezone: str = "UTC", *, state: str = "normal", upstream=(),
             self_dependent: bool = False, auto: bool = True, reruns: int = 0, interval: int = 5,
             timeout_hours: float = 48, rerun_on_timeout: bool = False, priority: str = "medium",
             **schedule_fields) -> dict:
    return {"schedule": {"cycle": cycle, "timezone": timezone, "state": state, "priority": priority,
                         **schedule_fields},
            "dependency": {"upstream": list(upstream), "self_dependent": self_dependent, "auto_from_lineage": auto},
            "run": {"timeout_hours": timeout_hours, "rerun_on_timeout": rerun_on_timeout,
                    "rerun_on_failure": {"count": reruns, "interval_minutes": interval}}}


DAY = {"type": "day", "time": "00:00"}


def local_times(world: World, task_id: int, zone: str = "UTC") -> list[str]:
    return [f"{i.scheduled_time.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M} {i.business_date:%m%d}"
            for i in world.instances(task_id)]


# --- every cycle, made into instances --------------------------------------------------------


CYCLES = [  # (cycle, time zone, clock from, clock to, the instances' local times and business dates)
    ({"type": "day", "time": "01:30"}, "Asia/Shanghai", "2028-02-27 12:00", "2028-03-02 00:00",
     ["2028-02-28 01:30 0227", "2028-02-29 01:30 0228", "2028-03-01 01:30 0229"]),  # a leap day
    ({"type": "minute", "every_minutes": 20, "start_time": "23:00", "end_time": "23:59"}, "UTC",
     "2028-12-31 22:00", "2029-01-01 00:30", ["2028-12-31 23:00 1230", "2028-12-31 23:20 1230",
                                             "2028-12-31 23:40 1230"]),
    ({"type": "hour", "hours": [0, 12], "minute": 5}, "UTC", "2028-02-28 06:00", "2028-03-01 06:00",
     ["2028-02-28 12:05 0227", "2028-02-29 00:05 0228", "2028-02-29 12:05 0228", "2028-03-01 00:05 0229"]),
    ({"type": "week", "weekdays": [2, 7], "time": "08:00"}, "UTC", "2028-01-01 00:00", "2028-01-11 00:00",
     ["2028-01-02 08:00 0101", "2028-01-04 08:00 0103", "2028-01-09 08:00 0108"]),  # Sundays and Tuesdays
    ({"type": "month", "days": [30, 31], "last_day": True, "time": "06:00"}, "UTC", "2028-01-29 00:00",
     "2028-04-01 00:00", ["2028-01-30 06:00 0129", "2028-01-31 06:00 0130", "2028-02-29 06:00 0228",
                          "2028-03-30 06:00 0329", "2028-03-31 06:00 0330"]),  # February has no 30th
    ({"type": "cron", "expression": "30 2 * * 1-5"}, "UTC", "2028-01-07 00:00", "2028-01-11 00:00",
     ["2028-01-07 02:30 0106", "2028-01-10 02:30 0109"]),  # not on the weekend
    ({"type": "day", "time": "02:30"}, "Europe/Paris", "2028-03-25 12:00", "2028-03-28 00:00",
     ["2028-03-26 03:30 0325", "2028-03-27 02:30 0326"]),  # 02:30 does not exist on the 26th: 03:30
    ({"type": "day", "time": "02:30"}, "Europe/Paris", "2028-10-28 12:00", "2028-10-31 00:00",
     ["2028-10-29 02:30 1028", "2028-10-30 02:30 1029"]),  # 02:30 happens twice on the 29th: one run
]


@pytest.mark.parametrize("cycle, zone, start, end, expected", CYCLES, ids=[c[0]["type"] + "-" + c[1] for c in CYCLES])
def test_every_cycle_makes_its_instances_once(lite_world, cycle, zone, start, end, expected):
    tz = ZoneInfo(zone)
    world = lite_world(datetime.fromisoformat(start).replace(tzinfo=tz))
    task = world.task("t", copy_script("lite", "orders", "lite", "ods"), schedule(cycle, zone), "lite", "lite")
    planner = Planner()
    while world.clock.now < datetime.fromisoformat(end).replace(tzinfo=tz):  # a tick every 3 hours
        world.clock.advance(hours=3)
        world.plan(planner)
    assert local_times(world, task, zone) == expected
    assert {i.state for i in world.instances(task)} == {"waiting_time"}
    world.plan(Planner())  # a restart (or a second scheduler) makes nothing twice
    assert len(world.instances(task)) == len(expected)


def test_effective_dates_bound_the_instances(lite_world):
    world = lite_world(datetime(2028, 5, 1, tzinfo=UTC))
    task = world.task("t", copy_script("lite", "orders", "lite", "ods"),
                      schedule(DAY, effective_from="2028-05-03", effective_to="2028-05-04"), "lite", "lite")
    world.clock.advance(days=10)
    world.plan()
    assert local_times(world, task) == ["2028-05-03 00:00 0502", "2028-05-04 00:00 0503"]


def test_a_manual_task_makes_no_recurring_instance(lite_world):
    world = lite_world(datetime(2028, 5, 1, tzinfo=UTC))
    task = world.task("m", copy_script("lite", "orders", "lite", "ods"), schedule(None), "lite", "lite",
                      schedule_type="manual")
    world.clock.advance(days=3)
    world.plan()
    assert world.instances(task) == []


@pytest.mark.parametrize("policy", ["run", "skip"])
def test_runs_due_while_down_are_caught_up_by_policy(lite_world, policy):
    world = lite_world(datetime(2028, 5, 1, 12, tzinfo=UTC))
    task = world.task("t", copy_script("lite", "orders", "lite", "ods"), schedule(DAY), "lite", "lite")
    world.plan()  # running at noon on the 1st
    world.clock.advance(days=3)  # down until noon on the 4th
    planner = Planner(catch_up=policy)
    world.plan(planner)
    missed = "waiting_time" if policy == "run" else "not_run"
    assert world.states(task) == [("2028-05-01", missed), ("2028-05-02", missed), ("2028-05-03", missed)]
    if policy == "skip":
        assert world.reasons(world.instances(task)[0].id) == [MISSED]
    world.clock.advance(days=1)
    world.plan(planner)  # a run due while up is never "missed"
    assert world.states(task)[-1] == ("2028-05-04", "waiting_time")


def test_a_new_version_counts_from_its_publication(lite_world):
    world = lite_world(datetime(2028, 5, 1, 12, tzinfo=UTC))
    task = world.task("t", copy_script("lite", "orders", "lite", "ods"), schedule(DAY), "lite", "lite")
    planner = world.plan()
    world.clock.advance(days=2)
    world.plan(planner)
    with world.store.session() as session:
        session.get(TaskRow, task).schedule = schedule({"type": "day", "time": "06:00"})
    world.submit.submit(ALICE, task, "v2: at six")
    with world.store.session() as session:  # published at noon on the 3rd: its 06:00 that day has passed
        session.scalar(select(VersionRow).where(VersionRow.number == 2)).published_at = world.clock.now
    world.clock.advance(days=1)
    world.plan(planner)
    assert local_times(world, task) == ["2028-05-02 00:00 0501", "2028-05-03 00:00 0502", "2028-05-04 06:00 0503"]
    assert [i.version_id for i in world.instances(task)] == [1, 1, 2]


# --- real runs: PostgreSQL to PostgreSQL through worker processes ---------------------------


class PgWorld(World):
    """Orders per business date in PostgreSQL; tasks copy them ods -> dwd."""

    def __init__(self, tmp_path, pg_db, start: datetime):
        super().__init__(tmp_path, Clock(start))
        self.pg = pg_db
        self.datasources.add(ALICE, "pg", "postgresql", dict(PG_PARAMS))
        ddl = "(id INT, amount NUMERIC(10,2), bizdate VARCHAR(8))"
        days = [(start + timedelta(days=d)).date() for d in range(-5, 3)]
        rows = [(i, i * 1.5, f"{day:%Y%m%d}") for day in days for i in range(100)]
        self.orders = pg_db.make_table(ddl, rows, prefix="orders")
        self.ods = pg_db.make_table(ddl, prefix="ods")
        self.dwd = pg_db.make_table(ddl, prefix="dwd")

    def copy(self, name: str, source: str, target: str, config: dict, **kw) -> int:
        return self.task(name, copy_script("pg", source, "pg", target), config, "pg", "pg", **kw)

    def counts(self, table: str) -> dict[str, int]:
        return dict(self.pg.rows(f"select bizdate, count(*) from {table} group by bizdate order by 1"))


@pytest.fixture
def pg_world(tmp_path, pg_db):
    worlds = []

    def make(start: datetime | None = None) -> PgWorld:
        # the clock starts at the real now: the workers stamp their records with real time
        world = PgWorld(tmp_path, pg_db, start or utcnow())
        worlds.append(world)
        return world

    yield make
    for world in worlds:
        world.close()


def finished(world: World, *task_ids: int, count: int = 1):
    terminal = {"success", "failed", "not_run", "dry_run", "killed"}
    return lambda: all(len(world.instances(t)) >= count and all(i.state in terminal for i in world.instances(t))
                       for t in task_ids)


def yesterday(world: World) -> str:
    return f"{world.clock.now.date() - timedelta(days=1):%Y%m%d}"


def test_a_chain_runs_in_dependency_order_and_moves_the_data(pg_world):
    world = pg_world()
    before_midnight = world.clock.now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(hours=1)
    ods = world.copy("to_ods", world.orders, world.ods, schedule(DAY), published=before_midnight)
    dwd = world.copy("to_dwd", world.ods, world.dwd, schedule(DAY), published=before_midnight)
    scheduler = world.scheduler()
    scheduler.tick()
    downstream = world.instances(dwd)[0]
    assert downstream.state == "waiting_upstream"  # found from lineage: it reads what to_ods writes
    world.run_until(scheduler, finished(world, ods, dwd))
    assert [i.state for i in world.instances()] == ["success", "success"]
    first, second = world.instances(ods)[0], world.instances(dwd)[0]
    assert first.finished_at <= second.started_at
    bizdate = f"{first.business_date:%Y%m%d}"
    assert world.counts(world.dwd) == {bizdate: 100}
    assert first.stats["records_read"] == 100 and first.stats["records_written"] == 100
    assert f"bizdate = '{bizdate}'" in first.resolved_script
    log = open(first.log_path).read()
    assert "Records written" in log and bizdate in log


def test_an_upstream_failure_blocks_downstream_until_rerun(pg_world):
    world = pg_world()
    ods = world.copy("to_ods", world.orders, world.ods, schedule(DAY))
    dwd = world.copy("to_dwd", world.ods, world.dwd, schedule(DAY, upstream=[ods], auto=False))
    world.pg.execute(f"alter table {world.ods} rename column amount to amount_gone")  # to_ods now fails
    world.clock.advance(days=1)
    scheduler = world.scheduler()
    world.run_until(scheduler, finished(world, ods, dwd))
    assert [i.state for i in world.instances()] == ["failed", "not_run"]
    blocked = world.instances(dwd)[0]
    assert "upstream 'to_ods'" in world.reasons(blocked.id)[-1]
    assert "amount" in world.instances(ods)[0].error


def test_self_dependency_waits_for_the_previous_cycle(pg_world):
    world = pg_world()
    world.clock.now = world.clock.now.replace(hour=12)
    task = world.copy("daily", world.orders, world.ods, schedule(DAY, self_dependent=True),
                      published=world.clock.now - timedelta(days=3))
    scheduler = world.scheduler(max_workers=2)
    scheduler.tick()
    states = [i.state for i in world.instances(task)]
    assert states[0] == "running" and set(states[1:]) == {"waiting_upstream"}  # only the first may start
    world.run_until(scheduler, finished(world, task, count=3))
    runs = world.instances(task)
    assert [i.state for i in runs] == ["success"] * 3
    assert all(a.finished_at <= b.started_at for a, b in zip(runs, runs[1:]))
    assert len(world.counts(world.ods)) == 3


def test_dry_run_succeeds_at_once_and_pause_blocks_downstream(pg_world):
    world = pg_world()
    dry = world.copy("dry", world.orders, world.ods, schedule(DAY, state="dry_run"))
    after_dry = world.copy("after_dry", world.ods, world.dwd, schedule(DAY))
    world.clock.advance(days=1)
    scheduler = world.scheduler()
    world.run_until(scheduler, finished(world, dry, after_dry))
    assert [i.state for i in world.instances()] == ["dry_run", "success"]
    assert world.counts(world.ods) == {}  # a dry run moves nothing
    with world.store.session() as session:  # now pause the upstream task
        session.get(TaskRow, dry).schedule = schedule(DAY, state="paused")
    world.submit.submit(ALICE, dry, "pause")
    world.clock.advance(days=1)
    world.run_until(scheduler, finished(world, dry, after_dry, count=2))
    assert [i.state for i in world.instances(dry)][-1] == "failed"
    assert world.instances(dry)[-1].error == "the task is paused"
    assert [i.state for i in world.instances(after_dry)][-1] == "not_run"


def test_a_failed_run_reruns_after_its_interval_up_to_its_count(pg_world):
    world = pg_world()
    task = world.copy("flaky", world.orders, world.ods, schedule(DAY, reruns=2, interval=5))
    world.pg.execute(f"alter table {world.ods} rename to {world.ods}_away")
    world.pg.tables.append(f"{world.ods}_away")
    world.clock.advance(days=1)
    scheduler = world.scheduler()
    world.run_until(scheduler, lambda: world.instances(task)[0].state == "waiting_time")
    instance = world.instances(task)[0]
    assert instance.attempt == 2 and instance.max_attempts == 3
    world.clock.advance(minutes=4)
    scheduler.tick()
    assert world.instances(task)[0].state == "waiting_time"  # not before its interval
    world.pg.execute(f"alter table {world.ods}_away rename to {world.ods}")  # the cause is fixed
    world.clock.advance(minutes=2)
    world.run_until(scheduler, finished(world, task))
    instance = world.instances(task)[0]
    assert (instance.state, instance.attempt) == ("success", 2)
    assert any("rerun 2 of 3 after 5 minutes" in r for r in world.reasons(instance.id))
    assert world.counts(world.ods) == {yesterday(world): 100}


def slow_script(world: PgWorld, seconds: int) -> dict:
    """A run that takes ``seconds`` (its first row sleeps)."""
    return copy_script("pg", "", "pg", world.ods, querySql=(
        f"select id, amount, bizdate from {world.orders} where bizdate = '${{bizdate}}' "
        f"and (id > 0 or length(pg_sleep({seconds})::text) >= 0)"))


def test_a_run_over_its_timeout_is_killed_and_reruns_when_configured(pg_world):
    world = pg_world()
    task = world.task("slow", slow_script(world, 120), schedule(DAY, timeout_hours=0.01, rerun_on_timeout=True,
                                                                 reruns=1), "pg", "pg")
    world.clock.advance(days=1)
    scheduler = world.scheduler()
    world.run_until(scheduler, lambda: world.instances(task)[0].log_path is not None)  # its worker began
    pid = world.instances(task)[0].pid
    world.clock.advance(seconds=37)  # 0.01 hours is 36 seconds
    scheduler.tick()
    instance = world.instances(task)[0]
    assert (instance.state, instance.attempt) == ("waiting_time", 2)
    assert "timed out after 0.01 hours" in world.reasons(instance.id)[-2]
    assert "stopped: timed out after 0.01 hours" in open(instance.log_path).read()
    assert not _alive(pid)
    world.clock.advance(minutes=6)
    world.run_until(scheduler, lambda: world.instances(task)[0].state == "running")
    world.clock.advance(seconds=37)
    scheduler.tick()
    assert world.instances(task)[0].state == "failed"  # no attempt left
    assert world.counts(world.ods) == {}


def test_a_kill_from_the_operation_center_stops_the_process(pg_world):
    world = pg_world()
    task = world.task("slow", slow_script(world, 120), schedule(DAY), "pg", "pg")
    world.clock.advance(days=1)
    scheduler = world.scheduler()
    world.run_until(scheduler, lambda: world.instances(task)[0].log_path is not None)  # its worker began
    instance = world.instances(task)[0]
    assert OperationCenter(world.store).kill(ALICE, instance.id)["state"] == "killed"
    scheduler.tick()
    deadline = time.monotonic() + 10
    while _alive(instance.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(instance.pid)
    assert world.instances(task)[0].state == "killed"
    assert "stopped: the instance was killed" in open(world.instances(task)[0].log_path).read()
    scheduler.tick()
    assert scheduler.pool.free_slots() == 2


def test_a_backfill_runs_its_dates_in_order_with_its_downstream(pg_world):
    world = pg_world()
    ods = world.copy("to_ods", world.orders, world.ods, schedule(DAY))
    dwd = world.copy("to_dwd", world.ods, world.dwd, schedule(DAY))
    ops, today = OperationCenter(world.store), world.clock.now.date()
    backfill = ops.backfill(ALICE, ods, date_from=today - timedelta(days=4), date_to=today - timedelta(days=2),
                            downstream=True, parallelism=1)
    scheduler = world.scheduler()
    world.run_until(scheduler, lambda: ops.backfill_view(ALICE, backfill["id"])["state"] == "finished")
    names = {ods: "ods", dwd: "dwd"}
    ran = [(names[i.task_id], i.business_date.day) for i in sorted(world.instances(), key=lambda i: i.started_at)]
    days = [(today - timedelta(days=n)).day for n in (4, 3, 2)]
    assert ran == [(name, day) for day in days for name in ("ods", "dwd")]  # date order, upstream first
    assert {i.state for i in world.instances()} == {"success"}
    assert world.counts(world.dwd) == {f"{today - timedelta(days=n):%Y%m%d}": 100 for n in (4, 3, 2)}


def test_run_now_with_a_parameter_then_rerun_and_force_rerun(pg_world):
    world = pg_world()
    config = schedule(None) | {"parameters": [{"name": "top", "value": "50"}]}
    script = copy_script("pg", world.orders, "pg", world.ods, table=[world.orders], column=["id", "amount", "bizdate"],
                         where="bizdate = '${bizdate}' and id < ${top}")
    manual = world.task("by_hand", script, config, "pg", "pg", schedule_type="manual")
    ops, scheduler = OperationCenter(world.store), world.scheduler()
    first = ops.run_now(ALICE, manual, params={"top": "5"})
    world.clock.now = utcnow()  # run now means the real now
    world.run_until(scheduler, finished(world, manual))
    bizdate = f"{world.clock.now.date() - timedelta(days=1):%Y%m%d}"
    assert world.counts(world.ods) == {bizdate: 5}
    assert ops.instance(ALICE, first["id"])["stats"]["records_written"] == 5
    rerun = ops.rerun(ALICE, first["id"])
    assert [i["state"] for i in rerun] == ["waiting_upstream"]
    world.run_until(scheduler, finished(world, manual))
    assert world.instances(manual)[0].attempt == 2 and world.counts(world.ods) == {bizdate: 5}  # written once
    assert [i["state"] for i in ops.rerun(ALICE, first["id"], force=True)] == ["waiting_resources"]
    world.run_until(scheduler, finished(world, manual))
    assert "== instance" in ops.log(ALICE, first["id"])["text"]


def test_rerun_downstream_runs_the_chain_again(pg_world):
    world = pg_world()
    ods = world.copy("to_ods", world.orders, world.ods, schedule(DAY))
    dwd = world.copy("to_dwd", world.ods, world.dwd, schedule(DAY))
    world.clock.advance(days=1)
    scheduler = world.scheduler()
    world.run_until(scheduler, finished(world, ods, dwd))
    world.pg.execute(f"delete from {world.dwd}")
    again = OperationCenter(world.store).rerun(ALICE, world.instances(ods)[0].id, downstream=True)
    assert [(i["task_id"], i["state"]) for i in again] == [(ods, "waiting_upstream"), (dwd, "waiting_upstream")]
    world.run_until(scheduler, finished(world, ods, dwd))
    assert [(i.state, i.attempt) for i in world.instances()] == [("success", 2), ("success", 2)]
    assert world.counts(world.dwd) == {yesterday(world): 100}


def test_the_concurrency_limit_queues_by_priority(pg_world):
    world = pg_world()
    tasks = {p: world.copy(f"t_{p}", world.orders, world.ods, schedule(DAY, priority=p, auto=False))
             for p in ("low", "highest", "medium")}
    world.clock.advance(days=1)
    scheduler = world.scheduler(max_workers=1)
    scheduler.tick()
    assert {name: world.instances(t)[0].state for name, t in tasks.items()} == {
        "highest": "running", "low": "waiting_resources", "medium": "waiting_resources"}
    world.run_until(scheduler, finished(world, *tasks.values()))
    started = sorted(tasks, key=lambda name: world.instances(tasks[name])[0].started_at)
    assert started == ["highest", "medium", "low"]
    assert {i.state for i in world.instances()} == {"success"}


def _alive(pid: int | None) -> bool:
    import os
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (reaped later) counts as gone
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False
    return True
