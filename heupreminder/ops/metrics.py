"""Prometheus metrics: counters the service increments, gauges read from the database.

Counters live in the process (reset on restart, as Prometheus expects);
backlog, pauses and pain reports are read from the database at scrape time,
so every node reports the same truth.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from heupreminder.db.models import (
    DeliveryStatus,
    Occurrence,
    OccurrenceStatus,
    PainReport,
    PauseRow,
    Routine,
    utcnow,
)

REGISTRY = CollectorRegistry()

REMINDERS = Counter(
    "heupreminder_reminders_total", "Reminder outcomes, per channel type for sends.",
    ["status", "channel_type"], registry=REGISTRY)
# Kept-open connections deliver within tens of milliseconds of the due time,
# so the buckets start there: a send 0.03 s after due must not share a bucket
# with one half a second late. The upper buckets cover retries and catch-up.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 900,
                   1800)
LATENCY = Histogram(
    "heupreminder_delivery_latency_seconds", "From due time to delivered, per channel type.",
    ["channel_type"], registry=REGISTRY, buckets=LATENCY_BUCKETS)


def channel_type(masked_url: str) -> str:
    """The Apprise scheme (mailto, ntfy, json, ...): never the URL itself."""
    return masked_url.split("://", 1)[0] if "://" in masked_url else "unknown"


def record_delivery(scheme: str, error: str | None, due_at: datetime,
                    delivered_at: datetime | None = None) -> None:
    """Count one channel's result; for a delivery, observe due -> delivered.

    ``delivered_at`` is when the channel accepted the message. Pass it: the
    results of a burst are written a tick after they arrive, and timing that
    write instead of the send adds the tick (up to a second) to every latency.
    Without it, now is the best guess.
    """
    status = DeliveryStatus.SENT if error is None else DeliveryStatus.FAILED
    REMINDERS.labels(status.value, scheme).inc()
    if error is None:
        arrived = delivered_at if delivered_at is not None else utcnow()
        LATENCY.labels(scheme).observe(max(0.0, (arrived - due_at).total_seconds()))


def record_outcome(status: str) -> None:
    """Skipped and missed reminders: no channel was involved."""
    REMINDERS.labels(status, "none").inc()


class DatabaseCollector(Collector):
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = utcnow()
        with self.sessions() as session:
            backlog = session.scalar(select(func.count(Occurrence.id)).where(
                Occurrence.status.in_([OccurrenceStatus.PENDING, OccurrenceStatus.SENDING]),
                Occurrence.send_at <= now)) or 0
            overdue = session.scalar(select(func.count(Routine.id)).where(
                Routine.next_due_at <= now)) or 0
            paused = session.scalar(select(func.count(PauseRow.id)).where(
                PauseRow.ended_at.is_(None))) or 0
            reports = session.scalar(select(func.count(PainReport.id))) or 0
        yield GaugeMetricFamily("heupreminder_due_backlog",
                                "Reminders due now and not yet handled.", value=backlog + overdue)
        yield GaugeMetricFamily("heupreminder_paused_routines",
                                "Active pauses (a person's exercises or one routine).",
                                value=paused)
        yield GaugeMetricFamily("heupreminder_pain_reports",
                                "Pain reports stored.", value=reports)


def render(sessions: sessionmaker[Session]) -> bytes:
    registry = CollectorRegistry()
    registry.register(DatabaseCollector(sessions))
    return generate_latest(REGISTRY) + generate_latest(registry)
