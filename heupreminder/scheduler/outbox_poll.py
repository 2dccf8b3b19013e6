"""The outbox poll: spot notices that other processes wrote, and wake the tick.

A rest message decided in the CLI (or on another node) is a row in the
outbox; this service sees it on its own only at its next look, up to 30 s
away. So every 2 s the main loop asks whether a notice is due (one indexed
lookup) and, if so, wakes the tick. On SQLite nobody else has written if the
database files have not changed, so there a stat replaces the query: an idle
service's one query every 2 s was most of its CPU.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

log = logging.getLogger(__name__)

# How often an idle service looks for notices written by other processes:
# a rest message decided in the CLI goes out within this.
OUTBOX_POLL = timedelta(seconds=2)

FilesState = tuple[tuple[int, int], ...]  # (size, modification time) per file


def sqlite_files_state(database: Path) -> FilesState:
    """Size and modification time of the SQLite database and its WAL ((-1, -1): absent)."""
    state = []
    for path in (database, database.with_name(database.name + "-wal")):
        try:
            stat = path.stat()
        except OSError:
            state.append((-1, -1))
        else:
            state.append((stat.st_size, stat.st_mtime_ns))
    return tuple(state)


class OutboxPoll:
    """Call `poll(now)` often; it looks at most every OUTBOX_POLL."""

    def __init__(self, notice_due: Callable[[datetime], bool], wake: Callable[[], None],
                 sqlite_database: Path | None, now: datetime) -> None:
        self._notice_due = notice_due
        self._wake = wake
        self._sqlite_database = sqlite_database  # None: not SQLite, always ask
        self._next_poll = now
        self._seen: FilesState | None = None  # the files as they were at the last answer

    def poll(self, now: datetime) -> None:
        """Wake the tick when another process (the CLI, another node) wrote a notice
        that is due, so a rest message goes out within seconds of the report that
        caused it."""
        if now < self._next_poll:
            return
        self._next_poll = now + OUTBOX_POLL
        written = None
        if self._sqlite_database is not None:
            written = sqlite_files_state(self._sqlite_database)
            if written == self._seen:
                return
        try:
            if self._notice_due(now):
                self._wake()
        except Exception as exc:  # an outage: the tick says so; look again later
            log.debug("outbox poll failed: %s", exc)
        else:
            self._seen = written
