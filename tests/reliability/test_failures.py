"""Promise 4: transient failures are retried with backoff until the reminder's
deadline (due + catch_up, 12 s here), then recorded as failed with the last
error; a channel that worked is never sent again because another failed; a
hanging receiver does not hold up anyone else's reminder.

What counts as permanent: email is sent by heupreminder itself, so it knows
the SMTP reply: a 5xx (550 no such user) fails at once with the server's
words, a 4xx (451 try again later) is retried. For the other channels Apprise
reports only success or failure, so an HTTP 400 cannot be told from a 503:
every such failure is retried until the deadline, which bounds the cost of
retrying a permanent error to a few tries within `catch_up`."""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

from tests.reliability.harness import (
    Behaviour,
    add_people,
    deliveries,
    migrated_engine,
    occurrence_states,
    receiver,
    running,
    service_config,
    smtp,
    soon,
    wait_until,
)

CATCH_UP = 12.0


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in pairwise(times)]


def test_retries_with_backoff_until_the_deadline_and_no_one_waits_for_a_hang(
        tmp_path: Path, database_url: str) -> None:
    engine = migrated_engine(database_url)
    with receiver() as push, smtp("451 4.3.0 try again later") as mail451, \
            smtp("550 5.1.1 no such user") as mail550:
        push.behaviours = {
            "p429": Behaviour(status=429), "p503": Behaviour(status=503),
            "mixed-bad": Behaviour(status=503),
            "flaky": Behaviour(status=503, fail_first=2),
            "slow": Behaviour(delay=30), "hang": Behaviour(hang=True),
        }
        channels = {"mail451": mail451.url(), "mail550": mail550.url(),
                    "p429": push.url("p429"), "p503": push.url("p503"),
                    "flaky": push.url("flaky"), "slow": push.url("slow"),
                    "hang": push.url("hang"), "good": push.url("good"),
                    "mixed-bad": push.url("mixed-bad"), "ok": push.url("ok")}
        due = soon(6)
        for name in ("mail451", "mail550", "p429", "p503", "flaky", "slow", "hang"):
            add_people(engine, f"x{name}", [due], [name])
        add_people(engine, "xmixed", [due], ["good", "mixed-bad"])
        add_people(engine, "xgone", [due], ["gone"])  # not in [channels]: permanent
        on_time = add_people(engine, "ok", [due] * 10, ["ok"])
        later = due + timedelta(seconds=3)  # while the hang and the timeout hold a worker
        on_time_later = add_people(engine, "oklater", [later] * 10, ["ok"])
        config = service_config(tmp_path, database_url, channels, catch_up=f"{CATCH_UP:.0f}s")

        with running(config, tmp_path / "service.log") as service:
            def final(prefix: str) -> bool:
                states = occurrence_states(engine, prefix)
                return bool(states) and all(r.status not in ("pending", "sending")
                                            for r in states)
            wait_until(lambda: final("x%"), CATCH_UP + 30, "every reminder to be final")
            time.sleep(1)
            assert service.terminate() == 0

        states = {r.person: r for r in occurrence_states(engine, "x%")}
        rows = deliveries(engine, "x%")
        engine.dispose()

        # Other people's reminders went out on time, once, hang or no hang.
        delivered = Counter(p.title for p in push.posts if p.status == 200
                            and p.path.strip("/") in ("ok", "good", "flaky"))
        assert delivered == {t: 1 for t in on_time + on_time_later} | {"xmixed-0": 1,
                                                                      "xflaky-0": 1}
        for post in push.for_path("ok"):
            expected = due if post.title in on_time else later
            assert post.wall - expected.timestamp() < 3.0, f"{post.title} was late"

        deadline = due + timedelta(seconds=CATCH_UP)
        for name, tries in (("p429", 3), ("p503", 3)):
            posts = push.for_path(name)
            assert len(posts) == tries, name
            assert all(g >= w - 0.3 for g, w in zip(gaps([p.at for p in posts]), (2, 5),
                                                    strict=False)), name
            assert states[f"x{name}-0"].status == "failed"
            row = rows[(f"x{name}-0", name)]
            assert (row.status, row.attempts) == ("failed", tries)
            assert name[1:] in row.error  # the last error: "... error=429."
        # SMTP says why: 451 (try again later) is retried with backoff, 550 (no such
        # user) is refused for good at once, each with the server's own words.
        for name, server, tries in (("mail451", mail451, 3), ("mail550", mail550, 1)):
            assert len(server.received) == tries, name
            assert all(g >= w - 0.3 for g, w in zip(gaps([t for _, t, _ in server.received]),
                                                    (2, 5), strict=False)), name
            assert states[f"x{name}-0"].status == "failed"
            row = rows[(f"x{name}-0", name)]
            assert (row.status, row.attempts) == ("failed", tries)
            assert name[4:] in row.error  # the SMTP code itself: "refused the message: 451"
        for name in ("slow", "hang"):  # each try ends at Apprise's 4 s read timeout
            assert 2 <= len(push.for_path(name)) <= 3, name
            assert states[f"x{name}-0"].status == "failed"
            assert rows[(f"x{name}-0", name)].error
        for row in states.values():
            if row.status == "failed":  # at the deadline, not long after it
                assert row.finished_at <= deadline + timedelta(seconds=6), row.person

        # Failing twice, then working: sent, on the third try.
        assert [p.status for p in push.for_path("flaky")] == [503, 503, 200]
        assert states["xflaky-0"].status == "sent"
        assert rows[("xflaky-0", "flaky")].attempts == 3

        # One channel worked, one did not: the one that worked got it once.
        assert len(push.for_path("good")) == 1 and len(push.for_path("mixed-bad")) == 3
        assert states["xmixed-0"].status == "sent" and "mixed-bad" in states["xmixed-0"].reason
        assert (rows[("xmixed-0", "good")].status, rows[("xmixed-0", "good")].attempts) == (
            "sent", 1)
        assert rows[("xmixed-0", "mixed-bad")].attempts == 3

        # A permanent error is not retried.
        assert states["xgone-0"].status == "failed"
        gone = rows[("xgone-0", "gone")]
        assert gone.attempts == 1 and "not configured" in gone.error
