"""A `console://` channel: reminders written to the service's own log.

It lets a new user start the example config and see reminders arrive
without an email account or a phone app, and it is handy on a server where
a log shipper forwards the log anyway.
"""

from __future__ import annotations

import logging
from typing import Any

from apprise.decorators import notify

log = logging.getLogger("heupreminder.console")


@notify(on="console", name="heupreminder console")  # type: ignore[untyped-decorator,no-untyped-call]
def console_channel(body: str, title: str, notify_type: str, *args: Any, **kwargs: Any) -> bool:
    log.info("reminder: %s | %s", title, body.replace("\n", " / "))
    return True
