"""The pain policy, one call at a time: the decisions' details and reason sentences,
resumes, rest days, report order, DST, custom and invalid numbers, bad input and a frozen
clock. The day-by-day timelines are in ``test_pain_policy``; this file reuses its player."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from heupreminder.policy.pain import evaluate, manual_resume
from heupreminder.policy.pain_facts import Decision, Pause, Report
from heupreminder.policy.pain_settings import PainPolicy
from tests.test_pain_policy import AMS, POLICY, at, pain, play


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
