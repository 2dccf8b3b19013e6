"""The pain policy, as a table of pain timelines played back day by day.

Each timeline is a list of steps in Europe/Amsterdam local time: a pain report, a plain
check (``evaluate()`` without a new report, like the daemon's daily run) or a resume by
hand. ``play()`` calls ``evaluate()`` at every step, applies the decisions to a simulated
list of active pauses, and checks on the way that evaluating again with the applied result
changes nothing (decisions are never repeated).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from heupreminder.policy.pain import (
    Decision,
    PainPolicy,
    Pause,
    Report,
    evaluate,
    manual_resume,
)

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


def test_decision_details() -> None:
    person = play([pain(1, "08:00", 5), pain(1, "20:00", 6), pain(2, "10:00", 5)])
    [(_, decision)] = person.log
    assert decision == Decision(
        action="pause", scope=None, code="persisting",
        reason="pain 5/10 or more reported 3 times over 26 h (reports 1, 2, 3)",
        report_ids=(1, 2, 3),
    )


def test_reasons_name_the_rule_and_reports() -> None:
    rising = play([pain(1, "08:00", 2), pain(1, "14:00", 4), pain(1, "20:00", 6, "bridge")])
    assert rising.log[0][1].reason == "pain rose over 3 reports (2, 4, 6/10) (reports 1, 2, 3)"
    scoped = play([pain(1, "20:00", 7, "bridge"), pain(2, "08:00", 8, "bridge")]).log[1][1]
    assert scoped.scope == "bridge" and scoped.report_ids == (1, 2)
    assert scoped.reason == ("severe pain (7/10 or more) reported on 2 different days "
                             "(reports 1, 2), all logged with 'bridge'")
    late = play([pain(1, "08:00", 5), pain(2, "09:00", 5), pain(5, "11:00", 8)]).log[1][1]
    assert late.paused_for == timedelta(hours=74)
    assert late.pause_id == 1 and late.report_ids == (3,)
    assert late.reason == ("pain up to 8/10 reported from 74 h into the pause of "
                           "all exercise routines (report 3)")


def test_resume_decisions_name_the_pause() -> None:
    pause = Pause(7, "bridge", at(1, "09:00"))
    reports = [Report(1, at(1, "08:00"), 5, "bridge"), Report(2, at(3, "10:00"), 0)]
    [decision] = evaluate(reports, [pause], POLICY, at(3, "10:00"), AMS)
    assert decision == Decision(
        action="resume", scope="bridge", code="rested",
        reason="'bridge' rested for 49 h and the latest pain was 0/10 (report 2, 0 h ago)",
        report_ids=(2,), pause_id=7, paused_for=timedelta(hours=49),
    )
    manual = manual_resume(pause, at(2, "12:00"), by="  Anna ")
    assert manual == Decision(
        action="resume", scope="bridge", code="manual",
        reason="'bridge' resumed by hand by Anna after 27 h", report_ids=(), pause_id=7,
        paused_for=timedelta(hours=27),
    )


def test_each_pause_resumes_on_its_own() -> None:
    narrow = Pause(1, "bridge", at(1, "09:00"))
    wide = Pause(2, None, at(2, "09:00"))
    reports = [Report(1, at(3, "09:00"), 1)]
    assert [d.pause_id for d in evaluate(reports, [narrow, wide], POLICY, at(3, "10:00"), AMS)
            ] == [1]
    assert [d.pause_id for d in evaluate(reports, [narrow, wide], POLICY, at(4, "09:00"), AMS)
            ] == [1, 2]


def test_a_rest_day_covers_nothing_that_needs_a_lasting_pause() -> None:
    today = Pause(1, None, at(2, "07:00"), until=at(3, "00:00"))
    reports = [Report(1, at(1, "08:00"), 5), Report(2, at(2, "07:00"), 9),
               Report(3, at(2, "09:00"), 5)]
    [decision] = evaluate(reports, [today], POLICY, at(2, "09:00"), AMS)
    assert (decision.action, decision.code, decision.until) == ("pause", "persisting", None)
    # ... and it is never resumed by the policy: it ends at its time.
    assert evaluate([Report(4, at(2, "08:00"), 0)], [today], POLICY, at(2, "23:00"), AMS) == []


def test_severe_today_rests_until_local_midnight_without_caregiver() -> None:
    [decision] = evaluate([Report(1, at(1, "15:00"), 9)], [], POLICY, at(1, "15:00"), AMS)
    assert decision.until == at(2, "00:00")
    assert (decision.scope, decision.advise_care, decision.notify_caregiver) == (
        None, False, False)


def test_report_order_does_not_matter_and_future_reports_are_ignored() -> None:
    reports = [Report(i, at(day, hhmm), level) for i, (day, hhmm, level) in enumerate(
        [(1, "08:00", 5), (1, "20:00", 6), (2, "10:00", 5), (3, "09:00", 1)], start=1)]
    shuffled = reports[:]
    random.Random(4).shuffle(shuffled)
    now = at(2, "10:00")
    assert evaluate(shuffled, [], POLICY, now, AMS) == evaluate(reports[:3], [], POLICY, now, AMS)
    assert evaluate(shuffled, [], POLICY, now, AMS)[0].report_ids == (1, 2, 3)


def test_spans_are_real_time_across_the_dst_change() -> None:
    """On 30 March 2025 Amsterdam skips 02:00-03:00: 10:00 to 10:00 is only 23 h."""
    before = Report(1, datetime(2025, 3, 29, 10, 0, tzinfo=AMS), 5)
    same_wall_time = Report(2, datetime(2025, 3, 30, 10, 0, tzinfo=AMS), 5)
    a_day_later = Report(3, datetime(2025, 3, 30, 11, 0, tzinfo=AMS), 5)
    assert evaluate([before, same_wall_time], [], POLICY, same_wall_time.at, AMS) == []
    [decision] = evaluate([before, same_wall_time, a_day_later], [], POLICY, a_day_later.at, AMS)
    assert decision.code == "persisting" and "over 24 h" in decision.reason


def test_custom_policy_numbers() -> None:
    policy = PainPolicy(threshold=6, persist_span=timedelta(hours=6), rising_reports=2,
                        severe_level=9, resume_level=3, min_rest=timedelta(hours=12))
    reports = [Report(1, at(1, "08:00"), 5), Report(2, at(1, "15:00"), 5)]
    assert evaluate(reports, [], policy, at(1, "15:00"), AMS) == []  # below threshold 6
    reports.append(Report(3, at(1, "16:00"), 6))
    [rising] = evaluate(reports, [], policy, at(1, "16:00"), AMS)
    assert rising.code == "rising" and rising.report_ids == (2, 3)
    pause = Pause(1, None, at(1, "16:00"))
    reports.append(Report(4, at(1, "20:00"), 3))
    assert evaluate(reports, [pause], policy, at(2, "03:59"), AMS) == []
    [resume] = evaluate(reports, [pause], policy, at(2, "04:00"), AMS)
    assert resume.action == "resume"


@pytest.mark.parametrize("changes", [
    {"threshold": 2},  # not above resume_level
    {"severe_level": 3},  # below threshold
    {"severe_level": 11},
    {"resume_level": -1},
    {"rising_reports": 1},
    {"min_rest": timedelta(0)},
    {"persist_span": timedelta(hours=-1)},
])
def test_invalid_policies_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        PainPolicy(**changes)  # type: ignore[arg-type]


def test_bad_input_is_refused() -> None:
    naive = datetime(2025, 5, 5, 8, 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluate([], [], POLICY, naive, AMS)
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluate([Report(1, naive, 5)], [], POLICY, at(1, "09:00"), AMS)
    with pytest.raises(ValueError, match=r"0\.\.10"):
        evaluate([Report(1, at(1, "08:00"), 11)], [], POLICY, at(1, "09:00"), AMS)


def test_frozen_clock_path() -> None:
    """The service passes its (frozen) clock in as ``now``; the policy never reads it."""
    reports = [Report(1, at(1, "08:00"), 5), Report(2, at(2, "09:00"), 5),
               Report(3, at(3, "15:00"), 1)]
    pause = Pause(1, None, at(2, "09:00"))
    with freeze_time(at(3, "16:00")) as clock:
        assert evaluate(reports, [pause], POLICY, datetime.now(UTC), AMS) == []  # too early
        clock.move_to(at(4, "09:30"))
        [decision] = evaluate(reports, [pause], POLICY, datetime.now(UTC), AMS)
        assert (decision.action, decision.code, decision.pause_id) == ("resume", "rested", 1)
