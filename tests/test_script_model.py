"""The script model, its JSON Schema, the position index and the diagnostic shape."""

from __future__ import annotations

import json

import jsonschema
import pytest
from pydantic import ValidationError

from jupyter_offline_pipeline.script import (
    STEP_TYPES,
    Diagnostic,
    FileReaderParams,
    JsonSyntaxError,
    RelationalWriterParams,
    Script,
    ScriptError,
    load_json,
    parse_script,
    register_step_type,
    script_json_schema,
    validate_script,
)
from jupyter_offline_pipeline.script.model import BUILTIN_STEP_TYPES, SCHEMA_PATH

SCRIPT = {
    "type": "job",
    "version": "2.0",
    "steps": [
        {
            "stepType": "sqlite",
            "category": "reader",
            "name": "Reader",
            "parameter": {"datasource": "src", "table": "orders"},
        },
        {
            "stepType": "csv",
            "category": "writer",
            "name": "Writer",
            "parameter": {"path": "out/orders.csv"},
        },
    ],
}


@pytest.fixture(autouse=True)
def builtin_step_types():
    """Each test sees the built-in step types alone (other tests may load plugins)."""
    saved = dict(STEP_TYPES)
    STEP_TYPES.clear()
    STEP_TYPES.update(BUILTIN_STEP_TYPES)
    yield
    STEP_TYPES.clear()
    STEP_TYPES.update(saved)


# --- the JSON Schema ------------------------------------------------------------------------


def test_schema_file_is_up_to_date():
    """Regenerate it with ``python -m jupyter_offline_pipeline.script.model``."""
    assert json.loads(SCHEMA_PATH.read_text()) == script_json_schema(BUILTIN_STEP_TYPES)


def test_schema_types_parameters_by_step_type_and_category():
    schema = script_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    step = schema["$defs"]["Step"]
    assert step["properties"]["stepType"]["enum"] == sorted(STEP_TYPES)
    branches = {
        (
            tuple(rule["if"]["properties"]["stepType"]["enum"]),
            rule["if"]["properties"]["category"]["const"],
        ): rule["then"]["properties"]["parameter"]["$ref"]
        for rule in step["allOf"]
    }
    relational, files = ("duckdb", "mysql", "postgresql", "sqlite"), ("csv", "jsonl", "parquet")
    assert branches == {
        (relational, "reader"): "#/$defs/RelationalReaderParams",
        (relational, "writer"): "#/$defs/RelationalWriterParams",
        (files, "reader"): "#/$defs/FileReaderParams",
        (files, "writer"): "#/$defs/FileWriterParams",
    }
    writer = schema["$defs"]["RelationalWriterParams"]["properties"]
    assert writer["writeMode"]["enum"] == ["insert", "replace", "update", "ignore"]
    assert all(field.get("description") for field in writer.values())


def test_every_field_has_a_description():
    for name, definition in script_json_schema()["$defs"].items():
        for key, field in definition["properties"].items():
            assert field.get("description"), f"{name}.{key}"


def test_json_schema_agrees_with_the_model():
    validator = jsonschema.Draft202012Validator(script_json_schema())
    assert list(validator.iter_errors(SCRIPT)) == []
    bad = json.loads(json.dumps(SCRIPT))
    bad["steps"][0]["parameter"]["writeMode"] = "insert"  # a writer's key on a reader
    bad["steps"][1]["parameter"]["writeMode"] = "upsert"
    bad["steps"][1]["parameter"]["compress"] = "rar"
    errors = {"/" + "/".join(map(str, error.absolute_path)) for error in validator.iter_errors(bad)}
    assert errors >= {
        "/steps/0/parameter",
        "/steps/1/parameter/writeMode",
        "/steps/1/parameter/compress",
    }


# --- the model --------------------------------------------------------------------------------


def test_defaults_and_accessors():
    script = Script.model_validate(SCRIPT)
    assert script.reader.name == "Reader" and script.writer.name == "Writer"
    assert script.reader.family == "relational" and script.writer.family == "file"
    reader, writer = script.reader.parameter, script.writer.parameter
    assert reader.table == ["orders"]  # a lone name is a list of one
    assert reader.column == ["*"] and reader.where == "" and reader.splitPk == ""
    assert [column.name for column in writer.column] == ["*"]
    assert (writer.fieldDelimiter, writer.encoding, writer.header, writer.writeMode) == (
        ",",
        "utf-8",
        True,
        "truncate",
    )
    assert script.setting.speed.concurrent == 1 and script.setting.errorLimit.record is None
    assert script.order.hops == []


def test_a_script_without_a_writer_says_so():
    script = Script.model_validate({**SCRIPT, "steps": SCRIPT["steps"][:1]})
    with pytest.raises(LookupError, match="no writer step"):
        script.writer


def test_hops_are_written_with_from():
    script = Script.model_validate({**SCRIPT, "order": {"hops": [{"from": "Reader", "to": "Writer"}]}})
    assert script.order.hops[0].from_ == "Reader"
    assert script.model_dump(by_alias=True)["order"] == {"hops": [{"from": "Reader", "to": "Writer"}]}


def test_the_model_is_strict_about_json_types():
    with pytest.raises(ValidationError):
        RelationalWriterParams.model_validate(
            {"datasource": "d", "table": "t", "column": ["a"], "batchSize": "10"}
        )


@pytest.mark.parametrize(
    "name", ["id", "gmt_create", "*", "`order`", '"Order Id"', "[x y]", "名称", "amount$"]
)
def test_writer_columns_may_be_names(name):
    RelationalWriterParams.model_validate({"datasource": "d", "table": "t", "column": [name]})


@pytest.mark.parametrize(
    "name", ["1", "-2.5", "1e3", "'x'", "''", "null", "NULL", "true", "now()", "a + b", "t.a"]
)
def test_writer_columns_may_not_be_constants_or_expressions(name):
    with pytest.raises(ValidationError, match="must be a column name"):
        RelationalWriterParams.model_validate({"datasource": "d", "table": "t", "column": [name]})


def test_file_columns_by_name_by_position_and_typed():
    params = FileReaderParams.model_validate(
        {
            "path": "x.csv",
            "column": ["a", {"index": 1, "type": "long"}, {"name": "c", "type": "decimal(18, 4)"}],
        }
    )
    assert [(c.name, c.index, c.type) for c in params.column] == [
        ("a", None, None),
        (None, 1, "long"),
        ("c", None, "decimal(18, 4)"),
    ]
    with pytest.raises(ValidationError, match="must be one of string"):
        FileReaderParams.model_validate({"path": "x.csv", "column": [{"name": "a", "type": "integer"}]})


def test_register_step_type():
    register_step_type("mariadb", "relational")
    script = json.loads(json.dumps(SCRIPT))
    script["steps"][0]["stepType"] = "mariadb"
    assert validate_script(json.dumps(script)) == []
    assert "mariadb" in script_json_schema()["$defs"]["Step"]["properties"]["stepType"]["enum"]
    with pytest.raises(ValueError, match="unknown step family"):
        register_step_type("mongodb", "document")


# --- parse_script -------------------------------------------------------------------------------


def test_parse_script_returns_the_typed_script():
    script = parse_script(
        json.dumps(SCRIPT), datasource_type={"src": "sqlite"}.get, defined_parameters=[]
    )
    assert isinstance(script, Script) and script.reader.parameter.datasource == "src"


def test_parse_script_raises_with_every_diagnostic():
    text = json.dumps({**SCRIPT, "version": "3.0", "order": {"hops": [{"from": "R", "to": "Writer"}]}})
    with pytest.raises(ScriptError) as caught:
        parse_script(text, datasource_type={}.get)
    messages = [d.message for d in caught.value.diagnostics]
    assert len(messages) == 3
    assert any("version" in m for m in messages)
    assert any("'src' does not exist" in m for m in messages)
    assert any("'R' names no step" in m for m in messages)
    assert str(caught.value).splitlines() == [d.format() for d in caught.value.diagnostics]


def test_warnings_do_not_stop_parse_script():
    script = json.loads(json.dumps(SCRIPT))
    script["steps"][0]["parameter"]["querySql"] = "select 1"
    text = json.dumps(script)
    assert [d.severity for d in validate_script(text)] == ["warning"]  # table is ignored
    assert parse_script(text).reader.parameter.querySql == "select 1"


# --- diagnostics and positions ------------------------------------------------------------------


def test_diagnostic_shape():
    diagnostic = Diagnostic(
        "error", "batchSize must be an integer", "/steps/1/parameter/batchSize", 12, 22, "schema"
    )
    assert diagnostic.to_dict() == {
        "severity": "error",
        "message": "batchSize must be an integer",
        "pointer": "/steps/1/parameter/batchSize",
        "line": 12,
        "column": 22,
        "source": "schema",
    }
    assert (
        diagnostic.format() == "12:22 error batchSize must be an integer (/steps/1/parameter/batchSize)"
    )


def test_position_index():
    text = '{\n  "a": [1, {"b/c": "x", "~": null}],\n  "e": {"f": true}\n}'
    _, index = load_json(text)
    assert index.value("") == (1, 1)
    assert (index.key("/a"), index.value("/a")) == ((2, 3), (2, 8))
    assert index.value("/a/1") == (2, 12)
    assert (index.key("/a/1/b~1c"), index.value("/a/1/b~1c")) == ((2, 13), (2, 20))
    assert index.value("/a/1/~0") == (2, 30)
    assert index.key("/a/0") == (2, 9)  # an array item has no key: its value
    assert index.value("/e/missing") == index.value("/e") == (3, 8)  # the parent, for a missing key
    assert index.value("/nothing/at/all") == (1, 1)


def test_duplicate_keys_are_found_and_the_last_wins():
    value, index = load_json('{"a": 1,\n "a": 2}')
    assert value == {"a": 2}
    assert index.duplicate_keys == [("/a", (2, 2))]
    assert index.value("/a") == (2, 7)


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ('{"a": 1,}', 1, 8, "trailing comma"),
        ('{"a": 1,\n\n}', 1, 8, "trailing comma"),
        ('{"a": [1,\n  2,\n]}', 2, 4, "trailing comma"),
        ('{"a": {"b": 1}\n', 1, 15, "'{' at line 1, column 1"),
        ("{'a': 1}", 1, 2, "single quotes"),
        ('{"a": 1 /* c */}', 1, 9, "comments"),
        ('{"a": 1,\n # c\n"b": 2}', 2, 2, "comments"),
        ('{"a": 1\n "b": 2}', 1, 8, "comma"),
        ('{"a": None}', 1, 7, "write null"),
        ('{"a": Infinity}', 1, 7, "Infinity"),
        ('{"a": "\\u12"}', 1, 9, "\\uXXXX"),
        ("\ufeff{}", 1, 1, "byte order mark"),
        ("  \n ", 1, 1, "empty"),
        ("{}\n{}", 2, 1, "after the end"),
    ],
)
def test_syntax_errors_point_at_their_cause(text, line, column, words):
    with pytest.raises(JsonSyntaxError) as caught:
        load_json(text)
    assert (caught.value.line, caught.value.column) == (line, column)
    assert words in caught.value.message
