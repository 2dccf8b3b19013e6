"""Everything that happened in a period, for a care provider.

Contracts:

- ``care_report(session, person_id, first_day, last_day)`` covers the local
  dates ``first_day`` .. ``last_day`` inclusive, in the person's time zone.
  It raises ``InputError`` naming the field for an unknown person
  (``person: ...``) or a period that ends before it starts (``to: ...``).
  People no longer in the config (inactive) still have their history.
- ``rows`` has **one row per event**, oldest first: every reminder (its
  status: sent, failed, skipped, missed, pending, and why), every done / skip,
  every pain report (level, where, the note), every pause / escalate / resume
  decision with its recorded reason. Ties keep that order.
- ``to_csv`` writes exactly those rows under a header (``CSV_COLUMNS``);
  ``to_json`` adds the person, period, time zone and per-routine totals.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from heupreminder.db.models import CheckIn, DecisionRow, Occurrence, PainReport, Person, Routine
from heupreminder.pain.records import InputError
from heupreminder.reports.summary import RoutineWeek, routine_weeks

CSV_COLUMNS = ("date", "time", "type", "routine", "status", "level", "location", "note",
               "reason", "source")
_ORDER = {"reminder": 0, "checkin": 1, "pain": 2, "pause": 3, "escalate": 3, "resume": 3}


@dataclass(frozen=True)
class ReportRow:
    at: datetime  # local, aware
    type: str  # reminder | checkin | pain | pause | escalate | resume
    routine: str | None = None
    status: str | None = None  # reminder status, done / skipped, or the decision's code
    level: int | None = None
    location: str | None = None
    note: str | None = None
    reason: str | None = None
    source: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(timespec="seconds"), "type": self.type,
                "routine": self.routine, "status": self.status, "level": self.level,
                "location": self.location, "note": self.note, "reason": self.reason,
                "source": self.source}


@dataclass(frozen=True)
class PainTotals:
    reports: int
    average: float | None
    highest: int | None


@dataclass(frozen=True)
class CareReport:
    person_id: str
    name: str
    timezone: str
    locale: str
    first_day: date
    last_day: date
    routines: tuple[RoutineWeek, ...]
    pain: PainTotals
    rows: tuple[ReportRow, ...]


def care_report(session: Session, person_id: str, first_day: date,
                last_day: date) -> CareReport:
    person = session.get(Person, person_id)
    if person is None:
        raise InputError(f"person: no person {person_id!r} in the database")
    if last_day < first_day:
        raise InputError(f"to: {last_day.isoformat()} is before from {first_day.isoformat()}")
    zone = ZoneInfo(person.timezone)
    start = datetime.combine(first_day, time(0), tzinfo=zone)
    end = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=zone)
    rows = event_rows(session, person, start, end)
    levels = [r.level for r in rows if r.type == "pain" and r.level is not None]
    pain = PainTotals(len(levels), round(sum(levels) / len(levels), 1) if levels else None,
                      max(levels) if levels else None)
    return CareReport(person.id, person.name, person.timezone, person.locale, first_day,
                      last_day, tuple(routine_weeks(session, person, start, end)), pain,
                      tuple(rows))


def event_rows(session: Session, person: Person, start: datetime,
               end: datetime) -> list[ReportRow]:
    zone = ZoneInfo(person.timezone)
    keys = {routine_id: key for routine_id, key in session.execute(
        select(Routine.id, Routine.key).where(Routine.person_id == person.id))}
    rows: list[tuple[datetime, int, int, ReportRow]] = []

    def add(at: datetime, row_id: int, row: ReportRow) -> None:
        rows.append((at, _ORDER.get(row.type, 3), row_id, row))  # 3: any other decision

    for o in session.scalars(select(Occurrence).join(Routine).where(
            Routine.person_id == person.id, Occurrence.due_at >= start,
            Occurrence.due_at < end)):
        add(o.due_at, o.id, ReportRow(o.due_at.astimezone(zone), "reminder",
                                      keys[o.routine_id], str(o.status), reason=o.reason))
    for c in session.scalars(select(CheckIn).where(
            CheckIn.person_id == person.id, CheckIn.at >= start, CheckIn.at < end)):
        add(c.at, c.id, ReportRow(c.at.astimezone(zone), "checkin", keys[c.routine_id],
                                  c.outcome, source=c.source))
    for p in session.scalars(select(PainReport).where(
            PainReport.person_id == person.id, PainReport.at >= start, PainReport.at < end)):
        add(p.at, p.id, ReportRow(p.at.astimezone(zone), "pain",
                                  keys.get(p.routine_id) if p.routine_id else None,
                                  level=p.level, location=p.location, note=p.note,
                                  source=p.source))
    for d in session.scalars(select(DecisionRow).where(
            DecisionRow.person_id == person.id, DecisionRow.at >= start,
            DecisionRow.at < end)):
        add(d.at, d.id, ReportRow(d.at.astimezone(zone), d.action, d.scope, d.code,
                                  reason=d.reason))
    rows.sort(key=lambda item: item[:3])
    return [row for *_, row in rows]


def to_csv(report: CareReport) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in report.rows:
        writer.writerow([row.at.date().isoformat(), row.at.strftime("%H:%M"), row.type,
                         row.routine or "", row.status or "",
                         "" if row.level is None else row.level, row.location or "",
                         row.note or "", row.reason or "", row.source or ""])
    return buffer.getvalue()


def to_json(report: CareReport) -> dict[str, Any]:
    return {
        "person": {"id": report.person_id, "name": report.name, "timezone": report.timezone},
        "from": report.first_day.isoformat(), "to": report.last_day.isoformat(),
        "routines": [{"routine": r.key, "title": r.title, "kind": r.kind, "planned": r.planned,
                      "done": r.done, "rest_not_counted": r.rest} for r in report.routines],
        "pain": {"reports": report.pain.reports, "average": report.pain.average,
                 "highest": report.pain.highest},
        "events": [row.as_dict() for row in report.rows],
    }
