"""Offline script tasks: the Create Offline Script dialog, the draft, the tree's operations.

Creating checks every rule of the dialog at once and answers one ``InvalidInput`` with an
issue per field, creating nothing. A task starts with a script template for its source and
target (columns introspected when tables are named) and a default schedule. Anyone may
read a task; only its owner or an admin may change it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..connectors import get_connector
from ..script.model import STEP_TYPES
from ..script.template import dump_script, script_template
from ..script.validate import MAX_SCRIPT_LENGTH
from ..store import Store
from ..store.models import ProjectRow, TaskRow
from .datasources import DataSourceService
from .errors import Conflict, Forbidden, InvalidInput, Issue, NotFound
from .projects import existing, folder_row, iso, length_problem, project_row, root_folder
from .schedule import ScheduleConfig, default_schedule, schedule_issues
from .users import User

SCHEDULE_TYPES = ("recurring", "manual")
NAME_FORBIDDEN = set('|:?<>*"/\\')


@dataclass
class TaskInfo:
    id: int
    project_id: int
    folder_id: int
    name: str
    schedule_type: str
    description: str
    source_type: str
    source_datasource: str
    target_type: str
    target_datasource: str
    status: str
    owner: str
    deleted: bool
    created_at: datetime
    updated_at: datetime
    script: str | None = None  # with get(..., with_script=True)
    schedule: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        body = {key: getattr(self, key) for key in (
            "id", "project_id", "folder_id", "name", "schedule_type", "description", "source_type",
            "source_datasource", "target_type", "target_datasource", "status", "owner", "deleted")}
        body.update(created_at=iso(self.created_at), updated_at=iso(self.updated_at))
        if self.script is not None:
            body.update(script=self.script, schedule=self.schedule)
        return body


class TaskService:
    def __init__(self, store: Store, datasources: DataSourceService):
        self.store = store
        self.datasources = datasources

    def create(self, user: User, project_id: int, *, name: str, schedule_type: str, description: str = "",
               folder_id: int | None = None, source_type: str, source_datasource: str, target_type: str,
               target_datasource: str, source_table: str = "", target_table: str = "") -> TaskInfo:
        with self.store.session() as session:
            project_row(session, project_id)
            problems = {
                "name": _name_problem(name) or _taken_problem(session, project_id, name),
                "schedule_type": _schedule_type_problem(schedule_type),
                "description": length_problem(description, 1000),
                "folder_id": _folder_problem(session, project_id, folder_id),
                "source_type": _step_type_problem(source_type),
                "source_datasource": self._datasource_problem(user, source_datasource, source_type, "read"),
                "target_type": _step_type_problem(target_type),
                "target_datasource": self._datasource_problem(user, target_datasource, target_type, "write"),
            }
            if issues := [Issue(f, m) for f, m in problems.items() if m]:
                raise InvalidInput(f"the task cannot be created: {issues_summary(issues)}", issues)
            script = script_template(
                source_type, target_type, source_datasource=source_datasource,
                target_datasource=target_datasource, source_table=source_table,
                source_columns=self._columns(source_datasource, source_table),
                target_table=target_table, target_columns=self._columns(target_datasource, target_table))
            row = TaskRow(
                project_id=project_id, folder_id=folder_id or root_folder(session, project_id).id,
                name=name, schedule_type=schedule_type, description=description,
                source_type=source_type, source_datasource=source_datasource,
                target_type=target_type, target_datasource=target_datasource,
                script=dump_script(script), schedule=default_schedule(schedule_type, user.name),
                owner=user.name)
            session.add(row)
            _flush_unique(session, name)
            return _info(row)

    def get(self, user: User, task_id: int, with_script: bool = False) -> TaskInfo:
        with self.store.session(read_only=True) as session:
            return _info(task_row(session, task_id), with_script)

    def list(self, user: User, project_id: int, folder_id: int | None = None,
             search: str | None = None) -> list[TaskInfo]:
        """The project's tasks (those being deleted left out), in one folder (not its
        sub-folders) when given, matching ``search`` in name or description when given."""
        query = select(TaskRow).where(TaskRow.project_id == project_id, TaskRow.deleted.is_(False))
        if folder_id is not None:
            query = query.where(TaskRow.folder_id == folder_id)
        if search:
            needle = search.lower()
            query = query.where(or_(func.lower(TaskRow.name).contains(needle, autoescape=True),
                                    func.lower(TaskRow.description).contains(needle, autoescape=True)))
        with self.store.session(read_only=True) as session:
            project_row(session, project_id)
            return [_info(row) for row in session.scalars(query.order_by(TaskRow.name))]

    def rename(self, user: User, task_id: int, name: str) -> TaskInfo:
        with self.store.session() as session:
            row = _changeable(session, user, task_id)
            if name != row.name:
                if problem := _name_problem(name) or _taken_problem(session, row.project_id, name):
                    raise InvalidInput(f"the task cannot be renamed: name: {problem}", [Issue("name", problem)])
                row.name = name
                _flush_unique(session, name)
            return _info(row)

    def move(self, user: User, task_id: int, folder_id: int | None) -> TaskInfo:
        """Into ``folder_id``, or the project's root folder when None."""
        with self.store.session() as session:
            row = _changeable(session, user, task_id)
            if problem := _folder_problem(session, row.project_id, folder_id):
                raise InvalidInput(f"the task cannot be moved: folder_id: {problem}", [Issue("folder_id", problem)])
            row.folder_id = folder_id or root_folder(session, row.project_id).id
            return _info(row)

    def save_draft(self, user: User, task_id: int, script: str | None = None,
                   schedule: dict[str, Any] | None = None) -> TaskInfo:
        """Store the draft script and/or schedule configuration (``None`` keeps what is
        there). The script is checked at submit, not here: a draft may be half written."""
        with self.store.session() as session:
            row = _changeable(session, user, task_id)
            issues = _script_issues(script)
            config, config_issues = _checked_schedule(row.schedule_type, schedule)
            if issues := issues + config_issues:
                raise InvalidInput(f"the draft cannot be saved: {issues_summary(issues)}", issues)
            if script is not None:
                row.script = script
            if config is not None:
                row.schedule = config
            return _info(row, with_script=True)

    def delete(self, user: User, task_id: int) -> None:
        """Basic project: gone at once. Dev-Prod: marked deleted and waiting in the
        to-publish list; publishing the deletion removes it from production."""
        with self.store.session() as session:
            row = _changeable(session, user, task_id)
            if session.get(ProjectRow, row.project_id).mode == "basic":
                session.delete(row)
            else:
                row.deleted, row.status = True, "to_publish"

    # --- helpers that need the data sources -----------------------------------------------

    def _datasource_problem(self, user: User, name: str, step_type: str, permission: str) -> str | None:
        if not name:
            return "is required"
        actual = self.datasources.type_of(name)
        if actual is None:
            return f"data source {name!r} does not exist"
        if step_type in STEP_TYPES and actual != step_type:
            return f"data source {name!r} is {actual}, not {step_type}"
        if not self.datasources.can_use(user, name, permission):
            return f"you may not {permission} data source {name!r}: ask its owner for the permission"
        return None

    def _columns(self, datasource: str, table: str) -> list[str] | None:
        """A table's column names, or None (the template's placeholder) when they cannot be
        read: the task is still created, and submit's schema check reports the table."""
        if not table:
            return None
        try:
            source = self.datasources.resolve(datasource)
            return [name for name, _ in get_connector(source.type).list_columns(source, table)] or None
        except Exception:  # noqa: BLE001 - any driver failure leaves the placeholder
            return None


# --- rows and rules ---------------------------------------------------------------------------


def task_row(session: Session, task_id: int) -> TaskRow:
    return existing(session, TaskRow, task_id, "task")


def _flush_unique(session: Session, name: str) -> None:
    """Flush, answering a concurrent request that took the same name first as the user's
    mistake rather than a database error."""
    try:
        session.flush()
    except IntegrityError:
        problem = f"a task named {name!r} already exists in this project"
        raise InvalidInput(f"name: {problem}", [Issue("name", problem)]) from None


def _changeable(session: Session, user: User, task_id: int) -> TaskRow:
    row = task_row(session, task_id)
    if not (user.is_admin or user.name == row.owner):
        raise Forbidden(f"only {row.owner} (the owner) or an admin may change task {row.name!r}")
    if row.deleted:
        raise Conflict(f"task {row.name!r} is deleted and waits to be published")
    return row


def _info(row: TaskRow, with_script: bool = False) -> TaskInfo:
    return TaskInfo(
        row.id, row.project_id, row.folder_id, row.name, row.schedule_type, row.description,
        row.source_type, row.source_datasource, row.target_type, row.target_datasource,
        row.status, row.owner, row.deleted, row.created_at, row.updated_at,
        row.script if with_script else None, row.schedule if with_script else None)


def issues_summary(issues: list[Issue]) -> str:
    return "; ".join(f"{i.field}: {i.message}" for i in issues)


def _name_problem(name: str) -> str | None:
    if not name or not name.strip():
        return "is required"
    if long := length_problem(name, 64):
        return long
    if bad := sorted(NAME_FORBIDDEN & set(name)):
        return f"must not contain {' '.join(bad)}"
    return None


def _taken_problem(session: Session, project_id: int, name: str) -> str | None:
    deleted = session.scalar(select(TaskRow.deleted).where(TaskRow.project_id == project_id, TaskRow.name == name))
    if deleted is None:
        return None
    if deleted:
        return f"task {name!r} is being deleted (waiting to be published): choose another name"
    return f"a task named {name!r} already exists in this project"


def _schedule_type_problem(schedule_type: str) -> str | None:
    return None if schedule_type in SCHEDULE_TYPES else f"must be recurring or manual (got {schedule_type!r})"


def _step_type_problem(step_type: str) -> str | None:
    if not step_type:
        return "is required"
    return None if step_type in STEP_TYPES else f"unknown type {step_type!r}; known: {', '.join(sorted(STEP_TYPES))}"


def _folder_problem(session: Session, project_id: int, folder_id: int | None) -> str | None:
    if folder_id is None:
        return None
    try:
        folder = folder_row(session, folder_id)
    except NotFound as missing:
        return str(missing)
    return None if folder.project_id == project_id else f"folder {folder.name!r} is in another project"


def _script_issues(script: str | None) -> list[Issue]:
    if script is None or len(script) <= MAX_SCRIPT_LENGTH:
        return []
    return [Issue("script", f"the script is {len(script)} characters long; at most {MAX_SCRIPT_LENGTH} are allowed")]


def _checked_schedule(schedule_type: str, schedule: dict[str, Any] | None) -> tuple[dict[str, Any] | None, list[Issue]]:
    """The configuration as stored (defaults filled in), or the issues that stop it."""
    if schedule is None:
        return None, []
    try:
        config = ScheduleConfig.model_validate(schedule)
    except ValidationError as error:
        return None, schedule_issues(error)
    if issues := _schedule_type_issues(schedule_type, config):
        return None, issues
    return config.model_dump(mode="json"), []


def _schedule_type_issues(schedule_type: str, config: ScheduleConfig) -> list[Issue]:
    """A recurring task runs by its cycle; a manual one is triggered by hand, without
    cycle or dependencies."""
    if schedule_type == "recurring":
        return [] if config.schedule.cycle else [Issue("schedule.cycle", "a recurring task needs a cycle")]
    issues = []
    if config.schedule.cycle:
        issues.append(Issue("schedule.cycle", "a manual task has no cycle: it is triggered by hand"))
    if config.dependency.upstream or config.dependency.self_dependent:
        issues.append(Issue("dependency", "a manual task has no dependencies"))
    return issues
