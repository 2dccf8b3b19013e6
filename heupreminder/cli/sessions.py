"""Opening the database for a command, and the one way a command ends on a config error.

Exit status 2 with every problem and its key path for a config error, 1 with one
line for a database that cannot be opened; never a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, NoReturn, ParamSpec, TypeVar

import click

from heupreminder.config.loader import ConfigError, Settings
from heupreminder.masking import MASKER

P = ParamSpec("P")
R = TypeVar("R")


def exit_on_config_problems(exc: ConfigError) -> NoReturn:
    click.echo("heupreminder: the config has problems:", err=True)
    for problem in exc.problems:
        click.echo(f"  {problem}", err=True)
    sys.exit(2)


def exits_on_config_error(func: Callable[P, R]) -> Callable[P, R]:
    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            exit_on_config_problems(exc)

    return wrapper


# Commands about a configured person that must work before the first `run`.
# Not preview (it leaves the database alone), import (it adds people itself),
# export and report (they read what is there).
ADDS_CONFIGURED_PEOPLE = frozenset({"status", "pain", "done", "skip", "pause", "resume",
                                    "history", "token", "send-test"})


def open_sessions(settings: Settings, *, add_people: bool | None = None) -> Any:
    """Sessions on the config's database, migrated.

    The check-in commands and `status` work from the config as soon as it is
    valid: a person in the config who is not in the database yet (before the
    first `run`) is added by syncing the config, as `run` would. Once everyone
    is there, syncing changes stays the service's job (at start and on SIGHUP).
    `add_people` defaults to whether the running command is one of
    ADDS_CONFIGURED_PEOPLE. A database that cannot be opened ends the command
    with one line and exit status 1.
    """
    if add_people is None:
        context = click.get_current_context(silent=True)
        add_people = context is not None and context.info_name in ADDS_CONFIGURED_PEOPLE
    from sqlalchemy.exc import SQLAlchemyError

    from heupreminder.db.engine import make_engine, make_sessionmaker
    from heupreminder.db.migrate import upgrade

    try:
        engine = make_engine(settings.database_url)
        upgrade(engine)
        sessions = make_sessionmaker(engine)
        if add_people:
            _add_configured_people(sessions, settings)
    except (SQLAlchemyError, OSError) as exc:
        exit_database_error(exc, settings)
    return sessions


def _add_configured_people(sessions: Any, settings: Settings) -> None:
    from heupreminder.db.models import utcnow
    from heupreminder.db.sync import add_missing_people

    with sessions.begin() as session:
        add_missing_people(session, settings.config, utcnow())


def exit_database_error(exc: BaseException, settings: Settings) -> NoReturn:
    from heupreminder.db.engine import describe_database_error

    message = describe_database_error(exc, settings.masked_database_url,
                                      settings.database_source)
    click.echo(f"heupreminder: {MASKER.mask(message)}", err=True)
    sys.exit(1)
