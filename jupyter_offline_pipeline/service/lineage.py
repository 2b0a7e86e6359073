"""Lineage: which source table.column each target table.column comes from.

``extract_lineage`` reads it off a script (pure: introspection comes in as ``columns_of``);
the submit stores it as ``LineageRow``s, and ``lineage_graph`` / ``openlineage_event``
show what is stored. Every source table gets a table-level edge (columns None) to the
target, so table lineage holds even where no column can be traced (constants, a query
sqlglot cannot follow); column edges come on top where the columns can be traced.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.lineage import lineage as column_lineage
from sqlglot.optimizer.qualify import qualify
from sqlalchemy import func, select

from ..store import Store
from ..store.models import LineageRow, TaskRow, VersionRow
from .errors import NotFound

# step type -> sqlglot dialect; other relational types parse with sqlglot's default
DIALECTS = {"mysql": "mysql", "postgresql": "postgres", "sqlite": "sqlite", "duckdb": "duckdb"}
FILE_TYPES = {"csv", "parquet", "jsonl"}

ColumnsOf = Callable[[str, str], list[str]]  # (datasource, table) -> names; [] when unknown
Sources = set[tuple[str, str]]  # the (table, column) pairs one output column is made from


class Edge(NamedTuple):
    source_datasource: str
    source_table: str
    source_column: str | None
    target_datasource: str
    target_table: str
    target_column: str | None


# --- extraction from a script -----------------------------------------------------------


def extract_lineage(script: dict[str, Any], columns_of: ColumnsOf) -> list[Edge]:
    """The edges of a script (``Script.to_dict()``): reader output column i feeds writer
    column i; ``*`` is expanded through ``columns_of`` on both sides."""
    reader, writer = _step(script, "reader"), _step(script, "writer")
    source_ds, target_ds = _datasource(reader), _datasource(writer)
    target = target_table(writer)
    edges = [Edge(source_ds, table, None, target_ds, target, None) for table in source_tables(reader)]
    outputs = reader_outputs(reader, columns_of) or []
    for sources, column in zip(outputs, writer_columns(writer, columns_of) or []):
        edges += [Edge(source_ds, table, name, target_ds, target, column)
                  for table, name in sorted(sources)]
    return list(dict.fromkeys(edges))


def source_tables(reader: dict[str, Any]) -> list[str]:
    """The tables (or the file path) a reader reads; for ``querySql``, those the query names."""
    parameter = reader["parameter"]
    if reader["stepType"] in FILE_TYPES:
        return [parameter["path"]]
    if parameter.get("querySql"):
        try:
            return _query_tables(_parse(parameter["querySql"], reader))
        except SqlglotError:
            return []
    return list(parameter.get("table") or [])


def target_table(writer: dict[str, Any]) -> str:
    parameter = writer["parameter"]
    return parameter["path"] if writer["stepType"] in FILE_TYPES else parameter["table"]


def reader_outputs(reader: dict[str, Any], columns_of: ColumnsOf) -> list[Sources] | None:
    """Per output column of the reader, the source columns it is made from (empty for a
    constant); None when the outputs cannot be told (a ``*`` nothing expands, a query
    that does not parse)."""
    parameter, datasource = reader["parameter"], _datasource(reader)
    if parameter.get("querySql"):
        return _query_outputs(parameter["querySql"], reader, columns_of)
    tables = source_tables(reader)
    outputs: list[Sources] = []
    for column in _names(parameter.get("column") or ["*"]):
        if column == "*":
            names = columns_of(datasource, tables[0]) if tables else []
            if not names:
                return None
            outputs += [{(table, name) for table in tables} for name in names]
        else:
            # several tables of one shape: each output comes from every one of them
            outputs.append({(table, name) for table in tables
                            for name in _referenced(column, reader)})
    return outputs


def writer_columns(writer: dict[str, Any], columns_of: ColumnsOf) -> list[str] | None:
    """The writer's column names, ``*`` expanded; None when ``*`` cannot be expanded."""
    columns: list[str] = []
    for column in _names(writer["parameter"].get("column") or ["*"]):
        if column == "*":
            names = columns_of(_datasource(writer), target_table(writer))
            if not names:
                return None
            columns += names
        else:
            columns.append(_unquoted(column))
    return columns


def referenced_columns(column: str, step: dict[str, Any]) -> list[str]:
    """The columns a reader column (a name, a constant or an expression) reads."""
    return sorted(_referenced(column, step))


def _step(script: dict[str, Any], category: str) -> dict[str, Any]:
    return next(step for step in script["steps"] if step["category"] == category)


def _datasource(step: dict[str, Any]) -> str:
    return step["parameter"].get("datasource") or ""  # a file step may name none


def _names(columns: Iterable[Any]) -> list[str]:
    """Column names; a file column is a name or {"name", "type"}; one by index is "#index"."""
    names = []
    for column in columns:
        name = column.get("name") if isinstance(column, dict) else column
        names.append(name if name is not None else f"#{column.get('index')}")
    return names


def _unquoted(name: str) -> str:
    return name[1:-1] if len(name) > 1 and name[0] + name[-1] in ('""', "``", "[]") else name


def _referenced(column: str, step: dict[str, Any]) -> set[str]:
    if step["stepType"] in FILE_TYPES:
        return {column}
    try:
        tree = _parse(column, step)
    except SqlglotError:
        return set()  # not traceable: the table-level edge stands for it
    return {c.name for c in tree.find_all(exp.Column)}


def _parse(sql: str, step: dict[str, Any]) -> exp.Expression:
    tree = sqlglot.parse_one(sql, read=DIALECTS.get(step["stepType"]))
    if tree is None:
        raise SqlglotError(f"nothing to parse in {sql!r}")
    return tree


# --- querySql ---------------------------------------------------------------------------


def _query_tables(tree: exp.Expression) -> list[str]:
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    names = (_table_name(t) for t in tree.find_all(exp.Table) if t.name not in ctes)
    return list(dict.fromkeys(names))


def _table_name(table: exp.Table) -> str:
    return ".".join(part.name for part in table.parts)


def _query_outputs(sql: str, reader: dict[str, Any], columns_of: ColumnsOf) -> list[Sources] | None:
    """The query's output columns traced to table columns by sqlglot (joins, aliases,
    subqueries and CTEs); a column sqlglot cannot follow has no sources."""
    dialect = DIALECTS.get(reader["stepType"])
    try:
        tree = _parse(sql, reader)
    except SqlglotError:
        return None
    # sqlglot matches tables by name alone in a flat schema, whatever their db prefix
    schema = {name.rpartition(".")[2]: dict.fromkeys(columns, "unknown")
              for name in _query_tables(tree) if (columns := columns_of(_datasource(reader), name))}
    qualified = _qualified(tree, schema, dialect)
    if qualified is None:  # the schema disagrees with the query: trace what names say
        schema = {}
        qualified = _qualified(tree, schema, dialect)
    if not isinstance(qualified, exp.Query) or any(s.is_star for s in qualified.selects):
        return None
    return [_traced(select.alias_or_name, qualified, schema, dialect) for select in qualified.selects]


def _qualified(tree: exp.Expression, schema: dict, dialect: str | None) -> exp.Expression | None:
    try:
        return qualify(tree.copy(), schema=schema, dialect=dialect, validate_qualify_columns=False)
    except SqlglotError:
        return None


def _traced(name: str, tree: exp.Expression, schema: dict, dialect: str | None) -> Sources:
    try:
        node = column_lineage(name, tree, schema=schema, dialect=dialect)
    except SqlglotError:
        return set()
    return {(_table_name(leaf.expression), sqlglot.parse_one(leaf.name).name)
            for leaf in node.walk() if not leaf.downstream and isinstance(leaf.expression, exp.Table)}


# --- the stored graph -------------------------------------------------------------------


def current_versions() -> Any:
    """A subquery of each live task's newest version (a submitted deletion ends it)."""
    newest = (select(func.max(VersionRow.id)).join(TaskRow, TaskRow.id == VersionRow.task_id)
              .where(TaskRow.deleted.is_(False)).group_by(VersionRow.task_id))
    return select(VersionRow.id).where(VersionRow.id.in_(newest), VersionRow.change != "delete")


def published_versions() -> Any:
    """A subquery of each live task's newest published version, unless that is a deletion:
    what production runs."""
    newest = (select(func.max(VersionRow.id)).join(TaskRow, TaskRow.id == VersionRow.task_id)
              .where(TaskRow.deleted.is_(False), VersionRow.published_at.is_not(None))
              .group_by(VersionRow.task_id))
    return select(VersionRow.id).where(VersionRow.id.in_(newest), VersionRow.change != "delete")


def upstream_map(schedules: dict[int, dict], edges: Iterable[LineageRow]) -> dict[int, set[int]]:
    """Each task's upstream tasks: those its schedule configuration lists and, when it says
    ``auto_from_lineage``, the tasks writing a table it reads (by the lineage ``edges``)."""
    writers: dict[tuple[str, str], set[int]] = {}
    reads: dict[int, set[tuple[str, str]]] = {}
    for row in edges:
        writers.setdefault(_target(row), set()).add(row.task_id)
        reads.setdefault(row.task_id, set()).add(_source(row))
    graph = {}
    for task_id, config in schedules.items():
        dependency = config.get("dependency") or {}
        upstream = set(dependency.get("upstream") or [])
        if dependency.get("auto_from_lineage", True):
            upstream |= {w for table in reads.get(task_id, ()) for w in writers.get(table, ())} - {task_id}
        graph[task_id] = upstream
    return graph


def current_edges(session) -> list[LineageRow]:
    """The lineage of what every live task does now (its newest submitted version)."""
    return list(session.scalars(select(LineageRow).where(
        LineageRow.version_id.in_(current_versions()))))


def lineage_graph(store: Store, *, table: tuple[str, str] | None = None, task_id: int | None = None,
                  direction: str = "both", depth: int | None = None) -> dict[str, list[dict]]:
    """Table and column nodes and edges around a table or a task, ``depth`` table hops
    up (towards sources), down (towards targets) or both (None: as far as it goes)."""
    if direction not in ("up", "down", "both"):
        raise ValueError(f"direction must be up, down or both (got {direction!r})")
    with store.session() as session:
        rows = current_edges(session)
    tables = [row for row in rows if row.source_column is None]
    if task_id is not None:
        own = [row for row in tables if row.task_id == task_id]
        ups, downs = {_source(r) for r in own}, {_target(r) for r in own}
    else:
        own, ups, downs = [], {table}, {table}
    hops = set(map(_key, own))
    if direction in ("up", "both"):
        hops |= _walk(tables, ups, _target, _source, depth)
    if direction in ("down", "both"):
        hops |= _walk(tables, downs, _source, _target, depth)
    chosen = [row for row in rows if _key(row) in hops]
    return _drawing(chosen, {table} if table else set())


def _source(row: LineageRow) -> tuple[str, str]:
    return row.source_datasource, row.source_table


def _target(row: LineageRow) -> tuple[str, str]:
    return row.target_datasource, row.target_table


def _key(row: LineageRow) -> tuple:
    return row.task_id, _source(row), _target(row)


def _walk(rows: list[LineageRow], start: set, near: Callable, far: Callable, depth: int | None) -> set:
    """The table hops reached from ``start`` going from each edge's ``near`` end to its
    ``far`` end, breadth first."""
    seen, frontier, hops, level = set(start), set(start), set(), 0
    while frontier and (depth is None or level < depth):
        step = [row for row in rows if near(row) in frontier]
        hops |= set(map(_key, step))
        frontier = {far(row) for row in step} - seen
        seen |= frontier
        level += 1
    return hops


def _drawing(rows: list[LineageRow], extra_tables: set) -> dict[str, list[dict]]:
    nodes: dict[str, dict] = {}
    edges = []
    for table in extra_tables:
        nodes[_table_id(*table)] = _table_node(*table)
    for row in rows:
        ends = []
        for datasource, table, column in ((row.source_datasource, row.source_table, row.source_column),
                                          (row.target_datasource, row.target_table, row.target_column)):
            nodes.setdefault(_table_id(datasource, table), _table_node(datasource, table))
            if column is not None:
                node = {"id": _table_id(datasource, table) + f".{column}", "kind": "column",
                        "datasource": datasource, "table": table, "column": column,
                        "parent": _table_id(datasource, table)}
                nodes.setdefault(node["id"], node)
                ends.append(node["id"])
            else:
                ends.append(_table_id(datasource, table))
        level = "table" if row.source_column is None else "column"
        edges.append({"source": ends[0], "target": ends[1], "kind": level, "task_id": row.task_id})
    return {"nodes": list(nodes.values()), "edges": edges}


def _table_id(datasource: str, table: str) -> str:
    return f"{datasource}:{table}"


def _table_node(datasource: str, table: str) -> dict[str, str]:
    return {"id": _table_id(datasource, table), "kind": "table", "datasource": datasource, "table": table}


# --- OpenLineage --------------------------------------------------------------------------

PRODUCER = "https://github.com/jupyter-offline-pipeline/jupyter_offline_pipeline"
_SPEC = "https://openlineage.io/spec"


def openlineage_event(task: TaskRow, version: VersionRow, edges: Iterable[Edge | LineageRow],
                      namespace: str = "jupyter_offline_pipeline") -> dict[str, Any]:
    """The version as an OpenLineage RunEvent: the task is the job, source and target
    tables the datasets (namespace = data source), the target carrying ``columnLineage``."""
    edges = list(edges)
    inputs = dict.fromkeys((e.source_datasource, e.source_table) for e in edges)
    outputs = dict.fromkeys((e.target_datasource, e.target_table) for e in edges)
    run_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{namespace}/task/{task.id}/version/{version.number}")
    return {
        "eventType": "COMPLETE",
        "eventTime": version.created_at.isoformat(),
        "producer": PRODUCER,
        "schemaURL": f"{_SPEC}/2-0-2/OpenLineage.json#/definitions/RunEvent",
        "run": {"runId": str(run_id)},
        "job": {"namespace": namespace, "name": task.name},
        "inputs": [{"namespace": ds, "name": table} for ds, table in inputs],
        "outputs": [_output(ds, table, edges) for ds, table in outputs],
    }


def _output(datasource: str, table: str, edges: list) -> dict[str, Any]:
    fields: dict[str, dict] = {}
    for e in edges:
        if (e.target_datasource, e.target_table) == (datasource, table) and e.target_column:
            fields.setdefault(e.target_column, {"inputFields": []})["inputFields"].append(
                {"namespace": e.source_datasource, "name": e.source_table, "field": e.source_column})
    facet = {"_producer": PRODUCER,
             "_schemaURL": f"{_SPEC}/facets/1-1-0/ColumnLineageDatasetFacet.json",
             "fields": fields}
    return {"namespace": datasource, "name": table, "facets": {"columnLineage": facet}}


def openlineage_for(store: Store, task_id: int, version: int | None = None) -> dict[str, Any]:
    """The stored lineage of a task's version (the newest by default) as an OpenLineage event."""
    with store.session() as session:
        task = session.get(TaskRow, task_id)
        if task is None:
            raise NotFound(f"task {task_id} does not exist")
        query = select(VersionRow).where(VersionRow.task_id == task_id)
        query = query.where(VersionRow.number == version) if version is not None else query
        row = session.scalar(query.order_by(VersionRow.number.desc()).limit(1))
        if row is None:
            raise NotFound(f"task {task_id} has no version {version}" if version is not None else
                           f"task {task.name!r} was never submitted: it has no lineage yet")
        edges = session.scalars(select(LineageRow).where(LineageRow.version_id == row.id)).all()
        return openlineage_event(task, row, edges)
