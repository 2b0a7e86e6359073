"""Submit, versions and publish (SPEC section 7).

A submit runs five checks in order (configuration, permission, schema, table duplication,
dependency), stops at the first that fails (or warns unconfirmed), and otherwise freezes
the draft as a new immutable version with its lineage. A ``basic`` project publishes it at
once; a ``dev_prod`` one leaves it in the to-publish list. Deleting takes the same path.

Works on the store rows directly; the rules of drafts (names, folders) are TaskService's.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..script import has_errors, parse_script, validate_script
from ..script.params import ParameterError, resolve
from ..store import Store
from ..store.models import LineageRow, ProjectRow, TaskRow, VersionRow, utcnow
from .datasources import DataSourceService
from .errors import Conflict, Forbidden, InvalidInput, Issue, NotFound
from .lineage import Edge, current_edges, current_versions, extract_lineage, target_table, upstream_map
from .tasks import task_row
from .users import User
from .validation import Finding, SchemaCheck, permission_findings, placed, reader_and_writer, sample_context

MAX_REMARKS = 128
CHECKS = ("configuration", "permission", "schema", "table_duplication", "dependency")


@dataclass
class CheckResult:
    name: str
    status: str  # pass | warning | fail | skipped
    messages: list[str] = field(default_factory=list)
    diagnostics: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SubmitResult:
    status: str  # submitted | published | failed | needs_confirmation | deleted
    checks: list[CheckResult] = field(default_factory=list)
    version: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "version": self.version,
                "checks": [check.to_dict() for check in self.checks]}


def _result(name: str, failures: list[str], warning: bool = False) -> CheckResult:
    status = "pass" if not failures else "warning" if warning else "fail"
    return CheckResult(name, status, failures)


def _found(name: str, text: str, findings: list[Finding], strict: bool = False) -> CheckResult:
    """A check of the catalog's findings, as severe as its worst one (any one, when
    ``strict``), each placed in ``text``."""
    severities = {finding.severity for finding in findings}
    status = "fail" if "error" in severities or (strict and findings) else "warning" if severities else "pass"
    return CheckResult(name, status, [finding.message for finding in findings],
                       [diagnostic.to_dict() for diagnostic in placed(text, findings)])


class SubmitService:
    def __init__(self, store: Store, datasources: DataSourceService):
        self.store = store
        self.datasources = datasources

    # --- submit -------------------------------------------------------------------------

    def submit(self, user: User, task_id: int, remarks: str, confirm_warnings: bool = False) -> SubmitResult:
        remarks = _checked_remarks(remarks)
        with self.store.session() as session:
            task = _live_task(session, user, task_id)
            project = session.get(ProjectRow, task.project_id)
        run = _Checks(self, user, task, project)
        checks: list[CheckResult] = []
        for name in CHECKS:
            checks.append(getattr(run, name)())
            if checks[-1].status == "fail" or (checks[-1].status == "warning" and not confirm_warnings):
                break
        checks += [CheckResult(name, "skipped") for name in CHECKS[len(checks):]]
        statuses = {check.status for check in checks}
        if "fail" in statuses:
            return SubmitResult("failed", checks)
        if "warning" in statuses and not confirm_warnings:
            return SubmitResult("needs_confirmation", checks)
        with self.store.session() as session:
            version = _new_version(session, user, task, remarks, checks, run.edges)
            return SubmitResult("published" if version.published_at else "submitted", checks, version.number)

    def submit_deletion(self, user: User, task_id: int, remarks: str) -> SubmitResult:
        """Delete a task: at once in a basic project (or when it was never submitted),
        else as a ``delete`` version waiting in the to-publish list."""
        remarks = _checked_remarks(remarks)
        with self.store.session() as session:
            task, latest = _owned(session, user, task_id), latest_version(session, task_id)
            if _project(session, task).mode != "dev_prod" or latest is None:
                session.delete(task)
                return SubmitResult("deleted")
            if latest.change == "delete" and latest.published_at is None:
                raise Conflict(f"the deletion of task '{task.name}' already waits to be published")
            task.deleted = True
            version = _new_version(session, user, task, remarks, [], [], change="delete")
            return SubmitResult("submitted", version=version.number)

    # --- versions -----------------------------------------------------------------------

    def versions(self, user: User, task_id: int) -> list[dict[str, Any]]:
        with self.store.session() as session:
            task_row(session, task_id)
            rows = session.scalars(select(VersionRow).where(VersionRow.task_id == task_id)
                                   .order_by(VersionRow.number.desc()))
            return [_version_view(row) for row in rows]

    def version(self, user: User, task_id: int, number: int) -> dict[str, Any]:
        with self.store.session() as session:
            return _version_view(_version(session, task_id, number))

    def diff(self, user: User, task_id: int, a: int, b: int) -> str:
        """A unified diff from version ``a`` to version ``b``: the script, then the schedule."""
        with self.store.session() as session:
            old, new = _version(session, task_id, a), _version(session, task_id, b)
        return "".join([
            *_unified(old.script, new.script, f"version {a}/script", f"version {b}/script"),
            *_unified(_json(old.schedule), _json(new.schedule), f"version {a}/schedule", f"version {b}/schedule"),
        ])

    # --- publish ------------------------------------------------------------------------

    def to_publish(self, user: User, project_id: int) -> list[dict[str, Any]]:
        """Per task of the project, its newest version when not yet published (deletions too)."""
        with self.store.session() as session:
            tasks = session.scalars(select(TaskRow).where(TaskRow.project_id == project_id)
                                    .order_by(TaskRow.name)).all()
            pending = [(task, latest_version(session, task.id)) for task in tasks]
            return [{"task_id": task.id, "task_name": task.name, **_version_view(version, brief=True)}
                    for task, version in pending if version and version.published_at is None]

    def publish(self, user: User, project_id: int, task_ids: list[int]) -> list[dict[str, Any]]:
        """Publish the pending version of each task, all or none; a deletion removes the task."""
        published = []
        with self.store.session() as session:
            for task_id in task_ids:
                task = task_row(session, task_id)
                if task.project_id != project_id:
                    raise NotFound(f"task {task_id} is not in project {project_id}")
                version = latest_version(session, task_id)
                if version is None or version.published_at is not None:
                    raise Conflict(f"task '{task.name}' has nothing to publish")
                if version.change == "delete":
                    session.delete(task)  # its versions and lineage go with it
                else:
                    _mark_published(task, version, user)
                published.append({"task_id": task_id, "task_name": task.name,
                                  **_version_view(version, brief=True)})
        return published

    def published_version(self, task_id: int) -> dict[str, Any] | None:
        """What production runs: the newest published version (None: nothing, or deleted)."""
        with self.store.session() as session:
            row = session.scalar(select(VersionRow).where(
                VersionRow.task_id == task_id, VersionRow.published_at.is_not(None))
                .order_by(VersionRow.number.desc()).limit(1))
            return _version_view(row) if row and row.change != "delete" else None


class _Checks:
    """One submit's five checks; each sees what the earlier ones found."""

    def __init__(self, service: SubmitService, user: User, task: TaskRow, project: ProjectRow):
        self.service, self.user, self.task, self.project = service, user, task, project
        self.steps: tuple[tuple[str, dict[str, Any]], ...] = ()  # (pointer, step): reader, writer
        self.reader: dict[str, Any] = {}
        self.writer: dict[str, Any] = {}
        self.edges: list[Edge] = []

    def configuration(self) -> CheckResult:
        """The draft validates, and resolves for a sample business date (yesterday)."""
        custom = {p["name"]: p.get("value", "") for p in self.task.schedule.get("parameters", [])}
        known = dict(datasource_type=self.service.datasources.type_of, defined_parameters=custom)
        diagnostics = validate_script(self.task.script, **known)
        found = [d.to_dict() for d in diagnostics]
        if has_errors(diagnostics):
            messages = [d.message for d in diagnostics if d.severity == "error"]
            return CheckResult("configuration", "fail", messages, found)
        context = sample_context(custom, project=self.project.name, task_id=str(self.task.id))
        try:
            script = resolve(parse_script(self.task.script, **known).to_dict(), context)
        except ParameterError as error:
            return CheckResult("configuration", "fail", [f"parameter ${{{error.name}}}: {error}"], found)
        self.steps = reader_and_writer(script)
        self.reader, self.writer = (step for _, step in self.steps)
        return CheckResult("configuration", "pass", [], found)

    def permission(self) -> CheckResult:
        findings = permission_findings(self.service.datasources, self.user, self.steps)
        return _found("permission", self.task.script, findings)

    def schema(self) -> CheckResult:
        check = SchemaCheck(self.service.datasources, self.user, *self.steps)
        findings = check.findings()
        self.edges = extract_lineage({"steps": [self.reader, self.writer]}, check.columns_of)
        # the editor may warn that a server is out of reach; a submit must see the tables
        return _found("schema", self.task.script, findings, strict=True)

    def table_duplication(self) -> CheckResult:
        target = self.writer["parameter"].get("datasource") or "", target_table(self.writer)
        with self.service.store.session() as session:
            others = session.scalars(
                select(TaskRow.name).join(LineageRow, LineageRow.task_id == TaskRow.id).where(
                    LineageRow.version_id.in_(current_versions()), LineageRow.source_column.is_(None),
                    LineageRow.target_datasource == target[0], LineageRow.target_table == target[1],
                    TaskRow.id != self.task.id).distinct()).all()
        return _result("table_duplication", [
            f"task '{name}' already writes table '{target[1]}' of data source '{target[0]}'"
            for name in sorted(others)], warning=True)

    def dependency(self) -> CheckResult:
        with self.service.store.session() as session:
            graph, names = _upstream_graph(session, self.task.id, self.task.schedule, self.edges)
            live = set(session.scalars(select(TaskRow.id).where(TaskRow.deleted.is_(False))))
        failures = [f"upstream task {task_id} does not exist" for task_id in sorted(graph[self.task.id] - live)]
        cycle = _cycle_through(self.task.id, graph)
        if cycle:
            path = " -> ".join(f"'{names.get(task_id, task_id)}'" for task_id in cycle)
            failures.append(f"the upstream dependencies make a cycle: {path}")
        return _result("dependency", failures)


# --- the dependency graph -----------------------------------------------------------------


def _upstream_graph(session: Session, task_id: int, schedule: dict, edges: list[Edge]
                    ) -> tuple[dict[int, set[int]], dict[int, str]]:
    """Each live submitted task's upstream tasks (its newest version's, ``task_id`` with its
    draft), adding when ``auto_from_lineage`` the tasks writing the tables it reads."""
    versions = session.execute(
        select(VersionRow.task_id, VersionRow.schedule, TaskRow.name)
        .join(TaskRow, TaskRow.id == VersionRow.task_id)
        .where(VersionRow.id.in_(current_versions()), VersionRow.task_id != task_id)).all()
    names = {row.task_id: row.name for row in versions}
    names[task_id] = session.get(TaskRow, task_id).name
    schedules = {row.task_id: row.schedule for row in versions} | {task_id: schedule}
    rows = [edge for edge in current_edges(session) if edge.task_id != task_id]
    rows += [LineageRow(task_id=task_id, **edge._asdict()) for edge in edges]
    return upstream_map(schedules, rows), names


def _cycle_through(start: int, graph: dict[int, set[int]]) -> list[int]:
    """A path start -> ... -> start along upstream edges, or [] (a new cycle can only pass
    through the task being submitted: the rest of the graph was checked when submitted)."""
    stack, seen = [(start, [start])], set()
    while stack:
        node, path = stack.pop()
        for upstream in sorted(graph.get(node, ())):
            if upstream == start:
                return path + [start]
            if upstream not in seen:
                seen.add(upstream)
                stack.append((upstream, path + [upstream]))
    return []


# --- rows -----------------------------------------------------------------------------------


def _checked_remarks(remarks: str | None) -> str:
    remarks = (remarks or "").strip()
    if not remarks:
        raise InvalidInput("remarks are required", [Issue("remarks", "describe what this version changes")])
    if len(remarks) > MAX_REMARKS:
        raise InvalidInput("remarks are too long", [
            Issue("remarks", f"at most {MAX_REMARKS} characters (got {len(remarks)})")])
    return remarks


def _new_version(session: Session, user: User, draft: TaskRow, remarks: str, checks: list[CheckResult],
                 edges: list[Edge], change: str | None = None) -> VersionRow:
    """Freeze ``draft`` (the script and schedule the checks saw) as the task's next version."""
    task, latest = task_row(session, draft.id), latest_version(session, draft.id)
    version = VersionRow(
        task_id=task.id, number=latest.number + 1 if latest else 1, script=draft.script,
        schedule=draft.schedule, remarks=remarks, author=user.name,
        change=change or ("update" if latest else "create"), checks=[check.to_dict() for check in checks])
    session.add(version)
    session.flush()
    session.add_all(LineageRow(version_id=version.id, task_id=task.id, **edge._asdict()) for edge in edges)
    if _project(session, task).mode == "dev_prod":
        task.status = "to_publish"
    else:
        _mark_published(task, version, user)
    return version


def _owned(session: Session, user: User, task_id: int) -> TaskRow:
    task = task_row(session, task_id)
    if task.owner != user.name and not user.is_admin:
        raise Forbidden(f"only the owner of task '{task.name}' ({task.owner}) or an admin may submit it")
    return task


def _live_task(session: Session, user: User, task_id: int) -> TaskRow:
    task = _owned(session, user, task_id)
    if task.deleted:
        raise Conflict(f"task '{task.name}' is deleted: its deletion waits to be published")
    return task


def _project(session: Session, task: TaskRow) -> ProjectRow:
    return session.get(ProjectRow, task.project_id)


def latest_version(session: Session, task_id: int) -> VersionRow | None:
    return session.scalar(select(VersionRow).where(VersionRow.task_id == task_id)
                          .order_by(VersionRow.number.desc()).limit(1))


def _version(session: Session, task_id: int, number: int) -> VersionRow:
    row = session.scalar(select(VersionRow).where(VersionRow.task_id == task_id, VersionRow.number == number))
    if row is None:
        raise NotFound(f"task {task_id} has no version {number}")
    return row


def _mark_published(task: TaskRow, version: VersionRow, user: User) -> None:
    version.published_by, version.published_at = user.name, utcnow()
    task.status = "published"


def _version_view(row: VersionRow, brief: bool = False) -> dict[str, Any]:
    view = {"number": row.number, "change": row.change, "remarks": row.remarks, "author": row.author,
            "created_at": _iso(row.created_at), "published_by": row.published_by,
            "published_at": _iso(row.published_at)}
    if not brief:
        view |= {"task_id": row.task_id, "script": row.script, "schedule": row.schedule, "checks": row.checks}
    return view


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _unified(old: str, new: str, old_name: str, new_name: str) -> list[str]:
    return list(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                     old_name, new_name))
