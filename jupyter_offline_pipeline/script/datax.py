"""Import of DataX jobs: ``{"job": {"setting", "content": [{"reader", "writer"}]}}`` into
the "version 2.0" script layout, so existing jobs can be brought over as they are."""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any

from .diagnostics import ERROR, INFO, WARNING, Diagnostic
from .locate import join_pointer
from .model import STEP_TYPES

# DataX plugin names whose step type is not simply the name less "reader"/"writer".
_PLUGIN_ALIASES = {"txtfile": "csv", "postgres": "postgresql", "mariadb": "mysql"}
_BYTES_PER_MB = 1024 * 1024
_JDBC_DATABASE = re.compile(r"jdbc:[\w:]+?:(?://[^/]*/)?(?P<database>[^?;]+)")


def is_datax(document: Any) -> bool:
    return (
        isinstance(document, dict) and isinstance(document.get("job"), dict) and "steps" not in document
    )


def convert_datax(document: dict[str, Any]) -> tuple[dict[str, Any], list[Diagnostic]]:
    """The script of a DataX job, and notes on what the conversion could not carry over
    (their pointers are into the DataX job)."""
    notes: list[Diagnostic] = []
    job = _dict(document.get("job"))
    _note_left_out(document, {"job"}, "", notes)
    _note_left_out(job, {"setting", "content"}, "/job", notes)
    pair = _reader_and_writer(job.get("content"), notes)
    script = {
        "type": "job",
        "version": "2.0",
        "steps": [
            _step(pair.get(category), category, f"/job/content/0/{category}", notes)
            for category in ("reader", "writer")
        ],
        "setting": _setting(_dict(job.get("setting")), notes),
        "order": {"hops": [{"from": "Reader", "to": "Writer"}]},
    }
    return script, notes


def _reader_and_writer(content: Any, notes: list[Diagnostic]) -> dict[str, Any]:
    """The one reader and writer pair of a job's content."""
    if not isinstance(content, list) or not content:
        _note(notes, ERROR, "the DataX job has no content (no reader or writer)", "/job")
        return {}
    if len(content) > 1:
        _note(
            notes,
            ERROR,
            f"only one reader and writer can be converted, not {len(content)}",
            "/job/content",
        )
    return _dict(content[0])


def datax_pointer(pointer: str) -> str:
    """The pointer into the DataX job that a pointer into its converted script came from
    (the nearest part that exists there; the root when nothing does)."""
    parts = pointer.split("/")[1:]
    match parts:
        case ["steps", "0" | "1" as index, *rest]:
            plugin = "/job/content/0/" + ("reader" if index == "0" else "writer")
            return plugin + _plugin_pointer(rest)
        case ["setting", "speed", "concurrent"]:
            return "/job/setting/speed/channel"
        case ["setting", "speed", "throttle" | "mbps"]:
            return "/job/setting/speed/byte"
        case ["setting", *rest]:
            return "/".join(["/job/setting", *rest])
    return ""


def _plugin_pointer(rest: list[str]) -> str:
    match rest:
        case ["stepType"]:
            return "/name"
        case ["parameter", "table" | "querySql" as key, *more]:
            return "/".join(["/parameter/connection/0", key, *more])
        case ["parameter", "header"]:
            return "/parameter/skipHeader"
        case ["parameter", *more]:
            return "/".join(["/parameter", *more])
    return ""


def _note(notes: list[Diagnostic], severity: str, message: str, pointer: str) -> None:
    notes.append(Diagnostic(severity, message, pointer, source="datax"))


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def _only_first(value: Any, pointer: str, notes: list[Diagnostic]) -> Any:
    """The first item of a DataX list where a script takes one value."""
    if isinstance(value, list) and len(value) > 1:
        _note(notes, WARNING, f"only the first of {len(value)} items is converted", pointer)
    return _first(value)


def _step(plugin: Any, category: str, pointer: str, notes: list[Diagnostic]) -> dict[str, Any]:
    plugin = _dict(plugin)
    step_type = _step_type(plugin.get("name"), category)
    family = STEP_TYPES.get(step_type) if isinstance(step_type, str) else None
    parameter = dict(_dict(plugin.get("parameter")))
    if family == "relational":
        parameter = _relational(parameter, category, f"{pointer}/parameter", notes)
    elif family == "file":
        parameter = _file(parameter, f"{pointer}/parameter", notes)
    return {
        "stepType": step_type,
        "category": category,
        "name": category.title(),
        "parameter": parameter,
    }


def _step_type(plugin_name: Any, category: str) -> Any:
    if not isinstance(plugin_name, str) or not plugin_name.endswith(category):
        return plugin_name  # reported by validation as an unknown step type
    base = plugin_name.removesuffix(category)
    return _PLUGIN_ALIASES.get(base, base)


def _relational(
    parameter: dict[str, Any], category: str, pointer: str, notes: list[Diagnostic]
) -> dict[str, Any]:
    """DataX's ``connection`` list becomes a data source name and table or querySql."""
    _drop_credentials(parameter, pointer, notes)
    connection = _dict(_only_first(parameter.pop("connection", None), f"{pointer}/connection", notes))
    located: dict[str, Any] = {}  # where the data is comes first, as in a written script
    if "datasource" in parameter:
        located["datasource"] = parameter.pop("datasource")
    else:
        url = _first(connection.get("jdbcUrl"))
        located |= _datasource_named_after(url, f"{pointer}/connection/0/jdbcUrl", notes)
    if "table" in connection:  # a reader reads the union of its tables, a writer one table
        table = connection["table"]
        located["table"] = (
            table if category == "reader" else _only_first(table, f"{pointer}/connection/0/table", notes)
        )
    if "querySql" in connection:
        located["querySql"] = _only_first(
            connection["querySql"], f"{pointer}/connection/0/querySql", notes
        )
    return located | parameter


def _drop_credentials(parameter: dict[str, Any], pointer: str, notes: list[Diagnostic]) -> None:
    dropped = [key for key in ("username", "password") if parameter.pop(key, None) is not None]
    if dropped:
        message = f"{' and '.join(dropped)} left out: credentials belong to the data source"
        _note(notes, INFO, message, pointer)


def _datasource_named_after(url: Any, pointer: str, notes: list[Diagnostic]) -> dict[str, str]:
    """A data source named after the database of a JDBC URL, which the user has to create:
    a script never holds connection details."""
    match = _JDBC_DATABASE.match(url) if isinstance(url, str) else None
    if match is None:
        return {}  # validation reports the missing datasource
    name = PurePosixPath(match["database"]).stem
    message = (
        f"data source '{name}' is named after the database of the JDBC URL: "
        "add a data source of that name, or set datasource"
    )
    _note(notes, WARNING, message, pointer)
    return {"datasource": name}


def _file(parameter: dict[str, Any], pointer: str, notes: list[Diagnostic]) -> dict[str, Any]:
    if "path" in parameter:
        parameter["path"] = _only_first(parameter["path"], f"{pointer}/path", notes)
    if "fileName" in parameter:  # a DataX file writer names a directory and a file in it
        parameter["path"] = str(
            PurePosixPath(str(parameter.get("path") or "")) / str(parameter.pop("fileName"))
        )
    if "skipHeader" in parameter:
        parameter["header"] = parameter.pop("skipHeader")
    return parameter


def _setting(setting: dict[str, Any], notes: list[Diagnostic]) -> dict[str, Any]:
    converted: dict[str, Any] = {}
    speed = _dict(setting.get("speed"))
    if "channel" in speed:
        converted.setdefault("speed", {})["concurrent"] = speed["channel"]
    rate = speed.get("byte")
    if isinstance(rate, (int, float)) and not isinstance(rate, bool) and rate > 0:  # -1 is "no cap"
        converted.setdefault("speed", {}).update(throttle=True, mbps=rate / _BYTES_PER_MB)
    error_limit = _dict(setting.get("errorLimit"))
    kept = {key: error_limit[key] for key in ("record", "percentage") if key in error_limit}
    if kept:
        converted["errorLimit"] = kept
    _note_left_out(setting, {"speed", "errorLimit"}, "/job/setting", notes)
    _note_left_out(speed, {"channel", "byte"}, "/job/setting/speed", notes)
    _note_left_out(error_limit, {"record", "percentage"}, "/job/setting/errorLimit", notes)
    return converted


def _note_left_out(part: dict[str, Any], kept: set[str], pointer: str, notes: list[Diagnostic]) -> None:
    for key in sorted(part.keys() - kept):
        message = f"'{key}' has no equivalent in a script and is left out"
        _note(notes, WARNING, message, join_pointer(pointer, key))
