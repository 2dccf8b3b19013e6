"""Send slots: how many claimed reminders this node may have handed to senders at once.

A claimed reminder (or notice) takes a slot when it is handed to a sender and
gives it back when its send finishes. The dispatch loop claims only as many
rows as there are free slots, then waits until enough are free again, so the
database sees a few statements per batch rather than per reminder, and the
queue always drains well within a claim's lease.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from concurrent.futures import Future
from typing import Any

from heupreminder.config.loader import Channel, Settings
from heupreminder.delivery.http_capture import may_use_fast_path
from heupreminder.delivery.http_client import CONNECTIONS_PER_HOST

# One try of a channel at most (Apprise's connect + read timeouts, also on the fast path).
SLOWEST_TRY_SECONDS = 8.0


def claim_capacity(settings: Settings, own_channels: Iterable[Channel] = ()) -> int:
    """How many claimed reminders may wait for or be in a send at once (per node).

    Enough for batches that keep the database work per reminder small; few
    enough that the queue drains well within a lease even if every channel
    hung. Apprise's channels each hold one of `send_workers` threads for up to
    8 s per try (its connect and read timeouts); HTTP channels are sent by the
    sending process over kept-open connections (32 per host), so an installation
    with only HTTP channels takes bigger batches (fewer round trips per reminder,
    which PostgreSQL feels), twice as big again when the lease allows it.
    `own_channels`: one of each kind among people's own channels in the database.
    """
    workers = settings.config.service.send_workers
    channels = [*settings.channels.values(), *own_channels]
    if not channels or not all(may_use_fast_path(channel.url) for channel in channels):
        return workers * 16
    capacity = max(workers * 32, 256)
    # If all went to one host that hung, 2 x capacity claims would take this long to drain.
    worst_drain = 2 * capacity / CONNECTIONS_PER_HOST * SLOWEST_TRY_SECONDS
    if settings.config.service.lease.total_seconds() >= 2 * worst_drain:
        return 2 * capacity  # 512 with the defaults: 128 s, under half of the 5 min lease
    return capacity


class SendSlots:
    """A counter of busy slots, the futures shutdown waits for, and a condition.

    Every method is safe to call from any thread: sends finish on the pool's
    threads and on the sending process's reader thread.
    """

    def __init__(self, capacity: int, stopping: threading.Event) -> None:
        self.capacity = capacity  # replaced on a config reload
        self._stopping = stopping  # a waiter gives up waiting once the service stops
        self._busy = 0  # claimed reminders (and notices) handed to a sender, not finished
        self._in_flight: set[Future[Any]] = set()  # what shutdown waits for
        self._lock = threading.Lock()
        # Told when a send finishes and enough slots are free for the next batch.
        self._slots_free = threading.Condition(self._lock)
        self._wanted = 1

    @property
    def busy(self) -> int:
        """Sends handed over and not finished (at shutdown: the unfinished ones)."""
        with self._lock:
            return self._busy

    def free(self) -> int:
        """How many more rows the next batch may claim."""
        with self._lock:
            return self.capacity - self._busy

    def take(self, count: int) -> None:
        """`count` sends are about to be handed over: taken before, as a result
        may come back before the hand-over returns."""
        with self._lock:
            self._busy += count

    def give_back(self, count: int) -> None:
        """`count` sends were never handed over after all (the sender could not start)."""
        with self._lock:
            self._busy -= count

    def finished(self) -> None:
        """One send finished: its slot is free; wake the waiter once enough are."""
        with self._lock:
            self._busy -= 1
            if self.capacity - self._busy >= self._wanted:
                self._slots_free.notify()

    def track(self, future: Future[Any]) -> None:
        """Remember a hand-over that shutdown should wait for."""
        with self._lock:
            self._in_flight.add(future)

    def forget(self, future: Future[Any]) -> None:
        """A tracked hand-over is done (a future's done-callback)."""
        with self._lock:
            self._in_flight.discard(future)

    def in_flight(self) -> set[Future[Any]]:
        """A copy of the hand-overs not yet done, to wait for outside the lock."""
        with self._lock:
            return set(self._in_flight)

    def wait_for_free(self, wanted: int, timeout: float = 1.0) -> None:
        """Wait (at most `timeout`) until `wanted` slots are free or the service stops.

        A condition the finishing sends notify, and only once enough are free:
        waiting on the futures themselves cost a waiter per in-flight send on
        every wake-up, a third of the CPU of a burst.
        """
        with self._slots_free:
            self._wanted = wanted
            self._slots_free.wait_for(
                lambda: self._stopping.is_set() or self.capacity - self._busy >= wanted,
                timeout=timeout)
