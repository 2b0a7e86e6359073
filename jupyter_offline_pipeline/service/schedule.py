"""A task's schedule configuration (SPEC section 6): basic information, schedule, dependency,
parameters and run configuration.

One pydantic model is the truth: the service validates drafts with it, the scheduler reads
it, and its JSON Schema (packaged as ``schemas/schedule.schema.json``) drives the forms.
Times of day are ``HH:MM`` strings in the schedule's time zone; weekdays are ISO (1 is
Monday, 7 is Sunday); a cron expression has the five crontab fields (0 and 7 are Sunday).
"""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..script.params import ParameterError, check_name
from .errors import Issue

SCHEMA_PATH = Path(__file__).with_name("schemas") / "schedule.schema.json"

_HH_MM = r"^([01]\d|2[0-3]):[0-5]\d$"


# --- field types ------------------------------------------------------------------------


def _time_of_day(value: str) -> str:
    if not re.fullmatch(_HH_MM, value):
        raise ValueError(f"{value!r} is not a time of day: use HH:MM, 00:00 to 23:59")
    return value


def _time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not a time zone: use an IANA name such as Europe/Paris") from None
    return value


def _two_decimals(value: float) -> float:
    if Decimal(str(value)).as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValueError(f"{value} has more than two decimals")
    return value


def _distinct_sorted(values: list[int]) -> list[int]:
    if len(set(values)) != len(values):
        raise ValueError("each value may appear only once")
    return sorted(values)


TimeOfDay = Annotated[str, AfterValidator(_time_of_day), Field(json_schema_extra={"pattern": _HH_MM})]
TimeZone = Annotated[str, AfterValidator(_time_zone)]
Hours = Annotated[list[Annotated[int, Field(ge=0, le=23)]], AfterValidator(_distinct_sorted)]
Weekdays = Annotated[list[Annotated[int, Field(ge=1, le=7)]], AfterValidator(_distinct_sorted)]
MonthDays = Annotated[list[Annotated[int, Field(ge=1, le=31)]], AfterValidator(_distinct_sorted)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- cron -----------------------------------------------------------------------------

# (field name, lowest, highest, names): the five crontab fields, in order
_CRON_FIELDS = [
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day-of-month", 1, 31, {}),
    ("month", 1, 12, {m: i for i, m in enumerate(
        "jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)}),
    ("day-of-week", 0, 7, {d: i for i, d in enumerate("sun mon tue wed thu fri sat".split())}),
]
_CRON_ITEM = re.compile(r"(?P<range>\*|(?P<start>\w+)(?:-(?P<end>\w+))?)(?:/(?P<step>\d+))?")


def check_cron(expression: str) -> str:
    """Raise a ValueError naming the culprit field unless ``expression`` is a five-field cron."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(
            f"a cron expression has 5 fields (minute hour day-of-month month day-of-week), "
            f"{expression!r} has {len(fields)}")
    for text, spec in zip(fields, _CRON_FIELDS):
        for item in text.split(","):
            _check_cron_item(item, *spec)
    return expression


def _check_cron_item(item: str, field: str, low: int, high: int, names: dict[str, int]) -> None:
    match = _CRON_ITEM.fullmatch(item)
    if match is None:
        raise ValueError(f"the {field} field: {item!r} is not a value, range (a-b), list (a,b) or step (*/n)")
    if match["step"] is not None and int(match["step"]) == 0:
        raise ValueError(f"the {field} field: the step in {item!r} must be at least 1")
    if match["range"] == "*":
        return
    start = _cron_value(match["start"], field, low, high, names)
    if match["end"] is not None and _cron_value(match["end"], field, low, high, names) < start:
        raise ValueError(f"the {field} field: the range {item!r} ends before it starts")


def _cron_value(text: str, field: str, low: int, high: int, names: dict[str, int]) -> int:
    value = names.get(text.lower()) if not text.isdigit() else int(text)
    if value is None:
        raise ValueError(f"the {field} field: {text!r} is not a number" +
                         (f" or a name ({', '.join(names)})" if names else ""))
    if not low <= value <= high:
        raise ValueError(f"the {field} field: {value} is out of range {low}-{high}")
    return value


CronExpression = Annotated[str, AfterValidator(check_cron)]


# --- cycles -----------------------------------------------------------------------------


class MinuteCycle(_Model):
    """Every n minutes within a daily window."""

    type: Literal["minute"] = Field(description="Every n minutes within a daily window.")
    every_minutes: int = Field(ge=1, le=59, description="The interval in minutes, 1 to 59.")
    start_time: TimeOfDay = Field("00:00", description="The window's first run (HH:MM).")
    end_time: TimeOfDay = Field("23:59", description="The window's end (HH:MM): no run after it.")

    @model_validator(mode="after")
    def _window(self) -> MinuteCycle:
        return _checked_window(self)


class HourCycle(_Model):
    """Every n hours within a daily window, or at chosen hours."""

    type: Literal["hour"] = Field(description="Every n hours within a window, or at chosen hours.")
    every_hours: int | None = Field(
        None, ge=1, le=23, description="The interval in hours, 1 to 23 (or give hours instead).")
    start_time: TimeOfDay = Field("00:00", description="With every_hours: the window's first run (HH:MM).")
    end_time: TimeOfDay = Field("23:59", description="With every_hours: the window's end (HH:MM).")
    hours: Hours | None = Field(
        None, min_length=1, description="Instead of every_hours: the hours to run at, 0 to 23.")
    minute: int = Field(0, ge=0, le=59, description="The minute past each chosen hour, 0 to 59.")

    @model_validator(mode="after")
    def _interval_or_hours(self) -> HourCycle:
        if (self.every_hours is None) == (self.hours is None):
            raise ValueError("give either every_hours (with a window) or a list of hours, not both")
        return _checked_window(self)


class DayCycle(_Model):
    """Once a day."""

    type: Literal["day"] = Field(description="Once a day at a time.")
    time: TimeOfDay = Field("00:00", description="The time of day to run (HH:MM).")


class WeekCycle(_Model):
    """On chosen weekdays; other days make no instance."""

    type: Literal["week"] = Field(description="On chosen weekdays at a time.")
    weekdays: Weekdays = Field(min_length=1, description="The days to run on: 1 is Monday ... 7 is Sunday.")
    time: TimeOfDay = Field("00:00", description="The time of day to run (HH:MM).")


class MonthCycle(_Model):
    """On chosen days of the month and/or its last day; other days make no instance."""

    type: Literal["month"] = Field(description="On chosen days of the month, or its last day, at a time.")
    days: MonthDays = Field(
        default_factory=list, description="The days of the month to run on, 1 to 31 "
        "(a month without the day makes no instance).")
    last_day: bool = Field(False, description="Also run on the month's last day.")
    time: TimeOfDay = Field("00:00", description="The time of day to run (HH:MM).")

    @model_validator(mode="after")
    def _some_day(self) -> MonthCycle:
        if not self.days and not self.last_day:
            raise ValueError("choose at least one day of the month, or the last day")
        return self


class CronCycle(_Model):
    """A crontab expression, for what the other cycles cannot say."""

    type: Literal["cron"] = Field(description="A cron expression.")
    expression: CronExpression = Field(
        description="Five fields: minute hour day-of-month month day-of-week "
        "(values, a-b ranges, lists, */n steps; 0 and 7 are Sunday), e.g. '30 2 * * 1-5'.")


Cycle = Annotated[
    Union[MinuteCycle, HourCycle, DayCycle, WeekCycle, MonthCycle, CronCycle],
    Field(discriminator="type"),
]
CYCLE_TYPES = ("minute", "hour", "day", "week", "month", "cron")


def _checked_window(cycle: MinuteCycle | HourCycle) -> Any:
    if cycle.start_time > cycle.end_time:  # HH:MM strings order as times do
        raise ValueError(f"the window starts ({cycle.start_time}) after it ends ({cycle.end_time})")
    return cycle


# --- the sections -------------------------------------------------------------------------


class Basic(_Model):
    developer: str = Field("", max_length=128, description="The task's owner in development.")
    operation_owner: str = Field("", max_length=128, description="Who answers for the task's production runs.")
    description: str = Field("", max_length=1000, description="Notes on the schedule, at most 1000 characters.")


class Schedule(_Model):
    state: Literal["normal", "dry_run", "paused"] = Field(
        "normal", description="normal: instances run; dry_run: they succeed at once without running "
        "and do not block downstream; paused: they fail at once and block downstream.")
    effective_from: date = Field(date(1970, 1, 1), description="The first date the schedule makes instances.")
    effective_to: date = Field(date(9999, 12, 31), description="The last date the schedule makes instances.")
    priority: Literal["lowest", "low", "medium", "high", "highest"] = Field(
        "medium", description="Which waiting instances take free resources first.")
    cycle: Cycle | None = Field(
        None, description="When instances are made; a recurring task needs one, a manual task has none.")
    timezone: TimeZone = Field("UTC", description="The IANA time zone of the cycle's times, e.g. Asia/Shanghai.")

    @model_validator(mode="after")
    def _effective_range(self) -> Schedule:
        if self.effective_from > self.effective_to:
            raise ValueError(f"effective_from ({self.effective_from}) is after effective_to ({self.effective_to})")
        return self


class Dependency(_Model):
    upstream: list[Annotated[int, Field(ge=1)]] = Field(
        default_factory=list, description="The ids of the tasks whose instances of the same business "
        "date must succeed first.")
    auto_from_lineage: bool = Field(
        True, description="Also depend on the tasks whose target table is this task's source table.")
    self_dependent: bool = Field(False, description="Each instance waits for its task's previous-cycle instance.")

    @model_validator(mode="after")
    def _distinct(self) -> Dependency:
        if len(set(self.upstream)) != len(self.upstream):
            raise ValueError("an upstream task is listed twice")
        return self


def _parameter_name(name: str) -> str:
    try:
        check_name(name)
    except ParameterError as error:
        raise ValueError(str(error)) from None
    return name


class Parameter(_Model):
    name: Annotated[str, AfterValidator(_parameter_name)] = Field(
        description="Written ${name} in the script: letters, digits and _, at most 32 characters.")
    value: str = Field("", max_length=1000, description="Its default value; may use date expressions "
                       "such as ${yyyyMMdd-1}. A run-time value overrides it.")


class RerunOnFailure(_Model):
    count: int = Field(1, ge=0, le=10, description="How many times a failed instance is rerun, 0 to 10.")
    interval_minutes: int = Field(5, ge=1, le=60, description="Minutes between reruns, 1 to 60.")


class Run(_Model):
    timeout_hours: Annotated[float, AfterValidator(_two_decimals)] = Field(
        48, ge=0, le=168, description="An instance running longer is killed: 0 to 168 hours, "
        "at most two decimals (0: no timeout).")
    rerun_on_timeout: bool = Field(False, description="Rerun an instance killed by the timeout.")
    rerun_on_failure: RerunOnFailure = Field(
        default_factory=RerunOnFailure, description="Reruns of a failed instance.")


class ScheduleConfig(_Model):
    """A task's schedule configuration."""

    basic: Basic = Field(default_factory=Basic, description="Basic information.")
    schedule: Schedule = Field(default_factory=Schedule, description="When and how instances are made.")
    dependency: Dependency = Field(default_factory=Dependency, description="What instances wait for.")
    parameters: list[Parameter] = Field(
        default_factory=list, description="Custom parameters of the script (name = value).")
    run: Run = Field(default_factory=Run, description="Run configuration: timeout and reruns.")

    @field_validator("parameters")
    @classmethod
    def _distinct_parameters(cls, parameters: list[Parameter]) -> list[Parameter]:
        names = [p.name for p in parameters]
        if twice := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"parameter {twice[0]!r} is defined twice")
        return parameters


# --- helpers for the service and the schema file ------------------------------------------


def default_schedule(schedule_type: str, owner: str) -> dict[str, Any]:
    """A new task's configuration: its owner in charge; a recurring one runs daily at
    00:00, a manual one has no cycle and no dependencies."""
    recurring = schedule_type == "recurring"
    config = ScheduleConfig(
        basic=Basic(developer=owner, operation_owner=owner),
        schedule=Schedule(cycle=DayCycle(type="day") if recurring else None),
        dependency=Dependency(auto_from_lineage=recurring),
    )
    return config.model_dump(mode="json")


def schedule_issues(error: ValidationError) -> list[Issue]:
    """Each pydantic error as an Issue on the dotted path of its field."""
    return [Issue(_field_path(e["loc"]), _message(e)) for e in error.errors()]


def _field_path(loc: tuple[int | str, ...]) -> str:
    # a discriminated union adds its tag to the path: schedule.cycle.minute.every_minutes
    parts = [p for i, p in enumerate(loc) if not (i and loc[i - 1] == "cycle" and p in CYCLE_TYPES)]
    return ".".join(str(p) for p in parts)


def _message(error: dict[str, Any]) -> str:
    if error["type"] == "value_error":
        return str(error["ctx"]["error"])
    if error["type"] == "union_tag_not_found":
        return f"needs a type: one of {', '.join(CYCLE_TYPES)}"
    if error["type"] == "extra_forbidden":
        return "is not a known field"
    return error["msg"]


def schedule_json_schema() -> dict[str, Any]:
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **ScheduleConfig.model_json_schema()}


def write_json_schema(path: Path = SCHEMA_PATH) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(schedule_json_schema(), indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    write_json_schema()
