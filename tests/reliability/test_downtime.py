"""Promise 2: downtime. The service was stopped for hours over due reminders
(simulated by routines whose next due time lies in the past): on restart
those at most `catch_up` (30 min) late go out within a minute, older ones are
recorded as missed and never sent, and a recurring routine gets at most one
catch-up for all the times it was due while the service was down."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.reliability.harness import (
    add_people,
    migrated_engine,
    next_due_of,
    occurrence_states,
    receiver,
    running,
    service_config,
    wait_until,
)


def test_restart_catches_up_inside_catch_up_and_records_older_as_missed(
        tmp_path: Path, database_url: str) -> None:
    engine = migrated_engine(database_url)
    now = datetime.now(UTC).replace(microsecond=0)
    hourly_due = (now - timedelta(minutes=10)).replace(second=0)
    with receiver() as push:
        [ten] = add_people(engine, "ten", [now - timedelta(minutes=10)], ["push"])
        [twentyfive] = add_people(engine, "twentyfive", [now - timedelta(minutes=25)], ["push"])
        add_people(engine, "thirtyfive", [now - timedelta(minutes=35)], ["push"])
        add_people(engine, "twohours", [now - timedelta(hours=2)], ["push"])
        # Hourly, down for a bit over three hours: due 3 h 10, 2 h 10, 1 h 10 and 10 min ago.
        [hourly] = add_people(engine, "hourly", [hourly_due - timedelta(hours=3)], ["push"],
                              schedule=f"cron {hourly_due.minute} * * * *")
        config = service_config(tmp_path, database_url, {"push": push.url()}, catch_up="30m")

        started = time.monotonic()
        with running(config, tmp_path / "service.log", ready=False) as service:
            wait_until(lambda: {ten, twentyfive, hourly} <= set(push.titles()), 60,
                       "the catch-ups")
            within = max(p.at for p in push.posts) - started
            time.sleep(2)  # anything more would arrive now
            assert service.terminate() == 0
        received = push.titles()

    def states(prefix: str) -> list[tuple[str, str | None]]:
        return [(r.status, r.reason) for r in occurrence_states(engine, prefix)]

    assert received == {ten: 1, twentyfive: 1, hourly: 1}
    assert within < 60, f"catch-up took {within:.0f} s"
    assert [s for s, _ in states("ten")] == ["sent"]
    assert [s for s, _ in states("twentyfive")] == ["sent"]
    for prefix in ("thirtyfive", "twohours"):
        [(status, reason)] = states(prefix)
        assert status == "missed" and reason is not None and "beyond catch_up" in reason
    hourly_states = occurrence_states(engine, "hourly")
    assert [r.status for r in hourly_states] == ["missed", "missed", "missed", "sent"]
    assert hourly_states[-1].due_at == hourly_due
    assert next_due_of(engine, "hourly-0") == hourly_due + timedelta(hours=1)
    engine.dispose()
