"""What a reminder says: title and body in the person's language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import cast

from heupreminder.catalog import Kind, Locale, custom_body, get_entry
from heupreminder.db.models import RoutineText


@dataclass(frozen=True)
class Message:
    title: str
    body: str


_LINK_LINE = {"nl": "Gedaan, overgeslagen of pijn melden: {url}",
              "en": "Done, skipped, or log pain: {url}"}


def routine_title(routine: RoutineText, locale: str) -> str:
    """The routine's name as the person sees it."""
    if routine.exercise is not None:
        entry = get_entry(routine.exercise)
        if entry is not None:
            return entry.title(_lang(locale), routine.side)
    return routine.title or routine.key


def with_link(message: Message, locale: str, url: str | None) -> Message:
    """Append the one-tap check-in link, when the service has a public URL."""
    if not url:
        return message
    line = _LINK_LINE[_lang(locale)].format(url=url)
    return Message(title=message.title, body=f"{message.body}\n\n{line}")


def _lang(locale: str) -> Locale:
    return cast(Locale, locale if locale in ("nl", "en") else "en")


def compose(routine: RoutineText, locale: str, local_date: date) -> Message:
    """The reminder for one occurrence of `routine` on `local_date`.

    Rotating entries (the nutrition tip) pick by date, so each day brings a
    different tip and a re-send of the same occurrence says the same thing.
    """
    lang = _lang(locale)
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
