"""The pain policy: pure decisions about pausing and resuming a person's exercise routines.

Source: tip 6 of the article ("listen to your body", see ``seed/FACTS.md``): pain that stays
for hours or days means rest; some soreness the day after training is normal but must not
persist or get worse; severe pain that keeps going means seeing a care provider.

``evaluate()`` is a pure function of its arguments: no I/O and no clock reads (``now`` is
passed in). Call it after every new pain report and periodically (e.g. daily), apply what it
returns, and call it again: it never returns the same pause twice. Durations are real
elapsed time (a DST change neither shortens nor stretches a span); "local date" means the
date in the person's time zone ``tz``.

Rules (all numbers are ``PainPolicy`` fields, defaults in brackets):

- The *current run* is the unbroken series of latest reports at or above ``threshold`` [4];
  any report below the threshold ends a run. Only the current run can start a pause, so a
  run that was followed by a lower report is history.
- **persisting**: the current run has 2+ reports and its earliest and latest report are at
  least ``persist_span`` [24 h] apart.
- **rising**: the last ``rising_reports`` [3] reports are strictly increasing and the last
  one is at or above ``threshold``.
- **severe**: the current run holds reports at or above ``severe_level`` [7] on at least two
  different local dates (in the person's time zone). This rule pauses on its own and adds
  ``advise_care`` and ``notify_caregiver``.
- **Day-after soreness** (e.g. 5 in the evening, 4 the next morning, then low) pauses
  nothing: two reports less than ``persist_span`` apart do not persist, and a lower second
  report is no rise. A report equal or lower but ``persist_span`` or more later *is*
  persisting pain.
- **Scope**: a pause covers one routine when every painful report (at or above
  ``threshold``) of every rule that fired was logged with that same routine; otherwise all
  exercise routines (scope ``None``). The low first reports of a rise do not count: they
  are a baseline, not pain linked to a routine.
- **While paused**: a trigger whose scope is already covered by an active pause (same
  routine, or an all-routines pause) adds no pause. An all-routines trigger while only
  routines are paused gives a new, wider pause (scope ``None``); narrower pauses stay active
  and resume by the same rules (the caller may also end them). A covered *severe* trigger
  escalates the covering pause (code ``"severe"``). A report at or above ``severe_level``
  made ``severe_pause_age`` [72 h] or more into a pause escalates it (code
  ``"severe-while-paused"``). No escalation happens while any active pause is already
  ``severe``: the care advice was given for this rest.
- **Resume** (code ``"rested"``): a pause resumes when ``now - pause.since >= min_rest``
  [48 h] and the person's latest report made after ``pause.since`` is at or below
  ``resume_level`` [2]. The check is made at ``evaluate()`` time, not at report time: a
  low report 30 h into the pause is "too early" then, but if it is still the latest report
  when ``evaluate()`` runs at 48 h or later, the pause resumes then, without asking for a
  new report. Without any report after ``pause.since`` a pause never resumes by itself.
  A resuming pause is not escalated.
- **Fresh start**: pass ``last_resume`` (when the person's most recent pause ended). Reports
  at or before it are not used to start a new pause, so a manual resume while the last
  report was still high is not undone by the next ``evaluate()``.

How a caller applies a decision:

- ``"pause"``: store ``Pause(scope=d.scope, since=now, severe=d.advise_care)`` and send the
  rest message (and, if ``d.notify_caregiver`` and a caregiver channel is configured, the
  caregiver message).
- ``"escalate"``: mark pause ``d.pause_id`` as ``severe=True``; send the care advice and the
  caregiver message as above.
- ``"resume"``: end pause ``d.pause_id`` and send the resume message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Literal
from zoneinfo import ZoneInfo

MAX_LEVEL = 10

DecisionAction = Literal["pause", "escalate", "resume"]


@dataclass(frozen=True)
class PainPolicy:
    """The configurable numbers of the policy; invalid combinations raise ``ValueError``.

    Requires ``0 <= resume_level < threshold <= severe_level <= 10``, ``rising_reports >= 2``
    and positive durations.
    """

    threshold: int = 4
    persist_span: timedelta = timedelta(hours=24)
    rising_reports: int = 3
    severe_level: int = 7
    severe_pause_age: timedelta = timedelta(hours=72)
    resume_level: int = 2
    min_rest: timedelta = timedelta(hours=48)

    def __post_init__(self) -> None:
        if not 0 <= self.resume_level < self.threshold <= self.severe_level <= MAX_LEVEL:
            raise ValueError(
                "pain policy needs 0 <= resume_level < threshold <= severe_level <= 10, got "
                f"resume_level={self.resume_level}, threshold={self.threshold}, "
                f"severe_level={self.severe_level}"
            )
        if self.rising_reports < 2:
            raise ValueError(f"rising_reports must be at least 2, got {self.rising_reports}")
        for name in ("persist_span", "severe_pause_age", "min_rest"):
            if getattr(self, name) <= timedelta(0):
                raise ValueError(f"{name} must be positive")


@dataclass(frozen=True)
class Report:
    """One pain report: ``at`` is timezone-aware, ``level`` 0..10, ``routine`` a routine key."""

    id: int
    at: datetime
    level: int
    routine: str | None = None


@dataclass(frozen=True)
class Pause:
    """An active pause of one routine (``scope`` = its key) or of all exercise routines."""

    id: int
    scope: str | None
    since: datetime
    severe: bool = False


@dataclass(frozen=True)
class Decision:
    """Something to apply now; see the module docstring for how.

    ``reason`` is one English sentence for history and status output; ``report_ids`` are the
    reports that triggered it; ``pause_id`` names the pause an escalate or resume is about.
    """

    action: DecisionAction
    scope: str | None
    code: str
    reason: str
    report_ids: tuple[int, ...]
    pause_id: int | None = None
    advise_care: bool = False
    notify_caregiver: bool = False


@dataclass(frozen=True)
class _Trigger:
    code: str
    reason: str
    reports: tuple[Report, ...]


def evaluate(
    reports: Sequence[Report],
    pauses: Sequence[Pause],
    policy: PainPolicy,
    now: datetime,
    tz: ZoneInfo,
    *,
    last_resume: datetime | None = None,
) -> list[Decision]:
    """The decisions to apply at ``now`` (usually none or one).

    ``reports``: all of the person's reports, in any order; reports after ``now`` are
    ignored. ``pauses``: the person's currently active pauses. ``tz``: the person's time
    zone. ``last_resume``: when their most recent pause ended, if any. Resumes come first,
    then at most one pause or one escalation. Raises ``ValueError`` for a naive ``now`` or
    report time, or a level outside 0..10.
    """
    _check_aware(now, "now")
    for report in reports:
        _check_aware(report.at, f"report {report.id} time")
        if not 0 <= report.level <= MAX_LEVEL:
            raise ValueError(f"report {report.id}: pain level {report.level} is not in 0..10")
    # Elapsed times are real times: subtracting two datetimes that share a tzinfo would
    # use wall-clock time and be an hour off across a DST change.
    now = now.astimezone(UTC)
    cutoff = None if last_resume is None else _utc(last_resume, "last_resume")
    pauses = [replace(p, since=_utc(p.since, f"pause {p.id} start")) for p in pauses]
    known = sorted(
        (r for r in (replace(r, at=r.at.astimezone(UTC)) for r in reports) if r.at <= now),
        key=lambda r: (r.at, r.id),
    )

    decisions = [_resume(p, known, policy, now) for p in pauses]
    resumed = [d for d in decisions if d is not None]
    resuming = {d.pause_id for d in resumed}
    staying = [p for p in pauses if p.id not in resuming]

    fresh = [r for r in known if cutoff is None or r.at > cutoff]
    triggers = _triggers(fresh, policy, tz)
    if triggers:
        outcome = _pause_or_escalate(triggers, staying, policy)
        if outcome is not None:
            return [*resumed, outcome]
    escalation = _severe_while_paused(known, staying, policy)
    return [*resumed, escalation] if escalation else resumed


def manual_resume(pause: Pause, now: datetime, by: str) -> Decision:
    """A resume decision for ``pause``, made by hand by ``by`` (a name, ``"cli"``, ...)."""
    rested = _utc(now, "now") - _utc(pause.since, f"pause {pause.id} start")
    who = by.strip() or "someone"
    return Decision(
        action="resume",
        scope=pause.scope,
        code="manual",
        reason=f"{_scope(pause.scope)} resumed by hand by {who} after {_hours(rested)} h",
        report_ids=(),
        pause_id=pause.id,
    )


def _resume(pause: Pause, known: Sequence[Report], policy: PainPolicy,
            now: datetime) -> Decision | None:
    rested = now - pause.since
    after = [r for r in known if r.at > pause.since]
    if rested < policy.min_rest or not after or after[-1].level > policy.resume_level:
        return None
    latest = after[-1]
    return Decision(
        action="resume",
        scope=pause.scope,
        code="rested",
        reason=f"{_scope(pause.scope)} rested for {_hours(rested)} h and the latest pain "
        f"was {latest.level}/10 (report {latest.id})",
        report_ids=(latest.id,),
        pause_id=pause.id,
    )


def _triggers(reports: Sequence[Report], policy: PainPolicy, tz: ZoneInfo) -> list[_Trigger]:
    """The rules that fire on ``reports`` (sorted), most serious first."""
    run: list[Report] = []
    for report in reversed(reports):
        if report.level < policy.threshold:
            break
        run.insert(0, report)
    fired: list[_Trigger] = []

    severe = [r for r in run if r.level >= policy.severe_level]
    days = {r.at.astimezone(tz).date() for r in severe}
    if len(days) >= 2:
        fired.append(_Trigger(
            "severe",
            f"severe pain ({policy.severe_level}/10 or more) reported on {len(days)} "
            f"different days{_ids(severe)}",
            tuple(severe),
        ))

    if len(run) >= 2 and run[-1].at - run[0].at >= policy.persist_span:
        lowest = min(r.level for r in run)
        fired.append(_Trigger(
            "persisting",
            f"pain {lowest}/10 or more reported {len(run)} times over "
            f"{_hours(run[-1].at - run[0].at)} h{_ids(run)}",
            tuple(run),
        ))

    last = reports[-policy.rising_reports:]
    if (len(last) == policy.rising_reports and last[-1].level >= policy.threshold
            and all(a.level < b.level for a, b in pairwise(last))):
        levels = ", ".join(str(r.level) for r in last)
        fired.append(_Trigger(
            "rising",
            f"pain rose over {len(last)} reports ({levels}/10){_ids(last)}",
            tuple(last),
        ))
    return fired


def _pause_or_escalate(triggers: Sequence[_Trigger], pauses: Sequence[Pause],
                       policy: PainPolicy) -> Decision | None:
    """A new pause for the first trigger, unless an active pause already covers it."""
    first = triggers[0]
    routines = {r.routine for t in triggers for r in t.reports if r.level >= policy.threshold}
    scope = routines.pop() if len(routines) == 1 else None
    severe = first.code == "severe"
    reason = first.reason if scope is None else f"{first.reason}, all logged with {scope!r}"
    ids = tuple(r.id for r in first.reports)

    covering = [p for p in pauses if p.scope is None or p.scope == scope]
    if not covering:
        return Decision("pause", scope, first.code, reason, ids,
                        advise_care=severe, notify_caregiver=severe)
    if severe and not any(p.severe for p in pauses):
        target = _pick(covering)
        return Decision("escalate", target.scope, "severe", f"{reason} while paused", ids,
                        pause_id=target.id, advise_care=True, notify_caregiver=True)
    return None


def _severe_while_paused(known: Sequence[Report], pauses: Sequence[Pause],
                         policy: PainPolicy) -> Decision | None:
    """Escalate a pause that saw severe pain ``severe_pause_age`` or more into it."""
    if not pauses or any(p.severe for p in pauses):
        return None
    for pause in sorted(pauses, key=_pick_order):
        late = [r for r in known if r.level >= policy.severe_level
                and r.at - pause.since >= policy.severe_pause_age]
        if late:
            worst = max(r.level for r in late)
            return Decision(
                "escalate", pause.scope, "severe-while-paused",
                f"pain up to {worst}/10 reported from {_hours(late[0].at - pause.since)} h "
                f"into the pause of {_scope(pause.scope)}{_ids(late)}",
                tuple(r.id for r in late),
                pause_id=pause.id, advise_care=True, notify_caregiver=True,
            )
    return None


def _pick_order(pause: Pause) -> tuple[bool, datetime, int]:
    """All-routines pauses first, then the oldest."""
    return (pause.scope is not None, pause.since, pause.id)


def _pick(pauses: Sequence[Pause]) -> Pause:
    return min(pauses, key=_pick_order)


def _check_aware(moment: datetime, what: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got {moment.isoformat()}")


def _utc(moment: datetime, what: str) -> datetime:
    _check_aware(moment, what)
    return moment.astimezone(UTC)


def _hours(span: timedelta) -> int:
    return int(span.total_seconds() // 3600)


def _ids(reports: Sequence[Report]) -> str:
    word = "report" if len(reports) == 1 else "reports"
    return f" ({word} {', '.join(str(r.id) for r in reports)})"


def _scope(scope: str | None) -> str:
    return "all exercise routines" if scope is None else repr(scope)
