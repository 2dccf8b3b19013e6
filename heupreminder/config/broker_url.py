"""The `[mqtt] url` taken apart: where the broker is, who we are, and whether TLS is used."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}


class BrokerUrlError(ValueError):
    """A broker URL that cannot be used; the message never quotes the password."""


@dataclass(frozen=True)
class BrokerUrl:
    host: str
    port: int
    tls: bool
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # a secret: never logged

    @property
    def where(self) -> str:
        """For log lines: scheme, host and port, never the credentials."""
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def parse_broker_url(url: str) -> BrokerUrl:
    """'mqtt://user:pass@host:1883' -> BrokerUrl; mqtts:// means TLS (port 8883 by default)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a port that is not a number, or out of range
        raise BrokerUrlError("not a broker URL (e.g. mqtt://user:pass@host:1883)") from None
    if parts.scheme not in DEFAULT_PORTS:
        raise BrokerUrlError(f"{parts.scheme!r} is not mqtt or mqtts")
    if not parts.hostname:
        raise BrokerUrlError("the URL names no host (e.g. mqtt://user:pass@host:1883)")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise BrokerUrlError("give only scheme, credentials, host and port")
    return BrokerUrl(
        host=parts.hostname,
        port=port or DEFAULT_PORTS[parts.scheme],
        tls=parts.scheme == "mqtts",
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )
