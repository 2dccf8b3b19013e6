"""A fast HTTP receiver on loopback: counts the reminders POSTed to it.

Run as its own process (`python -m benchmarks.receiver --port P`) so that its
CPU never competes with the measured process for the same interpreter lock.
Stdlib asyncio only. Every POST to any path but the control paths counts as a
delivery; its arrival time (time.time(), when the whole body has arrived) is
recorded. Keep-alive is honoured (the plain-HTTP limit uses it; Apprise opens
one connection per message).

Control (GET/POST, answered with JSON):
  GET  /_stats           {"count", "bad", "first", "last", "arrivals": [...]}
  GET  /_count           {"count", "bad", "last"}  (cheap, for polling)
  POST /_reset           clears everything
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time

_OK = (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nContent-Type: text/plain\r\n"
       b"Connection: keep-alive\r\n\r\n")
_OK_CLOSE = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
_MAX_HEAD = 64 * 1024


class Inbox:
    def __init__(self) -> None:
        self.arrivals: list[float] = []
        self.bad = 0

    def reset(self) -> None:
        self.arrivals = []
        self.bad = 0

    def stats(self, full: bool) -> dict[str, object]:
        out: dict[str, object] = {
            "count": len(self.arrivals), "bad": self.bad,
            "first": self.arrivals[0] if self.arrivals else None,
            "last": self.arrivals[-1] if self.arrivals else None,
        }
        if full:
            out["arrivals"] = self.arrivals
        return out


class HttpProtocol(asyncio.Protocol):
    """A minimal HTTP/1.1 server protocol: Content-Length bodies, keep-alive."""

    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

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
            if b'"title"' not in body:
                self.inbox.bad += 1
            self.transport.write(_OK_CLOSE if close else _OK)
        else:
            self.transport.write(_OK_CLOSE if close else _OK)
        if close:
            self.transport.close()


async def serve(host: str, port: int, ready_file: str | None) -> None:
    inbox = Inbox()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: HttpProtocol(inbox), host, port, backlog=4096,
                                      reuse_address=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if ready_file:
        with open(ready_file, "w", encoding="utf-8") as out:
            out.write(str(server.sockets[0].getsockname()[1]))
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ready-file", help="write the bound port here once listening")
    args = parser.parse_args()
    if not args.host.startswith("127.") and args.host not in ("localhost", "::1"):
        parser.error("the receiver listens on loopback only")
    asyncio.run(serve(args.host, args.port, args.ready_file))


if __name__ == "__main__":
    main()
