"""Home Assistant over MQTT discovery, against the real Mosquitto broker on this machine,
on SQLite and PostgreSQL: the bridge runs in-process; a stand-in for Home Assistant
(tests/mqtt_watcher.py) reads what it publishes and presses its buttons."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from heupreminder.config import Settings
from heupreminder.db.models import CheckIn, Occurrence, PainReport, Routine, utcnow
from heupreminder.db.sync import sync_config
from heupreminder.homeassistant.bridge import HomeAssistantBridge
from heupreminder.pain.decisions import pause_by_hand, resume_by_hand
from tests.helpers import load, migrated, person_config
from tests.mqtt_watcher import BROKER_HOST, BROKER_PORT, Watcher, watcher

ROUTINES = """
[[people.routines]]
exercise = "bridge"
at = "07:30"

[[people.routines]]
exercise = "magnesium"
at = "21:00"
"""


def settings_for(tmp_path: Path, database_url: str, ha: Watcher, locale: str = "nl",
                 credentials: str = "") -> Settings:
    text = person_config(
        database_url=database_url, channels={"console": "console://"}, routines=ROUTINES,
        locale=locale,
        extra=(f'[mqtt]\nurl = "mqtt://{credentials}{BROKER_HOST}:{BROKER_PORT}"\n'
               f'discovery_prefix = "{ha.discovery_prefix}"\nbase_topic = "{ha.base_topic}"\n'))
    return load(tmp_path, text)


@contextmanager
def bridge_for(settings: Settings,
               sessions: sessionmaker[Session]) -> Iterator[HomeAssistantBridge]:
    bridge = HomeAssistantBridge(sessions, lambda: settings,
                                 client_id=f"test-bridge-{uuid.uuid4().hex[:8]}")
    bridge.start()
    try:
        yield bridge
    finally:
        bridge.stop()


def count(sessions: sessionmaker[Session], model: type[CheckIn] | type[PainReport]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def a_sent_reminder(sessions: sessionmaker[Session], key: str = "bridge") -> int:
    """A bridge reminder that went out an hour ago: what Done answers."""
    with sessions.begin() as session:
        routine = session.scalars(select(Routine).where(Routine.key == key)).one()
        due = utcnow() - timedelta(hours=1)
        occurrence = Occurrence(routine_id=routine.id, due_at=due, send_at=due,
                                deadline=due + timedelta(minutes=30), status="sent",
                                finished_at=due)
        session.add(occurrence)
        session.flush()
        return occurrence.id


@pytest.fixture
def ha() -> Iterator[Watcher]:
    with watcher() as seen:
        yield seen


def test_discovery_payloads_follow_home_assistants_schema(tmp_path: Path, database_url: str,
                                                          ha: Watcher) -> None:
    settings = settings_for(tmp_path, database_url, ha)
    sessions = migrated(settings, utcnow())
    node = f"{ha.base_topic}_anna"
    expected = {
        f"{ha.discovery_prefix}/sensor/{node}/next_reminder/config",
        f"{ha.discovery_prefix}/sensor/{node}/pain_level/config",
        f"{ha.discovery_prefix}/sensor/{node}/adherence/config",
        f"{ha.discovery_prefix}/binary_sensor/{node}/paused/config",
        f"{ha.discovery_prefix}/sensor/{node}/pause_reason/config",
        f"{ha.discovery_prefix}/number/{node}/log_pain/config",
        f"{ha.discovery_prefix}/button/{node}/done_bridge/config",
        f"{ha.discovery_prefix}/button/{node}/done_magnesium/config",
    }
    state_topic = f"{ha.base_topic}/anna/state"
    availability = f"{ha.base_topic}/status"
    with bridge_for(settings, sessions):
        ha.wait_for(lambda: expected <= set(ha.configs()) and state_topic in ha.latest
                    and ha.text(availability) == "online")
        configs = ha.configs()
        assert set(configs) == expected
        assert len({c["unique_id"] for c in configs.values()}) == len(expected)
        for topic, config in configs.items():
            assert config["device"]["identifiers"] == [node], topic
            assert config["device"]["name"] == "Anna"
            assert config["origin"]["name"] == "heupreminder"
            assert config["availability"] == [{"topic": availability, "payload_available":
                                               "online", "payload_not_available": "offline"}]
            assert config["name"], topic
            if "/button/" in topic or "/number/" in topic:
                assert config["command_topic"].startswith(ha.base_topic + "/anna/")
                assert config["retain"] is False
            if "/button/" not in topic:
                assert config["state_topic"] == state_topic
                assert config["value_template"].startswith("{{")
        next_reminder = configs[f"{ha.discovery_prefix}/sensor/{node}/next_reminder/config"]
        assert next_reminder["device_class"] == "timestamp"
        assert next_reminder["name"] == "Volgende herinnering"  # Anna's language
        pain = configs[f"{ha.discovery_prefix}/number/{node}/log_pain/config"]
        assert (pain["min"], pain["max"], pain["step"]) == (0, 10, 1)
        assert pain["command_topic"] == f"{ha.base_topic}/anna/pain/set"
        done = configs[f"{ha.discovery_prefix}/button/{node}/done_bridge/config"]
        assert done["command_topic"] == f"{ha.base_topic}/anna/routine/bridge/done"
        assert done["payload_press"] == "PRESS"
        assert done["name"].endswith(": gedaan")
        paused = configs[f"{ha.discovery_prefix}/binary_sensor/{node}/paused/config"]
        assert (paused["payload_on"], paused["payload_off"]) == ("ON", "OFF")
        state = ha.json(state_topic)
        assert datetime.fromisoformat(state["next_reminder"]).tzinfo is not None
        assert state["paused"] is False and state["pause_reason"] is None
        assert state["pain_level"] is None and state["adherence"] is None
    # A clean stop says offline itself (a clean DISCONNECT sends no will).
    ha.wait_for(lambda: ha.text(availability) == "offline")


def test_done_and_pain_over_mqtt_change_the_database_exactly_once(
        tmp_path: Path, database_url: str, ha: Watcher) -> None:
    settings = settings_for(tmp_path, database_url, ha, locale="en")
    sessions = migrated(settings, utcnow())
    reminder = a_sent_reminder(sessions)
    state_topic = f"{ha.base_topic}/anna/state"
    with bridge_for(settings, sessions):
        ha.wait_for(lambda: ha.json(state_topic) is not None)
        done = f"{ha.base_topic}/anna/routine/bridge/done"
        ha.publish(done, "PRESS")
        ha.publish(done, "PRESS")  # pressed twice for the same reminder
        ha.publish(f"{ha.base_topic}/anna/pain/set", "5.0")  # as Home Assistant's number sends
        # Commands are handled in order: once pain is in, both presses were handled.
        ha.wait_for(lambda: (ha.json(state_topic) or {}).get("pain_level") == 5)
    with sessions() as session:
        checkins = session.scalars(select(CheckIn)).all()
        assert [(c.occurrence_id, c.outcome, c.source) for c in checkins] == [
            (reminder, "done", "mqtt")]
        reports = session.scalars(select(PainReport)).all()
        assert [(r.level, r.source) for r in reports] == [(5, "mqtt")]


def test_bad_command_payloads_are_logged_and_write_nothing(
        tmp_path: Path, database_url: str, ha: Watcher, caplog: pytest.LogCaptureFixture) -> None:
    settings = settings_for(tmp_path, database_url, ha)
    sessions = migrated(settings, utcnow())
    a_sent_reminder(sessions)
    pain = f"{ha.base_topic}/anna/pain/set"
    done = f"{ha.base_topic}/anna/routine/bridge/done"
    bad = [(pain, b"11"), (pain, b"-1"), (pain, b"5.5"), (pain, b"five"), (pain, b""),
           (pain, b"\xff\xfe"), (pain, b"1" * 500), (pain, "\u0665".encode()),
           (done, b"press"), (done, b"1"), (f"{ha.base_topic}/nobody/pain/set", b"3"),
           (f"{ha.base_topic}/anna/routine/no-such-routine/done", b"PRESS")]
    caplog.set_level(logging.WARNING, logger="heupreminder.homeassistant.bridge")
    # Retained by the broker: handed over at every (re)subscribe, so never acted on.
    ha.publish(pain, "6", retain=True)
    with bridge_for(settings, sessions):
        ha.wait_for(lambda: "ignored a retained message" in caplog.text)
        for topic, payload in bad:
            ha.publish(topic, payload)
        ha.wait_for(lambda: caplog.text.count("refused, nothing written") >= len(bad))
    assert count(sessions, PainReport) == 0
    assert count(sessions, CheckIn) == 0
    assert "is not between 0 and 10" in caplog.text
    assert "has no routine 'no-such-routine'" in caplog.text
    assert caplog.text.count("refused, nothing written") == len(bad)


def test_state_topics_follow_a_pause_and_a_resume(tmp_path: Path, database_url: str,
                                                  ha: Watcher) -> None:
    settings = settings_for(tmp_path, database_url, ha, locale="en")
    sessions = migrated(settings, utcnow())
    state_topic = f"{ha.base_topic}/anna/state"

    def state() -> dict[str, object]:
        return ha.json(state_topic) or {}

    with bridge_for(settings, sessions):
        ha.wait_for(lambda: state().get("paused") is False)
        before = state()["next_reminder"]
        # Written as `heupreminder pause anna` would, from another process: found by the
        # change watch, not told.
        with sessions.begin() as session:
            pause_by_hand(session, "anna", None, until=None, now=utcnow(), by="cli")
        ha.wait_for(lambda: state().get("paused") is True)
        assert state()["pause_reason"] == "all exercises: paused by hand"
        # Only the supplement (21:00) still comes while the exercises rest.
        paused_next = datetime.fromisoformat(str(state()["next_reminder"]))
        assert paused_next.astimezone(ZoneInfo("Europe/Amsterdam")).strftime("%H:%M") == "21:00"
        with sessions.begin() as session:
            resume_by_hand(session, settings, "anna", None, now=utcnow(), by="cli")
        ha.wait_for(lambda: state().get("paused") is False)
        assert state()["pause_reason"] is None
        assert state()["next_reminder"] == before


def test_mqtt_password_is_a_secret(tmp_path: Path, ha: Watcher,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEUP_MQTT_PASSWORD", "n0t-In-The-Logs")
    settings = settings_for(tmp_path, f"sqlite:///{tmp_path / 'h.db'}", ha,
                            credentials="heup:${HEUP_MQTT_PASSWORD}@")
    assert settings.mqtt_url is not None and "n0t-In-The-Logs" in settings.mqtt_url
    assert "n0t-In-The-Logs" in settings.secrets
    assert "n0t-In-The-Logs" not in repr(settings)


def test_a_routine_or_person_removed_from_the_config_leaves_home_assistant(
        tmp_path: Path, database_url: str, ha: Watcher) -> None:
    settings = settings_for(tmp_path, database_url, ha)
    sessions = migrated(settings, utcnow())
    node = f"{ha.base_topic}_anna"
    magnesium = f"{ha.discovery_prefix}/button/{node}/done_magnesium/config"
    paused = f"{ha.discovery_prefix}/binary_sensor/{node}/paused/config"

    def sync(text: str) -> None:
        with sessions.begin() as session:
            sync_config(session, load(tmp_path, text).config, utcnow())

    with bridge_for(settings, sessions) as bridge:
        ha.wait_for(lambda: magnesium in ha.configs())
        # (cut with all that follows it, [mqtt] too: only the people are synced)
        magnesium_routine = '[[people.routines]]\nexercise = "magnesium"'
        without_magnesium = settings.path.read_text().split(magnesium_routine)[0]
        sync(without_magnesium)
        bridge.notify_all()  # what the service does after a config sync
        ha.wait_for(lambda: ha.latest.get(magnesium) == b"")  # empty retained: removed
        assert paused in ha.configs()
        sync(without_magnesium.replace('id = "anna"', 'id = "bert"'))  # Anna leaves
        bridge.notify_all()
        ha.wait_for(lambda: ha.latest.get(paused) == b""
                    and ha.latest.get(f"{ha.base_topic}/anna/state") == b"")
        assert not [topic for topic in ha.configs() if f"/{node}/" in topic]
