"""ntfy's action buttons, end to end on SQLite and PostgreSQL: the dispatcher sends a
reminder to a loopback stand-in for ntfy, whose recorded `X-Actions` header holds
Done, Skip (signed POST links) and Pain... (the check-in page); pressing Done on the
real waitress server records one check-in, pressed twice still one; GET writes
nothing; an expired, tampered or foreign token is refused; the daily check-in while
paused gets Better/Same/Worse, each logging one report however often it is pressed;
without `public_url` the message has no buttons, as before."""

from __future__ import annotations

import http.client
import logging
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from heupreminder.config.loader import Settings
from heupreminder.db.models import CheckIn, Notice, PainReport
from heupreminder.delivery.push import Button, ntfy_actions
from heupreminder.links.actions import ActionSigner, Answer
from heupreminder.links.signing import LinkSigner, LinkTarget, link_secret
from heupreminder.pain.decisions import pause_by_hand
from heupreminder.pain.housekeeping import housekeeping
from heupreminder.pain.records import log_pain
from heupreminder.scheduler.dispatcher import Dispatcher
from heupreminder.web.app import create_app
from heupreminder.web.auth_failures import FailureLimiter
from heupreminder.web.context import WebContext
from heupreminder.web.server import WebServer
from tests.dispatching import deliver_notice
from tests.helpers import load, migrated, person_config
from tests.receivers import HttpInbox, ReceivedRequest, free_port, http_receiver

ZONE = ZoneInfo("Europe/Amsterdam")
SYNCED = datetime(2026, 5, 4, 6, 0, tzinfo=ZONE)  # Monday morning
DUE = datetime(2026, 5, 4, 7, 30, tzinfo=ZONE)
BRIDGE = '[[people.routines]]\nexercise = "bridge"\nat = "07:30"\n'


def parse_actions(header: str) -> list[dict[str, str]]:
    """ntfy's short form, read as ntfy's own parser does: `;` ends an action, `,` a
    field, `key=value` (or a value alone), a value may be quoted."""
    actions, fields, value, key, quote = [], {}, "", None, None
    for char in header + ";":
        if quote:
            if char == quote:
                quote = None
            else:
                value += char
        elif char in "\"'":
            quote = char
        elif char == "=" and key is None:
            key, value = value.strip(), ""
        elif char in ",;":
            fields[key or str(len(fields))] = value.strip()
            key, value = None, ""
            if char == ";":
                actions.append(fields)
                fields = {}
        else:
            value += char
    return actions


@dataclass
class Service:
    settings: Settings
    sessions: sessionmaker[Session]
    dispatcher: Dispatcher
    ntfy: HttpInbox
    port: int
    clock: list[datetime]

    def post(self, url: str, method: str = "POST") -> tuple[int, bytes]:
        parts = urlsplit(url)
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request(method, parts.path)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def send_reminder(self) -> ReceivedRequest:
        self.dispatcher.schedule_due(DUE)
        [claimed] = self.dispatcher.claim(DUE, 10)
        [job] = self.dispatcher.prepare([claimed])
        # The sending process's path (kept-open connections) builds the same request.
        requests = self.dispatcher.http_requests_for(job)
        assert requests is not None
        assert self.dispatcher.record([self.dispatcher.send_job(job)]) == ["sent"]
        request = self.ntfy.requests[-1]
        kept_open = {name.lower(): value for name, value in requests["push"].headers}
        assert request.headers.get("x-actions") == kept_open.get("x-actions")
        return request

    def checkins(self) -> list[tuple[int | None, str]]:
        with self.sessions() as session:
            return [(c.occurrence_id, c.outcome) for c in session.scalars(select(CheckIn))]

    def reports(self) -> list[tuple[int, str | None]]:
        with self.sessions() as session:
            return [(r.level, r.source) for r in session.scalars(
                select(PainReport).order_by(PainReport.id))]


@pytest.fixture
def serve(tmp_path: Path, database_url: str) -> Iterator[Callable[..., Service]]:
    stack = ExitStack()

    def start(*, public: bool = True) -> Service:
        ntfy = stack.enter_context(http_receiver(keep_alive=True))
        port = free_port()
        settings = load(tmp_path, person_config(
            database_url=database_url, channels={"push": f"ntfy://{ntfy.host}/hips"},
            routines=BRIDGE, listen=f"127.0.0.1:{port}",
            public_url=f"http://127.0.0.1:{port}" if public else None))
        sessions = migrated(settings, SYNCED)
        clock = [DUE]
        context = WebContext(sessions, lambda: settings, clock=lambda: clock[0],
                             auth_failures=FailureLimiter(burst=10, window=60))
        server = WebServer(f"127.0.0.1:{port}")
        server.start(create_app(context))
        stack.callback(sessions.kw["bind"].dispose)
        stack.callback(server.stop)
        dispatcher = Dispatcher(sessions, lambda: settings, "node", clock=lambda: clock[0])
        return Service(settings, sessions, dispatcher, ntfy, port, clock)

    with stack:
        yield start


def test_a_reminder_on_ntfy_carries_done_skip_and_pain(serve: Callable[..., Service]) -> None:
    service = serve()
    request = service.send_reminder()
    headers = request.headers
    done, skip, pain = parse_actions(headers["x-actions"])
    public = f"http://127.0.0.1:{service.port}"
    assert (done["action"], done["label"], done["method"], done["clear"]) == \
        ("http", "Gedaan", "POST", "true")
    assert (skip["action"], skip["label"], skip["method"]) == ("http", "Overslaan", "POST")
    assert done["url"].startswith(f"{public}/a/") and skip["url"].startswith(f"{public}/a/")
    assert done["url"] != skip["url"]
    # Pain... opens the check-in page, the same signed link as a tap on the message.
    assert (pain["action"], pain["label"]) == ("view", "Pijn...")
    assert pain["url"] == headers["x-click"] and pain["url"].startswith(f"{public}/c/")
    # The signed payload says what the button does, for which reminder.
    signer = ActionSigner(link_secret(service.sessions), timedelta(days=3))
    token = urlsplit(done["url"]).path.removeprefix("/a/")
    answer = signer.read(token)
    assert isinstance(answer, Answer) and (answer.person_id, answer.outcome) == ("anna", "done")
    occurrence_id = answer.occurrence_id

    # GET (a previewer) writes nothing; POST records one answer, twice still one.
    assert service.post(done["url"], "GET")[0] == 405
    assert service.checkins() == []
    assert service.post(done["url"]) == (200, b"saved: done\n")
    assert service.post(done["url"])[0] == 200
    assert service.checkins() == [(occurrence_id, "done")]
    # Skip after Done: still one answer for the reminder, the latest.
    assert service.post(skip["url"])[0] == 200
    assert service.checkins() == [(occurrence_id, "skipped")]


def test_expired_tampered_and_foreign_buttons_are_refused(
        serve: Callable[..., Service], caplog: pytest.LogCaptureFixture) -> None:
    service = serve()
    request = service.send_reminder()
    done = parse_actions(request.headers["x-actions"])[0]["url"]
    token = urlsplit(done).path.removeprefix("/a/")
    public = f"http://127.0.0.1:{service.port}"
    secret = link_secret(service.sessions)
    signer = ActionSigner(secret, timedelta(days=3))
    answer = signer.read(token)
    assert isinstance(answer, Answer)
    occurrence_id = answer.occurrence_id

    with freeze_time(datetime.now(UTC) - timedelta(days=3, minutes=1)):
        old = signer.answer("anna", occurrence_id, "done")
    caplog.set_level(logging.WARNING, logger="heupreminder.web.auth_failures")
    assert service.post(f"{public}/a/{old}")[0] == 410  # a person's old button: not counted
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    assert service.post(f"{public}/a/{tampered}")[0] == 400
    # A check-in link or another person's forged payload is no button.
    checkin = LinkSigner(secret, timedelta(days=3)).token(LinkTarget("anna", occurrence_id))
    assert service.post(f"{public}/a/{checkin}")[0] == 400
    forged = ActionSigner("a guessed key", timedelta(days=3)).answer("anna", occurrence_id, "done")
    assert service.post(f"{public}/a/{forged}")[0] == 400
    # ... and a button is no check-in link either.
    assert service.post(f"{public}/c/{token}", "GET")[0] == 400
    assert service.checkins() == []
    assert caplog.text.count("bad action link") == 3
    assert token not in caplog.text and tampered not in caplog.text


def test_the_check_in_while_paused_has_better_same_worse(
        serve: Callable[..., Service]) -> None:
    service = serve()
    morning = datetime(2026, 5, 4, 8, 0, tzinfo=ZONE)
    with service.sessions.begin() as session:
        pause_by_hand(session, "anna", None, until=None, now=morning, by="test")
        log_pain(session, service.settings, "anna", 5, source="cli", now=morning)
    ten = datetime(2026, 5, 4, 10, 0, tzinfo=ZONE)  # [pain] checkin_at
    service.clock[0] = ten
    with service.sessions.begin() as session:
        housekeeping(session, service.settings, ten)
        kinds = session.scalars(select(Notice.kind)).all()
    assert "checkin" in kinds
    for notice_id in service.dispatcher.claim_notices(ten, 10):
        deliver_notice(service.dispatcher, notice_id)
    [request] = [r for r in service.ntfy.requests if "x-actions" in r.headers]
    better, same, worse = parse_actions(request.headers["x-actions"])
    assert [(a["action"], a["label"]) for a in (better, same, worse)] == [
        ("http", "Beter (0-2)"), ("http", "Hetzelfde"), ("http", "Erger")]

    assert service.post(same["url"])[0] == 200
    assert service.post(same["url"])[0] == 200  # pressed twice: one report
    assert service.reports() == [(5, "cli"), (5, "link")]
    assert service.post(worse["url"]) == (200, b"saved: pain 6\n")
    assert service.post(better["url"]) == (200, b"saved: pain 2\n")
    assert service.post(better["url"])[0] == 200
    assert service.reports() == [(5, "cli"), (5, "link"), (6, "link"), (2, "link")]


def test_without_public_url_the_message_is_as_before(serve: Callable[..., Service]) -> None:
    service = serve(public=False)
    headers = service.send_reminder().headers
    assert "x-actions" not in headers and "x-click" not in headers
    assert "Stop zodra het pijn doet." in service.ntfy.requests[-1].body.decode()


def test_the_header_form_quotes_what_would_split_it() -> None:
    header = ntfy_actions([Button("Done, now", "https://h.example/a/x?y=1"),
                           Button("it's; fine", "https://h.example/c/z", post=False)])
    assert parse_actions(header) == [
        {"action": "http", "label": "Done, now", "url": "https://h.example/a/x?y=1",
         "method": "POST", "clear": "true"},
        {"action": "view", "label": "it's; fine", "url": "https://h.example/c/z"}]
    with pytest.raises(ValueError):
        ntfy_actions([Button(str(n), "https://h.example") for n in range(4)])

