"""Connectors by step type. Built-ins are registered here; third parties add theirs
through the ``jupyter_offline_pipeline.connectors`` entry point group (the value is a
``Connector`` subclass)."""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from .base import (
    Connector,
    ConnectorError,
    DataSource,
    DirtyRecord,
    Reader,
    ReadTask,
    WriteResult,
    Writer,
    WriteTask,
)

__all__ = [
    "Connector",
    "ConnectorError",
    "DataSource",
    "DirtyRecord",
    "Reader",
    "ReadTask",
    "WriteResult",
    "Writer",
    "WriteTask",
    "get_connector",
    "load_plugins",
    "step_types",
]

ENTRY_POINT_GROUP = "jupyter_offline_pipeline.connectors"

# step type -> "module:Class", imported on first use so a run loads only its two drivers
_BUILTINS = {
    "sqlite": "sqlite:SQLiteConnector",
    "postgresql": "postgresql:PostgreSQLConnector",
    "mysql": "mysql:MySQLConnector",
    "duckdb": "duckdb:DuckDBConnector",
    "csv": "files:CsvConnector",
    "parquet": "files:ParquetConnector",
    "jsonl": "files:JsonLinesConnector",
}

_loaded: dict[str, Connector] = {}


def step_types() -> list[str]:
    plugins = {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}
    return sorted(set(_BUILTINS) | plugins)


def load_plugins() -> None:
    """Import every installed plugin and teach the script model its step type, so that
    scripts using it validate. Called once by each entry point (CLI, server, worker)."""
    from ..script.model import STEP_TYPES, register_step_type

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in STEP_TYPES:
            register_step_type(ep.name, get_connector(ep.name).family)


def get_connector(step_type: str) -> Connector:
    if step_type not in _loaded:
        _loaded[step_type] = _load(step_type)()
    return _loaded[step_type]


def _load(step_type: str) -> type[Connector]:
    if step_type in _BUILTINS:
        module, cls = _BUILTINS[step_type].split(":")
        return getattr(importlib.import_module(f".{module}", __name__), cls)
    for ep in entry_points(group=ENTRY_POINT_GROUP, name=step_type):
        return ep.load()
    raise ConnectorError(
        f"unknown step type {step_type!r}; known: {', '.join(step_types())}"
    )
