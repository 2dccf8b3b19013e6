"""The next reminder due, in words: what a first `run` logs once it is ready.

A new user starts the service and, without this line, sees nothing for
hours. One indexed query (`ix_routines_next_due_at`), so it costs nothing on
a million routines. The time is the routine's due time; quiet hours or a
pause may still hold it (`heupreminder preview` shows those).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from heupreminder.db.models import Person, Routine
from heupreminder.delivery.messages import routine_title

NOTHING_DUE = ("no reminder is scheduled: add a routine to the config "
               "(`heupreminder preview --config FILE` shows what will be sent when)")


def next_reminder(session: Session, now: datetime) -> str:
    """'next reminder: anna, Morning bridge, Tue 18:00 (Europe/Amsterdam), in 5 h 12 min'."""
    found = session.execute(
        select(Routine, Person.timezone, Person.locale)
        .join(Person, Person.id == Routine.person_id)
        .where(Routine.active, Person.active, Routine.next_due_at.is_not(None))
        .order_by(Routine.next_due_at).limit(1)).first()
    if found is None:
        return NOTHING_DUE
    routine, timezone, locale = found
    due = routine.next_due_at
    assert due is not None  # the query's WHERE
    local = due.astimezone(ZoneInfo(timezone))
    return (f"next reminder: {routine.person_id}, {routine_title(routine, locale)}, "
            f"{local:%a %d %b %H:%M} ({timezone}), {time_until(due - now)}")


def time_until(delta: timedelta) -> str:
    """'in 5 h 12 min', 'in 2 d 3 h', 'in under a minute', 'now'."""
    minutes = int(delta.total_seconds() // 60)
    if delta.total_seconds() <= 0:
        return "now"
    if minutes < 1:
        return "in under a minute"
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"in {days} d {hours} h" if hours else f"in {days} d"
    if hours:
        return f"in {hours} h {minutes} min" if minutes else f"in {hours} h"
    return f"in {minutes} min"
