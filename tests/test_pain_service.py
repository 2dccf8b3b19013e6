"""The pain policy inside the service: paused exercises are skipped with the
reason, supplements keep going, daily check-ins, resume, caregiver notices,
and adherence that does not count rest days as misses. Time is chosen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from heupreminder.db.models import CheckIn, Notice, Occurrence, PauseRow, Routine
from heupreminder.pain.housekeeping import housekeeping
from heupreminder.pain.records import log_pain
from heupreminder.progress import adherence
from heupreminder.scheduler.dispatcher import Dispatcher
from tests.dispatching import send_claimed
from tests.helpers import BRIDGE_AND_MAGNESIUM, load, migrated, person_config
from tests.receivers import HttpInbox

T0 = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)  # a Monday, 18:00 in Amsterdam


def setup(tmp_path: Path, database_url: str, receiver: HttpInbox,
          synced_at: datetime = T0 - timedelta(hours=1)):
    settings = load(tmp_path, person_config(
        database_url=database_url, channels={"push": receiver.url}, routines=BRIDGE_AND_MAGNESIUM,
        extra_service="", extra_person='caregiver_channels = ["care"]',
        ).replace("[channels]", f'[channels]\ncare = "{receiver.url}/care"'))
    sessions = migrated(settings, synced_at, added_at=synced_at - timedelta(days=7))
    return settings, sessions, Dispatcher(sessions, lambda: settings, "node")


def pain(sessions, settings, level: int, at: datetime):
    with sessions.begin() as session:
        return log_pain(session, settings, "anna", level, source="cli", now=at)


def run_due(dispatcher: Dispatcher, now: datetime) -> list[str]:
    dispatcher.clock = lambda: now
    dispatcher.schedule_due(now)
    return send_claimed(dispatcher, dispatcher.claim(now, 100))


def test_paused_exercise_is_skipped_supplement_still_sent_checkin_daily(
        tmp_path, database_url, receiver) -> None:
    settings, sessions, dispatcher = setup(tmp_path, database_url, receiver)
    assert not pain(sessions, settings, 5, T0 - timedelta(hours=25)).decisions
    [decision] = pain(sessions, settings, 5, T0).decisions
    assert decision.action == "pause" and decision.scope is None

    # Next morning: 07:30 and 08:00 local (06:30 and 07:00 UTC).
    morning = datetime(2026, 3, 3, 6, 30, tzinfo=UTC)
    assert run_due(dispatcher, morning) == ["skipped"]
    assert run_due(dispatcher, morning + timedelta(minutes=30)) == ["sent"]
    assert [p["title"] for p in receiver.posts] == ["Magnesium"]
    with sessions() as session:
        bridge = session.scalars(select(Occurrence).join(Routine).where(
            Routine.key == "bridge")).one()
        assert bridge.status == "skipped" and bridge.reason.startswith("paused: ")

    # One gentle check-in a day from 10:00 local, with the rest message before it.
    for minute in range(0, 180, 30):
        with sessions.begin() as session:
            housekeeping(session, settings, morning + timedelta(hours=2, minutes=minute))
    with sessions() as session:
        kinds = [n.kind for n in session.scalars(select(Notice).order_by(Notice.id))]
    assert kinds == ["rest", "checkin"]

    with sessions() as session:
        result = adherence(session, "anna", T0 - timedelta(days=7))
    assert (result.planned, result.done, result.rest, result.missed) == (0, 0, 1, 0)


def test_rest_then_low_pain_resumes_after_min_rest(tmp_path, database_url, receiver) -> None:
    settings, sessions, _ = setup(tmp_path, database_url, receiver)
    pain(sessions, settings, 5, T0 - timedelta(hours=25))
    pain(sessions, settings, 5, T0)
    assert pain(sessions, settings, 1, T0 + timedelta(hours=30)).decisions == []  # too early
    with sessions.begin() as session:
        housekeeping(session, settings, T0 + timedelta(hours=47))
        assert session.scalars(select(PauseRow)).one().ended_at is None
    with sessions.begin() as session:
        housekeeping(session, settings, T0 + timedelta(hours=49))
    with sessions() as session:
        pause = session.scalars(select(PauseRow)).one()
        assert pause.ended_at == T0 + timedelta(hours=49)
        assert "resume" in [n.kind for n in session.scalars(select(Notice))]


def test_severe_pain_advises_care_and_tells_the_caregiver(tmp_path, database_url,
                                                          receiver) -> None:
    settings, sessions, _ = setup(tmp_path, database_url, receiver)
    pain(sessions, settings, 7, T0 - timedelta(hours=25))
    [decision] = pain(sessions, settings, 8, T0).decisions
    assert decision.advise_care and decision.notify_caregiver
    with sessions() as session:
        notices = {n.kind: n for n in session.scalars(select(Notice))}
    assert set(notices) == {"rest", "caregiver"}
    assert notices["caregiver"].channels == ["care"]
    assert "huisarts" in notices["rest"].body or "fysiotherapeut" in notices["rest"].body


def test_adherence_counts_done_against_sent(tmp_path, database_url, receiver) -> None:
    morning = datetime(2026, 3, 2, 6, 30, tzinfo=UTC)
    _, sessions, dispatcher = setup(tmp_path, database_url, receiver,
                                    synced_at=morning - timedelta(hours=1))
    for day in range(2):
        run_due(dispatcher, morning + timedelta(days=day))
    with sessions.begin() as session:
        first = session.scalars(select(Occurrence).order_by(Occurrence.due_at)).first()
        assert first is not None
        session.add(CheckIn(person_id="anna", routine_id=first.routine_id,
                            occurrence_id=first.id, outcome="done", at=morning, source="cli"))
    with sessions() as session:
        result = adherence(session, "anna", morning - timedelta(days=1))
    assert (result.planned, result.done, result.missed) == (2, 1, 1)


def test_a_reminder_skipped_by_a_pause_names_that_pause_and_no_other_skip_does(
        tmp_path, database_url, receiver) -> None:
    """occurrences.pause_id is how adherence, reports and the history page tell a rest
    day; the "paused: ..." reason is only for people to read."""
    settings = load(tmp_path, person_config(
        database_url=database_url, channels={"push": receiver.url}, routines="""
[[people.routines]]
exercise = "bridge"
cron = "30 7,8 * * *"
""", quiet_hours="07:00-09:00"))
    sessions = migrated(settings, datetime(2026, 3, 2, 5, 0, tzinfo=UTC),
                        added_at=datetime(2026, 2, 23, tzinfo=UTC))
    dispatcher = Dispatcher(sessions, lambda: settings, "node")
    morning, nine = datetime(2026, 3, 2, 6, 30, tzinfo=UTC), datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    # 07:30 local: quiet hours last past 08:30, so it is skipped; 08:30 waits until 09:00.
    assert run_due(dispatcher, morning) == [] and run_due(dispatcher, nine) == ["sent"]
    pain(sessions, settings, 5, T0 - timedelta(hours=25))
    [decision] = pain(sessions, settings, 5, T0).decisions
    assert decision.action == "pause"
    day = timedelta(days=1)
    run_due(dispatcher, morning + day)
    assert run_due(dispatcher, nine + day) == ["skipped"]
    with sessions() as session:
        pause = session.scalars(select(PauseRow)).one()
        rows = session.scalars(select(Occurrence).order_by(Occurrence.due_at)).all()
        assert [(r.status, r.pause_id) for r in rows] == [
            ("skipped", None), ("sent", None), ("skipped", None), ("skipped", pause.id)]
        assert rows[0].reason == rows[2].reason == "quiet hours last until the next reminder"
        assert rows[3].reason == f"paused: {pause.reason}"
        # Adherence counts the rest day, not the skip for quiet hours.
        result = adherence(session, "anna", morning)
    assert (result.planned, result.done, result.rest) == (1, 0, 1)
