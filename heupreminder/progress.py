"""Adherence: how many sent exercise reminders were marked done.

Rest days do not count as misses: a reminder skipped because the routine was
paused for pain was never asked of the person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from heupreminder.db.models import CheckIn, Occurrence, OccurrenceStatus, Routine


@dataclass(frozen=True)
class Adherence:
    planned: int  # exercise reminders that went out
    done: int
    rest: int  # reminders skipped because of a pause: not misses

    @property
    def missed(self) -> int:
        return self.planned - self.done


def adherence(session: Session, person_id: str, since: datetime) -> Adherence:
    base = (select(func.count(Occurrence.id)).join(Routine)
            .where(Routine.person_id == person_id, Routine.kind == "exercise",
                   Occurrence.due_at >= since))
    planned = session.scalar(base.where(Occurrence.status == OccurrenceStatus.SENT)) or 0
    rest = session.scalar(base.where(Occurrence.status == OccurrenceStatus.SKIPPED,
                                     Occurrence.pause_id.is_not(None))) or 0
    done = session.scalar(
        select(func.count(func.distinct(CheckIn.occurrence_id))).join(
            Occurrence, Occurrence.id == CheckIn.occurrence_id).join(Routine)
        .where(CheckIn.person_id == person_id, CheckIn.outcome == "done",
               Routine.kind == "exercise", Occurrence.due_at >= since,
               Occurrence.status == OccurrenceStatus.SENT)) or 0
    return Adherence(planned=planned, done=done, rest=rest)
