"""When a person's weekly summary is due: the ``summary`` config value.

Contracts:

- ``parse_summary_at`` accepts ``"sun 18:00"`` (a day name ``mon``..``sun`` and a
  24-hour ``HH:MM``), or ``"off"`` (returns ``None``); anything else raises
  ``ValueError`` with a message quoting the value, which the config loader
  prefixes with the key path (``people[0].summary: ...``).
- ``last_moment`` is the latest summary moment at or before ``now``, as an
  aware UTC datetime, following the wall clock in the person's time zone with
  the schedule's DST rule (a time in the spring-forward gap moves to the end of
  the gap, a repeated time counts once).
- ``week_key`` names the ISO week of a moment's local date (``2026-W47``): the
  outbox's dedupe key, so each person gets at most one summary per week.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from heupreminder.timetable.schedule import DAY_NAMES, Schedule, ScheduleError, next_due, parse_time


class SummaryAt(NamedTuple):
    weekday: int  # Monday = 0 .. Sunday = 6
    at: time

    def __str__(self) -> str:
        return f"{DAY_NAMES[self.weekday]} {self.at:%H:%M}"


DEFAULT_SUMMARY_AT = SummaryAt(6, time(18, 0))


def parse_summary_at(value: object) -> SummaryAt | None:
    """``"sun 18:00"`` -> SummaryAt(6, 18:00); ``"off"`` -> None."""
    if value is None or isinstance(value, SummaryAt):
        return value
    if isinstance(value, tuple | list) and len(value) == 2:  # pydantic re-validation
        return SummaryAt(int(value[0]), value[1])
    problem = (f"{value!r} is not a day and time for the weekly summary "
               '(e.g. "sun 18:00"), or "off"')
    if not isinstance(value, str):
        raise ValueError(problem)
    text = value.strip().lower()
    if text == "off":
        return None
    day, _, clock = text.partition(" ")
    if day[:3] not in DAY_NAMES or day not in (day[:3], _LONG_NAMES.get(day[:3])):
        raise ValueError(problem)
    try:
        at = parse_time(clock.strip())
    except ScheduleError:
        raise ValueError(problem) from None
    return SummaryAt(DAY_NAMES.index(day[:3]), at)


_LONG_NAMES = {"mon": "monday", "tue": "tuesday", "wed": "wednesday", "thu": "thursday",
               "fri": "friday", "sat": "saturday", "sun": "sunday"}


def last_moment(at: SummaryAt, zone: ZoneInfo, now: datetime) -> datetime:
    """The latest summary moment at or before the aware ``now`` (UTC)."""
    if now.tzinfo is None:
        raise ValueError("last_moment needs an aware datetime")
    schedule = Schedule.daily_at(at.at, frozenset({at.weekday}))
    moment = next_due(schedule, zone, now - timedelta(days=8))
    while (following := next_due(schedule, zone, moment)) <= now:
        moment = following
    return moment.astimezone(UTC)


def week_key(moment: datetime, zone: ZoneInfo) -> str:
    """The ISO week of the moment's local date, e.g. ``2026-W47``."""
    year, week, _ = moment.astimezone(zone).date().isocalendar()
    return f"{year}-W{week:02d}"
