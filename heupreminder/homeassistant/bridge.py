"""The MQTT client between the service and Home Assistant.

Contract:
- `start()` connects in the background (paho's own thread reconnects with backoff,
  so a broker that is down delays Home Assistant, never the reminders) and starts
  the publishing worker; `stop()` says `offline`, disconnects and joins it.
- `notify_changed(person_id)`, `notify_all()` and `look_now()` only note what to
  publish and wake the worker: they never block, so the tick, the send pool and
  housekeeping may call them freely.
- What is published is retained (discovery and state) and only when it differs
  from what this connection already published: the broker and Home Assistant see a
  message when something changed, not on a timer.
- The last will (`offline`, retained) marks every entity unavailable when the
  service dies without a goodbye; `online` is published on every connect.

When state is published (no polling of people's state):
- in this process, where a change happens: a command over MQTT, a send recorded,
  housekeeping, a config sync (the service calls in);
- a person's own `stale_at` (their next reminder falls due, a pause runs out, a new
  week starts): a timer per person, kept in a heap;
- by other processes (the CLI, the API's requests, another node): `ChangeWatch`,
  three primary-key range scans every 2 s, the cadence of the service's outbox poll.
  The worker runs it, not the service's tick, so a slow database answer for Home
  Assistant never holds up a reminder.
"""

from __future__ import annotations

import heapq
import logging
import ssl
import threading
from collections.abc import Callable
from datetime import datetime

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from heupreminder.config.broker_url import BrokerUrl, parse_broker_url
from heupreminder.config.loader import Settings
from heupreminder.db.models import Person, Routine, utcnow
from heupreminder.homeassistant.changes import ChangeWatch
from heupreminder.homeassistant.commands import handle_command
from heupreminder.homeassistant.discovery import OFFLINE, ONLINE, Topics, person_messages
from heupreminder.homeassistant.state import read_person
from heupreminder.input_text import InputError, quote

log = logging.getLogger(__name__)

# How often other processes' changes are looked for: the service's outbox poll.
CHANGE_POLL_SECONDS = 2.0
# After a database failure, publishing waits this long before trying again.
RETRY_SECONDS = 5.0
KEEPALIVE_SECONDS = 60
STOP_SECONDS = 3.0  # at most, for the goodbye to reach the broker
QOS = 1  # retained state and discovery: at least once (the same payload again is harmless)


class HomeAssistantBridge:
    def __init__(self, sessions: sessionmaker[Session], settings: Callable[[], Settings],
                 client_id: str, *, clock: Callable[[], datetime] = utcnow) -> None:
        current = settings()
        if current.mqtt_url is None:
            raise ValueError("[mqtt] url is not set")
        self._sessions = sessions
        self._settings = settings
        self._clock = clock
        self._broker = parse_broker_url(current.mqtt_url)
        mqtt_config = current.config.mqtt
        self.topics = Topics(mqtt_config.discovery_prefix, mqtt_config.base_topic)
        self._client = self._make_client(client_id, self._broker)
        self._lock = threading.Lock()  # guards the three below (paho's thread and callers)
        self._pending: set[str] = set()
        self._everyone = False
        self._connected_anew = False  # forget what was published: the broker may have lost it
        self._wake = threading.Event()
        self._stopping = threading.Event()
        # The worker's own (no lock): what this connection published, and when each
        # person's state changes by itself.
        self._published: dict[str, str] = {}
        self._stale_at: dict[str, datetime] = {}
        self._timers: list[tuple[datetime, str]] = []
        self._watch = ChangeWatch()
        self._worker = threading.Thread(target=self._run, name="homeassistant", daemon=True)

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> None:
        log.info("Home Assistant: connecting to %s (discovery under %s/, state under %s/)",
                 self._broker.where, self.topics.discovery_prefix, self.topics.base_topic)
        self._client.connect_async(self._broker.host, self._broker.port,
                                   keepalive=KEEPALIVE_SECONDS)
        self._client.loop_start()  # paho's thread: connects, reconnects, calls back
        self._worker.start()

    def stop(self) -> None:
        """Say `offline` (a clean stop sends no will), then disconnect."""
        self._stopping.set()
        self._wake.set()
        self._worker.join(timeout=STOP_SECONDS)
        if self._client.is_connected():
            goodbye = self._client.publish(self.topics.availability, OFFLINE, qos=QOS,
                                           retain=True)
            try:
                goodbye.wait_for_publish(timeout=STOP_SECONDS)
            except (RuntimeError, ValueError):  # the connection went meanwhile
                log.warning("Home Assistant: could not say offline; the broker's will will")
        self._client.disconnect()
        self._client.loop_stop()

    # -- what changed (any thread) -------------------------------------------------

    def notify_changed(self, person_id: str) -> None:
        """Something about this person changed: publish their state soon."""
        with self._lock:
            self._pending.add(person_id)
        self._wake.set()

    def notify_all(self) -> None:
        """People or routines may have changed (a config sync): publish everyone's."""
        with self._lock:
            self._everyone = True
        self._wake.set()

    def look_now(self) -> None:
        """Something was written whose people the database knows (housekeeping's
        decisions): look for changes now instead of at the next poll."""
        self._wake.set()

    # -- the worker ----------------------------------------------------------------

    def _run(self) -> None:
        started = False
        while not self._stopping.is_set():
            self._wake.wait(self._seconds_to_next_timer())
            self._wake.clear()
            if self._stopping.is_set() or not self._client.is_connected():
                continue  # on connect, everyone is published anyway
            try:
                if not started:
                    with self._sessions() as session:
                        self._watch.start(session)
                    started = True
                self._publish_changes()
            except Exception:
                log.exception("Home Assistant: publishing failed; trying again in %.0f s",
                              RETRY_SECONDS)
                self._stopping.wait(RETRY_SECONDS)

    def _publish_changes(self) -> None:
        with self._lock:
            people, self._pending = self._pending, set()
            everyone, self._everyone = self._everyone, False
            if self._connected_anew:
                self._connected_anew = False
                self._published.clear()
        now = self._clock()
        people |= self._timers_due(now)
        try:
            with self._sessions() as session:
                people |= self._watch.changed(session)
                if everyone:
                    people |= set(session.scalars(select(Person.id)))
                while people:
                    person_id = min(people)
                    self._publish_person(session, person_id, now)
                    people.discard(person_id)
        except BaseException:
            with self._lock:  # not lost: the next try takes them
                self._pending |= people
                self._everyone |= everyone
            raise

    def _publish_person(self, session: Session, person_id: str, now: datetime) -> None:
        state = read_person(session, person_id, now)
        if state is None:
            return
        retired = tuple(session.scalars(select(Routine.key).where(
            Routine.person_id == person_id, Routine.active.is_(False))))
        for topic, payload in person_messages(state, self.topics, retired).items():
            if self._published.get(topic) != payload:
                self._client.publish(topic, payload, qos=QOS, retain=True)
                self._published[topic] = payload
        if state.stale_at is not None and self._stale_at.get(person_id) != state.stale_at:
            self._stale_at[person_id] = state.stale_at
            heapq.heappush(self._timers, (state.stale_at, person_id))

    def _timers_due(self, now: datetime) -> set[str]:
        due = set()
        while self._timers and self._timers[0][0] <= now:
            when, person_id = heapq.heappop(self._timers)
            if self._stale_at.get(person_id) == when:  # else: replaced by a later read
                del self._stale_at[person_id]
                due.add(person_id)
        return due

    def _seconds_to_next_timer(self) -> float:
        if not self._timers:
            return CHANGE_POLL_SECONDS
        until = (self._timers[0][0] - self._clock()).total_seconds()
        return max(0.0, min(CHANGE_POLL_SECONDS, until))

    # -- paho's callbacks (its network thread) -------------------------------------

    def _make_client(self, client_id: str, broker: BrokerUrl) -> mqtt.Client:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                             clean_session=True, protocol=mqtt.MQTTv311)
        if broker.username is not None:
            client.username_pw_set(broker.username, broker.password)
        if broker.tls:
            client.tls_set_context(ssl.create_default_context())
        # Said by the broker for us when the connection drops without a goodbye.
        client.will_set(self.topics.availability, OFFLINE, qos=QOS, retain=True)
        client.reconnect_delay_set(min_delay=1, max_delay=60)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    def _on_connect(self, client: mqtt.Client, _userdata: object,
                    _flags: mqtt.ConnectFlags, reason: ReasonCode,
                    _properties: Properties | None) -> None:
        if reason.is_failure:
            log.warning("Home Assistant: %s refused the connection: %s (retrying)",
                        self._broker.where, reason)
            return
        log.info("Home Assistant: connected to %s", self._broker.where)
        client.publish(self.topics.availability, ONLINE, qos=QOS, retain=True)
        client.subscribe([(self.topics.done_commands, QOS), (self.topics.pain_commands, QOS),
                          (self.topics.homeassistant_status, QOS)])
        with self._lock:
            self._everyone = True
            self._connected_anew = True
        self._wake.set()

    def _on_disconnect(self, _client: mqtt.Client, _userdata: object,
                       _flags: mqtt.DisconnectFlags, reason: ReasonCode,
                       _properties: Properties | None) -> None:
        if not self._stopping.is_set():
            log.warning("Home Assistant: lost the connection to %s: %s (reconnecting)",
                        self._broker.where, reason)

    def _on_message(self, _client: mqtt.Client, _userdata: object,
                    message: mqtt.MQTTMessage) -> None:
        if message.retain:
            # Kept by the broker from some earlier publish: acting on it would log the
            # same pain again at every reconnect.
            log.warning("Home Assistant: ignored a retained message on %s", quote(message.topic))
            return
        if message.topic == self.topics.homeassistant_status:
            if message.payload == ONLINE.encode():
                self.notify_all()  # Home Assistant restarted: let it see everything again
                with self._lock:
                    self._connected_anew = True
            return
        command = self.topics.command(message.topic)
        if command is None:
            return
        try:
            person_id = handle_command(self._sessions, self._settings(), command,
                                       bytes(message.payload), self._clock())
        except InputError as error:
            log.warning("Home Assistant: command on %s refused, nothing written: %s",
                        quote(message.topic, 120), error)
            return
        except Exception:  # the database: Home Assistant may press again
            log.exception("Home Assistant: command on %s failed, nothing written",
                          quote(message.topic, 120))
            return
        log.info("Home Assistant: %s for %s recorded", command.action, person_id)
        self.notify_changed(person_id)
