"""The scheduler's triggers: every cycle, month ends, leap days, windows, the effective
range, daylight saving changes and crontab's rules, with the clock passed in (``after``)."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jupyter_offline_pipeline.scheduler.triggers import business_date, next_runs, trigger_for
from jupyter_offline_pipeline.service.schedule import ScheduleConfig

BERLIN = ZoneInfo("Europe/Berlin")


def config(cycle, timezone="UTC", **schedule) -> ScheduleConfig:
    return ScheduleConfig.model_validate({"schedule": {"cycle": cycle, "timezone": timezone, **schedule}})


def times(cycle, after, count=10, timezone="UTC", **schedule) -> list[str]:
    """The runs' local times, as 'YYYY-MM-DD HH:MM'."""
    zone = ZoneInfo(timezone)
    runs = next_runs(config(cycle, timezone, **schedule), count, datetime.fromisoformat(after).replace(tzinfo=zone))
    return [r.scheduled_time.strftime("%Y-%m-%d %H:%M") for r in runs]


def test_a_manual_task_has_no_trigger():
    assert trigger_for(ScheduleConfig()) is None
    assert next_runs(ScheduleConfig()) == []


def test_day_and_business_date():
    runs = next_runs(config({"type": "day", "time": "00:30"}), 2, datetime(2026, 1, 1, 0, 30, tzinfo=ZoneInfo("UTC")))
    assert [(r.scheduled_time.isoformat(), r.business_date) for r in runs] == [  # strictly after ``after``
        ("2026-01-02T00:30:00+00:00", date(2026, 1, 1)), ("2026-01-03T00:30:00+00:00", date(2026, 1, 2))]
    assert business_date(datetime(2024, 3, 1, 0, 0, tzinfo=BERLIN)) == date(2024, 2, 29)


def test_minute_window_restarts_each_day():
    assert times({"type": "minute", "every_minutes": 25, "start_time": "08:10", "end_time": "09:40"},
                 "2026-05-04 00:00", 6) == ["2026-05-04 08:10", "2026-05-04 08:35", "2026-05-04 09:00",
                                            "2026-05-04 09:25", "2026-05-05 08:10", "2026-05-05 08:35"]


def test_hour_window_and_chosen_hours():
    assert times({"type": "hour", "every_hours": 5, "start_time": "03:15", "end_time": "18:00"},
                 "2026-05-04 00:00", 4) == ["2026-05-04 03:15", "2026-05-04 08:15", "2026-05-04 13:15",
                                            "2026-05-05 03:15"]
    assert times({"type": "hour", "hours": [23, 6], "minute": 5}, "2026-05-04 00:00", 3) == [
        "2026-05-04 06:05", "2026-05-04 23:05", "2026-05-05 06:05"]


def test_week_runs_on_chosen_weekdays_only():
    # 2026-05-04 is a Monday; ISO 7 is Sunday
    assert times({"type": "week", "weekdays": [1, 7], "time": "09:00"}, "2026-05-04 12:00", 3) == [
        "2026-05-10 09:00", "2026-05-11 09:00", "2026-05-17 09:00"]


def test_month_days_that_a_month_lacks_make_no_instance():
    assert times({"type": "month", "days": [31], "time": "01:00"}, "2026-01-01 00:00", 4) == [
        "2026-01-31 01:00", "2026-03-31 01:00", "2026-05-31 01:00", "2026-07-31 01:00"]
    assert times({"type": "month", "days": [29]}, "2027-01-30 00:00", 2) == ["2027-03-29 00:00", "2027-04-29 00:00"]


def test_month_last_day_in_leap_and_common_years():
    assert times({"type": "month", "last_day": True, "time": "23:00"}, "2024-01-31 23:00", 2) == [
        "2024-02-29 23:00", "2024-03-31 23:00"]
    assert times({"type": "month", "last_day": True}, "2026-02-01 00:00", 2) == ["2026-02-28 00:00", "2026-03-31 00:00"]
    # the 30th and the last day coincide in April: one instance
    assert times({"type": "month", "days": [30], "last_day": True}, "2026-03-30 12:00", 3) == [
        "2026-03-31 00:00", "2026-04-30 00:00", "2026-05-30 00:00"]


def test_leap_day():
    assert times({"type": "cron", "expression": "0 6 29 2 *"}, "2026-01-01 00:00", 2) == [
        "2028-02-29 06:00", "2032-02-29 06:00"]


def test_effective_range_is_inclusive_in_the_zone():
    cycle = {"type": "day", "time": "00:00"}
    assert times(cycle, "2026-01-01 00:00", 10, "Asia/Shanghai", effective_from="2026-03-01",
                 effective_to="2026-03-03") == ["2026-03-01 00:00", "2026-03-02 00:00", "2026-03-03 00:00"]
    assert times({"type": "day", "time": "23:59"}, "2026-03-03 12:00", 5, effective_to="2026-03-04") == [
        "2026-03-03 23:59", "2026-03-04 23:59"]


def test_runs_are_in_the_schedules_zone():
    runs = next_runs(config({"type": "day", "time": "00:30"}, "Asia/Shanghai"), 1,
                     datetime(2026, 1, 1, 17, 0, tzinfo=ZoneInfo("UTC")))  # 01:00 on the 2nd in Shanghai
    assert runs[0].scheduled_time.isoformat() == "2026-01-03T00:30:00+08:00"
    assert runs[0].business_date == date(2026, 1, 2)


def test_spring_forward_a_missing_time_runs_an_hour_later_once():
    # 2026-03-29 in Berlin: 02:00 CET becomes 03:00 CEST, so 02:30 does not exist
    runs = next_runs(config({"type": "day", "time": "02:30"}, "Europe/Berlin"), 3, datetime(2026, 3, 28, 12, tzinfo=BERLIN))
    assert [r.scheduled_time.isoformat() for r in runs] == [
        "2026-03-29T03:30:00+02:00", "2026-03-30T02:30:00+02:00", "2026-03-31T02:30:00+02:00"]
    assert runs[0].business_date == date(2026, 3, 28)
    # a run due at 03:30 anyway is the same instant: one instance
    assert times({"type": "hour", "hours": [2, 3], "minute": 30}, "2026-03-29 00:00", 3, "Europe/Berlin") == [
        "2026-03-29 03:30", "2026-03-30 02:30", "2026-03-30 03:30"]


def test_fall_back_a_repeated_time_runs_once():
    # 2026-10-25 in Berlin: 03:00 CEST becomes 02:00 CET, so 02:30 happens twice
    runs = next_runs(config({"type": "day", "time": "02:30"}, "Europe/Berlin"), 2, datetime(2026, 10, 24, 12, tzinfo=BERLIN))
    assert [r.scheduled_time.isoformat() for r in runs] == ["2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"]
    assert times({"type": "minute", "every_minutes": 20, "start_time": "02:00", "end_time": "03:00"},
                 "2026-10-25 00:00", 5, "Europe/Berlin") == [
        "2026-10-25 02:00", "2026-10-25 02:20", "2026-10-25 02:40", "2026-10-25 03:00", "2026-10-26 02:00"]
    # asked during the repeated hour: what fired the first time does not fire again
    second_pass = datetime(2026, 10, 25, 2, 10, tzinfo=BERLIN).replace(fold=1)
    assert next_runs(config({"type": "day", "time": "02:30"}, "Europe/Berlin"), 1, second_pass)[0] \
        .scheduled_time.isoformat() == "2026-10-26T02:30:00+01:00"


@pytest.mark.parametrize("expression, expected", [
    ("0 9 * * 0", ["2026-05-10 09:00", "2026-05-17 09:00"]),  # 0 is Sunday (APScheduler's 0 is Monday)
    ("0 9 * * 7", ["2026-05-10 09:00", "2026-05-17 09:00"]),  # and so is 7
    ("0 9 * * 5-7", ["2026-05-08 09:00", "2026-05-09 09:00", "2026-05-10 09:00", "2026-05-15 09:00"]),
    ("0 9 * * sat,sun", ["2026-05-09 09:00", "2026-05-10 09:00", "2026-05-16 09:00"]),
    ("*/20 8-9 * * mon", ["2026-05-04 08:00", "2026-05-04 08:20", "2026-05-04 08:40", "2026-05-04 09:00",
                          "2026-05-04 09:20", "2026-05-04 09:40", "2026-05-11 08:00"]),
    ("15 10 1,15 jan-mar/2 *", ["2026-01-01 10:15", "2026-01-15 10:15", "2026-03-01 10:15", "2026-03-15 10:15",
                                "2027-01-01 10:15"]),
    ("0 0 31 2 *", []),  # never: no instance, no endless search
])
def test_cron(expression, expected):
    assert times({"type": "cron", "expression": expression}, "2026-01-01 00:00" if "jan" in expression or "31 2" in expression
                 else "2026-05-04 00:00", len(expected) or 3) == expected


def test_cron_day_of_month_or_day_of_week():
    # crontab: both restricted -> either matches (the 13th, or any Friday)
    assert times({"type": "cron", "expression": "0 9 13 * 5"}, "2026-01-01 00:00", 5) == [
        "2026-01-02 09:00", "2026-01-09 09:00", "2026-01-13 09:00", "2026-01-16 09:00", "2026-01-23 09:00"]
    # starting with *: both must match (the 1st, 11th, 21st or 31st, on a Friday)
    assert times({"type": "cron", "expression": "0 9 */10 * 5"}, "2026-01-01 00:00", 2) == [
        "2026-05-01 09:00", "2026-07-31 09:00"]


# --- properties -------------------------------------------------------------------------------

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Shanghai", "Australia/Lord_Howe", "Asia/Kolkata"]
HH_MM = st.builds("{:02d}:{:02d}".format, st.integers(0, 23), st.integers(0, 59))
CYCLES = st.one_of(
    st.builds(lambda n, a, b: {"type": "minute", "every_minutes": n, "start_time": min(a, b), "end_time": max(a, b)},
              st.integers(1, 59), HH_MM, HH_MM),
    st.builds(lambda n, a, b: {"type": "hour", "every_hours": n, "start_time": min(a, b), "end_time": max(a, b)},
              st.integers(1, 23), HH_MM, HH_MM),
    st.builds(lambda t: {"type": "day", "time": t}, HH_MM),
    st.builds(lambda d, t: {"type": "week", "weekdays": sorted(d), "time": t},
              st.sets(st.integers(1, 7), min_size=1), HH_MM),
    st.builds(lambda d, last, t: {"type": "month", "days": sorted(d), "last_day": last or not d, "time": t},
              st.sets(st.integers(1, 31)), st.booleans(), HH_MM),
)


def _minutes(text: str) -> int:
    return 60 * int(text[:2]) + int(text[3:])


@settings(max_examples=150, deadline=None)
@given(cycle=CYCLES, zone=st.sampled_from(ZONES),
       after=st.datetimes(datetime(2000, 1, 1), datetime(2099, 12, 31), timezones=st.just(ZoneInfo("UTC"))))
def test_runs_increase_fire_at_configured_times_and_business_date_is_the_day_before(cycle, zone, after):
    runs = next_runs(config(cycle, zone), 12, after)
    assert runs, "every cycle fires within its default effective range"
    instants = [after] + [r.scheduled_time for r in runs]
    assert all(a < b for a, b in zip(instants, instants[1:]))
    local = [r.scheduled_time.astimezone(ZoneInfo(zone)) for r in runs]
    assert len({(t.date(), t.hour, t.minute) for t in local}) == len(local)  # a wall time fires once
    for run, moment in zip(runs, local):
        assert run.scheduled_time.tzinfo == ZoneInfo(zone) and run.scheduled_time == moment
        assert run.business_date == moment.date() - timedelta(days=1)
        minute_of_day = 60 * moment.hour + moment.minute
        if moment.utcoffset() == (moment - timedelta(hours=3)).utcoffset() == (moment + timedelta(hours=3)).utcoffset():
            _assert_at_a_configured_time(cycle, moment, minute_of_day)  # away from clock changes


def _assert_at_a_configured_time(cycle, moment, minute_of_day):
    if cycle["type"] in ("minute", "hour"):
        step = cycle.get("every_minutes") or 60 * cycle["every_hours"]
        start, end = _minutes(cycle["start_time"]), _minutes(cycle["end_time"])
        assert start <= minute_of_day <= end and (minute_of_day - start) % step == 0
        return
    assert minute_of_day == _minutes(cycle["time"])
    if cycle["type"] == "week":
        assert moment.isoweekday() in cycle["weekdays"]
    if cycle["type"] == "month":
        last = (moment.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        assert moment.day in cycle["days"] or (cycle["last_day"] and moment.day == last.day)


@settings(max_examples=60, deadline=None)
@given(minute=st.integers(0, 59), hour=st.integers(0, 23), weekday=st.integers(0, 7))
def test_cron_weekday_numbers_are_crontabs(minute, hour, weekday):
    runs = next_runs(config({"type": "cron", "expression": f"{minute} {hour} * * {weekday}"}), 3,
                     datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC")))
    assert [r.scheduled_time.isoweekday() % 7 for r in runs] == [weekday % 7] * 3
    assert all((r.scheduled_time.hour, r.scheduled_time.minute) == (hour, minute) for r in runs)
