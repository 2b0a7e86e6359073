"""Projects and the folders of their Batch Pipeline tree.

A project is ``basic`` (a submit is scheduled at once) or ``dev_prod`` (a submit waits to
be published). Each has one root folder, "Offline Pipeline", where tasks go by default.
Anyone may read projects and arrange folders; a project's owner or an admin sets its mode.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..store import Store
from ..store.models import FolderRow, ProjectRow, TaskRow
from .errors import Conflict, Forbidden, InvalidInput, Issue, NotFound
from .users import User

DEFAULT_PROJECT = "default"
ROOT_FOLDER = "Offline Pipeline"
MODES = ("basic", "dev_prod")
PROJECT_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
FOLDER_FORBIDDEN = set('/\\|:?<>*"')


@dataclass
class ProjectInfo:
    id: int
    name: str
    mode: str
    description: str
    owner: str
    root_folder_id: int
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "mode": self.mode, "description": self.description,
                "owner": self.owner, "root_folder_id": self.root_folder_id,
                "created_at": iso(self.created_at)}


@dataclass
class FolderInfo:
    id: int
    project_id: int
    parent_id: int | None
    name: str
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "project_id": self.project_id, "parent_id": self.parent_id,
                "name": self.name, "created_at": iso(self.created_at)}


@dataclass
class TaskLeaf:
    id: int
    name: str
    schedule_type: str
    status: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "schedule_type": self.schedule_type, "status": self.status}


@dataclass
class FolderNode:
    """A folder of the tree with its sub-folders and tasks, each sorted by name."""

    id: int
    name: str
    folders: list[FolderNode] = field(default_factory=list)
    tasks: list[TaskLeaf] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "folders": [f.to_dict() for f in self.folders],
                "tasks": [t.to_dict() for t in self.tasks]}


class ProjectService:
    def __init__(self, store: Store):
        self.store = store

    # --- projects -------------------------------------------------------------------------

    def ensure_default(self, user: User) -> ProjectInfo:
        """The "default" project, created (basic, owned by ``user``) on first start."""
        try:
            with self.store.session() as session:
                row = session.scalar(select(ProjectRow).where(ProjectRow.name == DEFAULT_PROJECT))
                if row is None:
                    row = _add_project(session, DEFAULT_PROJECT, "basic", "", user.name)
                return _project_info(session, row)
        except IntegrityError:  # the server and the scheduler started together: one won
            return self.get(user, DEFAULT_PROJECT)

    def create(self, user: User, name: str, mode: str = "basic", description: str = "") -> ProjectInfo:
        problems = {"name": _project_name_problem(name), "mode": _mode_problem(mode),
                    "description": length_problem(description, 1000)}
        if issues := [Issue(f, m) for f, m in problems.items() if m]:
            raise InvalidInput("the project cannot be created", issues)
        with self.store.session() as session:
            if session.scalar(select(ProjectRow.id).where(ProjectRow.name == name)):
                message = f"a project named {name!r} already exists"
                raise Conflict(message, [Issue("name", message)])
            return _project_info(session, _add_project(session, name, mode, description, user.name))

    def list(self, user: User) -> list[ProjectInfo]:
        with self.store.session(read_only=True) as session:
            rows = session.scalars(select(ProjectRow).order_by(ProjectRow.name)).all()
            return [_project_info(session, row) for row in rows]

    def get(self, user: User, project: int | str) -> ProjectInfo:
        """By id, or by name."""
        with self.store.session(read_only=True) as session:
            column = ProjectRow.id if isinstance(project, int) else ProjectRow.name
            row = session.scalar(select(ProjectRow).where(column == project))
            if row is None:
                raise NotFound(f"project {project!r} does not exist")
            return _project_info(session, row)

    def set_mode(self, user: User, project_id: int, mode: str) -> ProjectInfo:
        if problem := _mode_problem(mode):
            raise InvalidInput(f"mode {problem}", [Issue("mode", problem)])
        with self.store.session() as session:
            row = project_row(session, project_id)
            if not (user.is_admin or user.name == row.owner):
                raise Forbidden(f"only {row.owner} (the owner) or an admin may change project {row.name!r}")
            row.mode = mode
            return _project_info(session, row)

    # --- folders --------------------------------------------------------------------------

    def create_folder(self, user: User, project_id: int, *, name: str, parent_id: int | None = None) -> FolderInfo:
        """A folder under ``parent_id``, by default the project's root folder."""
        _check_folder_name(name)
        with self.store.session() as session:
            project_row(session, project_id)
            parent = folder_row(session, parent_id) if parent_id else root_folder(session, project_id)
            if parent.project_id != project_id:
                raise InvalidInput("the parent folder is in another project",
                                   [Issue("parent_id", f"folder {parent.name!r} is not in this project")])
            _check_sibling_name(session, parent.id, name)
            row = FolderRow(project_id=project_id, parent_id=parent.id, name=name)
            session.add(row)
            session.flush()
            return _folder_info(row)

    def rename_folder(self, user: User, folder_id: int, name: str) -> FolderInfo:
        _check_folder_name(name)
        with self.store.session() as session:
            row = _movable_folder(session, folder_id, "renamed")
            if row.name != name:
                _check_sibling_name(session, row.parent_id, name)
                row.name = name
            return _folder_info(row)

    def move_folder(self, user: User, folder_id: int, parent_id: int) -> FolderInfo:
        with self.store.session() as session:
            row = _movable_folder(session, folder_id, "moved")
            parent = folder_row(session, parent_id)
            if parent.project_id != row.project_id:
                raise InvalidInput("a folder cannot move to another project",
                                   [Issue("parent_id", f"folder {parent.name!r} is in another project")])
            if folder_id in _ancestry(session, parent):
                message = f"folder {row.name!r} cannot move into itself or one of its sub-folders"
                raise InvalidInput(message, [Issue("parent_id", message)])
            if parent.id != row.parent_id:
                _check_sibling_name(session, parent.id, row.name)
                row.parent_id = parent.id
            return _folder_info(row)

    def delete_folder(self, user: User, folder_id: int) -> None:
        with self.store.session() as session:
            row = _movable_folder(session, folder_id, "deleted")
            children = session.scalar(select(func.count()).where(FolderRow.parent_id == folder_id))
            tasks = session.scalar(select(func.count()).where(TaskRow.folder_id == folder_id))
            if children or tasks:
                raise Conflict(f"folder {row.name!r} is not empty")
            session.delete(row)

    def tree(self, user: User, project_id: int) -> FolderNode:
        """The project's folders from the root, with their tasks (not those being deleted)."""
        with self.store.session(read_only=True) as session:
            project_row(session, project_id)
            folders = session.scalars(
                select(FolderRow).where(FolderRow.project_id == project_id).order_by(FolderRow.name)).all()
            tasks = session.scalars(
                select(TaskRow).where(TaskRow.project_id == project_id, TaskRow.deleted.is_(False))
                .order_by(TaskRow.name)).all()
        nodes = {f.id: FolderNode(f.id, f.name) for f in folders}
        for folder in folders:
            if folder.parent_id is not None:
                nodes[folder.parent_id].folders.append(nodes[folder.id])
        for task in tasks:
            nodes[task.folder_id].tasks.append(TaskLeaf(task.id, task.name, task.schedule_type, task.status))
        return next(nodes[f.id] for f in folders if f.parent_id is None)


# --- shared with the task service -------------------------------------------------------------


def existing(session: Session, model: type, key: int, what: str):
    """The row of ``model`` with primary key ``key``, or NotFound naming it."""
    row = session.get(model, key)
    if row is None:
        raise NotFound(f"{what} {key} does not exist")
    return row


def project_row(session: Session, project_id: int) -> ProjectRow:
    return existing(session, ProjectRow, project_id, "project")


def folder_row(session: Session, folder_id: int) -> FolderRow:
    return existing(session, FolderRow, folder_id, "folder")


def root_folder(session: Session, project_id: int) -> FolderRow:
    return session.scalars(
        select(FolderRow).where(FolderRow.project_id == project_id, FolderRow.parent_id.is_(None))).one()


def length_problem(text: str, limit: int) -> str | None:
    return f"must be at most {limit} characters (it has {len(text)})" if len(text) > limit else None


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC; SQLite hands back stored times without their zone."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).isoformat()


# --- private helpers ---------------------------------------------------------------------------


def _add_project(session: Session, name: str, mode: str, description: str, owner: str) -> ProjectRow:
    row = ProjectRow(name=name, mode=mode, description=description, owner=owner)
    session.add(row)
    session.flush()
    session.add(FolderRow(project_id=row.id, parent_id=None, name=ROOT_FOLDER))
    session.flush()
    return row


def _project_info(session: Session, row: ProjectRow) -> ProjectInfo:
    return ProjectInfo(row.id, row.name, row.mode, row.description, row.owner,
                       root_folder(session, row.id).id, row.created_at)


def _folder_info(row: FolderRow) -> FolderInfo:
    return FolderInfo(row.id, row.project_id, row.parent_id, row.name, row.created_at)


def _project_name_problem(name: str) -> str | None:
    if not PROJECT_NAME.fullmatch(name or ""):
        return "must be 1 to 64 letters, digits, _ or -"
    return None


def _mode_problem(mode: str) -> str | None:
    return None if mode in MODES else f"must be one of {', '.join(MODES)} (got {mode!r})"


def _check_folder_name(name: str) -> None:
    if not name or not name.strip():
        problem = "is required"
    elif long := length_problem(name, 128):
        problem = long
    elif bad := sorted(FOLDER_FORBIDDEN & set(name)):
        problem = f"must not contain {' '.join(bad)}"
    else:
        return
    raise InvalidInput(f"folder name {problem}", [Issue("name", problem)])


def _check_sibling_name(session: Session, parent_id: int | None, name: str) -> None:
    if session.scalar(select(FolderRow.id).where(FolderRow.parent_id == parent_id, FolderRow.name == name)):
        message = f"a folder named {name!r} already exists there"
        raise Conflict(message, [Issue("name", message)])


def _movable_folder(session: Session, folder_id: int, action: str) -> FolderRow:
    """A folder other than a project's root, which stays where it is, as it is."""
    row = folder_row(session, folder_id)
    if row.parent_id is None:
        raise InvalidInput(f"the root folder {row.name!r} cannot be {action}")
    return row


def _ancestry(session: Session, folder: FolderRow) -> set[int]:
    """The ids of ``folder`` and of every folder above it."""
    ids = {folder.id}
    while folder.parent_id is not None:
        folder = folder_row(session, folder.parent_id)
        ids.add(folder.id)
    return ids
