"""The scheduler: one loop that plans, gates, claims and runs instances, and watches its runs.

Each tick, against the store (the truth) and a clock (injectable, so tests drive time):
plan the runs that came due into instances, open the gates that can open, hear which runs
ended, heartbeat the running ones (a run killed or settled in the store is stopped here),
time out the ones over their limit, and hand queued instances to free workers. The loop
sleeps until the next firing or a second, whichever is first; ``wake`` cuts the sleep
short (the server calls it after an Operation Center action). While runs go on, the sleep
looks at the workers every ``POLL_SECONDS``: a worker that finished gets the next queued
instance at once, not at the next tick (a burst of due instances then goes through the
pool as fast as the runs end, not ``max_workers`` per tick).

Several schedulers may share one store (the server's and ``jupyter pipeline scheduler``,
or two daemons on PostgreSQL): every step is a guarded transaction on the rows.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from ..crypto import SecretBox
from ..service.schedule import ScheduleConfig
from ..store import Store, data_dir
from ..store.models import InstanceRow, utcnow
from .executors import RunLog, WorkerPool
from .gates import promote
from .instances import claim, fail, heartbeat, heartbeat_all, settle_orphans
from .planner import Planner
from .production import ConfigCache, Production, configs_of

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
POLL_SECONDS = 0.05  # between looks at the busy workers while the loop sleeps


class Scheduler:
    def __init__(self, store: Store, secrets: SecretBox, *, max_workers: int = 4, catch_up: str = "run",
                 scheduler_id: str | None = None, log_dir: Path | None = None, clock: Clock = utcnow,
                 stale_after: timedelta = timedelta(seconds=60), tick_seconds: float = 1.0):
        # the id names this host: after a crash, a restart here finds its orphans by their pids
        self.scheduler_id = scheduler_id or socket.gethostname()
        self.store, self.clock, self.stale_after, self.tick_seconds = store, clock, stale_after, tick_seconds
        self.log_dir = Path(log_dir or data_dir() / "logs")
        self.planner = Planner(catch_up)
        self.pool = WorkerPool(max_workers, db_url=store.db_url, encryption_key=secrets.key,
                               scheduler_id=self.scheduler_id, log_dir=self.log_dir)
        self._runs: dict[int, _Run] = {}  # what this scheduler's workers run now
        self._schedules: ConfigCache = {}  # the versions' parsed schedules (they never change)
        self._wake, self._stop = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None
        self._last_settle: datetime | None = None

    # --- life cycle ---------------------------------------------------------------------

    def start(self) -> None:
        """Settle what a crash left running, then tick in a background thread."""
        self.settle()
        self._thread = threading.Thread(target=self._loop, name="offline-pipeline-scheduler", daemon=True)
        self._thread.start()

    def run_forever(self) -> None:
        """The standalone daemon: settle, then tick in this thread until ``stop``."""
        self.settle()
        self._loop()

    def request_stop(self) -> None:
        """Make the loop end after its tick (safe from a signal handler)."""
        self._stop.set()
        self._wake.set()

    def stop(self, kill_running: bool = True) -> None:
        self.request_stop()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)
        self.pool.shutdown(kill_running=kill_running)

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # a bad row or a lost connection must not end scheduling
                log.exception("scheduler tick failed; trying again")
            self._pause(self._sleep_seconds())
            self._wake.clear()

    def _pause(self, seconds: float) -> None:
        """Sleep ``seconds`` (until ``wake``); meanwhile, while workers are busy, hand each
        one that finishes its next queued instance at once."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            busy = bool(self.pool.running())
            if self._wake.wait(min(left, POLL_SECONDS) if busy else left) or not busy:
                return
            try:
                now = self.clock()
                if self._reap(now):
                    self._dispatch(now)
            except Exception:  # as for a tick: the next one tries again
                log.exception("scheduler dispatch failed; trying again")

    def _sleep_seconds(self) -> float:
        upcoming = self.planner.next_fire()
        if upcoming is None:
            return self.tick_seconds
        return max(0.0, min(self.tick_seconds, (upcoming - self.clock()).total_seconds()))

    # --- one tick -----------------------------------------------------------------------

    def tick(self) -> None:
        now = self.clock()
        with self.store.session(read_only=True) as session:  # no write lock while 1000 tasks load
            production = Production.load(session, self._schedules)
        with self.store.session() as session:
            self.planner.plan(session, production, now)
            promote(session, production, now)
        self._reap(now)
        self._watch(now)
        self._dispatch(now)
        if self._last_settle is None or now - self._last_settle > self.stale_after / 2:
            self.settle()

    def settle(self) -> list[int]:
        """Fail (then rerun, by the policy) the runs nobody runs any more: this host's whose
        process is gone, and any scheduler's whose heartbeat stopped."""
        self._last_settle = self.clock()
        settled = settle_orphans(self.store, self.scheduler_id, self.stale_after)
        if settled:
            log.warning("settled %d orphaned instance(s): %s", len(settled), settled)
        return settled

    def _dispatch(self, now: datetime) -> None:
        """Hand queued instances (higher priority first) to free workers."""
        claimed = claim(self.store, self.scheduler_id, self.pool.free_slots())
        if not claimed:
            return
        configs = self._configs({instance.version_id for instance in claimed})
        pids = {}
        for instance in claimed:
            self._runs[instance.id] = _Run(now, configs[instance.version_id])
            pids[instance.id] = self.pool.start(instance.id, now)
        with self.store.session():  # one transaction for the burst's pids
            for instance_id, pid in pids.items():
                heartbeat(self.store, instance_id, self.scheduler_id, pid)

    def _reap(self, now: datetime) -> int:
        """Runs that ended: a worker records its own outcome; one that died first cannot.
        Returns how many ended."""
        ended_runs = self.pool.finished()
        for ended in ended_runs:
            run = self._runs.pop(ended.instance_id, None)
            if ended.killed or run is None:
                continue  # this scheduler killed it and recorded why
            reason = (f"the worker process died (exit code {ended.exitcode})" if ended.crashed
                      else "the run ended without recording its outcome")
            self._record_failure(ended.instance_id, reason, now, run.config, rerun=True)
        return len(ended_runs)

    def _watch(self, now: datetime) -> None:
        running = self.pool.running()
        alive = heartbeat_all(self.store, self.scheduler_id, running)
        for instance_id in set(running) - alive:  # killed or settled in the store
            self.pool.kill(instance_id)
            self._runs.pop(instance_id, None)
            self._note(instance_id, "stopped: the instance was killed or settled in the store")
        for instance_id in alive & self._runs.keys():
            self._time_out(instance_id, now)

    def _time_out(self, instance_id: int, now: datetime) -> None:
        run = self._runs[instance_id]
        hours = run.config.run.timeout_hours
        if not hours or now - run.started <= timedelta(hours=hours):
            return
        self.pool.kill(instance_id)
        del self._runs[instance_id]
        reason = f"timed out after {hours:g} hour" + ("" if hours == 1 else "s")
        self._note(instance_id, f"stopped: {reason}")
        self._record_failure(instance_id, reason, now, run.config, rerun=run.config.run.rerun_on_timeout)

    def _note(self, instance_id: int, text: str) -> None:
        """A line in the run's log, which the killed worker can no longer write."""
        with self.store.session() as session:
            path = session.scalar(select(InstanceRow.log_path).where(InstanceRow.id == instance_id))
        if path:
            with RunLog(Path(path)) as run_log:
                run_log.write(text)

    def _record_failure(self, instance_id: int, reason: str, now: datetime, config: ScheduleConfig,
                        rerun: bool) -> None:
        with self.store.session() as session:
            instance = session.get(InstanceRow, instance_id, with_for_update=True)
            if instance is None or instance.state != "running" or instance.claimed_by != self.scheduler_id:
                return  # recorded already (the worker, a kill, another scheduler's settling)
            interval = timedelta(minutes=config.run.rerun_on_failure.interval_minutes)
            fail(session, instance, reason, now, rerun_interval=interval, rerun=rerun)

    def _configs(self, version_ids: set[int]) -> dict[int, ScheduleConfig]:
        with self.store.session(read_only=True) as session:
            return configs_of(session, self._schedules, version_ids)


@dataclass(frozen=True)
class _Run:
    started: datetime  # by this scheduler's clock
    config: ScheduleConfig
