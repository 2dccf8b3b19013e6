"""JSON webhooks on the HTTP fast path: the same request Apprise sends, fewer connections.

Every test talks to a real HTTP server on loopback. The reference is Apprise
itself: the receiver compares what our client sent with what Apprise's own
json:// plugin sent for the same channel URL and message (tests/test_http_fast_path.py
does the same for every HTTP plugin on the fast path).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import apprise
import pytest

from heupreminder.config.loader import Channel
from heupreminder.delivery.http_capture import capture, may_use_fast_path
from heupreminder.delivery.sender import Attachment, TransportError, send
from heupreminder.scheduler.service import claim_capacity
from tests.helpers import BRIDGE, load, person_config
from tests.receivers import HttpInbox, ReceivedRequest, free_port, http_receiver

TITLE = "Ochtendbrug"
BODY = "Til je heup rustig op, tien keer.\nStop als het pijn doet. ✓"
COMPARED_HEADERS = ("content-type", "user-agent", "authorization", "x-token")


def channel(url: str) -> Channel:
    return Channel(name="hook", url=url, masked_url="json://****")


def through_apprise(url: str) -> None:
    notifier = apprise.Apprise()
    assert notifier.add(url)
    assert notifier.notify(title=TITLE, body=BODY)


def essentials(request: ReceivedRequest) -> tuple[object, ...]:
    return (request.method, request.path, json.loads(request.body),
            {h: request.headers.get(h) for h in COMPARED_HEADERS})


@pytest.fixture
def receiver() -> Iterator[HttpInbox]:
    with http_receiver(keep_alive=True) as inbox:
        yield inbox


@pytest.mark.parametrize("suffix", [
    "/notify",
    "",
    "/hooks/abc123?-source=heup&+X-Token=s3cret-token",
    "/p?:type=&:person=anna&:title=subject",
    "/put?method=PUT",
])
def test_receiver_gets_the_request_apprise_would_send(receiver: HttpInbox, suffix: str) -> None:
    for user in ("", "anna:pa55word@"):
        url = f"json://{user}127.0.0.1:{receiver.port}{suffix}"
        through_apprise(url)
        send(channel(url), TITLE, BODY)
        ours, theirs = receiver.requests[-1], receiver.requests[-2]
        assert essentials(ours) == essentials(theirs)
    assert capture(f"json://127.0.0.1:{receiver.port}{suffix}", TITLE, BODY) is not None


def test_a_burst_reuses_connections(receiver: HttpInbox) -> None:
    url = f"json://127.0.0.1:{receiver.port}/notify"
    threads = [threading.Thread(target=lambda: [send(channel(url), TITLE, BODY)
                                                for _ in range(25)]) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(receiver.posts) == 100
    assert receiver.connections <= 4  # Apprise would have opened 100


def test_a_restarted_server_gets_the_next_message_on_a_new_connection() -> None:
    with http_receiver(keep_alive=True) as inbox:
        url = f"json://127.0.0.1:{inbox.port}/notify"
        send(channel(url), TITLE, BODY)
    # The kept-alive connection is dead now; the pool must notice, not fail.
    with http_receiver(keep_alive=True, inbox=inbox):
        send(channel(url), TITLE, "after the restart")
    assert [p["message"] for p in inbox.posts] == [BODY, "after the restart"]
    assert inbox.connections == 2


def test_a_refusal_says_what_happened_and_never_quotes_the_url(receiver: HttpInbox) -> None:
    receiver.status = 503
    url = f"json://127.0.0.1:{receiver.port}/hooks/s3cret-path-token"
    with pytest.raises(TransportError) as refused:
        send(channel(url), TITLE, BODY)
    assert refused.value.message == "server answered HTTP 503 Service Unavailable"
    assert not refused.value.permanent  # retried later by the dispatcher


def test_an_unreachable_server_is_a_transport_error_without_the_url() -> None:
    url = f"json://127.0.0.1:{free_port()}/hooks/s3cret-path-token"
    with pytest.raises(TransportError) as failed:
        send(channel(url), TITLE, BODY)
    assert failed.value.message == "server unreachable: connection refused or no route"
    assert "s3cret" not in failed.value.message


def test_a_hanging_server_times_out_as_apprise_would() -> None:
    # Apprise's read-timeout URL argument (rto) is honoured.
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        url = f"json://127.0.0.1:{server.getsockname()[1]}/notify?rto=0.5"
        started = time.monotonic()
        with pytest.raises(TransportError) as failed:
            send(channel(url), TITLE, BODY)
    assert failed.value.message == "server unreachable: timed out"
    assert time.monotonic() - started < 3


def test_other_schemes_attachments_and_proxies_go_through_apprise(
        receiver: HttpInbox, monkeypatch: pytest.MonkeyPatch) -> None:
    assert not may_use_fast_path("mailto://user:pass@example.invalid")
    assert not may_use_fast_path("console://")
    url = f"json://127.0.0.1:{receiver.port}/notify"
    send(channel(url), TITLE, BODY, Attachment("chart.png", b"\x89PNG", "image/png"))
    assert receiver.posts[-1]["attachments"][0]["filename"] == "chart.png"
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "")
    proxied = f"json://proxied.example.invalid:{receiver.port}/notify"
    assert capture(proxied, TITLE, BODY) is None


def test_webhook_only_installations_claim_bigger_batches(tmp_path) -> None:
    def capacity(channels: dict[str, str], lease: str = "5m") -> int:
        settings = load(tmp_path, person_config(
            database_url=f"sqlite:///{tmp_path / 'h.db'}", channels=channels,
            extra_service=f'lease = "{lease}"',
            routines=BRIDGE))
        return claim_capacity(settings)

    # Apprise's threads (8 by default) can each hang 8 s per try; the 32 connections
    # a host may have drain 512 hanging sends in 128 s, under half the default lease.
    assert capacity({"hook": "json://127.0.0.1:9/notify"}) == 512
    assert capacity({"hook": "json://127.0.0.1:9/notify"}, lease="2m") == 256
    assert capacity({"hook": "json://127.0.0.1:9/notify", "log": "console://"}) == 128
