"""Units of work that turn due routines into delivered reminders.

Each unit is small, takes `now`, and talks to the database in one short
transaction; the service loop (`service.py`) only calls them in order.

Delivery semantics: at-least-once per channel, with a narrow window. A
reminder is claimed with a lease (`status='sending'`, `claimed_until`); each
channel's result is committed as soon as it is known. If a process dies
mid-send, the lease expires, the occurrence goes back to pending with
`outcome_unknown` set, and only channels without a recorded result are tried
again. So a duplicate is possible only for a send that was in flight at the
crash, and that row says so. We prefer that to at-most-once: a lost
reminder is invisible to the person, a rare duplicate is not harmful.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from heupreminder.config.loader import Settings
from heupreminder.db.engine import changed_rows
from heupreminder.db.models import (
    Delivery,
    Notice,
    Occurrence,
    OccurrenceStatus,
    Person,
    Routine,
    utcnow,
)
from heupreminder.delivery.messages import Message, compose, with_link
from heupreminder.delivery.sender import TransportError, send
from heupreminder.ops import metrics
from heupreminder.pain.records import pause_covering
from heupreminder.schedule import Schedule, next_due
from heupreminder.web.links import LinkSigner, LinkTarget, checkin_url, link_secret

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
BATCH = 500
# Waits between tries of one channel; the occurrence's deadline cuts it short.
BACKOFF_SECONDS = (2.0, 5.0, 15.0, 30.0, 60.0)
# After very long downtime, stop recording every missed occurrence one by one.
MAX_MISSED_ROWS = 100
# A rest or resume notice is still worth sending this long after it was decided.
NOTICE_DEADLINE = timedelta(hours=12)


class Dispatcher:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Callable[[], Settings],
        node_id: str,
        stopping: threading.Event | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.node_id = node_id
        self.stopping = stopping or threading.Event()
        self.clock = clock  # tests drive time; the service uses the real clock
        self._postgres = sessions.kw["bind"].dialect.name == "postgresql"
        self._signer: LinkSigner | None = None
        # Told when every channel of a person failed (the service tells the admin).
        self.on_all_channels_failed: Callable[[str, dict[str, str]], None] = (
            lambda _context, _errors: None)

    # -- unit 1: routines -> occurrence rows --------------------------------

    def schedule_due(self, now: datetime) -> bool:
        """Create occurrence rows for one batch of due routines and advance them.

        Returns True if the batch was full, so there may be more due.
        """
        catch_up = self.settings().config.service.catch_up
        with self.sessions.begin() as session:
            query = (
                select(Routine.id, Routine.key, Routine.person_id, Routine.schedule,
                       Routine.next_due_at, Person.timezone, Person.quiet_hours)
                .join(Person, Person.id == Routine.person_id)
                .where(Routine.next_due_at <= now)
                .order_by(Routine.next_due_at)
                .limit(BATCH)
            )
            if self._postgres:
                query = query.with_for_update(skip_locked=True, of=Routine)
            rows = session.execute(query).all()
            for row in rows:
                try:
                    schedule = Schedule.from_text(row.schedule)
                    zone = ZoneInfo(row.timezone)
                except (ValueError, KeyError) as exc:
                    # Quarantine: a bad row must not crash-loop the service.
                    log.error("routine %s/%s cannot be scheduled and is set aside: %s",
                              row.person_id, row.key, exc)
                    session.execute(update(Routine).where(Routine.id == row.id)
                                    .values(next_due_at=None))
                    continue
                self._advance(session, row.id, row.next_due_at, schedule, zone,
                              row.quiet_hours, catch_up, now)
        return len(rows) == BATCH

    def _advance(
        self, session: Session, routine_id: int, original_due: datetime, schedule: Schedule,
        zone: ZoneInfo, quiet_hours: str | None, catch_up: timedelta, now: datetime,
    ) -> None:
        due, missed = original_due, []
        following = next_due(schedule, zone, due)
        while following <= now:
            # Downtime: every occurrence but the newest is too old to send.
            missed.append(due)
            due, following = following, next_due(schedule, zone, following)
        changed = changed_rows(session.execute(
            update(Routine)
            .where(Routine.id == routine_id, Routine.next_due_at == original_due)
            .values(next_due_at=following)
        ))
        if changed != 1:
            return  # another node advanced it first (compare-and-set)

        rows = [_final(routine_id, d, OccurrenceStatus.MISSED,
                       "not sent: the service was not running at the time", now)
                for d in missed[-MAX_MISSED_ROWS:]]
        send_at = after_quiet_hours(due, zone, quiet_hours)
        if now - due > catch_up:
            rows.append(_final(routine_id, due, OccurrenceStatus.MISSED,
                               f"not sent: found {_minutes(now - due)} late, "
                               f"beyond catch_up ({_minutes(catch_up)})", now))
        elif send_at >= following:
            rows.append(_final(routine_id, due, OccurrenceStatus.SKIPPED,
                               "quiet hours last until the next reminder", now))
        else:
            rows.append(Occurrence(routine_id=routine_id, due_at=due, send_at=send_at,
                                   deadline=max(due, send_at) + catch_up,
                                   status=OccurrenceStatus.PENDING,
                                   reason="held until quiet hours end" if send_at > due else None))
        existing = set(session.scalars(
            select(Occurrence.due_at).where(Occurrence.routine_id == routine_id,
                                            Occurrence.due_at >= rows[0].due_at)))
        new_rows = [r for r in rows if r.due_at not in existing]
        session.add_all(new_rows)
        for row in new_rows:
            if row.status != OccurrenceStatus.PENDING:
                metrics.record_outcome(str(row.status))

    # -- unit 2: expire and claim --------------------------------------------

    def recover_expired_claims(self, now: datetime, *, all_claims: bool = False) -> int:
        """Put sends whose lease ran out (a dead node) back in the queue.

        `all_claims` is for start-up on SQLite, where only one process runs,
        so every open claim belongs to a process that is gone.
        """
        condition = Occurrence.status == OccurrenceStatus.SENDING
        if not all_claims:
            condition = condition & (Occurrence.claimed_until < now)
        with self.sessions.begin() as session:
            count = changed_rows(session.execute(
                update(Occurrence).where(condition).values(
                    status=OccurrenceStatus.PENDING, claimed_by=None, claimed_until=None,
                    outcome_unknown=True)
            ))
        if count:
            log.warning("%d reminder(s) were being sent when a process stopped; "
                        "resending to channels without a recorded result", count)
        return int(count)

    def claim(self, now: datetime, limit: int) -> list[int]:
        """Atomically take up to `limit` pending occurrences that are due to send."""
        if limit <= 0:
            return []
        with self.sessions.begin() as session:
            session.execute(
                update(Occurrence)
                .where(Occurrence.status == OccurrenceStatus.PENDING, Occurrence.deadline < now)
                .values(status=OccurrenceStatus.MISSED, finished_at=now,
                        reason="not sent before its deadline (catch_up)")
            )
            candidates = (
                select(Occurrence.id)
                .where(Occurrence.status == OccurrenceStatus.PENDING, Occurrence.send_at <= now)
                .order_by(Occurrence.send_at)
                .limit(limit)
            )
            if self._postgres:
                candidates = candidates.with_for_update(skip_locked=True)
            # One UPDATE ... WHERE status = 'pending': if two nodes race for the
            # same row, the database lets exactly one of them change it.
            claimed = session.scalars(
                update(Occurrence)
                .where(Occurrence.id.in_(candidates.scalar_subquery()),
                       Occurrence.status == OccurrenceStatus.PENDING)
                .values(status=OccurrenceStatus.SENDING, claimed_by=self.node_id,
                        claimed_until=now + LEASE)
                .returning(Occurrence.id)
            ).all()
        return list(claimed)

    def next_wake(self) -> datetime | None:
        """The earliest time anything becomes due (routine or held reminder)."""
        with self.sessions() as session:
            routine_due = session.scalar(select(func.min(Routine.next_due_at)))
            held = session.scalar(
                select(func.min(Occurrence.send_at)).where(
                    Occurrence.status == OccurrenceStatus.PENDING))
        times = [t for t in (routine_due, held) if t is not None]
        return min(times) if times else None

    # -- unit 3: deliver one claimed occurrence --------------------------------

    def deliver(self, occurrence_id: int) -> str:
        """Send a claimed occurrence to each of the person's channels; return its status."""
        settings = self.settings()
        with self.sessions() as session:
            occurrence = session.get(Occurrence, occurrence_id)
            if occurrence is None or occurrence.claimed_by != self.node_id:
                return "lost-claim"
            routine, person = occurrence.routine, occurrence.routine.person
            context = f"{person.id}/{routine.key}"
            extra = {"person": person.id, "routine": routine.key}  # JSON log fields
            pause = pause_covering(session, routine, self.clock())
            if pause is not None:
                # Resting: recorded as skipped with the reason, never sent.
                self._finish(occurrence_id, OccurrenceStatus.SKIPPED, f"paused: {pause.reason}")
                metrics.record_outcome("skipped")
                log.info("%s: reminder skipped, paused: %s", context, pause.reason,
                         extra=extra)
                return OccurrenceStatus.SKIPPED.value
            done = {d.channel for d in occurrence.deliveries if d.status == "sent"}
            local_date = occurrence.due_at.astimezone(ZoneInfo(person.timezone)).date()
            message = with_link(compose(routine, person.locale, local_date), person.locale,
                                self._link(settings, person.id, occurrence_id))
            deadline, channels = occurrence.deadline, list(person.channels)
            due_at = occurrence.due_at

        results: dict[str, str | None] = {name: None for name in done}
        for name in channels:
            if name in done:
                continue
            attempts, error = self.send_with_retries(
                settings, name, message.title, message.body, deadline, context,
                on_attempt=lambda: self._renew_lease(occurrence_id))
            self._record_delivery(occurrence_id, name, attempts, error)
            channel = settings.channels.get(name)
            metrics.record_delivery(metrics.channel_type(channel.masked_url if channel else ""),
                                    error, due_at)
            results[name] = error

        sent = [n for n, e in results.items() if e is None]
        failed = {n: e for n, e in results.items() if e is not None}
        status = OccurrenceStatus.SENT if sent else OccurrenceStatus.FAILED
        if failed and self.stopping.is_set() and self.clock() < deadline:
            # Shutting down mid-retry: the next start tries the failed channels
            # again (not the ones that succeeded) while the deadline allows.
            self._release(occurrence_id)
            return "released"
        self._finish(occurrence_id, status,
                     "; ".join(f"{n}: {e}" for n, e in failed.items()) or None)
        if status == OccurrenceStatus.FAILED:
            self.on_all_channels_failed(context, failed)
        log.info("%s: reminder %s (%s)", context, status.value,
                 ", ".join(f"{n} {'ok' if e is None else 'failed'}" for n, e in results.items()),
                 extra=extra)
        return status.value

    def send_with_retries(
        self, settings: Settings, name: str, title: str, body: str, deadline: datetime,
        context: str, on_attempt: Callable[[], None] | None = None,
    ) -> tuple[int, str | None]:
        """Try one channel with backoff until it works, fails for good, or the deadline."""
        channel = settings.channels.get(name)
        attempts = 0
        while True:
            attempts += 1
            if on_attempt is not None:
                on_attempt()
            try:
                if channel is None:
                    raise TransportError(f"channel {name!r} is not configured", permanent=True)
                send(channel, title, body)
                return attempts, None
            except TransportError as exc:
                wait = BACKOFF_SECONDS[min(attempts - 1, len(BACKOFF_SECONDS) - 1)]
                if exc.permanent or self.clock() + timedelta(seconds=wait) > deadline:
                    log.warning("%s: not delivered to %s: %s", context, name, exc.message)
                    return attempts, exc.message
                log.info("%s: %s failed (%s), trying again in %.0f s",
                         context, name, exc.message, wait)
                if self.stopping.wait(wait):
                    return attempts, exc.message

    def _link(self, settings: Settings, person_id: str, occurrence_id: int | None) -> str | None:
        public_url = settings.config.service.public_url
        if not public_url:
            return None
        if self._signer is None:
            self._signer = LinkSigner(link_secret(self.sessions),
                                      settings.config.service.link_lifetime)
        return checkin_url(public_url, self._signer.token(LinkTarget(person_id, occurrence_id)))

    def _finish(self, occurrence_id: int, status: OccurrenceStatus, reason: str | None) -> None:
        with self.sessions.begin() as session:
            session.execute(
                update(Occurrence).where(Occurrence.id == occurrence_id).values(
                    status=status, reason=reason, finished_at=self.clock(),
                    claimed_by=None, claimed_until=None))

    # -- unit 4: notices (rest, resume, check-in, caregiver) --------------------

    def claim_notices(self, limit: int) -> list[int]:
        """Atomically take up to `limit` pending notices (compare-and-set, like claim)."""
        if limit <= 0:
            return []
        with self.sessions.begin() as session:
            candidates = (select(Notice.id).where(Notice.status == "pending")
                          .order_by(Notice.id).limit(limit))
            return list(session.scalars(
                update(Notice)
                .where(Notice.id.in_(candidates.scalar_subquery()), Notice.status == "pending")
                .values(status="sending")
                .returning(Notice.id)).all())

    def deliver_notice(self, notice_id: int) -> str:
        settings = self.settings()
        with self.sessions() as session:
            notice = session.get(Notice, notice_id)
            if notice is None:
                return "gone"
            title, body, channels = notice.title, notice.body, list(notice.channels)
            context = f"{notice.person_id}/{notice.kind}"
            person = session.get(Person, notice.person_id)
            if notice.kind == "checkin" and person is not None:
                body = with_link(Message(title, body), person.locale,
                                 self._link(settings, person.id, None)).body
            deadline = notice.created_at + NOTICE_DEADLINE
        errors = {}
        for name in channels:
            _, error = self.send_with_retries(settings, name, title, body, deadline, context)
            if error:
                errors[name] = error
        status = "failed" if errors and len(errors) == len(channels) else "sent"
        with self.sessions.begin() as session:
            session.execute(update(Notice).where(Notice.id == notice_id).values(
                status=status, sent_at=self.clock(),
                error="; ".join(f"{n}: {e}" for n, e in errors.items()) or None))
        log.info("%s: notice %s", context, status)
        return status

    def _renew_lease(self, occurrence_id: int) -> None:
        with self.sessions.begin() as session:
            session.execute(
                update(Occurrence)
                .where(Occurrence.id == occurrence_id, Occurrence.claimed_by == self.node_id)
                .values(claimed_until=self.clock() + LEASE))

    def _release(self, occurrence_id: int) -> None:
        with self.sessions.begin() as session:
            session.execute(
                update(Occurrence).where(Occurrence.id == occurrence_id).values(
                    status=OccurrenceStatus.PENDING, claimed_by=None, claimed_until=None))

    def _record_delivery(self, occurrence_id: int, channel: str, attempts: int,
                         error: str | None) -> None:
        # Committed per channel right away: a crash later must not re-send here.
        with self.sessions.begin() as session:
            row = session.scalar(select(Delivery).where(
                Delivery.occurrence_id == occurrence_id, Delivery.channel == channel))
            if row is None:
                row = Delivery(occurrence_id=occurrence_id, channel=channel, attempts=0)
                session.add(row)
            row.status = "failed" if error else "sent"
            row.attempts += attempts
            row.error = error
            row.finished_at = self.clock()


def _final(routine_id: int, due: datetime, status: OccurrenceStatus, reason: str,
           now: datetime) -> Occurrence:
    return Occurrence(routine_id=routine_id, due_at=due, send_at=due, deadline=due,
                      status=status, reason=reason, finished_at=now)


def _minutes(delta: timedelta) -> str:
    return f"{int(delta.total_seconds() // 60)} min"


def parse_quiet_hours(text: str) -> tuple[time, time]:
    start, end = text.split("-")
    return time.fromisoformat(start), time.fromisoformat(end)


def after_quiet_hours(due: datetime, zone: ZoneInfo, quiet_hours: str | None) -> datetime:
    """When a reminder due at `due` may go out: `due`, or the end of quiet hours.

    Quiet hours may span midnight (22:00-07:00). The end is a wall-clock time
    resolved on the right local date.
    """
    if not quiet_hours:
        return due
    start, end = parse_quiet_hours(quiet_hours)
    local = due.astimezone(zone)
    now_t = local.time().replace(tzinfo=None)
    spans_midnight = start > end
    inside = (start <= now_t or now_t < end) if spans_midnight else (start <= now_t < end)
    if not inside:
        return due
    end_date = local.date()
    if spans_midnight and now_t >= start:
        end_date += timedelta(days=1)
    end_local = datetime.combine(end_date, end, tzinfo=zone)
    # Never earlier than due, even on a DST night.
    return max(due, end_local.astimezone(due.tzinfo))

