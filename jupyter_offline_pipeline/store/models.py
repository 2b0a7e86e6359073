"""The store's tables. Alembic migrations under ``migrations/`` create and evolve them."""

from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import (JSON, Boolean, Date, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text,
                        TypeDecorator, UniqueConstraint, text)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class DataSourceRow(Base):
    """A named connection. Secret fields live only encrypted in ``secret``."""

    __tablename__ = "datasources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    type: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(String(1000), default="")
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    secret: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    owner: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class GrantRow(Base):
    """A user's ``read`` (sync-read) or ``write`` (sync-write) right on a data source."""

    __tablename__ = "datasource_grants"
    __table_args__ = (UniqueConstraint("datasource_id", "user", "permission"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    datasource_id: Mapped[int] = mapped_column(ForeignKey("datasources.id", ondelete="CASCADE"))
    user: Mapped[str] = mapped_column(String(128))
    permission: Mapped[str] = mapped_column(String(8))  # read | write
    granted_by: Mapped[str] = mapped_column(String(128))
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PermissionRequestRow(Base):
    """A user asks a data source's owner for a permission; the owner grants or refuses."""

    __tablename__ = "permission_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    datasource_id: Mapped[int] = mapped_column(ForeignKey("datasources.id", ondelete="CASCADE"))
    user: Mapped[str] = mapped_column(String(128))
    permission: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(String(1000), default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|granted|refused
    decided_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ProjectRow(Base):
    """``basic``: a submit is scheduled at once; ``dev_prod``: a submit waits to be published."""

    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    mode: Mapped[str] = mapped_column(String(16), default="basic")
    description: Mapped[str] = mapped_column(String(1000), default="")
    owner: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FolderRow(Base):
    """A directory of a project's Batch Pipeline tree; the root one has no parent."""

    __tablename__ = "folders"
    __table_args__ = (UniqueConstraint("project_id", "parent_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("folders.id"), nullable=True)
    name: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TaskRow(Base):
    """An offline script task: its draft script and schedule configuration, and where the
    submitted versions stand (``status``: draft | submitted | to_publish | published)."""

    __tablename__ = "tasks"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    folder_id: Mapped[int] = mapped_column(ForeignKey("folders.id"))
    name: Mapped[str] = mapped_column(String(64))
    schedule_type: Mapped[str] = mapped_column(String(16))  # recurring | manual
    description: Mapped[str] = mapped_column(String(1000), default="")
    source_type: Mapped[str] = mapped_column(String(32))
    source_datasource: Mapped[str] = mapped_column(String(128))
    target_type: Mapped[str] = mapped_column(String(32))
    target_datasource: Mapped[str] = mapped_column(String(128))
    script: Mapped[str] = mapped_column(Text, default="")
    schedule: Mapped[dict] = mapped_column(JSON, default=dict)
    owner: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)  # a dev_prod deletion waits to be published
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class VersionRow(Base):
    """An immutable submitted version. ``published_at`` is set when it goes to production
    (at once in a basic project); production runs the newest published version."""

    __tablename__ = "task_versions"
    __table_args__ = (UniqueConstraint("task_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    script: Mapped[str] = mapped_column(Text)
    schedule: Mapped[dict] = mapped_column(JSON, default=dict)
    remarks: Mapped[str] = mapped_column(String(128))
    author: Mapped[str] = mapped_column(String(128))
    change: Mapped[str] = mapped_column(String(16), default="update")  # create | update | delete
    checks: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    published_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class LineageRow(Base):
    """One column-level edge of a version: source table.column -> target table.column
    (columns NULL for a table-level edge)."""

    __tablename__ = "lineage"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("task_versions.id", ondelete="CASCADE"))
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    source_datasource: Mapped[str] = mapped_column(String(128))
    source_table: Mapped[str] = mapped_column(String(256))
    source_column: Mapped[str | None] = mapped_column(String(256), nullable=True)
    target_datasource: Mapped[str] = mapped_column(String(128))
    target_table: Mapped[str] = mapped_column(String(256))
    target_column: Mapped[str | None] = mapped_column(String(256), nullable=True)


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on every backend: SQLite stores the wall time without its offset
    and hands back naive values, so everything is stored in UTC and read back as UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: give it a time zone")
        return value.astimezone(timezone.utc) if value is not None else None

    def process_result_value(self, value, dialect):
        return value.replace(tzinfo=timezone.utc) if value is not None and value.tzinfo is None else value


class InstanceRow(Base):
    """One run of a task version for a business date. ``kind``: recurring | manual | backfill;
    ``state``: see ``scheduler.instances.TRANSITIONS``. A scheduler owns a running instance
    through ``claimed_by``; its worker's ``pid`` and ``heartbeat_at`` let a restart settle it."""

    __tablename__ = "instances"
    __table_args__ = (
        # No business date of a task runs twice: one recurring instance per scheduled time
        # (manual and backfill runs of the same date are the user's explicit choice).
        Index("uq_instances_recurring", "task_id", "business_date", "scheduled_time", unique=True,
              sqlite_where=text("kind = 'recurring'"), postgresql_where=text("kind = 'recurring'")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("task_versions.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16), index=True)
    business_date: Mapped[date] = mapped_column(Date, index=True)
    scheduled_time: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(24), index=True, default="waiting_time")
    priority: Mapped[int] = mapped_column(Integer, default=0)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    max_attempts: Mapped[int] = mapped_column(Integer, default=1)
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    backfill_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    triggered_by: Mapped[str] = mapped_column(String(128), default="scheduler")  # or the user who asked
    run_after: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # a rerun's wait
    claimed_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    log_path: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    stats: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    resolved_script: Mapped[str | None] = mapped_column(Text, nullable=True)  # as it ran
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BackfillRow(Base):
    """A backfill: ``task_ids`` (the chosen task, then its chosen downstream tasks) over the
    business dates ``from_date`` .. ``to_date``, at most ``parallelism`` dates at a time, in
    date order. ``state``: running | cancelled | finished."""

    __tablename__ = "backfills"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    task_ids: Mapped[list] = mapped_column(JSON)
    from_date: Mapped[date] = mapped_column(Date)
    to_date: Mapped[date] = mapped_column(Date)
    parallelism: Mapped[int] = mapped_column(Integer, default=1)
    state: Mapped[str] = mapped_column(String(16), default="running")
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InstanceEventRow(Base):
    """One state change of an instance (``from_state`` NULL when it was created)."""

    __tablename__ = "instance_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    from_state: Mapped[str | None] = mapped_column(String(24), nullable=True)
    to_state: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(String(1000), default="")
