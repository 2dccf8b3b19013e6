"""A loopback HTTP(S) server that keeps every request byte for byte.

Unlike `receivers.http_receiver` (a JSON webhook), it takes any method and
body, answers what a test sets (status and a JSON body, as ntfy, Gotify or
Telegram would), and can speak TLS with a certificate from a throwaway CA.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class RawRequest:
    method: str
    path: str  # with the query string
    headers: tuple[tuple[str, str], ...]  # as sent, in order
    body: bytes

    def header_map(self) -> dict[str, str]:
        return {name.lower(): value for name, value in self.headers}


@dataclass
class RawInbox:
    port: int
    scheme: str = "http"
    requests: list[RawRequest] = field(default_factory=list)
    connections: int = 0
    status: int = 200
    reply: bytes = b'{"ok": true, "result": {"message_id": 1}, "id": "m1"}'
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"


@contextmanager
def raw_receiver(tls: ssl.SSLContext | None = None) -> Iterator[RawInbox]:
    """An HTTP/1.1 server on loopback (HTTPS with `tls`), stopped at the end."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    inbox = RawInbox(port=server.server_address[1], scheme="https" if tls else "http")
    open_sockets: list[socket.socket] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            if tls is not None:
                self.request = tls.wrap_socket(self.request, server_side=True)
            super().setup()
            with inbox.lock:
                inbox.connections += 1
                open_sockets.append(self.connection)

        def handle_any(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length)
            with inbox.lock:
                inbox.requests.append(RawRequest(self.command, self.path,
                                                 tuple(self.headers.items()), body))
            self.send_response(inbox.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(inbox.reply)))
            self.end_headers()
            self.wfile.write(inbox.reply)

        do_POST = do_PUT = do_GET = do_PATCH = do_DELETE = handle_any

        def log_message(self, *args: Any) -> None:
            pass

    server.RequestHandlerClass = Handler
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield inbox
    finally:
        server.shutdown()
        server.server_close()
        for sock in open_sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
