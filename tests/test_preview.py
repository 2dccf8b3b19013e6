"""`heupreminder preview`: what would be sent when, on SQLite and PostgreSQL,
and proof that it agrees with what the dispatcher and the real service send."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from click.testing import CliRunner
from freezegun import freeze_time
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from heupreminder.catalog import get_entry
from heupreminder.cli import main
from heupreminder.config import Settings
from heupreminder.db.models import utcnow
from heupreminder.preview import PreviewRow, preview_in, render_preview
from heupreminder.scheduler.dispatcher import Dispatcher
from tests.dispatching import send_claimed
from tests.helpers import load, migrated, person_config, routine
from tests.receivers import HttpInbox

ZONE = ZoneInfo("Europe/Amsterdam")
# Friday 9 January 2026, 09:00 in Amsterdam (CET, UTC+1).
FRIDAY_9 = datetime(2026, 1, 9, 9, 0, tzinfo=ZONE)
ROUTINES = """
[[people.routines]]
exercise = "bridge"
at = "06:30"

[[people.routines]]
exercise = "outer-thigh"
at = "12:00"
days = "mon-fri"

[[people.routines]]
exercise = "magnesium"
cron = "30 22,23 * * *"
"""
TITLES = {key: get_entry(key).title("nl")  # type: ignore[union-attr]
          for key in ("bridge", "outer-thigh", "magnesium")}


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=ZONE)


def setup(tmp_path: Path, database_url: str, channels: dict[str, str], synced_at: datetime):
    settings = load(tmp_path, person_config(
        database_url=database_url, channels=channels, routines=ROUTINES,
        quiet_hours="22:00-07:00"))
    return settings, migrated(settings, synced_at)


def preview(settings: Settings, sessions: sessionmaker[Session], now: datetime, days: int,
            person: str | None = None) -> list[PreviewRow]:
    """What the service will send, as the web calendar reads it: `preview_in`, in a
    session of its own."""
    with sessions() as session:
        return preview_in(session, settings, now, days=days, person=person)


def summary(rows: list[PreviewRow]) -> list[tuple[datetime, str, datetime]]:
    return [(r.when, r.routine, r.due) for r in rows]


def test_rows_with_weekdays_cron_and_quiet_hours(tmp_path: Path, database_url: str) -> None:
    settings, sessions = setup(tmp_path, database_url, {"log": "console://"}, FRIDAY_9)
    rows = preview(settings, sessions, FRIDAY_9, days=3)
    assert summary(rows) == [
        (local(9, 12), "outer-thigh", local(9, 12)),
        # 22:30 is held until 07:00, past the 23:30 reminder: skipped, not listed.
        (local(10, 7), "bridge", local(10, 6, 30)),  # 06:30 is in quiet hours
        (local(10, 7), "magnesium", local(9, 23, 30)),
        (local(11, 7), "bridge", local(11, 6, 30)),
        (local(11, 7), "magnesium", local(10, 23, 30)),
        # Saturday and Sunday: no outer-thigh (mon-fri); Monday 12:00 is past the 3 days.
        (local(12, 7), "bridge", local(12, 6, 30)),
        (local(12, 7), "magnesium", local(11, 23, 30)),
    ]
    assert all(r.when.tzinfo == ZONE and r.person == "anna" and r.channels == ("log",)
               for r in rows)
    assert [r.title for r in rows] == [TITLES[r.routine] for r in rows]
    assert rows[0].note is None
    assert rows[1].note == "due 06:30, held until quiet hours end"
    assert preview(settings, sessions, FRIDAY_9, days=3, person="bert") == []
    assert summary(preview(settings, sessions, FRIDAY_9, days=3, person="anna")) == summary(rows)

    table = render_preview(rows, 3).splitlines()
    assert table[0].split(" | ") == ["when (local)        ", "person", "routine    ",
                                     "title                    ", "channels"]
    assert set(table[1]) == {"-", "+"}
    assert table[2].split(" | ") == ["Fri 2026-01-09 12:00", "anna  ", "outer-thigh",
                                     "Buitenkant dij versterken", "log"]
    assert table[3].endswith("| log  (due 06:30, held until quiet hours end)")
    assert render_preview([], 7) == "Nothing to send in the next 7 days."


def test_after_downtime_only_what_catch_up_allows(tmp_path: Path, database_url: str) -> None:
    # Synced at 11:00; the service was down until now (catch_up is 30 minutes).
    settings, sessions = setup(tmp_path, database_url, {"log": "console://"}, local(9, 11))
    late = preview(settings, sessions, local(9, 12, 10), days=1)
    assert summary(late)[0] == (local(9, 12, 10), "outer-thigh", local(9, 12))
    assert late[0].note == "due 12:00, late: goes out at once"
    too_late = preview(settings, sessions, local(9, 12, 45), days=1)
    assert "outer-thigh" not in [r.routine for r in too_late]  # recorded as missed instead


def test_preview_agrees_with_the_dispatcher(tmp_path: Path, database_url: str,
                                            receiver: HttpInbox) -> None:
    """Step the dispatcher through three days, from wake-up to wake-up, and compare."""
    settings, sessions = setup(tmp_path, database_url, {"push": receiver.url}, FRIDAY_9)
    planned = preview(settings, sessions, FRIDAY_9, days=3)
    dispatcher = Dispatcher(sessions, lambda: settings, "simulation")
    end = FRIDAY_9 + timedelta(days=4)
    sent: list[tuple[datetime, str]] = []
    midway: tuple[datetime, list[PreviewRow]] | None = None
    now = FRIDAY_9
    for _ in range(100):
        wake = dispatcher.next_wake()
        assert wake is not None
        if wake >= end:
            break
        now = max(now, wake)
        dispatcher.clock = lambda now=now: now  # type: ignore[misc]
        dispatcher.schedule_due(now)
        for occurrence_id in dispatcher.claim(now, 100):
            assert send_claimed(dispatcher, [occurrence_id]) == ["sent"]
            sent.append((now.astimezone(ZONE), receiver.posts[-1]["title"]))
        if now == local(9, 23, 30):  # a reminder is now held in the database
            midway = (now, preview(settings, sessions, now, days=1))
    else:
        raise AssertionError("the dispatcher never got past the end")

    def sends(start: datetime, days: int) -> list[tuple[datetime, str]]:
        return sorted(s for s in sent if start < s[0] < start + timedelta(days=days))

    assert sorted((r.when, r.title) for r in planned) == sends(FRIDAY_9 - timedelta(seconds=1), 3)
    assert midway is not None
    at, rows = midway
    assert sorted((r.when, r.title) for r in rows) == sends(at, 1)
    assert (local(10, 7), TITLES["magnesium"]) in [(r.when, r.title) for r in rows]


def test_cli_preview_leaves_the_database_alone(tmp_path: Path, database_url: str) -> None:
    path = tmp_path / "heupreminder.toml"
    path.write_text(person_config(database_url=database_url, channels={"log": "console://"},
                                  routines=ROUTINES, quiet_hours="22:00-07:00"), encoding="utf-8")
    runner = CliRunner()
    with freeze_time(FRIDAY_9):
        result = runner.invoke(main, ["preview", "--config", str(path), "--days", "3", "--json"])
        table = runner.invoke(main, ["preview", "--config", str(path), "--person", "anna"])
        unknown = runner.invoke(main, ["preview", "--config", str(path), "--person", "bert"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["when"], r["routine"]) for r in rows[:3]] == [
        ("2026-01-09T12:00:00+01:00", "outer-thigh"), ("2026-01-10T07:00:00+01:00", "bridge"),
        ("2026-01-10T07:00:00+01:00", "magnesium")]
    assert rows[1] == {"when": "2026-01-10T07:00:00+01:00", "due": "2026-01-10T06:30:00+01:00",
                       "person": "anna", "routine": "bridge", "title": TITLES["bridge"],
                       "channels": ["log"], "note": "due 06:30, held until quiet hours end"}
    assert len(rows) == 7
    assert table.exit_code == 0 and table.output.startswith("when (local)")
    assert "Sun 2026-01-11 07:00 | anna" in table.output
    assert unknown.exit_code == 2 and "no person 'bert'" in unknown.output
    engine = create_engine(database_url)
    with engine.connect() as connection:  # the config was synced in a rolled-back transaction
        assert connection.execute(text("SELECT count(*) FROM routines")).scalar() == 0
    engine.dispose()


def test_preview_agrees_with_the_running_service(tmp_path: Path, database_url: str,
                                                 receiver: HttpInbox) -> None:
    def due_in(seconds: int) -> str:
        due = (datetime.now(ZONE) + timedelta(seconds=seconds)).strftime("%H:%M:%S")
        return person_config(database_url=database_url, channels={"phone": receiver.url},
                             routines=routine("bridge", at=due))

    def wait_for(words: str, log: Path) -> None:
        deadline = time.monotonic() + 30
        while words not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)

    settings = load(tmp_path, due_in(3600))
    log = tmp_path / "service.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "heupreminder", "run", "--config", str(settings.path)],
            stdout=out, stderr=subprocess.STDOUT)
        try:
            # The reminder is put 3 s ahead once the service is ready, so a slow
            # start on a busy machine cannot make it late.
            wait_for("heupreminder ready", log)
            settings = load(tmp_path, due_in(3))
            process.send_signal(signal.SIGHUP)
            wait_for("config reloaded", log)
            sessions = migrated(settings, utcnow())
            [row] = preview(settings, sessions, utcnow(), days=1)
            sessions.kw["bind"].dispose()
            assert row.routine == "bridge" and row.when - datetime.now(UTC) < timedelta(seconds=4)
            deadline = time.monotonic() + 30
            while not receiver.posts:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)
            arrived = datetime.now(UTC)
            time.sleep(1.5)  # anything doubled would arrive now
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=20) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    [post] = receiver.posts
    assert post["title"] == row.title
    assert abs(arrived - row.when) < timedelta(seconds=2), (arrived, row.when)
