"""Email and push formats, from one message: the layout read from its text, the
plain and HTML parts of the email, ntfy's Markdown and options, and the real
send through a real SMTP server (aiosmtpd) and a real HTTP receiver."""

from __future__ import annotations

import email
import re
from email.message import Message as MimeMessage
from html.parser import HTMLParser

import apprise
import pytest

from heupreminder.catalog import get_entry
from heupreminder.config.loader import Channel
from heupreminder.delivery.layout import CheckIn, ItemList, Link, Paragraph, read_layout
from heupreminder.delivery.mail import plain_text
from heupreminder.delivery.messages import Message, steps_as_lines, with_link
from heupreminder.delivery.push import markdown, ntfy_url
from heupreminder.delivery.sender import Attachment, TransportError, send
from tests.receivers import HttpInbox, SmtpInbox, text_of

LINK = "https://heup.example.org/c/eyJwIjoiYW5uYSJ9.abc_DEF-123"
STEPS = {  # what each exercise's steps are; the rest of its text stays prose
    "bridge": ("Lie on your back", "Squeeze your buttocks", "Do this about 10 times"),
    "inner-thigh-squeeze": ("Lie on your back", "Squeeze the ball"),
    "outer-thigh": ("Lie on your side", "Lift your straight upper leg", "Do about 10"),
    "hip-stretch": ("Kneel on your right knee", "Tilt your pelvis", "Then lean to the left",
                    "Hold it for 30 seconds"),
}


def reminder(locale: str = "en", exercise: str = "bridge") -> Message:
    entry = get_entry(exercise)
    assert entry is not None
    body = steps_as_lines(exercise, entry.body(locale, "right"))  # type: ignore[arg-type]
    return with_link(Message(entry.title(locale, "right"), body),  # type: ignore[arg-type]
                     locale, LINK)


def mail_channel(smtp: SmtpInbox, login: str = "") -> Channel:
    url = (f"mailto://{login}127.0.0.1:{smtp.port}?from=Heupreminder<heup@example.org>"
           "&to=anna@example.org&mode=insecure")
    return Channel(name="mail", url=url, masked_url="mailto://...")


class Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.tags: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = dict(attrs)
        if tag == "a":
            self.hrefs.append(values["href"] or "")
        if tag == "img":
            self.images.append(values["src"] or "")


def part(message: MimeMessage, content_type: str) -> str:
    for piece in message.walk():
        if piece.get_content_type() == content_type:
            payload = piece.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode(piece.get_content_charset() or "utf-8")
    raise AssertionError(f"no {content_type} part")


@pytest.mark.parametrize("exercise", sorted(STEPS))
@pytest.mark.parametrize("locale", ["nl", "en"])
def test_every_catalog_exercise_has_its_steps_as_numbered_lines(exercise: str,
                                                                 locale: str) -> None:
    entry = get_entry(exercise)
    assert entry is not None
    original = entry.body(locale, "right")  # type: ignore[arg-type]
    lines = steps_as_lines(exercise, original).splitlines()
    steps = [line for line in lines if re.match(r"\d\. ", line)]
    assert [s[:3] for s in steps] == [f"{n}. " for n in range(1, len(STEPS[exercise]) + 1)]
    if locale == "en":
        assert all(s[3:].startswith(start)
                   for s, start in zip(steps, STEPS[exercise], strict=True))
    # Not a word lost or added: only line breaks and the numbers.
    words = " ".join(re.sub(r"^\d\. ", "", line) for line in lines).split()
    assert words == original.split()


def test_layout_reads_paragraphs_steps_bullets_and_links() -> None:
    body = ("Your week.\nSecond line.\n\n• Bridge: 3 of 5\n• Walk: 2 of 2\n\n"
            "1. One\n2. Two\n\nYour chart and history: https://heup.example.org/h/x\n\n"
            f"Gedaan, overgeslagen of pijn melden: {LINK}")
    assert read_layout(body) == [
        Paragraph(("Your week.", "Second line.")),
        ItemList(("Bridge: 3 of 5", "Walk: 2 of 2"), ordered=False),
        ItemList(("One", "Two"), ordered=True),
        Link("Your chart and history", "https://heup.example.org/h/x"),
        CheckIn("Gedaan, overgeslagen of pijn melden", LINK, "nl"),
    ]


def test_plain_part_keeps_every_line_and_puts_links_on_their_own() -> None:
    message = reminder()
    text = plain_text(message.body)
    original = message.body.splitlines()
    assert text.splitlines()[:-2] == original[:-1]  # everything but the link line as it was
    assert text.splitlines()[-2:] == ["Done, skipped, or log pain:", LINK]


def test_ntfy_gets_markdown_tags_and_the_link_as_click_action() -> None:
    url = ntfy_url("ntfys://user:pw@ntfy.example.org/anna?priority=high", click=LINK,
                   kind="exercise")
    plugin = apprise.Apprise.instantiate(url)
    assert plugin is not None
    assert plugin.click == LINK  # type: ignore[attr-defined]
    assert plugin.notify_format == apprise.NotifyFormat.MARKDOWN
    assert "priority=high" in url  # the person's own option kept
    own = ntfy_url("ntfy://ntfy.example.org/anna?click=https://mine.example", click=LINK,
                   kind=None)
    assert "click=https%3A%2F%2Fmine.example" in own and LINK not in own
    text = markdown(read_layout(reminder().body))
    assert "\n1. Lie on your back" in text
    assert f"[Done, skipped, or log pain]({LINK})" in text


def test_email_is_multipart_with_lines_steps_and_buttons(smtp: SmtpInbox) -> None:
    message = reminder("nl")
    send(mail_channel(smtp), message.title, message.body)
    [mail] = smtp.messages
    assert mail.get_content_type() == "multipart/alternative"
    assert mail["Subject"] == "Ochtendbrug"
    assert mail["From"] == "Heupreminder <heup@example.org>"
    plain = text_of(mail)
    assert plain.splitlines()[1] == ("1. Ga op je rug liggen met je knieën gebogen en je voeten "
                                     "plat op de vloer.")
    assert plain.splitlines()[-1] == LINK
    html = part(mail, "text/html")
    anchors = Anchors()
    anchors.feed(html)
    assert anchors.hrefs == [LINK, f"{LINK}#skip", f"{LINK}#pain-form"]
    assert "ol" in anchors.tags and anchors.tags.count("li") == 3
    assert ">Gedaan</a>" in html and ">Overgeslagen</a>" in html and ">Pijn melden</a>" in html
    assert "<script" not in html and "http://" not in html.replace(LINK, "")
    assert 'lang="nl"' in html and "prefers-color-scheme: dark" in html


def test_summary_chart_is_inline_by_cid(smtp: SmtpInbox) -> None:
    body = ("Deze week deed je 3 van de 5 oefensessies.\n\n• Ochtendbrug: 3 van 5 gedaan\n\n"
            "In de bijlage: je pijn en je oefeningen per dag over de afgelopen 4 weken.\n\n"
            "Je grafiek en geschiedenis: https://heup.example.org/h/abc")
    chart = Attachment(name="heupreminder-anna-2026-11-29.png", content=b"\x89PNG fake",
                       mimetype="image/png")
    send(mail_channel(smtp), "Je week in het kort", body, chart, locale="nl")
    [mail] = smtp.messages
    related = [p for p in mail.walk() if p.get_content_type() == "multipart/related"]
    assert len(related) == 1
    [image] = [p for p in mail.walk() if p.get_content_type() == "image/png"]
    assert image["Content-ID"] == "<heupreminder-anna-2026-11-29.png>"
    assert image.get_content_disposition() == "inline"
    anchors = Anchors()
    anchors.feed(part(mail, "text/html"))
    assert anchors.images == ["cid:heupreminder-anna-2026-11-29.png"]
    assert anchors.hrefs == ["https://heup.example.org/h/abc"]
    assert "ul" in anchors.tags
    reparsed = email.message_from_bytes(mail.as_bytes())
    assert reparsed.get_content_type() == "multipart/alternative"


def test_login_against_a_server_without_auth_says_so(smtp: SmtpInbox) -> None:
    """aiosmtpd with AUTH offered only after TLS: a login over plain SMTP cannot work."""
    from aiosmtpd.controller import Controller

    from tests.receivers import free_port

    port = free_port()
    controller = Controller(smtp, hostname="127.0.0.1", port=port)  # no authenticator
    controller.start()
    try:
        channel = Channel("mail", f"mailto://anna:Secret-Pw-123@127.0.0.1:{port}"
                          "?from=heup@example.org&to=anna@example.org&mode=insecure",
                          "mailto://...")
        with pytest.raises(TransportError) as caught:
            send(channel, "Ochtendbrug", "Tijd voor de brug.")
    finally:
        controller.stop()
    assert "does not offer a login" in caught.value.message
    assert "Secret-Pw-123" not in caught.value.message
    assert caught.value.permanent


def test_push_receiver_gets_the_text_with_its_lines(receiver: HttpInbox) -> None:
    message = reminder()
    send(Channel("phone", receiver.url, "json://..."), message.title, message.body)
    [post] = receiver.posts
    assert post["message"] == message.body
