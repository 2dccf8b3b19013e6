"""Writing what a person logged, and applying the pain policy to the database.

Every way in (CLI, one-tap link page, JSON API) calls these functions, so
validation and the policy are the same everywhere. Input is checked before
anything is written: a bad value raises `InputError` naming the field, and the
transaction writes nothing.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from heupreminder.catalog import Locale
from heupreminder.config.loader import Settings
from heupreminder.config.model import PainConfig
from heupreminder.db.models import (
    CheckIn,
    DecisionRow,
    Occurrence,
    PainReport,
    PauseRow,
    Person,
    Routine,
    RoutineText,
)
from heupreminder.delivery import outbox
from heupreminder.input_text import InputError, quote, text_problem
from heupreminder.pain.texts import (
    caregiver_message,
    checkin_message,
    rest_message,
    resume_message,
)
from heupreminder.policy.pain import evaluate, manual_resume
from heupreminder.policy.pain_facts import MANUAL, SEVERE_TODAY, Decision, Pause, Report
from heupreminder.policy.pain_settings import PainPolicy

log = logging.getLogger(__name__)

LOCATIONS = ("groin", "outer", "lower-back", "other")
SOURCES = ("cli", "link", "api")
# How long after its time a report stamped ahead is still picked up by housekeeping
# (reports may be stamped up to 5 min ahead; this also covers a service restart).
AHEAD_REPORT_WINDOW = timedelta(days=1)
# DecisionRow actions for a person housekeeping could not handle, and its end.
PROBLEM, PROBLEM_SOLVED = "problem", "solved"


# ASCII digits (a minus sign, so that "-1" gets the range message); not "1_0" or "١٠".
_LEVEL_TEXT = re.compile(r"-?[0-9]{1,3}", re.ASCII)


@dataclass(frozen=True)
class Logged:
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


def get_person(session: Session, person_id: str) -> Person:
    person = session.get(Person, person_id)
    if person is None or not person.active:
        raise InputError(f"person: no person {quote(person_id)}")
    return person


def get_routine(session: Session, person_id: str, key: str) -> Routine:
    routine = session.scalar(select(Routine).where(
        Routine.person_id == person_id, Routine.key == key, Routine.active))
    if routine is None:
        known = session.scalars(select(Routine.key).where(
            Routine.person_id == person_id, Routine.active).order_by(Routine.key)).all()
        raise InputError(f"routine: {person_id} has no routine {quote(key)} "
                         f"(known: {', '.join(known) or 'none'})")
    return routine


def policy_for(config: PainConfig) -> PainPolicy:
    return PainPolicy(
        threshold=config.threshold, persist_span=config.persist_span,
        severe_level=config.severe_level, severe_pause_age=config.severe_pause_age,
        resume_level=config.resume_level, min_rest=config.min_rest,
        resume_report_age=config.resume_report_age)


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
    if outcome not in ("done", "skipped"):
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


def active_pauses(session: Session, person_id: str) -> list[PauseRow]:
    return list(session.scalars(select(PauseRow).where(
        PauseRow.person_id == person_id, PauseRow.ended_at.is_(None)).order_by(PauseRow.since)))


def pause_covering(session: Session, routine: Routine, now: datetime) -> PauseRow | None:
    """The pause that stops this routine's reminder now, if any.

    Only exercises pause: supplement reminders and tips keep going.
    """
    pauses = active_pauses_by_person(session, {routine.person_id}, now)
    return covering(pauses.get(routine.person_id, []), routine)


def active_pauses_by_person(session: Session, person_ids: set[str],
                            now: datetime) -> dict[str, list[PauseRow]]:
    """Active pauses of several people in one query (the dispatcher's batch)."""
    result: dict[str, list[PauseRow]] = {}
    if not person_ids:
        return result
    for pause in session.scalars(select(PauseRow).where(
            PauseRow.person_id.in_(person_ids), PauseRow.ended_at.is_(None))):
        if pause.until is None or pause.until > now:
            result.setdefault(pause.person_id, []).append(pause)
    return result


def covering(pauses: list[PauseRow], routine: RoutineText) -> PauseRow | None:
    """The pause among `pauses` that stops this routine; supplements never pause."""
    if routine.kind != "exercise":
        return None
    return next((p for p in pauses if p.scope in (None, routine.key)), None)


def pause_by_hand(session: Session, person_id: str, routine_key: str | None, *,
                  until: datetime | None, now: datetime, by: str) -> PauseRow:
    person = get_person(session, person_id)
    if routine_key:
        routine = get_routine(session, person.id, routine_key)
        if routine.kind != "exercise":
            raise InputError(f"routine: {routine_key!r} is a {routine.kind}; only exercise "
                             "routines pause")
    if until is not None and until <= now:
        raise InputError(f"until: {until.isoformat()} is not in the future")
    what = f"routine {routine_key}" if routine_key else "all exercise routines"
    pause = PauseRow(person_id=person.id, scope=routine_key, since=now, until=until,
                     code="manual", reason=f"paused by hand ({by}): {what}")
    session.add(pause)
    session.flush()
    session.add(DecisionRow(person_id=person.id, at=now, action="pause", scope=routine_key,
                            code="manual", reason=pause.reason, report_ids=[],
                            pause_id=pause.id))
    return pause


def resume_by_hand(session: Session, settings: Settings, person_id: str,
                   routine_key: str | None, *, now: datetime, by: str) -> list[Decision]:
    """End the person's pauses (all, or the one for `routine_key`)."""
    person = get_person(session, person_id)
    decisions = []
    for row in active_pauses(session, person.id):
        if routine_key is None or row.scope == routine_key:
            decision = manual_resume(_pause(row), now, by)
            _apply(session, settings, person, decision, now)
            decisions.append(decision)
    if not decisions:
        raise InputError(f"resume: nothing of {person.id!r} is paused"
                         + (f" for {routine_key!r}" if routine_key else ""))
    return decisions


def apply_policy(session: Session, settings: Settings, person: Person,
                 now: datetime) -> list[Decision]:
    """Run the pain policy on the person's reports and apply what it decides."""
    rows = session.execute(
        select(PainReport, Routine.key, Routine.kind)
        .outerjoin(Routine, Routine.id == PainReport.routine_id)
        .where(PainReport.person_id == person.id).order_by(PainReport.at)).all()
    # Pain logged with a supplement or tip is pain without a routine: only exercises pause.
    reports = [Report(id=r.id, at=r.at, level=r.level,
                      routine=key if kind == "exercise" else None) for r, key, kind in rows]
    pauses = [_pause(p) for p in active_pauses(session, person.id) if p.code != MANUAL]
    policy = policy_for(settings.config.person_pain(person.id))
    decisions = evaluate(reports, pauses, policy, now, ZoneInfo(person.timezone),
                         last_resume=last_resume(session, person.id))
    for decision in decisions:
        _apply(session, settings, person, decision, now)
    return decisions


def last_resume(session: Session, person_id: str) -> datetime | None:
    """When a pause of the person was last resumed (by the policy or by hand).

    Only a resume gives a fresh start: a pause that was widened to all exercises, ran out
    at the end of a rest day, or lost its routine did not end the pain that caused it, so
    the severe reports before it still count.
    """
    return session.scalar(select(func.max(DecisionRow.at)).where(
        DecisionRow.person_id == person_id, DecisionRow.action == "resume"))


def _pause(row: PauseRow) -> Pause:
    return Pause(id=row.id, scope=row.scope, since=row.since, severe=row.severe,
                 until=row.until)


def _apply(session: Session, settings: Settings, person: Person, decision: Decision,
           now: datetime) -> None:
    locale = cast(Locale, person.locale)
    pause_id = decision.pause_id
    routine_title = _routine_title(session, person, decision)
    if decision.action == "pause":
        row = PauseRow(person_id=person.id, scope=decision.scope, since=now, code=decision.code,
                       reason=decision.reason, severe=decision.advise_care, until=decision.until)
        session.add(row)
        session.flush()
        pause_id = row.id
        if decision.scope is None and decision.until is None:
            # A lasting pause of everything replaces narrower lasting pauses.
            for narrower in active_pauses(session, person.id):
                if narrower.scope is not None and narrower.until is None:
                    narrower.ended_at, narrower.ended_reason = now, "widened to all exercises"
        title, body = rest_message(locale, decision, routine_title,
                                   has_supplements=_has_supplements(session, person))
        queue_notice(session, person, "rest", f"rest-{pause_id}", title, body, now=now)
    elif decision.action == "escalate":
        row_ = session.get(PauseRow, decision.pause_id)
        if row_ is not None:
            row_.severe = True
        title, body = rest_message(locale, decision, routine_title,
                                   has_supplements=_has_supplements(session, person))
        queue_notice(session, person, "rest", f"escalate-{decision.pause_id}", title, body,
                     now=now)
    elif decision.action == "resume":
        row_ = session.get(PauseRow, decision.pause_id)
        if row_ is not None:
            row_.ended_at, row_.ended_reason = now, decision.reason
        title, body = resume_message(locale, decision, routine_title)
        queue_notice(session, person, "resume", f"resume-{decision.pause_id}", title, body,
                     now=now)
    if decision.notify_caregiver:
        config = settings.config.person(person.id)
        caregivers = list(config.caregiver_channels) if config else []
        if caregivers:
            title, body = caregiver_message(locale, person.name, decision, routine_title)
            queue_notice(session, person, "caregiver", f"caregiver-{pause_id}", title, body,
                         channels=caregivers, now=now)
    session.add(DecisionRow(person_id=person.id, at=now, action=decision.action,
                            scope=decision.scope, code=decision.code, reason=decision.reason,
                            report_ids=list(decision.report_ids), pause_id=pause_id))


def _has_supplements(session: Session, person: Person) -> bool:
    return session.scalar(select(func.count(Routine.id)).where(
        Routine.person_id == person.id, Routine.active, Routine.kind == "supplement")) != 0


def _routine_title(session: Session, person: Person, decision: Decision) -> str | None:
    if decision.scope is None:
        return None
    from heupreminder.delivery.messages import routine_title

    routine = session.scalar(select(Routine).where(
        Routine.person_id == person.id, Routine.key == decision.scope))
    return routine_title(routine, person.locale) if routine else decision.scope


def queue_notice(session: Session, person: Person, kind: str, dedupe_key: str, title: str,
                 body: str, channels: list[str] | None = None, *, now: datetime) -> None:
    """Put a message for `person` in the outbox unless the same one is already there."""
    outbox.queue_notice(session, person.id, kind, dedupe_key, title, body,
                        channels=channels if channels is not None else list(person.channels),
                        now=now)


def housekeeping(session: Session, settings: Settings, now: datetime) -> None:
    """Time-driven pain work, run about once a minute by the service.

    - a pause with an end time ends then: one set by hand `--until` with a resume
      message, a rest day (severe today) quietly at midnight;
    - the policy looks again at paused people (rested long enough? still severe?) and at
      everyone with a report whose time has just come (stamped a few minutes ahead);
    - paused people get one gentle check-in a day, from `[pain] checkin_at`.

    Each person is handled in a savepoint of their own: one person's bad data or failure
    is logged and recorded once (shown by `status`) and never stops anyone else's.
    """
    _end_timed_pauses(session, settings, now)
    for person in _people_to_evaluate(session, now):
        person_id = person.id  # still readable after the savepoint is rolled back
        try:
            with session.begin_nested():
                apply_policy(session, settings, person, now)
                _daily_checkin(session, settings, person, now)
        except Exception as error:  # one person must not stop the others
            _record_problem(session, person_id, error, now)
        else:
            _record_solved(session, person_id, now)


def _end_timed_pauses(session: Session, settings: Settings, now: datetime) -> None:
    for row in session.scalars(select(PauseRow).where(
            PauseRow.ended_at.is_(None), PauseRow.until.is_not(None),
            PauseRow.until <= now)).all():
        if row.code == SEVERE_TODAY:
            # The rest message said "for the rest of today": no message at midnight, and
            # no fresh start either (a second severe day must still count).
            row.ended_at, row.ended_reason = row.until, "the rest day is over"
            continue
        person = session.get(Person, row.person_id)
        if person is not None:
            try:
                with session.begin_nested():
                    _apply(session, settings, person,
                           manual_resume(_pause(row), now, "until"), now)
            except Exception as error:  # one person must not stop the others
                _record_problem(session, person.id, error, now)


def _people_to_evaluate(session: Session, now: datetime) -> list[Person]:
    """People with an active pause, and people with a report stamped ahead whose time
    has come (the policy saw it as "in the future" when it was logged)."""
    paused = select(PauseRow.person_id).where(PauseRow.ended_at.is_(None))
    came_due = select(PainReport.person_id).where(
        PainReport.at > PainReport.created_at, PainReport.at <= now,
        PainReport.at > now - AHEAD_REPORT_WINDOW)
    return list(session.scalars(select(Person).where(
        Person.active, Person.id.in_(paused.union(came_due))).order_by(Person.id)).all())


def _daily_checkin(session: Session, settings: Settings, person: Person,
                   now: datetime) -> None:
    # A rest day ends tonight by itself: no "how is your hip?" for it.
    pauses = [p for p in active_pauses(session, person.id) if p.code != SEVERE_TODAY]
    if not pauses:
        return
    zone = ZoneInfo(person.timezone)
    pain = settings.config.person_pain(person.id)
    assert pain.checkin_at is not None
    local_now = now.astimezone(zone)
    checkin_at = datetime.combine(local_now.date(), pain.checkin_at, tzinfo=zone)
    if local_now < checkin_at or min(p.since for p in pauses) >= checkin_at:
        return
    by_hand = all(p.code == MANUAL for p in pauses)
    ends = [p.until for p in pauses if p.until is not None]
    until = (max(ends).astimezone(zone).strftime("%d-%m %H:%M")
             if by_hand and len(ends) == len(pauses) else None)
    title, body = checkin_message(cast(Locale, person.locale), person.name, by_hand=by_hand,
                                  until=until, resume_level=pain.resume_level)
    queue_notice(session, person, "checkin", f"checkin-{local_now.date()}", title, body,
                 now=now)


def _record_problem(session: Session, person_id: str, error: Exception, now: datetime) -> None:
    """Log and record a person's housekeeping failure, once until it is solved."""
    what = f"housekeeping failed: {type(error).__name__}: {error}"[:500]
    latest = _latest_problem(session, person_id)
    if latest is not None and latest.action == PROBLEM and latest.reason == what:
        return
    log.error("pain housekeeping for %s failed (the others go on): %s", person_id, what)
    session.add(DecisionRow(person_id=person_id, at=now, action=PROBLEM, code="housekeeping",
                            reason=what, report_ids=[]))


def _record_solved(session: Session, person_id: str, now: datetime) -> None:
    latest = _latest_problem(session, person_id)
    if latest is not None and latest.action == PROBLEM:
        log.info("pain housekeeping for %s works again", person_id)
        session.add(DecisionRow(person_id=person_id, at=now, action=PROBLEM_SOLVED,
                                code="housekeeping", reason="housekeeping works again",
                                report_ids=[]))


def _latest_problem(session: Session, person_id: str) -> DecisionRow | None:
    return session.scalars(select(DecisionRow).where(
        DecisionRow.person_id == person_id,
        DecisionRow.action.in_((PROBLEM, PROBLEM_SOLVED)))
        .order_by(DecisionRow.at.desc(), DecisionRow.id.desc()).limit(1)).first()


def open_problem(session: Session, person_id: str) -> DecisionRow | None:
    """The person's housekeeping failure that has not been solved yet, if any."""
    latest = _latest_problem(session, person_id)
    return latest if latest is not None and latest.action == PROBLEM else None
