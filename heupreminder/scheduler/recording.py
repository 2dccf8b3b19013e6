"""Writing rows: a batch of send results, and the set-based writes every unit shares.

Recording takes a batch of results in one transaction: each channel's result
(`deliveries` for a reminder, `notices.deliveries` for a notice), each row's
outcome (sent, failed, or pending again for a later try), and the channel
outages the admin hears about. The tables themselves are used through Core
statements: the ORM's bulk paths cost about a third more per row, and this
runs for every reminder of a morning burst.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, sessionmaker

from heupreminder.config.loader import Settings
from heupreminder.db.models import Delivery, Notice, Occurrence, Routine
from heupreminder.delivery import outages
from heupreminder.ops import metrics
from heupreminder.scheduler.results import (
    SendOutcome,
    SendResult,
    delivery_status,
    next_try,
    notice_row_outcome,
    row_outcome,
)

log = logging.getLogger(__name__)

ROUTINES = cast(Table, Routine.__table__)
OCCURRENCES = cast(Table, Occurrence.__table__)
NOTICES = cast(Table, Notice.__table__)
DELIVERIES = cast(Table, Delivery.__table__)

_UPDATE_DELIVERY = (
    update(DELIVERIES)
    .where(DELIVERIES.c.occurrence_id == bindparam("new_occurrence_id"),
           DELIVERIES.c.channel == bindparam("new_channel"))
    .values({k: bindparam(f"new_{k}") for k in ("status", "attempts", "error", "finished_at")}))

_DELIVERY_COLUMNS = ("occurrence_id", "channel", "status", "attempts", "error", "finished_at")
# PostgreSQL: a batch of deliveries as one row of arrays, unnested by the server.
# One statement with six parameters instead of a pipeline of one INSERT per
# row (the per-row cost of which was a tenth of a burst's CPU in the service).
_DELIVERY_ARRAYS = func.unnest(*(
    sql_cast(bindparam(name, type_=ARRAY(DELIVERIES.c[name].type)),
             ARRAY(DELIVERIES.c[name].type))  # typed twice: converted here, named there
    for name in _DELIVERY_COLUMNS
)).table_valued(*_DELIVERY_COLUMNS).render_derived()
_INSERT_DELIVERIES_POSTGRESQL = insert(DELIVERIES).from_select(
    _DELIVERY_COLUMNS, select(*(_DELIVERY_ARRAYS.c[name] for name in _DELIVERY_COLUMNS)))

# A finished send, for the log: the result, (what, outcome), the log line's extra fields.
Finished = tuple[SendResult, tuple[str, str], dict[str, str]]
# A batch with more finished sends than this gets one INFO line, and one DEBUG
# line per send: a line per reminder was a seventh of a burst's CPU.
LOG_EACH_UP_TO = 5


@dataclass
class _Batch:
    """What recording a batch of results writes, gathered before it is written."""

    outcomes: list[SendOutcome] = field(default_factory=list)
    occurrence_updates: list[dict[str, Any]] = field(default_factory=list)
    notice_updates: list[dict[str, Any]] = field(default_factory=list)
    new_deliveries: list[dict[str, Any]] = field(default_factory=list)
    changed_deliveries: list[dict[str, Any]] = field(default_factory=list)
    final_failures: dict[str, str] = field(default_factory=dict)  # channel -> error, for the admin
    delivered: set[str] = field(default_factory=set)  # channels that worked: outages end
    done: list[Finished] = field(default_factory=list)  # for the log


def record_results(sessions: sessionmaker[Session], settings: Settings,
                   results: list[SendResult], now: datetime, *,
                   postgres: bool) -> list[SendOutcome]:
    """Write a batch of send results in one transaction; what became of each, in order."""
    if not results:
        return []
    batch = _Batch()
    for result in results:
        _count_deliveries(result, settings, batch)
        _gather(result, now, batch)
    with sessions.begin() as session:
        if batch.new_deliveries:
            _insert_deliveries(session, batch.new_deliveries, postgres=postgres)
        if batch.changed_deliveries:
            session.execute(_UPDATE_DELIVERY, batch.changed_deliveries)
        update_occurrences(session, batch.occurrence_updates)
        for change in batch.notice_updates:
            session.execute(update(NOTICES).where(NOTICES.c.id == change.pop("id"))
                            .values(change))
        outages.note_results(session, settings, batch.final_failures, batch.delivered, now,
                             postgres=postgres)
    _log_finished(batch.done)
    return batch.outcomes


def _count_deliveries(result: SendResult, settings: Settings, batch: _Batch) -> None:
    """The delivery metrics (reminders only) and the channels that worked."""
    job = result.job
    for name, error in result.errors.items():
        if not job.notice:  # the metrics count reminders
            channel = job.resolved_channels.get(name) or settings.channels.get(name)
            metrics.record_delivery(
                metrics.channel_type(channel.masked_url if channel else ""),
                error, job.due_at, delivered_at=result.finished_at)
        if error is None:
            batch.delivered.add(name)


def _gather(result: SendResult, now: datetime, batch: _Batch) -> None:
    """Add one result's row changes to the batch, and log what it came to."""
    job, retry_at = result.job, next_try(result, now)
    if job.notice:
        batch.notice_updates.append(notice_row_outcome(result, retry_at, now))
    else:
        _gather_deliveries(result, now, batch)
        batch.occurrence_updates.append(row_outcome(result, retry_at, now))
    failed = result.failed
    extra = {"person": job.person_id, "routine": job.routine_key}
    if retry_at is not None:
        log.info("%s: %s failed, trying again at %s", job.context, ", ".join(failed),
                 retry_at.isoformat(timespec="seconds"), extra=extra)
        batch.outcomes.append(SendOutcome.RETRY)
        return
    what = "notice" if job.notice else "reminder"
    batch.final_failures.update(failed)
    for name, error in failed.items():
        log.warning("%s: %s not delivered to %s: %s", job.context, what, name, error,
                    extra=extra)
    outcome = result.final_outcome
    batch.done.append((result, (what, outcome.value), extra))
    batch.outcomes.append(outcome)


def _gather_deliveries(result: SendResult, now: datetime, batch: _Batch) -> None:
    """A reminder's per-channel results: a new `deliveries` row, or the earlier one updated."""
    job = result.job
    for name, error in result.errors.items():
        row = {"occurrence_id": job.row_id, "channel": name, "status": delivery_status(error),
               "attempts": job.attempts.get(name, 0) + 1, "error": error, "finished_at": now}
        if name in job.attempts:  # prepared with an earlier result: tried before
            batch.changed_deliveries.append({f"new_{k}": v for k, v in row.items()})
        else:
            batch.new_deliveries.append(row)


def _insert_deliveries(session: Session, rows: list[dict[str, Any]], *, postgres: bool) -> None:
    if postgres:
        session.execute(_INSERT_DELIVERIES_POSTGRESQL,
                        {name: [row[name] for row in rows] for name in _DELIVERY_COLUMNS})
    else:  # SQLite runs in this process: executemany has no round trips to save
        session.execute(insert(DELIVERIES), rows)


def update_occurrences(session: Session, changes: list[dict[str, Any]]) -> None:
    """Update occurrences by id, one statement per distinct set of new values.

    A burst's results are mostly identical ("sent", now, no reason), so this
    is usually one `UPDATE ... WHERE id IN (...)` per batch rather than a
    statement per row (a round trip each on PostgreSQL).
    """
    _update_grouped(session, OCCURRENCES, [
        (change["id"], tuple(sorted((k, v) for k, v in change.items() if k != "id")))
        for change in changes])


def advance_routines(session: Session, following: list[tuple[int, datetime | None]]) -> None:
    """Set routines' next due times, one statement per distinct time (as above).
    None takes a routine out of the schedule until it is fixed."""
    _update_grouped(session, ROUTINES, [
        (routine_id, (("next_due_at", when),)) for routine_id, when in following])


def _update_grouped(session: Session, table: Table,
                    changes: list[tuple[int, tuple[tuple[str, Any], ...]]]) -> None:
    """Apply (id, new values) changes with one UPDATE per distinct set of values."""
    groups: dict[tuple[tuple[str, Any], ...], list[int]] = {}
    for row_id, values in changes:
        groups.setdefault(values, []).append(row_id)
    for values, ids in groups.items():
        session.execute(update(table).where(table.c.id.in_(ids)).values(dict(values)))


def _log_finished(done: list[Finished]) -> None:
    """One line per finished reminder or notice ("anna/bridge: reminder sent (mail ok)"),
    or for a burst one line for the batch ("510 reminders sent, 2 reminders failed")
    and the rest at DEBUG."""
    level = logging.INFO if len(done) <= LOG_EACH_UP_TO else logging.DEBUG
    if log.isEnabledFor(level):  # the channels are listed only if the line is written
        for result, (what, status), extra in done:
            channels = [f"{name} ok (earlier)" for name in result.job.already_sent] + [
                f"{name} {'ok' if error is None else 'failed'}"
                for name, error in result.errors.items()]
            log.log(level, "%s: %s %s (%s)", result.job.context, what, status,
                    ", ".join(channels), extra=extra)
    if len(done) > LOG_EACH_UP_TO:
        counts: dict[tuple[str, str], int] = {}
        for _, outcome, _ in done:
            counts[outcome] = counts.get(outcome, 0) + 1
        log.info("%s", ", ".join(f"{n} {what}{'' if n == 1 else 's'} {status}"
                                 for (what, status), n in sorted(counts.items())))

