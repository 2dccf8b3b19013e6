"""The occurrence rule: which of a routine's reminders go out, when, and which do not.

One rule in one place: the dispatcher writes what it decides as occurrence
rows, and the preview lists what it decides will be sent, so the two cannot
drift apart. Pure: no database, only the schedule, the time zone, the quiet
hours, the catch-up window and `now`.

The rule, for a routine whose next due time has come:
* After downtime every past occurrence but the newest is missed; a recurring
  routine gets at most one catch-up, and never at the wrong time of day.
* The newest goes out if it is at most `catch_up` late, else it is missed too.
* Quiet hours hold it until they end; if they last until the next reminder,
  it is skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NamedTuple
from zoneinfo import ZoneInfo

from heupreminder.timetable.quiet_hours import QuietHours, after_quiet_hours
from heupreminder.timetable.schedule import Schedule, next_due

# After very long downtime, stop naming every missed occurrence one by one:
# each becomes a database row, and a year of a minutely routine helps no one.
MAX_MISSED = 100

DOWNTIME_REASON = "not sent: the service was not running at the time"
QUIET_UNTIL_NEXT_REASON = "quiet hours last until the next reminder"
HELD_REASON = "held until quiet hours end"


class Verdict(StrEnum):
    """What becomes of one occurrence."""

    SEND = "send"  # goes out at send_at: at its due time, or when quiet hours end
    MISSED = "missed"  # found too late (downtime, or beyond catch_up); never sent stale
    SKIPPED = "skipped"  # quiet hours last until the next reminder


class PlannedOccurrence(NamedTuple):
    """One occurrence as the rule decides it. A named tuple, not a dataclass:
    a morning burst makes tens of thousands of them."""

    due: datetime
    send_at: datetime  # equal to `due` unless quiet hours hold it
    deadline: datetime  # not sent by then: missed (equal to `due` when not sent at all)
    verdict: Verdict
    reason: str | None


class Step(NamedTuple):
    """The rule applied once to a routine whose next due time has come."""

    occurrences: list[PlannedOccurrence]  # the missed ones (the newest MAX_MISSED), then the newest
    following: datetime  # the routine's next due time after these


def step(schedule: Schedule, zone: ZoneInfo, quiet_hours: QuietHours | None,
         next_due_at: datetime, catch_up: timedelta, now: datetime) -> Step:
    """What happens to the routine's occurrences from `next_due_at` up to `now`.

    `next_due_at` may also lie ahead of `now` (the dispatcher writes a burst's
    rows a little early): then it is the only occurrence, and it is sent.
    """
    due, missed = next_due_at, []
    following = next_due(schedule, zone, due)
    while following <= now:
        missed.append(due)
        due, following = following, next_due(schedule, zone, following)
    planned = [_not_sent(d, Verdict.MISSED, DOWNTIME_REASON) for d in missed[-MAX_MISSED:]]
    planned.append(_newest(due, following, zone, quiet_hours, catch_up, now))
    return Step(planned, following)


def walk(schedule: Schedule, zone: ZoneInfo, quiet_hours: QuietHours | None,
         next_due_at: datetime, catch_up: timedelta, now: datetime,
         ) -> Iterator[PlannedOccurrence]:
    """Every occurrence from `next_due_at` on, in due order and without end, each as
    the dispatcher will decide it: those already due as it decides them `now`, each
    later one as it decides it when its due time comes."""
    due = next_due_at
    while True:
        occurrences, due = step(schedule, zone, quiet_hours, due, catch_up, now)
        yield from occurrences


def _newest(due: datetime, following: datetime, zone: ZoneInfo,
            quiet_hours: QuietHours | None, catch_up: timedelta,
            now: datetime) -> PlannedOccurrence:
    """The newest occurrence that has come: sent, held, or missed or skipped."""
    if now - due > catch_up:
        return _not_sent(due, Verdict.MISSED,
                         f"not sent: found {_minutes(now - due)} late, "
                         f"beyond catch_up ({_minutes(catch_up)})")
    send_at = after_quiet_hours(due, zone, quiet_hours)
    if send_at >= following:
        return _not_sent(due, Verdict.SKIPPED, QUIET_UNTIL_NEXT_REASON)
    return PlannedOccurrence(due, send_at, max(due, send_at) + catch_up, Verdict.SEND,
                             HELD_REASON if send_at > due else None)


def _not_sent(due: datetime, verdict: Verdict, reason: str) -> PlannedOccurrence:
    return PlannedOccurrence(due, due, due, verdict, reason)


def _minutes(delta: timedelta) -> str:
    return f"{int(delta.total_seconds() // 60)} min"
