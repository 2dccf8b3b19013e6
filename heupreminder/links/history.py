"""The history page's own link: read-only, signed, rotatable, revocable.

Contracts:

- A history token is ``[person id, nonce]`` signed with the shared link key
  (``links.signing.link_secret``) under its own salt, so it is no check-in link and
  no API token: it can only open ``/h/<token>`` and its chart. It does not expire
  with time (people bookmark it); it ends when the person's nonce changes.
- The nonce lives in ``history_links`` (one row per person), created on first
  use. ``rotate_history_link`` draws a new one (every older link stops working),
  ``revoke_history_link`` clears it (no link works, none is sent, until the next
  rotation).
- ``change_history_link``, ``history_link`` and ``calendar_link`` are what
  ``heupreminder token --history`` does and prints.
- ``history_url`` returns ``<public_url>/h/<token>``, or ``None`` when the
  service has no ``public_url`` or the link is revoked.
- ``read_history_token`` returns the person id of a good token and raises
  ``HistoryLinkError`` (with the person id when the signature was good) otherwise.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from heupreminder.config.loader import Settings
from heupreminder.db.models import HistoryLink, Person, utcnow
from heupreminder.input_text import InputError
from heupreminder.links.signing import link_secret
from heupreminder.pain.lookups import get_person

HISTORY_PREFIX = "/h/"
CALENDAR_PREFIX = "/cal/"  # the calendar feed opens with the same token
_SALT = "heupreminder.history.v1"


class HistoryLinkError(Exception):
    """A history token that does not open anything; `person_id` when it was theirs."""

    def __init__(self, person_id: str | None = None) -> None:
        super().__init__("history link not valid")
        self.person_id = person_id


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=_SALT)


def _new_nonce() -> str:
    return secrets.token_urlsafe(16)  # 22 characters


def current_nonce(sessions: sessionmaker[Session], person_id: str) -> str | None:
    """The person's history nonce, made on first use; None when the link is revoked."""
    with sessions() as session:
        row = session.get(HistoryLink, person_id)
        if row is not None:
            return row.nonce
    try:
        with sessions.begin() as session:
            session.add(HistoryLink(person_id=person_id, nonce=_new_nonce(), changed_at=utcnow()))
    except IntegrityError:
        pass  # made at the same moment elsewhere: use that one
    with sessions() as session:
        row = session.get(HistoryLink, person_id)
        return row.nonce if row is not None else None


def history_token(settings: Settings, sessions: sessionmaker[Session],
                  person_id: str) -> str | None:
    """The person's current history token; None when it is revoked."""
    nonce = current_nonce(sessions, person_id)
    if nonce is None:
        return None
    return _serializer(link_secret(sessions)).dumps([person_id, nonce])


def history_url(settings: Settings, sessions: sessionmaker[Session],
                person_id: str) -> str | None:
    public_url = settings.config.service.public_url
    if not public_url:
        return None
    token = history_token(settings, sessions, person_id)
    if token is None:
        return None
    return f"{public_url.rstrip('/')}{HISTORY_PREFIX}{token}"


def read_history_token(session: Session, secret: str, token: str) -> str:
    """The person id the token opens the history of; HistoryLinkError otherwise."""
    try:
        payload = _serializer(secret).loads(token)
    except (BadSignature, ValueError, TypeError):
        raise HistoryLinkError() from None
    if (not isinstance(payload, list) or len(payload) != 2
            or not all(isinstance(part, str) for part in payload)):
        raise HistoryLinkError()
    person_id, nonce = payload
    row = session.get(HistoryLink, person_id)
    if row is None or row.nonce is None or not hmac.compare_digest(row.nonce, nonce):
        raise HistoryLinkError(person_id)  # rotated or revoked since
    return str(person_id)


def rotate_history_link(session: Session, person_id: str, now: datetime) -> None:
    """A new history link for the person; every earlier one stops working."""
    _set_nonce(session, person_id, _new_nonce(), now)


def revoke_history_link(session: Session, person_id: str, now: datetime) -> None:
    """No history link of the person works, and none is sent, until the next rotation."""
    _set_nonce(session, person_id, None, now)


def _set_nonce(session: Session, person_id: str, nonce: str | None, now: datetime) -> None:
    row = session.get(HistoryLink, person_id)
    if row is None:
        session.add(HistoryLink(person_id=person_id, nonce=nonce, changed_at=now))
    else:
        row.nonce, row.changed_at = nonce, now


def calendar_path(history_token: str) -> str:
    return f"{CALENDAR_PREFIX}{history_token}.ics"


def change_history_link(session: Session, person_id: str, *, revoke: bool, rotate: bool,
                        now: datetime) -> None:
    if revoke:
        if session.get(Person, person_id) is None:
            raise InputError(f"person: no person {person_id!r}")
        revoke_history_link(session, person_id, now)
        return
    get_person(session, person_id)
    if rotate:
        rotate_history_link(session, person_id, now)


def history_link(settings: Settings, sessions: sessionmaker[Session], person_id: str) -> str:
    """The full URL with `public_url`, else the path to put after the server's address."""
    url = history_url(settings, sessions, person_id)
    if url is not None:
        return url
    token = history_token(settings, sessions, person_id)
    if token is None:
        raise InputError(f"{person_id}: the history link is revoked; make a new one with "
                         "--history --rotate")
    return f"{HISTORY_PREFIX}{token}"


def calendar_link(settings: Settings, sessions: sessionmaker[Session], person_id: str) -> str:
    """The calendar feed of the same read-only token, full URL or path like `history_link`."""
    history = history_link(settings, sessions, person_id)
    token = history.rsplit(HISTORY_PREFIX, 1)[1]
    return history.removesuffix(f"{HISTORY_PREFIX}{token}") + calendar_path(token)
