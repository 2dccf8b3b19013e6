"""End to end: pain logged through the API twice, a day apart, pauses the
person's exercises in the running service: the next bridge reminder is not
sent, the rest message arrives by email, and `status` says why."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, text

from tests.e2e.test_service import service, wait_until
from tests.helpers import added_a_week_ago, person_config, routine
from tests.receivers import SmtpInbox, free_port, text_of

ZONE = ZoneInfo("Europe/Amsterdam")


def post(url: str, token: str, body: dict[str, object]) -> dict[str, object]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
        result: dict[str, object] = json.loads(response.read())
        return result


def cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "heupreminder", *args, "--config", str(config)],
                          capture_output=True, text=True, timeout=60)


def test_persisting_pain_pauses_and_the_rest_message_arrives(
        tmp_path: Path, database_url: str, smtp: SmtpInbox) -> None:
    port = free_port()
    due = (datetime.now(ZONE) + timedelta(seconds=12)).strftime("%H:%M:%S")
    mail = (f"mailto://127.0.0.1:{smtp.port}?from=heup@example.org&to=anna@example.org"
            "&mode=insecure")
    config = tmp_path / "heupreminder.toml"
    config.write_text(person_config(
        database_url=database_url, locale="en", channels={"mail": mail},
        listen=f"127.0.0.1:{port}",
        routines=routine("bridge", at=due)), encoding="utf-8")
    log = tmp_path / "service.log"
    with service(config, log) as process:
        wait_until(lambda: "heupreminder ready" in log.read_text())
        token = cli(config, "token", "anna").stdout.strip()
        assert token.startswith("heup_")
        api = f"http://127.0.0.1:{port}/api/v1/pain"
        added_a_week_ago(database_url)
        yesterday = (datetime.now(UTC) - timedelta(hours=25)).isoformat()
        post(api, token, {"level": 5, "where": "outer", "at": yesterday})
        result = post(api, token, {"level": 6, "where": "outer"})
        assert [d["action"] for d in result["decisions"]] == ["pause"]  # type: ignore[index,union-attr]

        wait_until(lambda: smtp.messages, timeout=20)
        engine = create_engine(database_url)

        def bridge_status() -> str | None:
            with engine.connect() as connection:
                return connection.execute(text("SELECT status FROM occurrences")).scalar()

        wait_until(lambda: bridge_status() == "skipped", timeout=30)
        with engine.connect() as connection:
            reason = connection.execute(text("SELECT reason FROM occurrences")).scalar_one()
        engine.dispose()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0

    [rest] = smtp.messages  # the rest message, and no bridge reminder
    body = " ".join(text_of(rest).split())
    assert "rest" in (rest["Subject"] + body).lower()
    assert "day after" in body.lower()
    assert reason.startswith("paused:")

    status = cli(config, "status")
    assert status.returncode == 0
    assert "PAUSED all exercises" in status.stdout
    assert "reports" in status.stdout  # the reason names the reports that triggered it
