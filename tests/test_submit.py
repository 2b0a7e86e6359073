"""Submit (the five checks in order), versions and diffs, lineage, and publishing in basic
and dev_prod projects, on SQLite and DuckDB data sources and on the real servers."""

from __future__ import annotations

import json
import sqlite3

import duckdb
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from jupyter_offline_pipeline.crypto import SecretBox
from jupyter_offline_pipeline.service import DataSourceService
from jupyter_offline_pipeline.service.errors import Conflict, Forbidden, InvalidInput
from jupyter_offline_pipeline.service.lineage import lineage_graph
from jupyter_offline_pipeline.service.submit import SubmitService
from jupyter_offline_pipeline.service.users import User
from jupyter_offline_pipeline.store import Store
from jupyter_offline_pipeline.store.models import FolderRow, LineageRow, ProjectRow, TaskRow

ALICE, BOB = User("alice"), User("bob")


@pytest.fixture
def store(tmp_path):
    return Store(f"sqlite:///{tmp_path / 'store.db'}")


@pytest.fixture
def datasources(store, tmp_path):
    service = DataSourceService(store, SecretBox(Fernet.generate_key()))
    with sqlite3.connect(tmp_path / "lite.db") as conn:
        conn.execute("create table orders (id integer, amount real, gmt_create text)")
        conn.execute("create table customers (id integer, name text)")
    with duckdb.connect(str(tmp_path / "duck.duckdb")) as conn:
        for name in ("ods_orders", "dwd_orders", "ads_orders"):
            conn.execute(f"create table {name} (id bigint, amount double, gmt_create varchar)")
    service.add(ALICE, "lite", "sqlite", {"path": str(tmp_path / "lite.db")})
    service.add(ALICE, "duck", "duckdb", {"path": str(tmp_path / "duck.duckdb")})
    return service


@pytest.fixture
def service(store, datasources):
    return SubmitService(store, datasources)


def make_project(store, mode="basic", name=None):
    with store.session() as session:
        project = ProjectRow(name=name or mode, mode=mode, owner="alice")
        session.add(project)
        session.flush()
        session.add(FolderRow(project_id=project.id, name="Offline Pipeline"))
    return project.id


@pytest.fixture
def basic(store):
    return make_project(store, "basic")


@pytest.fixture
def dev_prod(store):
    return make_project(store, "dev_prod")


def script(reader=None, writer=None, source=("sqlite", "lite"), target=("duckdb", "duck")):
    defaults = {} if "querySql" in (reader or {}) else {"table": ["orders"], "column": ["id", "amount", "gmt_create"]}
    reader = {**defaults, **(reader or {})}
    writer = {"table": "ods_orders", "column": ["id", "amount", "gmt_create"], **(writer or {})}
    return json.dumps({"type": "job", "version": "2.0", "steps": [
        {"stepType": source[0], "category": "reader", "name": "Reader",
         "parameter": {"datasource": source[1], **reader}},
        {"stepType": target[0], "category": "writer", "name": "Writer",
         "parameter": {"datasource": target[1], **writer}}]}, indent=2)


def make_task(store, project_id, name="load_orders", text=None, schedule=None, owner="alice",
              source=("sqlite", "lite"), target=("duckdb", "duck")):
    with store.session() as session:
        folder = session.scalar(select(FolderRow.id).where(FolderRow.project_id == project_id))
        task = TaskRow(project_id=project_id, folder_id=folder, name=name, schedule_type="recurring",
                       source_type=source[0], source_datasource=source[1], target_type=target[0],
                       target_datasource=target[1], script=text or script(source=source, target=target),
                       schedule=schedule or {}, owner=owner)
        session.add(task)
    return task.id


def set_draft(store, task_id, **values):
    with store.session() as session:
        task = session.get(TaskRow, task_id)
        for key, value in values.items():
            setattr(task, key, value)


def statuses(result):
    return {check.name: check.status for check in result.checks}


def messages(result, name):
    return " ".join(next(check for check in result.checks if check.name == name).messages)


# --- remarks and the checks -----------------------------------------------------------------


@pytest.mark.parametrize("remarks", ["", "   ", "x" * 129])
def test_remarks_are_required_and_short(service, store, basic, remarks):
    task = make_task(store, basic)
    with pytest.raises(InvalidInput) as error:
        service.submit(ALICE, task, remarks)
    assert [issue.field for issue in error.value.issues] == ["remarks"]


def test_happy_path_in_a_basic_project_publishes_at_once(service, store, basic):
    task = make_task(store, basic)
    result = service.submit(ALICE, task, "first load")
    assert result.status == "published" and result.version == 1
    assert list(statuses(result).values()) == ["pass"] * 5
    assert [c.name for c in result.checks] == [
        "configuration", "permission", "schema", "table_duplication", "dependency"]
    published = service.published_version(task)
    assert (published["number"], published["published_by"], published["change"]) == (1, "alice", "create")
    assert service.to_publish(ALICE, basic) == []
    with store.session() as session:
        assert session.get(TaskRow, task).status == "published"
        rows = session.scalars(select(LineageRow).where(LineageRow.task_id == task)).all()
    assert {(r.source_table, r.source_column, r.target_table, r.target_column) for r in rows} == {
        ("orders", None, "ods_orders", None), ("orders", "id", "ods_orders", "id"),
        ("orders", "amount", "ods_orders", "amount"), ("orders", "gmt_create", "ods_orders", "gmt_create")}


def test_only_the_owner_or_an_admin_submits(service, store, basic):
    task = make_task(store, basic)
    with pytest.raises(Forbidden):
        service.submit(BOB, task, "not mine")
    with pytest.raises(Forbidden):
        service.submit_deletion(BOB, task, "not mine")
    assert service.submit(User("root", is_admin=True), task, "admin").status == "published"


def test_configuration_check_needs_defined_parameters(service, store, basic):
    text = script({"where": "gmt_create >= '${start}'"})
    task = make_task(store, basic, text=text)
    result = service.submit(ALICE, task, "filtered")
    assert result.status == "failed"
    assert statuses(result) == {"configuration": "fail", "permission": "skipped", "schema": "skipped",
                                "table_duplication": "skipped", "dependency": "skipped"}
    assert "${start} is not defined" in messages(result, "configuration")
    assert result.checks[0].diagnostics[0]["pointer"] == "/steps/0/parameter/where"
    set_draft(store, task, schedule={"parameters": [{"name": "start", "value": "${yyyy-MM-dd-7}"}]})
    assert service.submit(ALICE, task, "filtered").status == "published"


def test_permission_check_needs_read_on_the_source(service, store, basic, datasources):
    task = make_task(store, basic, owner="bob")
    result = service.submit(BOB, task, "bob's load")
    assert statuses(result)["permission"] == "fail"
    assert "may not read data source 'lite'" in messages(result, "permission")
    assert "may not write data source 'duck'" in messages(result, "permission")
    datasources.grant(ALICE, "lite", "bob", "read")
    datasources.grant(ALICE, "duck", "bob", "write")
    assert service.submit(BOB, task, "bob's load").status == "published"


def test_schema_check_missing_source_table(service, store, basic):
    task = make_task(store, basic, text=script({"table": ["no_such_table"]}))
    result = service.submit(ALICE, task, "load")
    assert (result.status, statuses(result)["schema"], statuses(result)["dependency"]) == (
        "failed", "fail", "skipped")
    assert "source table 'no_such_table' of data source 'lite'" in messages(result, "schema")
    assert "does not exist" in messages(result, "schema")


def test_schema_check_fails_when_a_server_cannot_be_reached(service, store, basic, datasources):
    """The editor only warns; a submit must have seen the tables."""
    datasources.add(ALICE, "far", "postgresql", {"host": "127.0.0.1", "port": 1, "database": "d", "user": "u"})
    task = make_task(store, basic, text=script(source=("postgresql", "far")), source=("postgresql", "far"))
    result = service.submit(ALICE, task, "load", confirm_warnings=True)
    assert (result.status, statuses(result)["schema"]) == ("failed", "fail")
    assert "far" in messages(result, "schema")


def test_schema_check_missing_columns(service, store, basic):
    task = make_task(store, basic, text=script({"column": ["id", "amount * 2", "nope"]},
                                               {"column": ["id", "amount", "missing"]}))
    text = messages(service.submit(ALICE, task, "load"), "schema")
    assert "column 'nope' does not exist in source table 'orders'" in text
    assert "column 'missing' does not exist in target table 'ods_orders'" in text


def test_schema_check_column_counts(service, store, basic):
    task = make_task(store, basic, text=script({"column": ["*"]}, {"column": ["id", "amount"]}))
    result = service.submit(ALICE, task, "load")
    assert statuses(result)["schema"] == "fail"
    assert "the reader yields 3 columns but the writer writes 2" in messages(result, "schema")


def test_table_duplication_warns_then_confirms(service, store, basic):
    first = make_task(store, basic, name="first")
    assert service.submit(ALICE, first, "v1").status == "published"
    assert service.submit(ALICE, first, "v2").status == "published"  # never a warning about itself
    second = make_task(store, basic, name="second")
    result = service.submit(ALICE, second, "v1")
    assert result.status == "needs_confirmation" and result.version is None
    assert statuses(result)["table_duplication"] == "warning"
    assert statuses(result)["dependency"] == "skipped"
    assert "task 'first' already writes table 'ods_orders'" in messages(result, "table_duplication")
    confirmed = service.submit(ALICE, second, "v1", confirm_warnings=True)
    assert confirmed.status == "published" and statuses(confirmed)["table_duplication"] == "warning"


def test_dependency_cycle_through_lineage(service, store, basic):
    """load: orders -> ods; clean: ods -> dwd; back: dwd -> orders closes the loop."""
    ods_to_dwd = script({"table": ["ods_orders"]}, {"table": "dwd_orders"},
                        source=("duckdb", "duck"), target=("duckdb", "duck"))
    back = script({"table": ["dwd_orders"]}, {"table": "orders"},
                  source=("duckdb", "duck"), target=("sqlite", "lite"))
    load = make_task(store, basic, "load")
    clean = make_task(store, basic, "clean", text=ods_to_dwd, source=("duckdb", "duck"))
    closing = make_task(store, basic, "back", text=back, source=("duckdb", "duck"), target=("sqlite", "lite"))
    assert service.submit(ALICE, load, "v1").status == "published"
    assert service.submit(ALICE, clean, "v1").status == "published"
    result = service.submit(ALICE, closing, "v1")
    assert statuses(result)["dependency"] == "fail"
    assert "cycle: 'back' -> 'clean' -> 'load' -> 'back'" in messages(result, "dependency")
    # without automatic upstreams from lineage there is no cycle
    set_draft(store, closing, schedule={"dependency": {"upstream": [], "auto_from_lineage": False}})
    assert service.submit(ALICE, closing, "v1").status == "published"


def test_dependency_cycle_through_explicit_upstreams(service, store, basic):
    a = make_task(store, basic, "a", text=script(writer={"table": "ods_orders"}))
    b = make_task(store, basic, "b", text=script(writer={"table": "ads_orders"}))
    manual = {"auto_from_lineage": False}
    set_draft(store, a, schedule={"dependency": {"upstream": [b], **manual}})
    set_draft(store, b, schedule={"dependency": {"upstream": [], **manual}})
    assert service.submit(ALICE, b, "v1").status == "published"
    assert service.submit(ALICE, a, "v1").status == "published"
    set_draft(store, b, schedule={"dependency": {"upstream": [a], **manual}})
    result = service.submit(ALICE, b, "v2")
    assert "cycle: 'b' -> 'a' -> 'b'" in messages(result, "dependency")
    set_draft(store, b, schedule={"dependency": {"upstream": [999], **manual}})
    assert "upstream task 999 does not exist" in messages(service.submit(ALICE, b, "v2"), "dependency")


# --- versions ---------------------------------------------------------------------------------


def test_versions_number_up_and_diff(service, store, basic):
    task = make_task(store, basic)
    service.submit(ALICE, task, "first")
    set_draft(store, task, script=script({"column": ["id", "amount", "'x'"]}),
              schedule={"parameters": [{"name": "p", "value": "1"}]})
    assert service.submit(ALICE, task, "second").version == 2
    versions = service.versions(ALICE, task)
    assert [(v["number"], v["remarks"], v["change"]) for v in versions] == [
        (2, "second", "update"), (1, "first", "create")]
    assert service.version(ALICE, task, 1)["script"] == script()
    diff = service.diff(ALICE, task, 1, 2)
    assert "--- version 1/script\n+++ version 2/script\n" in diff
    assert '-          "gmt_create"\n' in diff and "+          \"'x'\"\n" in diff
    assert "+++ version 2/schedule" in diff and '+      "name": "p",' in diff
    assert service.diff(ALICE, task, 2, 2) == ""


# --- dev_prod: to publish, publish, delete -----------------------------------------------------


def test_dev_prod_waits_to_be_published(service, store, dev_prod):
    task = make_task(store, dev_prod)
    result = service.submit(ALICE, task, "first")
    assert (result.status, result.version) == ("submitted", 1)
    assert service.published_version(task) is None
    [pending] = service.to_publish(ALICE, dev_prod)
    assert (pending["task_name"], pending["number"], pending["change"]) == ("load_orders", 1, "create")

    [done] = service.publish(BOB, dev_prod, [task])
    assert (done["number"], done["published_by"]) == (1, "bob")
    assert service.published_version(task)["number"] == 1
    assert service.to_publish(ALICE, dev_prod) == []
    with pytest.raises(Conflict, match="nothing to publish"):
        service.publish(BOB, dev_prod, [task])

    service.submit(ALICE, task, "second")
    assert service.published_version(task)["number"] == 1  # production keeps running v1
    assert [p["number"] for p in service.to_publish(ALICE, dev_prod)] == [2]
    service.publish(BOB, dev_prod, [task])
    assert service.published_version(task)["number"] == 2


def test_dev_prod_deletion_waits_to_be_published(service, store, dev_prod):
    task = make_task(store, dev_prod)
    service.submit(ALICE, task, "first")
    service.publish(ALICE, dev_prod, [task])
    result = service.submit_deletion(ALICE, task, "not needed")
    assert (result.status, result.version) == ("submitted", 2)
    assert service.published_version(task)["number"] == 1
    [pending] = service.to_publish(ALICE, dev_prod)
    assert (pending["number"], pending["change"]) == (2, "delete")
    with pytest.raises(Conflict, match="deleted"):
        service.submit(ALICE, task, "again")
    with pytest.raises(Conflict, match="already waits"):
        service.submit_deletion(ALICE, task, "twice")
    service.publish(ALICE, dev_prod, [task])
    with store.session() as session:
        assert session.get(TaskRow, task) is None
    assert service.to_publish(ALICE, dev_prod) == []


def test_basic_deletion_is_immediate(service, store, basic):
    task = make_task(store, basic)
    service.submit(ALICE, task, "first")
    assert service.submit_deletion(ALICE, task, "gone").status == "deleted"
    with store.session() as session:
        assert session.get(TaskRow, task) is None
    # and its lineage went with it: a new writer of the table gets no warning
    other = make_task(store, basic, name="other")
    assert service.submit(ALICE, other, "v1").status == "published"


def test_submitted_lineage_is_in_the_graph(service, store, basic):
    sql = ("select o.id, o.amount, c.name from orders o join customers c on c.id = o.id")
    task = make_task(store, basic, text=script({"querySql": sql}, {"column": ["*"]}))
    assert service.submit(ALICE, task, "query").status == "published"
    graph = lineage_graph(store, table=("duck", "ods_orders"), direction="up")
    assert {(e["source"], e["target"]) for e in graph["edges"] if e["kind"] == "column"} == {
        ("lite:orders.id", "duck:ods_orders.id"), ("lite:orders.amount", "duck:ods_orders.amount"),
        ("lite:customers.name", "duck:ods_orders.gmt_create")}


# --- the real servers -------------------------------------------------------------------------


def test_full_flow_mariadb_to_postgresql(store, pg_db, mariadb_db):
    datasources = DataSourceService(store, SecretBox(Fernet.generate_key()))
    for db in (pg_db, mariadb_db):
        params = {k: v for k, v in db.datasource.params.items() if v != ""}
        datasources.add(ALICE, db.datasource.name, db.datasource.type, params)
    source = mariadb_db.make_table("(id int primary key, amount decimal(10,2), note varchar(20))",
                                   [(1, 2.5, "a")])
    target = pg_db.make_table("(id int primary key, amount numeric(10,2), note text)")
    service = SubmitService(store, datasources)
    project = make_project(store, "dev_prod", "servers")
    text = script({"table": [source], "column": ["*"]}, {"table": target, "column": ["*"]},
                  source=("mysql", "my"), target=("postgresql", "pg"))
    task = make_task(store, project, text=text, source=("mysql", "my"), target=("postgresql", "pg"))

    result = service.submit(ALICE, task, "servers")
    assert result.status == "submitted", result.to_dict()
    service.publish(ALICE, project, [task])
    assert service.published_version(task)["number"] == 1
    graph = lineage_graph(store, task_id=task)
    assert {(e["source"], e["target"]) for e in graph["edges"] if e["kind"] == "column"} == {
        (f"my:{source}.{c}", f"pg:{target}.{c}") for c in ("id", "amount", "note")}

    pg_db.execute(f"ALTER TABLE {target} DROP COLUMN note")
    failed = service.submit(ALICE, task, "fewer columns")
    assert "the reader yields 3 columns but the writer writes 2" in messages(failed, "schema")
