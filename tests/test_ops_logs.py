"""JSON logs: every line of the real service's log is one JSON object, a
delivery names its person and routine, and secrets never get through."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from heupreminder.masking import SecretMasker
from heupreminder.ops.logs import JsonFormatter, _MaskedStreamHandler
from tests.e2e.test_service import due_after_ready
from tests.helpers import person_config, routine
from tests.receivers import HttpInbox

SECRET = "FakeSecret123"


@pytest.fixture
def json_logger() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger wired like the service's root logger: our handler, the masker, JSON."""
    stream = io.StringIO()
    handler = _MaskedStreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(SecretMasker([SECRET]))
    logger = logging.getLogger("heupreminder.test-json")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    try:
        yield logger, stream
    finally:
        logger.removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_line_fields(json_logger: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = json_logger
    logger.info("anna/bridge: reminder %s", "sent", extra={"person": "anna", "routine": "bridge"})
    logger.warning("plain line\nwith a newline")
    first, second = lines(stream)
    assert first.keys() == {"ts", "level", "logger", "message", "person", "routine"}
    assert (first["level"], first["logger"], first["message"]) == (
        "INFO", "heupreminder.test-json", "anna/bridge: reminder sent")
    assert (first["person"], first["routine"]) == ("anna", "bridge")
    ts = datetime.fromisoformat(first["ts"])
    assert ts.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - ts) < timedelta(seconds=10)
    assert "person" not in second and second["message"] == "plain line\nwith a newline"


def test_exceptions_are_a_field_and_masked(json_logger: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = json_logger
    try:
        raise RuntimeError(f"login failed with {SECRET}")
    except RuntimeError:
        logger.exception("sending failed for %s", SECRET)
    [line] = lines(stream)
    assert line["message"] == "sending failed for ****"
    assert line["exc"].startswith("Traceback")
    assert "RuntimeError: login failed with ****" in line["exc"]
    assert SECRET not in stream.getvalue()


def test_text_format_keeps_the_traceback_after_the_message() -> None:
    stream = io.StringIO()
    handler = _MaskedStreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(SecretMasker([SECRET]))
    try:
        raise ValueError(SECRET)
    except ValueError as exc:
        record = logging.makeLogRecord({"msg": "boom", "levelname": "ERROR", "levelno": 40,
                                        "exc_info": (ValueError, exc, exc.__traceback__)})
    handler.handle(record)
    text = stream.getvalue()
    assert text.startswith("ERROR boom\nTraceback") and "ValueError: ****" in text
    assert SECRET not in text


def test_service_logs_json_lines(tmp_path: Path, receiver: HttpInbox) -> None:
    zone = ZoneInfo("Europe/Amsterdam")
    # A channel that fails (the receiver answers 500) with a secret in its URL, which
    # urllib3 quotes at DEBUG ("POST http://.../notify/<secret>"): the masker must catch
    # it. Through a proxy from the environment (the receiver itself), because a proxied
    # channel goes through Apprise and requests; a direct one goes over our own
    # kept-alive client, which never puts a URL in a log line.
    # catch_up = 5s ends the retries soon after the reminder is due.
    receiver.status = 500
    config = tmp_path / "heupreminder.toml"
    hook = f"form://user:${{HOOK_TOKEN}}@127.0.0.1:{receiver.port}/notify/${{HOOK_TOKEN}}"

    def write_config(due_in: timedelta) -> None:
        due = (datetime.now(zone) + due_in).strftime("%H:%M:%S")
        config.write_text(person_config(
            database_url=f"sqlite:///{tmp_path / 'h.db'}", catch_up="5s",
            channels={"log": "console://", "hook": hook},
            routines=routine("bridge", at=due)),
            encoding="utf-8")

    write_config(timedelta(hours=1))
    env = {**os.environ, "HOOK_TOKEN": SECRET, "http_proxy": f"http://127.0.0.1:{receiver.port}",
           "no_proxy": ""}
    env.pop("HEUPREMINDER_DATABASE_URL", None)
    env.pop("NO_PROXY", None)
    stderr = tmp_path / "stderr.log"
    with stderr.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "heupreminder", "--log-level", "debug", "--log-format", "json",
             "run", "--config", str(config)],
            stdout=subprocess.PIPE, stderr=err, env=env)
        try:
            # Due 3 s after the service is ready, so a slow start cannot make it late.
            due_after_ready(process, stderr, lambda: write_config(timedelta(seconds=3)))
            deadline = time.monotonic() + 40
            while "reminder failed" not in stderr.read_text() \
                    and "reminder sent" not in stderr.read_text():
                assert time.monotonic() < deadline, stderr.read_text()
                time.sleep(0.1)
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=20) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        assert process.stdout is not None
        assert process.stdout.read() == b""

    output = stderr.read_text(encoding="utf-8")
    records = []
    for number, line in enumerate(output.splitlines(), 1):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"line {number} is not JSON: {line!r}")
    assert records
    for record in records:
        assert {"ts", "level", "logger", "message"} <= record.keys()
        assert datetime.fromisoformat(record["ts"]).utcoffset() == timedelta(0)
    [delivery] = [r for r in records if "reminder sent" in r["message"]]
    assert (delivery["person"], delivery["routine"]) == ("anna", "bridge")
    assert "log ok" in delivery["message"] and "hook failed" in delivery["message"]
    assert any(r["logger"] == "heupreminder.console" and "Ochtendbrug" in r["message"]
               for r in records)
    assert any(r["message"] == "heupreminder stopped" for r in records)
    assert any("/notify/**** " in r["message"] for r in records), "masker not applied"
    assert SECRET not in output
