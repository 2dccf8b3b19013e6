"""The weekly summary through the notices outbox.

Contracts:

- ``queue_summaries(session, settings, now)`` runs from the service's
  housekeeping (about once a minute). For every person whose summary is not
  ``"off"`` (their own ``summary``, else ``[service] summary``; with
  ``manage_people = "database"`` every active person in the database gets
  ``[service] summary``), once the week's summary moment has passed and
  for ``GRACE`` after it, it queues one notice of kind ``summary`` with the
  dedupe key ``summary-<ISO week>`` (so at most one per person and week, also
  with several nodes: the outbox's unique key refuses a second). A week with
  nothing to tell (no reminders, no pain, no pause) sends nothing: its notice
  is stored with status ``skipped``, so it is not looked at again. After
  downtime longer than ``GRACE`` that week's summary is skipped, not sent
  days late. At most ``MAX_PER_RUN`` are queued per call; the rest follow a
  minute later. The caller commits; returns how many were queued.
- ``outgoing_summary(...)`` prepares a queued summary for sending: email
  channels (``mailto://``, ``mailtos://``) get the whole text and the chart as
  a PNG attachment; other channels get the short text and, when the service
  has a ``public_url``, a link to the history page with the same chart. The
  chart is drawn at send time from the 4 weeks ending on the notice's date.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from heupreminder.config.loader import Channel, Settings
from heupreminder.db.models import Notice, OccurrenceStatus, Person
from heupreminder.delivery.outbox import new_notice
from heupreminder.delivery.sender import Attachment
from heupreminder.links.history import history_url
from heupreminder.reports.chart import chart_data, render_chart
from heupreminder.reports.summary import weekly_summary
from heupreminder.reports.summary_words import chart_line, link_line, short_text, summary_message
from heupreminder.timetable.summary_at import last_moment, week_key

GRACE = timedelta(hours=12)
MAX_PER_RUN = 200
KIND = "summary"
EMAIL_SCHEMES = ("mailto", "mailtos")
_CHUNK = 500


def dedupe_key(week: str) -> str:
    return f"summary-{week}"


def queue_summaries(session: Session, settings: Settings, now: datetime) -> int:
    if settings.config.service.manage_people == "database":
        due = _due_in_database(session, settings, now)
        done: set[tuple[str, str]] = set()  # already left out by the query
    else:
        due = _due_in_config(settings, now)
        done = _already_queued(session, due) if due else set()
    queued = handled = 0
    for person_id, (moment, key) in due.items():
        if (person_id, key) in done or handled >= MAX_PER_RUN:
            continue
        row = session.get(Person, person_id)
        if row is None or not row.active:
            continue
        handled += 1
        zone = _zone_or_none(row.timezone)
        if zone is None:
            continue
        summary = weekly_summary(session, row, moment)
        title, body = summary_message(row.locale, row.name, summary, zone)
        # As delivery.outbox.queue_notice does (the dedupe check is done above, for
        # everyone at once), but dated `now`: the chart ends on the summary's day.
        session.add(new_notice(
            row.id, KIND, key, title, body, channels=list(row.channels), now=now,
            status=OccurrenceStatus.SKIPPED if summary.empty else OccurrenceStatus.PENDING,
            reason="nothing to tell this week" if summary.empty else None))
        if not summary.empty:
            queued += 1
    return queued


def _zone_or_none(name: str) -> ZoneInfo | None:
    """One person's broken time zone must not stop everyone's summary."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _due_in_config(settings: Settings, now: datetime) -> dict[str, tuple[datetime, str]]:
    """The configured people whose summary is due: person id -> (moment, dedupe key)."""
    config = settings.config
    due: dict[str, tuple[datetime, str]] = {}
    for person in config.people:
        at = config.person_summary(person)
        if at is None:
            continue
        zone = ZoneInfo(config.person_timezone(person))
        moment = last_moment(at, zone, now)
        if now - moment < GRACE:
            due[person.id] = (moment, dedupe_key(week_key(moment, zone)))
    return due


def _due_in_database(session: Session, settings: Settings,
                     now: datetime) -> dict[str, tuple[datetime, str]]:
    """People managed in the database, due by ``[service] summary``: per time zone
    one query for at most ``MAX_PER_RUN`` people without this week's summary."""
    at = settings.config.service.summary
    if at is None:
        return {}
    due: dict[str, tuple[datetime, str]] = {}
    zones = session.scalars(select(Person.timezone).where(Person.active).distinct()).all()
    for name in sorted(zones):
        zone = _zone_or_none(name)
        if zone is None:
            continue  # a bad row; the dispatcher reports it
        moment = last_moment(at, zone, now)
        if now - moment >= GRACE:
            continue
        key = dedupe_key(week_key(moment, zone))
        sent = select(Notice.id).where(Notice.person_id == Person.id,
                                       Notice.dedupe_key == key)
        for person_id in session.scalars(
                select(Person.id).where(Person.active, Person.timezone == name,
                                        ~sent.exists()).order_by(Person.id)
                .limit(MAX_PER_RUN - len(due))):
            due[person_id] = (moment, key)
        if len(due) >= MAX_PER_RUN:
            break
    return due


def _already_queued(session: Session,
                    due: dict[str, tuple[datetime, str]]) -> set[tuple[str, str]]:
    people = list(due)
    keys = sorted({key for _, key in due.values()})
    found: set[tuple[str, str]] = set()
    for chunk in _chunks(people, _CHUNK):
        found.update((str(person_id), key) for person_id, key in session.execute(
            select(Notice.person_id, Notice.dedupe_key).where(
                Notice.person_id.in_(chunk), Notice.dedupe_key.in_(keys))))
    return found


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


@dataclass(frozen=True)
class OutgoingSummary:
    """What each channel gets for one summary notice."""

    body: str
    locale: str
    chart: Attachment
    link: str | None

    def for_channel(self, channel: Channel | None) -> tuple[str, Attachment | None]:
        """(body, attachment) for this channel; see the module docstring."""
        if channel is not None and is_email(channel):
            lines = [self.body, chart_line(self.locale)]
            if self.link:
                lines.append(link_line(self.locale, self.link))
            return "\n\n".join(lines), self.chart
        if self.link:
            return f"{short_text(self.body)}\n\n{link_line(self.locale, self.link)}", None
        return self.body, None


def is_email(channel: Channel) -> bool:
    return channel.url.split("://", 1)[0].lower() in EMAIL_SCHEMES


def outgoing_summary(session: Session, sessions: sessionmaker[Session], settings: Settings,
                     notice: Notice, person: Person) -> OutgoingSummary:
    zone = ZoneInfo(person.timezone)
    last_day = notice.created_at.astimezone(zone).date()
    png = render_chart(chart_data(session, person, last_day), person.locale)
    name = f"heupreminder-{person.id}-{last_day.isoformat()}.png"
    return OutgoingSummary(body=notice.body, locale=person.locale,
                           chart=Attachment(name=name, content=png, mimetype="image/png"),
                           link=history_url(settings, sessions, person.id))
