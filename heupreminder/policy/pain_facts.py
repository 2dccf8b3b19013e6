"""What the pain policy reads and returns: reports, pauses, decisions and their codes.

Also the small time and wording helpers that both the rules (``pain_triggers``) and the
decisions (``pain``) use, so that every reason sentence names hours, reports and scopes
the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

DecisionAction = Literal["pause", "escalate", "resume"]

# The decision codes, for callers and texts that say why.
SEVERE = "severe"
PERSISTING = "persisting"
WORSENING = "worsening"
RISING = "rising"
SEVERE_TODAY = "severe-today"
SEVERE_WHILE_PAUSED = "severe-while-paused"
RESTED = "rested"
MANUAL = "manual"


@dataclass(frozen=True)
class Report:
    """One pain report: ``at`` is timezone-aware, ``level`` 0..10, ``routine`` the key of an
    exercise routine it came with (``None`` otherwise, also for supplements and tips)."""

    id: int
    at: datetime
    level: int
    routine: str | None = None


@dataclass(frozen=True)
class Pause:
    """An active pause of one routine (``scope`` = its key) or of all exercise routines.

    ``until`` is set for a pause that ends by itself (rest today); such a pause is not
    lasting: it covers no trigger and is not resumed or escalated by the policy.
    """

    id: int
    scope: str | None
    since: datetime
    severe: bool = False
    until: datetime | None = None


@dataclass(frozen=True)
class Decision:
    """Something to apply now; see ``policy.pain``'s module docstring for how.

    ``reason`` is one English sentence for history and status output; ``report_ids`` are the
    reports that triggered it; ``pause_id`` names the pause an escalate or resume is about;
    ``paused_for`` is how long that pause has lasted (real time), for texts that say so;
    ``until`` is when a new pause ends by itself (rest today).
    """

    action: DecisionAction
    scope: str | None
    code: str
    reason: str
    report_ids: tuple[int, ...]
    pause_id: int | None = None
    advise_care: bool = False
    notify_caregiver: bool = False
    paused_for: timedelta | None = None
    until: datetime | None = None


def check_aware(moment: datetime, what: str) -> None:
    """Refuse a naive time: the policy's spans and local dates need a zone."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got {moment.isoformat()}")


def as_utc(moment: datetime, what: str) -> datetime:
    """``moment`` in UTC, so that subtracting two times gives real elapsed time."""
    check_aware(moment, what)
    return moment.astimezone(UTC)


def local_date(report: Report, tz: ZoneInfo) -> date:
    return report.at.astimezone(tz).date()


def whole_hours(span: timedelta) -> int:
    return int(span.total_seconds() // 3600)


def ids_text(reports: Sequence[Report]) -> str:
    """E.g. " (reports 3, 4)": the care report strips exactly this shape again."""
    word = "report" if len(reports) == 1 else "reports"
    return f" ({word} {', '.join(str(r.id) for r in reports)})"


def scope_text(scope: str | None) -> str:
    return "all exercise routines" if scope is None else repr(scope)
