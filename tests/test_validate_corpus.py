"""A corpus of bad scripts, each with the exact diagnostics it must give.

In each case a ``⟦`` marks where a diagnostic must point; the marks are taken out of the
text before it is validated, and the n-th mark is the line and column of the n-th
diagnostic (diagnostics come sorted by position).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import pytest

from jupyter_offline_pipeline.script import (
    BUILTIN_STEP_TYPES,
    STEP_TYPES,
    script_json_schema,
    validate_script,
)
from jupyter_offline_pipeline.script.validate import MAX_SCRIPT_LENGTH

MARK = "⟦"

BASE = """\
{
  "type": "job",
  "version": "2.0",
  "steps": [
    {
      "stepType": "mysql",
      "category": "reader",
      "name": "Reader",
      "parameter": {
        "datasource": "orders_db",
        "table": ["orders"],
        "column": ["id", "amount", "gmt_create"],
        "where": "gmt_create >= '${bizdate}'",
        "splitPk": "id"
      }
    },
    {
      "stepType": "postgresql",
      "category": "writer",
      "name": "Writer",
      "parameter": {
        "datasource": "warehouse",
        "table": "ods_orders",
        "column": ["id", "amount", "gmt_create"],
        "writeMode": "insert",
        "preSql": ["delete from ods_orders where ds = '${bizdate}'"],
        "postSql": [],
        "batchSize": 1024
      }
    }
  ],
  "setting": {
    "errorLimit": {"record": 0},
    "speed": {"concurrent": 2, "throttle": false, "mbps": 10}
  },
  "order": {"hops": [{"from": "Reader", "to": "Writer"}]}
}
"""

FILES = """\
{
  "type": "job",
  "version": "2.0",
  "steps": [
    {
      "stepType": "csv",
      "category": "reader",
      "name": "Reader",
      "parameter": {
        "path": "in/orders.csv",
        "column": [{"name": "id", "type": "long"}, "amount"],
        "fieldDelimiter": ",",
        "encoding": "utf-8",
        "header": true
      }
    },
    {
      "stepType": "parquet",
      "category": "writer",
      "name": "Writer",
      "parameter": {
        "datasource": "lake",
        "path": "ods/orders.parquet",
        "compress": "zstd",
        "writeMode": "truncate"
      }
    }
  ],
  "order": {"hops": [{"from": "Reader", "to": "Writer"}]}
}
"""

SMALL = """\
{
  "type": "job", "version": "2.0",
  "steps": [
    {"stepType": "sqlite", "category": "reader", "name": "Reader", "parameter": {"datasource": "src", "table": "t"}},
    {"stepType": "duckdb", "category": "writer", "name": "Writer", "parameter": {"datasource": "dst", "table": "t", "column": ["*"]}}
  ]
}
"""

DATAX = """\
{
  "job": {
    "setting": {"speed": {"channel": 4}, "errorLimit": {"record": 0}},
    "content": [
      {
        "reader": {
          "name": "mysqlreader",
          "parameter": {
            "datasource": "orders_db",
            "column": ["id", "amount"],
            "connection": [{"table": ["orders"], "jdbcUrl": ["jdbc:mysql://db:3306/orders_db"]}]
          }
        },
        "writer": {
          "name": "postgresqlwriter",
          "parameter": {
            "datasource": "warehouse",
            "column": ["id", "amount"],
            "connection": [{"table": ["ods_orders"], "jdbcUrl": "jdbc:postgresql://dw:5432/warehouse"}]
          }
        }
      }
    ]
  }
}
"""


@pytest.fixture(autouse=True)
def builtin_step_types():
    """Each test sees the built-in step types alone (other tests may load plugins)."""
    saved = dict(STEP_TYPES)
    STEP_TYPES.clear()
    STEP_TYPES.update(BUILTIN_STEP_TYPES)
    yield
    STEP_TYPES.clear()
    STEP_TYPES.update(saved)


KINDS = {
    "orders_db": "mysql",
    "warehouse": "postgresql",
    "src": "sqlite",
    "dst": "duckdb",
    "lake": "parquet",
}.get


def edit(text: str, *replacements: tuple[str, str]) -> str:
    for old, new in replacements:
        assert text.count(old) == 1, f"{old!r} must occur once"
        text = text.replace(old, new)
    return text


@dataclass
class Case:
    id: str
    text: str
    expected: list[tuple[str, str, str]]  # severity, pointer, a word of the message
    options: dict[str, Any] = field(default_factory=dict)


def error(pointer: str, word: str) -> tuple[str, str, str]:
    return ("error", pointer, word)


R, W = "/steps/0/parameter", "/steps/1/parameter"
READER_COLUMN = '"column": ["id", "amount", "gmt_create"],\n        "where"'
WRITER_COLUMN = '"column": ["id", "amount", "gmt_create"],\n        "writeMode"'
READER_SOURCE = BASE[
    BASE.index('"table": ["orders"]') : BASE.index('"splitPk": "id"') + len('"splitPk": "id"')
]
PRE_SQL = "[\"delete from ods_orders where ds = '${bizdate}'\"]"
LONG = edit(BASE, (">= '${bizdate}'", ">= '" + "x" * MAX_SCRIPT_LENGTH + "'"))

CASES = [
    # --- JSON syntax: the place of the cause, not where the parser gave up
    Case(
        "trailing comma in an object",
        edit(BASE, ('"batchSize": 1024', '"batchSize": 1024⟦,')),
        [error("", "trailing comma")],
    ),
    Case(
        "trailing comma in an array",
        edit(BASE, ('["orders"]', '["orders"⟦,]')),
        [error("", "trailing comma")],
    ),
    Case(
        "unclosed brace",
        BASE[: BASE.rindex("}")].rstrip() + "⟦\n",
        [error("", "line 1, column 1 is closed")],
    ),
    Case("unterminated string", '{"type": ⟦"job', [error("", "unterminated")]),
    Case(
        "line break in a string",
        edit(BASE, (">= '${bizdate}'", ">=⟦\n'${bizdate}'")),
        [error("", "line break")],
    ),
    Case(
        "single-quoted key",
        edit(BASE, ('"type": "job"', "⟦'type': \"job\"")),
        [error("", "single quotes")],
    ),
    Case(
        "single-quoted value",
        edit(BASE, ('"writeMode": "insert"', "\"writeMode\": ⟦'insert'")),
        [error("", "single quotes")],
    ),
    Case(
        "line comment",
        edit(BASE, ('"version": "2.0",', '"version": "2.0", ⟦// layout')),
        [error("", "comments")],
    ),
    Case(
        "block comment",
        edit(BASE, ('"postSql": [],', '"postSql": [], ⟦/* none */')),
        [error("", "comments")],
    ),
    Case(
        "missing comma",
        edit(BASE, ('"table": "ods_orders",', '"table": "ods_orders"⟦')),
        [error("", "comma")],
    ),
    Case("missing colon", edit(BASE, ('"name": "Writer"', '"name"⟦ "Writer"')), [error("", "':'")]),
    Case(
        "unquoted key", edit(BASE, ('"splitPk": "id"', '⟦splitPk: "id"')), [error("", "double quotes")]
    ),
    Case(
        "Python literal",
        edit(BASE, ('"throttle": false', '"throttle": ⟦False')),
        [error("", "write false")],
    ),
    Case("NaN", edit(BASE, ('"mbps": 10', '"mbps": ⟦NaN')), [error("", "NaN")]),
    Case(
        "leading zero", edit(BASE, ('"batchSize": 1024', '"batchSize": ⟦01024')), [error("", "number")]
    ),
    Case(
        "mismatched bracket",
        edit(BASE, ('["orders"]', '["orders"⟦}')),
        [error("", "does not close the '['")],
    ),
    Case("text after the end", BASE + "⟦}\n", [error("", "after the end")]),
    Case("empty script", "⟦", [error("", "empty")]),
    Case(
        "invalid escape",
        edit(BASE, ('"where": "gmt_create', '"where": "gmt⟦\\_create')),
        [error("", "escape")],
    ),
    # --- the root
    Case("array root", "⟦[1, 2]", [error("", "JSON object")]),
    Case("string root", '⟦"job"', [error("", "JSON object")]),
    # --- shape: missing and unknown keys, types, enums, ranges
    Case("missing type", edit(BASE, ('{\n  "type": "job",\n', "⟦{\n")), [error("/type", "missing")]),
    Case("wrong type", edit(BASE, ('"type": "job"', '"type": ⟦"task"')), [error("/type", "'job'")]),
    Case(
        "version as a number",
        edit(BASE, ('"version": "2.0"', '"version": ⟦2.0')),
        [error("/version", "'2.0'")],
    ),
    Case(
        "unknown top-level key",
        edit(BASE, ('"version": "2.0",', '"version": "2.0",\n  ⟦"extend": {},')),
        [error("/extend", "unknown key 'extend'")],
    ),
    Case(
        "misspelled key",
        edit(BASE, ('"splitPk": "id"', '⟦"splitpk": "id"')),
        [error(f"{R}/splitpk", "did you mean 'splitPk'")],
    ),
    Case(
        "writeMode not an enum value",
        edit(BASE, ('"writeMode": "insert"', '"writeMode": ⟦"upsert"')),
        [error(f"{W}/writeMode", "one of insert, replace, update, ignore (got 'upsert')")],
    ),
    Case(
        "batchSize as a string",
        edit(BASE, ('"batchSize": 1024', '"batchSize": ⟦"1024"')),
        [error(f"{W}/batchSize", "integer")],
    ),
    Case(
        "batchSize zero",
        edit(BASE, ('"batchSize": 1024', '"batchSize": ⟦0')),
        [error(f"{W}/batchSize", "greater than 0")],
    ),
    Case(
        "too many channels",
        edit(BASE, ('"concurrent": 2', '"concurrent": ⟦64')),
        [error("/setting/speed/concurrent", "at most 32")],
    ),
    Case(
        "percentage above 1",
        edit(BASE, ('{"record": 0}', '{"percentage": ⟦1.5}')),
        [error("/setting/errorLimit/percentage", "at most 1 (got 1.5)")],
    ),
    Case(
        "throttle as a string",
        edit(BASE, ('"throttle": false', '"throttle": ⟦"no"')),
        [error("/setting/speed/throttle", "true or false")],
    ),
    Case(
        "preSql as a string",
        edit(BASE, (PRE_SQL, "⟦" + PRE_SQL[1:-1])),
        [error(f"{W}/preSql", "must be a list")],
    ),
    Case(
        "postSql item a number",
        edit(BASE, ('"postSql": []', '"postSql": [⟦42]')),
        [error(f"{W}/postSql/0", "string")],
    ),
    Case(
        "steps as an object",
        '{"type": "job", "version": "2.0", "steps": ⟦{}}',
        [error("/steps", "list")],
    ),
    Case(
        "parameter as a list",
        edit(
            SMALL,
            ('"parameter": {"datasource": "dst", "table": "t", "column": ["*"]}', '"parameter": ⟦[]'),
        ),
        [error(W, "object")],
    ),
    Case(
        "unknown step type",
        edit(BASE, ('"stepType": "mysql"', '"stepType": ⟦"oracle"')),
        [error("/steps/0/stepType", "one of csv, duckdb, jsonl, mysql, parquet, postgresql, sqlite")],
    ),
    Case(
        "unknown category",
        edit(BASE, ('"steps": [', '"steps": ⟦['), ('"category": "reader"', '"category": ⟦"source"')),
        [error("/steps", "no reader step"), error("/steps/0/category", "one of reader, writer")],
    ),
    Case(
        "step without a name",
        edit(
            BASE,
            (
                '    {\n      "stepType": "mysql",\n      "category": "reader",\n      "name": "Reader",\n',
                '    ⟦{\n      "stepType": "mysql",\n      "category": "reader",\n',
            ),
            ('{"from": "Reader"', '{"from": ⟦"Reader"'),
        ),
        [error("/steps/0/name", "missing"), error("/order/hops/0/from", "names no step")],
    ),
    Case(
        "reader without a datasource",
        edit(BASE, ('"parameter": {\n        "datasource": "orders_db",\n', '"parameter": ⟦{\n')),
        [error(f"{R}/datasource", "missing required key 'datasource'")],
    ),
    Case(
        "writer table as a list",
        edit(BASE, ('"table": "ods_orders"', '"table": ⟦["ods_orders"]')),
        [error(f"{W}/table", "string")],
    ),
    Case(
        "empty column list",
        edit(BASE, (READER_COLUMN, '"column": ⟦[],\n        "where"')),
        [error(f"{R}/column", "must not be empty")],
    ),
    Case(
        "empty table name",
        edit(BASE, ('["orders"]', '[⟦""]')),
        [error(f"{R}/table/0", "must not be empty")],
    ),
    Case(
        "splitPk of two columns",
        edit(BASE, ('"splitPk": "id"', '"splitPk": ⟦"id, gmt_create"')),
        [error(f"{R}/splitPk", "single column name")],
    ),
    Case(
        "constants and expressions in a writer's columns",
        edit(
            BASE, (WRITER_COLUMN, '"column": [⟦"1", ⟦"\'x\'", ⟦"null", ⟦"now()"],\n        "writeMode"')
        ),
        [
            error(f"{W}/column/0", "no constants (got '1')"),
            error(f"{W}/column/1", "no constants"),
            error(f"{W}/column/2", "no constants"),
            error(f"{W}/column/3", "no expressions"),
        ],
    ),
    # --- rules across fields
    Case(
        "two readers, no writer",
        edit(SMALL, ('"steps": [', '"steps": ⟦['), ('"category": "writer"', '"category": ⟦"reader"')),
        [error("/steps", "no writer step"), error("/steps/1/category", "second reader")],
    ),
    Case(
        "no steps at all",
        '{"type": "job", "version": "2.0", "steps": ⟦⟦[]}',
        [error("/steps", "no reader step"), error("/steps", "no writer step")],
    ),
    Case(
        "duplicate step names",
        edit(BASE, ('"name": "Writer"', '"name": ⟦"Reader"'), ('"to": "Writer"', '"to": ⟦"Writer"')),
        [error("/steps/1/name", "used by another step"), error("/order/hops/0/to", "names no step")],
    ),
    Case(
        "hop to no step",
        edit(BASE, ('"to": "Writer"', '"to": ⟦"Target"')),
        [error("/order/hops/0/to", "'Target' names no step")],
    ),
    Case(
        "reader with neither table nor querySql",
        edit(
            BASE,
            (
                '"parameter": {\n        "datasource": "orders_db",\n        "table": ["orders"],\n',
                '"parameter": ⟦{\n        "datasource": "orders_db",\n',
            ),
        ),
        [error(f"{R}/table", "table or a querySql")],
    ),
    Case(
        "querySql with table, column and where",
        edit(
            BASE,
            ('"table": ["orders"]', '⟦"table": ["orders"]'),
            (READER_COLUMN, '⟦"column": ["id", "amount", "gmt_create"],\n        ⟦"where"'),
            (
                '"splitPk": "id"',
                '⟦"splitPk": "id",\n        "querySql": "select id, amount, gmt_create from orders"',
            ),
        ),
        [("warning", f"{R}/{key}", "ignored") for key in ("table", "column", "where", "splitPk")],
    ),
    Case(
        "throttle without mbps",
        edit(BASE, ('"throttle": false, "mbps": 10', '"throttle": ⟦true')),
        [error("/setting/speed/throttle", "mbps")],
    ),
    Case(
        "record and percentage",
        edit(BASE, ('{"record": 0}', '{"record": 0, ⟦"percentage": 0.1}')),
        [("info", "/setting/errorLimit/percentage", "ignored")],
    ),
    # --- file steps
    Case(
        "csv reader without a path",
        edit(FILES, ('"parameter": {\n        "path": "in/orders.csv",\n', '"parameter": ⟦{\n')),
        [error(f"{R}/path", "missing required key 'path'")],
    ),
    Case(
        "file writeMode of a database",
        edit(FILES, ('"writeMode": "truncate"', '"writeMode": ⟦"insert"')),
        [error(f"{W}/writeMode", "truncate, append, nonConflict")],
    ),
    Case(
        "bad file columns",
        edit(
            FILES,
            (
                '[{"name": "id", "type": "long"}, "amount"]',
                '[⟦{"type": "long"}, {"name": "amount", "type": ⟦"integer"}, ⟦42]',
            ),
        ),
        [
            error(f"{R}/column/0", "must have a name or an index"),
            error(f"{R}/column/1/type", "one of string, long"),
            error(f"{R}/column/2", "column name or an object"),
        ],
    ),
    Case(
        "two-character delimiter",
        edit(FILES, ('"fieldDelimiter": ","', '"fieldDelimiter": ⟦";;"')),
        [error(f"{R}/fieldDelimiter", "at most 1")],
    ),
    Case(
        "unknown compression",
        edit(FILES, ('"compress": "zstd"', '"compress": ⟦"rar"')),
        [error(f"{W}/compress", "one of none, gzip")],
    ),
    Case(
        "unknown encoding",
        edit(FILES, ('"encoding": "utf-8"', '"encoding": ⟦"klingon"')),
        [error(f"{R}/encoding", "encoding")],
    ),
    Case(
        "header as a string",
        edit(FILES, ('"header": true', '"header": ⟦"yes"')),
        [error(f"{R}/header", "true or false")],
    ),
    Case(
        "database keys in a file step",
        edit(FILES, ('"compress": "zstd",', '"compress": "zstd",\n        ⟦"batchSize": 10,')),
        [error(f"{W}/batchSize", "unknown key 'batchSize'")],
    ),
    # --- data sources
    Case(
        "data source that does not exist",
        edit(BASE, ('"datasource": "warehouse"', '"datasource": ⟦"warehouse_dev"')),
        [("error", f"{W}/datasource", "'warehouse_dev' does not exist")],
        {"datasource_type": KINDS},
    ),
    Case(
        "data source of another type",
        edit(BASE, ('"datasource": "orders_db"', '"datasource": ⟦"warehouse"')),
        [error(f"{R}/datasource", "'warehouse' is of type postgresql, not mysql")],
        {"datasource_type": KINDS},
    ),
    # --- parameters
    Case(
        "undefined parameter",
        edit(
            BASE, ('"where": "gmt_create >= \'${bizdate}\'"', '"where": ⟦"gmt_create >= \'${cutoff}\'"')
        ),
        [error(f"{R}/where", "${cutoff}")],
        {"defined_parameters": []},
    ),
    Case(
        "undefined parameter in a list",
        edit(BASE, (PRE_SQL, PRE_SQL.replace("[", "[⟦").replace("${bizdate}", "${ds}"))),
        [error(f"{W}/preSql/0", "${ds} is not defined")],
        {"defined_parameters": ["cutoff"]},
    ),
    # --- the text as a whole
    Case(
        "too long",
        LONG[:MAX_SCRIPT_LENGTH] + MARK + LONG[MAX_SCRIPT_LENGTH:],
        [error("", str(MAX_SCRIPT_LENGTH))],
    ),
    Case(
        "duplicate key",
        edit(BASE, ('"batchSize": 1024', '"batchSize": 1024,\n        ⟦"batchSize": 2048')),
        [("warning", f"{W}/batchSize", "duplicate key 'batchSize'")],
    ),
    # --- DataX jobs: positions in the DataX text
    Case(
        "DataX job with too many channels",
        edit("⟦" + DATAX, ('"channel": 4', '"channel": ⟦64')),
        [("info", "", "DataX"), error("/job/setting/speed/channel", "concurrent must be at most 32")],
    ),
    Case(
        "DataX job with an unknown reader",
        edit("⟦" + DATAX, ('"name": "mysqlreader"', '"name": ⟦"oraclereader"')),
        [("info", "", "DataX"), error("/job/content/0/reader/name", "stepType must be one of")],
    ),
    Case(
        "DataX writer with two tables",
        edit("⟦" + DATAX, ('[{"table": ["ods_orders"]', '[{"table": ⟦["ods_orders", "ods_orders_bak"]')),
        [
            ("info", "", "DataX"),
            ("warning", "/job/content/0/writer/parameter/connection/0/table", "only the first"),
        ],
    ),
    # --- many problems: every one reported at once
    Case(
        "many problems at once",
        edit(
            BASE,
            ('"version": "2.0",', '"version": "2.0",\n  ⟦"extend": {},'),
            ('"stepType": "mysql"', '"stepType": ⟦"mysq"'),
            ('"writeMode": "insert"', '"writeMode": ⟦"upsert"'),
            ('"batchSize": 1024', '"batchSize": ⟦-1'),
            ('"throttle": false, "mbps": 10', '"throttle": ⟦true'),
            ('"to": "Writer"', '"to": ⟦"W"'),
            ("${bizdate}'\"]", "${day}'\"]"),
        ),
        [
            error("/extend", "unknown key"),
            error("/steps/0/stepType", "got 'mysq'"),
            error(f"{W}/writeMode", "upsert"),
            error(f"{W}/batchSize", "greater than 0"),
            error("/setting/speed/throttle", "mbps"),
            error("/order/hops/0/to", "'W'"),
        ],
    ),
]


def unmark(text: str) -> tuple[str, list[tuple[int, int]]]:
    """The text without its marks, and the line and column of each mark."""
    positions = []
    while MARK in text:
        offset = text.index(MARK)
        text = text[:offset] + text[offset + 1 :]
        positions.append((text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset)))
    return text, positions


def test_the_corpus_is_large_and_distinct():
    texts = [unmark(case.text)[0] for case in CASES]
    assert len(set(texts)) == len(texts) >= 45
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_script(case: Case):
    text, positions = unmark(case.text)
    assert len(positions) == len(case.expected), "one mark per expected diagnostic"
    diagnostics = validate_script(text, **case.options)
    got = [(d.line, d.column, d.severity, d.pointer) for d in diagnostics]
    want = [
        (*position, severity, pointer)
        for position, (severity, pointer, _) in zip(positions, case.expected)
    ]
    assert got == want, "\n".join(d.format() for d in diagnostics)
    for diagnostic, (_, _, word) in zip(diagnostics, case.expected):
        assert word in diagnostic.message


def test_sources_name_the_check():
    sources = {
        case.id: [d.source for d in validate_script(unmark(case.text)[0], **case.options)]
        for case in CASES
        if case.id
        in {
            "trailing comma in an object",
            "writeMode not an enum value",
            "hop to no step",
            "data source that does not exist",
            "undefined parameter",
            "duplicate key",
        }
    }
    assert sources == {
        "trailing comma in an object": ["syntax"],
        "writeMode not an enum value": ["schema"],
        "hop to no step": ["script"],
        "data source that does not exist": ["catalog"],
        "undefined parameter": ["parameters"],
        "duplicate key": ["syntax"],
    }


# --- no exception escapes, whatever the text ---------------------------------------------


def test_every_prefix_and_every_one_character_deletion_is_diagnosed():
    for text in itertools.chain(
        (BASE[:end] for end in range(len(BASE))),
        (BASE[:i] + BASE[i + 1 :] for i in range(len(BASE))),
    ):
        for diagnostic in validate_script(text, datasource_type=KINDS, defined_parameters=[]):
            lines = text.split("\n")
            assert 1 <= diagnostic.line <= len(lines)
            assert 1 <= diagnostic.column <= len(lines[diagnostic.line - 1]) + 1


ODD_VALUES = [None, 0, -1, 1.5, True, "", "x", "${x}", [], ["a"], [1], {}, {"a": 1}]


def _paths(value: Any) -> list[tuple[str | int, ...]]:
    """The path of every value inside ``value``, its own included."""
    children = (
        value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    )
    paths = [()]
    for key, child in children:
        paths += [(key, *rest) for rest in _paths(child)]
    return paths


def _replaced(document: Any, path: tuple[str | int, ...], new: Any) -> Any:
    """A copy of ``document`` with ``new`` at ``path``."""
    if not path:
        return new
    copy = json.loads(json.dumps(document))
    parent = copy
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = new
    return copy


@pytest.mark.parametrize("text", [BASE, FILES, DATAX], ids=["base", "files", "DataX"])
def test_any_value_of_any_type_anywhere_raises_nothing(text):
    document = json.loads(text)
    for path in _paths(document):
        for new in ODD_VALUES:
            bad = json.dumps(_replaced(document, path, new), indent=1)
            for diagnostic in validate_script(bad, datasource_type=KINDS, defined_parameters=[]):
                assert 1 <= diagnostic.line <= bad.count("\n") + 1


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000,
        "[" * 100_000 + "]" * 100_000,
        '{"steps": [[], 1, null, {"stepType": ["x"], "category": {}, "parameter": {"datasource": 5}},'
        ' {"stepType": [], "category": [], "name": {}, "parameter": {"datasource": "orders_db", "table": 1}}]}',
        '{"type": "job", "version": "2.0", "steps": [{"stepType": "csv", "category": "reader"}], "order": {"hops": [1, {}]}}',
        '{"job": 1}',
        '{"job": {"content": [{"reader": 1, "writer": {"name": 5}}], "setting": []}}',
        '{"job": {"content": [{"reader": {"name": "mysqlreader", "parameter": {"connection": "x"}}}]}}',
        '{"job": {"content": [{"reader": {"name": ["mysqlreader"]}, "writer": {"name": {}}}]}}',
    ],
    ids=[
        "deep",
        "deep and closed",
        "odd steps",
        "odd hops",
        "job not an object",
        "odd DataX",
        "odd connection",
        "odd plugin names",
    ],
)
def test_odd_documents_give_diagnostics_not_exceptions(text):
    assert any(
        d.severity == "error"
        for d in validate_script(text, datasource_type=KINDS, defined_parameters=[])
    )


# --- good scripts --------------------------------------------------------------------------


def _parameter(step_type: str, category: str) -> dict[str, Any]:
    if BUILTIN_STEP_TYPES[step_type] == "file":
        return {
            "path": f"data/orders.{step_type}",
            "column": ["id", {"name": "amount", "type": "double"}],
        }
    if category == "reader":
        return {
            "datasource": f"{step_type}_src",
            "table": "orders",
            "column": ["id", "amount", "'x'", "1"],
            "where": "ds = '${bizdate}'",
            "splitPk": "id",
            "fetchSize": 500,
        }
    return {
        "datasource": f"{step_type}_dst",
        "table": "ods_orders",
        "column": ["id", "amount", "`ds`", "*"],
        "writeMode": "update",
        "preSql": ["delete from @table where ds = '${yyyy-MM-dd}'"],
        "truncate": True,
    }


def good_script(source: str, target: str) -> dict[str, Any]:
    return {
        "type": "job",
        "version": "2.0",
        "steps": [
            {
                "stepType": source,
                "category": "reader",
                "name": "Reader",
                "parameter": _parameter(source, "reader"),
            },
            {
                "stepType": target,
                "category": "writer",
                "name": "Writer",
                "parameter": _parameter(target, "writer"),
            },
        ],
        "setting": {
            "errorLimit": {"percentage": 0.01},
            "speed": {"concurrent": 4, "throttle": True, "mbps": 2.5},
        },
        "order": {"hops": [{"from": "Reader", "to": "Writer"}]},
    }


PAIRS = list(itertools.product(BUILTIN_STEP_TYPES, repeat=2))


def datasource_kind(name: str) -> str | None:
    return name.rpartition("_")[0] or None


@pytest.mark.parametrize(("source", "target"), PAIRS, ids=[f"{s}-{t}" for s, t in PAIRS])
def test_good_script_of_every_step_type_pair(source: str, target: str):
    script = good_script(source, target)
    text = json.dumps(script, indent=2)
    assert validate_script(text, datasource_type=datasource_kind, defined_parameters=["unused"]) == []
    jsonschema.Draft202012Validator(script_json_schema()).validate(script)


@pytest.mark.parametrize(
    "text",
    [
        BASE,
        FILES,
        SMALL,
        edit(BASE, (READER_SOURCE, '"querySql": "select id, amount from orders"')),
        edit(
            BASE,
            (
                '"where": "gmt_create >= \'${bizdate}\'"',
                "\"where\": \"ds = '${cutoff}' and h = '$[HH-1/24]'\"",
            ),
        ),
    ],
    ids=["base", "files", "small", "querySql", "custom parameter"],
)
def test_good_scripts_have_no_diagnostics(text):
    assert validate_script(text, datasource_type=KINDS, defined_parameters=["cutoff"]) == []
