"""The messages a pain decision sends, put into the outbox for the service to deliver.

A pause sends the rest message, an escalation the care advice, a resume the resume
message, and a decision that asks for it the caregiver's message too. Each has a dedupe
key named after the pause, so applying the same decision twice queues nothing more.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from heupreminder.catalog import Locale
from heupreminder.config.loader import Settings
from heupreminder.db.models import Person, Routine
from heupreminder.delivery import outbox
from heupreminder.delivery.messages import routine_title
from heupreminder.pain.rest_messages import caregiver_message, rest_message, resume_message
from heupreminder.policy.pain_facts import Decision


def queue_notice(session: Session, person: Person, kind: str, dedupe_key: str, title: str,
                 body: str, channels: list[str] | None = None, *, now: datetime) -> None:
    """Put a message for `person` in the outbox unless the same one is already there."""
    outbox.queue_notice(session, person.id, kind, dedupe_key, title, body,
                        channels=channels if channels is not None else list(person.channels),
                        now=now)


def queue_decision_notices(session: Session, settings: Settings, person: Person,
                           decision: Decision, pause_id: int | None, now: datetime) -> None:
    """The person's message about ``decision`` (about pause ``pause_id``), and the
    caregiver's when the decision asks for it and the person has caregiver channels."""
    locale = cast(Locale, person.locale)
    paused_title = _routine_title(session, person, decision)
    if decision.action == "resume":
        title, body = resume_message(locale, decision, paused_title)
        queue_notice(session, person, "resume", f"resume-{pause_id}", title, body, now=now)
    else:
        title, body = rest_message(locale, decision, paused_title,
                                   has_supplements=_has_supplements(session, person))
        # A new pause and its later escalation are two messages: different keys.
        key = f"rest-{pause_id}" if decision.action == "pause" else f"escalate-{pause_id}"
        queue_notice(session, person, "rest", key, title, body, now=now)
    if decision.notify_caregiver:
        config = settings.config.person(person.id)
        caregivers = list(config.caregiver_channels) if config else []
        if caregivers:
            title, body = caregiver_message(locale, person.name, decision, paused_title)
            queue_notice(session, person, "caregiver", f"caregiver-{pause_id}", title, body,
                         channels=caregivers, now=now)


def _has_supplements(session: Session, person: Person) -> bool:
    """Whether the rest message should say that supplements keep going."""
    return session.scalar(select(func.count(Routine.id)).where(
        Routine.person_id == person.id, Routine.active, Routine.kind == "supplement")) != 0


def _routine_title(session: Session, person: Person, decision: Decision) -> str | None:
    """The paused routine's title in the person's language; None for all exercises."""
    if decision.scope is None:
        return None
    routine = session.scalar(select(Routine).where(
        Routine.person_id == person.id, Routine.key == decision.scope))
    return routine_title(routine, person.locale) if routine else decision.scope
