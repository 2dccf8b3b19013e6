"""Which database a running engine or session factory talks to, asked in one place.

Code that differs between SQLite and PostgreSQL (insert-or-ignore, claims at
start-up, the backup before a migration) asks here instead of reading dialect
names or the session factory's private `kw["bind"]` on its own.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from heupreminder.config.database_url import DatabaseUrl, parse_database_url


def engine_of(sessions: sessionmaker[Session]) -> Engine:
    """The engine a session factory was made with (by `make_sessionmaker`)."""
    bind = sessions.kw["bind"]  # SQLAlchemy keeps it here; nowhere else reads it
    if not isinstance(bind, Engine):
        raise TypeError(f"sessions are bound to {type(bind).__name__}, not an Engine")
    return bind


def backend_of(bind: Engine | sessionmaker[Session]) -> DatabaseUrl:
    """The parsed URL of the database behind an engine or a session factory."""
    engine = engine_of(bind) if isinstance(bind, sessionmaker) else bind
    return parse_database_url(engine.url)


def is_sqlite(bind: Engine | sessionmaker[Session]) -> bool:
    return backend_of(bind).is_sqlite


def is_postgresql(bind: Engine | sessionmaker[Session]) -> bool:
    return backend_of(bind).is_postgresql


def insert_or_ignore(table: Any, *, postgres: bool) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` into `table` on either backend.

    The two dialects spell it alike but SQLAlchemy keeps them apart; callers
    that ignore duplicates (a unique key as the last guard) ask here.
    """
    insert = postgresql_insert if postgres else sqlite_insert
    return insert(table).on_conflict_do_nothing()
