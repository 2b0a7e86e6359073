"""What production runs: each live task's newest published version, its schedule
configuration and its place in the dependency graph.

The scheduler loads a ``Production`` each tick (one query for the versions, one for the
lineage), so a publish, a deletion or a changed schedule counts from the next tick on.
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
    def load(cls, session: Session) -> Production:
        rows = session.execute(
            select(VersionRow, TaskRow.name, TaskRow.owner, TaskRow.schedule_type, ProjectRow.name)
            .join(TaskRow, TaskRow.id == VersionRow.task_id).join(ProjectRow, ProjectRow.id == TaskRow.project_id)
            .where(VersionRow.id.in_(published_versions()))).all()
        tasks = {version.task_id: ProductionTask(
            id=version.task_id, name=name, project=project, owner=owner, schedule_type=schedule_type,
            version_id=version.id, version=version.number, published_at=aware(version.published_at),
            config=ScheduleConfig.model_validate(version.schedule or {}))
            for version, name, owner, schedule_type, project in rows}
        edges = session.scalars(select(LineageRow).where(
            LineageRow.version_id.in_([t.version_id for t in tasks.values()]), LineageRow.source_column.is_(None)))
        graph = upstream_map({t.id: t.config.model_dump(mode="json") for t in tasks.values()}, edges)
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


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
