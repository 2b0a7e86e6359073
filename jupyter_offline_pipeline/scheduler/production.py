"""What production runs: each live task's newest published version, its schedule
configuration and its place in the dependency graph.

The scheduler loads a ``Production`` each tick (one query for the versions, one for the
lineage), so a publish, a deletion or a changed schedule counts from the next tick on. Those
queries read only the columns used here (not the versions' scripts and checks), and a caller
that loads again and again (the scheduler) passes a cache of the parsed schedule
configurations, so a tick parses only the versions published since the last one.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..service.lineage import published_versions, upstream_map
from ..service.schedule import ScheduleConfig
from ..store.models import LineageRow, ProjectRow, TaskRow, VersionRow

# the schedule's priority names, as the instances' integer column orders them
PRIORITIES = {"lowest": 1, "low": 2, "medium": 3, "high": 4, "highest": 5}


@dataclass(frozen=True)
class ProductionTask:
    id: int
    name: str
    project: str
    owner: str
    schedule_type: str  # recurring | manual
    version_id: int
    version: int
    published_at: datetime
    config: ScheduleConfig = field(compare=False)

    @property
    def recurring(self) -> bool:
        return self.schedule_type == "recurring" and self.config.schedule.cycle is not None

    @property
    def priority(self) -> int:
        return PRIORITIES[self.config.schedule.priority]

    @property
    def state(self) -> str:
        """normal | dry_run | paused"""
        return self.config.schedule.state

    def parameters(self) -> dict[str, str]:
        return {p.name: p.value for p in self.config.parameters}

    def new_instance(self, kind: str, business_date: date, scheduled_time: datetime, triggered_by: str, *,
                     params: dict[str, str] | None = None, backfill_id: int | None = None) -> dict[str, Any]:
        """A new instance of this production version, as ``instances.insert_instances`` takes it."""
        return {"task_id": self.id, "version_id": self.version_id, "kind": kind, "business_date": business_date,
                "scheduled_time": scheduled_time.astimezone(timezone.utc), "state": "waiting_time",
                "priority": self.priority, "attempt": 1, "max_attempts": 1 + self.config.run.rerun_on_failure.count,
                "params": params or {}, "backfill_id": backfill_id, "triggered_by": triggered_by}


@dataclass
class Production:
    tasks: dict[int, ProductionTask]
    upstream: dict[int, set[int]]  # task id -> the production tasks its instances wait for

    @classmethod
    def load(cls, session: Session, configs: ConfigCache | None = None) -> Production:
        """What production runs now. ``configs``: the schedule configurations parsed by
        earlier loads of the same store, filled in as versions come (a version never
        changes; its creation time is in the key, as SQLite may give a deleted version's
        id to a new one)."""
        configs = {} if configs is None else configs
        rows = session.execute(
            select(VersionRow.id, VersionRow.task_id, VersionRow.number, VersionRow.published_at,
                   VersionRow.created_at, TaskRow.name, TaskRow.owner, TaskRow.schedule_type, ProjectRow.name)
            .join(TaskRow, TaskRow.id == VersionRow.task_id).join(ProjectRow, ProjectRow.id == TaskRow.project_id)
            .where(VersionRow.id.in_(published_versions()))).all()
        _parse_missing(session, configs, {(row[0], row[4]) for row in rows})
        tasks = {task_id: ProductionTask(
            id=task_id, name=name, project=project, owner=owner, schedule_type=schedule_type,
            version_id=version_id, version=number, published_at=aware(published_at),
            config=configs[(version_id, created_at)])
            for version_id, task_id, number, published_at, created_at, name, owner, schedule_type, project in rows}
        edges = session.execute(
            select(LineageRow.task_id, LineageRow.source_datasource, LineageRow.source_table,
                   LineageRow.target_datasource, LineageRow.target_table)
            .where(LineageRow.version_id.in_([t.version_id for t in tasks.values()]),
                   LineageRow.source_column.is_(None))).all()
        dependencies = {t.id: {"dependency": {"upstream": t.config.dependency.upstream,
                                              "auto_from_lineage": t.config.dependency.auto_from_lineage}}
                        for t in tasks.values()}
        graph = upstream_map(dependencies, edges)
        return cls(tasks, {task_id: ups & tasks.keys() for task_id, ups in graph.items()})

    def downstream(self, task_id: int) -> list[int]:
        """Every production task that depends on ``task_id``, directly or not, nearest first."""
        below: dict[int, set[int]] = {}
        for task, ups in self.upstream.items():
            for up in ups:
                below.setdefault(up, set()).add(task)
        found, queue = [], deque(sorted(below.get(task_id, ())))
        while queue:
            task = queue.popleft()
            if task not in found and task != task_id:
                found.append(task)
                queue.extend(sorted(below.get(task, ())))
        return found


ConfigCache = dict[tuple[int, datetime], ScheduleConfig]  # (version id, its created_at) -> its schedule
_CHUNK = 5000  # version ids per IN (...), under every backend's limit on bound parameters


def configs_of(session: Session, configs: ConfigCache, version_ids: set[int]) -> dict[int, ScheduleConfig]:
    """The schedule configurations of versions ``version_ids`` (an older version's
    too, which a rerun may run), through the same cache as ``Production.load``."""
    keys = set(session.execute(select(VersionRow.id, VersionRow.created_at).where(VersionRow.id.in_(version_ids))))
    _parse_missing(session, configs, keys)
    return {version_id: configs[(version_id, created_at)] for version_id, created_at in keys}


def _parse_missing(session: Session, configs: ConfigCache, keys: set[tuple[int, datetime]]) -> None:
    """Parse the schedule configurations of the versions ``keys`` not in ``configs`` yet."""
    missing = sorted(key[0] for key in keys - configs.keys())
    for start in range(0, len(missing), _CHUNK):
        for version_id, created_at, schedule in session.execute(
                select(VersionRow.id, VersionRow.created_at, VersionRow.schedule)
                .where(VersionRow.id.in_(missing[start:start + _CHUNK]))):
            configs[(version_id, created_at)] = ScheduleConfig.model_validate(schedule or {})


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
