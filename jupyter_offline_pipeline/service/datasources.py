"""Data sources: named, typed connections with encrypted credentials.

One code path for the command line and the server: both build a ``DataSourceService``
over the same ``Store``. Secrets are split off the parameters, sealed, and never returned:
``info`` views carry a mask, only ``resolve`` (for connectors) sees the clear values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ..connectors import ConnectorError, DataSource, get_connector
from ..crypto import SECRET_FIELDS, SecretBox
from ..store import DataSourceRow, Store, data_dir

MASK = "******"
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,127}$")

# the connection fields of each type: (name, required); forms are generated from these
_SERVER = [("host", True), ("port", True), ("database", True), ("user", True), ("password", False)]
TYPE_FIELDS: dict[str, list[tuple[str, bool]]] = {
    "postgresql": _SERVER,
    "mysql": _SERVER,
    "sqlite": [("path", True)],
    "duckdb": [("path", True)],
    "csv": [("path", True)],
    "parquet": [("path", True)],
    "jsonl": [("path", True)],
}
DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306}
_URL_TYPES = {"postgresql": "postgresql", "postgres": "postgresql", "mysql": "mysql",
              "mariadb": "mysql", "sqlite": "sqlite", "duckdb": "duckdb"}


class DataSourceError(ValueError):
    """A user's mistake about a data source; ``field`` names the culprit when there is one."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass
class DataSourceInfo:
    name: str
    type: str
    params: dict[str, Any]  # secrets masked
    owner: str
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "params": self.params,
                "owner": self.owner, "description": self.description}


def parse_url(url: str) -> tuple[str, dict[str, Any]]:
    """A SQLAlchemy-form URL to (type, params); ``mysql+pymysql://`` etc. are accepted."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DataSourceError(f"{url!r} is not a database URL", "url") from None
    kind = _URL_TYPES.get(parsed.get_backend_name())
    if kind is None:
        raise DataSourceError(f"unsupported URL scheme {parsed.drivername!r}", "url")
    if kind in ("sqlite", "duckdb"):
        if not parsed.database:
            raise DataSourceError(f"{url!r} names no database file", "url")
        return kind, {"path": str(Path(parsed.database).resolve())}
    params = {"host": parsed.host or "localhost", "port": parsed.port or DEFAULT_PORTS[kind],
              "database": parsed.database or "", "user": parsed.username or ""}
    if parsed.password:
        params["password"] = parsed.password
    return kind, params


class DataSourceService:
    def __init__(self, store: Store, secrets: SecretBox | None = None):
        self.store = store
        self.secrets = secrets or SecretBox.from_environment(data_dir() / "secret.key")

    def add(self, name: str, type: str, params: dict[str, Any], owner: str,
            description: str = "") -> DataSourceInfo:
        params = _checked(name, type, params)
        public = {k: v for k, v in params.items() if k not in SECRET_FIELDS}
        sealed = self.secrets.seal({k: str(v) for k, v in params.items() if k in SECRET_FIELDS})
        with self.store.session() as session:
            if session.scalar(select(DataSourceRow.id).where(DataSourceRow.name == name)):
                raise DataSourceError(f"a data source named {name!r} already exists", "name")
            row = DataSourceRow(name=name, type=type, params=public, secret=sealed,
                                owner=owner, description=description)
            session.add(row)
        return self._info(row)

    def list(self) -> list[DataSourceInfo]:
        with self.store.session() as session:
            rows = session.scalars(select(DataSourceRow).order_by(DataSourceRow.name)).all()
        return [self._info(row) for row in rows]

    def get(self, name: str) -> DataSourceInfo:
        return self._info(self._row(name))

    def type_of(self, name: str) -> str | None:
        """For validation: the type of a data source, or None when there is none."""
        with self.store.session() as session:
            return session.scalar(select(DataSourceRow.type).where(DataSourceRow.name == name))

    def remove(self, name: str) -> None:
        with self.store.session() as session:
            session.delete(self._row(name, session))

    def resolve(self, name: str) -> DataSource:
        """The connector's view, secrets in clear. Never serialise what this returns."""
        row = self._row(name)
        return DataSource(name=row.name, type=row.type,
                          params={**row.params, **self.secrets.open(row.secret)})

    def test(self, name: str) -> str:
        datasource = self.resolve(name)
        try:
            return get_connector(datasource.type).test_connection(datasource)
        except ConnectorError:
            raise
        except Exception as error:  # noqa: BLE001 - any driver failure is the user's message
            raise ConnectorError(f"cannot connect to {name!r}: {error}") from None

    def _row(self, name: str, session=None) -> DataSourceRow:
        if session is None:
            with self.store.session() as own:
                return self._row(name, own)
        row = session.scalar(select(DataSourceRow).where(DataSourceRow.name == name))
        if row is None:
            raise DataSourceError(f"data source {name!r} does not exist", "name")
        return row

    @staticmethod
    def _info(row: DataSourceRow) -> DataSourceInfo:
        params = dict(row.params)
        if row.secret:
            params["password"] = MASK
        return DataSourceInfo(row.name, row.type, params, row.owner, row.description)


def _checked(name: str, type: str, params: dict[str, Any]) -> dict[str, Any]:
    if not NAME.match(name or ""):
        raise DataSourceError(
            f"data source name {name!r} must start with a letter or _ and hold only "
            "letters, digits, _ and - (at most 128)", "name")
    if type not in TYPE_FIELDS:
        raise DataSourceError(
            f"unknown data source type {type!r}; known: {', '.join(TYPE_FIELDS)}", "type")
    known = {f for f, _ in TYPE_FIELDS[type]}
    unknown = sorted(set(params) - known)
    if unknown:
        raise DataSourceError(f"a {type} data source takes no {', '.join(unknown)}", unknown[0])
    params = {"port": DEFAULT_PORTS[type], **params} if type in DEFAULT_PORTS else dict(params)
    for key, required in TYPE_FIELDS[type]:
        if required and params.get(key) in (None, ""):
            raise DataSourceError(f"a {type} data source needs {key}", key)
    if "port" in params:
        try:
            params["port"] = int(params["port"])
        except (TypeError, ValueError):
            raise DataSourceError(f"port must be a number (got {params['port']!r})", "port") from None
    if "path" in params:
        params["path"] = str(Path(params["path"]).expanduser().resolve())
    return params
