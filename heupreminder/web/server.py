"""Serve the web app with waitress in a background thread of the service.

Taking the port and serving are two steps. `WebServer(listen)` binds and
listens at once, so a port in use fails the start before "ready"; `start(app)`
serves, and the service calls it just after "ready": loading Flask and the
pages (~0.15 s) is not on the way to it. A request in that moment waits in the
socket's backlog for the app; it is not refused.
"""

from __future__ import annotations

import logging
import socket
import threading
from typing import TYPE_CHECKING

from waitress.adjustments import Adjustments

if TYPE_CHECKING:
    from flask import Flask
    from waitress.server import BaseWSGIServer, MultiSocketServer

log = logging.getLogger(__name__)

# The app itself refuses bodies over guards.MAX_BODY (64 KiB) with a JSON 413. This
# backstop lets waitress turn away absurd ones (its default is 1 GiB, spooled to
# disk) from the Content-Length alone, with its own plain 413, before reading them.
WAITRESS_BODY_LIMIT = 4 * 1024 * 1024
WAITRESS_HEADER_LIMIT = 64 * 1024


class WebServer:
    def __init__(self, listen: str) -> None:
        host, _, port = listen.rpartition(":")
        self.listen = listen
        self._sockets = _listening_sockets(host or "127.0.0.1", int(port))  # OSError: taken
        self._server: BaseWSGIServer | MultiSocketServer | None = None
        self._thread: threading.Thread | None = None

    def start(self, app: Flask) -> None:
        from waitress.server import create_server

        self._server = create_server(app, sockets=self._sockets, threads=4, ident="heupreminder",
                                     max_request_body_size=WAITRESS_BODY_LIMIT,
                                     max_request_header_size=WAITRESS_HEADER_LIMIT)
        self._thread = threading.Thread(target=self._server.run, name="web", daemon=True)
        self._thread.start()
        log.info("web server listening on http://%s", self.listen)

    def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        for sock in self._sockets:
            sock.close()


def _listening_sockets(host: str, port: int) -> list[socket.socket]:
    """Every address `host` names (``localhost`` may be two), bound as waitress binds."""
    adjustments = Adjustments(host=host, port=port)
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, address in adjustments.listen:
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(adjustments.backlog)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets
