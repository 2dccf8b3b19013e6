"""The dispatcher's units of work, called directly with a chosen `now`,
asserting on database rows and on what a real HTTP receiver got."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from freezegun import freeze_time
from sqlalchemy import event, select

from heupreminder.catalog import STOP_IF_IT_HURTS, get_entry
from heupreminder.db.models import Delivery, Occurrence, Person, Routine
from heupreminder.db.sync import sync_config
from heupreminder.delivery.messages import steps_as_lines
from heupreminder.scheduler.dispatcher import Dispatcher
from heupreminder.status import person_status
from tests.dispatching import send_claimed
from tests.helpers import BRIDGE, load, migrated, person_config
from tests.receivers import HttpInbox

# A Wednesday; 07:30 in Amsterdam (CET, UTC+1) is 06:30 UTC.
MORNING = datetime(2026, 1, 7, 6, 30, tzinfo=UTC)


def setup(tmp_path: Path, database_url: str, receiver: HttpInbox, routines: str = BRIDGE,
          synced_at: datetime = MORNING - timedelta(hours=1), **kwargs: str):
    settings = load(tmp_path, person_config(
        database_url=database_url, channels={"push": receiver.url}, routines=routines, **kwargs))
    sessions = migrated(settings, synced_at)
    return settings, sessions, Dispatcher(sessions, lambda: settings, "test-node")


def occurrences(sessions) -> list[Occurrence]:
    with sessions() as session:
        return list(session.scalars(select(Occurrence).order_by(Occurrence.due_at)))


def run_once(dispatcher: Dispatcher, now: datetime) -> list[str]:
    dispatcher.clock = lambda: now
    dispatcher.schedule_due(now)
    return send_claimed(dispatcher, dispatcher.claim(now, 100))


def test_due_reminder_is_sent_once_in_the_persons_language(tmp_path, database_url, receiver):
    _, sessions, dispatcher = setup(tmp_path, database_url, receiver)
    assert run_once(dispatcher, MORNING - timedelta(seconds=1)) == []
    assert run_once(dispatcher, MORNING) == ["sent"]
    assert run_once(dispatcher, MORNING + timedelta(seconds=5)) == []  # never twice
    [post] = receiver.posts
    bridge = get_entry("bridge")
    assert bridge is not None
    assert post["title"] == bridge.title("nl") == "Ochtendbrug"
    # The catalog text with its steps as numbered lines (messages.compose).
    assert post["message"] == steps_as_lines("bridge", bridge.body("nl"))
    assert post["message"].endswith(STOP_IF_IT_HURTS["nl"])
    [row] = occurrences(sessions)
    assert (row.status, row.due_at) == ("sent", MORNING)
    with sessions() as session:
        routine = session.scalars(select(Routine)).one()
        assert routine.next_due_at == MORNING + timedelta(days=1)
        [delivery] = session.scalars(select(Delivery)).all()
        assert (delivery.channel, delivery.status, delivery.attempts) == ("push", "sent", 1)


def test_late_within_catch_up_still_goes_out(tmp_path, database_url, receiver):
    _, _, dispatcher = setup(tmp_path, database_url, receiver)
    assert run_once(dispatcher, MORNING + timedelta(minutes=20)) == ["sent"]
    assert len(receiver.posts) == 1


def test_beyond_catch_up_is_missed_not_sent(tmp_path, database_url, receiver):
    _, sessions, dispatcher = setup(tmp_path, database_url, receiver)
    assert run_once(dispatcher, MORNING + timedelta(hours=2)) == []
    [row] = occurrences(sessions)
    assert row.status == "missed" and "beyond catch_up" in row.reason
    assert receiver.posts == []


def test_long_downtime_gives_at_most_one_catch_up(tmp_path, database_url, receiver):
    hourly = '[[people.routines]]\nexercise = "walk"\ncron = "0 * * * *"\n'
    _, sessions, dispatcher = setup(tmp_path, database_url, receiver, routines=hourly,
                                    synced_at=MORNING - timedelta(hours=3, minutes=50))
    # Down from 02:40 UTC; back at 06:10 UTC, 10 minutes after the last due hour.
    assert run_once(dispatcher, MORNING - timedelta(minutes=20)) == ["sent"]
    rows = occurrences(sessions)
    assert [r.status for r in rows] == ["missed", "missed", "missed", "sent"]
    assert len(receiver.posts) == 1


def test_quiet_hours_hold_a_reminder_until_they_end(tmp_path, database_url, receiver):
    early = '[[people.routines]]\nexercise = "bridge"\nat = "06:30"\n'
    _, sessions, dispatcher = setup(tmp_path, database_url, receiver, routines=early,
                                    quiet_hours="22:00-07:00",
                                    synced_at=MORNING - timedelta(hours=2))
    due = MORNING - timedelta(hours=1)  # 06:30 local
    assert run_once(dispatcher, due) == []
    [row] = occurrences(sessions)
    assert row.status == "pending" and row.send_at == MORNING - timedelta(minutes=30)
    assert run_once(dispatcher, MORNING - timedelta(minutes=30)) == ["sent"]
    assert len(receiver.posts) == 1


def test_failed_channel_is_retried_without_resending_the_one_that_worked(
        tmp_path, database_url, receiver):
    settings = load(tmp_path, person_config(
        database_url=database_url, channels={"log": "console://", "push": receiver.url},
        routines=BRIDGE))
    sessions = migrated(settings, MORNING - timedelta(hours=1))
    dispatcher = Dispatcher(sessions, lambda: settings, "test-node")
    receiver.status = 503
    assert run_once(dispatcher, MORNING) == ["retry"]  # no thread sleeps: back in the queue
    [row] = occurrences(sessions)
    assert row.status == "pending" and row.send_at == MORNING + timedelta(seconds=2)
    assert run_once(dispatcher, MORNING + timedelta(seconds=1)) == []  # not yet
    with sessions() as session:
        results = {d.channel: d.status for d in session.scalars(select(Delivery))}
    assert results == {"log": "sent", "push": "failed"}

    receiver.status = 200
    assert run_once(dispatcher, MORNING + timedelta(seconds=30)) == ["sent"]
    with sessions() as session:
        deliveries = {d.channel: (d.status, d.attempts) for d in session.scalars(select(Delivery))}
    assert deliveries == {"log": ("sent", 1), "push": ("sent", 2)}
    assert len(receiver.posts) == 1


def test_a_channel_failing_until_the_deadline_marks_it_failed(tmp_path, database_url, receiver):
    _, sessions, dispatcher = setup(tmp_path, database_url, receiver, catch_up="1s")
    receiver.status = 500
    assert run_once(dispatcher, MORNING) == ["failed"]
    [row] = occurrences(sessions)
    assert row.status == "failed" and "push:" in row.reason


def test_two_nodes_claim_each_occurrence_once(tmp_path, database_url, receiver):
    settings, sessions, first = setup(tmp_path, database_url, receiver)
    second = Dispatcher(sessions, lambda: settings, "other-node")
    first.schedule_due(MORNING)
    second.schedule_due(MORNING)
    claims = first.claim(MORNING, 10) + second.claim(MORNING, 10)
    assert len(claims) == 1 and len(occurrences(sessions)) == 1


def test_expired_claim_is_resent_and_marked_outcome_unknown(tmp_path, database_url, receiver):
    settings, sessions, dispatcher = setup(tmp_path, database_url, receiver)
    dispatcher.schedule_due(MORNING)
    assert len(dispatcher.claim(MORNING, 10)) == 1  # ... and this node dies here
    later = Dispatcher(sessions, lambda: settings, "new-node")
    assert later.recover_expired_claims(MORNING + timedelta(minutes=1)) == 0  # lease still held
    assert later.recover_expired_claims(MORNING + timedelta(minutes=6)) == 1
    assert run_once(later, MORNING + timedelta(minutes=6)) == ["sent"]
    [row] = occurrences(sessions)
    assert row.status == "sent" and row.outcome_unknown


def test_removed_routine_is_deactivated_and_keeps_its_history(tmp_path, database_url, receiver):
    settings, sessions, dispatcher = setup(tmp_path, database_url, receiver)
    run_once(dispatcher, MORNING)
    without = load(tmp_path, person_config(
        database_url=database_url, channels={"push": receiver.url}, routines=""))
    with sessions.begin() as session:
        report = sync_config(session, without.config, MORNING + timedelta(minutes=1))
    assert report.deactivated == 1
    with sessions() as session:
        routine = session.scalars(select(Routine)).one()
        assert not routine.active and routine.next_due_at is None
    assert [r.status for r in occurrences(sessions)] == ["sent"]
    # Back in the file: the same routine row, history intact.
    with sessions.begin() as session:
        sync_config(session, settings.config, MORNING + timedelta(minutes=2))
    with sessions() as session:
        routine = session.scalars(select(Routine)).one()
        assert routine.active and routine.next_due_at == MORNING + timedelta(days=1)


def test_bad_row_is_quarantined_not_crashing(tmp_path, database_url, receiver):
    _, sessions, dispatcher = setup(tmp_path, database_url, receiver)
    with sessions.begin() as session:
        session.scalars(select(Routine)).one().schedule = "at nonsense"
    assert run_once(dispatcher, MORNING) == []
    with sessions() as session:
        assert session.scalars(select(Routine)).one().next_due_at is None


def test_a_reminder_past_its_deadline_is_never_claimed_and_then_recorded_missed(
        tmp_path, database_url, receiver):
    # The service claims without the overdue sweep (once per pass instead):
    # a row whose deadline passed must still not be sent.
    _, sessions, dispatcher = setup(tmp_path, database_url, receiver, catch_up="10m")
    dispatcher.schedule_due(MORNING)  # pending, deadline 06:40 UTC
    later = MORNING + timedelta(minutes=11)
    assert dispatcher.claim(later, 100, expire=False) == []
    [row] = occurrences(sessions)
    assert row.status == "pending"
    dispatcher.expire_overdue(later)
    [row] = occurrences(sessions)
    assert (row.status, row.reason) == ("missed", "not sent before its deadline (catch_up)")
    assert receiver.posts == []


AHEAD = timedelta(seconds=30)


def test_a_reminder_written_ahead_goes_out_at_its_due_time_once(tmp_path, database_url,
                                                                receiver):
    _, sessions, dispatcher = setup(tmp_path, database_url, receiver)
    early = MORNING - timedelta(seconds=20)
    dispatcher.schedule_due(early, AHEAD)  # the burst's database work, done beforehand
    [row] = occurrences(sessions)
    assert (row.status, row.due_at, row.send_at) == ("pending", MORNING, MORNING)
    assert dispatcher.next_wake(AHEAD) == MORNING  # the routine itself is next due tomorrow
    with freeze_time(early), sessions() as session:  # `status` still shows today's 07:30
        [routine_status] = person_status(session, session.get(Person, "anna"))["routines"]
        assert routine_status["next_due"] == "2026-01-07T07:30+01:00"
    assert dispatcher.claim(early, 100) == []
    assert dispatcher.claim(MORNING - timedelta(seconds=1), 100) == []
    assert run_once(dispatcher, MORNING) == ["sent"]
    assert run_once(dispatcher, MORNING + timedelta(seconds=5)) == []
    assert [r.status for r in occurrences(sessions)] == ["sent"]
    assert len(receiver.posts) == 1


def test_sync_drops_a_reminder_written_ahead_when_its_routine_changes(tmp_path, database_url,
                                                                     receiver):
    settings, sessions, dispatcher = setup(tmp_path, database_url, receiver)
    early = MORNING - timedelta(seconds=20)
    dispatcher.schedule_due(early, AHEAD)
    # 20 s before 07:30 the person moves the bridge to 07:45: the early row goes.
    moved = load(tmp_path, person_config(
        database_url=database_url, channels={"push": receiver.url},
        routines=BRIDGE.replace("07:30", "07:45")))
    with sessions.begin() as session:
        assert sync_config(session, moved.config, early).changed == 1
    assert occurrences(sessions) == []
    assert run_once(dispatcher, MORNING) == []
    assert run_once(dispatcher, MORNING + timedelta(minutes=15)) == ["sent"]
    [row] = occurrences(sessions)
    assert (row.status, row.due_at) == ("sent", MORNING + timedelta(minutes=15))

    # Back to 07:30 tomorrow and removed just before: written ahead, never sent.
    tomorrow_early = MORNING + timedelta(days=1, seconds=-20)
    with sessions.begin() as session:
        sync_config(session, settings.config, MORNING + timedelta(hours=1))
    dispatcher.schedule_due(tomorrow_early, AHEAD)
    assert [r.status for r in occurrences(sessions)] == ["sent", "pending"]
    without = load(tmp_path, person_config(
        database_url=database_url, channels={"push": receiver.url}, routines=""))
    with sessions.begin() as session:
        assert sync_config(session, without.config, tomorrow_early).deactivated == 1
    assert run_once(dispatcher, MORNING + timedelta(days=1)) == []
    assert [r.status for r in occurrences(sessions)] == ["sent"]
    assert len(receiver.posts) == 1


def test_a_due_reminder_is_kept_when_its_routine_changes(tmp_path, database_url, receiver):
    # Only rows written *ahead* go: one already due belongs to the old schedule's
    # due time that has come (e.g. held by quiet hours) and is still sent.
    _, sessions, dispatcher = setup(tmp_path, database_url, receiver)
    dispatcher.schedule_due(MORNING)
    moved = load(tmp_path, person_config(
        database_url=database_url, channels={"push": receiver.url},
        routines=BRIDGE.replace("07:30", "07:45")))
    with sessions.begin() as session:
        sync_config(session, moved.config, MORNING + timedelta(seconds=1))
    assert run_once(dispatcher, MORNING + timedelta(seconds=2)) == ["sent"]


def test_results_are_stored_in_utc_whatever_the_database_sessions_time_zone(
        tmp_path, database_url, receiver):
    # On PostgreSQL a batch of deliveries is inserted as arrays: the times in
    # them must be converted to UTC by us, not by the server's TimeZone.
    _, sessions, dispatcher = setup(tmp_path, database_url, receiver)
    engine = sessions.kw["bind"]
    if engine.dialect.name == "postgresql":
        @event.listens_for(engine, "connect")
        def new_york(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            dbapi_connection.execute("SET TIME ZONE 'America/New_York'")
            dbapi_connection.commit()
        engine.dispose()
    assert run_once(dispatcher, MORNING) == ["sent"]
    with sessions() as session:
        [delivery] = session.scalars(select(Delivery)).all()
        [row] = session.scalars(select(Occurrence)).all()
    assert delivery.finished_at == MORNING == row.finished_at
