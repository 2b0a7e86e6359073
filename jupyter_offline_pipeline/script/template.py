"""The script a new task starts from: every required parameter of its two step types,
with tables and columns filled in where the caller could introspect them."""

from __future__ import annotations

import json
from typing import Any

FILE_TYPES = {"csv", "parquet", "jsonl"}


def script_template(
    source_type: str,
    target_type: str,
    *,
    source_datasource: str = "",
    target_datasource: str = "",
    source_table: str = "",
    source_columns: list[str] | None = None,
    target_table: str = "",
    target_columns: list[str] | None = None,
) -> dict[str, Any]:
    reader = _reader(source_type, source_datasource, source_table, source_columns)
    writer = _writer(target_type, target_datasource, target_table, target_columns or source_columns)
    return {
        "type": "job",
        "version": "2.0",
        "steps": [
            {"stepType": source_type, "category": "reader", "name": "Reader", "parameter": reader},
            {"stepType": target_type, "category": "writer", "name": "Writer", "parameter": writer},
        ],
        "setting": {
            "errorLimit": {"record": 0},
            "speed": {"concurrent": 1, "throttle": False},
        },
        "order": {"hops": [{"from": "Reader", "to": "Writer"}]},
    }


def dump_script(script: dict[str, Any]) -> str:
    return json.dumps(script, indent=2, ensure_ascii=False) + "\n"


def _reader(kind: str, datasource: str, table: str, columns: list[str] | None) -> dict[str, Any]:
    if kind in FILE_TYPES:
        return {**_file_common(kind, datasource, table or f"input.{kind}", columns)}
    return {
        "datasource": datasource,
        "table": [table or "source_table"],
        "column": columns or ["*"],
        "where": "",
        "splitPk": "",
    }


def _writer(kind: str, datasource: str, table: str, columns: list[str] | None) -> dict[str, Any]:
    if kind in FILE_TYPES:
        params = _file_common(kind, datasource, table or f"output.{kind}", columns)
        return {**params, "writeMode": "truncate"}
    return {
        "datasource": datasource,
        "table": table or "target_table",
        "column": columns or ["*"],
        "writeMode": "insert",
        "preSql": [],
        "postSql": [],
        "truncate": False,
    }


def _file_common(kind: str, datasource: str, path: str, columns: list[str] | None) -> dict[str, Any]:
    params: dict[str, Any] = {"path": path}
    if datasource:
        params = {"datasource": datasource, **params}
    if columns and columns != ["*"]:
        params["column"] = columns
    if kind == "csv":
        params.update({"fieldDelimiter": ",", "encoding": "utf-8", "header": True})
    return params

