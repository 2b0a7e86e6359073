"""The scheduler under load: trigger -> running latency with 1000 recurring tasks, and the
creation of a 365-day backfill of a 10-task chain (the "Done means" of the scheduler issue).

1. **latency**: a store (SQLite file, and a scratch PostgreSQL database) holding ``--tasks``
   published recurring tasks, each a real SQLite 10-row table -> SQLite table script on a
   cycle of ``--every`` minutes, the tasks' first minutes spread so that about
   tasks / every of them fire at each minute boundary: by default hourly, 17 at every
   minute (1000 runs an hour); ``--every 10`` makes bursts of 100, twelve times the pool,
   whose p99 then measures how fast the pool drains a queue. A real ``Scheduler`` (real clock,
   its real worker pool of ``--workers`` processes) is ``start()``ed in a background thread
   as the server does; the benchmark waits through ``--boundaries`` minute boundaries and
   until every instance they made has finished, then reads the instance rows:
   ``started_at`` (the claim: state ``running``) minus ``scheduled_time`` is the latency;
   ``created_at`` (the firing made into a row), the move to ``waiting_resources`` (every
   gate passed: from there on it only queues for a worker) and ``finished_at`` are shown
   too.
2. **backfill**: 10 daily tasks, each reading the table the one before writes (so a chain
   by lineage), submitted the real way; ``OperationCenter.backfill(first task,
   today-365 .. today-1, downstream=True, parallelism=4)`` (3650 instances) is timed,
   ``--backfill-runs`` times on fresh stores.

The targets of the issue: p99 of trigger -> running under 1 s; backfill creation under
2 s. Missed targets print FAIL; the exit code is 1 only when something broke (a run that
did not succeed, a missing instance). See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
PG_SERVER = "postgresql://root@127.0.0.1:5432/test"
STORES = ("sqlite", "postgresql")

LATENCY_P99_MAX = 1.0  # seconds, trigger -> running
BACKFILL_MAX = 2.0  # seconds, creating the 365-day backfill of the chain
CHAIN = 10
BACKFILL_DAYS = 365
BACKFILL_PARALLELISM = 4
SOURCE_ROWS = 10
REAL_SUBMITS = 3  # tasks of the latency run submitted the real way; the rest are their copies
JUPYTER_SCHEDULER = {"boundary_to_record_s": 5.1, "boundary_to_running_s": 9.5, "boundary_to_done_s": 10.4,
                     "burst_200_median_start_s": 621.0}  # NOTES-scheduler.md (2 cores, SQLite)

# the package's modules are imported inside the functions: the worker processes are
# spawned, and a spawned child imports this file again (as __mp_main__) before it starts


# ---------------------------------------------------------------------------------------
# A store with a basic project, a SQLite data source and the services


class Env:
    """A fresh store (a SQLite file, or a scratch database on the PostgreSQL server) with
    the default (basic) project, alice's SQLite data source ``lite`` and the services."""

    def __init__(self, kind: str, workdir: Path, server_url: str, tag: str):
        from cryptography.fernet import Fernet

        from jupyter_offline_pipeline.crypto import SecretBox
        from jupyter_offline_pipeline.service import DataSourceService, ProjectService, TaskService, User
        from jupyter_offline_pipeline.service.submit import SubmitService
        from jupyter_offline_pipeline.store import Store

        self.kind, self.server_url, self.pg_db = kind, server_url, None
        self.dir = workdir / f"{kind}-{tag}"
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        if kind == "sqlite":
            url = f"sqlite:///{self.dir / 'store.db'}"
        else:
            self.pg_db = f"bench_scheduler_{uuid.uuid4().hex[:10]}"
            pg_admin(server_url, f"CREATE DATABASE {self.pg_db}")
            url = server_url.rsplit("/", 1)[0] + "/" + self.pg_db
        self.store = Store(url)
        self.data = self.dir / "lite.db"
        with closing_sqlite(self.data) as conn:
            conn.execute("PRAGMA journal_mode=WAL")  # the workers write into it side by side
        self.alice = User("alice")
        self.secrets = SecretBox(Fernet.generate_key())
        self.datasources = DataSourceService(self.store, self.secrets)
        self.datasources.add(self.alice, "lite", "sqlite", {"path": str(self.data)})
        self.project = ProjectService(self.store).ensure_default(self.alice).id
        self.tasks = TaskService(self.store, self.datasources)
        self.submit = SubmitService(self.store, self.datasources)

    def tables(self, names: list[str], rows: int = 0) -> None:
        """``(id integer, v text)`` tables in the data file, the first ``rows`` filled."""
        with closing_sqlite(self.data) as conn:
            for name in names:
                conn.execute(f"CREATE TABLE IF NOT EXISTS {name} (id INTEGER, v TEXT)")
            if rows:
                conn.executemany(f"INSERT INTO {names[0]} VALUES (?, ?)", [(i, f"row {i}") for i in range(rows)])

    def task(self, name: str, source: str, target: str, cycle: dict | None = None, target_datasource: str = "lite",
             source_datasource: str = "lite") -> int:
        """A task copying ``source`` into ``target``, created and submitted (so published:
        the project is basic) as a user does it; ``cycle`` replaces the default daily one."""
        task = self.tasks.create(self.alice, self.project, name=name, schedule_type="recurring",
                                 source_type="sqlite", source_datasource=source_datasource, target_type="sqlite",
                                 target_datasource=target_datasource, source_table=source, target_table=target)
        if cycle is not None:
            schedule = self.tasks.get(self.alice, task.id, with_script=True).schedule
            schedule = {**schedule, "schedule": {**schedule["schedule"], "cycle": cycle}}
            self.tasks.save_draft(self.alice, task.id, schedule=schedule)
        result = self.submit.submit(self.alice, task.id, "benchmark")
        if result.status != "published":
            raise RuntimeError(f"task {name} was not published: {result.to_dict()}")
        return task.id

    def close(self) -> None:
        self.store.dispose()
        if self.pg_db:
            pg_admin(self.server_url, f"DROP DATABASE IF EXISTS {self.pg_db} WITH (FORCE)")


def pg_admin(server_url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql)


class closing_sqlite:
    def __init__(self, path: Path):
        self.conn = sqlite3.connect(path, timeout=30)

    def __enter__(self) -> sqlite3.Connection:
        return self.conn

    def __exit__(self, *exc) -> None:
        if exc[0] is None:
            self.conn.commit()
        self.conn.close()


# ---------------------------------------------------------------------------------------
# 1. trigger -> running with many recurring tasks


def cycle_of(index: int, every: int) -> dict:
    """Every ``every`` minutes from the task's own first minute (``index`` mod ``every``),
    so that about 1/every of the tasks fire at each minute boundary: a minute cycle for a
    divisor of 60, an hour cycle (every every/60 hours) for a multiple of 60."""
    offset = index % every
    start = f"{offset // 60:02d}:{offset % 60:02d}"
    if every < 60:
        return {"type": "minute", "every_minutes": every, "start_time": start, "end_time": "23:59"}
    return {"type": "hour", "every_hours": every // 60, "start_time": start, "end_time": "23:59", "hours": None,
            "minute": 0}


def fires_at(index: int, every: int, moment: datetime) -> bool:
    return (moment.hour * 60 + moment.minute) % every == index % every


SHARING = ("none", "source", "all")


@dataclass(frozen=True)
class Target:
    """The SQLite data of task ``index``. By ``sharing``: ``none``, its own file (data
    source ``data_<i>``) holding its 10-row ``src`` and its ``dst``; ``source``, ``src`` is
    read from the one file ``lite`` that every task reads, ``dst`` in its own file;
    ``all``, it reads ``src`` and writes ``dst_<i>`` of ``lite``. Concurrent runs touch
    one file only with ``source`` or ``all`` (see the README: the engine's SQLite
    connector loses or fails runs then)."""

    index: int
    sharing: str

    @property
    def source_datasource(self) -> str:
        return f"data_{self.index}" if self.sharing == "none" else "lite"

    @property
    def datasource(self) -> str:
        return "lite" if self.sharing == "all" else f"data_{self.index}"

    @property
    def table(self) -> str:
        return f"dst_{self.index}" if self.sharing == "all" else "dst"

    def path(self, env: Env) -> Path:
        """The file of the target table (and, with ``none``, of the source)."""
        return env.data if self.sharing == "all" else env.dir / "data" / f"t{self.index}.db"


def recurring_tasks(env: Env, count: int, every: int, sharing: str) -> list[int]:
    """``count`` published recurring tasks ``t<i>``: ``src`` -> ``dst`` as their ``Target``
    says. The first few are created and submitted the real way; the rest are copies of
    the first one's task, version and lineage rows (name, data sources, target table and
    cycle changed), inserted in bulk, which ``check_copies`` proves equal to what a submit
    writes."""
    from sqlalchemy import select

    from jupyter_offline_pipeline.store.models import LineageRow, TaskRow, VersionRow

    env.tables(["src"], rows=SOURCE_ROWS)
    targets = [Target(i, sharing) for i in range(count)]
    (env.dir / "data").mkdir(exist_ok=True)
    for target in targets:
        with closing_sqlite(target.path(env)) as conn:
            conn.execute("PRAGMA synchronous=OFF")  # only while it is made
            conn.execute(f"CREATE TABLE IF NOT EXISTS {target.table} (id INTEGER, v TEXT)")
            if sharing == "none":
                conn.execute("CREATE TABLE src (id INTEGER, v TEXT)")
                conn.executemany("INSERT INTO src VALUES (?, ?)", [(i, f"row {i}") for i in range(SOURCE_ROWS)])
    if sharing != "all":
        task_datasources(env, targets)
    real = [env.task(f"t{i}", "src", targets[i].table, cycle_of(i, every), targets[i].datasource,
                     targets[i].source_datasource)
            for i in range(min(REAL_SUBMITS, count))]
    with env.store.session() as session:
        task = session.get(TaskRow, real[0])
        version = session.scalar(select(VersionRow).where(VersionRow.task_id == task.id))
        edges = list(session.scalars(select(LineageRow).where(LineageRow.version_id == version.id)))
        copies = [TaskRow(**_copied(task, TaskRow, targets[i], every)) for i in range(len(real), count)]
        session.add_all(copies)
        session.flush()
        versions = [VersionRow(**_copied(version, VersionRow, targets[i], every, task_id=t.id))
                    for i, t in zip(range(len(real), count), copies)]
        session.add_all(versions)
        session.flush()
        session.add_all(LineageRow(**_copied(edge, LineageRow, targets[i], every, task_id=v.task_id,
                                             version_id=v.id))
                        for i, v in zip(range(len(real), count), versions) for edge in edges)
    check_copies(env, real, targets, every)
    return real + [t.id for t in copies]


def task_datasources(env: Env, targets: list[Target]) -> None:
    """Data source ``data_<i>`` (alice's, SQLite) for each task's file: the first few added
    through the service, the rest copies of the first one's row with their own path."""
    from sqlalchemy import select

    from jupyter_offline_pipeline.store.models import DataSourceRow

    for target in targets[:REAL_SUBMITS]:
        env.datasources.add(env.alice, target.datasource, "sqlite", {"path": str(target.path(env))})
    with env.store.session() as session:
        first = session.scalar(select(DataSourceRow).where(DataSourceRow.name == targets[0].datasource))
        session.add_all(DataSourceRow(name=t.datasource, type=first.type, description=first.description,
                                      params={**first.params, "path": str(t.path(env))}, secret=first.secret,
                                      owner=first.owner) for t in targets[REAL_SUBMITS:])
        rows = session.execute(select(DataSourceRow.name, DataSourceRow.params, DataSourceRow.secret)
                               .where(DataSourceRow.name.in_([t.datasource for t in targets[1:REAL_SUBMITS]]))).all()
        for name, params, secret in rows:  # a copy is what the service wrote
            if set(params) != set(first.params) or env.secrets.open(secret) != env.secrets.open(first.secret):
                raise RuntimeError(f"data source {name} differs from {first.name} beyond its path")


def _copied(row, model, target: Target, every: int, **ids) -> dict:
    """A row's columns for the task of ``target`` (no id, no times: the defaults set them)."""
    values = {c.name: getattr(row, c.name) for c in model.__table__.columns
              if c.name not in ("id", "created_at", "updated_at")} | ids
    if "name" in values:
        values["name"] = f"t{target.index}"
    if "source_datasource" in values:
        values["source_datasource"] = target.source_datasource
    if "target_datasource" in values:
        values["target_datasource"] = target.datasource
    if "target_table" in values:
        values["target_table"] = target.table
    if "script" in values:
        script = json.loads(values["script"])
        steps = {step["category"]: step["parameter"] for step in script["steps"]}
        steps["reader"].update(datasource=target.source_datasource)
        steps["writer"].update(datasource=target.datasource, table=target.table)
        values["script"] = json.dumps(script, indent=2, ensure_ascii=False) + "\n"
    if "schedule" in values:
        values["schedule"] = {**values["schedule"], "schedule": {**values["schedule"]["schedule"],
                                                                 "cycle": cycle_of(target.index, every)}}
    return values


def check_copies(env: Env, real: list[int], targets: list[Target], every: int) -> None:
    """The copy of task 0 made for each really submitted task i equals task i's rows."""
    from sqlalchemy import select

    from jupyter_offline_pipeline.store.models import LineageRow, TaskRow, VersionRow

    skip = {"id", "task_id", "version_id", "created_at", "updated_at", "published_at"}
    with env.store.session() as session:
        first_task = session.get(TaskRow, real[0])
        first_version = session.scalar(select(VersionRow).where(VersionRow.task_id == real[0]))
        first_edges = session.scalars(select(LineageRow).where(LineageRow.version_id == first_version.id)
                                      .order_by(LineageRow.id)).all()
        for index, task_id in enumerate(real[1:], start=1):
            version = session.scalar(select(VersionRow).where(VersionRow.task_id == task_id))
            edges = session.scalars(select(LineageRow).where(LineageRow.version_id == version.id)
                                    .order_by(LineageRow.id)).all()
            if len(edges) != len(first_edges):
                raise RuntimeError(f"task t{index} has {len(edges)} lineage rows, t0 {len(first_edges)}")
            pairs = [(_copied(first_task, TaskRow, targets[index], every), session.get(TaskRow, task_id), TaskRow),
                     (_copied(first_version, VersionRow, targets[index], every), version, VersionRow)]
            pairs += [(_copied(a, LineageRow, targets[index], every), b, LineageRow) for a, b in zip(first_edges, edges)]
            for copy, row, model in pairs:
                actual = {c.name: getattr(row, c.name) for c in model.__table__.columns if c.name not in skip}
                expected = {k: v for k, v in copy.items() if k not in skip}
                if actual != expected:
                    differ = {k: (expected.get(k), actual.get(k)) for k in actual if expected.get(k) != actual[k]}
                    raise RuntimeError(f"a copied {model.__name__} differs from a submitted one: {differ}")


def check_production(env: Env, count: int, every: int) -> None:
    """What the scheduler reads: ``count`` recurring production tasks on their cycles,
    none with upstream tasks (each writes a table no other task reads)."""
    from jupyter_offline_pipeline.scheduler.production import Production

    with env.store.session() as session:
        production = Production.load(session)
    tasks = sorted(production.tasks.values(), key=lambda t: t.id)
    problems = []
    if len(tasks) != count or not all(t.recurring and t.state == "normal" for t in tasks):
        problems.append(f"{len(tasks)} production tasks, {sum(t.recurring for t in tasks)} recurring")
    if any(production.upstream.get(t.id) for t in tasks):
        problems.append("some tasks have upstream tasks")
    cycles = [t.config.schedule.cycle.model_dump(mode="json") for t in tasks]
    if cycles != [cycle_of(int(t.name[1:]), every) for t in tasks]:
        problems.append("the cycles are not the ones written")
    if problems:
        raise RuntimeError("production is not as set up: " + "; ".join(problems))


def publish_all_now(env: Env) -> datetime:
    """Every version published now: the planner takes a task up from its publication, so
    no run falls between publishing and the scheduler's start (none to catch up on)."""
    from sqlalchemy import update

    from jupyter_offline_pipeline.store.models import VersionRow, utcnow

    now = utcnow()
    with env.store.session() as session:
        session.execute(update(VersionRow).values(published_at=now))
    return now


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for_warm_workers(pool, timeout: float = 60.0) -> float:
    """Until the spawned workers have imported the engine (their CPU time stops growing
    for a second); returns how long that took."""
    started = time.monotonic()
    pids = [worker.pid for worker in pool._idle]  # noqa: SLF001 - a benchmark's look inside
    previous = None
    while time.monotonic() - started < timeout:
        time.sleep(1.0)
        now = sum(cpu_seconds(pid) for pid in pids)
        if previous is not None and now - previous < 0.02 * len(pids):
            break
        previous = now
    return time.monotonic() - started


class TickTimer:
    """Wraps ``Scheduler.tick`` (the loop calls ``self.tick()``): when each tick began and
    how long it took."""

    def __init__(self, scheduler):
        self.ticks: list[tuple[float, float]] = []  # (unix start, seconds)
        self._tick = scheduler.tick
        scheduler.tick = self

    def __call__(self) -> None:
        began, t0 = time.time(), time.perf_counter()
        try:
            self._tick()
        finally:
            self.ticks.append((began, time.perf_counter() - t0))


def unfinished(env: Env, moments: list[datetime]) -> tuple[int, int]:
    """(instances scheduled at ``moments``, those whose first attempt has not ended; a
    failed one waiting for its rerun counts as ended): a read that takes no lock (plain
    sqlite3 on the WAL file; one autocommit query on PostgreSQL)."""
    times = [m.strftime("%Y-%m-%d %H:%M:%S") for m in moments]
    marks = ", ".join(["?"] * len(times))
    sql = ("SELECT count(*), sum(CASE WHEN state IN ('success','failed','not_run','dry_run','killed') "
           "OR attempt > 1 THEN 0 ELSE 1 END) FROM instances WHERE kind = 'recurring' AND ")
    if env.kind == "sqlite":
        conn = sqlite3.connect(f"file:{env.dir / 'store.db'}?mode=ro", uri=True, timeout=30)
        try:
            # SQLite stores the UTC wall time: "YYYY-MM-DD HH:MM:SS.ffffff"
            total, left = conn.execute(sql + f"substr(scheduled_time, 1, 19) IN ({marks})", times).fetchone()
        finally:
            conn.close()
    else:
        import psycopg

        url = env.server_url.rsplit("/", 1)[0] + "/" + env.pg_db
        with psycopg.connect(url, autocommit=True) as conn:
            total, left = conn.execute(sql.replace("?", "%s") + "scheduled_time = ANY(%s)",
                                       [list(moments)]).fetchone()
    return total or 0, left or 0


@dataclass
class Figures:
    """The instances of some minute boundaries: seconds after their trigger (``stats``)."""

    boundaries: list[str] = field(default_factory=list)
    fired: list[int] = field(default_factory=list)  # instances made at each boundary
    expected: list[int] = field(default_factory=list)  # tasks whose cycle fires there
    states: dict = field(default_factory=dict)
    created: dict = field(default_factory=dict)  # trigger -> row created
    ready: dict = field(default_factory=dict)  # trigger -> waiting_resources (every gate passed)
    running: dict = field(default_factory=dict)  # trigger -> running (the claim): THE figure
    queued: dict = field(default_factory=dict)  # waiting_resources -> running: waiting for a worker
    finished: dict = field(default_factory=dict)  # trigger -> finished
    run: dict = field(default_factory=dict)  # running -> finished
    ticks: dict = field(default_factory=dict)  # the scheduler's ticks from the first boundary to a minute after the last
    drain: dict = field(default_factory=dict)  # runs/s at each boundary: its instances / (last end - first gate passed)


@dataclass
class Latency:
    store: str
    tasks: int
    every: int
    workers: int
    measured: Figures = field(default_factory=Figures)
    warmup: Figures | None = None  # the first boundaries after the start, not measured
    setup_seconds: float = 0.0
    warm_seconds: float = 0.0
    load_before: float = 0.0  # the machine's 1-minute load average as the scheduler starts
    load_after: float = 0.0  # and as it stops (this run alone: about 1 to 2 on 2 cores)
    target_rows: int = 0
    successes_total: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def running(self) -> dict:
        return self.measured.running


def latency_run(kind: str, args, workdir: Path) -> Latency:
    from jupyter_offline_pipeline.scheduler.scheduler import Scheduler

    result = Latency(kind, args.tasks, args.every, args.workers)
    print(f"\n[{kind}] latency: {args.tasks} recurring tasks every {args.every} min, "
          f"{args.workers} workers, SQLite data shared: {args.sharing}", flush=True)
    t0 = time.perf_counter()
    env = Env(kind, workdir, args.db_url, "latency")
    scheduler = None
    try:
        recurring_tasks(env, args.tasks, args.every, args.sharing)
        check_production(env, args.tasks, args.every)
        result.setup_seconds = time.perf_counter() - t0
        print(f"  {args.tasks} tasks in production ({REAL_SUBMITS} submitted, the rest copied) "
              f"in {result.setup_seconds:.1f} s", flush=True)
        scheduler = Scheduler(env.store, env.secrets, max_workers=args.workers, log_dir=env.dir / "logs")
        result.warm_seconds = wait_for_warm_workers(scheduler.pool)
        print(f"  {args.workers} workers spawned, imports done after {result.warm_seconds:.1f} s", flush=True)
        result.load_before = os.getloadavg()[0]
        if 60 - datetime.now(timezone.utc).second < args.lead:  # leave the first tick time to settle in
            time.sleep(60 - datetime.now(timezone.utc).second - datetime.now(timezone.utc).microsecond / 1e6 + 0.2)
        published = publish_all_now(env)
        timer = TickTimer(scheduler)
        scheduler.start()
        first = published.replace(second=0, microsecond=0) + timedelta(minutes=1)
        moments = [first + timedelta(minutes=k) for k in range(args.warmup + args.boundaries)]
        warmup, measured = moments[:args.warmup], moments[args.warmup:]
        print(f"  scheduler started at {published:%H:%M:%S.%f}"[:-3] + " UTC; "
              + (f"warm-up boundary {', '.join(f'{m:%H:%M}' for m in warmup)}; " if warmup else "")
              + "measuring " + ", ".join(f"{m:%H:%M}" for m in measured), flush=True)
        deadline = moments[-1] + timedelta(seconds=args.drain_timeout)
        shown = None
        while True:
            time.sleep(2.0)
            now = datetime.now(timezone.utc)
            if now < moments[-1] + timedelta(seconds=1):
                continue
            total, left = unfinished(env, moments)
            if (total, left) != shown:
                print(f"  {now:%H:%M:%S} {total} instances at those boundaries, {left} not finished", flush=True)
                shown = (total, left)
            if (total and not left) or now > deadline:
                break
        scheduler.stop()
        scheduler = None
        result.load_after = os.getloadavg()[0]
        result.measured = figures(env, measured, timer, args)
        result.warmup = figures(env, warmup, timer, args) if warmup else None
        result.successes_total = successes(env)
        result.target_rows = target_rows(env, args.tasks, args.sharing)
        result.error = problems(result)
    except Exception as error:  # noqa: BLE001 - reported, the other parts go on
        import traceback

        traceback.print_exc()
        result.error = f"{type(error).__name__}: {error}"
    finally:
        if scheduler is not None:
            scheduler.stop()
        env.close()
    return result


def figures(env: Env, moments: list[datetime], timer: TickTimer, args) -> Figures:
    """The figures of the recurring instances scheduled at ``moments`` (read after the stop)."""
    from sqlalchemy import func, select

    from jupyter_offline_pipeline.store.models import InstanceEventRow, InstanceRow

    with env.store.session() as session:
        rows = session.scalars(select(InstanceRow).where(
            InstanceRow.kind == "recurring", InstanceRow.scheduled_time.in_(moments))).all()
        ids = [r.id for r in rows]
        ready = dict(session.execute(
            select(InstanceEventRow.instance_id, func.min(InstanceEventRow.at))
            .where(InstanceEventRow.instance_id.in_(ids), InstanceEventRow.to_state == "waiting_resources")
            .group_by(InstanceEventRow.instance_id)).all()) if ids else {}

    def secs(a, b) -> float:
        return (aware(a) - aware(b)).total_seconds()

    done = [r for r in rows if r.state == "success"]
    result = Figures(
        boundaries=[m.isoformat() for m in moments],
        fired=[sum(1 for r in rows if aware(r.scheduled_time) == m) for m in moments],
        expected=[sum(1 for i in range(args.tasks) if fires_at(i, args.every, m)) for m in moments],
        created=stats([secs(r.created_at, r.scheduled_time) for r in rows]),
        ready=stats([secs(ready[r.id], r.scheduled_time) for r in rows if r.id in ready]),
        running=stats([secs(r.started_at, r.scheduled_time) for r in rows if r.started_at]),
        queued=stats([secs(r.started_at, ready[r.id]) for r in rows if r.started_at and r.id in ready]),
        finished=stats([secs(r.finished_at, r.scheduled_time) for r in done]),
        run=stats([secs(r.finished_at, r.started_at) for r in done]))
    result.drain = stats([rate for m in moments if (rate := drain_rate([r for r in done if aware(r.scheduled_time) == m],
                                                                         ready)) is not None])
    for row in rows:
        result.states[row.state] = result.states.get(row.state, 0) + 1
    span = (moments[0].timestamp() - 1, moments[-1].timestamp() + 60)
    result.ticks = stats([d for began, d in timer.ticks if span[0] <= began <= span[1]])
    return result


def drain_rate(done: list, ready: dict) -> float | None:
    """How fast the pool ran one boundary's instances: runs per second from the first gate
    passed to the last run's end (the pool's capacity, when the burst outnumbers it)."""
    gates = [aware(ready[r.id]) for r in done if r.id in ready]
    if len(done) < 2 or not gates:
        return None
    return len(done) / (max(aware(r.finished_at) for r in done) - min(gates)).total_seconds()


def successes(env: Env) -> int:
    from sqlalchemy import func, select

    from jupyter_offline_pipeline.store.models import InstanceRow

    with env.store.session() as session:
        return session.scalar(select(func.count()).where(InstanceRow.state == "success"))


def problems(result: Latency) -> str | None:
    found = []
    for name, group in (("measured", result.measured), ("warm-up", result.warmup)):
        if group is None:
            continue
        if group.fired != group.expected:
            found.append(f"{group.fired} instances made at the {name} boundaries, {group.expected} expected")
        if group.states.get("success", 0) != sum(group.fired):
            found.append(f"not every {name} instance succeeded: {group.states}")
    if result.target_rows != SOURCE_ROWS * result.successes_total:
        found.append(f"{result.target_rows} target rows for {result.successes_total} successful runs "
                     f"(expected {SOURCE_ROWS} each): runs reported rows that are not there")
    return "; ".join(found) or None


def target_rows(env: Env, count: int, sharing: str) -> int:
    total = 0
    for index in range(count):
        target = Target(index, sharing)
        with closing_sqlite(target.path(env)) as conn:
            total += conn.execute(f"SELECT count(*) FROM {target.table}").fetchone()[0]
    return total


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def stats(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    values = sorted(values)
    return {"n": len(values), "median": round(statistics.median(values), 3),
            "p90": round(percentile(values, 90), 3), "p99": round(percentile(values, 99), 3),
            "max": round(values[-1], 3), "min": round(values[0], 3)}


def percentile(ordered: list[float], p: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default)."""
    k = (len(ordered) - 1) * p / 100
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def print_latency(result: Latency) -> None:
    for name, group in (("warm-up (workers' first runs, not measured)", result.warmup), ("measured", result.measured)):
        if group is None or not group.fired:
            continue
        print(f"  {name}: fired per boundary {', '.join(map(str, group.fired))} "
              f"({sum(group.fired)} instances; {', '.join(f'{k} {v}' for k, v in group.states.items())})")
        print(f"    {'seconds after the trigger':<38} {'n':>5} {'median':>8} {'p90':>8} {'p99':>8} {'max':>8}")
        for label, figures in (("-> instance row created", group.created),
                               ("-> waiting_resources (gates passed)", group.ready),
                               ("-> running (claimed)", group.running),
                               ("   of which queued for a worker", group.queued),
                               ("-> finished", group.finished),
                               ("   the run itself (running -> end)", group.run),
                               ("scheduler tick durations", group.ticks)):
            if figures.get("n"):
                print(f"    {label:<38} {figures['n']:>5} {figures['median']:>8.3f} {figures['p90']:>8.3f} "
                      f"{figures['p99']:>8.3f} {figures['max']:>8.3f}")
        if group.drain.get("n"):
            print(f"    the pool ran {group.drain['median']:.0f} runs/s (median of the boundaries; "
                  f"{group.drain['min']:.0f} to {group.drain['max']:.0f})")
    print(f"  load average {result.load_before:.1f} at the start, {result.load_after:.1f} at the end")
    if result.error:
        print(f"  !!! FAILED: {result.error}")


# ---------------------------------------------------------------------------------------
# 2. the backfill of a chain


@dataclass
class Backfill:
    store: str
    runs: list[float] = field(default_factory=list)  # seconds of each backfill call
    instances: int = 0
    first_promote_seconds: float | None = None  # the scheduler's first pass over it (informative)
    error: str | None = None

    @property
    def median(self) -> float | None:
        return statistics.median(self.runs) if self.runs else None

    @property
    def ok(self) -> bool:
        return self.error is None


def backfill_runs(kind: str, args, workdir: Path) -> Backfill:
    from sqlalchemy import func, select

    from jupyter_offline_pipeline.scheduler.gates import promote
    from jupyter_offline_pipeline.scheduler.operations import OperationCenter
    from jupyter_offline_pipeline.scheduler.production import Production
    from jupyter_offline_pipeline.store.models import InstanceRow, utcnow

    result = Backfill(kind)
    print(f"\n[{kind}] backfill: {CHAIN}-task daily chain, {BACKFILL_DAYS} business dates, downstream, "
          f"parallelism {BACKFILL_PARALLELISM}; {args.backfill_runs} run(s) on fresh stores", flush=True)
    today = datetime.now(timezone.utc).date()
    for number in range(args.backfill_runs):
        env = Env(kind, workdir, args.db_url, f"backfill{number}")
        try:
            tables = [f"c_t{i}" for i in range(CHAIN + 1)]
            env.tables(tables, rows=SOURCE_ROWS)
            chain = [env.task(f"c{i}", tables[i], tables[i + 1]) for i in range(CHAIN)]
            ops = OperationCenter(env.store)
            started = time.perf_counter()
            made = ops.backfill(env.alice, chain[0], date_from=today - timedelta(days=BACKFILL_DAYS),
                                date_to=today - timedelta(days=1), downstream=True, parallelism=BACKFILL_PARALLELISM)
            seconds = time.perf_counter() - started
            with env.store.session() as session:
                stored = session.scalar(select(func.count()).where(InstanceRow.backfill_id == made["id"]))
                tasks = session.scalar(select(func.count(func.distinct(InstanceRow.task_id)))
                                       .where(InstanceRow.backfill_id == made["id"]))
            result.runs.append(seconds)
            result.instances = stored
            print(f"  run {number + 1}: {seconds:.3f} s, {made['total']} instances ({stored} stored, "
                  f"{tasks} tasks)", flush=True)
            if (made["total"], stored, tasks) != (CHAIN * BACKFILL_DAYS, CHAIN * BACKFILL_DAYS, CHAIN):
                result.error = f"run {number + 1}: {made['total']} instances made, {stored} stored, {tasks} tasks"
            if number == args.backfill_runs - 1:  # what the scheduler's next tick does with it
                started = time.perf_counter()
                with env.store.session() as session:
                    promote(session, Production.load(session), utcnow())
                result.first_promote_seconds = time.perf_counter() - started
                print(f"  the scheduler's first gate pass over it (Production.load + promote): "
                      f"{result.first_promote_seconds:.2f} s", flush=True)
        except Exception as error:  # noqa: BLE001
            import traceback

            traceback.print_exc()
            result.error = f"{type(error).__name__}: {error}"
            break
        finally:
            env.close()
    if result.runs:
        print(f"  median of {len(result.runs)}: {result.median:.3f} s "
              f"(runs {', '.join(f'{s:.3f}' for s in result.runs)})")
    return result


# ---------------------------------------------------------------------------------------
# the targets


@dataclass
class Check:
    name: str
    value: str
    target: str
    passed: bool | None

    def line(self) -> str:
        verdict = {True: "PASS", False: "FAIL", None: "n/a"}[self.passed]
        return f"  {self.name:<52} {self.value:>10}  {self.target:<10} {verdict}"


def checks(latencies: list[Latency], backfills: list[Backfill]) -> list[Check]:
    result = []
    for run in latencies:
        p99 = run.running.get("p99")
        result.append(Check(f"{run.store}: trigger -> running p99 ({run.running.get('n', 0)}, "
                            f"~{run.tasks / run.every:.0f} due at once)",
                            f"{p99:.3f} s" if p99 is not None else "-", f"< {LATENCY_P99_MAX:g} s",
                            None if p99 is None else p99 < LATENCY_P99_MAX and run.ok))
        ready = run.measured.ready.get("p99")
        result.append(Check(f"{run.store}:   (not a target) -> waiting_resources p99",
                            f"{ready:.3f} s" if ready is not None else "-", f"< {LATENCY_P99_MAX:g} s",
                            None if ready is None else ready < LATENCY_P99_MAX))
    for run in backfills:
        median = run.median
        result.append(Check(f"{run.store}: {BACKFILL_DAYS}-day backfill of a {CHAIN}-task chain, median",
                            f"{median:.3f} s" if median is not None else "-", f"< {BACKFILL_MAX:g} s",
                            None if median is None else median < BACKFILL_MAX and run.ok))
    return result


def comparison(latencies: list[Latency]) -> list[str]:
    lines = []
    for run in latencies:
        median = run.running.get("median")
        if median:
            ratio = JUPYTER_SCHEDULER["boundary_to_running_s"] / median
            how = f"{ratio:.1f}x sooner" if ratio >= 1 else f"{1 / ratio:.1f}x later"
            lines.append(f"  {run.store}: trigger -> running median {median:.3f} s vs jupyter-scheduler's "
                         f"{JUPYTER_SCHEDULER['boundary_to_running_s']} s (1 job): {how}; "
                         f"-> finished median {run.measured.finished.get('median', float('nan')):.3f} s vs "
                         f"{JUPYTER_SCHEDULER['boundary_to_done_s']} s")
    if latencies:
        lines.append(f"  (jupyter-scheduler, 200 definitions due at once: median start "
                     f"{JUPYTER_SCHEDULER['burst_200_median_start_s']:.0f} s; NOTES-scheduler.md)")
    return lines


# ---------------------------------------------------------------------------------------
# the machine, the arguments, main


def machine() -> dict:
    packages = ["sqlalchemy", "apscheduler", "psycopg", "pydantic", "pyarrow", "adbc-driver-sqlite"]
    info = {"nproc": len(os.sched_getaffinity(0)), "cpu": "unknown", "ram_gb": 0.0,
            "python": platform.python_version(), "versions": {}}
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            info["cpu"] = line.split(":", 1)[1].strip()
            break
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            info["ram_gb"] = round(int(line.split()[1]) / 1024 / 1024, 1)
    for name in packages:
        try:
            info["versions"][name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            info["versions"][name] = "not installed"
    try:
        import psycopg

        with psycopg.connect(PG_SERVER, autocommit=True) as conn:
            info["postgresql"] = conn.execute("SHOW server_version").fetchone()[0]
    except Exception:  # noqa: BLE001
        info["postgresql"] = "unreachable"
    info["sqlite"] = sqlite3.sqlite_version
    return info


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", default=",".join(STORES), help="comma-separated, of: " + ", ".join(STORES))
    parser.add_argument("--db-url", default=PG_SERVER,
                        help="the PostgreSQL server (scratch databases are created and dropped there)")
    parser.add_argument("--tasks", type=int, default=1000, help="recurring tasks of the latency run")
    parser.add_argument("--every", type=int, default=60,
                        help="their cycle in minutes, a divisor of 60 (a minute cycle) or a multiple of 60 "
                             "dividing 1440 (an hour cycle): tasks/every fire at each boundary (default: "
                             "hourly, about 17 at each minute; 10 makes bursts of 100, see the README)")
    parser.add_argument("--sharing", choices=SHARING, default="none",
                        help="none: each task reads and writes a file of its own; source: all read one file; "
                             "all: all read and write one file (default: %(default)s)")
    parser.add_argument("--boundaries", type=int, default=6, help="minute boundaries measured")
    parser.add_argument("--warmup", type=int, default=1,
                        help="boundaries run first and not measured (the workers' first runs initialize them)")
    parser.add_argument("--workers", type=int, default=8, help="the scheduler's max_workers")
    parser.add_argument("--lead", type=float, default=15.0,
                        help="seconds at least between the scheduler's start and the first measured boundary")
    parser.add_argument("--drain-timeout", type=float, default=240.0,
                        help="seconds after the last boundary to wait for its instances to finish")
    parser.add_argument("--backfill-runs", type=int, default=5, help="backfills timed per store (fresh stores)")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-backfill", action="store_true")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 50 tasks firing every minute, 1 boundary, 1 backfill per store")
    parser.add_argument("--workdir", default=str(HERE / "work" / "scheduler"), help="stores, data files, logs")
    parser.add_argument("--json", nargs="?", const=str(HERE / "results_scheduler.json"), default=None,
                        metavar="PATH", help="write the results as JSON (default path: %(const)s)")
    args = parser.parse_args(argv)
    if args.quick:
        args.tasks, args.every, args.boundaries, args.warmup, args.backfill_runs, args.lead = 50, 1, 1, 0, 1, 5.0
    args.stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    if unknown := [s for s in args.stores if s not in STORES]:
        parser.error(f"unknown store(s) {', '.join(unknown)}; known: {', '.join(STORES)}")
    if not (1 <= args.every < 60 and 60 % args.every == 0 or args.every % 60 == 0 and 1440 % args.every == 0
            and args.every < 1440):
        parser.error("--every must divide 60 (1, 2, ... 30) or be a multiple of 60 dividing 1440 (60, 120, ... 720)")
    if args.tasks < REAL_SUBMITS or args.boundaries < 1 or args.warmup < 0 or args.workers < 1 \
            or args.backfill_runs < 1:
        parser.error(f"--tasks >= {REAL_SUBMITS}, --boundaries, --workers and --backfill-runs >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(args.workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    info = machine()
    print(f"machine: {info['nproc']} CPUs ({info['cpu']}), {info['ram_gb']} GB RAM, Python {info['python']}, "
          f"SQLite {info['sqlite']}, PostgreSQL {info['postgresql']}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()))
    latencies = [] if args.skip_latency else [latency_run(kind, args, workdir) for kind in args.stores]
    for run in latencies:
        print(f"\n[{run.store}] trigger -> running, {run.tasks} tasks every {run.every} min, {run.workers} workers")
        print_latency(run)
    backfills = [] if args.skip_backfill else [backfill_runs(kind, args, workdir) for kind in args.stores]
    results = checks(latencies, backfills)
    print("\ntargets")
    for check in results:
        print(check.line())
    if lines := comparison(latencies):
        print("\nagainst jupyter-scheduler")
        print("\n".join(lines))
    elapsed = time.perf_counter() - started
    print(f"\nwhole benchmark: {elapsed:.0f} s")
    if args.json:
        write_json(Path(args.json), info, args, latencies, backfills, results, elapsed)
    failed = [f"{r.store} latency" for r in latencies if not r.ok] + [f"{r.store} backfill" for r in backfills if not r.ok]
    if failed:
        print(f"!!! FAILED: {', '.join(failed)}")
    return 1 if failed else 0


def write_json(path: Path, info: dict, args, latencies, backfills, results, elapsed: float) -> None:
    document = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": info,
        "settings": {k: getattr(args, k) for k in ("stores", "tasks", "every", "boundaries", "warmup", "workers",
                                                   "backfill_runs", "quick", "sharing")},
        "latency": [asdict(r) for r in latencies],
        "backfill": [{**asdict(r), "median": r.median, "instances_per_run": CHAIN * BACKFILL_DAYS}
                     for r in backfills],
        "targets": [asdict(c) for c in results],
        "jupyter_scheduler": JUPYTER_SCHEDULER,
        "seconds": round(elapsed, 1),
    }
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    print(f"results written to {path}")


if __name__ == "__main__":
    sys.exit(main())
