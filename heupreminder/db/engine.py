"""Engines and sessions for SQLite and PostgreSQL."""

from __future__ import annotations

import re
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, Result, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from heupreminder.config.database_url import parse_database_url


def make_engine(url: str) -> Engine:
    """An engine tuned for a long-running service on either backend."""
    database = parse_database_url(url)
    if database.is_sqlite:
        if database.sqlite_file is not None:
            # The same file for the folder, the lock and the connection: `~` expanded.
            database.sqlite_file.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(database.with_home_expanded(), connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # pre_ping: a server restart must cost one failed check, not a failed send.
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def describe_database_error(exc: BaseException, masked_url: str, source: str) -> str:
    """One line for a person: which database, where its URL came from, and why it failed.

    `exc` is what connecting raised (an SQLAlchemy error wrapping the driver's,
    or an OSError such as a folder that cannot be created).
    """
    cause = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    reason = lines[0] if lines else type(cause).__name__
    # psycopg: 'connection failed: connection to server at "h", port 5433 failed: ...'
    reason = re.sub(r"^connection failed:\s*", "", reason)
    reason = re.sub(r"\bFATAL:\s+", "", reason)
    return f"cannot open the database {masked_url} (from {source}): {reason}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the CLI read while the service writes; the busy timeout makes
    # short write overlaps wait instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def changed_rows(result: Result[Any]) -> int:
    """Rows an UPDATE changed: the compare-and-set answer (did *we* win?)."""
    return int(cast(CursorResult[Any], result).rowcount)
