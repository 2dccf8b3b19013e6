"""API tokens: write-capable, permanent until revoked, only their hash stored.

They go in an `Authorization` header, never in a URL (the history link is the
read-only thing a person bookmarks: `links.history`). The JSON API checks them
with `hash_token`; `heupreminder token` makes, rotates and revokes them here.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import delete
from sqlalchemy.orm import Session

from heupreminder.db.models import ApiToken, Person
from heupreminder.input_text import InputError
from heupreminder.pain.lookups import get_person


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, person_id: str) -> str:
    """A new API token for the person; only its hash is stored, so show it now."""
    get_person(session, person_id)
    token = f"heup_{secrets.token_urlsafe(24)}"
    session.add(ApiToken(token_hash=hash_token(token), person_id=person_id))
    return token


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
