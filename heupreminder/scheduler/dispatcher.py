"""The dispatcher: the units of work that turn due routines into delivered reminders.

Each unit is small, takes `now`, and talks to the database in one short
transaction; the service loop (`service.py`) only calls them in order. The
work itself lives in the parts this class coordinates:

* `claims` - due routines become occurrence rows (by the occurrence rule in
  `timetable.occurrences`); due rows are claimed with a lease; leases that ran
  out are taken back; overdue rows are recorded as missed.
* `send_jobs` and `notices` - claimed reminders and notices become send jobs
  (the message, its links and buttons), and a job is tried on its channels.
* `recording` - a batch of results is written: each channel's result and
  each row's outcome (sent, failed, or pending again after a backoff).
* `results` - the send job, what a try came to (`SendOutcome`), the backoff.

Delivery semantics: at-least-once per channel, with a narrow window. A
reminder is claimed with a lease (`status='sending'`, `claimed_until`); the
channels' results are recorded in batches by the service, at the latest on
the next tick. If a process dies mid-send, the lease expires, the occurrence
goes back to pending with `outcome_unknown` set, and only channels without a
recorded result are tried again. So a duplicate is possible only for a send
that was in flight, or not yet recorded, at the crash, and that row says so.
We prefer that to at-most-once: a lost reminder is invisible to the person, a
rare duplicate is not harmful.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Table
from sqlalchemy.orm import Session, sessionmaker

from heupreminder.config.loader import Settings
from heupreminder.db.backend import is_postgresql
from heupreminder.db.models import utcnow
from heupreminder.delivery.channel_book import ChannelBook
from heupreminder.delivery.http_client import HttpRequest
from heupreminder.scheduler import claims, notices, send_jobs
from heupreminder.scheduler.recording import NOTICES, OCCURRENCES, record_results
from heupreminder.scheduler.results import SendJob, SendOutcome, SendResult


class Dispatcher:
    """The units of work, in the order the service calls them; each hands over to
    the part that does it, with this node's identity, settings and clock."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Callable[[], Settings],
        node_id: str,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.node_id = node_id
        self.clock = clock  # tests drive time; the service uses the real clock
        self._postgres = is_postgresql(sessions)
        self._links = send_jobs.MessageLinks(sessions)  # check-in links, ntfy's buttons
        self.channel_book = ChannelBook()  # people's own channels, from the database

    # -- unit 1: routines -> occurrence rows --------------------------------

    def schedule_due(self, now: datetime, ahead: timedelta = timedelta(0)) -> bool:
        """Create occurrence rows for one batch of due routines and advance them.

        `ahead` takes routines due within that much of `now` too: their rows
        are written before the due time (pending, sent once `send_at` comes),
        so the database work of a morning burst is done before it starts.
        Config sync drops such early rows when it changes their routine.
        Returns True if the batch was full, so there may be more due.
        """
        return claims.schedule_due(self.sessions, self.settings().config.service.catch_up,
                                   now, ahead, postgres=self._postgres)

    # -- unit 2: expire and claim --------------------------------------------

    def recover_expired_claims(self, now: datetime, *, all_claims: bool = False) -> int:
        """Put sends whose lease ran out (a dead node) back in the queue.

        `all_claims` is for start-up on SQLite, where only one process runs, so
        every open claim belongs to a process that is gone.
        """
        return claims.recover_expired_claims(self.sessions, now, all_claims=all_claims)

    def expire_overdue(self, now: datetime) -> None:
        """Record pending reminders and notices whose deadline has passed as missed."""
        claims.expire_overdue(self.sessions, now)

    def claim(self, now: datetime, limit: int, *, expire: bool = True) -> list[int]:
        """Atomically take up to `limit` pending occurrences that are due to send.

        Overdue ones are recorded as missed first, unless `expire` is False:
        that sweep reads every pending row, so a burst's many claims leave it
        to one `expire_overdue` per pass, and claim only rows still in time.
        """
        if limit <= 0:
            return []
        if expire:
            self.expire_overdue(now)
        return self._claim_rows(OCCURRENCES, now, limit)

    def claim_notices(self, now: datetime, limit: int) -> list[int]:
        """Atomically take up to `limit` notices that are due to send (as `claim`)."""
        if limit <= 0:
            return []
        return self._claim_rows(NOTICES, now, limit)

    def _claim_rows(self, table: Table, now: datetime, limit: int) -> list[int]:
        return claims.claim_rows(self.sessions, table, now, limit, node_id=self.node_id,
                                 lease=self.settings().config.service.lease,
                                 postgres=self._postgres)

    def notice_due(self, now: datetime) -> bool:
        """True if a notice waits to be sent (one indexed lookup: the outbox poll)."""
        return claims.notice_due(self.sessions, now)

    def next_wake(self, ahead: timedelta = timedelta(0)) -> datetime | None:
        """The earliest time there is work: a routine to schedule (`ahead` of its
        due time, as in schedule_due), a reminder or notice to send, or a lease
        to take over."""
        return claims.next_wake(self.sessions, ahead)

    # -- unit 3: send claimed reminders and notices ---------------------------
    #
    # prepare() reads a whole batch in a few queries, send_job() talks to the
    # channels without touching the database (it runs in the pool), and
    # record() writes a batch of results in one transaction.

    def prepare(self, occurrence_ids: list[int]) -> list[SendJob]:
        """Turn claimed occurrences into send jobs; paused ones are skipped here."""
        return send_jobs.prepare_reminders(
            self.sessions, self.settings(), self.clock(), occurrence_ids,
            node_id=self.node_id, channel_book=self.channel_book, links=self._links)

    def prepare_notices(self, notice_ids: list[int]) -> list[SendJob]:
        """Turn claimed notices into send jobs, like `prepare` does for reminders."""
        return notices.prepare_notices(
            self.sessions, self.settings(), self.clock(), notice_ids,
            node_id=self.node_id, channel_book=self.channel_book, links=self._links)

    def send_job(self, job: SendJob) -> SendResult:
        """One attempt on each channel still to do. No database work: runs in the pool."""
        return send_jobs.send_job(job, self.settings())

    def http_requests_for(self, job: SendJob) -> dict[str, HttpRequest] | None:
        """The request for each channel of `job` over kept-open connections, or None
        if one channel needs Apprise itself (see `send_jobs.http_requests_for`)."""
        return send_jobs.http_requests_for(job, self.settings())

    def record(self, results: list[SendResult]) -> list[SendOutcome]:
        """Write a batch of send results: each channel's result, and each reminder's
        or notice's outcome (sent, failed, or pending again for a later try)."""
        return record_results(self.sessions, self.settings(), results, self.clock(),
                              postgres=self._postgres)
