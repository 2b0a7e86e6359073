"""When a task's instances are due: an APScheduler trigger for each cycle of a schedule
configuration (SPEC section 6), and the business date of a run (section 5).

Times are wall-clock times in the schedule's time zone, within its effective dates.
Across daylight saving changes a wall-clock time makes at most one run. A time that happens
twice (02:30 when clocks fall back) fires the first time only. Of the times that do not
exist (clocks jump from 02:00 to 03:00), APScheduler yields the first of the day, which fires
an hour later (a daily 02:30 runs at 03:30 that day) and skips the others (an every-15-minutes
cycle loses the rest of 02:xx).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger

from ..service.schedule import _CRON_FIELDS, _CRON_ITEM, CronCycle, HourCycle, MinuteCycle, MonthCycle, \
    ScheduleConfig, WeekCycle

_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class Run:
    scheduled_time: datetime  # aware, in the schedule's time zone
    business_date: date


def trigger_for(config: ScheduleConfig) -> BaseTrigger | None:
    """The trigger of the configuration's cycle; None for a task without one (manual)."""
    schedule = config.schedule
    if schedule.cycle is None:
        return None
    zone = ZoneInfo(schedule.timezone)
    bounds = {"timezone": zone, "start_date": datetime.combine(schedule.effective_from, time.min, zone),
              "end_date": datetime.combine(schedule.effective_to, time.max, zone)}
    return _OncePerWallTime(_cycle_trigger(schedule.cycle, bounds), zone)


def business_date(scheduled: datetime) -> date:
    """The day before the scheduled day; ``scheduled`` is in the schedule's time zone, as
    the triggers and ``next_runs`` give it."""
    return scheduled.date() - timedelta(days=1)


def next_runs(config: ScheduleConfig, count: int = 10, after: datetime | None = None) -> list[Run]:
    """The next ``count`` runs strictly after ``after`` (aware; default: now)."""
    trigger = trigger_for(config)
    if trigger is None:
        return []
    zone = ZoneInfo(config.schedule.timezone)
    start = (after or datetime.now(zone)).astimezone(timezone.utc) + _MICROSECOND  # in UTC: adding drops a fold
    fire = trigger.get_next_fire_time(None, start.astimezone(zone))
    runs = []
    while fire is not None and len(runs) < count:
        runs.append(Run(fire, business_date(fire)))
        fire = trigger.get_next_fire_time(fire, fire)
    return runs


def runs_between(config: ScheduleConfig, start: datetime, end: datetime) -> list[Run]:
    """Every run with ``start`` < scheduled time <= ``end`` (both aware): what came due
    in that span, for catching up and for a tick of the scheduler."""
    trigger = trigger_for(config)
    if trigger is None:
        return []
    zone = ZoneInfo(config.schedule.timezone)
    fire = trigger.get_next_fire_time(None, (start.astimezone(timezone.utc) + _MICROSECOND).astimezone(zone))
    runs = []
    while fire is not None and fire.timestamp() <= end.timestamp():
        runs.append(Run(fire, business_date(fire)))
        fire = trigger.get_next_fire_time(fire, fire)
    return runs


def runs_on(config: ScheduleConfig, day: date) -> list[Run]:
    """The runs whose business date is ``day`` (those scheduled on the day after); none on
    a day the cycle skips (a weekly task's other days)."""
    zone = ZoneInfo(config.schedule.timezone)
    scheduled_day = day + timedelta(days=1)
    start = datetime.combine(scheduled_day, time.min, zone) - _MICROSECOND
    return [run for run in runs_between(config, start, datetime.combine(scheduled_day, time.max, zone))
            if run.business_date == day]


# --- the cycles -------------------------------------------------------------------------


def _cycle_trigger(cycle, bounds: dict) -> BaseTrigger:
    if isinstance(cycle, MinuteCycle):
        return _at_times(_every(cycle.start_time, cycle.end_time, cycle.every_minutes), bounds)
    if isinstance(cycle, HourCycle):
        times = (_every(cycle.start_time, cycle.end_time, 60 * cycle.every_hours) if cycle.every_hours
                 else [(hour, cycle.minute) for hour in cycle.hours])
        return _at_times(times, bounds)
    if isinstance(cycle, WeekCycle):  # ISO 1 = Monday; APScheduler's 0 = Monday
        return _at_times([_hh_mm(cycle.time)], bounds, day_of_week=_listed(d - 1 for d in cycle.weekdays))
    if isinstance(cycle, MonthCycle):  # a month without the day has no match: no instance
        days = [str(d) for d in cycle.days] + (["last"] if cycle.last_day else [])
        return _at_times([_hh_mm(cycle.time)], bounds, day=",".join(days))
    if isinstance(cycle, CronCycle):
        return _cron(cycle.expression, bounds)
    return _at_times([_hh_mm(cycle.time)], bounds)  # day


def _hh_mm(text: str) -> tuple[int, int]:
    hour, minute = text.split(":")
    return int(hour), int(minute)


def _every(start: str, end: str, minutes: int) -> list[tuple[int, int]]:
    """The times of day from ``start`` to ``end`` (inclusive), ``minutes`` apart: the
    interval restarts at ``start`` each day."""
    first, last = (60 * h + m for h, m in (_hh_mm(start), _hh_mm(end)))
    return [divmod(t, 60) for t in range(first, last + 1, minutes)]


def _at_times(times: list[tuple[int, int]], bounds: dict, **days: str) -> BaseTrigger:
    """A cron trigger per set of hours sharing their minutes (an interval that does not
    divide 60 gives hours different minutes)."""
    minutes_by_hour = defaultdict(list)
    for hour, minute in times:
        minutes_by_hour[hour].append(minute)
    hours_by_minutes = defaultdict(list)
    for hour, minutes in minutes_by_hour.items():
        hours_by_minutes[tuple(minutes)].append(hour)
    return _any([CronTrigger(hour=_listed(hours), minute=_listed(minutes), **days, **bounds)
                 for minutes, hours in hours_by_minutes.items()])


def _any(triggers: list[BaseTrigger]) -> BaseTrigger:
    return triggers[0] if len(triggers) == 1 else OrTrigger(triggers)


def _listed(values) -> str:
    return ",".join(str(v) for v in values)


# --- cron ---------------------------------------------------------------------------------


def _cron(expression: str, bounds: dict) -> BaseTrigger:
    """Crontab rules, not APScheduler's: 0 and 7 are Sunday, and when both the day of month
    and the day of week are restricted (neither starts with *) either one matching is enough."""
    texts = expression.split()
    minute, hour, day, month, weekday = (_expand(text, *spec) for text, spec in zip(texts, _CRON_FIELDS))
    common = {"minute": _listed(minute), "hour": _listed(hour), "month": _listed(month), **bounds}
    by_day = {"day": _listed(day)}
    by_weekday = {"day_of_week": _listed(sorted({(d - 1) % 7 for d in weekday}))}  # crontab 0/7 = Sunday
    if texts[2].startswith("*") or texts[4].startswith("*"):
        return CronTrigger(**common, **by_day, **by_weekday)
    return OrTrigger([CronTrigger(**common, **by_day), CronTrigger(**common, **by_weekday)])


def _expand(text: str, field: str, low: int, high: int, names: dict[str, int]) -> list[int]:
    """The values a (validated) crontab field matches."""
    values: set[int] = set()
    for item in text.split(","):
        match = _CRON_ITEM.fullmatch(item)
        start, end = (low, high) if match["range"] == "*" else (_value(match["start"], names), None)
        if end is None:
            end = _value(match["end"], names) if match["end"] else (high if match["step"] else start)
        values.update(range(start, end + 1, int(match["step"] or 1)))
    return sorted(values)


def _value(text: str, names: dict[str, int]) -> int:
    return int(text) if text.isdigit() else names[text.lower()]


# --- daylight saving ------------------------------------------------------------------------


class _OncePerWallTime(BaseTrigger):
    """Wraps a trigger so that runs strictly increase, never precede ``now``, and a wall-clock
    time fires once (APScheduler fires a repeated 02:30 twice, loses the fold of a ``now`` in
    the repeated hour, and gives a missing 02:30 at a wall time that is not the instant's)."""

    def __init__(self, trigger: BaseTrigger, zone: ZoneInfo):
        self.trigger, self.zone = trigger, zone

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        fire = self.trigger.get_next_fire_time(previous_fire_time, now)
        while fire is not None and (_second_time(fire) or _too_early(fire, previous_fire_time, now)):
            fire = self.trigger.get_next_fire_time(fire, fire)
        return fire and _normalized(fire, self.zone)

    def __str__(self) -> str:
        return f"once per wall time: {self.trigger}"


def _too_early(fire: datetime, previous: datetime | None, now: datetime) -> bool:
    # as instants: comparing two times of one zone ignores their fold
    return fire.timestamp() < now.timestamp() or (previous is not None and fire.timestamp() <= previous.timestamp())


def _offsets(moment: datetime) -> tuple[timedelta, timedelta]:
    return moment.replace(fold=0).utcoffset(), moment.replace(fold=1).utcoffset()


def _second_time(moment: datetime) -> bool:
    """A wall time the clocks fall back over, the second time it happens."""
    before, after = _offsets(moment)
    return moment.fold == 1 and before > after


def _normalized(moment: datetime, zone: ZoneInfo) -> datetime:
    """A wall time in a spring-forward gap as the real wall time of its instant (02:30 ->
    03:30); only then through UTC, which the far dates 1-01-01 and 9999-12-31 could overflow."""
    before, after = _offsets(moment)
    if before < after:
        return moment.astimezone(timezone.utc).astimezone(zone)
    return moment if before > after else moment.replace(fold=0)  # APScheduler carries a fold over
