"""The work queue: due routines become occurrence rows, due rows are claimed with a
lease, leases that ran out are taken back, and overdue rows are recorded as missed.

Reminders (occurrences) and notices share the road: both are claimed with an
owner and a lease (`status='sending'`, `claimed_by`, `claimed_until`), so two
nodes never send the same row, and a row a dead node held goes back to the
queue when its lease runs out. Each function is one short transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row, Table, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from heupreminder.db.backend import insert_or_ignore
from heupreminder.db.engine import changed_rows
from heupreminder.db.models import Notice, OccurrenceStatus, Person, Routine
from heupreminder.ops import metrics
from heupreminder.scheduler.recording import NOTICES, OCCURRENCES, advance_routines
from heupreminder.timetable.occurrences import PlannedOccurrence, Verdict, step
from heupreminder.timetable.schedule import cached_schedule

log = logging.getLogger(__name__)

# A result row of a query that names its columns; read by attribute.
ReadRow = Row[*tuple[Any, ...]]

# Routines scheduled per transaction: a morning burst is a few dozen statements.
BATCH = 500

# What the occurrence rule's verdict is recorded as.
_STATUS_OF_VERDICT = {Verdict.SEND: OccurrenceStatus.PENDING,
                      Verdict.MISSED: OccurrenceStatus.MISSED,
                      Verdict.SKIPPED: OccurrenceStatus.SKIPPED}


def schedule_due(sessions: sessionmaker[Session], catch_up: timedelta, now: datetime,
                 ahead: timedelta, *, postgres: bool) -> bool:
    """Create occurrence rows for one batch of due routines and advance them.

    Set-based: one SELECT, one bulk UPDATE, one bulk INSERT per batch. The
    rows are ours alone: locked with SKIP LOCKED on PostgreSQL, and SQLite
    has a single writer; the unique (routine, due_at) key is the last guard.
    Returns True if the batch was full, so there may be more due.
    """
    with sessions.begin() as session:
        query = (
            select(Routine.id, Routine.key, Routine.person_id, Routine.schedule,
                   Routine.next_due_at, Person.timezone, Person.quiet_hours)
            .join(Person, Person.id == Routine.person_id)
            .where(Routine.next_due_at <= now + ahead)
            .order_by(Routine.next_due_at)
            .limit(BATCH)
        )
        if postgres:
            query = query.with_for_update(skip_locked=True, of=Routine)
        rows = session.execute(query).all()
        advanced, occurrences = _apply_rule(rows, catch_up, now)
        advance_routines(session, advanced)
        if occurrences:
            # Ignoring duplicates: the unique (routine, due_at) key is the last guard.
            session.execute(insert_or_ignore(OCCURRENCES, postgres=postgres), occurrences)
    for occurrence in occurrences:
        if occurrence["status"] != OccurrenceStatus.PENDING:
            metrics.record_outcome(str(occurrence["status"]))
    return len(rows) == BATCH


def _apply_rule(rows: Sequence[ReadRow], catch_up: timedelta, now: datetime,
                ) -> tuple[list[tuple[int, datetime | None]], list[dict[str, object]]]:
    """Each routine's next due time, and the occurrence rows the rule decides."""
    advanced: list[tuple[int, datetime | None]] = []
    occurrences: list[dict[str, object]] = []
    for row in rows:
        try:
            schedule = cached_schedule(row.schedule)
            zone = ZoneInfo(row.timezone)  # ZoneInfo caches its instances
            planned, following = step(schedule, zone, row.quiet_hours, row.next_due_at,
                                      catch_up, now)
        except (ValueError, KeyError) as exc:
            # Quarantine: a bad row must not crash-loop the service.
            log.error("routine %s/%s cannot be scheduled and is set aside: %s",
                      row.person_id, row.key, exc,
                      extra={"person": row.person_id, "routine": row.key})
            advanced.append((row.id, None))
            continue
        advanced.append((row.id, following))
        occurrences.extend(_occurrence_rows(row.id, planned, now))
    return advanced, occurrences


def _occurrence_rows(routine_id: int, planned: list[PlannedOccurrence],
                     now: datetime) -> list[dict[str, object]]:
    """The occurrence rows to write for what the rule decided: pending, or final."""
    return [{"routine_id": routine_id, "due_at": occurrence.due,
             "send_at": occurrence.send_at, "deadline": occurrence.deadline,
             "status": _STATUS_OF_VERDICT[occurrence.verdict], "reason": occurrence.reason,
             "outcome_unknown": False, "created_at": now,
             "finished_at": None if occurrence.verdict is Verdict.SEND else now}
            for occurrence in planned]


def recover_expired_claims(sessions: sessionmaker[Session], now: datetime, *,
                           all_claims: bool = False) -> int:
    """Put sends whose lease ran out (a dead node) back in the queue, reminders and
    notices alike; `all_claims` takes back every open claim."""
    count = 0
    with sessions.begin() as session:
        for table in (OCCURRENCES, NOTICES):
            condition = table.c.status == OccurrenceStatus.SENDING
            if not all_claims:
                condition = condition & (table.c.claimed_until < now)
            count += changed_rows(session.execute(
                update(table).where(condition).values(
                    status=OccurrenceStatus.PENDING, claimed_by=None, claimed_until=None,
                    outcome_unknown=True)
            ))
    if count:
        log.warning("%d message(s) were being sent when a process stopped; "
                    "resending to channels without a recorded result", count)
    return int(count)


def expire_overdue(sessions: sessionmaker[Session], now: datetime) -> None:
    """Record pending reminders and notices whose deadline has passed as missed."""
    with sessions.begin() as session:
        for table, why in ((OCCURRENCES, "catch_up"), (NOTICES, "notices: 12 h")):
            session.execute(
                update(table)
                .where(table.c.status == OccurrenceStatus.PENDING, table.c.deadline < now)
                .values(status=OccurrenceStatus.MISSED, finished_at=now,
                        reason=f"not sent before its deadline ({why})")
            )


def claim_rows(sessions: sessionmaker[Session], table: Table, now: datetime, limit: int, *,
               node_id: str, lease: timedelta, postgres: bool) -> list[int]:
    """Atomically take up to `limit` pending rows of `table` that are due to send."""
    with sessions.begin() as session:
        candidates = (
            select(table.c.id)
            .where(table.c.status == OccurrenceStatus.PENDING, table.c.send_at <= now,
                   table.c.deadline >= now)
            .order_by(table.c.send_at)
            .limit(limit)
        )
        if postgres:
            # Materialized: PostgreSQL may re-run an `IN (SELECT ... LIMIT n
            # FOR UPDATE SKIP LOCKED)` subquery, each run skipping the rows it
            # just updated, and so claim far more than `limit` rows at once.
            candidates = select(candidates.with_for_update(skip_locked=True)
                                .cte().prefix_with("MATERIALIZED").c.id)
        # One UPDATE ... WHERE status = 'pending': if two nodes race for the
        # same row, the database lets exactly one of them change it.
        claimed = session.scalars(
            update(table)
            .where(table.c.id.in_(candidates.scalar_subquery()),
                   table.c.status == OccurrenceStatus.PENDING)
            .values(status=OccurrenceStatus.SENDING, claimed_by=node_id,
                    claimed_until=now + lease)
            .returning(table.c.id)
        ).all()
    return list(claimed)


def notice_due(sessions: sessionmaker[Session], now: datetime) -> bool:
    """True if a notice waits to be sent (one indexed lookup: the outbox poll)."""
    with sessions() as session:
        return session.scalar(select(Notice.id).where(
            Notice.status == OccurrenceStatus.PENDING, Notice.send_at <= now).limit(1)
        ) is not None


def next_wake(sessions: sessionmaker[Session], ahead: timedelta) -> datetime | None:
    """The earliest time there is work: a routine to schedule (`ahead` of its due
    time), a reminder or notice to send, or a lease to take over."""
    with sessions() as session:
        routine_due = session.scalar(select(func.min(Routine.next_due_at)))
        if routine_due is not None:
            routine_due -= ahead
        times = [routine_due]
        for table in (OCCURRENCES, NOTICES):
            times.append(session.scalar(select(func.min(table.c.send_at)).where(
                table.c.status == OccurrenceStatus.PENDING)))
            # A lease running out (a dead node's claim) is work too: take it over then.
            times.append(session.scalar(select(func.min(table.c.claimed_until)).where(
                table.c.status == OccurrenceStatus.SENDING)))
    known = [t for t in times if t is not None]
    return min(known) if known else None
