"""Notices (rest, resume, check-in, caregiver, summary, admin) on the reminders'
road, called unit by unit with a chosen `now`: claimed with a lease, taken
over after a crash, retried by rescheduling, missed after their deadline, and
the admin told once per channel outage. Asserted on rows and on what a real
HTTP receiver got."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from freezegun import freeze_time
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from heupreminder.cli import main
from heupreminder.config.loader import Settings
from heupreminder.db.models import Notice, Person
from heupreminder.delivery.outbox import queue_notice
from heupreminder.scheduler.dispatcher import Dispatcher
from heupreminder.status import collect_status, render_status
from tests.dispatching import deliver_notice
from tests.helpers import BRIDGE, load, migrated, person_config
from tests.receivers import HttpInbox, free_port

NOW = datetime(2026, 1, 7, 9, 0, tzinfo=UTC)
def setup(tmp_path: Path, database_url: str, channels: dict[str, str],
          extra_service: str = "") -> tuple[Settings, sessionmaker[Session]]:
    settings = load(tmp_path, person_config(
        database_url=database_url, channels=channels, routines=BRIDGE,
        person_channels=[name for name in channels if name != "admin"],
        extra_service=extra_service))
    return settings, migrated(settings, NOW - timedelta(hours=1))


def rest_notice(sessions: sessionmaker[Session], now: datetime = NOW) -> int:
    with sessions.begin() as session:
        person = session.get(Person, "anna")
        assert person is not None
        queue_notice(session, "anna", "rest", "rest-1", "Rust je heup",
                     "Je oefeningen staan even stil.", channels=list(person.channels), now=now)
    with sessions() as session:
        return session.scalars(select(Notice.id)).one()


def notice(sessions: sessionmaker[Session], notice_id: int) -> Notice:
    with sessions() as session:
        row = session.get(Notice, notice_id)
        assert row is not None
        return row


def at(dispatcher: Dispatcher, now: datetime) -> Dispatcher:
    dispatcher.clock = lambda: now
    return dispatcher


def test_a_notice_claimed_by_a_node_that_died_is_taken_over_when_its_lease_ends(
        tmp_path, database_url, receiver: HttpInbox) -> None:
    settings, sessions = setup(tmp_path, database_url, {"phone": receiver.url})
    notice_id = rest_notice(sessions)
    dead = Dispatcher(sessions, lambda: settings, "dead-node", clock=lambda: NOW)
    assert dead.claim_notices(NOW, 10) == [notice_id]  # ... and the process is killed
    row = notice(sessions, notice_id)
    assert (row.status, row.claimed_by) == ("sending", "dead-node")
    assert row.claimed_until == NOW + settings.config.service.lease

    alive = Dispatcher(sessions, lambda: settings, "live-node")
    lease_over = NOW + settings.config.service.lease + timedelta(seconds=1)
    assert alive.claim_notices(lease_over, 10) == []  # still claimed: nobody else sends it
    assert alive.recover_expired_claims(NOW + timedelta(seconds=10)) == 0  # lease still runs
    assert alive.recover_expired_claims(lease_over) == 1
    assert alive.next_wake() is not None
    [claimed] = alive.claim_notices(lease_over, 10)
    assert deliver_notice(at(alive, lease_over), claimed) == "sent"

    [post] = receiver.posts
    assert (post["title"], post["message"]) == ("Rust je heup", "Je oefeningen staan even stil.")
    row = notice(sessions, notice_id)
    assert (row.status, row.outcome_unknown, row.claimed_by) == ("sent", True, None)
    assert row.deliveries["phone"]["status"] == "sent"


def test_a_failing_channel_is_tried_again_later_and_never_twice_where_it_worked(
        tmp_path, database_url, receiver: HttpInbox) -> None:
    dead = f"json://127.0.0.1:{free_port()}/nobody-listens"
    settings, sessions = setup(tmp_path, database_url, {"phone": receiver.url, "watch": dead})
    notice_id = rest_notice(sessions)
    dispatcher = Dispatcher(sessions, lambda: settings, "node")

    [claimed] = dispatcher.claim_notices(NOW, 10)
    assert deliver_notice(at(dispatcher, NOW), claimed) == "retry"  # no thread sleeps on it
    row = notice(sessions, notice_id)
    assert (row.status, row.send_at, row.claimed_by) == ("pending", NOW + timedelta(seconds=2),
                                                         None)
    assert row.reason is not None and row.reason.startswith("retrying: watch:")
    assert row.deliveries["phone"]["status"] == "sent"
    assert row.deliveries["watch"]["status"] == "failed"
    assert dispatcher.claim_notices(NOW + timedelta(seconds=1), 10) == []  # not before its time

    retry_at = NOW + timedelta(seconds=2)
    [claimed] = dispatcher.claim_notices(retry_at, 10)
    assert deliver_notice(at(dispatcher, retry_at), claimed) == "retry"
    assert len(receiver.posts) == 1  # the channel that worked is not sent to again
    row = notice(sessions, notice_id)
    assert row.deliveries["watch"]["attempts"] == 2
    assert row.send_at == retry_at + timedelta(seconds=5)


def test_a_notice_not_sent_within_twelve_hours_is_recorded_missed(
        tmp_path, database_url, receiver: HttpInbox) -> None:
    settings, sessions = setup(tmp_path, database_url, {"phone": receiver.url})
    notice_id = rest_notice(sessions)
    dispatcher = Dispatcher(sessions, lambda: settings, "node")
    late = NOW + timedelta(hours=12, seconds=1)
    assert dispatcher.claim_notices(late, 10) == []
    dispatcher.expire_overdue(late)
    row = notice(sessions, notice_id)
    assert (row.status, row.reason) == ("missed", "not sent before its deadline (notices: 12 h)")
    assert receiver.posts == []
    with freeze_time(late):
        lines = render_status(collect_status(sessions))
    assert "message rest" in lines and "missed" in lines


def test_the_admin_hears_once_per_channel_outage_and_once_when_it_works_again(
        tmp_path, database_url, receiver: HttpInbox) -> None:
    port = free_port()
    settings, sessions = setup(
        tmp_path, database_url,
        {"phone": f"json://127.0.0.1:{port}/notify", "admin": receiver.url},
        extra_service='admin_channel = "admin"')
    dispatcher = Dispatcher(sessions, lambda: settings, "node")

    def send_all(now: datetime) -> list[str]:
        at(dispatcher, now)
        outcomes = []
        while claimed := dispatcher.claim_notices(now, 10):
            outcomes += [deliver_notice(dispatcher, i) for i in claimed]
        return outcomes

    # Three messages fail on 'phone' for good (past their deadline); one alert.
    for number in range(3):
        with sessions.begin() as session:
            queue_notice(session, "anna", "checkin", f"checkin-{number}", "Hoe gaat het?",
                         "...", channels=["phone"], now=NOW)
    last_try = NOW + timedelta(hours=12, seconds=-1)  # no time left for another try
    assert send_all(last_try) == ["failed", "failed", "failed", "sent"]
    alerts = [p["title"] for p in receiver.posts]
    assert alerts == ["heupreminder: channel 'phone' is not delivering"]

    # Another failure while it is known to be down: nothing new for the admin.
    with sessions.begin() as session:
        queue_notice(session, "anna", "rest", "rest-9", "Rust", "...", channels=["phone"],
                     now=NOW)
    assert send_all(last_try) == ["failed"]
    assert len(receiver.posts) == 1

    with sessions.begin() as session:  # 'phone' comes back
        queue_notice(session, "anna", "resume", "resume-9", "Verder", "...",
                     channels=["phone"], now=last_try)
    from tests.receivers import http_receiver

    with http_receiver(port=port):
        assert send_all(last_try) == ["sent", "sent"]  # the resume, then the admin's news
    assert [p["title"] for p in receiver.posts] == [
        "heupreminder: channel 'phone' is not delivering",
        "heupreminder: channel 'phone' works again"]


def test_status_shows_each_notice_and_whether_it_was_delivered(
        tmp_path, database_url, receiver: HttpInbox) -> None:
    settings, sessions = setup(tmp_path, database_url, {"phone": receiver.url})
    notice_id = rest_notice(sessions)
    with freeze_time(NOW):
        [person] = collect_status(sessions)
    [message] = person["messages"]
    assert (message["kind"], message["status"], message["channels"]) == (
        "rest", "pending", {})
    dispatcher = Dispatcher(sessions, lambda: settings, "node")
    [claimed] = dispatcher.claim_notices(NOW, 10)
    assert claimed == notice_id
    assert deliver_notice(at(dispatcher, NOW), claimed) == "sent"
    with freeze_time(NOW):
        [person] = collect_status(sessions)
    [message] = person["messages"]
    assert (message["status"], message["channels"]) == ("sent", {"phone": "sent"})
    assert "message rest 2026-01-07 10:00: sent (phone sent)" in render_status([person])


def test_history_lists_the_messages_with_their_delivery(
        tmp_path, database_url, receiver: HttpInbox) -> None:
    dead = f"json://127.0.0.1:{free_port()}/nobody-listens"
    settings, sessions = setup(tmp_path, database_url, {"phone": receiver.url, "watch": dead})
    rest_notice(sessions)
    dispatcher = Dispatcher(sessions, lambda: settings, "node")
    [claimed] = dispatcher.claim_notices(NOW, 10)
    assert deliver_notice(at(dispatcher, NOW), claimed) == "retry"
    with freeze_time(NOW + timedelta(minutes=1)):
        result = CliRunner().invoke(main, ["history", "--config", str(settings.path), "-p",
                                           "anna", "--json"])
    assert result.exit_code == 0, result.output
    [message] = [e for e in json.loads(result.output) if e["type"] == "message"]
    assert message["at"] == "2026-01-07T10:00:00+01:00"
    assert message["what"].startswith(
        'rest "Rust je heup": pending (phone sent, watch failed, retrying: watch: ')
