"""Adherence: how many reminders that went out were marked done, in one place.

One rule for everyone who shows it (``status``, Home Assistant's "done this week", the
weekly summary, the history page, the care report):

- ``planned`` = reminders that went out (status ``sent``); ``done`` = those marked done
  (each reminder once, however often it was tapped); ``rest`` = reminders skipped because
  a pause covered them (``occurrences.pause_id``). Rest days are not misses: a reminder
  skipped because the routine was paused for pain was never asked of the person, so
  ``missed = planned - done``.
- The one adherence figure (``adherence()``) counts **exercise** routines only.
  Supplements are counted per routine (``routine_adherence()``: the weekly summary and the
  care report list "magnesium: 6 of 7"), never mixed into it: they never pause, so they
  have no rest days, and a forgotten tablet is not a missed exercise session (nor does a
  tablet taken make up for one).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from heupreminder.db.models import CheckIn, Occurrence, OccurrenceStatus, Routine

EXERCISE_ONLY = ("exercise",)


@dataclass(frozen=True)
class Adherence:
    planned: int  # reminders that went out
    done: int
    rest: int  # reminders skipped because of a pause: not misses

    @property
    def missed(self) -> int:
        return self.planned - self.done


def adherence(session: Session, person_id: str, since: datetime,
              end: datetime | None = None) -> Adherence:
    """The person's exercise adherence for reminders due in ``[since, end)`` (no end:
    up to now and beyond, which only sees reminders that already went out)."""
    counts = routine_adherence(session, person_id, since, end).values()
    return Adherence(planned=sum(c.planned for c in counts), done=sum(c.done for c in counts),
                     rest=sum(c.rest for c in counts))


def routine_adherence(session: Session, person_id: str, since: datetime,
                      end: datetime | None = None,
                      kinds: Collection[str] = EXERCISE_ONLY) -> dict[int, Adherence]:
    """Per routine id (routines of ``kinds`` with a reminder due in ``[since, end)``)."""
    in_window = _due_in(since, end)
    counts: dict[int, tuple[int, int]] = {}
    for routine_id, planned, rest in session.execute(
            select(Occurrence.routine_id,
                   func.sum(case((Occurrence.status == OccurrenceStatus.SENT, 1), else_=0)),
                   func.sum(case(((Occurrence.status == OccurrenceStatus.SKIPPED)
                                  & Occurrence.pause_id.is_not(None), 1), else_=0)))
            .join(Routine)
            .where(Routine.person_id == person_id, Routine.kind.in_(kinds), in_window)
            .group_by(Occurrence.routine_id)):
        counts[routine_id] = (int(planned or 0), int(rest or 0))
    done: dict[int, int] = {routine_id: count for routine_id, count in session.execute(
        select(Occurrence.routine_id, func.count(func.distinct(CheckIn.occurrence_id)))
        .join(Occurrence, Occurrence.id == CheckIn.occurrence_id).join(Routine)
        .where(CheckIn.person_id == person_id, CheckIn.outcome == "done",
               Routine.kind.in_(kinds), in_window,
               Occurrence.status == OccurrenceStatus.SENT)
        .group_by(Occurrence.routine_id))}
    return {routine_id: Adherence(planned=planned, done=done.get(routine_id, 0), rest=rest)
            for routine_id, (planned, rest) in counts.items()}


def _due_in(since: datetime, end: datetime | None) -> ColumnElement[bool]:
    window = Occurrence.due_at >= since
    return window if end is None else window & (Occurrence.due_at < end)
