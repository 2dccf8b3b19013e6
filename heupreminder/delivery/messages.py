"""What a reminder says: title and body in the person's language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import cast

from heupreminder.catalog import Kind, Locale, custom_body, get_entry
from heupreminder.db.models import Routine


@dataclass(frozen=True)
class Message:
    title: str
    body: str


def compose(routine: Routine, locale: str, local_date: date) -> Message:
    """The reminder for one occurrence of `routine` on `local_date`.

    Rotating entries (the nutrition tip) pick by date, so each day brings a
    different tip and a re-send of the same occurrence says the same thing.
    """
    lang = cast(Locale, locale if locale in ("nl", "en") else "en")
    if routine.exercise is not None:
        entry = get_entry(routine.exercise)
        if entry is None:
            raise LookupError(f"routine {routine.key!r}: exercise {routine.exercise!r} is unknown")
        return Message(
            title=entry.title(lang, routine.side),
            body=entry.body(lang, routine.side, rotation=local_date.toordinal()),
        )
    return Message(
        title=routine.title or routine.key,
        body=custom_body(routine.text or "", lang, cast(Kind, routine.kind)),
    )
