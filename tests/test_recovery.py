"""Nothing lost, nothing twice (issue 4, points 5 and 6), with real processes on a real
PostgreSQL store: a Jupyter server SIGKILLed while instances run and others wait, then
restarted on the same store; and two ``jupyter pipeline scheduler`` daemons sharing one
store. Each task copies one business date of an orders table into its own target table,
its ``preSql`` deleting that date first, so a rerun writes the date once. And the settling
of a crashed run whose worker is an unreaped zombie (init in a container may never reap)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time as clock_time, timedelta, timezone
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet
from sqlalchemy import select

from conftest import PG_PARAMS
from jupyter_offline_pipeline.crypto import KEY_ENV, SecretBox
from jupyter_offline_pipeline.scheduler.instances import FINISHED, ORPHANED, WAITING, settle_orphans
from jupyter_offline_pipeline.service import DataSourceService
from jupyter_offline_pipeline.service.submit import SubmitService
from jupyter_offline_pipeline.service.users import User
from jupyter_offline_pipeline.store import Store
from jupyter_offline_pipeline.store.models import (
    FolderRow, InstanceEventRow, InstanceRow, ProjectRow, TaskRow, VersionRow, utcnow)

ALICE = User("alice")
DAYS_DOWN = 4  # the tasks' versions were published this many days ago: as many runs are due
SERVER_DAYS_DOWN = 3  # the same for the slow runs of the server test (its time on a loaded 2-core machine)
ROWS_PER_DATE = 25
SLOW_SECONDS = 3  # how long the first row of a slow run takes to read
KILL_WITHIN = timedelta(seconds=2)  # a run this young has a second or more to go
DDL = "(id INT, amount NUMERIC(10,2), bizdate VARCHAR(8))"
TOKEN = "recovery-test-token"
# the other server extensions cost seconds at each start and nothing here uses them
SERVER_CONFIG = """c.ServerApp.jpserver_extensions.update({name: False for name in (
    "jupyterlab", "jupyter_lsp", "notebook_shim", "jupyter_server_terminals", "notebook", "jupyter_collaboration")})
"""


# --- the store: a scratch PostgreSQL database with production tasks -----------------------------


@pytest.fixture
def store_url(pg_db):
    """A scratch PostgreSQL database for the store, dropped after the test (``pg_db``
    fails with CI=true, else skips, when PostgreSQL is unreachable)."""
    name = f"recovery_{uuid.uuid4().hex[:10]}"
    pg_db.execute(f"CREATE DATABASE {name}")
    yield f"postgresql://root@127.0.0.1:5432/{name}"
    pg_db.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def plant(store_url, pg_db):
    plant = Plant(store_url, pg_db, Fernet.generate_key().decode())
    yield plant
    plant.store.dispose()


class Plant:
    """The store seen from the test: a basic project (a submit publishes), the data source
    ``pg`` (PostgreSQL ``test``), an orders table there, and the tasks copying it."""

    def __init__(self, db_url: str, pg_db, key: str):
        self.db_url, self.key, self.pg = db_url, key, pg_db
        self.store = Store(db_url)
        self.datasources = DataSourceService(self.store, SecretBox(key))
        self.submit = SubmitService(self.store, self.datasources)
        self.datasources.add(ALICE, "pg", "postgresql", dict(PG_PARAMS))
        with self.store.session() as session:
            project = ProjectRow(name="recovery", mode="basic", owner="alice")
            session.add(project)
            session.flush()
            folder = FolderRow(project_id=project.id, name="Offline Pipeline")
            session.add(folder)
            session.flush()
            self.project, self.folder = project.id, folder.id
        today = utcnow().date()
        days = [today + timedelta(days=d) for d in range(-DAYS_DOWN - 3, 3)]
        self.orders = pg_db.make_table(
            DDL, [(i, i * 1.5, f"{day:%Y%m%d}") for day in days for i in range(ROWS_PER_DATE)], prefix="orders")
        self.targets: dict[int, str] = {}  # task id -> its target table

    def task(self, name: str, published: datetime, sleep: float) -> int:
        """A daily (00:00 UTC) task copying the orders of its business date into a new table,
        published at ``published``; reading its first row takes ``sleep`` seconds. A run
        that fails (a settled orphan) reruns once."""
        target = self.pg.make_table(DDL, prefix=name)
        query = (f"select id, amount, bizdate from {self.orders} where bizdate = '${{bizdate}}'"
                 f" and (id > 0 or length(pg_sleep({sleep})::text) >= 0)")
        script = {"type": "job", "version": "2.0", "steps": [
            {"stepType": "postgresql", "category": "reader", "name": "Reader",
             "parameter": {"datasource": "pg", "querySql": query}},
            {"stepType": "postgresql", "category": "writer", "name": "Writer",
             "parameter": {"datasource": "pg", "table": target, "column": ["id", "amount", "bizdate"],
                           "preSql": ["delete from @table where bizdate = '${bizdate}'"]}}]}
        schedule = {
            "schedule": {"cycle": {"type": "day", "time": "00:00"}, "timezone": "UTC", "state": "normal",
                         "priority": "medium"},
            "dependency": {"upstream": [], "self_dependent": False, "auto_from_lineage": False},
            "run": {"timeout_hours": 1, "rerun_on_timeout": False,
                    "rerun_on_failure": {"count": 1, "interval_minutes": 1}}}
        with self.store.session() as session:
            row = TaskRow(project_id=self.project, folder_id=self.folder, name=name, schedule_type="recurring",
                          source_type="postgresql", source_datasource="pg", target_type="postgresql",
                          target_datasource="pg", script=json.dumps(script, indent=2), schedule=schedule,
                          owner="alice")
            session.add(row)
        result = self.submit.submit(ALICE, row.id, f"{name} v1", confirm_warnings=True)
        assert result.status == "published", [(c.name, c.status, c.messages) for c in result.checks]
        with self.store.session() as session:
            session.scalar(select(VersionRow).where(VersionRow.task_id == row.id)).published_at = published
        self.targets[row.id] = target
        return row.id

    def instances(self) -> list[InstanceRow]:
        with self.store.session() as session:
            return list(session.scalars(select(InstanceRow).order_by(InstanceRow.task_id, InstanceRow.business_date,
                                                                     InstanceRow.id)))

    def events(self) -> dict[int, list[InstanceEventRow]]:
        """Instance id -> its state changes, in order."""
        found: dict[int, list[InstanceEventRow]] = {}
        with self.store.session() as session:
            for event in session.scalars(select(InstanceEventRow).order_by(InstanceEventRow.id)):
                found.setdefault(event.instance_id, []).append(event)
        return found

    def written(self, task_id: int) -> dict[str, tuple[int, int]]:
        """Business date -> (rows, distinct ids) in the task's target table."""
        return {day: (rows, ids) for day, rows, ids in self.pg.rows(
            f"select bizdate, count(*), count(distinct id) from {self.targets[task_id]} group by bizdate")}


def due_dates(published: datetime, now: datetime) -> set[date]:
    """The business dates of a daily 00:00 UTC task's runs after ``published`` up to ``now``
    (a run's business date is the day before its scheduled day)."""
    days, day = set(), published.date()
    while (midnight := datetime.combine(day, clock_time(), timezone.utc)) <= now:
        if midnight >= published:
            days.add(day - timedelta(days=1))
        day += timedelta(days=1)
    return days


def summary(rows: Iterable[InstanceRow]) -> str:
    rows = list(rows)
    counts = Counter(i.state for i in rows)
    return f"{dict(counts)}; " + ", ".join(
        f"#{i.id} task {i.task_id} {i.business_date:%m-%d} {i.state} (attempt {i.attempt}, "
        f"by {i.claimed_by}, pid {i.pid})" for i in rows)


# --- processes ---------------------------------------------------------------------------------


@dataclass
class Proc:
    """A subprocess in its own process group (so the cleanup can kill all of it), its
    output in a log file."""

    name: str
    process: subprocess.Popen
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            pytest.fail(f"{self.name} exited with {self.process.returncode}:\n{self.output()}")

    def cleanup(self) -> None:
        """Ask the process to stop, then kill whatever is left of its group."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            pass


def spawn(name: str, command: list[str], env: dict[str, str], log: Path, cwd: Path) -> Proc:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    return Proc(name, process, log)


def base_env(base: Path) -> dict[str, str]:
    """The environment without the developer's Jupyter directories or pipeline settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("JUPYTER_PIPELINE_", "JUPYTERHUB_")) and k not in ("JUPYTER_PATH",)}
    for name, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                      ("JUPYTER_RUNTIME_DIR", "runtime")):
        (base / sub).mkdir(parents=True, exist_ok=True)
        env[name] = str(base / sub)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(base: Path, db_url: str, key: str, log_dir: Path, timeout: float = 60) -> Proc:
    """``jupyter server`` with the extension (enabled by its installed jupyter-config file)
    running its scheduler with 2 workers on ``db_url``; returns once the pipeline API answers."""
    env = base_env(base)
    (base / "config" / "jupyter_server_config.py").write_text(SERVER_CONFIG)
    (base / "root").mkdir(parents=True, exist_ok=True)
    port = free_port()
    server = spawn("the Jupyter server", [
        sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root", "--ip=127.0.0.1",
        f"--port={port}", f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={base / 'root'}",
        f"--OfflinePipelineApp.db_url={db_url}", "--OfflinePipelineApp.max_workers=2",
        f"--OfflinePipelineApp.encryption_key={key}", f"--OfflinePipelineApp.log_dir={log_dir}",
    ], env, base / "server.log", base / "root")
    url = f"http://127.0.0.1:{port}/pipeline/api/openapi.json"
    deadline = time.monotonic() + timeout
    while True:
        server.check_alive()
        try:
            if requests.get(url, headers={"Authorization": f"token {TOKEN}"}, timeout=5).status_code == 200:
                return server  # the extension is loaded (its routes answer) and its scheduler started
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            server.cleanup()
            pytest.fail(f"the Jupyter server did not answer within {timeout} s:\n{server.output()}")
        time.sleep(0.25)


def start_scheduler(base: Path, db_url: str, key: str, scheduler_id: str) -> Proc:
    """``jupyter pipeline --db-url ... scheduler --scheduler-id <id> --max-workers 2``."""
    env = base_env(base) | {KEY_ENV: key}
    jupyter = Path(sys.executable).with_name("jupyter")
    command = [str(jupyter) if jupyter.exists() else "jupyter", "pipeline", "--db-url", db_url, "scheduler",
               "--scheduler-id", scheduler_id, "--max-workers", "2", "--log-dir", str(base / "logs")]
    return spawn(f"scheduler {scheduler_id}", command, env, base / "scheduler.log", base)


def wait_for(plant: Plant, done: Callable[[list[InstanceRow]], bool], what: str, processes: Iterable[Proc] = (),
             timeout: float = 60) -> list[InstanceRow]:
    """Poll the store until ``done(instances)``; fail with the instances' states (or a
    process's output, when it died) otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        rows = plant.instances()
        if done(rows):
            return rows
        for process in processes:
            process.check_alive()
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not reached after {timeout} s; instances: {summary(rows)}")
        time.sleep(0.2)


def process_tree(pid: int) -> set[int]:
    """``pid`` and its descendants (from /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            parents.setdefault(ppid, []).append(int(entry.name))
    tree, todo = set(), [pid]
    while todo:
        current = todo.pop()
        tree.add(current)
        todo.extend(parents.get(current, ()))
    return tree


def gone(pid: int) -> bool:
    """The process ended (a zombie nobody reaped counts as ended: it runs nothing)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):
        return True


def wait_gone(pids: Iterable[int], what: str, timeout: float = 15) -> None:
    pids = set(pids)
    deadline = time.monotonic() + timeout
    while (alive := {pid for pid in pids if not gone(pid)}) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive, f"{what}: still running after {timeout} s: {sorted(alive)}"


def running_events(events: list[InstanceEventRow]) -> list[InstanceEventRow]:
    return [e for e in events if e.to_state == "running"]


# --- 1. a SIGKILLed server loses nothing and runs nothing twice --------------------------------


def test_a_sigkilled_server_loses_no_run_and_runs_none_twice(tmp_path, plant):
    store_url, key = plant.db_url, plant.key
    published = utcnow() - timedelta(days=SERVER_DAYS_DOWN)  # as many runs of each task are due at once
    tasks = [plant.task(f"copy_{n}", published, sleep=SLOW_SECONDS) for n in range(3)]
    log_dir = tmp_path / "logs"
    servers: list[Proc] = []
    try:
        first = start_server(tmp_path / "first", store_url, key, log_dir)
        servers.append(first)

        def runs_in_flight(rows: list[InstanceRow]) -> bool:
            """Two runs reading (their scripts resolved) and far from done, with a run done
            before them and others waiting: nothing changes in the store before the kill."""
            running, now = [i for i in rows if i.state == "running"], utcnow()
            return (len(running) == 2 and any(i.state == "success" for i in rows)
                    and any(i.state in WAITING for i in rows)
                    and all(i.pid and i.resolved_script and now - i.started_at < KILL_WITHIN for i in running))

        rows = wait_for(plant, runs_in_flight, "two runs in flight while others wait", [first])
        orphans = {i.id: i.pid for i in rows if i.state == "running"}
        done_before = {i.id for i in rows if i.state == "success"}
        processes = process_tree(first.pid)
        assert set(orphans.values()) <= processes - {first.pid}, "the runs' pids are the server's workers"

        os.kill(first.pid, signal.SIGKILL)  # the server only: its workers must die by themselves
        first.process.wait(10)
        wait_gone(processes - {first.pid}, "the killed server's worker processes")
        rows = plant.instances()
        assert {i.id for i in rows if i.state == "running"} == set(orphans), summary(rows)
        assert {i.id for i in rows if i.state == "success"} == done_before, summary(rows)

        # while it is down, another task is published two days back: its due runs are made on the restart
        late_published = utcnow() - timedelta(days=2)
        late = plant.task("copy_late", late_published, sleep=0)
        assert not [i for i in plant.instances() if i.task_id == late]

        expected: set[tuple[int, date]] = set()

        def all_finished(rows: list[InstanceRow]) -> bool:
            now = utcnow()
            expected.clear()
            expected.update((task, day) for task in tasks for day in due_dates(published, now))
            expected.update((late, day) for day in due_dates(late_published, now))
            return {(i.task_id, i.business_date) for i in rows} >= expected and all(i.state in FINISHED for i in rows)

        second = start_server(tmp_path / "second", store_url, key, log_dir)
        servers.append(second)
        rows = wait_for(plant, all_finished, "every due run finished after the restart", [second], timeout=90)
    finally:
        for server in servers:
            server.cleanup()
    tasks.append(late)

    # every due business date of every task has exactly one recurring instance, a success
    assert len(expected) >= 3 * SERVER_DAYS_DOWN + 2  # one more date per task if midnight passed meanwhile
    keys = Counter((i.task_id, i.business_date) for i in rows if i.kind == "recurring")
    assert set(keys) == expected and set(keys.values()) == {1}, summary(rows)
    assert {i.state for i in rows} == {"success"}, summary(rows)

    # the orphans were settled with the reason, then reran once to success; nothing else ran twice
    events = plant.events()
    host = socket.gethostname()  # the server's scheduler id: its restart finds its own orphans
    for instance in rows:
        changes = [(e.to_state, e.reason) for e in events[instance.id]]
        claims = running_events(events[instance.id])
        if instance.id in orphans:
            assert instance.attempt == 2, changes
            assert len(claims) == 2 and {e.reason for e in claims} == {f"claimed by {host}"}, changes
            settled = changes.index(("failed", ORPHANED))
            assert changes[settled - 1][0] == "running" and changes[settled + 1][0] == "waiting_time", changes
            assert changes[-1] == ("success", "the run succeeded"), changes
        else:
            assert instance.attempt == 1 and len(claims) == 1, changes
            assert "failed" not in [state for state, _ in changes], changes

    # each target holds each due date's orders exactly once
    for task in tasks:
        days = {f"{day:%Y%m%d}" for t, day in expected if t == task}
        assert plant.written(task) == {day: (ROWS_PER_DATE, ROWS_PER_DATE) for day in days}, task


# --- 2. two schedulers on one store never run the same instance --------------------------------


def test_two_schedulers_on_one_store_run_each_instance_once(tmp_path, plant):
    store_url, key = plant.db_url, plant.key
    published = utcnow() - timedelta(days=DAYS_DOWN)
    tasks = [plant.task(f"copy_{n}", published, sleep=0.3) for n in range(6)]
    schedulers: list[Proc] = []
    expected: set[tuple[int, date]] = set()

    def all_finished(rows: list[InstanceRow]) -> bool:
        expected.clear()
        expected.update((task, day) for task in tasks for day in due_dates(published, utcnow()))
        return {(i.task_id, i.business_date) for i in rows} >= expected and all(i.state in FINISHED for i in rows)

    try:
        schedulers = [start_scheduler(tmp_path / name, store_url, key, name) for name in ("a", "b")]
        rows = wait_for(plant, all_finished, "every due run finished", schedulers, timeout=90)

        trees = {s.name: process_tree(s.pid) - {s.pid} for s in schedulers}
        assert all(len(tree) >= 2 for tree in trees.values()), trees  # each has its workers
        for scheduler in schedulers:
            scheduler.process.send_signal(signal.SIGTERM)
        for scheduler in schedulers:
            try:
                code = scheduler.process.wait(30)
            except subprocess.TimeoutExpired:
                pytest.fail(f"{scheduler.name} did not stop on SIGTERM:\n{scheduler.output()}")
            assert code == 0, f"{scheduler.name} exited with {code}:\n{scheduler.output()}"
        for name, tree in trees.items():
            wait_gone(tree, f"the worker processes of {name}")
    finally:
        for scheduler in schedulers:
            scheduler.cleanup()

    keys = Counter((i.task_id, i.business_date) for i in rows if i.kind == "recurring")
    assert set(keys) == expected and set(keys.values()) == {1}, summary(rows)
    assert {i.state for i in rows} == {"success"}, summary(rows)
    events = plant.events()
    claimers = Counter()
    for instance in rows:
        claims = running_events(events[instance.id])
        states = [e.to_state for e in events[instance.id]]  # each step taken once, by one of them
        assert states == ["waiting_time", "waiting_upstream", "waiting_resources", "running", "success"], states
        assert claims[0].reason in ("claimed by a", "claimed by b"), claims[0].reason
        claimers[claims[0].reason] += 1
        assert instance.claimed_by == claims[0].reason.removeprefix("claimed by ")
    assert set(claimers) == {"claimed by a", "claimed by b"}, f"one scheduler ran everything: {claimers}"
    for task in tasks:
        days = {f"{day:%Y%m%d}" for t, day in expected if t == task}
        assert plant.written(task) == {day: (ROWS_PER_DATE, ROWS_PER_DATE) for day in days}, task


# --- 3. a dead worker left a zombie: its instance is still an orphan ---------------------------


def test_a_worker_that_died_unreaped_is_settled_at_once(plant):
    """A crashed server's workers go to init, which in a container may never reap them:
    ``kill(pid, 0)`` still finds a zombie, yet it runs nothing and its instance is settled
    at once, not after the heartbeat goes stale. A live worker's instance is left alone."""
    task = plant.task("copy", utcnow() - timedelta(days=1), sleep=0)
    zombie = subprocess.Popen(["true"])  # ends at once and stays unreaped until the wait below
    alive = subprocess.Popen(["sleep", "60"])
    try:
        deadline = time.monotonic() + 10
        while not gone(zombie.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert Path(f"/proc/{zombie.pid}").exists() and gone(zombie.pid), "not a zombie"
        now, host = utcnow(), socket.gethostname()
        with plant.store.session() as session:
            version = session.scalar(select(VersionRow.id).where(VersionRow.task_id == task))
            rows = [InstanceRow(task_id=task, version_id=version, kind="recurring", business_date=day,
                                scheduled_time=datetime.combine(day + timedelta(days=1), clock_time(), timezone.utc),
                                state="running", attempt=1, max_attempts=2, params={}, claimed_by=host, pid=pid,
                                heartbeat_at=now, started_at=now)
                    for day, pid in ((now.date() - timedelta(days=2), zombie.pid),
                                     (now.date() - timedelta(days=1), alive.pid))]
            session.add_all(rows)
        settled = settle_orphans(plant.store, host, timedelta(seconds=60))
        assert settled == [rows[0].id]
        states = {i.id: (i.state, i.attempt) for i in plant.instances()}
        assert states == {rows[0].id: ("waiting_time", 2), rows[1].id: ("running", 1)}
        assert [(e.to_state, e.reason) for e in plant.events()[rows[0].id]][:2] == [
            ("failed", ORPHANED), ("waiting_time", "rerun 2 of 2 after 0 minutes")]
    finally:
        alive.kill()
        alive.wait()
        zombie.wait()
