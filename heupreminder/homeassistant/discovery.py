"""Home Assistant's MQTT discovery payloads for a person, as pure data.

Contract: `person_messages(state, topics)` returns every retained message that
describes the person's device: each entity's discovery config and the state
they all read, as {topic: payload}. An inactive person gets empty payloads on
those topics, which is how Home Assistant removes a device. Nothing here talks
to a broker or the database, so the payloads are checked without either.

Conventions followed (Home Assistant's MQTT discovery):
- topic `<discovery_prefix>/<component>/<node_id>/<object_id>/config`, retained;
- every entity has a `unique_id`, the person's `device` (so one device per
  person) and `origin`; entity names are the entity's own (Home Assistant puts
  the device name in front), in the person's language;
- one retained JSON state topic per person, each entity picking its value with
  a `value_template`; a JSON null renders as "None", which Home Assistant shows
  as unknown;
- availability through the bridge's last-will topic (`online` / `offline`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from heupreminder.homeassistant.state import PersonState
from heupreminder.locales import shipped_locale

ONLINE, OFFLINE = "online", "offline"
PRESS = "PRESS"
# A routine key or person id in a topic level: slugs already, but never a wildcard or "/".
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
# Home Assistant keeps a state of at most 255 characters.
MAX_STATE_LENGTH = 255

_WORDS: dict[str, dict[str, str]] = {
    "nl": {"model": "Heupherinneringen", "next_reminder": "Volgende herinnering",
           "pain_level": "Laatste pijn", "adherence": "Gedaan deze week",
           "paused": "Oefeningen gepauzeerd", "pause_reason": "Reden van de pauze",
           "log_pain": "Pijn melden", "done": "{title}: gedaan"},
    "en": {"model": "Hip reminders", "next_reminder": "Next reminder",
           "pain_level": "Last pain level", "adherence": "Done this week",
           "paused": "Exercises paused", "pause_reason": "Why paused",
           "log_pain": "Log pain", "done": "{title}: done"},
}


def safe_level(text: str) -> str:
    """`text` usable as one topic level and in an object id."""
    return _UNSAFE.sub("_", text)


@dataclass(frozen=True)
class Topics:
    """Where everything lives, from `[mqtt] discovery_prefix` and `base_topic`."""

    discovery_prefix: str
    base_topic: str

    @property
    def availability(self) -> str:
        return f"{self.base_topic}/status"

    @property
    def done_commands(self) -> str:
        """Subscription for every person's Done buttons."""
        return f"{self.base_topic}/+/routine/+/done"

    @property
    def pain_commands(self) -> str:
        return f"{self.base_topic}/+/pain/set"

    @property
    def homeassistant_status(self) -> str:
        """Home Assistant says `online` here when it (re)starts."""
        return f"{self.discovery_prefix}/status"

    def state(self, person_id: str) -> str:
        return f"{self.base_topic}/{safe_level(person_id)}/state"

    def done(self, person_id: str, routine_key: str) -> str:
        return f"{self.base_topic}/{safe_level(person_id)}/routine/{safe_level(routine_key)}/done"

    def pain(self, person_id: str) -> str:
        return f"{self.base_topic}/{safe_level(person_id)}/pain/set"

    def node_id(self, person_id: str) -> str:
        return safe_level(f"{self.base_topic}_{person_id}")

    def config(self, component: str, person_id: str, object_id: str) -> str:
        return (f"{self.discovery_prefix}/{component}/{self.node_id(person_id)}/"
                f"{safe_level(object_id)}/config")

    def command(self, topic: str) -> Command | None:
        """What a command topic asks, or None if it is not one of ours."""
        levels = topic.split("/")
        base = self.base_topic.split("/")
        if levels[:len(base)] != base:
            return None
        rest = levels[len(base):]
        if len(rest) == 4 and rest[1] == "routine" and rest[3] == "done":
            return Command(person_level=rest[0], action="done", routine_level=rest[2])
        if len(rest) == 3 and rest[1:] == ["pain", "set"]:
            return Command(person_level=rest[0], action="pain")
        return None


@dataclass(frozen=True)
class Command:
    """A command topic taken apart; the levels are as safe_level() wrote them."""

    person_level: str
    action: str  # done | pain
    routine_level: str | None = None


def button_routines(state: PersonState) -> list[str]:
    """The routines that get a Done button: a tip is read, not done."""
    return [r.key for r in state.routines if r.kind != "tip"]


def person_messages(state: PersonState, topics: Topics,
                    known_routines: tuple[str, ...] = ()) -> dict[str, str]:
    """Every retained message for the person's device (see the module docstring).

    `known_routines`: routine keys that may have had a button before (inactive ones);
    their discovery topics are cleared unless the routine still has a button.
    """
    configs = _configs(state, topics) if state.active else {}
    messages = {topic: json.dumps(payload, sort_keys=True) for topic, payload in configs.items()}
    for topic in _all_config_topics(state, topics, known_routines):
        messages.setdefault(topic, "")  # empty retained: Home Assistant removes it
    messages[topics.state(state.person_id)] = (
        json.dumps(state_payload(state), sort_keys=True) if state.active else "")
    return messages


def state_payload(state: PersonState) -> dict[str, Any]:
    """The JSON on the person's state topic; the entities' templates read it."""
    return {
        "next_reminder": _iso(state.next_reminder),
        "next_routine": state.next_routine,
        "pain_level": state.pain_level,
        "pain_at": _iso(state.pain_at),
        "adherence": state.adherence_percent,
        "done": state.done_this_week,
        "planned": state.planned_this_week,
        "paused": state.paused,
        "pause_reason": state.pause_reason[:MAX_STATE_LENGTH] if state.pause_reason else None,
        "paused_since": _iso(state.paused_since),
        "paused_until": _iso(state.paused_until),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None


def _all_config_topics(state: PersonState, topics: Topics,
                       known_routines: tuple[str, ...]) -> list[str]:
    fixed = [("sensor", "next_reminder"), ("sensor", "pain_level"), ("sensor", "adherence"),
             ("binary_sensor", "paused"), ("sensor", "pause_reason"), ("number", "log_pain")]
    routines = {*known_routines, *(r.key for r in state.routines)}
    return ([topics.config(component, state.person_id, object_id)
             for component, object_id in fixed]
            + [topics.config("button", state.person_id, f"done_{key}")
               for key in sorted(routines)])


def _configs(state: PersonState, topics: Topics) -> dict[str, dict[str, Any]]:
    words = _WORDS[shipped_locale(state.locale)]
    node = topics.node_id(state.person_id)
    state_topic = topics.state(state.person_id)

    def entity(object_id: str, **config: Any) -> dict[str, Any]:
        return {
            "name": words.get(object_id, object_id),
            "unique_id": f"{node}_{safe_level(object_id)}",
            "device": {"identifiers": [node], "name": state.name, "manufacturer": "heupreminder",
                       "model": words["model"], "sw_version": _version()},
            "origin": {"name": "heupreminder", "sw_version": _version()},
            "availability": [{"topic": topics.availability, "payload_available": ONLINE,
                              "payload_not_available": OFFLINE}],
            **config,
        }

    reads = {"state_topic": state_topic, "json_attributes_topic": state_topic}
    configs = {
        topics.config("sensor", state.person_id, "next_reminder"): entity(
            "next_reminder", device_class="timestamp", icon="mdi:calendar-clock",
            value_template="{{ value_json.next_reminder }}",
            json_attributes_template="{{ {'routine': value_json.next_routine} | tojson }}",
            **reads),
        topics.config("sensor", state.person_id, "pain_level"): entity(
            "pain_level", state_class="measurement", unit_of_measurement="/10",
            icon="mdi:emoticon-sick-outline", value_template="{{ value_json.pain_level }}",
            json_attributes_template="{{ {'at': value_json.pain_at} | tojson }}", **reads),
        topics.config("sensor", state.person_id, "adherence"): entity(
            "adherence", state_class="measurement", unit_of_measurement="%",
            icon="mdi:check-circle-outline", value_template="{{ value_json.adherence }}",
            json_attributes_template=("{{ {'done': value_json.done, "
                                      "'planned': value_json.planned} | tojson }}"), **reads),
        topics.config("binary_sensor", state.person_id, "paused"): entity(
            "paused", icon="mdi:pause-circle-outline", payload_on="ON", payload_off="OFF",
            value_template="{{ 'ON' if value_json.paused else 'OFF' }}",
            json_attributes_template=("{{ {'reason': value_json.pause_reason, "
                                      "'since': value_json.paused_since, "
                                      "'until': value_json.paused_until} | tojson }}"),
            **reads),
        topics.config("sensor", state.person_id, "pause_reason"): entity(
            "pause_reason", icon="mdi:information-outline",
            value_template="{{ value_json.pause_reason }}", state_topic=state_topic),
        topics.config("number", state.person_id, "log_pain"): entity(
            "log_pain", icon="mdi:emoticon-sick-outline", min=0, max=10, step=1,
            mode="slider", command_topic=topics.pain(state.person_id), retain=False,
            state_topic=state_topic, value_template="{{ value_json.pain_level }}"),
    }
    for routine in state.routines:
        if routine.key not in button_routines(state):
            continue
        object_id = f"done_{routine.key}"
        config = entity(object_id, icon="mdi:check", payload_press=PRESS, retain=False,
                        command_topic=topics.done(state.person_id, routine.key))
        config["name"] = words["done"].format(title=routine.title)
        configs[topics.config("button", state.person_id, object_id)] = config
    return configs


@cache
def _version() -> str:
    try:
        return version("heupreminder")
    except PackageNotFoundError:
        return "unknown"
