"""A fixed four-week history for Anna, built row by row: the reports' tests read it.

Anna lives in Amsterdam (CET in November, UTC+1), speaks Dutch, has the
bridge (an exercise, 07:30 daily) and magnesium (a supplement, 08:00 daily).
Her summary moment is Sunday 29 November 2026 18:00 local (ISO week 48);
the summary week is [Sun 22 Nov 18:00, Sun 29 Nov 18:00).

This week:
- bridge: sent 23, 24, 25, 28, 29 Nov; skipped because paused 26, 27 Nov;
  done 23 (tapped twice), 24, 28  -> done 3 of 5 planned, 2 rest days;
- magnesium: sent 23..29 Nov, done on all but 25 Nov -> 6 of 7;
- pain: 4 (25 Nov), 3 and 2 (27 Nov), 2 (28 Nov) -> 4 reports, average 2.8,
  highest 4; the week before: 5 (15 Nov) and 6 (20 Nov) -> average 5.5: down;
- a manual pause of all exercises 26 Nov 07:00 .. 28 Nov 06:00 (over), and a
  pain pause of all exercises since 29 Nov 10:00 (in force at the moment).
Before: bridge sent and done every day 2..21 Nov except 10 Nov (missed),
and a pain report of level 0 on 10 Nov.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from heupreminder.config import Settings
from heupreminder.db.models import (
    CheckIn,
    DecisionRow,
    Delivery,
    Occurrence,
    PainReport,
    PauseRow,
    Routine,
)
from tests.helpers import BRIDGE_AND_MAGNESIUM, load, migrated, person_config

ZONE = ZoneInfo("Europe/Amsterdam")
MOMENT = datetime(2026, 11, 29, 17, 0, tzinfo=UTC)  # Sunday 18:00 in Amsterdam
ROUTINES = BRIDGE_AND_MAGNESIUM  # the routines her history is made of


def local(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime.combine(date(2026, month, day), time(hour, minute), tzinfo=ZONE)


def anna(tmp_path: Path, database_url: str, channels: dict[str, str] | None = None,
         **options: str) -> tuple[Settings, sessionmaker[Session]]:
    """Settings and a migrated, synced database with Anna's history in it."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    settings = load(tmp_path, person_config(
        database_url=database_url, channels=channels or {"log": "console://"},
        routines=ROUTINES, **options))
    sessions = migrated(settings, local(1, 0))
    with sessions.begin() as session:
        build_history(session)
    return settings, sessions


def _occurrence(session: Session, routine: Routine, due: datetime, status: str,
                reason: str | None = None, pause: PauseRow | None = None) -> Occurrence:
    row = Occurrence(routine_id=routine.id, due_at=due, send_at=due,
                     deadline=due + timedelta(minutes=30), status=status, reason=reason,
                     created_at=due, finished_at=due + timedelta(seconds=1),
                     pause_id=pause.id if pause else None)
    session.add(row)
    session.flush()
    if status == "sent":
        session.add(Delivery(occurrence_id=row.id, channel="log", status="sent",
                             attempts=1, finished_at=due + timedelta(seconds=1)))
    return row


def _done(session: Session, routine: Routine, row: Occurrence | None, at: datetime,
          outcome: str = "done") -> None:
    session.add(CheckIn(person_id="anna", routine_id=routine.id,
                        occurrence_id=row.id if row else None, outcome=outcome, at=at,
                        source="cli"))


def _pain(session: Session, bridge: Routine, at: datetime, level: int,
          where: str | None = None, note: str | None = None) -> PainReport:
    row = PainReport(person_id="anna", at=at, level=level, location=where, note=note,
                     source="link", created_at=at,
                     routine_id=bridge.id if level >= 5 else None)
    session.add(row)
    session.flush()
    return row


def build_history(session: Session) -> None:
    routines = {r.key: r for r in session.scalars(select(Routine))}
    bridge, magnesium = routines["bridge"], routines["magnesium"]
    occurrence = partial(_occurrence, session)
    done = partial(_done, session)
    pain = partial(_pain, session, bridge)

    for day in range(2, 23):
        if day == 10:
            occurrence(bridge, local(day, 7, 30), "missed", "not sent before its deadline")
            continue
        row = occurrence(bridge, local(day, 7, 30), "sent")
        done(bridge, row, local(day, 8, 0))
    pain(local(10, 12), 0)
    first = pain(local(15, 20), 5, "outer", "na het traplopen")
    second = pain(local(20, 9), 6, "groin")

    week = {day: occurrence(bridge, local(day, 7, 30), "sent") for day in (23, 24, 25, 28, 29)}
    # The dispatcher names the pause that skipped a reminder (occurrences.pause_id).
    manual = _add_pause(session, PauseRow(
        person_id="anna", scope=None, since=local(26, 7), code="manual",
        reason="paused by hand (cli): all exercise routines", ended_at=local(28, 6),
        ended_reason="resumed by hand"))
    for day in (26, 27):
        occurrence(bridge, local(day, 7, 30), "skipped", "paused: paused by hand (cli)",
                   pause=manual)
    # Tapped twice (07:45 and 07:46): one answer per reminder since migration 0004, the
    # latest kept.
    done(bridge, week[23], local(23, 7, 46))
    done(bridge, week[24], local(24, 9, 0))
    done(bridge, week[28], local(28, 8, 0))
    done(bridge, week[25], local(25, 19, 0), outcome="skipped")
    for day in range(23, 30):
        row = occurrence(magnesium, local(day, 8), "sent")
        if day != 25:
            done(magnesium, row, local(day, 8, 5))
    pain(local(25, 18), 4, "outer", "na het fietsen")
    pain(local(27, 9), 3)
    pain(local(27, 20), 2)
    pain(local(28, 10), 2, "lower-back")
    # After the moment: never counted in this week's summary.
    occurrence(bridge, local(30, 7, 30), "sent")
    pain(local(30, 9), 9)

    _add_decisions(session, manual, first, second)


def _add_pause(session: Session, pause: PauseRow) -> PauseRow:
    session.add(pause)
    session.flush()  # its id, for the reminders it skipped and its decisions
    return pause


def _add_decisions(session: Session, manual: PauseRow, first: PainReport,
                   second: PainReport) -> None:
    """The manual pause's start and end, and the pain pause still in force."""
    resting = _add_pause(session, PauseRow(
        person_id="anna", scope=None, since=local(29, 10), code="persisting",
        reason="pain 5+ reported 2 times over 120 h", severe=False))
    session.add_all([
        DecisionRow(person_id="anna", at=local(26, 7), action="pause", scope=None,
                    code="manual", reason=manual.reason, report_ids=[], pause_id=manual.id),
        DecisionRow(person_id="anna", at=local(28, 6), action="resume", scope=None,
                    code="manual", reason="all exercises resumed by hand by cli after 47 h",
                    report_ids=[], pause_id=manual.id),
        DecisionRow(person_id="anna", at=local(29, 10), action="pause", scope=None,
                    code="persisting", reason=resting.reason,
                    report_ids=[first.id, second.id], pause_id=resting.id),
    ])
