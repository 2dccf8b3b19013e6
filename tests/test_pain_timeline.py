"""The pain policy at its edges, as a table of timelines played day by day on a real
database (SQLite and PostgreSQL) at frozen times, through the CLI (`pain`, `resume`,
`done`, `skip`) and the service's housekeeping; the outcome is what a person would see:
the decisions in `history`, the messages in the outbox, `status`.

Each timeline names the case of issue 12 it covers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from freezegun import freeze_time
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from heupreminder.cli import main
from heupreminder.config import Settings
from heupreminder.db.models import CheckIn, DecisionRow, Notice, PainReport, PauseRow, Person
from heupreminder.pain.housekeeping import housekeeping
from heupreminder.pain.records import log_checkin, log_pain
from heupreminder.status import collect_status, render_status
from tests.helpers import load, migrated, person, person_config, routine

AMS = ZoneInfo("Europe/Amsterdam")
START = date(2026, 5, 4)  # day 1, a Monday, far from a DST change
ROUTINES = """
[[people.routines]]
exercise = "bridge"
at = "07:30"

[[people.routines]]
exercise = "hip-stretch"
at = "18:00"

[[people.routines]]
exercise = "magnesium"
at = "08:00"
"""
BERT = person("bert", "Bert", ["push"], routines=routine("walk", at="09:00"))


def at(day: int, hhmm: str) -> datetime:
    hours, minutes = map(int, hhmm.split(":"))
    return datetime.combine(START + timedelta(days=day - 1), time(hours, minutes), tzinfo=AMS)


@dataclass(frozen=True)
class Step:
    day: int
    hhmm: str
    kind: str  # pain | tick | resume
    level: int = 0
    routine: str | None = None
    ahead: int = 0  # minutes the report is stamped ahead of the clock


def pain(day: int, hhmm: str, level: int, routine: str | None = None, *, ahead: int = 0
         ) -> Step:
    return Step(day, hhmm, "pain", level, routine, ahead)


def tick(day: int, hhmm: str) -> Step:
    """The service's housekeeping run at this time."""
    return Step(day, hhmm, "tick")


def resume(day: int, hhmm: str) -> Step:
    return Step(day, hhmm, "resume")


@dataclass
class World:
    settings: Settings
    sessions: sessionmaker[Session]

    def cli(self, now: datetime, *args: str) -> str:
        with freeze_time(now):
            result = CliRunner().invoke(main, [args[0], "--config", str(self.settings.path),
                                               *args[1:]])
        assert result.exit_code == 0, result.output
        return result.output

    def housekeeping(self, now: datetime) -> None:
        with freeze_time(now), self.sessions.begin() as session:
            housekeeping(session, self.settings, now.astimezone(UTC))

    def play(self, steps: list[Step]) -> None:
        for step in steps:
            now = at(step.day, step.hhmm)
            if step.kind == "pain":
                args = ["pain", str(step.level), "-p", "anna"]
                if step.routine:
                    args += ["--routine", step.routine]
                if step.ahead:
                    args += ["--at", (now + timedelta(minutes=step.ahead)).isoformat()]
                self.cli(now, *args)
            elif step.kind == "resume":
                self.cli(now, "resume", "--all", "-p", "anna")
            self.housekeeping(now)  # the service also runs every minute

    def decisions(self) -> list[tuple[int, str, str, str, str | None]]:
        with self.sessions() as session:
            rows = session.scalars(select(DecisionRow).where(DecisionRow.person_id == "anna")
                                   .order_by(DecisionRow.id)).all()
        return [(_day(r.at), _hhmm(r.at), r.action, r.code, r.scope) for r in rows]

    def notices(self, person: str = "anna") -> list[Notice]:
        with self.sessions() as session:
            return list(session.scalars(select(Notice).where(Notice.person_id == person)
                                        .order_by(Notice.id)))

    def active_pauses(self) -> list[PauseRow]:
        with self.sessions() as session:
            return list(session.scalars(select(PauseRow).where(
                PauseRow.person_id == "anna", PauseRow.ended_at.is_(None))))


def _day(moment: datetime) -> int:
    return (moment.astimezone(AMS).date() - START).days + 1


def _hhmm(moment: datetime) -> str:
    return moment.astimezone(AMS).strftime("%H:%M")


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> Iterator[World]:
    text = person_config(
        database_url=database_url, locale="en", routines=ROUTINES, extra=BERT,
        channels={"push": "json://127.0.0.1:9/notify", "care": "json://127.0.0.1:9/care"},
        person_channels=["push"], extra_person='caregiver_channels = ["care"]')
    settings = load(tmp_path, text)
    yield World(settings, migrated(settings, at(1, "00:00")))


Outcome = tuple[int, str, str, str, str | None]

TIMELINES: dict[str, tuple[list[Step], list[Outcome], list[str]]] = {
    # name: (steps, decisions in history, kinds of anna's messages in order)
    "pain with a supplement counts as pain without a routine: all exercises pause": (
        [pain(1, "08:00", 5, "magnesium"), pain(2, "09:00", 5, "magnesium")],
        [(2, "09:00", "pause", "persisting", None)],
        ["rest"],
    ),
    "a report stamped ahead is evaluated when its time comes (no pause yet)": (
        [pain(1, "10:00", 9, ahead=4), tick(1, "10:03"), tick(1, "10:04"), tick(1, "10:05")],
        [(1, "10:04", "pause", "severe-today", None)],
        ["rest"],
    ),
    "severe on two days with a lower report between (8, 3, 8) gets care advice": (
        [pain(1, "20:00", 8), pain(2, "08:00", 3), pain(2, "19:00", 8)],
        [(1, "20:00", "pause", "severe-today", None), (2, "19:00", "pause", "severe", None)],
        ["rest", "rest", "caregiver"],
    ),
    "widening a one-routine pause to all exercises keeps the severe history": (
        [pain(1, "08:00", 5, "bridge"), pain(2, "09:00", 5, "bridge"),
         pain(2, "12:00", 8, "bridge"), pain(2, "18:00", 5), pain(3, "09:00", 8)],
        [(2, "09:00", "pause", "persisting", "bridge"),
         (2, "18:00", "pause", "persisting", None),
         (3, "09:00", "escalate", "severe", None)],
        ["rest", "checkin", "rest", "rest", "caregiver"],
    ),
    "a single low report early in a pause does not resume it 47 hours later": (
        [pain(1, "08:00", 5), pain(2, "09:00", 5), pain(2, "10:00", 1), tick(4, "09:00"),
         tick(4, "10:00"), tick(5, "09:00"), pain(5, "10:30", 1)],
        [(2, "09:00", "pause", "persisting", None), (5, "10:30", "resume", "rested", None)],
        ["rest", "checkin", "checkin", "resume"],
    ),
    "one report of 9/10: exercises rest today, no caregiver, back tomorrow": (
        [pain(1, "09:00", 9), tick(1, "10:00"), tick(1, "23:59"), tick(2, "00:00"),
         tick(2, "10:00")],
        [(1, "09:00", "pause", "severe-today", None)],
        ["rest"],  # no check-in for a rest day, no caregiver, no message at midnight
    ),
    "worse the next morning than the evening before (5 after training, 7 next morning)": (
        [pain(1, "19:00", 5, "bridge"), pain(2, "08:00", 7, "bridge")],
        [(2, "08:00", "pause", "worsening", "bridge")],
        ["rest"],
    ),
    "day-after soreness that settles pauses nothing": (
        [pain(1, "19:00", 5), pain(2, "08:00", 4), pain(3, "08:00", 1), tick(4, "10:00")],
        [],
        [],
    ),
    "a resume by hand gives a fresh start; severe pain before it is not counted again": (
        [pain(1, "20:00", 8), pain(2, "08:00", 8), resume(2, "12:00"), pain(3, "09:00", 8)],
        [(1, "20:00", "pause", "severe-today", None), (2, "08:00", "pause", "severe", None),
         (2, "12:00", "resume", "manual", None), (3, "09:00", "pause", "severe-today", None)],
        ["rest", "rest", "caregiver", "resume", "rest"],
    ),
    "a severe pain 72 h into a pause escalates with the real time in the message": (
        [pain(1, "08:00", 5), pain(2, "09:00", 5), pain(5, "10:00", 7)],
        [(2, "09:00", "pause", "persisting", None),
         (5, "10:00", "escalate", "severe-while-paused", None)],
        ["rest", "rest", "caregiver", "checkin"],
    ),
}


@pytest.mark.parametrize("name", list(TIMELINES))
def test_pain_timeline(world: World, name: str) -> None:
    steps, decisions, kinds = TIMELINES[name]
    world.play(steps)
    assert world.decisions() == decisions
    assert [n.kind for n in world.notices()] == kinds


def test_supplement_pain_pauses_exercises_and_never_the_supplement(world: World) -> None:
    world.play([pain(1, "08:00", 5, "magnesium"), pain(2, "09:00", 5, "magnesium")])
    [pause] = world.active_pauses()
    assert pause.scope is None
    [rest] = world.notices()
    assert "Magnesium" not in rest.body and "your exercise reminders" in rest.body
    assert "Your supplement reminders carry on" in rest.body


def test_a_routine_pause_follows_its_routine_through_config_edits(world: World) -> None:
    from heupreminder.db.sync import sync_config

    world.play([pain(1, "18:30", 5, "hip-stretch"), pain(2, "19:00", 5, "hip-stretch")])
    [pause] = world.active_pauses()
    assert pause.scope == "hip-stretch"
    path = world.settings.path
    edited = path.read_text(encoding="utf-8").replace(
        'exercise = "hip-stretch"\nat = "18:00"',
        'exercise = "hip-stretch"\nside = "left"\nat = "17:30"\ndays = "mon-fri"')
    assert edited != path.read_text(encoding="utf-8")
    path.write_text(edited, encoding="utf-8")
    settings = load(path.parent, edited)
    with world.sessions.begin() as session:
        sync_config(session, settings.config, at(2, "20:00").astimezone(UTC))
    [pause] = world.active_pauses()
    assert pause.scope == "hip-stretch-left"  # the key changed with the side; the pause too
    with freeze_time(at(2, "20:01")):
        [anna] = [p for p in collect_status(world.sessions) if p["person"] == "anna"]
    paused = {r["routine"]: r["paused"] for r in anna["routines"]}
    assert paused["hip-stretch-left"] and not paused["bridge"] and not paused["magnesium"]

    # Removed from the config: the pause ends with it, and status shows no pause.
    removed = edited.replace('exercise = "hip-stretch"\nside = "left"', 'exercise = "walk"')
    path.write_text(removed, encoding="utf-8")
    with world.sessions.begin() as session:
        sync_config(session, load(path.parent, removed).config, at(2, "21:00").astimezone(UTC))
    assert world.active_pauses() == []
    with freeze_time(at(2, "21:01")):
        assert "PAUSED" not in render_status(collect_status(world.sessions))


def test_only_exercises_pause_by_hand(world: World) -> None:
    with freeze_time(at(1, "09:00")):
        result = CliRunner().invoke(main, ["pause", "magnesium", "-p", "anna", "--config",
                                           str(world.settings.path)])
    assert result.exit_code == 2
    assert "'magnesium' is a supplement; only exercise routines pause" in result.output
    assert "Traceback" not in result.output and world.active_pauses() == []


def test_rest_today_message_and_escalation_text_tell_the_truth(world: World) -> None:
    world.play([pain(1, "09:00", 9)])
    [today] = world.notices()
    assert today.title == "Rest your hip today"
    assert "rest of today" in today.body and "If it stays this bad" in today.body
    assert "normal" not in today.body

    world.play([pain(3, "07:00", 1), pain(3, "08:00", 5), pain(4, "09:00", 5),
                pain(4, "20:00", 2), pain(5, "08:00", 8)])
    escalation, caregiver = world.notices()[-2:]
    assert "after 23 hours of rest" in escalation.body  # not "several days"
    assert "normal" not in escalation.body
    assert "still reports severe hip pain after 23 hours of rest" in caregiver.body
    assert "All their exercise reminders are on hold" in caregiver.body


def test_one_routine_pause_names_the_routine_everywhere(world: World) -> None:
    world.play([pain(1, "20:00", 7, "bridge"), pain(2, "08:00", 8, "bridge"),
                pain(4, "09:00", 2), tick(4, "10:00"), tick(5, "10:00")])
    kinds = [(n.kind, n.body) for n in world.notices()]
    [rest] = [body for kind, body in kinds if kind == "rest" and "“" in body]
    assert "“Morning bridge”" in rest
    [caregiver] = [body for kind, body in kinds if kind == "caregiver"]
    assert "Their “Morning bridge” reminders are on hold" in caregiver
    assert "All their" not in caregiver
    [resumed] = [body for kind, body in kinds if kind == "resume"]
    assert "“Morning bridge”" in resumed and "that exercise" not in resumed


def test_checkin_during_a_pause_by_hand_makes_no_false_promise(world: World) -> None:
    world.cli(at(1, "08:00"), "pause", "--all", "-p", "anna")
    world.play([tick(2, "10:00")])
    [checkin] = world.notices()
    assert checkin.kind == "checkin"
    assert "by themselves" not in checkin.body and "You paused them yourself" in checkin.body


def test_people_without_supplements_are_not_told_about_them(world: World) -> None:
    world.play([pain(1, "08:00", 5), pain(2, "09:00", 5)])
    assert "supplement" in world.notices()[0].body
    with world.sessions.begin() as session:
        person = session.get(Person, "bert")
        assert person is not None
    with freeze_time(at(3, "08:00")), world.sessions.begin() as session:
        log_pain(session, world.settings, "bert", 5, source="cli", now=at(3, "08:00"))
    with freeze_time(at(4, "09:00")), world.sessions.begin() as session:
        log_pain(session, world.settings, "bert", 5, source="cli", now=at(4, "09:00"))
    [rest] = world.notices("bert")
    assert rest.kind == "rest" and "supplement" not in rest.body.lower()


def test_one_answer_per_reminder_and_one_report_per_form(world: World) -> None:
    from heupreminder.scheduler.dispatcher import Dispatcher

    settings = world.settings
    morning = at(2, "07:30").astimezone(UTC)
    Dispatcher(world.sessions, lambda: settings, "node", clock=lambda: morning).schedule_due(
        morning)
    for outcome in ("done", "done", "skipped"):
        with world.sessions.begin() as session:
            log_checkin(session, "anna", "bridge", outcome, source="link", now=morning)
    with world.sessions() as session:
        assert session.scalars(select(CheckIn.outcome)).all() == ["skipped"]  # the latest
    for _ in range(2):
        with world.sessions.begin() as session:
            log_pain(session, settings, "anna", 4, source="link", now=morning,
                     submission="form-1234567890")
    with world.sessions() as session:
        assert len(session.scalars(select(PainReport)).all()) == 1


def test_one_persons_bad_data_never_stops_anyone_else(world: World) -> None:
    world.play([pain(1, "08:00", 5), pain(2, "09:00", 5)])
    with world.sessions.begin() as session:
        log_pain(session, world.settings, "bert", 5, source="cli", now=at(1, "09:00"))
        log_pain(session, world.settings, "bert", 5, source="cli", now=at(2, "10:00"))
        session.execute(update(Person).where(Person.id == "bert").values(timezone="Mars/Base"))
    world.play([pain(4, "10:00", 1), tick(4, "10:01"), tick(4, "10:02")])
    assert world.decisions()[-1][2:4] == ("resume", "rested")  # anna is not held up
    with world.sessions() as session:
        problems = session.scalars(select(DecisionRow).where(
            DecisionRow.person_id == "bert", DecisionRow.action == "problem")).all()
    assert len(problems) == 1 and "Mars/Base" in problems[0].reason  # recorded once
    with freeze_time(at(4, "10:03")):
        shown = render_status(collect_status(world.sessions))
    assert "PROBLEM since" in shown and "Mars/Base" in shown

    with world.sessions.begin() as session:
        session.execute(update(Person).where(Person.id == "bert").values(
            timezone="Europe/Amsterdam"))
    world.play([tick(4, "10:04")])
    with freeze_time(at(4, "10:05")):
        assert "PROBLEM" not in render_status(collect_status(world.sessions))
