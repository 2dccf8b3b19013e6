"""End to end: the real `heupreminder run` sends a reminder to a real SMTP server
(aiosmtpd) and to an ntfy receiver; the email is parsed as a mail client would
and its HTML part drawn by headless Chromium on a 412 px phone screen, in light
and dark mode (screenshots kept under tests/artifacts/)."""

from __future__ import annotations

import re
import signal
from email.message import Message as MimeMessage
from html.parser import HTMLParser
from pathlib import Path

from heupreminder.catalog import get_entry
from heupreminder.delivery.messages import steps_as_lines
from tests.e2e.test_browser import CHROMIUM, CHROMIUM_ARGS, require_browser
from tests.e2e.test_service import due_after_ready, service, wait_until
from tests.helpers import person_config, routine
from tests.receivers import HttpInbox, SmtpInbox, free_port, text_of

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
PHONE_WIDTH = 412


class Hrefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "a":
            self.hrefs.append(dict(attrs)["href"] or "")


def html_of(message: MimeMessage) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/html":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode(part.get_content_charset() or "utf-8")
    raise AssertionError("no text/html part")


def write_config(tmp_path: Path, smtp: SmtpInbox, ntfy: HttpInbox, due_in: float) -> Path:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    port = free_port()
    due = (datetime.now(ZoneInfo("Europe/Amsterdam")) + timedelta(seconds=due_in))
    mail = (f"mailto://127.0.0.1:{smtp.port}?from=heup@example.org&to=anna@example.org"
            "&mode=insecure")
    path = tmp_path / "heupreminder.toml"
    path.write_text(person_config(
        database_url=f"sqlite:///{tmp_path / 'h.db'}", locale="en",
        channels={"mail": mail, "phone": f"ntfy://127.0.0.1:{ntfy.port}/anna"},
        listen=f"127.0.0.1:{port}", public_url=f"http://127.0.0.1:{port}",
        routines=routine("bridge", at=f"{due:%H:%M:%S}")),
        encoding="utf-8")
    return path


def test_reminder_email_is_real_multipart_and_fits_a_phone(
        tmp_path: Path, smtp: SmtpInbox, receiver: HttpInbox) -> None:
    require_browser()
    from playwright.sync_api import sync_playwright

    config = write_config(tmp_path, smtp, receiver, due_in=3600)
    log = tmp_path / "service.log"
    with service(config, log) as process:
        # The first run says what comes next, instead of nothing for hours.
        wait_until(lambda: "next reminder: anna, Morning bridge" in log.read_text())
        assert re.search(r"next reminder: anna, Morning bridge, .* in (59|60) min|in 1 h",
                         log.read_text())
        due_after_ready(process, log, lambda: write_config(tmp_path, smtp, receiver, 6))
        wait_until(lambda: smtp.messages and receiver.requests)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0

    bridge = get_entry("bridge")
    assert bridge is not None
    [mail] = smtp.messages
    assert mail.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in mail.get_payload()]  # type: ignore[union-attr] == ["text/plain", "text/html"]
    assert mail["Subject"] == "Morning bridge"  # names the routine

    # Plain: the message's lines as composed, the one-tap link on a line of its own.
    plain = text_of(mail).splitlines()
    body = steps_as_lines("bridge", bridge.body("en")).splitlines()
    assert plain[:len(body)] == body
    assert plain[len(body):] == ["", "Done, skipped, or log pain:", plain[-1]]
    link = plain[-1]
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/c/\S+", link)

    # HTML: the steps as a list, the buttons are links to the same one-tap link.
    html = html_of(mail)
    parsed = Hrefs()
    parsed.feed(html)
    assert parsed.hrefs[0] == link
    assert parsed.hrefs == [link, f"{link}#skip", f"{link}#pain-form"]
    assert parsed.tags.count("li") == 3 and "ol" in parsed.tags
    assert "<script" not in html and "<img" not in html

    # ntfy: the link is the click action, Markdown on, tagged.
    [push] = receiver.requests
    assert push.headers["x-click"] == link
    assert push.headers["x-markdown"] == "yes"
    assert push.headers["x-tags"].split(",")[0] == "heupreminder"

    # Drawn by Chromium at 412 px, light and dark: nothing wider than the screen.
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for scheme in ("light", "dark"):
                context = browser.new_context(
                    viewport={"width": PHONE_WIDTH, "height": 900}, is_mobile=True,
                    device_scale_factor=2, color_scheme=scheme,  # type: ignore[arg-type]
                    java_script_enabled=True)
                page = context.new_page()
                page.set_content(html)
                assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
                buttons = page.locator("a.button")
                assert buttons.count() == 3
                for index in range(3):
                    box = buttons.nth(index).bounding_box()
                    assert box is not None and box["x"] + box["width"] <= PHONE_WIDTH
                background = page.evaluate(
                    "getComputedStyle(document.querySelector('.page')).backgroundColor")
                if scheme == "dark":
                    assert background == "rgb(22, 25, 29)"
                page.screenshot(path=str(ARTIFACTS / f"reminder-email-412px-{scheme}.png"),
                                full_page=True)
                context.close()
        finally:
            browser.close()
