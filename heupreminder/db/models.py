"""The database is the schedule and the record.

- `routines.next_due_at` (UTC, indexed) is the only scheduling state: the
  dispatcher asks "which routines are due?" with one index range scan.
- `occurrences` has one row per (routine, due time), unique: it is the proof
  that a reminder was handled once, whatever happens to the process.
- `deliveries` keeps each channel's result, so a retry never re-sends to a
  channel that already succeeded.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from heupreminder.timetable.quiet_hours import QuietHours, format_quiet_hours, parse_quiet_hours


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend.

    Stored naive (SQLite has no time zones) and always in UTC, so comparisons
    in SQL are plain comparisons.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)


class QuietHoursText(TypeDecorator[QuietHours]):
    """Quiet hours as (start, end) in Python, ``"22:00-07:00"`` in the column."""

    impl = String(16)
    cache_ok = True

    def process_bind_param(self, value: QuietHours | str | None,
                           dialect: Dialect) -> str | None:
        if value is None:
            return None
        return format_quiet_hours(parse_quiet_hours(value) if isinstance(value, str) else value)

    def process_result_value(self, value: Any, dialect: Dialect) -> QuietHours | None:
        return None if value is None else parse_quiet_hours(value)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class OccurrenceStatus(StrEnum):
    PENDING = "pending"  # created, waiting for send_at
    SENDING = "sending"  # claimed by a node until claimed_until
    SENT = "sent"  # at least one channel delivered
    FAILED = "failed"  # every channel failed until the deadline
    SKIPPED = "skipped"  # deliberately not sent (paused, superseded); reason says why
    MISSED = "missed"  # found too late (downtime beyond catch_up); never sent stale

    @property
    def final(self) -> bool:
        return self not in (OccurrenceStatus.PENDING, OccurrenceStatus.SENDING)


class DeliveryStatus(StrEnum):
    """One channel's result for a reminder (`deliveries.status`) or a notice
    (`notices.deliveries`)."""

    SENT = "sent"
    FAILED = "failed"


class CheckinOutcome(StrEnum):
    """How a person answered a reminder (`check_ins.outcome`)."""

    DONE = "done"
    SKIPPED = "skipped"


class Person(Base):
    __tablename__ = "people"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(8))
    quiet_hours: Mapped[QuietHours | None] = mapped_column(QuietHoursText)
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Nothing can be logged as happening before this; NULL (a row from before 0008
    # with nothing recorded) means unknown.
    added_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)

    routines: Mapped[list[Routine]] = relationship(back_populates="person")


class RoutineText(Protocol):
    """What composing a reminder, or deciding a pause covers it, reads of a routine.

    A `Routine` has it, and so does a plain result row of those columns (the
    dispatcher reads batches without building ORM objects).
    """

    @property
    def key(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def exercise(self) -> str | None: ...
    @property
    def side(self) -> str | None: ...
    @property
    def title(self) -> str | None: ...
    @property
    def text(self) -> str | None: ...


class Routine(Base):
    __tablename__ = "routines"
    __table_args__ = (
        UniqueConstraint("person_id", "key", name="uq_routine_person_key"),
        # The dispatcher's due query: WHERE next_due_at <= now ORDER BY next_due_at.
        # Inactive routines have next_due_at NULL and so stay out of the scan.
        Index("ix_routines_next_due_at", "next_due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"))
    key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # exercise | supplement | tip
    exercise: Mapped[str | None] = mapped_column(String(64))
    side: Mapped[str | None] = mapped_column(String(8))
    title: Mapped[str | None] = mapped_column(String(200))
    text: Mapped[str | None] = mapped_column(Text)
    schedule: Mapped[str] = mapped_column(String(120))  # Schedule.to_text()
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    person: Mapped[Person] = relationship(back_populates="routines")


class Occurrence(Base):
    __tablename__ = "occurrences"
    __table_args__ = (
        UniqueConstraint("routine_id", "due_at", name="uq_occurrence_routine_due"),
        # The claim query: WHERE status = 'pending' AND send_at <= now.
        Index("ix_occurrences_status_send_at", "status", "send_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    routine_id: Mapped[int] = mapped_column(ForeignKey("routines.id"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    send_at: Mapped[datetime] = mapped_column(UTCDateTime)  # later than due_at in quiet hours
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)  # stale after this: no more tries
    status: Mapped[str] = mapped_column(String(16), default=OccurrenceStatus.PENDING)
    reason: Mapped[str | None] = mapped_column(Text)
    # Skipped because this pause covered it (the reason keeps the words for people).
    pause_id: Mapped[int | None] = mapped_column(ForeignKey("pauses.id"))
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A claim that expired mid-send: a channel may have received it already.
    outcome_unknown: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    routine: Mapped[Routine] = relationship()
    deliveries: Mapped[list[Delivery]] = relationship(back_populates="occurrence")


class Delivery(Base):
    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("occurrence_id", "channel", name="uq_delivery_channel"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    occurrence_id: Mapped[int] = mapped_column(ForeignKey("occurrences.id"))
    channel: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)  # masked; never a URL
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    occurrence: Mapped[Occurrence] = relationship(back_populates="deliveries")


# -- check-ins and the pain policy ------------------------------------------------


class PainReport(Base):
    """How a person's hip felt. Never deleted: the policy's evidence."""

    __tablename__ = "pain_reports"
    __table_args__ = (
        Index("ix_pain_reports_person_at", "person_id", "at"),
        # A form posted twice carries the same one-time value: it records once.
        UniqueConstraint("person_id", "submission", name="uq_pain_report_submission"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    level: Mapped[int] = mapped_column(Integer)  # 0..10
    location: Mapped[str | None] = mapped_column(String(16))  # groin | outer | lower-back | other
    routine_id: Mapped[int | None] = mapped_column(ForeignKey("routines.id"))
    note: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))  # cli | link | api
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submission: Mapped[str | None] = mapped_column(String(64))  # the form's one-time value


class CheckIn(Base):
    """Done or skipped, for one occurrence (or a routine when none is known).

    One answer per occurrence: a second answer replaces the first (the latest wins)."""

    __tablename__ = "checkins"
    __table_args__ = (
        Index("ix_checkins_person_at", "person_id", "at"),
        UniqueConstraint("occurrence_id", name="uq_checkin_occurrence"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"))
    routine_id: Mapped[int] = mapped_column(ForeignKey("routines.id"))
    occurrence_id: Mapped[int | None] = mapped_column(ForeignKey("occurrences.id"))
    outcome: Mapped[str] = mapped_column(String(8))  # a CheckinOutcome
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(16))


class PauseRow(Base):
    """A rest period: all of a person's exercise routines, or one routine."""

    __tablename__ = "pauses"
    __table_args__ = (Index("ix_pauses_person_active", "person_id", "ended_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"))
    scope: Mapped[str | None] = mapped_column(String(64))  # routine key; NULL = all exercises
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # set for `pause --until`
    code: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    severe: Mapped[bool] = mapped_column(Boolean, default=False)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_reason: Mapped[str | None] = mapped_column(Text)


class DecisionRow(Base):
    """Every pause / escalate / resume, with what triggered it: the audit trail."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str | None] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    report_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    pause_id: Mapped[int | None] = mapped_column(ForeignKey("pauses.id"))


class Notice(Base):
    """A message that is not a routine reminder: rest, resume, check-in, caregiver,
    weekly summary, or an alert for the admin (no person).

    An outbox on the same road as reminders: whoever decides writes the row,
    the service claims it with a lease (`claimed_by`, `claimed_until`), sends
    it and records each channel's result in `deliveries`. A failed channel is
    tried again later by moving `send_at`, a claim a dead process left behind
    is taken over when its lease ends (`outcome_unknown` set), and shutdown
    hands its claims back. `dedupe_key` makes e.g. the daily check-in unique
    per person and date.
    """

    __tablename__ = "notices"
    __table_args__ = (
        UniqueConstraint("person_id", "dedupe_key", name="uq_notice_dedupe"),
        # The claim query, as for occurrences: WHERE status = 'pending' AND send_at <= now.
        Index("ix_notices_status_send_at", "status", "send_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[str | None] = mapped_column(ForeignKey("people.id"))  # None: the admin
    kind: Mapped[str] = mapped_column(String(16))  # rest|resume|checkin|caregiver|summary|admin
    dedupe_key: Mapped[str] = mapped_column(String(120))
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    # The reminders' statuses: pending | sending | sent | failed | skipped | missed.
    status: Mapped[str] = mapped_column(String(16), default=OccurrenceStatus.PENDING)
    reason: Mapped[str | None] = mapped_column(Text)  # masked; why it failed or waits
    send_at: Mapped[datetime] = mapped_column(UTCDateTime)  # later after a failed try
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)  # no more tries after this
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome_unknown: Mapped[bool] = mapped_column(Boolean, default=False)
    # Each channel's result: {"status": "sent" | "failed", "attempts": n, "error": ...}.
    deliveries: Mapped[dict[str, dict[str, Any]]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiToken(Base):
    """A person's API token, stored as a SHA-256 hash: the token itself is shown once."""

    __tablename__ = "api_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class HistoryLink(Base):
    """The current read-only history link of a person (migration 0005).

    The link's token is signed and carries `nonce`: rotating draws a new nonce, so
    every older link stops working; revoking clears it until the next rotation.
    """

    __tablename__ = "history_links"

    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"), primary_key=True)
    nonce: Mapped[str | None] = mapped_column(String(32))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ServiceState(Base):
    """Small shared values, e.g. the key that signs check-in links (same on every node)."""

    __tablename__ = "service_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class PersonChannel(Base):
    """A person's own channel, kept in the database (migration 0006).

    For installations with many people (`manage_people = "database"`): a name
    in the person's `channels` means this row first, then `[channels]` of the
    config. `sealed` is the URL with its secrets, encrypted with the key from
    HEUPREMINDER_CHANNEL_KEY (`delivery.channel_key`); `masked_url` is what
    Apprise shows with privacy on, so listing needs neither the key nor Apprise.
    The primary key serves the dispatcher's one query per batch (person_id IN ...).
    """

    __tablename__ = "person_channels"

    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    sealed: Mapped[str] = mapped_column(Text)
    masked_url: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
