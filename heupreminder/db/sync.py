"""Copy the config's people and routines into the database.

The config file is the source of truth for *what* is scheduled; the database
keeps *history*. So a routine removed from the file is deactivated, never
deleted: its occurrences and deliveries stay, and adding it back (same id)
picks the history up again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from heupreminder.config.model import Config, RoutineConfig
from heupreminder.db.models import Occurrence, OccurrenceStatus, PauseRow, Person, Routine
from heupreminder.timetable.schedule import cached_schedule, next_due

log = logging.getLogger(__name__)


@dataclass
class SyncReport:
    added: int = 0
    changed: int = 0
    deactivated: int = 0
    unchanged: int = 0


def add_missing_people(session: Session, config: Config, now: datetime) -> None:
    """Sync the config if it names a person the database does not have yet.

    The CLI's check-in commands work before the first `run`; once everyone is
    there, syncing changes stays the service's job (at start and on SIGHUP).
    """
    if config.service.manage_people != "config" or not config.people:
        return
    known = set(session.scalars(select(Person.id)))
    if any(person.id not in known for person in config.people):
        sync_config(session, config, now)


def sync_config(session: Session, config: Config, now: datetime) -> SyncReport:
    """Make the database match `config`; the caller commits."""
    report = SyncReport()
    people = {p.id: p for p in session.scalars(select(Person))}
    routines = {(r.person_id, r.key): r for r in session.scalars(select(Routine))}
    wanted: set[tuple[str, str]] = set()

    for person_config in config.people:
        timezone = config.person_timezone(person_config)
        person = people.get(person_config.id)
        if person is None:
            person = Person(id=person_config.id, added_at=now)
            session.add(person)
        timezone_changed = person.timezone != timezone
        person.name = person_config.name
        person.timezone = timezone
        person.locale = config.person_locale(person_config)
        person.quiet_hours = person_config.quiet_hours
        person.channels = list(person_config.channels)
        person.active = True
        person.updated_at = now

        for routine_config in person_config.routines:
            key = (person_config.id, routine_config.key)
            wanted.add(key)
            outcome = _sync_routine(
                session, routines.get(key), person_config.id, routine_config,
                ZoneInfo(timezone), timezone_changed, now,
            )
            setattr(report, outcome, getattr(report, outcome) + 1)

    _carry_pauses(session, config, routines, wanted, now)
    for key, routine in routines.items():
        if key not in wanted and routine.active:
            routine.active = False
            routine.next_due_at = None  # out of the dispatcher's index scan
            drop_early_occurrences(session, routine.id, now)
            routine.updated_at = now
            report.deactivated += 1
    for person_id, person in people.items():
        if person_id not in {p.id for p in config.people}:
            person.active = False
    return report


def _sync_routine(
    session: Session,
    routine: Routine | None,
    person_id: str,
    config: RoutineConfig,
    timezone: ZoneInfo,
    timezone_changed: bool,
    now: datetime,
) -> str:
    schedule = config.schedule
    fields = {
        "kind": config.routine_kind,
        "exercise": config.exercise,
        "side": config.side,
        "title": config.title,
        "text": config.text,
        "schedule": schedule.to_text(),
        "active": config.enabled,
    }
    if routine is None:
        routine = Routine(person_id=person_id, key=config.key, created_at=now, **fields)
        routine.next_due_at = next_due(schedule, timezone, now) if config.enabled else None
        routine.updated_at = now
        session.add(routine)
        return "added"

    reschedule = (
        timezone_changed
        or routine.schedule != fields["schedule"]
        or routine.active != config.enabled
    )
    changed = reschedule or any(getattr(routine, k) != v for k, v in fields.items())
    for name, value in fields.items():
        setattr(routine, name, value)
    if reschedule:
        # A new schedule starts from now; an unchanged one keeps its next due
        # time, so downtime is caught up (or recorded as missed) on start.
        routine.next_due_at = next_due(schedule, timezone, now) if config.enabled else None
        drop_early_occurrences(session, routine.id, now)
    if changed:
        routine.updated_at = now
        return "changed"
    return "unchanged"




def _carry_pauses(session: Session, config: Config, before: dict[tuple[str, str], Routine],
                  wanted: set[tuple[str, str]], now: datetime) -> None:
    """Keep a routine's pause when an edit changes its key; end it when it is removed.

    A routine's key is derived from the config (`hip-stretch` becomes `hip-stretch-left`
    when `side` is added), and a pause names its routine by key. A routine that vanished
    while exactly one new routine of the same catalog exercise appeared for the same
    person is the same routine edited: its pause moves to the new key. Without such a
    successor the routine is gone and so is its pause (ended, not resumed: the pain that
    caused it still counts for the policy).
    """
    gone = {key: routine for key, routine in before.items()
            if key not in wanted and routine.active}
    if not gone:
        return
    appeared = [(person.id, routine) for person in config.people for routine in person.routines
                if (person.id, routine.key) not in before]
    for (person_id, old_key), routine in gone.items():
        successors = [new.key for owner, new in appeared
                      if owner == person_id and routine.exercise is not None
                      and new.exercise == routine.exercise]
        for pause in session.scalars(select(PauseRow).where(
                PauseRow.person_id == person_id, PauseRow.scope == old_key,
                PauseRow.ended_at.is_(None))):
            if len(successors) == 1:
                log.info("pause %s of %s follows routine %r to its new key %r",
                         pause.id, person_id, old_key, successors[0])
                pause.scope = successors[0]
            else:
                pause.ended_at = now
                pause.ended_reason = f"routine {old_key!r} was removed from the config"


def drop_early_occurrences(session: Session, routine_id: int, now: datetime) -> None:
    """Delete a routine's reminders written ahead of their due time.

    The dispatcher writes an occurrence a little before it is due; if the
    routine is changed or removed meanwhile, that reminder belongs to the old
    schedule. It was never due, so nothing about it is history: it goes, and
    the new schedule may write the same due time again.
    """
    session.execute(delete(Occurrence).where(
        Occurrence.routine_id == routine_id, Occurrence.status == OccurrenceStatus.PENDING,
        Occurrence.due_at > now,
        ~Occurrence.deliveries.any()))  # never tried (only a skewed clock could have)


def schedule_unscheduled(session: Session, now: datetime, batch: int = 10_000) -> int:
    """Give active routines without a next due time one (rows added outside the
    config, e.g. by an import); returns how many. Bad rows are reported and
    set aside (deactivated), never crash the start."""
    done = 0
    last_id = 0
    while True:
        rows = session.execute(
            select(Routine.id, Routine.key, Routine.person_id, Routine.schedule,
                   Person.timezone)
            .join(Person, Person.id == Routine.person_id)
            .where(Routine.active, Routine.next_due_at.is_(None), Routine.id > last_id)
            .order_by(Routine.id).limit(batch)).all()
        if not rows:
            return done
        updates: list[dict[str, object]] = []
        for row in rows:
            try:
                due = next_due(cached_schedule(row.schedule), ZoneInfo(row.timezone), now)
                updates.append({"id": row.id, "next_due_at": due})
            except (ValueError, KeyError) as exc:
                log.error("routine %s/%s cannot be scheduled and is set aside: %s",
                          row.person_id, row.key, exc)
                updates.append({"id": row.id, "active": False})
        session.execute(update(Routine), updates)
        done += len(updates)
        last_id = rows[-1].id
