"""What the web layer needs from the service, as one small object."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from heupreminder.config.loader import Settings
from heupreminder.db.models import utcnow
from heupreminder.links.keys import LinkKeys
from heupreminder.web.auth_failures import FailureLimiter


@dataclass
class WebContext:
    sessions: sessionmaker[Session]
    settings: Callable[[], Settings]
    wake: Callable[[], None] = lambda: None  # new notices: look at the outbox now
    clock: Callable[[], datetime] = utcnow
    health: Callable[[], tuple[bool, dict[str, object]]] = field(
        default=lambda: (True, {}))
    # Failed logins per client address (API tokens, check-in and history links).
    auth_failures: FailureLimiter = field(default_factory=FailureLimiter)
    # The link signers, on a key read once per process (not once per request).
    link_keys: LinkKeys = field(init=False)

    def __post_init__(self) -> None:
        self.link_keys = LinkKeys(self.sessions)
