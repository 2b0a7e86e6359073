"""The schedule configuration model: every cycle, cron fields, time zones, ranges, decimals,
parameter names; its issues' field paths; its JSON Schema and the packaged file."""

from __future__ import annotations

import json

import jsonschema
import pytest
from pydantic import ValidationError

from jupyter_offline_pipeline.service.schedule import (
    SCHEMA_PATH,
    ScheduleConfig,
    default_schedule,
    schedule_issues,
    schedule_json_schema,
)


def issues_of(config: dict) -> dict[str, str]:
    with pytest.raises(ValidationError) as info:
        ScheduleConfig.model_validate(config)
    return {i.field: i.message for i in schedule_issues(info.value)}


def with_cycle(cycle: dict) -> dict:
    return {"schedule": {"cycle": cycle}}


# --- defaults ---------------------------------------------------------------------------------


def test_defaults_follow_the_spec():
    config = ScheduleConfig().model_dump(mode="json")
    assert config["schedule"]["state"] == "normal"
    assert config["schedule"]["cycle"] is None
    assert config["run"] == {"timeout_hours": 48.0, "rerun_on_timeout": False,
                             "rerun_on_failure": {"count": 1, "interval_minutes": 5}}


def test_default_schedule_of_a_recurring_and_a_manual_task():
    recurring = default_schedule("recurring", "alice")
    assert recurring["schedule"]["cycle"] == {"type": "day", "time": "00:00"}
    assert recurring["basic"]["developer"] == recurring["basic"]["operation_owner"] == "alice"
    manual = default_schedule("manual", "alice")
    assert manual["schedule"]["cycle"] is None
    assert manual["dependency"] == {"upstream": [], "auto_from_lineage": False, "self_dependent": False}


# --- cycles -----------------------------------------------------------------------------------


@pytest.mark.parametrize("cycle", [
    {"type": "minute", "every_minutes": 15},
    {"type": "minute", "every_minutes": 1, "start_time": "08:00", "end_time": "18:30"},
    {"type": "hour", "every_hours": 2, "start_time": "06:00", "end_time": "22:00"},
    {"type": "hour", "hours": [0, 12, 23], "minute": 30},
    {"type": "day", "time": "02:30"},
    {"type": "week", "weekdays": [1, 5, 7], "time": "23:59"},
    {"type": "month", "days": [1, 15, 31]},
    {"type": "month", "last_day": True, "time": "01:00"},
    {"type": "month", "days": [10], "last_day": True},
    {"type": "cron", "expression": "*/5 0-6,22 1,15 jan-jun,dec mon-fri"},
])
def test_valid_cycles(cycle):
    parsed = ScheduleConfig.model_validate(with_cycle(cycle)).schedule.cycle
    assert parsed.type == cycle["type"]


def test_lists_are_sorted():
    parsed = ScheduleConfig.model_validate(with_cycle({"type": "week", "weekdays": [7, 1, 3]}))
    assert parsed.schedule.cycle.weekdays == [1, 3, 7]


@pytest.mark.parametrize("cycle, field, words", [
    ({"type": "minute", "every_minutes": 0}, "schedule.cycle.every_minutes", "greater than or equal to 1"),
    ({"type": "minute", "every_minutes": 60}, "schedule.cycle.every_minutes", "less than or equal to 59"),
    ({"type": "minute", "every_minutes": 5, "start_time": "18:00", "end_time": "08:00"},
     "schedule.cycle", "starts (18:00) after it ends (08:00)"),
    ({"type": "hour", "every_hours": 24}, "schedule.cycle.every_hours", "less than or equal to 23"),
    ({"type": "hour", "hours": [24]}, "schedule.cycle.hours.0", "less than or equal to 23"),
    ({"type": "hour", "hours": [1, 1]}, "schedule.cycle.hours", "only once"),
    ({"type": "hour"}, "schedule.cycle", "either every_hours"),
    ({"type": "hour", "every_hours": 2, "hours": [3]}, "schedule.cycle", "not both"),
    ({"type": "day", "time": "24:00"}, "schedule.cycle.time", "HH:MM"),
    ({"type": "day", "time": "7:5"}, "schedule.cycle.time", "HH:MM"),
    ({"type": "week", "weekdays": []}, "schedule.cycle.weekdays", "at least 1"),
    ({"type": "week", "weekdays": [0]}, "schedule.cycle.weekdays.0", "greater than or equal to 1"),
    ({"type": "week", "weekdays": [8]}, "schedule.cycle.weekdays.0", "less than or equal to 7"),
    ({"type": "month"}, "schedule.cycle", "at least one day"),
    ({"type": "month", "days": [32]}, "schedule.cycle.days.0", "less than or equal to 31"),
    ({"type": "yearly"}, "schedule.cycle", "does not match any of the expected tags"),
    ({"every_minutes": 5}, "schedule.cycle", "needs a type: one of minute, hour, day, week, month, cron"),
    ({"type": "day", "at": "01:00"}, "schedule.cycle.at", "not a known field"),
])
def test_invalid_cycles_name_the_field(cycle, field, words):
    issues = issues_of(with_cycle(cycle))
    assert words in issues[field], issues


# --- cron -------------------------------------------------------------------------------------


@pytest.mark.parametrize("expression", [
    "* * * * *", "0 0 1 1 0", "59 23 31 12 7", "0-59/15 */2 1-31/3 * 1-5", "5,10,15 8-18 * * sun,sat",
    "0 2 * FEB,Mar *", "30 4 28 * *",
])
def test_valid_cron(expression):
    ScheduleConfig.model_validate(with_cycle({"type": "cron", "expression": expression}))


@pytest.mark.parametrize("expression, words", [
    ("61 * * * *", "the minute field: 61 is out of range 0-59"),
    ("* 24 * * *", "the hour field: 24 is out of range 0-23"),
    ("* * 0 * *", "the day-of-month field: 0 is out of range 1-31"),
    ("* * * 13 *", "the month field: 13 is out of range 1-12"),
    ("* * * * 8", "the day-of-week field: 8 is out of range 0-7"),
    ("* * * foo *", "the month field: 'foo' is not a number or a name (jan"),
    ("* * * * 5-1", "the day-of-week field: the range '5-1' ends before it starts"),
    ("*/0 * * * *", "the minute field: the step in '*/0' must be at least 1"),
    ("1,,2 * * * *", "the minute field: '' is not a value"),
    ("* * * *", "has 4"),
    ("0 0 * * * *", "has 6"),
    ("every minute please", "has 3"),
])
def test_invalid_cron_names_the_field(expression, words):
    issues = issues_of(with_cycle({"type": "cron", "expression": expression}))
    assert words in issues["schedule.cycle.expression"]


# --- time zone, dates, state, priority --------------------------------------------------------


@pytest.mark.parametrize("zone", ["UTC", "Asia/Shanghai", "America/Argentina/Buenos_Aires", "Europe/Paris"])
def test_valid_time_zones(zone):
    assert ScheduleConfig.model_validate({"schedule": {"timezone": zone}}).schedule.timezone == zone


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "../etc/passwd", "+08:00"])
def test_invalid_time_zones(zone):
    assert "is not a time zone" in issues_of({"schedule": {"timezone": zone}})["schedule.timezone"]


def test_effective_range():
    config = ScheduleConfig.model_validate(
        {"schedule": {"effective_from": "2024-01-01", "effective_to": "2024-12-31"}})
    assert str(config.schedule.effective_to) == "2024-12-31"
    issues = issues_of({"schedule": {"effective_from": "2025-01-01", "effective_to": "2024-12-31"}})
    assert "is after effective_to" in issues["schedule"]
    assert "schedule.effective_from" in issues_of({"schedule": {"effective_from": "2024-02-30"}})


@pytest.mark.parametrize("section, value", [("state", "stopped"), ("priority", "urgent")])
def test_state_and_priority_are_choices(section, value):
    assert "Input should be" in issues_of({"schedule": {section: value}})[f"schedule.{section}"]


# --- run configuration ------------------------------------------------------------------------


@pytest.mark.parametrize("hours", [0, 0.5, 1.25, 48, 167.99, 168])
def test_valid_timeouts(hours):
    assert ScheduleConfig.model_validate({"run": {"timeout_hours": hours}}).run.timeout_hours == hours


@pytest.mark.parametrize("hours, words", [
    (-1, "greater than or equal to 0"), (168.01, "less than or equal to 168"),
    (1.234, "more than two decimals"), ("soon", "valid number"),
])
def test_invalid_timeouts(hours, words):
    assert words in issues_of({"run": {"timeout_hours": hours}})["run.timeout_hours"]


@pytest.mark.parametrize("rerun, field, words", [
    ({"count": 11}, "run.rerun_on_failure.count", "less than or equal to 10"),
    ({"count": -1}, "run.rerun_on_failure.count", "greater than or equal to 0"),
    ({"interval_minutes": 0}, "run.rerun_on_failure.interval_minutes", "greater than or equal to 1"),
    ({"interval_minutes": 61}, "run.rerun_on_failure.interval_minutes", "less than or equal to 60"),
])
def test_rerun_ranges(rerun, field, words):
    assert words in issues_of({"run": {"rerun_on_failure": rerun}})[field]


# --- dependency and parameters ----------------------------------------------------------------


def test_dependency():
    config = ScheduleConfig.model_validate({"dependency": {"upstream": [3, 1], "self_dependent": True}})
    assert config.dependency.upstream == [3, 1] and config.dependency.self_dependent
    assert "listed twice" in issues_of({"dependency": {"upstream": [2, 2]}})["dependency"]
    assert "dependency.upstream.0" in issues_of({"dependency": {"upstream": [0]}})


def test_parameters():
    config = ScheduleConfig.model_validate({"parameters": [{"name": "region", "value": "eu"},
                                                           {"name": "day", "value": "${yyyyMMdd-1}"}]})
    assert [p.name for p in config.parameters] == ["region", "day"]


@pytest.mark.parametrize("name, words", [
    ("1abc", "invalid parameter name"), ("has space", "invalid parameter name"), ("", "invalid parameter name"),
    ("x" * 33, "longer than 32"), ("bizdate", "built-in"),
])
def test_invalid_parameter_names(name, words):
    assert words in issues_of({"parameters": [{"name": name, "value": "1"}]})["parameters.0.name"]


def test_parameter_defined_twice():
    issues = issues_of({"parameters": [{"name": "a", "value": "1"}, {"name": "a", "value": "2"}]})
    assert issues == {"parameters": "parameter 'a' is defined twice"}


def test_every_problem_at_once():
    issues = issues_of({"schedule": {"cycle": {"type": "minute", "every_minutes": 99}, "timezone": "Nowhere"},
                        "run": {"timeout_hours": 200}, "unknown": 1})
    assert set(issues) == {"schedule.cycle.every_minutes", "schedule.timezone", "run.timeout_hours", "unknown"}


# --- the JSON Schema --------------------------------------------------------------------------


def test_packaged_schema_is_up_to_date():
    """Regenerate with ``python -m jupyter_offline_pipeline.service.schedule``."""
    assert json.loads(SCHEMA_PATH.read_text()) == schedule_json_schema()


def test_schema_is_valid_and_describes_every_field():
    schema = schedule_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    for model in [schema, *schema["$defs"].values()]:
        for name, prop in model.get("properties", {}).items():
            assert prop.get("description"), f"{model.get('title')}.{name} has no description"


def test_schema_accepts_what_the_model_accepts():
    validator = jsonschema.Draft202012Validator(schedule_json_schema())
    config = ScheduleConfig.model_validate(
        {"schedule": {"cycle": {"type": "week", "weekdays": [1]}}, "parameters": [{"name": "p", "value": "v"}]})
    assert not list(validator.iter_errors(config.model_dump(mode="json")))
    bad = {"schedule": {"cycle": {"type": "day", "time": "25:00"}}}
    assert list(validator.iter_errors(bad))
