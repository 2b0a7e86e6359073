"""The Operation Center (SPEC section 8): production tasks and their instances, logs and
code, run now, rerun, kill, backfills, and the failures the frontend notifies about.

Anyone may read. Acting (run, rerun, kill, backfill, cancel) is for the task's owner, its
production schedule's operation owner and admins. The service only writes rows, every
state change through ``instances.transition``: the schedulers pick waiting instances up
from the store, and kill a running one they see set to ``killed``.
"""

from __future__ import annotations

import io
import os
import re
from collections import defaultdict
from collections.abc import Iterator
from itertools import islice
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..service.errors import Conflict, Forbidden, InvalidInput, Issue, NotFound
from ..service.projects import existing, iso, project_row
from ..service.schedule import ScheduleConfig
from ..service.submit import latest_version
from ..service.tasks import issues_summary, task_row
from ..service.users import User
from ..store import Store
from ..store.models import (BackfillRow, InstanceEventRow, InstanceRow, ProjectRow, TaskRow, VersionRow,
                            utcnow)
from .instances import FINISHED, RERUNNABLE, STATES, WAITING, insert_instances, transition
from .production import PRIORITIES, Production, ProductionTask
from .triggers import Run, next_runs, runs_between, runs_on

KINDS = ("recurring", "manual", "backfill")
PRIORITY_NAMES = {number: name for name, number in PRIORITIES.items()}
MAX_PAGE = 500
MAX_BACKFILL_DAYS = 3660
MAX_PARALLELISM = 32
MAX_BACKFILL_INSTANCES = 100_000  # a minute cycle over years would be millions: refused
MAX_LOG_CHUNK = 1 << 20  # of log text in one JSON answer; ``offset`` continues from there
MAX_TAIL_LINES = 10_000
MAX_PARAM_VALUE = 1000  # as a schedule parameter's default value
ALERTS = ("failed", "killed")  # the states the frontend notifies about
_DAY, _MICROSECOND = timedelta(days=1), timedelta(microseconds=1)
_DATE = re.compile(r"[0-9]{8}|[0-9]{4}-[0-9]{2}-[0-9]{2}")


class OperationCenter:
    def __init__(self, store: Store):
        self.store = store

    # --- reading ----------------------------------------------------------------------------

    def production_tasks(self, user: User, project_id: int | None = None,
                         search: str | None = None) -> list[dict[str, Any]]:
        """What production runs, by project and name; ``search`` matches names, any case."""
        with self.store.session(read_only=True) as session:
            production = Production.load(session)
            project = project_row(session, project_id).name if project_id is not None else None
        below = _direct_downstream(production.upstream)
        tasks = [t for t in production.tasks.values()
                 if (project_id is None or t.project == project) and (not search or search.lower() in t.name.lower())]
        return [_task_view(t, production, below) for t in sorted(tasks, key=lambda t: (t.project, t.name))]

    def instances(self, user: User, *, task_id: int | None = None, states: list[str] | None = None,
                  kind: str | None = None, owner: str | None = None, business_date_from: date | str | None = None,
                  business_date_to: date | str | None = None, backfill_id: int | None = None,
                  limit: int = 50, offset: int = 0) -> dict[str, Any]:
        """A page of instances, newest scheduled first, and how many match in all."""
        where = _filters(task_id, states, kind, owner, business_date_from, business_date_to, backfill_id)
        _check_page(limit, offset)
        with self.store.session(read_only=True) as session:
            total = session.scalar(_joined(select(func.count(InstanceRow.id))).where(*where))
            rows = session.execute(_joined(select(*_VIEW_COLUMNS)).where(*where).order_by(
                InstanceRow.scheduled_time.desc(), InstanceRow.id.desc()).limit(limit).offset(offset))
            return {"instances": [_view(*row) for row in rows], "total": total}

    def instance(self, user: User, instance_id: int) -> dict[str, Any]:
        """The instance with its state changes and what it waits for upstream."""
        with self.store.session(read_only=True) as session:
            instance = _instance_row(session, instance_id)
            events = session.scalars(select(InstanceEventRow).where(InstanceEventRow.instance_id == instance_id)
                                     .order_by(InstanceEventRow.id))
            return {**_views(session, [instance_id])[0],
                    "events": [{"at": iso(e.at), "from": e.from_state, "to": e.to_state, "reason": e.reason}
                               for e in events],
                    "upstream": _waits_for(session, instance, Production.load(session))}

    def log(self, user: User, instance_id: int, *, tail_lines: int | None = None,
            offset: int | None = None) -> dict[str, Any]:
        """The log's last ``tail_lines`` lines, or its text from byte ``offset`` (to follow it:
        ask again from the answer's ``offset``), at most ``MAX_LOG_CHUNK`` bytes of it."""
        if tail_lines is not None and offset is not None:
            raise InvalidInput("give tail or offset, not both", [Issue("tail", "not with offset")])
        if tail_lines is not None and not 0 <= tail_lines <= MAX_TAIL_LINES:
            raise InvalidInput(f"tail must be 0 to {MAX_TAIL_LINES} lines", [Issue("tail", f"0 to {MAX_TAIL_LINES}")])
        with self.store.session(read_only=True) as session:
            instance = _instance_row(session, instance_id)
            path, finished = instance.log_path, instance.state in FINISHED
        text, end, size = _read_log(path, tail_lines, offset)
        return {"text": text, "offset": end, "size": size, "finished": finished}

    def log_file(self, user: User, instance_id: int) -> BinaryIO:
        """The whole log, opened for a download (empty while there is none): the caller closes it."""
        with self.store.session(read_only=True) as session:
            path = _instance_row(session, instance_id).log_path
        try:
            return open(path, "rb") if path else io.BytesIO()
        except FileNotFoundError:
            return io.BytesIO()

    def code(self, user: User, instance_id: int) -> dict[str, Any]:
        """The script of the version the instance runs, and as it ran (parameters resolved)."""
        with self.store.session(read_only=True) as session:
            instance = _instance_row(session, instance_id)
            version = session.get(VersionRow, instance.version_id)
            return {"task_id": instance.task_id, "version": version.number, "script": version.script,
                    "resolved_script": instance.resolved_script}

    # --- acting -----------------------------------------------------------------------------

    def run_now(self, user: User, task_id: int, *, bizdate: date | str | None = None,
                params: dict[str, str] | None = None) -> dict[str, Any]:
        """A manual instance of the production version for ``bizdate`` (default: yesterday in
        the schedule's time zone), ``params`` overriding custom parameters' defaults."""
        params = params or {}
        with self.store.session() as session:
            _, task = _production_task(session, user, task_id)
            zone = ZoneInfo(task.config.schedule.timezone)
            day = parse_date(bizdate, "bizdate") if bizdate is not None else datetime.now(zone).date() - _DAY
            _check_params(task, params)
            row = task.new_instance("manual", day, utcnow(), user.name, params=params)
            [created] = insert_instances(session, [row], reason=f"run now by {user.name}")
            return _views(session, [created])[0]

    def rerun(self, user: User, instance_id: int, *, force: bool = False,
              downstream: bool = False) -> list[dict[str, Any]]:
        """Send a finished instance back to wait: for its upstream again, or (``force``)
        straight for resources. ``downstream``: the downstream tasks' finished instances of
        the same business date and kind (and backfill) go back too, waiting for this one."""
        with self.store.session() as session:
            instance, production = _acted_on(session, user, instance_id)
            if instance.state not in RERUNNABLE:
                raise Conflict(f"instance {instance_id} is {instance.state}: only {_listed(RERUNNABLE)} "
                               "instances can be rerun")
            how = "force rerun" if force else "rerun"
            _rerun(session, instance, "waiting_resources" if force else "waiting_upstream", f"{how} by {user.name}")
            rerun = [instance]
            for below in _downstream_instances(session, instance, production) if downstream else ():
                _rerun(session, below, "waiting_upstream",
                       f"rerun with upstream instance {instance.id} by {user.name}")
                rerun.append(below)
            session.flush()
            return _views(session, [i.id for i in rerun])

    def kill(self, user: User, instance_id: int) -> dict[str, Any]:
        """Stop a waiting or running instance (its scheduler kills the run within a second)."""
        with self.store.session() as session:
            instance, _ = _acted_on(session, user, instance_id)
            if instance.state not in (*WAITING, "running"):
                raise Conflict(f"instance {instance_id} is {instance.state}: only a waiting or running "
                               "instance can be killed")
            transition(session, instance, "killed", f"killed by {user.name}")
            session.flush()
            return _views(session, [instance.id])[0]

    # --- backfills ----------------------------------------------------------------------------

    def backfill(self, user: User, task_id: int, *, date_from: date | str, date_to: date | str,
                 downstream: bool | list[int] = False, parallelism: int = 1) -> dict[str, Any]:
        """Instances of the task (and of its chosen downstream tasks, after their upstream)
        for every run of every business date from ``date_from`` to ``date_to``, in date
        order, all created with the backfill in one transaction."""
        first, last = _checked_range(date_from, date_to, parallelism)
        with self.store.session() as session:
            production, task = _production_task(session, user, task_id)
            if not task.recurring:
                raise InvalidInput(f"task {task.name!r} is a manual task: it has no schedule to backfill; run it now",
                                   [Issue("task_id", "a manual task: use run now")])
            tasks = [task, *(production.tasks[i] for i in _chosen_downstream(production, task, downstream))]
            try:
                runs = _backfill_runs(tasks, first, last)
            except OverflowError:  # the runs of 9999-12-31 would be in the year 10000
                raise InvalidInput("the dates are too far in the future", [Issue("to", "too far in the future")]) from None
            backfill = BackfillRow(task_id=task.id, task_ids=[t.id for t in tasks], from_date=first, to_date=last,
                                   parallelism=parallelism, state="running", created_by=user.name)
            session.add(backfill)
            session.flush()
            insert_instances(session, [t.new_instance("backfill", run.business_date, run.scheduled_time, user.name,
                                                    backfill_id=backfill.id) for t, run in runs],
                             reason=f"backfill {backfill.id} by {user.name}")
            return _backfill_views(session, [backfill])[0]

    def backfills(self, user: User, task_id: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """The newest backfills (of one task, the one it was started on, when given)."""
        _check_page(limit, 0)
        with self.store.session(read_only=True) as session:
            if task_id is not None:
                task_row(session, task_id)
            query = select(BackfillRow).order_by(BackfillRow.id.desc()).limit(limit)
            if task_id is not None:
                query = query.where(BackfillRow.task_id == task_id)
            return _backfill_views(session, session.scalars(query).all())

    def backfill_view(self, user: User, backfill_id: int) -> dict[str, Any]:
        with self.store.session(read_only=True) as session:
            return _backfill_views(session, [existing(session, BackfillRow, backfill_id, "backfill")])[0]

    def cancel_backfill(self, user: User, backfill_id: int) -> dict[str, Any]:
        """Stop a running backfill: its waiting and running instances are killed."""
        with self.store.session() as session:
            backfill = existing(session, BackfillRow, backfill_id, "backfill")
            _authorize(session, user, backfill.task_id, Production.load(session))
            if backfill.state != "running":
                raise Conflict(f"backfill {backfill_id} is {backfill.state}: only a running backfill can be cancelled")
            backfill.state = "cancelled"
            live = session.scalars(select(InstanceRow).where(
                InstanceRow.backfill_id == backfill_id, InstanceRow.state.in_([*WAITING, "running"]))
                .order_by(InstanceRow.id).with_for_update())
            for instance in live:
                transition(session, instance, "killed", f"backfill cancelled by {user.name}")
            session.flush()
            return _backfill_views(session, [backfill])[0]

    # --- notifications ------------------------------------------------------------------------

    def notifications(self, user: User, after: int | None = None, limit: int = 50) -> dict[str, Any]:
        """The instances' moves to ``failed`` or ``killed``, oldest first: those after event
        ``after``, or the latest ``limit``. Poll again with ``after`` = the answer's ``last``."""
        _check_page(limit, 0)
        query = (select(InstanceEventRow, InstanceRow, TaskRow.name)
                 .join(InstanceRow, InstanceRow.id == InstanceEventRow.instance_id)
                 .join(TaskRow, TaskRow.id == InstanceRow.task_id)
                 .where(InstanceEventRow.to_state.in_(ALERTS)).limit(limit))
        if after is None:
            query = query.order_by(InstanceEventRow.id.desc())
        else:
            query = query.where(InstanceEventRow.id > after).order_by(InstanceEventRow.id)
        with self.store.session(read_only=True) as session:
            rows = sorted(session.execute(query).all(), key=lambda row: row[0].id)
        events = [_alert(*row) for row in rows]
        return {"events": events, "last": events[-1]["id"] if events else (after or 0)}


# --- rows for the scheduler and for the actions ------------------------------------------------


def parse_date(value: date | str, field: str) -> date:
    """A business date given as a date, ``YYYYMMDD`` or ``YYYY-MM-DD``; else InvalidInput on ``field``."""
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value):
        digits = value.replace("-", "")
        try:
            return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
        except ValueError:
            pass
    raise InvalidInput(f"{field}: {value!r} is not a date", [Issue(field, "use YYYYMMDD or YYYY-MM-DD")])


def _instance_row(session: Session, instance_id: int, lock: bool = False) -> InstanceRow:
    row = session.get(InstanceRow, instance_id, with_for_update=lock)
    if row is None:
        raise NotFound(f"instance {instance_id} does not exist")
    return row


def _production_task(session: Session, user: User, task_id: int) -> tuple[Production, ProductionTask]:
    """The task as production runs it, if the user may operate it."""
    name = task_row(session, task_id).name
    production = Production.load(session)
    task = production.tasks.get(task_id)
    if task is None:
        raise Conflict(f"task {name!r} is not in production: submit it (and, in a Dev-Prod project, "
                       "publish it) first")
    _check_operator(user, task.name, task.owner, task.config.basic.operation_owner)
    return production, task


def _acted_on(session: Session, user: User, instance_id: int) -> tuple[InstanceRow, Production]:
    """The instance, locked against a scheduler changing it meanwhile, if the user may act on it."""
    instance = _instance_row(session, instance_id, lock=True)
    production = Production.load(session)
    _authorize(session, user, instance.task_id, production)
    return instance, production


def _authorize(session: Session, user: User, task_id: int, production: Production) -> None:
    """The operation owner is production's; a task out of production (its deletion waits to
    be published) keeps the one of its newest version."""
    task, live = task_row(session, task_id), production.tasks.get(task_id)
    config = live.config if live else _config(latest_version(session, task_id))
    _check_operator(user, task.name, task.owner, config.basic.operation_owner)


def _check_operator(user: User, task_name: str, owner: str, operation_owner: str) -> None:
    if user.is_admin or user.name in (owner, operation_owner):
        return
    who = f"{owner} (the owner)"
    if operation_owner and operation_owner != owner:
        who += f", {operation_owner} (the operation owner)"
    raise Forbidden(f"only {who} or an admin may operate task {task_name!r}")


def _config(version: VersionRow | None) -> ScheduleConfig:
    return ScheduleConfig.model_validate((version.schedule if version else None) or {})


def _rerun(session: Session, instance: InstanceRow, to_state: str, reason: str) -> None:
    """A new attempt, with the reruns on failure of the version it runs."""
    transition(session, instance, to_state, reason)
    instance.attempt += 1
    reruns = _config(session.get(VersionRow, instance.version_id)).run.rerun_on_failure.count
    instance.max_attempts = instance.attempt + reruns
    instance.run_after = instance.error = instance.stats = instance.started_at = None


def _downstream_instances(session: Session, instance: InstanceRow, production: Production) -> list[InstanceRow]:
    """The rerunnable instances of the downstream tasks that wait for ``instance``: same
    business date, same kind, same backfill; nearest tasks first."""
    tasks = production.downstream(instance.task_id)
    found = session.scalars(select(InstanceRow).where(
        InstanceRow.task_id.in_(tasks), InstanceRow.business_date == instance.business_date,
        InstanceRow.kind == instance.kind, InstanceRow.state.in_(RERUNNABLE),
        (InstanceRow.backfill_id == instance.backfill_id) if instance.backfill_id is not None
        else InstanceRow.backfill_id.is_(None)).with_for_update()).all()
    order = {task_id: index for index, task_id in enumerate(tasks)}
    return sorted(found, key=lambda i: (order[i.task_id], i.scheduled_time, i.id))


def _check_params(task: ProductionTask, params: dict[str, Any]) -> None:
    """Run-time values override the task's own custom parameters, and only those."""
    defined = task.parameters()
    known = ", ".join(sorted(defined)) or "none"
    issues = [Issue(f"params.{name}", f"task {task.name!r} has no parameter {name!r} (its parameters: {known})")
              for name in params if name not in defined]
    issues += [Issue(f"params.{name}", f"must be a string of at most {MAX_PARAM_VALUE} characters")
               for name, value in params.items()
               if name in defined and not (isinstance(value, str) and len(value) <= MAX_PARAM_VALUE)]
    _refuse(issues)


def _checked_range(date_from: date | str, date_to: date | str, parallelism: int) -> tuple[date, date]:
    first, last = parse_date(date_from, "from"), parse_date(date_to, "to")
    issues = []
    if first > last:
        issues.append(Issue("from", f"{first} is after to ({last})"))
    elif (last - first).days + 1 > MAX_BACKFILL_DAYS:
        issues.append(Issue("to", f"a backfill covers at most {MAX_BACKFILL_DAYS} business dates "
                                  f"(got {(last - first).days + 1})"))
    if isinstance(parallelism, bool) or not isinstance(parallelism, int) or not 1 <= parallelism <= MAX_PARALLELISM:
        issues.append(Issue("parallelism", f"must be 1 to {MAX_PARALLELISM} dates at a time"))
    _refuse(issues)
    return first, last


def _chosen_downstream(production: Production, task: ProductionTask, chosen: bool | list[int]) -> list[int]:
    """The downstream tasks to backfill too (all, none or the listed), each after its upstream."""
    below = production.downstream(task.id)
    if isinstance(chosen, bool):
        return _dependency_order(production, below if chosen else [])
    if strangers := [i for i in chosen if i not in below]:
        _refuse([Issue("downstream", f"{_listed(map(str, strangers))}: not downstream of task {task.name!r} "
                                     f"(its downstream tasks: {_listed(map(str, below)) or 'none'})")])
    return _dependency_order(production, [i for i in below if i in chosen])


def _dependency_order(production: Production, task_ids: list[int]) -> list[int]:
    """``task_ids`` with each after those of its upstream tasks among them (``downstream``
    gives nearest first, which a task two hops away by one path and one by another breaks)."""
    ordered, left = [], list(task_ids)
    while left:
        ready = next((t for t in left if not production.upstream.get(t, set()) & set(left)), left[0])
        ordered.append(ready)
        left.remove(ready)
    return ordered


def _backfill_runs(tasks: list[ProductionTask], first: date, last: date) -> list[tuple[ProductionTask, Run]]:
    """Every run of ``tasks`` with a business date first..last: by date, then task, then
    time. Tasks on the same cycle (a chain usually is) share the computing of its runs."""
    by_cycle: dict[str, list[Run]] = {}
    runs = []
    for index, task in enumerate(tasks):
        cycle = task.config.schedule.model_dump_json(include={"cycle", "timezone", "effective_from", "effective_to"})
        if cycle not in by_cycle:  # computed no further than the limit
            _check_count(_estimate(task.config, first, last))
            by_cycle[cycle] = list(islice(_runs(task.config, first, last), MAX_BACKFILL_INSTANCES + 1))
        runs += [(run.business_date, index, run.scheduled_time.timestamp(), task, run) for run in by_cycle[cycle]]
        _check_count(len(runs))
    if not runs:
        message = f"no run of the chosen tasks has a business date from {first} to {last}"
        raise InvalidInput(message, [Issue("from", message)])
    runs.sort(key=lambda r: r[:3])
    return [(task, run) for *_, task, run in runs]


def _check_count(count: int) -> None:
    if count > MAX_BACKFILL_INSTANCES:
        raise InvalidInput(f"the backfill would make more than {MAX_BACKFILL_INSTANCES} instances: "
                           "choose fewer dates or tasks", [Issue("to", "too many instances")])


def _estimate(config: ScheduleConfig, first: date, last: date) -> int:
    """At least how many runs a minute or hour cycle makes over the dates: its days are
    alike, so one day's count tells (less a tenth, for the hours daylight saving takes),
    where computing 100000 minute runs takes seconds. 0 for the other cycles: at most a
    run a day, or a cron, counted as computed."""
    schedule = config.schedule
    if schedule.cycle.type not in ("minute", "hour"):
        return 0
    # a business date runs the next day, which the effective dates bound
    start = max(first, schedule.effective_from - _DAY) if schedule.effective_from > date.min else first
    end = min(last, schedule.effective_to - _DAY)
    return len(runs_on(config, start)) * ((end - start).days + 1) * 9 // 10 if start <= end else 0


def _runs(config: ScheduleConfig, first: date, last: date) -> Iterator[Run]:
    """``runs_on`` every date from ``first`` to ``last``, a week of dates per query (a
    query per date costs the trigger's set-up each time; all dates at once would compute
    a minute cycle's years before they could be refused)."""
    zone = ZoneInfo(config.schedule.timezone)
    day = first
    while day <= last:
        end = min(day + 6 * _DAY, last)
        # a business date's runs are scheduled on the next day, as runs_on has it
        runs = runs_between(config, datetime.combine(day + _DAY, time.min, zone) - _MICROSECOND,
                            datetime.combine(end + _DAY, time.max, zone))
        yield from (run for run in runs if day <= run.business_date <= end)
        day = end + _DAY


# --- reading helpers ----------------------------------------------------------------------------

_VIEW_COLUMNS = (InstanceRow, TaskRow.name, TaskRow.owner, ProjectRow.name, VersionRow.number)


def _joined(query):
    return (query.join(TaskRow, TaskRow.id == InstanceRow.task_id)
            .join(ProjectRow, ProjectRow.id == TaskRow.project_id)
            .join(VersionRow, VersionRow.id == InstanceRow.version_id))


def _views(session: Session, ids: list[int]) -> list[dict[str, Any]]:
    """The views of instances ``ids``, in that order."""
    rows = {row[0].id: row for row in session.execute(_joined(select(*_VIEW_COLUMNS)).where(InstanceRow.id.in_(ids)))}
    return [_view(*rows[i]) for i in ids]


def _view(instance: InstanceRow, task_name: str, owner: str, project: str, version: int) -> dict[str, Any]:
    return {
        "id": instance.id, "task_id": instance.task_id, "task_name": task_name, "project": project,
        "owner": owner, "version": version, "kind": instance.kind,
        "business_date": instance.business_date.isoformat(), "scheduled_time": iso(instance.scheduled_time),
        "state": instance.state, "priority": PRIORITY_NAMES.get(instance.priority, str(instance.priority)),
        "attempt": instance.attempt, "max_attempts": instance.max_attempts, "params": instance.params or {},
        "backfill_id": instance.backfill_id, "triggered_by": instance.triggered_by,
        "started_at": _iso(instance.started_at), "finished_at": _iso(instance.finished_at),
        "duration_seconds": _duration(instance), "stats": instance.stats, "error": instance.error,
        "log_available": bool(instance.log_path) and os.path.isfile(instance.log_path),
    }


def _duration(instance: InstanceRow) -> float | None:
    """Of the run: so far while it runs, start to end once it ended."""
    if instance.started_at is None:
        return None
    end = utcnow() if instance.state == "running" else instance.finished_at
    return round((end - instance.started_at).total_seconds(), 3) if end and end >= instance.started_at else None


def _iso(moment: datetime | None) -> str | None:
    return iso(moment) if moment else None


def _filters(task_id, states, kind, owner, date_from, date_to, backfill_id) -> list:
    issues = []
    if unknown := [s for s in states or () if s not in STATES]:
        issues.append(Issue("state", f"unknown {_listed(unknown)}; states: {_listed(sorted(STATES))}"))
    if kind is not None and kind not in KINDS:
        issues.append(Issue("kind", f"must be {_listed(KINDS)}"))
    _refuse(issues)
    where = [column == value for column, value in ((InstanceRow.task_id, task_id), (InstanceRow.kind, kind),
                                                   (TaskRow.owner, owner), (InstanceRow.backfill_id, backfill_id))
             if value is not None]
    if states:
        where.append(InstanceRow.state.in_(states))
    if date_from is not None:
        where.append(InstanceRow.business_date >= parse_date(date_from, "from"))
    if date_to is not None:
        where.append(InstanceRow.business_date <= parse_date(date_to, "to"))
    return where


def _check_page(limit: int, offset: int) -> None:
    issues = [Issue(name, message) for name, message, bad in (
        ("limit", f"1 to {MAX_PAGE}", not 1 <= limit <= MAX_PAGE), ("offset", "at least 0", offset < 0)) if bad]
    _refuse(issues)


def _refuse(issues: list[Issue]) -> None:
    """One InvalidInput naming every field at fault, when any is."""
    if issues:
        raise InvalidInput(issues_summary(issues), issues)


def _listed(values) -> str:
    return ", ".join(values)


def _waits_for(session: Session, instance: InstanceRow, production: Production) -> list[dict[str, Any]]:
    """Per upstream task, its instances of the same business date and kind: a manual run
    waits for none; a backfill only for the tasks it backfills, in the same backfill."""
    tasks = production.upstream.get(instance.task_id, set())
    if instance.kind == "manual" or not tasks:
        return []
    query = select(InstanceRow).where(InstanceRow.task_id.in_(tasks), InstanceRow.kind == instance.kind,
                                      InstanceRow.business_date == instance.business_date)
    if instance.kind == "backfill":
        tasks = tasks & set(session.get(BackfillRow, instance.backfill_id).task_ids)
        query = query.where(InstanceRow.backfill_id == instance.backfill_id)
    found = defaultdict(list)
    for row in session.scalars(query.order_by(InstanceRow.scheduled_time, InstanceRow.id)):
        found[row.task_id].append({"id": row.id, "state": row.state, "scheduled_time": iso(row.scheduled_time)})
    return [{"task_id": task_id, "task_name": production.tasks[task_id].name, "instances": found[task_id],
             # SPEC 6: every upstream instance of the date succeeded or was a dry run
             "ok": bool(found[task_id]) and all(i["state"] in ("success", "dry_run") for i in found[task_id])}
            for task_id in sorted(tasks)]


def _direct_downstream(upstream: dict[int, set[int]]) -> dict[int, set[int]]:
    below: dict[int, set[int]] = defaultdict(set)
    for task_id, ups in upstream.items():
        for up in ups:
            below[up].add(task_id)
    return below


def _task_view(task: ProductionTask, production: Production, below: dict[int, set[int]]) -> dict[str, Any]:
    schedule = task.config.schedule
    upcoming = next(iter(next_runs(task.config, 1)), None)
    named = lambda ids: [{"id": i, "name": production.tasks[i].name} for i in sorted(ids)]  # noqa: E731
    return {
        "id": task.id, "name": task.name, "project": task.project, "owner": task.owner,
        "operation_owner": task.config.basic.operation_owner, "schedule_type": task.schedule_type,
        "version": task.version, "state": task.state, "cycle": schedule.cycle.type if schedule.cycle else None,
        "timezone": schedule.timezone, "priority": schedule.priority,
        "next_run_time": iso(upcoming.scheduled_time.astimezone(timezone.utc)) if upcoming else None,
        "next_business_date": upcoming.business_date.isoformat() if upcoming else None,
        "upstream": named(production.upstream.get(task.id, ())), "downstream": named(below.get(task.id, ())),
    }


def _backfill_views(session: Session, backfills: list[BackfillRow]) -> list[dict[str, Any]]:
    """Each backfill with its instances counted by state, and its business dates whose
    instances have all finished (``dates_done``) out of those it has."""
    ids = [b.id for b in backfills]
    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    open_by_date: dict[int, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for backfill_id, day, state, n in session.execute(
            select(InstanceRow.backfill_id, InstanceRow.business_date, InstanceRow.state, func.count())
            .where(InstanceRow.backfill_id.in_(ids))
            .group_by(InstanceRow.backfill_id, InstanceRow.business_date, InstanceRow.state)):
        counts[backfill_id][state] += n
        open_by_date[backfill_id][day] += 0 if state in FINISHED else n
    task_ids = {t for b in backfills for t in b.task_ids}
    names = dict(session.execute(select(TaskRow.id, TaskRow.name).where(TaskRow.id.in_(task_ids))).all())
    return [{
        "id": b.id, "task_id": b.task_id, "task_name": names.get(b.task_id),
        "tasks": [{"id": t, "name": names.get(t)} for t in b.task_ids],
        "from": b.from_date.isoformat(), "to": b.to_date.isoformat(), "parallelism": b.parallelism,
        "state": b.state, "created_by": b.created_by, "created_at": iso(b.created_at),
        "total": sum(counts[b.id].values()), "counts": dict(counts[b.id]),
        "dates_total": len(open_by_date[b.id]),
        "dates_done": sum(1 for still_open in open_by_date[b.id].values() if not still_open),
    } for b in backfills]


def _alert(event: InstanceEventRow, instance: InstanceRow, task_name: str) -> dict[str, Any]:
    return {"id": event.id, "instance_id": instance.id, "task_id": instance.task_id, "task_name": task_name,
            "business_date": instance.business_date.isoformat(), "kind": instance.kind, "state": event.to_state,
            "reason": event.reason, "at": iso(event.at), "timed_out": event.reason.startswith("timed out")}


def _read_log(path: str | None, tail_lines: int | None, offset: int | None) -> tuple[str, int, int]:
    """(text, the byte it reads up to, the file's size); no file yet: nothing, not an error."""
    if not path:
        return "", 0, 0
    try:
        with open(path, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            if offset is not None and not 0 <= offset <= size:
                raise InvalidInput(f"offset {offset} is past the log's end ({size} bytes)",
                                   [Issue("offset", f"0 to {size}")])
            start = size - min(size, MAX_LOG_CHUNK) if tail_lines is not None else offset or 0
            file.seek(start)
            data = file.read(min(size - start, MAX_LOG_CHUNK))
    except FileNotFoundError:
        return "", 0, 0
    if tail_lines is not None:
        lines = data.splitlines(keepends=True)
        data = b"".join(lines[max(0, len(lines) - tail_lines):])
        start = size - len(data)
    data = _whole_characters(data)
    return data.decode("utf-8", "replace"), start + len(data), size


def _whole_characters(data: bytes) -> bytes:
    """``data`` without a UTF-8 character cut at its end (the rest comes with the next read)."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte & 0xC0 != 0x80:  # the last character's first byte
            length = 1 if byte < 0x80 else 2 if byte >> 5 == 0b110 else 3 if byte >> 4 == 0b1110 else 4
            return data[:-back] if length > back else data
    return data
