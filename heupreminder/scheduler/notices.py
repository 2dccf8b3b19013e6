"""Claimed notices become send jobs, on the same road as reminders.

A notice's text is finished when it is sent, not when it was decided: the
check-in gets its one-tap link (and for ntfy its pain-level buttons), and the
weekly summary its chart (attached for email, a link for push). A notice that
cannot be composed fails alone, once.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from heupreminder.config.loader import Settings
from heupreminder.db.models import DeliveryStatus, Notice, OccurrenceStatus, Person
from heupreminder.delivery.channel_book import ChannelBook, ResolvedChannel, resolve, sendable
from heupreminder.delivery.messages import Message, with_link
from heupreminder.delivery.sender import Attachment
from heupreminder.scheduler.results import SendJob
from heupreminder.scheduler.send_jobs import MessageLinks

log = logging.getLogger(__name__)

# Per channel, a body and an attachment that differ from the notice's own.
Variants = dict[str, tuple[str, Attachment | None]]


def prepare_notices(sessions: sessionmaker[Session], settings: Settings, now: datetime,
                    notice_ids: list[int], *, node_id: str, channel_book: ChannelBook,
                    links: MessageLinks) -> list[SendJob]:
    """Turn claimed notices into send jobs, like `prepare_reminders` for reminders."""
    if not notice_ids:
        return []
    jobs: list[SendJob] = []
    with sessions.begin() as session:
        notices = session.scalars(select(Notice).where(
            Notice.id.in_(notice_ids), Notice.claimed_by == node_id,
            Notice.status == OccurrenceStatus.SENDING)).all()
        people = {p.id: p for p in session.scalars(select(Person).where(
            Person.id.in_({n.person_id for n in notices if n.person_id})))}
        personal = channel_book.personal(session, set(people))
        for notice in notices:
            person = people.get(notice.person_id or "")
            channels = resolve(notice.channels, personal.get(notice.person_id or "", {}),
                               settings.channels)
            try:
                body, variants, link = notice_text(session, sessions, settings, links, notice,
                                                   person, channels)
            except Exception as exc:  # e.g. the chart cannot be drawn: fail alone, once
                _fail(notice, exc, now)
                continue
            jobs.append(_notice_job(session, settings, links, notice, person, channels,
                                    body, variants, link))
    return jobs


def _fail(notice: Notice, error: Exception, now: datetime) -> None:
    log.error("%s notice %d cannot be composed: %s", notice.kind, notice.id, error)
    notice.status = OccurrenceStatus.FAILED
    notice.reason = f"cannot be composed: {error}"
    notice.finished_at, notice.claimed_by, notice.claimed_until = now, None, None


def _notice_job(session: Session, settings: Settings, links: MessageLinks, notice: Notice,
                person: Person | None, channels: dict[str, ResolvedChannel], body: str,
                variants: Variants, link: str | None) -> SendJob:
    """One notice's send job, for only the channels that do not have it yet."""
    previous = notice.deliveries or {}
    buttons = (links.checkin_buttons(session, settings, person.id, link, person.locale,
                                     channels)
               if person is not None and notice.kind == "checkin" else ())
    return SendJob(
        row_id=notice.id, notice=True, person_id=notice.person_id or "admin",
        routine_key=notice.kind, title=notice.title, body=body,
        due_at=notice.created_at, deadline=notice.deadline,
        channels=[c for c in notice.channels
                  if previous.get(c, {}).get("status") != DeliveryStatus.SENT],
        already_sent=[c for c, r in previous.items() if r.get("status") == DeliveryStatus.SENT],
        attempts={c: int(r.get("attempts", 0)) for c, r in previous.items()},
        variants=variants, results=dict(previous), link=link, kind=notice.kind,
        locale=person.locale if person else settings.config.service.locale,
        buttons=buttons, resolved_channels=channels)


def notice_text(session: Session, sessions: sessionmaker[Session], settings: Settings,
                links: MessageLinks, notice: Notice, person: Person | None,
                channels: dict[str, ResolvedChannel]) -> tuple[str, Variants, str | None]:
    """The notice's body, per channel a different body and attachment if any, and
    the link a tap on it opens (the check-in page, or the history page)."""
    if person is None:
        return notice.body, {}, None
    if notice.kind == "checkin":
        link = links.checkin_link(settings, person.id, None)
        body = with_link(Message(notice.title, notice.body), person.locale, link).body
        return body, {}, link
    if notice.kind == "summary":
        from heupreminder.reports.weekly import outgoing_summary  # loaded after "ready"

        summary = outgoing_summary(session, sessions, settings, notice, person)
        return notice.body, {name: summary.for_channel(sendable(channels.get(name)))
                             for name in notice.channels}, summary.link
    return notice.body, {}, None
