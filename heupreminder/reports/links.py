"""Links to a person's history page, signed like the check-in links.

``history_url`` returns ``<public_url>/h/<token>`` for the person (a
``LinkTarget(person, None)`` signed with the shared link key, so it expires
after ``link_lifetime`` like every check-in link), or ``None`` when the
service has no ``public_url``.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from heupreminder.config.loader import Settings
from heupreminder.web.links import LinkSigner, LinkTarget, link_secret

HISTORY_PREFIX = "/h/"


def history_token(settings: Settings, sessions: sessionmaker[Session], person_id: str) -> str:
    signer = LinkSigner(link_secret(sessions), settings.config.service.link_lifetime)
    return signer.token(LinkTarget(person_id, None))


def history_url(settings: Settings, sessions: sessionmaker[Session],
                person_id: str) -> str | None:
    public_url = settings.config.service.public_url
    if not public_url:
        return None
    token = history_token(settings, sessions, person_id)
    return f"{public_url.rstrip('/')}{HISTORY_PREFIX}{token}"
