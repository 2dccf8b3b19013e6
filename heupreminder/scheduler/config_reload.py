"""The config at start-up and on SIGHUP: read it again, and bring the database in line.

A reload never makes things worse: a broken file, or one that names another
database, is refused with its reasons in the log and the running config kept.
"""

from __future__ import annotations

import logging
import os

from sqlalchemy.orm import Session, sessionmaker

from heupreminder.config.loader import ConfigError, Settings, load_settings
from heupreminder.db.models import utcnow
from heupreminder.db.sync import schedule_unscheduled, sync_config

log = logging.getLogger(__name__)


def reloaded_settings(config_path: str | os.PathLike[str] | None,
                      current: Settings) -> Settings | None:
    """The config file read again, or None (and why, in the log) if it cannot be used."""
    try:
        new = load_settings(config_path)
    except ConfigError as exc:
        for problem in exc.problems:
            log.error("config reload refused: %s", problem)
        log.error("keeping the previous config")
        return None
    if new.database_url != current.database_url:
        log.error("config reload: changing the database needs a restart; keeping the old one")
        return None
    return new


def sync_people(sessions: sessionmaker[Session], settings: Settings) -> None:
    """Make the database's people and routines match the config, or, when they are
    managed in the database, give new routines their first due time."""
    if settings.config.service.manage_people == "database":
        with sessions.begin() as session:
            count = schedule_unscheduled(session, utcnow())
        log.info("people and routines are managed in the database; %d newly scheduled", count)
    else:
        with sessions.begin() as session:
            report = sync_config(session, settings.config, utcnow())
        log.info("config synced: %d added, %d changed, %d deactivated, %d unchanged",
                 report.added, report.changed, report.deactivated, report.unchanged)
