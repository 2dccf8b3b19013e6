"""Everything that happened in a period, for a care provider.

Contracts:

- ``care_report(session, person_id, first_day, last_day)`` covers the local
  dates ``first_day`` .. ``last_day`` inclusive, in the person's time zone.
  Without ``last_day`` the period ends today (in that time zone, at ``now``);
  without ``first_day`` it is the ``DEFAULT_DAYS`` (4 weeks) up to the last day.
  It raises ``InputError`` naming the field for an unknown person
  (``person: ...``) or a period that ends before it starts (``to: ...``).
  People no longer in the config (inactive) still have their history. The
  report carries the routines' titles in the person's language and the
  pain-and-exercise chart's data for the period.
- ``rows`` has **one row per event**, oldest first: every reminder (its
  status: sent, failed, skipped, missed, pending, and why), every done / skip,
  every pain report (level, where, the note), every pause / escalate / resume
  decision with its recorded reason. Ties keep that order.
- ``to_csv`` writes exactly those rows under a header (``CSV_COLUMNS``);
  ``to_json`` adds the person, period, time zone and per-routine totals.
  Both keep the codes (``type``, ``status``) for scripts, add ``details``:
  what happened in the person's language (``care_words``), and leave the
  database's row ids out of recorded reasons (they mean nothing elsewhere).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from heupreminder.db.models import (
    CheckIn,
    DecisionRow,
    Occurrence,
    PainReport,
    Person,
    Routine,
    utcnow,
)
from heupreminder.delivery.messages import routine_title
from heupreminder.input_text import InputError
from heupreminder.reports.care_words import event_details
from heupreminder.reports.chart import ChartData, chart_data
from heupreminder.reports.rows import ReportRow
from heupreminder.reports.summary import RoutineWeek, routine_weeks

CSV_COLUMNS = ("date", "time", "type", "routine", "status", "level", "location", "note",
               "reason", "source", "details")
DEFAULT_DAYS = 28  # the weekly summary's chart span: 4 weeks
# How the pain policy names the reports behind a decision: " (reports 3, 4)", "(report 5, ".
_REPORT_IDS = re.compile(r" \(reports? \d+(?:, \d+)*\)|(?<=\()report \d+, ")
_ORDER = {"reminder": 0, "checkin": 1, "pain": 2, "pause": 3, "escalate": 3, "resume": 3}


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
    titles: dict[str, str]  # routine key -> its title in the person's language
    chart: ChartData  # pain and exercises per day over the period


def care_report(session: Session, person_id: str, first_day: date | None,
                last_day: date | None, now: datetime | None = None) -> CareReport:
    person = session.get(Person, person_id)
    if person is None:
        raise InputError(f"person: no person {person_id!r} in the database")
    zone = ZoneInfo(person.timezone)
    first_day, last_day = report_period(zone, first_day, last_day, now or utcnow())
    if last_day < first_day:
        raise InputError(f"to: {last_day.isoformat()} is before from {first_day.isoformat()}")
    start = datetime.combine(first_day, time(0), tzinfo=zone)
    end = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=zone)
    rows = event_rows(session, person, start, end)
    levels = [r.level for r in rows if r.type == "pain" and r.level is not None]
    pain = PainTotals(len(levels), round(sum(levels) / len(levels), 1) if levels else None,
                      max(levels) if levels else None)
    titles = {r.key: routine_title(r, person.locale) for r in session.scalars(
        select(Routine).where(Routine.person_id == person.id))}
    chart = chart_data(session, person, last_day, days=(last_day - first_day).days + 1)
    return CareReport(person.id, person.name, person.timezone, person.locale, first_day,
                      last_day, tuple(routine_weeks(session, person, start, end)), pain,
                      tuple(rows), titles, chart)


def report_period(zone: ZoneInfo, first_day: date | None, last_day: date | None,
                  now: datetime) -> tuple[date, date]:
    """The period's first and last local date; see the module docstring for defaults."""
    last = last_day or now.astimezone(zone).date()
    return first_day or last - timedelta(days=DEFAULT_DAYS - 1), last


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
                                      keys[o.routine_id], str(o.status), reason=o.reason,
                                      paused=o.pause_id is not None))
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
    decisions = session.scalars(select(DecisionRow).where(
        DecisionRow.person_id == person.id, DecisionRow.at >= start,
        DecisionRow.at < end)).all()
    levels = _levels(session, {i for d in decisions for i in d.report_ids or ()})
    for d in decisions:
        add(d.at, d.id, ReportRow(d.at.astimezone(zone), d.action, d.scope, d.code,
                                  reason=d.reason, levels=tuple(
                                      levels[i] for i in d.report_ids or () if i in levels)))
    rows.sort(key=lambda item: item[:3])
    return [row for *_, row in rows]


def _levels(session: Session, report_ids: set[int]) -> dict[int, int]:
    if not report_ids:
        return {}
    return {report_id: level for report_id, level in session.execute(
        select(PainReport.id, PainReport.level).where(PainReport.id.in_(report_ids)))}


def without_report_ids(reason: str | None) -> str | None:
    """A recorded reason without the database's report ids (they mean nothing elsewhere)."""
    return _REPORT_IDS.sub("", reason) if reason else reason


def details(row: ReportRow, report: CareReport) -> str:
    """What happened, in the person's language (see ``care_words``)."""
    return event_details(row, report.locale, report.titles)


def to_csv(report: CareReport) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in report.rows:
        writer.writerow([row.at.date().isoformat(), row.at.strftime("%H:%M"), row.type,
                         row.routine or "", row.status or "",
                         "" if row.level is None else row.level, row.location or "",
                         row.note or "", without_report_ids(row.reason) or "",
                         row.source or "", details(row, report)])
    return buffer.getvalue()


def to_json(report: CareReport) -> dict[str, Any]:
    return {
        "person": {"id": report.person_id, "name": report.name, "timezone": report.timezone},
        "from": report.first_day.isoformat(), "to": report.last_day.isoformat(),
        "routines": [{"routine": r.key, "title": r.title, "kind": r.kind, "planned": r.planned,
                      "done": r.done, "rest_not_counted": r.rest} for r in report.routines],
        "pain": {"reports": report.pain.reports, "average": report.pain.average,
                 "highest": report.pain.highest},
        "events": [{**row.as_dict(), "reason": without_report_ids(row.reason),
                    "details": details(row, report)} for row in report.rows],
    }
