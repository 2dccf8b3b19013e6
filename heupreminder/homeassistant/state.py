"""What a person's Home Assistant device shows, read from the database.

Contract: `read_person(session, person_id, now)` returns a `PersonState`: plain
values, no session needed afterwards; `None` if no such person. An inactive
person comes back with `active=False` (the bridge then removes the device).
A few indexed queries per person: it runs when something about them changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from heupreminder.db.models import (
    Occurrence,
    OccurrenceStatus,
    PainReport,
    PauseRow,
    Person,
    Routine,
)
from heupreminder.delivery.messages import routine_title
from heupreminder.locales import shipped_locale
from heupreminder.pain.pauses import covering, pauses_stopping_exercises
from heupreminder.progress import adherence
from heupreminder.reports.care_words import why_words

_ALL_EXERCISES = {"nl": "alle oefeningen", "en": "all exercises"}


@dataclass(frozen=True)
class RoutineEntry:
    key: str
    title: str  # in the person's language
    kind: str


@dataclass(frozen=True)
class PersonState:
    person_id: str
    name: str
    locale: str
    active: bool
    routines: tuple[RoutineEntry, ...] = ()
    next_reminder: datetime | None = None  # the next one not held by a pause
    next_routine: str | None = None  # its title
    pain_level: int | None = None  # the latest report's
    pain_at: datetime | None = None
    adherence_percent: int | None = None  # this week's; None before a reminder went out
    done_this_week: int = 0
    planned_this_week: int = 0
    paused: bool = False  # some exercise routine is paused now
    pause_reason: str | None = None  # why, in the person's words
    paused_since: datetime | None = None
    paused_until: datetime | None = None  # when every pause has an end
    # When this state changes with nobody doing anything (a reminder falls due, a
    # pause runs out, a new week starts, a report stamped ahead comes due): read again then.
    stale_at: datetime | None = None


def read_person(session: Session, person_id: str, now: datetime) -> PersonState | None:
    person = session.get(Person, person_id)
    if person is None:
        return None
    locale = shipped_locale(person.locale)
    if not person.active:
        return PersonState(person_id=person.id, name=person.name, locale=locale, active=False)
    routines = session.scalars(select(Routine).where(
        Routine.person_id == person.id, Routine.active).order_by(Routine.key)).all()
    titles = {r.key: routine_title(r, locale) for r in routines}
    pauses = _pauses_in_force(session, person.id, {r.key for r in routines
                                                    if r.kind == "exercise"}, now)
    held = {r.key for r in routines if covering(pauses, r) is not None}
    next_at, next_key = _next_reminder(session, [r for r in routines if r.key not in held], now)
    pain = session.scalars(select(PainReport).where(
        PainReport.person_id == person.id, PainReport.at <= now)
        .order_by(PainReport.at.desc(), PainReport.id.desc()).limit(1)).first()
    week = adherence(session, person.id, _week_start(now, ZoneInfo(person.timezone)))
    ends = [p.until for p in pauses]
    zone = ZoneInfo(person.timezone)
    ahead = session.scalar(select(func.min(PainReport.at)).where(
        PainReport.person_id == person.id, PainReport.at > now))
    # Only moments still to come: a reminder already due is being sent (its result
    # tells the bridge), and reading again at once would only find it again.
    stale_at = min(e for e in (next_at, ahead, _week_start(now, zone) + timedelta(days=7),
                               *ends) if e is not None and e > now)
    return PersonState(
        person_id=person.id, name=person.name, locale=locale, active=True,
        routines=tuple(RoutineEntry(r.key, titles[r.key], r.kind) for r in routines),
        next_reminder=next_at, next_routine=titles.get(next_key) if next_key else None,
        pain_level=pain.level if pain else None, pain_at=pain.at if pain else None,
        adherence_percent=(round(100 * week.done / week.planned) if week.planned else None),
        done_this_week=week.done, planned_this_week=week.planned,
        paused=bool(pauses),
        pause_reason="; ".join(
            f"{titles.get(p.scope, p.scope) if p.scope else _ALL_EXERCISES[locale]}: "
            f"{why_words(p.code, locale)}" for p in pauses) or None,
        paused_since=min((p.since for p in pauses), default=None),
        paused_until=(max(e for e in ends if e is not None)
                      if ends and all(e is not None for e in ends) else None),
        stale_at=stale_at,
    )


def _pauses_in_force(session: Session, person_id: str, exercises: set[str],
                     now: datetime) -> list[PauseRow]:
    """Pauses that stop an exercise now (as `status` shows them): not one of a routine
    that is gone, nor a rest day that is over."""
    return pauses_stopping_exercises(session, person_id, exercises, now)


def _next_reminder(session: Session, routines: list[Routine],
                   now: datetime) -> tuple[datetime | None, str | None]:
    """The earliest due time among `routines`: a reminder written ahead (the 30 s before
    it is due) counts, as the routine itself has moved on to the one after."""
    if not routines:
        return None, None
    by_id = {r.id: r for r in routines}
    candidates = [(r.next_due_at, r.key) for r in routines if r.next_due_at is not None]
    for routine_id, due in session.execute(
            select(Occurrence.routine_id, func.min(Occurrence.due_at))
            .where(Occurrence.routine_id.in_(by_id), Occurrence.due_at > now,
                   Occurrence.status == OccurrenceStatus.PENDING)
            .group_by(Occurrence.routine_id)):
        candidates.append((due, by_id[routine_id].key))
    if not candidates:
        return None, None
    due, key = min(candidates)
    return due, key


def _week_start(now: datetime, zone: ZoneInfo) -> datetime:
    """Monday 00:00 of this week, in the person's time zone."""
    local = now.astimezone(zone)
    monday = local.date() - timedelta(days=local.weekday())
    return datetime.combine(monday, time(0, 0), tzinfo=zone)
