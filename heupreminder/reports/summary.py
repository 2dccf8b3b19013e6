"""The week's numbers for the weekly summary and the history page.

Contracts (``weekly_summary(session, person, end)``):

- The week is the 7 days before ``end`` (``[end - 7 d, end)``); ``end`` is an
  aware datetime, usually the summary moment. Nothing after ``end`` counts, so
  the same database and ``end`` always give the same summary.
- Per routine (exercises and supplements; nutrition tips are not sessions):
  ``planned``, ``done`` and ``rest`` are ``progress.routine_adherence()``'s
  (rest days are not misses: ``missed = planned - done``), so the exercises'
  total (``total("exercise")``) is ``progress.adherence()`` for the week.
- Pain: the week's reports (count, average, highest) and the average of the
  week before; ``trend`` is ``up``/``down``/``steady`` (a change of less than
  0.5 is steady) when both weeks have reports, ``new`` when only this week
  has, ``none`` when this week has none.
- Pauses: those in force at ``end`` (started before it, not ended by then),
  with their code and the recorded reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from heupreminder.db.models import (
    PainReport,
    PauseRow,
    Person,
    Routine,
)
from heupreminder.delivery.messages import routine_title
from heupreminder.progress import Adherence, routine_adherence

WEEK = timedelta(days=7)
STEADY_BAND = 0.5
SESSION_KINDS = ("exercise", "supplement")

Trend = Literal["up", "down", "steady", "new", "none"]


@dataclass(frozen=True)
class RoutineWeek:
    key: str
    title: str
    kind: str
    planned: int  # reminders that went out
    done: int
    rest: int  # skipped because paused: not misses

    @property
    def missed(self) -> int:
        return self.planned - self.done


@dataclass(frozen=True)
class PainWeek:
    reports: int
    average: float | None
    highest: int | None
    previous_average: float | None

    @property
    def trend(self) -> Trend:
        if self.average is None:
            return "none"
        if self.previous_average is None:
            return "new"
        change = self.average - self.previous_average
        if abs(change) < STEADY_BAND:
            return "steady"
        return "up" if change > 0 else "down"


@dataclass(frozen=True)
class PauseNow:
    scope: str | None  # a routine key; None = all exercises
    scope_title: str | None
    since: datetime
    until: datetime | None
    code: str
    reason: str


@dataclass(frozen=True)
class WeeklySummary:
    person_id: str
    start: datetime
    end: datetime
    routines: tuple[RoutineWeek, ...]
    pain: PainWeek
    pauses: tuple[PauseNow, ...]

    def total(self, kind: str = "exercise") -> RoutineWeek:
        """The sum over the routines of one kind (``key`` and ``title`` are the kind)."""
        rows = [r for r in self.routines if r.kind == kind]
        return RoutineWeek(kind, kind, kind, sum(r.planned for r in rows),
                           sum(r.done for r in rows), sum(r.rest for r in rows))

    @property
    def empty(self) -> bool:
        """Nothing to tell: no reminders, no pain reports, no pauses."""
        return (not any(r.planned or r.rest or r.done for r in self.routines)
                and self.pain.reports == 0 and not self.pauses)


def weekly_summary(session: Session, person: Person, end: datetime) -> WeeklySummary:
    if end.tzinfo is None:
        raise ValueError("weekly_summary needs an aware end time")
    start = end - WEEK
    return WeeklySummary(
        person_id=person.id, start=start, end=end,
        routines=tuple(routine_weeks(session, person, start, end)),
        pain=pain_week(session, person.id, start, end),
        pauses=tuple(pauses_at(session, person, end)))


def routine_weeks(session: Session, person: Person, start: datetime,
                  end: datetime) -> list[RoutineWeek]:
    """Done / planned / rest per routine for reminders due in ``[start, end)``."""
    routines = session.scalars(select(Routine).where(
        Routine.person_id == person.id, Routine.kind.in_(SESSION_KINDS))
        .order_by(Routine.kind, Routine.key)).all()
    # progress.py's rule, per routine; the exercises' sum is the person's adherence.
    counts = routine_adherence(session, person.id, start, end, kinds=SESSION_KINDS)
    nothing = Adherence(planned=0, done=0, rest=0)
    weeks = []
    for routine in routines:
        count = counts.get(routine.id, nothing)
        row = RoutineWeek(routine.key, routine_title(routine, person.locale), routine.kind,
                          count.planned, count.done, count.rest)
        if routine.active or row.planned or row.rest:
            weeks.append(row)
    return weeks


def pain_week(session: Session, person_id: str, start: datetime, end: datetime) -> PainWeek:
    levels = _levels(session, person_id, start, end)
    previous = _levels(session, person_id, start - WEEK, start)
    return PainWeek(reports=len(levels), average=_mean(levels),
                    highest=max(levels) if levels else None, previous_average=_mean(previous))


def pauses_at(session: Session, person: Person, moment: datetime) -> list[PauseNow]:
    """Pauses in force at ``moment``, oldest first."""
    rows = session.scalars(select(PauseRow).where(
        PauseRow.person_id == person.id, PauseRow.since <= moment,
        or_(PauseRow.ended_at.is_(None), PauseRow.ended_at > moment),
        or_(PauseRow.until.is_(None), PauseRow.until > moment)).order_by(PauseRow.since)).all()
    titles = {r.key: routine_title(r, person.locale) for r in session.scalars(
        select(Routine).where(Routine.person_id == person.id))}
    return [PauseNow(p.scope, titles.get(p.scope, p.scope) if p.scope else None, p.since,
                     p.until, p.code, p.reason) for p in rows]


def _levels(session: Session, person_id: str, start: datetime, end: datetime) -> list[int]:
    return list(session.scalars(select(PainReport.level).where(
        PainReport.person_id == person_id, PainReport.at >= start, PainReport.at < end)))


def _mean(values: list[int]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None
