"""Keep secrets out of everything a person or a log shipper can read.

Apprise plugins mask their own URLs (`url(privacy=True)`), but an error
message or a third-party log line can still quote a token. So every log
record passes through `SecretMasker`, which knows the literal secret values
taken from the config (substituted env vars, passwords, tokens: only the
parts Apprise itself calls private, never option words) and blanks them
wherever they appear.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import quote, unquote

MASK = "****"
# Shorter fragments are too likely to be ordinary words or numbers.
_MIN_SECRET_LENGTH = 4
# A secret that holds separators (Telegram's "123:abc") is also masked piece by piece
# when a piece is this long: a log line may quote only the part after the colon.
_MIN_PIECE_LENGTH = 8
_SEPARATORS = re.compile(r"[/:@?&=#,]+")


def secrets_in_url(url: str, masked_url: str) -> set[str]:
    """The secret values in the Apprise URL `url`, to be masked in every log line.

    Those are what Apprise itself declares private for the service (passwords,
    tokens, keys: the values `url(privacy=True)` hides), the values of custom
    headers and parameters (`mask_custom_params`), and the whole URL. Never option
    names or words such as `mode=insecure`: those would blank ordinary log lines.
    A private value that Apprise shows anyway in `masked_url` is not treated as secret.
    """
    import apprise  # here, not at import: logging set-up should not load every plugin

    found = {url}
    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if plugin is not None:
        for value in _private_values(plugin):
            if value not in masked_url:
                found.add(value)
                found.update(p for p in _SEPARATORS.split(value) if len(p) >= _MIN_PIECE_LENGTH)
    for match in _CUSTOM_PARAM.finditer(url):
        value = unquote(match.group(2))
        found.update(v for v in (value, match.group(2)) if v)
    return {f for f in found if len(f) >= _MIN_SECRET_LENGTH}


def _private_values(plugin: object) -> list[str]:
    """The values of the tokens and arguments the plugin's service marks ``private``."""
    values: list[str] = []
    for templates in (getattr(plugin, "template_tokens", {}), getattr(plugin, "template_args", {})):
        for key, spec in templates.items():
            if not isinstance(spec, dict) or not spec.get("private"):
                continue
            value = getattr(plugin, spec.get("map_to", key), None)
            candidates = value if isinstance(value, list | tuple | set) else [value]
            for candidate in candidates:
                if isinstance(candidate, str) and candidate:
                    values.extend({candidate, quote(candidate, safe="")})
    return values


# Apprise shows the custom headers (+Name=...), extra query parameters
# (-name=...) and payload fields (:name=...) of its json://, xml:// and
# form:// URLs as given, even in its privacy rendering; they often hold an
# API key, so we hide their values too.
_CUSTOM_PARAM = re.compile(r"([?&](?:%2B|\+|-|:|%3A)[^=&#]*=)([^&#]*)", re.IGNORECASE)


def mask_custom_params(masked_url: str) -> str:
    """`masked_url` with the values of custom headers and parameters hidden."""
    return _CUSTOM_PARAM.sub(lambda m: m.group(1) + (MASK if m.group(2) else ""), masked_url)


class SecretMasker(logging.Filter):
    """A logging filter that replaces known secret values in every record.

    Two kinds of secrets: the config's (`update`, replaced on every reload; one
    regular expression) and those added one by one while running (`add`: people's
    channels from the database, decrypted when a batch first needs them). The
    latter may be tens of thousands, too many for one alternation (it is tried
    branch by branch at every position, and recompiled on every addition), so
    they are kept in a `_SecretIndex` and survive reloads of the config.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._pattern: re.Pattern[str] | None = None
        self._added = _SecretIndex()
        self.update(secrets)

    def update(self, secrets: Iterable[str]) -> None:
        usable = sorted({s for s in secrets if len(s) >= _MIN_SECRET_LENGTH}, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, usable))) if usable else None

    def add(self, secrets: Iterable[str]) -> None:
        """Mask these too from now on, beside the config's (kept across `update`)."""
        self._added.add(s for s in secrets if len(s) >= _MIN_SECRET_LENGTH)

    def mask(self, text: str) -> str:
        if self._pattern is not None:
            text = self._pattern.sub(MASK, text)
        return self._added.mask(text) if self._added else text

    def filter(self, record: logging.LogRecord) -> bool:
        if self._pattern is None and not self._added:
            return True
        message = record.getMessage()
        masked = self.mask(message)
        if record.exc_info:
            # Render the traceback now so it can be masked as well.
            formatted = logging.Formatter().formatException(record.exc_info)
            masked += "\n" + self.mask(formatted)
            record.exc_info = None
            record.exc_text = None
        record.msg, record.args = masked, None
        return True


class _SecretIndex:
    """Many literal secrets, found by their first characters: the cost of masking a
    line grows with its length (and the few secret lengths sharing a prefix), not
    with the number of secrets; adding one is a dict insert."""

    def __init__(self) -> None:
        # first _MIN_SECRET_LENGTH characters -> length -> the secrets of that length
        self._by_prefix: dict[str, dict[int, set[str]]] = {}

    def __bool__(self) -> bool:
        return bool(self._by_prefix)

    def add(self, secrets: Iterable[str]) -> None:
        for secret in secrets:
            by_length = self._by_prefix.setdefault(secret[:_MIN_SECRET_LENGTH], {})
            by_length.setdefault(len(secret), set()).add(secret)

    def mask(self, text: str) -> str:
        pieces: list[str] = []
        start = i = 0
        end = len(text) - _MIN_SECRET_LENGTH
        while i <= end:
            by_length = self._by_prefix.get(text[i:i + _MIN_SECRET_LENGTH])
            found = by_length and max(
                (n for n, values in by_length.items() if text[i:i + n] in values), default=0)
            if found:  # the longest secret starting here, as the regex prefers
                pieces += (text[start:i], MASK)
                i = start = i + found
            else:
                i += 1
        return "".join(pieces) + text[start:] if pieces else text


MASKER = SecretMasker()


def install_masker(secrets: Iterable[str]) -> None:
    """Attach the process-wide masker to every root handler (idempotent)."""
    MASKER.update(secrets)
    for handler in logging.getLogger().handlers:
        if MASKER not in handler.filters:
            handler.addFilter(MASKER)
