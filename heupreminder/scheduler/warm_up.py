"""What the service loads only once it has said "ready".

Start-up time is what a person waits for after `systemctl restart`, and what a
systemd start timeout allows. These modules are not needed for the first
reminder, so they are loaded right after "ready" instead of before it, and
then frozen with everything else (ops/memory.py). Loading a module twice is
free, so whatever imports them first (a send, a calendar request, the weekly
summary) simply finds them there.
"""

from __future__ import annotations

import importlib

from heupreminder.delivery import http_client

# By name: a static import here would load them before "ready" after all.
LATER = ("icalendar", "heupreminder.reports.weekly")


def load_what_can_wait() -> None:
    http_client.load()  # aiohttp, for the service's own sends (notices, send-test)
    for name in LATER:
        importlib.import_module(name)
