"""The sending process: a real child process posting to real HTTP receivers.

What the service relies on: every send of a batch comes back exactly once
(delivered, failed with a reason that never quotes the URL, or "stopped" if
the child died), a dead child is replaced on the next batch, a stop signal to
the whole process group does not cut the parent's drain short, and close()
leaves no process behind.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from heupreminder.delivery.http_capture import capture
from heupreminder.delivery.http_client import HttpRequest
from heupreminder.delivery.sending_process import STOPPED, Send, SendingProcess
from tests.receivers import HttpInbox, free_port, http_receiver

TITLE = "Ochtendbrug"


class Results:
    """What on_result was told, per item."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_item: dict[int, list[dict[str, str | None]]] = {}

    def __call__(self, item: int, errors: dict[str, str | None]) -> None:
        with self.lock:
            self.by_item.setdefault(item, []).append(errors)


@pytest.fixture
def receiver() -> Iterator[HttpInbox]:
    with http_receiver(keep_alive=True) as inbox:
        yield inbox


@pytest.fixture
def results() -> Results:
    return Results()


@pytest.fixture
def sender(results: Results) -> Iterator[SendingProcess[int]]:
    process: SendingProcess[int] = SendingProcess(results)
    yield process
    process.close()


def hook(url: str, body: str = "x") -> HttpRequest:
    """The request Apprise builds for this message (sent by the child)."""
    request = capture(url, TITLE, body)
    assert request is not None
    return request


def test_a_batch_is_sent_by_the_child_and_every_result_comes_back_once(
        sender: SendingProcess[int], results: Results, receiver: HttpInbox) -> None:
    with http_receiver(keep_alive=True) as second:
        def body(i: int) -> str:
            return f"Brug nummer {i}. Stop als het pijn doet."

        sends = [Send(i, {"push": hook(receiver.url, body(i)), "team": hook(second.url, body(i))})
                 for i in range(200)]
        sender.submit(sends).result(timeout=30)
        assert sender.pid is not None and sender.pid != os.getpid()
        assert results.by_item == {i: [{"push": None, "team": None}] for i in range(200)}
        for inbox in (receiver, second):
            bodies = sorted(post["message"] for post in inbox.posts)
            assert bodies == sorted(f"Brug nummer {i}. Stop als het pijn doet."
                                    for i in range(200))
            assert {post["title"] for post in inbox.posts} == {TITLE}
            assert inbox.connections <= 32  # kept alive, as in the parent


def test_a_failing_channel_is_reported_without_its_url(
        sender: SendingProcess[int], results: Results, receiver: HttpInbox) -> None:
    refused = f"json://127.0.0.1:{free_port()}/hooks/s3cret-path-token"
    receiver.status = 503
    sends = [Send(1, {"down": hook(refused), "busy": hook(receiver.url)})]
    sender.submit(sends).result(timeout=30)
    [errors] = results.by_item[1]
    assert errors == {"down": "server unreachable: connection refused or no route",
                      "busy": "server answered HTTP 503 Service Unavailable"}
    assert "s3cret" not in json.dumps(errors)


def test_a_dead_child_fails_what_it_had_and_the_next_batch_gets_a_new_one(
        sender: SendingProcess[int], results: Results, receiver: HttpInbox) -> None:
    with socket.socket() as hanging:  # accepts, never answers: the sends stay in flight
        hanging.bind(("127.0.0.1", 0))
        hanging.listen(64)
        stuck = hook(f"json://127.0.0.1:{hanging.getsockname()[1]}/notify?rto=30")
        batch = sender.submit([Send(i, {"slow": stuck}) for i in range(5)])
        first = sender.pid
        assert first is not None
        time.sleep(0.5)
        os.kill(first, signal.SIGKILL)
        batch.result(timeout=10)
    assert results.by_item == {i: [{"slow": STOPPED}] for i in range(5)}

    sender.submit([Send(9, {"push": hook(receiver.url, "again")})]).result(timeout=30)
    assert sender.pid not in (None, first)
    assert results.by_item[9] == [{"push": None}]
    assert [post["message"] for post in receiver.posts] == ["again"]


def test_the_child_ignores_a_stop_signal_and_exits_when_closed(
        sender: SendingProcess[int], results: Results, receiver: HttpInbox) -> None:
    sender.start()
    child = sender.pid
    assert child is not None
    time.sleep(1.0)  # past its start-up, where Python's own handlers apply
    os.kill(child, signal.SIGTERM)  # as systemd sends to the whole group on stop
    sender.submit([Send(1, {"push": hook(receiver.url)})]).result(timeout=30)
    assert sender.pid == child and results.by_item == {1: [{"push": None}]}
    sender.close()
    assert sender.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)  # gone, and reaped


def test_close_abandons_unanswered_sends_without_results(
        sender: SendingProcess[int], results: Results) -> None:
    with socket.socket() as hanging:
        hanging.bind(("127.0.0.1", 0))
        hanging.listen(8)
        stuck = hook(f"json://127.0.0.1:{hanging.getsockname()[1]}/notify?rto=30")
        batch = sender.submit([Send(1, {"slow": stuck})])
        time.sleep(0.5)
        started = time.monotonic()
        sender.close()
        assert time.monotonic() - started < 5
        batch.result(timeout=5)  # done: nothing more will come for it
    assert results.by_item == {}  # the caller still holds the claim (outcome unknown)



def test_sends_of_a_dead_child_come_back_even_when_a_new_child_started_first(
        receiver: HttpInbox) -> None:
    # The reader of a dead child may be busy (here: in a slow on_result) while
    # the next batch already starts a new child. The dead one's sends must still
    # come back as stopped, not be taken for sends that close() abandoned.
    results = Results()
    busy, release = threading.Event(), threading.Event()

    def slow_on_result(item: int, errors: dict[str, str | None]) -> None:
        if item == 0:
            busy.set()
            release.wait(10)
        results(item, errors)

    sender: SendingProcess[int] = SendingProcess(slow_on_result)
    try:
        with socket.socket() as hanging:
            hanging.bind(("127.0.0.1", 0))
            hanging.listen(8)
            stuck = hook(f"json://127.0.0.1:{hanging.getsockname()[1]}/notify?rto=30")
            first = sender.submit([Send(0, {"push": hook(receiver.url)})]
                                  + [Send(i, {"slow": stuck}) for i in (1, 2, 3)])
            assert busy.wait(10)  # the reader is held inside on_result
            old = sender.pid
            assert old is not None
            os.kill(old, signal.SIGKILL)
            time.sleep(0.5)  # dead (the reader cannot notice yet)
            second = sender.submit([Send(9, {"push": hook(receiver.url, "y")})])
            assert sender.pid not in (None, old)  # a new child, before the old end was read
            release.set()
            first.result(timeout=10)
            second.result(timeout=30)
        assert results.by_item == {0: [{"push": None}], 1: [{"slow": STOPPED}],
                                   2: [{"slow": STOPPED}], 3: [{"slow": STOPPED}],
                                   9: [{"push": None}]}
    finally:
        release.set()
        sender.close()
