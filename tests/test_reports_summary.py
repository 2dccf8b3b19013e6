"""The weekly summary: its numbers on a fixed history, its texts, when it is
queued (once per ISO week, at each person's chosen time), and its config key.
Every database test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from heupreminder.config import ConfigError
from heupreminder.db.models import Notice, Person
from heupreminder.progress import adherence
from heupreminder.reports.summary import weekly_summary
from heupreminder.reports.summary_words import short_text, summary_message
from heupreminder.reports.weekly import GRACE, queue_summaries
from heupreminder.timetable.summary_at import SummaryAt, last_moment, parse_summary_at, week_key
from tests.anna_history import MOMENT, ROUTINES, ZONE, anna, local
from tests.helpers import load, person_config


def test_summary_numbers_on_a_fixed_history(tmp_path: Path, database_url: str) -> None:
    _, sessions = anna(tmp_path, database_url)
    with sessions() as session:
        person = session.get(Person, "anna")
        assert person is not None
        summary = weekly_summary(session, person, MOMENT)

        assert summary.start == MOMENT - timedelta(days=7) and summary.end == MOMENT
        rows = {r.key: (r.planned, r.done, r.rest, r.missed) for r in summary.routines}
        assert rows == {"bridge": (5, 3, 2, 2), "magnesium": (7, 6, 0, 1)}
        total = summary.total("exercise")
        assert (total.planned, total.done, total.rest) == (5, 3, 2)
        # The same rules as `status`'s adherence: rest days are not misses. (adherence
        # has no end, so it also sees the one reminder after the moment, on 30 Nov.)
        since = adherence(session, "anna", summary.start)
        assert (since.planned, since.done, since.rest) == (6, 3, 2)
        # Over the same week it is the exercises' total: magnesium is not in it.
        week = adherence(session, "anna", summary.start, summary.end)
        assert (week.planned, week.done, week.rest) == (total.planned, total.done, total.rest)

        pain = summary.pain
        assert (pain.reports, pain.average, pain.highest) == (4, 2.8, 4)
        assert pain.previous_average == 5.5 and pain.trend == "down"

        [pause] = summary.pauses  # the manual pause ended on the 28th
        assert pause.scope is None and pause.code == "persisting"
        assert pause.since == local(29, 10)
        assert not summary.empty

        # A week earlier: only bridge sessions; pain 5 and 6 after a 0 the week before.
        earlier = weekly_summary(session, person, MOMENT - timedelta(days=7))
        assert {r.key: (r.planned, r.done, r.rest) for r in earlier.routines} == {
            "bridge": (7, 7, 0), "magnesium": (0, 0, 0)}
        assert (earlier.pain.average, earlier.pain.previous_average) == (5.5, 0.0)
        assert earlier.pain.trend == "up" and earlier.pain.highest == 6
        # Two weeks earlier: one report of 0, nothing the week before it.
        first = weekly_summary(session, person, MOMENT - timedelta(days=14)).pain
        assert (first.reports, first.average, first.trend) == (1, 0.0, "new")
        assert earlier.pauses == ()


def test_summary_texts_in_dutch_and_english(tmp_path: Path, database_url: str) -> None:
    _, sessions = anna(tmp_path, database_url)
    with sessions() as session:
        person = session.get(Person, "anna")
        assert person is not None
        summary = weekly_summary(session, person, MOMENT)
    title, body = summary_message("nl", "Anna", summary, ZONE)
    assert title == "Je week in het kort"
    assert short_text(body) == (
        "Deze week deed je 3 van de 5 oefensessies. 2 rustdagen tellen niet als gemist. "
        "Pijn: gemiddeld 2,8, lager dan vorige week (5,5). Je oefeningen staan nu stil.")
    assert "• Ochtendbrug: 3 van 5 gedaan, 2 rustdagen" in body
    assert "• Magnesium: 6 van 7 gedaan" in body
    assert "Alle oefeningen staan stil sinds 29 nov: je heup bleef pijn doen." in body

    title, body = summary_message("en", "Anna", summary, ZONE)
    assert title == "Your week at a glance"
    assert short_text(body).startswith("This week you did 3 of 5 exercise sessions. "
                                       "2 rest days do not count as missed. "
                                       "Pain: average 2.8, lower than last week (5.5).")
    assert "All exercises resting since 29 Nov: your hip kept hurting." in body


def test_summary_is_queued_once_per_week_at_the_chosen_time(
        tmp_path: Path, database_url: str) -> None:
    settings, sessions = anna(tmp_path, database_url)

    def queue(now: datetime) -> int:
        with sessions.begin() as session:
            return queue_summaries(session, settings, now)

    assert queue(MOMENT - timedelta(minutes=1)) == 0  # not yet (last week's is past grace)
    assert queue(MOMENT) == 1
    assert queue(MOMENT + timedelta(minutes=1)) == 0  # the same week: already in the outbox
    assert queue(MOMENT + GRACE - timedelta(minutes=1)) == 0
    with sessions() as session:
        [notice] = session.scalars(select(Notice)).all()
    assert notice.kind == "summary" and notice.dedupe_key == "summary-2026-W48"
    assert notice.channels == ["log"] and notice.status == "pending"
    assert notice.title == "Je week in het kort" and "3 van de 5" in notice.body

    # After downtime longer than the grace period, that week's summary is skipped.
    next_week = MOMENT + timedelta(days=7)
    assert queue(next_week + GRACE + timedelta(minutes=1)) == 0


@pytest.mark.parametrize(("value", "queued_at"), [
    ('"off"', None),
    ('"mon 07:00"', datetime(2026, 11, 30, 6, 0, tzinfo=UTC)),  # Monday 07:00 local
])
def test_summary_day_and_time_are_per_person(tmp_path: Path, database_url: str, value: str,
                                             queued_at: datetime | None) -> None:
    settings, sessions = anna(tmp_path, database_url, extra_person=f"summary = {value}")
    with sessions.begin() as session:
        assert queue_summaries(session, settings, MOMENT + timedelta(minutes=1)) == 0
    if queued_at is None:
        return
    with sessions.begin() as session:
        assert queue_summaries(session, settings, queued_at - timedelta(seconds=1)) == 0
        assert queue_summaries(session, settings, queued_at) == 1
        [key] = session.scalars(select(Notice.dedupe_key)).all()
    assert key == "summary-2026-W49"


def test_a_week_with_nothing_to_tell_sends_nothing(tmp_path: Path, database_url: str) -> None:
    settings, sessions = anna(tmp_path, database_url)
    quiet_week = MOMENT - timedelta(days=28)
    for minutes in (0, 1):
        with sessions.begin() as session:
            assert queue_summaries(session, settings, quiet_week + timedelta(minutes=minutes)) == 0
    with sessions() as session:
        [notice] = session.scalars(select(Notice)).all()  # looked at once, never sent
    assert (notice.status, notice.dedupe_key) == ("skipped", "summary-2026-W44")


def test_service_default_and_people_managed_in_the_database(
        tmp_path: Path, database_url: str) -> None:
    monday = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)  # Monday 07:00 in Amsterdam
    settings, sessions = anna(tmp_path / "config", database_url,
                              extra_service='summary = "mon 07:00"')
    assert settings.config.person_summary(settings.config.people[0]) == SummaryAt(0, time(7))
    with sessions.begin() as session:
        assert queue_summaries(session, settings, MOMENT) == 0  # not Sunday for Anna
        assert queue_summaries(session, settings, monday) == 1

    # People kept in the database (a practice): everyone gets [service] summary,
    # found per time zone by one query that leaves out who already has it.
    (tmp_path / "db").mkdir()
    database = load(tmp_path / "db", person_config(
        database_url=database_url, channels={"log": "console://"}, routines="",
        extra_service='manage_people = "database"\nsummary = "sun 18:00"'))
    with sessions.begin() as session:
        assert queue_summaries(session, database, MOMENT) == 1
        assert queue_summaries(session, database, MOMENT + timedelta(minutes=1)) == 0
        keys = sorted(session.scalars(select(Notice.dedupe_key)).all())
    assert keys == ["summary-2026-W48", "summary-2026-W49"]
    off = load(tmp_path / "db", person_config(
        database_url=database_url, channels={"log": "console://"}, routines="",
        extra_service='manage_people = "database"\nsummary = "off"'))
    with sessions.begin() as session:
        assert queue_summaries(session, off, MOMENT + timedelta(days=7)) == 0


@pytest.mark.parametrize(("value", "expected"), [
    ("sun 18:00", SummaryAt(6, time(18, 0))), ("Monday 7:05", SummaryAt(0, time(7, 5))),
    ("off", None), (" OFF ", None),
])
def test_summary_values(value: str, expected: SummaryAt | None) -> None:
    assert parse_summary_at(value) == expected


@pytest.mark.parametrize("value", ['"zon 18:00"', '"sun 25:00"', '"sun"', "5", '""'])
def test_bad_summary_value_names_the_key(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, person_config(database_url="sqlite://", channels={"log": "console://"},
                                     routines=ROUTINES, extra_person=f"summary = {value}"))
    [problem] = caught.value.problems
    assert "people[0].summary:" in problem and "is not a day and time" in problem


def test_default_summary_is_sunday_evening(tmp_path: Path) -> None:
    settings = load(tmp_path, person_config(database_url="sqlite://",
                                            channels={"log": "console://"}, routines=ROUTINES))
    config = settings.config
    assert config.person_summary(config.people[0]) == SummaryAt(6, time(18, 0))
    assert str(config.service.summary) == "sun 18:00"


def test_summary_moments_follow_the_wall_clock_across_dst() -> None:
    zone = ZoneInfo("Europe/Amsterdam")
    # 29 March 2026: clocks jump from 02:00 to 03:00; "sun 02:30" goes out at 03:00.
    spring = last_moment(SummaryAt(6, time(2, 30)), zone, datetime(2026, 3, 29, 12, tzinfo=UTC))
    assert spring == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    # 25 October 2026: 02:30 happens twice; the first one counts.
    autumn = last_moment(SummaryAt(6, time(2, 30)), zone, datetime(2026, 10, 25, 12, tzinfo=UTC))
    assert autumn == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert week_key(autumn, zone) == "2026-W43"
    # Exactly at the moment counts as passed; a second earlier is last week's.
    at = SummaryAt(6, time(18, 0))
    assert last_moment(at, zone, MOMENT) == MOMENT
    assert last_moment(at, zone, MOMENT - timedelta(seconds=1)) == MOMENT - timedelta(days=7)


def test_the_service_housekeeping_queues_the_summary(tmp_path: Path, database_url: str) -> None:
    """The running service's once-a-minute housekeeping is what queues summaries."""
    from heupreminder.pain.records import log_pain
    from heupreminder.scheduler.service import Service
    from tests.helpers import migrated

    zone = ZoneInfo("Europe/Amsterdam")
    moment = (datetime.now(UTC) - timedelta(minutes=2)).astimezone(zone)
    weekday = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[moment.weekday()]
    settings = load(tmp_path, person_config(
        database_url=database_url, channels={"log": "console://"}, routines=ROUTINES,
        extra_person=f'summary = "{weekday} {moment:%H:%M}"'))
    sessions = migrated(settings, datetime.now(UTC) - timedelta(days=1))
    with sessions.begin() as session:
        log_pain(session, settings, "anna", 2, source="cli",
                 now=datetime.now(UTC) - timedelta(minutes=5))
    service = Service(settings.path)
    try:
        service.housekeeping()
        service.housekeeping()  # a minute later: still one
    finally:
        service.pool.shutdown()
        service.engine.dispose()
    with sessions() as session:
        [notice] = session.scalars(select(Notice).where(Notice.kind == "summary")).all()
    assert notice.dedupe_key == f"summary-{week_key(moment, zone)}"
    assert "Pijn: gemiddeld 2" in notice.body
