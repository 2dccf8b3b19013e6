"""Send requests that Apprise built over HTTP connections kept open per host.

Apprise opens a new connection for every notification (its plugins call
`requests.post` without a session): a TCP and TLS handshake per reminder, and
most of the CPU a morning burst costs. `http_capture.py` lets an Apprise
plugin build its request without sending it; this module sends that request
as it was built (method, URL, headers, body) with aiohttp, over connections
kept open. No header is added but Host (aiohttp's own User-Agent, Accept,
Content-Type and Accept-Encoding are switched off), so the server gets what
Apprise would have sent; tests/test_http_fast_path.py compares the two at a
real receiver, plugin by plugin.

Each host gets at most `CONNECTIONS_PER_HOST` connections, so a host that
hangs holds only those while the sends to other hosts go on.

This module imports neither Apprise nor requests: the sending process
(`sending_process.py`) uses it and stays small. aiohttp itself is loaded by
`load()` or the first send, not on import, so it is not on the service's way
to "ready". aiohttp runs on one event loop
in its own thread (`CLIENT`); `post()` is a blocking send for callers in the
service process (notices sent by the pool, `send-test`).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import ssl
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

import certifi

if TYPE_CHECKING:
    import aiohttp

T = TypeVar("T")

# A host that hangs holds at most this many connections; the other hosts share the rest.
CONNECTIONS_PER_HOST = 32
CONNECTIONS = 128
# What requests (and so Apprise) allows, for the redirects a plugin follows.
MAX_REDIRECTS = 30
# Headers aiohttp would add by itself; requests sends none it was not given.
_AUTO_HEADERS = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")


class HttpError(Exception):
    """The server did not take the message; the text never quotes the URL."""


@dataclass(frozen=True)
class HttpRequest:
    """One request exactly as an Apprise plugin built it, ready to send.

    `verify` is what requests was given: True (certifi's CAs), False, or the
    path of a CA bundle (REQUESTS_CA_BUNDLE). It carries tokens in its URL,
    headers and body: never log it (the repr shows only the method).
    """

    method: str
    url: str = field(repr=False)
    headers: tuple[tuple[str, str], ...] = field(repr=False)
    body: bytes = field(repr=False)
    verify: bool | str = True
    timeout: tuple[float | None, float | None] = (4.0, 4.0)
    redirects: bool = True


def load() -> None:
    """Load aiohttp now (~0.15 s), rather than at the first send. The service does
    it after saying "ready"; the sending process before it takes work."""
    import aiohttp  # noqa: F401


def post(request: HttpRequest) -> None:
    """Send one request and wait for it, or raise HttpError."""
    CLIENT.run(CLIENT.send(request)).result()


class HttpClient:
    """One event loop thread with aiohttp sessions, started on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sessions: dict[bool | str, aiohttp.ClientSession] = {}

    def run(self, work: Coroutine[Any, Any, T]) -> Future[T]:
        """Run `work` on the client's loop; safe to call from any other thread."""
        return asyncio.run_coroutine_threadsafe(work, self._running_loop())

    async def send(self, request: HttpRequest) -> None:
        """Send one request on the client's loop, or raise HttpError."""
        import aiohttp  # loaded already (see load()): a dictionary lookup

        connect, read = request.timeout
        try:
            async with self._session(request.verify).request(
                    request.method, request.url, data=request.body or None,
                    headers=list(request.headers), skip_auto_headers=_AUTO_HEADERS,
                    allow_redirects=request.redirects, max_redirects=MAX_REDIRECTS,
                    timeout=aiohttp.ClientTimeout(sock_connect=connect,
                                                  sock_read=read)) as response:
                await response.read()
                status, reason = response.status, response.reason
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            # aiohttp's own text quotes the URL (a token may be in its path).
            raise HttpError(f"server unreachable: {_reason(exc)}") from None
        if not 200 <= status < 300:
            raise HttpError(f"server answered HTTP {status} {reason or ''}".rstrip())

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
                threading.Thread(target=loop.run_forever, name="http-sends", daemon=True).start()
                self._loop, self._sessions = loop, {}
            return self._loop

    def _session(self, verify: bool | str) -> aiohttp.ClientSession:
        import aiohttp

        # Only ever called on the loop's own thread: no lock needed.
        session = self._sessions.get(verify)
        if session is None:
            connector = aiohttp.TCPConnector(limit=CONNECTIONS,
                                             limit_per_host=CONNECTIONS_PER_HOST,
                                             ssl=_tls(verify))
            # trust_env=False: a request a proxy applies to is never captured.
            # No cookie jar: requests' one-shot sessions never sent a cookie back.
            session = aiohttp.ClientSession(connector=connector, trust_env=False,
                                            cookie_jar=aiohttp.DummyCookieJar(),
                                            auto_decompress=False)
            self._sessions[verify] = session
        return session


CLIENT = HttpClient()
atexit.register(CLIENT.close)


@lru_cache(maxsize=8)  # one TLS context per CA choice and process, not per send
def _tls(verify: bool | str) -> ssl.SSLContext | bool:
    if verify is False:
        return False
    if verify is True:
        return ssl.create_default_context(cafile=certifi.where())  # requests' default
    if os.path.isdir(verify):
        return ssl.create_default_context(capath=verify)
    return ssl.create_default_context(cafile=verify)


def _reason(exc: BaseException) -> str:
    import aiohttp

    if isinstance(exc, aiohttp.ClientSSLError):
        return "TLS error"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return "connection refused or no route"
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    if isinstance(exc, aiohttp.TooManyRedirects):
        return "too many redirects"
    return "connection failed"
