"""Signed links behind ntfy's action buttons: one POST answers a reminder or the check-in.

Contracts:

- A token carries what it does in its signed payload, so a button cannot be
  turned into another one:
  ``["answer", person, occurrence, "done" | "skipped"]`` answers one reminder
  (one answer per reminder: pressing it again changes nothing, see
  ``pain.records.log_checkin``), and ``["pain", person, level, once]`` logs one
  pain report, where ``once`` is a one-time value like the pain form's
  ``submission``: the same button pressed twice records one report.
- Tokens are signed with the shared link key (``links.signing.link_secret``) under a
  salt of their own, so they are neither check-in links nor history tokens, and
  they expire after ``[service] link_lifetime`` like the one-tap links.
- Buttons exist only with a ``public_url`` (a phone must reach them); without
  one a reminder is sent as before, with no buttons and no link.
- Labels are ASCII: ntfy reads them from an HTTP header (``X-Actions``), where
  an ellipsis or an en dash is not safe on every client and proxy.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from heupreminder.config.loader import Settings
from heupreminder.db.models import CheckinOutcome, PainReport
from heupreminder.delivery.push import Button
from heupreminder.links.signing import LinkError, link_secret
from heupreminder.locales import shipped_locale

ACTION_PREFIX = "/a/"
_SALT = "heupreminder.action.v1"
OUTCOMES: tuple[str, ...] = tuple(CheckinOutcome)

_LABELS = {
    "nl": {"done": "Gedaan", "skipped": "Overslaan", "pain": "Pijn...",
           "better": "Beter (0-{level})", "same": "Hetzelfde", "worse": "Erger"},
    "en": {"done": "Done", "skipped": "Skip", "pain": "Pain...",
           "better": "Better (0-{level})", "same": "Same", "worse": "Worse"},
}


@dataclass(frozen=True)
class Answer:
    """Done or skipped, for one reminder."""

    person_id: str
    occurrence_id: int
    outcome: str


@dataclass(frozen=True)
class PainAnswer:
    """A pain level from the daily check-in, with its one-time value."""

    person_id: str
    level: int
    once: str


class ActionSigner:
    def __init__(self, secret: str, lifetime: timedelta) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=_SALT)
        self.lifetime = lifetime

    def answer(self, person_id: str, occurrence_id: int, outcome: str) -> str:
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome {outcome!r} is not done or skipped")
        return self._serializer.dumps(["answer", person_id, occurrence_id, outcome])

    def pain(self, person_id: str, level: int) -> str:
        # 16 characters: within the pain form's 8 to 64 for a submission.
        return self._serializer.dumps(["pain", person_id, level, secrets.token_urlsafe(12)])

    def read(self, token: str) -> Answer | PainAnswer:
        try:
            payload = self._serializer.loads(token, max_age=int(self.lifetime.total_seconds()))
        except SignatureExpired:
            raise LinkError(expired=True) from None
        except (BadSignature, ValueError, TypeError):
            raise LinkError(expired=False) from None
        if not isinstance(payload, list) or len(payload) != 4 \
                or not isinstance(payload[1], str):
            raise LinkError(expired=False)
        purpose, person_id, value, last = payload
        if purpose == "answer" and type(value) is int and last in OUTCOMES:
            return Answer(person_id, value, last)
        if purpose == "pain" and type(value) is int and 0 <= value <= 10 \
                and isinstance(last, str):
            return PainAnswer(person_id, value, last)
        raise LinkError(expired=False)


def action_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}{ACTION_PREFIX}{token}"


def _labels(locale: str | None) -> dict[str, str]:
    return _LABELS[shipped_locale(locale)]


def reminder_buttons(signer: ActionSigner, public_url: str, person_id: str,
                     occurrence_id: int, checkin_link: str,
                     locale: str | None) -> tuple[Button, ...]:
    """Done and Skip answer at once (POST); Pain... opens the check-in page."""
    labels = _labels(locale)
    return (
        *(Button(labels[outcome], action_url(public_url,
                                             signer.answer(person_id, occurrence_id, outcome)))
          for outcome in OUTCOMES),
        Button(labels["pain"], checkin_link, post=False),
    )


def checkin_buttons(session: Session, signer: ActionSigner, public_url: str, person_id: str,
                    resume_level: int, checkin_link: str,
                    locale: str | None) -> tuple[Button, ...]:
    """Better, Same, Worse for the daily check-in while paused.

    Better logs `resume_level` (the highest level that lets exercises resume),
    Same the last level reported, Worse one more (at most 10). Without an
    earlier report Same and Worse mean nothing: then Pain... opens the page.
    """
    labels = _labels(locale)
    better = Button(labels["better"].format(level=resume_level),
                    action_url(public_url, signer.pain(person_id, resume_level)))
    last = session.scalar(select(PainReport.level).where(PainReport.person_id == person_id)
                          .order_by(PainReport.at.desc(), PainReport.id.desc()).limit(1))
    if last is None:
        return better, Button(labels["pain"], checkin_link, post=False)
    return (better,
            Button(labels["same"], action_url(public_url, signer.pain(person_id, last))),
            Button(labels["worse"], action_url(public_url,
                                               signer.pain(person_id, min(10, last + 1)))))


class ButtonMaker:
    """What the dispatcher asks for: a reminder's or a check-in's buttons, or () without
    a `public_url` or a check-in link (then the message is sent as before)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._signer: ActionSigner | None = None

    def _signer_for(self, settings: Settings) -> ActionSigner:
        if self._signer is None:  # the key is read once, like the check-in links'
            self._signer = ActionSigner(link_secret(self._sessions),
                                        settings.config.service.link_lifetime)
        return self._signer

    def reminder(self, settings: Settings, person_id: str, occurrence_id: int,
                 checkin_link: str | None, locale: str | None) -> tuple[Button, ...]:
        public_url = settings.config.service.public_url
        if not public_url or not checkin_link:
            return ()
        return reminder_buttons(self._signer_for(settings), public_url, person_id,
                                occurrence_id, checkin_link, locale)

    def checkin(self, session: Session, settings: Settings, person_id: str,
                checkin_link: str | None, locale: str | None) -> tuple[Button, ...]:
        public_url = settings.config.service.public_url
        if not public_url or not checkin_link:
            return ()
        return checkin_buttons(session, self._signer_for(settings), public_url, person_id,
                               settings.config.person_pain(person_id).resume_level,
                               checkin_link, locale)
