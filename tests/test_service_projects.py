"""Projects and folders: the default project, name rules, modes, the folder tree's rules."""

from __future__ import annotations

import pytest

from jupyter_offline_pipeline.service import ProjectService, User
from jupyter_offline_pipeline.service.errors import Conflict, Forbidden, InvalidInput, NotFound
from jupyter_offline_pipeline.store import Store
from jupyter_offline_pipeline.store.models import TaskRow

ALICE, BOB, ADMIN = User("alice"), User("bob"), User("root", is_admin=True)


@pytest.fixture
def store(tmp_path):
    return Store(f"sqlite:///{tmp_path / 'store.db'}")


@pytest.fixture
def projects(store):
    return ProjectService(store)


@pytest.fixture
def project(projects):
    return projects.ensure_default(ALICE)


def add_task(store, project, folder_id, name, deleted=False):
    with store.session() as session:
        session.add(TaskRow(project_id=project.id, folder_id=folder_id, name=name, schedule_type="manual",
                            source_type="sqlite", source_datasource="a", target_type="sqlite",
                            target_datasource="b", owner="alice", deleted=deleted))


# --- projects ---------------------------------------------------------------------------------


def test_default_project_is_created_once(projects):
    first = projects.ensure_default(ALICE)
    again = projects.ensure_default(BOB)
    assert first.id == again.id
    assert (first.name, first.mode, first.owner) == ("default", "basic", "alice")
    assert projects.tree(ALICE, first.id).name == "Offline Pipeline"
    assert projects.tree(ALICE, first.id).id == first.root_folder_id


def test_create_list_get(projects):
    created = projects.create(ALICE, "sales-dw_2", mode="dev_prod", description="sales")
    assert created.to_dict()["mode"] == "dev_prod"
    assert created.to_dict()["created_at"].endswith("+00:00")
    assert projects.get(BOB, created.id) == projects.get(BOB, "sales-dw_2")
    assert [p.name for p in projects.list(BOB)] == ["sales-dw_2"]
    assert projects.get(BOB, "sales-dw_2").to_dict()["created_at"] == created.to_dict()["created_at"]


@pytest.mark.parametrize("name", ["", "has space", "dot.ted", "x" * 65, "中文"])
def test_project_name_rules(projects, name):
    with pytest.raises(InvalidInput) as info:
        projects.create(ALICE, name)
    assert [i.field for i in info.value.issues] == ["name"]


def test_project_rules_all_at_once(projects):
    with pytest.raises(InvalidInput) as info:
        projects.create(ALICE, "bad name", mode="prod", description="d" * 1001)
    assert [i.field for i in info.value.issues] == ["name", "mode", "description"]
    assert projects.list(ALICE) == []


def test_duplicate_project_is_a_conflict(projects):
    projects.create(ALICE, "p")
    with pytest.raises(Conflict, match="already exists"):
        projects.create(BOB, "p")


def test_missing_project(projects):
    with pytest.raises(NotFound):
        projects.get(ALICE, 99)
    with pytest.raises(NotFound):
        projects.get(ALICE, "nope")


def test_set_mode_by_owner_or_admin_only(projects, project):
    assert projects.set_mode(ALICE, project.id, "dev_prod").mode == "dev_prod"
    assert projects.set_mode(ADMIN, project.id, "basic").mode == "basic"
    with pytest.raises(Forbidden):
        projects.set_mode(BOB, project.id, "dev_prod")
    with pytest.raises(InvalidInput) as info:
        projects.set_mode(ALICE, project.id, "staging")
    assert info.value.issues[0].field == "mode"


# --- folders ----------------------------------------------------------------------------------


def test_create_folders_under_the_root_and_nested(projects, project):
    ods = projects.create_folder(ALICE, project.id, name="ods")
    assert ods.parent_id == project.root_folder_id
    daily = projects.create_folder(ALICE, project.id, name="daily", parent_id=ods.id)
    assert daily.to_dict()["parent_id"] == ods.id
    tree = projects.tree(ALICE, project.id)
    assert tree.folders[0].name == "ods" and tree.folders[0].folders[0].name == "daily"


@pytest.mark.parametrize("name", ["", "   ", "a/b", "a\\b", "a|b", "a:b", "a?b", "a<b", "a>b", "a*b", 'a"b', "x" * 129])
def test_folder_name_rules(projects, project, name):
    with pytest.raises(InvalidInput) as info:
        projects.create_folder(ALICE, project.id, name=name)
    assert info.value.issues[0].field == "name"


def test_folder_names_are_unique_among_siblings(projects, project):
    a = projects.create_folder(ALICE, project.id, name="a")
    projects.create_folder(ALICE, project.id, name="b")
    projects.create_folder(ALICE, project.id, name="b", parent_id=a.id)  # a cousin may share it
    with pytest.raises(Conflict, match="already exists"):
        projects.create_folder(ALICE, project.id, name="b")


def test_folder_of_another_project_is_refused(projects, project):
    other = projects.create(ALICE, "other")
    with pytest.raises(InvalidInput) as info:
        projects.create_folder(ALICE, project.id, name="x", parent_id=other.root_folder_id)
    assert info.value.issues[0].field == "parent_id"


def test_rename_folder(projects, project):
    a = projects.create_folder(ALICE, project.id, name="a")
    projects.create_folder(ALICE, project.id, name="b")
    assert projects.rename_folder(BOB, a.id, "a2").name == "a2"
    with pytest.raises(Conflict):
        projects.rename_folder(ALICE, a.id, "b")
    with pytest.raises(InvalidInput):
        projects.rename_folder(ALICE, a.id, "bad/name")
    with pytest.raises(InvalidInput, match="root folder"):
        projects.rename_folder(ALICE, project.root_folder_id, "top")


def test_move_folder(projects, project):
    a = projects.create_folder(ALICE, project.id, name="a")
    b = projects.create_folder(ALICE, project.id, name="b")
    c = projects.create_folder(ALICE, project.id, name="c", parent_id=b.id)
    assert projects.move_folder(ALICE, b.id, a.id).parent_id == a.id
    assert projects.move_folder(ALICE, c.id, project.root_folder_id).parent_id == project.root_folder_id
    tree = projects.tree(ALICE, project.id)
    assert [f.name for f in tree.folders] == ["a", "c"] and tree.folders[0].folders[0].name == "b"


def test_move_folder_into_itself_or_a_descendant_is_refused(projects, project):
    a = projects.create_folder(ALICE, project.id, name="a")
    b = projects.create_folder(ALICE, project.id, name="b", parent_id=a.id)
    c = projects.create_folder(ALICE, project.id, name="c", parent_id=b.id)
    for target in (a, b, c):
        with pytest.raises(InvalidInput, match="itself or one of its sub-folders") as info:
            projects.move_folder(ALICE, a.id, target.id)
        assert info.value.issues[0].field == "parent_id"


def test_move_folder_next_to_a_namesake_is_a_conflict(projects, project):
    a = projects.create_folder(ALICE, project.id, name="a")
    projects.create_folder(ALICE, project.id, name="x")
    x2 = projects.create_folder(ALICE, project.id, name="x", parent_id=a.id)
    with pytest.raises(Conflict):
        projects.move_folder(ALICE, x2.id, project.root_folder_id)


def test_move_folder_to_another_project_or_the_root_is_refused(projects, project):
    other = projects.create(ALICE, "other")
    a = projects.create_folder(ALICE, project.id, name="a")
    with pytest.raises(InvalidInput, match="another project"):
        projects.move_folder(ALICE, a.id, other.root_folder_id)
    with pytest.raises(InvalidInput, match="root folder"):
        projects.move_folder(ALICE, project.root_folder_id, a.id)


def test_delete_only_empty_folders(projects, project, store):
    a = projects.create_folder(ALICE, project.id, name="a")
    b = projects.create_folder(ALICE, project.id, name="b", parent_id=a.id)
    with pytest.raises(Conflict, match="folder 'a' is not empty"):
        projects.delete_folder(ALICE, a.id)
    add_task(store, project, b.id, "t")
    with pytest.raises(Conflict, match="folder 'b' is not empty"):
        projects.delete_folder(ALICE, b.id)
    empty = projects.create_folder(ALICE, project.id, name="empty")
    projects.delete_folder(ALICE, empty.id)
    assert [f.name for f in projects.tree(ALICE, project.id).folders] == ["a"]
    with pytest.raises(InvalidInput, match="root folder"):
        projects.delete_folder(ALICE, project.root_folder_id)
    with pytest.raises(NotFound):
        projects.delete_folder(ALICE, empty.id)


def test_tree_lists_tasks_per_folder_without_deleted_ones(projects, project, store):
    a = projects.create_folder(ALICE, project.id, name="a")
    add_task(store, project, a.id, "t2")
    add_task(store, project, a.id, "t1")
    add_task(store, project, project.root_folder_id, "gone", deleted=True)
    tree = projects.tree(ALICE, project.id).to_dict()
    assert tree["tasks"] == []
    assert [(t["name"], t["schedule_type"], t["status"]) for t in tree["folders"][0]["tasks"]] == [
        ("t1", "manual", "draft"), ("t2", "manual", "draft")]
    assert set(tree["folders"][0]["tasks"][0]) == {"id", "name", "schedule_type", "status"}
