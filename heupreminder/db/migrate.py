"""Bring a database to the current schema with Alembic (run at every start)."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from heupreminder.db.backend import backend_of

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")


def _alembic_config() -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def backup_sqlite(engine: Engine, revision: str) -> Path | None:
    """Copy a SQLite database aside before migrating it: a person's history is
    in there, and a migration is the one moment the whole schema changes."""
    source = backend_of(engine).sqlite_file
    if source is None:
        return None
    target = source.with_name(f"{source.name}.before-{revision}.bak")
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)  # consistent even while another process reads
    log.info("backed up %s to %s before migrating", source, target)
    return target


def upgrade(engine: Engine) -> bool:
    """Upgrade to the newest schema; return True if anything changed."""
    before = current_revision(engine)
    if before == head_revision():
        return False
    if before is not None:
        backup_sqlite(engine, before)
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    log.info("database schema upgraded from %s to %s", before or "empty", head_revision())
    return True
