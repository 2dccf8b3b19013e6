"""End to end: the real `heupreminder run` process with [mqtt] on the real Mosquitto
broker. A reminder sent moves the device's state, a pause from the CLI (another
process) reaches it, and a killed service is marked offline by the broker's will."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.e2e.test_service import ZONE, due_after_ready, heupreminder, service
from tests.helpers import person_config, routine
from tests.mqtt_watcher import BROKER_HOST, BROKER_PORT, Watcher, watcher

MQTT_PASSWORD = "Mqtt-Pw-Never-Logged-42"


@pytest.fixture
def ha() -> Iterator[Watcher]:
    with watcher() as seen:
        yield seen


def write_config(tmp_path: Path, database_url: str, ha: Watcher, due_in: float) -> Path:
    due = (datetime.now(ZONE) + timedelta(seconds=due_in)).strftime("%H:%M:%S")
    body = person_config(
        database_url=database_url, channels={"console": "console://"},
        routines=routine("bridge", at=due),
        extra=(f'[mqtt]\nurl = "mqtt://heup:{MQTT_PASSWORD}@{BROKER_HOST}:{BROKER_PORT}"\n'
               f'discovery_prefix = "{ha.discovery_prefix}"\nbase_topic = "{ha.base_topic}"\n'))
    path = tmp_path / "heupreminder.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_service_publishes_changes_and_its_will_says_offline_when_killed(
        tmp_path: Path, database_url: str, ha: Watcher) -> None:
    config = write_config(tmp_path, database_url, ha, due_in=3600)
    log = tmp_path / "service.log"
    state_topic = f"{ha.base_topic}/anna/state"
    availability = f"{ha.base_topic}/status"

    def state() -> dict[str, object]:
        return ha.json(state_topic) or {}

    with service(config, log) as process:
        ha.wait_for(lambda: ha.text(availability) == "online" and state(), timeout=60)
        assert state()["planned"] == 0
        # The reminder goes out a few seconds after a reload: the send is recorded and
        # the state follows (this week's adherence: 0 of 1 done).
        due_after_ready(process, log, lambda: write_config(tmp_path, database_url, ha,
                                                           due_in=6))
        ha.wait_for(lambda: state().get("planned") == 1, timeout=60)
        assert state()["adherence"] == 0
        # Paused by the CLI, another process: the service finds it by its change watch.
        paused = heupreminder("pause", "--all", "--config", str(config))
        assert paused.returncode == 0, paused.stderr
        ha.wait_for(lambda: state().get("paused") is True)
        assert ha.text(availability) == "online"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=20)
        # No goodbye from a killed process: the broker publishes the will.
        ha.wait_for(lambda: ha.text(availability) == "offline")
    output = log.read_text()
    assert "Home Assistant: connected to mqtt://127.0.0.1:1883" in output
    assert MQTT_PASSWORD not in output  # even at DEBUG
