"""Small builders shared by the tests: config TOML, a config on disk, a migrated database.

`person_config` writes a whole config for Anna; `routine` one of her routines
(or anyone's: it belongs to the `[[people]]` before it) and `person` another
person, for its `extra`. BRIDGE and BRIDGE_AND_MAGNESIUM are the routines most
tests give her.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from heupreminder.config import Settings, load_settings
from heupreminder.db.engine import make_engine, make_sessionmaker
from heupreminder.db.migrate import upgrade
from heupreminder.db.models import Person
from heupreminder.db.sync import sync_config
from tests.receivers import free_port


def routine(exercise: str, *, at: str | None = None, cron: str | None = None,
            days: str | None = None) -> str:
    """One `[[people.routines]]` entry for a catalogue exercise, as config TOML."""
    lines = ["[[people.routines]]", f'exercise = "{exercise}"']
    lines += [f'{key} = "{value}"' for key, value in
              (("at", at), ("cron", cron), ("days", days)) if value is not None]
    return "\n".join(lines) + "\n"


def person(person_id: str, name: str, channels: list[str], *, locale: str | None = None,
           routines: str = "") -> str:
    """Another `[[people]]` entry (Anna is person_config's own), with its routines."""
    lines = ["[[people]]", f'id = "{person_id}"', f'name = "{name}"',
             "channels = [" + ", ".join(f'"{c}"' for c in channels) + "]"]
    if locale is not None:
        lines.append(f'locale = "{locale}"')
    return "\n".join(lines) + "\n" + (f"\n{routines}" if routines else "")


BRIDGE = routine("bridge", at="07:30")
BRIDGE_AND_MAGNESIUM = f"{BRIDGE}\n{routine('magnesium', at='08:00')}"


def person_config(*, database_url: str, channels: dict[str, str], routines: str,
                  person_channels: list[str] | None = None, timezone: str = "Europe/Amsterdam",
                  locale: str = "nl", quiet_hours: str | None = None,
                  catch_up: str = "30m", listen: str | None = None,
                  public_url: str | None = None, extra_service: str = "",
                  extra_person: str = "", extra: str = "") -> str:
    names = person_channels if person_channels is not None else list(channels)
    channel_lines = "\n".join(f'{name} = "{url}"' for name, url in channels.items())
    quiet = f'quiet_hours = "{quiet_hours}"' if quiet_hours else ""
    listen = listen or f"127.0.0.1:{free_port()}"
    public = f'public_url = "{public_url}"' if public_url else ""
    return f"""
[service]
database = "{database_url}"
timezone = "{timezone}"
locale = "{locale}"
catch_up = "{catch_up}"
listen = "{listen}"
{public}
{extra_service}

[channels]
{channel_lines}

[[people]]
id = "anna"
name = "Anna"
channels = {names!r}
{quiet}
{extra_person}

{routines}
{extra}
""".replace("'", '"')


def load(tmp_path: Path, text: str) -> Settings:
    path = tmp_path / "heupreminder.toml"
    path.write_text(text, encoding="utf-8")
    return load_settings(path)


def added_a_week_ago(database_url: str) -> None:
    """Say everyone in the database was added a week ago, so that a test can log
    yesterday's pain (nothing can be dated before the day a person was added)."""
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(update(Person).values(
                added_at=datetime.now(UTC) - timedelta(days=7)))
    finally:
        engine.dispose()


def migrated(settings: Settings, now: datetime, *,
             added_at: datetime | None = None) -> sessionmaker[Session]:
    """Sessions on a database that has the schema and the config synced at `now`.

    `added_at` says the people were added earlier than that (nothing can be logged as
    happening before the day a person was added), for tests that log past pain.
    """
    engine = make_engine(settings.database_url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        sync_config(session, settings.config, now)
        if added_at is not None:
            session.execute(update(Person).values(added_at=added_at))
    return sessions
