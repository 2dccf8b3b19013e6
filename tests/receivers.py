"""Real servers on loopback that receive reminders the way a person's services would.

- `smtp_server`: a mail server (aiosmtpd) that keeps every message, parsed;
- `http_receiver`: the one HTTP(S) server every test posts to, standing in
  for a JSON webhook, ntfy, Gotify or Telegram. It keeps each request byte
  for byte (`requests`), the JSON bodies it accepted (`posts`) and the GETs
  (`gets`, heartbeats); a test sets what it answers (`status`, `reply`), can
  make it speak TLS (`tls`), keep connections alive (`keep_alive`) or take
  requests and never answer while `hang` is set.
"""

from __future__ import annotations

import email
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SmtpInbox:
    """Messages an aiosmtpd server accepted, parsed as a mail client would."""

    port: int
    messages: list[Message] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                     auth_data: Any) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


def text_of(message: Message) -> str:
    """The plain-text part of a message, decoded."""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode(part.get_content_charset() or "utf-8")
    raise AssertionError("no text/plain part")


@contextmanager
def smtp_server() -> Iterator[SmtpInbox]:
    inbox = SmtpInbox(port=free_port())
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port,
                            authenticator=inbox.authenticate, auth_require_tls=False)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


# What a receiver answers unless a test says otherwise: enough for ntfy (`id`), Telegram
# (`ok`, `result.message_id`) and Gotify to take it as delivered; webhooks ignore it.
SERVICE_REPLY = b'{"ok": true, "result": {"message_id": 1}, "id": "m1"}'


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the receiver saw it: what a webhook server would get."""

    method: str
    path: str  # with the query string
    sent_headers: tuple[tuple[str, str], ...]  # as sent: in order, names in their case
    body: bytes

    @property
    def headers(self) -> dict[str, str]:
        """The headers by name in lower case (HTTP names are case-insensitive)."""
        return {name.lower(): value for name, value in self.sent_headers}


@dataclass
class HttpInbox:
    """What a receiver took in, and what it answers; tests change `status`, `reply`
    and `hang` to simulate outages and hanging servers."""

    port: int
    address: str = "127.0.0.1"  # where it listens; any loopback address
    requests: list[ReceivedRequest] = field(default_factory=list)  # every one, answered or not
    posts: list[dict[str, Any]] = field(default_factory=list)  # JSON bodies answered 200
    arrived: list[datetime] = field(default_factory=list)  # when each of `posts` came
    gets: list[str] = field(default_factory=list)  # the paths of GET requests
    connections: int = 0  # TCP connections accepted
    status: int = 200
    reply: bytes = SERVICE_REPLY
    hang: threading.Event = field(default_factory=threading.Event)  # set: never answer
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"json://{self.address}:{self.port}/notify"

    @property
    def host(self) -> str:
        return f"{self.address}:{self.port}"

    @property
    def attempts(self) -> list[dict[str, Any]]:
        """The JSON body of every POST, answered or not (a hanging receiver's tries)."""
        with self.lock:
            return [json.loads(r.body) for r in self.requests if r.method == "POST"]


class _ReceiverServer(ThreadingHTTPServer):
    """The server behind `http_receiver`: its handlers find the inbox and options here."""

    def __init__(self, inbox: HttpInbox, keep_alive: bool, tls: ssl.SSLContext | None) -> None:
        super().__init__((inbox.address, inbox.port), _ReceiverHandler)
        self.inbox = inbox
        self.keep_alive = keep_alive
        self.tls = tls
        self.stopping = threading.Event()  # releases the requests a hang holds
        self.open_sockets: list[socket.socket] = []


class _ReceiverHandler(BaseHTTPRequestHandler):
    server: _ReceiverServer

    def setup(self) -> None:
        if self.server.tls is not None:
            self.request = self.server.tls.wrap_socket(self.request, server_side=True)
        # HTTP/1.1 keeps connections open as webhook servers do; 1.0 closes each.
        self.protocol_version = "HTTP/1.1" if self.server.keep_alive else "HTTP/1.0"
        super().setup()
        with self.server.inbox.lock:
            self.server.inbox.connections += 1
            self.server.open_sockets.append(self.connection)

    def handle_any(self) -> None:
        inbox = self.server.inbox
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with inbox.lock:
            inbox.requests.append(ReceivedRequest(self.command, self.path,
                                                  tuple(self.headers.items()), body))
            if self.command == "GET":
                inbox.gets.append(self.path)
        if inbox.hang.is_set():
            self.server.stopping.wait(120)  # no answer: the sender's timeout or death ends it
            self.close_connection = True
            return
        status, reply = inbox.status, inbox.reply
        if status == 200 and self.command in ("POST", "PUT"):
            with suppress(ValueError), inbox.lock:  # ntfy and forms post text, not JSON
                inbox.posts.append(json.loads(body))
                inbox.arrived.append(datetime.now(UTC))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    do_POST = do_PUT = do_GET = do_PATCH = do_DELETE = handle_any

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def http_receiver(*, keep_alive: bool = False, port: int | None = None,
                  inbox: HttpInbox | None = None, tls: ssl.SSLContext | None = None,
                  address: str = "127.0.0.1") -> Iterator[HttpInbox]:
    """A threaded HTTP server on loopback (HTTPS with `tls`), stopped at the end.

    Pass an earlier `inbox` (and its port) to stand in for a server that restarted.
    """
    inbox = inbox or HttpInbox(port=port or free_port(), address=address)
    server = _ReceiverServer(inbox, keep_alive, tls)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield inbox
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        for sock in server.open_sockets:  # a stopped server drops its kept-alive connections
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
