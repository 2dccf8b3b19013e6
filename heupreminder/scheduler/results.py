"""A send job, what one try of it came to, and what that means for its row.

A `SendJob` carries everything a send needs, so no database is touched while
the channels are tried (in the pool or the sending process). A `SendResult`
is what the try came to per channel. The pure functions here turn it into the
row's new values: sent, failed, or pending again after a backoff, which the
deadline cuts short. A failed channel is never retried by sleeping in a
thread: its row goes back to pending with a later send_at, so a failing or
hanging service holds nothing that other people's reminders need.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from heupreminder.db.models import DeliveryStatus, OccurrenceStatus, utcnow
from heupreminder.delivery.channel_book import ResolvedChannel
from heupreminder.delivery.push import Button
from heupreminder.delivery.sender import Attachment

# Waits between tries of one channel; the occurrence's deadline cuts it short.
BACKOFF_SECONDS = (2.0, 5.0, 15.0, 30.0, 60.0)


class SendOutcome(StrEnum):
    """What a unit of work did with one reminder or notice. The values are the
    strings the log and the tests have always used (and, for sent, failed and
    skipped, the status the row is recorded with)."""

    SENT = "sent"  # at least one channel delivered
    FAILED = "failed"  # every channel failed, and no time is left to try again
    SKIPPED = "skipped"  # a pause covers it: recorded with the reason, never sent
    RETRY = "retry"  # a channel failed: pending again, with a later send_at
    LOST_CLAIM = "lost-claim"  # no longer ours: its lease ran out and it was taken over


@dataclass
class SendJob:
    """One claimed reminder (an occurrence) or notice, ready to send: no database
    needed from here on."""

    row_id: int  # the occurrence's id, or the notice's when `notice` is True
    person_id: str
    routine_key: str  # a notice's kind
    title: str
    body: str
    due_at: datetime
    deadline: datetime
    channels: list[str]  # still to do
    already_sent: list[str]  # succeeded on an earlier try: never again
    attempts: dict[str, int] = field(default_factory=dict)
    notice: bool = False
    # Per channel, a different body and an attachment (the weekly summary's chart).
    variants: dict[str, tuple[str, Attachment | None]] = field(default_factory=dict)
    # A notice's earlier per-channel results, kept beside the new ones.
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    # How a channel may show it (see delivery.sender.send): the one-tap link
    # (a push's tap target), what it is (exercise, rest, summary, ...; ntfy's
    # tag) and the person's language.
    link: str | None = None
    kind: str | None = None
    locale: str | None = None
    # Action buttons (ntfy): a reminder's Done/Skip/Pain..., the check-in's levels.
    buttons: tuple[Button, ...] = ()
    # What each channel name means for this person: their own channel from the
    # database first, then the config's (resolved when the job is made). A name
    # missing here is looked up in the config.
    resolved_channels: dict[str, ResolvedChannel] = field(default_factory=dict)

    @property
    def context(self) -> str:
        """Who and what, for log lines: "anna/bridge", "anna/rest notice"."""
        return f"{self.person_id}/{self.routine_key}" + (" notice" if self.notice else "")


@dataclass
class SendResult:
    job: SendJob
    errors: dict[str, str | None]  # per channel tried: None = delivered
    permanent: set[str]
    # When the sends ended: the delivery latency's end (results are written a
    # tick later, which is no part of it).
    finished_at: datetime = field(default_factory=utcnow)

    @property
    def failed(self) -> dict[str, str]:
        """The channels that failed this time, with their errors."""
        return {name: error for name, error in self.errors.items() if error is not None}

    @property
    def delivered(self) -> bool:
        """True if a channel has it, on this try or an earlier one."""
        return bool(self.job.already_sent) or any(e is None for e in self.errors.values())

    @property
    def final_outcome(self) -> SendOutcome:
        """Sent or failed, for a result that will not be tried again."""
        return SendOutcome.SENT if self.delivered else SendOutcome.FAILED


def backoff(attempts: int) -> float:
    """Seconds to wait after the `attempts`-th failed try of a channel."""
    return BACKOFF_SECONDS[min(attempts - 1, len(BACKOFF_SECONDS) - 1)]


def next_try(result: SendResult, now: datetime) -> datetime | None:
    """When to try the failed channels again, or None if not (done, or out of time)."""
    job, retry_at = result.job, None
    for name, error in result.errors.items():
        if error is None or name in result.permanent:
            continue
        attempts = job.attempts.get(name, 0) + 1
        when = now + timedelta(seconds=backoff(attempts))
        if when <= job.deadline and (retry_at is None or when < retry_at):
            retry_at = when
    return retry_at


def row_outcome(result: SendResult, retry_at: datetime | None,
                now: datetime) -> dict[str, Any]:
    """A reminder's (or notice's) new row values after a try."""
    reasons = "; ".join(f"{name}: {error}" for name, error in result.failed.items())
    if retry_at is not None:  # try again later, only the channels that failed
        return {"id": result.job.row_id, "status": OccurrenceStatus.PENDING,
                "send_at": retry_at, "claimed_by": None, "claimed_until": None,
                "reason": "retrying: " + reasons}
    return {"id": result.job.row_id, "finished_at": now, "claimed_by": None,
            "claimed_until": None,
            "status": OccurrenceStatus.SENT if result.delivered else OccurrenceStatus.FAILED,
            "reason": reasons or None}


def notice_row_outcome(result: SendResult, retry_at: datetime | None,
                       now: datetime) -> dict[str, Any]:
    """The notice's new row values: its outcome plus each channel's result."""
    job = result.job
    deliveries = dict(job.results)
    for name, error in result.errors.items():
        deliveries[name] = {"status": delivery_status(error),
                            "attempts": job.attempts.get(name, 0) + 1, "error": error,
                            "at": now.isoformat(timespec="seconds")}
    return row_outcome(result, retry_at, now) | {"deliveries": deliveries}


def delivery_status(error: str | None) -> DeliveryStatus:
    """A channel's recorded result: sent if it had no error."""
    return DeliveryStatus.FAILED if error else DeliveryStatus.SENT
