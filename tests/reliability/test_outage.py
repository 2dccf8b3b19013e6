"""Promise 5: a database outage. A TCP proxy sits between the service and
PostgreSQL (the machine's server keeps running); cutting it for 20 s makes
the database unreachable. The service keeps running and logs the outage once
(and the recovery once), the API answers 503 with a JSON error while it
lasts, a send that finished during the outage is still recorded (once), and
reminders due meanwhile go out when the database is back."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from heupreminder.db.models import PainReport
from heupreminder.links.api_tokens import create_token
from tests.receivers import free_port
from tests.reliability.harness import (
    Behaviour,
    Post,
    TcpProxy,
    add_people,
    migrated_engine,
    occurrence_states,
    pg_target,
    receiver,
    running,
    service_config,
    soon,
    wait_until,
)

OUTAGE = 20.0


def _json(raw: bytes) -> dict[str, object]:
    try:
        return dict(json.loads(raw or b"{}"))
    except ValueError:
        return {"not json": raw.decode(errors="replace")[:300]}


def call(url: str, body: dict[str, object] | None = None,
         token: str | None = None) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(
        url, data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json",
                 **({"Authorization": f"Bearer {token}"} if token else {})})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, _json(response.read())
    except urllib.error.HTTPError as error:
        return error.code, _json(error.read())


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_database_outage_is_survived_logged_once_and_caught_up(
        tmp_path: Path, database_url: str) -> None:
    engine = migrated_engine(database_url)
    proxy = TcpProxy(*pg_target(database_url))
    proxy.start()
    cut_at: list[float] = []
    with receiver() as push:
        push.behaviours = {"slow": Behaviour(delay=3)}

        def cut_on_first_slow_post(post: Post) -> None:
            if post.path.strip("/") == "slow" and not cut_at:
                cut_at.append(time.monotonic())
                proxy.cut()  # the send is in flight; its result comes back to no database
        push.on_post = cut_on_first_slow_post

        [inflight] = add_people(engine, "inflight", [soon(5)], ["slow"])
        during = add_people(engine, "during", [soon(12)] * 5, ["push"])
        with Session(engine) as session, session.begin():
            token = create_token(session, "during-0")
        port = free_port()
        config = service_config(tmp_path, proxy.url_for(database_url),
                                {"push": push.url(), "slow": push.url("slow")},
                                listen=f"127.0.0.1:{port}")
        api = f"http://127.0.0.1:{port}"

        with running(config, tmp_path / "service.log") as service:
            wait_until(lambda: cut_at, 30, "the in-flight send that cuts the database")
            time.sleep(5)  # the in-flight result came back; the service is failing by now
            status, body = call(f"{api}/api/v1/pain", {"level": 3, "note": "outage"}, token)
            assert status == 503, body
            assert "database" in str(body.get("error")), body
            health, details = call(f"{api}/healthz")
            assert health == 503 and str(details["database"]).startswith("unreachable")
            assert push.titles() == {inflight: 1}  # nothing due went out blind
            time.sleep(max(0.0, cut_at[0] + OUTAGE - time.monotonic()))
            outage_log = service.text()
            proxy.restore()
            restored = time.monotonic()

            status, body = call(f"{api}/api/v1/pain", {"level": 3, "note": "outage"}, token)
            assert status == 201, body
            wait_until(lambda: set(during) <= set(push.titles()), 30, "the catch-up")
            caught_up = time.monotonic() - restored
            def sent(prefix: str) -> bool:
                return all(r.status == "sent" for r in occurrence_states(engine, prefix))
            wait_until(lambda: sent("inflight"), 30, "the in-flight result to be recorded")
            # Recorded promptly too (a crash now would otherwise send them again).
            wait_until(lambda: sent("during"), 3, "the caught-up reminders to be recorded")
            time.sleep(1.5)
            assert service.terminate() == 0
        log = service.text()
    proxy.cut()

    states = occurrence_states(engine, "inflight") + occurrence_states(engine, "during")
    with Session(engine) as session:
        reports = session.scalar(select(func.count()).select_from(PainReport))
    engine.dispose()

    # Nothing lost, nothing doubled.
    assert push.titles() == {t: 1 for t in [inflight, *during]}
    assert [(r.status, r.outcome_unknown) for r in states] == [("sent", False)] * 6
    assert reports == 1  # the 503 wrote nothing; the retry wrote once
    assert caught_up < 15, f"caught up {caught_up:.0f} s after the database came back"
    # Logged once, not once per tick; and the recovery once.
    problems = [line for line in outage_log.splitlines()
                if re.search(r" (WARNING|ERROR) +heupreminder", line)]
    assert len([p for p in problems if "dispatch failed" in p]) == 1, problems
    assert len(problems) <= 2, problems
    assert log.count("dispatch works again") == 1, log[-3000:]
