"""Signed, expiring, per-occurrence links for one-tap check-ins.

A link carries (person, occurrence) signed with a key kept in the database,
so every node of a cluster accepts links any node made. Opening a link
changes nothing; only the page's form POST does, because mail scanners and
chat previews fetch links on their own.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from weakref import WeakKeyDictionary

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from heupreminder.db.models import ServiceState

_SECRET_KEY = "link_secret"
_SALT = "heupreminder.checkin.v1"


class LinkError(Exception):
    """A link that cannot be used; `expired` tells the page what to say."""

    def __init__(self, expired: bool) -> None:
        super().__init__("link expired" if expired else "link invalid")
        self.expired = expired


@dataclass(frozen=True)
class LinkTarget:
    person_id: str
    occurrence_id: int | None  # None: the person's general check-in page


# The key never changes once made, so each process reads it once per database
# (per session factory) instead of once per link; weak, so a closed factory's goes.
_SECRETS: WeakKeyDictionary[sessionmaker[Session], str] = WeakKeyDictionary()


def link_secret(sessions: sessionmaker[Session]) -> str:
    """The signing key, created once and shared through the database, read once per process."""
    secret = _SECRETS.get(sessions)
    if secret is None:
        secret = _SECRETS[sessions] = _stored_secret(sessions)
    return secret


def _stored_secret(sessions: sessionmaker[Session]) -> str:
    """The key from the database, made there first if no process has made it yet."""
    with sessions() as session:
        value = session.scalar(select(ServiceState.value).where(ServiceState.key == _SECRET_KEY))
    if value:
        return value
    try:
        with sessions.begin() as session:
            session.add(ServiceState(key=_SECRET_KEY, value=secrets.token_urlsafe(32)))
    except IntegrityError:
        pass  # another process created it first; use theirs
    with sessions() as session:
        stored = session.scalar(select(ServiceState.value).where(ServiceState.key == _SECRET_KEY))
    assert stored is not None
    return stored


class LinkSigner:
    def __init__(self, secret: str, lifetime: timedelta) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=_SALT)
        self.lifetime = lifetime

    def token(self, target: LinkTarget) -> str:
        return self._serializer.dumps([target.person_id, target.occurrence_id])

    def read(self, token: str) -> LinkTarget:
        try:
            person_id, occurrence_id = self._serializer.loads(
                token, max_age=int(self.lifetime.total_seconds()))
        except SignatureExpired:
            raise LinkError(expired=True) from None
        except (BadSignature, ValueError, TypeError):
            raise LinkError(expired=False) from None
        if not isinstance(person_id, str) or not isinstance(occurrence_id, int | None):
            raise LinkError(expired=False)
        return LinkTarget(person_id, occurrence_id)


def checkin_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/c/{token}"
