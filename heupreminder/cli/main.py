"""The `heupreminder` command line: a thin layer over the service and the database.

Exit status: 0 success, 1 a runtime failure (a channel that did not accept a
test message), 2 a usage or config error. A person's mistake never gets a
traceback: it gets the file, the key and what is wrong with it.
"""

from __future__ import annotations

import gc
import json
import sys

import click

from heupreminder.catalog import NOT_MEDICAL_ADVICE, describe_catalog, test_message
from heupreminder.cli.channels import register as register_channel_commands
from heupreminder.cli.checkins import register as register_checkin_commands
from heupreminder.cli.healthcheck import register as register_healthcheck_command
from heupreminder.cli.options import config_option
from heupreminder.cli.reports import register as register_report_commands
from heupreminder.cli.sessions import exit_database_error, exits_on_config_error, open_sessions
from heupreminder.config.loader import load_settings, resolve_config_path
from heupreminder.config.starter import STARTER_CONFIG
from heupreminder.locales import FALLBACK, LOCALES, check_locale, shipped_locale
from heupreminder.ops.logs import setup_logging
from heupreminder.pain.lookups import find_person


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False))
@click.option("--log-format", default="text", show_default=True, envvar="HEUPREMINDER_LOG_FORMAT",
              show_envvar=True, type=click.Choice(["text", "json"], case_sensitive=False),
              help="json: one JSON object per line (ts, level, logger, message, person, ...).")
@click.version_option(package_name="heupreminder")
def main(log_level: str, log_format: str) -> None:
    """Self-hosted reminders for hip health."""
    if click.get_current_context().invoked_subcommand != "run":
        gc.enable()  # off while loading (__main__.py); `run` turns it on once ready
    setup_logging(log_level, "json" if log_format.lower() == "json" else "text")


@main.command()
@config_option
@exits_on_config_error
def run(config_path: str | None) -> None:
    """Run the service until SIGTERM or SIGINT (SIGHUP reloads the config)."""
    from sqlalchemy.exc import SQLAlchemyError

    from heupreminder.scheduler.service import Service

    service = Service(config_path)
    try:
        service.run()
    except SQLAlchemyError as exc:
        exit_database_error(exc, service.settings)
    except OSError as exc:
        # Typically the web server's port is taken: say so plainly.
        click.echo(f"heupreminder: cannot start: {exc}", err=True)
        sys.exit(1)


@main.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(file: str | None, force: bool) -> None:
    """Write a commented starter config."""
    path = resolve_config_path(file)
    if path.exists() and not force:
        raise click.UsageError(f"{path} already exists (use --force to overwrite it)")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(STARTER_CONFIG, encoding="utf-8")
    click.echo(f"wrote {path}; check it with `heupreminder check-config {path}`")


@main.command("check-config")
@click.argument("file", required=False, type=click.Path(dir_okay=False),
                envvar="HEUPREMINDER_CONFIG")
@exits_on_config_error
def check_config(file: str | None) -> None:
    """Validate a config file; print every problem with its key path."""
    settings = load_settings(file)
    config = settings.config
    routines = sum(len(p.routines) for p in config.people)
    click.echo(f"{settings.path}: OK")
    click.echo(f"  {len(config.people)} people, {routines} routines, "
               f"{len(settings.channels)} channels")
    click.echo(f"  database: {settings.masked_database_url}")
    for name, channel in settings.channels.items():
        click.echo(f"  channel {name}: {channel.masked_url}")


@main.command()
@click.option("--locale", type=click.Choice(LOCALES), default=FALLBACK, show_default=True)
def catalog(locale: str) -> None:
    """List the built-in exercises and supplements."""
    shipped = check_locale(locale)  # click allowed only these; this tells the type checker
    for key, kind, summary in describe_catalog(shipped):
        click.echo(f"{key:<20} {kind:<11} {summary}")
    click.echo()
    click.echo(NOT_MEDICAL_ADVICE[shipped])


@main.command()
@config_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@exits_on_config_error
def status(config_path: str | None, as_json: bool) -> None:
    """People, routines, next reminder in local time, and the last result."""
    from heupreminder.status import collect_status, render_status

    settings = load_settings(config_path)
    rows = collect_status(open_sessions(settings))
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        click.echo(render_status(rows))


@main.command("send-test")
@click.argument("person_id")
@config_option
@exits_on_config_error
def send_test(person_id: str, config_path: str | None) -> None:
    """Send a test message to each of a person's channels and report per channel.

    The person's own channels (kept in the database) come first, then the
    config's, as the service resolves them for a reminder.
    """
    from heupreminder.delivery.channel_book import ChannelBook, UnusableChannel, resolve
    from heupreminder.delivery.sender import TransportError, send
    from heupreminder.masking import install_masker

    settings = load_settings(config_path)
    install_masker(settings.secrets)
    with open_sessions(settings)() as session:
        person = find_person(session, person_id)
        if person is None:
            known = ", ".join(p.id for p in settings.config.people) or "none in the config"
            raise click.UsageError(f"no person {person_id!r} in {settings.path} "
                                   f"or its database (known: {known})")
        names, locale, name = list(person.channels), person.locale, person.name
        own = ChannelBook().personal(session, [person_id]).get(person_id, {})
    channels = resolve(names, own, settings.channels)
    title, body = test_message(shipped_locale(locale), name)
    failures = 0
    for channel_name in names:
        channel = channels.get(channel_name)
        if channel is None or isinstance(channel, UnusableChannel):
            failures += 1
            why = channel.reason if channel else "no such channel in the config or the database"
            shown = channel.masked_url if channel else "-"
            click.echo(f"{channel_name:<20} FAILED  {shown}: {why}")
            continue
        try:
            send(channel, title, body)
            click.echo(f"{channel_name:<20} ok      {channel.masked_url}")
        except TransportError as exc:
            failures += 1
            click.echo(f"{channel_name:<20} FAILED  {channel.masked_url}: {exc.message}")
    sys.exit(1 if failures else 0)


@main.command("preview")
@config_option
@click.option("--days", type=click.IntRange(1, 366), default=7, show_default=True,
              help="How many days ahead.")
@click.option("--person", "person_id", metavar="ID", help="Only this person.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@exits_on_config_error
def preview_command(config_path: str | None, days: int, person_id: str | None,
                    as_json: bool) -> None:
    """What will be sent when (local time) in the next days; sends nothing.

    Shows this config file as the service will run it (after a start or
    reload), with quiet hours, catch-up and pauses applied.
    """
    from heupreminder.db.models import utcnow
    from heupreminder.preview import preview_config, render_preview

    settings = load_settings(config_path)
    if person_id is not None and person_id not in {p.id for p in settings.config.people}:
        known = ", ".join(p.id for p in settings.config.people) or "none"
        raise click.UsageError(f"no person {person_id!r} in {settings.path} (known: {known})")
    rows = preview_config(settings, open_sessions(settings), utcnow(), days=days,
                          person=person_id)
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in rows], indent=2, ensure_ascii=False))
    else:
        click.echo(render_preview(rows, days))


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@config_option
@exits_on_config_error
def db_upgrade(config_path: str | None) -> None:
    """Bring the database schema up to date (also done at every start)."""
    from sqlalchemy.exc import SQLAlchemyError

    from heupreminder.db.engine import make_engine
    from heupreminder.db.migrate import head_revision, upgrade

    settings = load_settings(config_path)
    try:
        changed = upgrade(make_engine(settings.database_url))
    except (SQLAlchemyError, OSError) as exc:
        exit_database_error(exc, settings)
    click.echo(f"database {'upgraded to' if changed else 'already at'} {head_revision()}")


register_checkin_commands(main)
register_channel_commands(main)  # channel set, list, remove, new-key
register_report_commands(main)  # report, export, import
register_healthcheck_command(main)  # the container's HEALTHCHECK

if __name__ == "__main__":  # pragma: no cover
    main()
