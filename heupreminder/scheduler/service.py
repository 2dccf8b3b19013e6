"""The long-running service: startup(), main_loop(), shutdown(), and the clock's tick.

Who owns what:
- The database owns the schedule: each routine's next due time (UTC, indexed)
  and one row per occurrence. Nothing about *when* lives only in memory, so a
  restart, a crash or a second node loses nothing.
- APScheduler owns the clock: one `tick` job every second. A tick compares
  the clock with the earliest due time it remembers (next_look) and returns at
  once when nothing is due, so an idle service costs almost nothing; when
  something is due it runs the dispatcher's units of work. Never a job per
  routine (README, Design: slow, misfires in a burst, twice on a DST night).
- The send queue sends (a bounded thread pool, and the sending process for
  HTTP channels) within its send slots: a slow channel never holds up the tick.
- The main thread waits for signals: it reloads the config on SIGHUP and
  polls the outbox for notices other processes wrote.

Each part is a module here: send_slots, send_queue, next_look, outbox_poll, running_marker,
self_monitoring, config_reload, companions (web, Home Assistant), claim_release, warm_up.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from apscheduler.schedulers.background import BackgroundScheduler

from heupreminder.config.loader import Settings, load_settings
from heupreminder.db.backend import is_sqlite
from heupreminder.db.engine import make_engine, make_sessionmaker
from heupreminder.db.lock import SQLiteLock
from heupreminder.db.migrate import upgrade
from heupreminder.db.models import utcnow
from heupreminder.delivery.channel_book import check_channel_key
from heupreminder.delivery.http_capture import may_use_fast_path
from heupreminder.delivery.outbox import queue_admin_notice
from heupreminder.masking import install_masker
from heupreminder.ops import systemd
from heupreminder.ops.memory import freeze_what_start_up_loaded
from heupreminder.pain.housekeeping import housekeeping
from heupreminder.scheduler.claim_release import release_own_claims
from heupreminder.scheduler.companions import homeassistant_bridge, serve_pages, web_server
from heupreminder.scheduler.config_reload import reloaded_settings, sync_people
from heupreminder.scheduler.dispatcher import Dispatcher
from heupreminder.scheduler.next_look import NextLook
from heupreminder.scheduler.outbox_poll import OutboxPoll
from heupreminder.scheduler.running_marker import RunningMarker
from heupreminder.scheduler.self_monitoring import (
    HEARTBEAT_SECONDS,
    WATCHDOG_MAX_TICK_AGE,
    check_health,
    feed_watchdog,
    ping_heartbeat,
)
from heupreminder.scheduler.send_queue import SendQueue, uses_fast_path
from heupreminder.scheduler.send_slots import SendSlots, claim_capacity
from heupreminder.scheduler.warm_up import load_what_can_wait
from heupreminder.upcoming import next_reminder

if TYPE_CHECKING:
    from heupreminder.homeassistant.bridge import HomeAssistantBridge
    from heupreminder.web.server import WebServer

# Importable from here, as before the split (tests and callers use these names).
__all__ = ["WATCHDOG_MAX_TICK_AGE", "Service", "claim_capacity", "uses_fast_path"]

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
# Look at the database at least this often: other processes (CLI, nodes) may change it.
MAX_SLEEP = timedelta(seconds=30)
# After a failed dispatch (a database outage, one bad row), look again this soon.
RETRY_AFTER_FAILURE = timedelta(seconds=5)
# Write a routine's occurrence this long before it is due: a burst's database work is
# done before it (config sync drops such early rows if it changes the routine).
SCHEDULE_AHEAD = timedelta(seconds=30)
DRAIN_SECONDS = 10.0
HOUSEKEEPING_SECONDS = 60
# How often the main thread looks for a reload request and polls the outbox.
MAIN_LOOP_SECONDS = 0.5


class Service:
    """One running heupreminder: builds the parts below from the config and runs them."""

    def __init__(self, config_path: str | os.PathLike[str] | None) -> None:
        self.config_path = config_path
        self._settings = load_settings(config_path)  # ConfigError propagates to the CLI
        self.node_name = self._settings.config.service.node_name or socket.gethostname()
        self.node_id = f"{self.node_name}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.engine = make_engine(self._settings.database_url)
        self.sessions = make_sessionmaker(self.engine)
        self.stopping = threading.Event()
        self.dispatcher = Dispatcher(self.sessions, lambda: self._settings, self.node_id)
        self.next_look = NextLook(TICK_SECONDS)
        self.sends = SendQueue(
            SendSlots(claim_capacity(self._settings), self.stopping),
            self._settings.config.service.send_workers,
            send_in_thread=self.dispatcher.send_job,
            http_requests_for=self.dispatcher.http_requests_for, on_result=self.wake)
        self.pool = self.sends.pool  # the thread pool (tests and benchmarks shut it down)
        self._sqlite_lock = SQLiteLock(self._settings.database_url)
        self.outbox_poll = OutboxPoll(self.dispatcher.notice_due, self.wake,
                                      self._sqlite_database(), utcnow())
        self.running_marker = RunningMarker(self.sessions, self.node_name, self.node_id)
        self._reload_requested = threading.Event()  # set by SIGHUP, handled by main_loop
        self._failing_since: datetime | None = None  # dispatch failing since (an outage)
        self.last_tick: datetime | None = None
        self.web: WebServer | None = None
        self.homeassistant: HomeAssistantBridge | None = None  # with [mqtt] url
        self.scheduler = BackgroundScheduler(timezone="UTC")

    @property
    def settings(self) -> Settings:
        """The config in force (replaced whole on a successful reload)."""
        return self._settings

    def _sqlite_database(self) -> Path | None:
        """The SQLite database file (next to its lock file), or None on PostgreSQL."""
        lock = self._sqlite_lock.path
        return None if lock is None else lock.with_name(lock.name.removesuffix(".lock"))

    # -- lifecycle ---------------------------------------------------------------

    def startup(self) -> None:
        """Lock, migrate, sync the config, start the clock and companions; say "ready"."""
        install_masker(self._settings.secrets)
        # Before anything touches the database: start-up reclaims every open
        # SQLite claim, which is only right if no other service runs on it.
        self._sqlite_lock.acquire()  # DatabaseInUse (an OSError): the CLI exits 1
        log.info("heupreminder starting (node %s, database %s, config %s)",
                 self.node_id, self._settings.masked_database_url, self._settings.path)
        upgrade(self.engine)
        with self.sessions() as session:  # people's channels in the database need their key
            check_channel_key(session)  # ChannelKeyError (a ConfigError): exit 2, names it
        self._sync()
        self.dispatcher.recover_expired_claims(utcnow(), all_claims=is_sqlite(self.engine))
        self._add_clock_jobs()
        own = self.dispatcher.channel_book.one_per_scheme(self.sessions)  # people's own kinds
        self.sends.slots.capacity = claim_capacity(self._settings, own)
        if uses_fast_path(self._settings) or any(may_use_fast_path(c.url) for c in own):
            self.sends.sender.start()  # loading takes a moment: not at the first reminder
        self.scheduler.start()
        self._start_companions()
        self._note_crash_or_start()
        if self._settings.config.service.heartbeat_url:
            self.scheduler.add_job(self._heartbeat, "interval", seconds=HEARTBEAT_SECONDS,
                                   id="heartbeat", max_instances=1, coalesce=True,
                                   next_run_time=utcnow() + timedelta(seconds=5))
        log.info("heupreminder ready")
        systemd.ready()
        if self.web is not None:  # Flask and the pages: not on the way to "ready"
            serve_pages(self.web, self.sessions, lambda: self._settings, self.wake, self.health)
        load_what_can_wait()
        freeze_what_start_up_loaded()  # a burst's full collections: ~3 ms, not ~120
        # A first run otherwise says "ready" and then nothing for hours.
        with self.sessions() as session:
            log.info(next_reminder(session, utcnow()))

    def _add_clock_jobs(self) -> None:
        """The tick, housekeeping and (under systemd) the watchdog, each in its own job
        so a slow one never holds up the others."""
        self.scheduler.add_job(
            self.tick, "interval", seconds=TICK_SECONDS, id="tick", max_instances=1,
            coalesce=True, misfire_grace_time=None, next_run_time=utcnow(),
        )
        self.scheduler.add_job(
            self.housekeeping, "interval", seconds=HOUSEKEEPING_SECONDS, id="housekeeping",
            max_instances=1, coalesce=True, misfire_grace_time=None, next_run_time=utcnow(),
        )
        watchdog = systemd.watchdog_interval()
        if watchdog is not None:
            self.scheduler.add_job(
                self._feed_watchdog, "interval", seconds=watchdog / 2, id="watchdog",
                max_instances=1, coalesce=True, misfire_grace_time=None,
            )

    def main_loop(self) -> None:
        """The main thread until a stop: config reloads (SIGHUP) and the outbox poll."""
        while not self.stopping.wait(MAIN_LOOP_SECONDS):
            if self._reload_requested.is_set():
                self._reload_requested.clear()
                self.reload()
            self.outbox_poll.poll(utcnow())

    def shutdown(self) -> None:
        """Stop the clock, drain the sends (at most DRAIN_SECONDS), hand claims back."""
        systemd.stopping()
        log.info("stopping: finishing reminders being sent (at most %.0f s)", DRAIN_SECONDS)
        self.stopping.set()
        self.scheduler.shutdown(wait=True)
        if self.web is not None:
            self.web.stop()
        if self.homeassistant is not None:
            self.homeassistant.stop()
        unfinished = self.sends.stop(DRAIN_SECONDS)
        try:
            self._record_results()
        except Exception:
            log.exception("could not record the last results; they count as outcome unknown")
        released = release_own_claims(self.sessions, self.node_id,
                                      outcome_unknown=bool(unfinished))
        if unfinished:
            log.warning("stopped with %d send(s) unfinished; they are retried at next start",
                        unfinished)
        elif released:
            log.info("%d queued message(s) handed back for the next start", released)
        try:
            self.running_marker.clear()
        except Exception:  # the database may be gone; the marker then says "crash"
            log.warning("could not record the clean stop in the database")
        self.engine.dispose()
        self._sqlite_lock.release()
        log.info("heupreminder stopped")
        if unfinished:
            # Worker threads cannot be killed; don't let them keep the process alive.
            os._exit(0)

    def run(self) -> None:
        """Run until SIGTERM or SIGINT; SIGHUP reloads the config."""
        self._install_signal_handlers()
        self.startup()
        try:
            self.main_loop()
        finally:
            self.shutdown()

    # -- work ---------------------------------------------------------------------

    def tick(self) -> None:
        """One clock tick: return at once unless something is due."""
        now = utcnow()
        self.last_tick = now
        if self.stopping.is_set() or not self.next_look.due(now, self.stopping):
            return
        try:
            self._dispatch()
        except Exception as exc:
            # Keep ticking: a database outage or one bad row must not stop
            # the clock. Try again shortly; say so once, not every 5 s.
            if self._failing_since is None:
                self._failing_since = now
                log.exception("dispatch failed; retrying every 5 s (logged again when it works)")
            else:
                log.debug("dispatch still failing: %s", exc)
            self.next_look.look_at(utcnow() + RETRY_AFTER_FAILURE)
        else:
            if self._failing_since is not None:
                log.info("dispatch works again after %.0f s of failures",
                         (utcnow() - self._failing_since).total_seconds())
                self._failing_since = None

    def _dispatch(self) -> None:
        """Schedule, claim, send and record until nothing more is due right now.

        Work moves in batches: claim as many as there are free slots, then
        wait until at least half the slots are free again, so the database
        sees a few statements per batch rather than per reminder.
        """
        self.dispatcher.recover_expired_claims(utcnow())
        self.dispatcher.expire_overdue(utcnow())
        slots = self.sends.slots
        more_due = True
        while not self.stopping.is_set():
            now = utcnow()
            self._record_results()
            if more_due:
                more_due = self.dispatcher.schedule_due(now, SCHEDULE_AHEAD)
            free = slots.free()
            # Notices first: a rest message matters more than a reminder to exercise.
            notices = self.dispatcher.claim_notices(now, free)
            claimed = self.dispatcher.claim(now, free - len(notices), expire=False)
            self.sends.hand_over(
                self.dispatcher.prepare_notices(notices) + self.dispatcher.prepare(claimed))
            if not more_due and len(notices) + len(claimed) < free:
                break
            slots.wait_for_free(slots.capacity // 2)
        self._record_results()
        wake = self.dispatcher.next_wake(SCHEDULE_AHEAD)
        latest = utcnow() + MAX_SLEEP
        self.next_look.look_at(min(wake, latest) if wake else latest)

    def _record_results(self) -> None:
        """Write every finished send in one transaction (results wait at most a tick)."""
        results = self.sends.take_results()
        if not results:
            return
        try:
            self.dispatcher.record(results)
        except Exception:
            self.sends.put_back(results)  # kept for the next try (database outage)
            raise
        if self.homeassistant is not None:  # sent: this week's adherence moved
            for person_id in {r.job.person_id for r in results if not r.job.notice}:
                self.homeassistant.notify_changed(person_id)

    def wake(self) -> None:
        """Look at the database on the next tick (something new may be due)."""
        self.next_look.wake()

    def housekeeping(self) -> None:
        """Once a minute: pain-policy timers and the daily check-in while paused."""
        try:
            with self.sessions.begin() as session:
                housekeeping(session, self._settings, utcnow())
        except Exception:
            log.exception("housekeeping failed; trying again next minute")
        if self.homeassistant is not None:  # pauses and resumes it decided, by person
            self.homeassistant.look_now()
        try:  # apart, so a failing summary never holds up the pain policy
            from heupreminder.reports.weekly import queue_summaries  # loaded after "ready"
            with self.sessions.begin() as session:
                queue_summaries(session, self._settings, utcnow())
        except Exception:
            log.exception("queueing weekly summaries failed; trying again next minute")
        self.wake()

    def _start_companions(self) -> None:
        """The web server and the Home Assistant bridge, each if configured."""
        self.web = web_server(self._settings)  # its port; the pages come once ready
        self.homeassistant = homeassistant_bridge(self.sessions, lambda: self._settings,
                                                  self.node_id)
        if self.homeassistant is not None:
            self.homeassistant.start()

    # -- self-monitoring ---------------------------------------------------------

    def _note_crash_or_start(self) -> None:
        """Leave a marker while running; finding one at start means we crashed."""
        crashed = self.running_marker.note_start()
        if crashed:
            log.warning("the previous run (%s) did not stop cleanly", crashed)
            self.tell_admin(f"crash:{crashed}", "heupreminder restarted after a crash",
                            f"The previous run ({crashed}) did not stop cleanly. "
                            "Reminders that were due meanwhile were caught up or recorded "
                            "as missed; see `heupreminder status`.")

    def tell_admin(self, dedupe_key: str, title: str, body: str) -> None:
        """Queue a message for the admin channel, if one is configured; it is sent
        like any notice (leased, retried, taken over after a crash)."""
        with self.sessions.begin() as session:
            queue_admin_notice(session, self._settings.config.service.admin_channel,
                               dedupe_key, title, body, now=utcnow())
        self.wake()

    def health(self) -> tuple[bool, dict[str, object]]:
        """Alive means: the clock ticks, and the database answers."""
        return check_health(self.engine, self.last_tick, self.scheduler.running)

    def _heartbeat(self) -> None:
        url = self._settings.config.service.heartbeat_url
        if url and self.health()[0]:
            ping_heartbeat(url)

    def _feed_watchdog(self) -> None:
        feed_watchdog(self.last_tick)

    # -- config -------------------------------------------------------------------

    def _sync(self) -> None:
        sync_people(self.sessions, self._settings)
        if self.homeassistant is not None:  # people, names and routines may have changed
            self.homeassistant.notify_all()
        self.wake()

    def reload(self) -> None:
        """Load the config again; a broken file is refused and the old one kept."""
        new = reloaded_settings(self.config_path, self._settings)
        if new is None:
            return
        install_masker(self._settings.secrets | new.secrets)
        self._settings = new
        self.sends.slots.capacity = claim_capacity(
            new, self.dispatcher.channel_book.one_per_scheme(self.sessions))
        self._sync()
        log.info("config reloaded from %s", Path(new.path))

    def _install_signal_handlers(self) -> None:
        def stop(signum: int, _frame: FrameType | None) -> None:
            if self.stopping.is_set():
                log.warning("second %s: exiting now", signal.Signals(signum).name)
                os._exit(1)
            log.info("received %s", signal.Signals(signum).name)
            self.stopping.set()

        def hup(_signum: int, _frame: FrameType | None) -> None:
            self._reload_requested.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        if hasattr(signal, "SIGHUP"):
            signal.signal(signal.SIGHUP, hup)
