"""End to end: a routine paused for pain stays paused when the config is edited and the
running service reloads it (SIGHUP), even though the edit changes the routine's key
(`side` added): its next reminder is recorded as skipped, not sent, while the other
exercise reminder goes out, and `status` shows the pause under the new key."""

from __future__ import annotations

import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, text

from heupreminder.catalog import get_entry
from tests.e2e.test_service import service, wait_until
from tests.helpers import added_a_week_ago, person_config
from tests.receivers import HttpInbox

ZONE = ZoneInfo("Europe/Amsterdam")


def cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "heupreminder", *args, "--config", str(config)],
                          capture_output=True, text=True, timeout=60)


def write(config: Path, database_url: str, receiver: HttpInbox, *, stretch: str,
          due: str) -> None:
    routines = (f'[[people.routines]]\nexercise = "bridge"\nat = "{due}"\n\n'
                f'[[people.routines]]\nexercise = "hip-stretch"\n{stretch}at = "{due}"\n')
    config.write_text(person_config(database_url=database_url, locale="en",
                                    channels={"phone": receiver.url}, routines=routines),
                      encoding="utf-8")


def test_edited_routine_stays_paused_after_sighup(tmp_path: Path, database_url: str,
                                                   receiver: HttpInbox) -> None:
    config = tmp_path / "heupreminder.toml"
    later = (datetime.now(ZONE) + timedelta(hours=1)).strftime("%H:%M:%S")
    write(config, database_url, receiver, stretch="", due=later)
    log = tmp_path / "service.log"
    engine = create_engine(database_url)

    def stretch_status() -> str | None:
        with engine.connect() as connection:
            return connection.execute(text(
                "SELECT o.status FROM occurrences o JOIN routines r ON r.id = o.routine_id "
                "WHERE r.key = 'hip-stretch-left'")).scalar()

    with service(config, log) as process:
        wait_until(lambda: "heupreminder ready" in log.read_text())
        added_a_week_ago(database_url)
        yesterday = (datetime.now(UTC) - timedelta(hours=25)).isoformat()
        assert cli(config, "pain", "5", "--routine", "hip-stretch", "--at", yesterday
                   ).returncode == 0
        paused = cli(config, "pain", "6", "--routine", "hip-stretch")
        assert "pause:" in paused.stdout, paused.stdout + paused.stderr

        # The edit adds a side (the key becomes hip-stretch-left) and moves both routines
        # a few seconds ahead; SIGHUP loads it.
        soon = (datetime.now(ZONE) + timedelta(seconds=6)).strftime("%H:%M:%S")
        write(config, database_url, receiver, stretch='side = "left"\n', due=soon)
        process.send_signal(signal.SIGHUP)
        wait_until(lambda: "config reloaded" in log.read_text())

        bridge = get_entry("bridge")
        assert bridge is not None
        wait_until(lambda: any(p.get("title") == bridge.title("en") for p in receiver.posts),
                   timeout=40)
        wait_until(lambda: stretch_status() == "skipped", timeout=40)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0

    with engine.connect() as connection:
        reason = connection.execute(text(
            "SELECT o.reason FROM occurrences o JOIN routines r ON r.id = o.routine_id "
            "WHERE r.key = 'hip-stretch-left'")).scalar_one()
    engine.dispose()
    assert reason.startswith("paused")
    stretch = get_entry("hip-stretch")
    assert stretch is not None
    titles = [p.get("title") for p in receiver.posts]
    assert stretch.title("en", "left") not in titles and stretch.title("en", None) not in titles

    status = cli(config, "status")
    assert status.returncode == 0
    assert "PAUSED hip-stretch-left" in status.stdout
    assert "PAUSED hip-stretch " not in status.stdout  # no pause under the old key
