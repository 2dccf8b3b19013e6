"""Serve the web app with waitress in a background thread of the service."""

from __future__ import annotations

import logging
import threading

from flask import Flask
from waitress.server import create_server

log = logging.getLogger(__name__)

# The app itself refuses bodies over guards.MAX_BODY (64 KiB) with a JSON 413. This
# backstop lets waitress turn away absurd ones (its default is 1 GiB, spooled to
# disk) from the Content-Length alone, with its own plain 413, before reading them.
WAITRESS_BODY_LIMIT = 4 * 1024 * 1024
WAITRESS_HEADER_LIMIT = 64 * 1024


class WebServer:
    def __init__(self, app: Flask, listen: str) -> None:
        host, _, port = listen.rpartition(":")
        self._server = create_server(app, host=host or "127.0.0.1", port=int(port), threads=4,
                                     ident="heupreminder",
                                     max_request_body_size=WAITRESS_BODY_LIMIT,
                                     max_request_header_size=WAITRESS_HEADER_LIMIT)
        self._thread = threading.Thread(target=self._server.run, name="web", daemon=True)
        self.listen = listen

    def start(self) -> None:
        self._thread.start()
        log.info("web server listening on http://%s", self.listen)

    def stop(self) -> None:
        self._server.close()
        self._thread.join(timeout=5)
