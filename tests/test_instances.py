"""Instances on SQLite and on the real PostgreSQL: every transition and its event, batched
creation that never duplicates (twice, from threads, from processes), claims that never hand
one instance to two schedulers, priority order, heartbeats and the settling of orphans."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, update

from jupyter_offline_pipeline.scheduler.instances import (
    ORPHANED, STARTING_GRACE, TRANSITIONS, claim, create_due, heartbeat, settle_orphans, transition,
    transition_all)
from jupyter_offline_pipeline.service.errors import Conflict
from jupyter_offline_pipeline.store import Store
from jupyter_offline_pipeline.store.models import (
    FolderRow, InstanceEventRow, InstanceRow, ProjectRow, TaskRow, VersionRow, utcnow)

T0 = datetime(2026, 1, 1, 2, 0, tzinfo=timezone.utc)
FORK = multiprocessing.get_context("fork")


@pytest.fixture
def pg_url(pg_db):
    name = f"pipeline_instances_test_{uuid.uuid4().hex[:12]}"
    pg_db.execute(f"CREATE DATABASE {name}")
    yield f"postgresql://root@127.0.0.1:5432/{name}"
    pg_db.execute(f"DROP DATABASE {name} WITH (FORCE)")


def _store(url: str) -> Store:
    store = Store(url)
    with store.session() as s:
        project = ProjectRow(name="p", owner="alice")
        s.add(project)
        s.flush()
        folder = FolderRow(project_id=project.id, name="/")
        s.add(folder)
        s.flush()
        task = TaskRow(project_id=project.id, folder_id=folder.id, name="t", schedule_type="recurring",
                       source_type="csv", source_datasource="a", target_type="csv", target_datasource="b",
                       owner="alice")
        s.add(task)
        s.flush()
        s.add(VersionRow(task_id=task.id, number=1, script="{}", remarks="v1", author="alice"))
    return store


@pytest.fixture
def lite(tmp_path):
    store = _store(f"sqlite:///{tmp_path / 'store.db'}")
    yield store
    store.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    store = _store(url)
    yield store
    store.dispose()


def due(n: int, kind: str = "recurring", state: str = "waiting_time", **values) -> list[dict]:
    """``n`` instances of task 1 on consecutive business dates."""
    return [{"task_id": 1, "version_id": 1, "kind": kind, "state": state,
             "business_date": date(2026, 1, 1) + timedelta(days=i),
             "scheduled_time": T0 + timedelta(days=i), **values} for i in range(n)]


def count(store: Store, model=InstanceRow) -> int:
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def events(store: Store, instance_id: int) -> list[tuple]:
    with store.session() as s:
        return [(e.from_state, e.to_state, e.reason) for e in s.scalars(
            select(InstanceEventRow).where(InstanceEventRow.instance_id == instance_id).order_by(InstanceEventRow.id))]


# --- the state machine --------------------------------------------------------------------

LEGAL = [(a, b) for a, targets in TRANSITIONS.items() for b in sorted(targets)]


def test_every_legal_transition_is_made_and_recorded_with_time_and_reason(lite):
    assert create_due(lite, [dict(r, state=a) for r, (a, _) in zip(due(len(LEGAL)), LEGAL)]) == len(LEGAL)
    before = utcnow()
    with lite.session() as s:
        for instance, (_, to_state) in zip(s.scalars(select(InstanceRow).order_by(InstanceRow.id)), LEGAL):
            transition(s, instance, to_state, f"to {to_state}")
    with lite.session() as s:
        rows = s.scalars(select(InstanceRow).order_by(InstanceRow.id)).all()
        assert [r.state for r in rows] == [b for _, b in LEGAL]
        for row, (a, b) in zip(rows, LEGAL):
            assert events(lite, row.id) == [(None, a, "created"), (a, b, f"to {b}")]
        last = s.scalars(select(InstanceEventRow).order_by(InstanceEventRow.id.desc())).first()
        assert before <= last.at <= utcnow() and last.at.tzinfo is not None


def test_an_illegal_transition_is_a_conflict_and_changes_nothing(lite):
    create_due(lite, due(1, state="success"))
    with pytest.raises(Conflict, match="cannot go from success to running"):
        with lite.session() as s:
            transition(s, s.get(InstanceRow, 1), "running", "no")
    with lite.session() as s:
        assert s.get(InstanceRow, 1).state == "success"
    assert events(lite, 1) == [(None, "success", "created")]


def test_many_move_at_once_each_with_its_event_and_only_from_the_state_named(store):
    create_due(store, due(5) + due(1, state="killed", business_date=date(2027, 1, 1)))
    with store.session() as s:
        moved = transition_all(s, [1, 2, 3, 6], "waiting_time", "failed", "the task is paused",
                               error="the task is paused")
    assert moved == [1, 2, 3]
    with store.session() as s:
        rows = s.scalars(select(InstanceRow).order_by(InstanceRow.id)).all()
        assert [r.state for r in rows] == ["failed"] * 3 + ["waiting_time"] * 2 + ["killed"]
        assert all(r.finished_at is not None and r.error == "the task is paused" for r in rows[:3])
        assert rows[3].finished_at is None and rows[3].error is None
    assert events(store, 1) == [(None, "waiting_time", "created"), ("waiting_time", "failed", "the task is paused")]
    assert events(store, 6) == [(None, "killed", "created")]  # not in waiting_time: untouched
    with pytest.raises(Conflict, match="cannot go from waiting_time to success"):
        with store.session() as s:
            transition_all(s, [4], "waiting_time", "success", "no")


def test_a_rerun_frees_the_claim_so_the_instance_can_be_claimed_again(lite):
    create_due(lite, due(1, state="waiting_resources"))
    [first] = claim(lite, "a", 1)
    with lite.session() as s:
        transition(s, s.get(InstanceRow, first.id), "failed", "exit 1")
    with lite.session() as s:
        row = s.get(InstanceRow, first.id)
        assert row.finished_at is not None
        transition(s, row, "waiting_resources", "rerun by alice")
    [again] = claim(lite, "b", 1)
    assert again.id == first.id and again.claimed_by == "b" and again.finished_at is None


# --- creation -----------------------------------------------------------------------------

def test_create_due_twice_creates_once_but_manual_runs_may_repeat(store):
    assert create_due(store, due(20)) == 20
    assert create_due(store, due(25)) == 5  # a restart recomputes the same 20 and 5 more
    assert create_due(store, []) == 0
    assert create_due(store, due(2, kind="manual")) == 2
    assert create_due(store, due(2, kind="manual")) == 2
    assert count(store) == 29 and count(store, InstanceEventRow) == 29
    with store.session() as s:
        row = s.get(InstanceRow, 1)
        assert row.scheduled_time == T0 and row.params == {} and row.attempt == 1


def test_create_due_from_four_threads_creates_each_instance_once(store):
    with ThreadPoolExecutor(4) as pool:
        created = list(pool.map(lambda _: create_due(store, due(100)), range(4)))
    assert sum(created) == 100 and count(store) == 100 and count(store, InstanceEventRow) == 100


def _create_in_process(url: str, rounds: int, results) -> None:
    store = Store(url, migrate=False)
    results.put(sum(create_due(store, due(10 * (r + 1))) for r in range(rounds)))
    store.dispose()


def test_create_due_from_three_processes_creates_each_instance_once(store):
    store.dispose()  # no pooled connection crosses a fork
    results = FORK.Queue()
    workers = [FORK.Process(target=_create_in_process, args=(str(store.db_url), 5, results)) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    assert sum(results.get(timeout=5) for _ in workers) == 50 and count(store) == 50


# --- claims -------------------------------------------------------------------------------

def _drain(store: Store, name: str) -> list[int]:
    ids = []
    while batch := claim(store, name, 3):
        assert all(i.state == "running" and i.claimed_by == name for i in batch)
        ids += [i.id for i in batch]
    return ids


def _assert_claimed_once(store: Store, by_claimer: dict[str, list[int]], total: int) -> None:
    every = [i for ids in by_claimer.values() for i in ids]
    assert len(every) == len(set(every)) == total
    with store.session() as s:
        owner = dict(s.execute(select(InstanceRow.id, InstanceRow.claimed_by)).all())
    assert all(owner[i] == name for name, ids in by_claimer.items() for i in ids)
    assert count(store, InstanceEventRow) == 2 * total  # created + claimed, once each


def test_four_threads_never_claim_the_same_instance(store):
    create_due(store, due(120, state="waiting_resources"))
    names = ["a", "b", "c", "d"]
    with ThreadPoolExecutor(4) as pool:
        claimed = dict(zip(names, pool.map(lambda n: _drain(store, n), names)))
    _assert_claimed_once(store, claimed, 120)


def _claim_in_process(url: str, name: str, results) -> None:
    store = Store(url, migrate=False)
    results.put((name, _drain(store, name)))
    store.dispose()


def test_three_processes_never_claim_the_same_instance(store):
    create_due(store, due(90, state="waiting_resources"))
    store.dispose()
    results = FORK.Queue()
    workers = [FORK.Process(target=_claim_in_process, args=(str(store.db_url), n, results)) for n in "xyz"]
    for w in workers:
        w.start()
    claimed = dict(results.get(timeout=30) for _ in workers)
    for w in workers:
        w.join(5)
    _assert_claimed_once(store, claimed, 90)


def test_claim_takes_higher_priority_first_then_earlier_time_and_only_queued_ones(store):
    rows = due(6, state="waiting_resources")
    for row, priority in zip(rows, [1, 5, 5, 0, 9, 1]):
        row["priority"] = priority
    create_due(store, rows + due(1, kind="manual", state="waiting_upstream", priority=99))
    first, second = claim(store, "a", 3), claim(store, "a", 10)
    assert [(i.priority, i.id) for i in first] == [(9, 5), (5, 2), (5, 3)]
    assert [(i.priority, i.id) for i in second] == [(1, 1), (1, 6), (0, 4)]
    assert claim(store, "a", 10) == [] and claim(store, "a", 0) == []


# --- heartbeats and orphans ---------------------------------------------------------------

def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_heartbeat_is_the_claimers_only(store):
    create_due(store, due(1, state="waiting_resources"))
    [instance] = claim(store, "a", 1)
    assert heartbeat(store, instance.id, "a", pid=4242)
    assert not heartbeat(store, instance.id, "b")
    with store.session() as s:
        row = s.get(InstanceRow, instance.id)
        assert row.pid == 4242 and row.heartbeat_at >= instance.heartbeat_at


def test_settle_orphans_fails_stale_and_dead_runs_only(store):
    create_due(store, due(5, state="waiting_resources") + due(1, kind="manual"))
    ids = [i.id for i in claim(store, "here", 3)] + [i.id for i in claim(store, "there", 2)]
    stale, dead, alive, fresh, other_dead = ids
    old = utcnow() - timedelta(hours=1)
    with store.session() as s:
        s.execute(update(InstanceRow).where(InstanceRow.id == stale).values(heartbeat_at=old, pid=os.getpid()))
        s.execute(update(InstanceRow).where(InstanceRow.id == dead).values(pid=_dead_pid()))
        s.execute(update(InstanceRow).where(InstanceRow.id == alive).values(pid=os.getpid()))
        # another host's pid means nothing here: only its heartbeat counts
        s.execute(update(InstanceRow).where(InstanceRow.id == other_dead).values(pid=_dead_pid()))
    assert settle_orphans(store, "here", timedelta(minutes=5)) == [stale, dead]
    with store.session() as s:
        state = dict(s.execute(select(InstanceRow.id, InstanceRow.state)).all())
        assert s.get(InstanceRow, dead).error == ORPHANED and s.get(InstanceRow, dead).finished_at
    assert [state[i] for i in ids] == ["failed", "failed", "running", "running", "running"]
    assert state[6] == "waiting_time"
    assert events(store, stale)[-1] == ("running", "failed", ORPHANED)
    assert settle_orphans(store, "here", timedelta(minutes=5)) == []


def test_a_claim_that_never_got_a_worker_is_settled_after_a_grace(store):
    create_due(store, due(2, state="waiting_resources"))
    starting, abandoned = [i.id for i in claim(store, "here", 2)]
    with store.session() as s:  # the scheduler died between the claim and handing it to a worker
        s.execute(update(InstanceRow).where(InstanceRow.id == abandoned)
                  .values(heartbeat_at=utcnow() - STARTING_GRACE - timedelta(seconds=1)))
    assert settle_orphans(store, "here", timedelta(minutes=5)) == [abandoned]
    assert settle_orphans(store, "elsewhere", timedelta(minutes=5)) == []  # not another host's to judge
