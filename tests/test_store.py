"""The store's migrations, on SQLite and on the real PostgreSQL: from nothing, from
revision 0001 and from 0002 (with data in them) to head, down to base and back, and the
data source service on a PostgreSQL store."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from cryptography.fernet import Fernet
from sqlalchemy import inspect, text

from jupyter_offline_pipeline.crypto import SecretBox
from jupyter_offline_pipeline.service import DataSourceService
from jupyter_offline_pipeline.service.errors import Forbidden, NotFound
from jupyter_offline_pipeline.service.users import User
from jupyter_offline_pipeline.store import DataSourceRow, Store
from jupyter_offline_pipeline.store.database import MIGRATIONS
from jupyter_offline_pipeline.scheduler.instances import claim, create_due
from jupyter_offline_pipeline.store.models import Base, FolderRow, ProjectRow, TaskRow, VersionRow

ALICE, BOB = User("alice"), User("bob")
TABLES = set(Base.metadata.tables)


def config() -> Config:
    result = Config()
    result.set_main_option("script_location", str(MIGRATIONS))
    return result


def head_revision() -> str:
    return ScriptDirectory.from_config(config()).get_current_head()


def alembic(url: str, action, revision: str) -> None:
    """``command.upgrade`` or ``command.downgrade`` on the store's own engine."""
    store = Store(url, migrate=False)
    settings = config()
    with store.engine.begin() as connection:
        settings.attributes["connection"] = connection
        action(settings, revision)
    store.dispose()


def tables(store: Store) -> set[str]:
    return set(inspect(store.engine).get_table_names()) - {"alembic_version"}


def revision(store: Store) -> str | None:
    with store.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@pytest.fixture
def pg_url(pg_db):
    """A scratch PostgreSQL database, dropped after the test; ``pg_db`` skips (or fails with
    CI=true) when the server is down."""
    name = f"pipeline_store_test_{uuid.uuid4().hex[:12]}"
    pg_db.execute(f"CREATE DATABASE {name}")
    yield f"postgresql://root@127.0.0.1:5432/{name}"
    pg_db.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """An empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("pg_url")


def test_an_empty_database_migrates_to_head_matching_the_models(db_url):
    store = Store(db_url)
    assert revision(store) == head_revision()
    assert tables(store) == TABLES
    with store.engine.connect() as conn:  # what the migrations built is what the models declare
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    Store(db_url)  # a second open finds it at head and changes nothing
    assert revision(store) == head_revision()


def test_revision_0001_with_a_data_source_migrates_to_head_and_keeps_it(db_url):
    alembic(db_url, command.upgrade, "0001")
    box = SecretBox(Fernet.generate_key())
    old = Store(db_url, migrate=False)
    assert tables(old) == {"datasources"}
    now = datetime.now(timezone.utc)
    with old.engine.begin() as conn:
        conn.execute(DataSourceRow.__table__.insert().values(
            name="legacy", type="postgresql", description="", owner="alice", created_at=now, updated_at=now,
            params={"host": "h", "port": 5432, "database": "d", "user": "u"}, secret=box.seal({"password": "pw"})))
    old.dispose()

    store = Store(db_url)
    assert revision(store) == head_revision() and tables(store) == TABLES
    service = DataSourceService(store, box)
    assert service.get(ALICE, "legacy").params["password"] == "******"
    assert service.resolve("legacy").params["password"] == "pw"
    service.grant(ALICE, "legacy", "bob", "read")  # the new tables work with the old row
    assert service.can_use(BOB, "legacy", "read")
    store.dispose()


def test_revision_0002_with_a_task_migrates_to_head_and_its_instances_run(db_url):
    alembic(db_url, command.upgrade, "0002")
    old = Store(db_url, migrate=False)
    assert tables(old) == TABLES - {"instances", "instance_events", "backfills"}
    now = datetime.now(timezone.utc)
    with old.engine.begin() as conn:
        def add(row, **values):
            return conn.execute(row.__table__.insert().values(created_at=now, **values)).inserted_primary_key[0]
        project = add(ProjectRow, name="p", mode="basic", description="", owner="alice")
        folder = add(FolderRow, project_id=project, name="/")
        task = add(TaskRow, project_id=project, folder_id=folder, name="t", schedule_type="recurring",
                   description="", source_type="csv", source_datasource="a", target_type="csv",
                   target_datasource="b", script="{}", schedule={}, owner="alice", status="published",
                   deleted=False, updated_at=now)
        version = add(VersionRow, task_id=task, number=1, script="{}", schedule={}, remarks="v1",
                      author="alice", change="create", checks=[], published_at=now)
    old.dispose()

    store = Store(db_url)
    assert revision(store) == head_revision() and tables(store) == TABLES
    instance = {"task_id": task, "version_id": version, "kind": "recurring", "state": "waiting_resources",
                "business_date": date(2026, 1, 1), "scheduled_time": now}
    assert create_due(store, [instance, instance]) == 1  # the new unique index holds
    assert [i.task_id for i in claim(store, "s", 5)] == [task]
    store.dispose()


def test_downgrade_to_base_and_up_again(db_url):
    Store(db_url).dispose()
    alembic(db_url, command.downgrade, "0002")
    assert tables(Store(db_url, migrate=False)) == TABLES - {"instances", "instance_events", "backfills"}
    alembic(db_url, command.downgrade, "0001")
    assert tables(Store(db_url, migrate=False)) == {"datasources"}
    alembic(db_url, command.downgrade, "base")
    store = Store(db_url, migrate=False)
    assert tables(store) == set() and revision(store) is None
    store.migrate()
    assert tables(store) == TABLES and revision(store) == head_revision()
    store.dispose()


def test_the_data_source_service_on_a_postgresql_store(pg_url, tmp_path):
    store = Store(pg_url)
    service = DataSourceService(store, SecretBox(Fernet.generate_key()))
    service.add(ALICE, "files", "csv", {"path": str(tmp_path)})
    service.add(ALICE, "pg", "postgresql", {"host": "127.0.0.1", "database": "test", "user": "root",
                                            "password": "secret"})
    with pytest.raises(NotFound):
        service.get(BOB, "pg")
    request = service.request_permission(BOB, "pg", "read", "reports")
    service.decide(ALICE, request.id, True)
    assert [(i.name, i.permissions) for i in service.list(BOB)] == [("pg", ["read"])]
    assert service.test(BOB, "pg").startswith("PostgreSQL")
    with pytest.raises(Forbidden):
        service.remove(BOB, "pg")
    service.remove(ALICE, "pg")  # the database cascades to its grants and requests
    with store.engine.connect() as conn:
        assert conn.execute(text("select count(*) from datasource_grants")).scalar() == 0
        assert conn.execute(text("select count(*) from permission_requests")).scalar() == 0
    assert [i.name for i in service.list(ALICE)] == ["files"]
    store.dispose()


def test_a_read_only_session_neither_waits_for_nor_blocks_a_writer_on_sqlite(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    with store.session() as session:
        session.add(ProjectRow(name="first", mode="basic", owner="alice"))
    with store.session() as writer:  # holds SQLite's write lock until the block ends
        writer.add(ProjectRow(name="second", mode="basic", owner="alice"))
        writer.flush()
        reader = Store(store.db_url, migrate=False)  # another process's view of the file
        with reader.session(read_only=True) as session:  # would wait 30 s for the lock if it took it
            assert session.scalars(text("SELECT name FROM projects ORDER BY id")).all() == ["first"]
        reader.dispose()
    with store.session(read_only=True) as session:
        with store.session() as inner:  # joins: one transaction, one snapshot
            assert inner is session
        assert session.scalars(text("SELECT count(*) FROM projects")).one() == 2
    store.dispose()
