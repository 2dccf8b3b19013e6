"""Failed authentication: logged, and limited per client address.

Only failures count, so people with a good token or link are never slowed
down; an address that fails more than `burst` times within `window` is
answered 429 (with Retry-After) until its oldest failure leaves the window.
Nothing sleeps: a refusal costs a dictionary lookup.

Hand-written rather than Flask-Limiter: that counts requests, not failures,
and its clock cannot be driven by a test. The clock is injectable here.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

# Bounded memory when addresses rotate (a botnet, IPv6): the longest-quiet ones go first.
MAX_TRACKED_ADDRESSES = 10_000


@dataclass
class FailureLimiter:
    burst: int = 10
    window: float = 60.0  # seconds
    clock: Callable[[], float] = time.monotonic
    _failures: OrderedDict[str, deque[float]] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def retry_after(self, address: str) -> int | None:
        """Seconds until `address` may try again, or None when it may try now."""
        with self._lock:
            recent = self._recent(address)
            if recent is None or len(recent) < self.burst:
                return None
            return max(1, math.ceil(recent[0] + self.window - self.clock()))

    def failed(self, address: str, *, what: str, person_id: str | None = None) -> None:
        """Count and log one failed authentication; never pass the token itself."""
        with self._lock:
            recent = self._recent(address) or deque()
            recent.append(self.clock())
            self._failures[address] = recent
            self._failures.move_to_end(address)
            while len(self._failures) > MAX_TRACKED_ADDRESSES:
                self._failures.popitem(last=False)
            count = len(recent)
        who = f" for person {person_id}" if person_id else ""
        log.warning("failed authentication from %s: %s%s (%d in the last %.0f s)",
                    address, what, who, count, self.window)

    def _recent(self, address: str) -> deque[float] | None:
        recent = self._failures.get(address)
        if recent is None:
            return None
        oldest_kept = self.clock() - self.window
        while recent and recent[0] <= oldest_kept:
            recent.popleft()
        if not recent:
            del self._failures[address]
            return None
        return recent
