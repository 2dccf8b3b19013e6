"""Promise 6: signals. SIGTERM finishes the sends in flight (at most 10 s),
records them, and hands back what it could not finish: no `sending` rows
after a clean stop. SIGHUP reloads the config; a broken config is refused
with every problem logged, and the old config keeps running."""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.receivers import free_port
from tests.reliability.harness import (
    Behaviour,
    add_people,
    migrated_engine,
    occurrence_states,
    receiver,
    rows,
    running,
    service_config,
    soon,
    wait_until,
)

DRAIN_SECONDS = 10.0  # service.DRAIN_SECONDS


def test_sigterm_drains_in_flight_sends_and_leaves_no_claims(
        tmp_path: Path, database_url: str) -> None:
    engine = migrated_engine(database_url)
    with receiver() as push:
        push.behaviours = {"slow": Behaviour(delay=2), "hang": Behaviour(hang=True)}
        slow = add_people(engine, "slow", [soon(4)] * 6, ["slow"])
        [hang] = add_people(engine, "hang", [soon(4)], ["hang"])
        config = service_config(tmp_path, database_url,
                                {"slow": push.url("slow"), "hang": push.url("hang", "rto=60")})
        with running(config, tmp_path / "first.log") as service:
            wait_until(lambda: len(push.titles(None)) == 7, 30, "every send to be in flight")
            stopped = time.monotonic()
            assert service.terminate(timeout=DRAIN_SECONDS + 10) == 0
            took = time.monotonic() - stopped
            log = service.text()
        sending = rows(engine, "SELECT count(*) FROM occurrences WHERE status = 'sending'")[0][0]
        drained = {r.person: r for r in occurrence_states(engine, "slow")}
        [handed_back] = occurrence_states(engine, "hang")

        assert took <= DRAIN_SECONDS + 3, f"took {took:.1f} s to stop"
        assert sending == 0
        assert {r.status for r in drained.values()} == {"sent"}  # finished and recorded
        assert not any(r.outcome_unknown for r in drained.values())
        assert (handed_back.status, handed_back.outcome_unknown) == ("pending", True)
        assert "stopped with 1 send(s) unfinished" in log

        push.behaviours["hang"] = Behaviour()  # the service is back
        with running(config, tmp_path / "second.log") as service:
            wait_until(lambda: occurrence_states(engine, "hang")[0].status == "sent", 30,
                       "the handed-back reminder")
            assert service.terminate() == 0
    engine.dispose()
    assert push.titles(None) == {**{t: 1 for t in slow}, hang: 2}  # the hang one: unknown


def routine(key: str, at: datetime) -> str:
    return (f'[[people.routines]]\nid = "{key}"\ntitle = "{key}"\ntext = "Routine {key}"\n'
            f'at = "{at:%H:%M:%S}"\n')


def person(routines: str, channels: str = '["push"]') -> str:
    return (f'[[people]]\nid = "anna"\nname = "Anna"\nchannels = {channels}\n\n{routines}')


def test_sighup_reloads_and_a_broken_config_keeps_the_old_one(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'h.db'}"
    with receiver() as push:
        channels, listen = {"push": push.url()}, f"127.0.0.1:{free_port()}"

        def write(people: str) -> Path:
            return service_config(tmp_path, database_url, channels, manage_people=None,
                                  people=people, listen=listen)

        now = datetime.now(UTC)
        first = routine("first", now + timedelta(seconds=5))
        config = write(person(first))
        with running(config, tmp_path / "service.log") as service:
            wait_until(lambda: "first" in push.titles(), 30, "the first routine")

            now = datetime.now(UTC)
            added = routine("added", now + timedelta(seconds=4))
            later = routine("later", now + timedelta(seconds=11))
            write(person(first + added + later))
            service.process.send_signal(signal.SIGHUP)
            wait_until(lambda: "config reloaded" in service.text(), 15, "the reload")
            wait_until(lambda: "added" in push.titles(), 30, "the added routine")

            write(person(first + added + later + routine("bad", now).replace(
                f'at = "{now:%H:%M:%S}"', 'at = "25:00"'), channels='["push", "nope"]'))
            service.process.send_signal(signal.SIGHUP)
            wait_until(lambda: "keeping the previous config" in service.text(), 15,
                       "the refusal")
            log = service.text()
            assert "config reload refused" in log
            assert "'25:00' is not a time" in log
            assert "no channel named 'nope'" in log
            # The old config keeps running: the routine due next still arrives.
            wait_until(lambda: "later" in push.titles(), 30, "the later routine")
            time.sleep(1)
            assert service.terminate() == 0
    assert push.titles() == {"first": 1, "added": 1, "later": 1}
    engine = migrated_engine(database_url)
    active = rows(engine, "SELECT key FROM routines WHERE active ORDER BY key")
    engine.dispose()
    assert [r[0] for r in active] == ["added", "first", "later"]
