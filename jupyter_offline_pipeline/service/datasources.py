"""Data sources: named, typed connections with encrypted credentials, an owner, and
per-user ``read`` (sync-read) and ``write`` (sync-write) grants.

One code path for the command line and the server: both build a ``DataSourceService``
over the same ``Store`` and name the acting ``User`` in every call. Secrets are split off
the parameters, sealed, and never returned: views carry a mask; only ``resolve`` (the
engine's, unchecked) and ``resolve_for`` (checked) see the clear values.

Who sees what: a user sees the data sources they own or hold a grant on; an admin sees
all. Anything about a data source the user cannot see answers NotFound, except the
directory of ``list_all_names`` (name, type, owner: no connection details), which exists
so that a permission can be requested. Owner rights (update, remove, grant, revoke,
decide on requests) belong to the owner and to admins.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import delete, or_, select, true, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session

from ..connectors import Connector, ConnectorError, DataSource, get_connector
from ..crypto import SecretBox
from ..store import DataSourceRow, Store, data_dir
from ..store.models import GrantRow, PermissionRequestRow, utcnow
from .errors import Conflict, Forbidden, InvalidInput, Issue, NotFound
from .users import User

MASK = "******"
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]{0,127}")
USER = re.compile(r"[^\x00-\x1f]{1,128}")
STATUSES = ("pending", "granted", "refused")
READ, WRITE, OWNER = "read", "write", "owner"
PERMISSIONS = (READ, WRITE)
DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306}
_URL_TYPES = {"postgresql": "postgresql", "postgres": "postgresql", "mysql": "mysql",
              "mariadb": "mysql", "sqlite": "sqlite", "duckdb": "duckdb"}


# --- the connection fields of each type, as the JSON Schema forms are generated from ----


def _server(label: str, kind: str) -> dict[str, Any]:
    return _object(f"{label} connection", {
        "host": {"title": "Host", "type": "string", "description": "The server's host name or IP address."},
        "port": {"title": "Port", "type": "integer", "default": DEFAULT_PORTS[kind],
                 "minimum": 1, "maximum": 65535, "description": "The server's TCP port."},
        "database": {"title": "Database", "type": "string", "description": "The database to connect to."},
        "user": {"title": "User", "type": "string", "description": "The user to log in as."},
        "password": {"title": "Password", "type": "string", "format": "password", "writeOnly": True,
                     "description": "Stored encrypted and never shown again; "
                                    "left empty when editing, the stored one is kept."},
    }, ["host", "port", "database", "user"])


def _file(label: str, description: str) -> dict[str, Any]:
    return _object(label, {"path": {"title": "Path", "type": "string", "description": description}}, ["path"])


def _object(title: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"title": title, "type": "object", "properties": properties, "required": required,
            "additionalProperties": False}


_FOLDER = "The folder the steps' file paths are relative to."
TYPE_SCHEMAS: dict[str, dict[str, Any]] = {
    "postgresql": _server("PostgreSQL", "postgresql"),
    "mysql": _server("MySQL or MariaDB", "mysql"),
    "sqlite": _file("SQLite database", "The database file (created by the first write)."),
    "duckdb": _file("DuckDB database", "The database file (created by the first write)."),
    "csv": _file("CSV files", _FOLDER),
    "parquet": _file("Parquet files", _FOLDER),
    "jsonl": _file("JSON Lines files", _FOLDER),
}


def _secret_fields(kind: str) -> set[str]:
    return {k for k, p in TYPE_SCHEMAS[kind]["properties"].items() if p.get("writeOnly")}


# --- views: everything a caller gets back, none with a secret in it -------------------


class DataSourceError(InvalidInput):
    """A user's mistake about a data source; ``field`` names the culprit when there is one."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message, [Issue(field, message)] if field else [])
        self.field = field


@dataclass
class DataSourceInfo:
    name: str
    type: str
    params: dict[str, Any]  # secrets masked
    owner: str
    description: str = ""
    permissions: list[str] = field(default_factory=list)  # the acting user's: owner, read, write

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "params": self.params, "owner": self.owner,
                "description": self.description, "permissions": self.permissions}


@dataclass
class DataSourceEntry:
    """A line of the directory every user may browse to request a permission."""

    name: str
    type: str
    owner: str
    permissions: list[str]  # held by the acting user
    pending: list[str]  # requested by the acting user, not yet decided

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "owner": self.owner,
                "permissions": self.permissions, "pending": self.pending}


@dataclass
class Grant:
    datasource: str
    user: str
    permission: str
    granted_by: str
    granted_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"datasource": self.datasource, "user": self.user, "permission": self.permission,
                "granted_by": self.granted_by, "granted_at": _iso(self.granted_at)}


@dataclass
class PermissionRequest:
    id: int
    datasource: str
    user: str
    permission: str
    reason: str
    status: str  # pending | granted | refused
    created_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "datasource": self.datasource, "user": self.user,
                "permission": self.permission, "reason": self.reason, "status": self.status,
                "created_at": _iso(self.created_at), "decided_by": self.decided_by,
                "decided_at": _iso(self.decided_at)}


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

    # --- the catalog -------------------------------------------------------------------

    def add(self, user: User, name: str, type: str, params: dict[str, Any],
            description: str = "") -> DataSourceInfo:
        params = _checked(name, type, params)
        with self.store.session() as session:
            if session.scalar(select(DataSourceRow.id).where(DataSourceRow.name == name)):
                raise Conflict(f"a data source named {name!r} already exists",
                               [Issue("name", "this name is taken")])
            row = DataSourceRow(name=name, type=type, owner=user.name,
                                description=_description(description), **self._sealed(type, params))
            session.add(row)
        return _info(row, _permissions(user, row, set()))

    def list(self, user: User) -> list[DataSourceInfo]:
        """The data sources the user may see, each with the user's permissions on it."""
        with self.store.session(read_only=True) as session:
            rows = session.scalars(select(DataSourceRow).order_by(DataSourceRow.name)).all()
            granted = self._granted(session, user)
        infos = [_info(row, _permissions(user, row, granted.get(row.id, set()))) for row in rows]
        return [info for info in infos if info.permissions]

    def list_all_names(self, user: User) -> list[DataSourceEntry]:
        """Every data source's name, type and owner, for pickers and permission requests."""
        with self.store.session(read_only=True) as session:
            rows = session.scalars(select(DataSourceRow).order_by(DataSourceRow.name)).all()
            granted = self._granted(session, user)
            pending = session.execute(select(PermissionRequestRow.datasource_id, PermissionRequestRow.permission)
                                      .where(PermissionRequestRow.user == user.name,
                                             PermissionRequestRow.status == "pending")).all()
        return [DataSourceEntry(row.name, row.type, row.owner,
                                _permissions(user, row, granted.get(row.id, set())),
                                sorted(p for ds, p in pending if ds == row.id))
                for row in rows]

    def get(self, user: User, name: str) -> DataSourceInfo:
        with self.store.session(read_only=True) as session:
            row, held = self._visible(session, user, name)
        return _info(row, held)

    def type_of(self, name: str) -> str | None:
        """For validation: the type of a data source, or None when there is none."""
        with self.store.session() as session:
            row = _find(session, name)
            return row and row.type

    def update(self, user: User, name: str, params: dict[str, Any] | None = None,
               description: str | None = None) -> DataSourceInfo:
        """Name and type stay. ``params`` merge into the stored ones; a secret omitted, null
        or masked keeps its stored value, an empty one clears it."""
        with self.store.session() as session:
            row = self._owned(session, user, name, "update")
            if params is not None:
                merged = _checked(row.name, row.type, self._merged(row, params))
                for key, value in self._sealed(row.type, merged).items():
                    setattr(row, key, value)
            if description is not None:
                row.description = _description(description)
        return _info(row, _permissions(user, row, set()))

    def remove(self, user: User, name: str) -> None:
        with self.store.session() as session:  # its grants and requests go with it (cascade)
            session.delete(self._owned(session, user, name, "remove"))

    # --- permissions -------------------------------------------------------------------

    def can_use(self, user: User | str, name: str, permission: str) -> bool:
        """May ``user`` (a name is an ordinary user) read from / write to ``name``?"""
        _check_permission(permission)
        user = user if isinstance(user, User) else User(user)
        with self.store.session() as session:
            row = _find(session, name)
            return row is not None and permission in self._held(session, user, row)

    def grant(self, user: User, name: str, to_user: str, permission: str) -> Grant:
        """Idempotent; also settles the grantee's pending request for it."""
        _check_permission(permission)
        with self.store.session() as session:
            row = self._owned(session, user, name, "grant permissions on")
            if not USER.fullmatch(to_user or ""):
                raise InvalidInput(f"{to_user!r} is not a user name", [Issue("user", "a user name")])
            if to_user == row.owner:
                raise InvalidInput(f"{to_user!r} cannot be granted a permission on {name!r}: "
                                   "its owner holds them all", [Issue("user", "not the owner")])
            return self._grant(session, row, to_user, permission, user.name)

    def revoke(self, user: User, name: str, from_user: str, permission: str) -> None:
        """Idempotent: revoking what is not held changes nothing."""
        _check_permission(permission)
        with self.store.session() as session:
            row = self._owned(session, user, name, "revoke permissions on")
            session.execute(delete(GrantRow).where(GrantRow.datasource_id == row.id, GrantRow.user == from_user,
                                                   GrantRow.permission == permission))

    def grants(self, user: User, name: str) -> list[Grant]:
        with self.store.session() as session:
            row = self._owned(session, user, name, "see the grants of")
            rows = session.scalars(select(GrantRow).where(GrantRow.datasource_id == row.id)
                                   .order_by(GrantRow.user, GrantRow.permission)).all()
        return [Grant(name, g.user, g.permission, g.granted_by, g.granted_at) for g in rows]

    def request_permission(self, user: User, name: str, permission: str, reason: str = "") -> PermissionRequest:
        """Any user may ask for a permission on any data source (names are public)."""
        _check_permission(permission)
        with self.store.session() as session:
            row = self._row(session, name)
            if permission in self._held(session, user, row):
                raise Conflict(f"you already hold the {permission} permission on {name!r}")
            if session.scalar(select(PermissionRequestRow.id).where(
                    PermissionRequestRow.datasource_id == row.id, PermissionRequestRow.user == user.name,
                    PermissionRequestRow.permission == permission, PermissionRequestRow.status == "pending")):
                raise Conflict(f"your request for the {permission} permission on {name!r} "
                               f"is already waiting for {row.owner!r} to decide")
            request = PermissionRequestRow(datasource_id=row.id, user=user.name, permission=permission,
                                           reason=_description(reason, "reason"), status="pending")
            session.add(request)
            session.flush()  # assigns the id and the defaults
            return _request(request, name)

    def list_requests(self, user: User, *, mine: bool = False, owned: bool = False,
                      status: str | None = None) -> list[PermissionRequest]:
        """``mine``: those the user made; ``owned``: those waiting on the user's decision
        (an admin's: all); neither: both. Newest first."""
        made = PermissionRequestRow.user == user.name
        decides = true() if user.is_admin else DataSourceRow.owner == user.name
        wanted = or_(made, decides) if mine == owned else made if mine else decides
        query = (select(PermissionRequestRow, DataSourceRow.name)
                 .join(DataSourceRow, DataSourceRow.id == PermissionRequestRow.datasource_id)
                 .where(wanted).order_by(PermissionRequestRow.id.desc()))
        if status:
            if status not in STATUSES:
                raise InvalidInput(f"status must be one of {', '.join(STATUSES)}", [Issue("status", "unknown")])
            query = query.where(PermissionRequestRow.status == status)
        with self.store.session() as session:
            return [_request(request, name) for request, name in session.execute(query).all()]

    def decide(self, user: User, request_id: int, grant: bool) -> PermissionRequest:
        """The owner (or an admin) grants or refuses a pending request."""
        with self.store.session() as session:
            request = session.get(PermissionRequestRow, request_id) if 0 < request_id < 2**63 else None
            row = request and session.get(DataSourceRow, request.datasource_id)
            manages = row is not None and _manages(user, row)
            if row is None or not (manages or request.user == user.name):
                raise NotFound(f"permission request {request_id} does not exist")
            if not manages:
                raise Forbidden(f"only {row.owner!r}, the owner of {row.name!r}, or an admin "
                                "may decide on this request")
            if request.status != "pending":
                raise Conflict(f"permission request {request_id} was already {request.status} "
                               f"by {request.decided_by!r}")
            request.status = "granted" if grant else "refused"
            request.decided_by, request.decided_at = user.name, utcnow()
            if grant:
                self._grant(session, row, request.user, request.permission, user.name)
            return _request(request, row.name)

    # --- connections ---------------------------------------------------------------------

    def resolve(self, name: str) -> DataSource:
        """The engine's view, secrets in clear and unchecked. Never serialise what this returns."""
        with self.store.session() as session:
            return self._resolved(self._row(session, name))

    def resolve_for(self, user: User, name: str, permission: str) -> DataSource:
        """``resolve`` for a user who must hold ``permission`` (read or write)."""
        _check_permission(permission)
        with self.store.session() as session:
            return self._resolved(self._usable(session, user, name, permission))

    def test(self, user: User, name: str) -> str:
        """A short description of the server, or a ConnectorError that says what failed.
        Read or write suffices: a target must be testable in the Create dialog too."""
        datasource = self._for_use(user, name)
        return _connector_call(datasource, lambda connector: connector.test_connection(datasource))

    def tables(self, user: User, name: str) -> list[str]:
        datasource = self._for_use(user, name)
        return _connector_call(datasource, lambda connector: connector.list_tables(datasource))

    def columns(self, user: User, name: str, table: str) -> list[dict[str, str]]:
        datasource = self._for_use(user, name)
        columns = _connector_call(datasource, lambda connector: connector.list_columns(datasource, table))
        return [{"name": column, "type": declared} for column, declared in columns]

    @staticmethod
    def types_schema() -> dict[str, dict[str, Any]]:
        """Each type's connection fields as a JSON Schema, for generated forms."""
        return copy.deepcopy(TYPE_SCHEMAS)

    # --- helpers -------------------------------------------------------------------------

    def _for_use(self, user: User, name: str) -> DataSource:
        with self.store.session() as session:
            return self._resolved(self._usable(session, user, name, *PERMISSIONS))

    def _row(self, session: Session, name: str) -> DataSourceRow:
        row = _find(session, name)
        if row is None:
            raise NotFound(f"data source {name!r} does not exist")
        return row

    def _visible(self, session: Session, user: User, name: str) -> tuple[DataSourceRow, list[str]]:
        """The row and the user's permissions; NotFound when the user may not see it."""
        row = self._row(session, name)
        held = self._held(session, user, row)
        if not held:
            raise NotFound(f"data source {name!r} does not exist")
        return row, held

    def _usable(self, session: Session, user: User, name: str, *needed: str) -> DataSourceRow:
        row, held = self._visible(session, user, name)
        if not set(needed) & set(held):
            wanted = " or ".join(needed)
            raise Forbidden(f"you need the {wanted} permission on data source {name!r}; "
                            f"request it from its owner {row.owner!r}")
        return row

    def _owned(self, session: Session, user: User, name: str, action: str) -> DataSourceRow:
        row, held = self._visible(session, user, name)
        if OWNER not in held:
            raise Forbidden(f"only {row.owner!r}, the owner of {name!r}, or an admin may {action} it")
        return row

    def _held(self, session: Session, user: User, row: DataSourceRow) -> list[str]:
        if _manages(user, row):  # no query: owner rights include both permissions
            return _permissions(user, row, set())
        granted = session.scalars(select(GrantRow.permission).where(
            GrantRow.datasource_id == row.id, GrantRow.user == user.name)).all()
        return _permissions(user, row, set(granted))

    @staticmethod
    def _granted(session: Session, user: User) -> dict[int, set[str]]:
        """The user's grants, by data source id."""
        granted: dict[int, set[str]] = {}
        for datasource_id, permission in session.execute(
                select(GrantRow.datasource_id, GrantRow.permission).where(GrantRow.user == user.name)):
            granted.setdefault(datasource_id, set()).add(permission)
        return granted

    @staticmethod
    def _grant(session: Session, row: DataSourceRow, to_user: str, permission: str, by: str) -> Grant:
        held = session.scalar(select(GrantRow).where(GrantRow.datasource_id == row.id, GrantRow.user == to_user,
                                                     GrantRow.permission == permission))
        if held is None:
            held = GrantRow(datasource_id=row.id, user=to_user, permission=permission, granted_by=by,
                            granted_at=utcnow())
            session.add(held)
        session.execute(update(PermissionRequestRow).where(
            PermissionRequestRow.datasource_id == row.id, PermissionRequestRow.user == to_user,
            PermissionRequestRow.permission == permission, PermissionRequestRow.status == "pending",
        ).values(status="granted", decided_by=by, decided_at=utcnow()))
        return Grant(row.name, to_user, permission, held.granted_by, held.granted_at)

    def _sealed(self, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        """The row's ``params`` (public) and ``secret`` (sealed; empty secrets dropped)."""
        secret_fields = _secret_fields(kind)
        secrets = {k: str(v) for k, v in params.items() if k in secret_fields and v not in (None, "")}
        return {"params": {k: v for k, v in params.items() if k not in secret_fields},
                "secret": self.secrets.seal(secrets)}

    def _merged(self, row: DataSourceRow, params: dict[str, Any]) -> dict[str, Any]:
        given = {k: v for k, v in params.items() if not (k in _secret_fields(row.type) and v in (None, MASK))}
        # re-entering every secret must work even when the stored ones cannot be opened
        stored = {} if _secret_fields(row.type) <= given.keys() else self._open(row)
        return {**row.params, **stored, **given}

    def _resolved(self, row: DataSourceRow) -> DataSource:
        return DataSource(name=row.name, type=row.type, params={**row.params, **self._open(row)})

    def _open(self, row: DataSourceRow) -> dict[str, str]:
        try:
            return self.secrets.open(row.secret)
        except ValueError as error:  # the key changed: the owner must enter the password again
            raise Conflict(f"{error}; the owner of {row.name!r} must enter its password again") from None


# --- functions ---------------------------------------------------------------------------


def _find(session: Session, name: str) -> DataSourceRow | None:
    if not NAME.fullmatch(name or ""):  # no such name can exist; nor may a NUL reach PostgreSQL
        return None
    return session.scalar(select(DataSourceRow).where(DataSourceRow.name == name))


def _manages(user: User, row: DataSourceRow) -> bool:
    return user.is_admin or row.owner == user.name


def _permissions(user: User, row: DataSourceRow, granted: set[str]) -> list[str]:
    """``owner`` stands for owner rights: the owner's, or an admin's."""
    if _manages(user, row):
        return [OWNER, *PERMISSIONS]
    return [p for p in PERMISSIONS if p in granted]


def _info(row: DataSourceRow, permissions: list[str]) -> DataSourceInfo:
    params = dict(row.params)
    if row.secret:
        params.update(dict.fromkeys(_secret_fields(row.type), MASK))
    return DataSourceInfo(row.name, row.type, params, row.owner, row.description, permissions)


def _request(row: PermissionRequestRow, datasource: str) -> PermissionRequest:
    return PermissionRequest(row.id, datasource, row.user, row.permission, row.reason, row.status,
                             row.created_at, row.decided_by, row.decided_at)


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).isoformat()  # SQLite drops it


def _check_permission(permission: str) -> None:
    if permission not in PERMISSIONS:
        raise InvalidInput(f"permission must be read or write (got {permission!r})",
                           [Issue("permission", "read or write")])


def _description(text: str, what: str = "description") -> str:
    if len(text or "") > 1000:
        raise InvalidInput(f"the {what} is longer than 1000 characters", [Issue(what, "at most 1000 characters")])
    if "\x00" in (text or ""):  # PostgreSQL refuses NUL in text
        raise InvalidInput(f"the {what} holds a NUL character", [Issue(what, "no NUL characters")])
    return text or ""


def _checked(name: str, type: str, params: dict[str, Any]) -> dict[str, Any]:
    if not NAME.fullmatch(name or ""):
        raise DataSourceError(
            f"data source name {name!r} must start with a letter or _ and hold only "
            "letters, digits, _ and - (at most 128)", "name")
    if type not in TYPE_SCHEMAS:
        raise DataSourceError(
            f"unknown data source type {type!r}; known: {', '.join(TYPE_SCHEMAS)}", "type")
    schema = TYPE_SCHEMAS[type]
    unknown = sorted(set(params) - set(schema["properties"]))
    if unknown:
        raise DataSourceError(f"a {type} data source takes no {', '.join(unknown)}", unknown[0])
    defaults = {k: p["default"] for k, p in schema["properties"].items() if "default" in p}
    params = {**defaults, **params}
    for key in schema["required"]:
        if params.get(key) in (None, ""):
            raise DataSourceError(f"a {type} data source needs {key}", key)
    for key, value in params.items():
        params[key] = _typed(key, value, schema["properties"][key])
    if "path" in params:
        params["path"] = str(Path(params["path"]).expanduser().resolve())
    return params


def _typed(key: str, value: Any, schema: dict[str, Any]) -> Any:
    """A field's value as its schema's type; forms and the command line send text."""
    if schema["type"] == "integer":
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise DataSourceError(f"{key} must be a number (got {value!r})", key) from None
        if not schema["minimum"] <= number <= schema["maximum"]:
            raise DataSourceError(f"{key} must be between {schema['minimum']} and {schema['maximum']} "
                                  f"(got {number})", key)
        return number
    if value is None or isinstance(value, str) and "\x00" not in value:
        return value
    raise DataSourceError(f"{key} must be text", key)


# --- connection failures, in one clear sentence --------------------------------------------

_FAILURES = (
    (re.compile(r"connection refused|resolve host|translate host|name or service not known|timed? ?out"
                r"|can't connect to mysql server|no route to host|network is unreachable", re.I),
     "the server {host}:{port} cannot be reached: check the host, the port and that the server runs"),
    (re.compile(r"authentication failed|access denied|role \".*\" does not exist|no password supplied"
                r"|pg_hba\.conf", re.I),
     "authentication failed for user {user!r}: check the user name and the password"),
    (re.compile(r"database \".*\" does not exist|unknown database", re.I),
     "database {database!r} does not exist on {host}:{port}"),
)


def _connector_call(datasource: DataSource, call: Callable[[Connector], Any]) -> Any:
    """Run a connector operation; any failure becomes a ConnectorError that classifies it
    (unreachable, authentication, missing database) and never carries a secret."""
    try:
        return call(get_connector(datasource.type))
    except Exception as error:  # noqa: BLE001 - any driver failure is the user's message
        raise ConnectorError(_explained(datasource, error)) from None


def _explained(datasource: DataSource, error: Exception) -> str:
    message = str(error) if isinstance(error, ConnectorError) else (
        f"cannot connect to {datasource.name!r}: {str(error).strip() or type(error).__name__}")
    password = datasource.get("password")
    if password:
        message = message.replace(str(password), MASK)
    if datasource.get("host"):
        for pattern, sentence in _FAILURES:
            if pattern.search(message):
                return f"{sentence.format_map(datasource.params)} ({message})"
    return message
