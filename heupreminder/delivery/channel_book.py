"""What a person's channel names mean: their own channel in the database, else the config's.

The dispatcher asks once per batch (`ChannelBook.personal`, one query for the
batch's people) and gets `Channel` objects, as the config gives. A sealed URL
is decrypted the first time it is needed and kept (until its row changes), and
its secret values join the log masker then: nothing is parsed at start-up,
which is what keeps a start with 10,000 people's channels fast.

A channel that cannot be opened (no key, another key, a damaged row) becomes
an `UnusableChannel` with the reason: that person's sends on it fail with the
reason, everyone else's go on.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from heupreminder.config.loader import Channel
from heupreminder.db.models import PersonChannel
from heupreminder.delivery.channel_key import (
    ChannelKey,
    ChannelKeyError,
    SealBroken,
    key_from_environment,
)
from heupreminder.delivery.errors import TransportError
from heupreminder.masking import MASKER, SecretMasker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UnusableChannel:
    """A person's own channel that cannot be used now, and why (no secrets in it)."""

    name: str
    masked_url: str
    reason: str


ResolvedChannel = Channel | UnusableChannel


def usable(channel: ResolvedChannel) -> Channel:
    """The channel to send on; a permanent TransportError with the reason if it is unusable
    (a key does not come back within a reminder's deadline: no point retrying)."""
    if isinstance(channel, UnusableChannel):
        raise TransportError(channel.reason, permanent=True)
    return channel


def sendable(channel: ResolvedChannel | None) -> Channel | None:
    """The channel if it can be sent on, else None (for the kept-open HTTP path, which
    then leaves the job to `send_job`: that reports why)."""
    return channel if isinstance(channel, Channel) else None


def resolve(names: Iterable[str], personal: Mapping[str, ResolvedChannel],
            configured: Mapping[str, Channel]) -> dict[str, ResolvedChannel]:
    """Each name as the person means it: their own channel first, then the config's.
    A name neither knows is left out (the dispatcher reports it as not configured)."""
    resolved: dict[str, ResolvedChannel] = {}
    for name in names:
        channel = personal.get(name) or configured.get(name)
        if channel is not None:
            resolved[name] = channel
    return resolved


class ChannelBook:
    """People's own channels, decrypted on first use and kept for the process."""

    def __init__(self, key_source: Callable[[], ChannelKey] = key_from_environment,
                 masker: SecretMasker = MASKER) -> None:
        self._key_source = key_source
        self._key: ChannelKey | ChannelKeyError | None = None  # read when first needed
        self._masker = masker
        # (person, name) -> (digest of the sealed value, the opened channel)
        self._opened: dict[tuple[str, str], tuple[bytes, ResolvedChannel]] = {}

    def personal(self, session: Session,
                 person_ids: Collection[str]) -> dict[str, dict[str, ResolvedChannel]]:
        """The people's own channels by person and name: one query for the whole batch."""
        if not person_ids:
            return {}
        rows = session.execute(
            select(PersonChannel.person_id, PersonChannel.name, PersonChannel.sealed,
                   PersonChannel.masked_url)
            .where(PersonChannel.person_id.in_(person_ids))).all()
        channels: dict[str, dict[str, ResolvedChannel]] = {}
        for row in rows:
            channels.setdefault(row.person_id, {})[row.name] = self._open(
                row.person_id, row.name, row.sealed, row.masked_url)
        return channels

    def one_per_scheme(self, sessions: sessionmaker[Session]) -> list[Channel]:
        """One opened channel for each kind (URL scheme) among people's own channels:
        enough to tell which senders the service needs and how big its batches may be,
        without opening 10,000 channels at start-up."""
        with sessions() as session:
            return self._one_per_scheme(session)

    def _one_per_scheme(self, session: Session) -> list[Channel]:
        first: dict[str, tuple[str, str]] = {}
        for row in session.execute(select(PersonChannel.person_id, PersonChannel.name,
                                          PersonChannel.masked_url)):
            first.setdefault(row.masked_url.split("://", 1)[0].lower(), (row.person_id, row.name))
        channels: list[Channel] = []
        for person_id, name in first.values():
            sealed, masked_url = session.execute(
                select(PersonChannel.sealed, PersonChannel.masked_url).where(
                    PersonChannel.person_id == person_id, PersonChannel.name == name)).one()
            channel = self._open(person_id, name, sealed, masked_url)
            if isinstance(channel, Channel):
                channels.append(channel)
        return channels

    def _open(self, person_id: str, name: str, sealed: str, masked_url: str) -> ResolvedChannel:
        digest = hashlib.blake2b(sealed.encode("ascii", "replace"), digest_size=16).digest()
        known = self._opened.get((person_id, name))
        if known is not None and known[0] == digest:
            return known[1]
        channel: ResolvedChannel
        try:
            opened = self._channel_key().open(sealed)
        except (ChannelKeyError, SealBroken) as exc:
            reason = f"{person_id}'s channel {name!r} " + _reason(exc)
            channel = UnusableChannel(name=name, masked_url=masked_url, reason=reason)
        else:
            self._masker.add(opened.secrets)  # before anything could log the URL
            channel = Channel(name=name, url=opened.url, masked_url=masked_url)
        self._opened[(person_id, name)] = (digest, channel)
        return channel

    def _channel_key(self) -> ChannelKey:
        if self._key is None:
            try:
                self._key = self._key_source()
            except ChannelKeyError as exc:
                self._key = exc
                log.error("people's channels in the database cannot be used: %s", exc)
        if isinstance(self._key, ChannelKeyError):
            raise self._key
        return self._key


def _reason(error: Exception) -> str:
    if isinstance(error, ChannelKeyError):
        return "cannot be decrypted: " + "; ".join(error.problems)
    return str(error)


def check_channel_key(session: Session) -> None:
    """At start: with people's channels in the database, the key must be set and usable
    (ChannelKeyError otherwise: exit 2). The newest channel is opened as a sample, so a
    changed key is said at start; it is logged, not fatal: only those people's sends fail."""
    newest = session.execute(
        select(PersonChannel.person_id, PersonChannel.name, PersonChannel.sealed)
        .order_by(PersonChannel.updated_at.desc()).limit(1)).first()
    if newest is None:
        return
    key = key_from_environment()
    try:
        key.open(newest.sealed)
    except SealBroken as exc:
        log.error("%s's channel %r %s; sends on people's channels that cannot be decrypted "
                  "will fail (everyone else's go on)", newest.person_id, newest.name, exc)
