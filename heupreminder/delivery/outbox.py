"""Writing a notice (a message that is not a routine reminder) into the outbox.

Whoever decides (the pain policy in the CLI, the API, the service's
housekeeping; the weekly summary; the service telling its admin) writes the
row in its own transaction; the service sends it on the reminders' road
(claim with a lease, send, record, retry later), so a notice decided by a
process that exits at once still goes out, and one in flight when the
service dies is taken over after a restart.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from heupreminder.db.models import Notice, OccurrenceStatus

# A notice is still worth sending this long after it was decided; after that
# it is recorded as missed (a rest message days late would confuse more than help).
NOTICE_DEADLINE = timedelta(hours=12)


def new_notice(person_id: str | None, kind: str, dedupe_key: str, title: str, body: str, *,
               channels: list[str], now: datetime,
               status: OccurrenceStatus = OccurrenceStatus.PENDING,
               reason: str | None = None) -> Notice:
    """A notice row, due now; the caller adds it (see `queue_notice`)."""
    return Notice(person_id=person_id, kind=kind, dedupe_key=dedupe_key, channels=channels,
                  title=title, body=body, status=status, reason=reason, send_at=now,
                  deadline=now + NOTICE_DEADLINE, created_at=now, deliveries={},
                  outcome_unknown=False,
                  finished_at=now if status.final else None)


def queue_notice(session: Session, person_id: str | None, kind: str, dedupe_key: str,
                 title: str, body: str, *, channels: list[str], now: datetime) -> bool:
    """Put a message in the outbox unless the same one is already there.

    Returns True if it was added. `person_id` None is a message for the admin.
    """
    exists = session.scalar(select(Notice.id).where(
        Notice.person_id.is_(None) if person_id is None else Notice.person_id == person_id,
        Notice.dedupe_key == dedupe_key))
    if exists is not None or not channels:
        return False
    session.add(new_notice(person_id, kind, dedupe_key, title, body, channels=channels,
                           now=now))
    return True


def queue_admin_notice(session: Session, admin_channel: str | None, dedupe_key: str,
                       title: str, body: str, *, now: datetime) -> bool:
    """A message for whoever runs the service, if `[service] admin_channel` is set."""
    if not admin_channel:
        return False
    return queue_notice(session, None, "admin", dedupe_key, title, body,
                        channels=[admin_channel], now=now)
