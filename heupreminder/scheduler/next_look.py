"""When the tick next looks at the database: a due time, or sooner when woken.

The clock ticks every second, but a tick only does work when the earliest
known due time has come or something called `wake()` (a send finished, a
notice was queued, the config changed). Every other tick returns after one
comparison, which is what keeps an idle service cheap.
"""

from __future__ import annotations

import threading
from datetime import datetime

from heupreminder.db.models import utcnow


class NextLook:
    """The next due time and a wake-up flag, both safe to touch from any thread."""

    def __init__(self, tick_seconds: float) -> None:
        self._tick_seconds = tick_seconds
        self._at = utcnow()
        self._woken = threading.Event()  # set by wake(): look on the next tick

    def wake(self) -> None:
        """Look at the database on the next tick (something new may be due)."""
        self._woken.set()

    def look_at(self, moment: datetime) -> None:
        """Look at `moment` at the latest (the earliest due time, or a retry)."""
        self._at = moment

    def due(self, now: datetime, stopping: threading.Event) -> bool:
        """True if this tick should look; then the wake-up flag is cleared.

        A due time before the next tick is waited for here, so a burst starts
        on the dot rather than up to a second late. (Not by moving the
        APScheduler job: a job that calls the scheduler deadlocks its shutdown.)
        """
        if now < self._at and not self._woken.is_set():
            early = (self._at - now).total_seconds()
            if early >= self._tick_seconds or stopping.wait(early):
                return False
        # Cleared before the pass: a wake() during it (a send finishing late)
        # stays set, so the next tick looks again instead of sleeping 30 s.
        self._woken.clear()
        return True
