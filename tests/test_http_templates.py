"""Request templates: filled in per message, and still Apprise's request byte for byte.

The reference is Apprise. For every plugin on the fast path, messages full of
awkward characters (quotes, backslash, <&>, +, %, /, newlines, Markdown,
non-ASCII, emoji) go to a real loopback receiver once through Apprise and
once filled into the channel's template, and must arrive equal (method, path,
query, headers, body). Then: a template proves itself against fresh captures
(a mismatch drops it and the captured request goes out instead), a plugin
whose request differs per send in a way no slot explains gets no template,
and text the probes did not cover is built by Apprise.
"""

from __future__ import annotations

import hashlib
import logging
import ssl

import apprise
import pytest
from apprise.plugins.custom_json import NotifyJSON

from heupreminder.delivery import http_capture, http_template, sender
from heupreminder.delivery.http_capture import capture
from heupreminder.delivery.http_client import post
from heupreminder.delivery.http_template import Templates, slot
from heupreminder.delivery.push import ntfy_url
from heupreminder.delivery.sender import apprise_message, http_request
from tests.receivers import HttpInbox, http_receiver
from tests.test_http_fast_path import FIXED, PLAIN, SECURE, SELF_HOSTED, ca, fixed_address, tls

__all__ = ["ca", "tls"]  # fixtures, shared with the fast path's tests

# (title, body, link): what a reminder, a notice or a person's own words may hold.
AWKWARD = [
    ('Zeg "hallo" \\ <b>&amp;</b>', "100% + 50/50 = 1 #tag ~`^|{}[]\n\n- een\n- twee\n"
     "[Gedaan](https://heup.example/c/abc?sig=1&x=2)", "https://heup.example/c/abc_-.9"),
    ("Knieën ✓ 👋 ß € 中文", "Regel één\nRegel twee  \nnaïef café 🇳🇱 🦵\n\n**vet** _schuin_ "
     "<script>alert('x')</script> a+b=c%20d", "https://heup.example:8443/base/c/Zz?n=1&m=2"),
    ("", "Alleen een tekst, zonder titel: 'quotes' \"dubbel\" \\n is geen newline", None),
    ("Tab\tin de titel", "Carriage\r\nreturn en een zero\u200bwidth space, trailing spaces   ",
     "https://heup.example/c/x"),
]


@pytest.fixture
def templates(monkeypatch: pytest.MonkeyPatch) -> Templates:
    """A fresh template cache for the sender, so every test builds its own."""
    fresh = Templates()
    monkeypatch.setattr(sender, "TEMPLATES", fresh)
    return fresh


def through_apprise(url: str, title: str, body: str, link: str | None) -> None:
    url, title, body = apprise_message(url, title, body, link=link, kind="exercise")
    notifier = apprise.Apprise()
    assert notifier.add(url)
    assert notifier.notify(title=title, body=body)


def through_template(url: str, title: str, body: str, link: str | None) -> None:
    request = http_request(url, title, body, link=link, kind="exercise")
    assert request is not None
    post(request)


def assert_same_requests(inbox: HttpInbox, url: str, templates: Templates) -> None:
    for title, body, link in AWKWARD:
        through_apprise(url, title, body, link)
        through_template(url, title, body, link)
    assert len(inbox.requests) == 2 * len(AWKWARD)
    for n in range(len(AWKWARD)):
        theirs, ours = inbox.requests[2 * n], inbox.requests[2 * n + 1]
        assert (ours.method, ours.path, ours.body) == (theirs.method, theirs.path, theirs.body)
        assert sorted(ours.sent_headers) == sorted(theirs.sent_headers)
    # The messages were filled in, not captured: the channel has a template. Except
    # Telegram's: it folds blank lines into one CRLF (a regex, not an encoding).
    has = {entry.template is not None for entry in templates._entries.values()}
    assert has == ({False} if url.startswith("tgram://") else {True})


@pytest.mark.parametrize("name", sorted(SELF_HOSTED))
def test_self_hosted_plugin_fills_apprises_request(templates: Templates, name: str) -> None:
    with http_receiver(keep_alive=True) as inbox:
        assert_same_requests(inbox, SELF_HOSTED[name].format(scheme=PLAIN[name],
                                                             host=inbox.host), templates)


@pytest.mark.parametrize("name", sorted(SELF_HOSTED))
def test_self_hosted_plugin_over_tls_fills_apprises_request(
        templates: Templates, tls: ssl.SSLContext, name: str) -> None:
    with http_receiver(keep_alive=True, tls=tls) as inbox:
        assert_same_requests(inbox, SELF_HOSTED[name].format(scheme=SECURE[name],
                                                             host=inbox.host), templates)


@pytest.mark.parametrize("name", sorted(FIXED))
def test_service_at_a_fixed_address_fills_apprises_request(
        templates: Templates, tls: ssl.SSLContext, monkeypatch: pytest.MonkeyPatch,
        name: str) -> None:
    with http_receiver(keep_alive=True, tls=tls) as inbox:
        assert_same_requests(inbox, fixed_address(monkeypatch, name, f"https://{inbox.host}"),
                             templates)


@pytest.mark.parametrize("name", sorted(SELF_HOSTED) + sorted(FIXED))
def test_every_filled_request_equals_the_captured_one(
        templates: Templates, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Past the verified first few (the slow comparison is switched off here), the
    filled request is still what the plugin builds, for many awkward messages."""
    url = (SELF_HOSTED[name].format(scheme=PLAIN[name], host="127.0.0.1:9")
           if name in SELF_HOSTED else fixed_address(monkeypatch, name, "https://127.0.0.1:9"))
    monkeypatch.setattr(http_template, "VERIFY_FIRST", 0)
    monkeypatch.setattr(http_template, "VERIFY_EVERY", 10**9)
    monkeypatch.setattr(http_template.time, "time", lambda: 0.0)  # one second, checked once
    chars = 'a"\\<&>+%/\n é✓👋€ß[]()*_`#~{}|^\'=?:;,.!@$'
    for n in range(60):
        title = "T" + chars[n % len(chars):] + chars[:n % len(chars)] + "x" if n % 5 else ""
        body = f"B{n} " + chars[::-1][: n % len(chars)] + " " + chars * (n % 3) + " end"
        link = f"https://heup.example/c/tok{n}-_.~?s={n}&q=1" if n % 2 else None
        filled = http_request(url, title, body, link=link, kind="exercise")
        assert filled == capture(*apprise_message(url, title, body, link=link, kind="exercise"))
    if name != "telegram":  # no template: see assert_same_requests
        assert any(entry.template is not None and entry.uses > 1
                   for entry in templates._entries.values())


def test_a_template_that_stops_matching_falls_back_for_good(
        templates: Templates, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    url = "json://anna:s3cret@127.0.0.1:9/hooks"
    first = http_request(url, "Titel", "Eerste bericht")
    assert first is not None and templates.has_template(url) is True
    # The plugin changes what it sends (as a plugin that put the time in it
    # would): the next verified message notices.
    monkeypatch.setattr(NotifyJSON, "json_version", "2.0")
    caplog.set_level(logging.WARNING, logger="heupreminder.delivery.http_template")
    second = http_request(url, "Titel", "Tweede bericht")
    assert second is not None and b'"version": "2.0"' in second.body
    assert templates.has_template(url) is False
    third = http_request(url, "Titel", "Derde bericht")
    assert third == capture(url, "Titel", "Derde bericht")
    assert caplog.text.count("did not match Apprise's request") == 1
    assert "s3cret" not in caplog.text and "127.0.0.1" not in caplog.text


def test_a_request_that_differs_per_send_gets_no_template(templates: Templates) -> None:
    # Home Assistant without a fixed notification id: a new random id per send.
    url = "hassio://127.0.0.1:9/long-lived-access-token-abcdef0123456789"
    request = http_request(url, "Titel", "Bericht")
    assert request is not None and templates.has_template(url) is False
    assert b"Bericht" in request.body


def test_text_the_probes_did_not_cover_is_built_by_apprise(
        templates: Templates, monkeypatch: pytest.MonkeyPatch) -> None:
    url = "json://127.0.0.1:9/hooks"
    assert http_request(url, "Titel", "Bericht") is not None
    entry = next(iter(templates._entries.values()))
    used = entry.uses
    built = []
    monkeypatch.setattr(http_template, "capture",
                        lambda *args: built.append(args) or capture(*args))
    for title, body in [("Tab\there", "x"), ("x", "CR\r\nLF"), (" lead", "x"),
                        ("x", "trail \n"), ("x", "zero\u200bwidth"), ("x", "e\u0301 not NFC"),
                        ("x", "long " * 2000), ("x", "nbsp\u00a0inside")]:
        assert http_request(url, title, body) == capture(url, title, body)
    assert entry.uses == used and len(built) == 8


def test_a_link_with_characters_apprise_quotes_its_own_way_is_built_by_apprise(
        templates: Templates) -> None:
    url = "ntfy://127.0.0.1:9/reminders"
    link = "https://heup.example/c/a+b%2F\"x\""
    request = http_request(url, "Titel", "Bericht", link=link)
    assert request == capture(*apprise_message(url, "Titel", "Bericht", link=link))
    template_url = sender._ntfy_template_url(url, None, True)
    assert slot("click") in template_url
    assert templates.has_template(template_url, options=("click",)) is None  # never tried


def test_a_plugin_that_needs_the_reply_has_no_template(templates: Templates) -> None:
    url = "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#heup"
    assert http_request(url, "Titel", "Bericht") is None
    assert templates.has_template(url) is False


def test_the_encoders_tell_the_probes_apart() -> None:
    """Each probe gives a different text under every encoder: one explanation each."""
    for probes in (http_template.PROBES_A, http_template.PROBES_B):
        # A title never holds a newline (its probe has none, a title with one is
        # built by Apprise), so encoders that differ only there are one for titles.
        for probe in (probes["body"], probes["title"] + "\n"):
            outputs = [encode(probe) for encode in http_template.ENCODERS.values()]
            assert len(set(outputs)) == len(outputs)


# -- a channel per person: one template per URL shape ------------------------------

# Per-person URLs of one shape: {0} is the person's number (different topics,
# tokens, chat ids, keys, users and passwords, of one length and character class).
PER_PERSON = {
    "ntfy": "ntfy://127.0.0.1:9/heup-p{0:07d}",
    "ntfy-token": "ntfys://tk_a{0:012d}bc@127.0.0.1:9/topic{0:06d}?priority=high",
    "ntfy-password": "ntfy://anna{0:04d}:pw{0:06d}x@127.0.0.1:9/topic{0:06d}",
    "gotify": "gotify://127.0.0.1:9/AbCdEf{0:09d}?priority=high",
    "json": "json://127.0.0.1:9/hooks/person-{0:06d}?+X-Token=secret{0:08d}xyz",
    "json-password": "json://user{0:05d}:Pa55word{0:05d}@127.0.0.1:9/hooks",
    "form": "form://127.0.0.1:9/form/1{0:07d}?:person=id-1{0:08d}",
}
PER_PERSON_FIXED = {  # at a fixed address (see fixed_address)
    "telegram": "tgram://123456789:abcdefg_hijklmnopqrstuvwxyz0123456/1{0:08d}",
    "pushover": "pover://u{0:06d}bcdefghijklmnopqrstuvw@aAbCdEfGhIjKlMnOpQrStUvWxYz01",
    "discord": "discord://1{0:09d}/abcdefghijklmnopqrstuvwxyz_ABCDE{0:06d}GHIJKLMNOPQRSTU",
}


def person_url(monkeypatch: pytest.MonkeyPatch, name: str, n: int) -> str:
    if name in PER_PERSON:
        return PER_PERSON[name].format(n + 1)
    fixed_address(monkeypatch, name, "https://127.0.0.1:9")
    return PER_PERSON_FIXED[name].format(n + 1)


def counting_captures(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, str]]:
    taken: list[tuple[str, str, str]] = []

    def counted(url: str, title: str, body: str) -> object:
        taken.append((url, title, body))
        return capture(url, title, body)

    monkeypatch.setattr(http_template, "capture", counted)
    return taken


@pytest.mark.parametrize("name", sorted(PER_PERSON) + sorted(PER_PERSON_FIXED))
def test_per_person_channels_share_one_template_per_shape(
        templates: Templates, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Many people's URLs of one shape: built once (two captures), then every
    request is filled, and equals Apprise's own for that person's URL."""
    monkeypatch.setattr(http_template, "VERIFY_FIRST", 0)
    monkeypatch.setattr(http_template, "VERIFY_EVERY", 10**9)
    monkeypatch.setattr(http_template.time, "time", lambda: 0.0)
    urls = [person_url(monkeypatch, name, n) for n in range(0, 4000, 97)]
    assert len(set(urls)) == len(urls) > 40
    taken = counting_captures(monkeypatch)
    for n, url in enumerate(urls):
        title, body, link = AWKWARD[n % 2]
        filled = http_request(url, title, body, link=link, kind="exercise")
        assert filled == capture(*apprise_message(url, title, body, link=link, kind="exercise"))
    if name == "telegram":  # no template at all (see assert_same_requests)
        assert not any(entry.template for entry in templates._entries.values())
        return
    # One shape per (title or not, link or not): two probe captures each, and the
    # verification of the first message of that second.
    assert len(templates._entries) <= 2 and not templates._no_shape
    assert all(entry.template is not None for entry in templates._entries.values())
    assert len(taken) <= 3 * len(templates._entries)


@pytest.mark.parametrize("name", ["ntfy", "json", "pushover"])
def test_per_person_channels_arrive_as_apprise_sends_them(
        templates: Templates, monkeypatch: pytest.MonkeyPatch, tls: ssl.SSLContext,
        name: str) -> None:
    """On a real receiver: people's own URLs, Apprise's sends and our filled ones equal."""
    with http_receiver(keep_alive=True, tls=tls) as inbox:
        base = f"127.0.0.1:{inbox.port}"
        urls = {
            "ntfy": [f"ntfys://{base}/heup-p{n:07d}" for n in range(1, 9)],
            "json": [f"jsons://u{n:05d}x:Pw{n:07d}@{base}/hooks/p{n:06d}" for n in range(1, 9)],
            "pushover": [fixed_address(monkeypatch, "pushover", f"https://{base}").replace(
                "uAbCdEfGhIjKlMnOpQrStUvWx", f"uAbCdEfGhIjKlMnOpQrStU{n:03d}") for n in range(8)],
        }[name]
        for url in urls:
            title, body, link = AWKWARD[0]
            through_apprise(url, title, body, link)
            through_template(url, title, body, link)
        for n in range(len(urls)):
            theirs, ours = inbox.requests[2 * n], inbox.requests[2 * n + 1]
            assert (ours.method, ours.path, ours.body) == (theirs.method, theirs.path,
                                                           theirs.body)
            assert sorted(ours.sent_headers) == sorted(theirs.sent_headers)
        assert len({(r.path, r.body) for r in inbox.requests}) == len(urls)  # all different
    assert len(templates._entries) == 1  # one shape


@pytest.mark.parametrize("url", [
    "ntfy://127.0.0.1:9/heup%2Dp0000001",  # a percent-escape
    "json://us%40er:p+w+d+1234@127.0.0.1:9/hooks",  # "@" and "+" in the user info
    "ntfy://127.0.0.1:9/topic0000001?click=x#anchor",  # a fragment: no shape at all
    "gotify://127.0.0.1:9/0AbCdEf000000001",  # a leading zero
    "json://127.0.0.1:9/a/b/c",  # parts too short to probe
])
def test_parts_the_probes_cannot_stand_in_for_fall_back_and_are_right(
        templates: Templates, url: str) -> None:
    for title, body, link in AWKWARD[:3]:
        assert http_request(url, title, body, link=link) == capture(
            *apprise_message(url, title, body, link=link))


def test_a_part_with_other_characters_is_literal_in_its_shape(templates: Templates) -> None:
    # "heup.person-1~x" has "." and "~": its class; "heup%2Dp1" cannot be probed: it
    # stays literal, its URL a shape of its own.
    probed, literal = ("json://127.0.0.1:9/hooks/heup.person-1~x",
                       "json://127.0.0.1:9/hooks/heup%2Dp1")
    for url in (probed, "json://127.0.0.1:9/hooks/bqzk.mxxxxx-7~y", literal):
        assert http_request(url, "Titel", "Bericht") == capture(url, "Titel", "Bericht")
    assert templates.has_template(probed) and templates.has_template(literal)
    assert len(templates._entries) == 2


def test_a_plugin_whose_request_depends_on_a_part_gets_no_shape_template(
        templates: Templates, monkeypatch: pytest.MonkeyPatch) -> None:
    """A part the plugin reads without showing it (a word it knows) or turns into
    something no slot explains (a digest): no shape; per URL, still right."""
    real_init = NotifyJSON.__init__

    def reads_the_path(self: NotifyJSON, *args: object, **kwargs: object) -> None:
        real_init(self, *args, **kwargs)
        digest = hashlib.sha256(self.fullpath.encode()).hexdigest()
        self.headers["X-Digest"] = digest  # a copy no encoder explains
        if self.fullpath.startswith("/urgent"):
            self.fullpath = "/hooks"  # a word the plugin reads, not shown
            self.headers["X-Urgent"] = "yes"

    monkeypatch.setattr(NotifyJSON, "__init__", reads_the_path)
    taken = counting_captures(monkeypatch)
    urls = [f"json://127.0.0.1:9/urgent{n:04d}" for n in range(1, 6)]
    urls += [f"json://127.0.0.1:9/person{n:04d}" for n in range(1, 6)]
    for url in urls:
        assert http_request(url, "Titel", "Bericht") == capture(url, "Titel", "Bericht")
    assert len(templates._no_shape) == 1  # the shape tried once, for every such URL
    assert all(templates.has_template(url) for url in urls)  # per URL, as before
    assert len(taken) == 2 + 3 * len(urls)  # the shape's probes; per URL two and a check


def test_a_part_the_plugin_does_not_show_gets_no_shape_template(
        templates: Templates, monkeypatch: pytest.MonkeyPatch) -> None:
    real_init = NotifyJSON.__init__

    def hides_the_path(self: NotifyJSON, *args: object, **kwargs: object) -> None:
        real_init(self, *args, **kwargs)
        # Reads the path without showing it (the probes never have an "a").
        self.headers["X-Kind"] = "a" if "a" in self.fullpath else "other"
        self.fullpath = "/hooks"

    monkeypatch.setattr(NotifyJSON, "__init__", hides_the_path)
    for url in ("json://127.0.0.1:9/aaaa", "json://127.0.0.1:9/bbbb"):  # one shape
        assert http_request(url, "Titel", "Bericht") == capture(url, "Titel", "Bericht")
    assert len(templates._no_shape) == 1 and templates.has_template(
        "json://127.0.0.1:9/aaaa") is True


def test_a_shape_template_that_stops_matching_falls_back_for_good(
        templates: Templates, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    urls = [f"json://anna:s3cret{n:04d}@127.0.0.1:9/hooks{n:04d}" for n in range(1, 4)]
    assert http_request(urls[0], "Titel", "Eerste") is not None
    assert templates.has_template(urls[1]) is True  # the others' shape, already built
    monkeypatch.setattr(NotifyJSON, "json_version", "2.0")
    caplog.set_level(logging.WARNING, logger="heupreminder.delivery.http_template")
    second = http_request(urls[1], "Titel", "Tweede")
    assert second is not None and b'"version": "2.0"' in second.body
    assert not any(templates.has_template(url) for url in urls)
    assert http_request(urls[2], "Titel", "Derde") == capture(urls[2], "Titel", "Derde")
    assert caplog.text.count("did not match Apprise's request") == 1
    assert "s3cret" not in caplog.text and "127.0.0.1" not in caplog.text


def test_a_burst_of_own_channels_needs_no_plugin_per_url(
        templates: Templates, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http_template.time, "time", lambda: 0.0)
    http_capture._plugin.cache_clear()
    urls = [f"ntfy://127.0.0.1:9/heup-p{n:07d}" for n in range(1, 301)]
    for url in urls:
        assert http_request(url, "Titel", "Bericht", kind="exercise") is not None
    # The two probe URLs and the verified first few: not one per person.
    assert http_capture._plugin.cache_info().currsize <= 2 + http_template.VERIFY_FIRST + 1


@pytest.mark.parametrize("url", ["ntfy://127.0.0.1:9/heup-p0000001", "ntfys://tk_x@h:9/t",
                                 "ntfy://topic", "NTFY://h/t/", "ntfy://h//t", "ntfy://h/t?x=1"])
def test_an_own_topics_template_url_is_ntfy_urls(url: str) -> None:
    """Our options appended once per kind, not worked out per person's topic: the same URL."""
    for kind in (None, "exercise", "tip", "bogus"):
        for click in (True, False):
            for actions in (True, False):
                assert sender._ntfy_template_url(url, kind, click, actions) == ntfy_url(
                    url, click=slot("click") if click else None, kind=kind,
                    actions=slot("actions") if actions else None)
