"""Sending claimed reminders in a test the way the service does, without its pool.

The service's tick prepares a claimed batch, sends each job and records the
results in one batch; `send_claimed` does the same in the test's thread and
says what became of each reminder, which the tests assert on; `deliver_notice`
does it for one claimed notice.
"""

from __future__ import annotations

from sqlalchemy import select

from heupreminder.db.models import Occurrence, OccurrenceStatus
from heupreminder.scheduler.dispatcher import Dispatcher
from heupreminder.scheduler.results import SendOutcome


def send_claimed(dispatcher: Dispatcher, occurrence_ids: list[int]) -> list[SendOutcome]:
    """Prepare, send and record claimed reminders; per reminder, in claim order:
    sent, failed or retry, or for one that got no send job, skipped (a pause
    covers it) or lost-claim (no longer ours)."""
    position = {occurrence_id: i for i, occurrence_id in enumerate(occurrence_ids)}
    jobs = sorted(dispatcher.prepare(occurrence_ids), key=lambda job: position[job.row_id])
    recorded = dispatcher.record([dispatcher.send_job(job) for job in jobs])
    outcomes = {job.row_id: outcome for job, outcome in zip(jobs, recorded, strict=True)}
    with dispatcher.sessions() as session:
        statuses = {row.id: row.status for row in session.execute(
            select(Occurrence.id, Occurrence.status).where(
                Occurrence.id.in_(set(occurrence_ids) - set(outcomes))))}
    for occurrence_id, status in statuses.items():
        outcomes[occurrence_id] = (SendOutcome.SKIPPED if status == OccurrenceStatus.SKIPPED
                                   else SendOutcome.LOST_CLAIM)
    return [outcomes.get(i, SendOutcome.LOST_CLAIM) for i in occurrence_ids]


def deliver_notice(dispatcher: Dispatcher, notice_id: int) -> SendOutcome:
    """Prepare, send and record one claimed notice: sent, failed, retry, or
    lost-claim if it is no longer ours."""
    jobs = dispatcher.prepare_notices([notice_id])
    if not jobs:
        return SendOutcome.LOST_CLAIM
    return dispatcher.record([dispatcher.send_job(jobs[0])])[0]
