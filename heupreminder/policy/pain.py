"""The pain policy: pure decisions about pausing and resuming a person's exercise routines.

Source: tip 6 of the article ("listen to your body", see ``seed/FACTS.md``): pain that stays
for hours or days means rest; some soreness the day after training is normal but must not
persist or get worse; severe pain that keeps going means seeing a care provider.

``evaluate()`` is a pure function of its arguments: no I/O and no clock reads (``now`` is
passed in). Call it after every new pain report, when a report's time comes (a report may
be stamped a few minutes ahead) and periodically (e.g. every minute for paused people);
apply what it returns and call it again: it never returns the same decision twice.
Durations are real elapsed time (a DST change neither shortens nor stretches a span);
"local date" means the date in the person's time zone ``tz``.

Rules (all numbers are ``PainPolicy`` fields, defaults in brackets):

- **Only exercises pause.** ``Report.routine`` is the key of an *exercise* routine or
  ``None``: the caller passes ``None`` for pain logged with a supplement or tip, so such
  pain counts as pain without a routine.
- **Fresh reports**: pass ``last_resume`` (when the person's most recent pause was resumed,
  by the policy or by hand; a pause that was widened or ran out at the end of a rest day is
  not resumed). Only reports after it can start a pause or an escalation, so a manual
  resume while the last report was still high is not undone by the next ``evaluate()``.
- The *current run* is the unbroken series of latest fresh reports at or above
  ``threshold`` [4]; any report below the threshold ends a run.
- **severe**: fresh reports at or above ``severe_level`` [7] on at least two different local
  dates, whatever lies between them. Adds ``advise_care`` and ``notify_caregiver``.
- **persisting**: the current run has 2+ reports and its earliest and latest report are at
  least ``persist_span`` [24 h] apart.
- **worsening**: the latest fresh report is at or above ``threshold`` and higher than the
  last fresh report of the local date before, and that one was above ``resume_level`` [2]
  (there was pain to get worse: 5 after training, 7 the next morning).
- **rising**: the last ``rising_reports`` [3] fresh reports are strictly increasing and the
  last one is at or above ``threshold``.
- **Day-after soreness** (e.g. 5 in the evening, 4 or 5 the next morning, then low) pauses
  nothing: two reports less than ``persist_span`` apart do not persist, and a report that
  is not higher is no worsening. A report as high ``persist_span`` or more later *is*
  persisting pain.
- **Severe today** (code ``"severe-today"``): when no pause or escalation is decided and a
  fresh report made on today's local date is at or above ``severe_level``, all exercise
  routines rest until the next local midnight (``Decision.until``). No caregiver is told
  of a single report; the message says to see a care provider if it stays this bad. Not
  made while a pause of all exercise routines (lasting or for today) is active; a pause
  whose ``until`` has passed counts as ended.
- **Scope**: a pause covers one routine when every painful report (at or above
  ``threshold``) of every rule that fired was logged with that same routine; otherwise all
  exercise routines (scope ``None``). The low first reports of a rise or a worsening do
  not count: they are a baseline, not pain linked to a routine.
- **While paused**: only *lasting* pauses (``until`` is ``None``) count here; a rest-today
  pause covers nothing, so pain that persists gets its own lasting pause. A trigger whose
  scope is already covered by a lasting pause (same routine, or an all-routines pause)
  adds no pause. An all-routines trigger while only routines are paused gives a new,
  wider pause (scope ``None``); the caller ends the narrower lasting pauses. A covered
  *severe* trigger escalates the covering pause (code ``"severe"``). A report at or above
  ``severe_level`` made ``severe_pause_age`` [72 h] or more into a lasting pause escalates
  it (code ``"severe-while-paused"``). No escalation happens while any lasting pause is
  already ``severe``: the care advice was given for this rest.
- **Resume** (code ``"rested"``): a lasting pause resumes when ``now - pause.since >=
  min_rest`` [48 h] and the person's latest report made after ``pause.since`` is at or
  below ``resume_level`` [2] and at most ``resume_report_age`` [24 h] old. A low report
  from the first hours of a pause is not enough: the check is made at ``evaluate()`` time
  and asks for a fresh report. Without one a pause never resumes by itself. A resuming
  pause is not escalated, and nothing else is decided at the same time: a resume is a
  fresh start, as if ``last_resume`` were now. A pause with ``until`` (rest today) is not
  resumed here: it simply ends at ``until``.

How a caller applies a decision:

- ``"pause"``: store ``Pause(scope=d.scope, since=now, severe=d.advise_care, until=d.until)``
  and send the rest message (and, if ``d.notify_caregiver`` and a caregiver channel is
  configured, the caregiver message). A lasting all-routines pause ends the narrower
  lasting pauses.
- ``"escalate"``: mark pause ``d.pause_id`` as ``severe=True``; send the care advice and the
  caregiver message as above.
- ``"resume"``: end pause ``d.pause_id`` and send the resume message.

Where the parts live: the numbers and their check in ``pain_settings``; reports, pauses,
decisions and their codes in ``pain_facts``; the four rules that fire (severe,
persisting, worsening, rising) in ``pain_triggers``; this module turns what fired into
decisions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from heupreminder.policy.pain_facts import (
    MANUAL,
    RESTED,
    SEVERE,
    SEVERE_TODAY,
    SEVERE_WHILE_PAUSED,
    Decision,
    Pause,
    Report,
    as_utc,
    check_aware,
    ids_text,
    local_date,
    scope_text,
    whole_hours,
)
from heupreminder.policy.pain_settings import MAX_LEVEL, PainPolicy
from heupreminder.policy.pain_triggers import Trigger, find_triggers


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
    zone. ``last_resume``: when their most recent pause was resumed, if ever. Either
    resumes (a fresh start: nothing else is decided with them), or at most one pause or
    one escalation. Raises ``ValueError`` for a naive
    ``now`` or report time, or a level outside 0..10.
    """
    check_aware(now, "now")
    for report in reports:
        check_aware(report.at, f"report {report.id} time")
        if not 0 <= report.level <= MAX_LEVEL:
            raise ValueError(f"report {report.id}: pain level {report.level} is not in 0..10")
    # Elapsed times are real times: subtracting two datetimes that share a tzinfo would
    # use wall-clock time and be an hour off across a DST change.
    now = now.astimezone(UTC)
    cutoff = None if last_resume is None else as_utc(last_resume, "last_resume")
    pauses = [replace(p, since=as_utc(p.since, f"pause {p.id} start"),
                      until=None if p.until is None else as_utc(p.until, f"pause {p.id} end"))
              for p in pauses]
    known = sorted(
        (r for r in (replace(r, at=r.at.astimezone(UTC)) for r in reports) if r.at <= now),
        key=lambda r: (r.at, r.id),
    )
    pauses = [p for p in pauses if p.until is None or p.until > now]  # a rest day ended
    lasting = [p for p in pauses if p.until is None]

    decisions = [_resume(p, known, policy, now) for p in lasting]
    resumed = [d for d in decisions if d is not None]
    if resumed:
        # A resume is a fresh start: the reports up to now cannot pause again right away.
        return resumed
    staying = lasting

    fresh = [r for r in known if cutoff is None or r.at > cutoff]
    triggers = find_triggers(fresh, policy, tz)
    if triggers:
        outcome = _pause_or_escalate(triggers, staying, policy, now)
        if outcome is not None:
            return [*resumed, outcome]
    escalation = _severe_while_paused(fresh, staying, policy, now)
    if escalation:
        return [*resumed, escalation]
    if not any(p.scope is None for p in pauses):
        today = _severe_today(fresh, staying, policy, now, tz)
        if today:
            return [*resumed, today]
    return resumed


def manual_resume(pause: Pause, now: datetime, by: str) -> Decision:
    """A resume decision for ``pause``, made by hand by ``by`` (a name, ``"cli"``, ...)."""
    rested = as_utc(now, "now") - as_utc(pause.since, f"pause {pause.id} start")
    who = by.strip() or "someone"
    return Decision(
        action="resume",
        scope=pause.scope,
        code=MANUAL,
        reason=(f"{scope_text(pause.scope)} resumed by hand by {who} after "
                f"{whole_hours(rested)} h"),
        report_ids=(),
        pause_id=pause.id,
        paused_for=rested,
    )


def _resume(pause: Pause, known: Sequence[Report], policy: PainPolicy,
            now: datetime) -> Decision | None:
    rested = now - pause.since
    after = [r for r in known if r.at > pause.since]
    if rested < policy.min_rest or not after:
        return None
    latest = after[-1]
    if latest.level > policy.resume_level or now - latest.at > policy.resume_report_age:
        return None
    return Decision(
        action="resume",
        scope=pause.scope,
        code=RESTED,
        reason=f"{scope_text(pause.scope)} rested for {whole_hours(rested)} h and the latest "
        f"pain was {latest.level}/10 (report {latest.id}, {whole_hours(now - latest.at)} h ago)",
        report_ids=(latest.id,),
        pause_id=pause.id,
        paused_for=rested,
    )


def _pause_or_escalate(triggers: Sequence[Trigger], pauses: Sequence[Pause],
                       policy: PainPolicy, now: datetime) -> Decision | None:
    """A new pause for the first trigger, unless a lasting pause already covers it."""
    first = triggers[0]
    routines = {r.routine for t in triggers for r in t.reports if r.level >= policy.threshold}
    scope = routines.pop() if len(routines) == 1 else None
    severe = first.code == SEVERE
    reason = first.reason if scope is None else f"{first.reason}, all logged with {scope!r}"
    ids = tuple(r.id for r in first.reports)

    covering = [p for p in pauses if p.scope is None or p.scope == scope]
    if not covering:
        return Decision("pause", scope, first.code, reason, ids,
                        advise_care=severe, notify_caregiver=severe)
    if severe and not any(p.severe for p in pauses):
        target = _pick(covering)
        return Decision("escalate", target.scope, SEVERE, f"{reason} while paused", ids,
                        pause_id=target.id, advise_care=True, notify_caregiver=True,
                        paused_for=now - target.since)
    return None


def _severe_while_paused(known: Sequence[Report], pauses: Sequence[Pause],
                         policy: PainPolicy, now: datetime) -> Decision | None:
    """Escalate a pause that saw severe pain ``severe_pause_age`` or more into it."""
    if not pauses or any(p.severe for p in pauses):
        return None
    for pause in sorted(pauses, key=_pick_order):
        late = [r for r in known if r.level >= policy.severe_level
                and r.at - pause.since >= policy.severe_pause_age]
        if late:
            worst = max(r.level for r in late)
            into = whole_hours(late[0].at - pause.since)
            return Decision(
                "escalate", pause.scope, SEVERE_WHILE_PAUSED,
                f"pain up to {worst}/10 reported from {into} h "
                f"into the pause of {scope_text(pause.scope)}{ids_text(late)}",
                tuple(r.id for r in late),
                pause_id=pause.id, advise_care=True, notify_caregiver=True,
                paused_for=now - pause.since,
            )
    return None


def _severe_today(reports: Sequence[Report], lasting: Sequence[Pause], policy: PainPolicy,
                  now: datetime, tz: ZoneInfo) -> Decision | None:
    """Rest for the rest of today after one report of severe pain made today."""
    today = now.astimezone(tz).date()
    paused = {p.scope for p in lasting}
    severe = [r for r in reports if r.level >= policy.severe_level
              and local_date(r, tz) == today and r.routine not in paused]
    if not severe:
        return None
    worst = max(r.level for r in severe)
    return Decision(
        "pause", None, SEVERE_TODAY,
        f"severe pain ({worst}/10) reported today{ids_text(severe)}: exercises rest until "
        "the end of the day",
        tuple(r.id for r in severe),
        until=_next_midnight(today, tz),
    )


def _next_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)


def _pick_order(pause: Pause) -> tuple[bool, datetime, int]:
    """All-routines pauses first, then the oldest."""
    return (pause.scope is not None, pause.since, pause.id)


def _pick(pauses: Sequence[Pause]) -> Pause:
    return min(pauses, key=_pick_order)
