"""The pain policy, as a table of pain timelines played back day by day.

Each timeline is a list of steps in Europe/Amsterdam local time: a pain report, a plain
check (``evaluate()`` without a new report, like the daemon's daily run) or a resume by
hand. ``play()`` calls ``evaluate()`` at every step, applies the decisions to a simulated
list of active pauses, and checks on the way that evaluating again with the applied result
changes nothing (decisions are never repeated).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from heupreminder.policy.pain import evaluate, manual_resume
from heupreminder.policy.pain_facts import Decision, Pause, Report
from heupreminder.policy.pain_settings import PainPolicy

AMS = ZoneInfo("Europe/Amsterdam")
START = date(2025, 5, 5)  # day 1, a Monday, far from a DST change
POLICY = PainPolicy()


def at(day: int, hhmm: str) -> datetime:
    """Local Amsterdam time on day ``day`` (day 1 is ``START``)."""
    hours, minutes = map(int, hhmm.split(":"))
    return datetime.combine(START + timedelta(days=day - 1), time(hours, minutes), tzinfo=AMS)


@dataclass(frozen=True)
class Step:
    day: int
    hhmm: str
    level: int | None = None  # None: no report, only evaluate
    routine: str | None = None
    by_hand: bool = False  # resume every active pause by hand


def pain(day: int, hhmm: str, level: int, routine: str | None = None) -> Step:
    return Step(day, hhmm, level, routine)


def check(day: int, hhmm: str) -> Step:
    return Step(day, hhmm)


def resume_by_hand(day: int, hhmm: str) -> Step:
    return Step(day, hhmm, by_hand=True)


# (day, "HH:MM", action, code, scope, care) where care = advise_care and notify_caregiver
Outcome = tuple[int, str, str, str, str | None, bool]


@dataclass
class Person:
    """A simulated person: reports, active pauses, and everything decided so far."""

    reports: list[Report]
    pauses: list[Pause]
    log: list[tuple[datetime, Decision]]
    last_resume: datetime | None = None
    use_last_resume: bool = True

    def evaluate(self, now: datetime) -> list[Decision]:
        return evaluate(self.reports, self.pauses, POLICY, now, AMS,
                        last_resume=self.last_resume if self.use_last_resume else None)

    def apply(self, now: datetime, decisions: list[Decision]) -> None:
        for decision in decisions:
            self.log.append((now, decision))
            if decision.action == "pause":
                self.pauses.append(Pause(len(self.log), decision.scope, now,
                                         severe=decision.advise_care, until=decision.until))
            elif decision.action == "escalate":
                self.pauses = [replace(p, severe=True) if p.id == decision.pause_id else p
                               for p in self.pauses]
            else:
                self.pauses = [p for p in self.pauses if p.id != decision.pause_id]
                self.last_resume = now


def play(steps: list[Step], *, use_last_resume: bool = True) -> Person:
    person = Person([], [], [], use_last_resume=use_last_resume)
    for step in steps:
        now = at(step.day, step.hhmm)
        # A rest day ends by itself (as housekeeping does); that is not a resume.
        person.pauses = [p for p in person.pauses if p.until is None or p.until > now]
        if step.level is not None:
            person.reports.append(Report(len(person.reports) + 1, now, step.level, step.routine))
        if step.by_hand:
            person.apply(now, [manual_resume(p, now, by="test") for p in person.pauses])
        person.apply(now, person.evaluate(now))
        assert person.evaluate(now) == [], f"decision repeated at {now}"
    return person


def outcomes(person: Person) -> list[Outcome]:
    rows: list[Outcome] = []
    for now, d in person.log:
        assert d.advise_care == d.notify_caregiver
        local = now.astimezone(AMS)
        day = (local.date() - START).days + 1
        rows.append((day, local.strftime("%H:%M"), d.action, d.code, d.scope, d.advise_care))
    return rows


TIMELINES: dict[str, tuple[list[Step], list[Outcome]]] = {
    "day-after soreness that settles": (
        [pain(1, "19:00", 5), pain(2, "08:00", 4), pain(3, "08:00", 1), check(4, "09:00")],
        [],
    ),
    "day-after soreness, same level next morning": (
        [pain(1, "20:00", 5), pain(2, "09:00", 5), check(3, "09:00"), check(4, "09:00")],
        [],
    ),
    "persisting moderate pain pauses on the report 24 h or more later": (
        [pain(1, "08:00", 5), pain(1, "20:00", 4), pain(2, "09:00", 5)],
        [(2, "09:00", "pause", "persisting", None, False)],
    ),
    "persisting: exactly 24 h is enough, and pausing happens once": (
        [pain(1, "08:00", 4), pain(2, "08:00", 4), pain(2, "12:00", 5), pain(3, "08:00", 4)],
        [(2, "08:00", "pause", "persisting", None, False)],
    ),
    "a resume is a fresh start: severe days before it do not pause again at once": (
        [pain(1, "20:00", 7, "bridge"), pain(2, "08:00", 8, "bridge"), pain(4, "09:00", 2),
         check(4, "10:00"), check(5, "10:00")],
        [
            (1, "20:00", "pause", "severe-today", None, False),
            (2, "08:00", "pause", "severe", "bridge", True),
            (4, "09:00", "resume", "rested", "bridge", False),
        ],
    ),
    "a low report breaks the run (and there is nothing to get worse)": (
        [pain(1, "08:00", 5), pain(1, "20:00", 2), pain(2, "09:00", 5)],
        [],
    ),
    "worsening: 5 after training, 7 the next morning": (
        [pain(1, "19:00", 5), pain(2, "08:00", 7)],
        [(2, "08:00", "pause", "worsening", None, False)],
    ),
    "worsening: later on the next day, from mild pain the evening before": (
        [pain(1, "08:00", 6), pain(1, "20:00", 3), pain(2, "15:00", 5, "bridge")],
        [(2, "15:00", "pause", "worsening", "bridge", False)],
    ),
    "worsening compares with the last report of the day before, not the worst": (
        [pain(1, "12:00", 6), pain(1, "21:00", 4), pain(2, "08:00", 5)],
        [(2, "08:00", "pause", "worsening", None, False)],
    ),
    "not worsening: two days later is not the next day": (
        [pain(1, "20:00", 3), pain(3, "08:00", 5)],
        [],
    ),
    "next-day report that is as high 24 h or more later is not soreness any more": (
        [pain(1, "19:00", 5), pain(2, "20:00", 4)],
        [(2, "20:00", "pause", "persisting", None, False)],
    ),
    "rising pain": (
        [pain(1, "08:00", 2), pain(1, "14:00", 4), pain(1, "20:00", 6)],
        [(1, "20:00", "pause", "rising", None, False)],
    ),
    "rising pain in one routine: the low starting point does not widen the scope": (
        [pain(1, "08:00", 2), pain(1, "14:00", 4, "bridge"), pain(1, "20:00", 6, "bridge")],
        [(1, "20:00", "pause", "rising", "bridge", False)],
    ),
    "rising but still below the threshold": (
        [pain(1, "08:00", 1), pain(1, "14:00", 2), pain(1, "20:00", 3)],
        [],
    ),
    "severe persisting pain advises care": (
        [pain(1, "20:00", 7), pain(2, "08:00", 8)],
        [
            (1, "20:00", "pause", "severe-today", None, False),
            (2, "08:00", "pause", "severe", None, True),
        ],
    ),
    "severe pain on one day only: rest today, no caregiver": (
        [pain(1, "08:00", 7), pain(1, "12:00", 8), check(2, "09:00"), pain(2, "10:00", 2)],
        [(1, "08:00", "pause", "severe-today", None, False)],
    ),
    "severe: local dates count, not UTC dates (23:30 and 00:30)": (
        [pain(1, "23:30", 7), pain(2, "00:30", 7)],
        [
            (1, "23:30", "pause", "severe-today", None, False),
            (2, "00:30", "pause", "severe", None, True),
        ],
    ),
    "severe: one local date although two UTC dates": (
        [pain(1, "00:30", 7), pain(1, "23:30", 8)],
        [(1, "00:30", "pause", "severe-today", None, False)],
    ),
    "severe on two days with a lower report between (8, 3, 8) escalates": (
        [pain(1, "20:00", 8), pain(2, "08:00", 3), pain(2, "19:00", 8)],
        [
            (1, "20:00", "pause", "severe-today", None, False),
            (2, "19:00", "pause", "severe", None, True),
        ],
    ),
    "severe on two days a week apart still counts (since the last resume)": (
        [pain(1, "10:00", 9), pain(2, "10:00", 1), pain(8, "10:00", 7)],
        [
            (1, "10:00", "pause", "severe-today", None, False),
            (8, "10:00", "pause", "severe", None, True),
        ],
    ),
    "severe before a resume by hand is not counted again": (
        [pain(1, "10:00", 9), resume_by_hand(1, "12:00"), pain(3, "10:00", 8)],
        [
            (1, "10:00", "pause", "severe-today", None, False),
            (1, "12:00", "resume", "manual", None, False),
            (3, "10:00", "pause", "severe-today", None, False),
        ],
    ),
    "severe today inside a one-routine pause rests all exercises today": (
        [pain(1, "08:00", 5, "bridge"), pain(2, "09:00", 5, "bridge"), pain(2, "12:00", 1),
         pain(3, "12:00", 9, "walk"), pain(3, "14:00", 9, "bridge"), check(4, "09:00")],
        [
            (2, "09:00", "pause", "persisting", "bridge", False),
            (3, "12:00", "pause", "severe-today", None, False),
        ],
    ),
    "severe pain with a routine that is already paused: no rest day on top": (
        [pain(1, "08:00", 5, "bridge"), pain(2, "09:00", 5, "bridge"),
         pain(2, "12:00", 8, "bridge")],
        [(2, "09:00", "pause", "persisting", "bridge", False)],
    ),
    "pain linked to one routine pauses only that routine": (
        [pain(1, "08:00", 5, "bridge"), pain(2, "09:00", 6, "bridge")],
        [(2, "09:00", "pause", "persisting", "bridge", False)],
    ),
    "pain linked to different routines pauses all": (
        [pain(1, "08:00", 5, "bridge"), pain(2, "09:00", 6, "hip-stretch")],
        [(2, "09:00", "pause", "persisting", None, False)],
    ),
    "resume too early: low report 30 h into the pause, no check later": (
        [pain(1, "08:00", 5), pain(2, "09:00", 5), pain(3, "15:00", 1)],
        [(2, "09:00", "pause", "persisting", None, False)],
    ),
    "resume after rest: low report 50 h into the pause": (
        [pain(1, "08:00", 5), pain(2, "09:00", 5), pain(3, "15:00", 1), pain(4, "11:00", 1)],
        [
            (2, "09:00", "pause", "persisting", None, False),
            (4, "11:00", "resume", "rested", None, False),
        ],
    ),
    "resume needs a fresh report: a low one from the first hours of a pause is not enough": (
        [pain(1, "08:00", 5), pain(2, "09:00", 5), pain(2, "10:00", 1), check(4, "09:00"),
         check(5, "09:00"), pain(5, "10:00", 2)],
        [
            (2, "09:00", "pause", "persisting", None, False),
            (5, "10:00", "resume", "rested", None, False),
        ],
    ),
    "resume timing: a low report at 30 h resumes at the first check from 48 h": (
        [pain(1, "08:00", 5), pain(2, "09:00", 5), pain(3, "15:00", 2),
         check(4, "08:59"), check(4, "09:00"), check(5, "09:00")],
        [
            (2, "09:00", "pause", "persisting", None, False),
            (4, "09:00", "resume", "rested", None, False),
        ],
    ),
    "no resume while the latest report is above the resume level": (
        [pain(1, "08:00", 5), pain(2, "09:00", 5), pain(3, "15:00", 1), pain(4, "10:00", 3),
         check(5, "09:00")],
        [(2, "09:00", "pause", "persisting", None, False)],
    ),
    "no resume without any report after the pause started": (
        [pain(1, "08:00", 5), pain(2, "09:00", 5), check(5, "09:00"), check(9, "09:00")],
        [(2, "09:00", "pause", "persisting", None, False)],
    ),
    "a resumed routine pauses again when pain persists again": (
        [pain(1, "08:00", 5), pain(2, "09:00", 5), pain(4, "11:00", 1),
         pain(5, "09:00", 5), pain(6, "10:00", 5)],
        [
            (2, "09:00", "pause", "persisting", None, False),
            (4, "11:00", "resume", "rested", None, False),
            (6, "10:00", "pause", "persisting", None, False),
        ],
    ),
    "manual resume": (
        [pain(1, "08:00", 5), pain(2, "09:00", 5), resume_by_hand(2, "18:00"),
         check(3, "09:00"), pain(3, "10:00", 4), pain(4, "10:00", 4)],
        [
            (2, "09:00", "pause", "persisting", None, False),
            (2, "18:00", "resume", "manual", None, False),
            (4, "10:00", "pause", "persisting", None, False),
        ],
    ),
    "pain while already paused: no duplicate pause": (
        [pain(1, "08:00", 5), pain(2, "09:00", 5), pain(2, "20:00", 6, "bridge"),
         pain(3, "09:00", 5), pain(3, "12:00", 6), check(4, "09:00")],
        [(2, "09:00", "pause", "persisting", None, False)],
    ),
    "severe pain 72 h or more into a pause escalates once": (
        [pain(1, "08:00", 5), pain(2, "09:00", 5), pain(3, "09:00", 6), pain(4, "20:00", 6),
         pain(5, "10:00", 7), pain(6, "10:00", 8)],
        [
            (2, "09:00", "pause", "persisting", None, False),
            (5, "10:00", "escalate", "severe-while-paused", None, True),
        ],
    ),
    "severe pain on two dates early in a pause escalates at once": (
        [pain(1, "08:00", 5), pain(2, "09:00", 5), pain(2, "20:00", 7), pain(3, "08:00", 8),
         pain(6, "10:00", 8)],
        [
            (2, "09:00", "pause", "persisting", None, False),
            (3, "08:00", "escalate", "severe", None, True),
        ],
    ),
    "a severe pause is not escalated again": (
        [pain(1, "20:00", 7), pain(2, "08:00", 8), pain(5, "10:00", 9)],
        [
            (1, "20:00", "pause", "severe-today", None, False),
            (2, "08:00", "pause", "severe", None, True),
        ],
    ),
    "routine pause widens to all when pain is not limited to it": (
        [pain(1, "08:00", 5, "bridge"), pain(2, "09:00", 5, "bridge"),
         pain(2, "12:00", 5, "bridge"), pain(2, "18:00", 5), pain(3, "08:00", 5, "bridge")],
        [
            (2, "09:00", "pause", "persisting", "bridge", False),
            (2, "18:00", "pause", "persisting", None, False),
        ],
    ),
    "pain in another routine pauses that routine too": (
        [pain(1, "08:00", 5, "bridge"), pain(2, "09:00", 5, "bridge"), pain(2, "12:00", 1),
         pain(3, "08:00", 5, "walk"), pain(4, "09:00", 6, "walk")],
        [
            (2, "09:00", "pause", "persisting", "bridge", False),
            (4, "09:00", "pause", "persisting", "walk", False),
        ],
    ),
}


@pytest.mark.parametrize("name", list(TIMELINES))
def test_pain_timeline(name: str) -> None:
    steps, expected = TIMELINES[name]
    assert outcomes(play(steps)) == expected


def test_without_last_resume_a_manual_resume_is_undone_by_still_high_pain() -> None:
    """Why ``last_resume`` exists: the old run would pause again straight away."""
    steps = [pain(1, "08:00", 5), pain(2, "09:00", 5), resume_by_hand(2, "18:00"),
             check(3, "09:00")]
    assert [row[2:4] for row in outcomes(play(steps, use_last_resume=False))] == [
        ("pause", "persisting"), ("resume", "manual"), ("pause", "persisting"),
    ]
