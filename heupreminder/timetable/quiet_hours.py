"""Quiet hours: a wall-clock span (it may cross midnight) when no reminder goes out.

One rule in one place: the config reads them with `parse_quiet_hours`, the
database stores them as `format_quiet_hours` writes them (``"22:00-07:00"``),
and the dispatcher and the preview both hold a reminder with `after_quiet_hours`.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from heupreminder.timetable.schedule import ScheduleError, parse_time

QuietHours = tuple[time, time]


def parse_quiet_hours(value: object) -> QuietHours:
    """``"22:00-07:00"`` as (start, end); ValueError naming the value otherwise."""
    parts = str(value).split("-")
    if len(parts) != 2:
        raise ValueError(f"{value!r} is not a time range (e.g. 22:00-07:00)")
    try:
        start, end = (parse_time(part.strip()) for part in parts)
    except ScheduleError as exc:
        raise ValueError(str(exc)) from None
    if start == end:
        raise ValueError(f"{value!r} starts and ends at the same time")
    return start, end


def format_quiet_hours(hours: QuietHours) -> str:
    start, end = hours
    return f"{start:%H:%M}-{end:%H:%M}"


def after_quiet_hours(due: datetime, zone: ZoneInfo, quiet_hours: QuietHours | None) -> datetime:
    """When a reminder due at `due` may go out: `due`, or the end of quiet hours.

    Quiet hours may span midnight (22:00-07:00). The end is a wall-clock time
    resolved on the right local date.
    """
    if not quiet_hours:
        return due
    start, end = quiet_hours
    local = due.astimezone(zone)
    now_t = local.time().replace(tzinfo=None)
    spans_midnight = start > end
    inside = (start <= now_t or now_t < end) if spans_midnight else (start <= now_t < end)
    if not inside:
        return due
    end_date = local.date()
    if spans_midnight and now_t >= start:
        end_date += timedelta(days=1)
    end_local = datetime.combine(end_date, end, tzinfo=zone)
    # Never earlier than due, even on a DST night.
    return max(due, end_local.astimezone(due.tzinfo))
