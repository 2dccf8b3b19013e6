"""The link signers a long-running process needs, built on the one shared key.

Check-in links, one-tap answers and history links are all signed with the key
in the database (`links.signing.link_secret`), each under a salt of its own.
`LinkKeys` hands out the signers for one database: the key is read once per
process and a signer is made once per link lifetime (a reload may change it),
so answering a link costs no database read for the key.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from heupreminder.db.models import Person
from heupreminder.links.actions import ActionSigner
from heupreminder.links.history import HistoryLinkError, read_history_token
from heupreminder.links.signing import LinkSigner, link_secret
from heupreminder.pain.lookups import find_person


class LinkKeys:
    """The signers for the database behind `sessions`."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._checkin: dict[timedelta, LinkSigner] = {}
        self._actions: dict[timedelta, ActionSigner] = {}

    @property
    def secret(self) -> str:
        return link_secret(self._sessions)  # read from the database once per process

    def checkin(self, lifetime: timedelta) -> LinkSigner:
        """The signer of one-tap check-in links that last `lifetime`."""
        if lifetime not in self._checkin:
            self._checkin[lifetime] = LinkSigner(self.secret, lifetime)
        return self._checkin[lifetime]

    def actions(self, lifetime: timedelta) -> ActionSigner:
        """The signer of ntfy's answer buttons that last `lifetime`."""
        if lifetime not in self._actions:
            self._actions[lifetime] = ActionSigner(self.secret, lifetime)
        return self._actions[lifetime]

    def history_person(self, session: Session, token: str) -> Person:
        """The active person a history token opens; HistoryLinkError otherwise."""
        person_id = read_history_token(session, self.secret, token)
        person = find_person(session, person_id)
        if person is None:
            raise HistoryLinkError(person_id)
        return person
