"""Set, list and remove a person's own channels in the database (the CLI and import).

A URL is checked by Apprise exactly as a `[channels]` entry of the config is
(`Apprise.instantiate`), when it is set: not at 07:30 when it is first used.
Its masked form and its secret values are worked out here, once, so the
service never parses it at start-up (`channel_book.py` only decrypts).
Nothing here prints or returns a URL in clear.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import apprise
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from heupreminder.db.engine import changed_rows
from heupreminder.db.models import Person, PersonChannel, utcnow
from heupreminder.delivery.channel_key import ChannelKey
from heupreminder.input_text import InputError
from heupreminder.masking import mask_custom_params, secrets_in_url

# As a config channel's name is a TOML key: a word people can type.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class Listed:
    name: str
    masked_url: str
    updated_at: str


def checked_url(url: str, what: str) -> tuple[str, set[str]]:
    """(masked URL, secret values) of a URL Apprise can use; InputError otherwise.

    The error names `what` and the scheme only: the rest may be a token.
    """
    from heupreminder.config.loader import _apprise_quiet  # Apprise's own error lines echo URLs

    url = url.strip()
    with _apprise_quiet():
        plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if plugin is None:
        scheme = url.split("://", 1)[0] if "://" in url else "?"
        raise InputError(f"{what}: Apprise cannot use this URL ({scheme[:20]}://...)")
    masked = mask_custom_params(str(plugin.url(privacy=True)))  # type: ignore[no-untyped-call]
    return masked, secrets_in_url(url, masked)


def check_name(name: str, what: str) -> None:
    if not _NAME.match(name):
        raise InputError(f"{what}: {name!r} is not a channel name (letters, digits, "
                         "'-', '_' and '.', at most 64)")


def set_channel(session: Session, key: ChannelKey, person_id: str, name: str, url: str,
                *, labels: tuple[str, str] = ("NAME", "URL")) -> tuple[str, bool]:
    """Store (or replace) the person's channel `name`, sealed with `key`.

    The name joins the person's `channels` if it is not there yet, so it is
    used from the next reminder on. Returns (masked URL, whether it was new).
    Errors start with `labels` (what the name and the URL are called where they
    came from: the CLI's arguments, an import file's keys).
    """
    check_name(name, labels[0])
    person = session.get(Person, person_id)
    if person is None:
        raise InputError(f"PERSON: no person {person_id!r} in the database")
    masked, secrets = checked_url(url, labels[1])
    row = session.get(PersonChannel, (person_id, name))
    new = row is None
    if row is None:
        row = PersonChannel(person_id=person_id, name=name)
        session.add(row)
    row.sealed, row.masked_url, row.updated_at = key.seal(url.strip(), secrets), masked, utcnow()
    if name not in person.channels:
        person.channels = [*person.channels, name]
    return masked, new


def remove_channel(session: Session, person_id: str, name: str,
                   config_channels: set[str]) -> bool:
    """Delete the person's own channel `name`; False if they had none by that name.

    If the config has no channel of that name either, the name leaves the
    person's `channels` too (else every reminder would fail on it); if it has,
    the name now means the config's channel.
    """
    removed = changed_rows(session.execute(delete(PersonChannel).where(
        PersonChannel.person_id == person_id, PersonChannel.name == name)))
    person = session.get(Person, person_id)
    if removed and person is not None and name not in config_channels:
        person.channels = [c for c in person.channels if c != name]
    return bool(removed)


def list_channels(session: Session, person_id: str) -> list[Listed]:
    """The person's own channels, masked (no key needed)."""
    if session.get(Person, person_id) is None:
        raise InputError(f"PERSON: no person {person_id!r} in the database")
    rows = session.execute(select(PersonChannel.name, PersonChannel.masked_url,
                                  PersonChannel.updated_at)
                           .where(PersonChannel.person_id == person_id)
                           .order_by(PersonChannel.name)).all()
    return [Listed(r.name, r.masked_url, r.updated_at.isoformat(timespec="seconds"))
            for r in rows]
