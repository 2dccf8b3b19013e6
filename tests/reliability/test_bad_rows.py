"""Promise 9, the database half: malformed rows (an unknown exercise, a bad
time zone, a bad schedule text, an empty custom text, an unknown kind) are
set aside and named in the log once; they never crash-loop the service, and
everyone else's reminders still arrive on time."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import update

from heupreminder.db.models import Person, Routine
from tests.reliability.harness import (
    add_people,
    migrated_engine,
    occurrence_states,
    receiver,
    running,
    service_config,
    soon,
    wait_until,
)


def test_malformed_rows_are_set_aside_and_named_once(tmp_path: Path, database_url: str) -> None:
    engine = migrated_engine(database_url)
    with receiver() as push:
        due = soon(5)
        good = add_people(engine, "good", [due] * 5, ["push"])
        add_people(engine, "badexercise", [due], ["push"], exercise="moonwalk")
        add_people(engine, "badzone", [due], ["push"], timezone="Mars/Olympus_Mons")
        add_people(engine, "badschedule", [due], ["push"], schedule="at 25:99 daily")
        add_people(engine, "unscheduled", [due], ["push"], schedule="every full moon")
        add_people(engine, "emptytext", [due], ["push"])
        add_people(engine, "badkind", [due], ["push"])
        with engine.begin() as connection:
            connection.execute(update(Routine).where(Routine.person_id == "unscheduled-0")
                               .values(next_due_at=None))  # start-up schedules it
            connection.execute(update(Routine).where(Routine.person_id == "emptytext-0")
                               .values(text="  "))
            connection.execute(update(Routine).where(Routine.person_id == "badkind-0")
                               .values(kind="dance"))
            connection.execute(update(Person).where(Person.id == "badzone-0")
                               .values(timezone="Mars/Olympus_Mons"))
        config = service_config(tmp_path, database_url, {"push": push.url()})
        with running(config, tmp_path / "service.log") as service:
            wait_until(lambda: set(good) <= set(push.titles()), 30, "the good reminders")
            arrived = max(p.wall for p in push.posts)
            time.sleep(5)  # a crash loop or a repeated error would show by now
            assert service.process.poll() is None
            log = service.text()
            assert service.terminate() == 0
    bad_states = {r.person: r.status for prefix in ("badexercise", "emptytext", "badkind")
                  for r in occurrence_states(engine, prefix)}
    engine.dispose()

    assert push.titles() == {t: 1 for t in good}
    assert arrived - due.timestamp() < 3, "the good reminders were held up"
    assert "dispatch failed" not in log
    errors = [line for line in log.splitlines() if re.search(r" ERROR ", line)]
    for person in ("badexercise-0", "badzone-0", "badschedule-0", "unscheduled-0",
                   "emptytext-0", "badkind-0"):
        named = [line for line in errors if f"{person}/routine" in line]
        assert len(named) == 1, (person, errors)
    # Occurrences that could not be composed are final, with the reason.
    assert set(bad_states.values()) <= {"failed"}, bad_states
    # `status` shows the bad rows instead of a traceback.
    for args in ([], ["--json"]):
        shown = subprocess.run([sys.executable, "-m", "heupreminder", "status", "--config",
                                str(config), *args], capture_output=True, text=True, timeout=60)
        assert shown.returncode == 0 and "Traceback" not in shown.stderr, shown.stderr
        assert "INVALID 'at 25:99 daily'" in shown.stdout and "badzone-0" in shown.stdout
