"""The gates an instance passes before it may take a worker (SPEC sections 6 and 8).

``waiting_time``: its scheduled time (a rerun: its ``run_after``) has come. A paused task's
instance then fails at once and a dry-run task's succeeds at once (``dry_run``); the rest
go on to ``waiting_upstream``: a recurring instance waits until every upstream instance of
its business date succeeded or was a dry run (and, self-dependent, its own previous cycle);
a backfill instance waits for the upstream tasks inside its backfill, and for its date's
turn (dates in order, ``parallelism`` at a time); a manual run waits for nothing. A
failed, blocked or killed upstream makes it ``not_run``. Then ``waiting_resources``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from ..store.models import BackfillRow, InstanceRow
from .instances import FINISHED, transition, transition_all
from .production import Production, ProductionTask
from .triggers import runs_on

PASSED = frozenset({"success", "dry_run"})
BLOCKING = frozenset({"failed", "not_run", "killed"})


class Verdict(NamedTuple):
    to_state: str | None  # None: no move (passed, or still waiting)
    reason: str


PASS, WAIT = Verdict(None, "passed"), Verdict(None, "waiting")


def promote(session: Session, production: Production, now: datetime) -> int:
    """Move every instance whose gate opened; returns how many moved."""
    moved = _open_time_gates(session, production, now)
    turns = _backfill_turns(session)
    # a backfill's instances outside its turn would only wait: not loaded, nor locked
    waiting = _locked(session, InstanceRow.state == "waiting_upstream", _in_turn(turns))
    gate = UpstreamGate(session, production, waiting, turns)
    for instance in waiting:
        verdict = gate.verdict(instance)
        if verdict.to_state:
            transition(session, instance, verdict.to_state, verdict.reason)
            moved += 1
    _finish_backfills(session)
    return moved


def _locked(session: Session, *where) -> list[InstanceRow]:
    """Rows another scheduler is not deciding on right now (PostgreSQL skips its locked ones)."""
    return list(session.scalars(select(InstanceRow).where(*where)
                                .order_by(InstanceRow.scheduled_time, InstanceRow.id)
                                .with_for_update(skip_locked=True)))


def _open_time_gates(session: Session, production: Production, now: datetime) -> int:
    """Every instance whose time has come moves on as its task's state says; in bulk, as a
    new backfill's instances (thousands) all come due at once."""
    due = session.execute(select(InstanceRow.id, InstanceRow.task_id).where(
        InstanceRow.state == "waiting_time", func.coalesce(InstanceRow.run_after, InstanceRow.scheduled_time) <= now)
        .order_by(InstanceRow.id).with_for_update(skip_locked=True)).all()
    moves = defaultdict(list)
    for instance_id, task_id in due:
        moves[_time_has_come(production.tasks.get(task_id))].append(instance_id)
    moved = 0
    for (to_state, reason), ids in moves.items():
        error = {"error": reason} if to_state == "failed" else {}
        moved += len(transition_all(session, ids, "waiting_time", to_state, reason, **error))
    return moved


def _time_has_come(task: ProductionTask | None) -> tuple[str, str]:
    """Where an instance of ``task`` (None: no longer in production) goes when its time comes."""
    if task is None:
        return "killed", "the task is no longer in production"
    if task.state == "paused":
        return "failed", "the task is paused"
    if task.state == "dry_run":
        return "dry_run", "dry run: succeeded without running"
    return "waiting_upstream", "its time has come"


class UpstreamGate:
    """The upstream verdicts of one tick's waiting instances, from a few batched queries."""

    def __init__(self, session: Session, production: Production, waiting: list[InstanceRow],
                 backfills: dict[int, _Turn]):
        self.session, self.production, self.backfills = session, production, backfills
        self.recurring = _recurring_states(session, production, [i for i in waiting if i.kind == "recurring"])

    def verdict(self, instance: InstanceRow) -> Verdict:
        if instance.kind == "manual":
            return _ready("a manual run waits for no upstream")
        if instance.kind == "backfill":
            return self._backfill(instance)
        return self._recurring(instance)

    def _recurring(self, instance: InstanceRow) -> Verdict:
        verdicts = [
            _judge(f"upstream '{task.name}'", run.scheduled_time,
                   self.recurring.get((task.id, run.scheduled_time.timestamp())))
            for task in self._upstream(instance.task_id)
            for run in runs_on(task.config, instance.business_date)
            if run.scheduled_time >= task.published_at]  # earlier, that instance never existed
        return _combined(verdicts + self._previous_cycle(instance), "every upstream instance succeeded")

    def _backfill(self, instance: InstanceRow) -> Verdict:
        turn = self.backfills.get(instance.backfill_id)
        if turn is None or instance.business_date not in turn.dates:
            return WAIT  # an earlier date's turn (a cancelled backfill's instances are killed)
        verdicts = []
        for task in self._upstream(instance.task_id):
            states = turn.states.get((task.id, instance.business_date), []) if task.id in turn.task_ids else []
            blocked = [s for s in states if s in BLOCKING]
            verdicts.append(
                Verdict("not_run", f"upstream '{task.name}' of {instance.business_date} did not succeed")
                if blocked else PASS if all(s in PASSED for s in states) else WAIT)
        return _combined(verdicts + self._previous_cycle(instance), "its date's upstream in the backfill succeeded")

    def _upstream(self, task_id: int) -> list:
        return [self.production.tasks[u] for u in sorted(self.production.upstream.get(task_id, ()))]

    def _previous_cycle(self, instance: InstanceRow) -> list[Verdict]:
        """A self-dependent task's instance also waits for its own previous instance (of the
        same backfill, for a backfill); the first one has none."""
        task = self.production.tasks.get(instance.task_id)
        if task is None or not task.config.dependency.self_dependent:
            return []
        same_run = (InstanceRow.backfill_id.is_(None) if instance.backfill_id is None
                    else InstanceRow.backfill_id == instance.backfill_id)
        previous = self.session.scalars(
            select(InstanceRow).where(InstanceRow.task_id == instance.task_id, InstanceRow.kind == instance.kind,
                                      same_run, InstanceRow.scheduled_time < instance.scheduled_time)
            .order_by(InstanceRow.scheduled_time.desc()).limit(1)).first()
        return [] if previous is None else [_judge("the previous cycle", previous.scheduled_time, previous.state)]


def _ready(reason: str) -> Verdict:
    return Verdict("waiting_resources", reason)


def _combined(verdicts: list[Verdict], reason: str) -> Verdict:
    """The first block, else wait while anything waits, else ready."""
    return next((v for v in verdicts if v.to_state), WAIT if WAIT in verdicts else _ready(reason))


def _judge(what: str, scheduled: datetime, state: str | None) -> Verdict:
    if state in PASSED:
        return PASS
    if state in BLOCKING:
        return Verdict("not_run", f"{what} instance of {scheduled:%Y-%m-%d %H:%M} did not succeed ({state})")
    return WAIT  # not made yet, waiting or running


def _recurring_states(session: Session, production: Production, waiting: list[InstanceRow]
                      ) -> dict[tuple[int, float], str]:
    """(upstream task, scheduled timestamp) -> state, for the upstream instances the
    waiting recurring instances may need."""
    upstream = {u for i in waiting for u in production.upstream.get(i.task_id, ())}
    dates = {i.business_date for i in waiting}
    if not upstream:
        return {}
    rows = session.execute(select(InstanceRow.task_id, InstanceRow.scheduled_time, InstanceRow.state).where(
        InstanceRow.kind == "recurring", InstanceRow.task_id.in_(upstream), InstanceRow.business_date.in_(dates)))
    return {(task_id, scheduled.timestamp()): state for task_id, scheduled, state in rows}


class _Turn(NamedTuple):
    dates: set[date]  # the dates that may run now
    task_ids: set[int]
    states: dict[tuple[int, date], list[str]]  # (task, date) -> its instances' states


def _backfill_turns(session: Session) -> dict[int, _Turn]:
    """For each running backfill, its first ``parallelism`` unfinished dates and the states
    of its instances on them."""
    turns = {}
    for backfill in session.scalars(select(BackfillRow).where(BackfillRow.state == "running")):
        rows = session.execute(select(InstanceRow.task_id, InstanceRow.business_date, InstanceRow.state)
                               .where(InstanceRow.backfill_id == backfill.id)).all()
        unfinished = sorted({d for _, d, state in rows if state not in FINISHED})
        dates = set(unfinished[:backfill.parallelism])
        states = defaultdict(list)
        for task_id, day, state in rows:
            if day in dates:
                states[(task_id, day)].append(state)
        turns[backfill.id] = _Turn(dates, set(backfill.task_ids), states)
    return turns


def _in_turn(turns: dict[int, _Turn]):
    """Not a backfill's instance, or one of a date whose turn it is."""
    return or_(InstanceRow.backfill_id.is_(None),
               *(and_(InstanceRow.backfill_id == backfill_id, InstanceRow.business_date.in_(turn.dates))
                 for backfill_id, turn in turns.items() if turn.dates))


def _finish_backfills(session: Session) -> None:
    """A running backfill whose instances have all finished is finished."""
    unfinished = (select(InstanceRow.backfill_id).where(InstanceRow.backfill_id == BackfillRow.id,
                                                        InstanceRow.state.not_in(FINISHED)).exists())
    for backfill in session.scalars(select(BackfillRow).where(BackfillRow.state == "running", ~unfinished)):
        backfill.state = "finished"

