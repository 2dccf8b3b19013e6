"""A tiny sd_notify client: tell systemd we are ready, alive, and stopping.

The protocol is one datagram per message on the AF_UNIX socket named by
$NOTIFY_SOCKET (a path, or an abstract socket when it starts with '@').
Outside systemd (no $NOTIFY_SOCKET) every call is a cheap no-op, so the
service calls these unconditionally. Stdlib only: no libsystemd needed.

With `WatchdogSec=` in the unit, systemd sets $WATCHDOG_USEC and restarts the
service when no "WATCHDOG=1" arrives within that time; pinging at half the
interval is the usual advice.
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)

NOTIFY_SOCKET = "NOTIFY_SOCKET"
WATCHDOG_USEC = "WATCHDOG_USEC"
WATCHDOG_PID = "WATCHDOG_PID"


def _address(name: str) -> str:
    # "@name" is an abstract socket: a leading NUL byte in the address.
    return "\0" + name[1:] if name.startswith("@") else name


def notify(message: str) -> bool:
    """Send one sd_notify message; False (never an error) if it could not be sent."""
    name = os.environ.get(NOTIFY_SOCKET)
    if not name:
        return False
    if not (name.startswith("/") or name.startswith("@")):
        log.debug("ignoring NOTIFY_SOCKET %r: not a path or an abstract socket", name)
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(_address(name))
            sock.sendall(message.encode("utf-8"))
    except OSError as exc:
        log.debug("sd_notify %r to %s failed: %s", message, name, exc)
        return False
    return True


def ready() -> bool:
    """Start-up is complete: systemd considers the unit active (Type=notify)."""
    return notify("READY=1")


def stopping() -> bool:
    """Shutdown has begun."""
    return notify("STOPPING=1")


def watchdog() -> bool:
    """Still alive: resets systemd's watchdog timer."""
    return notify("WATCHDOG=1")


def watchdog_interval() -> float | None:
    """The watchdog timeout in seconds if systemd watches this process, else None."""
    usec = os.environ.get(WATCHDOG_USEC)
    if not usec:
        return None
    pid = os.environ.get(WATCHDOG_PID)
    if pid:
        try:
            if int(pid) != os.getpid():
                return None  # meant for another process (our parent, say)
        except ValueError:
            return None
    try:
        value = int(usec)
    except ValueError:
        return None
    return value / 1_000_000 if value > 0 else None
