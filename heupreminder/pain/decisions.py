"""Applying the pain policy to the database: run it on a person's reports, store what it
decides (pauses, escalations, resumes), and pause or resume by hand.

Every decision is stored as a ``DecisionRow`` (the history the care report shows) and
sends its messages through the outbox (``pain.notices``). The caller commits.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from heupreminder.config.loader import Settings
from heupreminder.config.model import PainConfig
from heupreminder.db.models import DecisionRow, PainReport, PauseRow, Person, Routine
from heupreminder.input_text import InputError
from heupreminder.pain.lookups import get_person, get_routine
from heupreminder.pain.notices import queue_decision_notices
from heupreminder.pain.pauses import active_pauses, last_resume, policy_pause
from heupreminder.policy.pain import evaluate, manual_resume
from heupreminder.policy.pain_facts import MANUAL, Decision, Report
from heupreminder.policy.pain_settings import PainPolicy


def policy_for(config: PainConfig) -> PainPolicy:
    """The policy's numbers from a person's ``[pain]`` settings."""
    return PainPolicy(
        threshold=config.threshold, persist_span=config.persist_span,
        severe_level=config.severe_level, severe_pause_age=config.severe_pause_age,
        resume_level=config.resume_level, min_rest=config.min_rest,
        resume_report_age=config.resume_report_age)


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
    # A pause set by hand is the person's own choice: the policy neither resumes nor
    # escalates it.
    pauses = [policy_pause(p) for p in active_pauses(session, person.id) if p.code != MANUAL]
    policy = policy_for(settings.config.person_pain(person.id))
    decisions = evaluate(reports, pauses, policy, now, ZoneInfo(person.timezone),
                         last_resume=last_resume(session, person.id))
    for decision in decisions:
        apply_decision(session, settings, person, decision, now)
    return decisions


def apply_decision(session: Session, settings: Settings, person: Person, decision: Decision,
                   now: datetime) -> None:
    """Store one decision, queue its messages and record it in the person's history."""
    pause_id = _change_pauses(session, person, decision, now)
    queue_decision_notices(session, settings, person, decision, pause_id, now)
    session.add(DecisionRow(person_id=person.id, at=now, action=decision.action,
                            scope=decision.scope, code=decision.code, reason=decision.reason,
                            report_ids=list(decision.report_ids), pause_id=pause_id))


def _change_pauses(session: Session, person: Person, decision: Decision,
                   now: datetime) -> int | None:
    """Start, escalate or end the pause ``decision`` is about; returns that pause's id."""
    if decision.action == "pause":
        row = PauseRow(person_id=person.id, scope=decision.scope, since=now, code=decision.code,
                       reason=decision.reason, severe=decision.advise_care, until=decision.until)
        session.add(row)
        session.flush()
        if decision.scope is None and decision.until is None:
            # A lasting pause of everything replaces narrower lasting pauses.
            for narrower in active_pauses(session, person.id):
                if narrower.scope is not None and narrower.until is None:
                    narrower.ended_at, narrower.ended_reason = now, "widened to all exercises"
        return row.id
    existing = session.get(PauseRow, decision.pause_id)
    if existing is not None:
        if decision.action == "escalate":
            existing.severe = True
        else:
            existing.ended_at, existing.ended_reason = now, decision.reason
    return decision.pause_id


def pause_by_hand(session: Session, person_id: str, routine_key: str | None, *,
                  until: datetime | None, now: datetime, by: str) -> PauseRow:
    """Pause one exercise routine, or all of them, until ``until`` or until resumed."""
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
            decision = manual_resume(policy_pause(row), now, by)
            apply_decision(session, settings, person, decision, now)
            decisions.append(decision)
    if not decisions:
        raise InputError(f"resume: nothing of {person.id!r} is paused"
                         + (f" for {routine_key!r}" if routine_key else ""))
    return decisions
