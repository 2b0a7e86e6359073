"""Validation of a script's text: every problem at once, each with its JSON pointer, line
and column, in the shape the server, the editor and the CLI share."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from difflib import get_close_matches
from typing import Any, NamedTuple, get_args

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from .datax import convert_datax, datax_pointer, is_datax
from .diagnostics import ERROR, INFO, WARNING, Diagnostic, ScriptError, has_errors
from .locate import JsonSyntaxError, PositionIndex, join_pointer, load_json, position_of
from .model import STEP_TYPES, RelationalReaderParams, Script, Step, parameter_model
from .params import unresolved_parameters

MAX_SCRIPT_LENGTH = 500_000

DatasourceType = Callable[[str], str | None]


class _Finding(NamedTuple):
    """A problem found in the (canonical) script, before it is placed in the text."""

    severity: str
    message: str
    pointer: str
    source: str = "script"
    at_key: bool = False  # placed at the key (an unknown key) rather than at the value


def validate_script(
    text: str,
    *,
    datasource_type: DatasourceType | None = None,
    defined_parameters: Iterable[str] | None = None,
) -> list[Diagnostic]:
    """Every problem of the script ``text`` (the version 2.0 layout or a DataX job).

    ``datasource_type`` maps a data source name to its type (None: no such data source);
    without it data sources are not checked. ``defined_parameters`` names the custom
    parameters; without it ``${...}`` references are not checked.
    """
    return _check(text, datasource_type, defined_parameters)[0]


def parse_script(
    text: str,
    *,
    datasource_type: DatasourceType | None = None,
    defined_parameters: Iterable[str] | None = None,
) -> Script:
    """The typed script of ``text``; raises ScriptError when any diagnostic is an error."""
    diagnostics, script = _check(text, datasource_type, defined_parameters)
    if script is None:
        raise ScriptError(diagnostics)
    return script


def _check(
    text: str, datasource_type: DatasourceType | None, defined_parameters: Iterable[str] | None
) -> tuple[list[Diagnostic], Script | None]:
    try:
        document, index = load_json(text)
    except JsonSyntaxError as error:
        syntax = Diagnostic(ERROR, error.message, "", error.line, error.column, "syntax")
        return _in_text_order([*_length(text), syntax]), None
    diagnostics = [*_length(text), *_duplicate_keys(index)]
    if not isinstance(document, dict):
        message = f"the script must be a JSON object (got {_show(document)})"
        root = Diagnostic(ERROR, message, "", *index.value(""), "schema")
        return _in_text_order([*diagnostics, root]), None
    to_text: Callable[[str], str] = str  # a pointer into the script -> one into the text
    if is_datax(document):
        document, notes = convert_datax(document)
        diagnostics += [
            _datax_notice(),
            *(replace(note, **_place(index, note.pointer)) for note in notes),
        ]
        to_text = datax_pointer
    script, findings = _findings(document, datasource_type, defined_parameters)
    diagnostics += [_diagnostic(finding, to_text(finding.pointer), index) for finding in findings]
    return _in_text_order(diagnostics), None if has_errors(diagnostics) else script


def _in_text_order(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return sorted(diagnostics, key=lambda diagnostic: (diagnostic.line, diagnostic.column))


def _findings(
    document: dict[str, Any],
    datasource_type: DatasourceType | None,
    defined_parameters: Iterable[str] | None,
) -> tuple[Script | None, list[_Finding]]:
    script, findings = _typed(document)
    findings += _rules(document)
    if datasource_type is not None:
        findings += _datasources(document, datasource_type)
    if defined_parameters is not None:
        findings += _parameters(document, list(defined_parameters))
    return script, findings


def _length(text: str) -> list[Diagnostic]:
    if len(text) <= MAX_SCRIPT_LENGTH:
        return []
    message = f"the script is {len(text)} characters long; at most {MAX_SCRIPT_LENGTH} are allowed"
    return [Diagnostic(ERROR, message, "", *position_of(text, MAX_SCRIPT_LENGTH), "script")]


def _duplicate_keys(index: PositionIndex) -> list[Diagnostic]:
    diagnostics = []
    for pointer, position in index.duplicate_keys:
        message = f"duplicate key '{_last_key(pointer)}': only its last value counts"
        diagnostics.append(Diagnostic(WARNING, message, pointer, *position, "syntax"))
    return diagnostics


def _datax_notice() -> Diagnostic:
    message = "a DataX job: checked as the script it converts to (jupyter pipeline convert writes it)"
    return Diagnostic(INFO, message, "", 1, 1, "datax")


def _place(index: PositionIndex, pointer: str, at_key: bool = False) -> dict[str, int]:
    line, column = index.key(pointer) if at_key else index.value(pointer)
    return {"line": line, "column": column}


def _diagnostic(finding: _Finding, pointer: str, index: PositionIndex) -> Diagnostic:
    return Diagnostic(
        finding.severity,
        finding.message,
        pointer,
        source=finding.source,
        **_place(index, pointer, finding.at_key),
    )


# --- the typed model: types, enums, ranges, missing and unknown keys --------------------


def _typed(document: dict[str, Any]) -> tuple[Script | None, list[_Finding]]:
    try:
        return Script.model_validate(document), []
    except ValidationError as error:
        return None, [_translate(detail, document) for detail in error.errors(include_url=False)]


def _translate(error: ErrorDetails, document: dict[str, Any]) -> _Finding:
    loc = error["loc"]
    pointer = "".join(join_pointer("", part) for part in loc)
    if error["type"] == "extra_forbidden":
        return _Finding(ERROR, _unknown_key(loc, document), pointer, "schema", at_key=True)
    return _Finding(ERROR, _message(error), pointer, "schema")


_TYPES = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "list_type": "a list",
    "model_type": "an object",
    "dict_type": "an object",
}
_BOUNDS = {
    "greater_than": ("gt", "greater than"),
    "greater_than_equal": ("ge", "at least"),
    "less_than": ("lt", "less than"),
    "less_than_equal": ("le", "at most"),
}


def _message(error: ErrorDetails) -> str:
    """A sentence naming the field and the value, for one of pydantic's errors."""
    kind, ctx, loc = error["type"], error.get("ctx", {}), error["loc"]
    field = f"{loc[-2]}[{loc[-1]}]" if isinstance(loc[-1], int) and len(loc) > 1 else str(loc[-1])
    got = f"(got {_show(error['input'])})"
    if kind == "missing":
        return f"missing required key '{field}'"
    if kind in _TYPES:
        return f"{field} must be {_TYPES[kind]} {got}"
    if kind == "literal_error":
        return f"{field} must be {_choices(ctx['expected'])} {got}"
    if kind in _BOUNDS:
        bound, words = _BOUNDS[kind]
        return f"{field} must be {words} {ctx[bound]:g} {got}"
    if kind in ("too_short", "string_too_short"):
        return f"{field} must not be empty"
    if kind == "string_too_long":
        return f"{field} must be at most {ctx['max_length']} character(s) long {got}"
    if kind == "value_error":  # our validators word their errors as "must be ..."
        return f"{field} {ctx['error']} {got}"
    return f"{field}: {error['msg']} {got}"


def _choices(expected: str) -> str:
    names = re.findall(r"'([^']*)'", expected)
    return f"'{names[0]}'" if len(names) == 1 else "one of " + ", ".join(names)


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f"'{value[:40]}...'" if len(value) > 43 else f"'{value}'"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return json.dumps(value)


def _unknown_key(loc: tuple[int | str, ...], document: dict[str, Any]) -> str:
    key = str(loc[-1])
    allowed = _allowed_keys(loc[:-1], document)
    close = get_close_matches(key, allowed, n=1)
    if close:
        return f"unknown key '{key}' (did you mean '{close[0]}'?)"
    return f"unknown key '{key}' (allowed: {', '.join(allowed)})"


def _allowed_keys(loc: tuple[int | str, ...], document: dict[str, Any]) -> list[str]:
    """The keys the model at ``loc`` takes (``loc`` comes from validating ``document``,
    so every part of it is there)."""
    model: type[BaseModel] | None = Script
    parent, value = None, document
    for part in loc:
        parent, value = value, value[part]
        if isinstance(part, int) or model is None:
            continue
        if model is Step and part == "parameter":
            model = parameter_model(parent.get("stepType"), parent.get("category"))
        else:
            model = _model_in(model.model_fields[str(part)].annotation)
    if model is None:
        return []
    return [field.alias or name for name, field in model.model_fields.items()]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next(filter(None, map(_model_in, get_args(annotation))), None)


# --- rules across fields, over the raw document so that they run whatever else is wrong --


def _rules(document: dict[str, Any]) -> list[_Finding]:
    steps = _items(document.get("steps"), "/steps")
    findings = [*_unique_names(steps), *_hops(document, steps), *_setting_rules(document)]
    if isinstance(document.get("steps"), list):
        findings += _one_reader_one_writer(steps)
    for pointer, step in steps:
        findings += _step_rules(step, pointer)
    return findings


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _items(value: Any, pointer: str) -> list[tuple[str, dict[str, Any]]]:
    """The objects of a list, with their pointers."""
    if not isinstance(value, list):
        return []
    return [(join_pointer(pointer, i), item) for i, item in enumerate(value) if isinstance(item, dict)]


def _one_reader_one_writer(steps: list[tuple[str, dict[str, Any]]]) -> Iterator[_Finding]:
    for category in ("reader", "writer"):
        found = [pointer for pointer, step in steps if step.get("category") == category]
        if not found:
            yield _Finding(ERROR, f"the script has no {category} step", "/steps")
        for pointer in found[1:]:
            message = f"a second {category} step: a script has one reader and one writer"
            yield _Finding(ERROR, message, f"{pointer}/category")


def _unique_names(steps: list[tuple[str, dict[str, Any]]]) -> Iterator[_Finding]:
    seen: set[str] = set()
    for pointer, step in steps:
        name = step.get("name")
        if not isinstance(name, str):
            continue
        if name in seen:
            yield _Finding(ERROR, f"step name '{name}' is used by another step", f"{pointer}/name")
        seen.add(name)


def _hops(document: dict[str, Any], steps: list[tuple[str, dict[str, Any]]]) -> Iterator[_Finding]:
    names = {step.get("name") for _, step in steps if isinstance(step.get("name"), str)}
    for pointer, hop in _items(_object(document.get("order")).get("hops"), "/order/hops"):
        for end in ("from", "to"):
            name = hop.get(end)
            if isinstance(name, str) and name not in names:
                yield _Finding(ERROR, f"hop {end} '{name}' names no step", f"{pointer}/{end}")


def _step_rules(step: dict[str, Any], pointer: str) -> Iterator[_Finding]:
    parameter, model = step.get("parameter"), parameter_model(step.get("stepType"), step.get("category"))
    if model is RelationalReaderParams and isinstance(parameter, dict):
        yield from _reader_source(parameter, f"{pointer}/parameter")


def _reader_source(parameter: dict[str, Any], pointer: str) -> Iterator[_Finding]:
    """A database reader reads tables or one query; a query makes the rest meaningless."""
    if not parameter.get("querySql"):
        if parameter.get("table") is None:
            yield _Finding(ERROR, "a reader needs a table or a querySql", f"{pointer}/table")
        return
    for key, unused in (("table", None), ("column", ["*"]), ("where", ""), ("splitPk", "")):
        if parameter.get(key, unused) != unused:
            message = f"{key} is ignored: querySql replaces table, column, where and splitPk"
            yield _Finding(WARNING, message, f"{pointer}/{key}", at_key=True)


def _setting_rules(document: dict[str, Any]) -> Iterator[_Finding]:
    setting = _object(document.get("setting"))
    speed, limit = _object(setting.get("speed")), _object(setting.get("errorLimit"))
    if speed.get("throttle") is True and speed.get("mbps") is None:
        yield _Finding(ERROR, "throttle needs mbps, the rate cap in MB/s", "/setting/speed/throttle")
    if limit.get("record") is not None and limit.get("percentage") is not None:
        message = "percentage is ignored: record is set, and wins"
        yield _Finding(INFO, message, "/setting/errorLimit/percentage", at_key=True)


# --- the world outside the script: data sources and parameters -------------------------


def _datasources(document: dict[str, Any], datasource_type: DatasourceType) -> Iterator[_Finding]:
    for pointer, step in _items(document.get("steps"), "/steps"):
        name, step_type = _object(step.get("parameter")).get("datasource"), step.get("stepType")
        if not isinstance(name, str) or not name:
            continue
        actual, at = datasource_type(name), f"{pointer}/parameter/datasource"
        if actual is None:
            yield _Finding(ERROR, f"data source '{name}' does not exist", at, "catalog")
        elif isinstance(step_type, str) and step_type in STEP_TYPES and actual != step_type:
            yield _Finding(
                ERROR, f"data source '{name}' is of type {actual}, not {step_type}", at, "catalog"
            )


def _parameters(document: dict[str, Any], defined: list[str]) -> Iterator[_Finding]:
    for pointer, text in _strings(document):
        for name in unresolved_parameters(text, defined) if "$" in text else ():
            message = f"parameter ${{{name}}} is not defined: add it to the task's schedule parameters"
            yield _Finding(ERROR, message, pointer, "parameters")


def _strings(document: Any) -> Iterator[tuple[str, str]]:
    """Every string value with its pointer (iterative: nesting depth is the user's)."""
    stack = [("", document)]
    while stack:
        pointer, value = stack.pop()
        if isinstance(value, str):
            yield pointer, value
        elif isinstance(value, dict):
            stack += [(join_pointer(pointer, key), item) for key, item in value.items()]
        elif isinstance(value, list):
            stack += [(join_pointer(pointer, i), item) for i, item in enumerate(value)]


def _last_key(pointer: str) -> str:
    return pointer.rpartition("/")[2].replace("~1", "/").replace("~0", "~")
