"""Validation against the catalog (ScriptValidator): permissions, tables, columns and
column counts, each at its pointer, line and column; on SQLite files and real PostgreSQL."""

from __future__ import annotations

import json
import sqlite3

import pytest
from cryptography.fernet import Fernet

from jupyter_offline_pipeline.crypto import SecretBox
from jupyter_offline_pipeline.service import DataSourceService
from jupyter_offline_pipeline.service.users import User
from jupyter_offline_pipeline.service.validation import ScriptValidator
from jupyter_offline_pipeline.store import Store

ALICE, BOB = User("alice"), User("bob")

# Line 11 holds the reader's table, 12 its columns; 21 the writer's table, 22 its columns.
TEMPLATE = """{
  "type": "job",
  "version": "2.0",
  "steps": [
    {
      "stepType": "%(source_type)s",
      "category": "reader",
      "name": "Reader",
      "parameter": {
        "datasource": "%(source)s",
        "table": %(table)s,
        "column": %(column)s
      }
    },
    {
      "stepType": "sqlite",
      "category": "writer",
      "name": "Writer",
      "parameter": {
        "datasource": "lite",
        "table": "%(target)s",
        "column": %(target_column)s
      }
    }
  ]
}"""


def script(table=("orders",), column=("id", "amount", "note"), target="copy",
           target_column=("id", "amount", "note"), source="lite", source_type="sqlite"):
    return TEMPLATE % {"table": json.dumps(list(table)), "column": json.dumps(list(column)),
                       "target": target, "target_column": json.dumps(list(target_column)),
                       "source": source, "source_type": source_type}


@pytest.fixture
def datasources(tmp_path):
    service = DataSourceService(Store(f"sqlite:///{tmp_path / 'store.db'}"), SecretBox(Fernet.generate_key()))
    with sqlite3.connect(tmp_path / "lite.db") as conn:
        conn.execute("create table orders (id integer, Amount real, note text)")
        conn.execute("create table ods_orders_20240101 (id integer)")
        conn.execute("create table copy (id integer, amount real, note text)")
    service.add(ALICE, "lite", "sqlite", {"path": str(tmp_path / "lite.db")})
    return service


@pytest.fixture
def validator(datasources):
    return ScriptValidator(datasources)


def catalog(diagnostics):
    return [(d.severity, d.pointer, d.line, d.column, d.message) for d in diagnostics if d.source == "catalog"]


def test_a_valid_script_has_no_diagnostics(validator):
    # case-insensitive columns; constants and expressions are left to the database
    text = script(column=("ID", "amount * 2", "'text'"))
    assert validator.validate(ALICE, text, []) == []


def test_missing_table_at_its_item(validator):
    [(severity, pointer, line, column, message)] = catalog(
        validator.validate(ALICE, script(table=("orders", "no_such_table")), []))
    assert (severity, pointer, line, column) == ("error", "/steps/0/parameter/table/1", 11, 29)
    assert message.startswith("source table 'no_such_table' of data source 'lite' does not exist")


def test_missing_columns_on_both_sides(validator):
    text = script(column=("id", "amount", "nope"), target_column=("id", "amount", "missing"))
    assert [d[:4] + (d[4],) for d in catalog(validator.validate(ALICE, text, []))] == [
        ("error", "/steps/0/parameter/column/2", 12, 36, "column 'nope' does not exist in source table 'orders'"),
        ("error", "/steps/1/parameter/column/2", 22, 36,
         "column 'missing' does not exist in target table 'copy'")]


def test_column_count_mismatch_at_the_writer_column(validator):
    text = script(column=("*",), target_column=("id", "amount"))
    assert catalog(validator.validate(ALICE, text, [])) == [
        ("error", "/steps/1/parameter/column", 22, 19,
         "the reader yields 3 columns but the writer writes 2: the counts must match")]


def test_data_source_of_another_user_without_a_grant(validator, datasources):
    found = catalog(validator.validate(BOB, script(table=("no_such_table",)), []))
    assert found == [
        ("error", "/steps/0/parameter/datasource", 10, 23,
         "you may not read data source 'lite': ask its owner for the read permission"),
        ("error", "/steps/1/parameter/datasource", 20, 23,
         "you may not write data source 'lite': ask its owner for the write permission")]
    datasources.grant(ALICE, "lite", "bob", "read")
    datasources.grant(ALICE, "lite", "bob", "write")
    assert [d[1] for d in catalog(validator.validate(BOB, script(table=("no_such_table",)), []))] == [
        "/steps/0/parameter/table/0"]


def test_unreachable_server_is_one_warning(validator, datasources):
    datasources.add(ALICE, "down", "postgresql", {"host": "127.0.0.1", "port": 1, "database": "d", "user": "u"})
    found = catalog(validator.validate(ALICE, script(source="down", source_type="postgresql"), []))
    assert [d[:4] for d in found] == [("warning", "/steps/0/parameter/datasource", 10, 23)]
    assert "cannot be inspected" in found[0][4] and "cannot be reached" in found[0][4]


def test_table_parameters_resolve_for_a_sample_date_or_are_skipped(validator):
    # ${bizdate} resolves (to yesterday: no such table); ${region} has no value: not looked up
    diagnostics = validator.validate(ALICE, script(table=("ods_orders_${bizdate}", "t_${region}")), [])
    assert [(d.source, d.pointer) for d in diagnostics] == [
        ("catalog", "/steps/0/parameter/table/0"), ("parameters", "/steps/0/parameter/table/1")]
    given = validator.validate(ALICE, script(table=("ods_orders_${region}",), column=("id",),
                                             target_column=("id",)), {"region": "20240101"})
    assert given == []


def test_structural_errors_skip_the_catalog(validator):
    diagnostics = validator.validate(ALICE, script(target="no_such_table").replace('"Writer"', "1"), [])
    assert diagnostics and not catalog(diagnostics)


def test_real_postgresql(pg_db, datasources, validator):
    params = {k: v for k, v in pg_db.datasource.params.items() if v != ""}
    datasources.add(ALICE, "pg", "postgresql", params)
    table = pg_db.make_table("(id int, amount numeric(10, 2), note text)", [(1, 2.5, "a")])
    assert validator.validate(ALICE, script(table=(table,), source="pg", source_type="postgresql"), []) == []
    text = script(table=(table, "no_such_table"), column=("id", "AMOUNT", "nope"),
                  source="pg", source_type="postgresql")
    assert [d[:2] for d in catalog(validator.validate(ALICE, text, []))] == [
        ("error", "/steps/0/parameter/table/1"), ("error", "/steps/0/parameter/column/2")]
