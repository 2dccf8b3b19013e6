"""Log set-up: readable text for a terminal, or one JSON object per line.

JSON lines carry `ts` (ISO 8601, UTC), `level`, `logger`, `message`, the
`person` and `routine` a line is about when the caller passed them as
`extra={...}`, and `exc` with the traceback. A log shipper (journald with
Loki, Vector, Docker's json-file driver) can then filter by person.

Secrets: `heupreminder.masking.install_masker` later adds its filter to the
root handlers set up here. Handler filters run before the formatter, so the
message and traceback are already masked when they are turned into JSON.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Literal, TextIO

LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
# Attributes a caller may attach with extra={...} that JSON lines carry along.
CONTEXT_FIELDS = ("person", "routine")
_OURS = "_heupreminder_handler"


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (newlines in values are escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value if isinstance(value, str | int | float | bool) else str(value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class _MaskedStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler whose filters (the secret masker) also see the traceback.

    The traceback is rendered before the filters run and masked by them on
    its own, so it stays a separate field (`exc` in JSON) instead of being
    folded into the message.
    """

    def handle(self, record: logging.LogRecord) -> bool:
        exc_info = record.exc_info
        if exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(exc_info)
        if record.exc_text and self.filters:
            probe = logging.makeLogRecord({"msg": record.exc_text, "levelno": record.levelno})
            self.filter(probe)
            record.exc_text = probe.getMessage()
        record.exc_info = None
        try:
            return super().handle(record)
        finally:
            record.exc_info = exc_info


def setup_logging(level: str, fmt: LogFormat = "text", stream: TextIO | None = None) -> None:
    """Configure the root logger: call once at start, before `install_masker`.

    Like `logging.basicConfig` it leaves a root logger alone that someone else
    has already given handlers (a test runner capturing logs, say); a handler
    from an earlier call of this function is replaced.
    """
    if fmt not in ("text", "json"):
        raise ValueError(f"unknown log format {fmt!r} (text or json)")
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(old)
        old.close()
    if not root.handlers:
        handler = _MaskedStreamHandler(stream if stream is not None else sys.stderr)
        setattr(handler, _OURS, True)
        handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
        root.addHandler(handler)
        root.setLevel(getattr(logging, level.upper()))
        # Python warnings become log records too, so every JSON line is JSON.
        logging.captureWarnings(fmt == "json")
    # APScheduler logs every run of the one-second tick at INFO; keep the log readable.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    # Alembic announces its plugins and Apprise every send at INFO.
    for chatty in ("alembic", "apprise"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root.level))
