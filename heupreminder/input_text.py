"""Small rules for text that comes from people and strangers, shared by every way in.

No framework here: the pain records, the web layer and the import all use it.
"""

from __future__ import annotations

SHOWN_PREFIX = 40  # characters of a bad value quoted back in an error


class InputError(ValueError):
    """A person's input that cannot be used; the message names the field."""


def quote(value: object, limit: int = SHOWN_PREFIX) -> str:
    """`repr` of the value, cut to `limit` characters of its text.

    repr escapes surrogates and control characters, so the result is printable
    and encodable; the cut keeps a megabyte-long value out of errors and logs.
    """
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r}... ({len(value)} characters)"
    shown = repr(value)
    return shown if len(shown) <= limit + 2 else f"{shown[:limit]}..."


def text_problem(text: str) -> str | None:
    """Why `text` cannot be stored (in SQLite and PostgreSQL alike), or None."""
    if "\x00" in text:
        return "contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (text that is not valid Unicode)"
    return None
