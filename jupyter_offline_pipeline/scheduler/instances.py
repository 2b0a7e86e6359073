"""Instances: the state machine, batched creation, claims and the settling of orphans.

Every operation is safe with several schedulers on one store: creation skips what exists
(the unique index on recurring instances), a claim takes each instance for one scheduler
only, and every state change is recorded as an ``InstanceEventRow``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import insert, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..service.errors import Conflict
from ..store import Store
from ..store.models import InstanceEventRow, InstanceRow, utcnow

WAITING = ("waiting_time", "waiting_upstream", "waiting_resources")
RERUNNABLE = ("success", "failed", "not_run", "killed")  # a rerun sends these back to waiting

# state -> the states it may move to. A dry-run task succeeds (``dry_run``) and a paused one
# fails at once, from any waiting state; ``not_run`` is an instance blocked by its upstream.
TRANSITIONS: dict[str, frozenset[str]] = {
    "waiting_time": frozenset({"waiting_upstream", "waiting_resources", "dry_run", "failed", "killed"}),
    "waiting_upstream": frozenset({"waiting_resources", "not_run", "dry_run", "failed", "killed"}),
    "waiting_resources": frozenset({"running", "dry_run", "failed", "killed"}),
    "running": frozenset({"success", "failed", "killed"}),
    "dry_run": frozenset(),
    **{state: frozenset(WAITING) for state in RERUNNABLE},
}
STATES = frozenset(TRANSITIONS)
FINISHED = frozenset({"success", "failed", "not_run", "dry_run", "killed"})
ORPHANED = "scheduler stopped while it ran"
STARTING_GRACE = timedelta(seconds=15)  # a claimed run without a worker pid longer is orphaned
_CHUNK = 5000  # ids per IN (...), under every backend's limit on bound parameters


def transition(session: Session, instance: InstanceRow, to_state: str, reason: str) -> None:
    """Move ``instance`` to ``to_state`` and record why; ``Conflict`` if that move is illegal."""
    if to_state not in TRANSITIONS.get(instance.state, ()):
        raise Conflict(f"instance {instance.id} cannot go from {instance.state} to {to_state}")
    now = utcnow()
    session.add(InstanceEventRow(instance_id=instance.id, at=now, from_state=instance.state,
                                 to_state=to_state, reason=reason))
    for column, value in _entering(to_state, now).items():
        setattr(instance, column, value)


def transition_all(session: Session, instance_ids: list[int], from_state: str, to_state: str, reason: str,
                   **values) -> list[int]:
    """``transition`` for many instances at once (a new backfill's thousands), in
    statements rather than objects; only those still in ``from_state`` move. ``values``:
    more columns to set. Returns the ids that moved."""
    if to_state not in TRANSITIONS[from_state]:
        raise Conflict(f"instances cannot go from {from_state} to {to_state}")
    now, moved = utcnow(), []
    for start in range(0, len(instance_ids), _CHUNK):
        chunk = instance_ids[start:start + _CHUNK]
        moved += session.scalars(
            update(InstanceRow).where(InstanceRow.id.in_(chunk), InstanceRow.state == from_state)
            .values(**_entering(to_state, now), **values).returning(InstanceRow.id)).all()
    _record_entries(session, moved, from_state, reason, now)
    return sorted(moved)


def _record_entries(session: Session, instance_ids: list[int], from_state: str | None, reason: str,
                    now: datetime) -> None:
    """The events of these instances' moves into the states they are in now: one
    INSERT ... SELECT per chunk, the database copying what thousands of rows would send."""
    columns = ("instance_id", "at", "from_state", "to_state", "reason")
    for start in range(0, len(instance_ids), _CHUNK):
        moved = (select(InstanceRow.id, literal(now, InstanceEventRow.at.type),
                        literal(from_state, InstanceEventRow.from_state.type), InstanceRow.state,
                        literal(reason, InstanceEventRow.reason.type))
                 .where(InstanceRow.id.in_(instance_ids[start:start + _CHUNK])))
        session.execute(insert(InstanceEventRow).from_select(columns, moved))


def _entering(to_state: str, now: datetime) -> dict:
    """The columns a move to ``to_state`` sets."""
    if to_state in FINISHED:
        return {"state": to_state, "finished_at": now}
    if to_state in WAITING:  # a rerun: free the claim so a scheduler can take it again
        return {"state": to_state, "claimed_by": None, "pid": None, "heartbeat_at": None, "finished_at": None,
                "started_at": None}
    if to_state == "running":
        return {"state": to_state, "started_at": now, "heartbeat_at": now}
    return {"state": to_state}


def succeed(session: Session, instance: InstanceRow, stats: dict | None = None) -> None:
    transition(session, instance, "success", "the run succeeded")
    instance.stats, instance.error = stats, None


def fail(session: Session, instance: InstanceRow, error: str, now: datetime, *, rerun_interval: timedelta,
         rerun: bool = True, stats: dict | None = None) -> None:
    """Record a failed run and apply the rerun policy: while attempts are left (and
    ``rerun``, false for a timeout unless the task reruns on timeout), the instance waits
    ``rerun_interval`` and runs again as its next attempt."""
    transition(session, instance, "failed", error[:1000])
    instance.error, instance.stats = error, stats
    if rerun and instance.attempt < instance.max_attempts:
        minutes = round(rerun_interval.total_seconds() / 60, 2)
        transition(session, instance, "waiting_time",
                   f"rerun {instance.attempt + 1} of {instance.max_attempts} after {minutes:g} minutes")
        instance.attempt += 1
        instance.run_after = now + rerun_interval


def create_due(store: Store, rows: Iterable[dict]) -> int:
    """Insert many instances in one transaction, skipping any that already exist (a restart
    or a second scheduler creating the same ones); returns how many were new."""
    rows = list(rows)
    if not rows:
        return 0
    with store.session() as session:
        return len(insert_instances(session, rows))


def insert_instances(session: Session, rows: list[dict], reason: str = "created") -> list[int]:
    """Insert instance rows (dicts of ``InstanceRow`` columns) and their creation events in
    ``session``'s transaction; recurring ones that exist already are skipped. New ids back."""
    if not rows:
        return []
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    statement = (dialect.insert(InstanceRow).on_conflict_do_nothing()
                 .returning(InstanceRow.id))
    created = list(session.scalars(statement, rows))
    _record_entries(session, created, None, reason, utcnow())
    return created


def claim(store: Store, scheduler_id: str, limit: int) -> list[InstanceRow]:
    """Take up to ``limit`` queued instances (higher priority first, then earlier scheduled
    time) and mark them running for ``scheduler_id``. One guarded UPDATE: PostgreSQL skips
    rows another claimer has locked; SQLite takes its write lock before reading, so the
    statement runs alone. Either way the WHERE re-checks that nobody took them first."""
    if limit <= 0:
        return []
    queued = (InstanceRow.state == "waiting_resources", InstanceRow.claimed_by.is_(None))
    pick = (select(InstanceRow.id).where(*queued)
            .order_by(InstanceRow.priority.desc(), InstanceRow.scheduled_time, InstanceRow.id)
            .limit(limit).with_for_update(skip_locked=True)  # FOR UPDATE is left out on SQLite
            .cte("picked"))  # a CTE runs once: PostgreSQL may rerun an IN (subquery ... LIMIT)
    now = utcnow()
    with store.session() as session:
        claimed = session.scalars(
            update(InstanceRow).where(InstanceRow.id == pick.c.id, *queued)
            .values(state="running", claimed_by=scheduler_id, started_at=now, heartbeat_at=now)
            .returning(InstanceRow).execution_options(synchronize_session=False)).all()
        session.add_all(InstanceEventRow(instance_id=i.id, at=now, from_state="waiting_resources",
                                         to_state="running", reason=f"claimed by {scheduler_id}")
                        for i in claimed)
    return sorted(claimed, key=lambda i: (-i.priority, i.scheduled_time, i.id))


def heartbeat(store: Store, instance_id: int, scheduler_id: str, pid: int | None = None) -> bool:
    """Say the run is alive (and, the first time, which process runs it). False when the
    instance is no longer this scheduler's running one (killed, settled): the run should stop."""
    values = {"heartbeat_at": utcnow()} | ({"pid": pid} if pid is not None else {})
    with store.session() as session:
        result = session.execute(
            update(InstanceRow).where(InstanceRow.id == instance_id, InstanceRow.state == "running",
                                      InstanceRow.claimed_by == scheduler_id).values(**values))
        return result.rowcount == 1


def heartbeat_all(store: Store, scheduler_id: str, instance_ids: Iterable[int]) -> set[int]:
    """Say these runs are alive; returns those still this scheduler's running ones (the
    others were killed or settled in the store: their processes should stop)."""
    instance_ids = list(instance_ids)
    if not instance_ids:
        return set()
    with store.session() as session:
        return set(session.scalars(
            update(InstanceRow).where(InstanceRow.id.in_(instance_ids), InstanceRow.state == "running",
                                      InstanceRow.claimed_by == scheduler_id)
            .values(heartbeat_at=utcnow()).returning(InstanceRow.id)))


def settle_orphans(store: Store, scheduler_id: str, stale_after: timedelta) -> list[int]:
    """Fail the running instances nobody runs any more: any whose heartbeat is older than
    ``stale_after``, and this scheduler's own whose process is gone (``scheduler_id`` names
    a scheduler on this host, so its pids are this host's). Returns their ids."""
    cutoff = utcnow() - stale_after
    with store.session() as session:
        running = session.scalars(
            select(InstanceRow).where(InstanceRow.state == "running", or_(
                InstanceRow.heartbeat_at.is_(None), InstanceRow.heartbeat_at < cutoff,
                InstanceRow.claimed_by == scheduler_id))
            .order_by(InstanceRow.id).with_for_update(skip_locked=True)).all()
        orphans = [i for i in running if _stale(i, cutoff) or (i.claimed_by == scheduler_id and _gone(i))]
        for instance in orphans:  # not the run's fault: a rerun, when attempts are left, goes at once
            fail(session, instance, ORPHANED, utcnow(), rerun_interval=timedelta(0))
        return [i.id for i in orphans]


def _stale(instance: InstanceRow, cutoff: datetime) -> bool:
    return instance.heartbeat_at is None or instance.heartbeat_at < cutoff


def _gone(instance: InstanceRow) -> bool:
    """This host's run has no process: its pid is dead, or it never got one (a scheduler
    dies between the claim and handing the run to a worker, which takes milliseconds)."""
    if instance.pid is None:
        return instance.heartbeat_at is not None and utcnow() - instance.heartbeat_at > STARTING_GRACE
    return not _alive(instance.pid)


def _alive(pid: int) -> bool:
    """True while process ``pid`` exists here (and is not a zombie)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """True when ``pid`` has ended but was not reaped: a crashed scheduler's workers go to
    init, which in a container may never reap them, and ``kill(pid, 0)`` still finds them."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):  # gone meanwhile, or no /proc: kill(pid, 0) decides
        return False
