"""A stand-in for Home Assistant on the real Mosquitto broker: it subscribes to a
test's own discovery prefix and base topic, keeps the latest message of every
topic, publishes commands, and clears every retained message it saw at the end
(each test has its own prefixes, so tests never see each other's messages)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

BROKER_HOST, BROKER_PORT = "127.0.0.1", 1883


@dataclass
class Watcher:
    discovery_prefix: str
    base_topic: str
    client: mqtt.Client
    latest: dict[str, bytes] = field(default_factory=dict)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, condition: Callable[[], object], timeout: float = 30.0) -> None:
        """Wait (bounded) until `condition()` is true, re-checked on every message."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while not condition():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out; topics seen: {sorted(self.latest)}")
                self.changed.wait(min(left, 0.5))

    def text(self, topic: str) -> str | None:
        payload = self.latest.get(topic)
        return None if payload is None else payload.decode()

    def json(self, topic: str) -> Any:
        payload = self.latest.get(topic)
        return json.loads(payload) if payload else None

    def configs(self) -> dict[str, dict[str, Any]]:
        """Every discovery config seen (non-empty), by topic."""
        return {topic: json.loads(payload) for topic, payload in self.latest.items()
                if topic.startswith(self.discovery_prefix + "/") and topic.endswith("/config")
                and payload}

    def publish(self, topic: str, payload: str | bytes, *, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)


@contextmanager
def watcher() -> Iterator[Watcher]:
    tag = uuid.uuid4().hex[:10]
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-ha-{tag}")
    seen = Watcher(discovery_prefix=f"ha-test-{tag}", base_topic=f"heup-test-{tag}",
                   client=client)
    subscribed = threading.Event()

    def on_message(_c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        with seen.changed:
            seen.latest[message.topic] = bytes(message.payload)
            seen.changed.notify_all()

    client.on_message = on_message
    client.on_subscribe = lambda *_args: subscribed.set()
    client.connect(BROKER_HOST, BROKER_PORT)
    client.loop_start()
    client.subscribe([(f"{seen.discovery_prefix}/#", 1), (f"{seen.base_topic}/#", 1)])
    assert subscribed.wait(10), "the broker did not confirm the subscription"
    try:
        yield seen
    finally:
        for topic, payload in list(seen.latest.items()):
            if payload:  # clear what may be retained; an empty retained message deletes it
                client.publish(topic, b"", qos=1, retain=True).wait_for_publish(10)
        client.disconnect()
        client.loop_stop()
