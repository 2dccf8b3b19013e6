"""/healthz and /metrics on the running service, after a real delivery."""

from __future__ import annotations

import json
import signal
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.e2e.test_service import due_after_ready, service, wait_until
from tests.helpers import person_config, routine
from tests.receivers import HttpInbox, free_port

SECRET = "MetricsMustNotShowThis99"


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_health_and_metrics_of_the_running_service(tmp_path: Path, receiver: HttpInbox) -> None:
    port = free_port()
    secret_url = receiver.url.replace("json://", f"json://user:{SECRET}@")
    config = tmp_path / "heupreminder.toml"

    def write_config(due_in: timedelta) -> None:
        due = (datetime.now(ZoneInfo("Europe/Amsterdam")) + due_in).strftime("%H:%M:%S")
        config.write_text(person_config(
            database_url=f"sqlite:///{tmp_path / 'h.db'}", listen=f"127.0.0.1:{port}",
            channels={"phone": secret_url},
            routines=routine("bridge", at=due)), encoding="utf-8")

    write_config(timedelta(hours=1))
    log = tmp_path / "service.log"
    with service(config, log) as process:
        due_after_ready(process, log, lambda: write_config(timedelta(seconds=3)))
        wait_until(lambda: receiver.posts)
        status, body = get(f"http://127.0.0.1:{port}/healthz")
        assert status == 200, body
        health = json.loads(body)
        assert health["status"] == "ok" and health["database"] == "ok"
        assert health["last_tick_age_seconds"] is not None
        assert health["last_tick_age_seconds"] < 5

        wait_until(lambda: 'status="sent"' in get(f"http://127.0.0.1:{port}/metrics")[1])
        _, metrics = get(f"http://127.0.0.1:{port}/metrics")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0

    assert 'heupreminder_reminders_total{channel_type="json",status="sent"} 1.0' in metrics, metrics
    assert 'heupreminder_delivery_latency_seconds_count{channel_type="json"} 1.0' in metrics
    assert "heupreminder_due_backlog 0.0" in metrics
    assert "heupreminder_paused_routines 0.0" in metrics
    assert SECRET not in metrics and SECRET not in log.read_text()
