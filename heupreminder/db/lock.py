"""One service per SQLite database.

Several service processes may share a PostgreSQL database (claims with a
lease keep them apart), but not a SQLite file: at start-up the service
treats every open claim in a SQLite database as left behind by a dead
process, so a second service would take over the first one's reminders in
flight and send them twice. So `run` holds an exclusive lock on a file next
to the database (`<database>.lock`) for as long as it runs. The kernel drops
the lock when the process ends in any way, kill -9 included, so a stale lock
never blocks a restart. The other commands (status, pain, ...) do not take it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

from heupreminder.config.database_url import parse_database_url

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock, no protection
    fcntl = None  # type: ignore[assignment]


class DatabaseInUse(OSError):
    """Another service process already runs on this SQLite database."""


class SQLiteLock:
    """Held from `acquire()` until `release()` or the end of the process."""

    def __init__(self, database_url: str) -> None:
        database = parse_database_url(database_url).sqlite_file
        self.path = None if database is None else Path(f"{database}.lock")
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock, or raise DatabaseInUse naming the process that has it."""
        if self.path is None or fcntl is None or self._file is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        file = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.seek(0)
            holder = file.read().strip() or "unknown"
            file.close()
            raise DatabaseInUse(
                f"another heupreminder is running on this SQLite database (pid {holder}); "
                "use PostgreSQL for several nodes") from None
        file.seek(0)
        file.truncate()
        file.write(f"{os.getpid()}\n")
        file.flush()
        self._file = file

    def release(self) -> None:
        if self._file is not None and fcntl is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None
