"""Serve the web app with waitress in a background thread of the service."""

from __future__ import annotations

import logging
import threading

from flask import Flask
from waitress.server import create_server

log = logging.getLogger(__name__)


class WebServer:
    def __init__(self, app: Flask, listen: str) -> None:
        host, _, port = listen.rpartition(":")
        self._server = create_server(app, host=host or "127.0.0.1", port=int(port), threads=4,
                                     ident="heupreminder")
        self._thread = threading.Thread(target=self._server.run, name="web", daemon=True)
        self.listen = listen

    def start(self) -> None:
        self._thread.start()
        log.info("web server listening on http://%s", self.listen)

    def stop(self) -> None:
        self._server.close()
        self._thread.join(timeout=5)
