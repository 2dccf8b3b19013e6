"""`heupreminder channel ...`: a person's own channels, kept in the database.

For installations with many people (`manage_people = "database"`): their
channel URLs live in the database, sealed with HEUPREMINDER_CHANNEL_KEY, and
not in a TOML file with a line per person. A URL never has to be typed on the
command line (where the shell history and `ps` would keep it): `set` reads it
from stdin or from an environment variable when it is not given. Nothing
prints a URL in clear: lists show Apprise's masked form.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import click

from heupreminder.cli.options import config_option
from heupreminder.cli.sessions import exit_on_config_problems, open_sessions
from heupreminder.config.loader import ConfigError, load_settings
from heupreminder.input_text import InputError


def _fail(message: str) -> NoReturn:
    click.echo(f"heupreminder: {message}", err=True)
    sys.exit(2)


@contextmanager
def _clear_errors() -> Iterator[None]:
    """A person's mistake or a missing key: one clear line and exit 2, never a traceback."""
    try:
        yield
    except InputError as error:
        _fail(str(error))
    except ConfigError as error:  # the channel key (ChannelKeyError) or the config
        exit_on_config_problems(error)


def _read_url(url: str | None, url_env: str | None) -> str:
    if url is not None and url != "-":
        return url
    if url_env is not None:
        if not os.environ.get(url_env):
            raise InputError(f"--url-env: environment variable {url_env} is not set")
        return os.environ[url_env]
    if sys.stdin.isatty():
        click.echo("URL (not shown, not kept in the shell history): ", err=True, nl=False)
    line = sys.stdin.readline().strip()
    if not line:
        raise InputError("URL: none given (as an argument, on stdin or with --url-env)")
    return line


@click.group("channel")
def channel_group() -> None:
    """A person's own channels, kept (encrypted) in the database."""


@channel_group.command("set")
@click.argument("person_id", metavar="PERSON")
@click.argument("name")
@click.argument("url", required=False)
@click.option("--url-env", metavar="VAR",
              help="Read the URL from this environment variable.")
@config_option
def set_command(person_id: str, name: str, url: str | None, url_env: str | None,
                config_path: str | None) -> None:
    """Give PERSON their own channel NAME (an Apprise URL), or replace it.

    Without URL (or with '-'), the URL is read from stdin, or from the
    variable named by --url-env: so it stays out of the shell history.
    NAME joins PERSON's channels and is used from their next reminder on;
    it means this channel for them even if [channels] has one of that name.
    """
    from heupreminder.delivery.channel_key import key_from_environment
    from heupreminder.delivery.personal_channels import set_channel

    with _clear_errors():
        settings = load_settings(config_path)
        key = key_from_environment()
        secret_url = _read_url(url, url_env)
        with open_sessions(settings, add_people=True).begin() as session:
            masked, new = set_channel(session, key, person_id, name, secret_url)
    click.echo(f"{person_id}: channel {name} {'added' if new else 'replaced'} ({masked})")
    if settings.config.service.manage_people == "config":
        click.echo('note: people are managed in the config (manage_people = "config"): '
                   f"{name!r} must also be among {person_id}'s channels there", err=True)


@channel_group.command("list")
@click.argument("person_id", metavar="PERSON")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@config_option
def list_command(person_id: str, as_json: bool, config_path: str | None) -> None:
    """PERSON's own channels, masked (needs no key)."""
    from heupreminder.delivery.personal_channels import list_channels

    with _clear_errors():
        settings = load_settings(config_path)
        with open_sessions(settings, add_people=True)() as session:
            rows = list_channels(session, person_id)
    if as_json:
        click.echo(json.dumps([{"name": r.name, "masked_url": r.masked_url,
                                "updated_at": r.updated_at} for r in rows], indent=2))
    elif not rows:
        click.echo(f"{person_id} has no channels of their own in the database")
    for row in [] if as_json else rows:
        click.echo(f"{row.name:<20} {row.masked_url}  (set {row.updated_at})")


@channel_group.command("remove")
@click.argument("person_id", metavar="PERSON")
@click.argument("name")
@config_option
def remove_command(person_id: str, name: str, config_path: str | None) -> None:
    """Delete PERSON's own channel NAME (the config's channel of that name, if any,
    is used for them from then on; if there is none, NAME leaves their channels)."""
    from heupreminder.delivery.personal_channels import remove_channel

    with _clear_errors():
        settings = load_settings(config_path)
        with open_sessions(settings)() as session, session.begin():
            removed = remove_channel(session, person_id, name, set(settings.channels))
    if not removed:
        _fail(f"{person_id} has no channel {name!r} of their own in the database")
    then = ("the config's channel of that name is used for them now"
            if name in settings.channels else f"{name} left their channels")
    click.echo(f"{person_id}: channel {name} removed; {then}")


@channel_group.command("new-key")
def new_key_command() -> None:
    """Print a new random key for HEUPREMINDER_CHANNEL_KEY (keep it like a password)."""
    from heupreminder.delivery.channel_key import new_key

    click.echo(new_key())


def register(main: click.Group) -> None:
    """Add `heupreminder channel ...` to the `heupreminder` group."""
    main.add_command(channel_group)
