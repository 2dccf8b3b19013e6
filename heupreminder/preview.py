"""What would be sent when: the next days of reminders, computed, never sent.

The preview walks each active routine from its `next_due_at` with the
dispatcher's own occurrence rule (`timetable.occurrences.walk`: the schedule,
catch-up after downtime, quiet hours holding a reminder or skipping it when
they last until the next one) and leaves out what a pause covers, so what it
lists is what the service sends, at the same times. Reminders already waiting
in the database (held until quiet hours end) are listed too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from heupreminder.config.loader import Settings
from heupreminder.db.models import Occurrence, OccurrenceStatus, Person, Routine
from heupreminder.db.sync import sync_config
from heupreminder.delivery.messages import compose
from heupreminder.pain.pauses import pause_covering
from heupreminder.reports.table import render_table
from heupreminder.timetable.occurrences import Verdict, walk
from heupreminder.timetable.quiet_hours import QuietHours
from heupreminder.timetable.schedule import Schedule, ScheduleError


@dataclass(frozen=True)
class PreviewRow:
    when: datetime  # when it goes out, in the person's time zone
    due: datetime  # when it is scheduled (earlier than `when` if quiet hours hold it)
    person: str
    routine: str
    title: str
    channels: tuple[str, ...]
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"when": self.when.isoformat(), "due": self.due.isoformat(),
                "person": self.person, "routine": self.routine, "title": self.title,
                "channels": list(self.channels), "note": self.note}


def preview_config(settings: Settings, sessions: sessionmaker[Session], now: datetime,
                   days: int = 7, person: str | None = None) -> list[PreviewRow]:
    """Like `preview_in`, for the config file as it is now: what the service will do
    once it (re)loads this config. The config is synced in a transaction that is
    rolled back, so the database is left exactly as it was."""
    with sessions() as session:
        try:
            sync_config(session, settings.config, now)
            session.flush()
            return preview_in(session, settings, now, days=days, person=person)
        finally:
            session.rollback()


def preview_in(session: Session, settings: Settings, now: datetime, *, days: int = 7,
               person: str | None = None) -> list[PreviewRow]:
    """The reminders the service will send from `now` for `days` days, in time order."""
    if now.utcoffset() is None:
        raise ValueError("preview needs an aware datetime")
    end = now + timedelta(days=days)
    catch_up = settings.config.service.catch_up
    rows: list[PreviewRow] = []

    query = (select(Routine, Person).join(Person, Person.id == Routine.person_id)
             .where(Routine.active, Routine.next_due_at.is_not(None), Person.active)
             .order_by(Person.id, Routine.key))
    if person is not None:
        query = query.where(Person.id == person)
    for routine, owner in session.execute(query):
        assert routine.next_due_at is not None  # filtered above
        try:
            schedule = Schedule.from_text(routine.schedule)
            zone = ZoneInfo(owner.timezone)
        except (ScheduleError, ValueError, KeyError):
            continue  # the dispatcher sets such a routine aside; it sends nothing
        for due, send_at in _sent_between(schedule, zone, owner.quiet_hours,
                                          routine.next_due_at, now, end, catch_up):
            if pause_covering(session, routine, max(send_at, now)) is None:
                rows.append(_row(routine, owner, zone, due, send_at, now))

    # Reminders already created and waiting: held by quiet hours, or due right now.
    waiting = (select(Occurrence, Routine, Person)
               .join(Routine, Routine.id == Occurrence.routine_id)
               .join(Person, Person.id == Routine.person_id)
               .where(Occurrence.status == OccurrenceStatus.PENDING,
                      Occurrence.send_at < end, Occurrence.deadline >= now))
    if person is not None:
        waiting = waiting.where(Person.id == person)
    for occurrence, routine, owner in session.execute(waiting):
        if pause_covering(session, routine, max(occurrence.send_at, now)) is None:
            rows.append(_row(routine, owner, ZoneInfo(owner.timezone), occurrence.due_at,
                             occurrence.send_at, now))

    rows.sort(key=lambda r: (r.when, r.person, r.routine))
    return rows


def _sent_between(schedule: Schedule, zone: ZoneInfo, quiet_hours: QuietHours | None,
                  next_due_at: datetime, now: datetime, end: datetime,
                  catch_up: timedelta) -> Iterator[tuple[datetime, datetime]]:
    """(due, send_at) of each occurrence due before `end` that the dispatcher will
    send before `end` (the missed and skipped ones are left out)."""
    for occurrence in walk(schedule, zone, quiet_hours, next_due_at, catch_up, now):
        if occurrence.due >= end:
            return
        if occurrence.verdict is Verdict.SEND and max(occurrence.send_at, now) < end:
            yield occurrence.due, occurrence.send_at


def _row(routine: Routine, owner: Person, zone: ZoneInfo, due: datetime, send_at: datetime,
         now: datetime) -> PreviewRow:
    local_due = due.astimezone(zone)
    when = max(send_at, now).astimezone(zone)
    note = None
    if send_at > due:
        note = f"due {_clock(local_due)}, held until quiet hours end"
    elif when > local_due:
        note = f"due {_clock(local_due)}, late: goes out at once"
    return PreviewRow(
        when=when, due=local_due, person=owner.id, routine=routine.key,
        title=compose(routine, owner.locale, local_due.date()).title,
        channels=tuple(owner.channels), note=note)


def _clock(moment: datetime) -> str:
    return f"{moment:%H:%M:%S}" if moment.second else f"{moment:%H:%M}"


def render_preview(rows: list[PreviewRow], days: int) -> str:
    """The table `heupreminder preview` prints."""
    if not rows:
        return f"Nothing to send in the next {days} day{'s' if days != 1 else ''}."
    header = ("when (local)", "person", "routine", "title", "channels")
    table = [(f"{r.when:%a %Y-%m-%d} {_clock(r.when)}", r.person, r.routine, r.title,
              ", ".join(r.channels) + (f"  ({r.note})" if r.note else "")) for r in rows]
    return "\n".join(render_table(header, table, gap=" | ", wrap_last=False))
