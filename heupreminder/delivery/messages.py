"""What a reminder says: title and body in the person's language.

Bodies are plain text in the shape `layout.py` reads: an exercise's steps are
numbered lines, the one-tap link is a line of its own. Push channels send that
text as it is; email draws it as paragraphs, a list and buttons.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import cast

from heupreminder.catalog import Kind, Locale, custom_body, get_entry
from heupreminder.db.models import RoutineText
from heupreminder.locales import shipped_locale


@dataclass(frozen=True)
class Message:
    title: str
    body: str


_LINK_LINE = {"nl": "Gedaan, overgeslagen of pijn melden: {url}",
              "en": "Done, skipped, or log pain: {url}"}

# How a catalog exercise's text ends: (steps, closing sentences), the same in
# both languages (tests/test_email_format.py holds the catalog to it). Counted
# from the end, so a greeting before the steps may change freely; the closing
# sentences say why the exercise helps.
_STEPS_AND_CLOSING: dict[str, tuple[int, int]] = {
    "bridge": (3, 1),
    "inner-thigh-squeeze": (2, 1),
    "outer-thigh": (3, 1),
    "hip-stretch": (4, 0),
}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\u00C0-\u00DD])")


def routine_title(routine: RoutineText, locale: str) -> str:
    """The routine's name as the person sees it."""
    if routine.exercise is not None:
        entry = get_entry(routine.exercise)
        if entry is not None:
            return entry.title(shipped_locale(locale), routine.side)
    return routine.title or routine.key


def with_link(message: Message, locale: str, url: str | None) -> Message:
    """Append the one-tap check-in link, when the service has a public URL."""
    if not url:
        return message
    line = _LINK_LINE[shipped_locale(locale)].format(url=url)
    return Message(title=message.title, body=f"{message.body}\n\n{line}")


def checkin_link_in(line: str) -> tuple[Locale, str, str] | None:
    """(locale, label, url) if `line` is the one-tap link line `with_link` writes."""
    for lang, template in _LINK_LINE.items():
        prefix = template.removesuffix("{url}")
        if line.startswith(prefix):
            url = line.removeprefix(prefix).strip()
            if url.startswith(("http://", "https://")) and " " not in url:
                return cast(Locale, lang), prefix.rstrip(": "), url
    return None


def steps_as_lines(exercise: str, text: str) -> str:
    """`text` (a catalog exercise body) with its steps as numbered lines.

    The greeting and the closing stay on lines of their own, the "stop if it
    hurts" line stays last. An exercise without known steps comes back as it is.
    """
    shape = _STEPS_AND_CLOSING.get(exercise)
    first, _, rest = text.partition("\n")
    sentences = _SENTENCE_END.split(first)
    if shape is None or len(sentences) < sum(shape):
        return text
    end = len(sentences) - shape[1]
    start = end - shape[0]
    lines = [" ".join(sentences[:start])] if start else []
    lines += [f"{n}. {sentence}" for n, sentence in enumerate(sentences[start:end], start=1)]
    if sentences[end:]:
        lines.append(" ".join(sentences[end:]))
    return "\n".join(lines + ([rest] if rest else []))


def compose(routine: RoutineText, locale: str, local_date: date) -> Message:
    """The reminder for one occurrence of `routine` on `local_date`.

    Rotating entries (the nutrition tip) pick by date, so each day brings a
    different tip and a re-send of the same occurrence says the same thing.
    """
    lang = shipped_locale(locale)
    if routine.exercise is not None:
        if get_entry(routine.exercise) is None:
            raise LookupError(f"routine {routine.key!r}: exercise {routine.exercise!r} is unknown")
        return _catalog_message(routine.exercise, routine.side, lang, local_date.toordinal())
    return Message(
        title=routine.title or routine.key,
        body=custom_body(routine.text or "", lang, cast(Kind, routine.kind)),
    )


@lru_cache(maxsize=1024)
def _catalog_message(exercise: str, side: str | None, lang: Locale, rotation: int) -> Message:
    """A catalog entry's reminder. Cached: a morning's reminders are a handful of
    texts sent to many people, and laying out the steps costs more than sending."""
    entry = get_entry(exercise)
    assert entry is not None  # compose() checked
    return Message(title=entry.title(lang, side),
                   body=steps_as_lines(exercise, entry.body(lang, side, rotation=rotation)))
