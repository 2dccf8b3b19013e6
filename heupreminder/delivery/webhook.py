"""Keep-alive delivery for JSON webhooks (Apprise's json:// and jsons:// URLs).

Apprise opens a new HTTP connection for every notification it sends (each
plugin calls `requests.request` without a session). For a morning burst to
one webhook server that connection is most of the cost: about 1 ms of our
CPU per reminder, and a TCP (and TLS) handshake the server has to accept each
time. For json:// and jsons:// channels we therefore let Apprise parse and
validate the URL, once per channel, and send the very request its JSON plugin
would send (method, path, query, headers, basic auth, body) with aiohttp, over
connections kept open. tests/test_webhook.py has a receiver compare the two
requests field by field.

aiohttp runs on one event loop in its own thread (`CLIENT`). The service's
claimed batches are sent by that client in the sending process
(`sending_process.py`), a whole batch handed over at once; `post()` is the
same send, in this process, for callers that block (notices, the admin).

Everything else goes through Apprise as before: other schemes, attachments,
and a webhook that a proxy from the environment applies to.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import contextlib
import json
import os
import ssl
import threading
import urllib.request
from collections.abc import Coroutine
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TypeVar
from urllib.parse import urlencode

import aiohttp
import certifi

T = TypeVar("T")

# Requests in flight at once, over all webhooks (each one a kept-alive connection).
CONNECTIONS = 32
# What requests (and so Apprise) allows, for the redirects a plugin follows.
MAX_REDIRECTS = 30


class WebhookError(Exception):
    """The webhook did not take the message; the text never quotes the URL."""


@dataclass(frozen=True)
class Webhook:
    """One channel's request, as Apprise's JSON plugin would send it."""

    method: str
    url: str = field(default="", repr=False)  # may carry a token: never log it
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)  # may too
    verify: bool = True
    timeout: tuple[float, float] = (4.0, 4.0)
    redirects: bool = True
    version: str = "1.0"
    extras: tuple[tuple[str, str], ...] = ()

    def body(self, title: str, message: str) -> bytes:
        payload: dict[str, object] = {"version": self.version, "title": title,
                                      "message": message, "attachments": [], "type": "info"}
        # Apprise's ":key=value" URL arguments: rename a field, drop it
        # (empty value), or add a field, in that order of precedence.
        for key, value in self.extras:
            if key in payload:
                if value:
                    payload[value] = payload[key]
                del payload[key]
            else:
                payload[key] = value
        return json.dumps(payload).encode()


@lru_cache(maxsize=256)  # channels come from the config: a handful, not thousands
def webhook_for(url: str) -> Webhook | None:
    """The keep-alive plan for a channel URL, or None to use Apprise for it."""
    # Imported here: the sending process (sending_process.py) needs this
    # module's client but not Apprise, which costs it 30 MB and 0.3 s to load.
    import apprise
    from apprise.plugins.custom_json import NotifyJSON

    plugin = apprise.Apprise.instantiate(url)
    if not isinstance(plugin, NotifyJSON):
        return None
    if plugin.user and plugin.password is None:
        return None  # requests would send the password as "None"; leave that to it
    scheme = "https" if plugin.secure else "http"
    port = f":{plugin.port}" if isinstance(plugin.port, int) else ""
    target = f"{scheme}://{plugin.host}{port}{plugin.fullpath or '/'}"
    if _proxied(target, plugin.host):
        return None
    if plugin.params:
        target += "?" + urlencode(plugin.params)
    headers = {"User-Agent": plugin.app_id, "Content-Type": "application/json",
               **plugin.headers}
    if plugin.user:
        try:  # requests' encoding of basic auth
            token = f"{plugin.user}:{plugin.password}".encode("latin-1")
        except UnicodeEncodeError:
            return None
        headers["Authorization"] = "Basic " + base64.b64encode(token).decode("ascii")
    return Webhook(method=str(plugin.method), url=target, headers=tuple(headers.items()),
                   verify=bool(plugin.verify_certificate),
                   timeout=(float(plugin.socket_connect_timeout),
                            float(plugin.socket_read_timeout)),
                   redirects=bool(plugin.redirects), version=plugin.json_version,
                   extras=tuple(plugin.payload_extras.items()))


def post(webhook: Webhook, title: str, message: str) -> None:
    """Send one message and wait for it, or raise WebhookError."""
    CLIENT.run(CLIENT.send(webhook, title, message)).result()


class WebhookClient:
    """One event loop thread with one aiohttp session, started on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sessions: dict[bool, aiohttp.ClientSession] = {}

    def run(self, work: Coroutine[Any, Any, T]) -> Future[T]:
        """Run `work` on the client's loop; safe to call from any other thread."""
        return asyncio.run_coroutine_threadsafe(work, self._running_loop())

    async def send(self, webhook: Webhook, title: str, message: str) -> None:
        """Send one message on the client's loop, or raise WebhookError."""
        try:
            async with self._session(webhook.verify).request(
                    webhook.method, webhook.url, data=webhook.body(title, message),
                    headers=dict(webhook.headers), allow_redirects=webhook.redirects,
                    max_redirects=MAX_REDIRECTS,
                    timeout=aiohttp.ClientTimeout(sock_connect=webhook.timeout[0],
                                                  sock_read=webhook.timeout[1])) as response:
                await response.read()
                status, reason = response.status, response.reason
        except (TimeoutError, aiohttp.ClientError) as exc:
            # aiohttp's own text quotes the URL (a token may be in its path).
            raise WebhookError(f"webhook unreachable: {_reason(exc)}") from None
        if not 200 <= status < 300:
            raise WebhookError(f"webhook answered HTTP {status} {reason or ''}".rstrip())

    def close(self, timeout: float = 2.0) -> None:
        """Close the connections and stop the loop (a later send starts a new one)."""
        with self._lock:
            loop, self._loop = self._loop, None
        if loop is None or loop.is_closed():
            return

        async def close_sessions() -> None:
            for session in self._sessions.values():
                await session.close()

        # Closing is a courtesy to the servers; never fail a stop for it.
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(close_sessions(), loop).result(timeout)
        loop.call_soon_threadsafe(loop.stop)

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="webhooks", daemon=True).start()
                self._loop, self._sessions = loop, {}
            return self._loop

    def _session(self, verify: bool) -> aiohttp.ClientSession:
        # Only ever called on the loop's own thread: no lock needed.
        session = self._sessions.get(verify)
        if session is None:
            connector = aiohttp.TCPConnector(limit=CONNECTIONS, ssl=_tls(verify))
            # trust_env=False: a proxied webhook never gets here (see webhook_for).
            session = aiohttp.ClientSession(connector=connector, trust_env=False,
                                            skip_auto_headers=("User-Agent",))
            self._sessions[verify] = session
        return session


CLIENT = WebhookClient()
atexit.register(CLIENT.close)


def _tls(verify: bool) -> ssl.SSLContext | bool:
    if not verify:
        return False
    # As requests does: a private CA bundle from the environment wins.
    bundle = (os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
              or certifi.where())
    return ssl.create_default_context(cafile=bundle)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.ClientSSLError):
        return "TLS error"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return "connection refused or no route"
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    return "connection failed"


def _proxied(url: str, host: str) -> bool:
    """True if requests would send this through a proxy from the environment."""
    scheme = url.split(":", 1)[0]
    return scheme in urllib.request.getproxies() and not urllib.request.proxy_bypass(host)
