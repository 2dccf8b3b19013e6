"""The person's calendar feed: ``/cal/<history token>.ics``.

Contracts:

- The token is the person's read-only history link token (``links.history``):
  the feed only reads, as the history page does, and rotating or revoking that
  link ends the feed too. A bad, rotated or revoked token, or a person who is no
  longer active, answers 404 (a calendar app shows "not found" and stops); the
  failure is logged without the token and counted against the client's address,
  which gets 429 after a burst (``web.auth_failures``).
- The events are ``preview``'s rows for the coming ``FEED_WEEKS``: the same
  schedule rule, quiet hours, catch-up and pauses as the dispatcher, so the
  calendar shows what the service will send, when. A paused routine is left
  out while the pause lasts and comes back when it ends.
- Times are in the person's time zone with its ``VTIMEZONE`` (made from the
  IANA zone, DST rules included), so a calendar app shows 07:30 on both sides
  of a DST change. The description is the reminder's own text (``compose``).
- Each occurrence has a UID that stays the same on every fetch (person,
  routine, due instant), so a calendar app updates events instead of adding
  copies; an occurrence that moves to another time is another occurrence.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, request
from sqlalchemy import select
from werkzeug.wrappers import Response

from heupreminder.db.models import Person, Routine
from heupreminder.delivery.messages import compose
from heupreminder.links.history import HistoryLinkError
from heupreminder.locales import shipped_locale
from heupreminder.preview import PreviewRow, preview_in
from heupreminder.web.context import WebContext

calendar = Blueprint("calendar", __name__)

# Four weeks: a month of planning ahead, while a feed that calendar apps fetch
# every few hours stays small (a daily routine is 28 events) and a far-off
# event is never shown for a pause or config change the feed cannot know yet.
FEED_WEEKS = 4
# A reminder is a nudge, not an appointment: a short event that does not mark
# the person busy (TRANSP:TRANSPARENT), long enough for a bridge set.
EVENT_LENGTH = timedelta(minutes=15)
# How often calendar apps should fetch again: pauses and resumes show within hours.
REFRESH = timedelta(hours=3)
_NAMES = {"nl": "Heupoefeningen van {name}", "en": "{name}'s hip routines"}


def _context() -> WebContext:
    context: WebContext = current_app.extensions["heupreminder"]
    return context


@calendar.get("/cal/<token>.ics")
def feed(token: str) -> Response:
    context = _context()
    address = request.remote_addr or "unknown"
    wait = context.auth_failures.retry_after(address)
    if wait is not None:
        return Response("429 too many failed attempts; try again later\n", status=429,
                        headers={"Retry-After": str(wait)}, mimetype="text/plain")
    with context.sessions() as session:
        try:
            person = context.link_keys.history_person(session, token)
        except HistoryLinkError as error:
            context.auth_failures.failed(address, what="bad calendar link",
                                         person_id=error.person_id)
            return Response("404 no calendar at this address\n", status=404,
                            mimetype="text/plain")
        now = context.clock()
        rows = preview_in(session, context.settings(), now, days=FEED_WEEKS * 7,
                          person=person.id)
        routines = {r.key: r for r in session.scalars(
            select(Routine).where(Routine.person_id == person.id))}
        body = feed_bytes(person, rows, routines, now)
    return Response(body, mimetype="text/calendar", headers={
        "Content-Disposition": 'inline; filename="heupreminder.ics"'})



def feed_bytes(person: Person, rows: Iterable[PreviewRow], routines: Mapping[str, Routine],
               now: datetime) -> bytes:
    """The iCalendar text of `rows` (preview rows of this person) for calendar apps."""
    from icalendar import Calendar, Event, vDuration  # not on the service's way to "ready"

    zone = ZoneInfo(person.timezone)
    lang = shipped_locale(person.locale)
    cal = Calendar()
    cal.add("prodid", "-//heupreminder//calendar feed//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    name = _NAMES[lang].format(name=person.name or person.id)
    cal.add("name", name)
    cal.add("x-wr-calname", name)  # the name Apple and Google Calendar show
    cal.add("x-wr-timezone", person.timezone)
    cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(REFRESH))  # the same, for Outlook and older apps
    stamp = now.astimezone(UTC)
    for row in rows:
        routine = routines.get(row.routine)
        if routine is None:
            continue  # removed between the two queries of this request
        start = row.when.astimezone(zone)
        event = Event()
        event.add("uid", occurrence_uid(person.id, row.routine, row.due))
        event.add("dtstamp", stamp)
        event.add("dtstart", start)
        event.add("dtend", start + EVENT_LENGTH)
        event.add("summary", row.title)
        event.add("description", compose(routine, person.locale, row.due.date()).body)
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    # VTIMEZONE from the IANA rules over the feed's span, so DST changes in it are exact.
    cal.add_missing_timezones(first_date=now.astimezone(zone).date() - timedelta(days=1),
                              last_date=(now + timedelta(weeks=FEED_WEEKS + 1)).date())
    return bytes(cal.to_ical())


def occurrence_uid(person_id: str, routine_key: str, due: datetime) -> str:
    """The same on every fetch for the same occurrence; reveals no person id."""
    seed = f"{person_id}\0{routine_key}\0{due.astimezone(UTC).isoformat()}"
    return f"{hashlib.sha256(seed.encode()).hexdigest()[:32]}@heupreminder"
