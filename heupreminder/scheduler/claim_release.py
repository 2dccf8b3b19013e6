"""At a stop, hand this node's claims back, so the next start need not wait for their leases.

Claimed reminders and notices that were queued but not sent (or whose send
did not finish in time) go back to pending. When sends were cut off, a
channel may have got the message already, so the rows are marked
outcome_unknown.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from heupreminder.db.engine import changed_rows
from heupreminder.db.models import OccurrenceStatus
from heupreminder.scheduler.recording import NOTICES, OCCURRENCES


def release_own_claims(sessions: sessionmaker[Session], node_id: str, *,
                       outcome_unknown: bool) -> int:
    """Hand `node_id`'s claimed reminders and notices back; return how many."""
    released = 0
    with sessions.begin() as session:
        for table in (OCCURRENCES, NOTICES):
            released += changed_rows(session.execute(
                update(table)
                .where(table.c.claimed_by == node_id,
                       table.c.status == OccurrenceStatus.SENDING)
                .values(status=OccurrenceStatus.PENDING, claimed_by=None,
                        claimed_until=None, outcome_unknown=outcome_unknown)
            ))
    return released
