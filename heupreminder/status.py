"""What `heupreminder status` (and the API's /status) shows: people, routines,
next time in local time, the last result, and any pause with its reason."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from heupreminder.db.models import (
    Notice,
    Occurrence,
    OccurrenceStatus,
    Person,
    Routine,
    utcnow,
)
from heupreminder.pain.housekeeping import open_problem
from heupreminder.pain.pauses import covering, pauses_stopping_exercises
from heupreminder.progress import adherence
from heupreminder.reports.table import render_table
from heupreminder.reports.timeline import describe_delivery
from heupreminder.timetable.schedule import Schedule

ADHERENCE_WINDOW = timedelta(days=14)
# The messages (rest, resume, check-in, caregiver, summary) shown per person.
MESSAGES_SHOWN = 10


def _describe(schedule: str) -> str:
    try:
        return Schedule.from_text(schedule).describe()
    except ValueError:  # a malformed row: shown, not a traceback
        return f"INVALID {schedule!r}"


def person_status(session: Session, person: Person) -> dict[str, Any]:
    try:
        zone = ZoneInfo(person.timezone)
    except (LookupError, ValueError):  # a malformed row: times shown in UTC
        zone = ZoneInfo("UTC")
    routines = session.scalars(
        select(Routine).where(Routine.person_id == person.id, Routine.active)
        .order_by(Routine.key)).all()
    now = utcnow()
    # Only pauses that stop something now: a one-routine pause of a routine that no longer
    # exists, or a rest day that is over, is not shown as PAUSED.
    exercises = {r.key for r in routines if r.kind == "exercise"}
    pauses = pauses_stopping_exercises(session, person.id, exercises, now)
    problem = open_problem(session, person.id)
    rows = []
    for routine in routines:
        # A reminder written ahead (in the 30 s before it is due) is the next
        # one; the routine itself has already moved on to the one after.
        written_ahead = session.scalar(select(func.min(Occurrence.due_at)).where(
            Occurrence.routine_id == routine.id, Occurrence.status == OccurrenceStatus.PENDING,
            Occurrence.due_at > now))
        next_due = written_ahead or routine.next_due_at
        last = session.scalars(
            select(Occurrence).where(Occurrence.routine_id == routine.id,
                                     Occurrence.status != OccurrenceStatus.PENDING)
            .order_by(Occurrence.due_at.desc()).limit(1)).first()
        pause = covering(pauses, routine)  # the dispatcher's rule: what it would skip
        rows.append({
            "routine": routine.key,
            "kind": routine.kind,
            "schedule": _describe(routine.schedule),
            "next_due": (next_due.astimezone(zone).isoformat(timespec="minutes")
                         if next_due else None),
            "paused": pause.reason if pause else None,
            "last_due": (last.due_at.astimezone(zone).isoformat(timespec="minutes")
                         if last else None),
            "last_status": last.status if last else None,
            "last_reason": last.reason if last else None,
        })
    recent = adherence(session, person.id, now - ADHERENCE_WINDOW)
    return {"person": person.id, "name": person.name, "timezone": person.timezone,
            "adherence_14d": {"done": recent.done, "planned": recent.planned,
                              "rest_days_not_counted": recent.rest},
            "locale": person.locale, "channels": list(person.channels),
            "pauses": [{"scope": p.scope or "all exercises",
                        "since": p.since.astimezone(zone).isoformat(timespec="minutes"),
                        "until": (p.until.astimezone(zone).isoformat(timespec="minutes")
                                  if p.until else None),
                        "reason": p.reason} for p in pauses],
            "problem": ({"since": problem.at.astimezone(zone).isoformat(timespec="minutes"),
                         "what": problem.reason} if problem else None),
            "messages": recent_messages(session, person.id, zone, now - ADHERENCE_WINDOW),
            "routines": rows}


def recent_messages(session: Session, person_id: str, zone: ZoneInfo, since: datetime,
                    limit: int | None = MESSAGES_SHOWN) -> list[dict[str, Any]]:
    """The person's newest notices, each with whether it reached its channels."""
    notices = session.scalars(
        select(Notice).where(Notice.person_id == person_id, Notice.created_at >= since)
        .order_by(Notice.created_at.desc(), Notice.id.desc()).limit(limit)).all()
    return [{"kind": n.kind, "title": n.title,
             "created": n.created_at.astimezone(zone).isoformat(timespec="minutes"),
             "status": n.status, "reason": n.reason,
             "channels": {name: result.get("status", "?")
                          for name, result in (n.deliveries or {}).items()}}
            for n in notices]


def collect_status(sessions: sessionmaker[Session]) -> list[dict[str, Any]]:
    """One dict per active person, with their routines; plain data for --json."""
    with sessions() as session:
        people = session.scalars(select(Person).where(Person.active).order_by(Person.id)).all()
        return [person_status(session, person) for person in people]


def render_status(people: list[dict[str, Any]]) -> str:
    if not people:
        return "No people yet: add some to the config and start `heupreminder run`."
    lines = []
    for person in people:
        lines.append(f"{person['name']} ({person['person']}, {person['timezone']}, "
                     f"{person['locale']}) via {', '.join(person['channels'])}")
        done = person["adherence_14d"]
        lines.append(f"  last 14 days: {done['done']} of {done['planned']} exercise reminders "
                     f"done ({done['rest_days_not_counted']} rest days not counted)")
        for pause in person["pauses"]:
            until = f" until {pause['until'].replace('T', ' ')}" if pause.get("until") else ""
            lines.append(f"  PAUSED {pause['scope']} since {pause['since'].replace('T', ' ')}"
                         f"{until}: {pause['reason']}")
        if person.get("problem"):
            lines.append(f"  PROBLEM since {person['problem']['since'].replace('T', ' ')}: "
                         f"{person['problem']['what']}")
        lines.extend(f"  {line}" for line in render_table(
            ("routine", "schedule", "next (local)", "last"),
            [_routine_cells(r) for r in person["routines"]], gap=" ", rule=False,
            wrap_last=False))
        for message in person.get("messages", []):
            lines.append("  " + _message_line(message))
    return "\n".join(lines)


def _routine_cells(routine: dict[str, Any]) -> tuple[str, str, str, str]:
    """One routine's row in the status table: key, schedule, next and last reminder."""
    next_due = "paused" if routine["paused"] else (
        routine["next_due"] or "-")[:16].replace("T", " ")
    last = "-"
    if routine["last_status"]:
        last = f"{routine['last_status']} {routine['last_due'][:16].replace('T', ' ')}"
        if routine["last_reason"]:
            last += f" ({routine['last_reason']})"
    return routine["routine"], routine["schedule"], next_due, last


def _message_line(message: dict[str, Any]) -> str:
    """E.g. "message rest 2026-01-07 10:00: sent (phone sent, mail failed)"."""
    when = message["created"][:16].replace("T", " ")
    return f"message {message['kind']} {when}: {describe_delivery(message)}"
