"""The data source catalog: URL parsing, encrypted credentials, masking, clear errors."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from jupyter_offline_pipeline.crypto import SecretBox
from jupyter_offline_pipeline.service import DataSourceError, DataSourceService, parse_url
from jupyter_offline_pipeline.store import Store

PASSWORD = "s3cr3t-Pässword"


@pytest.fixture
def store(tmp_path):
    return Store(f"sqlite:///{tmp_path / 'store.db'}")


@pytest.fixture
def service(store):
    return DataSourceService(store, SecretBox(Fernet.generate_key()))


@pytest.mark.parametrize(
    "url, kind, params",
    [
        ("postgresql://u:p@db.example:6543/warehouse", "postgresql",
         {"host": "db.example", "port": 6543, "database": "warehouse", "user": "u", "password": "p"}),
        ("postgresql+psycopg://u@h/d", "postgresql", {"host": "h", "port": 5432, "database": "d", "user": "u"}),
        ("mysql://root@127.0.0.1:3306/test", "mysql",
         {"host": "127.0.0.1", "port": 3306, "database": "test", "user": "root"}),
        ("mariadb+pymysql://a:b@h/d", "mysql", {"host": "h", "port": 3306, "database": "d", "user": "a", "password": "b"}),
    ],
)
def test_parse_url(url, kind, params):
    assert parse_url(url) == (kind, params)


def test_parse_file_urls_resolve_relative_and_absolute_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert parse_url("sqlite:///rel.db") == ("sqlite", {"path": str(tmp_path / "rel.db")})
    assert parse_url("sqlite:////abs/x.db") == ("sqlite", {"path": "/abs/x.db"})
    assert parse_url("duckdb:///w.duckdb") == ("duckdb", {"path": str(tmp_path / "w.duckdb")})


@pytest.mark.parametrize("url, word", [("nonsense", "not a database URL"), ("oracle://h/d", "unsupported")])
def test_parse_url_errors_name_the_url(url, word):
    with pytest.raises(DataSourceError, match=word) as info:
        parse_url(url)
    assert info.value.field == "url"


def test_password_is_encrypted_at_rest_and_masked_everywhere(service, store):
    service.add("pg", *parse_url(f"postgresql://root:{PASSWORD}@127.0.0.1:5432/test"), owner="alice")
    with store.engine.connect() as conn:
        raw = conn.execute(text("select params, secret from datasources")).one()
    assert PASSWORD not in str(raw.params)
    assert PASSWORD.encode() not in raw.secret
    info = service.get("pg")
    assert info.params["password"] == "******"
    assert PASSWORD not in str([i.to_dict() for i in service.list()])
    assert service.resolve("pg").params["password"] == PASSWORD
    assert PASSWORD not in repr(service.resolve("pg"))


def test_a_changed_key_gives_a_clear_error(service, store):
    service.add("pg", *parse_url(f"postgresql://root:{PASSWORD}@127.0.0.1/test"), owner="alice")
    other = DataSourceService(store, SecretBox(Fernet.generate_key()))
    with pytest.raises(ValueError, match="encryption key has changed"):
        other.resolve("pg")


@pytest.mark.parametrize(
    "name, kind, params, field",
    [
        ("bad name!", "sqlite", {"path": "x.db"}, "name"),
        ("ok", "oracle", {}, "type"),
        ("ok", "postgresql", {"host": "h", "database": "d"}, "user"),
        ("ok", "postgresql", {"host": "h", "database": "d", "user": "u", "port": "eighty"}, "port"),
        ("ok", "sqlite", {"path": "x.db", "colour": "red"}, "colour"),
        ("ok", "csv", {}, "path"),
    ],
)
def test_invalid_data_sources_name_the_field_and_store_nothing(service, name, kind, params, field):
    with pytest.raises(DataSourceError) as info:
        service.add(name, kind, params, owner="alice")
    assert info.value.field == field
    assert service.list() == []


def test_duplicate_and_missing_names(service, tmp_path):
    service.add("files", "csv", {"path": str(tmp_path)}, owner="alice")
    with pytest.raises(DataSourceError, match="already exists"):
        service.add("files", "csv", {"path": str(tmp_path)}, owner="bob")
    with pytest.raises(DataSourceError, match="'nope' does not exist"):
        service.remove("nope")
    assert service.type_of("files") == "csv"
    assert service.type_of("nope") is None
    service.remove("files")
    assert service.list() == []


def test_store_migrates_an_empty_database_and_is_idempotent(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    Store(url)
    store = Store(url)  # a second open finds it at head and changes nothing
    with store.engine.connect() as conn:
        assert conn.execute(text("select version_num from alembic_version")).scalar() == head_revision()


def head_revision() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from jupyter_offline_pipeline.store.database import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()
