"""What `heupreminder token` does: API tokens and history links, made, rotated, revoked.

API tokens are write-capable and permanent until revoked: they go in an
`Authorization` header, never in a URL. The history link is read-only and is
what a person bookmarks (see `reports.links`); the same token opens their
calendar feed (`web.calendar`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from heupreminder.config.loader import Settings
from heupreminder.db.models import ApiToken, Person
from heupreminder.input_text import InputError
from heupreminder.links.history import (
    HISTORY_PREFIX,
    history_token,
    history_url,
    revoke_history_link,
    rotate_history_link,
)
from heupreminder.pain.lookups import get_person
from heupreminder.web.api import create_token
from heupreminder.web.calendar import calendar_path


def new_api_token(session: Session, person_id: str, *, replace: bool) -> str:
    """A new API token (shown once); with `replace`, the person's others end now."""
    get_person(session, person_id)  # an active person only
    if replace:
        revoke_api_tokens(session, person_id)
    return create_token(session, person_id)


def revoke_api_tokens(session: Session, person_id: str) -> int:
    """End all of the person's API tokens (also of a person no longer active)."""
    if session.get(Person, person_id) is None:
        raise InputError(f"person: no person {person_id!r}")
    result = session.execute(delete(ApiToken).where(ApiToken.person_id == person_id))
    return int(getattr(result, "rowcount", 0) or 0)


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
