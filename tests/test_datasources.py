"""The data source catalog: URL parsing, encrypted credentials, masking, clear errors, owners,
grants and permission requests."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from jupyter_offline_pipeline.connectors import ConnectorError
from jupyter_offline_pipeline.crypto import SecretBox
from jupyter_offline_pipeline.service import DataSourceError, DataSourceService, parse_url
from jupyter_offline_pipeline.service.errors import Conflict, Forbidden, InvalidInput, NotFound
from jupyter_offline_pipeline.service.users import User
from jupyter_offline_pipeline.store import Store

PASSWORD = "s3cr3t-Pässword"
ALICE, BOB, ADMIN = User("alice"), User("bob"), User("root", is_admin=True)


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
    service.add(ALICE, "pg", *parse_url(f"postgresql://root:{PASSWORD}@127.0.0.1:5432/test"))
    with store.engine.connect() as conn:
        raw = conn.execute(text("select params, secret from datasources")).one()
    assert PASSWORD not in str(raw.params)
    assert PASSWORD.encode() not in raw.secret
    info = service.get(ALICE, "pg")
    assert info.params["password"] == "******"
    assert PASSWORD not in str([i.to_dict() for i in service.list(ALICE)])
    assert service.resolve("pg").params["password"] == PASSWORD
    assert PASSWORD not in repr(service.resolve("pg"))


def test_a_changed_key_gives_a_clear_error(service, store):
    service.add(ALICE, "pg", *parse_url(f"postgresql://root:{PASSWORD}@127.0.0.1/test"))
    other = DataSourceService(store, SecretBox(Fernet.generate_key()))
    with pytest.raises(Conflict, match="stored credentials cannot be decrypted: the encryption key has changed"):
        other.resolve("pg")
    with pytest.raises(Conflict) as info:
        other.test(ALICE, "pg")
    assert info.value.status == 409
    other.update(ALICE, "pg", {"password": "new"})  # entering it again repairs the data source
    assert other.resolve("pg").params["password"] == "new"


@pytest.mark.parametrize(
    "name, kind, params, field",
    [
        ("bad name!", "sqlite", {"path": "x.db"}, "name"),
        ("ok", "oracle", {}, "type"),
        ("ok", "postgresql", {"host": "h", "database": "d"}, "user"),
        ("ok", "postgresql", {"host": "h", "database": "d", "user": "u", "port": "eighty"}, "port"),
        ("ok", "sqlite", {"path": "x.db", "colour": "red"}, "colour"),
        ("ok", "csv", {}, "path"),
        ("ok\n", "csv", {"path": "x"}, "name"),
        ("ok", "postgresql", {"host": "h", "database": "d", "user": "u", "port": 70000}, "port"),
        ("ok", "postgresql", {"host": ["h"], "database": "d", "user": "u"}, "host"),
        ("ok", "csv", {"path": "a\x00b"}, "path"),
    ],
)
def test_invalid_data_sources_name_the_field_and_store_nothing(service, name, kind, params, field):
    with pytest.raises(DataSourceError) as info:
        service.add(ALICE, name, kind, params)
    assert info.value.field == field
    assert info.value.status == 400 and info.value.issues[0].field == field
    assert service.list(ALICE) == []


def test_duplicate_and_missing_names(service, tmp_path):
    service.add(ALICE, "files", "csv", {"path": str(tmp_path)})
    with pytest.raises(Conflict, match="already exists"):
        service.add(BOB, "files", "csv", {"path": str(tmp_path)})
    with pytest.raises(NotFound, match="'nope' does not exist"):
        service.remove(ALICE, "nope")
    assert service.type_of("files") == "csv"
    assert service.type_of("nope") is None
    service.remove(ALICE, "files")
    assert service.list(ALICE) == []


# --- owners, grants and permission requests: alice owns, bob asks -----------------------


@pytest.fixture
def shared(service, tmp_path):
    """alice's SQLite source ``lite`` (one table) and her PostgreSQL source ``pg`` (with a password)."""
    import sqlite3

    with sqlite3.connect(tmp_path / "lite.db") as conn:
        conn.execute("create table orders (id integer primary key, amount decimal(10,2))")
    service.add(ALICE, "lite", "sqlite", {"path": str(tmp_path / "lite.db")})
    service.add(ALICE, "pg", *parse_url(f"postgresql://root:{PASSWORD}@127.0.0.1:5432/test"))
    return service


def test_without_a_grant_bob_cannot_see_use_or_change_alices_source(shared):
    assert shared.list(BOB) == []
    for call in (lambda: shared.get(BOB, "lite"), lambda: shared.test(BOB, "lite"),
                 lambda: shared.tables(BOB, "lite"), lambda: shared.columns(BOB, "lite", "orders"),
                 lambda: shared.update(BOB, "lite", description="mine"), lambda: shared.remove(BOB, "lite"),
                 lambda: shared.grant(BOB, "lite", "bob", "read"), lambda: shared.grants(BOB, "lite"),
                 lambda: shared.resolve_for(BOB, "lite", "read")):
        with pytest.raises(NotFound, match="'lite' does not exist"):  # as if it did not exist
            call()
    assert not shared.can_use(BOB, "lite", "read") and not shared.can_use("bob", "lite", "write")
    assert shared.get(ALICE, "lite").permissions == ["owner", "read", "write"]


def test_a_read_grant_lets_bob_see_test_and_read_but_not_write_or_manage(shared):
    grant = shared.grant(ALICE, "lite", "bob", "read")
    assert grant.to_dict()["granted_by"] == "alice"
    assert [(i.name, i.permissions) for i in shared.list(BOB)] == [("lite", ["read"])]
    assert shared.test(BOB, "lite").startswith("SQLite")
    assert shared.tables(BOB, "lite") == ["orders"]
    assert shared.columns(BOB, "lite", "orders")[0] == {"name": "id", "type": "INTEGER"}
    assert shared.can_use(BOB, "lite", "read") and not shared.can_use(BOB, "lite", "write")
    assert shared.resolve_for(BOB, "lite", "read").name == "lite"
    with pytest.raises(Forbidden, match="need the write permission .* from its owner 'alice'"):
        shared.resolve_for(BOB, "lite", "write")
    for call in (lambda: shared.update(BOB, "lite", description="mine"), lambda: shared.remove(BOB, "lite"),
                 lambda: shared.grant(BOB, "lite", "carol", "read"), lambda: shared.grants(BOB, "lite")):
        with pytest.raises(Forbidden, match="only 'alice', the owner of 'lite', or an admin"):
            call()
    shared.revoke(ALICE, "lite", "bob", "read")
    shared.revoke(ALICE, "lite", "bob", "read")  # idempotent
    assert shared.list(BOB) == []


def test_a_write_grant_suffices_for_introspection(shared):
    shared.grant(ALICE, "lite", "bob", "write")
    assert shared.tables(BOB, "lite") == ["orders"]
    assert shared.can_use(BOB, "lite", "write") and not shared.can_use(BOB, "lite", "read")


def test_bob_requests_alice_grants_and_bob_can_use(shared):
    assert [(e.name, e.owner, e.permissions) for e in shared.list_all_names(BOB)] == [
        ("lite", "alice", []), ("pg", "alice", [])]
    assert "params" not in shared.list_all_names(BOB)[0].to_dict()
    request = shared.request_permission(BOB, "lite", "write", "nightly load")
    assert (request.status, request.user, request.datasource) == ("pending", "bob", "lite")
    assert shared.list_all_names(BOB)[0].pending == ["write"]
    with pytest.raises(Conflict, match="already waiting for 'alice'"):
        shared.request_permission(BOB, "lite", "write")
    assert [r.id for r in shared.list_requests(ALICE, owned=True)] == [request.id]
    assert shared.list_requests(ALICE, mine=True) == []
    assert [r.id for r in shared.list_requests(BOB, mine=True)] == [request.id]
    with pytest.raises(Forbidden, match="may decide"):
        shared.decide(BOB, request.id, True)
    decided = shared.decide(ALICE, request.id, True)
    assert decided.status == "granted" and decided.decided_by == "alice" and decided.decided_at
    assert decided.to_dict()["decided_at"].endswith("+00:00")
    assert shared.can_use(BOB, "lite", "write")
    with pytest.raises(Conflict, match="already granted by 'alice'"):
        shared.decide(ALICE, request.id, False)
    with pytest.raises(Conflict, match="already hold the write permission"):
        shared.request_permission(BOB, "lite", "write")
    with pytest.raises(Conflict, match="already hold"):
        shared.request_permission(ALICE, "lite", "read")


def test_a_refused_request_grants_nothing_and_may_be_asked_again(shared):
    request = shared.request_permission(BOB, "pg", "read")
    refused = shared.decide(ALICE, request.id, False)
    assert (refused.status, refused.decided_by) == ("refused", "alice")
    assert not shared.can_use(BOB, "pg", "read")
    assert shared.list_requests(BOB, status="pending") == []
    again = shared.request_permission(BOB, "pg", "read", "please")
    assert [r.status for r in shared.list_requests(BOB)] == ["pending", "refused"]  # newest first
    shared.grant(ALICE, "pg", "bob", "read")  # granting directly settles the pending request
    assert shared.list_requests(ALICE, owned=True)[0].to_dict()["status"] == "granted"
    with pytest.raises(NotFound):
        shared.decide(User("carol"), again.id, True)  # a stranger's view: no such request
    with pytest.raises(NotFound):
        shared.decide(ALICE, 9999, True)


def test_an_admin_sees_and_manages_everything(shared):
    assert [i.name for i in shared.list(ADMIN)] == ["lite", "pg"]
    assert shared.can_use(ADMIN, "pg", "write")
    request = shared.request_permission(BOB, "lite", "read")
    assert [r.id for r in shared.list_requests(ADMIN, owned=True)] == [request.id]
    assert shared.decide(ADMIN, request.id, True).decided_by == "root"
    assert [g.to_dict()["user"] for g in shared.grants(ADMIN, "lite")] == ["bob"]
    shared.update(ADMIN, "lite", description="checked")
    shared.remove(ADMIN, "lite")
    assert [e.name for e in shared.list_all_names(BOB)] == ["pg"]
    assert shared.list_requests(BOB) == []  # requests go with their data source


@pytest.mark.parametrize("permission", ["owner", "admin", ""])
def test_permissions_are_read_or_write(shared, permission):
    with pytest.raises(InvalidInput, match="read or write"):
        shared.grant(ALICE, "lite", "bob", permission)
    with pytest.raises(InvalidInput):
        shared.request_permission(BOB, "lite", permission)


def test_update_merges_params_and_keeps_a_masked_or_omitted_password(shared):
    shown = shared.get(ALICE, "pg").params
    assert shown["password"] == "******"
    shared.update(ALICE, "pg", {**shown, "port": "6543"})
    assert shared.resolve("pg").params == {"host": "127.0.0.1", "port": 6543, "database": "test",
                                           "user": "root", "password": PASSWORD}
    shared.update(ALICE, "pg", {"database": "other"}, description="warehouse")
    info = shared.get(ALICE, "pg")
    assert (info.params["database"], info.params["port"], info.description) == ("other", 6543, "warehouse")
    assert shared.resolve("pg").params["password"] == PASSWORD
    shared.update(ALICE, "pg", {"password": ""})  # an empty password clears it
    assert "password" not in shared.get(ALICE, "pg").params
    with pytest.raises(DataSourceError) as error:
        shared.update(ALICE, "pg", {"user": ""})
    assert error.value.field == "user"
    with pytest.raises(DataSourceError, match="takes no name"):
        shared.update(ALICE, "pg", {"name": "renamed"})


def test_no_response_ever_contains_the_password(shared):
    shared.grant(ALICE, "pg", "bob", "read")
    request = shared.request_permission(User("carol"), "pg", "write")
    responses = [
        shared.get(ALICE, "pg"), *shared.list(ALICE), *shared.list(BOB), *shared.list(ADMIN),
        *shared.list_all_names(BOB), *shared.grants(ALICE, "pg"), shared.decide(ALICE, request.id, True),
        *shared.list_requests(ALICE), shared.update(ALICE, "pg", {"password": "******"}),
        shared.grant(ALICE, "pg", "dave", "write"),
    ]
    text = str([r.to_dict() for r in responses]) + str(shared.types_schema())
    assert PASSWORD not in text and "******" in text


def test_types_schema_describes_the_connection_forms(service):
    schemas = service.types_schema()
    assert set(schemas) == {"postgresql", "mysql", "sqlite", "duckdb", "csv", "parquet", "jsonl"}
    pg = schemas["postgresql"]
    assert pg["type"] == "object" and pg["required"] == ["host", "port", "database", "user"]
    assert pg["properties"]["port"] == {**pg["properties"]["port"], "type": "integer", "default": 5432}
    assert schemas["mysql"]["properties"]["port"]["default"] == 3306
    assert pg["properties"]["password"]["format"] == "password" and pg["properties"]["password"]["writeOnly"]
    assert all(p["title"] and p["description"] for s in schemas.values() for p in s["properties"].values())
    assert schemas["csv"]["required"] == ["path"]
    schemas["postgresql"]["required"].clear()  # a copy: the service's own stays intact
    assert service.types_schema()["postgresql"]["required"]


@pytest.mark.parametrize(
    "kind, params, sentence",
    [
        ("postgresql", {"host": "127.0.0.1", "port": 1, "database": "test", "user": "root"},
         "the server 127.0.0.1:1 cannot be reached"),
        ("mysql", {"host": "127.0.0.1", "port": 1, "database": "test", "user": "root"},
         "the server 127.0.0.1:1 cannot be reached"),
        ("postgresql", {"host": "no-such-host.invalid", "port": 5432, "database": "test", "user": "root"},
         "the server no-such-host.invalid:5432 cannot be reached"),
    ],
)
def test_a_failed_test_says_what_failed_in_one_sentence(service, kind, params, sentence):
    service.add(ALICE, "away", kind, {**params, "password": PASSWORD})
    with pytest.raises(ConnectorError) as error:
        service.test(ALICE, "away")
    assert str(error.value).startswith(sentence)
    assert PASSWORD not in str(error.value)


def test_live_servers_classify_authentication_and_missing_database(service, pg_db, mariadb_db):
    service.add(ALICE, "pg_ok", "postgresql", pg_db.datasource.params)
    assert service.test(ALICE, "pg_ok").startswith("PostgreSQL")
    cases = [
        ("postgresql", {**pg_db.datasource.params, "user": "nobody_at_all", "password": PASSWORD},
         "authentication failed for user 'nobody_at_all'"),
        ("postgresql", {**pg_db.datasource.params, "database": "no_such_db_x"},
         "database 'no_such_db_x' does not exist on 127.0.0.1:5432"),
        ("mysql", {**mariadb_db.datasource.params, "user": "nobody_at_all", "password": PASSWORD},
         "authentication failed for user 'nobody_at_all'"),
        ("mysql", {**mariadb_db.datasource.params, "database": "no_such_db_x"},
         "database 'no_such_db_x' does not exist on 127.0.0.1:3306"),
    ]
    for number, (kind, params, sentence) in enumerate(cases):
        service.add(ALICE, f"bad{number}", kind, params)
        with pytest.raises(ConnectorError, match=sentence) as error:
            service.test(ALICE, f"bad{number}")
        assert PASSWORD not in str(error.value)


def test_odd_input_is_a_user_mistake_never_a_crash(shared):
    assert shared.type_of("no\x00such") is None and not shared.can_use(BOB, "x" * 500, "read")
    with pytest.raises(NotFound):
        shared.get(ALICE, "bad\x00name")
    with pytest.raises(NotFound):
        shared.decide(ALICE, 2**70, True)
    with pytest.raises(InvalidInput, match="not a user name"):
        shared.grant(ALICE, "lite", "x" * 129, "read")
    with pytest.raises(InvalidInput, match="owner holds them all"):
        shared.grant(ALICE, "lite", "alice", "read")
    with pytest.raises(InvalidInput, match="status must be"):
        shared.list_requests(ALICE, status="maybe")
    with pytest.raises(InvalidInput, match="NUL"):
        shared.update(ALICE, "lite", description="a\x00b")
    with pytest.raises(InvalidInput, match="longer than 1000"):
        shared.request_permission(BOB, "lite", "read", "why" * 400)
