"""Telling the admin when a channel stops delivering: once per outage, and
once more when it works again, however many messages fail meanwhile.

A channel is *down* from the first message that fails on it for good (every
try until its deadline, or a permanent error) until the next message that
reaches it. The state is a `service_state` row, so every node and every
restart agrees on it, and inserting or deleting that row is what decides who
tells the admin: exactly one node, exactly once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from heupreminder.config.loader import Settings
from heupreminder.db.backend import insert_or_ignore
from heupreminder.db.engine import changed_rows
from heupreminder.db.models import ServiceState
from heupreminder.delivery.outbox import queue_admin_notice

PREFIX = "channel-down:"


def note_results(session: Session, settings: Settings, failed: dict[str, str],
                 delivered: set[str], now: datetime, *, postgres: bool) -> None:
    """Record a batch's final failures (channel -> masked error) and deliveries."""
    if not failed and not delivered:
        return
    admin = settings.config.service.admin_channel
    down = {key.removeprefix(PREFIX) for key in session.scalars(
        select(ServiceState.key).where(ServiceState.key.startswith(PREFIX)))}
    for name, error in sorted(failed.items()):
        # The admin channel cannot carry news of its own outage; a channel that
        # also delivered in this batch is flaky, not down.
        if name == admin or name in down or name in delivered:
            continue
        added = changed_rows(session.execute(
            insert_or_ignore(ServiceState, postgres=postgres)
            .values(key=PREFIX + name, value=now.isoformat(timespec="seconds"))))
        if added:
            queue_admin_notice(
                session, admin, f"{PREFIX}{name}@{now.isoformat()}",
                f"heupreminder: channel {name!r} is not delivering",
                f"Messages to {name!r} failed after every try: {error}. Each message is "
                "still tried on its other channels. You get one more message when "
                f"{name!r} works again.", now=now)
    for name in sorted(delivered & down):
        since = session.scalar(select(ServiceState.value).where(
            ServiceState.key == PREFIX + name))
        removed = changed_rows(session.execute(
            delete(ServiceState).where(ServiceState.key == PREFIX + name)))
        if removed:
            queue_admin_notice(
                session, admin, f"channel-up:{name}@{now.isoformat()}",
                f"heupreminder: channel {name!r} works again",
                f"A message reached {name!r} again (it was failing since {since}).",
                now=now)
