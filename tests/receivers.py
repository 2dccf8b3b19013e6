"""Real servers on loopback that receive reminders the way a person's services would."""

from __future__ import annotations

import email
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class HttpRequest:
    """One request as the receiver saw it: what a webhook server would get."""

    method: str
    path: str  # with the query string
    headers: dict[str, str]  # names in lower case
    body: bytes


@dataclass
class HttpInbox:
    """JSON bodies POSTed to a local receiver (Apprise json:// posts here)."""

    port: int
    posts: list[dict[str, Any]] = field(default_factory=list)
    requests: list[HttpRequest] = field(default_factory=list)
    connections: int = 0  # TCP connections accepted
    status: int = 200  # what the receiver answers; tests change it to simulate outages
    gets: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/notify"


@contextmanager
def http_receiver(*, keep_alive: bool = False, port: int | None = None,
                  inbox: HttpInbox | None = None) -> Iterator[HttpInbox]:
    """A threaded HTTP server; `keep_alive` speaks HTTP/1.1 as webhook servers do.

    Pass an earlier `inbox` (and its port) to stand in for a server that restarted.
    """
    inbox = inbox or HttpInbox(port=port or free_port())
    open_sockets: list[socket.socket] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

        def setup(self) -> None:
            super().setup()
            with inbox.lock:
                inbox.connections += 1
                open_sockets.append(self.connection)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length)
            status = inbox.status
            with inbox.lock:
                inbox.requests.append(HttpRequest(
                    self.command, self.path,
                    {name.lower(): value for name, value in self.headers.items()}, body))
                if status == 200:
                    inbox.posts.append(json.loads(body))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_PUT = do_POST

        def do_GET(self) -> None:
            with inbox.lock:
                inbox.gets.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", inbox.port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield inbox
    finally:
        server.shutdown()
        server.server_close()
        for sock in open_sockets:  # a stopped server drops its kept-alive connections
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
