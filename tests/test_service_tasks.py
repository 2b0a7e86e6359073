"""Tasks: every rule of the Create Offline Script dialog (alone and all at once, nothing
created on failure), the template and its introspection, search, move, rename, drafts and
their limits, owner vs other user vs admin, and deletion in basic and Dev-Prod projects."""

from __future__ import annotations

import json
import sqlite3

import pytest
from cryptography.fernet import Fernet

from jupyter_offline_pipeline.crypto import SecretBox
from jupyter_offline_pipeline.service import DataSourceService, ProjectService, TaskService, User
from jupyter_offline_pipeline.service.errors import Conflict, Forbidden, InvalidInput, NotFound

ALICE, BOB, ADMIN = User("alice"), User("bob"), User("root", is_admin=True)
DS_OWNER = User("carol")


@pytest.fixture
def store(tmp_path):
    from jupyter_offline_pipeline.store import Store

    return Store(f"sqlite:///{tmp_path / 'store.db'}")


@pytest.fixture
def datasources(store, tmp_path):
    """Carol's data sources: alice may read ``src`` and ``files`` and write ``dst``;
    ``locked`` (sqlite) is carol's alone."""
    with sqlite3.connect(tmp_path / "src.db") as conn:
        conn.execute("create table orders (id integer primary key, amount real, gmt_create text)")
    with sqlite3.connect(tmp_path / "dst.db") as conn:
        conn.execute("create table ods_orders (order_id integer, total real)")
    service = DataSourceService(store, SecretBox(Fernet.generate_key()))
    for name, kind, path in [("src", "sqlite", "src.db"), ("dst", "sqlite", "dst.db"),
                             ("locked", "sqlite", "locked.db"), ("files", "csv", ".")]:
        service.add(DS_OWNER, name, kind, {"path": str(tmp_path / path)})
    for name, permission in [("src", "read"), ("files", "read"), ("dst", "write")]:
        service.grant(DS_OWNER, name, "alice", permission)
    return service


@pytest.fixture
def projects(store):
    return ProjectService(store)


@pytest.fixture
def project(projects):
    return projects.ensure_default(ALICE)


@pytest.fixture
def tasks(store, datasources):
    return TaskService(store, datasources)


DIALOG = dict(name="sync_orders", schedule_type="recurring", source_type="sqlite", source_datasource="src",
              target_type="sqlite", target_datasource="dst")


@pytest.fixture
def create(tasks, project):
    def create(user=ALICE, **fields):
        return tasks.create(user, project.id, **{**DIALOG, **fields})

    return create


# --- creating: the happy path ------------------------------------------------------------------


def test_create_fills_the_task_template_and_schedule(tasks, create, project):
    task = create(description="orders to the warehouse")
    assert task.folder_id == project.root_folder_id
    assert (task.owner, task.status, task.deleted) == ("alice", "draft", False)
    full = tasks.get(BOB, task.id, with_script=True)
    script = json.loads(full.script)
    reader, writer = script["steps"]
    assert (reader["stepType"], reader["parameter"]["datasource"]) == ("sqlite", "src")
    assert (writer["stepType"], writer["parameter"]["datasource"]) == ("sqlite", "dst")
    assert reader["parameter"]["table"] == ["source_table"] and writer["parameter"]["table"] == "target_table"
    assert full.schedule["schedule"]["cycle"] == {"type": "day", "time": "00:00"}
    assert full.schedule["basic"]["developer"] == "alice"


def test_create_introspects_the_tables_it_is_given(tasks, create):
    task = create(source_table="orders", target_table="ods_orders")
    reader, writer = json.loads(tasks.get(ALICE, task.id, with_script=True).script)["steps"]
    assert reader["parameter"]["table"] == ["orders"]
    assert reader["parameter"]["column"] == ["id", "amount", "gmt_create"]
    assert writer["parameter"]["table"] == "ods_orders"
    assert writer["parameter"]["column"] == ["order_id", "total"]


def test_a_table_that_cannot_be_read_keeps_the_placeholder_columns(tasks, create):
    task = create(source_table="no_such_table")
    reader, _ = json.loads(tasks.get(ALICE, task.id, with_script=True).script)["steps"]
    assert reader["parameter"]["table"] == ["no_such_table"] and reader["parameter"]["column"] == ["*"]


def test_create_into_a_folder_and_to_a_file_target(projects, project, tasks, create, tmp_path):
    folder = projects.create_folder(ALICE, project.id, name="ods")
    (tmp_path / "in.csv").write_text("a,b\n1,2\n")
    task = create(schedule_type="manual", folder_id=folder.id, source_type="csv", source_datasource="files",
                  source_table="in.csv")
    assert task.folder_id == folder.id
    full = tasks.get(ALICE, task.id, with_script=True)
    reader, writer = json.loads(full.script)["steps"]
    assert reader["parameter"]["path"] == "in.csv" and reader["parameter"]["column"] == ["a", "b"]
    assert writer["parameter"]["column"] == ["a", "b"]
    assert full.schedule["schedule"]["cycle"] is None


def test_to_dict(tasks, create):
    task = create()
    keys = {"id", "project_id", "folder_id", "name", "schedule_type", "description", "source_type",
            "source_datasource", "target_type", "target_datasource", "status", "owner", "deleted",
            "created_at", "updated_at"}
    assert set(task.to_dict()) == keys
    full = tasks.get(ALICE, task.id, with_script=True).to_dict()
    assert set(full) == keys | {"script", "schedule"}
    assert full["created_at"].endswith("+00:00")
    json.dumps(full)


# --- creating: each rule on its own, then all at once -----------------------------------------


@pytest.mark.parametrize("fields, field, words", [
    ({"name": ""}, "name", "is required"),
    ({"name": "  "}, "name", "is required"),
    ({"name": "x" * 65}, "name", "at most 64"),
    *[({"name": f"a{c}b"}, "name", f"must not contain {c}") for c in '|:?<>*"/\\'],
    ({"schedule_type": "daily"}, "schedule_type", "recurring or manual"),
    ({"description": "d" * 1001}, "description", "at most 1000"),
    ({"folder_id": 999}, "folder_id", "does not exist"),
    ({"source_type": "oracle"}, "source_type", "unknown type 'oracle'"),
    ({"source_type": ""}, "source_type", "is required"),
    ({"source_datasource": ""}, "source_datasource", "is required"),
    ({"source_datasource": "nope"}, "source_datasource", "'nope' does not exist"),
    ({"source_datasource": "files"}, "source_datasource", "'files' is csv, not sqlite"),
    ({"source_datasource": "locked"}, "source_datasource", "you may not read data source 'locked'"),
    ({"source_datasource": "dst"}, "source_datasource", "you may not read data source 'dst'"),
    ({"target_type": "nope"}, "target_type", "unknown type"),
    ({"target_datasource": ""}, "target_datasource", "is required"),
    ({"target_datasource": "nope"}, "target_datasource", "does not exist"),
    ({"target_type": "csv", "target_datasource": "dst"}, "target_datasource", "is sqlite, not csv"),
    ({"target_datasource": "src"}, "target_datasource", "you may not write data source 'src'"),
])
def test_each_rule_of_the_dialog(tasks, create, project, fields, field, words):
    with pytest.raises(InvalidInput) as info:
        create(**fields)
    assert [i.field for i in info.value.issues] == [field]
    assert words in info.value.issues[0].message
    assert tasks.list(ALICE, project.id) == []


def test_name_is_unique_in_its_project_only(projects, tasks, create):
    create()
    with pytest.raises(InvalidInput) as info:
        create(description="again")
    assert info.value.issues[0].to_dict() == {
        "field": "name", "message": "a task named 'sync_orders' already exists in this project"}
    other = projects.create(ALICE, "other")
    assert tasks.create(ALICE, other.id, **DIALOG).name == "sync_orders"


def test_folder_of_another_project_is_refused(projects, create):
    other = projects.create(ALICE, "other")
    with pytest.raises(InvalidInput, match="in another project"):
        create(folder_id=other.root_folder_id)


def test_every_violation_at_once_and_nothing_created(tasks, create, project):
    create()
    with pytest.raises(InvalidInput) as info:
        create(name="sync_orders", schedule_type="sometimes", description="d" * 1001, folder_id=12345,
               source_type="oracle", source_datasource="locked", target_type="sqlite", target_datasource="src")
    assert [i.field for i in info.value.issues] == [
        "name", "schedule_type", "description", "folder_id", "source_type", "source_datasource",
        "target_datasource"]
    assert info.value.status == 400 and len(info.value.to_dict()["issues"]) == 7
    assert [t.name for t in tasks.list(ALICE, project.id)] == ["sync_orders"]


def test_admin_may_use_any_data_source(create):
    assert create(ADMIN, source_datasource="locked", target_datasource="src").owner == "root"


def test_unknown_project(tasks):
    with pytest.raises(NotFound):
        tasks.create(ALICE, 42, **DIALOG)


# --- reading: get, list, search ---------------------------------------------------------------


def test_get_missing(tasks):
    with pytest.raises(NotFound):
        tasks.get(ALICE, 7)


def test_list_by_folder_and_search(projects, project, tasks, create):
    folder = projects.create_folder(ALICE, project.id, name="ods")
    create(name="Orders_Daily", description="")
    create(name="customers", description="Daily snapshot of CUSTOMERS", folder_id=folder.id)
    create(name="refunds_100%", description="refunds")
    names = lambda **kw: [t.name for t in tasks.list(BOB, project.id, **kw)]  # noqa: E731
    assert names() == ["Orders_Daily", "customers", "refunds_100%"]
    assert names(folder_id=folder.id) == ["customers"]
    assert names(search="DAILY") == ["Orders_Daily", "customers"]
    assert names(search="daily", folder_id=project.root_folder_id) == ["Orders_Daily"]
    assert names(search="100%") == ["refunds_100%"]
    assert names(search="%") == ["refunds_100%"]  # a wildcard is searched for, not expanded
    assert names(search="_d") == ["Orders_Daily"]
    assert names(search="nothing") == []


# --- rename and move -------------------------------------------------------------------------


def test_rename(tasks, create):
    task = create()
    create(name="other")
    assert tasks.rename(ALICE, task.id, "sync_orders_v2").name == "sync_orders_v2"
    assert tasks.rename(ALICE, task.id, "sync_orders_v2").name == "sync_orders_v2"
    for bad, words in [("other", "already exists"), ("a/b", "must not contain /"), ("", "is required")]:
        with pytest.raises(InvalidInput, match=words) as info:
            tasks.rename(ALICE, task.id, bad)
        assert info.value.issues[0].field == "name"


def test_move(projects, project, tasks, create):
    folder = projects.create_folder(ALICE, project.id, name="ods")
    task = create()
    assert tasks.move(ALICE, task.id, folder.id).folder_id == folder.id
    assert tasks.move(ALICE, task.id, None).folder_id == project.root_folder_id
    other = projects.create(ALICE, "other")
    with pytest.raises(InvalidInput) as info:
        tasks.move(ALICE, task.id, other.root_folder_id)
    assert info.value.issues[0].field == "folder_id"
    with pytest.raises(InvalidInput, match="does not exist"):
        tasks.move(ALICE, task.id, 999)


# --- owner, other user, admin --------------------------------------------------------------------


@pytest.mark.parametrize("change", [
    lambda tasks, task_id, user: tasks.rename(user, task_id, f"renamed_{task_id}"),
    lambda tasks, task_id, user: tasks.move(user, task_id, None),
    lambda tasks, task_id, user: tasks.save_draft(user, task_id, script="{}"),
    lambda tasks, task_id, user: tasks.delete(user, task_id),
])
def test_only_the_owner_or_an_admin_may_change_a_task(tasks, create, change):
    task = create()
    with pytest.raises(Forbidden, match="only alice"):
        change(tasks, task.id, BOB)
    assert tasks.get(BOB, task.id).name == "sync_orders"  # anyone may read
    change(tasks, task.id, ADMIN)
    second = create(name="second")
    change(tasks, second.id, ALICE)


# --- drafts ------------------------------------------------------------------------------------


def test_save_draft_script_and_schedule(tasks, create):
    task = create()
    saved = tasks.save_draft(ALICE, task.id, script='{"type": "job"')  # a draft may be half written
    assert saved.script == '{"type": "job"'
    schedule = {"schedule": {"cycle": {"type": "week", "weekdays": [5, 1], "time": "06:30"},
                             "timezone": "Asia/Shanghai"}}
    saved = tasks.save_draft(ALICE, task.id, schedule=schedule)
    assert saved.script == '{"type": "job"'
    assert saved.schedule["schedule"]["cycle"] == {"type": "week", "weekdays": [1, 5], "time": "06:30"}
    assert saved.schedule["run"]["timeout_hours"] == 48
    assert tasks.get(ALICE, task.id, with_script=True).schedule == saved.schedule


def test_script_limit(tasks, create):
    task = create()
    tasks.save_draft(ALICE, task.id, script="x" * 500_000)
    with pytest.raises(InvalidInput) as info:
        tasks.save_draft(ALICE, task.id, script="y" * 500_001)
    assert info.value.issues[0].field == "script"
    assert "500000" in info.value.issues[0].message
    assert tasks.get(ALICE, task.id, with_script=True).script == "x" * 500_000


def test_invalid_schedule_names_each_field_and_saves_nothing(tasks, create):
    task = create()
    before = tasks.get(ALICE, task.id, with_script=True)
    with pytest.raises(InvalidInput) as info:
        tasks.save_draft(ALICE, task.id, script="{}", schedule={
            "schedule": {"cycle": {"type": "cron", "expression": "0 25 * * *"}},
            "run": {"timeout_hours": 1.005, "rerun_on_failure": {"count": 11}}})
    assert {i.field: i.message for i in info.value.issues} == {
        "schedule.cycle.expression": "the hour field: 25 is out of range 0-23",
        "run.timeout_hours": "1.005 has more than two decimals",
        "run.rerun_on_failure.count": "Input should be less than or equal to 10",
    }
    after = tasks.get(ALICE, task.id, with_script=True)
    assert (after.script, after.schedule) == (before.script, before.schedule)


def test_script_and_schedule_issues_together(tasks, create):
    task = create()
    with pytest.raises(InvalidInput) as info:
        tasks.save_draft(ALICE, task.id, script="x" * 500_001, schedule={"schedule": {"timezone": "Nowhere"}})
    assert [i.field for i in info.value.issues] == ["script", "schedule.timezone"]


def test_a_recurring_task_needs_a_cycle(tasks, create):
    task = create()
    with pytest.raises(InvalidInput) as info:
        tasks.save_draft(ALICE, task.id, schedule={"schedule": {"cycle": None}})
    assert info.value.issues[0].to_dict() == {"field": "schedule.cycle", "message": "a recurring task needs a cycle"}


def test_a_manual_task_has_no_cycle_nor_dependencies(tasks, create):
    task = create(schedule_type="manual")
    tasks.save_draft(ALICE, task.id, schedule={"parameters": [{"name": "region", "value": "eu"}]})
    with pytest.raises(InvalidInput) as info:
        tasks.save_draft(ALICE, task.id, schedule={"schedule": {"cycle": {"type": "day"}},
                                                   "dependency": {"upstream": [1]}})
    assert [i.field for i in info.value.issues] == ["schedule.cycle", "dependency"]


# --- deletion -------------------------------------------------------------------------------------


def test_delete_in_a_basic_project_is_immediate(projects, project, tasks, create):
    task = create()
    tasks.delete(ALICE, task.id)
    with pytest.raises(NotFound):
        tasks.get(ALICE, task.id)
    assert create().name == "sync_orders"  # the name is free again


def test_delete_in_a_dev_prod_project_waits_to_be_published(projects, project, tasks, create):
    projects.set_mode(ALICE, project.id, "dev_prod")
    task = create()
    tasks.delete(ALICE, task.id)
    marked = tasks.get(ALICE, task.id)
    assert (marked.deleted, marked.status) == (True, "to_publish")
    assert tasks.list(ALICE, project.id) == []
    assert projects.tree(ALICE, project.id).tasks == []
    with pytest.raises(Conflict, match="deleted"):
        tasks.rename(ALICE, task.id, "again")
    with pytest.raises(InvalidInput, match="being deleted") as info:
        create()
    assert info.value.issues[0].field == "name"


# --- introspection on a real server -------------------------------------------------------------


@pytest.mark.postgres
def test_create_introspects_a_postgresql_table(store, datasources, tasks, project, pg_db):
    table = pg_db.make_table("(id bigint primary key, name text, amount numeric(12, 2))")
    datasources.add(ALICE, "pg", "postgresql", dict(pg_db.datasource.params))
    task = tasks.create(ALICE, project.id, **{**DIALOG, "source_type": "postgresql", "source_datasource": "pg"},
                        source_table=table)
    reader, writer = json.loads(tasks.get(ALICE, task.id, with_script=True).script)["steps"]
    assert reader["parameter"]["table"] == [table]
    assert reader["parameter"]["column"] == writer["parameter"]["column"] == ["id", "name", "amount"]
