"""A channel URL's shape: what it has in common with other people's channels.

With a channel per person (each their own ntfy topic, Telegram chat id,
Pushover user key, ...) a burst sends one message per URL, so a template per
URL (`http_template.py`) would be built, with captures, for every message.
But such URLs differ only in their *variable parts*: the user, the password,
a "host" that is no host name but a plugin's id or token, the path segments
and the longer query values. `split()` cuts a URL into
literal text and those parts; the shape (`Split.key`) keeps the literal text
(scheme, host, port, the structure, query names, short query values, the
per-message option slots) and, for each variable part, its length and its
character class. Two URLs of one shape share one template, in which each
part is a slot filled with the real URL's value.

The template is built from two probe URLs of the shape (`Split.probe_url`),
whose parts are different strings of the same length and class, so that a
plugin's validation (a 30-character key of lowercase letters and digits, a
numeric chat id) accepts them as it accepts the real ones:

- The class of a part is which of lowercase, uppercase and digits it has, and
  which of "-", "_", "." and "~"; a probe cycles through all of them, so a
  plugin that changes case or drops a character no longer finds the probe.
- A short prefix such as "tk_" (a token's kind) or a leading "-" (a
  negative chat id) is kept as it is: a plugin may read it.
- Parts with any other character (percent-escapes, "+", "@", ":"), parts
  shorter than `MIN_PART` (or query values shorter than `MIN_QUERY_VALUE`:
  options such as priority=high are words a plugin reads), parts starting
  with "0" (a number a plugin may normalise) and per-message option slots
  are literal: a URL with such a part has a shape of its own.

A URL with a fragment ("#channel") or without "://" has no shape; the caller
then uses a template per URL, as before. Whether the probes explain the
plugin's request (each part's probe must land in the request, and the second
capture must equal the template filled with the second probes) is checked
where the template is built.
"""

from __future__ import annotations

import base64
import random
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache

MIN_PART = 4
MIN_QUERY_VALUE = 12
_ALNUM = {"a": "qxzjvkwyfbgmhp", "A": "QXZJVKWYFBGMHP", "9": "3456789"}
_PUNCT = "-_.~"
_SAFE_TEXT = re.compile(r"[A-Za-z0-9._~-]+")
_KINDS = (("a", re.compile("[a-z]")), ("A", re.compile("[A-Z]")), ("9", re.compile("[0-9]")))
_PREFIX = re.compile(r"^(?:[A-Za-z]{1,4}[_-]|-)")
SLOT_MARK = "heupreminderslot"  # http_template.slot(): a per-message option's place


def part_slot(index: int) -> str:
    """The template slot of a URL's variable part number `index`."""
    return f"part:{index}"


BASIC_SLOT = "part:basic"  # base64("user:password"): HTTP Basic authentication


def basic_slot(index: int) -> str:
    """The slot of base64("<part>:"): a plugin's own Basic authentication with a
    token as the user (Pushover's app token)."""
    return f"part:basic:{index}"


@dataclass(frozen=True)
class Split:
    """A URL as literal text and variable parts: `key` names its shape."""

    key: tuple[str | tuple[str, int, str], ...]  # literals, and (prefix, length, class)
    values: tuple[str, ...]  # the variable parts' values, in order
    # The user and the password: a part's index, literal text, or None (not there).
    userinfo: tuple[int | str | None, int | str | None]

    @cached_property
    def slots(self) -> dict[str, str]:
        """The slots' values for this URL (kept: a URL is split once, filled often)."""
        return self.slot_values(self.values)

    def slot_values(self, values: tuple[str, ...]) -> dict[str, str]:
        """The slots' values for a URL of this shape with these parts."""
        slots = {part_slot(i): v for i, v in enumerate(values)}
        # (Not for the user and password: their pair's base64 may begin with the user's.)
        slots.update((basic_slot(i), _basic(v, "")) for i, v in enumerate(values)
                     if i not in self.userinfo)
        user, password = (v if not isinstance(v, int) else values[v] for v in self.userinfo)
        if user is not None:
            slots[BASIC_SLOT] = _basic(user, password or "")
        return slots

    def explained_by(self, index: int) -> tuple[str, ...]:
        """The slots that show part `index` in a request."""
        if index in self.userinfo:
            return part_slot(index), BASIC_SLOT
        return part_slot(index), basic_slot(index)

    def probe_values(self, seed: str) -> tuple[str, ...]:
        """Other values of the same length and class for every part."""
        shapes = [k for k in self.key if isinstance(k, tuple)]
        return tuple(prefix + _probe(length - len(prefix), kind, f"{seed}{i}")
                     for i, (prefix, length, kind) in enumerate(shapes))

    def url(self, values: tuple[str, ...]) -> str:
        """The URL of this shape with these parts."""
        parts = iter(values)
        return "".join(k if isinstance(k, str) else next(parts) for k in self.key)


def _basic(user: str, password: str) -> str:
    """What requests puts after "Basic " for this user and password."""
    return base64.b64encode(f"{user}:{password}".encode("latin-1")).decode("ascii")


@lru_cache(maxsize=32768)
def split(url: str) -> Split | None:
    """`url` as a shape and its variable parts; None if it has no shape."""
    scheme, sep, rest = url.partition("://")
    if not sep or "#" in rest or not scheme:
        return None
    end = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    netloc, tail = rest[:end], rest[end:]
    key: list[str | tuple[str, int, str]] = [scheme + sep]
    values: list[str] = []
    userinfo: list[int | str | None] = [None, None]

    def add(text: str, variable: bool, role: int | None = None) -> None:
        part = _classify(text) if variable else None
        if role is not None:
            userinfo[role] = text if part is None else len(values)
        if part is None:
            key.append(text)
            return
        key.append(part)
        values.append(text)

    if "@" in netloc:
        info, hostport = netloc.rsplit("@", 1)
        user, colon, password = info.partition(":")
        add(user, True, 0)
        if colon:
            key.append(":")
            add(password, True, 1)
        key.append("@")
    else:
        hostport = netloc
    # A host name has a dot (or a port); a bare word there is a plugin's id or token
    # (discord://webhook_id/..., pover://user@app_token).
    add(hostport, "." not in hostport and ":" not in hostport)
    path, question, query = tail.partition("?")
    for n, segment in enumerate(path.split("/")):
        if n:
            key.append("/")
        add(segment, True)
    if question:
        key.append("?")
        for n, pair in enumerate(query.split("&")):
            name, equals, value = pair.partition("=")
            key.append(("&" if n else "") + name + equals)
            add(value, len(value) >= MIN_QUERY_VALUE)
    return Split(key=_merged(key), values=tuple(values), userinfo=(userinfo[0], userinfo[1]))


def _merged(key: list[str | tuple[str, int, str]]) -> tuple[str | tuple[str, int, str], ...]:
    """Adjacent literals joined (so a variable part's place is unambiguous)."""
    out: list[str | tuple[str, int, str]] = []
    for item in key:
        if isinstance(item, str) and out and isinstance(out[-1], str):
            out[-1] += item
        elif item != "":
            out.append(item)
    return tuple(out)


def _classify(text: str) -> tuple[str, int, str] | None:
    """(literal prefix, length, class) of a variable part; None if it stays literal."""
    if len(text) < MIN_PART or not _SAFE_TEXT.fullmatch(text) or SLOT_MARK in text \
            or text.startswith("0"):
        return None
    found = _PREFIX.match(text)
    prefix = found.group(0) if found else ""
    rest = text[len(prefix):]
    kinds = "".join(k for k, pattern in _KINDS if pattern.search(rest))
    punct = "".join(p for p in _PUNCT if p in rest)
    # Room for every kind at least twice and each punctuation mark inside the part.
    if not kinds or len(rest) < 2 * len(kinds) + 2 * len(punct) + 2 or rest[0] == "0":
        return None
    return prefix, len(text), kinds + punct


def _probe(length: int, kind: str, seed: str) -> str:
    """A string of `length` in class `kind`: letters/digits of each kind in turn,
    each punctuation mark inside; never starting with "0"."""
    rng = random.Random(seed)
    kinds = [k for k in kind if k in _ALNUM]
    chars = [rng.choice(_ALNUM[kinds[i % len(kinds)]]) for i in range(length)]
    for n, mark in enumerate(p for p in kind if p in _PUNCT):
        chars[1 + 2 * n + len(kinds)] = mark
    return "".join(chars)
