"""Done and pain coming in over MQTT, through the same functions as the JSON API.

Contract: `handle_command(sessions, settings, command, payload, now)` writes what
the command asks in one transaction and returns the person it was for, or
raises `InputError` (the message names the field) having written nothing. The
payload is checked here as strictly as the API checks a body: Done takes only
`PRESS` (Home Assistant's button payload), pain only a level 0-10 as plain
digits. Done answers the latest reminder of the routine, so a second press for
the same reminder replaces the answer and never adds one (records.log_checkin).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from heupreminder.config.loader import Settings
from heupreminder.homeassistant.discovery import PRESS, Command
from heupreminder.input_text import InputError, quote
from heupreminder.pain.records import log_checkin, log_pain

SOURCE = "mqtt"
# A button press or a number is a few bytes; anything longer is not from Home Assistant.
MAX_PAYLOAD = 64


def handle_command(sessions: sessionmaker[Session], settings: Settings, command: Command,
                   payload: bytes, now: datetime) -> str:
    text = _text(payload)
    with sessions.begin() as session:
        if command.action == "done":
            if text != PRESS:
                raise InputError(f"payload: {quote(text)} is not {PRESS}")
            assert command.routine_level is not None
            log_checkin(session, command.person_level, command.routine_level, "done",
                        source=SOURCE, now=now)
        elif command.action == "pain":
            # Home Assistant's number sends "5" or "5.0"; a whole number only.
            level = text.strip().removesuffix(".0")
            log_pain(session, settings, command.person_level, level, source=SOURCE, now=now)
        else:  # Topics.command only makes the two above
            raise InputError(f"command: {quote(command.action)} is unknown")
    return command.person_level


def _text(payload: bytes) -> str:
    if len(payload) > MAX_PAYLOAD:
        raise InputError(f"payload: longer than {MAX_PAYLOAD} bytes")
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("payload: not UTF-8 text") from None
