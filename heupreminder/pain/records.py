"""Writing what a person logged: a pain report (then the pain policy runs) or a routine
marked done or skipped.

Every way in (CLI, one-tap link page, JSON API, Home Assistant) calls these functions, so
validation and the policy are the same everywhere. Input is checked before anything is
written: a bad value raises `InputError` naming the field, and the transaction writes
nothing. The rest of the pain work lives next door: ``lookups`` (people, routines),
``pauses`` (which pauses are in force and what they cover), ``decisions`` (applying the
policy), ``notices`` (its messages) and ``housekeeping`` (the once-a-minute work).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from heupreminder.config.loader import Settings
from heupreminder.db.models import CheckIn, CheckinOutcome, Occurrence, PainReport, Person
from heupreminder.input_text import InputError, quote, text_problem
from heupreminder.pain.decisions import apply_policy
from heupreminder.pain.lookups import get_person, get_routine
from heupreminder.policy.pain_facts import Decision

LOCATIONS = ("groin", "outer", "lower-back", "other")


# ASCII digits (a minus sign, so that "-1" gets the range message); not "1_0" or "١٠".
_LEVEL_TEXT = re.compile(r"-?[0-9]{1,3}", re.ASCII)


@dataclass(frozen=True)
class Logged:
    """What ``log_pain`` recorded: the report's id, and what the policy decided on it."""

    report_id: int
    decisions: list[Decision]


def parse_level(value: object) -> int:
    """An int, or text of plain ASCII digits (the CLI, the form): int() alone would also
    take "1_0", "+5" and Arabic-Indic digits."""
    if isinstance(value, int) and not isinstance(value, bool):
        level = value
    elif isinstance(value, str) and _LEVEL_TEXT.fullmatch(value.strip()):
        level = int(value.strip())
    else:
        raise InputError(f"level: {quote(value)} is not a number from 0 to 10")
    if not 0 <= level <= 10:
        raise InputError(f"level: {level} is not between 0 and 10")
    return level


def _days(window: timedelta) -> str:
    return (f"{window.days} days" if window.days and not window.seconds
            else f"{window.total_seconds() / 3600:g} hours")


def _first_day(person: Person) -> datetime | None:
    """The earliest a report may be dated: the start of the person's local day they were
    added (pain from that morning, before the service knew them, still counts)."""
    if person.added_at is None:  # added before 0008 with nothing recorded: unknown
        return None
    local = person.added_at.astimezone(ZoneInfo(person.timezone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def log_pain(session: Session, settings: Settings, person_id: str, level: object, *,
             where: str | None = None, routine_key: str | None = None, note: str | None = None,
             at: datetime | None = None, source: str, now: datetime,
             submission: str | None = None) -> Logged:
    """Record a pain report and apply the policy; the caller commits.

    ``submission`` is the form's one-time value: the same value again (a double submit)
    records nothing more and returns the first report, with no decisions.
    """
    person = get_person(session, person_id)
    if submission is not None and (not isinstance(submission, str)
                                   or not 8 <= len(submission) <= 64):
        raise InputError("submission: give the form's one-time value (8 to 64 characters)")
    value = parse_level(level)
    for name, text in (("where", where), ("routine", routine_key), ("note", note)):
        if text is not None and (not isinstance(text, str) or text_problem(text)):
            raise InputError(f"{name}: give text that can be stored ({quote(text)} "
                             f"{text_problem(text) if isinstance(text, str) else 'is not text'})")
    if where is not None and where not in LOCATIONS:
        raise InputError(f"where: {quote(where)} is not one of {', '.join(LOCATIONS)}")
    routine = get_routine(session, person.id, routine_key) if routine_key else None
    when = at or now
    if when.tzinfo is None:
        raise InputError("at: give a time with a time zone offset")
    try:
        when.astimezone(UTC)
    except OverflowError:  # year 1 at +14:00 is before year 1 in UTC
        raise InputError(f"at: {when.isoformat()} is out of range") from None
    if when > now + timedelta(minutes=5):
        raise InputError(f"at: {when.isoformat()} is in the future")
    # A report from long ago (or from 1970) says nothing about the hip now, and the
    # policy would count it: e.g. "reported 2 times over 498900 h".
    window = settings.config.service.report_window
    if when < now - window:
        raise InputError(f"at: {when.isoformat()} is more than {_days(window)} ago; a report "
                         f"may be dated at most {_days(window)} back ([service] report_window)")
    first_day = _first_day(person)
    if first_day is not None and when < first_day:
        raise InputError(f"at: {when.isoformat()} is before the day {person.id} was added "
                         f"({first_day:%Y-%m-%d}); leave the time out to log it as now")
    if note is not None and len(note) > 2000:
        raise InputError("note: longer than 2000 characters")
    if submission is not None:
        earlier = _submitted(session, person.id, submission)
        if earlier is not None:
            return Logged(earlier, [])
    report = PainReport(person_id=person.id, at=when, level=value, location=where,
                        routine_id=routine.id if routine else None, note=note or None,
                        source=source, created_at=now, submission=submission)
    try:
        with session.begin_nested():  # a double submit racing this one wins once
            session.add(report)
    except IntegrityError:
        earlier = _submitted(session, person.id, submission) if submission else None
        if earlier is None:
            raise
        return Logged(earlier, [])
    return Logged(report.id, apply_policy(session, settings, person, now))


def _submitted(session: Session, person_id: str, submission: str) -> int | None:
    return session.scalar(select(PainReport.id).where(
        PainReport.person_id == person_id, PainReport.submission == submission))


def log_checkin(session: Session, person_id: str, routine_key: str, outcome: str, *,
                source: str, now: datetime, occurrence_id: int | None = None) -> CheckIn:
    """Mark a routine done or skipped: its given occurrence, else the latest one.

    One answer per reminder: answering it again replaces the earlier answer.
    """
    if outcome not in tuple(CheckinOutcome):
        raise InputError(f"outcome: {outcome!r} is not done or skipped")
    person = get_person(session, person_id)
    routine = get_routine(session, person.id, routine_key)
    if occurrence_id is None:
        occurrence_id = session.scalar(
            select(Occurrence.id).where(Occurrence.routine_id == routine.id,
                                        Occurrence.due_at <= now)
            .order_by(Occurrence.due_at.desc()).limit(1))
    if occurrence_id is not None:
        answered = _answer(session, occurrence_id)
        if answered is not None:
            return _replace_answer(answered, outcome, source, now)
    checkin = CheckIn(person_id=person.id, routine_id=routine.id, occurrence_id=occurrence_id,
                      outcome=outcome, at=now, source=source)
    try:
        with session.begin_nested():  # two answers at once: the other one got in first
            session.add(checkin)
    except IntegrityError:
        answered = _answer(session, occurrence_id) if occurrence_id is not None else None
        if answered is None:
            raise
        return _replace_answer(answered, outcome, source, now)
    return checkin


def _answer(session: Session, occurrence_id: int) -> CheckIn | None:
    return session.scalar(select(CheckIn).where(CheckIn.occurrence_id == occurrence_id))


def _replace_answer(checkin: CheckIn, outcome: str, source: str, now: datetime) -> CheckIn:
    checkin.outcome, checkin.source, checkin.at = outcome, source, now
    return checkin
