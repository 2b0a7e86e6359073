"""A script checked against the catalog: data sources the user may use, tables and columns
that exist, and reader and writer column counts that agree.

One code path for the editor's live validation (``ScriptValidator``: diagnostics placed
in the text) and the submit's permission and schema checks (``permission_findings`` and
``SchemaCheck``), so the two never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any, NamedTuple

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from ..connectors import get_connector
from ..connectors.base import first_line
from ..script import Diagnostic, ScriptError, parse_script, validate_script
from ..script.datax import datax_pointer, is_datax
from ..script.diagnostics import ERROR, WARNING
from ..script.locate import load_json
from ..script.params import ParamContext, ParameterError, references, resolve_text
from .datasources import DataSourceService
from .lineage import DIALECTS, FILE_TYPES, reader_outputs, source_tables, target_table, writer_columns
from .users import User


class Finding(NamedTuple):
    """A problem found in the (canonical) script, ``pointer`` into it."""

    severity: str
    message: str
    pointer: str


def sample_context(custom: Mapping[str, str], **identity: str) -> ParamContext:
    """What a script is checked against: yesterday's instance (a sample business date)."""
    return ParamContext.for_bizdate(date.today() - timedelta(days=1), custom=dict(custom), **identity)


def permission_findings(datasources: DataSourceService, user: User,
                        steps: Iterable[tuple[str, dict[str, Any]]]) -> list[Finding]:
    """The (pointer, step) pairs whose data source the user may not read (reader) or write."""
    findings = []
    for pointer, step in steps:
        verb, name = _verb(step), step["parameter"].get("datasource")
        if name and not datasources.can_use(user, name, verb):
            findings.append(Finding(ERROR, f"you may not {verb} data source '{name}': "
                                           f"ask its owner for the {verb} permission",
                                    f"{pointer}/parameter/datasource"))
    return findings


class SchemaCheck:
    """Tables and columns of a reader and a writer (parameters resolved) against their
    data sources; each table is read once, and ``columns_of`` serves lineage after."""

    def __init__(self, datasources: DataSourceService, user: User,
                 reader: tuple[str, dict[str, Any]], writer: tuple[str, dict[str, Any]]):
        self.datasources, self.user = datasources, user
        self.reader, self.writer = reader, writer
        self._columns: dict[tuple[str, str], list[str] | Exception] = {}
        self._reachable: dict[str, Exception | None] = {}

    def findings(self) -> list[Finding]:
        findings = [*self._unreachable(), *self._tables(self.reader, "source"),
                    *self._tables(self.writer, "target")]
        if not findings:
            findings += self._counts()
        return findings

    def columns_of(self, datasource: str, table: str) -> list[str]:
        """For lineage: a table's columns, [] when they cannot be read."""
        step = self.writer[1] if (_datasource(self.writer[1]), target_table(self.writer[1])) == (
            datasource, table) else self.reader[1]
        columns = self._introspected(step, table)
        return [] if isinstance(columns, Exception) else columns

    # --- the parts ---

    def _unreachable(self) -> list[Finding]:
        """One warning per data source that cannot be inspected (its steps are skipped)."""
        findings, seen = [], set()
        for pointer, step in (self.reader, self.writer):
            name = _datasource(step)
            error = self._probe(step)
            if error is not None and name not in seen:
                seen.add(name)
                findings.append(Finding(WARNING, f"data source '{name}' cannot be inspected, its tables "
                                                 f"and columns are not checked: {first_line(error)}",
                                        f"{pointer}/parameter/datasource"))
        return findings

    def _tables(self, located: tuple[str, dict[str, Any]], role: str) -> list[Finding]:
        pointer, step = located
        if self._probe(step) is not None or (role == "target" and step["stepType"] in FILE_TYPES):
            return []  # not inspectable; a writer creates its file
        findings = []
        for table, at in _tables_with_pointers(step, pointer):
            if references(table):
                continue  # a parameter without a value here: its own diagnostic says so
            columns = self._introspected(step, table)
            if isinstance(columns, Exception):
                findings.append(Finding(ERROR, f"{role} table '{table}' of data source "
                                               f"'{_datasource(step)}' does not exist: {first_line(columns)}", at))
            elif not step["parameter"].get("querySql") and step["stepType"] not in FILE_TYPES:
                findings += _missing_columns(step, pointer, columns, f"{role} table '{table}'")
        return findings

    def _counts(self) -> list[Finding]:
        (_, reader), (pointer, writer) = self.reader, self.writer
        if any(references(t) for t in [*source_tables(reader), target_table(writer)]):
            return []
        outputs, columns = reader_outputs(reader, self.columns_of), writer_columns(writer, self.columns_of)
        if outputs is None or columns is None or len(outputs) == len(columns):
            return []
        return [Finding(ERROR, f"the reader yields {len(outputs)} columns but the writer writes "
                               f"{len(columns)}: the counts must match", f"{pointer}/parameter/column")]

    def _probe(self, step: dict[str, Any]) -> Exception | None:
        """Why a step's data source cannot be inspected (unreachable...), or None."""
        name = _datasource(step)
        if step["stepType"] in FILE_TYPES:
            return None  # local files: a missing one is the table's error
        if name not in self._reachable:
            try:
                self.datasources.tables(self.user, name)
                self._reachable[name] = None
            except Exception as error:  # noqa: BLE001 - any failure is the user's message
                self._reachable[name] = error
        return self._reachable[name]

    def _introspected(self, step: dict[str, Any], table: str) -> list[str] | Exception:
        key = (_datasource(step), table)
        if key not in self._columns:
            try:
                self._columns[key] = self._read_columns(step, table)
            except Exception as error:  # noqa: BLE001 - any driver failure is the user's message
                self._columns[key] = error
        return self._columns[key]

    def _read_columns(self, step: dict[str, Any], table: str) -> list[str]:
        name = _datasource(step)
        if not name:  # a file step may name no data source: its path stands alone
            return [column for column, _ in get_connector(step["stepType"]).list_columns(None, table)]
        return [column["name"] for column in self.datasources.columns(self.user, name, table)]


class ScriptValidator:
    """Live validation: ``validate_script``'s diagnostics, then the catalog's."""

    def __init__(self, datasources: DataSourceService):
        self.datasources = datasources

    def validate(self, user: User, text: str,
                 parameters: Iterable[str] | Mapping[str, str] | None = None) -> list[Diagnostic]:
        """``parameters``: the custom parameter names (or names and values); None skips
        the check of ``${...}`` references."""
        known = dict(datasource_type=self.datasources.type_of)
        diagnostics = validate_script(text, defined_parameters=parameters, **known)
        try:  # undefined parameters do not stop the catalog checks: they only skip lookups
            script = parse_script(text, **known).to_dict()
        except ScriptError:
            return diagnostics
        custom = dict(parameters) if isinstance(parameters, Mapping) else {}
        steps = _resolved_steps(script, sample_context(custom))
        findings = permission_findings(self.datasources, user, steps)
        if not findings:  # tables the user may not use are none of their business
            findings += SchemaCheck(self.datasources, user, *steps).findings()
        return _in_text_order([*diagnostics, *placed(text, findings)])


def placed(text: str, findings: Iterable[Finding]) -> list[Diagnostic]:
    """Findings as diagnostics at their line and column in ``text`` (a DataX job too)."""
    document, index = load_json(text)
    to_text = datax_pointer if is_datax(document) else str
    diagnostics = []
    for finding in findings:
        pointer = to_text(finding.pointer)
        diagnostics.append(Diagnostic(finding.severity, finding.message, pointer,
                                      *index.value(pointer), "catalog"))
    return diagnostics


def reader_and_writer(script: dict[str, Any]) -> tuple[tuple[str, dict], tuple[str, dict]]:
    """The reader and the writer of a (valid) script's data, with their pointers."""
    located = {step["category"]: (f"/steps/{i}", step) for i, step in enumerate(script["steps"])}
    return located["reader"], located["writer"]


def _resolved_steps(script: dict[str, Any], context: ParamContext) -> tuple[tuple[str, dict], tuple[str, dict]]:
    """Reader and writer with what resolves resolved; the rest is left as written."""
    def lenient(value: Any) -> Any:
        if isinstance(value, str):
            try:
                return resolve_text(value, context)
            except ParameterError:
                return value
        if isinstance(value, dict):
            return {key: lenient(item) for key, item in value.items()}
        return [lenient(item) for item in value] if isinstance(value, list) else value

    return tuple((pointer, lenient(step)) for pointer, step in reader_and_writer(script))  # type: ignore[return-value]


def _tables_with_pointers(step: dict[str, Any], pointer: str) -> list[tuple[str, str]]:
    parameter = step["parameter"]
    if step["stepType"] in FILE_TYPES:
        return [(parameter["path"], f"{pointer}/parameter/path")]
    if step["category"] == "writer":
        return [(parameter["table"], f"{pointer}/parameter/table")]
    if parameter.get("querySql"):
        return [(table, f"{pointer}/parameter/querySql") for table in source_tables(step)]
    return [(table, f"{pointer}/parameter/table/{i}") for i, table in enumerate(parameter["table"])]


def _missing_columns(step: dict[str, Any], pointer: str, existing: list[str], where: str) -> list[Finding]:
    """Plain column names the table lacks (case-insensitive); ``*``, constants and
    expressions are left to the database."""
    known = {name.lower() for name in existing}
    findings = []
    for i, column in enumerate(step["parameter"].get("column") or []):
        name = _plain_name(column, step)
        if name is not None and name.lower() not in known:
            findings.append(Finding(ERROR, f"column '{name}' does not exist in {where}",
                                    f"{pointer}/parameter/column/{i}"))
    return findings


def _plain_name(column: Any, step: dict[str, Any]) -> str | None:
    if not isinstance(column, str) or column == "*" or references(column):
        return None
    try:
        tree = sqlglot.parse_one(column, read=DIALECTS.get(step["stepType"]))
    except SqlglotError:
        return None
    return tree.name if isinstance(tree, exp.Column) and not tree.table else None


def _datasource(step: dict[str, Any]) -> str:
    return step["parameter"].get("datasource") or ""


def _verb(step: dict[str, Any]) -> str:
    return "read" if step["category"] == "reader" else "write"


def _in_text_order(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return sorted(diagnostics, key=lambda diagnostic: (diagnostic.line, diagnostic.column))
