"""A person's history as data, newest first: what `heupreminder history` lists.

The care report's rows (reminders, check-ins, pain, decisions) and the messages
the service sent (rest, resume, check-in, caregiver, summary), merged in the
order they happened, each with the words the text table shows.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from heupreminder.db.models import Notice, OccurrenceStatus, Person, utcnow
from heupreminder.input_text import InputError
from heupreminder.reports.events import event_rows
from heupreminder.reports.rows import ReportRow

# Events at the same second keep the order they happen in (a reminder, its answer,
# the pain logged with it, what the policy decided, the message that sent).
_LATER_AT_THE_SAME_TIME = {"reminder": 0, "checkin": 1, "pain": 2, "message": 4}
_HISTORY_HORIZON = timedelta(days=3660)  # "no end": pending reminders are in the future


def history_events(session: Session, person_id: str, since: datetime,
                   zone: ZoneInfo) -> list[dict[str, Any]]:
    """Everything recorded for the person since ``since``, newest first, as data.

    Each event has ``at`` (local ISO time to the second), ``type``, ``routine``
    and ``what`` (the text table's words), plus its own fields: a reminder's
    ``status`` and ``reason``; a check-in's ``status``; a pain report's
    ``level`` (a number), ``where`` and ``note``; a decision's ``code`` and
    ``reason``; a message's ``kind``, ``title``, ``status`` and ``channels``.
    Events at the same second come in a fixed order (see above, then by row).
    """
    person = session.get(Person, person_id)
    if person is None:
        raise InputError(f"person: no person {person_id!r}")
    keyed: list[tuple[datetime, int, int, dict[str, Any]]] = []
    for index, row in enumerate(event_rows(session, person, since, utcnow() + _HISTORY_HORIZON)):
        order = _LATER_AT_THE_SAME_TIME.get(row.type, 3)
        keyed.append((row.at, order, index, {"at": _local(row.at, zone), **_event_fields(row)}))
    for notice in session.scalars(select(Notice).where(
            Notice.person_id == person_id, Notice.created_at >= since)):
        keyed.append((notice.created_at, 4, notice.id,
                      {"at": _local(notice.created_at, zone), **_message_fields(notice)}))
    keyed.sort(key=lambda item: item[:3], reverse=True)
    return [event for *_, event in keyed]


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).isoformat(timespec="seconds")


def _event_fields(row: ReportRow) -> dict[str, Any]:
    """One care-report row as history data; ``what`` is the table's text."""
    if row.type == "pain":
        where = f", {row.location}" if row.location else ""
        note = f": {row.note}" if row.note else ""
        return {"type": "pain", "routine": row.routine, "level": row.level,
                "where": row.location, "note": row.note,
                "what": f"{row.level}/10{where}{note}"}
    if row.type == "reminder":
        return {"type": "reminder", "routine": row.routine, "status": row.status,
                "reason": row.reason,
                "what": (row.status or "") + (f" ({row.reason})" if row.reason else "")}
    if row.type == "checkin":
        return {"type": "checkin", "routine": row.routine, "status": row.status,
                "what": row.status}
    return {"type": row.type, "routine": row.routine, "code": row.status,
            "reason": row.reason, "what": row.reason}


def _message_fields(notice: Notice) -> dict[str, Any]:
    """A message a decision (or the week) sent: rest, resume, check-in, caregiver, summary."""
    channels = {name: result.get("status", "?")
                for name, result in (notice.deliveries or {}).items()}
    delivery = describe_delivery({"status": notice.status, "reason": notice.reason,
                                  "channels": channels})
    return {"type": "message", "routine": None, "kind": notice.kind, "title": notice.title,
            "status": notice.status, "channels": channels,
            "what": f"{notice.kind} \"{notice.title}\": {delivery}"}


def describe_delivery(message: dict[str, Any]) -> str:
    """A notice's status with each channel's result, and why when it did not go out."""
    details = [f"{name} {status}" for name, status in message["channels"].items()]
    if message["status"] in (OccurrenceStatus.PENDING, OccurrenceStatus.MISSED,
                             OccurrenceStatus.FAILED) and message["reason"]:
        details.append(message["reason"])
    return str(message["status"]) + (f" ({', '.join(details)})" if details else "")
