"""The service's companions: the web server and the Home Assistant bridge.

Each exists only when the config asks for it ([service] listen, [mqtt] url),
and is imported only then, so a service without them never loads their code.
They are built here and started by the service, which stops them at shutdown
(also one whose start failed). The web server takes its port before "ready" and
serves its pages from just after it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from heupreminder.config.loader import Settings

if TYPE_CHECKING:
    from heupreminder.homeassistant.bridge import HomeAssistantBridge
    from heupreminder.web.server import WebServer


def web_server(settings: Settings) -> WebServer | None:
    """The web server for [service] listen with its port taken (OSError if it is not
    free), not serving yet; None when not configured."""
    if not settings.config.service.listen:
        return None
    from heupreminder.web.server import WebServer

    return WebServer(settings.config.service.listen)


def serve_pages(web: WebServer, sessions: sessionmaker[Session],
                settings: Callable[[], Settings], wake: Callable[[], None],
                health: Callable[[], tuple[bool, dict[str, object]]]) -> None:
    """Load the web app and serve it: once the service is ready (web/server.py)."""
    from heupreminder.web.app import create_app
    from heupreminder.web.context import WebContext

    web.start(create_app(WebContext(sessions, settings, wake=wake, health=health)))


def homeassistant_bridge(sessions: sessionmaker[Session], settings: Callable[[], Settings],
                         node_id: str) -> HomeAssistantBridge | None:
    """The Home Assistant bridge for [mqtt] url, not yet started; None when not configured."""
    if settings().mqtt_url is None:
        return None
    from heupreminder.homeassistant.bridge import HomeAssistantBridge

    return HomeAssistantBridge(sessions, settings, client_id=f"heupreminder-{node_id}")
