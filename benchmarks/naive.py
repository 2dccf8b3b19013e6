"""The naive approach a user would write in an afternoon, for comparison.

APScheduler 3 with one CronTrigger job per routine, each calling Apprise.
Honest and short: the same routines (read from the benchmark database), the
same message text (heupreminder's `compose`), the same Apprise call, the
scheduler's default thread pool (10 workers). One concession in its favour:
`misfire_grace_time=None`, because with APScheduler's default of 1 s a burst
silently drops every reminder that waits longer than a second for a thread,
which would make it look fast by not sending.

`python -m benchmarks.naive --db URL --url json://127.0.0.1:P/notify` prints
one JSON line when its jobs are scheduled, then runs until SIGTERM. Over TLS
(ntfys://) Apprise trusts the CA that REQUESTS_CA_BUNDLE in its environment
names, as a user would set it.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
from datetime import date
from types import SimpleNamespace

import apprise
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import create_engine, text

from benchmarks.own_channels import own_url
from heupreminder.delivery.messages import compose
from heupreminder.timetable.schedule import DAY_NAMES, Schedule


def remind(url: str, routine: SimpleNamespace, locale: str) -> None:
    message = compose(routine, locale, date.today())  # type: ignore[arg-type]
    notifier = apprise.Apprise()
    notifier.add(url)
    notifier.notify(title=message.title, body=message.body)


def trigger_for(schedule_text: str, zone: str) -> CronTrigger:
    schedule = Schedule.from_text(schedule_text)
    if schedule.cron:
        return CronTrigger.from_crontab(schedule.cron, timezone=zone)
    assert schedule.at is not None
    days = ",".join(DAY_NAMES[d] for d in sorted(schedule.days))
    return CronTrigger(day_of_week=days, hour=schedule.at.hour, minute=schedule.at.minute,
                       second=schedule.at.second, timezone=zone)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--url", required=True, help="the Apprise URL every reminder goes to")
    parser.add_argument("--own", action="store_true",
                        help="each person their own topic on --url's receiver (own_channels.py)")
    args = parser.parse_args()

    engine = create_engine(args.db)
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT r.key, r.kind, r.exercise, r.side, r.title, r.text, r.schedule, "
            "p.id AS person_id, p.timezone, p.locale FROM routines r JOIN people p "
            "ON p.id = r.person_id WHERE r.active")).all()
    engine.dispose()

    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"misfire_grace_time": None})
    for row in rows:
        routine = SimpleNamespace(key=row.key, kind=row.kind, exercise=row.exercise,
                                  side=row.side, title=row.title, text=row.text)
        scheduler.add_job(remind, trigger_for(row.schedule, row.timezone),
                          args=[own_url(args.url, row.person_id) if args.own else args.url,
                                routine, row.locale])
    scheduler.start()
    print(json.dumps({"jobs": len(rows)}), flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    scheduler.shutdown(wait=False)


if __name__ == "__main__":
    main()
