"""JSON from strangers, read so that nothing in it can crash us or reach the database.

``json.loads`` happily returns text no database can store (a lone UTF-16
surrogate from ``"\\ud800"``, a NUL), accepts ``NaN``, and raises
``RecursionError`` (not ``ValueError``) on a few thousand nested brackets.
``load_json`` refuses all of that with an ``InputError`` that names where the
problem is and quotes at most a short prefix of the bad value.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from heupreminder.input_text import InputError, quote, text_problem

__all__ = ["MAX_DEPTH", "check_storable", "load_json", "nesting_depth", "quote"]

# Our bodies are flat objects; an import file is at most four levels deep.
MAX_DEPTH = 16


def check_storable(value: Any, path: str = "") -> None:
    """Raise InputError naming the path (``note``, ``pain_reports[3].note``) of the first
    key or text that cannot be stored."""
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                raise InputError(f"{where or 'body'}: {quote(item)} {problem}")
        elif isinstance(item, dict):
            for key, inner in item.items():
                key_problem = text_problem(key) if isinstance(key, str) else None
                if key_problem:
                    raise InputError(f"{where or 'body'}: the key {quote(key)} {key_problem}")
                stack.append((f"{where}.{key}" if where else str(key), inner))
        elif isinstance(item, list):
            stack.extend((f"{where}[{i}]", inner) for i, inner in enumerate(item))


def nesting_depth(text: str) -> int:
    """How deeply arrays and objects nest in JSON text (brackets inside strings ignored).

    Iterative, so it is safe on any input; it runs before the parser, which
    recurses once per level.
    """
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _no_constants(name: str) -> NoReturn:
    raise InputError(f"body: {name} is not a JSON number")


def load_json(raw: bytes | str, *, what: str = "body", max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON text that must be storable: UTF-8, at most `max_depth` deep, no NaN,
    no lone surrogates or NUL in any key or text. InputError otherwise."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InputError(f"{what}: not UTF-8 text (byte {error.start})") from None
    if nesting_depth(raw) > max_depth:
        raise InputError(f"{what}: nested more than {max_depth} levels deep")
    try:
        value = json.loads(raw, parse_constant=_no_constants)
    except json.JSONDecodeError as error:
        raise InputError(f"{what}: not valid JSON (line {error.lineno}, column "
                         f"{error.colno}: {error.msg})") from None
    check_storable(value)
    return value
