"""Claimed reminders become send jobs, and a send job is tried on its channels.

`prepare_reminders` reads a whole claimed batch in a few queries and composes
each message (skipping what a pause covers); `send_job` and
`http_requests_for` then need no database, so they run in the pool or the
sending process. The links and buttons a message carries are made by
`MessageLinks`, for reminders here and for notices in `notices.py`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Row, select
from sqlalchemy.orm import Session, sessionmaker

from heupreminder.config.loader import Channel, Settings
from heupreminder.db.models import (
    Delivery,
    DeliveryStatus,
    Occurrence,
    OccurrenceStatus,
    PauseRow,
    Person,
    Routine,
    RoutineText,
)
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
from heupreminder.delivery.sender import TransportError, http_request, send
from heupreminder.links.actions import ButtonMaker
from heupreminder.links.signing import LinkSigner, LinkTarget, checkin_url, link_secret
from heupreminder.ops import metrics
from heupreminder.pain.pauses import active_pauses_by_person, covering
from heupreminder.scheduler.recording import advance_routines, update_occurrences
from heupreminder.scheduler.results import SendJob, SendOutcome, SendResult

log = logging.getLogger(__name__)

# A result row of a query that names its columns; read by attribute.
ReadRow = Row[*tuple[Any, ...]]

# Per channel that a reminder went to before: (its status, how many tries).
EarlierTries = dict[str, tuple[str, int]]


class MessageLinks:
    """The signed links and buttons a message carries: the one-tap check-in link,
    and for ntfy, the one channel that shows them, a reminder's Done/Skip/Pain or
    the check-in's pain levels. The signing key is read once, when first needed."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._signer: LinkSigner | None = None
        self._buttons = ButtonMaker(sessions)

    def checkin_link(self, settings: Settings, person_id: str,
                     occurrence_id: int | None) -> str | None:
        """The check-in page's signed link (for one reminder, or none), or None
        without a `public_url`."""
        public_url = settings.config.service.public_url
        if not public_url:
            return None
        if self._signer is None:
            self._signer = LinkSigner(link_secret(self._sessions),
                                      settings.config.service.link_lifetime)
        return checkin_url(public_url, self._signer.token(LinkTarget(person_id, occurrence_id)))

    def reminder_buttons(self, settings: Settings, person_id: str, occurrence_id: int,
                         link: str | None, locale: str | None,
                         channels: dict[str, ResolvedChannel]) -> tuple[Button, ...]:
        if not shows_buttons(channels):  # signed only for a channel that shows them
            return ()
        return self._buttons.reminder(settings, person_id, occurrence_id, link, locale)

    def checkin_buttons(self, session: Session, settings: Settings, person_id: str,
                        link: str | None, locale: str | None,
                        channels: dict[str, ResolvedChannel]) -> tuple[Button, ...]:
        if not shows_buttons(channels):
            return ()
        return self._buttons.checkin(session, settings, person_id, link, locale)


def shows_buttons(channels: dict[str, ResolvedChannel]) -> bool:
    """True if one of the channels shows action buttons (ntfy)."""
    return any(isinstance(channel, Channel) and is_ntfy(channel.url)
               for channel in channels.values())


def prepare_reminders(sessions: sessionmaker[Session], settings: Settings, now: datetime,
                      occurrence_ids: list[int], *, node_id: str, channel_book: ChannelBook,
                      links: MessageLinks) -> list[SendJob]:
    """Turn claimed occurrences into send jobs; paused ones are recorded as skipped,
    and one that cannot be composed fails alone (its routine is set aside)."""
    if not occurrence_ids:
        return []
    with sessions.begin() as session:
        rows = _claimed_reminders(session, occurrence_ids, node_id)
        tried = _earlier_tries(session, occurrence_ids)
        people = {row.person_id for row in rows}
        pauses = active_pauses_by_person(session, people, now)
        personal = channel_book.personal(session, people)
        jobs: list[SendJob] = []
        finished: list[dict[str, Any]] = []  # skipped by a pause, or set aside
        for row in rows:
            pause = covering(pauses.get(row.person_id, []), cast(RoutineText, row))
            if pause is not None:
                finished.append(_skipped_by(pause, row, now))
                continue
            try:
                message, link = _reminder_message(row, settings, links)
            except (LookupError, ValueError) as exc:
                finished.append(_set_aside(session, row, exc, now))
                continue
            jobs.append(_reminder_job(row, settings, message, link,
                                      tried.get(row.occurrence_id, {}),
                                      personal.get(row.person_id, {}), links))
        if finished:
            update_occurrences(session, finished)
    for change in finished:
        if change["status"] == OccurrenceStatus.SKIPPED:
            metrics.record_outcome(SendOutcome.SKIPPED)
    return jobs


def _claimed_reminders(session: Session, occurrence_ids: list[int],
                       node_id: str) -> Sequence[ReadRow]:
    """The claimed occurrences still ours, with their routine and person, as plain
    rows, not ORM objects: this runs for every reminder of a burst."""
    return session.execute(
        select(Occurrence.id.label("occurrence_id"), Occurrence.due_at,
               Occurrence.deadline, Routine.id.label("routine_id"), Routine.key,
               Routine.kind, Routine.exercise, Routine.side, Routine.title,
               Routine.text, Person.id.label("person_id"), Person.locale,
               Person.timezone, Person.channels)
        .join(Routine, Routine.id == Occurrence.routine_id)
        .join(Person, Person.id == Routine.person_id)
        .where(Occurrence.id.in_(occurrence_ids),
               Occurrence.claimed_by == node_id,
               Occurrence.status == OccurrenceStatus.SENDING)).all()


def _earlier_tries(session: Session, occurrence_ids: list[int]) -> dict[int, EarlierTries]:
    """Per occurrence, the channels tried before (a retry, or a send a crash cut off)."""
    tried: dict[int, EarlierTries] = {}
    for delivery in session.execute(
            select(Delivery.occurrence_id, Delivery.channel, Delivery.status,
                   Delivery.attempts)
            .where(Delivery.occurrence_id.in_(occurrence_ids))):
        tried.setdefault(delivery.occurrence_id, {})[delivery.channel] = (
            delivery.status, delivery.attempts)
    return tried


def _skipped_by(pause: PauseRow, row: ReadRow, now: datetime) -> dict[str, Any]:
    """Resting: recorded as skipped, naming the pause and its reason; never sent."""
    log.info("%s/%s: reminder skipped, paused: %s", row.person_id, row.key, pause.reason,
             extra={"person": row.person_id, "routine": row.key})
    return {"id": row.occurrence_id, "status": OccurrenceStatus.SKIPPED,
            "reason": f"paused: {pause.reason}", "pause_id": pause.id,
            "finished_at": now, "claimed_by": None, "claimed_until": None}


def _set_aside(session: Session, row: ReadRow, error: Exception,
               now: datetime) -> dict[str, Any]:
    """Quarantine: a malformed row (unknown exercise, empty text, bad time zone)
    fails alone and once, never the whole batch, and its routine leaves the
    schedule until it is fixed."""
    log.error("routine %s/%s cannot be composed and is set aside: %s",
              row.person_id, row.key, error, extra={"person": row.person_id, "routine": row.key})
    advance_routines(session, [(row.routine_id, None)])
    return {"id": row.occurrence_id, "status": OccurrenceStatus.FAILED,
            "reason": f"cannot be composed: {error}", "finished_at": now,
            "claimed_by": None, "claimed_until": None}


def _reminder_message(row: ReadRow, settings: Settings,
                      links: MessageLinks) -> tuple[Message, str | None]:
    """The reminder in the person's language for its local day, with the check-in
    link it carries (LookupError or ValueError if the row is malformed)."""
    local_date = row.due_at.astimezone(ZoneInfo(row.timezone)).date()
    link = links.checkin_link(settings, row.person_id, row.occurrence_id)
    message = with_link(compose(cast(RoutineText, row), row.locale, local_date), row.locale,
                        link)
    return message, link


def _reminder_job(row: ReadRow, settings: Settings, message: Message, link: str | None,
                  previous: EarlierTries, personal: dict[str, ResolvedChannel],
                  links: MessageLinks) -> SendJob:
    """One reminder's send job, for only the channels that do not have it yet."""
    channels = resolve(row.channels, personal, settings.channels)
    return SendJob(
        row_id=row.occurrence_id, person_id=row.person_id,
        routine_key=row.key, title=message.title, body=message.body,
        due_at=row.due_at, deadline=row.deadline,
        channels=[c for c in row.channels
                  if previous.get(c, ("", 0))[0] != DeliveryStatus.SENT],
        already_sent=[c for c, (status, _) in previous.items()
                      if status == DeliveryStatus.SENT],
        attempts={c: n for c, (_, n) in previous.items()},
        link=link, kind=row.kind, locale=row.locale,
        buttons=links.reminder_buttons(settings, row.person_id, row.occurrence_id, link,
                                       row.locale, channels),
        resolved_channels=channels)


def send_job(job: SendJob, settings: Settings) -> SendResult:
    """One attempt on each channel still to do. No database work: runs in the pool."""
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


def http_requests_for(job: SendJob, settings: Settings) -> dict[str, HttpRequest] | None:
    """The request Apprise builds for each channel of `job` (sent over kept-open
    connections), or None if one channel needs Apprise itself (or the job says
    something different per channel, like the weekly summary)."""
    if job.variants:
        return None
    requests = {}
    for name in job.channels:
        channel = sendable(job.resolved_channels.get(name) or settings.channels.get(name))
        request = (http_request(channel.url, job.title, job.body, link=job.link,
                                kind=job.kind, buttons=job.buttons)
                   if channel is not None else None)
        if request is None:
            return None
        requests[name] = request
    return requests
