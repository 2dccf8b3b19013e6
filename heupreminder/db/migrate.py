"""Bring a database to the current schema with Alembic (run at every start)."""

from __future__ import annotations

import logging
import re
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

from heupreminder.db.backend import backend_of

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")
# Revision files are named after their revision id ("0008_....py") and follow each
# other in one line, so the newest is the highest number (a test holds this to
# Alembic's own answer). Alembic itself is only loaded when there is work for it:
# ~0.1 s of every start otherwise.
_REVISION_FILE = re.compile(r"^(\d{4})_\w+\.py$")


def _alembic_config() -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def current_revision(engine: Engine) -> str | None:
    """The database's schema revision; None for an empty database."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def head_revision() -> str | None:
    """The newest schema revision, as Alembic reads it from the migration scripts."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def newest_revision_file() -> str | None:
    """The newest schema revision, from the scripts' file names alone (no Alembic)."""
    numbers = [match.group(1) for path in (MIGRATIONS / "versions").iterdir()
               if (match := _REVISION_FILE.match(path.name))]
    return max(numbers, default=None)


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
    if before == newest_revision_file():
        return False  # the usual start: nothing to do, and no need to load Alembic
    return _upgrade_with_alembic(engine, before)


def _upgrade_with_alembic(engine: Engine, before: str | None) -> bool:
    from alembic import command

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
