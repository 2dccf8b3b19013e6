"""The key that seals people's channel URLs in the database (Fernet, from `cryptography`).

The key comes from HEUPREMINDER_CHANNEL_KEY, or from the file named by
HEUPREMINDER_CHANNEL_KEY_FILE (a container secret), never from the config file
or the database: a copy of the database alone does not reveal anyone's tokens.
It may list several keys separated by commas: the first seals, every one
opens (Fernet's MultiFernet), so a new key can be put first while rows sealed
with the old one still open until they are set again.

What is sealed is a small JSON document: the URL and the secret values in it
(`secrets.secrets_in_url`, worked out when the channel is set). So opening a
channel for a batch costs a decryption (~15 µs), not an Apprise parse
(~0.7 ms): 10,000 people's channels cost nothing at start-up and little in the
first burst.

Errors name the variable, never the key's value.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from heupreminder.config.loader import ConfigError

ENV_KEY = "HEUPREMINDER_CHANNEL_KEY"
ENV_KEY_FILE = f"{ENV_KEY}_FILE"
NEW_KEY_HINT = "make one with `heupreminder channel new-key`"


class ChannelKeyError(ConfigError):
    """No usable key: a config problem (exit status 2), named by its variable."""

    def __init__(self, problem: str) -> None:
        super().__init__([problem])


class SealBroken(Exception):
    """A sealed channel that this key cannot open (another key, or a damaged row)."""


@dataclass(frozen=True)
class Opened:
    url: str = field(repr=False)  # carries secrets: never log or print it
    secrets: frozenset[str] = field(repr=False)


class ChannelKey:
    def __init__(self, keys: list[bytes]) -> None:
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    def seal(self, url: str, secrets: set[str]) -> str:
        document = json.dumps({"url": url, "secrets": sorted(secrets)})
        return self._fernet.encrypt(document.encode("utf-8")).decode("ascii")

    def open(self, sealed: str) -> Opened:
        try:
            document = json.loads(self._fernet.decrypt(sealed.encode("ascii")))
            return Opened(url=document["url"], secrets=frozenset(document["secrets"]))
        except (InvalidToken, UnicodeError, ValueError, KeyError, TypeError):
            raise SealBroken(f"cannot be decrypted with {ENV_KEY} (was the key changed? "
                             "set the channel again with `heupreminder channel set`)") from None

    def reseal(self, sealed: str) -> str:
        """The same channel sealed with the first key (after a key was put in front)."""
        try:
            return self._fernet.rotate(sealed.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise SealBroken(f"cannot be decrypted with {ENV_KEY}") from None


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")


def key_from_environment() -> ChannelKey:
    """The key from HEUPREMINDER_CHANNEL_KEY(_FILE); ChannelKeyError if none is usable."""
    if os.environ.get(ENV_KEY):
        text, source = os.environ[ENV_KEY], ENV_KEY
    elif os.environ.get(ENV_KEY_FILE):
        source = ENV_KEY_FILE
        try:
            text = Path(os.environ[ENV_KEY_FILE]).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not text"
            raise ChannelKeyError(f"{ENV_KEY_FILE}: cannot read the key file: {reason}") from None
    else:
        raise ChannelKeyError(
            f"{ENV_KEY} is not set (nor {ENV_KEY_FILE}): people's channels in the database "
            f"are encrypted with it; {NEW_KEY_HINT}")
    keys = [k.strip().encode("ascii", "replace") for k in text.split(",") if k.strip()]
    try:
        if not keys:
            raise ValueError
        return ChannelKey(keys)
    except ValueError:
        raise ChannelKeyError(
            f"{source}: not a Fernet key (44 characters of url-safe base64, several "
            f"separated by commas); {NEW_KEY_HINT}") from None
