"""The four rules that say pain needs rest: severe, persisting, worsening and rising.

Each rule looks at a person's fresh reports (sorted, oldest first) and either fires with
the reports that made it fire or stays silent; ``policy.pain.evaluate()`` turns what fired
into a pause or an escalation. The rules and their numbers are described in
``policy.pain``'s module docstring.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from heupreminder.policy.pain_facts import (
    PERSISTING,
    RISING,
    SEVERE,
    WORSENING,
    Report,
    ids_text,
    local_date,
    whole_hours,
)
from heupreminder.policy.pain_settings import PainPolicy


@dataclass(frozen=True)
class Trigger:
    """A rule that fired: its code, the reason sentence and the reports behind it."""

    code: str
    reason: str
    reports: tuple[Report, ...]


def find_triggers(reports: Sequence[Report], policy: PainPolicy,
                  tz: ZoneInfo) -> list[Trigger]:
    """The rules that fire on ``reports`` (fresh, sorted), most serious first."""
    fired = [_severe(reports, policy, tz), _persisting(reports, policy),
             _worsening(reports, policy, tz), _rising(reports, policy)]
    return [t for t in fired if t is not None]


def _severe(reports: Sequence[Report], policy: PainPolicy, tz: ZoneInfo) -> Trigger | None:
    severe = [r for r in reports if r.level >= policy.severe_level]
    days = {local_date(r, tz) for r in severe}
    if len(days) < 2:
        return None
    return Trigger(
        SEVERE,
        f"severe pain ({policy.severe_level}/10 or more) reported on {len(days)} "
        f"different days{ids_text(severe)}",
        tuple(severe),
    )


def _persisting(reports: Sequence[Report], policy: PainPolicy) -> Trigger | None:
    run: list[Report] = []
    for report in reversed(reports):
        if report.level < policy.threshold:
            break
        run.insert(0, report)
    if len(run) < 2 or run[-1].at - run[0].at < policy.persist_span:
        return None
    lowest = min(r.level for r in run)
    return Trigger(
        PERSISTING,
        f"pain {lowest}/10 or more reported {len(run)} times over "
        f"{whole_hours(run[-1].at - run[0].at)} h{ids_text(run)}",
        tuple(run),
    )


def _worsening(reports: Sequence[Report], policy: PainPolicy,
               tz: ZoneInfo) -> Trigger | None:
    if not reports or reports[-1].level < policy.threshold:
        return None
    latest = reports[-1]
    day_before = local_date(latest, tz) - timedelta(days=1)
    before = [r for r in reports if local_date(r, tz) == day_before]
    if not before or before[-1].level <= policy.resume_level:
        return None
    evening = before[-1]
    if latest.level <= evening.level:
        return None
    return Trigger(
        WORSENING,
        f"pain rose from {evening.level}/10 the day before to {latest.level}/10"
        f"{ids_text((evening, latest))}",
        (evening, latest),
    )


def _rising(reports: Sequence[Report], policy: PainPolicy) -> Trigger | None:
    last = reports[-policy.rising_reports:]
    if (len(last) < policy.rising_reports or last[-1].level < policy.threshold
            or not all(a.level < b.level for a, b in pairwise(last))):
        return None
    levels = ", ".join(str(r.level) for r in last)
    return Trigger(
        RISING,
        f"pain rose over {len(last)} reports ({levels}/10){ids_text(last)}",
        tuple(last),
    )
