"""What the client returns and the magics show: plain Python objects (dataclasses, lists of
them, ``to_dataframe()``), each also shown as rich HTML in a notebook (tables, the lineage
as an SVG graph, instances on an SVG timeline) and as plain text in a terminal.

Views are dataclasses filled from the server's JSON by pydantic (``parse``), so dates and
times arrive as ``date`` and aware ``datetime`` objects and fields the server adds later
are ignored; the schedule configuration is the server's own ``ScheduleConfig`` model,
diagnostics the server's ``Diagnostic``, and the views of data sources, grants, permission
requests, projects, folders and tasks subclass the service's own records, so the client's
fields cannot drift from what the server sends.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from datetime import date, datetime, timedelta, timezone
from functools import cache
from html import escape
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from pydantic import AliasChoices, Field, TypeAdapter

from ..script.diagnostics import Diagnostic
from ..service import datasources as service
from ..service.datasources import DataSourceEntry, DataSourceInfo
from ..service.projects import FolderInfo, ProjectInfo
from ..service.schedule import ScheduleConfig
from ..service.tasks import TaskInfo
from . import charts

T = TypeVar("T")


@cache
def _adapter(kind: Any) -> TypeAdapter:
    return TypeAdapter(kind)


def parse(kind: type[T], data: Any) -> T:
    """``data`` (the server's JSON) as ``kind``: a view, or ``list[View]``."""
    return _adapter(kind).validate_python(data)


# --- formatting ---------------------------------------------------------------------------

STYLE = """<style>
.jop table{border-collapse:collapse;font-size:12px;margin:4px 0}
.jop th,.jop td{border-bottom:1px solid #e0e0e0;padding:3px 8px;text-align:left;vertical-align:top}
.jop th{background:#f5f5f5}
.jop .badge{color:#fff;border-radius:3px;padding:1px 6px;font-size:11px;white-space:nowrap}
.jop pre{background:#f7f7f7;padding:6px;margin:4px 0;max-height:24em;overflow:auto;font-size:12px}
.jop .muted{color:#757575}
.jop h4{margin:8px 0 4px 0}
</style>"""


def fmt(value: Any) -> str:
    """A value as a cell shows it: local times to the second, one decimal. Integers stay
    bare (ids are copied into commands); counts go through ``count``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, (list, tuple, set)):
        return ", ".join(fmt(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={fmt(v)}" for k, v in value.items())
    return str(value)


def count(value: Any) -> str:
    """A count or a rate, thousands separated."""
    return f"{value:,.0f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else fmt(value)


def badge(state: str) -> str:
    return f'<span class="badge" style="background:{charts.color(state)}">{escape(state)}</span>'


def html_table(headers: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    """Cells are HTML already (escape text with ``escape(fmt(v))``)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def text_table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = [headers, ["-" * w for w in widths], *rows]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in lines)


class Rich:
    """Shown as ``_html()`` in notebooks and ``_text()`` in terminals and ``str()``."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # IPython's pretty printer takes the first class of the MRO that has either a
        # _repr_pretty_ or a __repr__, and @dataclass gives each view its own __repr__
        super().__init_subclass__(**kwargs)
        cls._repr_pretty_ = Rich._repr_pretty_

    def _text(self) -> str:
        raise NotImplementedError

    def _html(self) -> str:
        return f"<pre>{escape(self._text())}</pre>"

    def _repr_html_(self) -> str:
        return f'<div class="jop">{STYLE}{self._html()}</div>'

    def _repr_pretty_(self, printer, cycle: bool) -> None:
        printer.text(self._text())

    def __str__(self) -> str:
        return self._text()


class Record(Rich):
    """A dataclass view shown as field: value pairs (``shown``, by default every field)."""

    shown: ClassVar[tuple[str, ...]] = ()

    def pairs(self) -> list[tuple[str, Any]]:
        names = self.shown or tuple(f.name for f in fields(self))  # type: ignore[arg-type]
        return [(name, getattr(self, name)) for name in names]

    def _text(self) -> str:
        pairs = self.pairs()
        width = max(len(k) for k, _ in pairs)
        return "\n".join(f"{k.ljust(width)}  {fmt(v)}" for k, v in pairs)

    def _html(self) -> str:
        rows = "".join(f"<tr><th>{escape(k)}</th><td>{self._cell(k, v)}</td></tr>" for k, v in self.pairs())
        return f"<table>{rows}</table>"

    def _cell(self, name: str, value: Any) -> str:
        return badge(value) if name in ("state", "status") and value else escape(fmt(value))


class Rows(Rich, list[T], Generic[T]):
    """A list of views shown as a table of ``columns``: (header, attribute or function)."""

    columns: ClassVar[tuple[tuple[str, str | Callable[[Any], Any]], ...]] = ()
    empty: ClassVar[str] = "nothing to show"

    def __repr__(self) -> str:
        return self._text()

    def cells(self, item: Any) -> list[Any]:
        return [getter(item) if callable(getter) else getattr(item, getter) for _, getter in self.columns]

    def _text(self) -> str:
        if not self:
            return f"({self.empty})"
        return text_table([h for h, _ in self.columns], [[fmt(c) for c in self.cells(i)] for i in self])

    def _html(self) -> str:
        if not self:
            return f'<p class="muted">{escape(self.empty)}</p>'
        headers = [h for h, _ in self.columns]
        rows = [[badge(c) if h in ("state", "status", "severity") and c else escape(fmt(c))
                 for h, c in zip(headers, self.cells(i))] for i in self]
        return html_table(headers, rows)

    def to_dataframe(self):
        """A pandas DataFrame, one row per item, nested dicts flattened (``stats.bytes``)."""
        import pandas as pd

        return pd.DataFrame([_flat(asdict(i)) if is_dataclass(i) else i for i in self])


def _flat(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict) and key != "params":
            flat |= _flat(value, f"{prefix}{key}.")
        else:
            flat[prefix + key] = value
    return flat


# --- data sources and projects ------------------------------------------------------------


@dataclass
class DataSource(DataSourceInfo, Record):
    """Secrets masked by the server; ``permissions``: the caller's (owner, read, write)."""


class DataSourceList(Rows[DataSource]):
    columns = (("name", "name"), ("type", "type"), ("owner", "owner"), ("your permissions", "permissions"),
               ("description", "description"))
    empty = "no data source you may see"


class DataSourceDirectory(Rows[DataSourceEntry]):
    columns = (("name", "name"), ("type", "type"), ("owner", "owner"), ("your permissions", "permissions"),
               ("requested", "pending"))
    empty = "no data sources"


@dataclass
class PermissionRequest(service.PermissionRequest, Record):
    pass


@dataclass
class ConnectionTest(Record):
    datasource: str
    ok: bool
    message: str

    def _text(self) -> str:
        return f"{'✓' if self.ok else '✗'} {self.datasource}: {self.message}"

    def _html(self) -> str:
        return f"{badge('pass' if self.ok else 'fail')} <b>{escape(self.datasource)}</b>: {escape(self.message)}"


@dataclass
class Grant(service.Grant, Record):
    pass


class GrantList(Rows[Grant]):
    columns = (("user", "user"), ("permission", "permission"), ("granted by", "granted_by"),
               ("granted at", "granted_at"))
    empty = "no grants"


@dataclass
class Project(ProjectInfo, Record):
    pass


class ProjectList(Rows[Project]):
    columns = (("id", "id"), ("name", "name"), ("mode", "mode"), ("owner", "owner"), ("description", "description"))


@dataclass
class Folder(FolderInfo, Record):
    pass


@dataclass
class TaskLeaf:
    id: int
    name: str
    schedule_type: str
    status: str


@dataclass
class FolderNode(Rich):
    """The Batch Pipeline tree from one folder down."""

    id: int
    name: str
    folders: list[FolderNode] = field(default_factory=list)
    tasks: list[TaskLeaf] = field(default_factory=list)

    def find(self, path: str) -> FolderNode | None:
        """The folder at ``path`` ("ods/daily") below this one; "" or "/" is this one."""
        node: FolderNode | None = self
        for part in [p for p in path.split("/") if p]:
            node = next((f for f in node.folders if f.name == part), None) if node else None
        return node

    def _text(self, depth: int = 0) -> str:
        pad = "  " * depth
        lines = [f"{pad}{self.name}/"]
        lines += [f._text(depth + 1) for f in self.folders]
        lines += [f"{pad}  {t.name}  [{t.schedule_type}, {t.status}]" for t in self.tasks]
        return "\n".join(lines)

    def _html(self) -> str:
        items = [f"<li>{f._html()}</li>" for f in self.folders]
        items += [f"<li>{escape(t.name)} {badge(t.status)} <span class='muted'>{t.schedule_type}</span></li>"
                  for t in self.tasks]
        return f"<b>{escape(self.name)}/</b><ul style='margin:0'>{''.join(items)}</ul>"


# --- tasks ----------------------------------------------------------------------------------


def describe_schedule(config: ScheduleConfig | None) -> str:
    """A cycle in words: "every day at 02:00 (Asia/Shanghai)"."""
    if config is None:
        return ""
    cycle, zone = config.schedule.cycle, config.schedule.timezone
    if cycle is None:
        return "manual (no cycle)"
    words = {
        "minute": lambda c: f"every {c.every_minutes} min from {c.start_time} to {c.end_time}",
        "hour": lambda c: (f"every {c.every_hours} h from {c.start_time} to {c.end_time}" if c.every_hours
                           else f"at {', '.join(map(str, c.hours))} h, minute {c.minute}"),
        "day": lambda c: f"every day at {c.time}",
        "week": lambda c: f"weekdays {', '.join(map(str, c.weekdays))} at {c.time}",
        "month": lambda c: f"days {', '.join(map(str, c.days))}{' and the last' if c.last_day else ''} at {c.time}",
        "cron": lambda c: f"cron {c.expression}",
    }[cycle.type](cycle)
    state = "" if config.schedule.state == "normal" else f", {config.schedule.state}"
    return f"{words} ({zone}{state})"


@dataclass
class Task(TaskInfo, Record):
    schedule: ScheduleConfig | None = None  # the draft's, parsed; ``script`` when fetched one by one

    shown = ("id", "name", "status", "schedule_type", "owner", "description", "updated_at")

    @property
    def parameters(self) -> dict[str, str]:
        """The draft schedule's custom parameters: name -> default value."""
        return {p.name: p.value for p in self.schedule.parameters} if self.schedule else {}

    def pairs(self) -> list[tuple[str, Any]]:
        pairs = super().pairs()
        pairs.insert(3, ("source → target", f"{self.source_datasource} ({self.source_type}) → "
                                             f"{self.target_datasource} ({self.target_type})"))
        if self.schedule is not None:
            pairs.insert(4, ("schedule", describe_schedule(self.schedule)))
        return pairs

    def _text(self) -> str:
        return super()._text() + (f"\n\n{self.script}" if self.script else "")

    def _html(self) -> str:
        script = (f"<details><summary>draft script</summary><pre>{escape(self.script)}</pre></details>"
                  if self.script else "")
        return super()._html() + script


class TaskList(Rows[Task]):
    columns = (("id", "id"), ("name", "name"), ("type", "schedule_type"), ("status", "status"),
               ("source → target", lambda t: f"{t.source_datasource} → {t.target_datasource}"),
               ("owner", "owner"), ("updated", "updated_at"))
    empty = "no tasks"


@dataclass
class ScheduledRun:
    scheduled_time: datetime
    business_date: date


class RunPreview(Rows[ScheduledRun]):
    columns = (("scheduled time", "scheduled_time"), ("business date", "business_date"))
    empty = "no run: the schedule never fires (manual, paused dates, or an effective range in the past)"


# --- validation, submit, versions, lineage ----------------------------------------------------


class Diagnostics(Rich, list[Diagnostic]):
    """A script's diagnostics, each shown with the line it points at. ``first_line`` is the
    number the script's first line has where the user sees it: 2 in a ``%%pipeline`` cell,
    whose first line is the magic's."""

    def __init__(self, items: Iterable[Diagnostic] = (), script: str = "", first_line: int = 1,
                 where: str = "line"):
        super().__init__(items)
        self.script, self.first_line, self.where = script, first_line, where

    __repr__ = Rich.__str__

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self if d.severity == "error"]

    def line(self, diagnostic: Diagnostic) -> int:
        return diagnostic.line + self.first_line - 1

    def _source(self, diagnostic: Diagnostic) -> str:
        lines = self.script.splitlines()
        return lines[diagnostic.line - 1] if 0 < diagnostic.line <= len(lines) else ""

    def _text(self) -> str:
        if not self:
            return "✓ no problems"
        out = []
        for d in self:
            out.append(f"{self.where} {self.line(d)}, column {d.column}: {d.severity}: {d.message}"
                       + (f" ({d.pointer})" if d.pointer else ""))
            if source := self._source(d):
                out += [f"    {source}", "    " + " " * (d.column - 1) + "^"]
        return "\n".join(out)

    def _html(self) -> str:
        if not self:
            return f"{badge('pass')} no problems"
        headers = [self.where, "severity", "message", "pointer"] + (["source"] if self.script else [])

        def row(d: Diagnostic) -> list[str]:
            cells = [f"{self.line(d)}:{d.column}", badge(d.severity), escape(d.message),
                     f"<code>{escape(d.pointer)}</code>"]
            return cells + ([f"<code>{escape(self._source(d).strip())}</code>"] if self.script else [])

        return html_table(headers, [row(d) for d in self])


@dataclass
class Check:
    name: str  # configuration | permission | schema | table_duplication | dependency
    status: str  # pass | warning | fail | skipped
    messages: list[str] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)


@dataclass
class LineageNode:
    id: str
    kind: str  # table | column
    datasource: str = ""
    table: str = ""
    column: str | None = None
    parent: str | None = None


@dataclass
class LineageEdge:
    source: str
    target: str
    kind: str  # table | column
    task_id: int


@dataclass
class LineageGraph(Rich):
    """Table and column lineage: ``source`` table(.column) -> ``target``, per task.
    ``focus`` marks the tables asked about; ``task_names`` names the edges' tasks."""

    nodes: list[LineageNode]
    edges: list[LineageEdge]
    focus: list[str] = field(default_factory=list)
    task_names: dict[int, str] = field(default_factory=dict)

    def _task(self, task_id: int) -> str:
        return self.task_names.get(task_id, f"task {task_id}")

    def table_edges(self) -> list[LineageEdge]:
        return [e for e in self.edges if e.kind == "table"]

    def _text(self) -> str:
        if not self.edges:
            return "(no lineage recorded)"
        lines = []
        for edge in self.table_edges():
            lines.append(f"{edge.source} -> {edge.target}  ({self._task(edge.task_id)})")
            lines += [f"    .{self._column(e.source)} -> .{self._column(e.target)}" for e in self.edges
                      if e.kind == "column" and e.task_id == edge.task_id
                      and self._parent(e.source) == edge.source and self._parent(e.target) == edge.target]
        return "\n".join(lines)

    def _node(self, node_id: str) -> LineageNode | None:
        return next((n for n in self.nodes if n.id == node_id), None)

    def _column(self, node_id: str) -> str:
        node = self._node(node_id)
        return node.column if node and node.column else node_id

    def _parent(self, node_id: str) -> str:
        node = self._node(node_id)
        return node.parent if node and node.parent else node_id

    def _html(self) -> str:
        if not self.edges:
            return '<p class="muted">no lineage recorded</p>'
        tables = [charts.Table(n.id, n.id, [(c.id, c.column or "") for c in self.nodes if c.parent == n.id],
                               n.id in self.focus) for n in self.nodes if n.kind == "table"]
        links = [charts.Link(e.source, e.target, self._task(e.task_id)) for e in self.edges]
        return charts.lineage_svg(tables, links)


@dataclass
class SubmitResult(Rich):
    """The checks of a submit, in order, and the task's lineage when it went through."""

    status: str  # submitted | published | failed | needs_confirmation | deleted
    checks: list[Check] = field(default_factory=list)
    version: int | None = None
    task: str = ""
    lineage: LineageGraph | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("submitted", "published", "deleted")

    def headline(self) -> str:
        outcome = {"submitted": f"submitted as version {self.version} (to publish)",
                   "published": f"submitted as version {self.version} and scheduled in production",
                   "deleted": "deleted", "failed": "not submitted: a check failed",
                   "needs_confirmation": "not submitted: confirm the warnings (--confirm-warnings)"}
        return f"{self.task}: {outcome.get(self.status, self.status)}"

    def _rows(self) -> list[list[str]]:
        return [[c.name, c.status, "; ".join(c.messages)] for c in self.checks]

    def _text(self) -> str:
        text = self.headline() + "\n\n" + text_table(["check", "status", "messages"], self._rows())
        for check in self.checks:
            if check.diagnostics:
                text += f"\n\n{check.name}:\n" + Diagnostics(check.diagnostics)._text()
        if self.lineage is not None:
            text += "\n\nlineage:\n" + self.lineage._text()
        return text

    def _html(self) -> str:
        rows = [[escape(name), badge(status), escape(messages)] for name, status, messages in self._rows()]
        html = (f"<h4>{badge(self.status)} {escape(self.headline())}</h4>"
                + html_table(["check", "status", "messages"], rows))
        for check in self.checks:
            if check.diagnostics:
                html += f"<h4>{escape(check.name)}</h4>" + Diagnostics(check.diagnostics)._html()
        if self.lineage is not None:
            html += "<h4>lineage</h4>" + self.lineage._html()
        return html


@dataclass
class Version(Record):
    number: int
    change: str  # create | update | delete
    remarks: str
    author: str
    created_at: datetime
    published_by: str | None = None
    published_at: datetime | None = None
    task_id: int | None = None
    script: str | None = None
    schedule: ScheduleConfig | None = None
    checks: list[Check] = field(default_factory=list)

    shown = ("number", "change", "remarks", "author", "created_at", "published_by", "published_at")


class VersionList(Rows[Version]):
    columns = (("version", "number"), ("change", "change"), ("remarks", "remarks"), ("author", "author"),
               ("created", "created_at"), ("published", "published_at"))
    empty = "never submitted"


@dataclass
class Pending(Record):
    task_id: int
    task_name: str
    number: int
    change: str
    remarks: str
    author: str
    created_at: datetime
    published_by: str | None = None
    published_at: datetime | None = None


class PendingList(Rows[Pending]):
    columns = (("task", "task_name"), ("version", "number"), ("change", "change"), ("remarks", "remarks"),
               ("author", "author"), ("submitted", "created_at"), ("published", "published_at"))
    empty = "nothing to publish"


# --- the Operation Center ---------------------------------------------------------------------


@dataclass
class TaskRef:
    id: int
    name: str | None = None


@dataclass
class ProductionTask(Record):
    """A task as production runs it: its published version and schedule."""

    id: int
    name: str
    project: str
    owner: str
    schedule_type: str
    version: int
    state: str  # normal | dry_run | paused
    operation_owner: str = ""
    cycle: str | None = None
    timezone: str = "UTC"
    priority: str = "medium"
    next_run_time: datetime | None = None
    next_business_date: date | None = None
    upstream: list[TaskRef] = field(default_factory=list)
    downstream: list[TaskRef] = field(default_factory=list)


class ProductionTaskList(Rows[ProductionTask]):
    columns = (("id", "id"), ("project", "project"), ("name", "name"), ("version", "version"),
               ("state", "state"), ("cycle", "cycle"), ("next run", "next_run_time"),
               ("upstream", lambda t: [u.name for u in t.upstream]), ("owner", "owner"))
    empty = "nothing in production"


@dataclass
class Instance(Record):
    """One run of a task version for a business date (SPEC section 8)."""

    id: int
    task_id: int
    state: str
    task_name: str = ""
    project: str = ""
    owner: str = ""
    version: int | None = None
    kind: str = ""  # recurring | manual | backfill
    business_date: date | None = None
    scheduled_time: datetime | None = None
    priority: str = ""
    attempt: int = 1
    max_attempts: int = 1
    params: dict[str, str] = field(default_factory=dict)
    backfill_id: int | None = None
    triggered_by: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_seconds: float | None = None
    stats: dict[str, Any] | None = None  # the engine's summary once it ran
    error: str | None = None
    log_available: bool = False
    events: list[dict[str, Any]] = field(default_factory=list)  # with instance(): its state changes
    upstream: list[dict[str, Any]] = field(default_factory=list)  # with instance(): what it waits for

    FINISHED: ClassVar[frozenset[str]] = frozenset({"success", "failed", "not_run", "dry_run", "killed"})
    shown = ("id", "task_name", "kind", "business_date", "state", "attempt", "scheduled_time",
             "started_at", "finished_at", "duration_seconds", "triggered_by", "params", "error")

    @property
    def finished(self) -> bool:
        """Settled for good: a failed instance with reruns left waits again instead."""
        return self.state in self.FINISHED

    @property
    def ended_at(self) -> datetime | None:
        """When the run ended: also for an attempt that failed and waits to be rerun."""
        if self.finished_at or self.state == "running" or not (self.started_at and self.duration_seconds):
            return self.finished_at
        return self.started_at + timedelta(seconds=self.duration_seconds)

    def stat(self, name: str) -> Any:
        return (self.stats or {}).get(name)

    def pairs(self) -> list[tuple[str, Any]]:
        pairs = [(k, f"{v} of {self.max_attempts}" if k == "attempt" else v) for k, v in super().pairs()]
        summary = ("records_read", "records_written", "dirty_records", "bytes", "records_per_second")
        return [(k, v) for k, v in pairs if v not in (None, "", {})] + [
            (k.replace("_", " "), count(self.stat(k))) for k in summary if self.stat(k) is not None]

    def _html(self) -> str:
        html = super()._html()
        if self.upstream:
            html += "<h4>waits for</h4>" + html_table(["task", "ok", "instances"], [
                [escape(u.get("task_name", "")), badge("pass" if u.get("ok") else "waiting_upstream"),
                 escape(", ".join(f"{i['id']} {i['state']}" for i in u.get("instances", [])) or "none yet")]
                for u in self.upstream])
        if self.events:
            html += "<details><summary>state changes</summary>" + html_table(["at", "from", "to", "reason"], [
                [escape(fmt(_time(e.get("at")))), escape(e.get("from") or ""), badge(e.get("to", "")),
                 escape(e.get("reason", ""))] for e in self.events]) + "</details>"
        return html


def _time(value: Any) -> Any:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


class InstanceList(Rows[Instance]):
    """A page of instances (``total`` match in all), as a table and a timeline."""

    columns = (("id", "id"), ("task", "task_name"), ("kind", "kind"), ("business date", "business_date"),
               ("state", "state"), ("attempt", lambda i: f"{i.attempt}/{i.max_attempts}"),
               ("started", "started_at"), ("seconds", "duration_seconds"),
               *((header, lambda i, name=name: count(i.stat(name))) for header, name in (
                   ("read", "records_read"), ("written", "records_written"), ("dirty", "dirty_records"),
                   ("rec/s", "records_per_second"))))
    empty = "no instances"

    def __init__(self, items: Iterable[Instance] = (), total: int | None = None):
        super().__init__(items)
        self.total = len(self) if total is None else total

    def _footer(self) -> str:
        return f"{len(self)} of {self.total} instances" if self.total > len(self) else ""

    def _text(self) -> str:
        return "\n".join(filter(None, [super()._text(), self._footer()]))

    def timeline(self) -> str:
        """The SVG chart: one bar per instance from start to end, coloured by state."""
        bars = [charts.Bar(f"{i.task_name or i.task_id} {fmt(i.business_date)}", i.state, i.started_at,
                           i.ended_at, f"#{i.id} {i.task_name} {fmt(i.business_date)}: {i.state}"
                           + (f", {i.duration_seconds:.1f}s" if i.duration_seconds is not None else ""))
                for i in sorted(self, key=_run_order)]
        svg = charts.timeline_svg(bars)
        return f"{svg}<div>{charts.legend([i.state for i in self])}</div>" if svg else ""

    def _html(self) -> str:
        footer = f'<p class="muted">{escape(self._footer())}</p>' if self._footer() else ""
        return super()._html() + footer + (self.timeline() if self else "")


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _run_order(instance: Instance) -> tuple:
    """The runs by start, then those not started yet."""
    return instance.started_at is None, instance.started_at or instance.scheduled_time or _EPOCH, instance.id


@dataclass
class LogChunk(Rich):
    """Part of an instance's log: ``text`` up to byte ``offset`` of ``size``; ask again from
    ``offset`` to follow it; ``finished`` once the instance will write no more."""

    text: str
    offset: int
    size: int
    finished: bool

    def _text(self) -> str:
        return self.text

    def _html(self) -> str:
        return f"<pre>{escape(self.text) or '<span class=muted>(the log is empty)</span>'}</pre>"


@dataclass
class Code(Rich):
    """The script of the version an instance ran, and as it ran (parameters resolved)."""

    task_id: int
    version: int
    script: str
    resolved_script: str | None = None

    def _text(self) -> str:
        return self.resolved_script or self.script

    def _html(self) -> str:
        html = f"<h4>version {self.version}, as it ran</h4><pre>{escape(self._text())}</pre>"
        if self.resolved_script:
            html += f"<details><summary>as written</summary><pre>{escape(self.script)}</pre></details>"
        return html


@dataclass
class Backfill(Record):
    id: int
    task_id: int
    state: str  # running | cancelled | finished
    task_name: str | None = None
    tasks: list[TaskRef] = field(default_factory=list)
    start: Annotated[date | None, Field(validation_alias=AliasChoices("from", "start"))] = None
    end: Annotated[date | None, Field(validation_alias=AliasChoices("to", "end"))] = None
    parallelism: int = 1
    created_by: str = ""
    created_at: datetime | None = None
    total: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    dates_total: int = 0
    dates_done: int = 0

    shown = ("id", "task_name", "start", "end", "parallelism", "state", "counts", "created_by", "created_at")

    def pairs(self) -> list[tuple[str, Any]]:
        return [*super().pairs(), ("dates done", f"{self.dates_done} of {self.dates_total}"),
                ("tasks", [t.name or t.id for t in self.tasks])]


class BackfillList(Rows[Backfill]):
    columns = (("id", "id"), ("task", "task_name"), ("from", "start"), ("to", "end"), ("state", "state"),
               ("dates done", lambda b: f"{b.dates_done}/{b.dates_total}"), ("instances", "counts"),
               ("by", "created_by"))
    empty = "no backfills"


@dataclass
class Notification(Record):
    """An instance that failed or was killed."""

    id: int
    instance_id: int
    task_id: int
    state: str
    task_name: str = ""
    business_date: date | None = None
    kind: str = ""
    reason: str = ""
    at: datetime | None = None
    timed_out: bool = False


class NotificationList(Rows[Notification]):
    columns = (("at", "at"), ("task", "task_name"), ("instance", "instance_id"), ("business date", "business_date"),
               ("state", "state"), ("reason", "reason"))
    empty = "no failures"

    def __init__(self, items: Iterable[Notification] = (), last: int = 0):
        super().__init__(items)
        self.last = last  # poll again with after=last


# --- a run in progress --------------------------------------------------------------------------

_PROGRESS = re.compile(r"progress: ([\d,]+) read, ([\d,]+) written, ([\d,]+) dirty, ([\d,.]+) rec/s")


def progress_from_log(text: str) -> dict[str, float] | None:
    """The last ``progress:`` line a run writes to its log every few seconds."""
    found = _PROGRESS.findall(text)
    if not found:
        return None
    read, written, dirty, rate = (float(v.replace(",", "")) for v in found[-1])
    return {"records_read": read, "records_written": written, "dirty_records": dirty, "records_per_second": rate}


@dataclass
class Progress(Rich):
    """What ``run --wait`` shows while it polls: the state, records and speed so far."""

    instance: Instance
    counters: dict[str, float] | None = None  # from the log while it runs; the stats once done
    since: float = field(default_factory=time.monotonic)

    def _numbers(self) -> dict[str, float]:
        # while it runs, the log's counters: the stats may still be an earlier attempt's
        if self.instance.state == "running" and self.counters:
            return self.counters
        return self.instance.stats or self.counters or {}

    def _line(self) -> str:
        n, i = self._numbers(), self.instance
        seconds = i.duration_seconds if i.duration_seconds is not None else time.monotonic() - self.since
        parts = [f"instance {i.id} {i.task_name} {fmt(i.business_date)}", i.state, f"{seconds:,.0f}s"]
        if n:
            parts += [f"{n.get('records_read', 0):,.0f} read", f"{n.get('records_written', 0):,.0f} written",
                      f"{n.get('records_per_second', 0):,.0f} rec/s"]
            if n.get("dirty_records"):
                parts.append(f"{n['dirty_records']:,.0f} dirty")
        return " · ".join(parts)

    def _text(self) -> str:
        return self._line()

    def _html(self) -> str:
        state = self.instance.state
        moving = "" if self.instance.finished else (
            "background-image:repeating-linear-gradient(45deg,rgba(255,255,255,.3) 0 8px,transparent 8px 16px);")
        bar = (f'<div style="width:420px;height:10px;border-radius:5px;background:{charts.color(state)};'
               f'{moving}opacity:{1 if state != "waiting_time" else .5}"></div>')
        return f"{bar}<div>{badge(state)} {escape(self._line())}</div>"


@dataclass
class TaskStatus(Rich):
    """``%pipeline status``: the task, its versions and its latest instances."""

    task: Task
    versions: VersionList
    instances: InstanceList

    def _text(self) -> str:
        return "\n\n".join([Record._text(self.task), "versions:\n" + self.versions._text(),
                            "latest instances:\n" + self.instances._text()])

    def _html(self) -> str:
        return (Record._html(self.task) + "<h4>versions</h4>" + self.versions._html()
                + "<h4>latest instances</h4>" + self.instances._html())
