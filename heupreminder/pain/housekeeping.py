"""The service's time-driven pain work, run about once a minute: pauses that reach their
end time, the policy's second look at paused people, the daily check-in while paused,
and a per-person record of failures that ``status`` shows.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from heupreminder.catalog import Locale
from heupreminder.config.loader import Settings
from heupreminder.db.models import DecisionRow, PainReport, PauseRow, Person
from heupreminder.pain.decisions import apply_decision, apply_policy
from heupreminder.pain.notices import queue_notice
from heupreminder.pain.pauses import active_pauses, policy_pause
from heupreminder.pain.rest_messages import checkin_message
from heupreminder.policy.pain import manual_resume
from heupreminder.policy.pain_facts import MANUAL, SEVERE_TODAY

log = logging.getLogger(__name__)

# How long after its time a report stamped ahead is still picked up by housekeeping
# (reports may be stamped up to 5 min ahead; this also covers a service restart).
AHEAD_REPORT_WINDOW = timedelta(days=1)
# DecisionRow actions for a person housekeeping could not handle, and its end.
PROBLEM, PROBLEM_SOLVED = "problem", "solved"


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
                    apply_decision(session, settings, person,
                                   manual_resume(policy_pause(row), now, "until"), now)
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
