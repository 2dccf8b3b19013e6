"""The care report's events in readable words, Dutch and English.

Contract: ``event_details(row, locale, titles)`` says what one event was, for
a care provider reading about the person (third person, no internal ids, no
codes): a reminder's outcome, an answer, a pain report (level, where, the
person's own note), or why the exercises rested or resumed, with the pain
levels behind that decision. Types, statuses and places are the history
page's words (``reports.history_words``), so both say the same thing; the decisions'
words are here. Recorded reasons (English, with the database's ids) are not
shown: the CSV and JSON keep them for scripts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from heupreminder.db.models import OccurrenceStatus
from heupreminder.locales import shipped_locale
from heupreminder.reports.history_words import history_texts
from heupreminder.reports.rows import ReportRow

# Why a pause, an escalation or a resume was decided: (action, code) or code.
_WHY: Mapping[str, Mapping[str, str]] = {
    "nl": {
        "persisting": "de pijn hield aan",
        "rising": "de pijn werd steeds erger",
        "worsening": "de pijn was hoger dan de dag ervoor",
        "severe": "veel pijn op meer dan één dag",
        "severe-today": "veel pijn vandaag: rust tot middernacht",
        "severe-while-paused": "veel pijn, ook tijdens de rust",
        "manual": "met de hand stilgezet",
        "resume:manual": "met de hand hervat",
        "rested": "uitgerust, en de pijn is weer laag",
        "problem": "verwerking mislukt (zie de log van de dienst)",
        "solved": "verwerking werkt weer",
        "other": "rust voor de heup",
    },
    "en": {
        "persisting": "the pain persisted",
        "rising": "the pain kept getting worse",
        "worsening": "the pain was higher than the day before",
        "severe": "severe pain on more than one day",
        "severe-today": "severe pain today: rest until midnight",
        "severe-while-paused": "severe pain, also during the rest",
        "manual": "paused by hand",
        "resume:manual": "resumed by hand",
        "rested": "rested, and the pain is low again",
        "problem": "processing failed (see the service's log)",
        "solved": "processing works again",
        "other": "rest for the hip",
    },
}
_WORDS: Mapping[str, Mapping[str, str]] = {
    "nl": {"all": "alle oefeningen", "advice": "advies: naar de zorgverlener",
           "levels": "pijn {levels} van 10", "and": "en", "missed": "gemist (niet op tijd "
           "verstuurd)", "problem": "Storing", "solved": "Opgelost"},
    "en": {"all": "all exercises", "advice": "advised to see their care provider",
           "levels": "pain {levels} out of 10", "and": "and", "missed": "missed (not sent "
           "in time)", "problem": "Problem", "solved": "Solved"},
}


def why_words(code: str, locale: str, action: str = "pause") -> str:
    """Why a pause (or resume) was decided, in the person's words: ``de pijn hield aan``."""
    why = _WHY[shipped_locale(locale)]
    return why.get(f"{action}:{code}") or why.get(code) or why["other"]


def type_word(row_type: str, locale: str) -> str:
    """``Herinnering`` / ``Reminder``, ``Rust`` / ``Rest``, ...: never the code."""
    types: dict[str, str] = history_texts(locale)["types"]
    return types.get(row_type) or _WORDS[shipped_locale(locale)].get(row_type, "-")


def event_details(row: ReportRow, locale: str, titles: Mapping[str, str]) -> str:
    """What happened, in words; see the module docstring."""
    t: dict[str, Any] = history_texts(locale)
    if row.type == "pain":
        parts = [f"{row.level}/10"]
        if row.location:
            parts.append(t["where"].get(row.location, t["where"]["other"]))
        if row.note:
            parts.append(row.note)
        return ", ".join(parts)
    if row.type == "reminder":
        if row.paused:
            return str(t["status"]["rest"])  # a rest day, not a miss
        if row.status == OccurrenceStatus.MISSED:
            return _WORDS[shipped_locale(locale)]["missed"]
        return str(t["status"].get(row.status or "", "-"))
    if row.type == "checkin":
        return str(t["status"].get(row.status or "", "-"))
    return decision_details(row, locale, titles)


def decision_details(row: ReportRow, locale: str, titles: Mapping[str, str]) -> str:
    """Why the exercises rested, resumed or were escalated, and which ones."""
    lang = shipped_locale(locale)
    why, words = _WHY[lang], _WORDS[lang]
    if row.type in ("problem", "solved"):
        return why[row.type]
    text = why_words(row.status or "", locale, row.type)
    scope = words["all"] if row.routine is None else titles.get(row.routine, row.routine)
    parts = [f"{scope}: {text}"]
    if row.levels:
        parts.append(words["levels"].format(levels=_listed(row.levels, words["and"])))
    if row.type == "escalate":
        parts.append(words["advice"])
    return ", ".join(parts)


def _listed(levels: Sequence[int], and_word: str) -> str:
    """``5``, ``5 and 6``, ``4, 5 and 7``."""
    numbers = [str(level) for level in levels]
    if len(numbers) == 1:
        return numbers[0]
    return f"{', '.join(numbers[:-1])} {and_word} {numbers[-1]}"
