"""Finding the active person or routine a request names, with an ``InputError`` that says
what is known when it is not there.

Every way in (CLI, one-tap link page, JSON API, Home Assistant) looks people and routines
up through these, so an unknown name gets the same answer everywhere.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from heupreminder.db.models import Person, Routine
from heupreminder.input_text import InputError, quote


def find_person(session: Session, person_id: str) -> Person | None:
    """The active person ``person_id``, or None; people no longer in the config are unknown."""
    person = session.get(Person, person_id)
    return person if person is not None and person.active else None


def get_person(session: Session, person_id: str) -> Person:
    """The active person ``person_id``, else an ``InputError`` naming the id."""
    person = find_person(session, person_id)
    if person is None:
        raise InputError(f"person: no person {quote(person_id)}")
    return person


def get_routine(session: Session, person_id: str, key: str) -> Routine:
    """The person's active routine ``key``; the error lists the keys they do have."""
    routine = session.scalar(select(Routine).where(
        Routine.person_id == person_id, Routine.key == key, Routine.active))
    if routine is None:
        known = session.scalars(select(Routine.key).where(
            Routine.person_id == person_id, Routine.active).order_by(Routine.key)).all()
        raise InputError(f"routine: {person_id} has no routine {quote(key)} "
                         f"(known: {', '.join(known) or 'none'})")
    return routine
