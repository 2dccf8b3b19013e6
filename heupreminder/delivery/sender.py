"""Send one message to one channel, with one error type.

JSON webhooks (json://, jsons://) go over kept-alive connections
(`webhook.py`); everything else through Apprise, with a fresh Apprise object
per send: Apprise throttles a reused plugin object (seconds between sends to
the same service), which would serialise a morning's reminders.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import apprise
from apprise.attachment.memory import AttachMemory

from heupreminder.config.loader import Channel
from heupreminder.delivery.webhook import WebhookError, post, webhook_for
from heupreminder.secrets import MASKER


class TransportError(Exception):
    """A channel did not take the message. `permanent` errors are not retried."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


@dataclass(frozen=True)
class Attachment:
    """A file sent along (e.g. the weekly chart), kept in memory: no temp files."""

    name: str
    content: bytes = field(repr=False)
    mimetype: str = "application/octet-stream"


def send(channel: Channel, title: str, body: str, attach: Attachment | None = None) -> None:
    """Deliver to `channel` or raise TransportError (message already masked).

    `attach` goes along where the service supports attachments (email does).
    """
    webhook = webhook_for(channel.url) if attach is None else None
    if webhook is not None:
        try:
            post(webhook, title, body)
        except WebhookError as exc:
            raise TransportError(MASKER.mask(str(exc))) from None
        return
    notifier = apprise.Apprise()
    if not notifier.add(channel.url):
        raise TransportError(f"Apprise cannot use channel {channel.name!r}", permanent=True)
    files = None if attach is None else AttachMemory(  # type: ignore[no-untyped-call]
        content=attach.content, name=attach.name, mimetype=attach.mimetype)
    result = notifier.notify(title=title, body=body, attach=files)
    if result:
        return
    problems = [entry.message for entry in result.logs() if entry.level in ("WARNING", "ERROR")]
    detail = problems[-1] if problems else "the service did not accept the message"
    raise TransportError(MASKER.mask(_strip_log_prefix(detail)))


def _strip_log_prefix(line: str) -> str:
    # Apprise log entries read "2026-11-25 07:30:00,123 - WARNING - text".
    return line.split(" - ", 2)[-1]
