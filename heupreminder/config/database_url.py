"""The database URL, parsed once: which backend, which SQLite file, how to show it.

Every question about the database URL (is it SQLite, where is its file, what
may be printed of it, what is wrong with it) is answered here, so the config
loader, the engine, the service lock and the migration backup agree. It sits
in the config layer because the loader checks the URL before anything connects;
`heupreminder.db.backend` builds on it for engines and sessions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

SQLITE = "sqlite"
POSTGRESQL = "postgresql"


@dataclass(frozen=True)
class DatabaseUrl:
    """A parsed database URL; build it with `parse_database_url`."""

    url: URL = field(repr=False)  # carries the password: never log it

    @property
    def backend(self) -> str:
        """"sqlite" or "postgresql" (or another SQLAlchemy backend name)."""
        return self.url.get_backend_name()

    @property
    def is_sqlite(self) -> bool:
        return self.backend == SQLITE

    @property
    def is_postgresql(self) -> bool:
        return self.backend == POSTGRESQL

    @property
    def sqlite_file(self) -> Path | None:
        """The SQLite database file, `~` expanded; None for another backend,
        an in-memory database or a `file:` URI (no file of ours to lock or copy)."""
        database = self.url.database if self.is_sqlite else None
        if not database or database == ":memory:" or database.startswith("file:"):
            return None
        return Path(database).expanduser()

    @property
    def masked(self) -> str:
        """The URL with its password hidden: safe to print and log."""
        return self.url.render_as_string(hide_password=True)

    @property
    def password(self) -> str | None:
        return None if self.url.password is None else str(self.url.password)

    def with_home_expanded(self) -> URL:
        """`sqlite:///~/x.db` means the file in the home folder, as it does for a shell."""
        sqlite_file = self.sqlite_file
        if sqlite_file is None or sqlite_file == Path(self.url.database or ""):
            return self.url
        return self.url.set(database=str(sqlite_file))


def parse_database_url(url: str | URL) -> DatabaseUrl:
    """Parse `url`; raises SQLAlchemy's ArgumentError when it is no database URL."""
    return DatabaseUrl(make_url(url))


def mask_database_url(url: str) -> str:
    try:
        return parse_database_url(url).masked
    except ArgumentError:
        return "<unparseable database URL>"


def expand_sqlite_home(url: str) -> str:
    """The URL text with a SQLite file's `~` expanded; any other URL unchanged."""
    parsed = parse_database_url(url)
    expanded = parsed.with_home_expanded()
    if expanded is parsed.url:
        return url
    return expanded.render_as_string(hide_password=False)


def check_database_url(url: str) -> str | None:
    """What is wrong with `url` before connecting (syntax, a missing driver), or None."""
    try:
        parsed = parse_database_url(url)
    except ArgumentError:
        return ("not a database URL (e.g. sqlite:///path/to.db or "
                "postgresql+psycopg://user@host/name)")
    try:
        dialect = parsed.url.get_dialect()
    except NoSuchModuleError:
        return (f"unknown database kind {parsed.url.drivername!r} "
                "(use sqlite or postgresql+psycopg)")
    try:
        dialect.import_dbapi()
    except ImportError as exc:
        driver = getattr(exc, "name", None) or parsed.url.get_driver_name()
        if parsed.is_postgresql:
            return (f"the PostgreSQL driver ({driver}) is not installed: "
                    "pip install 'heupreminder[postgres]'")
        return f"the database driver {driver!r} is not installed"
    return None
