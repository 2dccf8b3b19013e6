"""Every HTTP channel over kept-open connections: Apprise's request, byte for byte.

The reference is Apprise itself. For each plugin a real loopback receiver
gets the message twice: once sent by Apprise (`Apprise.notify`), once
captured from the same plugin and sent by our client. Method, path, query,
every header and the body must be equal. Services with a fixed address
(Pushover, Telegram, Discord, Slack) have that address pointed at the
receiver for the test, the same for both sends; their TLS variants, and the
self-hosted ones', run against a local HTTPS server whose certificate comes
from a throwaway CA that requests and our client both trust through
REQUESTS_CA_BUNDLE.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import apprise
import pytest
import requests
import trustme

from heupreminder.delivery.http_capture import capture, capturing, may_use_fast_path
from heupreminder.delivery.http_client import CONNECTIONS_PER_HOST, HttpError, HttpRequest, post
from heupreminder.delivery.sending_process import Send, SendingProcess
from tests.receivers import HttpInbox, ReceivedRequest, http_receiver

TITLE = "Ochtendbrug"
BODY = ("Til je heup rustig op, tien keer.\n\n1. Lig op je rug\n2. Knieën gebogen\n\n"
        "Stop als het pijn doet. ✓ [Gedaan](https://heup.example/c/abc?sig=1)")

# Self-hosted services: the URL names the receiver ({host}).
SELF_HOSTED = {
    "json": "{scheme}://anna:pa55@{host}/hooks/abc?-source=heup&+X-Token=s3cret",
    "form": "{scheme}://{host}/form?:extra=1",
    "xml": "{scheme}://{host}/xml",
    "ntfy": "{scheme}://{host}/reminders?click=https://heup.example/c/1&tags=heupreminder,muscle"
            "&format=markdown",
    "ntfy-token": "{scheme}://tk_abcdefghijklmnop@{host}/reminders?auth=token&priority=high",
    "gotify": "{scheme}://{host}/AbCdEfGhIjKlMnO?priority=high&format=markdown",
    # A fixed notification id: without one Home Assistant gets a new one per send.
    "hassio": "{scheme}://{host}/long-lived-access-token-abcdef0123456789?nid=heup-1",
    "apprise": "{scheme}://{host}/heup-config-key",
    "mattermost": "{scheme}://{host}/abcdefghijklmnopqrstuvwxyz",
}
SECURE = {"json": "jsons", "form": "forms", "xml": "xmls", "ntfy": "ntfys", "ntfy-token": "ntfys",
          "gotify": "gotifys", "hassio": "hassios", "apprise": "apprises",
          "mattermost": "mmosts"}
PLAIN = {"json": "json", "form": "form", "xml": "xml", "ntfy": "ntfy", "ntfy-token": "ntfy",
         "gotify": "gotify", "hassio": "hassio", "apprise": "apprise", "mattermost": "mmost"}

# Services at a fixed address: (URL, plugin class path, attribute, value with {base}).
FIXED = {
    "pushover": ("pover://uAbCdEfGhIjKlMnOpQrStUvWxYz012@aAbCdEfGhIjKlMnOpQrStUvWxYz01",
                 "apprise.plugins.pushover.NotifyPushover", "notify_url",
                 "{base}/1/messages.json"),
    "telegram": ("tgram://123456789:abcdefg_hijklmnopqrstuvwxyz0123456/987654321",
                 "apprise.plugins.telegram.NotifyTelegram", "notify_url", "{base}/bot"),
    "discord": ("discord://0123456789/abcdefghijklmnopqrstuvwxyz_ABCDEFGHIJKLMNOPQRSTUVWX",
                "apprise.plugins.discord.NotifyDiscord", "notify_url", "{base}/api/webhooks"),
}
# Slack's webhook answers "ok" in the body, and Apprise reads it to decide.
SLACK = ("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#heup",
         "apprise.plugins.slack.NotifySlack", "webhook_url", "{base}/services")


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls(ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """A server context for 127.0.0.1, its CA trusted by requests and by our client."""
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


@pytest.fixture
def receiver() -> Iterator[HttpInbox]:
    with http_receiver(keep_alive=True) as inbox:
        yield inbox


def through_apprise(url: str) -> None:
    notifier = apprise.Apprise()
    assert notifier.add(url)
    assert notifier.notify(title=TITLE, body=BODY)


def through_fast_path(url: str) -> HttpRequest:
    request = capture(url, TITLE, BODY)
    assert request is not None, "this plugin should be on the fast path"
    post(request)
    return request


def assert_same_request(inbox: HttpInbox, url: str) -> ReceivedRequest:
    """Apprise's send and ours arrive, and are equal in every byte that matters."""
    through_apprise(url)
    through_fast_path(url)
    assert len(inbox.requests) == 2
    theirs, ours = inbox.requests
    assert (ours.method, ours.path, ours.body) == (theirs.method, theirs.path, theirs.body)
    assert sorted(ours.sent_headers) == sorted(theirs.sent_headers)
    return ours


def fixed_address(monkeypatch: pytest.MonkeyPatch, name: str, base: str) -> str:
    url, cls_path, attribute, value = SLACK if name == "slack" else FIXED[name]
    module, cls_name = cls_path.rsplit(".", 1)
    cls = getattr(__import__(module, fromlist=[cls_name]), cls_name)
    monkeypatch.setattr(cls, attribute, value.format(base=base))
    return url


@pytest.mark.parametrize("name", sorted(SELF_HOSTED))
def test_self_hosted_plugin_sends_apprises_request(receiver: HttpInbox, name: str) -> None:
    url = SELF_HOSTED[name].format(scheme=PLAIN[name], host=receiver.host)
    sent = assert_same_request(receiver, url)
    assert sent.body or sent.method == "GET"


@pytest.mark.parametrize("name", sorted(SELF_HOSTED))
def test_self_hosted_plugin_over_tls(tls: ssl.SSLContext, name: str) -> None:
    with http_receiver(keep_alive=True, tls=tls) as inbox:
        assert_same_request(inbox, SELF_HOSTED[name].format(scheme=SECURE[name],
                                                            host=inbox.host))


@pytest.mark.parametrize("name", sorted(FIXED))
def test_service_at_a_fixed_address_sends_apprises_request(
        tls: ssl.SSLContext, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    with http_receiver(keep_alive=True, tls=tls) as inbox:
        assert_same_request(inbox, fixed_address(monkeypatch, name,
                                                 f"https://{inbox.host}"))


def test_a_certificate_from_an_unknown_ca_is_refused(ca: trustme.CA) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)  # CA not trusted: no bundle set
    with http_receiver(keep_alive=True, tls=context) as inbox:
        request = capture(f"ntfys://{inbox.host}/reminders", TITLE, BODY)
        assert request is not None
        with pytest.raises(HttpError) as refused:
            post(request)
        assert str(refused.value) == "server unreachable: TLS error"
        assert inbox.requests == []


def test_a_burst_to_one_host_reuses_its_connections(receiver: HttpInbox) -> None:
    url = f"ntfy://{receiver.host}/reminders"
    threads = [threading.Thread(target=lambda: [through_fast_path(url) for _ in range(25)])
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(receiver.requests) == 100
    assert receiver.connections <= 4  # Apprise would have opened 100


def test_each_message_is_built_with_its_own_options(receiver: HttpInbox) -> None:
    # ntfy's click link differs per message: the request follows the URL of that message.
    for n in (1, 2):
        through_fast_path(f"ntfy://{receiver.host}/reminders?click=https://heup.example/c/{n}")
    assert [r.headers["x-click"] for r in receiver.requests] == [
        "https://heup.example/c/1", "https://heup.example/c/2"]


def test_channels_that_are_not_http_or_need_more_stay_on_apprise(
        receiver: HttpInbox, monkeypatch: pytest.MonkeyPatch) -> None:
    assert not may_use_fast_path("mailto://user:pass@example.invalid")
    assert not may_use_fast_path("console://")
    assert capture("console://", TITLE, BODY) is None
    # A proxy from the environment: Apprise goes through it, so we leave it to Apprise.
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "")
    assert capture(f"ntfy://proxied.example.invalid:{receiver.port}/t", TITLE, BODY) is None
    assert receiver.requests == []  # capturing never sends


def test_a_plugin_that_needs_the_reply_stays_on_apprise(
        tls: ssl.SSLContext, monkeypatch: pytest.MonkeyPatch) -> None:
    with http_receiver(keep_alive=True, tls=tls) as inbox:
        inbox.reply = b"ok"
        url = fixed_address(monkeypatch, "slack", f"https://{inbox.host}")
        assert may_use_fast_path(url)  # an HTTP plugin, but this message cannot be replayed:
        assert capture(url, TITLE, BODY) is None
        assert inbox.requests == []  # nothing went out while finding that out
        through_apprise(url)
        assert len(inbox.requests) == 1


def test_reading_the_empty_reply_is_noticed(receiver: HttpInbox) -> None:
    with capturing() as taken:
        response = requests.post(f"http://{receiver.host}/x", data=b"x", timeout=4)
        assert response.status_code == 200 and not taken.body_read
        assert response.content == b"" and taken.body_read
    assert len(taken.sent) == 1 and receiver.requests == []


def test_capture_mode_is_only_for_the_code_that_asked(receiver: HttpInbox) -> None:
    done = threading.Event()

    def elsewhere() -> None:
        requests.post(f"http://{receiver.host}/other", data=b"real", timeout=4)
        done.set()

    with capturing() as taken:
        thread = threading.Thread(target=elsewhere)
        thread.start()
        assert done.wait(10)
        requests.post(f"http://{receiver.host}/captured", data=b"kept", timeout=4)
    thread.join()
    assert [r.path for r in receiver.requests] == ["/other"]
    assert [request.url for request, _ in taken.sent] == [f"http://{receiver.host}/captured"]


def test_a_hanging_host_does_not_hold_up_other_hosts(receiver: HttpInbox) -> None:
    arrived = threading.Event()
    results: dict[int, dict[str, str | None]] = {}

    def on_result(item: int, errors: dict[str, str | None]) -> None:
        results[item] = errors
        if sum(1 for i in results if i >= 1000) == 20:
            arrived.set()

    sender: SendingProcess[int] = SendingProcess(on_result)
    with socket.socket() as hanging:  # accepts connections, never answers
        hanging.bind(("127.0.0.1", 0))
        hanging.listen(256)
        stuck = f"ntfy://127.0.0.1:{hanging.getsockname()[1]}/t?rto=30"
        good = f"ntfy://{receiver.host}/t"
        try:
            # More sends to the hanging host than it may have connections, first in line.
            batch = [Send(i, {"stuck": _captured(stuck)})
                     for i in range(2 * CONNECTIONS_PER_HOST)]
            batch += [Send(1000 + i, {"good": _captured(good)}) for i in range(20)]
            sender.submit(batch)
            assert arrived.wait(20)
            assert {i: results[i] for i in results if i >= 1000} == {
                1000 + i: {"good": None} for i in range(20)}
            assert all(i >= 1000 for i in results)  # the hanging ones are still waiting
            assert len(receiver.requests) == 20
        finally:
            sender.close()


def _captured(url: str) -> HttpRequest:
    request = capture(url, TITLE, BODY)
    assert request is not None
    return request
