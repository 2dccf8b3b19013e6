"""The long-running service: startup(), main_loop(), shutdown().

Who owns what:
- The database owns the schedule: each routine's next due time (UTC, indexed)
  and one row per occurrence. Nothing about *when* lives only in memory, so a
  restart, a crash or a second node loses nothing.
- APScheduler owns the clock: one `tick` job every second. A tick compares
  the clock with the earliest due time it remembers and returns at once when
  nothing is due, so an idle service costs almost nothing; when something is
  due it runs the dispatcher's units of work. We deliberately do not create
  one APScheduler job per routine: that costs ~13 s and ~350 MB per 100,000
  routines, its 1 s misfire grace drops reminders in a burst, and its cron
  trigger fires twice on the autumn DST night.
- A bounded thread pool sends; one slow channel cannot hold up the tick.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import update

from heupreminder.config.loader import ConfigError, Settings, load_settings
from heupreminder.db.engine import changed_rows, make_engine, make_sessionmaker
from heupreminder.db.migrate import upgrade
from heupreminder.db.models import Occurrence, OccurrenceStatus, utcnow
from heupreminder.db.sync import sync_config
from heupreminder.scheduler.dispatcher import Dispatcher
from heupreminder.secrets import install_masker

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
# Look at the database at least this often even when nothing is known to be
# due, so changes made by other processes (CLI, another node) are picked up.
MAX_SLEEP = timedelta(seconds=30)
DRAIN_SECONDS = 10.0


class Service:
    def __init__(self, config_path: str | os.PathLike[str] | None) -> None:
        self.config_path = config_path
        self._settings = load_settings(config_path)  # ConfigError propagates to the CLI
        self.node_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.engine = make_engine(self._settings.database_url)
        self.sessions = make_sessionmaker(self.engine)
        self.stopping = threading.Event()
        self.dispatcher = Dispatcher(self.sessions, lambda: self._settings, self.node_id,
                                     self.stopping)
        workers = self._settings.config.service.send_workers
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="send")
        # Claimed but unfinished sends; at most a few per worker are queued so
        # leases are not held long by reminders waiting for a thread.
        self._capacity = workers * 2
        self._in_flight: set[Future[str]] = set()
        self._lock = threading.Lock()
        self._next_wake = utcnow()
        self._reload_requested = threading.Event()
        self.last_tick: datetime | None = None
        self.scheduler = BackgroundScheduler(timezone="UTC")

    @property
    def settings(self) -> Settings:
        return self._settings

    # -- lifecycle ---------------------------------------------------------------

    def startup(self) -> None:
        install_masker(self._settings.secrets)
        log.info("heupreminder starting (node %s, database %s, config %s)",
                 self.node_id, self._settings.masked_database_url, self._settings.path)
        upgrade(self.engine)
        self._sync()
        sqlite = self.engine.dialect.name == "sqlite"
        self.dispatcher.recover_expired_claims(utcnow(), all_claims=sqlite)
        self.scheduler.add_job(
            self.tick, "interval", seconds=TICK_SECONDS, id="tick", max_instances=1,
            coalesce=True, misfire_grace_time=None, next_run_time=utcnow(),
        )
        self.scheduler.start()
        log.info("heupreminder ready: %d people, %d active routines",
                 len(self._settings.config.people),
                 sum(len([r for r in p.routines if r.enabled])
                     for p in self._settings.config.people))

    def main_loop(self) -> None:
        while not self.stopping.wait(0.5):
            if self._reload_requested.is_set():
                self._reload_requested.clear()
                self.reload()

    def shutdown(self) -> None:
        log.info("stopping: finishing reminders being sent (at most %.0f s)", DRAIN_SECONDS)
        self.stopping.set()
        self.scheduler.shutdown(wait=True)
        with self._lock:
            pending = set(self._in_flight)
        _, unfinished = wait_for(pending, timeout=DRAIN_SECONDS)
        self.pool.shutdown(wait=False, cancel_futures=True)
        released = self._release_own_claims(outcome_unknown=bool(unfinished))
        if unfinished:
            log.warning("stopped with %d send(s) unfinished; they are retried at next start",
                        len(unfinished))
        elif released:
            log.info("%d queued reminder(s) handed back for the next start", released)
        self.engine.dispose()
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
        if now < self._next_wake or self.stopping.is_set():
            return
        try:
            self._dispatch()
        except Exception:
            # Keep ticking: a database outage or one bad row must not stop
            # the clock. Try again on the next tick.
            log.exception("dispatch failed; retrying shortly")
            self._next_wake = utcnow() + timedelta(seconds=5)

    def _dispatch(self) -> None:
        while not self.stopping.is_set():
            now = utcnow()
            self.dispatcher.recover_expired_claims(now)
            more_due = self.dispatcher.schedule_due(now)
            with self._lock:
                free = self._capacity - len(self._in_flight)
            claimed = self.dispatcher.claim(now, free)
            for occurrence_id in claimed:
                self._submit(occurrence_id)
            if not more_due and len(claimed) < free:
                break
            if len(claimed) >= free:
                self._wait_for_a_slot()
        wake = self.dispatcher.next_wake()
        latest = utcnow() + MAX_SLEEP
        self._next_wake = min(wake, latest) if wake else latest

    def _submit(self, occurrence_id: int) -> None:
        future = self.pool.submit(self.dispatcher.deliver, occurrence_id)
        with self._lock:
            self._in_flight.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: Future[str]) -> None:
        with self._lock:
            self._in_flight.discard(future)
        if not future.cancelled() and future.exception() is not None:
            log.error("sending a reminder failed unexpectedly", exc_info=future.exception())

    def _wait_for_a_slot(self) -> None:
        with self._lock:
            in_flight = set(self._in_flight)
        if in_flight:
            wait_for(in_flight, timeout=1.0, return_when="FIRST_COMPLETED")

    def _release_own_claims(self, *, outcome_unknown: bool) -> int:
        with self.sessions.begin() as session:
            return changed_rows(session.execute(
                update(Occurrence)
                .where(Occurrence.claimed_by == self.node_id,
                       Occurrence.status == OccurrenceStatus.SENDING)
                .values(status=OccurrenceStatus.PENDING, claimed_by=None,
                        claimed_until=None, outcome_unknown=outcome_unknown)
            ))

    # -- config -------------------------------------------------------------------

    def _sync(self) -> None:
        with self.sessions.begin() as session:
            report = sync_config(session, self._settings.config, utcnow())
        log.info("config synced: %d added, %d changed, %d deactivated, %d unchanged",
                 report.added, report.changed, report.deactivated, report.unchanged)
        self._next_wake = utcnow()

    def reload(self) -> None:
        """Load the config again; a broken file is refused and the old one kept."""
        try:
            new = load_settings(self.config_path)
        except ConfigError as exc:
            for problem in exc.problems:
                log.error("config reload refused: %s", problem)
            log.error("keeping the previous config")
            return
        if new.database_url != self._settings.database_url:
            log.error("config reload: changing the database needs a restart; keeping the old one")
            return
        install_masker(self._settings.secrets | new.secrets)
        self._settings = new
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
