"""Which pauses are in force, and which of them stops a given routine's reminder.

``covering()`` is the one rule for "is this routine paused?": the dispatcher (before it
sends), the preview, and ``status`` all ask it, so they never disagree. Only exercise
routines pause: supplement reminders and tips keep going.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from heupreminder.db.models import DecisionRow, PauseRow, Routine, RoutineText
from heupreminder.policy.pain_facts import Pause


def active_pauses(session: Session, person_id: str) -> list[PauseRow]:
    """The person's pauses that have not ended, oldest first (a rest day that is over
    but not yet ended by housekeeping is still here; see ``in_force``)."""
    return list(session.scalars(select(PauseRow).where(
        PauseRow.person_id == person_id, PauseRow.ended_at.is_(None)).order_by(PauseRow.since)))


def in_force(pause: PauseRow, now: datetime) -> bool:
    """Not ended and, for a pause with an end time (a rest day), not past it."""
    return pause.ended_at is None and (pause.until is None or pause.until > now)


def pauses_stopping_exercises(session: Session, person_id: str, exercise_keys: set[str],
                              now: datetime) -> list[PauseRow]:
    """The person's pauses in force that stop an exercise now, oldest first: not one of a
    routine that is gone (``exercise_keys`` are the active ones), nor a rest day that is
    over. What ``status`` and Home Assistant show as paused."""
    return [p for p in active_pauses(session, person_id)
            if in_force(p, now) and (p.scope is None or p.scope in exercise_keys)]


def active_pauses_by_person(session: Session, person_ids: set[str],
                            now: datetime) -> dict[str, list[PauseRow]]:
    """Pauses in force now of several people in one query (the dispatcher's batch)."""
    result: dict[str, list[PauseRow]] = {}
    if not person_ids:
        return result
    for pause in session.scalars(select(PauseRow).where(
            PauseRow.person_id.in_(person_ids), PauseRow.ended_at.is_(None))):
        if in_force(pause, now):
            result.setdefault(pause.person_id, []).append(pause)
    return result


def covering(pauses: Iterable[PauseRow], routine: RoutineText) -> PauseRow | None:
    """The pause among ``pauses`` that stops this routine; supplements never pause."""
    if routine.kind != "exercise":
        return None
    return next((p for p in pauses if p.scope in (None, routine.key)), None)


def pause_covering(session: Session, routine: Routine, now: datetime) -> PauseRow | None:
    """The pause that stops this routine's reminder now, if any."""
    pauses = active_pauses_by_person(session, {routine.person_id}, now)
    return covering(pauses.get(routine.person_id, []), routine)


def last_resume(session: Session, person_id: str) -> datetime | None:
    """When a pause of the person was last resumed (by the policy or by hand).

    Only a resume gives a fresh start: a pause that was widened to all exercises, ran out
    at the end of a rest day, or lost its routine did not end the pain that caused it, so
    the severe reports before it still count.
    """
    return session.scalar(select(func.max(DecisionRow.at)).where(
        DecisionRow.person_id == person_id, DecisionRow.action == "resume"))


def policy_pause(row: PauseRow) -> Pause:
    """A stored pause as the pure policy sees it."""
    return Pause(id=row.id, scope=row.scope, since=row.since, severe=row.severe,
                 until=row.until)
