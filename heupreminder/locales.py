"""The languages heupreminder ships its texts in, and the fallback to English.

Every text table (reminders, pages, reports, buttons) has exactly these
locales. A locale from elsewhere (a browser's Accept-Language, an old row)
falls back to English through `shipped_locale`, so that rule lives here once.
"""

from __future__ import annotations

from typing import Literal, get_args

Locale = Literal["nl", "en"]
LOCALES: tuple[Locale, ...] = get_args(Locale)
FALLBACK: Locale = "en"


def shipped_locale(locale: str | None) -> Locale:
    """The person's locale if heupreminder ships texts in it, else English."""
    for known in LOCALES:
        if locale == known:
            return known
    return FALLBACK


def check_locale(locale: str) -> Locale:
    """`locale` as a shipped locale; ValueError for any other (a caller's mistake)."""
    if locale not in LOCALES:
        raise ValueError(f"unknown locale {locale!r}; expected one of {', '.join(LOCALES)}")
    return shipped_locale(locale)
