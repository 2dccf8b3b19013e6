"""Tests for heupreminder.timetable.schedule: parsing, canonical text and DST-safe next_due."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from itertools import combinations, pairwise
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from heupreminder.timetable.schedule import (
    ALL_DAYS,
    Schedule,
    ScheduleError,
    format_days,
    next_due,
    parse_days,
    parse_time,
    validate_cron,
)

AMS = ZoneInfo("Europe/Amsterdam")
NY = ZoneInfo("America/New_York")
# Transition dates in 2025/2026; on both zones the gap is 02:00-03:00 local. The repeated hour
# is 02:00-03:00 in Amsterdam but 01:00-02:00 in New York.
SPRING = {"Europe/Amsterdam": {date(2025, 3, 30), date(2026, 3, 29)},
          "America/New_York": {date(2025, 3, 9), date(2026, 3, 8)}}
FALL = {"Europe/Amsterdam": {date(2025, 10, 26), date(2026, 10, 25)},
        "America/New_York": {date(2025, 11, 2), date(2026, 11, 1)}}
SUMMER_OFFSET = {"Europe/Amsterdam": timedelta(hours=2), "America/New_York": timedelta(hours=-4)}
FALL_BACK_AT = {"Europe/Amsterdam": time(3), "America/New_York": time(2)}  # local summer time


def occurrences(schedule: Schedule, tz: ZoneInfo, start: datetime, end: datetime
                ) -> Iterator[datetime]:
    """Feed each result back in as `after`, like the scheduler does, until `end`."""
    due = next_due(schedule, tz, start)
    while due < end:
        yield due
        due = next_due(schedule, tz, due)


# --- parsing ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("07:30", time(7, 30)), ("7:30", time(7, 30)), ("00:00", time(0, 0)),
    ("23:59:59", time(23, 59, 59)), ("07:30:05", time(7, 30, 5)), (" 18:00 ", time(18, 0)),
])
def test_parse_time_good(text: str, expected: time) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", [
    "25:00", "24:00", "7:3", "abc", "07:60", "", "07:30:60", "07:30:00:00", "-1:00", "07h30",
    "٠٧:٣٠", "123:00", "07:30pm",
])
def test_parse_time_bad(text: str) -> None:
    with pytest.raises(ScheduleError, match=re.escape(f"{text!r} is not a time")):
        parse_time(text)


@pytest.mark.parametrize(("text", "expected"), [
    ("daily", ALL_DAYS), ("DAILY", ALL_DAYS), ("mon-fri", {0, 1, 2, 3, 4}),
    ("weekdays", {0, 1, 2, 3, 4}), ("weekends", {5, 6}), ("sat,sun", {5, 6}),
    ("mon,wed,fri", {0, 2, 4}), ("mon-wed,sat", {0, 1, 2, 5}), ("fri-mon", {4, 5, 6, 0}),
    (" Mon - Fri ", {0, 1, 2, 3, 4}), ("sun", {6}), ("weekends,mon", {5, 6, 0}),
    ("sun-sat", ALL_DAYS), ("tue-tue", {1}),
])
def test_parse_days_good(text: str, expected: set[int]) -> None:
    assert parse_days(text) == frozenset(expected)


@pytest.mark.parametrize("text", [
    "", "mon-", "-fri", "funday", "mon,,fri", "mon,", "mon wed", "1-5", "daily-fri", "maandag",
])
def test_parse_days_bad(text: str) -> None:
    with pytest.raises(ScheduleError, match=re.escape(f"{text!r} is not a list of days")):
        parse_days(text)


@pytest.mark.parametrize(("days", "text"), [
    (ALL_DAYS, "daily"), ({0, 1, 2, 3, 4}, "mon-fri"), ({5, 6}, "sat,sun"),
    ({0, 2, 4}, "mon,wed,fri"), ({4, 5, 6, 0}, "fri-mon"), ({0, 1, 2, 5}, "mon-wed,sat"),
    ({3}, "thu"),
])
def test_format_days_canonical(days: set[int], text: str) -> None:
    assert format_days(frozenset(days)) == text


def test_format_days_round_trips_every_day_set() -> None:
    for n in range(1, 8):
        for combo in combinations(range(7), n):
            days = frozenset(combo)
            assert parse_days(format_days(days)) == days, combo


@pytest.mark.parametrize("expr", [
    "0 18 * * *", "30 2 * * *", "*/15 9-17 * * mon-fri", "0 8 * * 0", "0 8 * * 7",
    "0 8 * * 5-7", "0 0 1 1 *", "0 12 29 2 *", "0 9 1 * 1", "  0  18 * * * ", "0 7 * * */2",
])
def test_validate_cron_good(expr: str) -> None:
    validate_cron(expr)


@pytest.mark.parametrize("expr", [
    "", "0 18 * *", "0 18 * * * *", "61 * * * *", "0 24 * * *", "0 0 32 * *", "0 0 * 13 *",
    "0 0 * * 8", "0 0 * * funday", "0 0 30 2 *", "x * * * *", "@daily",
])
def test_validate_cron_bad(expr: str) -> None:
    with pytest.raises(ScheduleError, match=re.escape(repr(" ".join(expr.split())))):
        validate_cron(expr)


# --- Schedule text forms ---------------------------------------------------------------------

@pytest.mark.parametrize(("schedule", "text", "described"), [
    (Schedule.daily_at(time(7, 30), parse_days("mon-fri")), "at 07:30:00 mon-fri", "07:30 mon-fri"),
    (Schedule.daily_at(time(21, 5, 30)), "at 21:05:30 daily", "21:05:30 daily"),
    (Schedule.daily_at(time(9), parse_days("sat,sun")), "at 09:00:00 sat,sun", "09:00 sat,sun"),
    (Schedule.daily_at(time(0), parse_days("fri-mon")), "at 00:00:00 fri-mon", "00:00 fri-mon"),
    (Schedule.from_cron("0 18 * * *"), "cron 0 18 * * *", "cron 0 18 * * *"),
    (Schedule.from_cron(" 0  9 1 *   mon"), "cron 0 9 1 * mon", "cron 0 9 1 * mon"),
])
def test_text_round_trip(schedule: Schedule, text: str, described: str) -> None:
    assert schedule.to_text() == text
    assert Schedule.from_text(text) == schedule
    assert Schedule.from_text(schedule.to_text()).to_text() == text
    assert schedule.describe() == described


@pytest.mark.parametrize(("text", "expected"), [
    ("at 7:30", Schedule.daily_at(time(7, 30))),
    ("  at 07:30 mon - fri ", Schedule.daily_at(time(7, 30), parse_days("mon-fri"))),
    ("at 07:30 weekends", Schedule.daily_at(time(7, 30), frozenset({5, 6}))),
])
def test_from_text_is_lenient(text: str, expected: Schedule) -> None:
    assert Schedule.from_text(text) == expected


@pytest.mark.parametrize("text", ["", "at", "at 25:00", "at 07:30 funday", "cron 0 18 * *",
                                  "every day", "07:30"])
def test_from_text_bad(text: str) -> None:
    with pytest.raises(ScheduleError):
        Schedule.from_text(text)


@pytest.mark.parametrize("make", [
    lambda: Schedule(),
    lambda: Schedule(at=time(7), cron="0 7 * * *"),
    lambda: Schedule(at=time(7), days=frozenset()),
    lambda: Schedule(at=time(7), days=frozenset({7})),
    lambda: Schedule(cron="0 7 * * *", days=frozenset({0})),
    lambda: Schedule(at=time(7, tzinfo=UTC)),
    lambda: Schedule(cron="0 7 * *"),
])
def test_schedule_rejects_inconsistent_fields(make: Callable[[], Schedule]) -> None:
    with pytest.raises(ScheduleError):
        make()


# --- next_due: DST, one reminder per local date ----------------------------------------------

def at_schedule(at: time) -> Schedule:
    return Schedule.daily_at(at)


def cron_schedule(at: time) -> Schedule:
    return Schedule.from_cron(f"{at.minute} {at.hour} * * *")


@pytest.mark.parametrize("make", [at_schedule, cron_schedule], ids=["at", "cron"])
@pytest.mark.parametrize(("zone", "at"), [
    ("Europe/Amsterdam", time(2, 30)), ("Europe/Amsterdam", time(0, 0)),
    ("America/New_York", time(2, 30)), ("America/New_York", time(0, 0)),
    ("America/New_York", time(3, 0)), ("America/New_York", time(1, 30)),
])
def test_daily_exactly_once_per_local_date_over_two_years(
        make: Callable[[time], Schedule], zone: str, at: time) -> None:
    tz = ZoneInfo(zone)
    start, end = datetime(2025, 1, 1, tzinfo=tz), datetime(2027, 1, 1, tzinfo=tz)
    dues = list(occurrences(make(at), tz, start - timedelta(seconds=1), end))

    assert all(d.tzinfo is UTC for d in dues)  # datetime.UTC is timezone.utc
    assert all(a < b for a, b in pairwise(dues))
    local = [d.astimezone(tz) for d in dues]
    assert [lt.date() for lt in local] == [date(2025, 1, 1) + timedelta(n) for n in range(730)]
    for lt in local:
        if lt.date() in SPRING[zone] and time(2) <= at < time(3):
            assert lt.time() == time(3, 0), "a nonexistent time fires at the end of the gap"
        else:
            assert lt.time() == at
            assert lt.fold == 0, "an ambiguous time fires at its first occurrence"
        if lt.date() in FALL[zone]:
            assert lt.utcoffset() == (SUMMER_OFFSET[zone] if at < FALL_BACK_AT[zone] else
                                      SUMMER_OFFSET[zone] - timedelta(hours=1))


@pytest.mark.parametrize("make", [at_schedule, cron_schedule], ids=["at", "cron"])
def test_repeated_hour_never_fires_twice(make: Callable[[time], Schedule]) -> None:
    schedule = make(time(2, 30))
    first = datetime(2025, 10, 26, 0, 30, tzinfo=UTC)  # 02:30 CEST
    tomorrow = datetime(2025, 10, 27, 1, 30, tzinfo=UTC)  # 02:30 CET
    assert next_due(schedule, AMS, first - timedelta(microseconds=1)) == first
    # From the first 02:30 to the end of the repeated hour (03:00 CET = 02:00 UTC).
    after = first
    while after < datetime(2025, 10, 26, 2, 0, tzinfo=UTC):
        assert next_due(schedule, AMS, after) == tomorrow, after
        after += timedelta(minutes=5)


def test_fold_of_the_given_time_is_ignored() -> None:
    schedule = Schedule.daily_at(time(2, 30, fold=1))
    after = datetime(2025, 10, 26, 0, 0, tzinfo=UTC)
    assert next_due(schedule, AMS, after) == datetime(2025, 10, 26, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize("make", [at_schedule, cron_schedule], ids=["at", "cron"])
@pytest.mark.parametrize(("zone", "wall", "expected_utc"), [
    ("Europe/Amsterdam", datetime(2025, 3, 30, 2, 30), datetime(2025, 3, 30, 1, 0)),
    ("America/New_York", datetime(2025, 3, 9, 2, 30), datetime(2025, 3, 9, 7, 0)),
    ("America/New_York", datetime(2025, 3, 9, 2, 0), datetime(2025, 3, 9, 7, 0)),
    # Half-hour DST: 02:00 -> 02:30 on the first Sunday of October.
    ("Australia/Lord_Howe", datetime(2025, 10, 5, 2, 15), datetime(2025, 10, 4, 15, 30)),
    # Samoa skipped 30 December 2011 altogether: that date's reminder fires at 31 Dec 00:00.
    ("Pacific/Apia", datetime(2011, 12, 30, 7, 30), datetime(2011, 12, 30, 10, 0)),
])
def test_nonexistent_time_resolves_to_exact_gap_end(
        make: Callable[[time], Schedule], zone: str, wall: datetime, expected_utc: datetime,
) -> None:
    tz = ZoneInfo(zone)
    after = datetime.combine(wall.date() - timedelta(days=1), time(12), tz)
    due = next_due(make(wall.time()), tz, after)
    assert due == expected_utc.replace(tzinfo=UTC)
    assert due.astimezone(tz).replace(tzinfo=None) > wall  # the first valid local time after it


def test_samoa_keeps_one_reminder_per_scheduled_date() -> None:
    apia = ZoneInfo("Pacific/Apia")
    start = datetime(2011, 12, 28, tzinfo=apia)
    dues = [d.astimezone(apia) for d in occurrences(
        Schedule.daily_at(time(7, 30)), apia, start, start + timedelta(days=6))]
    assert [d.strftime("%d %H:%M") for d in dues] == [
        "28 07:30", "29 07:30", "31 00:00", "31 07:30", "01 07:30", "02 07:30"]


@pytest.mark.parametrize(("zone", "day", "count", "missing_hour"), [
    ("Europe/Amsterdam", date(2025, 10, 26), 24, None),  # 25 real hours, 02:00 once
    ("Europe/Amsterdam", date(2025, 3, 30), 23, 2),  # 02:00 resolves to 03:00, fires once
    ("Europe/Amsterdam", date(2025, 6, 1), 24, None),
    ("America/New_York", date(2025, 11, 2), 24, None),
    ("America/New_York", date(2025, 3, 9), 23, 2),
])
def test_hourly_cron_on_dst_days(zone: str, day: date, count: int, missing_hour: int | None
                                 ) -> None:
    tz = ZoneInfo(zone)
    start = datetime.combine(day, time(0), tz)
    dues = list(occurrences(Schedule.from_cron("0 * * * *"), tz,
                            start - timedelta(seconds=1), start + timedelta(hours=30)))
    hours = [d.astimezone(tz).hour for d in dues if d.astimezone(tz).date() == day]
    assert len(hours) == count
    assert hours == [h for h in range(24) if h != missing_hour]
    assert all(a < b for a, b in pairwise(dues))


def test_every_minute_cron_over_fall_back_fires_each_wall_minute_once() -> None:
    schedule = Schedule.from_cron("* * * * *")
    start = datetime(2025, 10, 26, 1, 58, tzinfo=AMS)
    dues = list(occurrences(schedule, AMS, start, start + timedelta(hours=2)))
    walls = [d.astimezone(AMS).replace(tzinfo=None, fold=0) for d in dues]
    assert len(walls) == len(set(walls))
    # 01:59 .. 02:59 CEST, then straight to 03:00 CET, one real hour later.
    assert walls[0] == datetime(2025, 10, 26, 1, 59)
    assert dues[61] - dues[60] == timedelta(hours=1, minutes=1)


# --- next_due: days and general contract -----------------------------------------------------

@pytest.mark.parametrize(("days", "weekdays", "per_4_weeks"), [
    ("mon-fri", {0, 1, 2, 3, 4}, 20), ("sat,sun", {5, 6}, 8), ("mon,wed,fri", {0, 2, 4}, 12),
])
def test_weekday_filters(days: str, weekdays: set[int], per_4_weeks: int) -> None:
    start = datetime(2025, 6, 2, tzinfo=AMS)  # a Monday
    for schedule in (Schedule.daily_at(time(8), parse_days(days)),
                     Schedule.from_cron(f"0 8 * * {days}")):
        dues = list(occurrences(schedule, AMS, start, start + timedelta(weeks=4)))
        assert len(dues) == per_4_weeks
        assert {d.astimezone(AMS).weekday() for d in dues} == weekdays


@pytest.mark.parametrize(("expr", "weekday"), [("0 8 * * 0", 6), ("0 8 * * 7", 6),
                                               ("0 8 * * 1", 0), ("0 8 * * 6", 5)])
def test_cron_weekday_numbers_follow_crontab(expr: str, weekday: int) -> None:
    due = next_due(Schedule.from_cron(expr), AMS, datetime(2025, 6, 2, tzinfo=AMS))
    assert due.astimezone(AMS).weekday() == weekday


def test_cron_day_of_month_or_day_of_week() -> None:
    # Like cron: when both day fields are restricted, either one matching is enough.
    start = datetime(2025, 6, 1, tzinfo=AMS)  # a Sunday, and the 1st
    dues = list(occurrences(Schedule.from_cron("0 9 1 * mon"), AMS, start,
                            start + timedelta(days=40)))
    assert [d.astimezone(AMS).date().isoformat() for d in dues] == [
        "2025-06-01", "2025-06-02", "2025-06-09", "2025-06-16", "2025-06-23", "2025-06-30",
        "2025-07-01", "2025-07-07"]


@pytest.mark.parametrize("zone", ["Europe/Amsterdam", "America/New_York", "Australia/Lord_Howe"])
@pytest.mark.parametrize(("at", "days"), [(time(2, 30), "daily"), (time(1, 15), "mon-fri"),
                                          (time(23, 45), "sat,sun"), (time(2), "sun")])
def test_at_fast_path_agrees_with_cron_path(zone: str, at: time, days: str) -> None:
    tz = ZoneInfo(zone)
    start, end = datetime(2025, 1, 1, tzinfo=tz), datetime(2027, 1, 1, tzinfo=tz)
    fast = Schedule.daily_at(at, parse_days(days))
    cron = Schedule.from_cron(f"{at.minute} {at.hour} * * {days if days != 'daily' else '*'}")
    assert list(occurrences(fast, tz, start, end)) == list(occurrences(cron, tz, start, end))


def test_next_due_is_strictly_after_and_accepts_any_timezone() -> None:
    schedule = Schedule.daily_at(time(7, 30))
    due = datetime(2025, 6, 2, 5, 30, tzinfo=UTC)  # 07:30 CEST
    assert next_due(schedule, AMS, due - timedelta(microseconds=1)) == due
    assert next_due(schedule, AMS, due) == due + timedelta(days=1)
    tokyo = ZoneInfo("Asia/Tokyo")
    assert next_due(schedule, AMS, (due - timedelta(hours=1)).astimezone(tokyo)) == due
    with pytest.raises(ValueError, match="aware"):
        next_due(schedule, AMS, datetime(2025, 6, 2, 7, 0))


@freeze_time("2025-03-30 00:45:00")  # UTC; 01:45 CET, a quarter of an hour before the gap
def test_next_due_with_frozen_now() -> None:
    now = datetime.now(UTC)
    assert now == datetime(2025, 3, 30, 0, 45, tzinfo=UTC)
    due = next_due(Schedule.daily_at(time(2, 30)), AMS, now)
    assert due == datetime(2025, 3, 30, 1, 0, tzinfo=UTC)
    assert due.astimezone(AMS).strftime("%H:%M%z") == "03:00+0200"
    cron_due = next_due(Schedule.from_cron("30 2 * * *"), AMS, now)
    assert cron_due == due
