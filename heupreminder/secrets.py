"""Keep secrets out of everything a person or a log shipper can read.

Apprise plugins mask their own URLs (`url(privacy=True)`), but an error
message or a third-party log line can still quote a token. So every log
record passes through `SecretMasker`, which knows the literal secret values
taken from the config (substituted env vars, passwords, tokens) and blanks
them wherever they appear.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

MASK = "****"
# Shorter fragments are too likely to be ordinary words or numbers.
_MIN_SECRET_LENGTH = 4
_URL_PARTS = re.compile(r"[/:@?&=#,]+")


def secrets_in_url(url: str, masked_url: str) -> set[str]:
    """The parts of `url` that Apprise chose to hide in `masked_url`.

    Apprise knows per service which URL parts are secret; whatever it does
    not show in its privacy rendering we treat as a secret too.
    """
    found = {url}
    for part in _URL_PARTS.split(url):
        if len(part) >= _MIN_SECRET_LENGTH and part not in masked_url:
            found.add(part)
    return found


# Apprise shows the custom headers (+Name=...), extra query parameters
# (-name=...) and payload fields (:name=...) of its json://, xml:// and
# form:// URLs as given, even in its privacy rendering; they often hold an
# API key, so we hide their values too.
_CUSTOM_PARAM = re.compile(r"([?&](?:%2B|\+|-|:|%3A)[^=&#]*=)([^&#]*)", re.IGNORECASE)


def mask_custom_params(masked_url: str) -> str:
    """`masked_url` with the values of custom headers and parameters hidden."""
    return _CUSTOM_PARAM.sub(lambda m: m.group(1) + (MASK if m.group(2) else ""), masked_url)


class SecretMasker(logging.Filter):
    """A logging filter that replaces known secret values in every record."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._pattern: re.Pattern[str] | None = None
        self.update(secrets)

    def update(self, secrets: Iterable[str]) -> None:
        usable = sorted({s for s in secrets if len(s) >= _MIN_SECRET_LENGTH}, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, usable))) if usable else None

    def mask(self, text: str) -> str:
        return self._pattern.sub(MASK, text) if self._pattern else text

    def filter(self, record: logging.LogRecord) -> bool:
        if self._pattern is None:
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


MASKER = SecretMasker()


def install_masker(secrets: Iterable[str]) -> None:
    """Attach the process-wide masker to every root handler (idempotent)."""
    MASKER.update(secrets)
    for handler in logging.getLogger().handlers:
        if MASKER not in handler.filters:
            handler.addFilter(MASKER)
