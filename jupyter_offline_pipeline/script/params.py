"""Script parameters: the Dataphin / DataWorks grammar of ``${...}`` and ``$[...]``.

``${bizdate}``, ``${project}``, ``${taskId}``, ``${instanceId}``   built-ins
``${yyyy-MM-dd-1}``      the business date, formatted, shifted by whole days
``$[yyyyMMddHH-1/24]``   the scheduled time, formatted, shifted by days
                         (``n/24`` hours, ``n/24/60`` minutes)
``${name}``              a custom parameter, whose value may use all of the above

A custom parameter or run-time override of the same name wins over a date pattern
(``${dd}`` defined by the user is the user's); built-in names cannot be redefined.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from operator import attrgetter
from typing import Any

__all__ = [
    "BUILTIN_PARAMETERS",
    "MAX_NAME_LENGTH",
    "ParamContext",
    "ParameterError",
    "check_name",
    "parse_assignments",
    "parse_bizdate",
    "references",
    "resolve",
    "resolve_text",
    "unresolved_parameters",
]

MAX_NAME_LENGTH = 32
ONE_DAY = timedelta(days=1)

# The tokenizer: every ``${body}`` and ``$[body]``; any other ``$`` is plain text.
_EXPRESSION = re.compile(r"\$(?:\{(?P<brace>[^{}]*)\}|\[(?P<bracket>[^\[\]]*)\])")

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# Alternation order matters: ``yyyy`` must be tried before ``yy``.
_DATE_TOKEN = r"(?:yyyy|yy|MM|dd)"
_TIME_TOKEN = r"(?:yyyy|yy|MM|dd|HH|mm|ss)"

# A ``-`` between two tokens is a separator; the offset is whatever sign and number
# trail the last token, so ``yyyy-MM-dd-1`` reads as pattern ``yyyy-MM-dd``, offset -1.
_DATE_BODY = re.compile(
    rf"(?P<pattern>{_DATE_TOKEN}(?:[-/_.]?{_DATE_TOKEN})*)"
    r"\s*(?:(?P<sign>[+-])\s*(?P<amount>\d+))?"
)
_TIME_BODY = re.compile(
    rf"(?P<pattern>{_TIME_TOKEN}(?:[ \-/:_.]?{_TIME_TOKEN})*)"
    r"\s*(?:(?P<sign>[+-])\s*(?P<amount>\d+)(?P<unit>/24(?:/60)?)?)?"
)

# ``$[...]`` is also JSON-path syntax in SQL (``'$[0]'``, ``'$[*]'``, ``'$[last]'``):
# only a body made of pattern letters, digits and separators is taken for a time
# expression, so those pass through while a typo such as ``$[yyyMMdd]`` is reported.
_TIME_LIKE = re.compile(r"[\d\s\-/:_.+]*[yMdHms][yMdHms\d\s\-/:_.+]*")

_FIELD = re.compile(r"yyyy|yy|MM|dd|HH|mm|ss")
_FIELD_VALUES: dict[str, Callable[[Any], int]] = {
    "yyyy": attrgetter("year"),
    "yy": lambda moment: moment.year % 100,
    "MM": attrgetter("month"),
    "dd": attrgetter("day"),
    "HH": attrgetter("hour"),
    "mm": attrgetter("minute"),
    "ss": attrgetter("second"),
}
_OFFSET_UNITS = {None: "days", "/24": "hours", "/24/60": "minutes"}


class ParameterError(ValueError):
    """A parameter that cannot be defined or resolved; ``name`` says which."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


def parse_bizdate(s: str) -> date:
    """``20240131`` -> ``date(2024, 1, 31)``."""
    text = str(s).strip()
    try:
        if re.fullmatch(r"\d{8}", text):
            return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        pass
    raise ParameterError("bizdate", f"invalid business date {s!r}: expected YYYYMMDD")


@dataclass
class ParamContext:
    """What parameters resolve against: one instance's dates, identity and values.

    Given only one of ``bizdate`` / ``scheduled_time`` the other is derived (the
    business date is the day before the scheduled day); given neither, the scheduled
    time is now.
    """

    bizdate: date | None = None
    scheduled_time: datetime | None = None
    project: str = ""
    task_id: str = ""
    instance_id: str = ""
    custom: dict[str, str] = field(default_factory=dict)
    overrides: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.bizdate, str):
            self.bizdate = parse_bizdate(self.bizdate)
        elif isinstance(self.bizdate, datetime):
            self.bizdate = self.bizdate.date()
        if self.scheduled_time is None:
            self.scheduled_time = (
                datetime.combine(self.bizdate + ONE_DAY, time())
                if self.bizdate is not None
                else datetime.now().replace(microsecond=0)
            )
        if self.bizdate is None:
            self.bizdate = self.scheduled_time.date() - ONE_DAY

    @classmethod
    def for_bizdate(cls, bizdate: date, **kw: Any) -> ParamContext:
        """The instance of ``bizdate``: scheduled at 00:00 the day after."""
        return cls(bizdate=bizdate, **kw)

    @classmethod
    def for_schedule(cls, scheduled_time: datetime, **kw: Any) -> ParamContext:
        """The instance scheduled at ``scheduled_time``: business date the day before."""
        return cls(scheduled_time=scheduled_time, **kw)


BUILTIN_PARAMETERS: dict[str, Callable[[ParamContext], str]] = {
    "bizdate": lambda ctx: ctx.bizdate.strftime("%Y%m%d"),  # type: ignore[union-attr]
    "project": lambda ctx: ctx.project,
    "taskId": lambda ctx: ctx.task_id,
    "instanceId": lambda ctx: ctx.instance_id,
}


def check_name(name: str) -> None:
    """Raise unless ``name`` can be a custom parameter's name."""
    if not _NAME.fullmatch(name):
        raise ParameterError(
            name,
            f"invalid parameter name {name!r}: use letters, digits and _, "
            "not starting with a digit",
        )
    if len(name) > MAX_NAME_LENGTH:
        raise ParameterError(
            name, f"parameter name {name!r} is longer than {MAX_NAME_LENGTH} characters"
        )
    if name in BUILTIN_PARAMETERS:
        raise ParameterError(name, f"{name!r} is a built-in parameter and cannot be redefined")


def parse_assignments(text_or_list: str | Iterable[str]) -> dict[str, str]:
    """``"a=1\\nb=${a}x"`` (or a list of such lines) -> ``{"a": "1", "b": "${a}x"}``.

    Blank lines and ``#`` comments are skipped; the first ``=`` splits name from value.
    """
    lines = text_or_list.splitlines() if isinstance(text_or_list, str) else text_or_list
    assignments: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        name, equals, value = (part.strip() for part in stripped.partition("="))
        if not equals:
            raise ParameterError(name, f"line {number}: expected name=value, got {stripped!r}")
        try:
            check_name(name)
        except ParameterError as error:
            raise ParameterError(name, f"line {number}: {error}") from None
        if name in assignments:
            raise ParameterError(name, f"line {number}: parameter {name!r} is defined twice")
        assignments[name] = value
    return assignments


def references(text: str) -> list[str]:
    """Every ``${...}`` / ``$[...]`` expression body in ``text``, in order."""
    return [body for _, body in _expressions(text)]


def unresolved_parameters(text: str, defined: Iterable[str]) -> list[str]:
    """Names used as ``${name}`` that nothing defines (first appearance order)."""
    known = set(defined) | set(BUILTIN_PARAMETERS)
    missing: dict[str, None] = {}  # an ordered set
    for is_brace, name in _expressions(text):
        if is_brace and name not in known and not _DATE_BODY.fullmatch(name):
            missing[name] = None
    return list(missing)


def resolve_text(text: str, ctx: ParamContext) -> str:
    """``text`` with every expression replaced; raises ParameterError."""
    return _Resolver(ctx).text(text)


def resolve(obj: Any, ctx: ParamContext) -> Any:
    """Resolve every string value in a JSON-like structure; keys are left alone."""
    resolver = _Resolver(ctx)

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            return resolver.text(node)
        if isinstance(node, Mapping):
            return {key: walk(value) for key, value in node.items()}
        if isinstance(node, (list, tuple)):
            return type(node)(walk(item) for item in node)
        return node

    return walk(obj)


def _expressions(text: str) -> Iterable[tuple[bool, str]]:
    """(is ``${}``, body) for every parameter expression in ``text``."""
    for match in _EXPRESSION.finditer(text):
        if expression := _expression(match):
            yield expression


def _expression(match: re.Match[str]) -> tuple[bool, str] | None:
    """(is ``${}``, stripped body) of a tokenizer match; None for a JSON path's ``$[...]``."""
    if match["brace"] is not None:
        return True, match["brace"].strip()
    if _TIME_LIKE.fullmatch(match["bracket"]):
        return False, match["bracket"].strip()
    return None


def _format(moment: date | datetime, pattern: str) -> str:
    """Each token of ``pattern`` replaced by its zero-padded field; separators kept."""

    def field_of(token: re.Match[str]) -> str:
        return f"{_FIELD_VALUES[token[0]](moment):0{len(token[0])}d}"

    return _FIELD.sub(field_of, pattern)


def _shifted(pattern: str, moment: date | None, unit: str, amount: int) -> str:
    """``moment`` moved by ``amount`` ``unit`` (days, hours, minutes), then formatted."""
    try:
        return _format(moment + timedelta(**{unit: amount}), pattern)  # type: ignore[operator]
    except OverflowError:
        raise ParameterError(
            pattern, f"date out of range: {moment} shifted by {amount} {unit}"
        ) from None


def _signed(match: re.Match[str]) -> int:
    amount = int(match["amount"] or 0)
    return -amount if match["sign"] == "-" else amount


class _Resolver:
    """Resolves texts against one context, each custom parameter at most once."""

    def __init__(self, ctx: ParamContext) -> None:
        self.ctx = ctx
        self.definitions = {
            name: str(value) for name, value in {**ctx.custom, **ctx.overrides}.items()
        }
        for name in self.definitions:
            check_name(name)
        self.resolved: dict[str, str] = {}
        self.resolving: list[str] = []  # the chain being resolved, to report cycles

    def text(self, text: str) -> str:
        return _EXPRESSION.sub(self._substitute, text)

    def _substitute(self, match: re.Match[str]) -> str:
        expression = _expression(match)
        if expression is None:
            return match[0]
        is_brace, body = expression
        return self._brace(body) if is_brace else self._bracket(body)

    def _brace(self, body: str) -> str:
        if body in BUILTIN_PARAMETERS:
            return BUILTIN_PARAMETERS[body](self.ctx)
        if body in self.definitions:
            return self._parameter(body)
        if expression := _DATE_BODY.fullmatch(body):
            return _shifted(expression["pattern"], self.ctx.bizdate, "days", _signed(expression))
        if _NAME.fullmatch(body):
            used_by = f" (used by parameter {self.resolving[-1]!r})" if self.resolving else ""
            raise ParameterError(body, f"parameter {body!r} is not defined{used_by}")
        raise ParameterError(
            body,
            f"invalid parameter expression '${{{body}}}': expected a parameter name or "
            "a date pattern of yyyy yy MM dd, optionally +n or -n days",
        )

    def _bracket(self, body: str) -> str:
        expression = _TIME_BODY.fullmatch(body)
        if not expression:
            raise ParameterError(
                body,
                f"invalid time expression '$[{body}]': expected a pattern of "
                "yyyy yy MM dd HH mm ss, optionally +n or -n days (n/24 hours, n/24/60 minutes)",
            )
        unit = _OFFSET_UNITS[expression["unit"]]
        return _shifted(expression["pattern"], self.ctx.scheduled_time, unit, _signed(expression))

    def _parameter(self, name: str) -> str:
        if name in self.resolved:
            return self.resolved[name]
        if name in self.resolving:
            cycle = self.resolving[self.resolving.index(name):] + [name]
            raise ParameterError(name, "circular parameter reference: " + " -> ".join(cycle))
        self.resolving.append(name)
        try:
            value = self.text(self.definitions[name])
        finally:
            self.resolving.pop()
        self.resolved[name] = value
        return value
