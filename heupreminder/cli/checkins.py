"""CLI commands for what a person logs: pain, done, skip, pause, resume,
history, and API tokens. Input errors exit 2 and write nothing."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import click
from sqlalchemy.orm import Session

from heupreminder.cli.options import config_option
from heupreminder.cli.sessions import exit_on_config_problems, open_sessions
from heupreminder.config.loader import ConfigError, Settings, load_settings
from heupreminder.config.model import parse_duration
from heupreminder.db.models import CheckinOutcome, utcnow
from heupreminder.input_text import InputError
from heupreminder.pain.decisions import pause_by_hand, resume_by_hand
from heupreminder.pain.records import LOCATIONS, log_checkin, log_pain
from heupreminder.reports.table import render_table
from heupreminder.reports.timeline import history_events


def _person(settings: Settings, person_id: str | None) -> str:
    people = [p.id for p in settings.config.people]
    if person_id:
        return person_id
    if len(people) == 1:
        return people[0]
    raise click.UsageError(f"say which person with --person (one of: {', '.join(people)})")


@contextmanager
def _writing(config_path: str | None) -> Iterator[tuple[Settings, Session]]:
    """A transaction that commits only if the command succeeds."""
    try:
        settings = load_settings(config_path)
    except ConfigError as error:
        exit_on_config_problems(error)
    sessions = open_sessions(settings)
    try:
        with sessions.begin() as session:
            yield settings, session
    except InputError as error:
        click.echo(f"heupreminder: {error}", err=True)
        sys.exit(2)


def _when(value: str | None, zone: str) -> datetime | None:
    """An ISO time (local to the person when it has no offset) or a duration ago/ahead."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        try:
            return utcnow() + parse_duration(value)
        except ValueError:
            raise click.BadParameter(f"{value!r} is not a time (2026-05-01T18:00) "
                                     "or a duration (2d, 12h)") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=ZoneInfo(zone))


person_option = click.option("--person", "-p", help="Person id (default: the only person).")


# `pain -1` must reach the range check ("level: -1 is not between 0 and 10"),
# not click's "No such option '-1'": an unknown option-like word is the level.
@click.command("pain", context_settings={"ignore_unknown_options": True})
@click.argument("level")
@click.option("--where", type=click.Choice(LOCATIONS), help="Where it hurts.")
@click.option("--routine", help="The routine it came with.")
@click.option("--note", help="Anything worth remembering.")
@click.option("--at", "at", help="When (default now), e.g. 2026-05-01T18:00.")
@person_option
@config_option
def pain_command(level: str, where: str | None, routine: str | None, note: str | None,
                 at: str | None, person: str | None, config_path: str | None) -> None:
    """Log how your hip feels, 0 (no pain) to 10 (worst)."""
    with _writing(config_path) as (settings, session):
        person_id = _person(settings, person)
        config = settings.config.person(person_id)
        zone = settings.config.person_timezone(config) if config else "UTC"
        logged = log_pain(session, settings, person_id, level, where=where,
                          routine_key=routine, note=note, at=_when(at, zone),
                          source="cli", now=utcnow())
    click.echo(f"logged pain {level}/10 for {person_id}")
    for decision in logged.decisions:
        click.echo(f"{decision.action}: {decision.reason}")


def _checkin_command(name: str, outcome: str) -> click.Command:
    """`done` or `skip`: the same command, each with its own outcome."""

    def command(routine: str, person: str | None, config_path: str | None) -> None:
        with _writing(config_path) as (settings, session):
            person_id = _person(settings, person)
            log_checkin(session, person_id, routine, outcome, source="cli", now=utcnow())
        click.echo(f"{routine}: {outcome}")

    command.__doc__ = f"Mark a routine's latest reminder as {outcome}."
    return click.command(name)(click.argument("routine")(person_option(config_option(
        command))))


done_command = _checkin_command("done", CheckinOutcome.DONE)
skip_command = _checkin_command("skip", CheckinOutcome.SKIPPED)


@click.command("pause")
@click.argument("routine", required=False)
@click.option("--all", "all_", is_flag=True, help="Pause every exercise routine.")
@click.option("--until", help="When to resume by itself: a time or a duration (3d).")
@person_option
@config_option
def pause_command(routine: str | None, all_: bool, until: str | None, person: str | None,
                  config_path: str | None) -> None:
    """Pause one routine, or --all exercise routines (supplements keep going)."""
    if bool(routine) == all_:
        raise click.UsageError("give a ROUTINE or --all")
    with _writing(config_path) as (settings, session):
        person_id = _person(settings, person)
        row = pause_by_hand(session, person_id, routine, until=_when(until, "UTC"),
                            now=utcnow(), by="cli")
    click.echo(f"paused: {row.reason}")


@click.command("resume")
@click.argument("routine", required=False)
@click.option("--all", "all_", is_flag=True, help="Resume everything that is paused.")
@person_option
@config_option
def resume_command(routine: str | None, all_: bool, person: str | None,
                   config_path: str | None) -> None:
    """Resume a paused routine, or --all."""
    if bool(routine) == all_:
        raise click.UsageError("give a ROUTINE or --all")
    with _writing(config_path) as (settings, session):
        person_id = _person(settings, person)
        decisions = resume_by_hand(session, settings, person_id, routine, now=utcnow(),
                                   by="cli")
    for decision in decisions:
        click.echo(f"resumed: {decision.reason}")


@click.command("history")
@click.option("--days", default=14, show_default=True, type=click.IntRange(1, 3650))
@click.option("--json", "as_json", is_flag=True)
@person_option
@config_option
def history_command(days: int, as_json: bool, person: str | None,
                    config_path: str | None) -> None:
    """Reminders, check-ins, pain reports and pause decisions, newest first."""
    with _writing(config_path) as (settings, session):
        person_id = _person(settings, person)
        config = settings.config.person(person_id)
        zone = ZoneInfo(settings.config.person_timezone(config) if config else "UTC")
        events = history_events(session, person_id, utcnow() - timedelta(days=days), zone)
    if as_json:
        click.echo(json.dumps(events, indent=2, ensure_ascii=False))
        return
    if not events:
        click.echo(f"nothing recorded for {person_id} in the last {days} days")
        return
    for line in render_table(("When", "Type", "Routine", "What"), [
            (e["at"][:19].replace("T", " "), e["type"], e.get("routine") or "", e["what"])
            for e in events]):
        click.echo(line)


@click.command("token")
@click.argument("person_id")
@click.option("--rotate", is_flag=True,
              help="Replace: the person's earlier tokens (or history links) stop working.")
@click.option("--revoke", is_flag=True,
              help="Stop the person's tokens (or, with --history, their history link).")
@click.option("--history", is_flag=True,
              help="The read-only history page link instead of an API token.")
@config_option
def token_command(person_id: str, rotate: bool, revoke: bool, history: bool,
                  config_path: str | None) -> None:
    """Create an API token for a person (shown once; store it safely).

    --rotate replaces all their API tokens with a new one, --revoke ends them.
    --history shows the person's read-only history link and, on a second line, their
    calendar feed (the same token); with --rotate new ones (older links stop
    working), with --revoke none works until the next rotation.
    """
    from heupreminder.links import api_tokens
    from heupreminder.links import history as history_links

    if rotate and revoke:
        raise click.UsageError("give --rotate or --revoke, not both")
    with _writing(config_path) as (settings, session):
        if history:
            history_links.change_history_link(session, person_id, revoke=revoke, rotate=rotate,
                                              now=utcnow())
        elif revoke:
            revoked = api_tokens.revoke_api_tokens(session, person_id)
        else:
            value = api_tokens.new_api_token(session, person_id, replace=rotate)
    if history:
        _show_history_links(settings, person_id, revoked=revoke)
    elif revoke:
        click.echo(f"{person_id}: {revoked} API token(s) revoked")
    else:
        click.echo(value)


def _show_history_links(settings: Settings, person_id: str, *, revoked: bool) -> None:
    """After `token --history`: the history page and calendar feed links, or that
    they were revoked."""
    from heupreminder.links import history as history_links

    if revoked:
        click.echo(f"{person_id}: history link revoked (--history --rotate makes a new one)")
        return
    try:
        sessions = open_sessions(settings)
        # Line 1 the history page, line 2 its calendar feed (same token): plain
        # URLs, so a script takes the one it needs.
        click.echo(history_links.history_link(settings, sessions, person_id))
        click.echo(history_links.calendar_link(settings, sessions, person_id))
    except InputError as error:
        click.echo(f"heupreminder: {error}", err=True)
        sys.exit(2)


COMMANDS = (pain_command, done_command, skip_command, pause_command, resume_command,
            history_command, token_command)


def register(main: click.Group) -> None:
    """Add the commands for what a person logs to the `heupreminder` group."""
    for command in COMMANDS:
        main.add_command(command)
