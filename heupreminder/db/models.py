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
from typing import Any

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


class Person(Base):
    __tablename__ = "people"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(8))
    quiet_hours: Mapped[str | None] = mapped_column(String(16))  # "22:00-07:00"
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    routines: Mapped[list[Routine]] = relationship(back_populates="person")


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
