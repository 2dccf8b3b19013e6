"""A fast HTTP receiver on loopback: counts the reminders POSTed to it.

Run as its own process (`python -m benchmarks.receiver --port P`) so that its
CPU never competes with the measured process for the same interpreter lock.
Stdlib asyncio only. Every POST to any path but the control paths counts as a
delivery; its arrival time (time.time(), when the whole body has arrived) is
recorded. Keep-alive is honoured (the plain-HTTP limit uses it; Apprise opens
one connection per message).

With `--tls-cert PEM` (a private key and its certificate chain, from the
harness's throwaway trustme CA) it also listens on a second port that speaks
TLS, for the `ntfys://` channels, sharing the same inbox; the control paths
stay on the plain port (they also answer over TLS), and /_count and /_stats
say how many deliveries came over TLS ("over_tls") on how many TLS
connections ("tls_connections": one per reminder through Apprise, a few
kept-alive ones for heupreminder and the limit).

Control (GET/POST, answered with JSON):
  GET  /_stats           {"count", "bad", "over_tls", "tls_connections", "first", "last",
                          "arrivals": [...]}
  GET  /_count           the same without "arrivals" (cheap, for polling)
  POST /_reset           clears everything
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import ssl
import time

_OK = (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nContent-Type: text/plain\r\n"
       b"Connection: keep-alive\r\n\r\n")
_OK_CLOSE = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
_MAX_HEAD = 64 * 1024


class Inbox:
    def __init__(self) -> None:
        self.arrivals: list[float] = []
        self.bad = 0
        self.over_tls = 0  # deliveries that came in on the TLS port
        self.tls_connections = 0  # connections accepted on the TLS port

    def reset(self) -> None:
        self.arrivals = []
        self.bad = 0
        self.over_tls = 0
        self.tls_connections = 0

    def stats(self, full: bool) -> dict[str, object]:
        out: dict[str, object] = {
            "count": len(self.arrivals), "bad": self.bad, "over_tls": self.over_tls,
            "tls_connections": self.tls_connections,
            "first": self.arrivals[0] if self.arrivals else None,
            "last": self.arrivals[-1] if self.arrivals else None,
        }
        if full:
            out["arrivals"] = self.arrivals
        return out


class HttpProtocol(asyncio.Protocol):
    """A minimal HTTP/1.1 server protocol: Content-Length bodies, keep-alive."""

    def __init__(self, inbox: Inbox, tls: bool = False) -> None:
        self.inbox = inbox
        self.tls = tls  # on the TLS port (asyncio's SSL transport decrypts)
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if self.tls:  # after the handshake
            self.inbox.tls_connections += 1

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.transport is not None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > _MAX_HEAD:
                    self.transport.close()
                return
            head = bytes(self.buffer[:end]).decode("latin-1")
            lines = head.split("\r\n")
            method, path = [*lines[0].split(" "), "", ""][:2]
            length, close = 0, False
            for line in lines[1:]:
                name, _, value = line.partition(":")
                name = name.strip().lower()
                if name == "content-length":
                    length = int(value.strip())
                elif name == "connection" and value.strip().lower() == "close":
                    close = True
            total = end + 4 + length
            if len(self.buffer) < total:
                return
            body = bytes(self.buffer[end + 4:total])
            del self.buffer[:total]
            self.handle(method, path, body, close)

    def handle(self, method: str, path: str, body: bytes, close: bool) -> None:
        assert self.transport is not None
        if path.startswith("/_"):
            if path == "/_reset":
                self.inbox.reset()
                payload = b'{"ok": true}'
            else:
                payload = json.dumps(self.inbox.stats(path == "/_stats")).encode()
            self.transport.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                + str(len(payload)).encode() + b"\r\n\r\n" + payload)
        elif method == "POST":
            self.inbox.arrivals.append(time.time())
            if self.tls:
                self.inbox.over_tls += 1
            if b'"title"' not in body:
                self.inbox.bad += 1
            self.transport.write(_OK_CLOSE if close else _OK)
        else:
            self.transport.write(_OK_CLOSE if close else _OK)
        if close:
            self.transport.close()


def server_context(cert_pem: str) -> ssl.SSLContext:
    """A TLS server context from one PEM file: the private key and its certificate chain."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_pem)
    return context


async def serve(host: str, port: int, ready_file: str | None,
                tls_cert: str | None = None) -> None:
    """Listen (plain HTTP; and TLS on a second port if `tls_cert`) until SIGTERM.

    The ready file gets the plain port, then the TLS port if there is one.
    """
    inbox = Inbox()
    loop = asyncio.get_running_loop()
    servers = [await loop.create_server(lambda: HttpProtocol(inbox), host, port, backlog=4096,
                                        reuse_address=True)]
    if tls_cert:
        servers.append(await loop.create_server(
            lambda: HttpProtocol(inbox, tls=True), host, 0, backlog=4096, reuse_address=True,
            ssl=server_context(tls_cert)))
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if ready_file:
        with open(ready_file, "w", encoding="utf-8") as out:
            out.write(" ".join(str(s.sockets[0].getsockname()[1]) for s in servers))
    try:
        await stop.wait()
    finally:
        for server in servers:
            server.close()
            await server.wait_closed()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ready-file", help="write the bound port(s) here once listening")
    parser.add_argument("--tls-cert",
                        help="also listen with TLS on a second port: a PEM file with the "
                             "private key and its certificate chain")
    args = parser.parse_args()
    if not args.host.startswith("127.") and args.host not in ("localhost", "::1"):
        parser.error("the receiver listens on loopback only")
    asyncio.run(serve(args.host, args.port, args.ready_file, args.tls_cert))


if __name__ == "__main__":
    main()
