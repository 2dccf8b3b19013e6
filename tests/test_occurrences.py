"""The occurrence rule on its own (`timetable.occurrences`): no database, only time.

The dispatcher writes what `step` decides and the preview lists what `walk`
decides; their own tests show both agree with a running service.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

from heupreminder.timetable.occurrences import (
    DOWNTIME_REASON,
    HELD_REASON,
    MAX_MISSED,
    QUIET_UNTIL_NEXT_REASON,
    PlannedOccurrence,
    Verdict,
    step,
    walk,
)
from heupreminder.timetable.schedule import Schedule

ZONE = ZoneInfo("Europe/Amsterdam")
DAILY_0730 = Schedule.daily_at(time(7, 30))
CATCH_UP = timedelta(minutes=30)


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=ZONE)


def test_a_due_reminder_is_sent_at_its_time_until_the_next_one() -> None:
    planned, following = step(DAILY_0730, ZONE, None, local(9, 7, 30), CATCH_UP, local(9, 7, 30))
    assert planned == [PlannedOccurrence(local(9, 7, 30), local(9, 7, 30),
                                         local(9, 8, 0), Verdict.SEND, None)]
    assert following == local(10, 7, 30)


def test_after_downtime_only_the_newest_can_still_go_out() -> None:
    planned, following = step(DAILY_0730, ZONE, None, local(5, 7, 30), CATCH_UP,
                              local(9, 7, 40))
    assert [(p.due, p.verdict, p.reason) for p in planned] == [
        *((local(day, 7, 30), Verdict.MISSED, DOWNTIME_REASON) for day in (5, 6, 7, 8)),
        (local(9, 7, 30), Verdict.SEND, None)]
    assert following == local(10, 7, 30)


def test_the_newest_beyond_catch_up_is_missed_too_and_never_sent_stale() -> None:
    [planned], _ = step(DAILY_0730, ZONE, None, local(9, 7, 30), CATCH_UP, local(9, 8, 5))
    assert planned.verdict is Verdict.MISSED and planned.send_at == planned.deadline == planned.due
    assert planned.reason == "not sent: found 35 min late, beyond catch_up (30 min)"


def test_very_long_downtime_names_only_the_newest_missed_ones() -> None:
    minutely = Schedule.from_cron("* * * * *")
    planned, _ = step(minutely, ZONE, None, local(1, 0, 0), CATCH_UP, local(2, 0, 0))
    assert len(planned) == MAX_MISSED + 1 and planned[-1].due == local(2, 0, 0)


def test_quiet_hours_hold_a_reminder_or_skip_it_when_they_last_until_the_next() -> None:
    held, _ = step(DAILY_0730, ZONE, (time(22), time(8)), local(9, 7, 30), CATCH_UP,
                   local(9, 7, 30))
    assert [(p.send_at, p.deadline, p.verdict, p.reason) for p in held] == [
        (local(9, 8, 0), local(9, 8, 30), Verdict.SEND, HELD_REASON)]
    twice = Schedule.from_cron("30 7,8 * * *")
    skipped, _ = step(twice, ZONE, (time(7), time(9)), local(9, 7, 30), CATCH_UP,
                      local(9, 7, 30))
    assert [(p.verdict, p.reason) for p in skipped] == [
        (Verdict.SKIPPED, QUIET_UNTIL_NEXT_REASON)]  # 07:30 and 08:30 fall in 07:00-09:00


def test_walk_goes_on_with_each_later_reminder_as_it_will_be_decided() -> None:
    now = local(9, 7, 40)
    first = list(islice(walk(DAILY_0730, ZONE, None, local(8, 7, 30), CATCH_UP, now), 4))
    assert [(p.due, p.verdict) for p in first] == [
        (local(8, 7, 30), Verdict.MISSED), (local(9, 7, 30), Verdict.SEND),
        (local(10, 7, 30), Verdict.SEND), (local(11, 7, 30), Verdict.SEND)]
