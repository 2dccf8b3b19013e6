"""Wall-clock schedules: parsing, canonical text, and the next due instant.

A schedule fires once per scheduled wall-clock time in the person's time zone, even when
daylight saving time shifts the clock:
* a wall time that does not exist (spring-forward gap) fires at the end of the gap;
* a wall time that exists twice (fall-back) fires at its first occurrence only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index == datetime.weekday()
ALL_DAYS: frozenset[int] = frozenset(range(7))
_DAY_WORDS = {
    **{name: frozenset({i}) for i, name in enumerate(DAY_NAMES)},
    "daily": ALL_DAYS,
    "weekdays": frozenset(range(5)),
    "weekends": frozenset({5, 6}),
}
_TIME_RE = re.compile(r"([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?")
_CRON_DOW = {n: (i + 1) % 7 for i, n in enumerate(DAY_NAMES)} | {str(i): i for i in range(8)}
_ONE_DAY = timedelta(days=1)
_ONE_SECOND = timedelta(seconds=1)


class ScheduleError(ValueError):
    """Invalid schedule input; the message is user-facing and quotes the offending value."""


def parse_time(value: str) -> time:
    """Parse 24h "HH:MM" or "HH:MM:SS" (a one-digit hour is fine) into a naive time."""
    m = _TIME_RE.fullmatch(value.strip())
    if m and int(m[1]) < 24 and int(m[2]) < 60 and int(m[3] or 0) < 60:
        return time(int(m[1]), int(m[2]), int(m[3] or 0))
    raise ScheduleError(f"{value!r} is not a time (use HH:MM or HH:MM:SS)")


def parse_days(value: str) -> frozenset[int]:
    """Parse "daily", "weekdays", "weekends", "mon-fri", "sat,sun", "mon-wed,sat", "fri-mon"
    (ranges wrap) into weekday numbers, Monday=0 .. Sunday=6; the result is never empty."""
    days: set[int] = set()
    for token in value.lower().replace(" ", "").split(","):
        first, dash, last = token.partition("-")
        if not dash and token in _DAY_WORDS:
            days |= _DAY_WORDS[token]
        elif dash and first in DAY_NAMES and last in DAY_NAMES:
            start, end = DAY_NAMES.index(first), DAY_NAMES.index(last)
            days.update((start + i) % 7 for i in range((end - start) % 7 + 1))  # may wrap
        else:
            raise ScheduleError(f"{value!r} is not a list of days (e.g. daily, mon-fri, sat,sun)")
    return frozenset(days)


def format_days(days: frozenset[int]) -> str:
    """Canonical compact text for a day set: "daily", "mon-fri", "sat,sun", "fri-mon"."""
    if days == ALL_DAYS:
        return "daily"
    runs: list[list[int]] = []
    for d in sorted(days):
        if runs and runs[-1][-1] == d - 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    if len(runs) > 1 and runs[0][0] == 0 and runs[-1][-1] == 6:
        head = runs.pop(0)  # join the run across the week boundary: fri,sat,sun,mon
        runs[-1].extend(head)
    return ",".join(f"{DAY_NAMES[run[0]]}-{DAY_NAMES[run[-1]]}" if len(run) >= 3
                    else ",".join(DAY_NAMES[d] for d in run) for run in runs)


def _cron_dow(field: str) -> str:
    """Translate a crontab day-of-week field (0 or 7 = Sunday) into day names: APScheduler 3.x
    numbers weekdays from Monday=0 even in from_crontab (its issue #286), so numbers must
    never reach it, while names mean the same in both worlds."""
    def num(s: str) -> int:
        if s not in _CRON_DOW:
            raise ValueError(f"bad day of week {s!r}")
        return _CRON_DOW[s]

    days: set[int] = set()
    for item in field.lower().split(","):
        span, slash, step_text = item.partition("/")
        step = int(step_text) if slash else 1
        first, dash, last = span.partition("-")
        lo, hi = (0, 6) if span == "*" else (num(first), num(last) if dash else num(first))
        if step < 1 or (slash and span != "*" and not dash):
            raise ValueError(f"bad day of week {item!r}")
        if hi < lo:  # sat-sun: wrap around the week
            hi += 7
        days.update(d % 7 for d in range(lo, hi + 1, step))
    return ",".join(DAY_NAMES[d] for d in sorted((d - 1) % 7 for d in days))


@lru_cache(maxsize=4096)
def _cron_triggers(expr: str) -> tuple[CronTrigger, ...]:
    """Validated triggers for a whitespace-normalised crontab, in UTC as a DST-free wall-clock
    space. Two when both day fields are restricted: cron fires when EITHER matches, while
    APScheduler would require both."""
    fields = expr.split()
    if len(fields) != 5:
        raise ScheduleError(
            f"{expr!r} is not a cron expression: need 5 fields "
            f"(minute hour day-of-month month day-of-week), got {len(fields)}")
    minute, hour, dom, month, dow = fields
    either = not dom.startswith("*") and not dow.startswith("*")  # Vixie cron's rule
    day_pairs = [(dom, "*"), ("*", dow)] if either else [(dom, dow)]
    try:
        triggers = tuple(
            CronTrigger.from_crontab(
                f"{minute} {hour} {d} {month} {_cron_dow(w) if w != '*' else '*'}", timezone=UTC)
            for d, w in day_pairs)
    except ValueError as exc:
        raise ScheduleError(f"{expr!r} is not a valid cron expression: {exc}") from None
    probe = datetime(2000, 1, 1, tzinfo=UTC)  # anything that can fire does so within 28 years
    if all(t.get_next_fire_time(None, probe) is None for t in triggers):
        raise ScheduleError(f"{expr!r} never fires (e.g. 30 February)")
    return triggers


def validate_cron(expr: str) -> None:
    """Raise ScheduleError unless `expr` is a 5-field crontab expression that can fire."""
    _cron_triggers(" ".join(expr.split()))


@dataclass(frozen=True)
class Schedule:
    """Either `at` on `days` (wall clock, weekday numbers Monday=0), or a crontab `cron`."""

    at: time | None = None
    days: frozenset[int] = ALL_DAYS
    cron: str | None = None

    def __post_init__(self) -> None:
        # Normalise here so that equality (and the from_text round trip) is by meaning.
        object.__setattr__(self, "days", frozenset(self.days))
        if (self.at is None) == (self.cron is None):
            raise ScheduleError("a schedule needs either a time or a cron expression")
        if self.cron is not None:
            object.__setattr__(self, "cron", " ".join(self.cron.split()))
            validate_cron(self.cron)
            if self.days != ALL_DAYS:
                raise ScheduleError("a cron schedule takes its days from the cron expression")
        elif self.at is not None:
            if self.at.tzinfo is not None or self.at.microsecond:
                raise ScheduleError(f"{self.at!r} must be a wall-clock time in whole seconds")
            # fold=1 would survive datetime.combine and pick the second of two 02:30s.
            object.__setattr__(self, "at", self.at.replace(fold=0))
        if not self.days or not self.days <= ALL_DAYS:
            raise ScheduleError(f"{sorted(self.days)!r} is not a set of weekdays 0..6")

    @classmethod
    def daily_at(cls, at: time, days: frozenset[int] = ALL_DAYS) -> Schedule:
        """`at` (wall clock) on each of `days`."""
        return cls(at=at, days=days)

    @classmethod
    def from_cron(cls, expr: str) -> Schedule:
        """A crontab schedule; raises ScheduleError if `expr` is invalid."""
        return cls(cron=expr)

    def to_text(self) -> str:
        """Canonical DB text: "at 07:30:00 mon-fri" or "cron 0 18 * * *"."""
        if self.cron is not None:
            return f"cron {self.cron}"
        assert self.at is not None  # guaranteed by __post_init__
        return f"at {self.at:%H:%M:%S} {format_days(self.days)}"

    @classmethod
    def from_text(cls, text: str) -> Schedule:
        """Inverse of to_text (also accepts "at 7:30" = daily, and spaced day lists)."""
        kind, _, rest = text.strip().partition(" ")
        at_text, _, days_text = rest.strip().partition(" ")
        if kind == "cron":
            return cls.from_cron(rest)
        if kind == "at" and at_text:
            return cls(at=parse_time(at_text), days=parse_days(days_text or "daily"))
        raise ScheduleError(
            f"{text!r} is not a schedule (e.g. 'at 07:30 mon-fri', 'cron 0 18 * * *')")

    def describe(self) -> str:
        """Short human text: "07:30 mon-fri", "07:30 daily", "cron 0 18 * * *"."""
        if self.cron is not None:
            return f"cron {self.cron}"
        assert self.at is not None
        return f"{self.at:%H:%M:%S}".removesuffix(":00") + " " + format_days(self.days)


def _resolve(wall: datetime, tz: ZoneInfo) -> datetime:
    """Naive wall time in `tz` -> naive UTC instant: the first occurrence of an ambiguous
    time, the end of the gap for a nonexistent one."""
    first = tz.utcoffset(wall)  # fold=0: the offset in force before any transition
    later = tz.utcoffset(wall.replace(fold=1))
    assert first is not None and later is not None  # ZoneInfo always knows the offset
    if later <= first:  # normal time, or a fold where fold=0 is already the first occurrence
        return wall - first
    # In a gap, `wall - later` lies before the transition and `wall - first` at/after it.
    # Transitions are on whole seconds, so bisecting whole seconds lands on it exactly.
    lo, hi = wall - later, wall - first
    while hi - lo > _ONE_SECOND:
        mid = (lo + (hi - lo) / 2).replace(microsecond=0)
        if mid.replace(tzinfo=UTC).astimezone(tz).utcoffset() == later:
            hi = mid
        else:
            lo = mid
    return hi


def next_due(schedule: Schedule, tz: ZoneInfo, after: datetime) -> datetime:
    """The first due instant strictly after the aware datetime `after`, in UTC.

    Candidates are generated in wall-clock order from the local date of `after` and resolved
    with _resolve; as resolution is monotonic, the first one past `after` is the answer. That
    also means a repeated (fall-back) wall time never fires a second time.
    """
    if after.utcoffset() is None:
        raise ValueError("next_due needs an aware datetime")
    after_utc = after.astimezone(UTC).replace(tzinfo=None)  # naive: cheaper comparisons
    local = after.astimezone(tz)
    if schedule.at is not None:
        # Hot path (called for every reminder at start-up): plain date arithmetic.
        day: date = local.date()
        at, days = schedule.at, schedule.days
        for _ in range(9):  # a full week plus the start day plus one spare
            if day.weekday() in days:
                instant = _resolve(datetime.combine(day, at), tz)
                if instant > after_utc:
                    return instant.replace(tzinfo=UTC)
            day += _ONE_DAY
        raise AssertionError("unreachable: days is a non-empty weekday set")

    assert schedule.cron is not None
    triggers = _cron_triggers(schedule.cron)
    wall = local.replace(tzinfo=UTC, fold=0)  # wall time, tagged UTC to evaluate the cron
    while True:
        fires = [f for t in triggers if (f := t.get_next_fire_time(None, wall)) is not None]
        if not fires:
            raise ScheduleError(f"cron {schedule.cron!r} does not fire after {after}")
        wall = min(fires)
        instant = _resolve(wall.replace(tzinfo=None), tz)
        if instant > after_utc:
            return instant.replace(tzinfo=UTC)
        wall += _ONE_SECOND  # fire times are whole seconds; go look for the next one


@lru_cache(maxsize=4096)
def cached_schedule(text: str) -> Schedule:
    """`Schedule.from_text` for hot loops: many routines share a few schedule texts."""
    return Schedule.from_text(text)
