"""Firings -> recurring instances: every run of every production task that has come due
becomes one ``waiting_time`` instance row, in one transaction per tick.

The store is the truth: on start the planner takes up each task after its newest recurring
instance (or its publication), so the runs due while no scheduler ran are made too; by the
``catch_up`` policy they run (``run``) or are recorded as ``not_run`` (``skip``), never lost
silently. The unique index on recurring instances makes a second scheduler, or a restart,
create nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..store.models import InstanceRow
from .instances import insert_instances
from .production import Production, ProductionTask, aware
from .triggers import next_runs, runs_between

CATCH_UP_POLICIES = ("run", "skip")
MISSED = "missed while no scheduler was running (catch-up policy: skip)"


@dataclass
class _Cursor:
    version_id: int
    planned_until: datetime  # the newest scheduled time made into an instance (or the start)
    next_fire: datetime | None  # the next run after it, computed once


class Planner:
    def __init__(self, catch_up: str = "run", started_at: datetime | None = None):
        if catch_up not in CATCH_UP_POLICIES:
            raise ValueError(f"catch_up must be one of {', '.join(CATCH_UP_POLICIES)}, not {catch_up!r}")
        self.catch_up, self.started_at = catch_up, started_at
        self._cursors: dict[int, _Cursor] = {}

    def plan(self, session: Session, production: Production, now: datetime) -> int:
        """Make the instances of every run due by ``now``; returns how many were new."""
        if self.started_at is None:
            self.started_at = now
        recurring = [task for task in production.tasks.values() if task.recurring]
        self._forget_all_but(recurring)
        self._start_cursors(session, [t for t in recurring if self._stale(t)], now)
        due, missed = [], []
        for task in recurring:
            cursor = self._cursors[task.id]
            if cursor.next_fire is None or cursor.next_fire > now:
                continue  # the common case: one comparison per task and tick
            for run in runs_between(task.config, cursor.planned_until, now):
                row = task.new_instance("recurring", run.business_date, run.scheduled_time, "scheduler")
                (missed if self.catch_up == "skip" and run.scheduled_time < self.started_at else due).append(row)
                cursor.planned_until = run.scheduled_time
            cursor.next_fire = _next_fire(task, cursor.planned_until)
        new = insert_instances(session, due)
        for row in missed:
            row["state"] = "not_run"
        return len(new) + len(insert_instances(session, missed, reason=MISSED))

    def next_fire(self) -> datetime | None:
        """The earliest run not yet made into an instance: when the loop must wake."""
        return min((c.next_fire for c in self._cursors.values() if c.next_fire is not None), default=None)

    def _stale(self, task: ProductionTask) -> bool:
        cursor = self._cursors.get(task.id)
        return cursor is None or cursor.version_id != task.version_id

    def _forget_all_but(self, tasks: list[ProductionTask]) -> None:
        keep = {task.id for task in tasks}
        for task_id in list(self._cursors):
            if task_id not in keep:
                del self._cursors[task_id]

    def _start_cursors(self, session: Session, tasks: list[ProductionTask], now: datetime) -> None:
        """Take up each task after its newest recurring instance, but never before its
        version's publication: a new version counts from then (its schedule may differ)."""
        if not tasks:
            return
        newest = dict(session.execute(
            select(InstanceRow.task_id, func.max(InstanceRow.scheduled_time))
            .where(InstanceRow.kind == "recurring", InstanceRow.task_id.in_([t.id for t in tasks]))
            .group_by(InstanceRow.task_id)).all())
        for task in tasks:
            start = task.published_at - timedelta(microseconds=1)
            if task.id in newest:
                start = max(start, aware(newest[task.id]))
            self._cursors[task.id] = _Cursor(task.version_id, start, _next_fire(task, start))


def _next_fire(task: ProductionTask, after: datetime) -> datetime | None:
    runs = next_runs(task.config, 1, after)
    return runs[0].scheduled_time if runs else None
