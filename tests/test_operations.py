"""The Operation Center's service on a SQLite store: production tasks, instance lists and
details, logs, code, run now, rerun (force, downstream), kill, backfills (order, counts,
weekly and hourly cycles, downstream chains, limits, speed), cancelling, notifications,
and who may act. Tasks reach production the real way (create, submit in a basic project);
no scheduler runs, so tests set the states a scheduler would have set."""

from __future__ import annotations

import sqlite3
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, update

from jupyter_offline_pipeline.crypto import SecretBox
from jupyter_offline_pipeline.scheduler.operations import OperationCenter, parse_date
from jupyter_offline_pipeline.service import DataSourceService, ProjectService, TaskService, User
from jupyter_offline_pipeline.service.errors import Conflict, Forbidden, InvalidInput, NotFound
from jupyter_offline_pipeline.service.submit import SubmitService
from jupyter_offline_pipeline.store import Store
from jupyter_offline_pipeline.store.models import BackfillRow, InstanceEventRow, InstanceRow

ALICE, BOB, CAROL, ADMIN = User("alice"), User("bob"), User("carol"), User("root", is_admin=True)
DAY = timedelta(days=1)


class World:
    """A basic project, a SQLite data source ``lite`` of alice's, and the services."""

    def __init__(self, tmp_path, url: str | None = None):
        self.store = Store(url or f"sqlite:///{tmp_path / 'store.db'}")
        self.db = tmp_path / "lite.db"
        self.datasources = DataSourceService(self.store, SecretBox(Fernet.generate_key()))
        self.datasources.add(ALICE, "lite", "sqlite", {"path": str(self.db)})
        self.project = ProjectService(self.store).ensure_default(ALICE).id
        self.tasks = TaskService(self.store, self.datasources)
        self.submit = SubmitService(self.store, self.datasources)
        self.ops = OperationCenter(self.store)

    def task(self, name: str, source: str, target: str, *, schedule: dict | None = None,
             schedule_type: str = "recurring", publish: bool = True) -> int:
        """A task copying table ``source`` into ``target`` (reading a table written by another
        task makes it that task's downstream), submitted and so in production."""
        with sqlite3.connect(self.db) as conn:
            for table in (source, target):
                conn.execute(f"create table if not exists {table} (id integer, v text)")
        task = self.tasks.create(ALICE, self.project, name=name, schedule_type=schedule_type, source_type="sqlite",
                                 source_datasource="lite", target_type="sqlite", target_datasource="lite",
                                 source_table=source, target_table=target)
        if schedule:
            draft = self.tasks.get(ALICE, task.id, with_script=True).schedule
            self.tasks.save_draft(ALICE, task.id, schedule={k: {**draft[k], **v} if isinstance(v, dict) else v
                                                             for k, v in {**draft, **schedule}.items()})
        if publish:
            result = self.submit.submit(ALICE, task.id, "first")
            assert result.status == "published", result.to_dict()
        return task.id

    def chain(self, n: int, prefix: str = "c") -> list[int]:
        """``n`` daily tasks, each downstream of the one before."""
        return [self.task(f"{prefix}{i}", f"{prefix}_t{i}", f"{prefix}_t{i + 1}") for i in range(n)]

    def set(self, instance_id: int, **values) -> None:
        """What a scheduler would have written."""
        with self.store.session() as session:
            session.execute(update(InstanceRow).where(InstanceRow.id == instance_id).values(**values))

    def row(self, instance_id: int) -> InstanceRow:
        with self.store.session() as session:
            return session.get(InstanceRow, instance_id)

    def rows(self, **where) -> list[InstanceRow]:
        with self.store.session() as session:
            return list(session.scalars(select(InstanceRow).filter_by(**where).order_by(InstanceRow.id)))

    def reasons(self, instance_id: int) -> list[str]:
        with self.store.session() as session:
            return list(session.scalars(select(InstanceEventRow.reason).where(
                InstanceEventRow.instance_id == instance_id).order_by(InstanceEventRow.id)))


@pytest.fixture
def world(tmp_path):
    world = World(tmp_path)
    yield world
    world.store.dispose()


@pytest.fixture
def pg_world(pg_db, tmp_path):
    """The store on the real PostgreSQL (row locks, its own INSERT ... RETURNING), in a database of its own."""
    name = f"pipeline_operations_test_{uuid.uuid4().hex[:12]}"
    pg_db.execute(f"CREATE DATABASE {name}")
    world = World(tmp_path, f"postgresql://root@127.0.0.1:5432/{name}")
    yield world
    world.store.dispose()
    pg_db.execute(f"DROP DATABASE {name} WITH (FORCE)")


# --- production tasks ---------------------------------------------------------------------------


def test_production_tasks_list_what_runs_with_its_neighbours(world):
    a, b = world.chain(2)
    manual = world.task("by_hand", "m_src", "m_dst", schedule_type="manual")
    world.task("draft_only", "d_src", "d_dst", publish=False)
    world.task("hourly", "h_src", "h_dst", schedule={"basic": {"operation_owner": "carol"}, "schedule": {
        "cycle": {"type": "hour", "hours": [3, 15]}, "timezone": "Asia/Shanghai", "state": "paused"}})
    listed = {t["name"]: t for t in world.ops.production_tasks(BOB)}
    assert set(listed) == {"c0", "c1", "by_hand", "hourly"}  # a draft is not in production
    first = listed["c0"]
    assert (first["id"], first["owner"], first["project"], first["version"], first["state"], first["cycle"]) == (
        a, "alice", "default", 1, "normal", "day")
    assert first["downstream"] == [{"id": b, "name": "c1"}] and first["upstream"] == []
    assert listed["c1"]["upstream"] == [{"id": a, "name": "c0"}]
    tomorrow = datetime.now(timezone.utc).date() + DAY
    assert first["next_run_time"] == f"{tomorrow}T00:00:00+00:00" and first["next_business_date"] == str(tomorrow - DAY)
    hourly = listed["hourly"]
    assert (hourly["state"], hourly["cycle"], hourly["timezone"], hourly["operation_owner"]) == (
        "paused", "hour", "Asia/Shanghai", "carol")
    assert datetime.fromisoformat(hourly["next_run_time"]).astimezone(ZoneInfo("Asia/Shanghai")).hour in (3, 15)
    assert (listed["by_hand"]["schedule_type"], listed["by_hand"]["cycle"], listed["by_hand"]["next_run_time"]) == (
        "manual", None, None)
    assert [t["id"] for t in world.ops.production_tasks(BOB, search="HAND")] == [manual]
    assert len(world.ops.production_tasks(BOB, project_id=world.project)) == 4
    with pytest.raises(NotFound):
        world.ops.production_tasks(BOB, project_id=999)


# --- run now ------------------------------------------------------------------------------------


def test_run_now_makes_a_manual_instance_of_the_production_version(world):
    task = world.task("load", "src", "dst", schedule={
        "parameters": [{"name": "region", "value": "eu"}],
        "schedule": {"priority": "high", "timezone": "Pacific/Kiritimati"},
        "run": {"rerun_on_failure": {"count": 3, "interval_minutes": 5}}})
    made = world.ops.run_now(ALICE, task, params={"region": "us"})
    yesterday = datetime.now(ZoneInfo("Pacific/Kiritimati")).date() - DAY  # UTC+14: often not UTC's
    assert (made["kind"], made["state"], made["business_date"], made["priority"], made["attempt"],
            made["max_attempts"], made["params"], made["triggered_by"], made["version"]) == (
        "manual", "waiting_time", str(yesterday), "high", 1, 4, {"region": "us"}, "alice", 1)
    assert datetime.fromisoformat(made["scheduled_time"]).tzinfo is not None
    assert world.reasons(made["id"]) == ["run now by alice"]
    assert world.ops.run_now(ALICE, task, bizdate="20240229")["business_date"] == "2024-02-29"
    assert world.ops.run_now(ALICE, task, bizdate="2024-03-01")["business_date"] == "2024-03-01"


@pytest.mark.parametrize("bizdate", ["2024-02-30", "2024/01/01", "yesterday", "2024011", "0000-01-01"])
def test_run_now_refuses_a_bad_business_date(world, bizdate):
    task = world.task("load", "src", "dst")
    with pytest.raises(InvalidInput) as error:
        world.ops.run_now(ALICE, task, bizdate=bizdate)
    assert [i.field for i in error.value.issues] == ["bizdate"]


def test_run_now_takes_only_the_task_parameters_as_strings(world):
    task = world.task("load", "src", "dst", schedule={"parameters": [{"name": "region", "value": "eu"}]})
    with pytest.raises(InvalidInput) as error:
        world.ops.run_now(ALICE, task, params={"regoin": "us", "region": 5})
    assert {i.field for i in error.value.issues} == {"params.regoin", "params.region"}
    assert "its parameters: region" in str(error.value)
    assert not world.rows()


def test_run_now_needs_a_task_in_production(world):
    draft = world.task("draft", "src", "dst", publish=False)
    with pytest.raises(Conflict, match="not in production: submit it"):
        world.ops.run_now(ALICE, draft)
    with pytest.raises(NotFound):
        world.ops.run_now(ALICE, 424242)


def test_who_may_act_owner_operation_owner_admin(world):
    task = world.task("load", "src", "dst", schedule={"basic": {"operation_owner": "carol"}})
    with pytest.raises(Forbidden, match=r"only alice \(the owner\), carol \(the operation owner\) or an admin"):
        world.ops.run_now(BOB, task)
    made = [world.ops.run_now(user, task)["id"] for user in (ALICE, CAROL, ADMIN)]
    with pytest.raises(Forbidden):
        world.ops.kill(BOB, made[0])
    assert world.ops.kill(CAROL, made[0])["state"] == "killed"
    with pytest.raises(Forbidden):
        world.ops.rerun(BOB, made[0])
    with pytest.raises(Forbidden):
        world.ops.backfill(BOB, task, date_from="2024-01-01", date_to="2024-01-02")
    backfill = world.ops.backfill(ADMIN, task, date_from="2024-01-01", date_to="2024-01-02")
    with pytest.raises(Forbidden):
        world.ops.cancel_backfill(BOB, backfill["id"])
    # reading is anyone's
    assert world.ops.instance(BOB, made[1])["id"] == made[1]
    assert world.ops.instances(BOB)["total"] == 5  # 3 runs, 2 backfilled dates


# --- listing and details -----------------------------------------------------------------------


def test_instances_filter_page_and_count(world):
    a, b = world.chain(2)
    runs = [world.ops.run_now(ALICE, a, bizdate=f"2024-01-0{d}")["id"] for d in (1, 2, 3)]
    backfill = world.ops.backfill(ALICE, b, date_from="2024-01-01", date_to="2024-01-04")
    world.set(runs[0], state="failed")
    everything = world.ops.instances(BOB)
    assert everything["total"] == 7 and len(everything["instances"]) == 7
    times = [i["scheduled_time"] for i in everything["instances"]]
    assert times == sorted(times, reverse=True)  # newest scheduled first
    assert world.ops.instances(BOB, task_id=a)["total"] == 3
    assert [i["id"] for i in world.ops.instances(BOB, states=["failed", "killed"])["instances"]] == [runs[0]]
    assert world.ops.instances(BOB, kind="backfill")["total"] == 4
    assert world.ops.instances(BOB, backfill_id=backfill["id"], business_date_from="2024-01-02",
                               business_date_to=date(2024, 1, 3))["total"] == 2
    assert world.ops.instances(BOB, owner="alice")["total"] == 7 and world.ops.instances(BOB, owner="bob")["total"] == 0
    page = world.ops.instances(BOB, limit=3, offset=5)
    assert page["total"] == 7 and [i["id"] for i in page["instances"]] == [i["id"] for i in everything["instances"][5:]]
    view = everything["instances"][0]
    assert set(view) == {"id", "task_id", "task_name", "project", "owner", "version", "kind", "business_date",
                         "scheduled_time", "state", "priority", "attempt", "max_attempts", "params", "backfill_id",
                         "triggered_by", "started_at", "finished_at", "duration_seconds", "stats", "error",
                         "log_available"}


@pytest.mark.parametrize("bad, field", [
    ({"states": ["runing"]}, "state"), ({"kind": "hourly"}, "kind"), ({"limit": 0}, "limit"),
    ({"limit": 501}, "limit"), ({"offset": -1}, "offset"), ({"business_date_from": "2024-13-01"}, "from"),
    ({"business_date_to": "soon"}, "to"),
])
def test_instances_refuse_bad_filters(world, bad, field):
    with pytest.raises(InvalidInput) as error:
        world.ops.instances(ALICE, **bad)
    assert [i.field for i in error.value.issues] == [field]


def test_instance_detail_has_events_and_what_it_waits_for(world):
    a, b = world.chain(2)
    backfill = world.ops.backfill(ALICE, a, date_from="2024-01-01", date_to="2024-01-01", downstream=True)
    first, second = world.rows(backfill_id=backfill["id"])
    world.set(first.id, state="running", started_at=datetime.now(timezone.utc) - timedelta(seconds=30))
    detail = world.ops.instance(BOB, second.id)
    assert detail["upstream"] == [{"task_id": a, "task_name": "c0", "ok": False, "instances": [
        {"id": first.id, "state": "running", "scheduled_time": "2024-01-02T00:00:00+00:00"}]}]
    assert detail["events"][0]["from"] is None and detail["events"][0]["to"] == "waiting_time"
    assert detail["events"][0]["reason"] == f"backfill {backfill['id']} by alice"
    assert 29 <= world.ops.instance(BOB, first.id)["duration_seconds"] < 60  # so far, while it runs
    world.set(first.id, state="success")
    assert world.ops.instance(BOB, second.id)["upstream"][0]["ok"] is True
    assert world.ops.instance(BOB, first.id)["upstream"] == []  # the head of the chain
    manual = world.ops.run_now(ALICE, b, bizdate="2024-01-01")
    assert world.ops.instance(BOB, manual["id"])["upstream"] == []  # a manual run waits for nothing
    with pytest.raises(NotFound):
        world.ops.instance(BOB, 999)


# --- log and code -------------------------------------------------------------------------------


def test_log_tail_follow_and_download(world, tmp_path):
    task = world.task("load", "src", "dst")
    made = world.ops.run_now(ALICE, task)["id"]
    assert world.ops.log(BOB, made) == {"text": "", "offset": 0, "size": 0, "finished": False}
    assert world.ops.log_file(BOB, made).read() == b""
    log = tmp_path / "run.log"
    log.write_text("".join(f"line {i}\n" for i in range(1, 101)))
    world.set(made, log_path=str(log), state="running")
    tail = world.ops.log(BOB, made, tail_lines=3)
    assert tail["text"] == "line 98\nline 99\nline 100\n" and tail["offset"] == tail["size"] == log.stat().st_size
    assert world.ops.log(BOB, made, tail_lines=0)["text"] == ""
    assert world.ops.log(BOB, made)["text"].startswith("line 1\n")
    with log.open("ab") as file:
        file.write("été ✓\n".encode())
    followed = world.ops.log(BOB, made, offset=tail["offset"])
    assert followed["text"] == "été ✓\n" and followed["offset"] == log.stat().st_size
    with log.open("ab") as file:  # a character half written: it comes with the next read
        file.write("✓".encode()[:2])
    half = world.ops.log(BOB, made, offset=followed["offset"])
    assert half["text"] == "" and half["offset"] == followed["offset"]
    assert world.ops.instance(BOB, made)["log_available"] is True
    assert world.ops.log_file(BOB, made).read() == log.read_bytes()
    with pytest.raises(InvalidInput) as error:
        world.ops.log(BOB, made, offset=10**9)
    assert error.value.issues[0].field == "offset"
    with pytest.raises(InvalidInput):
        world.ops.log(BOB, made, tail_lines=2, offset=0)
    with pytest.raises(InvalidInput):
        world.ops.log(BOB, made, tail_lines=10**6)
    world.set(made, state="success")
    assert world.ops.log(BOB, made, tail_lines=1)["finished"] is True
    with pytest.raises(NotFound):
        world.ops.log(BOB, 999)


def test_log_answers_at_most_a_chunk(world, tmp_path, monkeypatch):
    from jupyter_offline_pipeline.scheduler import operations

    monkeypatch.setattr(operations, "MAX_LOG_CHUNK", 10)
    task = world.task("load", "src", "dst")
    made = world.ops.run_now(ALICE, task)["id"]
    log = tmp_path / "run.log"
    log.write_text("0123456789abcdefghij\nxyz\n")
    world.set(made, log_path=str(log))
    first = world.ops.log(BOB, made)
    assert (first["text"], first["offset"]) == ("0123456789", 10)
    assert world.ops.log(BOB, made, offset=20)["text"] == "\nxyz\n"
    assert world.ops.log(BOB, made, tail_lines=5)["text"] == "fghij\nxyz\n"  # the last 10 bytes at most


def test_code_is_the_version_that_runs(world):
    task = world.task("load", "src", "dst")
    made = world.ops.run_now(ALICE, task)["id"]
    code = world.ops.code(BOB, made)
    assert (code["task_id"], code["version"], code["resolved_script"]) == (task, 1, None)
    assert '"src"' in code["script"]
    world.tasks.save_draft(ALICE, task, script=code["script"].replace('"dst"', '"src"'))  # a later draft
    world.set(made, resolved_script="as it ran")
    assert world.ops.code(BOB, made)["script"] == code["script"]
    assert world.ops.code(BOB, made)["resolved_script"] == "as it ran"


# --- rerun and kill --------------------------------------------------------------------------


def test_rerun_starts_a_new_attempt(world):
    task = world.task("load", "src", "dst", schedule={"run": {"rerun_on_failure": {"count": 2, "interval_minutes": 1}}})
    made = world.ops.run_now(ALICE, task)["id"]
    with pytest.raises(Conflict, match="waiting_time: only success, failed, not_run, killed"):
        world.ops.rerun(ALICE, made)
    now = datetime.now(timezone.utc)
    world.set(made, state="failed", attempt=3, error="boom", stats={"records_read": 1}, started_at=now,
              finished_at=now, run_after=now)
    [again] = world.ops.rerun(ALICE, made)
    assert (again["state"], again["attempt"], again["max_attempts"], again["error"], again["stats"],
            again["started_at"], again["finished_at"]) == ("waiting_upstream", 4, 6, None, None, None, None)
    assert world.row(made).run_after is None
    assert world.reasons(made)[-1] == "rerun by alice"
    world.set(made, state="success")
    [forced] = world.ops.rerun(ALICE, made, force=True)
    assert forced["state"] == "waiting_resources" and world.reasons(made)[-1] == "force rerun by alice"
    with pytest.raises(NotFound):
        world.ops.rerun(ALICE, 999)


def test_rerun_downstream_sends_back_the_same_date_and_kind(world):
    a, b, c = world.chain(3)
    backfill = world.ops.backfill(ALICE, a, date_from="2024-01-01", date_to="2024-01-02", downstream=True)
    rows = {(r.task_id, r.business_date): r.id for r in world.rows(backfill_id=backfill["id"])}
    day1 = date(2024, 1, 1)
    world.set(rows[(a, day1)], state="failed")
    world.set(rows[(b, day1)], state="not_run")
    world.set(rows[(c, day1)], state="running")  # not finished: left alone
    world.set(rows[(b, date(2024, 1, 2))], state="success")  # another date: left alone
    other = world.ops.backfill(ALICE, a, date_from="2024-01-01", date_to="2024-01-01", downstream=True)
    for row in world.rows(backfill_id=other["id"]):
        world.set(row.id, state="success")  # another backfill: left alone
    manual = world.ops.run_now(ALICE, b, bizdate="2024-01-01")["id"]
    world.set(manual, state="failed")  # another kind: left alone
    rerun = world.ops.rerun(ALICE, rows[(a, day1)], downstream=True)
    assert [(i["task_id"], i["state"]) for i in rerun] == [(a, "waiting_upstream"), (b, "waiting_upstream")]
    assert world.reasons(rows[(b, day1)])[-1] == f"rerun with upstream instance {rows[(a, day1)]} by alice"
    assert world.row(rows[(c, day1)]).state == "running" and world.row(manual).state == "failed"
    assert world.row(rows[(b, date(2024, 1, 2))]).state == "success"
    assert {r.state for r in world.rows(backfill_id=other["id"])} == {"success"}


def test_rerun_downstream_of_recurring_instances(world):
    """Recurring instances as the scheduler makes them (``new_instance`` + ``insert_instances``)."""
    from jupyter_offline_pipeline.scheduler.instances import insert_instances
    from jupyter_offline_pipeline.scheduler.production import Production

    a, b = world.chain(2)
    with world.store.session() as session:
        production = Production.load(session)
        ids = insert_instances(session, [
            production.tasks[t].new_instance("recurring", date(2024, 1, 1),
                                             datetime(2024, 1, 2, tzinfo=timezone.utc), "scheduler")
            for t in (a, b)])
    for instance_id in ids:
        world.set(instance_id, state="success")
    assert world.ops.instance(BOB, ids[1])["upstream"][0]["instances"][0]["id"] == ids[0]
    assert [i["id"] for i in world.ops.rerun(ALICE, ids[0], downstream=True)] == ids


def test_kill_a_waiting_or_running_instance(world):
    task = world.task("load", "src", "dst")
    waiting, running, done = (world.ops.run_now(ALICE, task)["id"] for _ in range(3))
    world.set(running, state="running", started_at=datetime.now(timezone.utc))
    world.set(done, state="success")
    assert world.ops.kill(ALICE, waiting)["state"] == "killed"
    assert world.ops.kill(ALICE, running)["finished_at"] is not None
    assert world.reasons(running)[-1] == "killed by alice"
    with pytest.raises(Conflict, match="only a waiting or running instance"):
        world.ops.kill(ALICE, done)
    with pytest.raises(Conflict):
        world.ops.kill(ALICE, waiting)
    with pytest.raises(NotFound):
        world.ops.kill(ALICE, 999)


def test_acting_on_an_instance_of_a_task_leaving_production(world):
    """A task whose deletion waits to be published is out of production; its owner can still
    stop its instances."""
    from jupyter_offline_pipeline.store.models import TaskRow

    task = world.task("load", "src", "dst", schedule={"basic": {"operation_owner": "carol"}})
    made = world.ops.run_now(ALICE, task)["id"]
    with world.store.session() as session:
        session.get(TaskRow, task).deleted = True
    assert not world.ops.production_tasks(ALICE)
    with pytest.raises(Forbidden):
        world.ops.kill(BOB, made)
    assert world.ops.kill(CAROL, made)["state"] == "killed"


# --- backfills -----------------------------------------------------------------------------------


def keys(world, backfill_id) -> list[tuple]:
    return [(r.business_date, r.task_id, r.scheduled_time) for r in world.rows(backfill_id=backfill_id)]


def test_backfill_makes_every_run_in_date_then_task_order(world):
    a, b, c = world.chain(3)
    backfill = world.ops.backfill(ALICE, a, date_from="20240101", date_to="2024-01-05", downstream=True,
                                  parallelism=2)
    made = keys(world, backfill["id"])
    assert [(d.day, t) for d, t, _ in made] == [(d, t) for d in range(1, 6) for t in (a, b, c)]
    assert made[0][2] == datetime(2024, 1, 2, tzinfo=timezone.utc)  # a business date runs the next day
    rows = world.rows(backfill_id=backfill["id"])
    assert {(r.kind, r.state, r.triggered_by, r.attempt, r.max_attempts) for r in rows} == {
        ("backfill", "waiting_time", "alice", 1, 2)}
    assert (backfill["state"], backfill["total"], backfill["counts"], backfill["parallelism"]) == (
        "running", 15, {"waiting_time": 15}, 2)
    assert backfill["tasks"] == [{"id": a, "name": "c0"}, {"id": b, "name": "c1"}, {"id": c, "name": "c2"}]
    assert (backfill["from"], backfill["to"], backfill["dates_total"], backfill["dates_done"]) == (
        "2024-01-01", "2024-01-05", 5, 0)
    only_c = world.ops.backfill(ALICE, a, date_from="2024-01-01", date_to="2024-01-02", downstream=[c])
    assert [t for _, t, _ in keys(world, only_c["id"])] == [a, c, a, c]
    alone = world.ops.backfill(ALICE, b, date_from="2024-01-01", date_to="2024-01-01")
    assert [t for _, t, _ in keys(world, alone["id"])] == [b]


def test_backfill_of_weekly_and_hourly_tasks(world):
    weekly = world.task("weekly", "w_src", "w_dst", schedule={"schedule": {
        "cycle": {"type": "week", "weekdays": [1], "time": "06:00"}, "timezone": "Europe/Berlin"}})
    hourly = world.task("hourly", "h_src", "h_dst", schedule={"schedule": {
        "cycle": {"type": "hour", "every_hours": 6, "start_time": "00:30", "end_time": "23:59"}}})
    # Mondays 2024-01-08 and 2024-01-15 run business dates 2024-01-07 and 2024-01-14
    week = world.ops.backfill(ALICE, weekly, date_from="2024-01-01", date_to="2024-01-14")
    assert [(d, s) for d, _, s in keys(world, week["id"])] == [
        (date(2024, 1, 7), datetime(2024, 1, 8, 5, tzinfo=timezone.utc)),
        (date(2024, 1, 14), datetime(2024, 1, 15, 5, tzinfo=timezone.utc))]
    assert (week["total"], week["dates_total"]) == (2, 2)
    hours = world.ops.backfill(ALICE, hourly, date_from="2024-01-01", date_to="2024-01-03")
    made = keys(world, hours["id"])
    assert len(made) == 12 and [s.hour for _, _, s in made[:4]] == [0, 6, 12, 18]
    assert [d.day for d, _, _ in made] == [1] * 4 + [2] * 4 + [3] * 4
    with pytest.raises(InvalidInput, match="no run of the chosen tasks"):
        world.ops.backfill(ALICE, weekly, date_from="2024-01-01", date_to="2024-01-05")


def test_backfill_puts_each_task_after_its_upstream(world):
    """a -> b, a -> c, c -> b: nearest first would give b before c; b must come after c."""
    a = world.task("a", "t_a", "t_ab")
    b = world.task("b", "t_ab", "t_b", publish=False)
    c = world.task("c", "t_ab", "t_c")
    draft = world.tasks.get(ALICE, b, with_script=True).schedule
    world.tasks.save_draft(ALICE, b, schedule={**draft, "dependency": {**draft["dependency"], "upstream": [c]}})
    assert world.submit.submit(ALICE, b, "after c").status == "published"
    backfill = world.ops.backfill(ALICE, a, date_from="2024-01-01", date_to="2024-01-01", downstream=True)
    assert b < c and [t["id"] for t in backfill["tasks"]] == [a, c, b]
    assert [t for _, t, _ in keys(world, backfill["id"])] == [a, c, b]


@pytest.mark.parametrize("change, field", [
    ({"date_from": "2024-01-02", "date_to": "2024-01-01"}, "from"),
    ({"date_from": "2000-01-01", "date_to": "2010-01-08"}, "to"),  # 3661 dates
    ({"date_from": "2024-02-31"}, "from"), ({"date_to": "tomorrow"}, "to"),
    ({"parallelism": 0}, "parallelism"), ({"parallelism": 33}, "parallelism"), ({"parallelism": True}, "parallelism"),
    ({"downstream": [424242]}, "downstream"),
])
def test_backfill_refuses_bad_requests(world, change, field):
    task = world.task("load", "src", "dst")
    with pytest.raises(InvalidInput) as error:
        world.ops.backfill(ALICE, task, **{"date_from": "2024-01-01", "date_to": "2024-01-31", **change})
    assert [i.field for i in error.value.issues] == [field]
    assert not world.rows()


def test_backfill_limits(world):
    a, b = world.chain(2)
    assert world.ops.backfill(ALICE, a, date_from="2000-01-01", date_to="2010-01-07")["dates_total"] == 3660
    with pytest.raises(InvalidInput, match=f"{a}: not downstream of task 'c1'"):
        world.ops.backfill(ALICE, b, date_from="2024-01-01", date_to="2024-01-01", downstream=[a])
    manual = world.task("by_hand", "m_src", "m_dst", schedule_type="manual")
    with pytest.raises(InvalidInput, match="manual task") as error:
        world.ops.backfill(ALICE, manual, date_from="2024-01-01", date_to="2024-01-01")
    assert error.value.issues[0].field == "task_id"
    every_minute = world.task("minutely", "n_src", "n_dst", schedule={"schedule": {
        "cycle": {"type": "minute", "every_minutes": 1}}})
    started = time.perf_counter()
    with pytest.raises(InvalidInput, match="more than 100000 instances"):
        world.ops.backfill(ALICE, every_minute, date_from="2000-01-01", date_to="2009-12-31")
    assert time.perf_counter() - started < 5  # known from one day, not after computing 100000 runs
    draft = world.task("draft", "d_src", "d_dst", publish=False)
    with pytest.raises(Conflict):
        world.ops.backfill(ALICE, draft, date_from="2024-01-01", date_to="2024-01-01")
    with pytest.raises(NotFound):
        world.ops.backfill(ALICE, 424242, date_from="2024-01-01", date_to="2024-01-01")


def test_a_year_of_a_ten_task_chain_is_quick(world):
    chain = world.chain(10)
    started = time.perf_counter()
    backfill = world.ops.backfill(ALICE, chain[0], date_from="2023-01-01", date_to="2023-12-31", downstream=True)
    elapsed = time.perf_counter() - started
    print(f"backfill of 365 dates x 10 tasks ({backfill['total']} instances): {elapsed:.2f} s")
    assert backfill["total"] == 3650
    made = keys(world, backfill["id"])
    assert made == sorted(made, key=lambda k: (k[0], chain.index(k[1])))


def test_backfill_views_count_states_and_dates_done(world):
    a, b = world.chain(2)
    backfill = world.ops.backfill(ALICE, a, date_from="2024-01-01", date_to="2024-01-03", downstream=True)
    rows = world.rows(backfill_id=backfill["id"])
    for row, state in zip(rows, ["success", "dry_run", "success", "failed", "running"]):
        world.set(row.id, state=state)
    view = world.ops.backfill_view(BOB, backfill["id"])
    assert view["counts"] == {"success": 2, "dry_run": 1, "failed": 1, "running": 1, "waiting_time": 1}
    assert (view["dates_done"], view["dates_total"], view["total"]) == (2, 3, 6)
    assert [v["id"] for v in world.ops.backfills(BOB)] == [backfill["id"]]
    assert world.ops.backfills(BOB, task_id=b) == []  # listed under the task it was started on
    with pytest.raises(NotFound):
        world.ops.backfills(BOB, task_id=424242)
    with pytest.raises(NotFound):
        world.ops.backfill_view(BOB, 999)


def test_cancel_backfill_kills_what_has_not_finished(world):
    a, b = world.chain(2)
    backfill = world.ops.backfill(ALICE, a, date_from="2024-01-01", date_to="2024-01-02", downstream=True)
    rows = world.rows(backfill_id=backfill["id"])
    world.set(rows[0].id, state="success")
    world.set(rows[1].id, state="running", started_at=datetime.now(timezone.utc))
    world.set(rows[2].id, state="waiting_upstream")
    cancelled = world.ops.cancel_backfill(ALICE, backfill["id"])
    assert cancelled["state"] == "cancelled" and cancelled["counts"] == {"success": 1, "killed": 3}
    assert [world.reasons(r.id)[-1] for r in rows[1:]] == ["backfill cancelled by alice"] * 3
    with pytest.raises(Conflict, match="only a running backfill"):
        world.ops.cancel_backfill(ALICE, backfill["id"])
    with pytest.raises(NotFound):
        world.ops.cancel_backfill(ALICE, 999)
    with world.store.session() as session:
        assert session.get(BackfillRow, backfill["id"]).state == "cancelled"


# --- notifications ---------------------------------------------------------------------------


def test_notifications_of_failed_and_killed_instances(world):
    from jupyter_offline_pipeline.scheduler.instances import transition

    task = world.task("load", "src", "dst")
    assert world.ops.notifications(BOB) == {"events": [], "last": 0}
    made = [world.ops.run_now(ALICE, task, bizdate="2024-01-01")["id"] for _ in range(3)]
    with world.store.session() as session:
        for instance_id, (state, reason) in zip(made, [("failed", "timed out after 2 hours"),
                                                       ("failed", "boom"), ("killed", "")]):
            row = session.get(InstanceRow, instance_id)
            transition(session, row, "waiting_upstream", "its time has come")
            transition(session, row, state, reason)
    everything = world.ops.notifications(BOB)
    assert [(e["instance_id"], e["state"], e["timed_out"]) for e in everything["events"]] == [
        (made[0], "failed", True), (made[1], "failed", False), (made[2], "killed", False)]
    first = everything["events"][0]
    assert (first["task_id"], first["task_name"], first["business_date"], first["kind"], first["reason"]) == (
        task, "load", "2024-01-01", "manual", "timed out after 2 hours")
    assert everything["last"] == everything["events"][-1]["id"]
    latest = world.ops.notifications(BOB, limit=2)
    assert [e["instance_id"] for e in latest["events"]] == made[1:]
    after = world.ops.notifications(BOB, after=first["id"], limit=1)
    assert [e["instance_id"] for e in after["events"]] == [made[1]] and after["last"] == after["events"][0]["id"]
    assert world.ops.notifications(BOB, after=everything["last"]) == {"events": [], "last": everything["last"]}
    world.ops.kill(ALICE, world.ops.run_now(ALICE, task)["id"])
    assert world.ops.notifications(BOB, after=everything["last"])["events"][0]["reason"] == "killed by alice"
    with pytest.raises(InvalidInput):
        world.ops.notifications(BOB, limit=0)


def test_parse_date():
    assert parse_date("20240229", "d") == parse_date("2024-02-29", "d") == parse_date(date(2024, 2, 29), "d")
    for bad in ("2024229", "2023-02-29", "2024-2-1", 20240101, None):
        with pytest.raises(InvalidInput):
            parse_date(bad, "d")


@pytest.mark.parametrize("cycle", [{"type": "day"}, {"type": "hour", "hours": [23]}])
def test_backfill_at_the_end_of_time_is_refused_not_a_crash(world, cycle):
    task = world.task("late", "src", "dst", schedule={"schedule": {"cycle": cycle, "timezone": "America/New_York"}})
    with pytest.raises(InvalidInput) as error:
        world.ops.backfill(ALICE, task, date_from="9999-12-01", date_to="9999-12-31")
    assert error.value.issues[0].field == "to"


@pytest.mark.postgres
def test_the_actions_on_postgresql(pg_world):
    world = pg_world
    a, b = world.chain(2)
    backfill = world.ops.backfill(ALICE, a, date_from="2024-01-01", date_to="2024-01-03", downstream=True)
    rows = world.rows(backfill_id=backfill["id"])
    assert [(r.business_date.day, r.task_id) for r in rows] == [(d, t) for d in (1, 2, 3) for t in (a, b)]
    world.set(rows[0].id, state="failed")
    world.set(rows[1].id, state="not_run")
    assert [i["id"] for i in world.ops.rerun(ALICE, rows[0].id, downstream=True)] == [rows[0].id, rows[1].id]
    assert world.ops.instances(BOB, backfill_id=backfill["id"], states=["waiting_upstream"])["total"] == 2
    assert world.ops.instance(BOB, rows[1].id)["upstream"][0]["instances"][0]["state"] == "waiting_upstream"
    cancelled = world.ops.cancel_backfill(ALICE, backfill["id"])
    assert cancelled["counts"] == {"killed": 6} and cancelled["dates_done"] == 3
    made = world.ops.run_now(ALICE, b, bizdate="20240105")
    world.ops.kill(ALICE, made["id"])
    assert world.ops.notifications(BOB, limit=1)["events"][0]["instance_id"] == made["id"]
