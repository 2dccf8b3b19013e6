"""The export file's shape (version 1), checked with pydantic before anything is written.

Contracts:

- Rows refer to each other by position-free references, never by database
  ids: routines by ``key``; occurrences, pain reports and pauses by ``ref``
  (1, 2, 3 ... in file order). So the same data exports to the same JSON from
  any database, and imports into a database that already has other people.
- Times are ISO 8601 with an offset and are normalised to UTC; naive times
  are refused.
- ``parse_export(data)`` returns an ``ExportDoc`` or raises ``InputError``
  listing every problem with its path (``occurrences[3].due_at: ...``),
  including broken references and duplicates the database would refuse.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
)

from heupreminder.input_text import InputError
from heupreminder.timetable.quiet_hours import format_quiet_hours, parse_quiet_hours

FORMAT = "heupreminder-export"
VERSION = 1

UTCTime = Annotated[AwareDatetime, AfterValidator(lambda v: v.astimezone(UTC)),
                    PlainSerializer(lambda v: v.isoformat(), return_type=str)]
Key = Annotated[str, Field(min_length=1, max_length=64)]
Ref = Annotated[int, Field(ge=1)]
Short = Annotated[str, Field(max_length=16)]


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _quiet_hours(text: str) -> str:
    return format_quiet_hours(parse_quiet_hours(text))  # ValueError names the value


class PersonOut(_Row):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    timezone: Annotated[str, Field(max_length=64)]
    locale: Annotated[str, Field(max_length=8)]
    quiet_hours: Annotated[str, Field(max_length=16), AfterValidator(_quiet_hours)] | None
    channels: list[Key]
    active: bool
    updated_at: UTCTime
    # Files from before people had it lack it; the import then takes the earliest
    # thing recorded in the file.
    added_at: UTCTime | None = None


class RoutineOut(_Row):
    key: Key
    kind: Literal["exercise", "supplement", "tip"]
    exercise: Key | None
    side: Annotated[str, Field(max_length=8)] | None
    title: Annotated[str, Field(max_length=200)] | None
    text: str | None
    schedule: Annotated[str, Field(min_length=1, max_length=120)]
    active: bool
    next_due_at: UTCTime | None
    created_at: UTCTime
    updated_at: UTCTime


class OccurrenceOut(_Row):
    ref: Ref
    routine: Key
    due_at: UTCTime
    send_at: UTCTime
    deadline: UTCTime
    status: Literal["pending", "sending", "sent", "failed", "skipped", "missed"]
    reason: str | None
    claimed_by: Key | None
    claimed_until: UTCTime | None
    outcome_unknown: bool
    created_at: UTCTime
    finished_at: UTCTime | None
    # The pause that skipped it; files written before occurrences named their pause
    # have none.
    pause: Ref | None = None


class DeliveryOut(_Row):
    occurrence: Ref
    channel: Key
    status: Literal["sent", "failed"]
    attempts: Annotated[int, Field(ge=0)]
    error: str | None
    finished_at: UTCTime


class CheckInOut(_Row):
    routine: Key
    occurrence: Ref | None
    outcome: Literal["done", "skipped"]
    at: UTCTime
    source: Short


class PainReportOut(_Row):
    ref: Ref
    at: UTCTime
    level: Annotated[int, Field(ge=0, le=10)]
    location: Literal["groin", "outer", "lower-back", "other"] | None  # records.LOCATIONS
    routine: Key | None
    note: str | None
    source: Short
    created_at: UTCTime


class PauseOut(_Row):
    ref: Ref
    scope: Key | None
    since: UTCTime
    until: UTCTime | None
    code: Annotated[str, Field(min_length=1, max_length=32)]
    reason: str
    severe: bool
    ended_at: UTCTime | None
    ended_reason: str | None


class DecisionOut(_Row):
    at: UTCTime
    action: Short
    scope: Key | None
    code: Annotated[str, Field(min_length=1, max_length=32)]
    reason: str
    reports: list[Ref]
    pause: Ref | None


class PersonalChannelOut(_Row):
    """A person's own channel kept in the database, as exported: its masked form only.

    An export never carries the URL (it holds their tokens, and the file is
    mailed around, kept in backups, ...): importing it keeps the channel of that
    name the person may already have there; elsewhere, set it again.
    """

    name: Key
    masked_url: str


class PersonalChannelIn(_Row):
    """A person's own channel in a file written for import: the URL in clear,
    encrypted with HEUPREMINDER_CHANNEL_KEY when it is imported."""

    name: Key
    url: Annotated[str, Field(min_length=1, max_length=4000)] = Field(repr=False)


class ExportDoc(_Row):
    format: Literal["heupreminder-export"]
    version: Literal[1]
    person: PersonOut
    routines: list[RoutineOut]
    occurrences: list[OccurrenceOut]
    deliveries: list[DeliveryOut]
    checkins: list[CheckInOut]
    pain_reports: list[PainReportOut]
    pauses: list[PauseOut]
    decisions: list[DecisionOut]
    # Last and optional, so files from before people's own channels still read.
    personal_channels: list[PersonalChannelIn | PersonalChannelOut] = []


def parse_export(data: Any) -> ExportDoc:
    try:
        doc = ExportDoc.model_validate(data)
    except ValidationError as error:
        raise InputError("\n".join(_problems(error))) from None
    problems = reference_problems(doc)
    if problems:
        raise InputError("\n".join(problems))
    return doc


def _problems(error: ValidationError) -> list[str]:
    problems = []
    for item in error.errors():
        path = ""
        for part in item["loc"]:
            if isinstance(part, str) and ("[" in part or "-" in part or "(" in part):
                continue  # pydantic's union-member labels, not keys
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
        kind = item["type"]
        message = ("unknown key" if kind == "extra_forbidden" else "is required"
                   if kind == "missing" else item["msg"] if "personal_channels" in item["loc"]
                   else f"{item['msg']} (got {item.get('input')!r})")  # a URL may hold a token
        problems.append(f"{path or '(top level)'}: {message}")
    return problems[:20] + ([f"... and {len(problems) - 20} more"] if len(problems) > 20 else [])


def reference_problems(doc: ExportDoc) -> list[str]:
    """Broken references and duplicates, each with its path."""
    problems: list[str] = []
    keys = [r.key for r in doc.routines]
    occurrences = {o.ref for o in doc.occurrences}
    reports = {p.ref for p in doc.pain_reports}
    pauses = {p.ref for p in doc.pauses}
    problems += _duplicates("routines", "key", keys)
    problems += _duplicates("occurrences", "ref", [o.ref for o in doc.occurrences])
    problems += _duplicates("occurrences", "routine and due_at",
                            [(o.routine, o.due_at) for o in doc.occurrences])
    problems += _duplicates("deliveries", "occurrence and channel",
                            [(d.occurrence, d.channel) for d in doc.deliveries])
    problems += _duplicates("pain_reports", "ref", [p.ref for p in doc.pain_reports])
    problems += _duplicates("pauses", "ref", [p.ref for p in doc.pauses])
    problems += _duplicates("personal_channels", "name", [c.name for c in doc.personal_channels])
    for i, o in enumerate(doc.occurrences):
        if o.routine not in keys:
            problems.append(f"occurrences[{i}].routine: no routine {o.routine!r} in routines")
        if o.pause is not None and o.pause not in pauses:
            problems.append(f"occurrences[{i}].pause: no pause with ref {o.pause}")
    for i, d in enumerate(doc.deliveries):
        if d.occurrence not in occurrences:
            problems.append(f"deliveries[{i}].occurrence: no occurrence with ref {d.occurrence}")
    for i, c in enumerate(doc.checkins):
        if c.routine not in keys:
            problems.append(f"checkins[{i}].routine: no routine {c.routine!r} in routines")
        if c.occurrence is not None and c.occurrence not in occurrences:
            problems.append(f"checkins[{i}].occurrence: no occurrence with ref {c.occurrence}")
    for i, p in enumerate(doc.pain_reports):
        if p.routine is not None and p.routine not in keys:
            problems.append(f"pain_reports[{i}].routine: no routine {p.routine!r} in routines")
    for i, decision in enumerate(doc.decisions):
        for ref in decision.reports:
            if ref not in reports:
                problems.append(f"decisions[{i}].reports: no pain report with ref {ref}")
        if decision.pause is not None and decision.pause not in pauses:
            problems.append(f"decisions[{i}].pause: no pause with ref {decision.pause}")
    return problems


def _duplicates(table: str, what: str, values: list[Any]) -> list[str]:
    repeated = [v for v, n in Counter(values).items() if n > 1]
    return [f"{table}: {what} {_show(v)} appears more than once" for v in repeated[:5]]


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return "/".join(v.isoformat() if isinstance(v, datetime) else str(v) for v in value)
    return repr(value)
