"""A first hour without surprises: from a fresh HOME, the commands know the
config's people before any `run`, and the first `run` says what comes next."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from heupreminder.upcoming import time_until
from tests.receivers import free_port

REPO = Path(__file__).resolve().parents[1]


def fresh_home(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data"),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    env.pop("HEUPREMINDER_DATABASE_URL", None)
    env.pop("HEUPREMINDER_CONFIG", None)
    return env


def example_config(tmp_path: Path) -> Path:
    """The README's example, on a port no other test uses."""
    example = (REPO / "config" / "heupreminder.example.toml").read_text(encoding="utf-8")
    config = tmp_path / "example.toml"
    config.write_text(example.replace("8765", str(free_port())), encoding="utf-8")
    return config


def heupreminder(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "heupreminder", *args], capture_output=True,
                          text=True, timeout=60, env=env)


def test_commands_know_the_configured_people_before_the_first_run(tmp_path: Path) -> None:
    env, config = fresh_home(tmp_path), str(example_config(tmp_path))
    status = heupreminder(env, "status", "--config", config)
    assert status.returncode == 0, status.stderr
    assert "No people yet" not in status.stdout and "Anna (anna" in status.stdout
    pain = heupreminder(env, "pain", "3", "--person", "anna", "--config", config)
    assert pain.returncode == 0, pain.stderr
    token = heupreminder(env, "token", "anna", "--config", config)
    assert token.returncode == 0 and token.stdout.strip(), token.stderr
    history = heupreminder(env, "history", "--person", "anna", "--config", config)
    assert history.returncode == 0 and "3" in history.stdout, history.stderr
    assert (tmp_path / "data" / "heupreminder" / "heupreminder.db").exists()


def test_first_run_logs_the_next_reminder_due(tmp_path: Path) -> None:
    env, config = fresh_home(tmp_path), example_config(tmp_path)
    log = tmp_path / "service.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "heupreminder", "run", "--config", str(config)],
            stdout=out, stderr=subprocess.STDOUT, env=env)
        try:
            deadline = time.monotonic() + 60
            while "next reminder:" not in log.read_text():
                assert time.monotonic() < deadline, log.read_text()
                assert process.poll() is None, log.read_text()
                time.sleep(0.1)
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=20) == 0
        finally:
            if process.poll() is None:
                process.kill()
    [line] = [x for x in log.read_text().splitlines() if "next reminder:" in x]
    assert "next reminder: anna, " in line and "(Europe/Amsterdam), in " in line
    text = log.read_text()
    assert text.index("heupreminder ready") < text.index("next reminder:")


@pytest.mark.parametrize(("delta", "words"), [
    (timedelta(seconds=-1), "now"),
    (timedelta(seconds=30), "in under a minute"),
    (timedelta(minutes=12, seconds=59), "in 12 min"),
    (timedelta(hours=5, minutes=12), "in 5 h 12 min"),
    (timedelta(hours=5), "in 5 h"),
    (timedelta(days=2, hours=3, minutes=4), "in 2 d 3 h"),
])
def test_time_until_in_words(delta: timedelta, words: str) -> None:
    assert time_until(delta) == words


def test_next_reminder_names_who_what_and_when(tmp_path: Path) -> None:
    from heupreminder.upcoming import NOTHING_DUE, next_reminder
    from tests.helpers import load, migrated, person_config, routine

    now = datetime(2026, 11, 30, 12, 48, tzinfo=UTC)  # 13:48 in Amsterdam
    settings = load(tmp_path, person_config(
        database_url=f"sqlite:///{tmp_path / 'h.db'}", channels={"log": "console://"},
        locale="en", routines=routine("bridge", at="18:00")))
    sessions = migrated(settings, now)
    with sessions() as session:
        assert next_reminder(session, now) == (
            "next reminder: anna, Morning bridge, Mon 30 Nov 18:00 (Europe/Amsterdam), "
            "in 4 h 12 min")
    (tmp_path / "empty").mkdir()
    empty = load(tmp_path / "empty", person_config(
        database_url=f"sqlite:///{tmp_path / 'e.db'}", channels={"log": "console://"},
        routines=""))
    with migrated(empty, now)() as session:
        assert next_reminder(session, now) == NOTHING_DUE
