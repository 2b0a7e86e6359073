"""Runs of instances, in a bounded pool of long-lived worker processes.

``execute_instance`` is what a worker does for one claimed instance: load -> open log ->
resolve -> mark started -> run -> record. ``WorkerPool`` keeps ``size`` spawned workers that imported the
engine once, so a run starts at once instead of after an interpreter's start-up
(NOTES-scheduler.md); a run is stopped by killing its worker, which is then replaced.
"""

from __future__ import annotations

import ctypes
import json
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..connectors import ConnectorError, get_connector, load_plugins, step_types
from ..crypto import SecretBox
from ..engine import Job, Totals, prepare_job, run_job
from ..script import ScriptError
from ..script.params import ParamContext
from ..service.datasources import DataSourceService
from ..service.errors import ServiceError
from ..service.schedule import ScheduleConfig
from ..service.users import User
from ..store import Store
from ..store.models import InstanceRow, ProjectRow, TaskRow, VersionRow, utcnow
from . import instances

log = logging.getLogger(__name__)

PROGRESS_SECONDS = 3.0  # between progress lines in a run's log, and between its heartbeats
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


# --- one run ---------------------------------------------------------------------------


def execute_instance(store: Store, secrets: SecretBox | None, instance_id: int, scheduler_id: str,
                     log_dir: Path, now: datetime | None = None) -> None:
    """Run one instance that ``scheduler_id`` claimed, and record how it ended. A user's
    mistake (a bad script, a missing permission, a failing query) fails the instance with
    its message; so does anything unexpected, whose traceback goes to the log file.
    ``now`` is the scheduler's time when it handed the run over: a rerun's wait counts on
    the scheduler's clock (a test's controllable one), advancing with real time here."""
    offset = (now - utcnow()) if now is not None else timedelta(0)
    InstanceRun(store, secrets, instance_id, scheduler_id, log_dir, lambda: utcnow() + offset).execute()


@dataclass
class Outcome:
    error: str | None = None  # None: the run succeeded
    stats: dict | None = None  # the engine's summary, when the engine ran


class InstanceRun:
    """One attempt at one instance, in the steps a worker takes."""

    def __init__(self, store: Store, secrets: SecretBox | None, instance_id: int, scheduler_id: str,
                 log_dir: Path, clock: Callable[[], datetime] = utcnow):
        self.store, self.instance_id, self.scheduler_id, self.clock = store, instance_id, scheduler_id, clock
        self.datasources = DataSourceService(store, secrets)
        self.log_dir = Path(log_dir).resolve()
        self.log: RunLog | None = None
        self.resolved_script: str | None = None  # the script as it runs, parameters resolved
        self.config = ScheduleConfig()  # the defaults until loaded: a failure before still reruns

    def execute(self) -> None:
        try:
            outcome = self.attempt()
            if outcome is not None:
                self.record(outcome)
        finally:
            if self.log:
                self.log.close()

    def attempt(self) -> Outcome | None:
        """Load, open the log, resolve, mark started, run; None when the instance is no
        longer this scheduler's to run (killed or settled before its worker got to it).
        Only the start and the record write to the store: each run takes SQLite's write
        lock twice, briefly, however many workers share it."""
        try:
            if not self.load():
                return None
            self.open_log()
            prepared = self.prepare()
            if not self.mark_started(prepared):
                return None
            return prepared if isinstance(prepared, Outcome) else self.run(prepared)
        except Exception as error:  # noqa: BLE001 - a bug or an outage: the instance fails, never hangs
            return self.unexpected(error)

    # --- the steps ---

    def load(self) -> bool:
        """The instance, its version, task and project, if the instance is still ours."""
        with self.store.session(read_only=True) as session:
            found = session.execute(
                select(InstanceRow, VersionRow, TaskRow, ProjectRow.name)
                .join(VersionRow, VersionRow.id == InstanceRow.version_id)
                .join(TaskRow, TaskRow.id == InstanceRow.task_id)
                .join(ProjectRow, ProjectRow.id == TaskRow.project_id)
                .where(InstanceRow.id == self.instance_id)).one_or_none()
        if found is None or (found[0].state, found[0].claimed_by) != ("running", self.scheduler_id):
            log.warning("instance %s is not running for %s: not run", self.instance_id, self.scheduler_id)
            return False
        self.instance, self.version, self.task, self.project = found
        self.config = ScheduleConfig.model_validate(self.version.schedule or {})
        return True

    def open_log(self) -> None:
        self.log = RunLog(self.log_dir / str(self.task.id) / f"{self.instance_id}.log")
        self.log.write(self.header())

    def prepare(self) -> Job | Outcome:
        """The job to run, or the outcome of a script that cannot run (a user's mistake)."""
        try:
            with self.store.session(read_only=True):  # the data source look-ups: one snapshot
                return self.resolve()
        except ScriptError as error:
            diagnostics = "\n".join(f"  {diagnostic.format()}" for diagnostic in error.diagnostics)
            self.log.write(f"the script cannot run:\n{diagnostics}")
            return Outcome(f"the script cannot run: {error}")
        except (ServiceError, ConnectorError) as error:
            self.log.write(f"the run cannot start: {error}")
            return Outcome(str(error))

    def resolve(self) -> Job:
        context = ParamContext.for_schedule(
            self.scheduled_time, bizdate=self.instance.business_date,  # the row's date, as shown
            project=self.project, task_id=str(self.task.id), instance_id=str(self.instance_id),
            custom={p.name: p.value for p in self.config.parameters},
            overrides=dict(self.instance.params or {}))
        job = prepare_job(self.version.script, self.datasources.resolve, context, self.datasources.type_of)
        self.resolved_script = json.dumps(job.script, indent=2, ensure_ascii=False)
        self.log.write("resolved script:\n" + self.resolved_script)
        self._check_permissions(job)
        return job

    def mark_started(self, prepared: Job | Outcome) -> bool:
        """Store the worker's pid, the log's path and the resolved script, if the instance
        is still ours; otherwise the log says why nothing ran."""
        with self.store.session() as session:
            if self._lock_if_ours(session, pid=os.getpid(), log_path=str(self.log.path),
                                  resolved_script=self.resolved_script):
                return True
        self._note(f"not run: the instance is no longer running for {self.scheduler_id}")
        return False

    def run(self, job: Job) -> Outcome:
        self.log.write(f"run started: {job.channels} channel(s)")
        with _Progress(self.log, self._heartbeat) as progress, self.log.capturing("jupyter_offline_pipeline"):
            summary = run_job(job, progress=progress.update, cancel=progress.cancel)
        self.log.write("summary:\n" + summary.format())
        return Outcome(summary.error, summary.to_dict())

    def record(self, outcome: Outcome) -> None:
        """Settle the instance, unless it was killed or settled while it ran."""
        with self.store.session() as session:  # the log's path too: a failure may come before the start
            ours = self._lock_if_ours(session, **({"log_path": str(self.log.path)} if self.log else {}))
            row = session.get(InstanceRow, self.instance_id)
            if not ours:
                self._note(f"not recorded: the instance is {row.state if row else 'gone'} now, "
                           f"no longer running for {self.scheduler_id}")
                return
            if outcome.error is None:
                instances.succeed(session, row, outcome.stats)
            else:
                instances.fail(session, row, outcome.error, self.clock(), rerun_interval=self.rerun_interval,
                               stats=outcome.stats)
        self._note(f"recorded: {_settled(row)}")

    def unexpected(self, error: Exception) -> Outcome:
        if self.log:
            self.log.write("unexpected error:\n" + traceback.format_exc().rstrip())
        else:
            log.exception("instance %s failed before its log was opened", self.instance_id)
        return Outcome(f"{type(error).__name__}: {error}")

    # --- the parts ---

    @property
    def scheduled_time(self) -> datetime:
        """In the schedule's time zone, as parameters such as ``$[HH]`` mean it (the row is UTC)."""
        return self.instance.scheduled_time.astimezone(ZoneInfo(self.config.schedule.timezone))

    @property
    def rerun_interval(self) -> timedelta:
        return timedelta(minutes=self.config.run.rerun_on_failure.interval_minutes)

    def header(self) -> str:
        i = self.instance
        return (f"==== instance {i.id} of task {self.task.name!r} (id {self.task.id}, version "
                f"{self.version.number}), attempt {i.attempt} of {i.max_attempts} ====\n"
                f"business date {i.business_date:%Y-%m-%d}, scheduled "
                f"{self.scheduled_time:%Y-%m-%d %H:%M:%S} {self.config.schedule.timezone} "
                f"({i.scheduled_time:%Y-%m-%d %H:%M:%S} UTC)\n"
                f"{i.kind} instance triggered by {i.triggered_by}; project {self.project!r}, owner "
                f"{self.task.owner!r}; worker pid {os.getpid()} of scheduler {self.scheduler_id}")

    def _check_permissions(self, job: Job) -> None:
        """The run uses its task owner's rights as they are now: one revoked since the
        submit fails it (the job was bound through the unchecked engine lookup)."""
        owner = User(self.task.owner)
        for step, permission in ((job.reader_step, "read"), (job.writer_step, "write")):
            if name := step["parameter"].get("datasource"):
                try:
                    self.datasources.resolve_for(owner, name, permission)
                except ServiceError as error:
                    raise type(error)(f"as the task owner {owner.name!r}: {error}") from None

    def _heartbeat(self) -> bool:
        return instances.heartbeat(self.store, self.instance_id, self.scheduler_id)

    def _lock_if_ours(self, session: Session, **values) -> bool:
        """Update the row only while it is this scheduler's running one. An UPDATE, not a
        SELECT ... FOR UPDATE: it also takes SQLite's write lock (a SELECT there takes none),
        so nothing changes the row between this check and the session's later writes."""
        result = session.execute(
            update(InstanceRow).where(InstanceRow.id == self.instance_id, InstanceRow.state == "running",
                                      InstanceRow.claimed_by == self.scheduler_id)
            .values(heartbeat_at=utcnow(), **values))
        return result.rowcount == 1

    def _note(self, message: str) -> None:
        if self.log:
            self.log.write(message)


def _settled(row: InstanceRow) -> str:
    if row.state == "waiting_time":  # a rerun is due
        return f"{row.state}, attempt {row.attempt} runs after {row.run_after:%Y-%m-%d %H:%M:%S} UTC"
    return row.state


class RunLog:
    """An instance's log file, appended to: one section per attempt, each entry
    time-stamped and flushed, so the log can be read while the run goes on."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()  # the progress thread and the engine's warnings write too

    def write(self, text: str) -> None:
        with self._lock:
            self._file.write(f"{datetime.now():%Y-%m-%d %H:%M:%S} {text}\n")
            self._file.flush()

    @contextmanager
    def capturing(self, logger: str) -> Iterator[None]:
        """The package's warnings (dirty records...) into this log while the block runs."""
        handler = _LogHandler(self)
        logging.getLogger(logger).addHandler(handler)
        try:
            yield
        finally:
            logging.getLogger(logger).removeHandler(handler)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> RunLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _LogHandler(logging.Handler):
    def __init__(self, run_log: RunLog):
        super().__init__(logging.WARNING)
        self.run_log = run_log

    def emit(self, record: logging.LogRecord) -> None:
        self.run_log.write(f"{record.levelname} {record.getMessage()}")


class _Progress:
    """A thread that, every few seconds of a run, logs its progress (when it moved) and
    heartbeats; a refused heartbeat (the instance was killed or settled elsewhere, maybe by
    another host) cancels the run."""

    def __init__(self, run_log: RunLog, heartbeat: Callable[[], bool]):
        self.log, self.heartbeat = run_log, heartbeat
        self.cancel = threading.Event()
        self._done = threading.Event()
        self._totals: Totals | None = None
        self._start = time.monotonic()
        self._thread = threading.Thread(target=self._loop, name="progress", daemon=True)

    def update(self, totals: Totals) -> None:  # called by the channels after each batch
        self._totals = totals

    def __enter__(self) -> _Progress:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()

    def _loop(self) -> None:
        shown = None
        while not self._done.wait(PROGRESS_SECONDS):
            if (totals := self._totals) is not None and totals != shown:
                self.log.write(self._line(totals))
                shown = totals
            if not self._alive():
                self.log.write("the instance is no longer running for this scheduler: cancelling the run")
                self.cancel.set()
                return

    def _alive(self) -> bool:
        try:
            return self.heartbeat()
        except Exception as error:  # noqa: BLE001 - a store hiccup is no reason to stop a run
            self.log.write(f"heartbeat failed: {error}")
            return True

    def _line(self, t: Totals) -> str:
        rate = t.records_read / max(time.monotonic() - self._start, 1e-9)
        return (f"progress: {t.records_read:,} read, {t.records_written:,} written, "
                f"{t.dirty_records:,} dirty, {rate:,.0f} rec/s")


# --- the pool ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Finished:
    """A run that ended: normally (the worker said done), ``killed`` by ``WorkerPool.kill``,
    or ``crashed`` (its worker died by itself: a segfault, os._exit, the OOM killer)."""

    instance_id: int
    pid: int
    crashed: bool
    killed: bool
    exitcode: int | None  # None when the worker lives on


@dataclass(frozen=True)
class _Settings:
    """What a worker needs to run instances (sent to it when it is spawned)."""

    db_url: str | None
    encryption_key: str | bytes | None
    scheduler_id: str
    log_dir: str
    parent_pid: int


class _Worker:
    def __init__(self, context, settings: _Settings):
        self.conn, child_end = context.Pipe()
        self.process = context.Process(target=_worker_main, args=(child_end, settings),
                                       name="pipeline-worker", daemon=True)
        self.process.start()
        child_end.close()  # so the parent's end sees EOF when the worker dies
        self.instance_id: int | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def said_done(self) -> bool:
        try:
            return self.conn.poll() and self.conn.recv() == self.instance_id
        except (EOFError, OSError):  # it died: ``is_alive`` tells
            return False

    def close(self) -> None:
        self.conn.close()
        self.process.close()


class WorkerPool:
    """``size`` long-lived worker processes, each running one instance at a time.

    Not thread-safe: create and drive it from one thread that lives as long as the pool.
    The workers are spawned (the parent is a threaded server: never fork it), and Linux
    kills a worker when the thread that started it ends (PR_SET_PDEATHSIG follows the
    creating thread), which is what makes them die with a SIGKILLed scheduler.
    """

    def __init__(self, size: int, *, db_url: str | None, encryption_key: str | bytes | None, scheduler_id: str,
                 log_dir: Path | str):
        """``db_url`` and ``encryption_key`` as the server has them; None: the store's defaults
        (the environment, then the key file), which a worker on this host finds as well."""
        if size < 1:
            raise ValueError(f"a worker pool needs at least one worker, not {size}")
        self._context = multiprocessing.get_context("spawn")
        self._settings = _Settings(db_url, encryption_key, scheduler_id, str(Path(log_dir).resolve()),
                                   os.getpid())
        self._closing = False
        self._idle: list[_Worker] = []
        self._busy: dict[int, _Worker] = {}  # instance id -> the worker running it
        self._dying: list[_Worker] = []  # killed, to be reaped and reported
        self._ended: list[Finished] = []
        for _ in range(size):
            self._spawn()

    def free_slots(self) -> int:
        return len(self._idle)

    def running(self) -> dict[int, int]:
        return {instance_id: worker.pid for instance_id, worker in self._busy.items()}

    def start(self, instance_id: int, now: datetime | None = None) -> int:
        """Hand ``instance_id`` to an idle worker (``now``: the scheduler's clock, see
        ``execute_instance``); returns its pid."""
        if instance_id in self._busy:
            raise ValueError(f"instance {instance_id} is already running")
        while self._idle:
            worker = self._idle.pop(0)
            try:
                worker.conn.send((instance_id, now))
            except OSError:  # it died while idle
                self._replace(worker)
                continue
            worker.instance_id = instance_id
            self._busy[instance_id] = worker
            return worker.pid
        raise RuntimeError(f"no free worker for instance {instance_id}: all {len(self._busy)} are busy")

    def kill(self, instance_id: int) -> None:
        """Stop the run now (a user's kill, a timeout): SIGKILL its worker and start another.
        Nothing if the run already ended; ``finished`` reports it either way."""
        worker = self._busy.get(instance_id)
        if worker is None or self._collect(instance_id, worker):
            return
        del self._busy[instance_id]
        worker.process.kill()
        self._dying.append(worker)
        self._spawn()

    def finished(self) -> list[Finished]:
        """The runs that ended since the last call; dead workers are replaced."""
        for instance_id, worker in list(self._busy.items()):
            self._collect(instance_id, worker)
        self._reap_killed()
        for worker in [w for w in self._idle if not w.process.is_alive()]:
            self._idle.remove(worker)
            self._replace(worker)
        ended, self._ended = self._ended, []
        return ended

    def shutdown(self, kill_running: bool = True, timeout: float | None = None) -> None:
        """Stop every worker. With ``kill_running`` false, runs may end first (for up to
        ``timeout`` seconds, then they are killed). ``finished`` still reports them."""
        self._closing = True
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._busy and not kill_running and (deadline is None or time.monotonic() < deadline):
            for instance_id, worker in list(self._busy.items()):
                self._collect(instance_id, worker)
            time.sleep(0.1)
        for instance_id in list(self._busy):
            self.kill(instance_id)
        for worker in self._idle:
            _send_quietly(worker.conn, None)  # ends the worker's loop
        for worker in [*self._idle, *self._dying]:
            worker.process.join(5)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
        self._reap_killed()
        for worker in self._idle:
            worker.close()
        self._idle = []

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()

    def _collect(self, instance_id: int, worker: _Worker) -> bool:
        """If the run of ``instance_id`` ended, report it and free its slot."""
        if worker.said_done():
            crashed = False
        elif not worker.process.is_alive():
            crashed = True
        else:
            return False
        del self._busy[instance_id]
        alive = worker.process.is_alive()
        self._ended.append(Finished(instance_id, worker.pid, crashed=crashed, killed=False,
                                    exitcode=None if alive else worker.process.exitcode))
        if alive:
            self._idle.append(worker)
        else:
            self._replace(worker)
        return True

    def _reap_killed(self) -> None:
        for worker in [w for w in self._dying if not w.process.is_alive()]:  # is_alive reaps: no zombie
            self._dying.remove(worker)
            self._ended.append(Finished(worker.instance_id, worker.pid, crashed=False, killed=True,
                                        exitcode=worker.process.exitcode))
            worker.close()

    def _spawn(self) -> None:
        if not self._closing:
            self._idle.append(_Worker(self._context, self._settings))

    def _replace(self, dead: _Worker) -> None:
        dead.process.join()  # already dead: this reaps it
        dead.close()
        self._spawn()


def _send_quietly(conn: Connection, message) -> None:
    try:
        conn.send(message)
    except OSError:
        pass


def _worker_main(conn: Connection, settings: _Settings) -> None:
    """A worker's life: the engine is imported (this module imports it), then one instance
    id at a time comes over ``conn``, and its id goes back when it is done."""
    _die_with_parent(settings.parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C in the server's terminal is the server's
    load_plugins()
    for step_type in step_types():  # import every connector now, not during the first runs
        try:
            get_connector(step_type)
        except Exception:  # noqa: BLE001 - a broken plugin fails its own runs, not the worker
            log.exception("connector %r cannot be loaded", step_type)
    store = Store(settings.db_url, migrate=False)
    secrets = SecretBox(settings.encryption_key) if settings.encryption_key else None  # None: the default
    while True:
        try:
            message = conn.recv()
        except EOFError:  # the pool is gone
            return
        if message is None:
            return
        instance_id, now = message
        try:
            execute_instance(store, secrets, instance_id, settings.scheduler_id, Path(settings.log_dir), now)
        except Exception:  # noqa: BLE001 - e.g. the store is down: the scheduler settles the instance
            log.exception("instance %s could not be recorded", instance_id)
        conn.send(instance_id)


def _die_with_parent(parent_pid: int) -> None:
    """A worker must not outlive its scheduler, which may be SIGKILLed without a chance to
    stop it: Linux sends the worker SIGKILL when the parent dies, and a watchdog thread
    covers other systems and a parent that died before this ran."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="parent-watchdog", daemon=True).start()


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(1)
    os.kill(os.getpid(), signal.SIGKILL)
