"""End to end: the messages that matter most medically get at least a
reminder's guarantees in the real service process.

- The rest message is in flight to a receiver that hangs when the service is
  killed (SIGKILL) or stopped (SIGTERM); after a restart it arrives.
- It goes out within seconds of the CLI report that caused it.
- A caregiver channel that hangs forever does not delay anyone's reminders.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text

from tests.e2e.test_service import service, wait_until
from tests.helpers import added_a_week_ago, person, person_config, routine
from tests.receivers import http_receiver

ZONE = ZoneInfo("Europe/Amsterdam")


def cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "heupreminder", *args, "--config", str(config)],
                          capture_output=True, text=True, timeout=60)


def rest_notices(database_url: str) -> list[tuple[str, bool]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return [(status, bool(unknown)) for status, unknown in connection.execute(text(
                "SELECT status, outcome_unknown FROM notices WHERE kind = 'rest'"))]
    finally:
        engine.dispose()


def log_persisting_pain(config: Path, database_url: str) -> None:
    """Two reports of 5/10 a day apart: persisting pain, so a pause and a rest message."""
    added_a_week_ago(database_url)
    yesterday = (datetime.now(UTC) - timedelta(hours=25)).isoformat(timespec="seconds")
    for extra in (("--at", yesterday), ()):
        result = cli(config, "pain", "5", "--person", "anna", *extra)
        assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_a_rest_message_in_flight_when_the_service_stops_arrives_after_restart(
        tmp_path: Path, database_url: str, how: signal.Signals) -> None:
    with http_receiver(keep_alive=True) as phone:  # hangs while phone.hang is set
        phone.hang.set()
        config = tmp_path / "heupreminder.toml"
        config.write_text(person_config(
            database_url=database_url, locale="en", channels={"phone": phone.url},
            # A lease longer than one try (8 s), so PostgreSQL takes a dead claim
            # over soon after the restart; SQLite takes it over at start-up.
            extra_service='lease = "10s"',
            routines=routine("bridge", at="06:00")),
            encoding="utf-8")
        log = tmp_path / "first.log"
        with service(config, log) as process:
            wait_until(lambda: "heupreminder ready" in log.read_text())
            log_persisting_pain(config, database_url)
            # Written by the CLI, sent by the service within seconds (the outbox poll).
            wait_until(lambda: phone.attempts, timeout=10)
            assert rest_notices(database_url) == [("sending", False)]
            process.send_signal(how)
            exit_code = process.wait(timeout=30)
        assert exit_code == (0 if how == signal.SIGTERM else -signal.SIGKILL)
        assert phone.posts == []
        # Handed back (SIGTERM) or still claimed by the dead process (SIGKILL): never failed.
        [(status, _)] = rest_notices(database_url)
        assert status in ("pending", "sending")

        phone.hang.clear()
        log = tmp_path / "second.log"
        with service(config, log) as process:
            wait_until(lambda: phone.posts, timeout=45)
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0
    [rest] = phone.posts
    assert "rest" in (rest["title"] + rest["message"]).lower()
    assert all(attempt == rest for attempt in phone.attempts)  # the same message each time
    [(status, outcome_unknown)] = rest_notices(database_url)
    assert status == "sent"
    if how == signal.SIGKILL:  # in flight at the crash: the row says it may have come twice
        assert outcome_unknown


def test_a_caregiver_channel_that_hangs_does_not_delay_anyones_reminders(
        tmp_path: Path, database_url: str) -> None:
    people = 20
    with http_receiver(keep_alive=True) as care, http_receiver(keep_alive=True) as receiver:
        care.hang.set()
        config = tmp_path / "heupreminder.toml"

        def write(due: str) -> None:
            others = "".join(
                "\n" + person(f"p{n}", f"P{n}", ["phone"], routines=routine("bridge", at=due))
                for n in range(people))
            config.write_text(person_config(
                database_url=database_url, locale="en",
                channels={"phone": receiver.url, "care": care.url},
                person_channels=["phone"], extra_person='caregiver_channels = ["care"]',
                routines=routine("bridge", at="06:00"),
                extra=others), encoding="utf-8")

        write("06:00")
        log = tmp_path / "service.log"
        with service(config, log) as process:
            wait_until(lambda: "heupreminder ready" in log.read_text())
            # Severe pain on two days: a pause, care advice, and the caregiver told.
            added_a_week_ago(database_url)
            yesterday = (datetime.now(UTC) - timedelta(hours=25)).isoformat(timespec="seconds")
            for extra in (("--at", yesterday), ()):
                result = cli(config, "pain", "8", "--person", "anna", *extra)
                assert result.returncode == 0, result.stderr
            wait_until(lambda: care.attempts, timeout=10)  # hanging from now on

            due = datetime.now(ZONE).replace(microsecond=0) + timedelta(seconds=8)
            write(due.strftime("%H:%M:%S"))
            process.send_signal(signal.SIGHUP)
            wait_until(lambda: len([p for p in receiver.posts
                                    if "bridge" in p["title"].lower()]) >= people, timeout=40)
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0
    bridges = [at for post, at in zip(receiver.posts, receiver.arrived, strict=True)
               if "bridge" in post["title"].lower()]
    assert len(bridges) == people  # one each; Anna's own bridge is paused
    assert care.posts == [] and care.attempts  # the caregiver's sends hung throughout
    # Each arrived at its time (a second is the service's tick; the margin is for CI).
    lateness = [(at - due).total_seconds() for at in bridges]
    assert all(0 <= late < 3 for late in lateness), lateness
