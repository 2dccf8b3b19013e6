"""Promise 7: clock and DST, at unit level with explicit `now` values.

The dispatcher runs across each daylight-saving night of 2026 in
Europe/Amsterdam and America/New_York, for routines at 02:30 (missing in
spring, once in autumn), 00:00 and New York's 01:30 (twice in autumn):
exactly one occurrence row, and one reminder, per local date. Then the
clock jumps back and forward by 5 minutes while it runs: nothing doubled,
nothing skipped. Schedules over two whole years: tests/test_schedule.py."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from heupreminder.config.loader import load_settings
from heupreminder.db.models import Occurrence, Routine
from heupreminder.scheduler.dispatcher import Dispatcher
from tests.dispatching import send_claimed
from tests.helpers import migrated
from tests.receivers import HttpInbox
from tests.reliability.harness import service_config

AMS, NYC = ZoneInfo("Europe/Amsterdam"), ZoneInfo("America/New_York")
PEOPLE = {
    "ams": (AMS, {"r0230": 'at = "02:30"', "r0000": 'at = "00:00"',
                  "c0230": 'cron = "30 2 * * *"'}),
    "nyc": (NYC, {"r0230": 'at = "02:30"', "r0000": 'at = "00:00"', "r0130": 'at = "01:30"'}),
}
NIGHTS = {  # the local date of each transition in 2026
    "ams-spring": ("ams", date(2026, 3, 29)), "ams-autumn": ("ams", date(2026, 10, 25)),
    "nyc-spring": ("nyc", date(2026, 3, 8)), "nyc-autumn": ("nyc", date(2026, 11, 1)),
}


def people_toml() -> str:
    parts = []
    for person, (zone, routines) in PEOPLE.items():
        parts.append(f'[[people]]\nid = "{person}"\nname = "{person}"\n'
                     f'timezone = "{zone.key}"\nchannels = ["push"]\n')
        for key, when in routines.items():
            parts.append(f'[[people.routines]]\nid = "{key}"\ntitle = "{person}-{key}"\n'
                         f'text = "{key}"\n{when}\n')
    return "\n".join(parts)


def setup(tmp_path: Path, database_url: str, receiver: HttpInbox, start: datetime,
          routines: str | None = None) -> tuple[Dispatcher, object]:
    config = service_config(tmp_path, database_url, {"push": receiver.url},
                            manage_people=None, people=routines or people_toml())
    settings = load_settings(config)
    sessions = migrated(settings, start)
    return Dispatcher(sessions, lambda: settings, "clock-node"), sessions


def run_at(dispatcher: Dispatcher, now: datetime) -> None:
    dispatcher.clock = lambda: now
    while dispatcher.schedule_due(now):
        pass
    for occurrence_id in dispatcher.claim(now, 100):
        assert send_claimed(dispatcher, [occurrence_id]) == ["sent"]


def occurrences(sessions: object) -> list[tuple[str, str, datetime, str]]:
    with sessions() as session:  # type: ignore[operator]
        return [tuple(r) for r in session.execute(
            select(Routine.person_id, Routine.key, Occurrence.due_at, Occurrence.status)
            .join(Routine, Routine.id == Occurrence.routine_id)
            .order_by(Occurrence.due_at)).all()]


@pytest.mark.parametrize("night", sorted(NIGHTS))
def test_one_reminder_per_local_date_across_a_dst_night(
        tmp_path: Path, database_url: str, receiver: HttpInbox, night: str) -> None:
    person, day = NIGHTS[night]
    zone = PEOPLE[person][0]
    start = datetime.combine(day - timedelta(days=1), time(12), zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(12), zone).astimezone(UTC)
    fine_from = datetime.combine(day, time(0), zone).astimezone(UTC) - timedelta(minutes=30)
    steps = {start + timedelta(minutes=20 * i) for i in range(int((end - start) / timedelta(
        minutes=20)) + 1)}
    steps |= {fine_from + timedelta(minutes=5 * i) for i in range(5 * 12)}  # the night, finer
    dispatcher, sessions = setup(tmp_path, database_url, receiver, start)
    for now in sorted(steps):
        run_at(dispatcher, now)

    rows = occurrences(sessions)
    assert {status for *_, status in rows} == {"sent"}
    for who, (their_zone, routines) in PEOPLE.items():
        for key in routines:
            dates = [due.astimezone(their_zone).date() for p, k, due, _ in rows
                     if (p, k) == (who, key)]
            assert len(dates) == len(set(dates)), f"{who}/{key}: twice on one date: {dates}"
            assert dates == [dates[0] + timedelta(days=i) for i in range(len(dates))], (
                f"{who}/{key}: a date skipped: {dates}")
            if who == person:
                assert dates == [day, day + timedelta(days=1)], f"{who}/{key}: {dates}"
    titles = Counter(post["title"] for post in receiver.posts)
    assert titles == Counter(f"{p}-{k}" for p, k, _, _ in rows)  # one reminder per row

    def due_on(key: str) -> datetime:
        [due] = [d for p, k, d, _ in rows if (p, k) == (person, key)
                 and d.astimezone(zone).date() == day]
        return due.astimezone(zone)
    if night.endswith("spring"):  # 02:30 does not exist: the first valid time after it
        assert (due_on("r0230").hour, due_on("r0230").minute) == (3, 0)
    else:  # 02:30 (Amsterdam) / 01:30 (New York) happen twice: the first one
        twice = "r0230" if person == "ams" else "r0130"
        first = datetime.combine(day, time.fromisoformat(f"{twice[1:3]}:{twice[3:]}"), zone)
        assert due_on(twice) == first and due_on(twice).fold == 0
        assert due_on(twice).utcoffset() == first.utcoffset()  # summer time, the first pass


def test_clock_stepping_back_and_forward_five_minutes(
        tmp_path: Path, database_url: str, receiver: HttpInbox) -> None:
    """The wall clock jumps back 5 min right after reminders went out, and
    forward 5 min over a due time: each due time is sent exactly once."""
    routines = ('[[people]]\nid = "anna"\nname = "Anna"\ntimezone = "Europe/Amsterdam"\n'
                'channels = ["push"]\n'
                '[[people.routines]]\nid = "tenmin"\ntitle = "tenmin"\ntext = "t"\n'
                'cron = "*/10 * * * *"\n'
                '[[people.routines]]\nid = "daily"\ntitle = "daily"\ntext = "d"\n'
                'at = "07:30"\n')
    start = datetime(2026, 6, 10, 5, 0, tzinfo=UTC)  # 07:00 in Amsterdam
    dispatcher, sessions = setup(tmp_path, database_url, receiver, start, routines)
    jumps = {  # true elapsed time -> the clock's offset from then on (local times)
        timedelta(minutes=30, seconds=40): -timedelta(minutes=5),  # 07:30:40 -> 07:25:40
        timedelta(minutes=63): timedelta(0),  # 07:57:40 -> 08:03, over 08:00
        timedelta(minutes=78): timedelta(minutes=5),  # 08:17:40 -> 08:23, over 08:20
        timedelta(minutes=96): timedelta(0),  # 08:40:40 -> 08:36, back over 08:40
    }
    offset, elapsed, seen = timedelta(0), timedelta(0), []
    while elapsed <= timedelta(hours=2):
        offset = jumps.get(elapsed, offset)
        now = start + elapsed + offset
        seen.append(now)
        run_at(dispatcher, now)
        elapsed += timedelta(seconds=20)
    assert any(b < a for a, b in pairwise(seen))  # it went back
    assert any(b - a > timedelta(minutes=4) for a, b in pairwise(seen))

    rows = occurrences(sessions)
    last = max(seen)
    expected_ten = [start + timedelta(minutes=10 * i) for i in range(1, 13)
                    if start + timedelta(minutes=10 * i) <= last]
    ten = [due for _, key, due, _ in rows if key == "tenmin"]
    assert ten == expected_ten, "a ten-minute reminder was doubled or skipped"
    assert [due for _, key, due, _ in rows if key == "daily"] == [
        datetime(2026, 6, 10, 5, 30, tzinfo=UTC)]
    assert {status for *_, status in rows} == {"sent"}
    titles = Counter(post["title"] for post in receiver.posts)
    assert titles == {"tenmin": len(expected_ten), "daily": 1}
