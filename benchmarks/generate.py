"""Fill a database with people and routines, fast, with realistic spreads.

Load data (`--routines N`): N active routines over about N/2.5 people; most
at 07:00-07:59 local time (many at 07:30), some later in the day, about 10%
cron; eight time zones; some quiet hours; every person's channel is
`bench` (the benchmark config maps it to the receiver). Each routine's
next_due_at is its real next due time computed with heupreminder's own
`next_due`, after `--quiet-for` (default 2 h) from now, so nothing falls due
while the benchmark watches an idle service: the schedule is realistic,
the measurement window is quiet.

Burst data (`--burst N --due ISO`): N routines, all due at the same instant
(`at HH:MM:SS daily` in each person's own time zone), one or two per person.
`retime` moves a burst to another instant (a new run reuses the data).

Schema through `heupreminder.db.migrate.upgrade`; rows by COPY (PostgreSQL)
or executemany (SQLite) on the raw driver connection. Run it as
`python -m benchmarks.generate --db URL --routines 100000`.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import random
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, create_engine, text

from heupreminder.db.migrate import upgrade
from heupreminder.timetable.schedule import Schedule, next_due

CHANNEL = "bench"
# (zone, weight, locale): a Dutch service with users abroad.
ZONES = [
    ("Europe/Amsterdam", 40, "nl"), ("Europe/Brussels", 10, "nl"), ("Europe/London", 10, "en"),
    ("America/New_York", 12, "en"), ("America/Los_Angeles", 6, "en"),
    ("Asia/Tokyo", 8, "en"), ("Australia/Sydney", 7, "en"), ("America/Sao_Paulo", 7, "en"),
]
# Routine templates: (key, kind, exercise, side, title, text)
TEMPLATES: list[tuple[str, str, str | None, str | None, str | None, str | None]] = [
    ("bridge", "exercise", "bridge", None, None, None),
    ("hip-stretch-right", "exercise", "hip-stretch", "right", None, None),
    ("inner-thigh-squeeze", "exercise", "inner-thigh-squeeze", None, None, None),
    ("outer-thigh", "exercise", "outer-thigh", None, None, None),
    ("walk", "exercise", "walk", None, None, None),
    ("magnesium", "supplement", "magnesium", None, None, None),
    ("glucosamine", "supplement", "glucosamine", None, None, None),
    ("nutrition-tip", "tip", "nutrition-tip", None, None, None),
    ("physio-set", "exercise", None, None, "Oefeningen van de fysio",
     "De drie oefeningen van het schema, 10 herhalingen elk."),
]
TEMPLATE_WEIGHTS = [30, 12, 10, 10, 8, 14, 6, 6, 4]
ROUTINES_PER_PERSON = [1, 2, 3, 4, 5]
ROUTINES_PER_PERSON_WEIGHTS = [20, 30, 30, 15, 5]
CRONS = ["0 18 * * *", "30 7 * * 1-5", "0 9 * * sat,sun", "15 7 * * mon,wed,fri",
         "0 8 1,15 * *", "45 20 * * *"]
DAYS = [("daily", 70), ("mon-fri", 20), ("mon,wed,fri", 10)]
QUIET = [(None, 70), ("22:00-07:00", 25), ("23:00-06:30", 5)]

PEOPLE_COLUMNS = ("id", "name", "timezone", "locale", "quiet_hours", "channels", "active",
                  "updated_at")
ROUTINE_COLUMNS = ("id", "person_id", "key", "kind", "exercise", "side", "title", "text",
                   "schedule", "active", "next_due_at", "created_at", "updated_at")
CHUNK = 50_000


class _Weighted:
    """Fast weighted choice from a fixed table (cumulative weights, bisect)."""

    def __init__(self, items: Sequence[Any], weights: Sequence[float]) -> None:
        self.items = list(items)
        self.cumulative = list(itertools.accumulate(weights))
        self.total = self.cumulative[-1]

    def pick(self, rng: random.Random) -> Any:
        return self.items[bisect.bisect_right(self.cumulative, rng.random() * self.total)]


def _load_time(rng: random.Random) -> str:
    """A wall-clock time: mostly 07:00-07:59, many at 07:30, some later in the day."""
    r = rng.random()
    if r < 0.30:
        return "07:30:00"
    if r < 0.45:
        return "07:00:00"
    if r < 0.55:
        return rng.choice(("07:15:00", "07:45:00"))
    if r < 0.85:
        return f"07:{rng.randrange(60):02d}:00"
    minute = rng.randrange(8 * 60, 22 * 60)
    return f"{minute // 60:02d}:{minute % 60:02d}:00"


def _naive_utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


def _sqlite_rows(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Datetimes as SQLAlchemy stores them on SQLite ('... 07:30:00.000000'): the service
    compares next_due_at for equality (compare-and-set), so the text must match exactly."""
    return [tuple(_sqlite_time(v) if isinstance(v, datetime) else v for v in row)
            for row in rows]


def _sqlite_time(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


class _DueCache:
    """next_due per (schedule text, zone): only a few thousand distinct ones at any N."""

    def __init__(self, after: datetime) -> None:
        self.after = after
        self.cache: dict[tuple[str, str], datetime] = {}
        self.zones: dict[str, ZoneInfo] = {}

    def __call__(self, schedule: str, zone: str) -> datetime:
        key = (schedule, zone)
        due = self.cache.get(key)
        if due is None:
            tz = self.zones.setdefault(zone, ZoneInfo(zone))
            due = _naive_utc(next_due(Schedule.from_text(schedule), tz, self.after))
            self.cache[key] = due
        return due


def load_rows(n_routines: int, seed: int, after: datetime, now: datetime,
              ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], dict[str, Any]]:
    rng = random.Random(seed)
    zones = _Weighted([(z, loc) for z, _, loc in ZONES], [w for _, w, _ in ZONES])
    templates = _Weighted(range(len(TEMPLATES)), TEMPLATE_WEIGHTS)
    per_person = _Weighted(ROUTINES_PER_PERSON, ROUTINES_PER_PERSON_WEIGHTS)
    days = _Weighted([d for d, _ in DAYS], [w for _, w in DAYS])
    quiet = _Weighted([q for q, _ in QUIET], [w for _, w in QUIET])
    due = _DueCache(after)
    stamp = _naive_utc(now)
    channels = json.dumps([CHANNEL])
    people: list[tuple[Any, ...]] = []
    routines: list[tuple[Any, ...]] = []
    per_minute: Counter[datetime] = Counter()
    cron_count = 0
    person_no = 0
    while len(routines) < n_routines:
        person_no += 1
        person_id = f"p{person_no:07d}"
        zone, locale = zones.pick(rng)
        people.append((person_id, f"Person {person_no}", zone, locale, quiet.pick(rng),
                       channels, True, stamp))
        wanted = min(per_person.pick(rng), n_routines - len(routines))
        chosen: set[int] = set()
        while len(chosen) < wanted:
            chosen.add(templates.pick(rng))
        for index in sorted(chosen):
            key, kind, exercise, side, title, body = TEMPLATES[index]
            if rng.random() < 0.10:
                schedule = "cron " + rng.choice(CRONS)
                cron_count += 1
            else:
                schedule = f"at {_load_time(rng)} {days.pick(rng)}"
            next_at = due(schedule, zone)
            per_minute[next_at.replace(second=0)] += 1
            routines.append((len(routines) + 1, person_id, key, kind, exercise, side, title,
                             body, schedule, True, next_at, stamp, stamp))
    busiest = per_minute.most_common(1)[0] if per_minute else None
    summary = {
        "people": len(people), "routines": len(routines), "cron": cron_count,
        "distinct_schedules": len(due.cache),
        "busiest_minute_utc": busiest[0].isoformat() if busiest else None,
        "busiest_minute_routines": busiest[1] if busiest else 0,
        "next_due_after": after.isoformat(timespec="seconds"),
    }
    return people, routines, summary


def burst_rows(n: int, due_at: datetime, seed: int, now: datetime,
               ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """N routines all due at `due_at`: `at <local time> daily` in each person's zone."""
    rng = random.Random(seed)
    zones = _Weighted([(z, loc) for z, _, loc in ZONES], [w for _, w, _ in ZONES])
    templates = _Weighted(range(len(TEMPLATES)), TEMPLATE_WEIGHTS)
    stamp = _naive_utc(now)
    due_naive = _naive_utc(due_at)
    channels = json.dumps([CHANNEL])
    people: list[tuple[Any, ...]] = []
    routines: list[tuple[Any, ...]] = []
    person_no = 0
    while len(routines) < n:
        person_no += 1
        person_id = f"b{person_no:07d}"
        zone, locale = zones.pick(rng)
        schedule = burst_schedule(due_at, zone)
        people.append((person_id, f"Person {person_no}", zone, locale, None, channels, True,
                       stamp))
        chosen: set[int] = set()
        while len(chosen) < min(rng.choice((1, 2)), n - len(routines)):
            chosen.add(templates.pick(rng))
        for index in sorted(chosen):
            key, kind, exercise, side, title, body = TEMPLATES[index]
            routines.append((len(routines) + 1, person_id, key, kind, exercise, side, title,
                             body, schedule, True, due_naive, stamp, stamp))
    return people, routines


def burst_schedule(due_at: datetime, zone: str) -> str:
    local = due_at.astimezone(ZoneInfo(zone))
    schedule = f"at {local:%H:%M:%S} daily"
    # The service must agree that this schedule is due exactly then.
    check = next_due(Schedule.from_text(schedule), ZoneInfo(zone), due_at - timedelta(seconds=1))
    if check != due_at:
        raise RuntimeError(f"{schedule} in {zone} is due at {check}, not {due_at}")
    return schedule


def _chunks(rows: list[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start:start + CHUNK]


def insert(engine: Engine, people: list[tuple[Any, ...]], routines: list[tuple[Any, ...]]) -> None:
    """Bulk insert on the raw driver connection (COPY on PostgreSQL)."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "postgresql":
            for table, columns, rows in (("people", PEOPLE_COLUMNS, people),
                                         ("routines", ROUTINE_COLUMNS, routines)):
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            cursor.execute("SELECT setval(pg_get_serial_sequence('routines', 'id'), "
                           "(SELECT coalesce(max(id), 1) FROM routines))")
        else:
            for table, columns, rows in (("people", PEOPLE_COLUMNS, people),
                                         ("routines", ROUTINE_COLUMNS, routines)):
                sql = (f"INSERT INTO {table} ({', '.join(columns)}) "
                       f"VALUES ({', '.join('?' * len(columns))})")
                for chunk in _chunks(rows):
                    cursor.executemany(sql, _sqlite_rows(chunk))
        raw.commit()
    finally:
        raw.close()
    with engine.begin() as connection:
        # Statistics as a database that grew over time would have them (autovacuum).
        connection.execute(text("ANALYZE"))


def generate_load(url: str, n_routines: int, *, seed: int = 1,
                  quiet_for: timedelta = timedelta(hours=2)) -> dict[str, Any]:
    started = time.perf_counter()
    now = datetime.now(UTC)
    engine = create_engine(url)
    upgrade(engine)
    people, routines, summary = load_rows(n_routines, seed, now + quiet_for, now)
    built = time.perf_counter()
    insert(engine, people, routines)
    engine.dispose()
    summary["build_seconds"] = round(built - started, 2)
    summary["insert_seconds"] = round(time.perf_counter() - built, 2)
    return summary


def generate_burst(url: str, n: int, due_at: datetime, *, seed: int = 2) -> dict[str, Any]:
    started = time.perf_counter()
    engine = create_engine(url)
    upgrade(engine)
    people, routines = burst_rows(n, due_at, seed, datetime.now(UTC))
    insert(engine, people, routines)
    engine.dispose()
    return {"people": len(people), "routines": len(routines),
            "seconds": round(time.perf_counter() - started, 2)}


def retime_burst(url: str, due_at: datetime) -> None:
    """Make every burst routine due at `due_at` (data reused for the next contender)."""
    engine = create_engine(url)
    due: datetime | str = _naive_utc(due_at)
    if engine.dialect.name == "sqlite":
        due = _sqlite_time(_naive_utc(due_at))
    with engine.begin() as connection:
        zones = connection.scalars(text("SELECT DISTINCT timezone FROM people")).all()
        for zone in zones:
            connection.execute(
                text("UPDATE routines SET schedule = :schedule, next_due_at = :due "
                     "WHERE person_id IN (SELECT id FROM people WHERE timezone = :zone)"),
                {"schedule": burst_schedule(due_at, zone), "due": due,
                 "zone": zone})
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="SQLAlchemy URL of an empty database")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--routines", type=int, help="load data: this many routines")
    group.add_argument("--burst", type=int, help="burst data: this many due at --due")
    group.add_argument("--retime", action="store_true", help="move a burst to --due")
    parser.add_argument("--due", help="ISO 8601 instant with offset, for --burst/--retime")
    parser.add_argument("--quiet-for", type=float, default=7200.0,
                        help="load data: nothing due for this many seconds from now")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.routines is not None:
        result = generate_load(args.db, args.routines, seed=args.seed,
                               quiet_for=timedelta(seconds=args.quiet_for))
    else:
        if not args.due:
            parser.error("--burst and --retime need --due")
        due_at = datetime.fromisoformat(args.due).astimezone(UTC)
        if args.retime:
            retime_burst(args.db, due_at)
            result = {"retimed_to": due_at.isoformat()}
        else:
            result = generate_burst(args.db, args.burst, due_at, seed=args.seed)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
