"""Lineage from scripts (column lists, ``*``, expressions, querySql), the stored graph
walked up and down, and the OpenLineage event."""

from __future__ import annotations

import uuid

import pytest

from jupyter_offline_pipeline.service.lineage import Edge, extract_lineage, lineage_graph, openlineage_event
from jupyter_offline_pipeline.store import Store
from jupyter_offline_pipeline.store.models import (
    FolderRow, LineageRow, ProjectRow, TaskRow, VersionRow)

COLUMNS = {
    ("src", "orders"): ["id", "cid", "amount"],
    ("src", "customers"): ["id", "name"],
    ("dst", "out"): ["a", "b", "c"],
    ("files", "in.csv"): ["k", "v"],
}


def columns_of(datasource, table):
    return COLUMNS.get((datasource, table), [])


def script(reader, writer, reader_type="mysql", writer_type="postgresql"):
    return {"steps": [
        {"stepType": reader_type, "category": "reader", "name": "r", "parameter": reader},
        {"stepType": writer_type, "category": "writer", "name": "w", "parameter": writer}]}


def pairs(edges):
    """Column edges as "table.column -> table.column"; table edges as "table -> table"."""
    return {f"{e.source_table}.{e.source_column} -> {e.target_table}.{e.target_column}"
            if e.source_column else f"{e.source_table} -> {e.target_table}" for e in edges}


def lineage_of(reader, columns=("a", "b", "c"), reader_type="mysql"):
    writer = {"datasource": "dst", "table": "out", "column": list(columns)}
    return pairs(extract_lineage(script({"datasource": "src", **reader}, writer, reader_type), columns_of))


def test_column_lists_pair_by_position():
    edges = extract_lineage(script(
        {"datasource": "src", "table": ["orders"], "column": ["id", "amount"]},
        {"datasource": "dst", "table": "out", "column": ["a", "b"]}), columns_of)
    assert edges == [
        Edge("src", "orders", None, "dst", "out", None),
        Edge("src", "orders", "id", "dst", "out", "a"),
        Edge("src", "orders", "amount", "dst", "out", "b"),
    ]


def test_star_expands_on_both_sides():
    assert lineage_of({"table": ["orders"], "column": ["*"]}, ["*"]) == {
        "orders -> out", "orders.id -> out.a", "orders.cid -> out.b", "orders.amount -> out.c"}


def test_star_that_cannot_expand_leaves_the_table_edge():
    assert lineage_of({"table": ["missing"], "column": ["*"]}) == {"missing -> out"}


def test_expressions_read_their_columns_and_constants_none():
    assert lineage_of({"table": ["orders"], "column": ["amount * 2", "'text'", "coalesce(`id`, cid)"]}) == {
        "orders -> out", "orders.amount -> out.a", "orders.id -> out.c", "orders.cid -> out.c"}


def test_several_tables_each_give_an_edge():
    assert lineage_of({"table": ["orders", "orders_2023"], "column": ["id"]}, ["a"]) == {
        "orders -> out", "orders_2023 -> out", "orders.id -> out.a", "orders_2023.id -> out.a"}


def test_query_with_join_and_aliases():
    sql = ("select o.id as oid, c.name, o.amount * 2 as doubled from orders o "
           "join customers c on o.cid = c.id where o.gmt_create >= '20240101'")
    assert lineage_of({"querySql": sql}, ["*"], "postgresql") == {
        "orders -> out", "customers -> out",
        "orders.id -> out.a", "customers.name -> out.b", "orders.amount -> out.c"}


def test_query_unqualified_columns_resolve_through_the_schema():
    sql = "select name, amount, 1 from orders join customers on orders.cid = customers.id"
    assert lineage_of({"querySql": sql}) == {
        "orders -> out", "customers -> out", "customers.name -> out.a", "orders.amount -> out.b"}


def test_query_through_a_cte_and_a_star():
    sql = "with t as (select * from orders) select t.id, t.amount from t"
    assert lineage_of({"querySql": sql}, ["a", "b"], "duckdb") == {
        "orders -> out", "orders.id -> out.a", "orders.amount -> out.b"}


def test_query_that_does_not_parse_keeps_no_column_edges():
    assert lineage_of({"querySql": "select from where ("}) == set()


def test_file_steps_use_the_path_as_the_table():
    edges = extract_lineage(script(
        {"datasource": "files", "path": "in.csv", "column": ["*"]},
        {"datasource": "dst", "table": "out", "column": ["a", "b"]}, reader_type="csv"), columns_of)
    assert pairs(edges) == {"in.csv -> out", "in.csv.k -> out.a", "in.csv.v -> out.b"}


# --- the stored graph ---------------------------------------------------------------------


@pytest.fixture
def store(tmp_path):
    return Store(f"sqlite:///{tmp_path / 'store.db'}")


def add_task(session, project, folder, name, edges, number=1):
    task = TaskRow(project_id=project.id, folder_id=folder.id, name=name, schedule_type="recurring",
                   source_type="mysql", source_datasource="src", target_type="postgresql",
                   target_datasource="dst", owner="alice")
    session.add(task)
    session.flush()
    version = VersionRow(task_id=task.id, number=number, script="{}", remarks="r", author="alice")
    session.add(version)
    session.flush()
    session.add_all(LineageRow(version_id=version.id, task_id=task.id, **edge._asdict()) for edge in edges)
    return task


@pytest.fixture
def chain(store):
    """a.t1 -> (load) -> b.t2 -> (transform) -> c.t3, plus an unrelated x.y -> z.w."""
    with store.session() as session:
        project = ProjectRow(name="p", owner="alice")
        session.add(project)
        session.flush()
        folder = FolderRow(project_id=project.id, name="Offline Pipeline")
        session.add(folder)
        session.flush()
        ids = {}
        for name, (s, t) in {"load": (("a", "t1"), ("b", "t2")), "transform": (("b", "t2"), ("c", "t3")),
                             "other": (("x", "y"), ("z", "w"))}.items():
            edges = [Edge(*s, None, *t, None), Edge(*s, "id", *t, "id")]
            ids[name] = add_task(session, project, folder, name, edges).id
    return ids


def table_ids(graph):
    return {n["id"] for n in graph["nodes"] if n["kind"] == "table"}


def test_graph_down_from_a_table(store, chain):
    graph = lineage_graph(store, table=("a", "t1"), direction="down")
    assert table_ids(graph) == {"a:t1", "b:t2", "c:t3"}
    assert {n["id"] for n in graph["nodes"] if n["kind"] == "column"} == {
        "a:t1.id", "b:t2.id", "c:t3.id"}
    assert {(e["source"], e["target"]) for e in graph["edges"] if e["kind"] == "column"} == {
        ("a:t1.id", "b:t2.id"), ("b:t2.id", "c:t3.id")}


def test_graph_up_from_a_table_with_depth(store, chain):
    assert table_ids(lineage_graph(store, table=("c", "t3"), direction="up")) == {"a:t1", "b:t2", "c:t3"}
    assert table_ids(lineage_graph(store, table=("c", "t3"), direction="up", depth=1)) == {"b:t2", "c:t3"}
    assert table_ids(lineage_graph(store, table=("c", "t3"), direction="down")) == {"c:t3"}


def test_graph_around_a_task(store, chain):
    graph = lineage_graph(store, task_id=chain["transform"], direction="both")
    assert table_ids(graph) == {"a:t1", "b:t2", "c:t3"}
    assert {e["task_id"] for e in graph["edges"]} == {chain["load"], chain["transform"]}
    assert table_ids(lineage_graph(store, task_id=chain["transform"], direction="down")) == {"b:t2", "c:t3"}


def test_graph_ignores_deleted_tasks(store, chain):
    with store.session() as session:
        session.get(TaskRow, chain["load"]).deleted = True
    assert table_ids(lineage_graph(store, table=("c", "t3"), direction="up")) == {"b:t2", "c:t3"}


def test_openlineage_event(store, chain):
    with store.session() as session:
        task = session.get(TaskRow, chain["load"])
        version = session.query(VersionRow).filter_by(task_id=task.id).one()
        rows = session.query(LineageRow).filter_by(task_id=task.id).all()
    event = openlineage_event(task, version, rows)
    assert event["eventType"] == "COMPLETE"
    assert event["job"] == {"namespace": "jupyter_offline_pipeline", "name": "load"}
    uuid.UUID(event["run"]["runId"])
    assert event["inputs"] == [{"namespace": "a", "name": "t1"}]
    [output] = event["outputs"]
    assert (output["namespace"], output["name"]) == ("b", "t2")
    assert output["facets"]["columnLineage"]["fields"] == {
        "id": {"inputFields": [{"namespace": "a", "name": "t1", "field": "id"}]}}
