"""Migrations from the first schema to the current one keep every row,
on SQLite (with a backup first) and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, text

from heupreminder.db.engine import make_engine
from heupreminder.db.migrate import (
    _alembic_config,
    current_revision,
    head_revision,
    newest_revision_file,
    upgrade,
)


def test_first_schema_upgrades_to_current_with_data_kept(database_url: str) -> None:
    engine = make_engine(database_url)
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    due = datetime(2026, 1, 7, 6, 30)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO people (id, name, timezone, locale, channels, active, updated_at) "
            "VALUES ('anna', 'Anna', 'Europe/Amsterdam', 'nl', :channels, true, :t)"),
            {"t": due, "channels": '["mail"]'})
        connection.execute(text(
            "INSERT INTO routines (id, person_id, key, kind, exercise, schedule, active, "
            "next_due_at, created_at, updated_at) VALUES (1, 'anna', 'bridge', 'exercise', "
            "'bridge', 'at 07:30:00 daily', true, :t, :t, :t)"), {"t": due})
        connection.execute(text(
            "INSERT INTO occurrences (id, routine_id, due_at, send_at, deadline, status, "
            "outcome_unknown, created_at) VALUES (1, 1, :t, :t, :t, 'sent', false, :t)"),
            {"t": due})

    assert upgrade(engine) is True
    assert current_revision(engine) == head_revision()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT name FROM people")).scalar_one() == "Anna"
        assert connection.execute(text("SELECT status FROM occurrences")).scalar_one() == "sent"
        assert connection.execute(text("SELECT count(*) FROM pain_reports")).scalar_one() == 0
    assert upgrade(engine) is False  # already current: nothing to do
    engine.dispose()

    if database_url.startswith("sqlite"):
        backup = Path(database_url.removeprefix("sqlite:///") + ".before-0001.bak")
        assert backup.exists()
        old = create_engine(f"sqlite:///{backup}")
        with old.connect() as connection:
            assert connection.execute(text("SELECT name FROM people")).scalar_one() == "Anna"
        old.dispose()


def test_notices_left_sending_by_an_earlier_version_are_handed_back(database_url: str) -> None:
    """Before 0003 a notice claimed by a process that died stayed `sending` for good."""
    engine = make_engine(database_url)
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
    decided = datetime(2026, 11, 30, 7, 0)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO people (id, name, timezone, locale, channels, active, updated_at) "
            "VALUES ('anna', 'Anna', 'Europe/Amsterdam', 'nl', :channels, true, :t)"),
            {"t": decided, "channels": '["mail"]'})
        for number, status in enumerate(("sending", "sent")):
            connection.execute(text(
                "INSERT INTO notices (person_id, kind, dedupe_key, channels, title, body, "
                "status, error, created_at, sent_at) VALUES ('anna', 'rest', :key, "
                "'[\"mail\"]', 'Rust', 'Rust je heup.', :status, NULL, :t, NULL)"),
                {"key": f"rest-{number}", "status": status, "t": decided})

    assert upgrade(engine) is True
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT dedupe_key, status, outcome_unknown, send_at, deadline FROM notices "
            "ORDER BY dedupe_key")).all()
    engine.dispose()
    stranded, sent = rows
    assert (stranded.status, bool(stranded.outcome_unknown)) == ("pending", True)
    assert (sent.status, bool(sent.outcome_unknown)) == ("sent", False)
    for row in rows:
        send_at, deadline = (value if isinstance(value, datetime)
                             else datetime.fromisoformat(value)
                             for value in (row.send_at, row.deadline))
        assert (send_at, deadline) == (decided, datetime(2026, 11, 30, 19, 0))


def test_reminders_skipped_by_a_pause_are_given_that_pause(database_url: str) -> None:
    """0007 backfills occurrences.pause_id: a reminder recorded "paused: ..." gets the
    person's pause of its routine (or of all exercises) that ran when it was finished."""
    engine = make_engine(database_url)
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0006")

    def at(day: int, hour: int) -> datetime:
        return datetime(2026, 11, day, hour, 30)

    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO people (id, name, timezone, locale, channels, active, updated_at) "
            "VALUES ('anna', 'Anna', 'Europe/Amsterdam', 'nl', :channels, true, :t)"),
            {"t": at(1, 0), "channels": '["mail"]'})
        for routine_id, key in ((1, "bridge"), (2, "walk")):
            connection.execute(text(
                "INSERT INTO routines (id, person_id, key, kind, exercise, schedule, active, "
                "next_due_at, created_at, updated_at) VALUES (:id, 'anna', :key, 'exercise', "
                ":key, 'at 07:30:00 daily', true, :t, :t, :t)"),
                {"id": routine_id, "key": key, "t": at(1, 0)})
        for pause_id, scope, since, ended in ((1, None, at(26, 5), at(28, 5)),
                                              (2, "bridge", at(29, 8), None)):
            connection.execute(text(
                "INSERT INTO pauses (id, person_id, scope, since, code, reason, severe, "
                "ended_at) VALUES (:id, 'anna', :scope, :since, 'manual', 'by hand', false, "
                ":ended)"), {"id": pause_id, "scope": scope, "since": since, "ended": ended})
        occurrences = [  # (id, routine, due, status, reason)
            (1, 1, at(26, 6), "skipped", "paused: by hand"),  # all exercises: pause 1
            (2, 2, at(26, 17), "skipped", "paused: by hand"),  # pause 1 covers walk too
            (3, 1, at(27, 6), "skipped", "quiet hours last until the next reminder"),
            (4, 1, at(28, 6), "sent", None),
            (5, 1, at(30, 6), "skipped", "paused: by hand"),  # bridge's own pause 2
            (6, 2, at(30, 17), "skipped", "paused: by hand"),  # no pause of walk then
        ]
        for occurrence_id, routine_id, due, status, reason in occurrences:
            connection.execute(text(
                "INSERT INTO occurrences (id, routine_id, due_at, send_at, deadline, status, "
                "reason, outcome_unknown, created_at, finished_at) VALUES (:id, :routine, "
                ":t, :t, :t, :status, :reason, false, :t, :t)"),
                {"id": occurrence_id, "routine": routine_id, "t": due, "status": status,
                 "reason": reason})

    assert upgrade(engine) is True
    with engine.connect() as connection:
        named = connection.execute(text(
            "SELECT id, pause_id FROM occurrences ORDER BY id")).all()
    engine.dispose()
    assert [tuple(row) for row in named] == [
        (1, 1), (2, 1), (3, None), (4, None), (5, 2), (6, None)]


def test_people_are_dated_by_the_first_thing_recorded_for_them(database_url: str) -> None:
    """0008 gives each person `added_at`: the earliest of their routines, pain reports
    and check-ins; a person with nothing recorded stays unknown (NULL)."""
    engine = make_engine(database_url)
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0007")
    made, pain, late = (datetime(2026, 11, day, 9, 0) for day in (10, 3, 20))
    with engine.begin() as connection:
        for person_id in ("anna", "bert"):
            connection.execute(text(
                "INSERT INTO people (id, name, timezone, locale, channels, active, updated_at) "
                "VALUES (:id, 'X', 'Europe/Amsterdam', 'nl', '[]', true, :t)"),
                {"id": person_id, "t": late})
        connection.execute(text(
            "INSERT INTO routines (id, person_id, key, kind, exercise, schedule, active, "
            "next_due_at, created_at, updated_at) VALUES (1, 'anna', 'bridge', 'exercise', "
            "'bridge', 'at 07:30:00 daily', true, :t, :made, :t)"), {"t": late, "made": made})
        connection.execute(text(
            "INSERT INTO pain_reports (person_id, at, level, source, created_at) "
            "VALUES ('anna', :at, 4, 'import', :t)"), {"at": pain, "t": late})

    assert upgrade(engine) is True
    with engine.connect() as connection:
        rows = dict(connection.execute(text(
            "SELECT id, added_at FROM people ORDER BY id")).all())
    engine.dispose()
    anna_added = rows["anna"]
    if isinstance(anna_added, str):
        anna_added = datetime.fromisoformat(anna_added)
    assert anna_added == pain and rows["bert"] is None


def test_the_start_up_shortcut_knows_the_newest_revision() -> None:
    """`upgrade` skips loading Alembic when the database is at the newest revision file;
    that must be Alembic's own head, or a start would skip a migration."""
    assert newest_revision_file() == head_revision()
