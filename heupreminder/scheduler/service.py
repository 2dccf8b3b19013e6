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
import queue
import signal
import socket
import threading
import urllib.request
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import text, update
from sqlalchemy.exc import IntegrityError

from heupreminder.config.loader import ConfigError, Settings, load_settings
from heupreminder.db.engine import changed_rows, make_engine, make_sessionmaker
from heupreminder.db.lock import SQLiteLock
from heupreminder.db.migrate import upgrade
from heupreminder.db.models import OccurrenceStatus, ServiceState, utcnow
from heupreminder.db.sync import schedule_unscheduled, sync_config
from heupreminder.delivery.channel_book import check_channel_key
from heupreminder.delivery.http_capture import may_use_fast_path
from heupreminder.delivery.http_client import CLIENT, CONNECTIONS_PER_HOST, HttpRequest
from heupreminder.delivery.outbox import queue_admin_notice
from heupreminder.delivery.sending_process import Send, SendingProcess
from heupreminder.delivery.smtp import POOL as SMTP_POOL
from heupreminder.masking import MASKER, install_masker
from heupreminder.ops import systemd
from heupreminder.pain.records import housekeeping
from heupreminder.reports.weekly import queue_summaries
from heupreminder.scheduler.dispatcher import (
    NOTICES,
    OCCURRENCES,
    Dispatcher,
    SendJob,
    SendResult,
)
from heupreminder.upcoming import next_reminder

if TYPE_CHECKING:
    from heupreminder.homeassistant.bridge import HomeAssistantBridge
    from heupreminder.web.server import WebServer

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")

TICK_SECONDS = 1.0
# Look at the database at least this often even when nothing is known to be
# due, so changes made by other processes (CLI, another node) are picked up.
MAX_SLEEP = timedelta(seconds=30)
# How often an idle service looks for notices written by other processes (one
# indexed lookup): a rest message decided in the CLI goes out within this.
OUTBOX_POLL = timedelta(seconds=2)
# Write a routine's occurrence this long before it is due, so a morning
# burst's database work is done before the burst (config sync drops such
# early rows if it changes the routine meanwhile).
SCHEDULE_AHEAD = timedelta(seconds=30)
DRAIN_SECONDS = 10.0
HOUSEKEEPING_SECONDS = 60
HEARTBEAT_SECONDS = 60
# The systemd watchdog is only fed while the clock ticks: a stuck scheduler
# stops the pings, and systemd restarts the service (WatchdogSec=).
WATCHDOG_MAX_TICK_AGE = timedelta(seconds=10)
# One try of a channel at most (Apprise's connect + read timeouts, also on the fast path).
SLOWEST_TRY_SECONDS = 8.0


def claim_capacity(settings: Settings) -> int:
    """How many claimed reminders may wait for or be in a send at once (per node).

    Enough for batches that keep the database work per reminder small; few
    enough that the queue drains well within a lease even if every channel
    hung. Apprise's channels each hold one of `send_workers` threads for up to
    8 s per try (its connect and read timeouts); HTTP channels are sent by the
    sending process over kept-open connections (32 per host), so an installation
    with only HTTP channels takes bigger batches (fewer round trips per reminder,
    which PostgreSQL feels), twice as big again when the lease allows it.
    """
    workers = settings.config.service.send_workers
    channels = settings.channels.values()
    if not channels or not all(may_use_fast_path(channel.url) for channel in channels):
        return workers * 16
    capacity = max(workers * 32, 256)
    # If all went to one host that hung, 2 x capacity claims would take this long to drain.
    worst_drain = 2 * capacity / CONNECTIONS_PER_HOST * SLOWEST_TRY_SECONDS
    if settings.config.service.lease.total_seconds() >= 2 * worst_drain:
        return 2 * capacity  # 512 with the defaults: 128 s, under half of the 5 min lease
    return capacity


def uses_fast_path(settings: Settings) -> bool:
    """True if some channel is HTTP-based (sent by the sending process)."""
    return any(may_use_fast_path(channel.url) for channel in settings.channels.values())


class Service:
    def __init__(self, config_path: str | os.PathLike[str] | None) -> None:
        self.config_path = config_path
        self._settings = load_settings(config_path)  # ConfigError propagates to the CLI
        self.node_name = self._settings.config.service.node_name or socket.gethostname()
        self.node_id = f"{self.node_name}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.engine = make_engine(self._settings.database_url)
        self.sessions = make_sessionmaker(self.engine)
        self.stopping = threading.Event()
        self.dispatcher = Dispatcher(self.sessions, lambda: self._settings, self.node_id)
        workers = self._settings.config.service.send_workers
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="send")
        self._capacity = claim_capacity(self._settings)
        self.sender: SendingProcess[SendJob] = SendingProcess(self._http_result)
        self._busy = 0  # claimed reminders (and notices) handed to a sender, not finished
        self._in_flight: set[Future[Any]] = set()  # what shutdown waits for
        self._results: queue.SimpleQueue[SendResult] = queue.SimpleQueue()
        self._lock = threading.Lock()
        # Told when a send finishes and enough slots are free for the next batch.
        self._slots_free = threading.Condition(self._lock)
        self._slots_wanted = 1
        self._next_wake = utcnow()
        self._next_outbox_poll = utcnow()
        self._sqlite_seen: tuple[tuple[int, int], ...] | None = None  # see _poll_outbox
        self._woken = threading.Event()  # set by wake(): dispatch on the next tick
        self._reload_requested = threading.Event()
        self._failing_since: datetime | None = None  # dispatch failing since (an outage)
        self.last_tick: datetime | None = None
        self.web: WebServer | None = None
        self.homeassistant: HomeAssistantBridge | None = None  # with [mqtt] url
        self.scheduler = BackgroundScheduler(timezone="UTC")
        self._sqlite_lock = SQLiteLock(self._settings.database_url)

    @property
    def settings(self) -> Settings:
        return self._settings

    # -- lifecycle ---------------------------------------------------------------

    def startup(self) -> None:
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
        sqlite = self.engine.dialect.name == "sqlite"
        self.dispatcher.recover_expired_claims(utcnow(), all_claims=sqlite)
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
        if uses_fast_path(self._settings):
            self.sender.start()  # loading takes a moment: not at the first reminder
        self.scheduler.start()
        self._start_web()
        self._start_homeassistant()
        self._note_crash_or_start()
        if self._settings.config.service.heartbeat_url:
            self.scheduler.add_job(self._heartbeat, "interval", seconds=HEARTBEAT_SECONDS,
                                   id="heartbeat", max_instances=1, coalesce=True,
                                   next_run_time=utcnow() + timedelta(seconds=5))
        log.info("heupreminder ready")
        systemd.ready()
        # A first run otherwise says "ready" and then nothing for hours.
        with self.sessions() as session:
            log.info(next_reminder(session, utcnow()))

    def main_loop(self) -> None:
        while not self.stopping.wait(0.5):
            if self._reload_requested.is_set():
                self._reload_requested.clear()
                self.reload()
            self._poll_outbox()

    def _poll_outbox(self) -> None:
        """Wake the tick when another process (the CLI, another node) wrote a notice
        that is due, so a rest message goes out within seconds of the report that
        caused it."""
        now = utcnow()
        if now < self._next_outbox_poll:
            return
        self._next_outbox_poll = now + OUTBOX_POLL
        # On SQLite nobody else has written if the files have not changed: a stat
        # instead of a query (an idle service's one query every 2 s was most of its CPU).
        written = self._sqlite_files_state()
        if written is not None and written == self._sqlite_seen:
            return
        try:
            if self.dispatcher.notice_due(now):
                self.wake()
        except Exception as exc:  # an outage: the tick says so; look again later
            log.debug("outbox poll failed: %s", exc)
        else:
            self._sqlite_seen = written

    def _sqlite_files_state(self) -> tuple[tuple[int, int], ...] | None:
        """Size and modification time of the SQLite database and its WAL, or None."""
        lock = self._sqlite_lock.path
        if lock is None:
            return None
        database = lock.with_name(lock.name.removesuffix(".lock"))
        state = []
        for path in (database, database.with_name(database.name + "-wal")):
            try:
                stat = path.stat()
            except OSError:
                state.append((-1, -1))
            else:
                state.append((stat.st_size, stat.st_mtime_ns))
        return tuple(state)

    def shutdown(self) -> None:
        systemd.stopping()
        log.info("stopping: finishing reminders being sent (at most %.0f s)", DRAIN_SECONDS)
        self.stopping.set()
        self.scheduler.shutdown(wait=True)
        if self.web is not None:
            self.web.stop()
        if self.homeassistant is not None:
            self.homeassistant.stop()
        with self._lock:
            pending = set(self._in_flight)
        wait_for(pending, timeout=DRAIN_SECONDS)
        self.sender.close()  # what it has not answered by now stays unfinished
        self.pool.shutdown(wait=False, cancel_futures=True)
        SMTP_POOL.close()  # QUIT on idle email connections; busy ones close when done
        with self._lock:
            unfinished = self._busy
        if not unfinished:
            CLIENT.close()
        try:
            self._record_results()
        except Exception:
            log.exception("could not record the last results; they count as outcome unknown")
        released = self._release_own_claims(outcome_unknown=bool(unfinished))
        if unfinished:
            log.warning("stopped with %d send(s) unfinished; they are retried at next start",
                        unfinished)
        elif released:
            log.info("%d queued message(s) handed back for the next start", released)
        try:
            self._clear_running_marker()
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
        if self.stopping.is_set():
            return
        if now < self._next_wake and not self._woken.is_set():
            early = (self._next_wake - now).total_seconds()
            # Due before the next tick: wait for it here, so a burst starts on
            # the dot rather than up to a second late. (Not by moving the job:
            # a job that calls the scheduler deadlocks its shutdown.)
            if early >= TICK_SECONDS or self.stopping.wait(early):
                return
        # Cleared before the pass: a wake() during it (a send finishing late)
        # stays set, so the next tick looks again instead of sleeping 30 s.
        self._woken.clear()
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
            self._next_wake = utcnow() + timedelta(seconds=5)
        else:
            if self._failing_since is not None:
                log.info("dispatch works again after %.0f s of failures",
                         (utcnow() - self._failing_since).total_seconds())
                self._failing_since = None

    def _start_web(self) -> None:
        listen = self._settings.config.service.listen
        if not listen:
            return
        from heupreminder.web.app import create_app
        from heupreminder.web.context import WebContext
        from heupreminder.web.server import WebServer

        context = WebContext(self.sessions, lambda: self._settings, wake=self.wake,
                             health=self.health)
        self.web = WebServer(create_app(context), listen)
        self.web.start()

    def _start_homeassistant(self) -> None:
        if self._settings.mqtt_url is None:
            return
        from heupreminder.homeassistant.bridge import HomeAssistantBridge

        self.homeassistant = HomeAssistantBridge(self.sessions, lambda: self._settings,
                                                 client_id=f"heupreminder-{self.node_id}")
        self.homeassistant.start()

    # -- self-monitoring ---------------------------------------------------------

    def _running_key(self) -> str:
        # Stable across restarts of this node, so a leftover marker means a crash.
        return f"running@{self.node_name}"

    def _note_crash_or_start(self) -> None:
        """Leave a marker while running; finding one at start means we crashed."""
        crashed = None
        try:
            with self.sessions.begin() as session:
                marker = session.get(ServiceState, self._running_key())
                crashed = marker.value if marker else None
                if marker is None:
                    session.add(ServiceState(key=self._running_key(), value=self.node_id))
                else:
                    marker.value = self.node_id
        except IntegrityError:
            # Another node on this host started at the same moment and wrote
            # its marker first: not a crash, and no reason to stop starting.
            crashed = None
        if crashed:
            log.warning("the previous run (%s) did not stop cleanly", crashed)
            self.tell_admin(f"crash:{crashed}", "heupreminder restarted after a crash",
                            f"The previous run ({crashed}) did not stop cleanly. "
                            "Reminders that were due meanwhile were caught up or recorded "
                            "as missed; see `heupreminder status`.")

    def _clear_running_marker(self) -> None:
        with self.sessions.begin() as session:
            marker = session.get(ServiceState, self._running_key())
            if marker is not None and marker.value == self.node_id:
                session.delete(marker)

    def tell_admin(self, dedupe_key: str, title: str, body: str) -> None:
        """Queue a message for the admin channel, if one is configured; it is sent
        like any notice (leased, retried, taken over after a crash)."""
        with self.sessions.begin() as session:
            queue_admin_notice(session, self._settings.config.service.admin_channel,
                               dedupe_key, title, body, now=utcnow())
        self.wake()

    def _heartbeat(self) -> None:
        url = self._settings.config.service.heartbeat_url
        healthy, _ = self.health()
        if not url or not healthy:
            return
        try:
            with urllib.request.urlopen(url, timeout=10):
                pass
        except OSError as exc:  # URLError and timeouts: worth a line, never a crash
            log.warning("heartbeat ping failed: %s", exc)

    def health(self) -> tuple[bool, dict[str, object]]:
        """Alive means: the clock ticks, and the database answers."""
        tick_age = (utcnow() - self.last_tick).total_seconds() if self.last_tick else None
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            database = "ok"
        except Exception as exc:  # any driver error means unreachable
            database = f"unreachable: {type(exc).__name__}"
        ticking = tick_age is not None and tick_age < WATCHDOG_MAX_TICK_AGE.total_seconds()
        healthy = ticking and database == "ok" and self.scheduler.running
        return healthy, {"database": database, "scheduler": self.scheduler.running,
                         "last_tick_age_seconds": None if tick_age is None else round(tick_age, 3)}

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
            with self.sessions.begin() as session:
                queue_summaries(session, self._settings, utcnow())
        except Exception:
            log.exception("queueing weekly summaries failed; trying again next minute")
        self.wake()

    def wake(self) -> None:
        """Look at the database on the next tick (something new may be due)."""
        self._woken.set()

    def _feed_watchdog(self) -> None:
        last = self.last_tick
        if last is not None and utcnow() - last <= WATCHDOG_MAX_TICK_AGE:
            systemd.watchdog()
        else:
            log.warning("the clock has not ticked since %s; not feeding the systemd watchdog",
                        last.isoformat(timespec="seconds") if last else "start-up")

    def _dispatch(self) -> None:
        """Schedule, claim, send and record until nothing more is due right now.

        Work moves in batches: claim as many as there are free slots, then
        wait until at least half the slots are free again, so the database
        sees a few statements per batch rather than per reminder.
        """
        self.dispatcher.recover_expired_claims(utcnow())
        self.dispatcher.expire_overdue(utcnow())
        more_due = True
        while not self.stopping.is_set():
            now = utcnow()
            self._record_results()
            if more_due:
                more_due = self.dispatcher.schedule_due(now, SCHEDULE_AHEAD)
            with self._lock:
                free = self._capacity - self._busy
            # Notices first: a rest message matters more than a reminder to exercise.
            notices = self.dispatcher.claim_notices(now, free)
            claimed = self.dispatcher.claim(now, free - len(notices), expire=False)
            jobs = self.dispatcher.prepare_notices(notices) + self.dispatcher.prepare(claimed)
            to_sending_process: list[tuple[SendJob, dict[str, HttpRequest]]] = []
            for job in jobs:
                requests = self.dispatcher.http_requests_for(job)
                if requests is None:
                    self._submit(self.dispatcher.send_job, job, self._results.put)
                else:
                    to_sending_process.append((job, requests))
            if to_sending_process:
                self._submit_to_sending_process(to_sending_process)
            if not more_due and len(notices) + len(claimed) < free:
                break
            self._wait_for_slots(self._capacity // 2)
        self._record_results()
        wake = self.dispatcher.next_wake(SCHEDULE_AHEAD)
        latest = utcnow() + MAX_SLEEP
        self._next_wake = min(wake, latest) if wake else latest

    def _record_results(self) -> None:
        """Write every finished send in one transaction (results wait at most a tick)."""
        results: list[SendResult] = []
        while True:
            try:
                results.append(self._results.get_nowait())
            except queue.Empty:
                break
        if results:
            try:
                self.dispatcher.record(results)
            except Exception:
                for result in results:  # keep them for the next try (database outage)
                    self._results.put(result)
                raise
            if self.homeassistant is not None:  # sent: this week's adherence moved
                for person_id in {r.job.person_id for r in results if not r.job.notice}:
                    self.homeassistant.notify_changed(person_id)

    def _submit(self, work: Callable[[T], R], item: T,
                on_result: Callable[[R], None] | None = None) -> None:
        """Run `work(item)` in the thread pool (Apprise's channels block a thread)."""
        with self._lock:
            self._busy += 1
            future = self.pool.submit(work, item)
            self._in_flight.add(future)

        def done(finished: Future[R]) -> None:
            self._discard_in_flight(finished)
            self._send_finished()
            if finished.cancelled():
                return
            error = finished.exception()
            if error is not None:
                # The claim stays until its lease ends; then it is retried,
                # marked outcome unknown.
                log.error("sending failed unexpectedly", exc_info=error)
            elif on_result is not None:
                on_result(finished.result())
                self.wake()  # record it on the next tick

        future.add_done_callback(done)

    def _submit_to_sending_process(
            self, batch: list[tuple[SendJob, dict[str, HttpRequest]]]) -> None:
        """Send a batch in the sending process: one hand-over, the sends on the other core.

        Each result is queued as it comes, like the pool's. A send the process
        could not finish (it died) comes back failed and is retried as usual.
        """
        sends = [Send(job, requests) for job, requests in batch]
        with self._lock:
            self._busy += len(batch)  # before: results may come before submit() returns
        try:
            future = self.sender.submit(sends)
        except BaseException:  # the process could not start: the claims wait for their lease
            with self._lock:
                self._busy -= len(batch)
            raise
        with self._lock:
            self._in_flight.add(future)
        future.add_done_callback(self._discard_in_flight)

    def _http_result(self, job: SendJob, errors: dict[str, str | None]) -> None:
        masked = {name: MASKER.mask(error) if error else None for name, error in errors.items()}
        self._results.put(SendResult(job=job, errors=masked, permanent=set()))
        self.wake()
        self._send_finished()

    def _discard_in_flight(self, finished: Future[Any]) -> None:
        with self._lock:
            self._in_flight.discard(finished)

    def _send_finished(self) -> None:
        with self._lock:
            self._busy -= 1
            if self._capacity - self._busy >= self._slots_wanted:
                self._slots_free.notify()

    def _wait_for_slots(self, wanted: int) -> None:
        """Wait (at most a second) until `wanted` slots are free.

        A condition the finishing sends notify, and only once enough are free:
        waiting on the futures themselves cost a waiter per in-flight send on
        every wake-up, a third of the CPU of a burst.
        """
        with self._slots_free:
            self._slots_wanted = wanted
            self._slots_free.wait_for(
                lambda: self.stopping.is_set()
                or self._capacity - self._busy >= wanted, timeout=1.0)

    def _release_own_claims(self, *, outcome_unknown: bool) -> int:
        """Hand this node's claimed reminders and notices back for the next start."""
        released = 0
        with self.sessions.begin() as session:
            for table in (OCCURRENCES, NOTICES):
                released += changed_rows(session.execute(
                    update(table)
                    .where(table.c.claimed_by == self.node_id,
                           table.c.status == OccurrenceStatus.SENDING)
                    .values(status=OccurrenceStatus.PENDING, claimed_by=None,
                            claimed_until=None, outcome_unknown=outcome_unknown)
                ))
        return released

    # -- config -------------------------------------------------------------------

    def _sync(self) -> None:
        if self._settings.config.service.manage_people == "database":
            with self.sessions.begin() as session:
                count = schedule_unscheduled(session, utcnow())
            log.info("people and routines are managed in the database; %d newly scheduled",
                     count)
        else:
            with self.sessions.begin() as session:
                report = sync_config(session, self._settings.config, utcnow())
            log.info("config synced: %d added, %d changed, %d deactivated, %d unchanged",
                     report.added, report.changed, report.deactivated, report.unchanged)
        if self.homeassistant is not None:  # people, names and routines may have changed
            self.homeassistant.notify_all()
        self.wake()

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
        self._capacity = claim_capacity(new)
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
