"""End to end: the real `heupreminder run` process, a real SMTP server and a
real HTTP receiver on loopback, a routine due a few seconds from now."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text

from heupreminder.catalog import STOP_IF_IT_HURTS, get_entry
from heupreminder.delivery.messages import steps_as_lines
from tests.helpers import person_config, routine
from tests.receivers import HttpInbox, SmtpInbox, free_port, text_of

PASSWORD = "Sup3r-Secret-Mail-Pw"
ZONE = ZoneInfo("Europe/Amsterdam")


def wait_until(condition: Callable[[], object], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.1)


def heupreminder(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "heupreminder", *args], capture_output=True,
                          text=True, timeout=60, env=env)


@contextmanager
def service(config: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "heupreminder", "--log-level", "debug", "run",
             "--config", str(config)], stdout=out, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def due_after_ready(process: subprocess.Popen[bytes], log: Path,
                    rewrite: Callable[[], object]) -> None:
    """Start the clock at the service's own ready signal, not at process start.

    The service starts with its routine an hour away; once it logs "ready",
    `rewrite` puts the routine a few seconds ahead and SIGHUP loads it, so a
    slow start on a busy machine cannot make the reminder due before the
    service is listening (it then waits for tomorrow).
    """
    wait_until(lambda: "heupreminder ready" in log.read_text())
    rewrite()
    process.send_signal(signal.SIGHUP)
    wait_until(lambda: "config reloaded" in log.read_text())


def write_config(tmp_path: Path, database_url: str, smtp: SmtpInbox, receiver: HttpInbox,
                 due_in: float = 4.0, locale: str = "nl") -> Path:
    due = (datetime.now(ZONE) + timedelta(seconds=due_in)).strftime("%H:%M:%S")
    mail = (f"mailto://heup:{PASSWORD}@127.0.0.1:{smtp.port}"
            f"?from=heup@example.org&to=anna@example.org&mode=insecure")
    body = person_config(
        database_url=database_url, locale=locale,
        channels={"mail": mail, "phone": receiver.url},
        routines=routine("bridge", at=due))
    path = tmp_path / "heupreminder.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_reminder_arrives_by_email_and_push_and_is_recorded(
        tmp_path: Path, database_url: str, smtp: SmtpInbox, receiver: HttpInbox) -> None:
    config = write_config(tmp_path, database_url, smtp, receiver, due_in=3600)
    log = tmp_path / "service.log"
    with service(config, log) as process:
        due_after_ready(process, log, lambda: write_config(
            tmp_path, database_url, smtp, receiver, due_in=6))
        wait_until(lambda: smtp.messages and receiver.posts)
        time.sleep(1.5)  # anything doubled would arrive now
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0

    bridge = get_entry("bridge")
    assert bridge is not None
    [mail] = smtp.messages
    assert mail["Subject"] == bridge.title("nl")
    assert mail["To"] == "anna@example.org"
    body = steps_as_lines("bridge", bridge.body("nl"))  # what compose() sends
    assert text_of(mail).splitlines() == body.splitlines()  # every line kept
    assert STOP_IF_IT_HURTS["nl"] in text_of(mail)
    assert smtp.logins == [("heup", PASSWORD)]
    [push] = receiver.posts
    assert (push["title"], push["message"]) == (bridge.title("nl"), body)

    engine = create_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT o.status, d.channel, d.status FROM occurrences o "
            "JOIN deliveries d ON d.occurrence_id = o.id ORDER BY d.channel")).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [("sent", "mail", "sent"), ("sent", "phone", "sent")]

    output = log.read_text()
    assert "heupreminder stopped" in output
    assert PASSWORD not in output  # even at DEBUG

    status = heupreminder("status", "--json", "--config", str(config))
    assert status.returncode == 0, status.stderr
    [person] = json.loads(status.stdout)
    [routine] = person["routines"]
    assert routine["routine"] == "bridge" and routine["last_status"] == "sent"
    assert PASSWORD not in status.stdout + status.stderr


def test_english_person_gets_english_text(
        tmp_path: Path, database_url: str, smtp: SmtpInbox, receiver: HttpInbox) -> None:
    config = write_config(tmp_path, database_url, smtp, receiver, due_in=3600, locale="en")
    log = tmp_path / "service.log"
    with service(config, log) as process:
        due_after_ready(process, log, lambda: write_config(
            tmp_path, database_url, smtp, receiver, due_in=6, locale="en"))
        wait_until(lambda: smtp.messages)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    bridge = get_entry("bridge")
    assert bridge is not None
    assert smtp.messages[0]["Subject"] == bridge.title("en")
    assert STOP_IF_IT_HURTS["en"] in text_of(smtp.messages[0])


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stops_cleanly_on_signal(tmp_path: Path, signum: int, smtp: SmtpInbox,
                                 receiver: HttpInbox) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'h.db'}", smtp, receiver,
                          due_in=3600)
    log = tmp_path / "service.log"
    with service(config, log) as process:
        wait_until(lambda: "heupreminder ready" in log.read_text())
        process.send_signal(signum)
        assert process.wait(timeout=20) == 0
    assert "heupreminder stopped" in log.read_text()


def test_send_test_reports_per_channel(tmp_path: Path, smtp: SmtpInbox,
                                       receiver: HttpInbox) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'h.db'}", smtp, receiver)
    result = heupreminder("send-test", "anna", "--config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "mail" in result.stdout and "phone" in result.stdout and "ok" in result.stdout
    assert PASSWORD not in result.stdout + result.stderr
    assert len(smtp.messages) == 1 and len(receiver.posts) == 1
    assert "heupreminder" in text_of(smtp.messages[0])

    receiver.status = 500
    failed = heupreminder("send-test", "anna", "--config", str(config))
    assert failed.returncode == 1 and "FAILED" in failed.stdout
    unknown = heupreminder("send-test", "bert", "--config", str(config))
    assert unknown.returncode == 2 and "no person 'bert'" in unknown.stderr


def test_readme_quick_start_config_runs(tmp_path: Path) -> None:
    """The example config starts on a fresh machine with no setup at all."""
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    env.pop("HEUPREMINDER_DATABASE_URL", None)
    example = (repo / "config" / "heupreminder.example.toml").read_text(encoding="utf-8")
    assert 'listen = "127.0.0.1:8765"' in example
    config = tmp_path / "example.toml"  # the example, on a port no other test uses
    config.write_text(example.replace("8765", str(free_port())), encoding="utf-8")
    log = tmp_path / "service.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "heupreminder", "run", "--config", str(config)],
            stdout=out, stderr=subprocess.STDOUT, env=env)
        try:
            wait_until(lambda: "heupreminder ready" in log.read_text())
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=20) == 0
        finally:
            if process.poll() is None:
                process.kill()
    assert (tmp_path / "data" / "heupreminder" / "heupreminder.db").exists()


def test_a_web_port_in_use_stops_the_start_before_ready(tmp_path: Path,
                                                        database_url: str) -> None:
    """The port is taken before "ready" although the pages load after it: a port in
    use is still exit 1 with a plain message, and never a "ready"."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "heupreminder.toml"
        config.write_text(person_config(database_url=database_url,
                                        channels={"log": "console://"},
                                        routines=routine("bridge", at="07:30"),
                                        listen=f"127.0.0.1:{port}"), encoding="utf-8")
        result = heupreminder("run", "--config", str(config))
    assert result.returncode == 1, result.stderr
    assert "heupreminder: cannot start:" in result.stderr
    assert "Address already in use" in result.stderr
    assert "heupreminder ready" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
