"""DataX jobs converted into version 2.0 scripts."""

from __future__ import annotations

import json

import pytest

from jupyter_offline_pipeline.script import (
    convert_datax,
    is_datax,
    parse_script,
    validate_script,
)
from jupyter_offline_pipeline.script.datax import datax_pointer

# Modelled on DataX's documented mysqlreader -> postgresqlwriter job.
MYSQL_TO_POSTGRESQL = """\
{
    "job": {
        "setting": {
            "speed": {
                "channel": 3,
                "byte": 10485760
            },
            "errorLimit": {
                "record": 0,
                "percentage": 0.02
            }
        },
        "content": [
            {
                "reader": {
                    "name": "mysqlreader",
                    "parameter": {
                        "username": "root",
                        "password": "root",
                        "column": ["id", "name", "gmt_create"],
                        "splitPk": "id",
                        "where": "gmt_create >= '${bizdate}'",
                        "connection": [
                            {
                                "table": ["orders_0", "orders_1"],
                                "jdbcUrl": ["jdbc:mysql://127.0.0.1:3306/orders_db?useSSL=false"]
                            }
                        ]
                    }
                },
                "writer": {
                    "name": "postgresqlwriter",
                    "parameter": {
                        "username": "xx",
                        "password": "xx",
                        "column": ["id", "name", "gmt_create"],
                        "preSql": ["delete from @table where ds = '${bizdate}'"],
                        "postSql": [],
                        "batchSize": 512,
                        "connection": [
                            {
                                "jdbcUrl": "jdbc:postgresql://127.0.0.1:5432/warehouse",
                                "table": ["ods_orders"]
                            }
                        ]
                    }
                }
            }
        ]
    }
}
"""


def convert(text: str):
    return convert_datax(json.loads(text))


def test_realistic_job_converts_to_the_canonical_layout():
    script, notes = convert(MYSQL_TO_POSTGRESQL)
    assert script == {
        "type": "job",
        "version": "2.0",
        "steps": [
            {
                "stepType": "mysql",
                "category": "reader",
                "name": "Reader",
                "parameter": {
                    "datasource": "orders_db",
                    "table": ["orders_0", "orders_1"],
                    "column": ["id", "name", "gmt_create"],
                    "splitPk": "id",
                    "where": "gmt_create >= '${bizdate}'",
                },
            },
            {
                "stepType": "postgresql",
                "category": "writer",
                "name": "Writer",
                "parameter": {
                    "datasource": "warehouse",
                    "table": "ods_orders",
                    "column": ["id", "name", "gmt_create"],
                    "preSql": ["delete from @table where ds = '${bizdate}'"],
                    "postSql": [],
                    "batchSize": 512,
                },
            },
        ],
        "setting": {
            "speed": {"concurrent": 3, "throttle": True, "mbps": 10.0},
            "errorLimit": {"record": 0, "percentage": 0.02},
        },
        "order": {"hops": [{"from": "Reader", "to": "Writer"}]},
    }
    assert [(n.severity, n.pointer, n.source) for n in notes] == [
        ("info", "/job/content/0/reader/parameter", "datax"),
        ("warning", "/job/content/0/reader/parameter/connection/0/jdbcUrl", "datax"),
        ("info", "/job/content/0/writer/parameter", "datax"),
        ("warning", "/job/content/0/writer/parameter/connection/0/jdbcUrl", "datax"),
    ]
    assert "credentials" in notes[0].message
    assert "'orders_db'" in notes[1].message and "'warehouse'" in notes[3].message


def test_converted_script_validates_cleanly():
    script, _ = convert(MYSQL_TO_POSTGRESQL)
    kinds = {"orders_db": "mysql", "warehouse": "postgresql"}.get
    diagnostics = validate_script(
        json.dumps(script, indent=2), datasource_type=kinds, defined_parameters=[]
    )
    assert [d.severity for d in diagnostics] == ["info"]  # percentage is ignored: record wins
    parsed = parse_script(json.dumps(script), datasource_type=kinds)
    assert parsed.reader.parameter.table == ["orders_0", "orders_1"]
    assert parsed.writer.parameter.batchSize == 512
    assert parsed.setting.speed.concurrent == 3


def test_datax_text_is_validated_at_its_own_positions():
    diagnostics = validate_script(MYSQL_TO_POSTGRESQL)
    assert [(d.line, d.column, d.severity, d.pointer) for d in diagnostics] == [
        (1, 1, "info", ""),  # a DataX job
        (10, 17, "info", "/job/setting/errorLimit/percentage"),
        (17, 34, "info", "/job/content/0/reader/parameter"),
        (26, 44, "warning", "/job/content/0/reader/parameter/connection/0/jdbcUrl"),
        (33, 34, "info", "/job/content/0/writer/parameter"),
        (42, 44, "warning", "/job/content/0/writer/parameter/connection/0/jdbcUrl"),
    ]
    assert parse_script(MYSQL_TO_POSTGRESQL).writer.parameter.table == "ods_orders"


def test_query_reader_and_datasource_names_are_kept():
    script, notes = convert_datax(
        {
            "job": {
                "content": [
                    {
                        "reader": {
                            "name": "postgresqlreader",
                            "parameter": {
                                "datasource": "pg_src",
                                "connection": [
                                    {"querySql": ["select id from t where ds = '${bizdate}'"]}
                                ],
                            },
                        },
                        "writer": {
                            "name": "sqlitewriter",
                            "parameter": {
                                "datasource": "lite",
                                "column": ["id"],
                                "connection": [{"table": ["t"], "jdbcUrl": "jdbc:sqlite:/data/lite.db"}],
                            },
                        },
                    }
                ]
            }
        }
    )
    assert notes == []
    assert script["steps"][0]["parameter"] == {
        "datasource": "pg_src",
        "querySql": "select id from t where ds = '${bizdate}'",
    }
    assert script["steps"][1]["parameter"] == {"datasource": "lite", "table": "t", "column": ["id"]}
    assert validate_script(json.dumps(script)) == []


def test_text_files_and_a_sqlite_url():
    script, notes = convert_datax(
        {
            "job": {
                "setting": {"speed": {"channel": 1, "record": 1000}},
                "content": [
                    {
                        "reader": {
                            "name": "txtfilereader",
                            "parameter": {
                                "path": ["/data/in/orders.csv"],
                                "column": [{"index": 0, "type": "long"}, {"index": 1, "type": "string"}],
                                "fieldDelimiter": ";",
                                "skipHeader": False,
                            },
                        },
                        "writer": {
                            "name": "sqlitewriter",
                            "parameter": {
                                "column": ["id", "name"],
                                "connection": [
                                    {"table": ["orders"], "jdbcUrl": "jdbc:sqlite:/data/lite.db"}
                                ],
                            },
                        },
                    }
                ],
            }
        }
    )
    assert script["steps"][0]["stepType"] == "csv"
    assert script["steps"][0]["parameter"] == {
        "path": "/data/in/orders.csv",
        "column": [{"index": 0, "type": "long"}, {"index": 1, "type": "string"}],
        "fieldDelimiter": ";",
        "header": False,
    }
    assert script["steps"][1]["parameter"]["datasource"] == "lite"
    assert [(n.severity, n.pointer) for n in notes] == [
        ("warning", "/job/content/0/writer/parameter/connection/0/jdbcUrl"),
        ("warning", "/job/setting/speed/record"),  # no records-per-second cap in a script
    ]
    assert script["setting"] == {"speed": {"concurrent": 1}}
    assert [d for d in validate_script(json.dumps(script)) if d.severity != "info"] == []


def test_a_job_of_several_contents_is_refused():
    pair = {"reader": {"name": "mysqlreader"}, "writer": {"name": "mysqlwriter"}}
    _, notes = convert_datax({"job": {"content": [pair, pair]}})
    assert [(n.severity, n.pointer) for n in notes] == [("error", "/job/content")]
    _, notes = convert_datax({"job": {"setting": {}}})
    assert [(n.severity, n.pointer) for n in notes] == [("error", "/job")]


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"job": {"content": []}}, True),
        ({"core": {}, "job": {"setting": {}}}, True),
        ({"type": "job", "version": "2.0", "steps": []}, False),
        ({"job": "x"}, False),
        ([], False),
    ],
)
def test_is_datax(document, expected):
    assert is_datax(document) is expected


@pytest.mark.parametrize(
    ("pointer", "expected"),
    [
        ("/steps/0/stepType", "/job/content/0/reader/name"),
        ("/steps/1/category", "/job/content/0/writer"),
        ("/steps/0/parameter/table/1", "/job/content/0/reader/parameter/connection/0/table/1"),
        ("/steps/0/parameter/querySql", "/job/content/0/reader/parameter/connection/0/querySql"),
        ("/steps/1/parameter/preSql/0", "/job/content/0/writer/parameter/preSql/0"),
        ("/steps/0/parameter/header", "/job/content/0/reader/parameter/skipHeader"),
        ("/setting/speed/concurrent", "/job/setting/speed/channel"),
        ("/setting/speed/mbps", "/job/setting/speed/byte"),
        ("/setting/errorLimit/record", "/job/setting/errorLimit/record"),
        ("/order/hops/0/to", ""),
        ("/type", ""),
    ],
)
def test_pointers_lead_back_into_the_datax_job(pointer, expected):
    assert datax_pointer(pointer) == expected
