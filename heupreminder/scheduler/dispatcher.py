"""Units of work that turn due routines into delivered reminders.

Each unit is small, takes `now`, and talks to the database in one short
transaction; the service loop (`service.py`) only calls them in order.

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

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from heupreminder.config.loader import Channel, Settings
from heupreminder.db.engine import changed_rows
from heupreminder.db.models import (
    Delivery,
    Notice,
    Occurrence,
    OccurrenceStatus,
    Person,
    Routine,
    RoutineText,
    utcnow,
)
from heupreminder.delivery import outages
from heupreminder.delivery.channel_book import (
    ChannelBook,
    ResolvedChannel,
    resolve,
    sendable,
    usable,
)
from heupreminder.delivery.http_client import HttpRequest
from heupreminder.delivery.messages import Message, compose, with_link
from heupreminder.delivery.push import Button, is_ntfy
from heupreminder.delivery.sender import Attachment, TransportError, http_request, send
from heupreminder.links.actions import ButtonMaker
from heupreminder.links.signing import LinkSigner, LinkTarget, checkin_url, link_secret
from heupreminder.ops import metrics
from heupreminder.pain.records import active_pauses_by_person, covering
from heupreminder.reports.weekly import outgoing_summary
from heupreminder.timetable.occurrences import PlannedOccurrence, Verdict, step
from heupreminder.timetable.schedule import cached_schedule

log = logging.getLogger(__name__)

# The tables themselves, for Core statements on the hot path (the ORM's bulk
# paths cost about a third more per row).
ROUTINES = cast(Table, Routine.__table__)
OCCURRENCES = cast(Table, Occurrence.__table__)
NOTICES = cast(Table, Notice.__table__)
DELIVERIES = cast(Table, Delivery.__table__)

BATCH = 500
# Waits between tries of one channel; the occurrence's deadline cuts it short.
BACKOFF_SECONDS = (2.0, 5.0, 15.0, 30.0, 60.0)


class Dispatcher:
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
        self._postgres = sessions.kw["bind"].dialect.name == "postgresql"
        self._signer: LinkSigner | None = None
        self._buttons = ButtonMaker(sessions)  # ntfy's Done/Skip/Pain and check-in buttons
        self.channel_book = ChannelBook()  # people's own channels, from the database

    # -- unit 1: routines -> occurrence rows --------------------------------

    def schedule_due(self, now: datetime, ahead: timedelta = timedelta(0)) -> bool:
        """Create occurrence rows for one batch of due routines and advance them.

        `ahead` takes routines due within that much of `now` too: their rows
        are written before the due time (pending, sent once `send_at` comes),
        so the database work of a morning burst is done before it starts.
        Config sync drops such early rows when it changes their routine.

        Set-based: one SELECT, one bulk UPDATE, one bulk INSERT per batch, so a
        morning burst of tens of thousands costs a few dozen statements. The
        rows are ours alone: locked with SKIP LOCKED on PostgreSQL, and SQLite
        has a single writer; the unique (routine, due_at) key is the last guard.
        Returns True if the batch was full, so there may be more due.
        """
        catch_up = self.settings().config.service.catch_up
        with self.sessions.begin() as session:
            query = (
                select(Routine.id, Routine.key, Routine.person_id, Routine.schedule,
                       Routine.next_due_at, Person.timezone, Person.quiet_hours)
                .join(Person, Person.id == Routine.person_id)
                .where(Routine.next_due_at <= now + ahead)
                .order_by(Routine.next_due_at)
                .limit(BATCH)
            )
            if self._postgres:
                query = query.with_for_update(skip_locked=True, of=Routine)
            rows = session.execute(query).all()
            advanced: list[tuple[int, datetime | None]] = []
            occurrences: list[dict[str, object]] = []
            for row in rows:
                try:
                    schedule = cached_schedule(row.schedule)
                    zone = ZoneInfo(row.timezone)  # ZoneInfo caches its instances
                    planned, following = step(schedule, zone, row.quiet_hours,
                                              row.next_due_at, catch_up, now)
                except (ValueError, KeyError) as exc:
                    # Quarantine: a bad row must not crash-loop the service.
                    log.error("routine %s/%s cannot be scheduled and is set aside: %s",
                              row.person_id, row.key, exc,
                              extra={"person": row.person_id, "routine": row.key})
                    advanced.append((row.id, None))
                    continue
                advanced.append((row.id, following))
                occurrences.extend(_occurrence_rows(row.id, planned, now))
            _advance_routines(session, advanced)
            if occurrences:
                session.execute(self._insert_ignoring_duplicates(), occurrences)
        for occurrence in occurrences:
            if occurrence["status"] != OccurrenceStatus.PENDING:
                metrics.record_outcome(str(occurrence["status"]))
        return len(rows) == BATCH

    def _insert_ignoring_duplicates(self) -> Any:
        if self._postgres:
            return postgresql_insert(OCCURRENCES).on_conflict_do_nothing()
        return sqlite_insert(OCCURRENCES).on_conflict_do_nothing()

    # -- unit 2: expire and claim --------------------------------------------

    def recover_expired_claims(self, now: datetime, *, all_claims: bool = False) -> int:
        """Put sends whose lease ran out (a dead node) back in the queue.

        Reminders and notices alike. `all_claims` is for start-up on SQLite,
        where only one process runs, so every open claim belongs to a process
        that is gone.
        """
        count = 0
        with self.sessions.begin() as session:
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

    def expire_overdue(self, now: datetime) -> None:
        """Record pending reminders and notices whose deadline has passed as missed."""
        with self.sessions.begin() as session:
            for table, why in ((OCCURRENCES, "catch_up"), (NOTICES, "notices: 12 h")):
                session.execute(
                    update(table)
                    .where(table.c.status == OccurrenceStatus.PENDING, table.c.deadline < now)
                    .values(status=OccurrenceStatus.MISSED, finished_at=now,
                            reason=f"not sent before its deadline ({why})")
                )

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
        return self._claim(OCCURRENCES, now, limit)

    def claim_notices(self, now: datetime, limit: int) -> list[int]:
        """Atomically take up to `limit` notices that are due to send (as `claim`)."""
        if limit <= 0:
            return []
        return self._claim(NOTICES, now, limit)

    def _claim(self, table: Table, now: datetime, limit: int) -> list[int]:
        with self.sessions.begin() as session:
            candidates = (
                select(table.c.id)
                .where(table.c.status == OccurrenceStatus.PENDING, table.c.send_at <= now,
                       table.c.deadline >= now)
                .order_by(table.c.send_at)
                .limit(limit)
            )
            if self._postgres:
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
                .values(status=OccurrenceStatus.SENDING, claimed_by=self.node_id,
                        claimed_until=now + self.settings().config.service.lease)
                .returning(table.c.id)
            ).all()
        return list(claimed)

    def notice_due(self, now: datetime) -> bool:
        """True if a notice waits to be sent (one indexed lookup: the outbox poll)."""
        with self.sessions() as session:
            return session.scalar(select(Notice.id).where(
                Notice.status == OccurrenceStatus.PENDING, Notice.send_at <= now).limit(1)
            ) is not None

    def next_wake(self, ahead: timedelta = timedelta(0)) -> datetime | None:
        """The earliest time there is work: a routine to schedule (`ahead` of its
        due time, as in schedule_due), a reminder or notice to send, or a lease
        to take over."""
        with self.sessions() as session:
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

    # -- unit 3: send claimed occurrences -----------------------------------------
    #
    # prepare() reads a whole batch in three queries, send_job() talks to the
    # channels without touching the database (it runs in the pool), and
    # record() writes a batch of results in one transaction. A failed channel
    # is not retried by sleeping in a thread: its occurrence goes back to
    # `pending` with a later send_at, so a hanging or failing service never
    # holds a thread that other people's reminders need.

    def prepare(self, occurrence_ids: list[int]) -> list[SendJob]:
        """Turn claimed occurrences into send jobs; paused ones are skipped here."""
        if not occurrence_ids:
            return []
        settings, now = self.settings(), self.clock()
        with self.sessions.begin() as session:
            # Plain rows, not ORM objects: this runs for every reminder of a burst.
            rows = session.execute(
                select(Occurrence.id.label("occurrence_id"), Occurrence.due_at,
                       Occurrence.deadline, Routine.id.label("routine_id"), Routine.key,
                       Routine.kind, Routine.exercise, Routine.side, Routine.title,
                       Routine.text, Person.id.label("person_id"), Person.locale,
                       Person.timezone, Person.channels)
                .join(Routine, Routine.id == Occurrence.routine_id)
                .join(Person, Person.id == Routine.person_id)
                .where(Occurrence.id.in_(occurrence_ids),
                       Occurrence.claimed_by == self.node_id,
                       Occurrence.status == OccurrenceStatus.SENDING)).all()
            tried: dict[int, dict[str, tuple[str, int]]] = {}
            for delivery in session.execute(
                    select(Delivery.occurrence_id, Delivery.channel, Delivery.status,
                           Delivery.attempts)
                    .where(Delivery.occurrence_id.in_(occurrence_ids))):
                tried.setdefault(delivery.occurrence_id, {})[delivery.channel] = (
                    delivery.status, delivery.attempts)
            pauses = active_pauses_by_person(session, {row.person_id for row in rows}, now)
            personal = self.channel_book.personal(session, {row.person_id for row in rows})
            jobs: list[SendJob] = []
            skipped: list[dict[str, Any]] = []
            set_aside: list[dict[str, Any]] = []
            for row in rows:
                routine = cast(RoutineText, row)
                extra = {"person": row.person_id, "routine": row.key}
                pause = covering(pauses.get(row.person_id, []), routine)
                if pause is not None:
                    # Resting: recorded as skipped with the reason, never sent.
                    skipped.append({"id": row.occurrence_id, "status": OccurrenceStatus.SKIPPED,
                                    "reason": f"paused: {pause.reason}", "pause_id": pause.id,
                                    "finished_at": now,
                                    "claimed_by": None, "claimed_until": None})
                    log.info("%s/%s: reminder skipped, paused: %s", row.person_id, row.key,
                             pause.reason, extra=extra)
                    continue
                try:
                    local_date = row.due_at.astimezone(ZoneInfo(row.timezone)).date()
                    link = self._link(settings, row.person_id, row.occurrence_id)
                    message = with_link(compose(routine, row.locale, local_date), row.locale,
                                        link)
                except (LookupError, ValueError) as exc:
                    # Quarantine: a malformed row (unknown exercise, empty text, bad
                    # time zone) fails alone and once, never the whole batch.
                    log.error("routine %s/%s cannot be composed and is set aside: %s",
                              row.person_id, row.key, exc, extra=extra)
                    set_aside.append({"id": row.occurrence_id, "status": OccurrenceStatus.FAILED,
                                      "reason": f"cannot be composed: {exc}",
                                      "finished_at": now, "claimed_by": None,
                                      "claimed_until": None})
                    # Out of the schedule until it is fixed.
                    _advance_routines(session, [(row.routine_id, None)])
                    continue
                previous = tried.get(row.occurrence_id, {})
                channels = resolve(row.channels, personal.get(row.person_id, {}),
                                   settings.channels)
                jobs.append(SendJob(
                    row_id=row.occurrence_id, person_id=row.person_id,
                    routine_key=row.key, title=message.title, body=message.body,
                    due_at=row.due_at, deadline=row.deadline,
                    channels=[c for c in row.channels
                              if previous.get(c, ("", 0))[0] != "sent"],
                    already_sent=[c for c, (status, _) in previous.items() if status == "sent"],
                    attempts={c: n for c, (_, n) in previous.items()},
                    link=link, kind=row.kind, locale=row.locale,
                    # Signed only for ntfy, the one channel that shows them.
                    buttons=(self._buttons.reminder(settings, row.person_id,
                                                    row.occurrence_id, link, row.locale)
                             if _shows_buttons(channels) else ()),
                    resolved_channels=channels))
            if skipped or set_aside:
                _update_occurrences(session, skipped + set_aside)
        for _ in skipped:
            metrics.record_outcome("skipped")
        return jobs

    def send_job(self, job: SendJob) -> SendResult:
        """One attempt on each channel still to do. No database work: runs in the pool."""
        settings = self.settings()
        errors: dict[str, str | None] = {}
        permanent: set[str] = set()
        for name in job.channels:
            channel = job.resolved_channels.get(name) or settings.channels.get(name)
            body, attach = job.variants.get(name, (job.body, None))
            try:
                if channel is None:
                    raise TransportError(f"channel {name!r} is not configured", permanent=True)
                send(usable(channel), job.title, body, attach, link=job.link, kind=job.kind,
                     locale=job.locale, buttons=job.buttons)
                errors[name] = None
            except TransportError as exc:
                errors[name] = exc.message
                if exc.permanent:
                    permanent.add(name)
        return SendResult(job=job, errors=errors, permanent=permanent)

    def http_requests_for(self, job: SendJob) -> dict[str, HttpRequest] | None:
        """The request Apprise builds for each channel of `job` (sent over kept-open
        connections), or None if one channel needs Apprise itself (or the job says
        something different per channel, like the weekly summary)."""
        if job.variants:
            return None
        channels = self.settings().channels
        requests = {}
        for name in job.channels:
            channel = sendable(job.resolved_channels.get(name) or channels.get(name))
            request = (http_request(channel.url, job.title, job.body, link=job.link,
                                    kind=job.kind, buttons=job.buttons)
                       if channel is not None else None)
            if request is None:
                return None
            requests[name] = request
        return requests

    def record(self, results: list[SendResult]) -> list[str]:
        """Write a batch of send results: each channel's result, and each reminder's
        or notice's outcome (sent, failed, or pending again for a later try)."""
        if not results:
            return []
        settings, now = self.settings(), self.clock()
        outcomes, occurrence_updates, new_deliveries, changed_deliveries = [], [], [], []
        notice_updates: list[dict[str, Any]] = []
        done: list[Finished] = []  # for the log
        final_failures: dict[str, str] = {}  # channel -> error, for the admin
        delivered: set[str] = set()
        with self.sessions.begin() as session:
            for result in results:
                job = result.job
                extra = {"person": job.person_id, "routine": job.routine_key}
                for name, error in result.errors.items():
                    channel = job.resolved_channels.get(name) or settings.channels.get(name)
                    if not job.notice:  # the metrics count reminders
                        metrics.record_delivery(
                            metrics.channel_type(channel.masked_url if channel else ""),
                            error, job.due_at, delivered_at=result.finished_at)
                    if error is None:
                        delivered.add(name)
                retry_at = _next_try(result, now)
                failed = {n: e for n, e in result.errors.items() if e is not None}
                if job.notice:
                    notice_updates.append(_notice_outcome(job, result, retry_at, now))
                else:
                    for name, error in result.errors.items():
                        row = {"occurrence_id": job.row_id, "channel": name,
                               "status": "failed" if error else "sent",
                               "attempts": job.attempts.get(name, 0) + 1,
                               "error": error, "finished_at": now}
                        if name in job.attempts:  # prepare() found its row: tried before
                            changed_deliveries.append({f"new_{k}": v for k, v in row.items()})
                        else:
                            new_deliveries.append(row)
                    occurrence_updates.append(_occurrence_outcome(result, retry_at, now))
                what = "notice" if job.notice else "reminder"
                if retry_at is not None:
                    log.info("%s: %s failed, trying again at %s", job.context, ", ".join(failed),
                             retry_at.isoformat(timespec="seconds"), extra=extra)
                    outcomes.append("retry")
                    continue
                final_failures.update(failed)
                sent = job.already_sent + [n for n, e in result.errors.items() if e is None]
                status = OccurrenceStatus.SENT if sent else OccurrenceStatus.FAILED
                for name, error in failed.items():
                    log.warning("%s: %s not delivered to %s: %s", job.context, what, name, error,
                                extra=extra)
                done.append((job, (what, status.value), extra))
                outcomes.append(status.value)
            if new_deliveries:
                _insert_deliveries(session, new_deliveries, postgres=self._postgres)
            if changed_deliveries:
                session.execute(_UPDATE_DELIVERY, changed_deliveries)
            _update_occurrences(session, occurrence_updates)
            for change in notice_updates:
                session.execute(update(NOTICES).where(NOTICES.c.id == change.pop("id"))
                                .values(change))
            outages.note_results(session, settings, final_failures, delivered, now,
                                 postgres=self._postgres)
        _log_finished(done, results)
        return outcomes

    def deliver(self, occurrence_id: int) -> str:
        """Prepare, send and record one claimed occurrence (tests and small runs).

        Returns "sent", "failed", "skipped", "retry" or "lost-claim".
        """
        jobs = self.prepare([occurrence_id])
        if not jobs:
            with self.sessions() as session:
                status = session.scalar(select(Occurrence.status).where(
                    Occurrence.id == occurrence_id))
            return "skipped" if status == OccurrenceStatus.SKIPPED else "lost-claim"
        return self.record([self.send_job(jobs[0])])[0]

    def deliver_notice(self, notice_id: int) -> str:
        """Prepare, send and record one claimed notice (tests and small runs).

        Returns "sent", "failed", "retry" or "lost-claim".
        """
        jobs = self.prepare_notices([notice_id])
        return self.record([self.send_job(jobs[0])])[0] if jobs else "lost-claim"

    def prepare_notices(self, notice_ids: list[int]) -> list[SendJob]:
        """Turn claimed notices into send jobs, like `prepare` does for reminders.

        The check-in gets its one-tap link here, and the weekly summary its
        chart (attached for email, a link for push), so both are made when
        they are sent, not when they were decided.
        """
        if not notice_ids:
            return []
        settings = self.settings()
        jobs: list[SendJob] = []
        with self.sessions.begin() as session:
            notices = session.scalars(select(Notice).where(
                Notice.id.in_(notice_ids), Notice.claimed_by == self.node_id,
                Notice.status == OccurrenceStatus.SENDING)).all()
            people = {p.id: p for p in session.scalars(select(Person).where(
                Person.id.in_({n.person_id for n in notices if n.person_id})))}
            personal = self.channel_book.personal(session, set(people))
            for notice in notices:
                person = people.get(notice.person_id or "")
                channels = resolve(notice.channels, personal.get(notice.person_id or "", {}),
                                   settings.channels)
                try:
                    body, variants, link = self._notice_text(session, settings, notice, person,
                                                             channels)
                except Exception as exc:  # e.g. the chart cannot be drawn: fail alone, once
                    log.error("%s notice %d cannot be composed: %s", notice.kind, notice.id, exc)
                    notice.status = OccurrenceStatus.FAILED
                    notice.reason = f"cannot be composed: {exc}"
                    notice.finished_at, notice.claimed_by, notice.claimed_until = (
                        self.clock(), None, None)
                    continue
                previous = notice.deliveries or {}
                jobs.append(SendJob(
                    row_id=notice.id, notice=True, person_id=notice.person_id or "admin",
                    routine_key=notice.kind, title=notice.title, body=body,
                    due_at=notice.created_at, deadline=notice.deadline,
                    channels=[c for c in notice.channels
                              if previous.get(c, {}).get("status") != "sent"],
                    already_sent=[c for c, r in previous.items() if r.get("status") == "sent"],
                    attempts={c: int(r.get("attempts", 0)) for c, r in previous.items()},
                    variants=variants, results=dict(previous), link=link, kind=notice.kind,
                    locale=person.locale if person else settings.config.service.locale,
                    buttons=(self._buttons.checkin(session, settings, person.id, link,
                                                   person.locale)
                             if person is not None and notice.kind == "checkin"
                             and _shows_buttons(channels) else ()),
                    resolved_channels=channels))
        return jobs

    def _notice_text(self, session: Session, settings: Settings, notice: Notice,
                     person: Person | None, channels: dict[str, ResolvedChannel],
                     ) -> tuple[str, dict[str, tuple[str, Attachment | None]], str | None]:
        """The notice's body, per channel a different body and attachment if any, and
        the link a tap on it opens (the check-in page, or the history page)."""
        if person is None:
            return notice.body, {}, None
        if notice.kind == "checkin":
            link = self._link(settings, person.id, None)
            body = with_link(Message(notice.title, notice.body), person.locale, link).body
            return body, {}, link
        if notice.kind == "summary":
            summary = outgoing_summary(session, self.sessions, settings, notice, person)
            return notice.body, {name: summary.for_channel(sendable(channels.get(name)))
                                 for name in notice.channels}, summary.link
        return notice.body, {}, None

    def _link(self, settings: Settings, person_id: str, occurrence_id: int | None) -> str | None:
        public_url = settings.config.service.public_url
        if not public_url:
            return None
        if self._signer is None:
            self._signer = LinkSigner(link_secret(self.sessions),
                                      settings.config.service.link_lifetime)
        return checkin_url(public_url, self._signer.token(LinkTarget(person_id, occurrence_id)))


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
    # database first, then the config's (resolved in prepare). A name missing
    # here is looked up in the config.
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


def _next_try(result: SendResult, now: datetime) -> datetime | None:
    """When to try the failed channels again, or None if not (done, or out of time).

    Never by sleeping in a thread: the row goes back to pending with a later
    send_at, so a failing or hanging service holds nothing others need.
    """
    job, retry_at = result.job, None
    for name, error in result.errors.items():
        if error is None or name in result.permanent:
            continue
        attempts = job.attempts.get(name, 0) + 1
        when = now + timedelta(seconds=backoff(attempts))
        if when <= job.deadline and (retry_at is None or when < retry_at):
            retry_at = when
    return retry_at


def backoff(attempts: int) -> float:
    """Seconds to wait after the `attempts`-th failed try of a channel."""
    return BACKOFF_SECONDS[min(attempts - 1, len(BACKOFF_SECONDS) - 1)]


def _occurrence_outcome(result: SendResult, retry_at: datetime | None,
                        now: datetime) -> dict[str, Any]:
    """A reminder's (or notice's) new row values after a try."""
    job = result.job
    reasons = "; ".join(f"{n}: {e}" for n, e in result.errors.items() if e is not None)
    if retry_at is not None:  # try again later, only the channels that failed
        return {"id": job.row_id, "status": OccurrenceStatus.PENDING, "send_at": retry_at,
                "claimed_by": None, "claimed_until": None, "reason": "retrying: " + reasons}
    sent = job.already_sent or any(e is None for e in result.errors.values())
    return {"id": job.row_id, "finished_at": now, "claimed_by": None, "claimed_until": None,
            "status": OccurrenceStatus.SENT if sent else OccurrenceStatus.FAILED,
            "reason": reasons or None}


def _notice_outcome(job: SendJob, result: SendResult, retry_at: datetime | None,
                    now: datetime) -> dict[str, Any]:
    """The notice's new row values: its occurrence outcome plus the channels' results."""
    change = _occurrence_outcome(result, retry_at, now)
    deliveries = dict(job.results)
    for name, error in result.errors.items():
        deliveries[name] = {"status": "failed" if error else "sent",
                            "attempts": job.attempts.get(name, 0) + 1, "error": error,
                            "at": now.isoformat(timespec="seconds")}
    return change | {"deliveries": deliveries}


_routines, _occurrences = ROUTINES.c, OCCURRENCES.c


_deliveries = DELIVERIES.c
_UPDATE_DELIVERY = (
    update(DELIVERIES)
    .where(_deliveries.occurrence_id == bindparam("new_occurrence_id"),
           _deliveries.channel == bindparam("new_channel"))
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


def _insert_deliveries(session: Session, rows: list[dict[str, Any]], *, postgres: bool) -> None:
    if postgres:
        session.execute(_INSERT_DELIVERIES_POSTGRESQL,
                        {name: [row[name] for row in rows] for name in _DELIVERY_COLUMNS})
    else:  # SQLite runs in this process: executemany has no round trips to save
        session.execute(insert(DELIVERIES), rows)


def _update_occurrences(session: Session, changes: list[dict[str, Any]]) -> None:
    """Update occurrences by id, one statement per distinct set of new values.

    A burst's results are mostly identical ("sent", now, no reason), so this
    is usually one `UPDATE ... WHERE id IN (...)` per batch rather than a
    statement per row (a round trip each on PostgreSQL).
    """
    groups: dict[tuple[tuple[str, Any], ...], list[int]] = {}
    for change in changes:
        values = tuple(sorted((k, v) for k, v in change.items() if k != "id"))
        groups.setdefault(values, []).append(change["id"])
    for values, ids in groups.items():
        session.execute(update(OCCURRENCES).where(_occurrences.id.in_(ids))
                        .values(dict(values)))


def _advance_routines(session: Session, following: list[tuple[int, datetime | None]]) -> None:
    """Set routines' next due times, one statement per distinct time (as above)."""
    groups: dict[datetime | None, list[int]] = {}
    for routine_id, when in following:
        groups.setdefault(when, []).append(routine_id)
    for when, ids in groups.items():
        session.execute(update(ROUTINES).where(_routines.id.in_(ids))
                        .values(next_due_at=when))


# What the occurrence rule's verdict is recorded as.
_STATUS_OF_VERDICT = {Verdict.SEND: OccurrenceStatus.PENDING,
                      Verdict.MISSED: OccurrenceStatus.MISSED,
                      Verdict.SKIPPED: OccurrenceStatus.SKIPPED}


def _occurrence_rows(routine_id: int, planned: list[PlannedOccurrence],
                     now: datetime) -> list[dict[str, object]]:
    """The occurrence rows to write for what the rule decided: pending, or final."""
    return [{"routine_id": routine_id, "due_at": occurrence.due,
             "send_at": occurrence.send_at, "deadline": occurrence.deadline,
             "status": _STATUS_OF_VERDICT[occurrence.verdict], "reason": occurrence.reason,
             "outcome_unknown": False, "created_at": now,
             "finished_at": None if occurrence.verdict is Verdict.SEND else now}
            for occurrence in planned]


# A finished send, for the log: the job, (what, status), the log line's extra fields.
Finished = tuple["SendJob", tuple[str, str], dict[str, str]]
# A batch with more finished sends than this gets one INFO line, and one DEBUG
# line per send: a line per reminder was a seventh of a burst's CPU.
LOG_EACH_UP_TO = 5


def _log_finished(done: list[Finished], results: list[SendResult]) -> None:
    """One line per finished reminder or notice ("anna/bridge: reminder sent (mail ok)"),
    or for a burst one line for the batch ("510 reminders sent, 2 reminders failed")
    and the rest at DEBUG."""
    level = logging.INFO if len(done) <= LOG_EACH_UP_TO else logging.DEBUG
    if log.isEnabledFor(level):
        errors = {id(result.job): result.errors for result in results}
        for job, (what, status), extra in done:
            channels = [f"{n} ok (earlier)" for n in job.already_sent] + [
                f"{n} {'ok' if e is None else 'failed'}"
                for n, e in errors[id(job)].items()]
            log.log(level, "%s: %s %s (%s)", job.context, what, status, ", ".join(channels),
                    extra=extra)
    if len(done) > LOG_EACH_UP_TO:
        counts: dict[tuple[str, str], int] = {}
        for _, outcome, _ in done:
            counts[outcome] = counts.get(outcome, 0) + 1
        log.info("%s", ", ".join(f"{n} {what}{'' if n == 1 else 's'} {status}"
                                 for (what, status), n in sorted(counts.items())))


def _shows_buttons(channels: dict[str, ResolvedChannel]) -> bool:
    """True if one of the channels shows action buttons (ntfy)."""
    return any(isinstance(channel, Channel) and is_ntfy(channel.url)
               for channel in channels.values())
