"""Apprise's request for a message, filled into a template Apprise itself proved.

Capturing a plugin's request (`http_capture.py`) costs ~0.25 ms of the
service's CPU per message, most of a burst's budget. But for one channel the
requests differ only where the message goes in: the title, the body, and
per-message URL options such as ntfy's click link. So per channel (and per
set of per-message options, and per empty/non-empty title) we capture *once*
with probe strings full of characters that give an encoding away (quotes,
backslash, <&>, +, %, /, newline, non-ASCII, emoji), find every place a probe
lands in the request (URL, header values, body) and which known encoding
(JSON string, URL quoting, XML/HTML escaping, raw) put it there, and keep the
rest as literal text. Filling that template costs a few microseconds.
With a channel per person, URLs that differ only in their variable parts
(user, password, path segments, long query values: `url_shapes.py`) share
one template per *shape*, those parts being slots too; a shape the probes
cannot explain falls back to a template per URL, and that to a capture.

A template is kept only if it proves itself, and keeps proving itself:

- Exactly one encoding explains each place a probe landed (overlaps refuse).
- A second capture with *different* probes (other order, other length) must
  equal the template filled with those probes, byte for byte: anything else
  that depends on the message (a hash, a truncation, a random id, a copy in
  another form) makes the two differ, and the channel keeps the slow way.
- The first `VERIFY_FIRST` messages, one in `VERIFY_EVERY` after that, and
  the first message in every new second (a plugin could put the time in its
  request) are also captured the slow way and compared; a mismatch drops the
  template for that channel (or shape) for good (logged once, without the
  URL) and the captured request is the one sent.
- A message goes the slow way if it has anything the probes did not cover: a
  control character, a character Unicode does not call printable, text that
  is not NFC, leading or trailing whitespace (Apprise strips it), or a length
  near the plugin's limits (Apprise truncates or splits).

The bytes on the wire therefore stay exactly what Apprise would send, and
there is still one mechanism for every plugin: nothing here knows a service.
"""

from __future__ import annotations

import html
import json
import logging
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_plus
from xml.sax.saxutils import escape as xml_escape

from apprise.url import URLBase

from heupreminder.delivery.http_capture import capture, plugin_limits
from heupreminder.delivery.http_client import HttpRequest
from heupreminder.delivery.url_shapes import Split, split

log = logging.getLogger(__name__)

VERIFY_FIRST = 5
VERIFY_EVERY = 1000
MAX_TEMPLATES = 20_000  # a channel per person for 10,000 people, with and without a title
# Messages this long stay well inside every limit a plugin with a template has.
MAX_TEXT = 4000


def slot(name: str) -> str:
    """What a per-message URL option's value is in a template's URL (plain letters:
    every URL encoding leaves it as it is)."""
    return f"heupreminderslot{name}"


def _apprise_html(text: str, *, br: bool, spaces: bool) -> str:
    return str(URLBase.escape_html(  # type: ignore[no-untyped-call]
        text, convert_new_lines=br, whitespace=spaces))


# Known encodings a plugin (or requests for it) puts text into a request with.
Encoder = Callable[[str], str]
ENCODERS: dict[str, Encoder] = {
    "raw": lambda s: s,
    "json": lambda s: json.dumps(s)[1:-1],
    "json-utf8": lambda s: json.dumps(s, ensure_ascii=False)[1:-1],
    "quote-plus": lambda s: quote_plus(s, safe=""),
    "quote": lambda s: quote(s, safe=""),
    "quote-path": lambda s: quote(s, safe="/"),
    "html": lambda s: html.escape(s, quote=True),
    "xml": xml_escape,
    # Apprise's own (URLBase.escape_html): &apos;/&quot;, optionally &nbsp;/&emsp; and <br/>.
    "apprise-html": lambda s: _apprise_html(s, br=False, spaces=False),
    "apprise-html-br": lambda s: _apprise_html(s, br=True, spaces=False),
    "apprise-html-ws": lambda s: _apprise_html(s, br=False, spaces=True),
    "apprise-html-ws-br": lambda s: _apprise_html(s, br=True, spaces=True),
}

_SAMPLES = 'https://heup.example/c/Ab-9_x?sig=1&t=2 [link](https://heup.example/a) **b** _i_'
# Every printable ASCII character, newline, blank lines, Markdown-ish text,
# and non-ASCII of 2, 3 and 4 UTF-8 bytes (the emoji is a surrogate pair in JSON).
_ALPHABET = "".join(chr(c) for c in range(0x21, 0x7F))
PROBES_A = {
    "title": "Zq7T " + _ALPHABET + " é ë ß € ✓ 👋 end",
    "body": ("Zq7B " + _ALPHABET + "\n\n1. Lig op je rug  \n- Knieën é ✓ 👋 €\n" + _SAMPLES
             + "\nend"),
}
# Other order, other length: what differs from A must be only what the slots explain.
PROBES_B = {
    "title": "Zq8T " + _ALPHABET[::-1] + " 👋 ✓ ë",
    "body": "Zq8B 👋 ✓\n" + _ALPHABET[::-1] + "\n" + _SAMPLES[::-1] + " ß é\n\nfin",
}
# A per-message URL option (a link) may hold only these: Apprise re-quotes
# others in its own way (ntfy's click: "+" becomes "%252B"), which no single
# encoder explains, so a probe with them would never make a template.
_URL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:/?=&")
_URL_PROBE_A = "https://heup.example:8443/base/c/Zq7U-AZaz09._~:/?x=1&y=2"
_URL_PROBE_B = "http://heup.example/c/Zq8U_a.b~c-d:e?f=g&h=9"


# A piece of a template: literal text, or (slot, encoder) to fill in.
Piece = str | bytes | tuple[str, str]


@dataclass(frozen=True)
class Template:
    """A captured request with the message's places marked; `fill()` makes one."""

    request: HttpRequest  # the probe-A capture: method, verify, timeout, redirects
    limits: tuple[int, int]  # the plugin's title_maxlen, body_maxlen
    url: tuple[Piece, ...]
    headers: tuple[tuple[str, tuple[Piece, ...] | None], ...]  # None: Content-Length
    body: tuple[Piece, ...]

    def fill(self, values: Mapping[str, str]) -> HttpRequest:
        """The request for a message: each slot's value, encoded as the probe was."""
        cache: dict[tuple[str, str], str] = {}

        def text(pieces: tuple[Piece, ...]) -> str:
            if len(pieces) == 1 and isinstance(pieces[0], str):
                return pieces[0]  # most headers: no slot
            return "".join(p if isinstance(p, str) else _encoded(p, values, cache)
                           for p in pieces if not isinstance(p, bytes))

        body = b"".join(p if isinstance(p, bytes) else _encoded(p, values, cache).encode()
                        for p in self.body if not isinstance(p, str))
        headers = tuple((name, str(len(body)) if value is None else text(value))
                        for name, value in self.headers)
        base = self.request
        # Not dataclasses.replace(): that costs more than the rest of fill().
        return HttpRequest(base.method, text(self.url), headers, body, base.verify,
                           base.timeout, base.redirects)


def _encoded(piece: tuple[str, str], values: Mapping[str, str],
             cache: dict[tuple[str, str], str]) -> str:
    done = cache.get(piece)
    if done is None:  # a slot in several places (JSON body and a header) is encoded once
        done = cache[piece] = ENCODERS[piece[1]](values[piece[0]])
    return done


@dataclass
class _Entry:
    template: Template | None  # None: this channel builds every request with Apprise
    uses: int = 0
    verified_second: int = -1


class Templates:
    """Templates per URL shape or else per channel URL (per-message options as
    slots) and title presence; thread-safe. `request()` is the one entry point."""

    def __init__(self, max_templates: int = MAX_TEMPLATES) -> None:
        # Keyed by channel URL or by URL shape (url_shapes.py), title or not, options.
        self._entries: OrderedDict[tuple[object, bool, frozenset[str]], _Entry] = OrderedDict()
        self._no_shape: OrderedDict[tuple[object, bool, frozenset[str]], None] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_templates
        self._warned: set[str] = set()

    def request(self, url: str, title: str, body: str,
                options: Mapping[str, str] | None = None) -> HttpRequest | None:
        """The request Apprise builds for this message, or None to use Apprise.

        `url` is the channel's URL; each per-message option `name` appears in
        it as a query value `slot(name)`, and its value is `options[name]`.
        """
        options = options or {}
        values = {"title": title, "body": body}
        for name, value in options.items():
            values[f"url:{name}"] = value
        # A title's probe has no newline (a header cannot hold one): nor may the title.
        if not body or "\n" in title or not _covered(title) or not _covered(body) \
                or not all(_URL_CHARS.issuperset(v) for v in options.values()):
            return capture(_real_url(url, options), title, body)
        shaped = split(url)
        if shaped is not None and shaped.values:
            shape_key = (shaped.key, bool(title), frozenset(options))
            entry = self._entry(shape_key, url, bool(title), tuple(options), shaped)
            if entry is not None:  # one template for every URL of this shape
                values.update(shaped.slots)
                return self._use(entry, values, url, title, body, options)
        entry = self._entry((url, bool(title), frozenset(options)), url, bool(title),
                            tuple(options))
        assert entry is not None
        return self._use(entry, values, url, title, body, options)

    def _entry(self, key: tuple[object, bool, frozenset[str]], url: str, has_title: bool,
               options: tuple[str, ...], shaped: Split | None = None) -> _Entry | None:
        """The entry for a URL (or a shape: None if that shape cannot have a template)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                return entry
            if key in self._no_shape:
                return None
        template = _build(url, has_title, options, shaped)
        with self._lock:
            if template is None and shaped is not None:
                self._no_shape[key] = None
                _trim(self._no_shape, self._max)
                return None
            entry = self._entries.setdefault(key, _Entry(template))
            _trim(self._entries, self._max)
        return entry

    def _use(self, entry: _Entry, values: Mapping[str, str], url: str, title: str, body: str,
             options: Mapping[str, str]) -> HttpRequest | None:
        template = entry.template
        if template is None or not _fits(template.limits, title, body):
            return capture(_real_url(url, options), title, body)
        filled = template.fill(values)
        entry.uses += 1  # a lost count under a race only shifts the sampling
        second = int(time.time())
        if entry.uses <= VERIFY_FIRST or entry.uses % VERIFY_EVERY == 0 \
                or second != entry.verified_second:
            entry.verified_second = second
            captured = capture(_real_url(url, options), title, body)
            if captured != filled:
                entry.template = None
                self._warn(url)
                return captured
        return filled

    def has_template(self, url: str, with_title: bool = True,
                     options: tuple[str, ...] = ()) -> bool | None:
        """Whether this channel's messages are filled in (True), built by Apprise
        (False), or not seen yet (None): for tests and diagnostics."""
        shaped = split(url)
        entry = None
        if shaped is not None and shaped.values:  # the shape's template, if it has one
            entry = self._entries.get((shaped.key, with_title, frozenset(options)))
        if entry is None:
            entry = self._entries.get((url, with_title, frozenset(options)))
        return None if entry is None else entry.template is not None

    def _warn(self, url: str) -> None:
        service = url.split("://", 1)[0]  # only the scheme: the rest may hold a token
        if service not in self._warned:
            self._warned.add(service)
            log.warning("a %s:// channel's request template did not match Apprise's request; "
                        "that channel's requests are built by Apprise from now on", service)


def _real_url(url: str, options: Mapping[str, str]) -> str:
    for name, value in options.items():
        # %20 for a space, not "+": Apprise reads a "+" back as "+" (ntfy's actions
        # have spaces; push.ntfy_url quotes them so). Values without spaces (links)
        # come out as urlencode() put them there.
        url = url.replace(slot(name), quote(value, safe=""), 1)
    return url


def _covered(text: str) -> bool:
    """True if the probes covered every character of `text` and where it is."""
    if len(text) > MAX_TEXT or text != text.strip():
        return False
    if not text.replace("\n", "").isprintable():
        return False  # control, format, private, unassigned, line separators, NBSP
    return text.isascii() or unicodedata.is_normalized("NFC", text)


def _fits(limits: tuple[int, int], title: str, body: str) -> bool:
    title_max, body_max = limits
    if title_max > 0 and len(title) > title_max:
        return False
    # The probes fit; so does a message with room to spare for the title's
    # separator when the plugin puts the title into the body.
    return len(title) + len(body) + 16 <= body_max


def _build(url: str, has_title: bool, options: tuple[str, ...],
           shaped: Split | None = None) -> Template | None:
    """A template for this channel, or for every URL of its shape (`shaped`: the
    URL's parts are slots too), or None if Apprise's requests cannot be one."""
    probes, urls = [], []
    for n, (base, url_probe) in enumerate(((PROBES_A, _URL_PROBE_A), (PROBES_B, _URL_PROBE_B))):
        values = {"title": base["title"] if has_title else "", "body": base["body"]}
        for name in options:
            values[f"url:{name}"] = url_probe
        target = url
        if shaped is not None:
            parts = shaped.probe_values("AB"[n])
            values.update(shaped.slot_values(parts))
            target = shaped.url(parts)
        probes.append(values)
        urls.append(_real_url(target, {name: url_probe for name in options}))
    captured = []
    limits = plugin_limits(urls[0])
    for values, target in zip(probes, urls, strict=True):
        if not _fits(limits, values["title"], values["body"]):
            return None
        request = capture(target, values["title"], values["body"])
        if request is None:
            return None
        captured.append(request)
    template = _template_from(captured[0], probes[0], limits)
    if template is None or template.fill(probes[1]) != captured[1]:
        return None
    if shaped is not None and not _explains(template, shaped):
        return None
    return template


def _explains(template: Template, shaped: Split) -> bool:
    """True if each of the URL's parts landed in the request (so none of them
    changed it in a way a slot does not show: a word the plugin reads)."""
    used = {p[0] for pieces in (template.url, template.body,
                                *(v for _, v in template.headers if v is not None))
            for p in pieces if isinstance(p, tuple)}
    return all(any(slot in used for slot in shaped.explained_by(i))
               for i in range(len(shaped.values)))


def _trim(entries: OrderedDict[Any, Any], most: int) -> None:
    while len(entries) > most:
        entries.popitem(last=False)


def _template_from(request: HttpRequest, values: Mapping[str, str],
                   limits: tuple[int, int]) -> Template | None:
    slots = {name: value for name, value in values.items() if value}
    url = _pieces(request.url, slots)
    body = _pieces(request.body, slots)
    if url is None or body is None:
        return None
    headers: list[tuple[str, tuple[Piece, ...] | None]] = []
    for name, value in request.headers:
        if name.lower() == "content-length":
            if value != str(len(request.body)):
                return None
            headers.append((name, None))
            continue
        pieces = _pieces(value, slots)
        if pieces is None:
            return None
        headers.append((name, pieces))
    return Template(request=request, limits=limits, url=url, headers=tuple(headers), body=body)


def _pieces(text: str | bytes, slots: Mapping[str, str]) -> tuple[Piece, ...] | None:
    """`text` cut into literals and the places one encoder of one slot explains."""
    found: list[tuple[int, int, str, str]] = []
    for name, probe in slots.items():
        seen: set[str] = set()
        for encoder, encode in ENCODERS.items():
            needle = encode(probe)
            if needle in seen:  # the same output as an earlier encoder: one explanation
                continue
            seen.add(needle)
            target: str | bytes = needle if isinstance(text, str) else needle.encode()
            start = text.find(target)  # type: ignore[arg-type]
            while start >= 0:
                found.append((start, start + len(target), name, encoder))
                start = text.find(target, start + len(target))  # type: ignore[arg-type]
    found.sort()
    pieces: list[Piece] = []
    at = 0
    for start, end, name, encoder in found:
        if start < at:
            return None  # two explanations overlap: ambiguous
        if start > at:
            pieces.append(text[at:start])
        pieces.append((name, encoder))
        at = end
    if at < len(text) or not pieces:
        pieces.append(text[at:])
    return tuple(pieces)


TEMPLATES = Templates()
