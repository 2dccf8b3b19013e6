"""The calendar feed `/cal/<history token>.ics` through the real waitress server
(SQLite and PostgreSQL): read back with the icalendar library, it lists what
`preview` lists, at the same instants, across DST changes in Europe/Amsterdam
and America/New_York; a paused routine leaves and comes back; rotated, revoked
and foreign tokens are refused and counted; the headers of the web guards."""

from __future__ import annotations

import http.client
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar, Component, Event
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from heupreminder.config.loader import Settings
from heupreminder.db.models import Person, Routine
from heupreminder.delivery.messages import compose
from heupreminder.links.api_tokens import create_token
from heupreminder.links.history import history_token, revoke_history_link, rotate_history_link
from heupreminder.links.signing import LinkSigner, LinkTarget, link_secret
from heupreminder.pain.decisions import pause_by_hand, resume_by_hand
from heupreminder.preview import preview_in
from heupreminder.web.app import create_app
from heupreminder.web.auth_failures import FailureLimiter
from heupreminder.web.calendar import FEED_WEEKS
from heupreminder.web.context import WebContext
from heupreminder.web.server import WebServer
from tests.helpers import load, migrated, person_config
from tests.receivers import free_port
from tests.test_web_hardening import assert_hardened

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
NEW_YORK = ZoneInfo("America/New_York")
# 02:30 does not exist in Amsterdam on 29 March 2026 (clocks go 02:00 -> 03:00);
# 01:30 exists twice in New York on 1 November 2026 (01:59 EDT -> 01:00 EST).
AMSTERDAM_ROUTINES = """
[[people.routines]]
exercise = "bridge"
at = "02:30"

[[people.routines]]
exercise = "outer-thigh"
at = "07:30"
days = "mon-fri"

[[people.routines]]
exercise = "magnesium"
cron = "0 21 * * *"
"""
NEW_YORK_ROUTINES = """
[[people.routines]]
exercise = "bridge"
at = "01:30"

[[people.routines]]
exercise = "hip-stretch"
at = "18:00"
days = "sat,sun"

[[people.routines]]
exercise = "magnesium"
cron = "30 21 * * *"
"""


class DrivenClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Feed:
    settings: Settings
    sessions: sessionmaker[Session]
    port: int
    now: datetime
    limiter_clock: DrivenClock

    def get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, \
                response.read()
        finally:
            connection.close()

    def token(self) -> str:
        token = history_token(self.settings, self.sessions, "anna")
        assert token is not None
        return token

    def calendar(self, token: str | None = None) -> Calendar:
        status, headers, body = self.get(f"/cal/{token or self.token()}.ics")
        assert status == 200, body[:300]
        assert headers["content-type"].startswith("text/calendar"), headers
        return Calendar.from_ical(body)


@pytest.fixture
def serve(tmp_path: Path, database_url: str) -> Iterator[Callable[..., Feed]]:
    """Start the web app for Anna in `zone` with `routines`, its clock standing at `now`."""
    started: list[tuple[WebServer, sessionmaker[Session]]] = []

    def start(zone: ZoneInfo, routines: str, now: datetime) -> Feed:
        port = free_port()
        settings = load(tmp_path, person_config(
            database_url=database_url, channels={"log": "console://"}, routines=routines,
            timezone=str(zone), locale="nl", listen=f"127.0.0.1:{port}",
            public_url="https://heup.example.org"))
        sessions = migrated(settings, now)
        limiter_clock = DrivenClock()
        context = WebContext(sessions, lambda: settings, clock=lambda: now,
                             auth_failures=FailureLimiter(burst=10, window=60,
                                                          clock=limiter_clock))
        server = WebServer(f"127.0.0.1:{port}")
        server.start(create_app(context))
        started.append((server, sessions))
        return Feed(settings, sessions, port, now, limiter_clock)

    yield start
    for server, sessions in started:
        server.stop()
        sessions.kw["bind"].dispose()


def events(calendar: Calendar) -> list[Event]:
    return sorted(calendar.walk("VEVENT"), key=lambda e: (e.decoded("dtstart"),
                                                          str(e["summary"])))


def by_vtimezone(timezone: Component, wall: datetime) -> datetime:
    """The UTC instant of local `wall` by the VTIMEZONE's own rules (RFC 5545 3.6.5):
    the observance with the latest onset (DTSTART, local) at or before it."""
    observances = sorted(((c.decoded("dtstart"), c.decoded("tzoffsetto"))
                          for c in timezone.subcomponents), key=lambda o: o[0])
    offset = [to for onset, to in observances if onset <= wall][-1]
    return (wall - offset).replace(tzinfo=UTC)


def starts(calendar: Calendar, title_part: str) -> list[datetime]:
    return [e.decoded("dtstart") for e in events(calendar) if title_part in str(e["summary"])]


@pytest.mark.parametrize(("zone", "routines", "now"), [
    (AMSTERDAM, AMSTERDAM_ROUTINES, datetime(2026, 3, 20, 12, 0, tzinfo=AMSTERDAM)),
    (NEW_YORK, NEW_YORK_ROUTINES, datetime(2026, 10, 20, 12, 0, tzinfo=NEW_YORK)),
], ids=["amsterdam-spring-forward", "new-york-fall-back"])
def test_the_feed_is_the_preview_across_a_dst_change(
        serve: Callable[..., Feed], zone: ZoneInfo, routines: str, now: datetime) -> None:
    feed = serve(zone, routines, now)
    calendar = feed.calendar()

    with feed.sessions() as session:  # as the feed reads it
        expected = preview_in(session, feed.settings, now, days=FEED_WEEKS * 7, person="anna")
    assert len(expected) > 40  # four weeks of three routines
    found = events(calendar)
    assert [(e.decoded("dtstart"), str(e["summary"])) for e in found] == \
        [(row.when, row.title) for row in expected]  # the same instants and titles
    for event in found:
        start = event.decoded("dtstart")
        assert start.tzinfo is not None and start.tzname() in ("CET", "CEST", "EST", "EDT")
        assert event.decoded("dtend") - start == timedelta(minutes=15)
    assert len({str(e["uid"]) for e in found}) == len(found)  # one UID per occurrence

    # The person's zone goes along with its DST rules; every time refers to it.
    (timezone,) = calendar.walk("VTIMEZONE")
    assert str(timezone["tzid"]) == str(zone)
    assert {c.name for c in timezone.subcomponents} == {"STANDARD", "DAYLIGHT"}
    text = calendar.to_ical().decode()
    assert text.count(f"DTSTART;TZID={zone}:") == len(found)  # no floating or UTC times
    assert calendar["x-wr-timezone"] == str(zone)
    assert "X-PUBLISHED-TTL:PT3H" in text and "REFRESH-INTERVAL;VALUE=DURATION:PT3H" in text

    bridge = starts(calendar, "brug")
    if zone is AMSTERDAM:  # 02:30 on the spring-forward night is 03:00 CEST, once
        night = [s for s in bridge if s.date() == datetime(2026, 3, 29).date()]
        assert [(s.hour, s.minute, s.utcoffset()) for s in night] == [(3, 0, timedelta(hours=2))]
        before = next(s for s in bridge if s.date() == datetime(2026, 3, 28).date())
        assert (before.hour, before.minute, before.utcoffset()) == (2, 30, timedelta(hours=1))
    else:  # 01:30 on the fall-back night: the first one (EDT), not twice
        night = [s for s in bridge if s.date() == datetime(2026, 11, 1).date()]
        assert [(s.hour, s.minute, s.utcoffset()) for s in night] == \
            [(1, 30, timedelta(hours=-4))]
        after = next(s for s in bridge if s.date() == datetime(2026, 11, 2).date())
        assert (after.hour, after.minute, after.utcoffset()) == (1, 30, timedelta(hours=-5))
    # Apps that read the VTIMEZONE itself (not the IANA name) get the same instants.
    for event in found:
        start = event.decoded("dtstart")
        assert by_vtimezone(timezone, start.replace(tzinfo=None)) == start.astimezone(UTC)
    # Every day of the four weeks has exactly one bridge.
    assert len(bridge) == len({s.date() for s in bridge}) == FEED_WEEKS * 7


def test_descriptions_are_the_reminder_text_and_uids_stay(serve: Callable[..., Feed]) -> None:
    now = datetime(2026, 3, 20, 12, 0, tzinfo=AMSTERDAM)
    feed = serve(AMSTERDAM, AMSTERDAM_ROUTINES, now)
    first = feed.calendar()
    with feed.sessions() as session:
        routines = {r.key: r for r in session.scalars(select(Routine))}
        for event in events(first):
            start = event.decoded("dtstart")
            key = next(k for k, r in routines.items()
                       if compose(r, "nl", start.date()).title == str(event["summary"]))
            assert str(event["description"]) == compose(routines[key], "nl", start.date()).body
    bridge = next(e for e in events(first) if "brug" in str(e["summary"]))
    assert str(bridge["description"]).endswith("Stop zodra het pijn doet.")
    assert str(first["x-wr-calname"]) == "Heupoefeningen van Anna"
    # Fetched again: the same occurrences have the same UIDs, so apps update, not copy.
    again = feed.calendar()
    assert [str(e["uid"]) for e in events(again)] == [str(e["uid"]) for e in events(first)]


def test_a_paused_routine_leaves_the_feed_and_comes_back(serve: Callable[..., Feed]) -> None:
    now = datetime(2026, 3, 20, 12, 0, tzinfo=AMSTERDAM)
    feed = serve(AMSTERDAM, AMSTERDAM_ROUTINES, now)
    assert len(starts(feed.calendar(), "brug")) == FEED_WEEKS * 7
    magnesium = len(starts(feed.calendar(), "Magnesium"))

    with feed.sessions.begin() as session:
        pause_by_hand(session, "anna", "bridge", until=None, now=now, by="test")
    paused = feed.calendar()
    assert starts(paused, "brug") == []
    assert len(starts(paused, "Magnesium")) == magnesium  # supplements never pause
    assert starts(paused, "dij versterken")  # nor do the other exercises

    with feed.sessions.begin() as session:
        resume_by_hand(session, feed.settings, "anna", "bridge", now=now, by="test")
    assert len(starts(feed.calendar(), "brug")) == FEED_WEEKS * 7

    # A pause until Tuesday: the bridge returns from the first one after it ends.
    until = datetime(2026, 3, 24, 12, 0, tzinfo=AMSTERDAM)
    with feed.sessions.begin() as session:
        pause_by_hand(session, "anna", None, until=until, now=now, by="test")
    bridge = starts(feed.calendar(), "brug")
    assert bridge[0] == datetime(2026, 3, 25, 2, 30, tzinfo=AMSTERDAM)
    assert min(starts(feed.calendar(), "dij versterken")) > until


def test_headers_rotation_revocation_and_refusals(serve: Callable[..., Feed],
                                                  caplog: pytest.LogCaptureFixture) -> None:
    now = datetime(2026, 3, 20, 12, 0, tzinfo=AMSTERDAM)
    feed = serve(AMSTERDAM, AMSTERDAM_ROUTINES, now)
    first = feed.token()
    status, headers, body = feed.get(f"/cal/{first}.ics")
    assert status == 200 and headers["content-type"] == "text/calendar; charset=utf-8"
    assert_hardened(headers, "calendar feed")
    assert body.startswith(b"BEGIN:VCALENDAR\r\n")

    # The history page shows where to subscribe: the same token, and a webcal:// link.
    page = feed.get(f"/h/{first}")[2].decode()
    assert f"https://heup.example.org/cal/{first}.ics" in page
    assert f'href="webcal://heup.example.org/cal/{first}.ics"' in page

    with feed.sessions.begin() as session:
        rotate_history_link(session, "anna", now)
    second = feed.token()
    caplog.set_level(logging.WARNING, logger="heupreminder.web.auth_failures")
    refused = feed.get(f"/cal/{first}.ics")
    assert refused[0] == 404 and b"BEGIN:VCALENDAR" not in refused[2]
    assert_hardened(refused[1], "refused feed")
    assert feed.get(f"/cal/{second}.ics")[0] == 200
    assert "bad calendar link for person anna" in caplog.text
    assert first not in caplog.text and second not in caplog.text

    with feed.sessions.begin() as session:
        revoke_history_link(session, "anna", now)
    assert feed.get(f"/cal/{second}.ics")[0] == 404

    # Neither a check-in link nor an API token opens the feed.
    with feed.sessions.begin() as session:
        rotate_history_link(session, "anna", now)
        api_token = create_token(session, "anna")
    checkin = LinkSigner(link_secret(feed.sessions), timedelta(days=3)).token(
        LinkTarget("anna", None))
    assert feed.get(f"/cal/{checkin}.ics")[0] == 404
    assert feed.get(f"/cal/{api_token}.ics")[0] == 404
    # A person no longer in the config: their feed ends with the rest of their links.
    third = feed.token()
    with feed.sessions.begin() as session:
        session.execute(update(Person).where(Person.id == "anna").values(active=False))
    assert feed.get(f"/cal/{third}.ics")[0] == 404
    with feed.sessions.begin() as session:
        session.execute(update(Person).where(Person.id == "anna").values(active=True))

    # Ten failures from this address within the minute (the limiter's burst): 429,
    # also for a good link, until the minute is over.
    for _ in range(10 - 5):
        feed.get("/cal/guess.ics")
    status, headers, _ = feed.get(f"/cal/{third}.ics")
    assert status == 429 and 1 <= int(headers["retry-after"]) <= 60
    feed.limiter_clock.now += 61
    assert feed.get(f"/cal/{third}.ics")[0] == 200


def test_an_empty_week_is_still_a_calendar(serve: Callable[..., Feed]) -> None:
    now = datetime(2026, 3, 20, 12, 0, tzinfo=AMSTERDAM)
    feed = serve(AMSTERDAM, AMSTERDAM_ROUTINES, now)
    with feed.sessions.begin() as session:
        pause_by_hand(session, "anna", None, until=None, now=now, by="test")
        session.execute(update(Routine).where(Routine.kind != "exercise").values(active=False))
    calendar = feed.calendar()
    assert events(calendar) == []
    assert calendar["version"] == "2.0" and "prodid" in calendar
