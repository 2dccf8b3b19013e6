"""Signs of life: the health check, the systemd watchdog and the heartbeat ping.

All three rest on the same rule: the service is alive while its clock ticks
(and, for the health check and the heartbeat, while the database answers).
A stuck scheduler therefore stops the watchdog pings (systemd restarts the
service) and the heartbeat (the monitoring service raises the alarm).
"""

from __future__ import annotations

import logging
import urllib.request
from datetime import datetime, timedelta

from sqlalchemy import Engine, text

from heupreminder.db.models import utcnow
from heupreminder.ops import systemd

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 60
# The systemd watchdog is only fed while the clock ticks: a stuck scheduler
# stops the pings, and systemd restarts the service (WatchdogSec=).
WATCHDOG_MAX_TICK_AGE = timedelta(seconds=10)


def check_health(engine: Engine, last_tick: datetime | None,
                 scheduler_running: bool) -> tuple[bool, dict[str, object]]:
    """Alive means: the clock ticks, and the database answers."""
    tick_age = (utcnow() - last_tick).total_seconds() if last_tick else None
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        database = "ok"
    except Exception as exc:  # any driver error means unreachable
        database = f"unreachable: {type(exc).__name__}"
    ticking = tick_age is not None and tick_age < WATCHDOG_MAX_TICK_AGE.total_seconds()
    healthy = ticking and database == "ok" and scheduler_running
    return healthy, {"database": database, "scheduler": scheduler_running,
                     "last_tick_age_seconds": None if tick_age is None else round(tick_age, 3)}


def feed_watchdog(last_tick: datetime | None) -> None:
    """Ping the systemd watchdog if the clock ticked recently; otherwise say why not."""
    if last_tick is not None and utcnow() - last_tick <= WATCHDOG_MAX_TICK_AGE:
        systemd.watchdog()
    else:
        log.warning("the clock has not ticked since %s; not feeding the systemd watchdog",
                    last_tick.isoformat(timespec="seconds") if last_tick else "start-up")


def ping_heartbeat(url: str) -> None:
    """One GET of the heartbeat URL (the caller pings only while healthy)."""
    try:
        with urllib.request.urlopen(url, timeout=10):
            pass
    except OSError as exc:  # URLError and timeouts: worth a line, never a crash
        log.warning("heartbeat ping failed: %s", exc)
